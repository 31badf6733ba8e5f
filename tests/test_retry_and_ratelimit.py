"""Retry policy (what is retried, how long to wait) and the client-side rate limiter."""

from __future__ import annotations

import pytest

from pytest_llmbench import errors
from pytest_llmbench.ratelimit import RateLimiter, TokenBucket
from pytest_llmbench.retry import RetryPolicy


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (errors.RateLimitError("x"), True),
        (errors.ServerError("x"), True),
        (errors.ConnectionError("x"), True),
        (errors.TimeoutError("x"), True),
        (errors.InvalidRequestError("x"), False),
        (errors.ContextLengthExceededError("x"), False),
        (errors.AuthenticationError("x"), False),
        (errors.StreamInterruptedError("x"), False),
        (errors.MalformedResponseError("x"), False),
    ],
)
def test_only_retryable_errors_are_retried(error: errors.ProviderError, retried: bool) -> None:
    assert (RetryPolicy(max_retries=3).delay(error, 1) is not None) is retried


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=10, base_s=0.5, cap_s=4.0, random=lambda: 1.0)
    error = errors.ServerError("x")
    assert [policy.delay(error, n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    jittered = RetryPolicy(max_retries=3, base_s=0.5, random=lambda: 0.25)
    assert jittered.delay(error, 3) == 0.25 * 2.0


def test_retry_after_wins_when_within_the_cap() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after_s=60)
    assert policy.delay(errors.RateLimitError("x", retry_after=7), 1) == 7


def test_retry_after_beyond_the_cap_is_not_retried_at_all() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after_s=60)
    error = errors.RateLimitError("x", retry_after=600)
    assert policy.delay(error, 1) is None
    assert "asked to wait 600 s" in policy.why_not(error, 1)


def test_no_retry_beyond_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(errors.ServerError("x"), 3) is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_requests_per_minute_are_spaced_once_the_burst_is_used() -> None:
    time = FakeTime()
    limiter = RateLimiter(rpm=60, tpm=None, clock=time.clock, sleep=time.sleep)
    for _ in range(60):
        assert await limiter.acquire() == 0  # a full bucket allows a minute's burst
    assert await limiter.acquire() == pytest.approx(1.0)  # then one per second
    assert time.slept == [pytest.approx(1.0)]


async def test_tokens_per_minute_limit_waits_for_the_budget() -> None:
    time = FakeTime()
    limiter = RateLimiter(rpm=None, tpm=600, clock=time.clock, sleep=time.sleep)
    assert await limiter.acquire(500) == 0
    waited = await limiter.acquire(200)  # 100 left, 100 more needed at 10 tokens/s
    assert waited == pytest.approx(10.0)


def test_bucket_never_asks_for_more_than_its_capacity() -> None:
    bucket = TokenBucket(10, clock=lambda: 0.0)
    bucket.take(10)
    assert bucket.wait_time(1000) == pytest.approx(60.0)  # a request larger than a minute's budget
