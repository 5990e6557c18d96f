#!/usr/bin/env bash
# Makes the GGUF test files in .deps/gguf-test-files (git-ignored) with llama.cpp's gguf-py from the peer
# archive in ../shared/peers/llama-cpp, so the GGUF tests read files InferServe did not write:
#   stories260K as F32/F16 GGUF, a random 256-multiple llama in F32/BF16 and gguf-py's Q8_0/Q4_0 (+ Q4_1 and a
#   falcon file for the error tests), llama3/qwen3 tokenizer.json vocabularies as GGUF, and gguf-py's own
#   dequantization of every quantized file; plus llama.cpp's own ggml-vocab-starcoder.gguf.
# llama-quantize's files (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K of gen256) are committed fixtures in
# tests/InferServe.Models.Tests/Gguf/fixtures (scripts/gguf/make_kquant_fixtures.sh; building llama-quantize takes ~25 min):
# this script writes gguf-py's dequantization of each of them, and checks that the gen256-f32.gguf gguf-py writes
# here is byte-identical to the committed F32 original they were quantized from.
# Needs python3 with numpy (Debian python3-numpy; installed with apt-get when root). Idempotent (stamp), flock'ed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEER="${INFERSERVE_LLAMA_CPP_PEER:-$ROOT/../shared/peers/llama-cpp}"
MODELS="${INFERSERVE_SHARED_MODELS:-$ROOT/../shared/models}"
DEST="${INFERSERVE_GGUF_TEST_DIR:-$ROOT/.deps/gguf-test-files}"
FIXTURES="$ROOT/tests/InferServe.Models.Tests/Gguf/fixtures"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

archive="$(ls "$PEER"/llama.cpp-*-src.tar.xz 2>/dev/null | head -n1 || true)"
[[ -n "$archive" ]] || { echo "setup-gguf-peer: no llama.cpp source archive in $PEER" >&2; exit 1; }
[[ -f "$MODELS/stories260K/stories260K.bin" ]] || { echo "setup-gguf-peer: $MODELS/stories260K is missing" >&2; exit 1; }

# The llama3/qwen3 tokenizer.json files of the tokenizer parity tests (idempotent itself).
bash "$ROOT/scripts/ci/setup-tokenizer-reference.sh"
TOKENIZERS="$ROOT/.deps/node-tokenizers/models"

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
STAMP="$(basename "$archive") $(cat "$ROOT/scripts/gguf/make_test_ggufs.py" "${BASH_SOURCE[0]}" "$FIXTURES/SHA256SUMS" | sha256sum | cut -c1-16)"
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
"$PY" "$ROOT/scripts/gguf/make_test_ggufs.py" --gguf-py "$work/gguf-py" --models "$MODELS" --tokenizers "$TOKENIZERS" \
  --fixtures "$FIXTURES" --out "$work/out" >&2
if ! cmp -s "$work/out/gen256-f32.gguf" "$FIXTURES/gen256-f32.gguf"; then
  echo "setup-gguf-peer: gguf-py wrote a gen256-f32.gguf that differs from $FIXTURES/gen256-f32.gguf;" \
    "the committed llama-quantize fixtures no longer match the gguf-py files (see PROVENANCE.md there)" >&2
  exit 1
fi
rm "$work/out/gen256-f32.gguf"  # the tests read the committed one
rm -f "$DEST"/*.gguf
mv "$work/out/"*.gguf "$DEST/"
cp "$work/models/ggml-vocab-starcoder.gguf" "$DEST/"  # a vocabulary file llama.cpp itself ships
echo "$STAMP" > "$DEST/.stamp"
echo "setup-gguf-peer: ready in $DEST" >&2
