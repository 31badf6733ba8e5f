"""Hostile servers on loopback: every failure is a classified ProviderError, at the right time.

Each test scripts the server (see hostile.py), makes one call on the real network transport and
asserts the error class, what the server saw and, where time matters, that the configured
deadline (not a longer one) ended the call.
"""

from __future__ import annotations

import asyncio
import socket
from email.utils import formatdate

import pytest
from hostile import CLOSE, LOOP, READ, RESET, Hold, Script, chunk, head, hostile_server, whole
from hostile_clients import (
    GOOD_REPLY,
    GOOD_STREAM,
    PLAIN,
    STREAMED,
    Sleeps,
    client_for,
    guarded,
    provider_at,
    sse,
    text_chunk,
)

from pytest_llmbench import errors


async def test_a_well_behaved_stream_is_the_baseline() -> None:
    async with (
        hostile_server([[READ, whole(200, GOOD_STREAM, "text/event-stream")]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        completion = await guarded(client.complete(STREAMED))
    assert completion.text == "Hello"
    assert len(server.requests) == 1


# -- already behaving before issue 9 ---------------------------------------------------------


async def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client_for(provider_at(f"http://127.0.0.1:{port}")) as client:
        with pytest.raises(errors.ConnectionError, match="could not reach"):
            await guarded(client.complete(STREAMED))


async def test_a_reset_mid_stream_is_stream_interrupted_and_not_resent() -> None:
    script: Script = [READ, head(transfer_encoding="chunked"), chunk(sse(text_chunk("Hel"))), RESET]
    async with (
        hostile_server([script]) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        with pytest.raises(errors.StreamInterruptedError):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_chunked_body_cut_inside_a_chunk_is_stream_interrupted() -> None:
    cut = chunk(sse(text_chunk("Hel")))[:-7]  # the chunk's size line promises more than comes
    script: Script = [
        READ,
        head(transfer_encoding="chunked"),
        chunk(sse(text_chunk("a"))),
        cut,
        CLOSE,
    ]
    async with (
        hostile_server([script]) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        with pytest.raises(errors.StreamInterruptedError):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_bad_json_in_an_sse_event_is_a_malformed_response() -> None:
    body = sse(text_chunk("Hel"), "{not json")
    async with (
        hostile_server([[READ, whole(200, body, "text/event-stream")]]) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        with pytest.raises(errors.MalformedResponseError, match="expected JSON"):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_stream_without_done_or_finish_reason_is_stream_interrupted() -> None:
    body = sse(text_chunk("Hel"), text_chunk("lo"))
    async with (
        hostile_server([[READ, whole(200, body, "text/event-stream")]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.StreamInterruptedError, match="without a finish_reason"):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_stream_with_a_finish_reason_but_no_done_completes() -> None:
    body = sse(text_chunk("Hel"), text_chunk("lo", "stop"))
    async with (
        hostile_server([[READ, whole(200, body, "text/event-stream")]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        completion = await guarded(client.complete(STREAMED))
    assert (completion.text, completion.finish_reason) == ("Hello", "stop")


async def test_an_html_502_page_is_a_server_error_retried_max_retries_times() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    script: Script = [READ, whole(502, page, "text/html"), LOOP]
    sleeps = Sleeps()
    async with (
        hostile_server([script]) as server,
        client_for(provider_at(server.url, max_retries=2), sleeps) as client,
    ):
        with pytest.raises(errors.ServerError, match="502 Bad Gateway") as raised:
            await guarded(client.complete(STREAMED))
    assert raised.value.status == 502
    assert len(server.requests) == 3
    assert len(sleeps.delays) == 2


async def test_a_429_with_retry_after_seconds_waits_that_long_then_succeeds() -> None:
    limited = whole(429, b'{"error": {"message": "slow down"}}', retry_after="3")
    scripts: list[Script] = [
        [READ, limited, CLOSE],
        [READ, whole(200, GOOD_STREAM, "text/event-stream")],
    ]
    sleeps = Sleeps()
    async with (
        hostile_server(scripts) as server,
        client_for(provider_at(server.url, max_retries=2), sleeps) as client,
    ):
        completion = await guarded(client.complete(STREAMED))
    assert completion.text == "Hello"
    assert sleeps.delays == [3.0]
    assert len(server.requests) == 2


# -- issue 9, item 1: replies that are not valid HTTP ------------------------------------------


async def test_a_header_line_without_a_colon_is_a_malformed_response() -> None:
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nno colon here\r\n\r\n"
    async with (
        hostile_server([[READ, reply + GOOD_STREAM, CLOSE]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.MalformedResponseError, match="not valid HTTP"):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_reply_that_is_not_http_is_a_malformed_response() -> None:
    async with (
        hostile_server([[READ, b"SSH-2.0-OpenSSH_9.6\r\n", CLOSE]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.MalformedResponseError, match="not valid HTTP"):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_content_length_longer_than_the_body_is_a_lost_connection() -> None:
    short = head(200, "application/json", content_length=str(len(GOOD_REPLY) + 50)) + GOOD_REPLY
    async with (
        hostile_server([[READ, short, CLOSE]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.ConnectionError, match="while reading the response body"):
            await guarded(client.complete(PLAIN))
    assert len(server.requests) == 1


# -- issue 9, item 3: timeout_s holds during a stall -----------------------------------------


async def test_a_stall_after_one_event_ends_at_timeout_s_not_read_timeout_s() -> None:
    stall = Hold()
    script: Script = [READ, head(transfer_encoding="chunked"), chunk(sse(text_chunk("Hel"))), stall]
    provider_fields = {"timeout_s": 0.5, "read_timeout_s": 3 * 60.0}
    async with (
        hostile_server([script]) as server,
        client_for(provider_at(server.url, **provider_fields)) as client,
    ):
        with pytest.raises(errors.TimeoutError, match=r"total timeout of 0\.5 s") as raised:
            await guarded(client.complete(STREAMED))
    assert "not retried" in raised.value.hint
    assert len(server.requests) == 1


async def test_a_stall_before_the_headers_ends_at_timeout_s() -> None:
    async with hostile_server([[READ, Hold()]]) as server:
        provider = provider_at(server.url, timeout_s=0.5, read_timeout_s=3 * 60.0)
        async with client_for(provider) as client:
            with pytest.raises(errors.TimeoutError, match=r"total timeout of 0\.5 s"):
                await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_a_stall_inside_a_plain_body_ends_at_timeout_s() -> None:
    partial = head(200, "application/json", content_length=str(len(GOOD_REPLY))) + GOOD_REPLY[:9]
    async with hostile_server([[READ, partial, Hold()]]) as server:
        provider = provider_at(server.url, timeout_s=0.5, read_timeout_s=3 * 60.0)
        async with client_for(provider) as client:
            with pytest.raises(errors.TimeoutError, match=r"total timeout of 0\.5 s"):
                await guarded(client.complete(PLAIN))


# -- no silent resends: only a reused pooled connection is resent, once ---------------------------


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_a_server_that_closes_without_answering_sees_one_post_per_attempt(
    max_retries: int,
) -> None:
    async with (
        hostile_server([[READ, CLOSE]]) as server,
        client_for(provider_at(server.url, max_retries=max_retries)) as client,
    ):
        with pytest.raises(errors.ConnectionError):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == max_retries + 1


async def test_a_request_failing_on_two_stale_pooled_connections_is_resent_on_a_new_one() -> None:
    # Two pooled connections whose server reads the next request and hangs up (llama.cpp
    # closes its connections like this under load): the resend must not land on the other one.
    answered = whole(200, GOOD_STREAM, "text/event-stream")
    stale: Script = [READ, answered, READ, CLOSE]
    scripts: list[Script] = [stale, stale, [READ, answered, LOOP]]
    async with (
        hostile_server(scripts) as server,
        client_for(provider_at(server.url)) as client,
    ):
        await guarded(asyncio.gather(client.complete(STREAMED), client.complete(STREAMED)))
        completion = await guarded(client.complete(STREAMED))
    assert completion.text == "Hello"
    assert completion.metrics.retries == 1
    assert len(server.requests) == 2 + 2  # the third request: on a stale connection, then anew
    assert server.connections == 3


async def test_dropped_connections_in_a_load_are_counted_as_retries() -> None:
    from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests

    def script(number: int) -> Script:
        if number % 11 == 10:  # one connection in 11 reads the request and hangs up
            return [READ, CLOSE]
        # one answer per connection, so the load keeps opening connections (and meets drops)
        return [READ, whole(200, GOOD_STREAM, "text/event-stream", connection="close"), CLOSE]

    async with (
        hostile_server(script) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        shape = LoadShape(concurrency=8, count=200)
        stats = await guarded(LoadRun(client, cycle_requests([STREAMED]), shape).run())
    resends = sum(r.retries for r in stats.requests)
    assert len(server.requests) == stats.count + resends
    assert resends > 0


async def test_a_failed_request_row_counts_its_retries() -> None:
    from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests

    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    async with (
        hostile_server([[READ, whole(502, page, "text/html"), LOOP]]) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        shape = LoadShape(concurrency=1, count=3)
        stats = await guarded(LoadRun(client, cycle_requests([STREAMED]), shape).run())
    assert [r.error for r in stats.requests] == ["ServerError"] * 3
    assert [r.retries for r in stats.requests] == [2, 2, 2]
    assert len(server.requests) == sum(1 + r.retries for r in stats.requests)


# -- issue 9, item 4: Retry-After -------------------------------------------------------------


async def test_a_retry_after_beyond_the_cap_fails_at_once_with_retry_after_set() -> None:
    limited = whole(429, b'{"error": {"message": "quota"}}', retry_after="3600")
    sleeps = Sleeps()
    async with (
        hostile_server([[READ, limited, LOOP]]) as server,
        client_for(provider_at(server.url, max_retries=2), sleeps) as client,
    ):
        with pytest.raises(errors.RateLimitError) as raised:
            await guarded(client.complete(STREAMED))
    assert raised.value.retry_after == 3600
    assert "asked to wait 3600 s" in raised.value.hint
    assert sleeps.delays == []
    assert len(server.requests) == 1


async def test_a_retry_after_http_date_is_waited_for() -> None:
    import time

    date = formatdate(time.time() + 30, usegmt=True)  # the HTTP date 30 s from now
    limited = whole(429, b'{"error": {"message": "slow down"}}', retry_after=date)
    scripts: list[Script] = [
        [READ, limited, CLOSE],
        [READ, whole(200, GOOD_STREAM, "text/event-stream")],
    ]
    sleeps = Sleeps()
    async with (
        hostile_server(scripts) as server,
        client_for(provider_at(server.url, max_retries=2), sleeps) as client,
    ):
        await guarded(client.complete(STREAMED))
    assert len(sleeps.delays) == 1
    assert 20 < sleeps.delays[0] <= 30  # the date has whole seconds; not the 1 s backoff
    assert len(server.requests) == 2


# -- issue 9, item 7: bounded work ------------------------------------------------------------


async def test_an_event_larger_than_max_event_bytes_is_refused_naming_the_cap() -> None:
    huge = b"data: " + b"x" * (256 * 1024)  # never ends: the cap must stop it
    script: Script = [
        READ,
        head(transfer_encoding="chunked"),
        chunk(sse(text_chunk("a"))),
        chunk(huge),
    ]
    async with hostile_server([[*script, Hold()]]) as server:
        provider = provider_at(server.url, max_event_bytes=64 * 1024)
        async with client_for(provider) as client:
            with pytest.raises(errors.ResponseTooLargeError, match="max_event_bytes") as raised:
                await guarded(client.complete(STREAMED))
    assert "[providers.hostile]" in raised.value.hint
    assert len(server.requests) == 1


async def test_an_error_body_is_read_only_up_to_max_error_body_bytes() -> None:
    endless = head(500, "text/html", transfer_encoding="chunked") + chunk(b"<p>oops</p>" * 20000)
    async with hostile_server([[READ, endless, Hold()]]) as server:
        provider = provider_at(server.url, max_error_body_bytes=4096)
        async with client_for(provider) as client:
            with pytest.raises(errors.ServerError, match="cut at 4096 bytes") as raised:
                await guarded(client.complete(STREAMED))
    assert "max_error_body_bytes under [providers.hostile]" in raised.value.message
    assert len(server.requests) == 1


# -- issue 9, item 8: honest messages ----------------------------------------------------------


async def test_an_html_page_answering_a_stream_is_malformed_naming_the_content_type() -> None:
    page = b"<html><head><title>Sign in</title></head><body>portal</body></html>"
    async with (
        hostile_server([[READ, whole(200, page, "text/html; charset=utf-8"), LOOP]]) as s,
        client_for(provider_at(s.url, max_retries=2)) as client,
    ):
        with pytest.raises(errors.MalformedResponseError, match="text/html") as raised:
            await guarded(client.complete(STREAMED))
    assert "Sign in" in raised.value.message
    assert len(s.requests) == 1


async def test_a_binary_body_answering_a_stream_is_malformed_naming_the_content_type() -> None:
    body = bytes(range(256)) * 16
    async with (
        hostile_server([[READ, whole(200, body, "application/octet-stream")]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.MalformedResponseError, match="application/octet-stream"):
            await guarded(client.complete(STREAMED))
    assert len(server.requests) == 1


async def test_with_max_retries_0_the_hint_does_not_promise_a_retry() -> None:
    async with (
        hostile_server([[READ, whole(503, b'{"error": {"message": "busy"}}'), LOOP]]) as s,
        client_for(provider_at(s.url, max_retries=0)) as client,
    ):
        with pytest.raises(errors.ServerError) as raised:
            await guarded(client.complete(STREAMED))
    assert "not retried: max_retries = 0" in raised.value.hint
    assert "retried with backoff" not in str(raised.value)
    assert len(s.requests) == 1


async def test_an_error_event_mid_stream_says_it_was_not_retried() -> None:
    body = sse(text_chunk("Hel"), {"error": {"message": "overloaded", "type": "server_error"}})
    async with (
        hostile_server([[READ, whole(200, body, "text/event-stream"), LOOP]]) as server,
        client_for(provider_at(server.url, max_retries=2)) as client,
    ):
        with pytest.raises(errors.ServerError) as raised:
            await guarded(client.complete(STREAMED))
    assert "not retried: the stream had already started" in raised.value.hint
    assert len(server.requests) == 1


async def test_a_reset_right_after_the_request_is_a_connection_error_not_a_timeout() -> None:
    async with (
        hostile_server([[READ, RESET]]) as server,
        client_for(provider_at(server.url)) as client,
    ):
        with pytest.raises(errors.ConnectionError) as raised:
            await guarded(client.complete(STREAMED))
    assert "Timeout" not in str(raised.value)
    assert len(server.requests) >= 1


# -- secrets -----------------------------------------------------------------------------------

CANARY = "canary-not-a-key-7f3a9c"  # registered as a key; deliberately not key-shaped


def _echoing(where: str) -> Script:
    if where == "json error":
        body = b'{"error": {"message": "bad key Bearer ' + CANARY.encode() + b'"}}'
        return [READ, whole(401, body), LOOP]
    if where == "html page":
        body = b"<html><title>denied " + CANARY.encode() + b"</title></html>"
        return [READ, whole(403, body, "text/html"), LOOP]
    if where == "sse event":
        return [READ, whole(200, sse(text_chunk("a"), "{bad " + CANARY), "text/event-stream")]
    body = sse(text_chunk("a"), {"error": {"message": f"key {CANARY} revoked"}})
    return [READ, whole(200, body, "text/event-stream")]


@pytest.mark.parametrize("where", ["json error", "html page", "sse event", "sse error event"])
async def test_a_key_echoed_by_the_server_never_reaches_the_error(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_FAULT_KEY", CANARY)
    async with hostile_server([_echoing(where)]) as server:
        provider = provider_at(server.url, api_key_env="LLMBENCH_FAULT_KEY")
        async with client_for(provider) as client:
            with pytest.raises(errors.ProviderError) as raised:
                await guarded(client.complete(STREAMED))
    assert server.requests[0].headers["authorization"] == f"Bearer {CANARY}"  # it was sent
    for text in (str(raised.value), repr(raised.value), raised.value.message):
        assert CANARY not in text
    assert "<LLMBENCH_FAULT_KEY>" in str(raised.value)


async def test_on_httpx_own_transport_a_hang_up_is_one_post_and_a_connection_error() -> None:
    from pytest_llmbench import LLMClient
    from pytest_llmbench.transport import build_http_client, network_transport

    async with hostile_server([[READ, CLOSE]]) as server:
        provider = provider_at(server.url)
        http = build_http_client(provider, network_transport(provider, backend="httpx"))
        async with LLMClient(provider, http=http) as client:
            with pytest.raises(errors.ConnectionError, match="closed the connection without"):
                await guarded(client.complete(STREAMED))
        await http.aclose()
    assert len(server.requests) == 1
