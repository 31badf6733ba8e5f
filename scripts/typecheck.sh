#!/usr/bin/env bash
# mypy on the package, the tests and the benchmarks, with the configuration in pyproject.toml.
# Each conftest.py is checked on its own: in one run they would all be the module `conftest`.
set -euo pipefail
cd "$(dirname "$0")/.."
mypy pytest_llmbench
mypy tests benchmarks
for conftest in conftest.py $(find tests -name conftest.py | sort); do
  mypy "$conftest"
done
