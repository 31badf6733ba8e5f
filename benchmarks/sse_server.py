"""A loopback OpenAI-style SSE server for benchmarks: streams N chat.completion.chunk events.

Run: python -m benchmarks.sse_server PORT [TTFT_MS]   (the benchmarks start it themselves)
TTFT_MS: the scripted wait between the response head and the first token (default 0).
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web


def _chunk(text: str, finish: str | None = None) -> bytes:
    body = {
        "id": "bench",
        "object": "chat.completion.chunk",
        "model": "bench",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


TTFT_S = web.AppKey("ttft_s", float)


async def completions(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    tokens = int(body.get("max_tokens") or 1000)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    if request.app[TTFT_S]:
        await asyncio.sleep(request.app[TTFT_S])  # the scripted time to first token
    token = _chunk(" tok")
    for _ in range(tokens):
        await response.write(token)  # one network write per token, as real servers do
    await response.write(_chunk("", "stop"))
    usage = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": tokens}}
    await response.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
    await response.write_eof()
    return response


def main() -> None:
    app = web.Application()
    app[TTFT_S] = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
