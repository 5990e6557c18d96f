#!/bin/sh
# Image entrypoint. The CLI reads no env var for the model path, so compose and `docker run -e MODEL=...`
# select one here: MODEL set (e.g. /models/SmolLM2-135M-Instruct) adds `--model "$MODEL"` to `serve`
# unless --model was given; MODEL empty serves the embedded default model. Other commands
# (healthcheck, --help, ...) pass through untouched.
set -eu
if [ -n "${MODEL:-}" ] && [ "${1:-}" = serve ]; then
  given=no
  for arg in "$@"; do
    case "$arg" in --model|--model=*) given=yes ;; esac
  done
  if [ "$given" = no ]; then set -- "$@" --model "$MODEL"; fi
fi
exec dotnet /app/inferserve.dll "$@"
