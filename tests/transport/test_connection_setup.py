"""Connection setup is reported as connect_ms and kept out of TTFB, TTFT, ITL and cassettes.

A resolver that takes SETUP_S to answer stands in for a slow DNS lookup or TCP/TLS handshake:
it is part of opening a connection, so it is an injected setup delay the timings must exclude.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from factories import make_provider
from loopback import Seen, chunked, response_head, serve

from pytest_llmbench import LLMClient
from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.transport.network import AiohttpNetworkTransport

SETUP_S = 0.3
REPLY = {
    "id": "r",
    "model": "m",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}


class SlowResolver(aiohttp.abc.AbstractResolver):
    """Resolves every name to 127.0.0.1 after `delay` seconds; counts lookups."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        self.lookups += 1
        await asyncio.sleep(self.delay)
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


async def reply_json(seen: Seen, writer: asyncio.StreamWriter) -> None:
    writer.write(response_head(transfer_encoding="chunked") + chunked(json.dumps(REPLY).encode()))


async def timed_complete(llm: LLMClient) -> tuple[float, Any]:
    started = time.perf_counter()
    completion = await llm.complete("Hi")
    return (time.perf_counter() - started) * 1000, completion.metrics


async def test_a_new_connection_reports_connect_ms_outside_the_timings() -> None:
    resolver = SlowResolver(SETUP_S)
    async with serve(reply_json) as server:
        provider = make_provider(
            "openai", base_url=f"http://localhost:{server.port}/v1", api_key_env=None
        )
        transport = AiohttpNetworkTransport(resolver=resolver)
        async with LLMClient(provider, transport=transport) as llm:
            outside_ms, metrics = await timed_complete(llm)
    assert resolver.lookups == 1
    assert metrics.connect_ms is not None and metrics.connect_ms >= SETUP_S * 1000
    assert metrics.ttfb_ms is not None and metrics.e2e_ms is not None
    assert metrics.ttfb_ms <= metrics.e2e_ms
    # The caller waited for the setup; the request's own window did not contain it.
    assert outside_ms - metrics.e2e_ms >= SETUP_S * 1000


async def test_a_reused_connection_has_no_connect_ms() -> None:
    async with serve(reply_json) as server:
        provider = make_provider(
            "openai", base_url=f"http://localhost:{server.port}/v1", api_key_env=None
        )
        transport = AiohttpNetworkTransport(resolver=SlowResolver(SETUP_S))
        async with LLMClient(provider, transport=transport) as llm:
            _, first = await timed_complete(llm)
            _, second = await timed_complete(llm)
    assert first.connect_ms is not None
    assert second.connect_ms is None


async def test_a_recorded_cassette_holds_the_server_time_not_the_connect(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    async with serve(reply_json) as server:
        provider = make_provider(
            "openai", base_url=f"http://localhost:{server.port}/v1", api_key_env=None
        )
        network = AiohttpNetworkTransport(resolver=SlowResolver(SETUP_S))
        async with LLMClient(provider, transport=cassette.recording_transport(network)) as llm:
            outside_ms, metrics = await timed_complete(llm)
    cassette.save()
    stored = yaml.safe_load(path.read_text())["interactions"][0]["response"]
    assert metrics.connect_ms is not None and metrics.connect_ms >= SETUP_S * 1000
    assert outside_ms - stored["headers_ms"] >= SETUP_S * 1000
