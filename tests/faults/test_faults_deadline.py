"""AttemptDeadline: one timer per attempt that ends network waits, never the consumer's code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pytest_llmbench.deadline import AttemptDeadline


async def _stalled(waiting: asyncio.Event) -> AsyncIterator[bytes]:
    waiting.set()
    await asyncio.Event().wait()  # nobody sets it: a stalled body
    yield b"late"


async def test_a_wait_pending_at_the_deadline_becomes_a_timeout() -> None:
    deadline = AttemptDeadline(0.0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(deadline.next_chunk(_stalled(asyncio.Event())), 60)
    assert deadline.expired


async def test_code_between_chunks_is_not_interrupted_and_the_next_wait_fails_at_once() -> None:
    deadline = AttemptDeadline(0.0)
    later = asyncio.Event()
    asyncio.get_running_loop().call_later(0.001, later.set)  # after the deadline's timer
    await later.wait()  # the consumer's own await spans the deadline: it is not cancelled
    assert deadline.expired
    with pytest.raises(asyncio.TimeoutError):
        await deadline.next_chunk(_stalled(asyncio.Event()))


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    deadline = AttemptDeadline(3600.0)
    waiting = asyncio.Event()
    task = asyncio.ensure_future(deadline.next_chunk(_stalled(waiting)))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline.close()


async def _stalled_step(waiting: asyncio.Event) -> bytes:
    waiting.set()
    await asyncio.Event().wait()  # nobody sets it: a request never answered
    return b"late"


async def test_a_step_pending_at_the_deadline_becomes_a_timeout() -> None:
    deadline = AttemptDeadline(0.0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(deadline.wait(_stalled_step(asyncio.Event())), 60)
    assert deadline.expired


async def test_a_step_after_the_deadline_fails_without_running() -> None:
    deadline = AttemptDeadline(0.0)
    await asyncio.sleep(0.001)  # the timer fires first
    started = asyncio.Event()
    with pytest.raises(asyncio.TimeoutError):
        await deadline.wait(_stalled_step(started))
    assert not started.is_set()


async def test_a_step_runs_in_the_callers_task() -> None:
    async def which_task() -> asyncio.Task[object] | None:
        return asyncio.current_task()

    deadline = AttemptDeadline(3600.0)
    assert await deadline.wait(which_task()) is asyncio.current_task()
    deadline.close()


async def test_a_cancel_from_outside_a_step_stays_a_cancel() -> None:
    deadline = AttemptDeadline(3600.0)
    waiting = asyncio.Event()
    task = asyncio.ensure_future(deadline.wait(_stalled_step(waiting)))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline.close()
