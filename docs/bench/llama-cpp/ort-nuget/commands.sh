#!/bin/bash
# CPU speed before and after ONNX Runtime moved from npm (1.30.0) to NuGet (1.32.0), in one sitting on a quiet machine:
# the same compare.sh, first with the build of 7923eb5 (before), then with this commit's build (after).
# A second pair (SIDES="before2 after2") repeats it, to tell drift of the machine from a change.
# /work/before is a worktree of 7923eb5 built with `dotnet build src/InferServe.Cli -c Release`.
cd /work/main
out=docs/bench/llama-cpp/ort-nuget
for side in ${SIDES:-before after}; do
  if [[ $side == before* ]]; then export INFERSERVE=/work/before/src/InferServe.Cli/bin/Release/net10.0/inferserve; else unset INFERSERVE; fi
  echo "=== $side $(date -u +%FT%TZ)"
  ../shared/peers/llama-cpp/compare.sh --kv-dtype int8 --concurrency 1,8,32 --requests 64 --profile > $out/$side.table.md 2> $out/$side.stderr.txt
  raw=$(grep -o "raw outputs: .*" $out/$side.stderr.txt | cut -d' ' -f3)
  mkdir -p $out/$side && cp -r $raw/* $out/$side/
  cat $out/$side.table.md
done
echo "=== done $(date -u +%FT%TZ)"
