"""frozen_heap: a load's requests run with the heap that existed before it frozen."""

from __future__ import annotations

import gc

import httpx
from factories import make_provider

from pytest_llmbench import LLMClient
from pytest_llmbench.heap import frozen_heap
from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests
from pytest_llmbench.transport import TimingTransport
from pytest_llmbench.types import Request

REQUEST = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=5, stream=False)
REPLY = {  # synthetic, in OpenAI's documented response shape
    "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}


def test_nested_freezes_share_one_and_the_last_to_end_unfreezes() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        frozen = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() >= frozen > 0
        assert gc.get_freeze_count() > 0, "the inner use ended the outer one's freeze"
    assert gc.get_freeze_count() == 0


async def test_a_load_runs_with_the_heap_frozen_and_leaves_it_unfrozen() -> None:
    frozen_during: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        frozen_during.append(gc.get_freeze_count())
        return httpx.Response(200, json=REPLY)

    provider = make_provider("openai", api_key_env=None, max_retries=0)
    http = httpx.AsyncClient(transport=TimingTransport(httpx.MockTransport(answer)))
    async with LLMClient(provider, http=http) as client:
        shape = LoadShape(concurrency=2, count=4, warmup=2)
        stats = await LoadRun(client, cycle_requests([REQUEST]), shape).run()
    assert stats.ok == 4
    assert len(frozen_during) == 6 and min(frozen_during) > 0
    assert gc.get_freeze_count() == 0
