"""Helpers of the distributed tests: a canary credential, a holdable SSE answer, a provider."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from factories import make_provider
from loopback import Seen, Server, chunked, response_head, serve

from pytest_llmbench.config import ProviderConfig

CANARY_ENV = "LLMBENCH_DISTRIBUTED_CANARY"
CANARY = "canary-xyz-123"  # not shaped like any real key

Hold = Callable[[str], asyncio.Event | None]  # prompt text -> wait for this event first


def prompt_text(seen: Seen) -> str:
    body = json.loads(seen.body)
    return str(body["messages"][0]["content"])


def sse_answer() -> bytes:
    events: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        for text in ("Hel", "lo")
    ]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    parts = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]
    return response_head(200, "text/event-stream", transfer_encoding="chunked") + chunked(
        *parts, b"data: [DONE]\n\n"
    )


def loopback_provider(server: Server, **fields: Any) -> ProviderConfig:
    return make_provider(
        "openai",
        name="loop",
        base_url=f"{server.url}/v1",
        api_key_env=CANARY_ENV,
        max_retries=0,
        read_timeout_s=600.0,
        **fields,
    )


@contextmanager
def threaded_sse_server() -> Iterator[Server]:
    """The loopback SSE server on its own event loop thread, for callers that block (the CLI)."""
    ready: queue.Queue[Server] = queue.Queue()
    loop = asyncio.new_event_loop()
    done = asyncio.Event()

    async def handler(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_answer())

    async def main() -> None:
        async with serve(handler) as server:
            ready.put(server)
            await done.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=60)
    finally:
        loop.call_soon_threadsafe(done.set)
        thread.join()
        loop.close()
