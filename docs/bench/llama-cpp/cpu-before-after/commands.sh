#!/bin/bash
# CPU speed before issues [1/5] and [2/5] (7923eb5: ONNX Runtime 1.30.0 from npm, per-layer graphs) against after
# (this commit: ONNX Runtime 1.32.0 from NuGet, the input-binding rule, the step graph available but off by default),
# in one sitting on a quiet machine, arms interleaved before/after/before2/after2 so drift of the machine shows.
# /work/before is a worktree of 7923eb5 built with `dotnet build src/InferServe.Cli -c Release`;
# this checkout is built with `dotnet build InferServe.sln -c Release`.
cd "$(dirname "$0")/../../../.."
out=docs/bench/llama-cpp/cpu-before-after
for side in ${SIDES:-before after before2 after2}; do
  if [[ $side == before* ]]; then export INFERSERVE=/work/before/src/InferServe.Cli/bin/Release/net10.0/inferserve; else unset INFERSERVE; fi
  echo "=== $side $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
  ../shared/peers/llama-cpp/compare.sh --kv-dtype int8 --concurrency 1,8,32 --requests 64 --profile > $out/$side.table.md 2> $out/$side.stderr.txt
  raw=$(grep -o "raw outputs: .*" $out/$side.stderr.txt | cut -d' ' -f3)
  mkdir -p $out/$side && cp -r $raw/* $out/$side/
  cat $out/$side.table.md
done
echo "=== done $(date -u +%FT%TZ)"
