"""Conformance checks on the messages sent: system prompt, turns, prefill, unicode, sizes."""

from __future__ import annotations

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import (
    ask,
    check,
    conversation,
    kind_in,
    small_window,
    usage_of,
)
from pytest_llmbench.errors import InvalidRequestError
from pytest_llmbench.types import Message

__all__ = [
    "test_assistant_prefill_is_continued",
    "test_empty_user_content_is_answered_or_rejected_cleanly",
    "test_long_prompt_near_the_window_is_accepted",
    "test_multi_turn_history_reaches_the_model",
    "test_system_prompt_is_accepted",
    "test_unicode_and_emoji_prompt_is_accepted",
]


@check("messages", needs=["system"])
async def test_system_prompt_is_accepted(llm: LLMClient) -> None:
    without = await llm.complete(ask(max_tokens=4))
    request = ask(max_tokens=4)
    request.messages.insert(0, Message(role="system", content="You answer briefly."))
    with_system = await llm.complete(request)
    assert usage_of(with_system)[0] > usage_of(without)[0], "the system prompt did not count"


@check("messages")
async def test_multi_turn_history_reaches_the_model(llm: LLMClient) -> None:
    last = ("user", "And what about rivers?")
    alone = await llm.complete(conversation(last, max_tokens=4))
    history = conversation(
        ("user", "Tell me about the sea."),
        ("assistant", "The sea is wide, salty and always moving."),
        last,
        max_tokens=4,
    )
    with_history = await llm.complete(history)
    assert with_history.text.strip() or with_history.finish_reason == "length"
    assert usage_of(with_history)[0] > usage_of(alone)[0], "earlier turns did not count"


@check("messages", applies=kind_in(("anthropic", "bedrock"), "documents no assistant prefill"))
async def test_assistant_prefill_is_continued(llm: LLMClient) -> None:
    prefill = "The sea is"
    request = conversation(("user", "Describe the sea."), ("assistant", prefill), max_tokens=8)
    completion = await llm.complete(request)
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert not completion.text.startswith(prefill), "the prefill came back as if new output"
    plain = await llm.complete(conversation(("user", "Describe the sea."), max_tokens=8))
    assert usage_of(completion)[0] > usage_of(plain)[0], "the prefill did not reach the model"


@check("messages")
async def test_unicode_and_emoji_prompt_is_accepted(llm: LLMClient) -> None:
    prompt = "Écris une phrase sur la mer 🌊, 海について, о море, عن البحر."
    completion = await llm.complete(ask(prompt, max_tokens=8))
    ascii_only = await llm.complete(ask("Write about the sea.", max_tokens=8))
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert usage_of(completion)[0] > usage_of(ascii_only)[0], "the unicode prompt lost text"


@check("messages")
async def test_empty_user_content_is_answered_or_rejected_cleanly(llm: LLMClient) -> None:
    """Providers differ (OpenAI answers, Anthropic rejects empty text); either way the
    outcome must be an answer or an InvalidRequestError, never a crash or a server error."""
    try:
        completion = await llm.complete(ask("", max_tokens=4))
    except InvalidRequestError as error:
        rejection: InvalidRequestError | None = error
    else:
        rejection = None
        assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    if rejection is not None:
        assert rejection.status == 400, f"rejected with HTTP {rejection.status}, not 400"
        assert rejection.message.strip(), "the rejection says nothing"


@check("messages", applies=small_window)
async def test_long_prompt_near_the_window_is_accepted(llm: LLMClient) -> None:
    window = llm.model.context_window
    # " sea" is one token in every common vocabulary: about half the window in all.
    prompt = "Summarize:" + " sea" * (window // 2)
    completion = await llm.complete(ask(prompt, max_tokens=4))
    input_tokens = usage_of(completion)[0]
    assert window // 2 <= input_tokens < window, f"{input_tokens} tokens for {window // 2} words"
