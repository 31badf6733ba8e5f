"""`llmbench run`: prompts at a concurrency or rate against each target; CSV and summaries."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console

from pytest_llmbench.cli.context import (
    CliState,
    ConfigOption,
    VerboseOption,
    client_for,
    command_state,
    load_config_option,
    require_credentials,
)
from pytest_llmbench.cli.exits import EXIT_OK, UsageError, exit_code_for_name, print_error
from pytest_llmbench.cli.live import LiveProgress, progress_bars
from pytest_llmbench.cli.stopping import Stopper, signals_to
from pytest_llmbench.cli.targets import choose_target, usage_errors
from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import ModelConfig
from pytest_llmbench.distributed import (
    DistributedRun,
    DistributedSetupError,
    plan_shards,
    prompt_items,
    worker_lines,
)
from pytest_llmbench.load import LoadRun, LoadShape, RequestSource
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.prompts import Prompt, load_prompts, prompt_requests
from pytest_llmbench.results import Results, RunMeta
from pytest_llmbench.selection import Target, parse_targets
from pytest_llmbench.stats import RunStats


class Selection(str, Enum):
    sequential = "sequential"
    random = "random"


class ArrivalsOption(str, Enum):
    poisson = "poisson"
    constant = "constant"


class SummaryFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _shape(
    requests: int | None,
    duration: float | None,
    concurrent: int | None,
    rate: float | None,
    arrivals: ArrivalsOption | None,
    warmup: int,
    seed: int | None,
) -> LoadShape:
    if concurrent is not None and rate is not None:
        raise UsageError("--concurrent and --rate exclude each other; give one")
    if arrivals is not None and rate is None:
        raise UsageError("--arrivals applies to --rate runs; add --rate R or drop --arrivals")
    if requests is None and duration is None:
        requests = 10
    return LoadShape(
        concurrency=None if rate is not None else (concurrent or 1),
        rate=rate,
        arrivals=(arrivals or ArrivalsOption.constant).value,
        count=requests,
        duration=duration,
        warmup=warmup,
        seed=seed,
    )


def _check_writable(path: Path, option: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: directory {parent} does not exist")


def run_name(prompts: Path, shape: LoadShape) -> str:
    """The title under which the runs of one command are compared side by side."""
    if shape.rate is not None:
        how = f"rate {shape.rate:g}/s {shape.arrivals}"
    else:
        how = f"concurrency {shape.concurrency}"
    until = [f"{shape.count} requests"] if shape.count is not None else []
    until += [f"{shape.duration:g} s"] if shape.duration is not None else []
    return f"{prompts.name}, {how}, {' or '.join(until)}"


def default_csv_name(now: datetime | None = None) -> str:
    """The CSV written when --output is not given: llmbench-YYYYmmdd-HHMMSS.csv."""
    return (now or datetime.now()).strftime("llmbench-%Y%m%d-%H%M%S.csv")


def run(
    ctx: typer.Context,
    prompts: Annotated[
        Path,
        typer.Option("--prompts", help="prompt file (.txt, .jsonl, .yaml) or directory"),
    ],
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            "-p",
            help="PROVIDER or PROVIDER:MODEL (repeatable; runs one after another)",
            show_default=False,
        ),
    ] = None,
    selection: Annotated[
        Selection, typer.Option("--selection", case_sensitive=False)
    ] = Selection.sequential,
    seed: Annotated[int | None, typer.Option("--seed", help="for random prompts, arrivals")] = None,
    requests: Annotated[
        int | None,
        typer.Option("--requests", "-n", min=1, help="requests per provider", show_default="10"),
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.001, help="seconds per provider")
    ] = None,
    concurrent: Annotated[
        int | None, typer.Option("--concurrent", min=1, help="requests in flight", show_default="1")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.001, help="request arrivals per second")
    ] = None,
    arrivals: Annotated[
        ArrivalsOption | None,
        typer.Option(
            "--arrivals",
            case_sensitive=False,
            help="with --rate (as in llm_bench.load)",
            show_default="constant",
        ),
    ] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="unmeasured requests")] = 0,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1)] = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream", help="stream answers", show_default="if the model can"
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", help="per-request CSV", show_default="llmbench-YYYYmmdd-HHMMSS.csv"
        ),
    ] = None,
    summary_format: Annotated[
        SummaryFormat, typer.Option("--format", case_sensitive=False, help="summary on stdout")
    ] = SummaryFormat.table,
    html: Annotated[Path | None, typer.Option("--html", help="write an HTML report")] = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="one JSON line per request")
    ] = None,
    grace: Annotated[
        float,
        typer.Option("--grace", min=0.0, help="seconds to wait for requests in flight on stop"),
    ] = 10.0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="shard the load over N Ray workers (the ray extra); --concurrent defaults to N",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Ray cluster: auto, HOST:6379 or ray://HOST:10001",
            show_default="a local instance",
        ),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> int:
    """Send prompts at a concurrency or rate; per-request CSV and a summary per provider:model."""
    state = command_state(ctx, verbose)
    loaded = load_config_option(config)
    if workers is not None and concurrent is None and rate is None:
        concurrent = workers  # one request in flight per worker unless told otherwise
    try:
        shape = _shape(requests, duration, concurrent, rate, arrivals, warmup, seed)
        if workers is not None or ray_address is not None:
            plan_shards(shape, workers or 1)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if provider:
        with usage_errors():
            targets = parse_targets(loaded, provider, "--provider")
    else:
        targets = [choose_target(loaded, None, None, param="--provider")]
    output = output or Path(default_csv_name())
    for path, option in ((output, "--output"), (html, "--html"), (log_file, "--log-file")):
        if path is not None:
            _check_writable(path, option)
    for target in targets:
        require_credentials(target.provider)

    plan = _LoadPlan(
        name=run_name(prompts, shape),
        prompts=load_prompts(prompts),
        selection=selection,
        seed=seed,
        max_tokens=max_tokens,
        stream=stream,
        shape=shape,
        grace_s=grace,
        workers=workers or (1 if ray_address else None),
        cluster=ray_address,
    )
    meta = RunMeta(config=loaded.path, mode="live", command=["llmbench", *state.argv])
    log_opened = log_file.open("w", encoding="utf-8") if log_file else contextlib.nullcontext()
    try:
        with log_opened as log_stream:
            done = asyncio.run(
                _load_targets(state, targets, plan, Console(stderr=True), log_stream)
            )
    except DistributedSetupError as error:
        raise UsageError(str(error)) from None
    meta.finished_at = time.time()
    results = Results(meta=meta, runs=done.runs)
    _write_reports(results, output, html, summary_format)
    for stats in done.runs:
        for kind, first in first_errors(stats.requests).items():
            print_error(f"{stats.id}: {stats.errors.get(kind, 0)} x {kind}: {first}")
    if done.stopped_by is not None:
        return done.stopped_by
    for stats in done.runs:
        if stats.count and not stats.ok:  # every request failed: exit as the commonest error
            commonest = max(stats.errors, key=lambda kind: stats.errors[kind])
            return exit_code_for_name(commonest)
    return EXIT_OK


@dataclass(frozen=True)
class _LoadPlan:
    """What `llmbench run` sends to each provider:model, and how."""

    name: str
    prompts: list[Prompt]
    selection: Selection
    seed: int | None
    max_tokens: int | None
    stream: bool | None
    shape: LoadShape
    grace_s: float
    workers: int | None = None  # --workers/--ray: shard over Ray actors
    cluster: str | None = None

    def requests(self, model: ModelConfig) -> RequestSource:
        """The same prompt sequence for every model (so their runs compare)."""
        stream = model.supports("streaming") if self.stream is None else self.stream
        return prompt_requests(
            self.prompts, self.selection.value, self.seed, max_tokens=self.max_tokens, stream=stream
        )


def first_errors(requests: Sequence[RequestMetrics]) -> dict[str, str]:
    """The message of the first failed request of each error class, in the order they failed."""
    first: dict[str, str] = {}
    for metrics in requests:
        if metrics.error is not None:
            first.setdefault(metrics.error, metrics.error_message or metrics.error)
    return first


@dataclass
class _LoadDone:
    runs: list[RunStats]
    stopped_by: int | None  # the exit code of the signal that stopped the run


async def _load_targets(
    state: CliState,
    targets: Sequence[Target],
    plan: _LoadPlan,
    console: Console,
    log_stream: IO[str] | None,
) -> _LoadDone:
    """Each target in turn until done or stopped by a signal."""
    stopper = Stopper(plan.grace_s)
    done = _LoadDone(runs=[], stopped_by=None)
    with signals_to(stopper), progress_bars(console) as progress:
        for target in targets:
            if stopper.signal is not None:
                break
            async with client_for(state, target) as client:
                live = LiveProgress(progress, target, plan.shape, log_stream)
                stats = await _run_one(client, target, plan, stopper, live)
            done.runs.append(stats)
    stopper.close()
    if stopper.signal is not None:
        done.stopped_by = stopper.exit_code
    return done


async def _run_one(
    client: LLMClient, target: Target, plan: _LoadPlan, stopper: Stopper, live: LiveProgress
) -> RunStats:
    """One LoadRun; when cancelled after a stop, the stats of the requests that finished."""
    load: LoadRun | DistributedRun
    if plan.workers is not None:
        stream = target.model.supports("streaming") if plan.stream is None else plan.stream
        items = prompt_items(
            plan.prompts, plan.selection.value, plan.seed, max_tokens=plan.max_tokens, stream=stream
        )
        load = DistributedRun(
            target.provider,
            target.model,
            items,
            plan.shape,
            workers=plan.workers,
            cluster=plan.cluster,
            name=plan.name,
            on_result=live,
        )
    else:
        load = LoadRun(
            client,
            plan.requests(target.model),
            plan.shape,
            name=plan.name,
            on_result=live,
            sleep=stopper.sleep,
        )
    started = time.perf_counter()
    task = asyncio.ensure_future(load.run())
    stopper.watch(load, task)
    try:
        stats = await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        stats = load.stats(time.perf_counter() - started)
    finally:
        stopper.watch(None, None)
    live.finish(stats)
    for line in worker_lines(stats):
        print_error(f"{target.id}: {line}")
    return stats


def _write_reports(
    results: Results,
    output: Path,
    html: Path | None,
    summary_format: SummaryFormat,
) -> None:
    from pytest_llmbench import reports  # here: only `run` pays for importing the reports

    reports.write_csv(output, results)
    rows = sum(r.count for r in results.runs)
    print_error(f"wrote {rows} request rows to {output}")
    if html is not None:
        reports.write_html(html, results)
        print_error(f"wrote HTML report to {html}")
    if summary_format is SummaryFormat.table:
        reports.render_terminal(results, Console(), detailed=True)
    elif summary_format is SummaryFormat.csv:
        sys.stdout.write(output.read_text(encoding="utf-8"))
    else:
        sys.stdout.write(reports.render_json(results))
    sys.stdout.flush()
