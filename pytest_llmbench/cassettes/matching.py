"""Which recorded request a new request is: method, URL and body, without volatile parts.

Two requests match when their methods are equal, their URLs are equal once key-bearing query
parameters are dropped (and the rest sorted), and their bodies are equal: JSON bodies compared
parsed, without key-bearing fields and without the `match_ignore` dotted paths; other bodies
compared raw. The matchers are vcrpy matchers (`(r1, r2) -> None`, raising AssertionError), so
vcrpy's cassette model selects and counts plays with them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vcr.util import read_body

from pytest_llmbench.cassettes.sanitize import drop_secret_fields, is_secret_query_parameter
from pytest_llmbench.cassettes.serialization import parse_json

Matcher = Callable[[Any, Any], None]
MAX_DIFF_LINES = 40
_WILDCARD = "*"
_KEY_ATTRIBUTE = "_llmbench_match_key"
# Enough to tell requests apart; the character comparison is quadratic at worst.
_MAX_COMPARED_CHARS = 20_000


def normalized_uri(uri: str) -> str:
    """The URL as matched: no key-bearing query parameters, the rest sorted, '/' for no path."""
    parts = urlsplit(uri)
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_secret_query_parameter(name)
    )
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )


class RequestMatcher:
    """Match keys and vcrpy matchers for one cassette's `match_ignore` paths."""

    def __init__(self, match_ignore: Sequence[str] = ()) -> None:
        self.ignore = [path.split(".") for path in match_ignore if path]

    def key(self, request: Any) -> tuple[str, str, str | bytes]:
        """(method, URL, body) as compared; computed once per request object."""
        cached: tuple[str, str, str | bytes] | None = getattr(request, _KEY_ATTRIBUTE, None)
        if cached is None:
            cached = (str(request.method).upper(), normalized_uri(request.uri), self._body(request))
            setattr(request, _KEY_ATTRIBUTE, cached)
        return cached

    def _body(self, request: Any) -> str | bytes:
        raw = read_body(request) or b""
        parsed = self.comparable_json(raw)
        if parsed is None:
            return bytes(raw) if not isinstance(raw, str) else raw.encode("utf-8")
        return json.dumps(parsed, sort_keys=True, ensure_ascii=False)

    def comparable_json(self, body: bytes | str) -> Any:
        """The parsed JSON body as compared (ignored paths removed); None if not JSON."""
        parsed = parse_json(body)
        if parsed is None:
            return None
        parsed = drop_secret_fields(parsed)
        for path in self.ignore:
            _remove_path(parsed, path)
        return parsed

    def matchers(self) -> tuple[Matcher, ...]:
        """vcrpy matchers on method, URL and body, in that order."""

        def method(r1: Any, r2: Any) -> None:
            if self.key(r1)[0] != self.key(r2)[0]:
                raise AssertionError(f"{r1.method} != {r2.method}")

        def uri(r1: Any, r2: Any) -> None:
            if self.key(r1)[1] != self.key(r2)[1]:
                raise AssertionError(f"{self.key(r1)[1]} != {self.key(r2)[1]}")

        def body(r1: Any, r2: Any) -> None:
            if self.key(r1)[2] != self.key(r2)[2]:
                raise AssertionError("the bodies differ")

        return (method, uri, body)

    def matches(self, r1: Any, r2: Any) -> bool:
        """Whether two requests match."""
        return self.key(r1) == self.key(r2)

    def describe(self, request: Any) -> list[str]:
        """The request as compared, as lines for a diff: method and URL, then the body."""
        method, uri, body = self.key(request)
        lines = [f"{method} {uri}"]
        if isinstance(body, str):
            lines += json.dumps(json.loads(body), indent=2, sort_keys=True).splitlines()
        elif body:
            try:
                lines += body.decode("utf-8").splitlines()
            except UnicodeDecodeError:
                lines.append(f"<{len(body)} bytes of binary data>")
        return lines

    def closest(self, request: Any, recorded: Sequence[Any]) -> int | None:
        """The index of the recorded request most like `request` (same method and URL first)."""
        if not recorded:
            return None
        method, uri, _ = self.key(request)
        wanted = "\n".join(self.describe(request))[:_MAX_COMPARED_CHARS]

        def likeness(index: int) -> tuple[bool, float]:
            other = recorded[index]
            same_target = self.key(other)[:2] == (method, uri)
            text = "\n".join(self.describe(other))[:_MAX_COMPARED_CHARS]
            return same_target, difflib.SequenceMatcher(None, wanted, text).ratio()

        return max(range(len(recorded)), key=likeness)

    def diff(self, request: Any, recorded: Any, label: str) -> list[str]:
        """A unified diff from the recorded request (`label`) to `request`, shortened."""
        lines = list(
            difflib.unified_diff(
                self.describe(recorded),
                self.describe(request),
                fromfile=label,
                tofile="this request",
                lineterm="",
                n=2,
            )
        )
        if len(lines) > MAX_DIFF_LINES:
            lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
        return lines


def _remove_path(value: Any, path: Sequence[str]) -> None:
    """Delete the dotted `path` from a parsed JSON value, in place ('*' is any key or item)."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        names = list(value) if head == _WILDCARD else [head] if head in value else []
        for name in names:
            if rest:
                _remove_path(value[name], rest)
            else:
                del value[name]
    elif isinstance(value, list):
        if head == _WILDCARD:
            indexes = list(range(len(value)))
        elif head.isdigit() and int(head) < len(value):
            indexes = [int(head)]
        else:
            indexes = []
        for index in reversed(indexes):
            if rest:
                _remove_path(value[index], rest)
            else:
                del value[index]


class ReplayIndex:
    """The recorded requests by match key, so finding a request's recordings is one lookup.

    Matching by scanning every recording made replay quadratic in the cassette's size; the
    key is the same (method, URL, body) that `RequestMatcher.matches` compares.
    """

    def __init__(self, matcher: RequestMatcher) -> None:
        self.matcher = matcher
        self._by_key: dict[tuple[str, str, str | bytes], list[int]] = {}
        self._indexed = 0

    def candidates(self, request: Any, recorded: Sequence[Any]) -> list[int]:
        """Positions in `recorded` of the requests matching `request`, in order.

        `recorded` only ever grows (recordings are appended); new entries are indexed here.
        """
        for position in range(self._indexed, len(recorded)):
            key = self.matcher.key(recorded[position])
            self._by_key.setdefault(key, []).append(position)
        self._indexed = len(recorded)
        return self._by_key.get(self.matcher.key(request), [])
