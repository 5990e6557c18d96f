#!/usr/bin/env bash
# Installs the reference Jinja implementation used by the chat-template parity tests:
# npm @huggingface/jinja at an exact version, into the git-ignored .deps/node-jinja.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

VERSION="0.5.11"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.deps/node-jinja"
PKG_JSON="$PREFIX/node_modules/@huggingface/jinja/package.json"

if [[ -f "$PKG_JSON" ]] && grep -q "\"version\": *\"$VERSION\"" "$PKG_JSON"; then
  echo "@huggingface/jinja@$VERSION already installed in $PREFIX"
  exit 0
fi

command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

mkdir -p "$PREFIX"
# --ignore-scripts: the package has no install scripts and we never want to run any.
npm install --ignore-scripts --no-save --no-audit --no-fund --no-package-lock \
  --prefix "$PREFIX" "@huggingface/jinja@$VERSION"

grep -q "\"version\": *\"$VERSION\"" "$PKG_JSON" || { echo "installed version mismatch" >&2; exit 1; }
echo "@huggingface/jinja@$VERSION installed in $PREFIX"
