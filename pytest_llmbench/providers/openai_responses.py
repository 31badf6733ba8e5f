"""OpenAI Responses API (`POST {base_url}/responses`), and servers that speak it.

Wire format: a JSON body whose conversation is a list of `input` items (messages, function
calls, function call outputs) with the system prompt in `instructions`. The answer is a
response object whose `output` is a list of items (message, function_call, reasoning, ...).
Streams are SSE with `event: response.*` names and a `type` in every data object, ending with
`response.completed`, `response.incomplete` or `response.failed` (there is no `[DONE]`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import httpx

from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.errors import (
    ContentFilterError,
    ContextLengthExceededError,
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    UnsupportedParameterError,
)
from pytest_llmbench.providers.base import (
    Codec,
    ErrorInfo,
    base_headers,
    decode_json,
    json_request,
    parse_arguments,
    sampling_options,
)
from pytest_llmbench.providers.framing import SSEDecoder, SSEMessage
from pytest_llmbench.providers.json_values import as_dict, as_int, as_list, as_str
from pytest_llmbench.providers.openai import OpenAIChatCodec
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    StreamEvent,
    ToolCall,
    Usage,
)

INCOMPLETE_REASONS: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
ERROR_EVENTS = frozenset({"error", "response.error"})

# Codes that name the failure better than the HTTP status does, whatever the status.
_CODE_CLASSES: dict[str, type[ProviderError]] = {
    "context_length_exceeded": ContextLengthExceededError,
    "content_filter": ContentFilterError,
    "content_policy_violation": ContentFilterError,
    "image_content_policy_violation": ContentFilterError,
}
# Codes and types that classify an error that came without a status (in a 200 stream or a
# `failed` response object); with a status, the status decides.
_STATUSLESS_CLASSES: dict[str, type[ProviderError]] = {
    "server_error": ServerError,
    "vector_store_timeout": ServerError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "model_not_found": ModelNotFoundError,
    "invalid_prompt": InvalidRequestError,
    "invalid_request_error": InvalidRequestError,
}

# The chat codec already reads OpenAI's `{"error": {...}}` body; Responses uses the same one.
_CHAT = OpenAIChatCodec()


# -- request ---------------------------------------------------------------------------------


def input_items(request: Request) -> list[dict[str, Any]]:
    """The request's non-system messages as Responses `input` items, in order."""
    items: list[dict[str, Any]] = []
    for message in request.conversation:
        items.extend(_items(message))
    return items


def _items(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        if not message.tool_call_id:
            raise UnsupportedParameterError(
                "a tool message needs tool_call_id: the Responses API matches a "
                "function_call_output to its function_call by call_id",
                provider=OpenAIResponsesCodec.kind,
            )
        return [
            {
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": message.text,
            }
        ]
    items: list[dict[str, Any]] = []
    if message.content or not message.tool_calls:
        items.append({"role": message.role, "content": _content(message)})
    for call in message.tool_calls:
        items.append(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                # Echo what the model sent when we have it: a parse failure left arguments {}.
                "arguments": call.raw_arguments or json.dumps(call.arguments),
            }
        )
    return items


def _content(message: Message) -> str | list[dict[str, Any]]:
    """Message content; chat-style parts (text, image_url) become Responses parts."""
    if isinstance(message.content, str):
        return message.content
    text_type = "output_text" if message.role == "assistant" else "input_text"
    parts: list[dict[str, Any]] = []
    for part in message.content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": text_type, "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else image
            detail = image.get("detail", "auto") if isinstance(image, dict) else "auto"
            parts.append({"type": "input_image", "image_url": url, "detail": detail})
        else:  # already a Responses part (input_text, input_image, input_file, ...)
            parts.append(part)
    return parts


def _unsupported(name: str, why: str) -> UnsupportedParameterError:
    return UnsupportedParameterError(
        f"Request.{name} is not supported by the Responses API ({why}); remove it, or use "
        f'kind = "openai" (chat completions) for this check',
        provider=OpenAIResponsesCodec.kind,
    )


# -- response --------------------------------------------------------------------------------


def usage_from(data: Any) -> Usage | None:
    """Usage from a Responses `usage` object (input/output tokens and their details)."""
    if not isinstance(data, dict):
        return None
    return Usage(
        input_tokens=as_int(data.get("input_tokens")) or 0,
        output_tokens=as_int(data.get("output_tokens")) or 0,
        cached_input_tokens=as_int(as_dict(data.get("input_tokens_details")).get("cached_tokens")),
        reasoning_tokens=as_int(as_dict(data.get("output_tokens_details")).get("reasoning_tokens")),
    )


def finish_reason(status: str | None, response: dict[str, Any], tool_calls: bool) -> FinishReason:
    """The normalised finish reason of a response with this status.

    completed -> stop (tool_calls when the output has function calls); incomplete -> by
    `incomplete_details.reason`; failed -> error; anything else (cancelled, ...) -> other.
    """
    if status == "completed":
        return "tool_calls" if tool_calls else "stop"
    if status == "incomplete":
        reason = as_dict(response.get("incomplete_details")).get("reason")
        return INCOMPLETE_REASONS.get(reason, "other") if isinstance(reason, str) else "other"
    if status == "failed":
        return "error"
    return "other"


