"""Atomic file writes: a reader (or a crash) never sees half a cassette or half a report."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path | str, text: str) -> None:
    """Replace `path` with `text` in one rename; missing parent directories are created.

    The file keeps its mode if it existed (else the usual 0644); line endings are written as
    given (CSV rows end in \\r\\n).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename below
        "w",
        encoding="utf-8",
        newline="",
        dir=target.parent,
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # NamedTemporaryFile is private (0600); the result is an ordinary, shareable file.
        os.chmod(handle.name, mode)
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
