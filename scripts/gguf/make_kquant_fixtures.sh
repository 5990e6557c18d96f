#!/usr/bin/env bash
# Regenerates the committed GGUF fixtures in tests/InferServe.Models.Tests/Gguf/fixtures (see PROVENANCE.md there):
#   gen256-f32.gguf                 the F32 original, written by llama.cpp's gguf-py (make_test_ggufs.py --only-gen256-f32)
#   gen256-<type>-llamacpp.gguf     that file quantized by llama.cpp's llama-quantize --pure to Q8_0, Q4_0, Q4_K, Q5_K, Q6_K
# They are committed because building llama-quantize takes ~25 minutes on 2 cores; the tests then need no peer.
#   make_kquant_fixtures.sh          regenerate, then check the result against fixtures/SHA256SUMS (byte-identical)
#   make_kquant_fixtures.sh --update regenerate and rewrite the fixtures and SHA256SUMS (after a deliberate change)
# Needs the llama.cpp archive in ../shared/peers/llama-cpp (gguf-py), /usr/bin/python3 with numpy and a built
# llama-quantize ($PEER_DIR/llama.cpp/build/bin, default ~/.cache/inferserve-peer, as ../shared/peers/llama-cpp/build-peer.sh
# builds it); INFERSERVE_GGUF_BUILD_QUANTIZE=1 builds just that tool there when missing (~25 min on 2 cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEER="${INFERSERVE_LLAMA_CPP_PEER:-$ROOT/../shared/peers/llama-cpp}"
MODELS="${INFERSERVE_SHARED_MODELS:-$ROOT/models}"
PEER_DIR="${PEER_DIR:-$HOME/.cache/inferserve-peer}"
QUANTIZE="${LLAMA_QUANTIZE:-$PEER_DIR/llama.cpp/build/bin/llama-quantize}"
FIXTURES="$ROOT/tests/InferServe.Models.Tests/Gguf/fixtures"
update=no
[[ "${1:-}" == "--update" ]] && update=yes

archive="$(ls "$PEER"/llama.cpp-*-src.tar.xz 2>/dev/null | head -n1 || true)"
[[ -n "$archive" ]] || { echo "make_kquant_fixtures: no llama.cpp source archive in $PEER" >&2; exit 1; }
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
[[ -x "$QUANTIZE" ]] || { echo "make_kquant_fixtures: $QUANTIZE is not built (INFERSERVE_GGUF_BUILD_QUANTIZE=1 builds it)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xJf "$archive" -C "$work" gguf-py
/usr/bin/python3 "$ROOT/scripts/gguf/make_test_ggufs.py" --gguf-py "$work/gguf-py" --models "$MODELS" --out "$work/out" --only-gen256-f32
# --pure: every 2-D tensor gets the named type (no k-quant mixtures), so each file tests one type.
for pair in q8_0:Q8_0 q4_0:Q4_0 q4_k:Q4_K_S q5_k:Q5_K_S q6_k:Q6_K; do
  "$QUANTIZE" --pure "$work/out/gen256-f32.gguf" "$work/out/gen256-${pair%%:*}-llamacpp.gguf" "${pair#*:}" >"$work/quantize.log" 2>&1 \
    || { cat "$work/quantize.log" >&2; exit 1; }
done
(cd "$work/out" && sha256sum gen256-*.gguf) >"$work/SHA256SUMS"

if [[ "$update" == yes ]]; then
  mkdir -p "$FIXTURES"
  cp "$work/out/"gen256-*.gguf "$FIXTURES/"
  cp "$work/SHA256SUMS" "$FIXTURES/SHA256SUMS"
  echo "make_kquant_fixtures: rewrote $FIXTURES (update the sha256 list in PROVENANCE.md):" >&2
  cat "$FIXTURES/SHA256SUMS"
elif diff -u "$FIXTURES/SHA256SUMS" "$work/SHA256SUMS" >&2; then
  echo "make_kquant_fixtures: regenerated files are byte-identical to the committed fixtures" >&2
else
  echo "make_kquant_fixtures: regenerated files differ from the committed fixtures (see the diff above)" >&2
  exit 1
fi
