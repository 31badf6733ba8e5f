"""Short failure reports for the plugin's own errors: the message, hint and request in a few lines.

A provider, cassette or config error raised deep in httpx or pytest-asyncio would otherwise be
shown under dozens of library frames. By default pytest shows this short form instead; the full
traceback stays one option away (`--tb=long`, `--tb=short`, or `-v`).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from _pytest._code import Traceback

from pytest_llmbench.errors import LLMBenchError, ProviderError

MAX_MESSAGE_LINES = 30  # a no-match diff is the message; longer ones are cut, -v shows all
FULL_TRACEBACK = "(the full traceback: --tb=long or -v)"


def shorten(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Replace a failed report's traceback by the short form when it is the plugin's error."""
    excinfo = call.excinfo
    if report.failed and excinfo is not None and wants_short_report(item.config, excinfo):
        report.longrepr = short_report(item, excinfo)


def wants_short_report(config: pytest.Config, excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """The error is the plugin's and the user asked for pytest's default display."""
    if not isinstance(excinfo.value, LLMBenchError):
        return False
    default_style = config.getoption("tbstyle", "auto") == "auto"
    return bool(default_style and config.getoption("verbose", 0) < 1)


def short_report(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
    """pytest's short style over the test's own frames: the line that raised and the error's
    message and hint, then the request it made (a section) and how to see everything."""
    path = getattr(item, "path", None)

    def test_frames(info: pytest.ExceptionInfo[BaseException]) -> Traceback:
        frames = [entry for entry in info.traceback if path is not None and entry.path == path]
        return Traceback(frames[-1:])

    message = excinfo.exconly().splitlines()
    if len(message) > MAX_MESSAGE_LINES:  # pragma: no branch - long no-match diffs only
        excinfo = _truncated(excinfo, message)
    request = _request_line(item, excinfo.value)
    if not test_frames(excinfo):  # raised in a fixture (setup): the message is all there is
        lines = [f"E   {line}" for line in excinfo.exconly().splitlines()]
        lines += [f"E   request: {request}"] if request else []
        return "\n".join([*lines, FULL_TRACEBACK])
    repr_ = excinfo.getrepr(style="short", chain=False, tbfilter=test_frames)
    if request:
        repr_.addsection("llmbench request", request)
    repr_.addsection("llmbench", FULL_TRACEBACK)
    return repr_


def _truncated(
    excinfo: pytest.ExceptionInfo[BaseException], message: list[str]
) -> pytest.ExceptionInfo[BaseException]:
    """The same error with its message cut to MAX_MESSAGE_LINES (the full one with -v)."""
    hidden = len(message) - MAX_MESSAGE_LINES
    kept = "\n".join([*message[1:MAX_MESSAGE_LINES], f"... {hidden} more lines (-v shows them)"])
    first = message[0].split(": ", 1)[-1]
    short = LLMBenchError(f"{first}\n{kept}")
    return pytest.ExceptionInfo.from_exc_info((type(short), short, excinfo.tb))


def _request_line(item: pytest.Item, error: BaseException) -> str:
    """`METHOD URL` of the failed request when the error chain holds it, else the endpoint."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        request = _httpx_request(cause)
        if request is not None:
            return f"{request.method} {request.url}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, ProviderError):
        target = _target(item)
        if target is not None:
            return f"{target.provider.name} at {target.provider.base_url} (model {target.model.id})"
    return ""


def _httpx_request(error: BaseException) -> httpx.Request | None:
    if isinstance(error, httpx.RequestError | httpx.HTTPStatusError):
        try:
            return error.request
        except RuntimeError:  # an httpx error raised without its request
            return None
    return None


def _target(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("llm_target") if callspec is not None else None
