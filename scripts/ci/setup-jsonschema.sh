#!/usr/bin/env bash
# Installs Debian's python3-jsonschema, the independent validator the structured-output tests check outputs with
# (tests/InferServe.Server.Tests/StructuredOutputTests.cs). Idempotent: skips apt when /usr/bin/python3 has it.
# Runs as root on Debian 12 (CI); uses sudo when not root.
set -euo pipefail

PY=/usr/bin/python3
have_module() { "$PY" -c 'import jsonschema' >/dev/null 2>&1; }

if have_module; then
  echo "python3-jsonschema already available"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if ! $SUDO apt-get install -y --no-install-recommends python3-jsonschema; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends python3-jsonschema
fi

have_module || { echo "python3-jsonschema installed but not importable by $PY" >&2; exit 1; }
echo "python3-jsonschema installed"
