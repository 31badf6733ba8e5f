#!/usr/bin/env bash
# The test suite with coverage: what the README tells you to run and what CI runs.
# `coverage run` rather than pytest-cov: the plugin is imported through its pytest11 entry
# point before pytest-cov could start measuring, which would hide its module-level lines.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m coverage erase
python -m coverage run -m pytest "$@"
python -m coverage report
