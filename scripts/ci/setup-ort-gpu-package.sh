#!/usr/bin/env bash
# Restores ONNX Runtime's CUDA build (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0, the -p:OrtVariant=gpu package)
# into .deps/nuget-gpu/, for the test that runs --device cuda:0 on a machine without CUDA and expects one clear line
# naming the missing library (tests/InferServe.Disaggregation.Tests/CliErrorTests.cs). Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=$(sed -n 's/.*"Microsoft.ML.OnnxRuntime.Gpu.Linux" Version="\[\([^]]*\)\]".*/\1/p' "$ROOT/Directory.Packages.props")
DEST="$ROOT/.deps/nuget-gpu"
native="$DEST/microsoft.ml.onnxruntime.gpu.linux/$VERSION/runtimes/linux-x64/native"
if [[ -f "$native/libonnxruntime_providers_cuda.so" ]]; then echo "ONNX Runtime GPU $VERSION already in $DEST"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat > "$work/restore.csproj" <<P
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageReference Include="Microsoft.ML.OnnxRuntime.Gpu.Linux" Version="[$VERSION]" /></ItemGroup>
</Project>
P
dotnet restore "$work/restore.csproj" --packages "$DEST" -v q
[[ -f "$native/libonnxruntime_providers_cuda.so" ]] || { echo "restore finished but $native has no CUDA provider" >&2; exit 1; }
echo "ONNX Runtime GPU $VERSION restored into $DEST"
