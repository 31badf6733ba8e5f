"""The `llmbench` command: one prompt against one model, a load run to CSV, the catalogue, checks.

A thin front end over the same client, load runner and reports as the pytest plugin. `main`
maps every outcome to an exit code (EXIT_*) and prints errors with a hint, never a traceback
(unless --verbose) and never a key. Tests pass `transport` to run the commands against a mock.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.status import Status
from rich.table import Table
from rich.text import Text

from pytest_llmbench import errors, secrets
from pytest_llmbench.catalog import catalog_lines
from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import Config, ConfigError, ModelConfig, ProviderConfig, load_config
from pytest_llmbench.load import LoadRun, LoadShape, RequestSource
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.picker import interactive, pick
from pytest_llmbench.prompts import Prompt, PromptFileError, load_prompts, prompt_stream
from pytest_llmbench.results import Results, RunMeta
from pytest_llmbench.selection import Target, split_names
from pytest_llmbench.stats import RunStats, percentile
from pytest_llmbench.types import Completion, Message, Request

try:  # recent typer releases vendor click as typer._click; older ones depend on click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import (  # type: ignore[import-not-found, no-redef, unused-ignore]
        ClickException,
        UsageError,
    )

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_RATE_LIMITED = 2
EXIT_CONTEXT_LENGTH = 3
EXIT_AUTHENTICATION = 4
EXIT_USAGE = 64  # EX_USAGE from sysexits.h; click's own usage errors (2) are remapped to it
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

CONFIG_ENV = "LLMBENCH_CONFIG"
DEFAULT_CONFIG = "models.toml"

TransportFactory = Callable[[ProviderConfig], httpx.AsyncBaseTransport]
log = logging.getLogger("pytest_llmbench.cli")


_EXIT_CODES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
    ((UsageError, ConfigError, PromptFileError), EXIT_USAGE),
    (errors.UnsupportedParameterError, EXIT_USAGE),  # an option the wire format has no place for
    (errors.RateLimitError, EXIT_RATE_LIMITED),
    (errors.ContextLengthExceededError, EXIT_CONTEXT_LENGTH),
    ((errors.AuthenticationError, errors.PermissionDeniedError), EXIT_AUTHENTICATION),
    (KeyboardInterrupt, EXIT_INTERRUPTED),
)


def exit_code_for(error: BaseException | type[BaseException]) -> int:
    """The exit code an error (or error class) ends the command with."""
    kind = error if isinstance(error, type) else type(error)
    return next((code for classes, code in _EXIT_CODES if issubclass(kind, classes)), EXIT_ERROR)


def _exit_code_for_name(name: str) -> int:
    """The exit code of a ProviderError class named in RequestMetrics.error."""
    kind = getattr(errors, name, None)
    return exit_code_for(kind) if isinstance(kind, type) else EXIT_ERROR


@dataclass
class CliState:
    """What every command gets through the click context: the injected transport, verbosity."""

    transport: TransportFactory | None = None
    argv: list[str] = field(default_factory=list)
    verbose: bool = False
    log_handler: logging.Handler | None = None

    def close(self) -> None:
        """Undo what the command set up for itself (the --verbose log handler)."""
        if self.log_handler is not None:
            logger = logging.getLogger("pytest_llmbench")
            logger.removeHandler(self.log_handler)
            logger.setLevel(logging.NOTSET)
            self.log_handler = None


app = typer.Typer(
    name="llmbench",
    help="LLM provider checks and latency runs from the command line (see also pytest --llm-*).",
    no_args_is_help=True,
    add_completion=False,
    # click's plain help: one line per option with its help beside it, readable at 80 columns
    # (rich's panels give the help text a thin column there).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def main(
    argv: Sequence[str] | None = None,
    *,
    transport: TransportFactory | None = None,
) -> int:
    """Run `llmbench` with `argv` (default: sys.argv[1:]) and return its exit code.

    `transport`, when given, makes the httpx transport under every client (a mock in tests).
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    state = CliState(transport=transport, argv=args)
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=args,
            prog_name="llmbench",
            standalone_mode=False,
            obj=state,
        )
    except UsageError as error:
        error.show(file=sys.stderr)
        return EXIT_USAGE
    except ClickException as error:
        error.show(file=sys.stderr)
        return EXIT_USAGE if error.exit_code == 2 else error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _say_interrupted()
        return EXIT_INTERRUPTED
    except (ConfigError, PromptFileError) as error:
        _error(str(error))
        return EXIT_USAGE
    except errors.ProviderError as error:
        _error(str(error))
        return exit_code_for(error)
    except Exception as error:
        if state.verbose:
            _error(secrets.redact(traceback.format_exc()))
        else:
            _error(f"internal error: {type(error).__name__}: {error}")
            _error("  hint: rerun with --verbose for the traceback, and report it")
        return EXIT_ERROR
    finally:
        state.close()
    return result if isinstance(result, int) else EXIT_OK


