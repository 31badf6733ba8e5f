"""Conformance checks on request parameters: max_tokens, stop sequences, sampling, seeds."""

from __future__ import annotations

import pytest

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import ask, check, kind_in, usage_of
from pytest_llmbench.types import Completion

__all__ = [
    "test_max_tokens_caps_the_output_tokens",
    "test_max_tokens_stops_with_length",
    "test_stop_sequence_is_left_out_of_the_text",
    "test_stop_sequence_stops_with_stop_and_the_raw_reason",
    "test_temperature_zero_with_seed_repeats",
    "test_top_p_is_accepted",
]

# A prompt a capable model answers predictably, so a word of its answer can serve as a stop.
REPEAT = "Repeat exactly, nothing else: one two three four five six seven eight nine ten"
# The stop reason each wire format documents for a matched stop sequence.
STOP_SEQUENCE_REASON = {
    "openai": "stop",
    "anthropic": "stop_sequence",
    "bedrock": "stop_sequence",
    "gemini": "STOP",
}
STOP_KINDS = tuple(STOP_SEQUENCE_REASON)
STOP_KIND = kind_in(STOP_KINDS, "has no stop-sequence parameter")


@check("parameters")
async def test_max_tokens_stops_with_length(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=2, stream=True))
    assert completion.finish_reason == "length", (
        f"expected a stop for length at max_tokens=2, got {completion.raw_finish_reason!r}"
    )
    assert usage_of(completion)[1] <= 3  # some servers count the end token too


@check("parameters")
async def test_max_tokens_caps_the_output_tokens(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=5))
    output_tokens = usage_of(completion)[1]
    assert 0 < output_tokens <= 5, f"{output_tokens} output tokens at max_tokens=5"


async def _stopped_on_a_word(llm: LLMClient) -> tuple[Completion, str, str]:
    """(the answer with a stop sequence, the stop word, the text before it when unstopped)."""
    free = await llm.complete(ask(REPEAT, max_tokens=24))
    words = [w for w in free.text.split() if len(w) >= 2 and w.isalnum()]
    cut = next((w for w in words[1:] if free.text.find(w) > 0), None)
    if cut is None:
        pytest.skip(f"the unstopped answer {free.text!r} has no word to stop on")
    stopped = await llm.complete(ask(REPEAT, max_tokens=24, stop=[cut]))
    return stopped, cut, free.text[: free.text.find(cut)]


@check("parameters", applies=STOP_KIND)
async def test_stop_sequence_stops_with_stop_and_the_raw_reason(llm: LLMClient) -> None:
    stopped, cut, _ = await _stopped_on_a_word(llm)
    assert stopped.finish_reason == "stop", f"stop {cut!r}: {stopped.raw_finish_reason!r}"
    expected = STOP_SEQUENCE_REASON[llm.provider.kind]
    assert stopped.raw_finish_reason == expected, (
        f"raw reason {stopped.raw_finish_reason!r}, documented {expected!r}"
    )


@check("parameters", applies=STOP_KIND)
async def test_stop_sequence_is_left_out_of_the_text(llm: LLMClient) -> None:
    stopped, cut, before = await _stopped_on_a_word(llm)
    assert cut not in stopped.text, f"the stop sequence {cut!r} is in {stopped.text!r}"
    assert stopped.text.strip(), f"nothing kept of the text before {cut!r} ({before!r})"


@check("parameters", applies=kind_in(("openai", "gemini"), "documents no seed parameter"))
async def test_temperature_zero_with_seed_repeats(llm: LLMClient) -> None:
    request = ask(max_tokens=12, seed=1234)
    first = await llm.complete(request)
    second = await llm.complete(request)
    assert first.text == second.text, "the same seed at temperature 0 gave different answers"


@check("parameters")
async def test_top_p_is_accepted(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=8, temperature=None, top_p=0.5))
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert usage_of(completion)[1] > 0
