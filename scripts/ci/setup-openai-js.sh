#!/usr/bin/env bash
# Installs the official OpenAI JS SDK used by the Responses API tests: npm openai at an exact version, into the
# git-ignored .deps/node-openai. Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

VERSION="7.55.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.deps/node-openai"
PKG_JSON="$PREFIX/node_modules/openai/package.json"

if [[ -f "$PKG_JSON" ]] && grep -q "\"version\": *\"$VERSION\"" "$PKG_JSON"; then
  echo "openai@$VERSION already installed in $PREFIX"
  exit 0
fi

command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

mkdir -p "$PREFIX"
# --ignore-scripts: we never want to run install scripts.
npm install --ignore-scripts --no-save --no-audit --no-fund --no-package-lock \
  --prefix "$PREFIX" "openai@$VERSION"

grep -q "\"version\": *\"$VERSION\"" "$PKG_JSON" || { echo "installed version mismatch" >&2; exit 1; }
echo "openai@$VERSION installed in $PREFIX"
