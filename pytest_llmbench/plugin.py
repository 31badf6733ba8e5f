"""pytest wiring: options, markers and fixtures. Logic lives in the plain modules."""

from __future__ import annotations
