"""pytest wiring: options, markers, parametrization and fixtures. Logic lives in plain modules
(selection, modes, session, cassettes, mocking)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmbench import (
    benchmark_feed,
    benchmark_link,
    drift_plugin,
    failure_report,
    recording_notes,
    report_plugin,
)
from pytest_llmbench.bench import LLMBench
from pytest_llmbench.cassette_fixtures import CassetteFixtures, options_for_test
from pytest_llmbench.catalog import catalog_lines
from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import Config, ConfigError, ModelConfig, ProviderConfig, load_config
from pytest_llmbench.conformance import collect as conformance_suite
from pytest_llmbench.errors import LLMBenchError, ProviderError
from pytest_llmbench.mocking import LLMMock
from pytest_llmbench.modes import RECORD_MODES
from pytest_llmbench.reports._runs import node_run_name
from pytest_llmbench.results import Results, TestOutcome
from pytest_llmbench.selection import SelectionError, Target, restrict, select_targets, split_names
from pytest_llmbench.session import BenchSession, Options, TestInfo, TestRun, parse_replay_timing
from pytest_llmbench.stats import RunStats
from pytest_llmbench.sync import SyncLLMBench, SyncLLMClient

SESSION_KEY = pytest.StashKey[BenchSession]()
CONFIG_ERROR_KEY = pytest.StashKey[str]()
REPORT_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
UNRECORDED_KEY = pytest.StashKey[list[str]]()
TARGET_FIXTURES = (
    "llm",
    "llm_provider",
    "llm_model",
    "llm_http_client",
    "llm_httpx2_client",
    "llm_mock",
    "llm_bench",
)

MARKERS = (
    "live: calls a real endpoint, or replays its cassette (see the llmbench mode table)",
    "mocked: the network is blocked and llm_mock answers in the provider's wire format",
    "llm(providers=None, models=None, needs=None): restrict this test's providers and models; "
    "models lacking a needed capability are skipped",
    conformance_suite.MARKER_HELP,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmbench", "LLM provider conformance and latency testing")
    group.addoption(
        "--llm-provider",
        action="append",
        default=[],
        metavar="NAME",
        help="provider(s) from models.toml to run against (repeatable, comma-separated; "
        "default: all, or ini llm_providers)",
    )
    group.addoption(
        "--llm-model",
        action="append",
        default=[],
        metavar="ID",
        help="model id or provider:id (repeatable; default: each provider's default models)",
    )
    group.addoption("--llm-config", metavar="PATH", help="models.toml to use (ini llm_config)")
    group.addoption(
        "--llm-replay",
        action="store_true",
        help="replay cassettes only; the network is never used",
    )
    group.addoption(
        "--llm-record-mode",
        choices=RECORD_MODES,
        help="record cassettes of live tests (needs credentials): none, once, new_episodes, "
        "all, rewrite",
    )
    group.addoption(
        "--llm-strict",
        action="store_true",
        help="fail (not skip) when a cassette is missing; fail when one is not fully played",
    )
    group.addoption(
        "--llm-record-failed",
        action="store_true",
        help="also save the new interactions of failed tests",
    )
    group.addoption(
        "--llm-replay-timing",
        metavar="MODE",
        help="replay pace: instant (default), recorded, or a scale factor like x0.5",
    )
    group.addoption(
        "--llm-transport",
        choices=("aiohttp", "httpx"),
        help="network transport under httpx (default aiohttp, the faster one here)",
    )
    group.addoption("--llm-report", metavar="PATH", help="write the results as JSON")
    group.addoption("--llm-csv", metavar="PATH", help="write one CSV row per benchmarked request")
    group.addoption("--llm-html", metavar="PATH", help="write a self-contained HTML report")
    group.addoption(
        "--llm-baseline", metavar="PATH", help="compare with an earlier --llm-report JSON"
    )
    group.addoption(
        "--llm-fail",
        metavar="RULES",
        # argparse %-formats help texts, so a literal percent sign is written %%.
        help='regression limits against --llm-baseline, e.g. "ttft.p95:+20%%,error_rate:>1%%"; '
        "with --llm-drift also drift:any, drift:added, drift:removed, drift:retyped",
    )
    conformance_suite.add_option(group)
    group.addoption(
        "--llm-list",
        action="store_true",
        help="list the providers and models of models.toml and whether credentials are set",
    )
    drift_plugin.add_option(group)
    parser.addini("llm_config", "models.toml to use", default="models.toml")
    parser.addini("llm_providers", "default providers for --llm-provider", type="args")
    parser.addini("llm_cassette_dir", "where cassettes live", default="cassettes")
    parser.addini("llm_match_ignore", "request JSON paths ignored when matching", type="args")
    parser.addini("llm_replay_timing", "default --llm-replay-timing", default="instant")


def _config_path(config: pytest.Config) -> tuple[Path, bool]:
    """The models.toml path and whether the user named it (then it must exist)."""
    explicit = config.getoption("llm_config")
    if explicit:
        return Path(explicit), True
    ini = str(config.getini("llm_config"))
    return config.rootpath / ini, ini != "models.toml"


def _load(config: pytest.Config) -> Config | None:
    path, explicit = _config_path(config)
    if not explicit and not path.exists():
        return None
    try:
        return load_config(path)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None


def _options(config: pytest.Config) -> Options:
    timing = config.getoption("llm_replay_timing") or str(config.getini("llm_replay_timing"))
    try:
        replay_timing = parse_replay_timing(timing)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    cassette_dir = Path(str(config.getini("llm_cassette_dir")))
    return Options(
        replay=config.getoption("llm_replay"),
        record_mode=config.getoption("llm_record_mode"),
        strict=config.getoption("llm_strict"),
        record_failed=config.getoption("llm_record_failed"),
        cassette_dir=cassette_dir if cassette_dir.is_absolute() else config.rootpath / cassette_dir,
        replay_timing=replay_timing,
        match_ignore=list(config.getini("llm_match_ignore")),
        transport=config.getoption("llm_transport") or "aiohttp",
        drift=config.getoption("llm_drift"),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not config.getoption("llm_list"):
        return None
    loaded = _load(config)
    if loaded is None:
        path, _ = _config_path(config)
        raise pytest.UsageError(f"--llm-list: no {path}; create it or pass --llm-config PATH")
    print("\n".join(catalog_lines(loaded)))
    return 0


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    benchmark_link.register(config)
    config.pluginmanager.register(recording_notes.SessionNotes(), "llmbench-recording-notes")
    conformance_suite.configure(config)
    loaded = _load(config)
    if loaded is None:
        path, _ = _config_path(config)
        config.stash[CONFIG_ERROR_KEY] = (
            f"llmbench: no config file {path}; create models.toml in the rootdir "
            "or pass --llm-config PATH"
        )
        return
    providers = split_names(config.getoption("llm_provider")) or list(
        config.getini("llm_providers")
    )
    try:
        targets = select_targets(loaded, providers, split_names(config.getoption("llm_model")))
    except SelectionError as error:
        raise pytest.UsageError(str(error)) from None
    report_plugin.check_options(config)
    drift_plugin.check_options(config)
    session = BenchSession(loaded, targets, _options(config))
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(_provider_fixtures(session), "llmbench-provider-fixtures")
    config.pluginmanager.register(CassetteFixtures(session.options), "llmbench-cassette-fixtures")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return None
    options = session.options
    mode = (
        "drift"
        if options.drift
        else "replay"
        if options.replay
        else f"record {options.record_mode}"
        if options.record_mode
        else "auto"
    )
    targets = ", ".join(t.id for t in session.targets)
    return f"llmbench: {session.config.path}; mode {mode}; targets {targets}"


def _session(config: pytest.Config) -> BenchSession:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        raise pytest.UsageError(config.stash.get(CONFIG_ERROR_KEY, "llmbench is not configured"))
    return session


def _marker_kwargs(node: Any, name: str) -> dict[str, Any]:
    marker = node.get_closest_marker(name)
    return dict(marker.kwargs) if marker is not None else {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not any(name in metafunc.fixturenames for name in TARGET_FIXTURES):
        return
    session = _session(metafunc.config)
    llm = _marker_kwargs(metafunc.definition, "llm")
    targets = restrict(session.targets, session.config, llm.get("providers"), llm.get("models"))
    needs = llm.get("needs") or []
    params = []
    for target in targets:
        missing = target.missing_capabilities(needs)
        marks = (
            [pytest.mark.skip(reason=f"{target.id} lacks {', '.join(missing)}")] if missing else []
        )
        params.append(pytest.param(target, id=target.id, marks=marks))
    if not params:
        params = [
            pytest.param(
                None,
                id="no-provider",
                marks=pytest.mark.skip(reason="no selected provider:model matches this test"),
            )
        ]
    metafunc.parametrize("llm_target", params, indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`llm` tests without `live`/`mocked` are live; tests of unselected providers are dropped."""
    session = config.stash.get(SESSION_KEY, None)
    provider_fixtures = (
        {_fixture_name(p): p for p in session.config.providers} if session is not None else {}
    )
    selected = set(session.selected_providers) if session is not None else set()
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        uses_llm = bool(names & set(TARGET_FIXTURES)) or item.get_closest_marker("llm")
        used_providers = {provider_fixtures[n] for n in names if n in provider_fixtures}
        unmarked = not (item.get_closest_marker("mocked") or item.get_closest_marker("live"))
        if (uses_llm or used_providers) and unmarked:
            item.add_marker(pytest.mark.live)
        if used_providers - selected:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(REPORT_KEY, {})[report.when] = report
    failure_report.shorten(item, call, report)
    _record_outcome(item, report)
    if call.excinfo is not None and isinstance(call.excinfo.value, ProviderError):
        report.sections.append(
            ("llmbench provider error", _describe_error(item, call.excinfo.value))
        )
    recording_notes.add_section(item, report, item.stash.get(UNRECORDED_KEY, []))
    return report


