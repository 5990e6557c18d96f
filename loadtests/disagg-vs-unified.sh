#!/usr/bin/env bash
# Unified (--role all, both cores) against disaggregated (prefill and decode workers, one core each, plus a gateway)
# at the same fixed request rate, with `inferserve bench-serve` (Poisson arrivals, streaming, client-side TTFT/TPOT).
# Runs alternate unified / disaggregated so drift of the machine shows as spread between rounds.
#   loadtests/disagg-vs-unified.sh [--shape smollm2-135m] [--rate 1.5] [--requests 60] [--rounds 2] [--out FILE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shape=smollm2-135m rate=1.5 requests=60 rounds=2 out=docs/bench/disagg-vs-unified.jsonl prompt=256 gen=64
while (($#)); do
  case "$1" in
    --shape) shape="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --prompt-tokens) prompt="$2"; shift 2 ;;
    --max-tokens) gen="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dotnet build src/InferServe.Cli -c Release -v q -nologo >/dev/null
cli=(dotnet src/InferServe.Cli/bin/Release/net10.0/inferserve.dll)
common=(--shape "$shape" --weights int4 --kv-dtype int8 --kv-cache-memory 1GiB --host 127.0.0.1)
logs="$(mktemp -d)"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap stop EXIT
ready() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/ready" >/dev/null && return 0; sleep 0.5; done; echo "port $1 never ready" >&2; exit 1; }
bench() { "${cli[@]}" bench-serve --url "http://127.0.0.1:$1" --rate "$rate" --requests "$requests" --prompt-tokens "$prompt" --max-tokens "$gen" --label "$2" --json "$out"; }

echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; shape $shape int4 weights, int8 KV; rate $rate req/s, $requests requests, prompt $prompt, output $gen" | tee -a "${out%.jsonl}.txt"
for round in $(seq 1 "$rounds"); do
  "${cli[@]}" serve --role all "${common[@]}" --port 19000 --grpc-port 19051 >"$logs/all.log" 2>&1 & pids+=($!)
  ready 19000
  bench 19000 "unified round $round" | tee -a "${out%.jsonl}.txt"
  stop

  "${cli[@]}" serve --role prefill "${common[@]}" --threads 1 --port 19101 --grpc-port 19161 >"$logs/prefill.log" 2>&1 & pids+=($!)
  "${cli[@]}" serve --role decode "${common[@]}" --threads 1 --port 19201 --grpc-port 19171 >"$logs/decode.log" 2>&1 & pids+=($!)
  ready 19101; ready 19201
  "${cli[@]}" serve --role gateway --shape "$shape" --host 127.0.0.1 --port 19300 --grpc-port 19351 \
    --prefill http://127.0.0.1:19161 --decode http://127.0.0.1:19171 --remote-prefill-min-tokens 0 >"$logs/gateway.log" 2>&1 & pids+=($!)
  ready 19300
  bench 19300 "disaggregated round $round" | tee -a "${out%.jsonl}.txt"
  echo "  transfer: $(curl -s http://127.0.0.1:19201/metrics | grep -E '^inferserve_kv_transfer_(bytes|seconds_(sum|count))_?\w*\{direction="received"\}' | tr '\n' ' ')" | tee -a "${out%.jsonl}.txt"
  stop
done
