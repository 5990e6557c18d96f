#!/usr/bin/env bash
# The gRPC swap measured before and after in one run: builds BEFORE_REF (default 867f942, the in-repo gRPC library)
# in a worktree beside this tree, then runs the same client (loadtests/InferServe.GrpcBench) against each build's
# processes in turn: a prefill and a decode worker (random-weight SmolLM2-135M, int8 KV) and a serve process (stories260K).
# Usage: scripts/bench/grpc-swap.sh [BEFORE_REF] > docs/bench/grpc-swap/raw.txt
# Env: GRPC_SWAP_WORK (default /tmp/grpc-swap), GRPC_SWAP_BEFORE_DIR (an existing checkout of BEFORE_REF),
#      PROMPT_TOKENS (2048), PULLS (20), UNARY_CALLS (2000), STREAMS (20), ROUNDS (2: before, after, before, after).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
before_ref=${1:-867f942}
work=${GRPC_SWAP_WORK:-/tmp/grpc-swap}
before=${GRPC_SWAP_BEFORE_DIR:-$work/before}
mkdir -p "$work"
if [ ! -d "$before/src" ]; then git -C "$root" worktree add --detach "$before" "$before_ref" >&2; fi
for dir in "$before" "$root"; do dotnet build -c Release "$dir/src/InferServe.Cli/InferServe.Cli.csproj" >&2; done
dotnet build -c Release "$root/loadtests/InferServe.GrpcBench/InferServe.GrpcBench.csproj" >&2
bench="$root/loadtests/InferServe.GrpcBench/bin/Release/net10.0/inferserve-grpc-bench"
model="$work/smollm2-135m"
[ -f "$model/model.safetensors" ] || "$root/src/InferServe.Cli/bin/Release/net10.0/inferserve" make-model --shape smollm2-135m --output "$model" >&2

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
trap stop EXIT

wait_ready() {
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/ready" >/dev/null && return 0; sleep 0.5; done
  echo "port $1 never became ready" >&2; return 1
}

# run LABEL CHECKOUT BASE_PORT
run() {
  local label=$1 cli="$2/src/InferServe.Cli/bin/Release/net10.0/inferserve" p=$3
  local common=(--model "$model" --served-model-name bench --kv-dtype int8 --threads 1 --no-ort-spinning --cache-dir "$work/cache-$label" --host 127.0.0.1)
  "$cli" serve --role prefill "${common[@]}" --port "$p" --grpc-port $((p + 1)) > "$work/$label-prefill.log" 2>&1 & pids+=($!)
  "$cli" serve --role decode "${common[@]}" --port $((p + 2)) --grpc-port $((p + 3)) > "$work/$label-decode.log" 2>&1 & pids+=($!)
  "$cli" serve --threads 1 --no-ort-spinning --host 127.0.0.1 --port $((p + 4)) --grpc-port $((p + 5)) > "$work/$label-serve.log" 2>&1 & pids+=($!)
  wait_ready "$p"; wait_ready $((p + 2)); wait_ready $((p + 4))
  "$bench" "$label" "http://127.0.0.1:$((p + 1))" "http://127.0.0.1:$((p + 3))" "http://127.0.0.1:$((p + 2))" "http://127.0.0.1:$((p + 5))" \
    "${PROMPT_TOKENS:-2048}" "${PULLS:-20}" "${UNARY_CALLS:-2000}" "${STREAMS:-20}"
  stop
}

echo "# grpc-swap $(date -u +%FT%TZ) before=$(git -C "$before" rev-parse --short HEAD) after=$(git -C "$root" rev-parse --short HEAD) (+ working tree) $(nproc) cores"
for round in $(seq "${ROUNDS:-2}"); do
  run before "$before" 18100
  run after "$root" 18200
done
