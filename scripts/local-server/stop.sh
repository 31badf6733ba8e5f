#!/usr/bin/env bash
# Stop the llama-server started by start.sh (found through its pid file).
#
# Env: LLMBENCH_CACHE (default ~/.cache/pytest-llmbench), LLMBENCH_LOCAL_PORT (default 8765).
set -euo pipefail

CACHE="${LLMBENCH_CACHE:-$HOME/.cache/pytest-llmbench}"
PORT="${LLMBENCH_LOCAL_PORT:-8765}"
PID_FILE="$CACHE/llama-server-$PORT.pid"

if [[ ! -f "$PID_FILE" ]]; then
    echo "no pid file ($PID_FILE): llama-server on port $PORT is not running"
    exit 0
fi
pid="$(cat "$PID_FILE")"
# Only signal the pid if it still is llama-server (pids get reused).
if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != llama-server ]]; then
    echo "pid $pid is no longer llama-server; removing stale pid file"
    rm -f "$PID_FILE"
    exit 0
fi

kill -TERM "$pid"
for _ in $(seq 50); do  # up to 10 s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
    echo "llama-server (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid"
fi
rm -f "$PID_FILE"
echo "stopped llama-server (pid $pid)"
