#!/usr/bin/env bash
# Re-record the shipped example cassettes (cassettes/local*) from the real local llama.cpp
# server: build it if needed, start it on 127.0.0.1:8765 (the port models.toml names, which
# the cassettes carry), and run what scripts/main.sh replays with --llm-record-mode=rewrite.
# Cassettes of checks that no longer exist are removed first, so the folders hold exactly
# what the main job plays (git has the old ones).
#
# Env: as scripts/local-server/setup.sh and start.sh (LLMBENCH_CACHE, LLMBENCH_MODEL_ARGS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/local-server/setup.sh
bash scripts/local-server/start.sh
rm -rf cassettes/local cassettes/local-anthropic
# --llm-record-failed: the known deviations (models.toml conformance_xfail) fail by design, and
# the main job replays them too.
python -m pytest examples --llm-conformance -p no:cacheprovider \
  --llm-provider=local,local-anthropic --llm-record-mode=rewrite --llm-record-failed "$@"
echo "re-recorded: $(find cassettes/local cassettes/local-anthropic -name '*.yaml' | wc -l) cassettes"
