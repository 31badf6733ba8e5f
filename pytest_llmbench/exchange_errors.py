"""How a failed HTTP exchange becomes a classified ProviderError, with a message that says where.

The client calls these when sending, reading a body or reading a stream fails: httpx's errors,
anything else a transport lets escape (a raw aiohttp exception, say), bodies that are no stream,
and bodies bigger than their cap. Every result is a ProviderError subclass, so a load run
records the failure as a row instead of stopping.
"""

from __future__ import annotations

from typing import Literal

import httpx

from pytest_llmbench import errors
from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.providers.base import text_excerpt

Phase = Literal["send", "body", "stream"]

# Content types a streamed answer comes in: SSE, Bedrock's event stream, Gemini's JSON array.
_STREAM_TYPES = ("event-stream", "eventstream", "json")
_EXCERPT_BYTES = 200


def where(request: httpx.Request) -> str:
    """`METHOD url` without the query (which can hold a key)."""
    return f"{request.method} {request.url.copy_with(query=None)}"


def transport_error(
    exc: httpx.HTTPError, request: httpx.Request, provider: ProviderConfig, phase: Phase
) -> errors.ProviderError:
    """The taxonomy error for an httpx error while sending (`send`), reading a whole body
    (`body`) or reading a stream that has yielded events (`stream`)."""
    at = where(request)
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException) and not _closed_by_peer(exc):
        return errors.TimeoutError(f"{kind} after {at}", provider=provider.name)
    if phase != "stream" and _is_bad_http(exc):  # the transport mapped it to an httpx error
        return _not_http(exc, at, provider)
    if phase == "stream":
        return errors.StreamInterruptedError(
            f"connection lost mid-stream ({kind}: {exc}) on {at}", provider=provider.name
        )
    if phase == "body":
        return errors.ConnectionError(
            f"connection lost while reading the response body of {at} ({kind}: {exc})",
            provider=provider.name,
            hint="the server sent the headers, then closed the connection before the body ended",
        )
    if _closed_by_peer(exc):
        return errors.ConnectionError(
            f"the server closed the connection without answering {at} ({exc})",
            provider=provider.name,
            hint="the server accepted the request and hung up without an answer; check its logs",
        )
    proxy = f" through proxy {provider.proxy}" if provider.proxy else ""
    return errors.ConnectionError(
        f"could not reach {at}{proxy}: {kind}: {exc}", provider=provider.name
    )


def unexpected_error(
    exc: Exception, request: httpx.Request, provider: ProviderConfig, phase: Phase
) -> errors.ProviderError:
    """The taxonomy error for an exception a transport should have turned into an httpx one."""
    at = where(request)
    name = f"{type(exc).__module__}.{type(exc).__name__}"
    hint = f"the HTTP transport let {name} escape; please report it with this message"
    if _is_bad_http(exc):
        return _not_http(exc, at, provider)
    if phase == "stream":
        return errors.StreamInterruptedError(
            f"the stream of {at} failed: {name}: {exc}", provider=provider.name, hint=hint
        )
    return errors.ConnectionError(
        f"the exchange with {at} failed: {name}: {exc}", provider=provider.name, hint=hint
    )


def _not_http(exc: BaseException, at: str, provider: ProviderConfig) -> errors.ProviderError:
    return errors.MalformedResponseError(
        f"the reply to {at} is not valid HTTP: {exc}",
        provider=provider.name,
        hint="the server (or a proxy in between) answered something that is not HTTP",
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _closed_by_peer(exc: BaseException) -> bool:
    # httpx-aiohttp maps every aiohttp connection error, a server hanging up included, to
    # ConnectTimeout; only a real timeout in the chain makes it one.
    import aiohttp

    if isinstance(exc, httpx.RemoteProtocolError):  # httpx's transport: no response came
        return True
    chain = _causes(exc)
    if any(isinstance(c, (aiohttp.ServerTimeoutError, TimeoutError)) for c in chain[1:]):
        return False
    if any(isinstance(c, aiohttp.ClientConnectorError) for c in chain):
        return False  # never connected (refused, unreachable): not a hang-up
    return any(
        isinstance(c, (aiohttp.ServerDisconnectedError, ConnectionResetError, BrokenPipeError))
        for c in chain
    )


def _is_bad_http(exc: BaseException) -> bool:
    import aiohttp
    from aiohttp import http_exceptions

    chain = _causes(exc)
    if any(isinstance(c, aiohttp.ClientPayloadError) for c in chain):
        return False  # a body cut short (Content-Length, chunked framing): a lost connection
    return any(
        isinstance(c, (aiohttp.ClientResponseError, http_exceptions.HttpProcessingError))
        for c in chain
    )


def is_stream_type(content_type: str) -> bool:
    """Whether a content type can carry a streamed answer (an empty one might)."""
    lowered = content_type.lower()
    return not lowered or any(kind in lowered for kind in _STREAM_TYPES)


def not_a_stream(
    request: httpx.Request, provider: ProviderConfig, status: int, content_type: str, body: bytes
) -> errors.MalformedResponseError:
    """The error for a streamed request answered with a page or a file instead of a stream."""
    excerpt = text_excerpt(body[: _EXCERPT_BYTES * 64], _EXCERPT_BYTES) if body else ""
    shown = f": {excerpt!r}" if excerpt else ""
    return errors.MalformedResponseError(
        f"HTTP {status} answered the streamed request {where(request)} with {content_type!r}, "
        f"not a stream{shown}",
        provider=provider.name,
        status=status,
        hint="a proxy or a wrong base_url answered instead of the model server; check base_url",
    )


def event_too_large(request: httpx.Request, provider: ProviderConfig) -> errors.ProviderError:
    """The error for a stream that ran past `max_event_bytes` without completing an event."""
    cap = provider.max_event_bytes
    return errors.ResponseTooLargeError(
        f"the stream of {where(request)} sent {cap} bytes ({_mib(cap)}) without completing "
        "one event: an event is larger than max_event_bytes, or the body is not a stream",
        provider=provider.name,
        hint=f"raise max_event_bytes under [providers.{provider.name}] in models.toml "
        "if such events are legitimate",
    )


def body_cut_note(provider: ProviderConfig) -> str:
    """What an error message adds when its body was cut at `max_error_body_bytes`."""
    cap = provider.max_error_body_bytes
    return (
        f" (error body cut at {cap} bytes, {_mib(cap)}: max_error_body_bytes under "
        f"[providers.{provider.name}] in models.toml)"
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def retry_note(reason: str, error: errors.ProviderError) -> None:
    """Add why a retryable error was not retried to its hint (the hint says nothing false)."""
    error.hint = f"{error.hint}; {reason}" if error.hint else reason
