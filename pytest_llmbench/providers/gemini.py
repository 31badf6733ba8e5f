"""Google Gemini API (generativelanguage.googleapis.com, `v1beta`).

Wire format: POST {base_url}/models/{model}:generateContent, or
:streamGenerateContent?alt=sse for a stream of server-sent events whose `data` is a whole
GenerateContentResponse holding that chunk's parts. Without `alt=sse` the same chunks arrive
as one streamed JSON array; the stream decoder reads both. The key goes in `x-goog-api-key`,
never in the URL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.providers.base import (
    Codec,
    ErrorInfo,
    Headers,
    StreamAssembler,
    base_headers,
    finish_from,
    json_request,
    sampling_options,
)
from pytest_llmbench.providers.framing import JSONArrayDecoder, SSEDecoder, SSEMessage
from pytest_llmbench.providers.json_values import as_str
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    StreamEvent,
    Usage,
)

Framing = Literal["sse", "json-array", "auto"]
"""How a streamed body is framed: `alt=sse` events, a JSON array, or decided by its first byte."""

FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
}

_TOOL_CHOICE = {"auto": "AUTO", "required": "ANY", "none": "NONE"}

# google.rpc.Status `status` -> taxonomy class; the HTTP status decides what is not listed.
_BY_RPC_STATUS: dict[str, type[errors.ProviderError]] = {
    "INVALID_ARGUMENT": errors.InvalidRequestError,
    "FAILED_PRECONDITION": errors.InvalidRequestError,
    "OUT_OF_RANGE": errors.InvalidRequestError,
    "UNAUTHENTICATED": errors.AuthenticationError,
    "PERMISSION_DENIED": errors.PermissionDeniedError,
    "NOT_FOUND": errors.ModelNotFoundError,
    "RESOURCE_EXHAUSTED": errors.RateLimitError,
    "INTERNAL": errors.ServerError,
    "UNAVAILABLE": errors.ServerError,
    "UNKNOWN": errors.ServerError,
    "DEADLINE_EXCEEDED": errors.TimeoutError,
}
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "CREDENTIALS_MISSING"})
# A bad key comes back as 400 INVALID_ARGUMENT and a missing one as 403 PERMISSION_DENIED.
_AUTH_MESSAGE = re.compile(
    r"api key not valid|api key not found|api key expired|unregistered callers"
    r"|invalid authentication credentials"
)
_SYNTHETIC_ID = re.compile(r"call_\d+")


@dataclass
class GeminiErrorInfo(ErrorInfo):
    """A google.rpc.Status error: `code` is its `status`, `http_status` its numeric `code`,
    `reason` and `retry_after` come from its ErrorInfo and RetryInfo details."""

    http_status: int | None = None
    reason: str | None = None


# -- request -------------------------------------------------------------------------------


def gemini_contents(request: Request) -> list[dict[str, Any]]:
    """The conversation as Gemini `contents` (roles user/model; tool results as user turns)."""
    names: dict[str, str] = {}  # tool_call_id -> function name, for the functionResponse
    contents: list[dict[str, Any]] = []
    last_was_tool = False
    for message in request.conversation:
        if message.role == "tool":
            part = {"functionResponse": _function_response(message, names)}
            # Answers to parallel calls belong together in one turn.
            if last_was_tool:
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
            last_was_tool = True
            continue
        last_was_tool = False
        parts = _parts(message.content)
        if message.role == "assistant":
            parts = [p for p in parts if p != {"text": ""}]
            for call in message.tool_calls:
                names[call.id] = call.name
                function: dict[str, Any] = {"name": call.name, "args": call.arguments}
                if call.id and not _SYNTHETIC_ID.fullmatch(call.id):
                    function["id"] = call.id
                call_part: dict[str, Any] = {"functionCall": function}
                if call.signature:  # Gemini 3 rejects a call sent back without its signature
                    call_part["thoughtSignature"] = call.signature
                parts.append(call_part)
        contents.append(
            {"role": "model" if message.role == "assistant" else "user", "parts": parts}
        )
    return contents


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    return [_part(item) for item in content]


def _part(item: dict[str, Any]) -> dict[str, Any]:
    """One content part: OpenAI-style text and data-URL images converted, Gemini parts kept."""
    kind = item.get("type")
    if kind == "text":
        return {"text": str(item.get("text", ""))}
    if kind == "image_url":
        image = item.get("image_url")
        url = image.get("url", "") if isinstance(image, dict) else str(image or "")
        header, comma, data = url.partition(",")
        if url.startswith("data:") and comma and header.endswith(";base64"):
            mime = header[len("data:") : -len(";base64")]
            return {"inlineData": {"mimeType": mime, "data": data}}
    return item


def _function_response(message: Message, names: Mapping[str, str]) -> dict[str, Any]:
    name = message.name or names.get(message.tool_call_id or "", "")
    text = message.text
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    # `response` must be an object; the docs name `output` as the key for anything else.
    response = value if isinstance(value, dict) else {"output": text}
    out: dict[str, Any] = {"name": name, "response": response}
    if message.tool_call_id and not _SYNTHETIC_ID.fullmatch(message.tool_call_id):
        out["id"] = message.tool_call_id
    return out


def _generation_config(request: Request) -> dict[str, Any]:
    config: dict[str, Any] = {}
    config.update(
        sampling_options(
            request,
            {
                "max_tokens": "maxOutputTokens",
                "temperature": "temperature",
                "top_p": "topP",
                "stop": "stopSequences",
                "seed": "seed",
            },
        )
    )
    if request.response_schema is not None:
        # responseJsonSchema takes JSON Schema as is; responseSchema wants an OpenAPI subset.
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = request.response_schema
    return config


def _tools(request: Request) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    for tool in request.tools:
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description:
            declaration["description"] = tool.description
        # parametersJsonSchema takes JSON Schema as is (`parameters` rejects an empty object).
        declaration["parametersJsonSchema"] = tool.parameters
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}]


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` merged in: nested objects merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


# -- response ------------------------------------------------------------------------------


def usage_from(data: Any) -> Usage | None:
    """Usage from `usageMetadata`.

    Output counts the thoughts too (they are billed as output, as OpenAI's completion_tokens
    count reasoning); input counts tool-use prompt tokens, so the total is `totalTokenCount`.
    """
    if not isinstance(data, dict):
        return None
    candidates = _count(data.get("candidatesTokenCount"))
    thoughts = _count(data.get("thoughtsTokenCount"))
    cached = _count(data.get("cachedContentTokenCount"))
    return Usage(
        input_tokens=(_count(data.get("promptTokenCount")) or 0)
        + (_count(data.get("toolUsePromptTokenCount")) or 0),
        output_tokens=(candidates or 0) + (thoughts or 0),
        cached_input_tokens=cached,
        reasoning_tokens=thoughts,
    )


def _count(value: Any) -> int | None:
    """A token count: a JSON number, or a decimal string (protobuf's JSON for 64-bit ints)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        return int(value)
    return None


def parse_duration(value: Any) -> float | None:
    """Seconds from a protobuf Duration in JSON form ("30s", "1.5s"), or None."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        seconds = float(value[:-1])
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _error_details(details: Any) -> tuple[str | None, float | None]:
    """The ErrorInfo reason and RetryInfo delay among a google.rpc.Status's details."""
    reason: str | None = None
    retry_after: float | None = None
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        kind = detail.get("@type")
        if not isinstance(kind, str):
            continue
        if kind.endswith("google.rpc.ErrorInfo") and isinstance(detail.get("reason"), str):
            reason = detail["reason"]
        elif kind.endswith("google.rpc.RetryInfo"):
            retry_after = parse_duration(detail.get("retryDelay"))
    return reason, retry_after


def _loads(text: str, provider: str) -> Any:
    """JSON from a stream message; anything unparseable (even too deep) is malformed."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise errors.MalformedResponseError(
            f"invalid JSON in stream: {text[:120]!r}", provider=provider
        ) from None


class GeminiCodec(Codec):
    kind = "gemini"

    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
    ) -> httpx.Request:
        """The generateContent (or streamGenerateContent?alt=sse) request.

        `request.extra` is merged last and deeply, so `{"generationConfig": {"thinkingConfig":
        ...}}` adds to the generation config instead of replacing it.
        """
        base = provider.base_url.rstrip("/")
        # Tuned models and full resource names already carry their collection.
        path = (
            model.id if model.id.startswith(("models/", "tunedModels/")) else f"models/{model.id}"
        )
        headers = base_headers(provider)
        if api_key:
            headers["x-goog-api-key"] = api_key
        if request.stream:
            url = f"{base}/{path}:streamGenerateContent?alt=sse"
            headers["accept"] = "text/event-stream"
        else:
            url = f"{base}/{path}:generateContent"
        body: dict[str, Any] = {"contents": gemini_contents(request)}
        system = request.system
        if system is not None:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config = _generation_config(request)
        if config:
            body["generationConfig"] = config
        if request.tools:
            body["tools"] = _tools(request)
        if request.tool_choice is not None:
            body["toolConfig"] = {
                "functionCallingConfig": {"mode": _TOOL_CHOICE[request.tool_choice]}
            }
        return json_request("POST", url, _deep_merge(body, request.extra), headers)

    def completion_from_json(self, body: Any) -> Completion:
        if not isinstance(body, dict):
            raise self.malformed(f"response is not an object: {str(body)[:120]}")
        candidates = body.get("candidates")
        if not candidates and self.blocked_prompt(body) is None:
            raise self.malformed(f"response has no candidates: {str(body)[:120]}")
        # One response is one chunk: read it as a stream would be, so both agree exactly.
        assembler = StreamAssembler()
        assembler.add_all(ChunkReader(self).read(body))
        return assembler.completion()

    def error_info(self, body: Any) -> GeminiErrorInfo | None:
        # The JSON-array endpoint wraps its error in a one-element array.
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if not isinstance(body, dict) or "error" not in body:
            return None
        error = body["error"]
        if isinstance(error, str):
            return GeminiErrorInfo(message=error)
        if not isinstance(error, dict):
            return GeminiErrorInfo(message=str(error)[:200])
        status, number = error.get("status"), error.get("code")
        if isinstance(status, str) and status:
            code: str | None = status
        elif isinstance(number, (int, str)) and not isinstance(number, bool):
            code = str(number)
        else:
            code = None
        reason, retry_after = _error_details(error.get("details"))
        return GeminiErrorInfo(
            code=code,
            message=as_str(error.get("message")),
            http_status=_count(number),
            reason=reason,
            retry_after=retry_after,
        )

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[errors.ProviderError]:
        reason = info.reason if isinstance(info, GeminiErrorInfo) else None
        if status is None and isinstance(info, GeminiErrorInfo) and info.http_status:
            # An error inside a 200 stream still says which HTTP status it stands for.
            status = info.http_status
        if reason in _AUTH_REASONS or _AUTH_MESSAGE.search(info.message.lower()):
            return errors.AuthenticationError
        fallback = super().refine_error(status, info)
        if fallback is errors.ContextLengthExceededError:
            return fallback
        return _BY_RPC_STATUS.get(info.code or "", fallback)

    def blocked_prompt(self, body: Mapping[str, Any]) -> errors.ContentFilterError | None:
        """The error for a prompt the safety filter blocked (`promptFeedback.blockReason`)."""
        feedback = body.get("promptFeedback")
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if not isinstance(reason, str) or not reason:
            return None
        detail = as_str(feedback.get("blockReasonMessage")) if isinstance(feedback, dict) else ""
        message = f"prompt blocked: {reason}" + (f" ({detail})" if detail else "")
        return errors.ContentFilterError(message, provider=self.kind, code=reason)

    def stream_decoder(self, framing: Framing = "sse") -> GeminiStreamDecoder:
        """A decoder for `alt=sse` bodies (what build_request asks for), or the given framing."""
        return GeminiStreamDecoder(self, framing)

    def stream_decoder_for(self, headers: Headers) -> GeminiStreamDecoder:
        """The framing read from the content type, else from the first byte."""
        return self.stream_decoder(framing_from_headers(headers))


def framing_from_headers(headers: Headers) -> Framing:
    """`sse` when the content type says event-stream, else `auto` (decided by the first byte)."""
    for name, value in headers.items():
        if name.lower() == "content-type" and "text/event-stream" in value.lower():
            return "sse"
    return "auto"


class ChunkReader:
    """GenerateContentResponse chunks -> StreamEvents, keeping what spans chunks (candidate 0)."""

    def __init__(self, codec: GeminiCodec) -> None:
        self._codec = codec
        self._started = False
        self._tool_calls = 0
        self.finished = False  # a candidate said why it stopped
        self.failed = False  # an error or a blocked prompt ended the stream

    def read(self, chunk: Any) -> list[StreamEvent]:
        codec = self._codec
        info = codec.error_info(chunk)
        if info is not None:
            self.failed = True
            return [StreamEvent("error", error=codec.make_error(None, info))]
        if not isinstance(chunk, dict):
            raise codec.malformed(f"stream chunk is not an object: {str(chunk)[:120]}")
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(
                StreamEvent(
                    "start",
                    id=as_str(chunk.get("responseId")),
                    model=as_str(chunk.get("modelVersion")),
                )
            )
        candidate = self._candidate(chunk.get("candidates"))
        if candidate is not None:
            self._candidate_events(candidate, events)
        else:
            blocked = codec.blocked_prompt(chunk)
            if blocked is not None:
                self.failed = True
                events.append(StreamEvent("error", error=blocked))
        usage = usage_from(chunk.get("usageMetadata"))
        if usage is not None:
            events.append(StreamEvent("usage", usage=usage))
        if candidate is not None:
            self._finish(candidate, events)
        return events

    def _candidate(self, candidates: Any) -> dict[str, Any] | None:
        if candidates is None:
            return None
        if not isinstance(candidates, list):
            raise self._codec.malformed(f"candidates is not a list: {str(candidates)[:120]}")
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
                return candidate
        return None

    def _candidate_events(self, candidate: dict[str, Any], events: list[StreamEvent]) -> None:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            call = part.get("functionCall")
            if isinstance(call, dict):
                events.append(self._tool_call(call, as_str(part.get("thoughtSignature"))))
                continue
            text = as_str(part.get("text"))
            if text:
                events.append(
                    StreamEvent("reasoning" if part.get("thought") is True else "text", text=text)
                )

    def _tool_call(self, call: dict[str, Any], signature: str) -> StreamEvent:
        index = self._tool_calls
        self._tool_calls += 1
        args = call.get("args")
        # Gemini sends each call whole: its arguments are one fragment.
        arguments = json.dumps(args if isinstance(args, dict) else {}, ensure_ascii=False)
        return StreamEvent(
            "tool_call",
            index=index,
            id=as_str(call.get("id")) or f"call_{index}",
            name=as_str(call.get("name")),
            text=arguments,
            signature=signature,
        )

    def _finish(self, candidate: dict[str, Any], events: list[StreamEvent]) -> None:
        raw = candidate.get("finishReason")
        if not isinstance(raw, str) or not raw:
            return
        self.finished = True
        reason = finish_from(FINISH_REASONS, raw)
        if reason == "stop" and self._tool_calls:
            reason = "tool_calls"
        events.append(StreamEvent("finish", finish_reason=reason, raw_finish_reason=raw))


class GeminiStreamDecoder:
    """streamGenerateContent bodies -> StreamEvents, framed as SSE, a JSON array, or `auto`.

    `auto` decides on the first non-blank byte: `[` is a JSON array, `{` bare JSON objects
    (an error body sent with 200, say), anything else server-sent events.
    """

    def __init__(self, codec: GeminiCodec, framing: Framing = "sse") -> None:
        self._codec = codec
        self._reader = ChunkReader(codec)
        self._framing: Framing = framing
        self._pending = b""  # `auto` only: blank bytes seen before the framing is known
        self._sse = SSEDecoder()
        self._array = JSONArrayDecoder(provider=codec.kind)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        if self._framing == "auto":
            chunk = self._decide(chunk)
            if self._framing == "auto":
                return []
        if self._framing == "sse":
            return self._messages(self._sse.feed(chunk))
        return self._items(chunk, final=False)

    def close(self) -> list[StreamEvent]:
        if self._framing == "sse":
            events = self._messages(self._sse.close())
        elif self._framing == "json-array":
            events = self._items(b"", final=True)
        else:
            events = []
        if not self._reader.finished and not self._reader.failed:
            raise errors.StreamInterruptedError(
                "stream ended before a candidate's finishReason", provider=self._codec.kind
            )
        return events

    def _decide(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        start = len(data) - len(data.lstrip())
        if start == len(data):
            self._pending = data
            return b""
        self._pending = b""
        first = data[start : start + 1]
        if first == b"{":
            self._framing = "json-array"
            # Bare objects read as the elements of an array whose `[` never came.
            self._array.feed(b"[")
        else:
            self._framing = "json-array" if first == b"[" else "sse"
        return data

    def _messages(self, messages: list[SSEMessage]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for message in messages:
            if message.comment:
                events.append(StreamEvent("keepalive"))
            elif message.data.strip():
                events += self._reader.read(_loads(message.data, self._codec.kind))
        return events

    def _items(self, chunk: bytes, final: bool) -> list[StreamEvent]:
        try:
            items = self._array.close() if final else self._array.feed(chunk)
        except RecursionError:
            raise self._codec.malformed("a streamed JSON element is nested too deeply") from None
        events: list[StreamEvent] = []
        for item in items:
            events += self._reader.read(item)
        return events
