"""An httpx2 transport over our httpx transport stack, for SDKs built on httpx2.

The current openai and anthropic SDKs are built on httpx2 (the anthropic one accepts nothing
else as `http_client`). This bridge hands each httpx2 request to our stack and streams the
answer back chunk by chunk, so SDK calls are timed, mocked, recorded and replayed like ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import httpx2


class _Relay(httpx2.AsyncByteStream):
    """An httpx2 body passing on the chunks of an httpx response as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if hasattr(self._response, "_content"):  # a body given whole (mocks) was read already
            yield self._response.content
            return
        async for chunk in self._response.aiter_raw():
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class Httpx2Bridge(httpx2.AsyncBaseTransport):
    """httpx2 requests through an httpx transport (our timing/replay/record/mock stack)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=inner, timeout=None)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        content = await request.aread()
        relayed = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.multi_items(),
            content=content,
            extensions={k: v for k, v in request.extensions.items() if k == "timeout"},
        )
        try:
            response = await self._client.send(relayed, stream=True)
        except httpx.TimeoutException as error:
            raise httpx2.TimeoutException(str(error), request=request) from error
        except httpx.TransportError as error:
            raise httpx2.ConnectError(str(error), request=request) from error
        return httpx2.Response(
            response.status_code,
            headers=response.headers.multi_items(),
            stream=_Relay(response),
            extensions={k: v for k, v in response.extensions.items() if k.startswith("llmbench")},
        )

    async def aclose(self) -> None:
        await self._client.aclose()
