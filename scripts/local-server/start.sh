#!/usr/bin/env bash
# Start llama-server with the tiny model in the background on 127.0.0.1 and
# wait until GET /health returns 200. Run setup.sh first. Safe to re-run: a
# healthy server started earlier is left alone.
#
# Env: LLMBENCH_CACHE (default ~/.cache/pytest-llmbench), LLMBENCH_LOCAL_PORT (default 8765),
#      LLMBENCH_LOCAL_MODEL (model id the server reports, default "tiny").
set -euo pipefail

CACHE="${LLMBENCH_CACHE:-$HOME/.cache/pytest-llmbench}"
PORT="${LLMBENCH_LOCAL_PORT:-8765}"
MODEL_ID="${LLMBENCH_LOCAL_MODEL:-tiny}"
BASE_URL="http://127.0.0.1:$PORT"
PID_FILE="$CACHE/llama-server-$PORT.pid"
LOG_FILE="$CACHE/llama-server-$PORT.log"
SERVED_FILE="$CACHE/llama-server-$PORT.served"  # what the running server was started with
TIMEOUT_S=60
export LC_ALL=C  # "." as the decimal point in $EPOCHREALTIME

die() { echo "start.sh: ERROR: $*" >&2; exit 1; }

[[ -f "$CACHE/local-server.env" ]] || die "no $CACHE/local-server.env; run scripts/local-server/setup.sh first"
# shellcheck source=/dev/null
source "$CACHE/local-server.env"  # defines SERVER_BIN and MODEL
[[ -x "$SERVER_BIN" && -f "$MODEL" ]] || die "binary or model missing; run scripts/local-server/setup.sh"

healthy() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/health")" == 200 ]]
}
our_server_alive() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

# The model (its generator stamp) and this script: when either changed since the running
# server started, it serves an outdated model or flags and is restarted.
served="$(cat "$MODEL.stamp" 2>/dev/null) $(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if our_server_alive && [[ "$(cat "$SERVED_FILE" 2>/dev/null)" != "$served" ]]; then
    echo "llama-server (pid $(cat "$PID_FILE")) runs an older model or flags: restarting it"
    bash "$(dirname "${BASH_SOURCE[0]}")/stop.sh"
fi
if our_server_alive && healthy; then
    echo "llama-server already running and healthy (pid $(cat "$PID_FILE")): $BASE_URL"
    exit 0
fi
if ! our_server_alive; then
    rm -f "$PID_FILE"
    # Something else on the port would make our tests talk to the wrong server.
    curl -s -o /dev/null --max-time 2 "$BASE_URL/" && die "port $PORT is in use by another process"

    # --offline: never try to reach a model hub; --no-cache-prompt: otherwise
    # repeated prompts are served from the KV cache and usage reports cached
    # tokens, which makes recorded usage/latency depend on request order.
    # --alias: a stable model id; by default it is the model's absolute path.
    # --jinja: render the model's own chat template, which is what turns `tools`,
    # `tool_choice` and `response_format` into a grammar and parses tool calls back out
    # (the default in this llama.cpp, stated so an older or newer default cannot change it).
    # setsid: the server outlives this script and the caller's process group.
    nohup setsid "$SERVER_BIN" --model "$MODEL" --alias "$MODEL_ID" --host 127.0.0.1 --port "$PORT" \
        --offline --no-webui --no-cache-prompt --jinja >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    echo "$served" >"$SERVED_FILE"
    echo "started llama-server (pid $!), log: $LOG_FILE"
fi

start=$EPOCHREALTIME
until healthy; do
    our_server_alive || { tail -n 20 "$LOG_FILE" >&2; rm -f "$PID_FILE"; die "llama-server exited during startup"; }
    (( ${EPOCHREALTIME%.*} - ${start%.*} < TIMEOUT_S )) || die "llama-server not healthy after ${TIMEOUT_S}s; see $LOG_FILE"
    sleep 0.1
done
echo "llama-server healthy after $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }") s: $BASE_URL"
