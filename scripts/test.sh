#!/usr/bin/env bash
# The test suite with coverage: what the README tells you to run and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest -n 2 --cov=pytest_llmbench --cov-report=term "$@"
