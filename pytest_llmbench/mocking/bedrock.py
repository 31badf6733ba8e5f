"""The Amazon Bedrock Runtime server side (Converse and ConverseStream), for mocks.

ConverseStream answers in the AWS binary event stream (application/vnd.amazon.eventstream):
every event is one frame whose `:event-type` header names it (messageStart, contentBlockStart,
contentBlockDelta, contentBlockStop, messageStop, metadata) and whose payload is the event's
JSON. botocore only decodes that framing, so this module encodes it. Errors are
`{"message": ...}` with the error's name in the `x-amzn-ErrorType` header.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import httpx

from pytest_llmbench.mocking.emitter import (
    Chunk,
    Emitter,
    MockError,
    MockReply,
    MockToolCall,
    follow,
)
from pytest_llmbench.types import FinishReason, Usage

_STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
    # Converse has no neutral "other" reason; a turn that went wrong ends like this one.
    "error": "malformed_model_output",
    "other": "malformed_model_output",
}
# The Converse errors (botocore's bedrock-runtime service model) by their HTTP status; 401 is
# not among them, so it gets what AWS answers for a key it does not know.
_ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_BEDROCK_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
# Authentication is checked by the shared AWS front end, which names its own namespace.
_CORAL_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_FRONT_END_ERRORS = frozenset({"UnrecognizedClientException", "InvalidSignatureException"})

# -- event-stream framing -------------------------------------------------------------------

_STRING = 7  # header value type: a UTF-8 string with a 16-bit length
_PRELUDE = struct.Struct(">II")  # total length, headers length
_CRC = struct.Struct(">I")
_MAX_HEADER_NAME = 255
_MAX_HEADER_VALUE = 32767


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    if len(raw_name) > _MAX_HEADER_NAME or len(raw_value) > _MAX_HEADER_VALUE:
        raise ValueError(f"event-stream header {name!r} is too long")
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def event_stream_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (total and headers lengths, their CRC32),
    string headers, payload, and the CRC32 of everything before it; integers big-endian."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = _PRELUDE.size + _CRC.size + len(encoded) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(encoded))
    message = prelude + _CRC.pack(zlib.crc32(prelude)) + encoded + payload
    return message + _CRC.pack(zlib.crc32(message))


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    """A ConverseStream event frame, with the headers in the order Bedrock sends them."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return event_stream_message(headers, body.encode())


# -- the emitter ----------------------------------------------------------------------------


def _usage(usage: Usage) -> dict[str, int]:
    """TokenUsage: Bedrock's inputTokens leaves out the tokens read from cache."""
    cached = usage.cached_input_tokens or 0
    data = {
        "inputTokens": max(usage.input_tokens - cached, 0),
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total_tokens,
    }
    if usage.cached_input_tokens is not None:
        data["cacheReadInputTokens"] = cached
    return data


def _latency_ms(reply: MockReply) -> int:
    """What Bedrock's metrics would report: the scripted time to the last token."""
    pieces = len(reply.tokens) + 2 * len(reply.tool_calls)
    return round((reply.ttft + reply.itl * max(pieces - 1, 0)) * 1000)


def _tool_use(index: int, call: MockToolCall) -> dict[str, Any]:
    return {"toolUseId": call.id or f"tooluse_mock_{index}", "name": call.name}


class BedrockEmitter(Emitter):
    kind = "bedrock"
    stream_content_type = "application/vnd.amazon.eventstream"

    def is_stream(self, request: httpx.Request) -> bool:
        # Converse and ConverseStream differ by path, not by a body flag.
        return request.url.path.endswith("/converse-stream")

    def _stop_reason(self, reply: MockReply) -> str:
        if reply.tool_calls and reply.finish == "stop":
            return "tool_use"
        return _STOP_REASONS[reply.finish]

    def body(self, reply: MockReply) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
        content += [
            {"toolUse": {**_tool_use(i, call), "input": call.arguments}}
            for i, call in enumerate(reply.tool_calls)
        ]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self._stop_reason(reply),
            "usage": _usage(reply.usage_or_default()),
            "metrics": {"latencyMs": _latency_ms(reply)},
        }

    def chunks(self, reply: MockReply) -> list[Chunk]:
        out = [Chunk("head", _event("messageStart", {"role": "assistant"}))]
        index = 0
        # Text blocks have no contentBlockStart: their first delta opens them.
        if reply.tokens:
            for token in reply.tokens:
                delta = {"contentBlockIndex": 0, "delta": {"text": token}}
                out.append(Chunk("token", _event("contentBlockDelta", delta)))
            follow(out, _event("contentBlockStop", {"contentBlockIndex": 0}))
            index = 1
        for i, call in enumerate(reply.tool_calls):
            start = {"contentBlockIndex": index, "start": {"toolUse": _tool_use(i, call)}}
            out.append(Chunk("token", _event("contentBlockStart", start)))
            # A tool's input streams as JSON text, parsed by the client once the block stops.
            piece = {"toolUse": {"input": json.dumps(call.arguments)}}
            delta = {"contentBlockIndex": index, "delta": piece}
            out.append(Chunk("token", _event("contentBlockDelta", delta)))
            follow(out, _event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        out.append(Chunk("tail", _event("messageStop", {"stopReason": self._stop_reason(reply)})))
        metadata = {
            "usage": _usage(reply.usage_or_default()),
            "metrics": {"latencyMs": _latency_ms(reply)},
        }
        out.append(Chunk("tail", _event("metadata", metadata)))
        return out

    def _error_type(self, error: MockError) -> str:
        """`error.code` if given, else the Converse error for the status."""
        default = "InternalServerException" if error.status >= 500 else "ValidationException"
        return error.code or _ERROR_TYPES.get(error.status, default)

    def error_body(self, error: MockError) -> dict[str, Any]:
        return {"message": error.message}

    def error_headers(self, error: MockError) -> dict[str, str]:
        # restJson1 names the error in x-amzn-ErrorType ("Name:namespace"); botocore and the
        # codec read it from there, not from the body. AWS sends no Retry-After, but one the
        # test scripted is kept (from the base class) so that retry paths can be exercised.
        name = self._error_type(error)
        namespace = _CORAL_NAMESPACE if name in _FRONT_END_ERRORS else _BEDROCK_NAMESPACE
        headers = {"x-amzn-ErrorType": f"{name}:{namespace}"}
        return {**super().error_headers(error), **headers, **error.headers}
