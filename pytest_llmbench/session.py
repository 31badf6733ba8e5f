"""The plugin's state, without pytest: the run's options, pooled transports, and one test's run.

`BenchSession` lives for a pytest session (one per xdist worker); `TestRun` is one test against
one provider:model in one mode (live, replay, record or mocked), owning its transport stack.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from pytest_llmbench.cassettes import Cassette, cassette_path
from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import Config, ProviderConfig
from pytest_llmbench.drift.compare import DriftComparison
from pytest_llmbench.drift.transport import DriftTransport
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.mocking import LLMMock
from pytest_llmbench.modes import Mode, RecordMode, decide
from pytest_llmbench.providers import codec_for
from pytest_llmbench.results import Results, RunMeta, TestOutcome
from pytest_llmbench.selection import Target
from pytest_llmbench.stats import RunStats
from pytest_llmbench.sync import LoopThread, SyncLLMClient
from pytest_llmbench.transport import TimingTransport, build_http_client, network_transport
from pytest_llmbench.transport.observe import ObservingTransport
from pytest_llmbench.transport.per_loop import PerLoopTransport, Unclosable

MOCK_API_KEY = "llmbench-mock-key"  # sent to mocks, so auth headers look as they would live
ReplayTiming = Literal["instant", "recorded"] | float


@dataclass
class Options:
    """The run's llmbench options, parsed."""

    replay: bool = False
    record_mode: RecordMode | None = None
    strict: bool = False
    record_failed: bool = False
    cassette_dir: Path = Path("cassettes")
    replay_timing: ReplayTiming = "instant"
    match_ignore: list[str] = field(default_factory=list)
    transport: str = "aiohttp"
    drift: bool = False


def parse_replay_timing(value: str) -> ReplayTiming:
    """`instant`, `recorded`, or a scale factor written `x0.5` / `x2`."""
    if value in ("instant", "recorded"):
        return value  # type: ignore[return-value]
    try:
        factor = float(value[1:]) if value.startswith("x") else float("nan")
    except ValueError:
        factor = float("nan")
    if not factor > 0:
        raise ValueError(
            f"--llm-replay-timing {value!r}: use instant, recorded, or a scale factor like x0.5"
        )
    return factor


@dataclass
class TestInfo:
    """What a TestRun needs to know about the test: ids for cassette paths and commands."""

    nodeid: str
    module: str
    name: str
    is_async: bool
    mocked: bool = False
    record_errors: bool = False
    allow_playback_repeats: bool = False


class BenchSession:
    """Options, config and the pooled network transport of every provider for one session."""

    def __init__(self, config: Config, targets: list[Target], options: Options) -> None:
        self.config = config
        self.targets = targets
        self.options = options
        self._network: dict[str, PerLoopTransport] = {}
        self._loop_thread: LoopThread | None = None
        self.runs: list[RunStats] = []
        self.outcomes: list[TestOutcome] = []
        self.benchmark_records: list[Any] = []  # runs for pytest-benchmark, sent by workers
        self.drift: list[DriftComparison] = []  # --llm-drift: live responses vs recordings
        self.modes_used: set[str] = set()  # live, replay, record, mocked: what tests really did
        self.meta = RunMeta(config=config.path, mode=self.mode_name)

    @property
    def mode_name(self) -> str:
        """The report's `meta.mode`: live, replay, record, mocked, mixed, or drift.

        What the tests did when any ran, else what the options ask for.
        """
        if self.options.drift:
            return "drift"
        if len(self.modes_used) > 1 or "mixed" in self.modes_used:
            return "mixed"
        if self.modes_used:
            return next(iter(self.modes_used))
        if self.options.replay or self.options.record_mode == "none":
            return "replay"
        return "record" if self.options.record_mode else "live"

    def results(self) -> Results:
        """Everything collected so far (a worker's share under xdist)."""
        self.meta.mode = self.mode_name
        return Results(
            meta=self.meta,
            runs=list(self.runs),
            outcomes=list(self.outcomes),
            drift=list(self.drift),
        )

    def merge(self, results: Results) -> None:
        """Add what an xdist worker collected."""
        self.runs += results.runs
        self.outcomes += results.outcomes
        self.drift += results.drift
        if results.outcomes or results.runs:  # a worker that ran nothing says nothing
            self.modes_used.add(results.meta.mode)

    @property
    def selected_providers(self) -> list[str]:
        return list(dict.fromkeys(t.provider.name for t in self.targets))

    def network(self, provider: ProviderConfig) -> PerLoopTransport:
        """The provider's pooled network transport (one per event loop underneath)."""
        if provider.name not in self._network:
            backend = self.options.transport
            self._network[provider.name] = PerLoopTransport(
                lambda: network_transport(provider, backend=backend)
            )
        return self._network[provider.name]

    @property
    def loop_thread(self) -> LoopThread:
        """The event loop that sync tests' clients run on (started on first use)."""
        if self._loop_thread is None:
            self._loop_thread = LoopThread()
        return self._loop_thread

    def close_idle(self) -> None:
        """Close network transports whose event loop is idle (a test's loop about to close)."""
        for transport in self._network.values():
            transport.close_idle()

    def close(self) -> None:
        self.close_idle()
        if self._loop_thread is not None:
            thread = self._loop_thread
            for transport in self._network.values():
                thread.run(transport.aclose())
            thread.close()
            self._loop_thread = None

    def start(self, target: Target, test: TestInfo, options: Options | None = None) -> TestRun:
        run = TestRun(self, target, test, options)
        if run.mocked:
            self.modes_used.add("mocked")
        elif run.mode.action in ("live", "replay", "record"):
            self.modes_used.add(run.mode.action)
        return run


