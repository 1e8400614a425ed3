#!/usr/bin/env bash
# The project's checks: lint, types on the NumPy core, then the test suite (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
