#!/usr/bin/env bash
# Installs the reference Jinja implementation used by the chat-template parity tests:
# npm @huggingface/jinja at an exact version, into the git-ignored .deps/node-jinja.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/ci/npm-pinned.sh"
npm_install_pinned "@huggingface/jinja" "0.5.11" "$ROOT/.deps/node-jinja"
