"""A response body that yields its chunks at given times: for replay at recorded pace and mocks.

Offsets are seconds from `start` (a `time.perf_counter()` value; default: first iteration).
Waiting uses the event loop's sleep, so other requests run meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import httpx


class PacedStream(httpx.AsyncByteStream):
    """Yields `(offset_s, chunk)` pairs at their offsets; optionally fails after the last one."""

    def __init__(
        self,
        chunks: Sequence[tuple[float, bytes]],
        *,
        start: float | None = None,
        fail_with: Exception | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.start = start
        self.fail_with = fail_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        start = self.start if self.start is not None else time.perf_counter()
        for offset, chunk in self.chunks:
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            yield chunk
        if self.fail_with is not None:
            raise self.fail_with

    async def aclose(self) -> None:
        return None