def _outcome_name(item: pytest.Item, target: Target) -> str:
    """The test's name with its parameters other than the target (`test_by_length[20]`), so
    a parametrized test's rows differ; the target has its own column."""
    callspec = getattr(item, "callspec", None)
    name = node_run_name(item.nodeid, callspec.id if callspec else None, target.id)
    return name.rsplit("::", 1)[-1]


def _target_of(item: pytest.Item) -> Target | None:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("llm_target") if callspec is not None else None
    return target if isinstance(target, Target) else None


def _record_outcome(item: pytest.Item, report: pytest.TestReport) -> None:
    """One conformance-matrix cell per provider-parametrized test: its call, or a failed setup."""
    session = item.config.stash.get(SESSION_KEY, None)
    target = _target_of(item)
    if session is None or target is None:
        return
    if report.when != "call" and not (report.failed or report.skipped):
        return
    if report.when == "teardown" and not report.failed:
        return
    outcome = "error" if report.failed and report.when != "call" else report.outcome
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    elif report.failed:
        message = report.longreprtext.strip().splitlines()[-1] if report.longreprtext else ""
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None and crash.message:  # the assertion, not where it was raised
            message = crash.message.splitlines()[0]
    if hasattr(report, "wasxfail"):  # an expected failure (conformance_xfail): say why
        message = f"xfail: {report.wasxfail}"
    session.outcomes.append(
        TestOutcome(
            nodeid=item.nodeid,
            name=_outcome_name(item, target),
            target=target.id,
            outcome=outcome,
            duration_s=report.duration,
            message=message[:300],
            conformance=conformance_suite.check_theme(item),
        )
    )


