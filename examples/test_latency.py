"""Latency scenarios: what `llm_bench` measures on each selected provider:model.

Run live (with the provider's key set, or against the local server):
    pytest examples --llm-provider=local,local-anthropic
Replay the shipped cassettes offline:
    pytest examples --llm-provider=local,local-anthropic --llm-replay
"""

from __future__ import annotations

import pytest

from pytest_llmbench import Request

PROMPT = Request(
    messages=[{"role": "user", "content": "Write a short story about a lighthouse keeper."}],
    max_tokens=48,
    temperature=0,
    stream=True,
)


@pytest.mark.live(allow_playback_repeats=True)
@pytest.mark.asyncio
async def test_streaming_latency(llm_bench):
    stats = await llm_bench(PROMPT, rounds=5, warmup=1)
    assert stats.ok == stats.count == 5
    assert stats.ttft_ms.p50 is not None
    assert stats.ttft_ms.p50 <= stats.e2e_ms.p50


@pytest.mark.live(allow_playback_repeats=True)
@pytest.mark.asyncio
async def test_concurrent_load(llm_bench):
    stats = await llm_bench.load(PROMPT, concurrency=4, count=8)
    assert stats.count == 8
    assert stats.error_count == 0
