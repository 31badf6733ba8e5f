"""Load beyond one machine: one load sharded over Ray actors and merged into one RunStats.

Usable without pytest: `DistributedRun(provider, model, RequestItems.of(items), shape,
workers=N, cluster=None).run()`. Ray is imported only when a run starts (the `ray` extra).
"""

from __future__ import annotations

from pytest_llmbench.distributed.controller import (
    RAY_MISSING,
    DistributedRun,
    DistributedSetupError,
    connect,
    require_ray,
    worker_lines,
)
from pytest_llmbench.distributed.plan import (
    RequestItems,
    ShardPlan,
    owner,
    plan_shards,
    prompt_items,
)

__all__ = [
    "RAY_MISSING",
    "DistributedRun",
    "DistributedSetupError",
    "RequestItems",
    "ShardPlan",
    "connect",
    "owner",
    "plan_shards",
    "prompt_items",
    "require_ray",
    "worker_lines",
]
