"""The real network transport and the pooled httpx client built on it.

httpx's own transport streamed about 4x slower than aiohttp on this project's measurements;
httpx-aiohttp's transport matched aiohttp, so it is the default (benchmarks/transport.py).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.transport.timing import OnComplete, TimingTransport

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200)


def network_transport(
    provider: ProviderConfig | None = None, *, backend: str = "aiohttp"
) -> httpx.AsyncBaseTransport:
    """A transport that really talks to the network: `aiohttp` (default) or `httpx`."""
    proxy = httpx.Proxy(provider.proxy) if provider is not None and provider.proxy else None
    if backend == "httpx":
        return httpx.AsyncHTTPTransport(limits=POOL_LIMITS, proxy=proxy)
    if backend != "aiohttp":
        raise ValueError(f"unknown transport backend {backend!r}; use 'aiohttp' or 'httpx'")
    from httpx_aiohttp import AiohttpTransport

    return StaleConnectionRetry(AiohttpTransport(limits=POOL_LIMITS, proxy=proxy))


class StaleConnectionRetry(httpx.AsyncBaseTransport):
    """Sends a request again when a pooled keep-alive connection turned out to be closed.

    Some servers (llama.cpp's) close a keep-alive connection right after a streamed response;
    aiohttp then fails writing the next request on it. httpcore checks a pooled connection
    before reuse; this restores that behaviour. Only failures before any response byte, whose
    cause is the peer having closed the connection, are retried.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Every pooled connection may be stale; a fresh one is made once they are used up.
        for _ in range(STALE_RETRIES):
            try:
                return await self.inner.handle_async_request(request)
            except httpx.TransportError as error:
                if not _peer_closed(error):
                    raise _refused_is_not_a_timeout(error, request) from error.__cause__
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


STALE_RETRIES = 8


def _refused_is_not_a_timeout(
    error: httpx.TransportError, request: httpx.Request
) -> httpx.TransportError:
    """httpx-aiohttp reports a refused connection as ConnectTimeout; it is a ConnectError."""
    import aiohttp

    cause = error.__cause__
    if (
        isinstance(error, httpx.ConnectTimeout)
        and isinstance(cause, aiohttp.ClientConnectorError)
        and not isinstance(cause, aiohttp.ConnectionTimeoutError)
    ):
        return httpx.ConnectError(str(error), request=request)
    return error


def _peer_closed(error: BaseException) -> bool:
    import aiohttp

    cause = error.__cause__
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return True
    return isinstance(cause, aiohttp.ClientOSError) and "write request body" in str(cause)


def timeouts(provider: ProviderConfig) -> httpx.Timeout:
    """Connect and read (silence between chunks) timeouts from models.toml; the total
    per-attempt timeout (`timeout_s`) is the client's deadline."""
    return httpx.Timeout(
        provider.read_timeout_s,
        connect=provider.connect_timeout_s,
        pool=provider.timeout_s,
    )


def build_http_client(
    provider: ProviderConfig,
    inner: httpx.AsyncBaseTransport | None = None,
    on_complete: OnComplete | None = None,
    *,
    outer: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient on TimingTransport(inner), with the provider's timeouts.

    `inner` defaults to the network transport (pass a shared pool to share one); `outer`
    wraps the timed transport in a layer that reads the timing (an ObservingTransport, say).
    """
    transport: httpx.AsyncBaseTransport = TimingTransport(
        inner or network_transport(provider), on_complete=on_complete
    )
    if outer is not None:
        transport = outer(transport)
    return httpx.AsyncClient(transport=transport, timeout=timeouts(provider))
