"""How `llm_bench` reaches pytest-benchmark: through its `benchmark` fixture, asked for implicitly.

Tests using only `llm_bench` then count as benchmarks for pytest-benchmark's collection (its
--benchmark-skip / --benchmark-only marks, its xdist bookkeeping) and its fixture is fed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class _PytestBenchmarkLink:
    """`llm_bench` asks for pytest-benchmark's `benchmark` fixture itself, so a test using only
    `llm_bench` counts as a benchmark: fed to its table and files, skipped by --benchmark-skip,
    kept by --benchmark-only, under xdist too."""

    @pytest.fixture(name="llm_pytest_benchmark")
    def fixture(self, benchmark: Any) -> Iterator[Any]:
        """pytest-benchmark's fixture, for llm_bench to feed (tests need not ask for it)."""
        yield benchmark
        # The test did use a benchmark (llm_bench), even if no run finished to feed it.
        benchmark._mode = benchmark._mode or "llm_bench"


class _NoPytestBenchmark:
    """pytest-benchmark is not loaded (`-p no:benchmark`): llm_bench runs feed nothing."""

    @pytest.fixture(name="llm_pytest_benchmark")
    def fixture(self) -> None:
        """None: pytest-benchmark is not loaded, llm_bench feeds nothing."""
        return None


def register(config: pytest.Config) -> None:
    """Register the `llm_pytest_benchmark` fixture that fits the loaded plugins."""
    link = _PytestBenchmarkLink() if config.pluginmanager.hasplugin("benchmark") else None
    config.pluginmanager.register(link or _NoPytestBenchmark(), "llmbench-pytest-benchmark")
