#!/usr/bin/env bash
# Fetches ONNX Runtime (native CPU library + official C# API sources) from npm into .deps/onnxruntime.
# ORT_VARIANT=gpu (default cpu) instead takes the native library from the asus4 package (ONNX Runtime
# 1.29.0, the version the CUDA provider was built against: the provider refuses any other core) and adds
# libonnxruntime_providers_{shared,cuda}.so beside it. The build copies only libonnxruntime.so*, so a GPU
# deployment must copy the provider libraries next to it (the Dockerfile does).
# Pinned versions, verified against pinned sha512 integrity; `npm pack` only (no install scripts run).
# Idempotent: does nothing when the stamp file matches. Safe to call from parallel builds (flock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${INFERSERVE_ORT_DIR:-$ROOT/.deps/onnxruntime}"

NATIVE_PKG="onnxruntime-node@1.30.0"
NATIVE_SHA512="sha512-twhs1C2C/BFkz1yc5OY0KIU2GUq6DURO7hD4bx5Q2Qy3nAMJwRXW8xU3NVczE29VA9lolLOYepoD8fjTGOfIqw=="
MANAGED_PKG="com.github.asus4.onnxruntime@0.4.9"
MANAGED_SHA512="sha512-BkzxduSZ9IkeDP6Q8lz2TFU2ie7hSSvS7ZIfzMooExoq0CNzJnuuGaUJ7IsojBgqO4ouD1jXah8OYyJbCN29Fg=="
STAMP="$NATIVE_PKG $NATIVE_SHA512 $MANAGED_PKG $MANAGED_SHA512"
VARIANT="${ORT_VARIANT:-cpu}"
GPU_PKG="com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9"
GPU_SHA512="sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w=="
case "$VARIANT" in
  cpu) ;;
  # The stamp names the variant's packages, so switching variants refetches.
  gpu) STAMP="$MANAGED_PKG $MANAGED_SHA512 $GPU_PKG $GPU_SHA512" ;;
  *) echo "fetch-onnxruntime: ORT_VARIANT must be cpu or gpu, got '$VARIANT'" >&2; exit 1 ;;
esac

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" ]]; then exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # pkg expected-integrity -> path of verified tarball
  local pkg="$1" want="$2" tgz got
  tgz="$(cd "$work" && npm pack --silent "$pkg" 2>/dev/null | tail -n1)"
  got="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)"
  if [[ "$got" != "$want" ]]; then
    echo "fetch-onnxruntime: integrity mismatch for $pkg: got $got, want $want" >&2
    exit 1
  fi
  echo "$work/$tgz"
}

if [[ "$VARIANT" == gpu ]]; then
  echo "fetch-onnxruntime: fetching $MANAGED_PKG and $GPU_PKG from npm" >&2
  managed_tgz="$(fetch "$MANAGED_PKG" "$MANAGED_SHA512")"
  gpu_tgz="$(fetch "$GPU_PKG" "$GPU_SHA512")"
  rm -rf "${DEST:?}/lib" "$DEST/managed" "$DEST/README.onnxruntime-node.md"
  mkdir -p "$DEST/lib" "$DEST/managed" "$work/g" "$work/m"
  tar -xzf "$managed_tgz" -C "$work/m" package/Runtime package/LICENSE package/Plugins/Linux/x64/libonnxruntime.so
  # TensorRT's provider is left out: it needs TensorRT and cuDNN, which nothing here ships.
  tar -xzf "$gpu_tgz" -C "$work/g" package/Plugins/Linux/x64/libonnxruntime_providers_shared.so \
    package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so
  cp "$work/m/package/Plugins/Linux/x64/libonnxruntime.so" "$DEST/lib/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$DEST/lib/libonnxruntime.so"
  cp "$work/g/package/Plugins/Linux/x64/"libonnxruntime_providers_*.so "$DEST/lib/"
  (cd "$work/m/package/Runtime" && find . -name '*.cs' ! -path './Training/*' -exec cp --parents {} "$DEST/managed/" \;)
  cp "$work/m/package/LICENSE" "$DEST/managed/LICENSE"
  echo "$STAMP" > "$DEST/.stamp"
  echo "fetch-onnxruntime: ready in $DEST (gpu)" >&2
  exit 0
fi

echo "fetch-onnxruntime: fetching $NATIVE_PKG and $MANAGED_PKG from npm" >&2
native_tgz="$(fetch "$NATIVE_PKG" "$NATIVE_SHA512")"
managed_tgz="$(fetch "$MANAGED_PKG" "$MANAGED_SHA512")"

rm -rf "$DEST/lib" "$DEST/managed"
mkdir -p "$DEST/lib" "$DEST/managed" "$work/n" "$work/m"
tar -xzf "$native_tgz" -C "$work/n" package/bin/napi-v6/linux/x64/libonnxruntime.so.1 package/README.md
tar -xzf "$managed_tgz" -C "$work/m" package/Runtime package/LICENSE
cp "$work/n/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$DEST/lib/libonnxruntime.so.1"
ln -sf libonnxruntime.so.1 "$DEST/lib/libonnxruntime.so"
cp "$work/n/package/README.md" "$DEST/README.onnxruntime-node.md"
# Only the inference API: training bits need a training build of the native library.
(cd "$work/m/package/Runtime" && find . -name '*.cs' ! -path './Training/*' -exec cp --parents {} "$DEST/managed/" \;)
cp "$work/m/package/LICENSE" "$DEST/managed/LICENSE"
echo "$STAMP" > "$DEST/.stamp"
echo "fetch-onnxruntime: ready in $DEST" >&2
