"""Conformance checks on streamed answers: event order, timing and agreement with plain answers."""

from __future__ import annotations

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import ask, check, events_of, usage_of

__all__ = [
    "test_stream_arrival_times_never_decrease",
    "test_stream_first_token_not_after_the_end",
    "test_stream_has_one_finish_and_nothing_after_it",
    "test_stream_output_comes_before_the_finish",
    "test_stream_reports_usage_and_output_events",
    "test_stream_reports_usage_not_estimated",
    "test_streamed_and_plain_answers_agree",
    "test_streamed_text_is_the_concatenated_deltas",
    "test_streamed_usage_matches_the_plain_answer",
]

NEEDS = ["streaming"]


@check("streaming", needs=NEEDS)
async def test_stream_output_comes_before_the_finish(llm: LLMClient) -> None:
    events, _ = await events_of(llm, ask(max_tokens=16))
    kinds = [event.type for event in events]
    assert "finish" in kinds, f"no finish event among {sorted(set(kinds))}"
    first_output = next((i for i, e in enumerate(events) if e.is_output), None)
    assert first_output is not None, "the stream carried no output"
    assert first_output < kinds.index("finish"), "output arrived only after the finish"
    if "start" in kinds:
        assert kinds.index("start") < first_output, "the start event came after output"


@check("streaming", needs=NEEDS)
async def test_stream_has_one_finish_and_nothing_after_it(llm: LLMClient) -> None:
    events, _ = await events_of(llm, ask(max_tokens=16))
    finishes = [i for i, e in enumerate(events) if e.type == "finish"]
    assert len(finishes) == 1, f"{len(finishes)} finish events"
    after = [e.type for e in events[finishes[0] + 1 :] if e.is_output or e.type == "error"]
    assert not after, f"output after the finish: {after}"


@check("streaming", needs=NEEDS)
async def test_stream_arrival_times_never_decrease(llm: LLMClient) -> None:
    events, _ = await events_of(llm, ask(max_tokens=16))
    stamps = [e.arrival_ns for e in events if e.arrival_ns is not None]
    assert len(stamps) == len(events), "some events carry no arrival time"
    assert stamps == sorted(stamps), "events arrived out of order"


@check("streaming", needs=NEEDS)
async def test_streamed_text_is_the_concatenated_deltas(llm: LLMClient) -> None:
    events, completion = await events_of(llm, ask(max_tokens=16))
    deltas = "".join(e.text for e in events if e.type == "text")
    assert deltas, "the stream carried no text deltas"
    assert completion.text == deltas


@check("streaming", needs=NEEDS)
async def test_stream_reports_usage_not_estimated(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16, stream=True))
    assert not completion.metrics.usage_estimated, "the stream did not report usage"
    input_tokens, output_tokens = usage_of(completion)
    assert input_tokens > 0 and output_tokens > 0


@check("streaming", needs=NEEDS)
async def test_streamed_usage_matches_the_plain_answer(llm: LLMClient) -> None:
    plain = await llm.complete(ask(max_tokens=8))
    streamed = await llm.complete(ask(max_tokens=8, stream=True))
    assert usage_of(streamed)[0] == usage_of(plain)[0], "the same prompt counted differently"
    if plain.finish_reason == streamed.finish_reason == "length":  # both used every token
        assert usage_of(streamed)[1] == usage_of(plain)[1], (
            "both stopped at max_tokens yet count different output"
        )


@check("streaming", needs=NEEDS)
async def test_stream_first_token_not_after_the_end(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16, stream=True))
    metrics = completion.metrics
    assert metrics.ttft_ms is not None, "no time to first token measured"
    assert metrics.e2e_ms is not None
    assert metrics.ttfb_ms is None or metrics.ttfb_ms <= metrics.ttft_ms
    assert metrics.ttft_ms <= metrics.e2e_ms


@check("streaming", needs=NEEDS)
async def test_streamed_and_plain_answers_agree(llm: LLMClient) -> None:
    plain = await llm.complete(ask(max_tokens=8))
    streamed = await llm.complete(ask(max_tokens=8, stream=True))
    assert usage_of(plain)[0] == usage_of(streamed)[0]
    assert plain.finish_reason == streamed.finish_reason


@check("streaming", needs=NEEDS)
async def test_stream_reports_usage_and_output_events(llm: LLMClient) -> None:
    completion = await llm.complete(ask(max_tokens=16, stream=True))
    assert completion.metrics.output_events > 0, "the stream carried no output events"
    assert completion.finish_reason in ("stop", "length")
