#!/usr/bin/env bash
# Installs Debian's `prometheus` package (it ships /usr/bin/prometheus and /usr/bin/promtool) for the
# metrics tests. The tests start their own prometheus process, so the packaged service is kept from
# starting during install and is stopped/disabled afterwards. Idempotent; needs root (CI runs as root).
set -euo pipefail

if [[ -x /usr/bin/prometheus && -x /usr/bin/promtool ]]; then
  echo "prometheus already installed: $(/usr/bin/prometheus --version 2>&1 | head -n1)"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Keep dpkg from starting the packaged service (policy-rc.d exit 101 = "action forbidden").
# Only created when absent, and removed again on exit.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

# Update the index only when apt has never been updated (fresh images ship without lists).
if ! apt-cache show prometheus >/dev/null 2>&1; then
  $SUDO apt-get update -q
fi
# --no-install-recommends: skips prometheus-node-exporter and friends, which the tests never use.
$SUDO apt-get install -y -q --no-install-recommends prometheus

# Where systemd is running, make sure the packaged service is off; elsewhere there is nothing to stop.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

/usr/bin/prometheus --version 2>&1 | head -n1
/usr/bin/promtool --version 2>&1 | head -n1
