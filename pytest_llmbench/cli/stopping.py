"""Ctrl-C and SIGTERM during a load run: stop sending, give requests in flight a grace period."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

from pytest_llmbench.cli.exits import EXIT_INTERRUPTED, EXIT_TERMINATED, print_error
from pytest_llmbench.distributed import DistributedRun
from pytest_llmbench.load import LoadRun
from pytest_llmbench.stats import RunStats


class Stopper:
    """Ctrl-C / SIGTERM during a run: stop dispatching, give in-flight requests a grace period.

    A second signal, or the end of the grace period, cancels what is still running.
    """

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.signal: int | None = None
        self.run: LoadRun | DistributedRun | None = None
        self.task: asyncio.Future[RunStats] | None = None
        self._event = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, signum: int) -> None:
        if self.signal is not None:
            self._cancel()
            return
        self.signal = signum
        name = signal.Signals(signum).name
        print_error(
            f"\n{name}: stopping; waiting up to {self.grace_s:g} s for requests in flight "
            "(again to stop now)"
        )
        self._event.set()
        if self.run is not None:
            self.run.stop()
        self._timer = asyncio.get_running_loop().call_later(self.grace_s, self._cancel)

    def watch(
        self, run: LoadRun | DistributedRun | None, task: asyncio.Future[RunStats] | None
    ) -> None:
        """The run to stop and the task to cancel on a signal."""
        self.run = run
        self.task = task

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def sleep(self, seconds: float) -> None:
        """The run's pacing sleep; returns early when stopping."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.signal == signal.SIGTERM else EXIT_INTERRUPTED

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


@contextlib.contextmanager
def signals_to(handler: Callable[[int], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call `handler` while inside (Unix; elsewhere Ctrl-C interrupts)."""
    loop = asyncio.get_running_loop()
    installed: list[tuple[signal.Signals, Any]] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, handler, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append((signum, previous))
    try:
        yield
    finally:
        for signum, previous in installed:
            loop.remove_signal_handler(signum)
            if previous is not None:  # None: set outside Python, cannot be restored
                signal.signal(signum, previous)
