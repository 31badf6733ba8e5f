"""A synchronous facade over LLMClient, for sync tests: the same methods, run on a loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from pytest_llmbench.client import CompletionStream, LLMClient
from pytest_llmbench.types import Completion, Request, StreamEvent

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; `run` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="llmbench-loop", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncLLMClient:
    """LLMClient's methods without `await`: `complete`, `stream` (a plain iterator), `validate`."""

    def __init__(self, client: LLMClient, runner: LoopThread) -> None:
        self.client = client
        self._runner = runner

    @property
    def provider(self) -> Any:
        return self.client.provider

    @property
    def model(self) -> Any:
        return self.client.model

    def __repr__(self) -> str:
        return f"Sync{self.client!r}"

    def complete(self, request: Request | str, **fields: Any) -> Completion:
        return self._runner.run(self.client.complete(request, **fields))

    def validate(self) -> Completion:
        return self._runner.run(self.client.validate())

    def stream(self, request: Request | str, **fields: Any) -> SyncCompletionStream:
        return SyncCompletionStream(self.client.stream(request, **fields), self._runner)


class SyncCompletionStream:
    """Iterates a CompletionStream from synchronous code; `.completion` once exhausted."""

    def __init__(self, stream: CompletionStream, runner: LoopThread) -> None:
        self._stream = stream
        self._runner = runner

    @property
    def completion(self) -> Completion | None:
        return self._stream.completion

    def __iter__(self) -> Iterator[StreamEvent]:
        events = aiter(self._stream)
        while True:
            try:
                yield self._runner.run(_next(events))
            except StopAsyncIteration:
                return


async def _next(events: Any) -> StreamEvent:
    event: StreamEvent = await anext(events)
    return event


class SyncLLMBench:
    """LLMBench's methods without `await`, for sync tests."""

    def __init__(self, bench: Any, runner: LoopThread) -> None:
        self.bench = bench
        self._runner = runner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(self.bench(*args, **kwargs))

    def measure(self, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(self.bench.measure(*args, **kwargs))

    def load(self, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(self.bench.load(*args, **kwargs))

    def sweep(self, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(self.bench.sweep(*args, **kwargs))
