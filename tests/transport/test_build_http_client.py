"""build_http_client: the one way to make an httpx client on the timed stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from factories import make_provider

from pytest_llmbench.transport import TIMING_KEY, build_http_client
from pytest_llmbench.transport.network import timeouts

PROVIDER = make_provider("openai", api_key_env=None, read_timeout_s=7.0, connect_timeout_s=3.0)
URL = "https://api.openai.com/v1/models"


class Outer(httpx.AsyncBaseTransport):
    """A layer above the timing: records what each response carries when it passes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.timed: list[bool] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.timed.append(TIMING_KEY in response.extensions)
        return response


async def test_the_client_sends_through_the_given_transport_with_the_providers_timeouts() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    pool = httpx.MockTransport(answer)
    async with build_http_client(PROVIDER, pool) as client:
        assert client.timeout == timeouts(PROVIDER)
        response = await client.get(URL)
    assert response.status_code == 204
    assert [str(r.url) for r in sent] == [URL]
    assert TIMING_KEY in response.extensions


async def test_an_outer_layer_sits_above_the_timing() -> None:
    layers: list[Outer] = []

    def outer(timed: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        layers.append(Outer(timed))
        return layers[-1]

    pool = httpx.MockTransport(lambda _: httpx.Response(200, json={}))
    async with build_http_client(PROVIDER, pool, outer=outer) as client:
        await client.get(URL)
    [layer] = layers
    assert layer.timed == [True]


async def test_a_finished_response_is_freed_without_the_garbage_collector() -> None:
    # A reference cycle per request (a stream holding its response) leaves every request's
    # objects to the collector, whose pauses then land in other requests' timings.
    import gc
    import weakref

    pool = httpx.MockTransport(lambda _: httpx.Response(200, stream=TwoChunks()))
    async with build_http_client(PROVIDER, pool) as client:
        response = await client.send(httpx.Request("POST", URL), stream=True)
        await response.aread()
        await response.aclose()
        freed = weakref.ref(response)
        enabled = gc.isenabled()
        gc.disable()
        try:
            del response
            assert freed() is None, "the response is kept alive by a reference cycle"
        finally:
            if enabled:
                gc.enable()


class TwoChunks(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"
