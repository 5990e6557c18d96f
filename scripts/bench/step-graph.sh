#!/usr/bin/env bash
# Per-layer graphs (--step-graph off) against the whole-step graph (--step-graph on), interleaved A/B/A/B in one run
# on one build, so drift of the machine hits both arms alike. Random-weight SmolLM2-135M, int4 weights, int8 KV.
# Usage: scripts/bench/step-graph.sh > docs/bench/step-graph/raw.txt 2>&1
# Env: STEP_GRAPH_CACHE (graph and model cache, default /tmp/step-graph-bench), ROUNDS (2), REQUESTS (0 = max(2C, 4) per level),
#      CONCURRENCY (1,8,32), GEN_TOKENS (128), PROMPT_TOKENS (128), OUT (where the per-arm JSON goes, default docs/bench/step-graph).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${STEP_GRAPH_CACHE:-/tmp/step-graph-bench}
out=${OUT:-$root/docs/bench/step-graph}
rounds=${ROUNDS:-2}
dotnet build -c Release "$root/src/InferServe.Cli/InferServe.Cli.csproj" >&2
cli="$root/src/InferServe.Cli/bin/Release/net10.0/inferserve"
args=(--shape smollm2-135m --weights int4 --kv-dtype int8 --prompt-tokens "${PROMPT_TOKENS:-128}" --gen-tokens "${GEN_TOKENS:-128}"
  --concurrency "${CONCURRENCY:-1,8,32}" --requests "${REQUESTS:-0}" --profile --no-roofline --cache-dir "$cache")

echo "# step-graph A/B: $(git -C "$root" rev-parse --short HEAD), $(date -u +%FT%TZ), $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $cli bench ${args[*]} --step-graph off|on"
# Build both graph sets (and the model) first, so no arm pays for it.
for mode in off on; do "$cli" bench "${args[@]}" --concurrency 1 --requests 1 --gen-tokens 2 --step-graph "$mode" >/dev/null 2>&1; done
for round in $(seq "$rounds"); do
  for mode in off on; do
    echo "=== round $round, --step-graph $mode, $(date -u +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
    "$cli" bench "${args[@]}" --step-graph "$mode" --json "$out/round$round-$mode.json" 2>&1
  done
done