def _has_function_calls(response: dict[str, Any]) -> bool:
    return any(
        as_dict(item).get("type") == "function_call" for item in as_list(response.get("output"))
    )


class OpenAIResponsesCodec(Codec):
    """The OpenAI Responses API.

    Requests are sent with `store: false`: by default the API keeps every response (and its
    prompt) for later retrieval and shows it in the dashboard logs; benchmark and conformance
    prompts should not be retained, and we always resend the whole conversation, so we never
    need a stored `previous_response_id`. `Request.extra` can set `store` back on purpose.

    `Request.stop` and `Request.seed` have no Responses parameter: build_request raises
    UnsupportedParameterError (a ValueError) rather than silently dropping them.
    Function tools are sent with `strict: false`, because the Responses API otherwise
    rewrites every tool schema into strict mode, which chat completions does not do.
    """

    kind = "openai-responses"

    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
    ) -> httpx.Request:
        if request.stop:
            raise _unsupported("stop", "it has no stop sequences")
        if request.seed is not None:
            raise _unsupported("seed", "it has no seed parameter")
        url = f"{provider.base_url.rstrip('/')}/responses"
        headers = base_headers(provider)
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        body: dict[str, Any] = {"model": model.id, "input": input_items(request), "store": False}
        if request.system is not None:
            body["instructions"] = request.system
        # max_output_tokens below 16 gets a 400 from OpenAI; passed through so a check sees it.
        body.update(
            sampling_options(
                request,
                {"max_tokens": "max_output_tokens", "temperature": "temperature", "top_p": "top_p"},
            )
        )
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "strict": False,
                }
                for tool in request.tools
            ]
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
        if request.response_schema is not None:
            body["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": request.response_schema_name,
                    "schema": request.response_schema,
                    "strict": True,
                }
            }
        if request.stream:
            body["stream"] = True
            headers["accept"] = "text/event-stream"
        body.update(request.extra)
        return json_request("POST", url, body, headers)

    def completion_from_json(self, body: Any) -> Completion:
        if not isinstance(body, dict) or not isinstance(body.get("output"), list):
            raise self.malformed(f"response has no output list: {str(body)[:120]}")
        text: list[str] = []
        reasoning: list[str] = []
        refusal: list[str] = []
        tool_calls: list[ToolCall] = []
        for item in body["output"]:
            if not isinstance(item, dict):
                raise self.malformed(f"output item is not an object: {str(item)[:120]}")
            kind = item.get("type")
            if kind == "message":
                for raw_part in as_list(item.get("content")):
                    part = as_dict(raw_part)
                    if part.get("type") == "output_text":
                        text.append(as_str(part.get("text")))
                    elif part.get("type") == "refusal":
                        refusal.append(as_str(part.get("refusal")))
            elif kind == "function_call":
                raw = as_str(item.get("arguments"))
                tool_calls.append(
                    ToolCall(
                        id=as_str(item.get("call_id")),
                        name=as_str(item.get("name")),
                        raw_arguments=raw,
                        arguments=parse_arguments(raw),
                    )
                )
            elif kind == "reasoning":
                for part in as_list(item.get("summary")) + as_list(item.get("content")):
                    reasoning.append(as_str(as_dict(part).get("text")))
        status = body.get("status")
        raw_status = status if isinstance(status, str) else None
        return Completion(
            id=as_str(body.get("id")),
            model=as_str(body.get("model")),
            text="".join(text),
            reasoning="".join(reasoning),
            refusal="".join(refusal) or None,
            tool_calls=tool_calls,
            finish_reason=finish_reason(raw_status, body, bool(tool_calls)),
            raw_finish_reason=raw_status,
            usage=usage_from(body.get("usage")),
        )

    def error_info(self, body: Any) -> ErrorInfo | None:
        # A response object always has an `error` field; null means it did not fail.
        if not isinstance(body, dict) or body.get("error") is None:
            return None
        info = _CHAT.error_info(body)
        if info is None:
            return None
        message = info.message if isinstance(info.message, str) else str(info.message)
        return ErrorInfo(code=info.code, message=message)

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[ProviderError]:
        code = info.code or ""
        if code in _CODE_CLASSES:
            return _CODE_CLASSES[code]
        if status is None and code in _STATUSLESS_CLASSES:
            return _STATUSLESS_CLASSES[code]
        return super().refine_error(status, info)

    def stream_decoder(self) -> OpenAIResponsesStreamDecoder:
        return OpenAIResponsesStreamDecoder(self)

    def stream_error_info(self, data: dict[str, Any]) -> ErrorInfo:
        """The error of an `error` stream event.

        The API reference documents `{"type": "error", "code", "message", "param"}`; OpenAI
        has also been seen sending the chat-style `{"type": "error", "error": {...}}`.
        """
        if isinstance(data.get("error"), dict):
            info = self.error_info(data)
            if info is not None:
                return info
        code = data.get("code")
        return ErrorInfo(
            code=str(code) if code is not None else None,
            message=as_str(data.get("message")) or "error event in the stream",
        )


