"""DirectClient: streamed sends go straight to the transport, unless httpx's send has work to do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pytest_llmbench.transport.direct import DirectClient

URL = "https://api.example.test/v1/chat/completions"
TIMEOUT = httpx.Timeout(7.0, connect=3.0)


class TwoChunks(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"


class CountingTransport(httpx.MockTransport):
    """Answers 200 with a body of two chunks (or a redirect for /old); keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/old":
            return httpx.Response(307, headers={"location": URL})
        return httpx.Response(200, stream=TwoChunks())


def _post(url: str = URL) -> httpx.Request:
    return httpx.Request("POST", url, content=b"{}")


async def test_a_streamed_send_reaches_the_transport_with_the_clients_timeouts() -> None:
    transport = CountingTransport()
    async with DirectClient(transport, TIMEOUT) as client:
        response = await client.send(_post(), stream=True)
        assert await response.aread() == b"ab"
        await response.aclose()
    assert transport.requests[0].extensions["timeout"] == TIMEOUT.as_dict()
    assert response.request is transport.requests[0]
    assert response.elapsed.total_seconds() >= 0


async def test_an_event_hook_set_on_the_client_still_runs() -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.method)

    async with DirectClient(CountingTransport(), TIMEOUT) as client:
        client.event_hooks = {"request": [hook], "response": []}
        await (await client.send(_post(), stream=True)).aclose()
    assert seen == ["POST"]


async def test_redirects_asked_for_are_followed() -> None:
    transport = CountingTransport()
    async with DirectClient(transport, TIMEOUT) as client:
        response = await client.send(
            _post("https://api.example.test/old"), stream=True, follow_redirects=True
        )
        await response.aclose()
    assert response.status_code == 200
    assert [r.url.path for r in transport.requests] == ["/old", "/v1/chat/completions"]


async def test_auth_asked_for_is_applied() -> None:
    transport = CountingTransport()
    async with DirectClient(transport, TIMEOUT) as client:
        await (await client.send(_post(), stream=True, auth=("user", "pw"))).aclose()
    assert transport.requests[0].headers["authorization"].startswith("Basic ")


async def test_a_closed_client_refuses_to_send() -> None:
    client = DirectClient(CountingTransport(), TIMEOUT)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.send(_post(), stream=True)
