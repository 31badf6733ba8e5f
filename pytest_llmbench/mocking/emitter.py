"""The server side of a wire format, for mocks: what a provider would send for a scripted reply.

An Emitter turns a MockReply into the exact bytes the provider sends (a JSON body, or stream
chunks tagged with when they go out) and a MockError into the provider's error body. Official
SDKs parse what emitters produce; the tests check that.

Emitters never use the codecs (pytest_llmbench.providers): each is written on its own from the
provider's documented wire format, so a round trip (emitter bytes -> codec) checks two separate
readings of that format against each other, not one reading against itself.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from pytest_llmbench.types import FinishReason, Usage

ChunkRole = Literal["head", "token", "tail"]


@dataclass
class MockToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class MockReply:
    """A scripted answer. Streams send `tokens` one per chunk: the first at `ttft` seconds,
    then one every `itl` seconds; `reset_after` cuts the connection after that many tokens."""

    tokens: list[str]
    tool_calls: list[MockToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish: FinishReason = "stop"
    model: str = ""
    ttft: float = 0.0
    itl: float = 0.0
    reset_after: int | None = None
    id: str = "mock-1"

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def usage_or_default(self) -> Usage:
        return self.usage or Usage(input_tokens=10, output_tokens=max(len(self.tokens), 1))


@dataclass
class MockError:
    """A scripted error: status, the provider's error body (built unless given), Retry-After."""

    status: int
    message: str = "mocked error"
    code: str | None = None
    body: bytes | dict[str, Any] | None = None
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Chunk:
    role: ChunkRole
    data: bytes


class Emitter(ABC):
    """The server side of one wire format."""

    kind: str
    stream_content_type = "text/event-stream"

    @abstractmethod
    def is_stream(self, request: httpx.Request) -> bool:
        """Whether the client asked for a stream (body flag or URL, as the format does it)."""

    @abstractmethod
    def body(self, reply: MockReply) -> dict[str, Any]:
        """The non-streamed JSON response body."""

    @abstractmethod
    def chunks(self, reply: MockReply) -> list[Chunk]:
        """The streamed body: `head` chunks go out at once, one `token` chunk per token (tool
        call arguments count as tokens), `tail` chunks right after the last token."""

    @abstractmethod
    def error_body(self, error: MockError) -> dict[str, Any]:
        """The provider's JSON error body for `error`."""

    def error_headers(self, error: MockError) -> dict[str, str]:
        headers = {"content-type": "application/json", **error.headers}
        if error.retry_after is not None:
            headers["retry-after"] = f"{error.retry_after:g}"
        return headers


def follow(out: list[Chunk], data: bytes) -> None:
    """Send `data` right after the chunk before it, as servers do with a block's end event:
    in the same token chunk, or (before any token) as a tail chunk of its own."""
    if out and out[-1].role == "token":
        out[-1] = Chunk("token", out[-1].data + data)
    else:
        out.append(Chunk("tail", data))


def request_json(request: httpx.Request) -> dict[str, Any]:
    """A request's JSON body ({} when it has none)."""
    try:
        data = json.loads(request.content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying `data` as compact JSON (or a literal string)."""
    payload = (
        data
        if isinstance(data, str)
        else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    )
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
