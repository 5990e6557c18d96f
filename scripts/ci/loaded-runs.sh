#!/usr/bin/env bash
# Five consecutive full-suite runs under `stress --cpu 2` (issue [8/9]'s flakiness check), in one fresh clone of
# this repository's HEAD with ../shared beside it. Run 1 is `.ci/run` (peer setup and build); runs 2-5 reuse them.
# Usage: scripts/ci/loaded-runs.sh [OUT_DIR]   (default /tmp/loaded-runs; Debian's stress, or two busy shell loops
# that load the CPUs the same way where it is not installed)
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-/tmp/loaded-runs}"; mkdir -p "$out"
load() { if command -v stress >/dev/null; then exec stress --cpu 2; else for _ in 1 2; do (while :; do :; done) & done; wait; fi; }
root="$(mktemp -d)"; cd "$root" && git clone -q "$repo" main && ln -s "$(cd "$repo/../shared" && pwd)" shared && cd main
echo "commit $(git rev-parse HEAD)" > "$out/summary.txt"
for i in 1 2 3 4 5; do
  (load > /dev/null 2>&1) &
  sp=$!
  start=$(date +%s)
  if [[ $i == 1 ]]; then CI=true bash .ci/run > "$out/run$i.log" 2>&1; else CI=true INFERSERVE_SKIP_SETUP=1 bash scripts/test.sh > "$out/run$i.log" 2>&1; fi
  rc=$?
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  pkill -P $sp 2>/dev/null; pkill -x stress 2>/dev/null; kill $sp 2>/dev/null; wait $sp 2>/dev/null
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $(grep -E "^[0-9]+ passed, " "$out/run$i.log" | tail -1), load average at its end: $load" >> "$out/summary.txt"
done
