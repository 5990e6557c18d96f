# Sourced by the setup-*.sh scripts: npm_install_pinned PACKAGE VERSION PREFIX installs PACKAGE@VERSION into PREFIX
# (git-ignored .deps/...) without running install scripts. Idempotent: does nothing when that version is there.
npm_install_pinned() {
  local package="$1" version="$2" prefix="$3"
  local pkg_json="$prefix/node_modules/$package/package.json"
  if [[ -f "$pkg_json" ]] && grep -q "\"version\": *\"$version\"" "$pkg_json"; then
    echo "$package@$version already installed in $prefix"
    return 0
  fi
  command -v node >/dev/null || { echo "node is required" >&2; return 1; }
  command -v npm >/dev/null || { echo "npm is required" >&2; return 1; }
  mkdir -p "$prefix"
  # --ignore-scripts: we never want to run install scripts.
  npm install --ignore-scripts --no-save --no-audit --no-fund --no-package-lock --prefix "$prefix" "$package@$version"
  grep -q "\"version\": *\"$version\"" "$pkg_json" || { echo "installed version mismatch" >&2; return 1; }
  echo "$package@$version installed in $prefix"
}
