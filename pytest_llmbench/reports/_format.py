"""Number formatting shared by the terminal and HTML reports, so both show the same figures."""

from __future__ import annotations

import datetime as dt
import math

MISSING = "–"


def quantity(value: float | None) -> str:
    """A latency (ms) or a rate (tokens/s): three significant figures or so, no exponent."""
    if value is None:
        return MISSING
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def usd(value: float | None) -> str:
    """A cost in dollars, with enough decimals for fractions of a cent; unknown (None, NaN): –."""
    if value is None or math.isnan(value):
        return MISSING
    if value == 0:
        return "0"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    # At least 4 decimals, and 2 significant digits for fractions of a hundredth of a cent.
    decimals = min(max(4, 1 - math.floor(math.log10(abs(value)))), 10)
    return f"{value:.{decimals}f}"


def percent(fraction: float | None) -> str:
    """A fraction shown as a percentage: 0.015 -> 1.5%."""
    if fraction is None:
        return MISSING
    return f"{fraction * 100:.1f}%"


def signed_percent(value: float | None) -> str:
    """A change already in percent, with its sign: +12.5%."""
    if value is None:
        return MISSING
    return f"{value:+.1f}%"


def utc_timestamp(epoch_s: float | None) -> str:
    """ISO 8601 in UTC, or empty for an unset (zero or None) wall clock."""
    if not epoch_s:
        return ""
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.timezone.utc).isoformat()
