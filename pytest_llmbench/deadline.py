"""The total deadline of one attempt: ends waits on the network, cheaply enough for every chunk."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class AttemptDeadline:
    """Raises asyncio.TimeoutError from a `next_chunk` wait still pending `seconds` from now.

    One timer per attempt (not one per chunk): when it fires it cancels the task only if that
    task is waiting for a chunk, so code between chunks (the consumer of the events) is never
    interrupted; the next wait then fails at once. `close()` stops the timer.
    """

    __slots__ = ("_expired", "_handle", "_loop", "_waiting")

    def __init__(self, seconds: float) -> None:
        self._expired = False
        self._waiting: asyncio.Task[object] | None = None
        # Given the loop, current_task skips looking it up: half its cost, paid every chunk.
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_later(seconds, self._fire)

    def _fire(self) -> None:
        self._expired = True
        if self._waiting is not None:
            self._waiting.cancel()

    @property
    def expired(self) -> bool:
        return self._expired

    async def wait(self, step: Coroutine[Any, Any, T]) -> T:
        """`step`'s result (sending the request, say); TimeoutError once expired.

        Awaited in the caller's task: asyncio.wait_for would run it in a task of its own,
        which costs a task and a turn of the event loop per request.
        """
        if self._expired:
            step.close()
            raise asyncio.TimeoutError
        self._waiting = asyncio.current_task(self._loop)
        try:
            return await step
        except asyncio.CancelledError:
            if self._expired and _only_our_cancel(self._waiting):
                raise asyncio.TimeoutError from None
            raise
        finally:
            self._waiting = None

    async def next_chunk(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The next chunk; StopAsyncIteration at the end; TimeoutError once expired."""
        if self._expired:
            raise asyncio.TimeoutError
        self._waiting = asyncio.current_task(self._loop)
        try:
            return await chunks.__anext__()
        except asyncio.CancelledError:
            if self._expired and _only_our_cancel(self._waiting):
                raise asyncio.TimeoutError from None
            raise
        finally:
            self._waiting = None

    def close(self) -> None:
        self._handle.cancel()


def _only_our_cancel(task: asyncio.Task[object] | None) -> bool:
    """Whether the deadline's cancel is the only one pending (then it becomes a timeout)."""
    if task is None:
        return False
    if sys.version_info >= (3, 11):
        return task.uncancel() == 0
    return True  # pragma: no cover - Python 3.10 counts no cancellations
