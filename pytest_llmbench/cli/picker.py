"""The arrow-key picker: one of many options chosen with the arrow keys on a POSIX terminal.

`llmbench` asks with it for a missing provider (and model). `Picker` holds the state and what
a key does, `parse_keys` turns terminal bytes into keys, `pick` runs it on a terminal in
cbreak mode; `interactive` says whether a person is there to answer.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
from collections.abc import Sequence
from typing import IO

__all__ = ["Picker", "interactive", "parse_keys", "pick"]


def interactive() -> bool:
    """Whether a person can answer a picker: stdin and stdout are terminals (and POSIX ones)."""
    if sys.platform == "win32":
        return False  # the picker uses termios
    return _isatty(sys.stdin) and _isatty(sys.stdout)


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


class Picker:
    """The state of a one-of-many choice: which line is highlighted, what a key does."""

    def __init__(self, title: str, options: Sequence[str], index: int = 0) -> None:
        if not options:
            raise ValueError("nothing to choose from")
        self.title = title
        self.options = list(options)
        self.index = index
        self.top = 0  # first visible option when the list is longer than the screen

    def press(self, key: str) -> bool:
        """Apply a key (see `parse_keys`); True once the choice is made."""
        if key in ("up", "k"):
            self.index = (self.index - 1) % len(self.options)
        elif key in ("down", "j"):
            self.index = (self.index + 1) % len(self.options)
        elif key == "home":
            self.index = 0
        elif key == "end":
            self.index = len(self.options) - 1
        elif key == "enter":
            return True
        elif key in ("cancel", "q"):
            raise KeyboardInterrupt
        return False

    def lines(self, height: int, width: int) -> list[str]:
        """The picker as screen lines, at most `height` (>= 2) of at most `width` characters."""
        visible = max(1, min(len(self.options), height - 1))
        if self.index < self.top:
            self.top = self.index
        elif self.index >= self.top + visible:
            self.top = self.index - visible + 1
        out = [f"? {self.title} (↑/↓, Enter; Esc to cancel)"]
        for i in range(self.top, self.top + visible):
            mark = "❯ " if i == self.index else "  "
            out.append(mark + self.options[i])
        return [line[: max(1, width - 1)] for line in out]


_KEYS = {
    b"\x1b[A": "up",
    b"\x1bOA": "up",
    b"\x1b[B": "down",
    b"\x1bOB": "down",
    b"\x1b[H": "home",
    b"\x1b[F": "end",
    b"\r": "enter",
    b"\n": "enter",
    b"\x03": "cancel",
    b"\x04": "cancel",
}


def parse_keys(data: bytes) -> tuple[list[str], bytes]:
    """Keys in terminal input, and an incomplete escape sequence left over at the end."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        for sequence, key in _KEYS.items():
            if data.startswith(sequence, i):
                keys.append(key)
                i += len(sequence)
                break
        else:
            if data[i : i + 1] == b"\x1b":
                rest = data[i:]
                if any(s.startswith(rest) for s in _KEYS if len(s) > len(rest)):
                    return keys, rest  # wait for the rest of the sequence
                if rest[1:2] in (b"[", b"O") and len(rest) >= 3:
                    i += 3  # another CSI/SS3 key we do not use
                    continue
                keys.append("cancel")
                i += 1
                continue
            keys.append(data[i : i + 1].decode("latin-1"))
            i += 1
    return keys, b""


def pick(
    title: str,
    options: Sequence[str],
    index: int = 0,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Ask for one of `options` with the arrow keys; the chosen index. Ctrl-C/Esc interrupts.

    The terminal is in cbreak mode (no echo, keys one by one, Ctrl-C still a signal) only while
    the picker is shown.
    """
    import termios
    import tty

    picker = Picker(title, options, index)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    drawn = 0

    def draw() -> None:
        nonlocal drawn
        size = shutil.get_terminal_size()
        lines = picker.lines(size.lines - 1, size.columns)
        up = f"\x1b[{drawn}F" if drawn else "\r"
        stdout.write(up + "\x1b[J" + "\n".join(lines) + "\n")
        stdout.flush()
        drawn = len(lines)

    stdout.write("\x1b[?25l")  # hide the cursor
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        draw()
        pending = b""
        while True:
            timeout = 0.05 if pending else None
            ready, _, _ = select.select([fd], [], [], timeout)
            data = os.read(fd, 64) if ready else b""
            if ready and not data:
                raise KeyboardInterrupt  # the terminal went away
            keys, pending = parse_keys(pending + data)
            if not ready and pending:
                keys, pending = [*keys, "cancel"], b""  # a lone Esc
            for key in keys:
                if picker.press(key):
                    return picker.index
            draw()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if drawn:
            stdout.write(f"\x1b[{drawn}F\x1b[J")  # wipe the list
        stdout.write("\x1b[?25h")
        stdout.flush()
