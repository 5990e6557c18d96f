#!/usr/bin/env bash
# Runs the disaggregated topology of docker/docker-compose.yml as plain processes on this machine:
# N prefill workers, N decode workers, then a gateway once every worker is ready. A process that dies is
# restarted (with backoff) while the others keep serving. Ctrl-C or SIGTERM stops them all.
#   scripts/run-disaggregated.sh [--model PATH] [--port 8000] [--grpc-port 50051] [--prefill-count 1]
#                                [--decode-count 1] [--log-dir DIR] [--prefill-ports HTTP,GRPC]
#                                [--decode-ports HTTP,GRPC] [-- EXTRA SERVE ARGS...]
# EXTRA args go to every process, e.g. `-- --kv-dtype int8 --weights int4`. Like compose, the workers'
# shared settings default to INFERSERVE__Weights=int4, INFERSERVE__KvDtype=int8, INFERSERVE__BlockSize=16
# (set those variables, or pass flags after --, to change them: flags win over the environment).
# Everything listens on 127.0.0.1 (worker ports must stay private). Ports: prefill i HTTP 8100+i,
# gRPC 50060+i; decode i HTTP 8200+i, gRPC 50070+i (i from 1); --prefill-ports/--decode-ports move those bases.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# INFERSERVE_CLI_DLL points at another build (tests run the Debug or Release one they were built with).
DLL="${INFERSERVE_CLI_DLL:-$ROOT/src/InferServe.Cli/bin/Release/net10.0/inferserve.dll}"
READY_TIMEOUT_S=120

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "run-disaggregated: $*" >&2; exit 2; }
need_int() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1 needs a number, got '$2'"; }

model="" port=8000 grpc_port=50051 prefill_count=1 decode_count=1 log_dir=""
prefill_http=8100 prefill_grpc=50060 decode_http=8200 decode_grpc=50070
extra=()
while (($#)); do
  case "$1" in
    --model) model="${2:?--model needs a path}"; shift 2 ;;
    --port) need_int "$1" "${2:-}"; port="$2"; shift 2 ;;
    --grpc-port) need_int "$1" "${2:-}"; grpc_port="$2"; shift 2 ;;
    --prefill-count) need_int "$1" "${2:-}"; prefill_count="$2"; shift 2 ;;
    --decode-count) need_int "$1" "${2:-}"; decode_count="$2"; shift 2 ;;
    --log-dir) log_dir="${2:?--log-dir needs a directory}"; shift 2 ;;
    --prefill-ports) IFS=, read -r prefill_http prefill_grpc <<<"${2:-}"; need_int "$1" "$prefill_http"; need_int "$1" "$prefill_grpc"; shift 2 ;;
    --decode-ports) IFS=, read -r decode_http decode_grpc <<<"${2:-}"; need_int "$1" "$decode_http"; need_int "$1" "$decode_grpc"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1' (serve flags go after --)" ;;
  esac
done
((prefill_count >= 1 && decode_count >= 1)) || die "--prefill-count and --decode-count must be at least 1"
command -v curl >/dev/null || die "curl is required"

if [[ ! -f "$DLL" ]]; then
  echo "run-disaggregated: $DLL missing; building" >&2
  dotnet build "$ROOT/src/InferServe.Cli" -c Release
fi

# Same shared settings as the compose anchor; every worker must agree on them.
export INFERSERVE__Weights="${INFERSERVE__Weights:-int4}"
export INFERSERVE__KvDtype="${INFERSERVE__KvDtype:-int8}"
export INFERSERVE__BlockSize="${INFERSERVE__BlockSize:-16}"

if [[ -z "$log_dir" ]]; then log_dir="$(mktemp -d "${TMPDIR:-/tmp}/inferserve-disagg.XXXXXX")"; fi
mkdir -p "$log_dir"
echo "logs: $log_dir"

common=(--host 127.0.0.1)
if [[ -n "$model" ]]; then common+=(--model "$model"); fi

