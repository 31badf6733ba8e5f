"""DirectClient: the httpx.AsyncClient the plugin builds, sending straight to its transport.

httpx's `AsyncClient.send` runs, for every request, an auth flow (an async generator), a redirect
loop, the cookie jar's extraction and a stream wrapper that every chunk passes through. For the
clients the plugin builds (no auth, no event hooks, redirects not followed, and requests built
outside `build_request`, so a stored cookie would never be sent back) these change nothing, and
they cost about a fifth of a client's capacity at 64 concurrent streams
(`python -m benchmarks.client_layers`). A request that needs any of them (auth or redirects
asked for, an event hook or auth set on the client, a non-streamed send) goes through httpx's
own `send` as before. One thing is not kept: httpx's INFO log line per request
("HTTP Request: ...") is not written for the direct sends.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx


class DirectClient(httpx.AsyncClient):
    """An AsyncClient on one transport whose streamed sends skip what they do not need."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        super().__init__(transport=transport, timeout=timeout)
        self._direct = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if not (stream and self._plain(auth, follow_redirects)):
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if "timeout" not in request.extensions:
            request.extensions["timeout"] = self.timeout.as_dict()
        started = time.perf_counter()
        response = await self._direct.handle_async_request(request)
        response.request = request
        response.stream = _ElapsedOnClose(response, started)
        return response

    def _plain(self, auth: Any, follow_redirects: Any) -> bool:
        """Whether httpx's send would do nothing but hand the request to the transport."""
        redirects = follow_redirects
        if follow_redirects is httpx.USE_CLIENT_DEFAULT:
            redirects = self.follow_redirects
        return (
            auth is httpx.USE_CLIENT_DEFAULT
            and self.auth is None
            and not redirects
            and not any(self.event_hooks.values())
        )


class _ElapsedOnClose(httpx.AsyncByteStream):
    """The transport's body as it is (no layer per chunk), setting `response.elapsed` on close
    as httpx's own wrapper does."""

    __slots__ = ("_inner", "_response", "_started")

    def __init__(self, response: httpx.Response, started: float) -> None:
        assert isinstance(response.stream, httpx.AsyncByteStream)
        self._inner = response.stream
        self._response = weakref.ref(response)  # it holds this stream: no cycle per request
        self._started = started

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        response = self._response()
        if response is not None:
            response.elapsed = timedelta(seconds=time.perf_counter() - self._started)
        await self._inner.aclose()
