#!/usr/bin/env bash
# Lint, format check, type check and the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check tracknet tests scripts
.venv/bin/ruff format --check tracknet tests scripts
.venv/bin/python -m mypy  # the files and settings: [tool.mypy] in pyproject.toml
.venv/bin/python -m pytest "$@"