class TestRun:
    """One test against one target: decides the mode and builds the transport stack for it."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self, session: BenchSession, target: Target, test: TestInfo, options: Options | None = None
    ) -> None:
        self.session = session
        self.target = target
        self.test = test
        self.mock: LLMMock | None = None
        self.sdk_metrics: list[RequestMetrics] = []  # requests made through the SDK clients
        self.cassette: Cassette | None = None
        options = options or session.options  # the test's own cassette directory and matching
        if test.mocked:
            self.mode = Mode("live")  # placeholder: mocked runs never touch the network
            self.mock = LLMMock(target.provider, target.model)
            return
        self.cassette_path = cassette_path(
            options.cassette_dir, target.provider.name, test.module, test.name
        )
        credentials = codec_for(target.provider.kind).credentials(target.provider)
        self.mode = decide(
            replay=options.replay,
            record_mode=options.record_mode,
            missing_credentials=credentials.missing,
            # rewrite records from scratch: what is on disk (even a broken file) is not read.
            cassette_exists=options.record_mode != "rewrite"
            and Cassette.exists(self.cassette_path),
            strict=options.strict,
            record_command=self.record_command,
            drift=options.drift,
        )
        if self.mode.action == "drift":
            self.cassette = self._drift_cassette()
        elif self.mode.action in ("replay", "record"):
            self.cassette = Cassette(
                self.cassette_path,
                record_mode=self.mode.record_mode if self.mode.action == "record" else "none",
                match_ignore=options.match_ignore,
                record_errors=test.record_errors,
                allow_playback_repeats=test.allow_playback_repeats,
                timing=options.replay_timing,
                secret_names=[n for n in [target.provider.api_key_env] if n],
                record_command=self.record_command,
            )

    def _drift_cassette(self) -> Cassette:
        """The cassette read (never written) by --llm-drift; recordings may pair repeatedly,
        as a retried request is compared with the same recording."""
        return Cassette(
            self.cassette_path,
            record_mode="none",
            match_ignore=self.session.options.match_ignore,
            allow_playback_repeats=True,
        )

    def _drift_transport(self, network: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        assert self.cassette is not None
        return DriftTransport(
            self.cassette,
            network,
            self.session.drift.append,
            nodeid=self.test.nodeid,
            target=self.target.id,
        )

    @property
    def record_command(self) -> str:
        provider = self.target.provider
        command = f"pytest {shlex.quote(self.test.nodeid)} --llm-record-mode=once"
        if provider.api_key_env:
            return f"{provider.api_key_env}=... {command}"
        return command

    @property
    def mocked(self) -> bool:
        return self.mock is not None

    def inner_transport(self) -> httpx.AsyncBaseTransport:
        """The transport under the timing layer, for this run's mode."""
        if self.mock is not None:
            return self.mock.transport
        network = Unclosable(self.session.network(self.target.provider))
        if self.cassette is None:
            return network
        if self.mode.action == "drift":
            return self._drift_transport(network)
        if self.mode.action == "replay":
            return self.cassette.replay_transport()
        return self.cassette.recording_transport(network)

    def _observed(self, timed: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The timed stack observed: SDK calls get RequestMetrics too."""
        target = self.target
        return ObservingTransport(timed, target.provider, target.model, self.sdk_metrics.append)

    def _sdk_transport(self) -> httpx.AsyncBaseTransport:
        """This run's stack, timed and observed."""
        return self._observed(TimingTransport(self.inner_transport()))

    def http_client(self) -> httpx.AsyncClient:
        """An AsyncClient on this run's stack, for official SDKs (`http_client=`)."""
        return build_http_client(self.target.provider, self.inner_transport(), outer=self._observed)

    def httpx2_client(self) -> Any:
        """An httpx2.AsyncClient on this run's stack, for SDKs built on httpx2."""
        try:
            import httpx2
        except ImportError:  # pragma: no cover - httpx2 comes with the current SDKs
            raise ImportError("llm_httpx2_client needs httpx2: pip install httpx2") from None
        from pytest_llmbench.transport.httpx2_bridge import Httpx2Bridge

        bridge = Httpx2Bridge(self._sdk_transport())
        return httpx2.AsyncClient(transport=bridge, timeout=self.target.provider.timeout_s)

    def client(self) -> LLMClient:
        provider = self.target.provider
        http = build_http_client(provider, self.inner_transport())
        api_key = MOCK_API_KEY if self.mocked else None
        return LLMClient(provider, self.target.model, http=http, api_key=api_key)

    def client_for_test(self) -> LLMClient | SyncLLMClient:
        """An LLMClient for async tests; the sync facade (same methods) for sync tests."""
        client = self.client()
        if self.test.is_async:
            return client
        return SyncLLMClient(client, self.session.loop_thread)

    @property
    def unrecorded_errors(self) -> list[str]:
        """Error responses this recording let through without writing them (no record_errors)."""
        if self.cassette is None or self.mode.action != "record":
            return []
        return list(self.cassette.unrecorded_errors)

    def finish(self, passed: bool) -> list[str]:
        """Save what was recorded (if the test passed, or when asked); return strict problems."""
        problems: list[str] = []
        if self.cassette is None:
            return problems
        if self.mode.action == "record" and (passed or self.session.options.record_failed):
            self.cassette.save()
        if self.session.options.strict and passed:
            unplayed = self.cassette.unplayed()
            if unplayed:
                listing = "; ".join(unplayed)
                problems.append(
                    f"--llm-strict: {len(unplayed)} recorded interaction(s) of "
                    f"{self.cassette_path} were not played: {listing}"
                )
        return problems
