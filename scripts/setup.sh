#!/usr/bin/env bash
# Set up tracknet in ./.venv (created when missing). Usage: bash scripts/setup.sh [--dev]
#
# torch is installed only when the venv cannot already import it. The venv sees the system's
# site-packages, so a torch build that is already installed (a CUDA one, say) is kept. When torch
# is missing we ask for exactly torch==$TORCH_SPEC (default 2.13.0, a CPU build on the project's
# machines) instead of letting pip resolve the newest, multi-GB CUDA release.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

pip_quiet() {
  # pip's output minus the noise of unused local indexes; keep pip's exit status.
  local log rc=0
  log=$(mktemp)
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1 || rc=$?
  grep -v "is ignored" "$log" || true
  rm -f "$log"
  return $rc
}

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $("$PY" --version)"
  "$PY" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "[setup] torch not importable: installing $TORCH_SPEC"
  pip_quiet "$TORCH_SPEC"
fi
extras="onnx"
[ "${1:-}" = "--dev" ] && extras="onnx,dev"
echo "[setup] installing tracknet[$extras] (editable)"
pip_quiet -e ".[$extras]"
echo "[setup] ready: $(.venv/bin/tracknet --version)"
