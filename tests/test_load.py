"""The load runner: exact request counts, concurrency, arrival rates, warmup and prompt files."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from factories import make_provider

from pytest_llmbench import LLMClient
from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests
from pytest_llmbench.mocking import LLMMock
from pytest_llmbench.prompts import PromptFileError, load_prompts, prompt_stream
from pytest_llmbench.transport import TimingTransport
from pytest_llmbench.types import Request

REQUEST = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=5, stream=True)
OK_SSE = (  # synthetic, in OpenAI's documented chunk shape
    b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.fixture
def mock() -> LLMMock:
    provider = make_provider("openai", api_key_env=None, max_retries=0)
    return LLMMock(provider, provider.model())


def client_of(mock: LLMMock) -> LLMClient:
    http = httpx.AsyncClient(transport=TimingTransport(mock.transport))
    return LLMClient(mock.provider, http=http)


async def test_count_runs_exactly_warmup_plus_count(mock: LLMMock) -> None:
    mock.stream(["a", "b"])
    run = LoadRun(
        client_of(mock), cycle_requests([REQUEST]), LoadShape(concurrency=2, count=5, warmup=1)
    )
    stats = await run.run()
    assert len(mock.requests) == 6
    assert (stats.count, stats.ok) == (5, 5)
    assert stats.output_tokens == 5 * 2


async def test_concurrency_overlaps_requests(mock: LLMMock) -> None:
    mock.stream(["a", "b"], ttft=0.05)
    stats = await LoadRun(
        client_of(mock), cycle_requests([REQUEST]), LoadShape(concurrency=4, count=4)
    ).run()
    # every request starts before the first one ends: they overlap
    starts = [m.started_at for m in stats.requests]
    ends = [m.started_at + (m.e2e_ms or 0) / 1000 for m in stats.requests]
    assert max(starts) < min(ends)
    assert stats.ttft_ms.min is not None and stats.ttft_ms.min >= 50


async def test_errors_are_counted_by_class(mock: LLMMock) -> None:
    mock.sequence(mock.error(429, retry_after=0), mock.reply("ok"))
    stats = await LoadRun(
        client_of(mock), cycle_requests([REQUEST]), LoadShape(concurrency=1, count=3)
    ).run()
    assert stats.errors == {"RateLimitError": 1}
    assert stats.ok == 2
    assert stats.requests[0].status == 429


async def test_rate_mode_schedules_and_reports_lag(mock: LLMMock) -> None:
    mock.reply("ok")
    shape = LoadShape(rate=50, arrivals="constant", count=10)
    stats = await LoadRun(client_of(mock), cycle_requests([REQUEST]), shape).run()
    assert stats.count == 10
    assert stats.dispatch_lag_ms.count == 10
    # ten arrivals 20 ms apart take at least 180 ms
    assert stats.wall_s >= 0.18
    # ten sends span nine 20 ms gaps at least
    assert stats.achieved_rate is not None and stats.achieved_rate <= 10 / 0.18


class FakeClock:
    """A perf_counter stand-in: sleeping advances it without yielding; so can a request."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay


