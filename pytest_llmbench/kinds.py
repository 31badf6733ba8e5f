"""The wire formats (provider kinds): the one list, and where each one's codec and emitter live.

Codecs and mock emitters are named here, not imported: each is loaded on first use, so botocore
is needed only for Bedrock.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal, NamedTuple, get_args

Kind = Literal["openai", "openai-responses", "anthropic", "gemini", "bedrock"]
KINDS: tuple[Kind, ...] = get_args(Kind)


class WireFormat(NamedTuple):
    """Where a kind's two sides live, as "module:Class"."""

    codec: str  # the client side: requests out, responses in (pytest_llmbench.providers)
    emitter: str  # the mock server side: responses out (pytest_llmbench.mocking)


WIRE_FORMATS: dict[Kind, WireFormat] = {
    "openai": WireFormat(
        "pytest_llmbench.providers.openai:OpenAIChatCodec",
        "pytest_llmbench.mocking.openai:OpenAIEmitter",
    ),
    "openai-responses": WireFormat(
        "pytest_llmbench.providers.openai_responses:OpenAIResponsesCodec",
        "pytest_llmbench.mocking.openai_responses:OpenAIResponsesEmitter",
    ),
    "anthropic": WireFormat(
        "pytest_llmbench.providers.anthropic:AnthropicCodec",
        "pytest_llmbench.mocking.anthropic:AnthropicEmitter",
    ),
    "gemini": WireFormat(
        "pytest_llmbench.providers.gemini:GeminiCodec",
        "pytest_llmbench.mocking.gemini:GeminiEmitter",
    ),
    "bedrock": WireFormat(
        "pytest_llmbench.providers.bedrock:BedrockCodec",
        "pytest_llmbench.mocking.bedrock:BedrockEmitter",
    ),
}


def load(kind: str, side: Literal["codec", "emitter"]) -> Any:
    """The codec or emitter class of a kind; ValueError naming the known kinds for any other."""
    wire = WIRE_FORMATS.get(kind)  # type: ignore[call-overload]
    if wire is None:
        raise ValueError(f"unknown provider kind {kind!r}; known kinds: {', '.join(KINDS)}")
    module, _, name = getattr(wire, side).partition(":")
    return getattr(import_module(module), name)
