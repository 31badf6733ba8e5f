"""When and how long to wait before trying a failed request again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_llmbench.errors import ProviderError


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; the server's Retry-After wins when it gives one.

    Only retryable errors (rate limit, overloaded/5xx, connection, timeout) are retried. A
    Retry-After longer than `max_retry_after_s` is not slept through: the error is raised at
    once, with its `retry_after` telling the caller how long the server asked to wait.
    """

    max_retries: int = 2
    base_s: float = 0.5
    cap_s: float = 30.0
    max_retry_after_s: float = 120.0
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None: do not retry."""
        if not error.retryable or attempt > self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after_s else None
        ceiling: float = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        return self.random() * ceiling

    def why_not(self, error: ProviderError, attempt: int) -> str:
        """Why a retryable `error` is not retried at retry number `attempt` (for its hint)."""
        if error.retry_after is not None and error.retry_after > self.max_retry_after_s:
            return (
                f"not retried: the server asked to wait {error.retry_after:g} s, more than "
                f"the {self.max_retry_after_s:g} s a retry may wait"
            )
        if self.max_retries == 0:
            return "not retried: max_retries = 0 in models.toml"
        return f"gave up after {attempt - 1} retries (max_retries = {self.max_retries})"
