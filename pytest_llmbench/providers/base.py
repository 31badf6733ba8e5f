"""What every codec shares: the Codec interface, stream assembly and error mapping.

A codec knows one wire format and does no I/O: it builds an `httpx.Request`, turns a body or a
sequence of body chunks into a Completion, and turns an error status and body into the taxonomy.
"""

from __future__ import annotations

import functools
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import httpx
import orjson

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.types import Completion, FinishReason, Request, StreamEvent, ToolCall, Usage

Headers = Mapping[str, str]


class StreamDecoder(Protocol):
    """Incremental decoder: feed body chunks split anywhere, get the events they complete."""

    def feed(self, chunk: bytes) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]:
        """Flush at end of body; raises StreamInterruptedError if the stream was cut short."""
        ...


@dataclass
class ErrorInfo:
    """What a provider's error body says: its error type/code and message."""

    code: str | None = None
    message: str = ""
    retry_after: float | None = None  # a delay the body gives (Gemini's RetryInfo)


@dataclass(frozen=True)
class CredentialStatus:
    """What credentials a provider needs and whether they are set: names, never values."""

    names: tuple[str, ...] = ()  # environment variables that can hold them; () = none needed
    label: str = ""  # what messages call them: the variable, or "AWS credentials (...)"
    present: bool = True
    fix: str = ""  # how to set them, one line

    @property
    def missing(self) -> str | None:
        """The one message for credentials that are not set (`X is not set`), else None."""
        return None if self.present else self._not_set()

    @property
    def state(self) -> str:
        """One line for listings: `no key needed`, `X: set` or `X is not set`."""
        if not self.names:
            return "no key needed"
        return self.missing or f"{self.label}: set"

    def error(self, provider: str) -> errors.AuthenticationError:
        """The error for a call that needs the credentials while they are not set."""
        return errors.AuthenticationError(self._not_set(), provider=provider, hint=self.fix)

    def _not_set(self) -> str:
        return f"{self.label} is not set"


class Codec(ABC):
    """One wire format. Subclasses implement the abstract methods; the rest is shared."""

    kind: ClassVar[str]

    @abstractmethod
    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
    ) -> httpx.Request:
        """The HTTP request for `request` (URL, auth headers, JSON body)."""

    @abstractmethod
    def stream_decoder(self) -> StreamDecoder:
        """A fresh incremental decoder for one streamed response body."""

    @abstractmethod
    def completion_from_json(self, body: Any) -> Completion:
        """A Completion from a parsed non-streamed response body."""

    @abstractmethod
    def error_info(self, body: Any) -> ErrorInfo | None:
        """The error in a parsed body, or None if the body is not an error."""

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[errors.ProviderError]:
        """The taxonomy class for an error; codecs recognise context-length and filter errors."""
        text = f"{info.code or ''} {info.message}".lower()
        if _CONTEXT_LENGTH.search(text):
            return errors.ContextLengthExceededError
        if status is None:
            return errors.ServerError if "overload" in text else errors.ProviderError
        return errors.class_for_status(status)

    def credentials(self, provider: ProviderConfig) -> CredentialStatus:
        """What the provider needs to be called for real: the key in `api_key_env`, if named."""
        name = provider.api_key_env
        if not name:
            return CredentialStatus()
        return CredentialStatus(
            names=(name,),
            label=name,
            present=bool(os.environ.get(name)),
            fix=f"set {name} in the environment",
        )

    # -- shared behaviour -------------------------------------------------------------------

    def stream_decoder_for(self, headers: Headers) -> StreamDecoder:
        """The decoder for a streamed response with these headers (a codec whose framing
        depends on the content type overrides this)."""
        return self.stream_decoder()

    def parse_response(self, status: int, headers: Headers, body: bytes) -> Completion:
        """The Completion of a non-streamed response; raises the taxonomy error for an error."""
        if status >= 400:
            raise self.parse_error(status, headers, body)
        data = decode_json(body, self.kind)
        info = self.error_info(data)
        if info is not None:
            raise self.make_error(None, info)
        completion = self.completion_from_json(data)
        completion.raw = data
        return completion

    def parse_stream(self, status: int, headers: Headers, chunks: Iterable[bytes]) -> Completion:
        """Feed raw body chunks (split anywhere) through the decoder; assemble the Completion."""
        if status >= 400:
            raise self.parse_error(status, headers, b"".join(chunks))
        decoder = self.stream_decoder_for(headers)
        assembler = StreamAssembler()
        for chunk in chunks:
            assembler.add_all(decoder.feed(chunk))
        assembler.add_all(decoder.close())
        return assembler.completion()

    def parse_error(self, status: int, headers: Headers, body: bytes) -> errors.ProviderError:
        """The taxonomy error for an error status and body (JSON, HTML page or anything)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            info = ErrorInfo(message=text_excerpt(body) or f"HTTP {status} with an empty body")
        else:
            info = self.error_info(data) or ErrorInfo(message=text_excerpt(body))
        return self.make_error(status, info, retry_after=errors.parse_retry_after(headers))

    def make_error(
        self, status: int | None, info: ErrorInfo, retry_after: float | None = None
    ) -> errors.ProviderError:
        cls = self.refine_error(status, info)
        return cls(
            info.message or "no message",
            provider=self.kind,
            status=status,
            code=info.code,
            retry_after=retry_after if retry_after is not None else info.retry_after,
        )

    def malformed(self, message: str) -> errors.MalformedResponseError:
        """The error for a body that breaks the wire format."""
        return errors.MalformedResponseError(message, provider=self.kind)


_CONTEXT_LENGTH = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long"
    r"|input is too long|exceeds the maximum number of tokens|token count .* exceeds"
    r"|input length .* exceed|reduce the length|exceed_context_size|available context size"
)
_TITLE = re.compile(rb"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def text_excerpt(body: bytes, limit: int = 200) -> str:
    """A short readable summary of a non-JSON body (an HTML error page from a proxy, say)."""
    title = _TITLE.search(body)
    raw = title.group(1) if title else body
    text = " ".join(_TAGS.sub(" ", raw.decode("utf-8", "replace")).split())
    return text[:limit] + ("..." if len(text) > limit else "")


def decode_json(body: bytes | str, provider: str) -> Any:
    """Parse JSON or raise MalformedResponseError with an excerpt of what came instead."""
    try:
        # orjson parses a stream chunk about 4x faster; what it refuses and the standard
        # library accepts (NaN, lone surrogate escapes, a float past 1e308) still parses.
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raw = body.encode() if isinstance(body, str) else body
        raise errors.MalformedResponseError(
            f"expected JSON, got: {text_excerpt(raw, 120)!r}", provider=provider
        ) from None


def require(data: Any, key: str, provider: str) -> Any:
    """data[key] of a JSON object, or MalformedResponseError naming what is missing."""
    if not isinstance(data, dict) or key not in data:
        raise errors.MalformedResponseError(
            f"response has no {key!r} field: {str(data)[:120]}", provider=provider
        )
    return data[key]


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments from their JSON text; {} when empty or not a JSON object."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    signature: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamAssembler:
    """Builds a Completion from StreamEvents, in order; raises the error an error event carries."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._tools: dict[int, _ToolCallParts] = {}
        self.usage: Usage | None = None
        self.finish_reason: FinishReason | None = None
        self.raw_finish_reason: str | None = None

    def add_all(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: StreamEvent) -> None:
        kind = event.type
        if kind == "text":
            self._text.append(event.text)
        elif kind == "tool_call":
            parts = self._tools.setdefault(event.index, _ToolCallParts())
            parts.id = parts.id or event.id
            parts.name = parts.name or event.name
            parts.signature = parts.signature or event.signature
            parts.arguments.append(event.text)
        elif kind == "reasoning":
            self._reasoning.append(event.text)
        elif kind == "refusal":
            self._refusal.append(event.text)
        elif kind == "usage" and event.usage is not None:
            self.usage = merge_usage(self.usage, event.usage)
        elif kind == "finish":
            self.finish_reason = event.finish_reason
            self.raw_finish_reason = event.raw_finish_reason
        elif kind == "start":
            self.id = event.id or self.id
            self.model = event.model or self.model
        elif kind == "error" and event.error is not None:
            raise event.error

    def completion(self) -> Completion:
        tool_calls = [
            ToolCall(
                id=p.id,
                name=p.name,
                raw_arguments="".join(p.arguments),
                arguments=parse_arguments("".join(p.arguments)),
                signature=p.signature or None,
            )
            for _, p in sorted(self._tools.items())
        ]
        return Completion(
            id=self.id,
            model=self.model,
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            refusal="".join(self._refusal) or None,
            tool_calls=tool_calls,
            finish_reason=self.finish_reason or ("tool_calls" if tool_calls else "other"),
            raw_finish_reason=self.raw_finish_reason,
            usage=self.usage,
        )


