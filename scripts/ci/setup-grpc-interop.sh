#!/usr/bin/env bash
# Installs the Debian gRPC Python stack used as the interop client by tests/InferServe.Api.Grpc.Tests.
# Idempotent: skips apt entirely when /usr/bin/python3 can already import grpc and protobuf.
# Runs as root on Debian 12 (CI); uses sudo when not root.
set -euo pipefail

PY=/usr/bin/python3
have_modules() { "$PY" -c 'import grpc, google.protobuf' >/dev/null 2>&1; }

if have_modules; then
  echo "python3-grpcio already available: $("$PY" -c 'import grpc; print(grpc.__version__)')"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Fresh machines often have empty package lists; update once, then install.
if ! $SUDO apt-get install -y --no-install-recommends python3-grpcio python3-protobuf; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends python3-grpcio python3-protobuf
fi

have_modules || { echo "python3-grpcio installed but not importable by $PY" >&2; exit 1; }
echo "python3-grpcio installed: $("$PY" -c 'import grpc; print(grpc.__version__)')"
