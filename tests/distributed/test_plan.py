"""The sharding plan: how concurrency, rate, count and prompts split over workers (no Ray)."""

from __future__ import annotations

import math
import sys
from collections import Counter
from itertools import islice

import pytest

from pytest_llmbench.distributed import (
    RAY_MISSING,
    DistributedSetupError,
    RequestItems,
    ShardPlan,
    plan_shards,
    prompt_items,
    require_ray,
)
from pytest_llmbench.load import LoadShape
from pytest_llmbench.prompts import prompt_of, prompt_stream
from pytest_llmbench.types import Request

PROMPTS = [prompt_of(f"prompt {i}", f"p{i}") for i in range(7)]


def items(selection: str = "sequential", seed: int | None = None) -> RequestItems:
    return prompt_items(PROMPTS, selection, seed, max_tokens=5, stream=True)  # type: ignore[arg-type]


def shard_ids(source: RequestItems, plan: ShardPlan) -> list[str]:
    assert plan.shape.count is not None
    return [prompt_id for prompt_id, _ in islice(source.shard(plan), plan.shape.count)]


def test_concurrency_splits_with_the_remainder_on_the_first_workers() -> None:
    plans = plan_shards(LoadShape(concurrency=7, count=70), workers=3)
    assert [p.shape.concurrency for p in plans] == [3, 2, 2]
    assert all(p.shape.rate is None for p in plans)


def test_count_splits_exactly() -> None:
    plans = plan_shards(LoadShape(concurrency=7, count=101), workers=3)
    counts = [p.shape.count for p in plans]
    assert sum(c for c in counts if c is not None) == 101
    # worker k owns (i mod 7) mod 3 == k: 3, 2, 2 of every 7, and 3 of the last 3 indices
    assert counts == [14 * 3 + 1, 14 * 2 + 1, 14 * 2 + 1]


def test_rate_splits_into_streams_summing_to_the_rate() -> None:
    plans = plan_shards(LoadShape(rate=90.0, arrivals="poisson", count=30), workers=4)
    assert math.isclose(sum(p.shape.rate or 0 for p in plans), 90.0)
    assert {p.shape.rate for p in plans} == {22.5}
    assert all(p.start_offset_s == 0 for p in plans)


def test_poisson_streams_get_distinct_reproducible_seeds() -> None:
    shape = LoadShape(rate=10.0, arrivals="poisson", count=8, seed=42)
    seeds = [p.shape.seed for p in plan_shards(shape, workers=4)]
    assert len(set(seeds)) == 4
    assert seeds == [p.shape.seed for p in plan_shards(shape, workers=4)]
    assert seeds != [p.shape.seed for p in plan_shards(LoadShape(rate=10.0, count=8, seed=43), 4)]


def test_unseeded_runs_stay_unseeded() -> None:
    plans = plan_shards(LoadShape(rate=10.0, arrivals="poisson", count=8), workers=2)
    assert [p.shape.seed for p in plans] == [None, None]


def test_constant_arrivals_merge_into_one_request_every_interval() -> None:
    rate, count = 40.0, 23
    sends = []
    for plan in plan_shards(LoadShape(rate=rate, arrivals="constant", count=count), workers=3):
        assert plan.shape.rate is not None and plan.shape.count is not None
        sends += [plan.start_offset_s + j / plan.shape.rate for j in range(plan.shape.count)]
    expected = [i / rate for i in range(count)]
    assert all(
        math.isclose(a, b, abs_tol=1e-12) for a, b in zip(sorted(sends), expected, strict=True)
    )
    assert len(sends) == count


def test_phase_offsets_shorten_each_shards_duration() -> None:
    plans = plan_shards(LoadShape(rate=10.0, arrivals="constant", duration=2.0), workers=2)
    assert [p.start_offset_s for p in plans] == [0.0, 0.1]
    assert [p.shape.duration for p in plans] == [2.0, 1.9]


def test_sequential_prompts_keep_their_order_in_every_shard() -> None:
    source = items()
    count = 40
    plans = plan_shards(LoadShape(concurrency=5, count=count), workers=2)
    one_process = [prompt_id for prompt_id, _ in islice(source.stream(), count)]
    shards = [shard_ids(source, plan) for plan in plans]
    # each shard is the ordered subsequence of the global indices it owns
    for plan, ids in zip(plans, shards, strict=True):
        owned = [one_process[i] for i in range(count) if plan.owns(i)]
        assert ids == owned
    assert Counter(shards[0] + shards[1]) == Counter(one_process)


def test_seeded_random_prompts_are_the_one_process_draws() -> None:
    count = 30
    one_process = [p.id for p in islice(prompt_stream(PROMPTS, "random", 7), count)]
    source = items("random", seed=7)
    plans = plan_shards(LoadShape(rate=5.0, count=count, seed=7), workers=3)
    shards = [shard_ids(source, plan) for plan in plans]
    assert Counter(i for shard in shards for i in shard) == Counter(one_process)
    assert shards == [shard_ids(items("random", seed=7), plan) for plan in plans]


def test_rate_runs_share_prompts_round_robin() -> None:
    plans = plan_shards(LoadShape(rate=5.0, count=6), workers=2)
    assert [shard_ids(items(), plan) for plan in plans] == [["p0", "p2", "p4"], ["p1", "p3", "p5"]]


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        (LoadShape(concurrency=1, count=10), "concurrency 1"),
        (LoadShape(rate=1.0, count=1), "count 1"),
    ],
)
def test_a_worker_without_work_is_refused(shape: LoadShape, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} is below workers 2"):
        plan_shards(shape, workers=2)


def test_requests_given_as_a_list_cycle_in_order() -> None:
    request = Request(messages=[{"role": "user", "content": "Hi"}])
    source = RequestItems.of([("a", request), ("b", request)])
    assert [i for i, _ in islice(source.stream(), 5)] == ["a", "b", "a", "b", "a"]


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(DistributedSetupError) as raised:
        require_ray()
    assert str(raised.value) == RAY_MISSING
    assert "pytest-llmbench[ray]" in RAY_MISSING
