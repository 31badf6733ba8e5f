"""CassetteError: a cassette cannot be read, matched or written."""

from __future__ import annotations

from pytest_llmbench import secrets
from pytest_llmbench.errors import LLMBenchError


class CassetteError(LLMBenchError):
    """A cassette problem; the message names the file (and line or field) and how to fix it.

    Messages pass through `secrets.redact`, so a credential never reaches a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(secrets.redact(message))