def merge_usage(old: Usage | None, new: Usage) -> Usage:
    """Usage reported in parts (Anthropic: input at start, output at the end): keep what is set."""
    if old is None:
        return new
    return Usage(
        input_tokens=new.input_tokens or old.input_tokens,
        output_tokens=new.output_tokens or old.output_tokens,
        cached_input_tokens=(
            new.cached_input_tokens
            if new.cached_input_tokens is not None
            else old.cached_input_tokens
        ),
        reasoning_tokens=(
            new.reasoning_tokens if new.reasoning_tokens is not None else old.reasoning_tokens
        ),
    )


def json_request(
    method: str, url: str, body: dict[str, Any], headers: Mapping[str, str]
) -> httpx.Request:
    """An httpx.Request with a compact JSON body and the given headers."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    merged = {"content-type": "application/json", "accept": "application/json", **headers}
    return httpx.Request(method, _parsed_url(url), content=content, headers=merged)


# Parsing the same few endpoint URLs again for every request was a third of building one;
# httpx.URL has no mutators, so requests can share the parsed one.
_parsed_url = functools.lru_cache(maxsize=1024)(httpx.URL)


SamplingField = Literal["max_tokens", "temperature", "top_p", "stop", "seed"]


def sampling_options(request: Request, names: Mapping[SamplingField, str]) -> dict[str, Any]:
    """The request's sampling fields that are set, under the wire format's names.

    `names` maps Request fields to wire names; fields it leaves out are not sent.
    """
    options: dict[str, Any] = {}
    for field_name, wire_name in names.items():
        value = getattr(request, field_name)
        if value is not None and value != []:
            options[wire_name] = value
    return options


def base_headers(provider: ProviderConfig) -> dict[str, str]:
    """The provider's extra headers from models.toml."""
    return dict(provider.headers)


def finish_from(mapping: Mapping[str, FinishReason], raw: str | None) -> FinishReason:
    """Normalise a provider's stop reason; unknown values are `other`."""
    if raw is None:
        return "other"
    return mapping.get(raw, "other")
