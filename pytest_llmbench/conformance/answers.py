"""Conformance checks on a plain answer: text, finish reason, usage, id and model."""

from __future__ import annotations

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import ask, check, usage_of

__all__ = [
    "test_answer_finish_reason_is_normalized_with_the_raw_reason",
    "test_answer_has_a_response_id",
    "test_answer_has_text",
    "test_answer_has_text_finish_reason_and_usage",
    "test_answer_names_the_model",
    "test_answer_reports_positive_usage",
    "test_longer_prompt_counts_more_input_tokens",
]

FINISHED = ("stop", "length")


@check("answers")
async def test_answer_has_text(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16))
    assert completion.text.strip(), "the answer has no text"
    assert not completion.tool_calls, "no tools were offered, yet the answer calls one"


@check("answers")
async def test_answer_finish_reason_is_normalized_with_the_raw_reason(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16))
    assert completion.finish_reason in FINISHED, (
        f"raw reason {completion.raw_finish_reason!r} normalized to {completion.finish_reason!r}"
    )
    assert completion.raw_finish_reason, "the provider sent no stop reason"


@check("answers")
async def test_answer_reports_positive_usage(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16))
    input_tokens, output_tokens = usage_of(completion)
    assert input_tokens > 0, "usage counts no input tokens"
    assert output_tokens > 0, "usage counts no output tokens"
    assert output_tokens <= 16, f"{output_tokens} output tokens reported for max_tokens=16"
    assert not completion.metrics.usage_estimated


@check("answers")
async def test_answer_has_a_response_id(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=4))
    assert completion.id.strip(), "the response carries no id"


@check("answers")
async def test_answer_names_the_model(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=4))
    assert completion.model.strip(), "the response does not name the model that answered"


@check("answers")
async def test_longer_prompt_counts_more_input_tokens(llm: LLMClient) -> None:
    short = await llm.complete(ask("Hi.", max_tokens=4))
    long_prompt = "Hi. " + "Tell me about the sea and its tides. " * 8
    long = await llm.complete(ask(long_prompt, max_tokens=4))
    assert usage_of(long)[0] > usage_of(short)[0], "a longer prompt did not count more tokens"


@check("answers")
async def test_answer_has_text_finish_reason_and_usage(llm: LLMClient) -> None:
    """The first check of suite v1, kept so earlier reports still compare row by row."""
    completion = await llm.complete(ask(max_tokens=16))
    assert completion.text.strip(), "the answer has no text"
    assert completion.finish_reason in FINISHED, completion.raw_finish_reason
    assert completion.raw_finish_reason, "the provider sent no stop reason"
    input_tokens, output_tokens = usage_of(completion)
    assert input_tokens > 0 and output_tokens > 0