pids=()
# shellcheck disable=SC2317 # reached through the traps below
stop_all() {
  trap - INT TERM EXIT
  pids=()
  for name in "${!pid_of[@]}"; do pids+=("${pid_of[$name]}"); done
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    # SIGTERM lets each server drain; one that is still up after 10 s is killed.
    local t
    for ((t = 0; t < 20; t++)); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

declare -A pid_of=() args_of=()
start() { # name, then serve args (kept, so a dead process is restarted the same way)
  local name="$1"; shift
  args_of[$name]="$(printf '%q ' "$@")"
  launch "$name"
}

launch() { # name
  local name="$1"
  eval "local -a args=(${args_of[$name]})"
  # shellcheck disable=SC2154 # args is set by the eval above
  dotnet "$DLL" serve "${args[@]}" "${common[@]}" "${extra[@]}" >>"$log_dir/$name.log" 2>&1 &
  pid_of[$name]=$!
  pids+=("$!")
  echo "$name: pid $!, log $log_dir/$name.log"
}

wait_ready() { # name http-port pid
  local name="$1" url="http://127.0.0.1:$2/ready" pid="$3" deadline=$((SECONDS + READY_TIMEOUT_S))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-disaggregated: $name exited before it was ready; last log lines:" >&2
      tail -n 20 "$log_dir/$name.log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "run-disaggregated: $name not ready at $url after ${READY_TIMEOUT_S}s; see $log_dir/$name.log" >&2
      exit 1
    fi
    sleep 1
  done
  echo "$name: ready ($url)"
}

# Worker links with mutual TLS (--worker-tls-cert among the extra flags) speak https. A token
# (INFERSERVE_WORKER_TOKEN in the environment) needs nothing here: every process inherits it.
scheme=http
for arg in "${extra[@]}"; do if [[ $arg == --worker-tls-cert* ]]; then scheme=https; fi; done

prefill_urls=() decode_urls=() workers=()
for ((i = 1; i <= prefill_count; i++)); do
  start "prefill$i" --role prefill --port $((prefill_http + i)) --grpc-port $((prefill_grpc + i)) \
    --device cpu --kv-cache-memory 1GiB --kv-lease-seconds 30
  prefill_urls+=("$scheme://127.0.0.1:$((prefill_grpc + i))")
  workers+=("prefill$i $((prefill_http + i)) ${pids[-1]}")
done
for ((i = 1; i <= decode_count; i++)); do
  start "decode$i" --role decode --port $((decode_http + i)) --grpc-port $((decode_grpc + i)) \
    --device cpu --kv-cache-memory 1GiB
  decode_urls+=("$scheme://127.0.0.1:$((decode_grpc + i))")
  workers+=("decode$i $((decode_http + i)) ${pids[-1]}")
done
# Workers start in parallel (model loading dominates); the gateway waits for all of them.
for w in "${workers[@]}"; do
  read -r name http_port pid <<<"$w"
  wait_ready "$name" "$http_port" "$pid"
done

join() { local IFS=,; echo "$*"; }
start gateway --role gateway --port "$port" --grpc-port "$grpc_port" \
  --prefill "$(join "${prefill_urls[@]}")" --decode "$(join "${decode_urls[@]}")" --routing cache-aware
wait_ready gateway "$port" "${pids[-1]}"

echo "OpenAI API: http://127.0.0.1:$port/v1   gRPC: 127.0.0.1:$grpc_port   metrics: http://127.0.0.1:$port/metrics"
echo "pids: ${pids[*]}   (Ctrl-C stops all)"
# Supervises until Ctrl-C or SIGTERM: a process that exits (a crash, kill -9) is restarted with the same flags
# after a backoff (1 s, doubling to at most 30 s; reset once it has run for a minute) while the others keep
# serving. The gateway takes a restarted worker back when its heartbeat answers again.
# Polls rather than `wait -n PIDS`: bash 5.2's skips a child that already exited and would block.
declare -A backoff_of=() due_of=() started_of=()
for name in "${!pid_of[@]}"; do backoff_of[$name]=1; started_of[$name]=$SECONDS; done
while :; do
  for name in "${!pid_of[@]}"; do
    pid="${pid_of[$name]}"
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" 2>/dev/null || status=$?
      if ((SECONDS - started_of[$name] >= 60)); then backoff_of[$name]=1; fi
      echo "run-disaggregated: $name (pid $pid) exited (status $status); restarting it in ${backoff_of[$name]}s" >&2
      pid_of[$name]=""
      due_of[$name]=$((SECONDS + backoff_of[$name]))
      backoff_of[$name]=$((backoff_of[$name] * 2 > 30 ? 30 : backoff_of[$name] * 2))
    elif [[ -z "$pid" ]] && ((SECONDS >= due_of[$name])); then
      echo "run-disaggregated: restarting $name" >&2
      launch "$name"
      started_of[$name]=$SECONDS
    fi
  done
  sleep 1
done
