"""OpenAI chat completions, and every server that speaks it (Azure, Groq, vLLM, llama.cpp, ...).

Wire format: POST {base_url}/chat/completions (Azure: the deployment URL with `api-version`),
a JSON body, SSE chunks `data: {chat.completion.chunk}` ending with `data: [DONE]`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson

from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.errors import ContentFilterError, ProviderError, StreamInterruptedError
from pytest_llmbench.providers.base import (
    Codec,
    ErrorInfo,
    base_headers,
    decode_json,
    finish_from,
    json_request,
    parse_arguments,
    sampling_options,
)
from pytest_llmbench.providers.framing import SSEDecoder, SSEMessage
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    StreamEvent,
    ToolCall,
    Usage,
)

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def chat_messages(request: Request) -> list[dict[str, Any]]:
    """The request's messages in OpenAI's chat shape."""
    return [_message(m) for m in request.messages]


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        out["name"] = message.name
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
        if not message.content:
            out["content"] = None
    return out


def usage_from(data: Any) -> Usage | None:
    """Usage from an OpenAI `usage` object (prompt/completion tokens and their details)."""
    if not isinstance(data, dict):
        return None
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        output_tokens=int(data.get("completion_tokens") or 0),
        cached_input_tokens=prompt_details.get("cached_tokens"),
        reasoning_tokens=completion_details.get("reasoning_tokens"),
    )


def _content_text(content: Any) -> str:
    """Message content as text: a string, or (Mistral) a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return str(content)


class OpenAIChatCodec(Codec):
    kind = "openai"

    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
    ) -> httpx.Request:
        base = provider.base_url.rstrip("/")
        headers = base_headers(provider)
        body: dict[str, Any] = {"messages": chat_messages(request)}
        if provider.is_azure:
            deployment = model.deployment or model.id
            url = f"{base}/openai/deployments/{deployment}/chat/completions"
            url += f"?api-version={provider.api_version}"
            if api_key:
                headers["api-key"] = api_key
        else:
            url = f"{base}/chat/completions"
            body["model"] = model.id
            if api_key:
                headers["authorization"] = f"Bearer {api_key}"
        if request.max_tokens is not None:
            # OpenAI's own API wants the newer name (reasoning models reject the old one);
            # compatible servers mostly know only the old one.
            official = provider.is_azure or "api.openai.com" in base
            body["max_completion_tokens" if official else "max_tokens"] = request.max_tokens
        _set_optional(body, request)
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            headers["accept"] = "text/event-stream"
        body.update(request.extra)
        return json_request("POST", url, body, headers)

    def completion_from_json(self, body: Any) -> Completion:
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self.malformed(f"response has no choices: {str(body)[:120]}")
        choice = choices[0]
        message = choice.get("message") or {}
        raw_finish = choice.get("finish_reason")
        tool_calls = [
            ToolCall(
                id=call.get("id", ""),
                name=(call.get("function") or {}).get("name", ""),
                raw_arguments=(call.get("function") or {}).get("arguments") or "",
                arguments=parse_arguments((call.get("function") or {}).get("arguments") or ""),
            )
            for call in message.get("tool_calls") or []
        ]
        return Completion(
            id=body.get("id", ""),
            model=body.get("model", ""),
            text=_content_text(message.get("content")),
            reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
            refusal=message.get("refusal"),
            tool_calls=tool_calls,
            finish_reason=finish_from(FINISH_REASONS, raw_finish),
            raw_finish_reason=raw_finish,
            usage=_body_usage(body),
        )

    def error_info(self, body: Any) -> ErrorInfo | None:
        if not isinstance(body, dict) or "error" not in body:
            return None
        error = body["error"]
        if isinstance(error, str):
            return ErrorInfo(message=error)
        if not isinstance(error, dict):
            return ErrorInfo(message=str(error))
        code = error.get("code") or error.get("type")
        return ErrorInfo(
            code=str(code) if code is not None else None, message=str(error.get("message") or "")
        )

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[ProviderError]:
        if info.code in ("content_filter", "content_policy_violation"):
            return ContentFilterError
        return super().refine_error(status, info)

    def stream_decoder(self) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self)


