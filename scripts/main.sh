#!/usr/bin/env bash
# The main job: replay the shipped cassettes offline (no keys, no network) at the pace they
# were recorded, and print the latency report and the conformance matrix of the built-in
# suite (--llm-conformance); also writes reports/llmbench.{json,html}.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest examples --llm-conformance -p no:cacheprovider \
  --llm-provider=local,local-anthropic --llm-replay --llm-strict --llm-replay-timing=recorded \
  --llm-report=reports/llmbench.json --llm-html=reports/llmbench.html "$@"
