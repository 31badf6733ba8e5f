"""The Bedrock Converse / ConverseStream codec, on synthetic bytes (see tests/fixtures/bedrock)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx
from botocore.credentials import Credentials
from factories import make_model, make_provider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmbench import errors, secrets
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.providers import aws, codec_for
from pytest_llmbench.providers.aws import aws_credentials
from pytest_llmbench.providers.bedrock import EVENT_STREAM_TYPE, BedrockCodec
from pytest_llmbench.strategies import (
    splits,
)
from pytest_llmbench.types import Message, Request, StreamEvent, ToolCall, ToolSpec, Usage

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bedrock"
MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
# AWS's documented example key pair: not a real credential.
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789"
FAKE_CREDENTIALS = Credentials(ACCESS_KEY, SECRET_KEY)
ERROR_TYPE_URL = "http://internal.amazon.com/coral/com.amazon.bedrock/"

codec = BedrockCodec()


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real AWS setup leaks in (env, ~/.aws, instance metadata); no registry leaks out."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(secrets, "_values", {})
    monkeypatch.setattr(aws, "_credentials_cache", {})


def fake_env(monkeypatch: pytest.MonkeyPatch, token: str | None = None) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)


def provider(**overrides: Any) -> ProviderConfig:
    model = make_model(
        id=MODEL_ID, context_window=200_000, input_per_mtok=3.0, output_per_mtok=15.0
    )
    fields: dict[str, Any] = {"region": "us-west-2", "api_key_env": None}
    return make_provider("bedrock", model=model, **{**fields, **overrides})


def build(request: Request, api_key: str | None = None, **overrides: Any) -> httpx.Request:
    config = provider(**overrides)
    return codec.build_request(
        request, config.model(), config, api_key, credentials=FAKE_CREDENTIALS
    )


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def hello(**fields: Any) -> Request:
    return Request(messages=[Message(role="user", content="Hello")], **fields)


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (test-only encoder): prelude with CRC, string headers,
    payload, message CRC."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += bytes([len(raw_name)]) + raw_name + b"\x07"
        encoded += struct.pack("!H", len(raw_value)) + raw_value
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event(event_type: str, payload: Any) -> bytes:
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return frame(headers, json.dumps(payload).encode())


def exception(exception_type: str, payload: Any) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, json.dumps(payload).encode())


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def stream_body(name: str) -> bytes:
    return b"".join(event(event_type, payload) for event_type, payload in load(name))


def decode(chunks: list[bytes]) -> list[StreamEvent]:
    decoder = codec.stream_decoder()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def one_byte_chunks(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def sigv4_signature(request: httpx.Request, secret: str) -> tuple[str, str]:
    """(claimed, recomputed) signature of a signed request, recomputed independently from what
    httpx will send (test-only, to check the signature covers the bytes on the wire)."""
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=[^/]+/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        request.headers["authorization"],
    )
    assert match is not None, request.headers["authorization"]
    date, region, service, signed, claimed = match.groups()
    names = signed.split(";")
    canonical_headers = "".join(f"{n}:{' '.join(request.headers[n].split())}\n" for n in names)
    # SigV4 for services other than S3 encodes the already-encoded path once more.
    path = quote(request.url.raw_path.decode().partition("?")[0], safe="/~")
    canonical = "\n".join(
        [
            request.method,
            path,
            request.url.query.decode(),
            canonical_headers,
            signed,
            hashlib.sha256(request.content).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            request.headers["x-amz-date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return claimed, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


# -- build_request: URL and body ------------------------------------------------------------


def test_codec_for_bedrock_returns_bedrock_codec() -> None:
    assert isinstance(codec_for("bedrock"), BedrockCodec)


def test_url_substitutes_region_and_percent_encodes_model_id() -> None:
    request = build(hello())
    assert request.method == "POST"
    assert str(request.url) == (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    )


def test_inference_profile_arn_is_one_path_segment() -> None:
    arn = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.meta.llama3-1-8b-v1:0"
    model = ModelConfig(id=arn, context_window=8, input_per_mtok=0, output_per_mtok=0)
    request = codec.build_request(hello(), model, provider(), credentials=FAKE_CREDENTIALS)
    assert request.url.raw_path == (
        b"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A111122223333%3Ainference-profile%2F"
        b"us.meta.llama3-1-8b-v1%3A0/converse"
    )


def test_region_defaults_to_us_east_1() -> None:
    request = build(hello(), region=None)
    assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"
    assert "/us-east-1/bedrock/aws4_request" in request.headers["authorization"]


def test_region_is_read_from_a_fixed_base_url() -> None:
    request = build(
        hello(), region=None, base_url="https://bedrock-runtime.eu-central-1.amazonaws.com/"
    )
    assert str(request.url).startswith("https://bedrock-runtime.eu-central-1.amazonaws.com/model/")
    assert "/eu-central-1/bedrock/aws4_request" in request.headers["authorization"]


@pytest.mark.parametrize(
    ("base_url", "region"),
    [
        ("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("https://vpce-0a1b2c3d-4e5f.bedrock-runtime.ap-south-1.vpce.amazonaws.com", "ap-south-1"),
        ("https://llm-gateway.example.com/bedrock", "us-east-1"),
    ],
)
def test_signing_region_follows_the_endpoint_host(base_url: str, region: str) -> None:
    request = build(hello(), region=None, base_url=base_url)
    assert f"/{region}/bedrock/aws4_request" in request.headers["authorization"]


def test_non_streamed_request_accepts_json() -> None:
    request = build(hello())
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"


def test_streamed_request_uses_converse_stream_and_accepts_event_stream() -> None:
    request = build(hello(stream=True))
    assert request.url.path.endswith("/converse-stream")
    assert request.headers["accept"] == EVENT_STREAM_TYPE
    assert "stream" not in body_of(request)


def test_system_prompt_goes_to_system_blocks() -> None:
    request = Request(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="system", content="Answer in French."),
            Message(role="user", content="Hello"),
        ]
    )
    body = body_of(build(request))
    assert body["system"] == [{"text": "Be brief.\n\nAnswer in French."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "Hello"}]}]


def test_no_optional_fields_when_unset() -> None:
    assert body_of(build(hello())) == {
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}]
    }


def test_sampling_fields_go_to_inference_config() -> None:
    body = body_of(build(hello(max_tokens=256, temperature=0.2, top_p=0.9, stop=["END", "##"])))
    assert body["inferenceConfig"] == {
        "maxTokens": 256,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END", "##"],
    }


def test_seed_is_not_sent_because_converse_has_no_seed() -> None:
    assert "seed" not in json.dumps(body_of(build(hello(seed=7))))


def test_tools_become_tool_specs_with_auto_choice() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tools = [ToolSpec(name="get_weather", description="Weather in a city", parameters=schema)]
    body = body_of(build(hello(tools=tools, tool_choice="auto")))
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "inputSchema": {"json": schema},
                }
            }
        ],
        "toolChoice": {"auto": {}},
    }


def test_required_tool_choice_is_any() -> None:
    body = body_of(build(hello(tools=[ToolSpec(name="f")], tool_choice="required")))
    assert body["toolConfig"]["toolChoice"] == {"any": {}}


def test_empty_tool_description_is_left_out() -> None:
    body = body_of(build(hello(tools=[ToolSpec(name="f")])))
    assert body["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "f", "inputSchema": {"json": ToolSpec(name="f").parameters}}}
        ]
    }


def test_tool_choice_none_drops_tools_from_a_fresh_conversation() -> None:
    body = body_of(build(hello(tools=[ToolSpec(name="f")], tool_choice="none")))
    assert "toolConfig" not in body


def tool_history() -> list[Message]:
    return [
        Message(role="user", content="Weather in Paris and Tokyo?"),
        Message(
            role="assistant",
            content="Checking.",
            tool_calls=[
                ToolCall(id="t1", name="get_weather", arguments={"city": "Paris"}),
                ToolCall(id="t2", name="get_weather", arguments={"city": "Tokyo"}),
            ],
        ),
        Message(role="tool", tool_call_id="t1", content="18C"),
        Message(role="tool", tool_call_id="t2", content="25C"),
    ]


def test_tool_calls_and_results_become_tool_use_and_one_user_turn() -> None:
    body = body_of(build(Request(messages=tool_history(), tools=[ToolSpec(name="get_weather")])))
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Tokyo?"}]},
        {
            "role": "assistant",
            "content": [
                {"text": "Checking."},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "t2", "name": "get_weather", "input": {"city": "Tokyo"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "18C"}]}},
                {"toolResult": {"toolUseId": "t2", "content": [{"text": "25C"}]}},
            ],
        },
    ]


def test_tool_choice_none_keeps_tools_when_history_has_tool_blocks() -> None:
    request = Request(
        messages=tool_history(), tools=[ToolSpec(name="get_weather")], tool_choice="none"
    )
    config = body_of(build(request))["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["get_weather"]
    assert "toolChoice" not in config


def test_response_schema_goes_to_output_config_as_a_json_string() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    body = body_of(build(hello(response_schema=schema, response_schema_name="answer")))
    text_format = body["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    definition = text_format["structure"]["jsonSchema"]
    assert definition["name"] == "answer"
    assert isinstance(definition["schema"], str)
    assert json.loads(definition["schema"]) == schema


def test_extra_is_merged_last() -> None:
    extra = {
        "additionalModelRequestFields": {"top_k": 40},
        "inferenceConfig": {"maxTokens": 5},
    }
    body = body_of(build(hello(max_tokens=100, temperature=1.0, extra=extra)))
    assert body["additionalModelRequestFields"] == {"top_k": 40}
    assert body["inferenceConfig"] == {"maxTokens": 5}


def test_data_url_image_part_becomes_image_block() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"document": {"format": "txt", "name": "notes", "source": {"bytes": "aGk="}}},
    ]
    body = body_of(build(Request(messages=[Message(role="user", content=content)])))
    assert body["messages"][0]["content"] == [
        {"text": "What is this?"},
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
        {"document": {"format": "txt", "name": "notes", "source": {"bytes": "aGk="}}},
    ]


def test_remote_image_url_is_refused_with_a_clear_message() -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    with pytest.raises(ValueError, match="base64 data URLs"):
        build(Request(messages=[Message(role="user", content=content)]))


def test_provider_headers_are_sent_and_signed() -> None:
    request = build(hello(), headers={"x-amzn-bedrock-trace": "ENABLED"})
    assert request.headers["x-amzn-bedrock-trace"] == "ENABLED"
    assert "x-amzn-bedrock-trace" in request.headers["authorization"]


# -- build_request: authentication ----------------------------------------------------------


def test_api_key_is_sent_as_bearer_without_sigv4() -> None:
    request = build(hello(), api_key="canary-bedrock-key")
    assert request.headers["authorization"] == "Bearer canary-bedrock-key"
    assert "x-amz-date" not in request.headers


def test_sigv4_authorization_header_names_key_scope_and_signed_headers() -> None:
    request = build(hello())
    authorization = request.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-2/bedrock/aws4_request" in authorization
    assert "SignedHeaders=accept;content-type;host;x-amz-date," in authorization
    assert re.fullmatch(r"\d{8}T\d{6}Z", request.headers["x-amz-date"])
    assert "x-amz-security-token" not in request.headers


def test_sigv4_signature_covers_exactly_what_httpx_sends() -> None:
    claimed, recomputed = sigv4_signature(build(hello(max_tokens=8, stream=True)), SECRET_KEY)
    assert claimed == recomputed


def test_secret_key_never_appears_in_the_request() -> None:
    request = build(hello())
    wire = str(request.url) + repr(dict(request.headers)) + request.content.decode()
    assert SECRET_KEY not in wire


def test_environment_credentials_sign_when_none_are_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env(monkeypatch)
    config = provider()
    request = codec.build_request(hello(), config.model(), config)
    claimed, recomputed = sigv4_signature(request, SECRET_KEY)
    assert claimed == recomputed


def test_session_token_is_sent_and_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env(monkeypatch, token=SESSION_TOKEN)
    config = provider()
    request = codec.build_request(hello(), config.model(), config)
    assert request.headers["x-amz-security-token"] == SESSION_TOKEN
    assert "x-amz-security-token" in request.headers["authorization"]


def test_missing_credentials_raise_authentication_error_with_hint() -> None:
    config = provider()
    with pytest.raises(errors.AuthenticationError) as caught:
        codec.build_request(hello(), config.model(), config)
    assert "AWS_ACCESS_KEY_ID" in caught.value.hint
    assert caught.value.provider == "bedrock"


# -- aws_credentials ------------------------------------------------------------------------


def test_aws_credentials_none_without_any_source() -> None:
    assert aws_credentials(provider()) is None


def test_aws_credentials_from_environment_registers_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_env(monkeypatch, token=SESSION_TOKEN)
    credentials = aws_credentials(provider())
    assert credentials is not None
    assert credentials.access_key == ACCESS_KEY
    text = secrets.redact(f"key {SECRET_KEY} token {SESSION_TOKEN}")
    assert SECRET_KEY not in text
    assert SESSION_TOKEN not in text
    assert "<AWS_SECRET_ACCESS_KEY>" in text


def test_aws_credentials_from_named_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        f"[bench]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET_KEY}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    credentials = aws_credentials(provider(profile="bench"))
    assert credentials is not None
    assert credentials.access_key == "AKIDPROFILE"


def test_aws_credentials_none_for_unknown_profile() -> None:
    assert aws_credentials(provider(profile="does-not-exist")) is None


def test_config_missing_credentials_asks_for_aws_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "AWS_ACCESS_KEY_ID" in (codec.credentials(provider()).missing or "")
    fake_env(monkeypatch)
    assert codec.credentials(provider()).missing is None


def test_credentials_without_any_source_name_the_aws_variables_and_the_api_key() -> None:
    status = codec.credentials(provider(api_key_env="LLMBENCH_BEDROCK_KEY"))
    assert not status.present
    assert status.names == (
        "LLMBENCH_BEDROCK_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
    )
    assert status.missing == (
        "AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) is not set"
    )
    assert "a Bedrock API key in LLMBENCH_BEDROCK_KEY" in status.fix


def test_a_bedrock_api_key_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMBENCH_BEDROCK_KEY", "canary-bedrock-key")
    status = codec.credentials(provider(api_key_env="LLMBENCH_BEDROCK_KEY"))
    assert status.present
    assert status.state == "LLMBENCH_BEDROCK_KEY: set"


def test_aws_credentials_from_the_chain_are_listed_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env(monkeypatch)
    assert codec.credentials(provider()).state == "AWS credentials: set"


def test_signing_without_credentials_fails_with_the_same_message_as_the_status() -> None:
    config = provider()
    with pytest.raises(errors.AuthenticationError) as caught:
        codec.build_request(hello(), config.model(), config)
    assert caught.value.message == codec.credentials(config).missing


def test_error_echoing_the_secret_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env(monkeypatch)
    assert aws_credentials(provider()) is not None
    body = json.dumps({"message": f"bad signature for secret {SECRET_KEY}"}).encode()
    error = codec.parse_error(400, {"x-amzn-ErrorType": "ValidationException"}, body)
    assert SECRET_KEY not in str(error)
    assert SECRET_KEY not in repr(error)


# -- non-streamed responses -----------------------------------------------------------------


def test_text_response_parses_text_finish_and_usage() -> None:
    body = json.dumps(load("converse_text.json")).encode()
    completion = codec.parse_response(200, {}, body)
    assert completion.text == "Paris is the capital of France."
    assert completion.finish_reason == "stop"
    assert completion.raw_finish_reason == "end_turn"
    assert completion.tool_calls == []


def test_usage_counts_cache_reads_and_writes_as_input() -> None:
    completion = codec.parse_response(200, {}, json.dumps(load("converse_text.json")).encode())
    assert completion.usage == Usage(input_tokens=1614, output_tokens=9, cached_input_tokens=1500)


def test_latency_metric_is_kept_in_raw() -> None:
    completion = codec.parse_response(200, {}, json.dumps(load("converse_text.json")).encode())
    assert completion.raw["metrics"]["latencyMs"] == 412


def test_tool_use_response_parses_tool_calls_with_arguments() -> None:
    completion = codec.parse_response(200, {}, json.dumps(load("converse_tool_use.json")).encode())
    assert completion.finish_reason == "tool_calls"
    assert completion.text == "I'll look up the weather in both cities."
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ("tooluse_9wNsGmJ0TbCkYr3xQf1pAg", "get_weather", {"city": "Tokyo", "unit": "celsius"}),
    ]
    assert json.loads(completion.tool_calls[0].raw_arguments) == {
        "city": "Paris",
        "unit": "celsius",
    }
    assert completion.usage == Usage(input_tokens=390, output_tokens=112)


def test_reasoning_content_becomes_reasoning() -> None:
    completion = codec.parse_response(200, {}, json.dumps(load("converse_reasoning.json")).encode())
    assert completion.reasoning == "The user asks for 17 * 3. 17 * 3 = 51."
    assert completion.text == "17 * 3 = 51."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_model_output", "other"),
        ("malformed_tool_use", "other"),
        ("something_new", "other"),
    ],
)
def test_stop_reasons_are_normalised(raw: str, expected: str) -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": raw,
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
    completion = codec.parse_response(200, {}, json.dumps(body).encode())
    assert completion.finish_reason == expected
    assert completion.raw_finish_reason == raw


def test_body_without_output_message_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_response(200, {}, b'{"stopReason": "end_turn"}')


def test_non_json_body_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_response(200, {}, b"<html>oops</html>")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
converse_keys = st.sampled_from(
    [
        "output",
        "message",
        "content",
        "text",
        "toolUse",
        "input",
        "reasoningContent",
        "reasoningText",
        "stopReason",
        "usage",
        "inputTokens",
        "cacheReadInputTokens",
        "name",
    ]
)
converse_like = st.recursive(
    json_values,
    lambda inner: st.dictionaries(converse_keys, inner, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(converse_like)
def test_any_json_body_parses_or_is_malformed(body: Any) -> None:
    try:
        codec.parse_response(200, {}, json.dumps(body).encode())
    except errors.MalformedResponseError:
        pass
    except errors.ProviderError:
        # A 200 body shaped like an AWS error ({"message": "..."}) is reported as that error.
        assert isinstance(body, dict)
        assert "output" not in body


# -- streamed responses ---------------------------------------------------------------------


def test_text_stream_events() -> None:
    events = decode([stream_body("stream_text.json")])
    assert [e.type for e in events] == ["start", "text", "text", "text", "finish", "usage"]
    assert "".join(e.text for e in events if e.type == "text") == (
        "Paris is the capital of France — très bien."
    )
    assert events[-2] == StreamEvent("finish", finish_reason="stop", raw_finish_reason="end_turn")
    assert events[-1].usage == Usage(input_tokens=14, output_tokens=9)


def test_text_stream_completion() -> None:
    completion = codec.parse_stream(200, {}, [stream_body("stream_text.json")])
    assert completion.text == "Paris is the capital of France — très bien."
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(input_tokens=14, output_tokens=9)


def test_tool_stream_events_number_tool_calls_from_zero() -> None:
    events = [e for e in decode([stream_body("stream_tool_use.json")]) if e.type == "tool_call"]
    assert events[0] == StreamEvent(
        "tool_call", index=0, id="tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name="get_weather"
    )
    assert [e.index for e in events] == [0, 0, 0, 0, 1, 1]
    assert events[4].id == "tooluse_9wNsGmJ0TbCkYr3xQf1pAg"


def test_tool_stream_completion_parses_arguments() -> None:
    completion = codec.parse_stream(200, {}, [stream_body("stream_tool_use.json")])
    assert completion.text == "Checking both cities."
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ("tooluse_9wNsGmJ0TbCkYr3xQf1pAg", "get_weather", {"city": "Tokyo"}),
    ]
    assert completion.tool_calls[0].raw_arguments == '{"city": "Paris", "unit": "celsius"}'


def test_reasoning_stream_keeps_text_and_skips_signature() -> None:
    events = decode([stream_body("stream_reasoning.json")])
    assert [e.text for e in events if e.type == "reasoning"] == ["17 * 3: ", "10 * 3 + 7 * 3 = 51."]
    completion = codec.parse_stream(200, {}, [stream_body("stream_reasoning.json")])
    assert completion.reasoning == "17 * 3: 10 * 3 + 7 * 3 = 51."
    assert completion.text == "17 * 3 = 51."
    assert completion.finish_reason == "length"
    assert completion.usage == Usage(input_tokens=1045, output_tokens=60, cached_input_tokens=1000)


@pytest.mark.parametrize(
    "name", ["stream_text.json", "stream_tool_use.json", "stream_reasoning.json"]
)
def test_one_byte_chunks_decode_like_one_chunk(name: str) -> None:
    body = stream_body(name)
    assert decode(one_byte_chunks(body)) == decode([body])
    assert codec.parse_stream(200, {}, one_byte_chunks(body)) == codec.parse_stream(200, {}, [body])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_split_decodes_to_the_same_events_and_completion(data: st.DataObject) -> None:
    name = data.draw(
        st.sampled_from(["stream_text.json", "stream_tool_use.json", "stream_reasoning.json"])
    )
    body = stream_body(name)
    chunks = data.draw(splits(body))
    assert decode(chunks) == decode([body])
    assert codec.parse_stream(200, {}, chunks) == codec.parse_stream(200, {}, [body])


def test_stream_cut_inside_a_frame_is_interrupted() -> None:
    body = stream_body("stream_text.json")
    with pytest.raises(errors.StreamInterruptedError, match="inside an event-stream frame"):
        codec.parse_stream(200, {}, [body[:-10]])


def test_stream_cut_before_message_stop_is_interrupted() -> None:
    frames = [event(t, p) for t, p in load("stream_text.json")]
    with pytest.raises(errors.StreamInterruptedError, match="messageStop"):
        codec.parse_stream(200, {}, [b"".join(frames[:4])])


def test_stream_ending_after_message_stop_without_metadata_is_complete() -> None:
    frames = [event(t, p) for t, p in load("stream_text.json")]
    completion = codec.parse_stream(200, {}, [b"".join(frames[:-1])])
    assert completion.finish_reason == "stop"
    assert completion.usage is None


def test_empty_stream_is_interrupted() -> None:
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, {}, [])


@pytest.mark.parametrize(
    ("exception_type", "message", "expected"),
    [
        (
            "throttlingException",
            "Too many tokens, please wait before trying again.",
            errors.RateLimitError,
        ),
        ("modelStreamErrorException", "The model stream was interrupted.", errors.ServerError),
        ("internalServerException", "Internal server error", errors.ServerError),
        (
            "serviceUnavailableException",
            "Bedrock is unable to process your request.",
            errors.ServerError,
        ),
        ("validationException", "Malformed input request", errors.InvalidRequestError),
        (
            "validationException",
            "Input is too long for requested model.",
            errors.ContextLengthExceededError,
        ),
        (
            "modelTimeoutException",
            "Model has timed out in processing the request.",
            errors.TimeoutError,
        ),
    ],
)
def test_exception_inside_a_stream_raises_its_taxonomy_error(
    exception_type: str, message: str, expected: type[errors.ProviderError]
) -> None:
    frames = [event(t, p) for t, p in load("stream_text.json")][:2]
    body = b"".join(frames) + exception(exception_type, {"message": message})
    with pytest.raises(errors.ProviderError) as caught:
        codec.parse_stream(200, {}, one_byte_chunks(body))
    assert type(caught.value) is expected
    assert caught.value.code == exception_type
    assert caught.value.message == message
    assert caught.value.status is None


def test_stream_exception_becomes_an_error_event_and_close_stays_quiet() -> None:
    body = event("messageStart", {"role": "assistant"}) + exception(
        "throttlingException", {"message": "Rate exceeded"}
    )
    events = decode([body])
    assert [e.type for e in events] == ["start", "error"]
    assert isinstance(events[1].error, errors.RateLimitError)


def test_model_stream_error_without_message_uses_the_original_message() -> None:
    payload = {"originalStatusCode": 500, "originalMessage": "upstream model failed"}
    events = decode([exception("modelStreamErrorException", payload)])
    assert events[0].error is not None
    assert events[0].error.message == "upstream model failed"


def test_error_message_type_uses_error_headers() -> None:
    body = frame(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    )
    with pytest.raises(errors.ServerError, match="boom"):
        codec.parse_stream(200, {}, [body])


def test_corrupted_crc_is_malformed() -> None:
    body = bytearray(stream_body("stream_text.json"))
    body[30] ^= 0xFF  # inside the first frame's headers: its message CRC no longer matches
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [bytes(body)])


def test_corrupted_prelude_is_malformed() -> None:
    body = bytearray(stream_body("stream_text.json"))
    body[2] ^= 0x01  # the total length: the prelude CRC no longer matches
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [bytes(body)])


def test_sse_text_instead_of_event_stream_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [b'data: {"choices": []}\n\n' * 4])


def test_non_json_event_payload_is_malformed() -> None:
    body = frame({":message-type": "event", ":event-type": "contentBlockDelta"}, b"not json")
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [body])


def test_unknown_message_type_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [frame({":message-type": "gossip"}, b"{}")])


def test_frame_shorter_than_its_own_framing_is_malformed() -> None:
    prelude = struct.pack("!II", 12, 0)
    prelude += struct.pack("!I", zlib.crc32(prelude))  # valid CRC, impossible length
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [prelude + b"\x00" * 8])


def test_unknown_event_types_are_ignored() -> None:
    frames = [event(t, p) for t, p in load("stream_text.json")]
    body = frames[0] + event("futureEvent", {"x": 1}) + b"".join(frames[1:])
    assert decode([body]) == decode([stream_body("stream_text.json")])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400).flatmap(lambda garbage: splits(garbage, max_cuts=5)))
def test_random_bytes_raise_only_malformed_or_interrupted(chunks: list[bytes]) -> None:
    try:
        decode(chunks)
    except (errors.MalformedResponseError, errors.StreamInterruptedError):
        pass


payload_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "delta",
                    "text",
                    "toolUse",
                    "input",
                    "start",
                    "toolUseId",
                    "name",
                    "contentBlockIndex",
                    "reasoningContent",
                    "stopReason",
                    "usage",
                    "inputTokens",
                    "message",
                    "role",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["event", "exception", "error"]),
            st.sampled_from(
                [
                    "messageStart",
                    "contentBlockStart",
                    "contentBlockDelta",
                    "contentBlockStop",
                    "messageStop",
                    "metadata",
                    "throttlingException",
                ]
            ),
            payload_values,
        ),
        max_size=6,
    )
)
def test_well_framed_nonsense_raises_only_taxonomy_errors(
    frames: list[tuple[str, str, Any]],
) -> None:
    body = b""
    for message_type, name, payload in frames:
        kind = ":exception-type" if message_type == "exception" else ":event-type"
        body += frame({":message-type": message_type, kind: name}, json.dumps(payload).encode())
    try:
        codec.parse_stream(200, {}, [body])
    except errors.ProviderError:
        pass


# -- errors ---------------------------------------------------------------------------------


def aws_error(
    status: int, error_type: str | None, message: str, **headers: str
) -> errors.ProviderError:
    all_headers = {"content-type": "application/json", **headers}
    if error_type is not None:
        all_headers["x-amzn-ErrorType"] = f"{error_type}:{ERROR_TYPE_URL}"
    return codec.parse_error(status, all_headers, json.dumps({"message": message}).encode())


@pytest.mark.parametrize(
    ("status", "error_type", "message", "expected"),
    [
        (
            400,
            "ValidationException",
            "Malformed input request: #: extraneous key [seed] is not permitted",
            errors.InvalidRequestError,
        ),
        (
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
            errors.ModelNotFoundError,
        ),
        (
            400,
            "ValidationException",
            "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand "
            "throughput isn’t supported. Retry your request with the ID or ARN of an inference "
            "profile that contains this model.",
            errors.ModelNotFoundError,
        ),
        (
            400,
            "ServiceQuotaExceededException",
            "Your request exceeds the service quota for your account.",
            errors.RateLimitError,
        ),
        (401, None, "Unauthorized", errors.AuthenticationError),
        (
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
            errors.PermissionDeniedError,
        ),
        (
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            errors.AuthenticationError,
        ),
        (
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
            errors.AuthenticationError,
        ),
        (
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
            errors.AuthenticationError,
        ),
        (404, "ResourceNotFoundException", "Model not found.", errors.ModelNotFoundError),
        (
            408,
            "ModelTimeoutException",
            "Model has timed out in processing the request.",
            errors.TimeoutError,
        ),
        (424, "ModelErrorException", "The model returned an error.", errors.ServerError),
        (429, "ModelNotReadyException", "Model is not ready for inference.", errors.ServerError),
        (500, "InternalServerException", "Internal server error", errors.ServerError),
        (
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
            errors.ServerError,
        ),
    ],
)
def test_error_status_and_type_map_to_taxonomy(
    status: int, error_type: str | None, message: str, expected: type[errors.ProviderError]
) -> None:
    error = aws_error(status, error_type, message)
    assert type(error) is expected
    assert error.status == status
    assert error.code == error_type
    assert error.message == message
    assert error.provider == "bedrock"


@pytest.mark.parametrize(
    "message",
    [
        "Input is too long for requested model.",
        "Too many input tokens. Max input tokens: 8192, request input token count: 9100",
        "The model returned the following errors: "
        "prompt is too long: 210000 tokens > 200000 maximum",
        "This model's maximum context length is 8192 tokens. "
        "Please reduce the length of the prompt",
        "Input Tokens Exceeded: Number of input tokens exceeds maximum length.",
    ],
)
def test_context_length_messages_are_recognised(message: str) -> None:
    error = aws_error(400, "ValidationException", message)
    assert type(error) is errors.ContextLengthExceededError
    assert error.code == "ValidationException"


def test_throttling_with_retry_after_is_rate_limit_with_retry_after() -> None:
    error = aws_error(
        429,
        "ThrottlingException",
        "Too many tokens, please wait before trying again.",
        **{"Retry-After": "7"},
    )
    assert type(error) is errors.RateLimitError
    assert error.retryable
    assert error.retry_after == 7.0


def test_bedrock_api_key_rejection_is_authentication_error() -> None:
    body = b'{"Message":"Authentication failed: Please make sure your API Key is valid."}'
    error = codec.parse_error(403, {"x-amzn-ErrorType": "AccessDeniedException"}, body)
    assert type(error) is errors.AuthenticationError
    assert error.message == "Authentication failed: Please make sure your API Key is valid."


def test_error_type_with_namespace_is_reduced_to_its_name() -> None:
    body = b'{"message": "Rate exceeded"}'
    error = codec.parse_error(
        429, {"X-Amzn-ErrorType": "com.amazon.coral#ThrottlingException"}, body
    )
    assert error.code == "ThrottlingException"


def test_error_type_in_body_is_used_without_the_header() -> None:
    body = b'{"__type": "com.amazon.bedrock#ResourceNotFoundException", "message": "gone"}'
    error = codec.parse_error(404, {}, body)
    assert type(error) is errors.ModelNotFoundError
    assert error.code == "ResourceNotFoundException"


def test_html_error_page_from_a_proxy_is_classed_by_status() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    error = codec.parse_error(502, {"content-type": "text/html"}, page)
    assert type(error) is errors.ServerError
    assert error.message == "502 Bad Gateway"


def test_empty_error_body_is_classed_by_status() -> None:
    error = codec.parse_error(403, {}, b"")
    assert type(error) is errors.PermissionDeniedError


def test_error_status_on_a_stream_request_raises_before_decoding() -> None:
    body = b'{"message": "Input is too long for requested model."}'
    with pytest.raises(errors.ContextLengthExceededError):
        codec.parse_stream(400, {"x-amzn-ErrorType": "ValidationException"}, [body])


# -- round trips through a real httpx client -----------------------------------------------


def test_stream_round_trip_through_httpx() -> None:
    request = build(hello(stream=True, max_tokens=64))
    wire = stream_body("stream_tool_use.json")
    with respx.mock(assert_all_called=True) as router:
        route = router.post(str(request.url)).mock(
            return_value=httpx.Response(
                200, content=wire, headers={"content-type": EVENT_STREAM_TYPE}
            )
        )
        with httpx.Client() as client:
            response = client.send(request, stream=True)
            try:
                completion = codec.parse_stream(
                    response.status_code, response.headers, response.iter_raw(7)
                )
            finally:
                response.close()
    sent = route.calls.last.request
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert json.loads(sent.content)["inferenceConfig"] == {"maxTokens": 64}
    assert [c.arguments for c in completion.tool_calls] == [
        {"city": "Paris", "unit": "celsius"},
        {"city": "Tokyo"},
    ]


def test_error_round_trip_through_httpx() -> None:
    request = build(hello())
    with respx.mock(assert_all_called=True) as router:
        router.post(str(request.url)).mock(
            return_value=httpx.Response(
                429,
                json={"message": "Too many requests, please wait before trying again."},
                headers={
                    "x-amzn-ErrorType": f"ThrottlingException:{ERROR_TYPE_URL}",
                    "retry-after": "2",
                },
            )
        )
        with httpx.Client() as client:
            response = client.send(request)
    with pytest.raises(errors.RateLimitError) as caught:
        codec.parse_response(response.status_code, response.headers, response.content)
    assert caught.value.retry_after == 2.0
    assert caught.value.code == "ThrottlingException"