class SlowOnTheClock(httpx.AsyncBaseTransport):
    """Each request takes `seconds` of the fake clock: the drain after dispatching ends."""

    def __init__(self, inner: httpx.AsyncBaseTransport, clock: FakeClock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.clock.now += self.seconds
        return await self.inner.handle_async_request(request)


async def test_achieved_rate_counts_starts_over_the_time_they_were_started(mock: LLMMock) -> None:
    mock.reply("ok")
    clock = FakeClock()
    http = httpx.AsyncClient(transport=TimingTransport(SlowOnTheClock(mock.transport, clock, 0.5)))
    shape = LoadShape(rate=40, arrivals="constant", duration=2)
    run = LoadRun(
        LLMClient(mock.provider, http=http),
        cycle_requests([REQUEST]),
        shape,
        sleep=clock.sleep,
        clock=clock,
    )
    stats = await run.run()
    assert stats.count == 80
    assert stats.wall_s > 40  # the drain: 80 requests of half a second each, after dispatch
    assert stats.achieved_rate == pytest.approx(40)


class InFlight(httpx.AsyncBaseTransport):
    """Counts requests whose body is not yet closed; keeps the highest count seen."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.now, self.most = inner, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        response = await self.inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        close = stream.aclose

        async def closed() -> None:
            self.now -= 1
            await close()

        stream.aclose = closed  # type: ignore[method-assign]
        return response


async def test_warmup_runs_at_the_load_concurrency(mock: LLMMock) -> None:
    mock.stream(["a", "b"], ttft=0.05)
    counted = InFlight(mock.transport)
    client = LLMClient(mock.provider, http=httpx.AsyncClient(transport=TimingTransport(counted)))
    shape = LoadShape(concurrency=4, count=1, warmup=4)
    stats = await LoadRun(client, cycle_requests([REQUEST]), shape).run()
    assert len(mock.requests) == 5 and stats.count == 1
    assert counted.most == 4  # the warmup opened as many requests at once as the load will


async def test_warmup_runs_at_the_load_rate(mock: LLMMock) -> None:
    mock.reply("ok")
    clock = FakeClock()
    shape = LoadShape(rate=10, arrivals="constant", count=1, warmup=5)
    run = LoadRun(client_of(mock), cycle_requests([REQUEST]), shape, sleep=clock.sleep, clock=clock)
    stats = await run.run()
    assert len(mock.requests) == 6 and stats.count == 1
    assert clock.now == pytest.approx(0.4)  # five warmup sends 100 ms apart
    assert stats.dispatch_lag_ms.count == 1  # only the measured send is in the figures


async def test_poisson_arrivals_are_seeded_and_average_the_rate(mock: LLMMock) -> None:
    mock.reply("ok")

    async def schedule(seed: int) -> list[float]:
        shape = LoadShape(rate=2000, arrivals="poisson", count=200, seed=seed)
        run = LoadRun(client_of(mock), cycle_requests([REQUEST]), shape)
        await run.run()
        return run.schedule_s

    first, again, other = await schedule(7), await schedule(7), await schedule(8)
    assert first == again and first != other
    gaps = [b - a for a, b in pairwise(first)]
    assert len(set(gaps)) > 100  # exponential gaps, not a constant interval
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 2000, rel=0.3)


async def test_duration_ends_the_run(mock: LLMMock) -> None:
    mock.stream(["a"], ttft=0.01)
    stats = await LoadRun(
        client_of(mock), cycle_requests([REQUEST]), LoadShape(concurrency=1, duration=0.1)
    ).run()
    assert 1 <= stats.count <= 11


async def test_stop_ends_dispatching(mock: LLMMock) -> None:
    mock.reply("ok")
    run = LoadRun(client_of(mock), cycle_requests([REQUEST]), LoadShape(concurrency=1, count=1000))
    run.on_result = lambda metrics: run.stop() if len(run.results) >= 3 else None
    stats = await run.run()
    assert stats.count == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 1}, "exactly one of concurrency or rate"),
        ({"concurrency": 1, "rate": 1, "count": 1}, "exactly one of concurrency or rate"),
        ({"concurrency": 1}, "count or duration"),
        ({"concurrency": 0, "count": 1}, "concurrency must be at least 1"),
        ({"rate": -1, "count": 1}, "rate must be positive"),
    ],
)
def test_bad_shapes_are_rejected(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadShape(**kwargs)  # type: ignore[arg-type]


def test_prompt_files_of_every_kind(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first\n# comment\n\nsecond\n")
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"id": "j", "prompt": "third", "max_tokens": 7}) + "\n"
    )
    (tmp_path / "c.yaml").write_text(
        "prompts:\n  - id: y\n    messages:\n      - {role: system, content: S}\n      - {role: user, content: U}\n"
    )
    prompts = load_prompts(tmp_path)
    assert [p.id for p in prompts] == ["a:1", "a:4", "j", "y"]
    assert prompts[2].max_tokens == 7
    assert [m.role for m in prompts[3].messages] == ["system", "user"]


def test_bad_prompt_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "ok"}\n{nope\n')
    with pytest.raises(PromptFileError, match=r"p\.jsonl:2: not valid JSON"):
        load_prompts(path)
    path.write_text('{"text": "x"}\n')
    with pytest.raises(PromptFileError, match="needs a 'prompt' string or a 'messages' list"):
        load_prompts(path)


def test_random_selection_is_seeded(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("\n".join(f"p{i}" for i in range(20)))
    prompts = load_prompts(path)
    first = [next(s).id for s in [prompt_stream(prompts, "random", 3)] for _ in range(10)]
    again = [next(s).id for s in [prompt_stream(prompts, "random", 3)] for _ in range(10)]
    assert first == again
    ordered = prompt_stream(prompts)
    assert [next(ordered).id for _ in range(21)][-1] == "p:1"


def test_shipped_prompt_files_load() -> None:
    prompts = load_prompts(Path(__file__).resolve().parents[1] / "prompts")
    assert [p.id for p in prompts] == ["greeting", "story", "summary"]
    assert prompts[2].messages[0].role == "system"


@pytest.mark.parametrize("shape", [LoadShape(concurrency=2, count=6), LoadShape(rate=200, count=6)])
async def test_an_unexpected_error_is_one_error_row_and_the_run_goes_on(shape: LoadShape) -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("not a provider error")
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=OK_SSE)

    provider = make_provider("openai", api_key_env=None, max_retries=0)
    http = httpx.AsyncClient(transport=TimingTransport(httpx.MockTransport(flaky)))
    stats = await LoadRun(LLMClient(provider, http=http), cycle_requests([REQUEST]), shape).run()
    assert stats.count == 6
    assert stats.errors == {"ConnectionError": 1}
    failed = next(r for r in stats.requests if r.error)
    assert "builtins.RuntimeError: not a provider error" in (failed.error_message or "")


async def test_llm_bench_rounds_take_request_fields_as_llm_complete_does() -> None:
    from pytest_llmbench.bench import LLMBench

    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "id": "r",
                "model": "test-model",
                "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
        )

    client = LLMClient(make_provider("openai"), transport=httpx.MockTransport(answer))
    async with client:
        stats = await LLMBench(client)("Hi", rounds=2, warmup=0, max_tokens=7, stream=False)
    assert stats.count == 2
    limits = [b.get("max_completion_tokens", b.get("max_tokens")) for b in bodies]
    assert limits == [7, 7]
    assert not any(b.get("stream") for b in bodies)