class OpenAIResponsesStreamDecoder:
    """Responses SSE events -> StreamEvents.

    Tool-call events are indexed by their position among the function calls of the response
    (the `output_index` of each call is mapped on first sight), as the non-streamed output
    lists them.
    """

    def __init__(self, codec: OpenAIResponsesCodec) -> None:
        self._codec = codec
        self._sse = SSEDecoder()
        self._started = False
        self._finished = False
        self._tool_index: dict[int, int] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], list[StreamEvent]], None]] = {
            "response.created": self._start,
            "response.queued": self._start,
            "response.in_progress": self._start,
            "response.output_item.added": self._item_added,
            "response.output_text.delta": self._delta("text"),
            "response.refusal.delta": self._delta("refusal"),
            "response.reasoning_summary_text.delta": self._delta("reasoning"),
            "response.reasoning_text.delta": self._delta("reasoning"),
            "response.function_call_arguments.delta": self._arguments,
        }

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def close(self) -> list[StreamEvent]:
        events = self._events(self._sse.close())
        if not self._finished:
            raise StreamInterruptedError(
                "stream ended without response.completed, response.incomplete or response.failed",
                provider=self._codec.kind,
            )
        return events

    def _events(self, messages: list[SSEMessage]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for message in messages:
            if message.comment:
                events.append(StreamEvent("keepalive"))
                continue
            if not message.data.strip():
                continue
            data = decode_json(message.data, self._codec.kind)
            if not isinstance(data, dict):
                raise self._codec.malformed(f"stream event is not an object: {str(data)[:120]}")
            self._event(data, message.event, events)
        return events

    def _event(self, data: dict[str, Any], sse_name: str, events: list[StreamEvent]) -> None:
        # The data's own `type` is authoritative; the SSE event name is only a fallback.
        kind = as_str(data.get("type")) or sse_name
        if kind in ERROR_EVENTS or (not data.get("type") and isinstance(data.get("error"), dict)):
            self._finished = True
            info = self._codec.stream_error_info(data)
            events.append(StreamEvent("error", error=self._codec.make_error(None, info)))
        elif kind in TERMINAL_EVENTS:
            self._terminal(kind, data, events)
        else:
            handler = self._handlers.get(kind)
            if handler is not None:
                handler(data, events)

    def _start(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        if self._started:
            return
        self._started = True
        response = as_dict(data.get("response"))
        events.append(
            StreamEvent("start", id=as_str(response.get("id")), model=as_str(response.get("model")))
        )

    def _delta(
        self, kind: Literal["text", "refusal", "reasoning"]
    ) -> Callable[[dict[str, Any], list[StreamEvent]], None]:
        def handle(data: dict[str, Any], events: list[StreamEvent]) -> None:
            delta = as_str(data.get("delta"))
            if delta:
                events.append(StreamEvent(kind, text=delta))

        return handle

    def _position(self, data: dict[str, Any]) -> int:
        output_index = as_int(data.get("output_index"))
        key = output_index if output_index is not None else -1
        if key not in self._tool_index:
            self._tool_index[key] = len(self._tool_index)
        return self._tool_index[key]

    def _item_added(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        item = as_dict(data.get("item"))
        if item.get("type") != "function_call":
            return
        events.append(
            StreamEvent(
                "tool_call",
                index=self._position(data),
                id=as_str(item.get("call_id")),
                name=as_str(item.get("name")),
                # OpenAI sends "" here and the arguments as deltas; a server that sends the
                # whole call at once is still read whole.
                text=as_str(item.get("arguments")),
            )
        )

    def _arguments(self, data: dict[str, Any], events: list[StreamEvent]) -> None:
        delta = as_str(data.get("delta"))
        if delta:
            events.append(StreamEvent("tool_call", index=self._position(data), text=delta))

    def _terminal(self, kind: str, data: dict[str, Any], events: list[StreamEvent]) -> None:
        response = data.get("response")
        if not isinstance(response, dict):
            raise self._codec.malformed(f"{kind} event has no response object")
        self._finished = True
        self._start({"response": response}, events)
        usage = usage_from(response.get("usage"))
        if usage is not None:
            events.append(StreamEvent("usage", usage=usage))
        status = response.get("status")
        # A server that leaves status out still said how it ended, in the event name.
        raw_status = status if isinstance(status, str) else kind.removeprefix("response.")
        tool_calls = bool(self._tool_index) or _has_function_calls(response)
        events.append(
            StreamEvent(
                "finish",
                finish_reason=finish_reason(raw_status, response, tool_calls),
                raw_finish_reason=raw_status,
            )
        )
        info = self._codec.error_info(response)
        if info is not None:
            events.append(StreamEvent("error", error=self._codec.make_error(None, info)))
