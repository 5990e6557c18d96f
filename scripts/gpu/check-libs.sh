#!/usr/bin/env bash
# Lists the libraries ONNX Runtime's CUDA provider needs (CUDA 13, cuDNN 9) and where the loader finds them, searching
# LD_LIBRARY_PATH, the loader cache, /usr/local/cuda*, /usr/lib and /opt (a PyTorch install's nvidia/*/lib serve).
# Exit 0 when all are found. Usage: scripts/gpu/check-libs.sh [--export]  (--export prints an LD_LIBRARY_PATH line)
set -uo pipefail
missing=0 dirs=""
for lib in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9; do
  found=""
  IFS=: read -ra path_dirs <<<"${LD_LIBRARY_PATH:-}"
  for d in "${path_dirs[@]}"; do [[ -n "$d" && -e "$d/$lib" ]] && { found="$d/$lib"; break; }; done
  [[ -z "$found" ]] && found=$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l {print $NF; exit}')
  [[ -z "$found" ]] && found=$(find /usr/local/cuda* /usr/lib /usr/local/lib /opt -name "$lib" 2>/dev/null | head -1)
  if [[ -n "$found" ]]; then
    [[ "${1:-}" == --export ]] || echo "found   $lib  $found"
    dirs="$dirs:$(dirname "$found")"
  else
    [[ "${1:-}" == --export ]] || echo "MISSING $lib"
    missing=$((missing + 1))
  fi
done
if [[ "${1:-}" == --export ]]; then
  echo "export LD_LIBRARY_PATH=\"$(echo "${dirs#:}" | tr ':' '\n' | awk '!seen[$0]++' | paste -sd:)\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
fi
exit $((missing > 0))
