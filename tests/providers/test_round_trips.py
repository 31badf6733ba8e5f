"""Every codec parses what the public strategies generate: streams split anywhere and whole
bodies, built by the mock emitters (written apart from the codecs), to their Completions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmbench.kinds import KINDS
from pytest_llmbench.providers import codec_for
from pytest_llmbench.strategies import assert_parses_to, wire_bodies, wire_streams

ROUND_TRIPS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("kind", KINDS)
@ROUND_TRIPS
@given(data=st.data())
def test_any_generated_stream_split_anywhere_parses_to_its_completion(
    kind: str, data: st.DataObject
) -> None:
    stream = data.draw(wire_streams(kind))
    headers = {"content-type": stream.content_type}
    assert_parses_to(codec_for(kind).parse_stream(200, headers, stream.chunks), stream.expected)


@pytest.mark.parametrize("kind", KINDS)
@ROUND_TRIPS
@given(data=st.data())
def test_any_generated_body_parses_to_its_completion(kind: str, data: st.DataObject) -> None:
    body = data.draw(wire_bodies(kind))
    headers = {"content-type": body.content_type}
    assert_parses_to(codec_for(kind).parse_response(200, headers, body.body), body.expected)
