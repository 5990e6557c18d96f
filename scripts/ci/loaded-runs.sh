#!/usr/bin/env bash
# Five consecutive full-suite runs under `stress --cpu 2` (issue [8/9]'s flakiness check), in one fresh clone of
# this repository's HEAD with ../shared beside it. Run 1 is `.ci/run` (peer setup and build); runs 2-5 reuse them.
# Usage: scripts/ci/loaded-runs.sh [OUT_DIR]   (default /tmp/loaded-runs; needs Debian's stress)
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-/tmp/loaded-runs}"; mkdir -p "$out"
command -v stress >/dev/null || { echo "needs stress (apt-get install stress)" >&2; exit 1; }
root="$(mktemp -d)"; cd "$root" && git clone -q "$repo" main && ln -s "$(cd "$repo/../shared" && pwd)" shared && cd main
echo "commit $(git rev-parse HEAD)" > "$out/summary.txt"
for i in 1 2 3 4 5; do
  stress --cpu 2 > /dev/null 2>&1 &
  sp=$!
  start=$(date +%s)
  if [[ $i == 1 ]]; then CI=true bash .ci/run > "$out/run$i.log" 2>&1; else CI=true INFERSERVE_SKIP_SETUP=1 bash scripts/test.sh > "$out/run$i.log" 2>&1; fi
  rc=$?
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  pkill -x stress; wait $sp 2>/dev/null
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $(tail -1 "$out/run$i.log"), load average at its end: $load" >> "$out/summary.txt"
done
