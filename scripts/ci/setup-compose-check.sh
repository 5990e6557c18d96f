#!/usr/bin/env bash
# Validates the compose files with Debian's docker-compose (v1); no Docker engine is needed for `config`.
# The GPU file is an override, so it is checked merged onto the disaggregated topology it extends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v docker-compose >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
fi
docker-compose -f docker/docker-compose.yml config -q
echo "docker/docker-compose.yml is valid"
docker-compose -f docker/docker-compose.single.yml config -q
echo "docker/docker-compose.single.yml is valid"
docker-compose -f docker/docker-compose.yml -f docker/docker-compose.gpu.yml config -q
echo "docker/docker-compose.yml + docker/docker-compose.gpu.yml is valid"
