"""The OpenAI Responses API server side (`POST /responses`), for mocks.

A stream is SSE with `event:` names equal to each data's `type` and a running
`sequence_number`: response.created and response.in_progress, then per output item its
`added`, deltas and `done` events, then response.completed (or .incomplete, .failed) with the
whole response and its usage; there is no `[DONE]`. Errors are chat completions' errors.
"""

from __future__ import annotations

import json
import time
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
from pytest_llmbench.mocking.openai import OpenAIEmitter
from pytest_llmbench.types import Usage

# A response that did not complete says why in incomplete_details; these are the reasons.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens or 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


class _Events:
    """Stream events numbered in the order they are made (the order they are sent)."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._next, **fields}
        self._next += 1
        return sse(data, kind)


class OpenAIResponsesEmitter(Emitter):
    kind = "openai-responses"

    def is_stream(self, request: httpx.Request) -> bool:
        return bool(request_json(request).get("stream"))

    def _status(self, reply: MockReply) -> str:
        # A scripted "error" is a response that failed; "other" has no status of its own.
        if reply.finish == "error":
            return "failed"
        return "incomplete" if reply.finish in _INCOMPLETE else "completed"

    def _message_id(self, reply: MockReply) -> str:
        return f"msg_{reply.id}"

    def _has_message(self, reply: MockReply) -> bool:
        # A tool-only answer has no message item; an empty answer still has one (empty).
        return bool(reply.tokens) or not reply.tool_calls

    def _message(self, reply: MockReply, status: str) -> dict[str, Any]:
        content = [_text_part(reply.text)] if status != "in_progress" else []
        return {
            "id": self._message_id(reply),
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }

    def _call(self, reply: MockReply, index: int, call: MockToolCall, done: bool) -> dict[str, Any]:
        return {
            "id": f"fc_{reply.id}_{index}",
            "type": "function_call",
            "status": "completed" if done else "in_progress",
            "arguments": json.dumps(call.arguments) if done else "",
            "call_id": call.id or f"call_{index}",
            "name": call.name,
        }

    def _done_message(self, reply: MockReply) -> dict[str, Any]:
        # A message cut short (max_output_tokens, content_filter) is itself incomplete.
        status = "incomplete" if self._status(reply) == "incomplete" else "completed"
        return self._message(reply, status)

    def _output(self, reply: MockReply) -> list[dict[str, Any]]:
        output = [self._done_message(reply)] if self._has_message(reply) else []
        output += [self._call(reply, i, c, done=True) for i, c in enumerate(reply.tool_calls)]
        return output

    def _response(
        self, reply: MockReply, status: str, output: list[dict[str, Any]], created: int
    ) -> dict[str, Any]:
        """A response object; `usage` is filled in once it is finished."""
        reason = _INCOMPLETE.get(reply.finish) if status == "incomplete" else None
        error = None
        if status == "failed":
            error = {"code": "server_error", "message": "The model failed to generate a response."}
        return {
            "id": reply.id,
            "object": "response",
            "created_at": created,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": reason} if reason else None,
            "instructions": None,
            "max_output_tokens": None,
            "model": reply.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": None if status == "in_progress" else _usage(reply.usage_or_default()),
            "metadata": {},
        }

    def body(self, reply: MockReply) -> dict[str, Any]:
        return self._response(reply, self._status(reply), self._output(reply), int(time.time()))

    def chunks(self, reply: MockReply) -> list[Chunk]:
        event = _Events()
        created = int(time.time())
        start = self._response(reply, "in_progress", [], created)
        head = event("response.created", response=start)
        head += event("response.in_progress", response=start)
        has_message = self._has_message(reply)
        where: dict[str, Any] = {
            "item_id": self._message_id(reply),
            "output_index": 0,
            "content_index": 0,
        }
        if has_message:
            item = self._message(reply, "in_progress")
            head += event("response.output_item.added", output_index=0, item=item)
            head += event("response.content_part.added", **where, part=_text_part(""))
        out = [Chunk("head", head)]
        output_index = 0
        if has_message:
            for token in reply.tokens:
                delta = event("response.output_text.delta", **where, delta=token, logprobs=[])
                out.append(Chunk("token", delta))
            done = event("response.output_text.done", **where, text=reply.text, logprobs=[])
            done += event("response.content_part.done", **where, part=_text_part(reply.text))
            item = self._done_message(reply)
            done += event("response.output_item.done", output_index=0, item=item)
            follow(out, done)
            output_index = 1
        for i, call in enumerate(reply.tool_calls):
            item = self._call(reply, i, call, done=False)
            added = event("response.output_item.added", output_index=output_index, item=item)
            out.append(Chunk("token", added))
            where = {"item_id": item["id"], "output_index": output_index}
            arguments = json.dumps(call.arguments)
            delta = event("response.function_call_arguments.delta", **where, delta=arguments)
            out.append(Chunk("token", delta))
            done = event("response.function_call_arguments.done", **where, arguments=arguments)
            item = self._call(reply, i, call, done=True)
            done += event("response.output_item.done", output_index=output_index, item=item)
            follow(out, done)
            output_index += 1
        status = self._status(reply)
        final = self._response(reply, status, self._output(reply), created)
        out.append(Chunk("tail", event(f"response.{status}", response=final)))
        return out

    def error_body(self, error: MockError) -> dict[str, Any]:
        # The Responses endpoints answer HTTP errors with the same body as chat completions.
        return OpenAIEmitter().error_body(error)
