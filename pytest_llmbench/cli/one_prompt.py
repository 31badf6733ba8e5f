"""`llmbench test`: one prompt to one model, the answer shown live or as JSON or plain text."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from pytest_llmbench.cli.answer import LiveAnswer
from pytest_llmbench.cli.context import (
    CliState,
    ConfigOption,
    VerboseOption,
    client_for,
    command_state,
    load_config_option,
    require_credentials,
)
from pytest_llmbench.cli.exits import EXIT_OK, UsageError, interrupted_exit
from pytest_llmbench.cli.targets import choose_target
from pytest_llmbench.selection import Target, split_target
from pytest_llmbench.types import Completion, Message, Request


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
    state = command_state(ctx, verbose)
    loaded = load_config_option(config)
    name, model_in_name = split_target(provider) if provider is not None else (None, None)
    if model_in_name and model and model_in_name != model:
        raise UsageError(f"PROVIDER names model {model_in_name!r} but --model says {model!r}")
    target = choose_target(loaded, name, model or model_in_name, param="PROVIDER")
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
    require_credentials(target.provider)
    pretty = output_format is OutputFormat.pretty
    live_answer = LiveAnswer(target, Console()) if pretty else None
    try:
        completion = asyncio.run(_ask(state, target, request, output_format, live_answer))
    except KeyboardInterrupt:
        raise interrupted_exit() from None  # _ask has stopped the spinner
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
    live_answer: LiveAnswer | None,
) -> Completion:
    async with client_for(state, target) as client:
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
