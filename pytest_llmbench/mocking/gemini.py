"""The Gemini API server side (generateContent / streamGenerateContent), for mocks.

A stream is `alt=sse` server-sent events, each carrying a whole GenerateContentResponse with
that chunk's parts; the last one carries `finishReason` and the usage. Errors are
google.rpc.Status bodies.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pytest_llmbench.mocking.emitter import Chunk, Emitter, MockError, MockReply, MockToolCall
from pytest_llmbench.types import FinishReason, Usage

_FINISH: dict[FinishReason, str] = {
    # Gemini has no tool-call finish reason: a turn that calls functions ends with STOP.
    "stop": "STOP",
    "tool_calls": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "error": "MALFORMED_FUNCTION_CALL",
    "other": "OTHER",
}
# google.rpc.Code names by the HTTP status Google's front end maps them to.
_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_RPC_NAMES = frozenset(
    {
        *_RPC_STATUS.values(),
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "ALREADY_EXISTS",
        "UNKNOWN",
        "DATA_LOSS",
    }
)
_TYPE_PREFIX = "type.googleapis.com/google.rpc."


def _usage(usage: Usage) -> dict[str, Any]:
    """usageMetadata: Gemini counts thoughts apart from the candidates' tokens, so the
    candidates get the output without the reasoning (the codec adds them back)."""
    thoughts = usage.reasoning_tokens or 0
    data: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(usage.output_tokens - thoughts, 0),
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cached_input_tokens is not None:
        data["cachedContentTokenCount"] = usage.cached_input_tokens
    if usage.reasoning_tokens is not None:
        data["thoughtsTokenCount"] = thoughts
    return data


def _duration(seconds: float) -> str:
    """A protobuf Duration in its JSON form ("21.5s"): at most 9 decimals, no exponent."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"


class GeminiEmitter(Emitter):
    kind = "gemini"

    def is_stream(self, request: httpx.Request) -> bool:
        # Gemini asks for a stream by method name in the URL, not by a body flag.
        return ":streamGenerateContent" in request.url.path

    def _function_call(self, index: int, call: MockToolCall) -> dict[str, Any]:
        function: dict[str, Any] = {"name": call.name, "args": call.arguments}
        # The Developer API sends no call ids; the codec numbers calls call_0, call_1, ... so
        # only an id that differs from that numbering needs sending.
        if call.id and call.id != f"call_{index}":
            function["id"] = call.id
        return {"functionCall": function}

    def _response(
        self,
        reply: MockReply,
        parts: list[dict[str, Any]],
        finish: bool = False,
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if finish:
            candidate["finishReason"] = _FINISH[reply.finish]
        candidate["index"] = 0
        response: dict[str, Any] = {"candidates": [candidate]}
        if finish:
            response["usageMetadata"] = _usage(reply.usage_or_default())
        response["modelVersion"] = reply.model
        response["responseId"] = reply.id
        return response

    def _calls(self, reply: MockReply) -> list[dict[str, Any]]:
        return [self._function_call(i, call) for i, call in enumerate(reply.tool_calls)]

    def body(self, reply: MockReply) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
        parts += self._calls(reply)
        return self._response(reply, parts or [{"text": ""}], finish=True)

    def _event(self, data: dict[str, Any]) -> bytes:
        # Google's alt=sse frames end their events with CRLF pairs; text is raw UTF-8.
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return b"data: " + payload.encode() + b"\r\n\r\n"

    def chunks(self, reply: MockReply) -> list[Chunk]:
        # No head: the first event already carries the first token. A function call comes
        # whole in one part, so each call is one token chunk.
        out = [
            Chunk("token", self._event(self._response(reply, [{"text": t}]))) for t in reply.tokens
        ]
        out += [Chunk("token", self._event(self._response(reply, [p]))) for p in self._calls(reply)]
        # The closing chunk: an empty text part, the finish reason and the final usage.
        out.append(Chunk("tail", self._event(self._response(reply, [{"text": ""}], finish=True))))
        return out

    def error_body(self, error: MockError) -> dict[str, Any]:
        """A google.rpc.Status. `error.code` names the status (FAILED_PRECONDITION, ...) if it
        is a google.rpc.Code, else it becomes an ErrorInfo reason (API_KEY_INVALID, ...)."""
        fallback = "INTERNAL" if error.status >= 500 else "INVALID_ARGUMENT"
        status = _RPC_STATUS.get(error.status, fallback)
        details: list[dict[str, Any]] = []
        if error.code in _RPC_NAMES:
            status = error.code
        elif error.code:
            details.append(
                {
                    "@type": _TYPE_PREFIX + "ErrorInfo",
                    "reason": error.code,
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            )
        if error.retry_after is not None:
            details.append(
                {"@type": _TYPE_PREFIX + "RetryInfo", "retryDelay": _duration(error.retry_after)}
            )
        body: dict[str, Any] = {"code": error.status, "message": error.message, "status": status}
        if details:
            body["details"] = details
        return {"error": body}

    def error_headers(self, error: MockError) -> dict[str, str]:
        # Google sends the delay in the body's RetryInfo, not in a Retry-After header.
        return {"content-type": "application/json; charset=UTF-8", **error.headers}
