"""When and how long to wait before trying a failed request again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_llmbench.errors import ProviderError


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; the server's Retry-After wins when it gives one.

    Only retryable errors (rate limit, overloaded/5xx, connection, timeout) are retried.
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
            return min(error.retry_after, self.max_retry_after_s)
        ceiling: float = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        return self.random() * ceiling
