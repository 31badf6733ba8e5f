"""The real network transport and the pooled httpx client built on it.

httpx's own transport streamed about 4x slower than aiohttp on this project's measurements;
httpx-aiohttp's transport matched aiohttp, so it is the default (benchmarks/transport.py).
Our wrapper adds what the timing layer needs (ConnectionSetup on `llmbench.connection`: was the
connection new, how long it took to open) and maps every aiohttp error to an httpx one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx

from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.transport.connection import CONNECTION_KEY, ConnectionSetup
from pytest_llmbench.transport.direct import DirectClient
from pytest_llmbench.transport.timing import OnComplete, TimingTransport

if TYPE_CHECKING:
    import aiohttp

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200)

# The setup of the request being sent in this task; the stamping connector fills it in.
_setup: ContextVar[ConnectionSetup | None] = ContextVar("llmbench_connection_setup", default=None)


def network_transport(
    provider: ProviderConfig | None = None, *, backend: str = "aiohttp"
) -> httpx.AsyncBaseTransport:
    """A transport that really talks to the network: `aiohttp` (default) or `httpx`."""
    proxy = httpx.Proxy(provider.proxy) if provider is not None and provider.proxy else None
    if backend == "httpx":
        return httpx.AsyncHTTPTransport(limits=POOL_LIMITS, proxy=proxy)
    if backend != "aiohttp":
        raise ValueError(f"unknown transport backend {backend!r}; use 'aiohttp' or 'httpx'")
    return AiohttpNetworkTransport(proxy=proxy)


class AiohttpNetworkTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport with connection stamps, error mapping and a stale-pool resend.

    Some servers (llama.cpp's) close a keep-alive connection right after a streamed response;
    aiohttp may then fail sending the next request on it. Such a request is sent once more,
    only when the connection that failed was a reused pooled one (a new connection failing is
    the server's answer, left to the client's retry policy), and on a new connection of its own:
    the pool's other idle connections may be just as stale. The resend is counted in
    `ConnectionSetup.resends`. `resolver` is aiohttp's (tests inject a slow one).
    """

    def __init__(
        self,
        *,
        proxy: httpx.Proxy | None = None,
        limits: httpx.Limits = POOL_LIMITS,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        from httpx_aiohttp import AiohttpTransport

        self._limits = limits
        self._resolver = resolver
        self.inner = AiohttpTransport(limits=limits, proxy=proxy, client=self._new_session)
        # Resends only: every connection new, closed after its one response. The SSL context is
        # shared (making one loads the CA store: about 25 ms).
        self.unpooled = AiohttpTransport(
            verify=self.inner.ssl_context,
            limits=limits,
            proxy=proxy,
            client=lambda: self._new_session(pooled=False),
        )

    def _new_session(self, pooled: bool = True) -> aiohttp.ClientSession:
        import aiohttp

        connector = _stamping_connector()(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry if pooled else None,
            force_close=not pooled,
            ssl=self.inner.ssl_context,
            resolver=self._resolver,
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        setup = ConnectionSetup()
        request.extensions = {**request.extensions, CONNECTION_KEY: setup}
        transport = self.inner
        while True:
            token = _setup.set(setup)
            try:
                response = await transport.handle_async_request(request)
            except httpx.TransportError as error:
                if setup.resends or not (setup.reused and _peer_closed(error)):
                    raise as_httpx_error(error, request) from error.__cause__
                setup.resends += 1  # a stale pooled connection: again, on a new one
                setup.reused = setup.connect_start_ns = setup.connect_end_ns = None
                transport = self.unpooled
                continue
            except Exception as error:
                mapped = _mapped(error, request)
                if mapped is None:
                    raise
                raise mapped from error
            finally:
                _setup.reset(token)
            response.stream = _MappedStream(response.stream, request)
            response.extensions = {**response.extensions, CONNECTION_KEY: setup}
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()
        await self.unpooled.aclose()


@functools.cache
def _stamping_connector() -> type[aiohttp.TCPConnector]:
    """aiohttp's TCPConnector, stamping how each request got its connection on its setup.

    aiohttp's trace callbacks would say the same, but any trace config makes aiohttp build trace
    objects and fire a dozen signals per request (about 60 us, an eighth of a request's cost
    at capacity), so the connector stamps instead: `connect` hands out every connection,
    `_create_connection` opens the new ones. The latter is aiohttp's own (underscored) method;
    tests/transport/test_connection_setup.py fails if an aiohttp release stops calling it.
    """
    import aiohttp

    class StampingConnector(aiohttp.TCPConnector):
        async def connect(
            self, req: Any, traces: Any, timeout: Any
        ) -> aiohttp.connector.Connection:
            connection = await super().connect(req, traces, timeout)
            setup = _setup.get()
            if setup is not None:
                if setup.reused is None:  # not opened by _create_connection: from the pool
                    setup.reused = True
                setup.ready_ns = setup.connect_end_ns or time.perf_counter_ns()
            return connection

        async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
            setup = _setup.get()
            if setup is not None:
                setup.reused = False
                setup.connect_start_ns = time.perf_counter_ns()
            protocol = await super()._create_connection(req, traces, timeout)
            if setup is not None:
                setup.connect_end_ns = time.perf_counter_ns()
            return protocol

    return StampingConnector


class _MappedStream(httpx.AsyncByteStream):
    """The response body, with aiohttp errors that httpx-aiohttp lets through mapped."""

    __slots__ = ("_inner", "_request")

    def __init__(self, inner: Any, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> Any:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as error:
            raise as_httpx_error(error, self._request) from error.__cause__
        except Exception as error:
            mapped = _mapped(error, self._request)
            if mapped is None:
                raise
            raise mapped from error

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as error:
            mapped = _mapped(error, self._request)
            if mapped is None:
                raise
            raise mapped from error


def _mapped(error: BaseException, request: httpx.Request) -> httpx.TransportError | None:
    """An aiohttp error that escaped httpx-aiohttp's mapping, as an httpx error."""
    import aiohttp

    if isinstance(error, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        # A malformed reply: a header line without a colon, a body shorter than its
        # Content-Length, something that is not HTTP at all.
        return httpx.RemoteProtocolError(f"malformed response: {error}", request=request)
    if isinstance(error, aiohttp.ClientError):
        return httpx.NetworkError(f"{type(error).__name__}: {error}", request=request)
    return None


def as_httpx_error(error: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """httpx-aiohttp's mapping, corrected where it names the wrong failure."""
    import aiohttp

    cause = error.__cause__
    if isinstance(cause, aiohttp.ServerDisconnectedError):  # it says ConnectTimeout
        return httpx.RemoteProtocolError(
            f"server disconnected without a complete response: {cause}", request=request
        )
    if (
        isinstance(error, httpx.ConnectTimeout)
        and isinstance(cause, aiohttp.ClientConnectorError)
        and not isinstance(cause, aiohttp.ConnectionTimeoutError)
    ):  # a refused connection is no timeout
        return httpx.ConnectError(str(error), request=request)
    if (
        isinstance(error, httpx.ConnectTimeout)
        and isinstance(cause, aiohttp.ClientOSError)
        and not isinstance(cause, aiohttp.ClientConnectorError)
    ):  # reset or broken pipe on an open connection
        return httpx.NetworkError(str(error), request=request)
    return error


def _peer_closed(error: BaseException) -> bool:
    import aiohttp

    cause = error.__cause__
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return True
    return isinstance(cause, aiohttp.ClientOSError) and not isinstance(
        cause, aiohttp.ClientConnectorError
    )


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
    """An AsyncClient (a DirectClient) on TimingTransport(inner), with the provider's timeouts.

    `inner` defaults to the network transport (pass a shared pool to share one); `outer`
    wraps the timed transport in a layer that reads the timing (an ObservingTransport, say).
    """
    transport: httpx.AsyncBaseTransport = TimingTransport(
        inner or network_transport(provider), on_complete=on_complete
    )
    if outer is not None:
        transport = outer(transport)
    return DirectClient(transport, timeouts(provider))
