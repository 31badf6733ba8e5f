"""A loopback OpenAI-style SSE server for benchmarks: streams N chat.completion.chunk events.

Run: python -m benchmarks.sse_server PORT [TTFT_MS [ITL_MS]]   (the benchmarks start it themselves)
The first token is sent TTFT_MS after the request was read, then one every ITL_MS (scheduled
from the request's arrival, so the server's own lateness does not add up). Default: no delay.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


def _chunk(text: str, finish: str | None = None) -> bytes:
    body = {
        "id": "bench",
        "object": "chat.completion.chunk",
        "model": "bench",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


async def completions(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    tokens = int(body.get("max_tokens") or 1000)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    token = _chunk(" tok")
    ttft, itl = request.app[SCHEDULE]
    loop = asyncio.get_running_loop()
    arrived = loop.time()
    for index in range(tokens):
        if ttft or itl:
            await asyncio.sleep(max(0.0, arrived + ttft + index * itl - loop.time()))
        await response.write(token)  # one network write per token, as real servers do
    await response.write(_chunk("", "stop"))
    usage = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": tokens}}
    await response.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
    await response.write_eof()
    return response


SCHEDULE = web.AppKey("schedule", tuple)


@contextmanager
def running(ttft_ms: float = 0.0, itl_ms: float = 0.0) -> Iterator[str]:
    """This server in a process of its own on a free loopback port; yields its base URL."""
    from benchmarks.transport import free_port, wait_for  # not in the server's own process

    port = free_port()
    command = [sys.executable, "-m", "benchmarks.sse_server", str(port), str(ttft_ms), str(itl_ms)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    app = web.Application()
    ttft_ms, itl_ms = (float(v) for v in [*sys.argv[2:4], "0", "0"][:2])
    app[SCHEDULE] = (ttft_ms / 1000, itl_ms / 1000)
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
