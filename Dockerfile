# InferServe: build with the .NET SDK (ONNX Runtime comes from NuGet), run on the ASP.NET runtime image.
#   docker build -t inferserve .
#   docker run -p 8000:8000 -p 50051:50051 -v $PWD/models:/models -e MODEL=/models/<dir> inferserve
# The entrypoint (docker/entrypoint.sh) adds `--model "$MODEL"` to `serve` when MODEL is set; without it
# the embedded default model is served. Other roles, e.g. a prefill worker:
#   docker run -e PORT=8001 inferserve serve --role prefill --host 0.0.0.0 --port 8001 --grpc-port 50061
# PORT must equal --port: the HEALTHCHECK probes http://127.0.0.1:$PORT/ready. With --tls-cert set
# HEALTHCHECK_URL=https://127.0.0.1:$PORT/ready (the certificate must name 127.0.0.1) and, for a private CA,
# HEALTHCHECK_CA=/path/to/ca.pem.
#
# ORT_VARIANT=gpu (docker build --build-arg ORT_VARIANT=gpu) builds with -p:OrtVariant=gpu: ONNX Runtime 1.32.0's CUDA
# build from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux) for `--device cuda:0`. Running it needs the NVIDIA Container
# Toolkit on the host (it injects libcuda.so.1) and the CUDA 13 user-space libraries the provider links against:
# libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10, and cuDNN 9 (libcudnn.so.9, loaded on first use).
# Mount them at /usr/local/cuda/lib64 (on LD_LIBRARY_PATH) or build an image FROM this one that adds them.
ARG ORT_VARIANT=cpu

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG ORT_VARIANT
WORKDIR /src
COPY . .
# -r linux-x64 puts the native libraries beside the app, where ONNX Runtime also looks for its provider libraries.
RUN dotnet publish src/InferServe.Cli/InferServe.Cli.csproj -c Release -r linux-x64 --self-contained false \
      -p:OrtVariant="$ORT_VARIANT" -o /app \
 && test -f /app/libonnxruntime.so \
 && if [ "$ORT_VARIANT" = gpu ]; then test -f /app/libonnxruntime_providers_cuda.so; fi \
 && install -m 0755 docker/entrypoint.sh /usr/local/bin/inferserve-entrypoint

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY --from=build /usr/local/bin/inferserve-entrypoint /usr/local/bin/inferserve-entrypoint
# Non-root: uid 10001 owns only the cache volume. Created before VOLUME so a new named volume inherits it.
RUN groupadd --gid 10001 inferserve \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/cache/inferserve --shell /usr/sbin/nologin inferserve \
 && mkdir -p /var/cache/inferserve \
 && chown inferserve:inferserve /var/cache/inferserve
ENV INFERSERVE_CACHE_DIR=/var/cache/inferserve \
    DOTNET_gcServer=0 \
    PORT=8000 \
    MODEL="" \
    LD_LIBRARY_PATH=/usr/local/cuda/lib64
VOLUME /var/cache/inferserve
USER inferserve
EXPOSE 8000 50051
# Shell form so ${PORT} follows the role's HTTP port (compose sets PORT next to --port).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD dotnet /app/inferserve.dll healthcheck --url "${HEALTHCHECK_URL:-http://127.0.0.1:${PORT}/ready}" ${HEALTHCHECK_CA:+--ca "$HEALTHCHECK_CA"}
ENTRYPOINT ["/usr/local/bin/inferserve-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "50051"]
