#!/usr/bin/env bash
# Installs the official OpenAI JS SDK used by the Responses API tests: npm openai at an exact version, into the
# git-ignored .deps/node-openai. Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/ci/npm-pinned.sh"
npm_install_pinned "openai" "7.55.0" "$ROOT/.deps/node-openai"
