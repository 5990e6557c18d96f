#!/usr/bin/env bash
# The GPU check: runs on a host with an NVIDIA GPU in under 8 minutes and ends with one verdict line,
# "GPU CHECK: PASS" or "GPU CHECK: FAIL (what failed)". Each step's full output goes to $OUT (default: a temp folder).
#   1. `providers` lists CUDAExecutionProvider;
#   2. greedy text of stories260K (fp32 weights, 100 tokens) on $DEVICE equals the CPU's;
#   3. teacher-forced top-1 agreement between $DEVICE and the CPU is >= 98 % for int8 and int4 weights (stories260K);
#   4. and >= 99 % over 256 positions on the SmolLM2-135M shape (fp32 weights);
#   5. `bench --profile` rows for the SmolLM2-135M and Llama-3.2-1B shapes at C=1 and C=32 (int4 weights, int8 KV);
#   6. a prefill worker on $DEVICE, a decode worker on the CPU and a gateway: greedy text equals `--role all` on the CPU.
# INFERSERVE: the binary (default: this checkout's Release build); DEVICE (default cuda:0); SKIP_BENCH=1 skips step 5.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IS="${INFERSERVE:-$ROOT/src/InferServe.Cli/bin/Release/net10.0/inferserve}"
DEVICE="${DEVICE:-cuda:0}"
OUT="${OUT:-$(mktemp -d)}"; mkdir -p "$OUT"
STORIES="$(dirname "$IS")/models/stories260K/stories260K.bin"
[[ -f "$STORIES" ]] || STORIES="$ROOT/models/stories260K/stories260K.bin"
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3
[[ -x "$IS" ]] || { echo "GPU CHECK: FAIL (no inferserve binary at $IS; set INFERSERVE)"; exit 1; }
failed=()
step() { echo "== $1" >&2; }
fail() { echo "FAIL: $1" >&2; failed+=("$1"); }
ok() { echo "ok: $1" >&2; }
top1() { # the lowest top-1 agreement in a `quality` output's JSON
  "$PY" -c 'import json,sys; t=open(sys.argv[1]).read(); r=json.loads(t[t.index("\n[")+1:]); print(min(x["top1_agreement"] for x in r))' "$1"
}
at_least() { "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

step "providers"
"$IS" providers > "$OUT/providers.txt" 2>&1
if grep -qx CUDAExecutionProvider "$OUT/providers.txt"; then ok "providers lists CUDA"; else fail "providers"; fi

step "stories260K fp32 greedy text, $DEVICE against cpu"
gen() { "$IS" generate --model "$STORIES" --prompt "Once upon a time" --max-tokens 100 --temperature 0 --weights fp32 --device "$1"; }
gen cpu > "$OUT/text-cpu.txt" 2> "$OUT/text-cpu.log"
gen "$DEVICE" > "$OUT/text-gpu.txt" 2> "$OUT/text-gpu.log"
if [[ -s "$OUT/text-cpu.txt" ]] && cmp -s "$OUT/text-cpu.txt" "$OUT/text-gpu.txt"; then ok "same text: $(head -c 80 "$OUT/text-cpu.txt")..."
else fail "stories260K text differs"; diff "$OUT/text-cpu.txt" "$OUT/text-gpu.txt" | head -5 >&2; tail -3 "$OUT/text-gpu.log" >&2; fi

step "teacher-forced top-1, stories260K int8/int4, $DEVICE against cpu"
"$IS" quality --model "$STORIES" --device "$DEVICE" --reference-device cpu --weights int8,int4 --prompts 20 --tokens 50 > "$OUT/quality-stories.txt" 2>&1
a=$(top1 "$OUT/quality-stories.txt" 2>/dev/null || echo 0)
if at_least "$a" 0.98; then ok "stories260K int8/int4 top-1 >= 98 % (lowest $a)"; else fail "stories260K int8/int4 top-1 $a < 0.98"; fi

step "teacher-forced top-1, SmolLM2-135M shape fp32, 4 x 64 = 256 positions, $DEVICE against cpu"
"$IS" quality --shape smollm2-135m --device "$DEVICE" --reference-device cpu --weights fp32 --prompts 4 --tokens 64 > "$OUT/quality-smollm2.txt" 2>&1
a=$(top1 "$OUT/quality-smollm2.txt" 2>/dev/null || echo 0)
if at_least "$a" 0.99; then ok "SmolLM2-135M top-1 >= 99 % ($a)"; else fail "SmolLM2-135M top-1 $a < 0.99"; fi

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  for shape in smollm2-135m llama-3.2-1b; do
    step "bench $shape on $DEVICE"
    if "$IS" bench --shape "$shape" --device "$DEVICE" --weights int4 --kv-dtype int8 --concurrency 1,32 --prompt-tokens 128 \
         --gen-tokens 64 --profile --json "$OUT/bench-$shape.json" > "$OUT/bench-$shape.txt" 2>&1; then
      ok "bench $shape"; grep -E "^int4|roofline C=1" "$OUT/bench-$shape.txt" >&2
    else fail "bench $shape"; tail -3 "$OUT/bench-$shape.txt" >&2; fi
  done
fi

step "disaggregated: prefill on $DEVICE, decode on cpu, gateway; against --role all on cpu"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pids=(); }
trap stop EXIT
ready() { # url seconds
  "$PY" - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200: sys.exit(0)
    except Exception: pass
    time.sleep(0.5)
sys.exit(1)
PY
}
complete() { # base-url -> greedy text of a 64-token completion
  "$PY" - "$1" <<'PY'
import json, sys, urllib.request
body = json.dumps({"model": "stories260K", "prompt": "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends and her dog.",
                   "max_tokens": 64, "temperature": 0}).encode()
req = urllib.request.Request(sys.argv[1] + "/v1/completions", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=120))["choices"][0]["text"])
PY
}
"$IS" serve --role prefill --model "$STORIES" --port 18101 --grpc-port 50161 --device "$DEVICE" > "$OUT/disagg-prefill.log" 2>&1 & pids+=($!)
"$IS" serve --role decode --model "$STORIES" --port 18201 --grpc-port 50171 --device cpu > "$OUT/disagg-decode.log" 2>&1 & pids+=($!)
if ready http://127.0.0.1:18101/ready 120 && ready http://127.0.0.1:18201/ready 120; then
  "$IS" serve --role gateway --model "$STORIES" --port 18000 --grpc-port 50151 --prefill http://127.0.0.1:50161 \
    --decode http://127.0.0.1:50171 --remote-prefill-min-tokens 0 > "$OUT/disagg-gateway.log" 2>&1 & pids+=($!)
  ready http://127.0.0.1:18000/ready 60 && complete http://127.0.0.1:18000 > "$OUT/disagg-text.txt" 2> "$OUT/disagg-client.log"
  "$PY" -c 'import sys, urllib.request; print(urllib.request.urlopen("http://127.0.0.1:18101/metrics").read().decode())' \
    > "$OUT/disagg-prefill-metrics.txt" 2>/dev/null
fi
stop
"$IS" serve --model "$STORIES" --port 18001 --grpc-port 50152 --device cpu > "$OUT/all-cpu.log" 2>&1 & pids+=($!)
ready http://127.0.0.1:18001/ready 120 && complete http://127.0.0.1:18001 > "$OUT/all-cpu-text.txt" 2>> "$OUT/disagg-client.log"
stop
sent=$(awk '/^inferserve_kv_transfer_bytes_total.*sent/ {print $NF}' "$OUT/disagg-prefill-metrics.txt" 2>/dev/null | head -1)
if [[ -s "$OUT/all-cpu-text.txt" ]] && cmp -s "$OUT/all-cpu-text.txt" "$OUT/disagg-text.txt" && at_least "${sent:-0}" 1; then
  ok "disaggregated text equals --role all (KV sent by the $DEVICE prefill worker: ${sent} bytes)"
else fail "disaggregated ($DEVICE prefill -> cpu decode) text or KV transfer"; fi

if ((${#failed[@]} == 0)); then echo "GPU CHECK: PASS ($DEVICE; logs in $OUT)"; exit 0; fi
echo "GPU CHECK: FAIL ($(IFS=';'; echo "${failed[*]}"); logs in $OUT)"; exit 1
