#!/usr/bin/env bash
# Makes the GGUF test files in .deps/gguf-test-files (git-ignored) with llama.cpp's gguf-py from the peer
# archive in ../shared/peers/llama-cpp, so the GGUF tests read files InferServe did not write:
#   stories260K as F32/F16 GGUF, a random 256-multiple llama in F32/BF16 and gguf-py's Q8_0/Q4_0 (+ Q4_1 and a
#   falcon file for the error tests), llama3/qwen3 tokenizer.json vocabularies as GGUF, and gguf-py's own
#   dequantization of every quantized file; plus llama.cpp's own ggml-vocab-starcoder.gguf.
# K-quants (Q4_K, Q5_K, Q6_K) need llama-quantize. It is used when already built in ~/.cache/inferserve-peer
# (build-peer.sh); INFERSERVE_GGUF_BUILD_QUANTIZE=1 builds just that tool there (~10+ min on 2 cores, too
# slow for CI's budget, so CI skips those tests unless its cache holds the binary).
# Needs python3 with numpy (Debian python3-numpy; installed with apt-get when root). Idempotent (stamp), flock'ed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEER="${INFERSERVE_LLAMA_CPP_PEER:-$ROOT/../shared/peers/llama-cpp}"
MODELS="${INFERSERVE_SHARED_MODELS:-$ROOT/../shared/models}"
DEST="${INFERSERVE_GGUF_TEST_DIR:-$ROOT/.deps/gguf-test-files}"
PEER_DIR="${PEER_DIR:-$HOME/.cache/inferserve-peer}"
QUANTIZE="$PEER_DIR/llama.cpp/build/bin/llama-quantize"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

archive="$(ls "$PEER"/llama.cpp-*-src.tar.xz 2>/dev/null | head -n1 || true)"
[[ -n "$archive" ]] || { echo "setup-gguf-peer: no llama.cpp source archive in $PEER" >&2; exit 1; }
[[ -f "$MODELS/stories260K/stories260K.bin" ]] || { echo "setup-gguf-peer: $MODELS/stories260K is missing" >&2; exit 1; }

if [[ "${INFERSERVE_GGUF_BUILD_QUANTIZE:-0}" == "1" && ! -x "$QUANTIZE" ]]; then
  # build-peer.sh's configuration, but only the llama-quantize target; build-peer.sh later reuses the tree.
  command -v cmake >/dev/null && command -v ninja >/dev/null || { apt-get update >&2 && apt-get install -y cmake ninja-build >&2; }
  mkdir -p "$PEER_DIR/llama.cpp"
  [[ -f "$PEER_DIR/llama.cpp/CMakeLists.txt" ]] || tar -xJf "$archive" -C "$PEER_DIR/llama.cpp"
  NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  (cd "$PEER_DIR/llama.cpp" && { [[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DCMAKE_C_FLAGS="$NOAMX" -DCMAKE_CXX_FLAGS="$NOAMX" -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2; } && ninja -C build -j"$(nproc)" llama-quantize >&2)
fi
have_quantize=no
[[ -x "$QUANTIZE" ]] && have_quantize=yes

# The llama3/qwen3 tokenizer.json files of the tokenizer parity tests (idempotent itself).
bash "$ROOT/scripts/ci/setup-tokenizer-reference.sh"
TOKENIZERS="$ROOT/.deps/node-tokenizers/models"

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
STAMP="$(basename "$archive") $(cat "$ROOT/scripts/gguf/make_test_ggufs.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16) quantize=$have_quantize"
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" ]]; then echo "setup-gguf-peer: up to date in $DEST" >&2; exit 0; fi

if ! "$PY" -c 'import numpy' 2>/dev/null; then
  if [[ "$(id -u)" == "0" ]]; then
    apt-get install -y python3-numpy >&2 || { apt-get update >&2 && apt-get install -y python3-numpy >&2; }
  else
    echo "setup-gguf-peer: python3 numpy is missing (apt-get install python3-numpy)" >&2; exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xJf "$archive" -C "$work" gguf-py models/ggml-vocab-starcoder.gguf
args=(--gguf-py "$work/gguf-py" --models "$MODELS" --tokenizers "$TOKENIZERS" --out "$work/out")
[[ "$have_quantize" == yes ]] && args+=(--quantize "$QUANTIZE")
"$PY" "$ROOT/scripts/gguf/make_test_ggufs.py" "${args[@]}" >&2
rm -f "$DEST"/*.gguf
mv "$work/out/"*.gguf "$DEST/"
cp "$work/models/ggml-vocab-starcoder.gguf" "$DEST/"  # a vocabulary file llama.cpp itself ships
echo "$STAMP" > "$DEST/.stamp"
[[ "$have_quantize" == yes ]] || echo "setup-gguf-peer: llama-quantize not built; K-quant tests will skip (INFERSERVE_GGUF_BUILD_QUANTIZE=1 builds it)" >&2
echo "setup-gguf-peer: ready in $DEST" >&2
