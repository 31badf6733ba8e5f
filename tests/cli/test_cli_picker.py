"""The arrow-key picker that asks for a missing provider (and model) on a terminal."""

from __future__ import annotations

import os
import pty
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from pytest_llmbench.cli.picker import Picker, parse_keys, pick

TIMEOUT_S = 10


def test_keys_are_parsed_from_terminal_bytes() -> None:
    assert parse_keys(b"\x1b[B\x1b[Bj\x1b[A\r") == (["down", "down", "j", "up", "enter"], b"")
    assert parse_keys(b"\x1bOB\n") == (["down", "enter"], b"")  # application cursor mode
    assert parse_keys(b"\x03") == (["cancel"], b"")


def test_an_incomplete_escape_sequence_waits_for_more() -> None:
    assert parse_keys(b"\x1b[") == ([], b"\x1b[")
    assert parse_keys(b"\x1b[" + b"B") == (["down"], b"")


def test_escape_alone_cancels() -> None:
    assert parse_keys(b"\x1bx") == (["cancel", "x"], b"")


def test_arrows_move_and_wrap_around() -> None:
    picker = Picker("Choose", ["a", "b", "c"])
    assert not picker.press("down")
    assert picker.index == 1
    picker.press("up")
    picker.press("up")
    assert picker.index == 2
    assert picker.press("enter")


def test_cancel_interrupts() -> None:
    with pytest.raises(KeyboardInterrupt):
        Picker("Choose", ["a"]).press("cancel")


def test_lines_mark_the_current_option_and_scroll() -> None:
    picker = Picker("Choose", [f"option {i}" for i in range(10)], index=7)
    lines = picker.lines(height=4, width=80)
    assert len(lines) == 4
    assert lines[0].startswith("? Choose")
    assert lines[-1] == "❯ option 7"
    assert lines[1:3] == ["  option 5", "  option 6"]


def test_lines_are_cut_to_the_width() -> None:
    lines = Picker("Choose", ["x" * 200]).lines(height=10, width=40)
    assert all(len(line) < 40 for line in lines)


@dataclass
class Terminal:
    """The controlling side of a pseudo-terminal whose other side runs the picker."""

    master: int
    slave: int
    output: bytearray = field(default_factory=bytearray)
    outcome: dict[str, object] = field(default_factory=dict)
    thread: threading.Thread | None = None

    def read_until(self, needle: bytes) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while needle not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {needle!r}; got {bytes(self.output)!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                self.output += os.read(self.master, 4096)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self) -> dict[str, object]:
        """What the picker returned, once it has."""
        assert self.thread is not None
        self.thread.join(TIMEOUT_S)
        assert not self.thread.is_alive(), "the picker did not return"
        return self.outcome


@contextmanager
def picker_on_a_pty(options: list[str], index: int = 0) -> Iterator[Terminal]:
    master, slave = pty.openpty()
    terminal = Terminal(master, slave)
    stdin = os.fdopen(slave, "r", closefd=False)
    stdout = os.fdopen(slave, "w", closefd=False)

    def run() -> None:
        try:
            terminal.outcome["index"] = pick(
                "Choose a provider", options, index, stdin=stdin, stdout=stdout
            )
        except KeyboardInterrupt:
            terminal.outcome["interrupted"] = True

    terminal.thread = threading.Thread(target=run, daemon=True)
    terminal.thread.start()
    try:
        yield terminal
    finally:
        terminal.wait()
        os.close(master)
        os.close(slave)


def test_pick_on_a_terminal_returns_the_chosen_index() -> None:
    with picker_on_a_pty(["openai", "local", "groq"]) as terminal:
        terminal.read_until(b"openai")
        terminal.send(b"\x1b[B")
        terminal.read_until(b"\xe2\x9d\xaf local")  # the marker moved
        terminal.send(b"\r")
        assert terminal.wait() == {"index": 1}
        terminal.read_until(b"\x1b[?25h")
    assert terminal.output.endswith(b"\x1b[4F\x1b[J\x1b[?25h")  # the list is wiped


def test_pick_starts_on_the_given_option() -> None:
    with picker_on_a_pty(["a", "b", "c"], index=2) as terminal:
        terminal.read_until(b"\xe2\x9d\xaf c")
        terminal.send(b"\r")
        assert terminal.wait() == {"index": 2}


def test_escape_on_a_terminal_cancels() -> None:
    with picker_on_a_pty(["a", "b"]) as terminal:
        terminal.read_until(b"Choose")
        terminal.send(b"\x1b")
        assert terminal.wait() == {"interrupted": True}


def test_the_terminal_is_restored_after_picking() -> None:
    import termios

    with picker_on_a_pty(["a"]) as terminal:
        terminal.read_until(b"Choose")
        assert not termios.tcgetattr(terminal.slave)[3] & termios.ECHO  # keys are not echoed
        terminal.send(b"\r")
        assert terminal.wait() == {"index": 0}
        assert termios.tcgetattr(terminal.slave)[3] & termios.ECHO
        terminal.read_until(b"\x1b[?25h")  # the cursor is shown again