def _error(message: str) -> None:
    sys.stderr.write(secrets.redact(message).rstrip("\n") + "\n")
    sys.stderr.flush()


def _say_interrupted() -> None:
    _error("\ninterrupted")


def _interrupted() -> typer.Exit:
    """The exit of a command stopped by Ctrl-C (typer would exit 130 silently)."""
    _say_interrupted()
    return typer.Exit(EXIT_INTERRUPTED)


# -- shared options --------------------------------------------------------------------------

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="models.toml to use",
        show_default=f"${CONFIG_ENV}, else ./{DEFAULT_CONFIG}",
        dir_okay=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="log to stderr; show tracebacks of errors")
]


def _state(ctx: typer.Context, verbose: bool = False) -> CliState:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    state.verbose = verbose
    if verbose and state.log_handler is None:
        from rich.logging import RichHandler

        state.log_handler = RichHandler(console=Console(stderr=True), show_path=False)
        logger = logging.getLogger("pytest_llmbench")
        logger.addHandler(state.log_handler)
        logger.setLevel(logging.DEBUG)
    return state


def config_path(option: Path | None) -> Path:
    """--config, else $LLMBENCH_CONFIG, else models.toml in the current directory."""
    if option is not None:
        return option
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return Path.cwd() / DEFAULT_CONFIG


def _load(option: Path | None) -> Config:
    path = config_path(option)
    if not path.exists():
        raise ConfigError(
            path,
            [
                "file not found; create it, pass --config PATH "
                f"or set {CONFIG_ENV} (see `llmbench models`)"
            ],
        )
    return load_config(path)


# -- choosing a provider and model -----------------------------------------------------------


def _split_target(value: str) -> tuple[str, str | None]:
    # The first colon separates the provider: model ids may hold colons (Ollama's "llama3:8b").
    name, sep, model = value.partition(":")
    return name, (model if sep and model else None)


def _provider(config: Config, name: str, param: str) -> ProviderConfig:
    if name not in config.providers:
        known = ", ".join(config.providers) or "none"
        raise UsageError(f"{param}: unknown provider {name!r}; providers in {config.path}: {known}")
    return config.providers[name]


def _model(provider: ProviderConfig, model_id: str | None, param: str) -> ModelConfig:
    try:
        return provider.model(model_id)
    except KeyError:
        known = ", ".join(m.id for m in provider.models)
        raise UsageError(
            f"{param}: provider {provider.name!r} has no model {model_id!r}; its models: {known}"
        ) from None


def _provider_label(provider: ProviderConfig) -> str:
    missing = provider.missing_credentials()
    state = f"{missing} not set" if missing else "ready"
    models = ", ".join(m.id for m in provider.models)
    return f"{provider.name}  [{provider.kind}]  {models}  ({state})"


def _model_label(provider: ProviderConfig, model: ModelConfig) -> str:
    default = " (default)" if model in provider.default_models() else ""
    return f"{model.id}{default}  {model.price_label}"


def _choose_target(
    config: Config,
    provider_name: str | None,
    model_id: str | None,
    *,
    param: str,
) -> Target:
    """The provider (and model) to use; asked for on a terminal when the provider is missing."""
    if provider_name is not None:
        provider = _provider(config, provider_name, param)
        return Target(provider, _model(provider, model_id, "--model"))
    names = list(config.providers)
    if not interactive():
        raise UsageError(
            f"missing {param}; choose one of: {', '.join(names)} "
            f"(from {config.path}; on a terminal you are asked)"
        )
    providers = list(config.providers.values())
    try:
        chosen = pick("Choose a provider", [_provider_label(p) for p in providers])
        provider = providers[chosen]
        print(f"provider: {provider.name}")
        if model_id is None and len(provider.models) > 1:
            default = provider.models.index(provider.model())
            labels = [_model_label(provider, m) for m in provider.models]
            model = provider.models[pick(f"Choose a model of {provider.name}", labels, default)]
            print(f"model: {model.id}")
            return Target(provider, model)
    except KeyboardInterrupt:
        raise _interrupted() from None
    return Target(provider, _model(provider, model_id, "--model"))


