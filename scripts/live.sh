#!/usr/bin/env bash
# The live path against the real local llama.cpp server (scripts/local-server/start.sh):
# the example latency scenarios and the built-in conformance suite (--llm-conformance),
# calling the server for real.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest examples --llm-conformance -p no:cacheprovider -m live \
  --llm-provider=local,local-anthropic --llm-report=reports/live.json "$@"
