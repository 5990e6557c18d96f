#!/usr/bin/env bash
# A self-contained InferServe for a Linux x64 host with an NVIDIA GPU and no .NET SDK: the CLI published self-contained
# with ONNX Runtime's CUDA build from NuGet (-p:OrtVariant=gpu: Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0, CUDA 13),
# packed as OUT_DIR/inferserve-gpu-linux-x64.tar.gz (default OUT_DIR: dist/). The host needs the NVIDIA driver and the
# CUDA 13 + cuDNN 9 libraries (scripts/gpu/check-libs.sh lists them). On the host:
#   tar -xzf inferserve-gpu-linux-x64.tar.gz && cd inferserve-gpu && eval "$(scripts/gpu/check-libs.sh --export)"
#   ./inferserve providers && INFERSERVE=$PWD/inferserve scripts/gpu/check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
app="$work/inferserve-gpu"
echo "bundle: publishing self-contained with -p:OrtVariant=gpu" >&2
dotnet publish "$ROOT/src/InferServe.Cli" -c Release -r linux-x64 --self-contained true -p:OrtVariant=gpu \
  -p:DebugType=none -o "$app" >&2
for f in libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  [[ -f "$app/$f" ]] || { echo "bundle: $f is missing from the publish output" >&2; exit 1; }
done
mkdir -p "$app/scripts/gpu"
cp "$ROOT/scripts/gpu/check.sh" "$ROOT/scripts/gpu/check-libs.sh" "$app/scripts/gpu/"
tar -C "$work" -czf "$OUT_DIR/inferserve-gpu-linux-x64.tar.gz" inferserve-gpu
ls -la "$OUT_DIR/inferserve-gpu-linux-x64.tar.gz" >&2
