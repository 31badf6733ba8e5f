"""Error taxonomy behaviour and credential redaction (keys never reach messages or reprs)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_llmbench import errors, secrets


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_values", {})


def test_context_length_is_an_invalid_request() -> None:
    assert issubclass(errors.ContextLengthExceededError, errors.InvalidRequestError)


def test_builtin_catch_clauses_still_work() -> None:
    with pytest.raises(TimeoutError):
        raise errors.TimeoutError("slow")
    with pytest.raises(ConnectionError):
        raise errors.ConnectionError("down")


def test_str_has_provider_status_code_message_and_hint() -> None:
    error = errors.RateLimitError("slow down", provider="groq", status=429, code="rate_limit")
    assert str(error).splitlines() == [
        "groq HTTP 429 [rate_limit]: slow down",
        "  hint: lower the request rate (rpm/tpm in models.toml) or wait for the quota",
    ]


def test_registered_secret_is_redacted_everywhere() -> None:
    secrets.register("MY_KEY", "abc123-very-secret")
    error = errors.AuthenticationError("key abc123-very-secret is wrong", provider="x")
    for text in (str(error), repr(error), error.message, str(error.args)):
        assert "abc123-very-secret" not in text
    assert error.message == "key <MY_KEY> is wrong"


def test_key_shaped_strings_are_redacted_even_unregistered() -> None:
    message = "got sk-proj-" + "A" * 30 + " and AKIA" + "B" * 16
    assert errors.ProviderError(message).message == "got <redacted> and <redacted>"


def test_short_values_are_not_registered_but_warned_about() -> None:
    with pytest.warns(secrets.ShortCredentialWarning, match="SHORT holds a value of 3"):
        secrets.register("SHORT", "abc")
    assert secrets.redact("abc abc") == "abc abc"


def test_errors_survive_pickling_with_their_fields() -> None:
    error = errors.RateLimitError("slow", provider="p", status=429, code="c", retry_after=2.0)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.RateLimitError
    assert (copy.provider, copy.status, copy.code, copy.retry_after) == ("p", 429, "c", 2.0)
    assert str(copy) == str(error)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, errors.InvalidRequestError), (401, errors.AuthenticationError), (403, errors.PermissionDeniedError),
     (404, errors.ModelNotFoundError), (408, errors.TimeoutError), (413, errors.ContextLengthExceededError),
     (418, errors.InvalidRequestError), (429, errors.RateLimitError), (500, errors.ServerError),
     (529, errors.ServerError)],
)  # fmt: skip
def test_status_classes(status: int, cls: type[errors.ProviderError]) -> None:
    assert errors.class_for_status(status) is cls


def test_retry_after_headers() -> None:
    assert errors.parse_retry_after({"Retry-After": "2"}) == 2.0
    assert errors.parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert errors.parse_retry_after({"retry-after": "soon"}) is None
    assert errors.parse_retry_after({}) is None


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    date = {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
    at = 1445412480.0  # that date as epoch seconds
    assert errors.parse_retry_after(date, now=at - 90) == 90.0
    assert errors.parse_retry_after(date, now=at + 5) == 0.0  # in the past: no wait


@given(
    st.text(
        alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=8, max_size=40
    )
)
def test_any_registered_value_never_survives_redaction(value: str) -> None:
    assume(value not in "<GENERATED_KEY>")  # a value inside the marker itself proves nothing
    secrets.register("GENERATED_KEY", value)
    text = f"prefix {value} middle {value}suffix"
    assert value not in secrets.redact(text)