def _set_optional(body: dict[str, Any], request: Request) -> None:
    body.update(
        sampling_options(
            request,
            {"temperature": "temperature", "top_p": "top_p", "stop": "stop", "seed": "seed"},
        )
    )
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in request.tools
        ]
    if request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.response_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.response_schema_name,
                "schema": request.response_schema,
                "strict": True,
            },
        }


def _body_usage(body: dict[str, Any]) -> Usage | None:
    # Groq puts the streamed usage under x_groq.usage.
    usage = body.get("usage") or (body.get("x_groq") or {}).get("usage")
    return usage_from(usage)


class OpenAIStreamDecoder:
    """chat.completion.chunk SSE messages -> StreamEvents (choice 0 only)."""

    def __init__(self, codec: OpenAIChatCodec) -> None:
        self._codec = codec
        self._sse = SSEDecoder()
        self._done = False
        self._finished = False
        self._started = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def close(self) -> list[StreamEvent]:
        events = self._events(self._sse.close())
        if not self._done and not self._finished:
            raise StreamInterruptedError(
                "stream ended without a finish_reason or [DONE]", provider=self._codec.kind
            )
        return events

    def _events(self, messages: list[SSEMessage]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for message in messages:
            data = message.data
            if message.comment:
                events.append(StreamEvent("keepalive"))
            elif data == "[DONE]":
                self._done = True
            elif data and not data.isspace():
                self._chunk(data, events)
        return events

    def _chunk(self, data: str, events: list[StreamEvent]) -> None:
        try:  # orjson at once: decode_json's fallbacks are for what it refuses, which is rare
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = decode_json(data, self._codec.kind)
        if not isinstance(chunk, dict):
            raise self._codec.malformed(f"stream chunk is not an object: {str(chunk)[:120]}")
        if "error" in chunk:  # error_info finds nothing in a chunk without the key
            info = self._codec.error_info(chunk)
            if info is not None:
                events.append(StreamEvent("error", error=self._codec.make_error(None, info)))
                return
        if not self._started:
            self._started = True
            events.append(
                StreamEvent("start", id=chunk.get("id", ""), model=chunk.get("model", ""))
            )
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    self._choice(choice, events)
        # Most chunks carry no usage; OpenAI's carry `"usage": null` when include_usage is set.
        if chunk.get("usage") or "x_groq" in chunk:
            usage = _body_usage(chunk)
            if usage is not None:
                events.append(StreamEvent("usage", usage=usage))

    def _choice(self, choice: dict[str, Any], events: list[StreamEvent]) -> None:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = {}
        content = delta.get("content")
        if len(delta) == 1 and isinstance(content, str):  # most deltas: text alone
            if content:
                events.append(StreamEvent("text", content))  # positional: faster than text=
        else:
            self._delta(delta, content, events)
        raw_finish = choice.get("finish_reason")
        if raw_finish:
            self._finished = True
            events.append(
                StreamEvent(
                    "finish",
                    finish_reason=finish_from(FINISH_REASONS, raw_finish),
                    raw_finish_reason=raw_finish,
                )
            )

    def _delta(self, delta: dict[str, Any], content: Any, events: list[StreamEvent]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            events.append(StreamEvent("reasoning", text=reasoning))
        text = content if isinstance(content, str) else _content_text(content)
        if text:
            events.append(StreamEvent("text", text=text))
        if delta.get("refusal"):
            events.append(StreamEvent("refusal", text=delta["refusal"]))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict):
                raise self._codec.malformed(f"tool call delta is not an object: {str(call)[:80]}")
            function = call.get("function")
            if not isinstance(function, dict):
                function = {}
            index = call.get("index", 0)
            events.append(
                StreamEvent(
                    "tool_call",
                    index=index if isinstance(index, int) else 0,
                    id=call.get("id") or "",
                    name=function.get("name") or "",
                    text=function.get("arguments") or "",
                )
            )
