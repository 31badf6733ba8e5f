"""Cassette files: read, and write atomically under a per-file lock (safe under pytest-xdist).

A write goes to a temporary file in the cassette's directory and is renamed over the cassette,
so a reader sees the old file or the new one, never half of one. The lock serialises writers
of one cassette across processes, so a merging writer re-reads what another just wrote.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import filelock

from pytest_llmbench.cassettes.errors import CassetteError
from pytest_llmbench.cassettes.serialization import Interaction, loads
from pytest_llmbench.files import write_text_atomically

LOCK_TIMEOUT_S = 60.0


def read_interactions(path: Path) -> list[Interaction]:
    """The interactions stored at `path`; none when the file is missing.

    An empty file is an error, not "no cassette": a test would be skipped in silence.
    """
    __tracebackhide__ = True  # its locals hold the file's text
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError as exc:
        raise CassetteError(
            f"{path}: not a readable cassette: byte {exc.start} is not UTF-8 text; "
            "delete it and re-record with --llm-record-mode=rewrite"
        ) from None
    if not text.strip():
        raise CassetteError(
            f"{path}: empty cassette file (0 interactions, no YAML); "
            "delete it, or re-record it with --llm-record-mode=rewrite"
        )
    return loads(text, str(path))


def lock_path(path: Path) -> Path:
    """The lock file that guards writes to `path`.

    It lives in the temporary directory, keyed by the cassette's absolute path, so cassette
    directories (usually committed) do not collect lock files.
    """
    key = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    owner = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"pytest-llmbench-locks-{owner}" / f"{key}.lock"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the cassette's inter-process write lock."""
    lock_file = lock_path(path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(lock_file), timeout=LOCK_TIMEOUT_S):
            yield
    except filelock.Timeout:
        raise CassetteError(
            f"{path}: another process held its write lock ({lock_file}) "
            f"for more than {LOCK_TIMEOUT_S:g}s"
        ) from None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename; the directory is created if needed.

    Call it under `locked(path)`: temporary files of this cassette left by a writer that was
    killed mid-write are removed first (no live writer can own one while the lock is held).
    """
    remove_stale_temp_files(path)
    write_text_atomically(path, text)


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete the temporary files an interrupted write of `path` left beside it."""
    removed = []
    # write_text_atomically names them ".<name>.<random>.tmp"; nothing reads them.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed
