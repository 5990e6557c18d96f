#!/usr/bin/env bash
# HTTP load test against a real `inferserve serve` on loopback. Bounded in time and connections;
# targets 127.0.0.1 only. Usage:
#   loadtests/run.sh [--shape smollm2-135m | --model PATH] [--weights int4] [--kv-dtype int8]
#                    [--connections 32] [--duration 30s] [--max-tokens 64]
# Needs wrk (apt-get install wrk). Prints wrk's summary plus the server's token throughput from /metrics.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

connections=32 duration=30s max_tokens=64 port=${PORT:-18080}
server_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --max-tokens) max_tokens=$2; shift 2 ;;
    *) server_args+=("$1" "$2"); shift 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

dotnet build -c Release src/InferServe.Cli -v q -nologo >/dev/null
bin=src/InferServe.Cli/bin/Release/net10.0/inferserve
"$bin" serve --host 127.0.0.1 --port "$port" --grpc-port 0 --max-seqs "$connections" "${server_args[@]}" >/tmp/inferserve-loadtest.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break
  kill -0 $server 2>/dev/null || { cat /tmp/inferserve-loadtest.log; exit 1; }
  sleep 0.5
done
model=$(curl -fs "http://127.0.0.1:$port/v1/models" | sed -E 's/.*"id":"([^"]+)".*/\1/')

gen_before=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^inferserve_generation_tokens_total/ {print $2}')
start=$(date +%s.%N)
MODEL="$model" MAX_TOKENS="$max_tokens" wrk -t2 -c"$connections" -d"$duration" --timeout 120s -s loadtests/completions.lua "http://127.0.0.1:$port/v1/completions"
end=$(date +%s.%N)
gen_after=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^inferserve_generation_tokens_total/ {print $2}')
awk -v a="$gen_before" -v b="$gen_after" -v s="$start" -v e="$end" 'BEGIN { printf "generated tokens: %d, server output throughput: %.1f tok/s\n", b - a, (b - a) / (e - s) }'
