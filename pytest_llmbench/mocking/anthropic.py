"""The Anthropic Messages API server side, for mocks.

A stream is `message_start`, then per content block `content_block_start`, its deltas
(`text_delta`, or `input_json_delta` for tool_use) and `content_block_stop`, then
`message_delta` (stop reason, output token count) and `message_stop`, each with its `event:`
line. Errors are `{"type": "error", "error": {"type": ..., "message": ...}}`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pytest_llmbench.mocking.emitter import (
    Chunk,
    Emitter,
    MockError,
    MockReply,
    MockToolCall,
    follow,
    request_json,
    sse,
)
from pytest_llmbench.types import FinishReason, Usage

_STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    # The Messages API has no stop reason for a failed generation (it sends an error
    # instead), so a scripted "error" ends like a normal turn; pause_turn is its "other".
    "error": "end_turn",
    "other": "pause_turn",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _input_usage(usage: Usage) -> dict[str, int]:
    """The prompt counts: Anthropic's input_tokens leaves out the tokens read from cache."""
    cached = usage.cached_input_tokens or 0
    return {
        "input_tokens": max(usage.input_tokens - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def _tool_use(index: int, call: MockToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id or f"toolu_mock_{index}", "name": call.name}


class AnthropicEmitter(Emitter):
    kind = "anthropic"

    def is_stream(self, request: httpx.Request) -> bool:
        return bool(request_json(request).get("stream"))

    def _stop_reason(self, reply: MockReply) -> str:
        if reply.tool_calls and reply.finish == "stop":
            return "tool_use"
        return _STOP_REASONS[reply.finish]

    def _has_text_block(self, reply: MockReply) -> bool:
        # A tool-only turn has no text block; an empty answer still has one (empty).
        return bool(reply.tokens) or not reply.tool_calls

    def _message(
        self, reply: MockReply, content: list[dict[str, Any]], stop_reason: str | None
    ) -> dict[str, Any]:
        return {
            "id": reply.id,
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
        }

    def body(self, reply: MockReply) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if self._has_text_block(reply):
            content.append({"type": "text", "text": reply.text})
        content += [
            {**_tool_use(i, call), "input": call.arguments}
            for i, call in enumerate(reply.tool_calls)
        ]
        usage = reply.usage_or_default()
        message = self._message(reply, content, self._stop_reason(reply))
        message["usage"] = {**_input_usage(usage), "output_tokens": usage.output_tokens}
        return message

    def chunks(self, reply: MockReply) -> list[Chunk]:
        usage = reply.usage_or_default()
        start = self._message(reply, [], None)
        # message_start counts the prompt; output_tokens is what is generated so far.
        start["usage"] = {**_input_usage(usage), "output_tokens": 1}
        head = _event("message_start", message=start)
        text_block = self._has_text_block(reply)
        if text_block:
            head += _event(
                "content_block_start", index=0, content_block={"type": "text", "text": ""}
            )
        out = [Chunk("head", head)]
        index = 0
        if text_block:
            for token in reply.tokens:
                delta = {"type": "text_delta", "text": token}
                out.append(Chunk("token", _event("content_block_delta", index=0, delta=delta)))
            follow(out, _event("content_block_stop", index=0))
            index = 1
        for i, call in enumerate(reply.tool_calls):
            block = {**_tool_use(i, call), "input": {}}
            out.append(
                Chunk("token", _event("content_block_start", index=index, content_block=block))
            )
            delta = {"type": "input_json_delta", "partial_json": json.dumps(call.arguments)}
            out.append(Chunk("token", _event("content_block_delta", index=index, delta=delta)))
            follow(out, _event("content_block_stop", index=index))
            index += 1
        finish = {"stop_reason": self._stop_reason(reply), "stop_sequence": None}
        # message_delta's usage is cumulative: the output count of the whole message.
        tail = _event("message_delta", delta=finish, usage={"output_tokens": usage.output_tokens})
        out.append(Chunk("tail", tail))
        out.append(Chunk("tail", _event("message_stop")))
        return out

    def error_body(self, error: MockError) -> dict[str, Any]:
        """The error envelope; `error.code`, if given, is the error type (billing_error, ...)."""
        default = "api_error" if error.status >= 500 else "invalid_request_error"
        kind = error.code or _ERROR_TYPES.get(error.status, default)
        return {"type": "error", "error": {"type": kind, "message": error.message}}


def _event(name: str, **fields: Any) -> bytes:
    """One Messages stream event: its `event:` line names the `type` its data repeats."""
    return sse({"type": name, **fields}, name)
