"""The OpenAI chat-completions server side, for mocks."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from pytest_llmbench.mocking.emitter import Chunk, Emitter, MockError, MockReply, request_json, sse
from pytest_llmbench.types import FinishReason, Usage

_FINISH: dict[FinishReason, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "error": "stop",
    "other": "stop",
}
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens or 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
    }


class OpenAIEmitter(Emitter):
    kind = "openai"

    def is_stream(self, request: httpx.Request) -> bool:
        return bool(request_json(request).get("stream"))

    def _finish(self, reply: MockReply) -> str:
        return (
            "tool_calls" if reply.tool_calls and reply.finish == "stop" else _FINISH[reply.finish]
        )

    def body(self, reply: MockReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["content"] = reply.text or None
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        return {
            "id": reply.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish(reply),
                }
            ],
            "usage": _usage(reply.usage_or_default()),
        }

    def _chunk(self, reply: MockReply, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": reply.id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": reply.model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
        )

    def chunks(self, reply: MockReply) -> list[Chunk]:
        out = [Chunk("head", self._chunk(reply, {"role": "assistant", "content": ""}))]
        out += [Chunk("token", self._chunk(reply, {"content": token})) for token in reply.tokens]
        for index, call in enumerate(reply.tool_calls):
            start = {"index": index, "id": call.id or f"call_{index}", "type": "function"}
            start["function"] = {"name": call.name, "arguments": ""}
            out.append(Chunk("token", self._chunk(reply, {"tool_calls": [start]})))
            arguments = {"index": index, "function": {"arguments": json.dumps(call.arguments)}}
            out.append(Chunk("token", self._chunk(reply, {"tool_calls": [arguments]})))
        out.append(Chunk("tail", self._chunk(reply, {}, self._finish(reply))))
        usage = {
            "id": reply.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": reply.model,
            "choices": [],
            "usage": _usage(reply.usage_or_default()),
        }
        out.append(Chunk("tail", sse(usage)))
        out.append(Chunk("tail", sse("[DONE]")))
        return out

    def error_body(self, error: MockError) -> dict[str, Any]:
        default_type = "server_error" if error.status >= 500 else "invalid_request_error"
        type_, code = _ERROR_TYPES.get(error.status, (default_type, None))
        return {
            "error": {
                "message": error.message,
                "type": type_,
                "param": None,
                "code": error.code or code,
            }
        }