def _describe_error(item: pytest.Item, error: ProviderError) -> str:
    target = _target_of(item)
    model = target.model.id if target is not None else ""
    rows = [
        ("provider", error.provider),
        ("model", model or "(default)"),
        ("error", type(error).__name__),
        ("status", str(error.status) if error.status is not None else "no response"),
        ("code", error.code or "-"),
        ("message", error.message),
        ("hint", error.hint or "-"),
    ]
    return "\n".join(f"{name:>8}: {value}" for name, value in rows)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    session = item.config.stash.get(SESSION_KEY, None)
    if session is not None:
        # Close pooled connections while the test's event loop still exists.
        session.close_idle()
    return (yield)


def _passed(node: pytest.Item) -> bool:
    reports = node.stash.get(REPORT_KEY, {})
    return all(r.passed for r in reports.values()) and "call" in reports


def _test_info(request: pytest.FixtureRequest) -> TestInfo:
    node = request.node
    live = _marker_kwargs(node, "live")
    return TestInfo(
        nodeid=node.nodeid,
        module=node.path.stem if hasattr(node, "path") else "tests",
        name=node.name,
        is_async=inspect.iscoroutinefunction(getattr(node, "function", None)),
        mocked=node.get_closest_marker("mocked") is not None,
        record_errors=bool(live.get("record_errors", False)),
        allow_playback_repeats=bool(live.get("allow_playback_repeats", False)),
    )


