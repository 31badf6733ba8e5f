"""DriftTransport without pytest: live responses paired with a cassette's recordings."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.drift import DriftComparison
from pytest_llmbench.drift.transport import NO_RECORDING, DriftTransport
from pytest_llmbench.modes import decide

URL = "http://127.0.0.1:9/v1/chat/completions"


def answer(data: dict[str, object]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=data)

    return httpx.MockTransport(handle)


async def record(path: Path, data: dict[str, object]) -> None:
    cassette = Cassette(path, record_mode="once")
    async with httpx.AsyncClient(transport=cassette.recording_transport(answer(data))) as client:
        await client.post(URL, json={"q": 1})
    cassette.save()


async def drift_run(
    path: Path, live: httpx.AsyncBaseTransport, body: object
) -> list[DriftComparison]:
    found: list[DriftComparison] = []
    cassette = Cassette(path, record_mode="none", allow_playback_repeats=True)
    transport = DriftTransport(cassette, live, found.append, nodeid="t", target="p:m")
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(URL, json=body)
        await response.aread()
    return found


@pytest.mark.asyncio
async def test_a_streamed_gzip_live_body_is_decoded_before_its_shape_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    await record(path, {"a": 1})
    before = path.read_bytes()
    encoded = gzip.compress(json.dumps({"a": 1, "b": "new"}).encode())

    class Streaming(httpx.AsyncBaseTransport):
        """The live body as a network stream: still gzip-encoded as it passes."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            headers = {"content-type": "application/json", "content-encoding": "gzip"}
            return httpx.Response(200, headers=headers, stream=httpx.ByteStream(encoded))

    (comparison,) = await drift_run(path, Streaming(), {"q": 1})
    assert comparison.interaction == 0
    assert [change.describe() for change in comparison.changes] == ["added field body: b (string)"]
    assert path.read_bytes() == before


@pytest.mark.asyncio
async def test_a_request_the_cassette_lacks_is_noted_and_still_answered(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, {"a": 1})
    (comparison,) = await drift_run(path, answer({"a": 1}), {"q": 2})
    assert comparison.interaction is None
    assert comparison.note == NO_RECORDING


def test_drift_mode_calls_live_when_there_is_a_cassette() -> None:
    mode = decide(
        replay=False,
        record_mode=None,
        missing_credentials=None,
        cassette_exists=True,
        strict=False,
        record_command="pytest x",
        drift=True,
    )
    assert (mode.action, mode.uses_network) == ("drift", True)


@pytest.mark.parametrize(
    ("missing", "exists", "reason"),
    [
        (None, False, "--llm-drift: no cassette to compare with"),
        ("KEY is not set", True, "--llm-drift: cannot call the endpoint: KEY is not set"),
    ],
)
def test_drift_mode_skips_without_a_cassette_or_credentials(
    missing: str | None, exists: bool, reason: str
) -> None:
    mode = decide(
        replay=False,
        record_mode=None,
        missing_credentials=missing,
        cassette_exists=exists,
        strict=False,
        record_command="pytest x",
        drift=True,
    )
    assert (mode.action, mode.reason) == ("skip", reason)
