#!/usr/bin/env bash
# Validates docker/docker-compose.yml with Debian's docker-compose (v1); no Docker engine is needed for `config`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v docker-compose >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
fi
docker-compose -f docker/docker-compose.yml config -q
echo "docker/docker-compose.yml is valid"
