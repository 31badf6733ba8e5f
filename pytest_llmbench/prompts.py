"""Prompt sources for load runs: a list, a file (txt, JSONL, YAML), or a directory of them.

- `.txt`: one prompt a line (blank lines and `#` comments skipped);
- `.jsonl`: one object a line: `{"id": ..., "prompt": "..."}` or `{"id": ..., "messages": [...]}`,
  optionally with `max_tokens`;
- `.yaml`/`.yml`: `prompts:` a list of the same objects (see prompts/*.yaml).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.types import Message, Request

Selection = Literal["sequential", "random"]
SUFFIXES = (".txt", ".jsonl", ".yaml", ".yml")


class PromptFileError(LLMBenchError):
    """A prompt file that cannot be read; names the file, the line or entry, and the fix."""


@dataclass(frozen=True)
class Prompt:
    id: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None

    def request(self, *, max_tokens: int | None, stream: bool, **fields: Any) -> Request:
        return Request(
            messages=list(self.messages),
            max_tokens=self.max_tokens or max_tokens,
            stream=stream,
            **fields,
        )


def prompt_of(text: str, prompt_id: str) -> Prompt:
    return Prompt(prompt_id, (Message(role="user", content=text),))


def _entry(entry: Any, where: str) -> Prompt:
    if not isinstance(entry, dict):
        raise PromptFileError(f"{where}: expected an object with 'prompt' or 'messages'")
    prompt_id = str(entry.get("id", where))
    max_tokens = entry.get("max_tokens")
    if "messages" in entry:
        try:
            messages = tuple(Message.model_validate(m) for m in entry["messages"])
        except (TypeError, ValueError) as error:
            raise PromptFileError(f"{where}: invalid messages: {error}") from None
    elif isinstance(entry.get("prompt"), str):
        messages = (Message(role="user", content=entry["prompt"]),)
    else:
        raise PromptFileError(f"{where}: needs a 'prompt' string or a 'messages' list")
    if max_tokens is not None and not (isinstance(max_tokens, int) and max_tokens > 0):
        raise PromptFileError(f"{where}: max_tokens must be a positive integer")
    return Prompt(prompt_id, messages, max_tokens)


def load_prompts(path: str | Path) -> list[Prompt]:
    """All prompts of a file or of every prompt file in a directory (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES)
        if not files:
            raise PromptFileError(f"{path}: no prompt files ({', '.join(SUFFIXES)}) in directory")
        return [prompt for file in files for prompt in load_prompts(file)]
    if not path.exists():
        raise PromptFileError(f"{path}: no such prompt file")
    text = path.read_text(encoding="utf-8")
    stem = path.stem
    if path.suffix == ".txt":
        lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
        prompts = [
            prompt_of(line, f"{stem}:{n}") for n, line in lines if line and not line.startswith("#")
        ]
    elif path.suffix == ".jsonl":
        prompts = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as error:
                raise PromptFileError(f"{path}:{number}: not valid JSON ({error})") from None
            prompts.append(_entry(entry, f"{path}:{number}"))
    elif path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PromptFileError(f"{path}: not valid YAML: {error}") from None
        entries = data.get("prompts") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise PromptFileError(f"{path}: expected a top-level 'prompts:' list")
        prompts = [_entry(e, f"{path}: prompts[{i}]") for i, e in enumerate(entries)]
    else:
        raise PromptFileError(f"{path}: unknown prompt file type; use {', '.join(SUFFIXES)}")
    if not prompts:
        raise PromptFileError(f"{path}: no prompts in file")
    return prompts


def prompt_stream(
    prompts: Sequence[Prompt], selection: Selection = "sequential", seed: int | None = None
) -> Iterator[Prompt]:
    """An endless stream of prompts: in order (cycling) or randomly (seeded)."""
    if not prompts:
        raise PromptFileError("no prompts to run")
    if selection == "random":
        rng = random.Random(seed)
        while True:
            yield rng.choice(prompts)
    while True:
        yield from prompts


def prompt_requests(
    prompts: Sequence[Prompt],
    selection: Selection = "sequential",
    seed: int | None = None,
    *,
    max_tokens: int | None,
    stream: bool,
) -> Iterator[tuple[str, Request]]:
    """An endless stream of (prompt id, request) for a load run, as `prompt_stream` orders them."""
    for prompt in prompt_stream(prompts, selection, seed):
        yield prompt.id, prompt.request(max_tokens=max_tokens, stream=stream)
