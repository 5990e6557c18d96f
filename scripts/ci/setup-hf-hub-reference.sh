#!/usr/bin/env bash
# Installs the reference Hugging Face hub client into .deps/node-hf-hub (git-ignored) for the cache
# compatibility tests: node_modules/@huggingface/hub (the official JS client). Pinned version, verified against
# its pinned sha512 integrity; `npm pack` only (no install scripts run). Its one runtime dependency,
# @huggingface/xetchunk-wasm, chunks uploads for the Xet protocol, which downloads from a plain hub never reach;
# it is replaced by an empty module. Idempotent (stamp file); safe to call concurrently (flock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${INFERSERVE_HF_HUB_REF_DIR:-$ROOT/.deps/node-hf-hub}"
PKG="@huggingface/hub@2.17.5"
WANT="sha512-FbS39It+C+K5F10jyaNAI2wmMaLpOu+KN0Om8ycXc0um/RIisxOyE/5eTqPELy9bAI8JZdGQ29nZYzcZeXzvFg=="
STAMP="$PKG|$WANT"

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" ]]; then exit 0; fi

command -v npm >/dev/null || { echo "setup-hf-hub-reference: npm not found" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

rm -rf "$DEST/node_modules" "$DEST/.stamp"
echo "setup-hf-hub-reference: fetching $PKG" >&2
tgz="$(cd "$work" && npm pack --silent "$PKG" 2>/dev/null | tail -n1)"
got="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)"
if [[ "$got" != "$WANT" ]]; then
  echo "setup-hf-hub-reference: integrity mismatch for $PKG: got $got, want $WANT" >&2
  exit 1
fi
tar -xzf "$work/$tgz" -C "$work"
mkdir -p "$DEST/node_modules/@huggingface/xetchunk-wasm"
mv "$work/package" "$DEST/node_modules/@huggingface/hub"
printf '{"name":"@huggingface/xetchunk-wasm","version":"0.0.0-stub","main":"index.js"}\n' > "$DEST/node_modules/@huggingface/xetchunk-wasm/package.json"
echo 'module.exports = {}; // stub: upload chunking only' > "$DEST/node_modules/@huggingface/xetchunk-wasm/index.js"
echo "$STAMP" > "$DEST/.stamp"
echo "setup-hf-hub-reference: ready in $DEST" >&2