def _run_for(request: pytest.FixtureRequest, target: Target) -> Iterator[TestRun]:
    session = _session(request.config)
    run = session.start(target, _test_info(request), options_for_test(request, session.options))
    action = run.mode.action
    if not run.mocked and action == "skip":
        pytest.skip(run.mode.reason)
    if not run.mocked and action == "fail":
        pytest.fail(run.mode.reason, pytrace=False)
    yield run
    problems = run.finish(_passed(request.node))
    request.node.stash[UNRECORDED_KEY] = run.unrecorded_errors
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def llm_target(request: pytest.FixtureRequest) -> Target:
    """The provider:model this test instance runs against (from parametrization)."""
    target = getattr(request, "param", None)
    if not isinstance(target, Target):
        pytest.skip("no provider:model selected for this test")
    return target


@pytest.fixture
def llm_run(request: pytest.FixtureRequest, llm_target: Target) -> Iterator[TestRun]:
    """This test's run: its mode, cassette or mock, and transport stack."""
    yield from _run_for(request, llm_target)


@pytest.fixture
def llm(llm_run: TestRun) -> LLMClient | SyncLLMClient:
    """An LLMClient for the current provider:model (a sync facade in sync tests)."""
    return llm_run.client_for_test()


@pytest.fixture
def llm_provider(llm_target: Target) -> ProviderConfig:
    """The current provider's configuration."""
    return llm_target.provider


@pytest.fixture
def llm_model(llm_target: Target) -> ModelConfig:
    """The current model's configuration (id, prices, context window, capabilities)."""
    return llm_target.model


@pytest.fixture
def llm_http_client(llm_run: TestRun) -> httpx.AsyncClient:
    """An httpx.AsyncClient on the plugin's transport stack, for official SDKs."""
    return llm_run.http_client()


@pytest.fixture
def llm_httpx2_client(llm_run: TestRun) -> Any:
    """An httpx2.AsyncClient on the plugin's stack, for SDKs built on httpx2
    (`AsyncAnthropic(http_client=llm_httpx2_client)`, `AsyncOpenAI(...)`)."""
    return llm_run.httpx2_client()


@pytest.fixture
def llm_mock(llm_run: TestRun) -> LLMMock:
    """The respx mock answering in the current provider's wire format (mark the test `mocked`)."""
    if llm_run.mock is None:
        raise LLMBenchError(
            "llm_mock needs @pytest.mark.mocked on the test (mocked tests never use the network)"
        )
    return llm_run.mock