# -- llmbench models -------------------------------------------------------------------------


@app.command()
def models(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List the providers and models of models.toml (as `pytest --llm-list` does)."""
    _state(ctx)
    loaded = _load(config)
    sys.stdout.write("\n".join(catalog_lines(loaded)) + "\n")


# -- llmbench test ---------------------------------------------------------------------------


class OutputFormat(str, Enum):
    pretty = "pretty"
    json = "json"
    json_pretty = "json-pretty"
    plain = "plain"


_REQUEST_FLAGS = {"max_tokens": "--max-tokens", "temperature": "--temperature", "top_p": "--top-p"}


def _build_request(fields: dict[str, Any], messages: list[Message]) -> Request:
    try:
        return Request(messages=messages, **fields)
    except ValidationError as error:
        problems = [
            f"{_REQUEST_FLAGS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}"
            for e in error.errors()
        ]
        raise UsageError("; ".join(problems)) from None


def _client(state: CliState, target: Target) -> LLMClient:
    transport = state.transport(target.provider) if state.transport is not None else None
    return LLMClient(target.provider, target.model, transport=transport)


def _require_credentials(provider: ProviderConfig) -> None:
    missing = provider.missing_credentials()
    if missing:
        raise errors.AuthenticationError(
            f"{missing} is not set",
            provider=provider.name,
            hint=f"set {missing} in the environment, or pick another provider (llmbench models)",
        )


@app.command("test")
def one_prompt(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="the user message")],
    provider: Annotated[
        str | None,
        typer.Argument(
            metavar="PROVIDER",
            help="provider from models.toml, or PROVIDER:MODEL",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="model id", show_default="the provider's")
    ] = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream", help="stream the answer", show_default="if the model can"
        ),
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1)] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0.0)] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", max=1.0)] = None,
    stop: Annotated[
        list[str] | None, typer.Option("--stop", help="stop sequence (repeatable)")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="a system message")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="sampling seed, where the provider takes one")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--output-format", "-o", case_sensitive=False)
    ] = OutputFormat.pretty,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> int:
    """Send one prompt to one model and show the answer with its timings and cost."""
    state = _state(ctx, verbose)
    loaded = _load(config)
    name, model_in_name = _split_target(provider) if provider is not None else (None, None)
    if model_in_name and model and model_in_name != model:
        raise UsageError(f"PROVIDER names model {model_in_name!r} but --model says {model!r}")
    target = _choose_target(loaded, name, model or model_in_name, param="PROVIDER")
    messages = [Message(role="user", content=prompt)]
    if system is not None:
        messages.insert(0, Message(role="system", content=system))
    fields: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stop": stop or [],
        "seed": seed,
        "stream": target.model.supports("streaming") if stream is None else stream,
    }
    request = _build_request(fields, messages)
    _require_credentials(target.provider)
    pretty = output_format is OutputFormat.pretty
    live_answer = _LiveAnswer(target, Console()) if pretty else None
    try:
        completion = asyncio.run(_ask(state, target, request, output_format, live_answer))
    except KeyboardInterrupt:
        raise _interrupted() from None  # _ask has stopped the spinner
    if live_answer is not None:
        live_answer.summary(completion)
    elif output_format is OutputFormat.plain:
        if not request.stream:
            sys.stdout.write(completion.text)
        sys.stdout.write("\n")
    else:
        indent = 2 if output_format is OutputFormat.json_pretty else None
        body = completion.model_dump(mode="json", exclude={"raw"})
        sys.stdout.write(json.dumps(body, indent=indent, ensure_ascii=False) + "\n")
    return EXIT_OK


async def _ask(
    state: CliState,
    target: Target,
    request: Request,
    output_format: OutputFormat,
    live_answer: _LiveAnswer | None,
) -> Completion:
    async with _client(state, target) as client:
        stream = client.stream(request)
        if live_answer is not None:
            live_answer.start(request.stream)
        try:
            async for event in stream:
                if live_answer is not None:
                    live_answer.event(event.type, event.text)
                elif output_format is OutputFormat.plain and event.type == "text":
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
        finally:
            if live_answer is not None:
                live_answer.stop()
        assert stream.completion is not None
        return stream.completion


class _LiveAnswer:
    """`llmbench test` on a terminal: a spinner until the first token, then the tokens live."""

    def __init__(self, target: Target, console: Console) -> None:
        self.target = target
        self.console = console
        self._status: Status | None = None
        self._printed = False

    def start(self, streamed: bool) -> None:
        how = "streaming from" if streamed else "waiting for"
        self._status = self.console.status(Text(f"{how} {self.target.id} …"), spinner="dots")
        self._status.start()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def event(self, kind: str, text: str) -> None:
        if not text or kind not in ("text", "reasoning", "refusal"):
            return
        self.stop()
        style = {"reasoning": "dim italic", "refusal": "red"}.get(kind)
        self.console.print(Text(text, style=style or ""), end="", soft_wrap=True)
        self._printed = True
        self.console.file.flush()

    def summary(self, completion: Completion) -> None:
        if not self._printed:
            self.console.print(Text(completion.refusal or completion.text), end="", soft_wrap=True)
        self.console.print()
        for call in completion.tool_calls:
            self.console.print(Text(f"tool call: {call.name}({json.dumps(call.arguments)})"))
        self.console.print()
        self.console.print(summary_table(self.target, completion))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def summary_table(target: Target, completion: Completion) -> Table:
    """Usage, timings and cost of one answer."""
    metrics = completion.metrics
    usage = completion.usage
    estimated = " (estimated)" if metrics.usage_estimated else ""
    tokens = (
        f"{usage.input_tokens} in / {usage.output_tokens} out{estimated}"
        if usage is not None
        else f"{metrics.output_tokens} out{estimated}"
    )
    tps = "-" if metrics.output_tps is None else f"{metrics.output_tps:,.1f}"
    cost = "-" if metrics.cost_usd is None else f"${metrics.cost_usd:.6f}"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    table.add_column(style="dim")
    table.add_column()
    table.add_row("model", target.id, "finish", completion.finish_reason)
    table.add_row("tokens", tokens, "cost", cost)
    table.add_row("TTFT", _ms(metrics.ttft_ms), "ITL", _ms(metrics.itl_ms))
    table.add_row("tokens/s", tps, "e2e", _ms(metrics.e2e_ms))
    return table


# -- llmbench run ----------------------------------------------------------------------------


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


class _Stopper:
    """Ctrl-C / SIGTERM during a run: stop dispatching, give in-flight requests a grace period.

    A second signal, or the end of the grace period, cancels what is still running.
    """

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.signal: int | None = None
        self.run: LoadRun | None = None
        self.task: asyncio.Future[RunStats] | None = None
        self._event = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, signum: int) -> None:
        if self.signal is not None:
            self._cancel()
            return
        self.signal = signum
        name = signal.Signals(signum).name
        _error(
            f"\n{name}: stopping; waiting up to {self.grace_s:g} s for requests in flight "
            "(again to stop now)"
        )
        self._event.set()
        if self.run is not None:
            self.run.stop()
        self._timer = asyncio.get_running_loop().call_later(self.grace_s, self._cancel)

    def watch(self, run: LoadRun | None, task: asyncio.Future[RunStats] | None) -> None:
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
def _signals_to(handler: Callable[[int], None]) -> Iterator[None]:
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


@dataclass
class _LiveRow:
    """The live figures of one provider:model on the progress bar."""

    started: float = field(default_factory=time.time)
    ttft: list[float] = field(default_factory=list)
    output_tokens: int = 0
    errors: int = 0

    def add(self, metrics: RequestMetrics) -> str:
        if metrics.error is not None:
            self.errors += 1
        else:
            if metrics.ttft_ms is not None:
                bisect.insort(self.ttft, metrics.ttft_ms)  # kept sorted for the live p50
            self.output_tokens += metrics.output_tokens
        return self.text()

    def text(self) -> str:
        ttft = f"{percentile(self.ttft, 50):,.0f} ms" if self.ttft else "-"
        elapsed = time.time() - self.started
        tps = f"{self.output_tokens / elapsed:,.1f}" if elapsed > 0 else "-"
        return f"TTFT p50 {ttft} · {tps} tok/s · {self.errors} errors"


def _parse_targets(config: Config, values: list[str]) -> list[Target]:
    targets: list[Target] = []
    for value in split_names(values):
        name, model_id = _split_target(value)
        provider = _provider(config, name, "--provider")
        if model_id is None:
            targets += [Target(provider, m) for m in provider.default_models()]
        else:
            targets.append(Target(provider, _model(provider, model_id, "--provider")))
    return targets


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
        arrivals=(arrivals or ArrivalsOption.poisson).value,
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


@app.command()
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
            "--arrivals", case_sensitive=False, help="with --rate", show_default="poisson"
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
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> int:
    """Send prompts at a concurrency or rate; per-request CSV and a summary per provider:model."""
    state = _state(ctx, verbose)
    loaded = _load(config)
    try:
        shape = _shape(requests, duration, concurrent, rate, arrivals, warmup, seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if provider:
        targets = _parse_targets(loaded, provider)
    else:
        targets = [_choose_target(loaded, None, None, param="--provider")]
    output = output or Path(default_csv_name())
    for path, option in ((output, "--output"), (html, "--html"), (log_file, "--log-file")):
        if path is not None:
            _check_writable(path, option)
    for target in targets:
        _require_credentials(target.provider)

    plan = _LoadPlan(
        name=run_name(prompts, shape),
        prompts=load_prompts(prompts),
        selection=selection,
        seed=seed,
        max_tokens=max_tokens,
        stream=stream,
        shape=shape,
        grace_s=grace,
    )
    meta = RunMeta(config=loaded.path, mode="live", command=["llmbench", *state.argv])
    log_opened = log_file.open("w", encoding="utf-8") if log_file else contextlib.nullcontext()
    with log_opened as log_stream:
        done = asyncio.run(_load_targets(state, targets, plan, Console(stderr=True), log_stream))
    meta.finished_at = time.time()
    results = Results(meta=meta, runs=done.runs)
    _write_reports(results, output, html, summary_format)
    for stats in done.runs:
        for kind, first in first_errors(stats.requests).items():
            _error(f"{stats.id}: {stats.errors.get(kind, 0)} x {kind}: {first}")
    if done.stopped_by is not None:
        return done.stopped_by
    for stats in done.runs:
        if stats.count and not stats.ok:  # every request failed: exit as the commonest error
            commonest = max(stats.errors, key=lambda kind: stats.errors[kind])
            return _exit_code_for_name(commonest)
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

    def requests(self, model: ModelConfig) -> RequestSource:
        """The same prompt sequence for every model (so their runs compare)."""
        stream = model.supports("streaming") if self.stream is None else self.stream
        for prompt in prompt_stream(self.prompts, self.selection.value, self.seed):
            yield prompt.id, prompt.request(max_tokens=self.max_tokens, stream=stream)


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
    stopper = _Stopper(plan.grace_s)
    done = _LoadDone(runs=[], stopped_by=None)
    with _signals_to(stopper), _progress(console) as progress:
        for target in targets:
            if stopper.signal is not None:
                break
            async with _client(state, target) as client:
                live = _LiveProgress(progress, target, plan.shape, log_stream)
                stats = await _run_one(client, target, plan, stopper, live)
            done.runs.append(stats)
    stopper.close()
    if stopper.signal is not None:
        done.stopped_by = stopper.exit_code
    return done


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[live]}"),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with progress:
        yield progress


class _LiveProgress:
    """One target's progress bar with live TTFT p50, tokens/s and errors; the log lines."""

    def __init__(
        self, progress: Progress, target: Target, shape: LoadShape, log_stream: IO[str] | None
    ) -> None:
        self.progress = progress
        self.target = target
        self.log_stream = log_stream
        self.row = _LiveRow()
        self.task_id = progress.add_task(target.id, total=shape.count, live="")

    def __call__(self, metrics: RequestMetrics) -> None:
        self.progress.update(self.task_id, advance=1, live=self.row.add(metrics))
        if self.log_stream is not None:
            self.log_stream.write(metrics.model_dump_json() + "\n")
            self.log_stream.flush()  # readable while the run goes on
        log.info(
            "%s prompt=%s status=%s ttft_ms=%s e2e_ms=%s error=%s",
            self.target.id,
            metrics.prompt_id,
            metrics.status,
            metrics.ttft_ms,
            metrics.e2e_ms,
            metrics.error,
        )

    def finish(self, stats: RunStats) -> None:
        if self.progress.disable:  # no bar on a pipe: one line per target instead
            _error(
                f"{self.target.id}: {stats.count} requests, {stats.ok} ok, "
                f"{stats.error_count} errors"
            )


async def _run_one(
    client: LLMClient, target: Target, plan: _LoadPlan, stopper: _Stopper, live: _LiveProgress
) -> RunStats:
    """One LoadRun; when cancelled after a stop, the stats of the requests that finished."""
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
        stats = RunStats.from_metrics(
            load.results,
            wall_s=time.perf_counter() - started,
            name=plan.name,
            provider=target.provider.name,
            model=target.model.id,
            dispatch_lags_ms=load.lags_ms,
        )
    finally:
        stopper.watch(None, None)
    live.finish(stats)
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
    _error(f"wrote {rows} request rows to {output}")
    if html is not None:
        reports.write_html(html, results)
        _error(f"wrote HTML report to {html}")
    if summary_format is SummaryFormat.table:
        reports.render_terminal(results, Console(), detailed=True)
    elif summary_format is SummaryFormat.csv:
        sys.stdout.write(output.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="llmbench-") as tmp:
            path = Path(tmp) / "results.json"
            reports.write_json(path, results)
            sys.stdout.write(path.read_text(encoding="utf-8").rstrip("\n") + "\n")
    sys.stdout.flush()


# -- llmbench validate -----------------------------------------------------------------------


@dataclass
class _Check:
    provider: ProviderConfig
    outcome: str  # ok, failed, skipped
    detail: str
    code: int = EXIT_OK


async def _check(state: CliState, provider: ProviderConfig) -> _Check:
    missing = provider.missing_credentials()
    if missing:
        return _Check(provider, "skipped", f"{missing} is not set", EXIT_AUTHENTICATION)
    target = Target(provider, provider.model())
    try:
        async with _client(state, target) as client:
            completion = await client.validate()
    except errors.ProviderError as error:
        return _Check(provider, "failed", str(error), exit_code_for(error))
    metrics = completion.metrics
    return _Check(provider, "ok", f"{target.id} answered in {_ms(metrics.e2e_ms)}")


@app.command()
def validate(
    ctx: typer.Context,
    provider: Annotated[
        str | None,
        typer.Argument(metavar="PROVIDER", help="check only this provider", show_default="all"),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> int:
    """Check models.toml, then send one minimal request per provider whose credentials are set."""
    state = _state(ctx, verbose)
    loaded = _load(config)
    model_count = sum(len(p.models) for p in loaded.providers.values())
    sys.stdout.write(
        f"config ok: {loaded.path} ({len(loaded.providers)} providers, {model_count} models)\n"
    )
    if provider is not None:
        providers = [_provider(loaded, provider, "PROVIDER")]
    else:
        providers = list(loaded.providers.values())

    async def check_all() -> list[_Check]:
        return list(await asyncio.gather(*(_check(state, p) for p in providers)))

    try:
        checks = asyncio.run(check_all())
    except KeyboardInterrupt:
        raise _interrupted() from None
    width = max(len(c.provider.name) for c in checks)
    console = Console(highlight=False)
    colours = {"ok": "green", "failed": "red", "skipped": "yellow"}
    for check in checks:
        line = Text(f"{check.provider.name:<{width}}  ")
        line.append(f"{check.outcome:<7}", style=colours[check.outcome])
        line.append(f"  {secrets.redact(check.detail)}")
        console.print(line, soft_wrap=True)
    failed = [c for c in checks if c.outcome == "failed"]
    if failed:
        return failed[0].code
    if provider is not None and checks[0].outcome == "skipped":
        return checks[0].code  # the one provider asked for could not be checked
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
