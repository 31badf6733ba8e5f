"""One error taxonomy for every provider.

Each error carries the provider name, the HTTP status (None when no response came), the
provider's own error type/code and message, and a one-line hint for the user. Messages pass
through `secrets.redact`, so a key echoed by a server never reaches a traceback.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import ClassVar

from pytest_llmbench import secrets


class LLMBenchError(Exception):
    """Base of every error this package raises on purpose."""


class ProviderError(LLMBenchError):
    """A provider call failed. Subclasses say how; `retryable` says whether to try again."""

    retryable: ClassVar[bool] = False
    default_hint: ClassVar[str] = ""
    # Sends before this failure, beyond the first: retries and stale-connection resends.
    retries: int = 0

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = secrets.redact(message)
        self.provider = provider
        self.status = status
        self.code = code
        self.hint = hint if hint is not None else self.default_hint
        self.retry_after = retry_after
        super().__init__(self.message)

    def __str__(self) -> str:
        where = self.provider or "provider"
        status = f" HTTP {self.status}" if self.status is not None else ""
        code = f" [{self.code}]" if self.code else ""
        hint = f"\n  hint: {self.hint}" if self.hint else ""
        return secrets.redact(f"{where}{status}{code}: {self.message}{hint}")

    def __repr__(self) -> str:
        return secrets.redact(
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"code={self.code!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments need help to survive pickling (pytest-xdist sends errors).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[ProviderError], message: str, state: dict[str, object]) -> ProviderError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(ProviderError):
    default_hint = "check that the API key variable is set to a valid key"


class PermissionDeniedError(ProviderError):
    default_hint = "the key is valid but may not use this model or endpoint"


class RateLimitError(ProviderError):
    retryable = True
    default_hint = "lower the request rate (rpm/tpm in models.toml) or wait for the quota"


class ModelNotFoundError(ProviderError):
    default_hint = "check the model id in models.toml (and the deployment name on Azure)"


class InvalidRequestError(ProviderError):
    default_hint = "the provider rejected the request body; see its message"


class ContextLengthExceededError(InvalidRequestError):
    default_hint = "shorten the prompt or lower max_tokens below the model's context window"


class UnsupportedParameterError(InvalidRequestError, ValueError):
    """A Request field a wire format has no place for; raised when building, never sent.

    A ValueError (the caller asked for something impossible) and an InvalidRequestError (so
    it is reported like the 400 a server would have answered).
    """

    default_hint = "this wire format has no such parameter; remove it from the Request"


class ContentFilterError(ProviderError):
    default_hint = "the provider's safety filter blocked the prompt or the answer"


class ServerError(ProviderError):
    retryable = True
    default_hint = "the provider is overloaded or failing; try again later"


class TimeoutError(ProviderError, builtins.TimeoutError):
    retryable = True
    default_hint = "raise timeout_s / connect_timeout_s in models.toml or check the endpoint"


class ConnectionError(ProviderError, builtins.ConnectionError):
    retryable = True
    default_hint = "check base_url (and proxy) in models.toml and that the server is reachable"


class StreamInterruptedError(ProviderError):
    default_hint = "the stream ended before the provider said it was finished"


class MalformedResponseError(ProviderError):
    default_hint = "the response does not follow the provider's wire format"


class ResponseTooLargeError(MalformedResponseError):
    """A stream event or an error body bigger than its configured cap (models.toml)."""

    default_hint = "raise the cap named above in models.toml if the response is legitimate"


class WorkerLostError(LLMBenchError):
    """A load worker (a Ray actor of a distributed run) died before reporting its requests.

    Not a provider's answer: the rows of the requests that worker never reported carry this
    class, so the loss shows in the run's error counts instead of silently shrinking it.
    """

    hint = "the worker process or its node died (out of memory, killed, node lost); rerun"


_BY_STATUS: Mapping[int, type[ProviderError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: ModelNotFoundError,
    408: TimeoutError,
    409: InvalidRequestError,
    413: ContextLengthExceededError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def class_for_status(status: int) -> type[ProviderError]:
    """The error class a bare HTTP status maps to when the body says nothing more."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return MalformedResponseError


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date).

    `now` (epoch seconds, default the wall clock) is what an HTTP date is measured from; a date
    in the past means no wait.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            seconds = _seconds_until(value, now) if name == "retry-after" else -1.0
        if seconds >= 0 and seconds != float("inf"):
            return seconds
    return None


def _seconds_until(date: str, now: float | None) -> float:
    try:
        when = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return -1.0  # not a date either: ignored
    return max(0.0, when - (time.time() if now is None else now))
