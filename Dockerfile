# InferServe: build with the .NET SDK (npm fetches ONNX Runtime), run on the ASP.NET runtime image.
#   docker build -t inferserve .
#   docker run -p 8000:8000 -p 50051:50051 -v $PWD/models:/models inferserve serve --host 0.0.0.0 --model /models/<dir>
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/fetch-onnxruntime.sh \
 && dotnet publish src/InferServe.Cli/InferServe.Cli.csproj -c Release -o /app \
 && test -f /app/libonnxruntime.so

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV INFERSERVE_CACHE_DIR=/var/cache/inferserve \
    DOTNET_gcServer=0
VOLUME /var/cache/inferserve
EXPOSE 8000 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD ["dotnet", "inferserve.dll", "healthcheck", "--url", "http://127.0.0.1:8000/ready"]
ENTRYPOINT ["dotnet", "inferserve.dll"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "50051"]
