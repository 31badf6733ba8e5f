"""TimingTransport: stamps t0, the first byte and every body chunk of each response.

The stamps live on `response.extensions[TIMING_KEY]`, so they exist for any httpx client built
on this transport (ours or an official SDK's).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator, Callable

import httpx

from pytest_llmbench.metrics import Stopwatch
from pytest_llmbench.transport.connection import CONNECTION_KEY, ConnectionSetup

TIMING_KEY = "llmbench.timing"
REPLAYED_KEY = "llmbench.replayed"


class ResponseTiming:
    """The clock stamps of one response; `last_arrival_ns` is the newest chunk's arrival."""

    __slots__ = ("done", "last_arrival_ns", "request", "stopwatch")

    def __init__(self, request: httpx.Request, stopwatch: Stopwatch) -> None:
        self.request = request
        self.stopwatch = stopwatch
        self.last_arrival_ns = stopwatch.t0
        self.done = False


OnComplete = Callable[[httpx.Response, ResponseTiming], None]


class _TimedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        timing: ResponseTiming,
        response: httpx.Response,
        on_complete: OnComplete | None,
    ) -> None:
        self._inner = inner
        self._timing = timing
        # Weakly: the response holds this stream, and a cycle per request would leave every
        # request's objects to the garbage collector (its pauses land in the timings).
        self._response = weakref.ref(response)
        self._on_complete = on_complete

    async def __aiter__(self) -> AsyncIterator[bytes]:
        timing = self._timing
        watch = timing.stopwatch
        clock = time.perf_counter_ns
        async for chunk in self._inner:
            timing.last_arrival_ns = clock()
            watch.bytes += len(chunk)
            yield chunk
        self._finish(clock())

    async def aclose(self) -> None:
        self._finish(time.perf_counter_ns())
        await self._inner.aclose()

    def _finish(self, now: int) -> None:
        timing = self._timing
        if timing.done:
            return
        timing.done = True
        timing.stopwatch.t_end = now
        response = self._response()
        if self._on_complete is not None and response is not None:
            self._on_complete(response, timing)


class TimingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; t0 is taken just before the request is handed to it, or when its
    connection was ready if the network transport says so (`llmbench.connection`)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, on_complete: OnComplete | None = None
    ) -> None:
        self.inner = inner
        self.on_complete = on_complete

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        watch = Stopwatch()
        response = await self.inner.handle_async_request(request)
        watch.t_first_byte = time.perf_counter_ns()
        setup = response.extensions.get(CONNECTION_KEY)
        if isinstance(setup, ConnectionSetup):
            if setup.ready_ns is not None:
                watch.start_at(setup.ready_ns)
            watch.connect_ms = setup.connect_ms
        timing = ResponseTiming(request, watch)
        timing.last_arrival_ns = watch.t_first_byte
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _TimedStream(stream, timing, response, self.on_complete)
        response.extensions = {**response.extensions, TIMING_KEY: timing}
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
