#!/usr/bin/env bash
# Runs every serving comparison of docs/benchmarks.md with the load tool, one server at a time on loopback,
# and keeps each report (json, md, html + svg plots) under OUT/<comparison>/ and the server's /metrics at the end
# of each run in OUT/<comparison>.metrics.txt.
#   loadtests/benchmarks.sh [--out docs/bench/serving] [--level 30s] [--soak 10m] [--only kv,prefix,weights,disagg,soak,burst]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=docs/bench/serving level=30s soak=10m only=kv,prefix,weights,disagg,soak,burst
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --level) level="$2"; shift 2 ;;
    --soak) soak="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "benchmarks: unknown option $1" >&2; exit 2 ;;
  esac
done
dotnet build src/InferServe.Cli -c Release -v q -nologo >/dev/null
dotnet build loadtests/InferServe.LoadTests -c Release -v q -nologo >/dev/null
cli=(dotnet src/InferServe.Cli/bin/Release/net10.0/inferserve.dll)
load=(dotnet loadtests/InferServe.LoadTests/bin/Release/net10.0/inferserve-load.dll)
mkdir -p "$out"
logs="$out/logs"; mkdir -p "$logs"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap stop EXIT
ready() { for _ in $(seq 1 1200); do curl -sf "http://127.0.0.1:$1/ready" >/dev/null && return 0; sleep 0.5; done; echo "port $1 never ready" >&2; exit 1; }
serve() { local name="$1"; shift; "${cli[@]}" serve --shape smollm2-135m --host 127.0.0.1 --port 19000 --grpc-port 19051 "$@" >"$logs/$name.log" 2>&1 & pids+=($!); ready 19000; }
run() { local name="$1"; shift; echo "## $name: ${load[*]} $*" | tee -a "$out/commands.txt"; "${load[@]}" --url http://127.0.0.1:19000 --slo ttft=500ms,tpot=50ms --seed 1 "$@" --out "$out/$name" >"$out/$name.log" 2>&1 || { echo "load tool failed for $name (see $out/$name.log)" >&2; tail -5 "$out/$name.log" >&2; }; tail -3 "$out/$name.log"; curl -s "http://127.0.0.1:19000/metrics" >"$out/$name.metrics.txt" || true; }
want() { [[ ",$only," == *",$1,"* ]]; }

echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, git $(git rev-parse --short HEAD)" | tee -a "$out/commands.txt"

if want kv; then
  for kv in fp32 int8 int4; do
    serve "kv-$kv" --weights int4 --kv-dtype "$kv" --kv-cache-memory 64MiB --max-seqs 64
    grep -m1 -iE "kv (cache|pool)" "$logs/kv-$kv.log" | tee -a "$out/commands.txt" || true
    run "kv-$kv" --sweep-concurrency 4,16,32 --input-len 256 --output-len 128 --warmup 5s --duration "$level"
    stop
  done
fi

if want prefix; then
  for pc in on off; do
    flag=(); [[ $pc == off ]] && flag=(--no-prefix-caching)
    serve "prefix-$pc" --weights int4 --kv-dtype int8 "${flag[@]}"
    run "prefix-$pc" --dataset prefix --prefixes 4 --prefix-len 1024 --suffix-len 32 --output-len 64 --sweep-rate 0.5,1,2 --warmup 5s --duration "$level"
    stop
  done
fi

if want weights; then
  for w in fp32 int4; do
    serve "weights-$w" --weights "$w" --kv-dtype int8
    run "weights-$w" --input-len 256 --output-len 128 --sweep-rate 0.5,1,2 --warmup 5s --duration "$level"
    stop
  done
fi

if want disagg; then
  serve unified --weights int4 --kv-dtype int8 --kv-cache-memory 1GiB
  run unified --input-len 256 --output-len 128 --sweep-rate 0.5,1,2 --warmup 5s --duration "$level"
  stop
  common=(--shape smollm2-135m --weights int4 --kv-dtype int8 --kv-cache-memory 1GiB --host 127.0.0.1 --threads 1)
  "${cli[@]}" serve --role prefill "${common[@]}" --port 19101 --grpc-port 19161 >"$logs/prefill.log" 2>&1 & pids+=($!)
  "${cli[@]}" serve --role decode "${common[@]}" --port 19201 --grpc-port 19171 >"$logs/decode.log" 2>&1 & pids+=($!)
  ready 19101; ready 19201
  "${cli[@]}" serve --role gateway --shape smollm2-135m --host 127.0.0.1 --port 19000 --grpc-port 19051 \
    --prefill http://127.0.0.1:19161 --decode http://127.0.0.1:19171 >"$logs/gateway.log" 2>&1 & pids+=($!)
  ready 19000
  run disaggregated --input-len 256 --output-len 128 --sweep-rate 0.5,1,2 --warmup 5s --duration "$level"
  stop
fi

if want soak; then
  serve soak --weights int4 --kv-dtype int8
  run soak --rate 1 --input-len 256 --output-len 64 --warmup 60s --duration "$soak" --monitor 10s
  stop
fi

if want burst; then
  serve burst --weights int4 --kv-dtype int8 --max-seqs 8 --max-queue 16
  run burst --rate 1 --input-len 128 --output-len 32 --burst 40,20,5 --duration 60s --warmup 0s
  stop
fi
echo "done: $out"
