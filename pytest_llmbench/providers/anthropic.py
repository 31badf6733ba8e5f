"""Anthropic Messages API, and servers that speak it (llama.cpp's `/v1/messages`, proxies).

Wire format: POST {base_url}/v1/messages with `x-api-key` and `anthropic-version` headers and a
JSON body; streamed answers are SSE events `message_start`, `content_block_start`,
`content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`, `ping`, `error`.

Choices this codec makes where the wire format leaves room:

- `max_tokens` is required by Anthropic: Request.max_tokens, else the model's
  `max_output_tokens`, else 1024.
- `response_schema` becomes `output_config.format = {"type": "json_schema", "schema": ...}`
  (structured outputs, generally available; no name field, so `response_schema_name` is unused).
- `seed` is not sent: the Messages API has no seed and rejects unknown fields.
- Usage: Anthropic's `input_tokens` excludes cache reads and cache writes. Usage.input_tokens is
  the whole prompt (`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`), so
  it means the same as OpenAI's `prompt_tokens`; `cached_input_tokens` is the cache reads.
  Cache writes have no field of their own (they are priced above plain input).
- `reasoning_tokens` is `output_tokens_details.thinking_tokens` when the server sends it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.providers.base import (
    Codec,
    ErrorInfo,
    base_headers,
    decode_json,
    finish_from,
    json_request,
    sampling_options,
)
from pytest_llmbench.providers.framing import SSEDecoder, SSEMessage
from pytest_llmbench.providers.json_values import as_dict, as_int, as_str
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    StreamEvent,
    ToolCall,
    Usage,
)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "other",
}

TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}

# Anthropic's error `type` -> taxonomy class, for errors that come without an HTTP status
# (an `error` event inside a 200 stream) and for types the status alone does not reveal.
ERROR_TYPES: dict[str, type[errors.ProviderError]] = {
    "invalid_request_error": errors.InvalidRequestError,
    "authentication_error": errors.AuthenticationError,
    "permission_error": errors.PermissionDeniedError,
    "billing_error": errors.PermissionDeniedError,
    "not_found_error": errors.ModelNotFoundError,
    "request_too_large": errors.ContextLengthExceededError,
    "rate_limit_error": errors.RateLimitError,
    "timeout_error": errors.TimeoutError,
    "api_error": errors.ServerError,
    "overloaded_error": errors.ServerError,
}


def messages_url(base_url: str) -> str:
    """The Messages endpoint under a base URL given with or without its `/v1` suffix."""
    base = base_url.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def anthropic_messages(request: Request) -> list[dict[str, Any]]:
    """The conversation (system messages left out) in the Messages API shape.

    Tool results become `tool_result` blocks in a user message; consecutive tool results share
    one user message, as parallel tool use requires.
    """
    out: list[dict[str, Any]] = []
    previous_role: str | None = None
    for message in request.conversation:
        if message.role == "tool":
            block = _tool_result(message)
            if previous_role == "tool":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif message.role == "assistant" and message.tool_calls:
            out.append({"role": "assistant", "content": _assistant_blocks(message)})
        else:
            out.append({"role": message.role, "content": message.content})
        previous_role = message.role
    return out


def _tool_result(message: Message) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
    if message.content:
        block["content"] = message.content
    return block


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if isinstance(message.content, list):
        blocks.extend(message.content)
    elif message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in message.tool_calls
    )
    return blocks


USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def raw_usage(data: Any) -> dict[str, int]:
    """The integer counts an Anthropic `usage` object holds (thinking tokens included)."""
    usage = as_dict(data)
    counts = {name: n for name in USAGE_FIELDS if (n := as_int(usage.get(name))) is not None}
    thinking = as_int(as_dict(usage.get("output_tokens_details")).get("thinking_tokens"))
    if thinking is not None:
        counts["thinking_tokens"] = thinking
    return counts


def usage_from_counts(counts: dict[str, int]) -> Usage:
    """Usage from raw Anthropic counts: input is the whole prompt, cache reads included."""
    cache_read = counts.get("cache_read_input_tokens")
    return Usage(
        input_tokens=counts.get("input_tokens", 0)
        + counts.get("cache_creation_input_tokens", 0)
        + (cache_read or 0),
        output_tokens=counts.get("output_tokens", 0),
        cached_input_tokens=cache_read,
        reasoning_tokens=counts.get("thinking_tokens"),
    )


def usage_from(data: Any) -> Usage | None:
    """Usage from an Anthropic `usage` object, or None when there is none."""
    if not isinstance(data, dict):
        return None
    return usage_from_counts(raw_usage(data))


class AnthropicCodec(Codec):
    """The Anthropic Messages API (`kind = "anthropic"`)."""

    kind = "anthropic"

    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
    ) -> httpx.Request:
        headers = base_headers(provider)
        # Headers from models.toml win, so a newer anthropic-version (or a beta) can be set there.
        lowered = {name.lower() for name in headers}
        if "anthropic-version" not in lowered:
            headers["anthropic-version"] = API_VERSION
        if api_key:
            headers["x-api-key"] = api_key
        body: dict[str, Any] = {
            "model": model.id,
            "max_tokens": request.max_tokens or model.max_output_tokens or DEFAULT_MAX_TOKENS,
            "messages": anthropic_messages(request),
        }
        system = request.system
        if system:
            body["system"] = system
        _set_optional(body, request)
        if request.stream:
            body["stream"] = True
            headers["accept"] = "text/event-stream"
        body.update(request.extra)
        return json_request("POST", messages_url(provider.base_url), body, headers)

    def completion_from_json(self, body: Any) -> Completion:
        if not isinstance(body, dict) or "content" not in body:
            raise self.malformed(f"response has no content: {str(body)[:120]}")
        content = body["content"]
        if isinstance(content, str):
            # Lenient: some compatible servers send the text itself instead of blocks.
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise self.malformed(f"response content is not a list: {str(content)[:120]}")
        text: list[str] = []
        reasoning: list[str] = []
        tool_calls: list[ToolCall] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text.append(as_str(block.get("text")))
            elif kind == "thinking":
                reasoning.append(as_str(block.get("thinking")))
            elif kind == "tool_use":
                arguments = as_dict(block.get("input"))
                tool_calls.append(
                    ToolCall(
                        id=as_str(block.get("id")),
                        name=as_str(block.get("name")),
                        arguments=arguments,
                        raw_arguments=json.dumps(arguments, ensure_ascii=False),
                    )
                )
            # redacted_thinking (encrypted), server tool blocks and citations carry no output.
        raw_finish = body.get("stop_reason")
        raw_finish = raw_finish if isinstance(raw_finish, str) else None
        return Completion(
            id=as_str(body.get("id")),
            model=as_str(body.get("model")),
            text="".join(text),
            reasoning="".join(reasoning),
            tool_calls=tool_calls,
            finish_reason=(
                finish_from(FINISH_REASONS, raw_finish)
                if raw_finish is not None
                else ("tool_calls" if tool_calls else "other")
            ),
            raw_finish_reason=raw_finish,
            usage=usage_from(body.get("usage")),
        )

    def error_info(self, body: Any) -> ErrorInfo | None:
        if not isinstance(body, dict):
            return None
        if body.get("type") != "error" and "error" not in body:
            return None
        error = body.get("error")
        if isinstance(error, str):
            return ErrorInfo(message=error)
        if not isinstance(error, dict):
            return ErrorInfo(message=as_str(body.get("message")) or str(error or "error"))
        # Anthropic names the error in `type`; llama.cpp's OpenAI-style bodies use `code` too.
        code = error.get("type") or error.get("code")
        message = error.get("message")
        return ErrorInfo(
            code=str(code) if code is not None else None,
            message=message if isinstance(message, str) else str(message or ""),
        )

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[errors.ProviderError]:
        text = f"{info.code or ''} {info.message}".lower()
        if "content filtering policy" in text:
            return errors.ContentFilterError
        # llama.cpp's overflow ("request (9412 tokens) exceeds the available context size") is
        # not in the shared patterns.
        if "exceed_context_size" in text or "available context size" in text:
            return errors.ContextLengthExceededError
        refined = super().refine_error(status, info)
        if refined is errors.ContextLengthExceededError:
            return refined
        by_type = ERROR_TYPES.get(info.code or "")
        if status is None:
            return by_type or refined
        if info.code == "billing_error":
            return errors.PermissionDeniedError
        return refined

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(self)


def _set_optional(body: dict[str, Any], request: Request) -> None:
    body.update(
        sampling_options(
            request, {"temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}
        )
    )
    if request.tools:
        body["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
        if request.tool_choice is not None:
            body["tool_choice"] = {"type": TOOL_CHOICES[request.tool_choice]}
    if request.response_schema is not None:
        body["output_config"] = {
            "format": {"type": "json_schema", "schema": request.response_schema}
        }


class _Block:
    """What the decoder remembers of one open content block."""

    __slots__ = ("id", "kind", "name", "saw_delta", "start_input", "tool")

    def __init__(self, kind: str, tool: int = -1) -> None:
        self.kind = kind
        self.tool = tool  # position among tool calls, for tool_use blocks
        self.id = ""
        self.name = ""
        self.start_input: dict[str, Any] = {}
        self.saw_delta = False


class AnthropicStreamDecoder:
    """Messages API SSE events -> StreamEvents.

    Content blocks are tracked by their `index`; tool_use blocks are numbered among tool calls
    only, so a text block before them does not shift their index. The stream is complete only
    after `message_stop` (or an `error` event); anything else at close is an interruption.
    """

    def __init__(self, codec: AnthropicCodec) -> None:
        self._codec = codec
        self._sse = SSEDecoder()
        self._blocks: dict[int, _Block] = {}
        self._tools = 0
        self._usage: dict[str, int] = {}
        self._ended = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def close(self) -> list[StreamEvent]:
        events = self._events(self._sse.close())
        if not self._ended:
            raise errors.StreamInterruptedError(
                "stream ended without a message_stop event", provider=self._codec.kind
            )
        return events

    def _events(self, messages: list[SSEMessage]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for message in messages:
            if message.comment:
                events.append(StreamEvent("keepalive"))
                continue
            if self._ended:
                continue  # nothing after message_stop or an error counts
            if not message.data.strip():
                self._bare(message.event, events)
                continue
            data = decode_json(message.data, self._codec.kind)
            if not isinstance(data, dict):
                raise self._codec.malformed(f"stream event is not an object: {message.data[:120]}")
            self._event(message.event, data, events)
        return events

    def _bare(self, name: str, events: list[StreamEvent]) -> None:
        """An event with no data: only the name says what it is (lenient servers)."""
        if name == "ping":
            events.append(StreamEvent("keepalive"))
        elif name == "message_stop":
            self._ended = True

    def _event(self, name: str, data: dict[str, Any], events: list[StreamEvent]) -> None:
        kind = data.get("type")
        kind = kind if isinstance(kind, str) else name
        if kind == "error" or name == "error" or "error" in data:
            info = self._codec.error_info({**data, "type": "error"})
            if info is not None:
                self._ended = True
                events.append(StreamEvent("error", error=self._codec.make_error(None, info)))
                return
        if kind == "message_start":
            self._message_start(as_dict(data.get("message")), events)
        elif kind == "content_block_start":
            self._block_start(data, events)
        elif kind == "content_block_delta":
            self._block_delta(data, events)
        elif kind == "content_block_stop":
            self._block_stop(data, events)
        elif kind == "message_delta":
            self._message_delta(data, events)
        elif kind == "message_stop":
            self._ended = True
        elif kind == "ping":
            events.append(StreamEvent("keepalive"))
        # Unknown event types are ignored, as Anthropic's versioning policy asks.

    def _message_start(self, message: dict[str, Any], events: list[StreamEvent]) -> None:
        events.append(
            StreamEvent("start", id=as_str(message.get("id")), model=as_str(message.get("model")))
        )
        self._add_usage(message.get("usage"), events)

    def _block_start(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        index = as_int(data.get("index"))
        block = as_dict(data.get("content_block"))
        kind = as_str(block.get("type"))
        state = _Block(kind)
        if kind == "tool_use":
            state.tool = self._tools
            self._tools += 1
            state.id = as_str(block.get("id"))
            state.name = as_str(block.get("name"))
            state.start_input = as_dict(block.get("input"))
            events.append(StreamEvent("tool_call", index=state.tool, id=state.id, name=state.name))
        elif kind == "text" and as_str(block.get("text")):
            # Lenient: servers that send a whole block at once put its text here.
            events.append(StreamEvent("text", text=as_str(block.get("text"))))
        elif kind == "thinking" and as_str(block.get("thinking")):
            events.append(StreamEvent("reasoning", text=as_str(block.get("thinking"))))
        if index is not None:
            self._blocks[index] = state

    def _block_delta(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        index = as_int(data.get("index"))
        delta = as_dict(data.get("delta"))
        kind = delta.get("type")
        state = self._blocks.get(index) if index is not None else None
        if kind == "text_delta" or (kind is None and "text" in delta):
            text = as_str(delta.get("text"))
            if text:
                events.append(StreamEvent("text", text=text))
        elif kind == "thinking_delta":
            thinking = as_str(delta.get("thinking"))
            if thinking:
                events.append(StreamEvent("reasoning", text=thinking))
        elif kind == "input_json_delta":
            if state is None:
                # Lenient: a delta for a block never started is taken as a new tool call.
                state = _Block("tool_use", self._tools)
                self._tools += 1
                if index is not None:
                    self._blocks[index] = state
            if state.kind != "tool_use":
                return  # server tool inputs (server_tool_use) are not the caller's tool calls
            state.saw_delta = True
            fragment = as_str(delta.get("partial_json"))
            if fragment:
                events.append(StreamEvent("tool_call", index=state.tool, text=fragment))
        # signature_delta (thinking integrity) and citations_delta carry no output.

    def _block_stop(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        index = as_int(data.get("index"))
        state = self._blocks.pop(index, None) if index is not None else None
        if state is None or state.kind != "tool_use" or state.saw_delta:
            return
        if state.start_input:
            # The whole input came in content_block_start and no deltas followed.
            text = json.dumps(state.start_input, ensure_ascii=False)
            events.append(StreamEvent("tool_call", index=state.tool, text=text))

    def _message_delta(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        self._add_usage(data.get("usage"), events)
        raw_finish = as_dict(data.get("delta")).get("stop_reason")
        if isinstance(raw_finish, str):
            events.append(
                StreamEvent(
                    "finish",
                    finish_reason=finish_from(FINISH_REASONS, raw_finish),
                    raw_finish_reason=raw_finish,
                )
            )

    def _add_usage(self, data: Any, events: list[StreamEvent]) -> None:
        # message_delta counts are cumulative and may omit fields message_start gave: keep the
        # latest value of every field and report the whole picture each time.
        counts = raw_usage(data)
        if not counts:
            return
        self._usage.update(counts)
        events.append(StreamEvent("usage", usage=usage_from_counts(self._usage)))
