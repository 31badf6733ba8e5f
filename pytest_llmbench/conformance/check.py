"""What every conformance check shares: the `check` decorator, request builders, skips."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pytest

from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.types import Completion, Message, Request, StreamEvent, ToolSpec

# The marker that puts a test in the conformance matrix; its argument is the check's theme.
MARKER = "llm_conformance"
PROMPT = "Write one sentence about the sea."
# Checks that build prompts as large as the context window only run where that is cheap.
MAX_CONTEXT_FOR_WINDOW_CHECKS = 32_768

F = TypeVar("F", bound=Callable[..., Any])
# Why a check does not apply to a provider:model (None when it does).
Applies = Callable[[ProviderConfig, ModelConfig], "str | None"]


def check(
    theme: str,
    *,
    needs: Iterable[str] = (),
    record_errors: bool = False,
    applies: Applies | None = None,
) -> Callable[[F], F]:
    """Make an async test function a conformance check: live, in the matrix under `theme`,
    skipped on models lacking any capability in `needs` or for which `applies` gives a
    reason. Both are decided at collection, so a skipped check needs no cassette."""

    def apply(function: F) -> F:
        marks = [
            pytest.mark.asyncio,
            pytest.mark.live(record_errors=record_errors),
            getattr(pytest.mark, MARKER)(theme, applies=applies),
        ]
        if needs:
            marks.append(pytest.mark.llm(needs=list(needs)))
        for mark in marks:
            function = mark(function)
        return function

    return apply


def ask(prompt: str = PROMPT, **fields: Any) -> Request:
    """A one-message request at temperature 0 (the most repeatable setting everywhere)."""
    return Request.model_validate(
        {"messages": [{"role": "user", "content": prompt}], "temperature": 0, **fields}
    )


def conversation(*turns: tuple[str, str], **fields: Any) -> Request:
    """A request from (role, text) turns, at temperature 0."""
    messages = [Message.model_validate({"role": role, "content": text}) for role, text in turns]
    return Request(messages=messages, temperature=0, **fields)


def kind_in(kinds: Iterable[str], why: str) -> Applies:
    """Applies to providers speaking one of `kinds`; `why` says what the others lack."""
    allowed = frozenset(kinds)

    def applies(provider: ProviderConfig, model: ModelConfig) -> str | None:
        return None if provider.kind in allowed else f"{provider.kind} provider: {why}"

    return applies


def small_window(provider: ProviderConfig, model: ModelConfig) -> str | None:
    """Applies to models whose context window is cheap to fill."""
    window = model.context_window
    if window > MAX_CONTEXT_FOR_WINDOW_CHECKS:
        return f"context window {window:,} tokens: filling it costs too much"
    return None


def with_credentials(provider: ProviderConfig, model: ModelConfig) -> str | None:
    """Applies to providers that take credentials (a keyless local server serves its one
    loaded model under any key and model name)."""
    if provider.api_key_env is None and provider.kind != "bedrock":
        return f"provider {provider.name} takes no credentials"
    return None


async def events_of(llm: LLMClient, request: Request) -> tuple[list[StreamEvent], Completion]:
    """Every event of a streamed request, and the Completion assembled from them."""
    stream = llm.stream(request.model_copy(update={"stream": True}))
    events = [event async for event in stream]
    assert stream.completion is not None, "the stream ended without a completion"
    return events, stream.completion


def usage_of(completion: Completion) -> tuple[int, int]:
    """(input, output) tokens, failing the check when the provider reported no usage."""
    assert completion.usage is not None, "the provider reported no usage"
    return completion.usage.input_tokens, completion.usage.output_tokens


WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name."}},
        "required": ["city"],
    },
)
TIME_TOOL = ToolSpec(
    name="get_time",
    description="The current time in a time zone.",
    parameters={
        "type": "object",
        "properties": {"zone": {"type": "string", "description": "An IANA time zone."}},
        "required": ["zone"],
    },
)


def named_tool_choice(llm: LLMClient, tool: ToolSpec, tools: list[ToolSpec]) -> dict[str, Any]:
    """The request body fields that force a call of `tool`, in the provider's wire format
    (Request.tool_choice names no tool, so they go in Request.extra)."""
    kind = llm.provider.kind
    if kind == "openai":
        return {"tool_choice": {"type": "function", "function": {"name": tool.name}}}
    if kind == "openai-responses":
        return {"tool_choice": {"type": "function", "name": tool.name}}
    if kind == "anthropic":
        return {"tool_choice": {"type": "tool", "name": tool.name}}
    if kind == "gemini":
        config = {"mode": "ANY", "allowedFunctionNames": [tool.name]}
        return {"toolConfig": {"functionCallingConfig": config}}
    if kind == "bedrock":  # extra replaces toolConfig whole: the tools are restated
        specs = [
            {
                "toolSpec": {
                    "name": t.name,
                    "description": t.description,
                    "inputSchema": {"json": t.parameters},
                }
            }
            for t in tools
        ]
        return {"toolConfig": {"tools": specs, "toolChoice": {"tool": {"name": tool.name}}}}
    pytest.skip(f"no named tool choice known for provider kind {kind}")
