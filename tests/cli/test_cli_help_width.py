"""`llmbench --help` reads well in an 80-column terminal: one option a line, help beside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import TIMEOUT_S, llmbench_argv, subprocess_env


def help_text(*command: str, cwd: Path) -> str:
    result = subprocess.run(
        llmbench_argv(*command, "--help"),
        cwd=cwd,
        env=subprocess_env(COLUMNS="80"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("command", [(), ("run",), ("test",), ("models",), ("validate",)])
def test_help_fits_80_columns(command: tuple[str, ...], tmp_path: Path) -> None:
    text = help_text(*command, cwd=tmp_path)
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_an_option_help_is_not_squeezed_into_a_thin_column(tmp_path: Path) -> None:
    lines = help_text("run", cwd=tmp_path).splitlines()
    [start] = [i for i, line in enumerate(lines) if "--provider" in line]
    # "PROVIDER or PROVIDER:MODEL (repeatable; runs one after another)": at most two lines
    assert "PROVIDER or PROVIDER:MODEL" in lines[start]
    assert "one after another" in lines[start] + lines[start + 1]