@pytest.fixture
def llm_bench(
    request: pytest.FixtureRequest, llm_run: TestRun, llm_pytest_benchmark: Any
) -> LLMBench | SyncLLMBench:
    """Latency runs on the current provider:model: `await llm_bench(request, rounds=10)`.

    Each run is reported at the end of the session and fed to pytest-benchmark when active.
    """
    session = _session(request.config)
    callspec = getattr(request.node, "callspec", None)
    name = node_run_name(request.node.nodeid, callspec.id if callspec else None, llm_run.target.id)

    def collect(stats: RunStats) -> None:
        session.runs.append(stats)
        _feed_pytest_benchmark(request, llm_pytest_benchmark, stats)

    bench = LLMBench(llm_run.client(), name=name, on_stats=collect, observed=llm_run.sdk_metrics)
    if llm_run.test.is_async:
        return bench
    return SyncLLMBench(bench, session.loop_thread)


def _feed_pytest_benchmark(request: pytest.FixtureRequest, benchmark: Any, stats: RunStats) -> None:
    """Show a run in pytest-benchmark's table, JSON, autosave and compare."""
    if benchmark is None or not stats.ok:
        return
    if benchmark.stats is not None:  # one benchmark per test, as pytest-benchmark allows
        return
    group = getattr(benchmark, "group", None)
    record = benchmark_feed.BenchmarkRecord.of(request.node, group, stats)
    if not benchmark.disabled:
        benchmark_feed.feed_fixture(benchmark, record)
    elif hasattr(request.config, "workeroutput") and benchmark_feed.disabled_only_by_xdist(
        request.config
    ):
        _session(request.config).benchmark_records.append(record)


def pytest_sessionfinish(session: pytest.Session) -> None:
    bench = session.config.stash.get(SESSION_KEY, None)
    if bench is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports
        workeroutput["llmbench"] = bench.results().model_dump_json()
        workeroutput["llmbench_benchmarks"] = [asdict(r) for r in bench.benchmark_records]
        if bench.benchmark_records:
            benchmark_feed.quiet_xdist_warning(session.config)
        return
    drift_plugin.apply_rules(session, bench)
    report_plugin.write_reports(session, bench)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    bench = node.config.stash.get(SESSION_KEY, None)
    output = getattr(node, "workeroutput", {})
    if bench is not None and output.get("llmbench"):
        bench.merge(Results.model_validate_json(output["llmbench"]))
    for record in output.get("llmbench_benchmarks", []):
        benchmark_feed.add_to_session(node.config, benchmark_feed.BenchmarkRecord(**record))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    bench = config.stash.get(SESSION_KEY, None)
    drift_plugin.write_summary(terminalreporter, config, bench)
    report_plugin.write_summary(terminalreporter, config, bench)


def _fixture_name(provider: str) -> str:
    return provider.replace("-", "_").replace(".", "_")


def _provider_fixtures(session: BenchSession) -> object:
    """One fixture per configured provider, named after it: its default model's client.

    pytest finds fixtures on the plugin's class, so the class is made for this config.
    """
    attributes = {
        f"llm_provider_fixture_{_fixture_name(name)}": _provider_fixture(provider)
        for name, provider in session.config.providers.items()
    }
    return type("LLMProviderFixtures", (), attributes)()


def _provider_fixture(provider: ProviderConfig) -> Callable[..., Any]:
    def fixture(_: object, request: pytest.FixtureRequest) -> Iterator[LLMClient | SyncLLMClient]:
        session = _session(request.config)
        if provider.name not in session.selected_providers:
            pytest.skip(f"provider {provider.name} is not selected (--llm-provider)")
        for run in _run_for(request, Target(provider, provider.model())):
            yield run.client_for_test()

    fixture.__doc__ = f"An LLMClient for {provider.name}'s default model ({provider.model().id})."
    return pytest.fixture(name=_fixture_name(provider.name))(fixture)
