#!/usr/bin/env bash
# Longer fuzz runs than the test suite's: every fuzz target (tests with the trait Category=Fuzz) with a seed and a
# case count per target of your choice. The suite runs the same targets with seed 20261201 and the default counts
# listed in docs/reliability.md.
#
#   scripts/fuzz.sh [SEED] [CASES_PER_TARGET] [TARGET_FILTER]
#   scripts/fuzz.sh 7 50000                  # every target, seed 7, 50,000 cases each
#   scripts/fuzz.sh 7 20000 RequestBody      # only test classes whose name contains RequestBody
#
# A failure prints the case number, the seed and the input that reproduces it; rerun with the same seed to replay it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seed="${1:-$RANDOM}"
cases="${2:-20000}"
target="${3:-}"
[[ "$seed" =~ ^[0-9]+$ && "$cases" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SEED] [CASES_PER_TARGET] [TARGET_FILTER]" >&2; exit 2; }

filter="Category=Fuzz"
[[ -n "$target" ]] && filter="$filter&FullyQualifiedName~$target"
projects=(tests/InferServe.Server.Tests tests/InferServe.Api.Grpc.Tests tests/InferServe.Models.Tests tests/InferServe.ChatTemplates.Tests)

echo "fuzz: seed $seed, $cases cases per target, filter '$filter'"
status=0
for p in "${projects[@]}"; do
  dotnet build -c Release "$p" -v q -nologo >/dev/null
  INFERSERVE_FUZZ_SEED="$seed" INFERSERVE_FUZZ_CASES="$cases" \
    dotnet test "$p" -c Release --no-build --filter "$filter" --logger "console;verbosity=detailed" || status=$?
done
echo "fuzz: seed $seed, $cases cases per target: $([[ $status -eq 0 ]] && echo "no failures" || echo "FAILURES (see above)")"
exit $status
