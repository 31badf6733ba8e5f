"""LLMMock: a respx router that answers like a provider, in that provider's exact wire format.

Scripted answers (`reply`, `stream`, `tool_call`, `error`, `sequence`) are turned into the
bytes the provider would send by the Emitter of the provider's kind; streams are really spaced
in time. `requests` keeps what was sent, to assert on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import respx

from pytest_llmbench import kinds
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.mocking.emitter import Emitter, MockError, MockReply, MockToolCall
from pytest_llmbench.transport.paced import PacedStream
from pytest_llmbench.types import FinishReason, Usage

Spec = MockReply | MockError
S = TypeVar("S", MockReply, MockError)


def emitter_for(kind: str) -> Emitter:
    """The mock server side of a wire format; ValueError naming the known kinds for any other."""
    emitter: Emitter = kinds.load(kind, "emitter")()
    return emitter


@dataclass
class MockedRequest:
    """A request the mock received: method, URL, headers and the parsed JSON body."""

    method: str
    url: str
    headers: httpx.Headers
    json: dict[str, Any]


def _usage(usage: Usage | dict[str, int] | None) -> Usage | None:
    return Usage(**usage) if isinstance(usage, dict) else usage


class LLMMock:
    """Answers every request with the scripted responses.

    Until something is scripted it replies "Hello from llm_mock". A scripted answer stands
    for all later requests; `sequence` answers in order and repeats its last entry.
    """

    def __init__(self, provider: ProviderConfig, model: ModelConfig) -> None:
        self.provider = provider
        self.model = model
        self.emitter = emitter_for(provider.kind)
        self.router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True)
        # Every request is answered: a mocked test never reaches the network, and an SDK with
        # its own default base URL is answered like the plugin's client.
        self.router.route().mock(side_effect=self._answer)
        self.requests: list[MockedRequest] = []
        self._script: list[Spec] = [self._reply(["Hello", " from", " llm_mock"])]

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering from this mock (put it under TimingTransport)."""
        return httpx.MockTransport(self.router.async_handler)

    # -- scripting ---------------------------------------------------------------------------

    def _reply(self, tokens: list[str], **fields: Any) -> MockReply:
        return MockReply(tokens=tokens, model=self.model.id, **fields)

    def _set(self, spec: S) -> S:
        self._script = [spec]
        return spec

    def reply(
        self,
        text: str,
        *,
        usage: Usage | dict[str, int] | None = None,
        finish: FinishReason = "stop",
    ) -> MockReply:
        """Answer with `text` (streamed requests get it word by word)."""
        words = text.split(" ")
        tokens = [words[0], *(f" {w}" for w in words[1:])] if text else []
        return self._set(self._reply(tokens, usage=_usage(usage), finish=finish))

    def stream(
        self,
        tokens: list[str],
        *,
        ttft: float = 0.0,
        itl: float = 0.0,
        usage: Usage | dict[str, int] | None = None,
        finish: FinishReason = "stop",
        reset_after: int | None = None,
    ) -> MockReply:
        """Stream `tokens`: the first `ttft` s after the request, then one every `itl` s.

        `reset_after=N` drops the connection after N tokens (a reset mid-stream).
        """
        spec = self._reply(
            list(tokens),
            usage=_usage(usage),
            finish=finish,
            ttft=ttft,
            itl=itl,
            reset_after=reset_after,
        )
        return self._set(spec)

    def tool_call(
        self, name: str, arguments: dict[str, Any] | None = None, *, id: str = "call_0"
    ) -> MockReply:
        """Answer with one call of tool `name`."""
        call = MockToolCall(name=name, arguments=arguments or {}, id=id)
        return self._set(self._reply([], tool_calls=[call], finish="tool_calls"))

    def error(
        self,
        status: int,
        message: str = "mocked error",
        *,
        code: str | None = None,
        body: bytes | dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> MockError:
        """Answer with an error status and the provider's error body (or `body` as given)."""
        spec = MockError(status, message=message, code=code, body=body, retry_after=retry_after)
        return self._set(spec)

    def sequence(self, *specs: Spec) -> None:
        """Answer the next requests with `specs` in order; the last one then stands."""
        if not specs:
            raise ValueError("sequence() needs at least one scripted answer")
        self._script = list(specs)

    # -- answering ---------------------------------------------------------------------------

    def _next(self) -> Spec:
        return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            body = {}
        self.requests.append(
            MockedRequest(
                request.method,
                str(request.url),
                request.headers,
                body if isinstance(body, dict) else {},
            )
        )
        spec = self._next()
        if isinstance(spec, MockError):
            return self._error(spec)
        if self.emitter.is_stream(request):
            return self._stream(spec)
        return httpx.Response(200, json=self.emitter.body(spec))

    def _error(self, spec: MockError) -> httpx.Response:
        headers = self.emitter.error_headers(spec)
        if isinstance(spec.body, bytes):
            headers["content-type"] = (
                "text/html" if spec.body.lstrip().startswith(b"<") else headers["content-type"]
            )
            return httpx.Response(spec.status, content=spec.body, headers=headers)
        body = spec.body if spec.body is not None else self.emitter.error_body(spec)
        return httpx.Response(spec.status, content=json.dumps(body).encode(), headers=headers)

    def _stream(self, spec: MockReply) -> httpx.Response:
        start = time.perf_counter()  # token offsets count from the request's arrival
        timed: list[tuple[float, bytes]] = []
        tokens = 0
        now = 0.0
        fail: Exception | None = None
        for chunk in self.emitter.chunks(spec):
            if chunk.role == "token":
                if spec.reset_after is not None and tokens >= spec.reset_after:
                    fail = httpx.RemoteProtocolError(
                        "peer closed connection mid-stream (llm_mock reset)"
                    )
                    break
                now = spec.ttft + tokens * spec.itl
                tokens += 1
            elif chunk.role == "tail" and tokens == 0:
                now = spec.ttft
            timed.append((now, chunk.data))
        headers = {"content-type": self.emitter.stream_content_type}
        stream = PacedStream(timed, start=start, fail_with=fail)
        return httpx.Response(200, stream=stream, headers=headers)
