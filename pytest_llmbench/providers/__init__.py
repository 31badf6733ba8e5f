"""Sans-I/O codecs, one module per wire format. `codec_for(kind)` picks one."""

from __future__ import annotations

from importlib import import_module

from pytest_llmbench.providers.base import Codec, StreamAssembler, StreamDecoder

# kind -> "module:Class"; imported on first use so botocore is needed only for Bedrock.
_CODECS = {
    "openai": "pytest_llmbench.providers.openai:OpenAIChatCodec",
    "openai-responses": "pytest_llmbench.providers.openai_responses:OpenAIResponsesCodec",
    "anthropic": "pytest_llmbench.providers.anthropic:AnthropicCodec",
    "gemini": "pytest_llmbench.providers.gemini:GeminiCodec",
    "bedrock": "pytest_llmbench.providers.bedrock:BedrockCodec",
}
_instances: dict[str, Codec] = {}


def codec_for(kind: str) -> Codec:
    """The codec of a wire format: openai, openai-responses, anthropic, gemini or bedrock."""
    if kind not in _instances:
        try:
            target = _CODECS[kind]
        except KeyError:
            known = ", ".join(_CODECS)
            raise ValueError(f"unknown provider kind {kind!r}; known kinds: {known}") from None
        module, _, name = target.partition(":")
        _instances[kind] = getattr(import_module(module), name)()
    return _instances[kind]


__all__ = ["Codec", "StreamAssembler", "StreamDecoder", "codec_for"]
