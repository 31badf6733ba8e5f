"""Fixtures of the distributed tests: a loopback OpenAI SSE server whose answers can be held
per prompt, and one local Ray instance for the session.

Ray starts once per test session (it takes seconds) with a canary credential already in the
environment, so its workers inherit it as they would a real key.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from distributed_helpers import CANARY, CANARY_ENV, Hold, prompt_text, sse_answer
from loopback import Seen, Server, serve


@pytest.fixture
async def sse_server() -> AsyncIterator[tuple[Server, list[Hold]]]:
    """The server and its hold rules (append one: prompt text -> event to wait for, or None)."""
    holds: list[Hold] = []

    async def handler(seen: Seen, writer: asyncio.StreamWriter) -> None:
        for hold in holds:
            event = hold(prompt_text(seen))
            if event is not None:
                await event.wait()
        writer.write(sse_answer())

    async with serve(handler) as server:
        yield server, holds


@pytest.fixture(scope="session")
def ray_local() -> Iterator[Any]:
    """A local Ray instance with 2 CPUs for the whole session; workers inherit the canary."""
    import ray

    previous = os.environ.get(CANARY_ENV)
    os.environ[CANARY_ENV] = CANARY  # before ray.init: the raylet and its workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if previous is None:
            del os.environ[CANARY_ENV]
        else:
            os.environ[CANARY_ENV] = previous
