"""Client-side rate limiting: requests and tokens per minute, as async token buckets.

Loop-agnostic on purpose (no asyncio primitives are kept), so one limiter per provider can be
shared by clients on different event loops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """`capacity` tokens refilled evenly over a minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` tokens are there (0 when they are)."""
        self._refill()
        amount = min(amount, self.capacity)
        return 0.0 if self._tokens >= amount else (amount - self._tokens) / self.rate

    def take(self, amount: float) -> None:
        self._tokens -= min(amount, self.capacity)


class RateLimiter:
    """Waits until both the request and the token budget allow one more request."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.requests = TokenBucket(rpm, clock) if rpm else None
        self.tokens = TokenBucket(tpm, clock) if tpm else None
        self._sleep = sleep

    async def acquire(self, tokens: int = 0) -> float:
        """Wait for room for one request of about `tokens` tokens; returns seconds waited."""
        waited = 0.0
        while True:
            wait = max(
                self.requests.wait_time(1) if self.requests else 0.0,
                self.tokens.wait_time(tokens) if self.tokens else 0.0,
            )
            if wait <= 0:
                break
            await self._sleep(wait)
            waited += wait
        if self.requests:
            self.requests.take(1)
        if self.tokens:
            self.tokens.take(tokens)
        return waited
