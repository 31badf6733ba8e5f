"""What of a request or response may be written to a cassette, and the last check for keys.

Allowlist, not blocklist: only headers named here are kept, so a provider's new auth header is
dropped by default. Query parameters and top-level body fields that can carry keys are removed.
`find_credential` is the final gate: it looks for every configured credential value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pytest_llmbench import secrets

SAFE_REQUEST_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "anthropic-version",
        "anthropic-beta",
        "openai-beta",
        "x-goog-api-client",
    }
)
SAFE_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-encoding",  # dropped when recording decodes the body; kept when it cannot
        "openai-version",
        "openai-processing-ms",
        "anthropic-version",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-amzn-errortype",  # Bedrock's error class: the codec maps errors from it
    }
)
# Rate-limit and token-count headers, kept for conformance checks; none carries an identity.
SAFE_RESPONSE_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "x-amzn-bedrock-")

# Query parameters that carry keys or signatures (and change on every signed request).
SECRET_QUERY_PARAMETERS = frozenset(
    {"key", "api-key", "api_key", "apikey", "access_token", "token", "sig", "signature"}
)
SECRET_QUERY_PREFIXES = ("x-amz-",)  # presigned AWS URLs: X-Amz-Credential, X-Amz-Signature ...

# Top-level JSON body fields some servers accept a key in.
SECRET_BODY_FIELDS = frozenset({"api_key", "apiKey", "api-key", "key", "access_token"})

AWS_CREDENTIAL_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Shorter values would match ordinary words in any cassette.
MIN_CREDENTIAL_LENGTH = secrets.MIN_SECRET_LENGTH

Headers = Mapping[str, Any]


def safe_request_headers(headers: Headers) -> dict[str, list[str]]:
    """The allowlisted request headers, lower-cased, each as a list of values."""
    return _keep(headers, lambda name: name in SAFE_REQUEST_HEADERS)


def safe_response_headers(headers: Headers) -> dict[str, list[str]]:
    """The allowlisted response headers, lower-cased, each as a list of values."""
    return _keep(headers, _is_safe_response_header)


def _is_safe_response_header(name: str) -> bool:
    return name in SAFE_RESPONSE_HEADERS or name.startswith(SAFE_RESPONSE_HEADER_PREFIXES)


def _keep(headers: Headers, allowed: Callable[[str], bool]) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered = str(name).lower()
        if not allowed(lowered):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        kept.setdefault(lowered, []).extend(_text(v) for v in values)
    return kept


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def is_secret_query_parameter(name: str) -> bool:
    """Whether a query parameter can hold a key or signature (and so is never stored or matched)."""
    lowered = name.lower()
    return lowered in SECRET_QUERY_PARAMETERS or lowered.startswith(SECRET_QUERY_PREFIXES)


def strip_secret_query(uri: str) -> str:
    """`uri` without the query parameters that can hold keys; the rest keep their order."""
    parts = urlsplit(uri)
    if not parts.query:
        return uri
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if not is_secret_query_parameter(name)]
    if len(kept) == len(pairs):
        return uri
    return urlunsplit(parts._replace(query=urlencode(kept)))


def drop_secret_fields(body: object) -> object:
    """A JSON body without the top-level fields that can hold keys (other values untouched)."""
    if not isinstance(body, dict):
        return body
    return {name: value for name, value in body.items() if name not in SECRET_BODY_FIELDS}


@dataclass(frozen=True)
class Credential:
    """A credential to keep out of cassettes: where it came from, and its value."""

    name: str
    value: str


def configured_credentials(secret_names: Iterable[str]) -> list[Credential]:
    """Every credential value a cassette must never contain.

    The current values of `secret_names` and the AWS variables, and everything registered in
    `pytest_llmbench.secrets`.
    """
    found: dict[str, str] = {}
    for name in (*secret_names, *AWS_CREDENTIAL_NAMES):
        value = os.environ.get(name)
        if value and len(value) >= MIN_CREDENTIAL_LENGTH:
            found.setdefault(value, name)
    for name, value in secrets.known_values().items():
        found.setdefault(value, name)
    return [Credential(name, value) for value, name in found.items()]


def short_credentials(secret_names: Iterable[str]) -> dict[str, int]:
    """Credentials set to a value too short to search cassettes for: name -> its length.

    Recording must be refused while one is set: it could be written unnoticed.
    """
    short: dict[str, int] = {}
    # Registered names are environment variables too; one that is no longer set is no risk.
    for name in (*secret_names, *AWS_CREDENTIAL_NAMES, *secrets.too_short()):
        value = os.environ.get(name)
        if value and len(value) < MIN_CREDENTIAL_LENGTH:
            short.setdefault(name, len(value))
    return short


def masked_context(text: str, credential: Credential, width: int = 40) -> str:
    """The text around the first occurrence of `credential`, the value shown as `<NAME>`."""
    at = text.find(credential.value)
    if at < 0:
        return ""
    before = text[max(0, at - width) : at]
    after = text[at + len(credential.value) : at + len(credential.value) + width]
    return f"...{before}<{credential.name}>{after}...".replace("\n", "\\n")


def find_credential(text: str | bytes, credentials: Iterable[Credential]) -> Credential | None:
    """The first credential whose value occurs in `text`, if any."""
    for credential in credentials:
        if isinstance(text, bytes):
            if credential.value.encode("utf-8") in text:
                return credential
        elif credential.value in text:
            return credential
    return None
