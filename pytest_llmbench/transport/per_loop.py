"""PerLoopTransport: one pooled network transport per event loop, behind one object.

aiohttp sessions (and httpcore pools) belong to the loop that made them. pytest-asyncio may give
every test its own loop, so a session-wide client keeps one inner transport per loop and closes
those whose loop is about to go away (`close_idle`), instead of failing with "attached to a
different loop".
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

import httpx


class PerLoopTransport(httpx.AsyncBaseTransport):
    """Delegates to `factory()`'s transport for the running loop, made on first use there."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncBaseTransport
        ] = weakref.WeakKeyDictionary()

    def _current(self) -> httpx.AsyncBaseTransport:
        loop = asyncio.get_running_loop()
        transport = self._by_loop.get(loop)
        if transport is None:
            transport = self._by_loop[loop] = self._factory()
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._current().handle_async_request(request)

    async def aclose(self) -> None:
        """Close the running loop's transport (the others stay until `close_idle`)."""
        loop = asyncio.get_running_loop()
        transport = self._by_loop.pop(loop, None)
        if transport is not None:
            await transport.aclose()

    def close_idle(self) -> None:
        """Close the transports of loops that are not running (from synchronous code)."""
        for loop, transport in list(self._by_loop.items()):
            if loop.is_running():
                continue
            del self._by_loop[loop]
            if not loop.is_closed():
                loop.run_until_complete(transport.aclose())

    def loops(self) -> int:
        return len(self._by_loop)


class Unclosable(httpx.AsyncBaseTransport):
    """A shared transport lent to a short-lived client: closing the client leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None
