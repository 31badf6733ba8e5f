"""`python -m pytest_llmbench`: the `llmbench` command."""

from __future__ import annotations

from pytest_llmbench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
