"""Amazon Bedrock Runtime: the Converse and ConverseStream APIs.

Wire format: POST {base_url}/model/{model id, percent-encoded}/converse (or /converse-stream)
with a JSON body, signed with SigV4 by botocore (service "bedrock"), or sent with
`Authorization: Bearer <Bedrock API key>`. The streamed body is the AWS binary event stream
(application/vnd.amazon.eventstream), framed by botocore's EventStreamBuffer: each frame has
`:message-type` event (with `:event-type` messageStart, contentBlockStart, contentBlockDelta,
contentBlockStop, messageStop, metadata and a JSON payload) or exception (`:exception-type`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage
from botocore.exceptions import BotoCoreError

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.providers.aws import aws_credentials, provider_region, sign_request
from pytest_llmbench.providers.base import (
    Codec,
    CredentialStatus,
    ErrorInfo,
    base_headers,
    decode_json,
    finish_from,
    json_request,
    sampling_options,
)
from pytest_llmbench.providers.json_values import as_int, as_str
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    StreamEvent,
    ToolCall,
    Usage,
)

EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"
AWS_CREDENTIALS = "AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    # The output stopped because the context window filled up: a truncation, like max_tokens.
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

# Error codes (x-amzn-ErrorType, `:exception-type`), lowercased: stream exceptions are spelled
# lowerCamel (throttlingException), HTTP errors UpperCamel (ThrottlingException).
_AUTH_CODES = frozenset(
    {
        "unrecognizedclientexception",
        "invalidclienttokenid",
        "invalidsignatureexception",
        "signaturedoesnotmatch",
        "incompletesignature",
        "incompletesignatureexception",
        "missingauthenticationtoken",
        "missingauthenticationtokenexception",
        "expiredtoken",
        "expiredtokenexception",
        "requestexpired",
    }
)
_CODE_CLASSES: dict[str, type[errors.ProviderError]] = {
    "accessdeniedexception": errors.PermissionDeniedError,
    "ftuformnotfilled": errors.PermissionDeniedError,
    "resourcenotfoundexception": errors.ModelNotFoundError,
    "throttlingexception": errors.RateLimitError,
    "servicequotaexceededexception": errors.RateLimitError,
    "modelnotreadyexception": errors.ServerError,
    "modelerrorexception": errors.ServerError,
    "modelstreamerrorexception": errors.ServerError,
    "internalserverexception": errors.ServerError,
    "internalfailure": errors.ServerError,
    "serviceunavailableexception": errors.ServerError,
    "serviceunavailable": errors.ServerError,
    "modeltimeoutexception": errors.TimeoutError,
    "validationexception": errors.InvalidRequestError,
    "conflictexception": errors.InvalidRequestError,
}
_AUTH_MESSAGE = re.compile(
    r"security token included in the request is (?:invalid|expired)"
    r"|authentication failed|api key is (?:invalid|not valid)"
    r"|signature we calculated does not match|access key id you provided does not exist",
    re.IGNORECASE,
)
# Bedrock's own wording plus what the hosted models say through it. Not "too many tokens"
# alone: ThrottlingException says "Too many tokens, please wait before trying again."
_CONTEXT_MESSAGE = re.compile(
    r"input is too long|too many input tokens|max(?:imum)? input tokens|prompt is too long"
    r"|context length|context window|maximum context|exceeds the maximum number of tokens"
    r"|input length .* exceed|input tokens? exceed",
    re.IGNORECASE,
)
# A ValidationException whose fix is another model id in models.toml.
_MODEL_MESSAGE = re.compile(
    r"model identifier is invalid|on-demand throughput isn.t supported", re.IGNORECASE
)
_MIN_FRAME_LENGTH = 16  # prelude (12) + message CRC (4)


# -- request --------------------------------------------------------------------------------


def converse_body(request: Request) -> dict[str, Any]:
    """The Converse JSON body for `request` (the same for Converse and ConverseStream).

    Converse has no seed and no "none" tool choice: `seed` is not sent (put model-specific
    fields in `extra["additionalModelRequestFields"]`), and `tool_choice="none"` leaves the
    tools out unless the conversation already holds tool blocks, which require a toolConfig.
    """
    messages = converse_messages(request)
    body: dict[str, Any] = {"messages": messages}
    if request.system:
        body["system"] = [{"text": request.system}]
    inference: dict[str, Any] = {}
    inference.update(
        sampling_options(
            request,
            {
                "max_tokens": "maxTokens",
                "temperature": "temperature",
                "top_p": "topP",
                "stop": "stopSequences",
            },
        )
    )
    if inference:
        body["inferenceConfig"] = inference
    tool_config = _tool_config(request, messages)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    if request.response_schema is not None:
        body["outputConfig"] = {
            "textFormat": {
                "type": "json_schema",
                "structure": {
                    "jsonSchema": {
                        # The schema travels as a JSON string, not an object.
                        "schema": json.dumps(request.response_schema, separators=(",", ":")),
                        "name": request.response_schema_name,
                    }
                },
            }
        }
    body.update(request.extra)
    return body


def converse_messages(request: Request) -> list[dict[str, Any]]:
    """The non-system messages as Converse messages; tool results become user turns.

    Consecutive messages of one role are merged, since Converse wants user and assistant
    to alternate (several tool results answer one assistant turn in one user message).
    """
    out: list[dict[str, Any]] = []
    for message in request.conversation:
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "toolResult": {
                    "toolUseId": message.tool_call_id or "",
                    "content": [{"text": message.text}],
                }
            }
        ]
    blocks = _content_blocks(message.content)
    for call in message.tool_calls:
        blocks.append(
            {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
        )
    return blocks


def _content_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text, or parts: `{"type": "text"}` and data-URL `image_url` parts are converted; parts
    without a `type` are taken as Converse content blocks already (`{"image": ...}`)."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"text": str(part["text"])})
        elif kind == "image_url":
            blocks.append(_image_block(part))
        else:
            blocks.append(dict(part))
    return blocks


def _image_block(part: dict[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = str(image.get("url", "") if isinstance(image, dict) else image or "")
    header, sep, data = url.partition(",")
    if not (url.startswith("data:image/") and sep and header.endswith(";base64")):
        raise ValueError("Bedrock Converse takes images as base64 data URLs (data:image/png;...)")
    media = header[len("data:image/") : -len(";base64")]
    return {"image": {"format": "jpeg" if media == "jpg" else media, "source": {"bytes": data}}}


def _tool_config(request: Request, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not request.tools:
        return None
    if request.tool_choice == "none" and not _has_tool_blocks(messages):
        return None
    tools = []
    for tool in request.tools:
        spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
        if tool.description:  # Converse rejects an empty description
            spec["description"] = tool.description
        tools.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": tools}
    if request.tool_choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif request.tool_choice == "required":
        config["toolChoice"] = {"any": {}}
    return config


def _has_tool_blocks(messages: list[dict[str, Any]]) -> bool:
    return any(
        "toolUse" in block or "toolResult" in block
        for message in messages
        for block in message["content"]
    )


# -- response -------------------------------------------------------------------------------


def usage_from(data: Any) -> Usage | None:
    """Usage from a Converse `usage` object.

    Bedrock's inputTokens leaves out cache reads and writes; here input_tokens counts every
    input token and cached_input_tokens the part read from the cache, as OpenAI reports them.
    """
    if not isinstance(data, dict):
        return None
    cache_read = as_int(data.get("cacheReadInputTokens"))
    cache_write = as_int(data.get("cacheWriteInputTokens"))
    return Usage(
        input_tokens=as_int(data.get("inputTokens"), 0) + (cache_read or 0) + (cache_write or 0),
        output_tokens=as_int(data.get("outputTokens"), 0),
        cached_input_tokens=cache_read,
    )


def error_code(value: Any) -> str | None:
    """An AWS error type without its namespace or URL: `ValidationException:http://...`,
    `com.amazon.coral#ThrottlingException` -> the bare name."""
    if not isinstance(value, str):
        return None
    code = value.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return code or None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class BedrockCodec(Codec):
    kind = "bedrock"

    def build_request(
        self,
        request: Request,
        model: ModelConfig,
        provider: ProviderConfig,
        api_key: str | None = None,
        *,
        credentials: Credentials | None = None,
    ) -> httpx.Request:
        """The Converse (or ConverseStream) request, signed.

        With `api_key` (a Bedrock API key) it carries `Authorization: Bearer`; otherwise it is
        SigV4-signed with `credentials`, or with `aws_credentials(provider)` when none are given.
        """
        region = provider_region(provider)
        base = provider.base_url.replace("{region}", region).rstrip("/")
        action = "converse-stream" if request.stream else "converse"
        url = f"{base}/model/{quote(model.id, safe='')}/{action}"
        headers = base_headers(provider)
        headers["accept"] = EVENT_STREAM_TYPE if request.stream else "application/json"
        http_request = json_request("POST", url, converse_body(request), headers)
        if api_key:
            http_request.headers["authorization"] = f"Bearer {api_key}"
            return http_request
        resolved = credentials or aws_credentials(provider)
        if resolved is None:
            raise _aws_status(provider, present=False).error(self.kind)
        try:
            sign_request(http_request, resolved, region)
        except BotoCoreError as exc:  # refreshing expired SSO or role credentials failed
            raise errors.AuthenticationError(
                f"could not refresh the AWS credentials: {exc}", provider=self.kind
            ) from None
        return http_request

    def credentials(self, provider: ProviderConfig) -> CredentialStatus:
        """A Bedrock API key in `api_key_env`, else AWS credentials from botocore's chain."""
        key = super().credentials(provider)
        if key.present and key.names:
            return key
        return _aws_status(provider, present=aws_credentials(provider) is not None)

    def completion_from_json(self, body: Any) -> Completion:
        output = body.get("output") if isinstance(body, dict) else None
        message = output.get("message") if isinstance(output, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(body, dict) or not isinstance(content, list):
            raise self.malformed(f"response has no output.message.content: {str(body)[:120]}")
        text: list[str] = []
        reasoning: list[str] = []
        tool_calls: list[ToolCall] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("text"), str):
                text.append(block["text"])
            tool = block.get("toolUse")
            if isinstance(tool, dict):
                tool_calls.append(_tool_call(tool))
            thought = block.get("reasoningContent")
            thought_text = thought.get("reasoningText") if isinstance(thought, dict) else None
            if isinstance(thought_text, dict) and isinstance(thought_text.get("text"), str):
                reasoning.append(thought_text["text"])
        raw_finish = body.get("stopReason")
        raw_finish = raw_finish if isinstance(raw_finish, str) else None
        return Completion(
            text="".join(text),
            reasoning="".join(reasoning),
            tool_calls=tool_calls,
            finish_reason=finish_from(FINISH_REASONS, raw_finish),
            raw_finish_reason=raw_finish,
            usage=usage_from(body.get("usage")),
        )

    def error_info(self, body: Any) -> ErrorInfo | None:
        if not isinstance(body, dict) or "output" in body:
            return None
        message = as_str(body.get("message", body.get("Message")))
        code = error_code(body.get("__type", body.get("code", body.get("Code"))))
        if not message:
            # modelStreamErrorException may carry only the model's own words.
            message = as_str(body.get("originalMessage"))
        if not message and code is None:
            return None
        return ErrorInfo(code=code, message=message)

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> errors.ProviderError:
        """As the base class, but the error type comes from the x-amzn-ErrorType header."""
        error = super().parse_error(status, headers, body)
        code = error_code(_header(headers, "x-amzn-errortype"))
        if code is None or code == error.code:
            return error
        info = ErrorInfo(code=code, message=error.message)
        return self.make_error(status, info, retry_after=error.retry_after)

    def refine_error(self, status: int | None, info: ErrorInfo) -> type[errors.ProviderError]:
        code = (info.code or "").lower()
        message = info.message
        if code in _AUTH_CODES or _AUTH_MESSAGE.search(message):
            return errors.AuthenticationError
        by_code = _CODE_CLASSES.get(code)
        if by_code is not None and by_code is not errors.InvalidRequestError:
            return by_code
        if _CONTEXT_MESSAGE.search(message):
            return errors.ContextLengthExceededError
        if _MODEL_MESSAGE.search(message):
            return errors.ModelNotFoundError
        if by_code is not None:
            return by_code
        if status is not None:
            return errors.class_for_status(status)
        return super().refine_error(status, info)

    def stream_decoder(self) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(self)


def _aws_status(provider: ProviderConfig, *, present: bool) -> CredentialStatus:
    """AWS credentials as the way to call Bedrock; a Bedrock API key is the other way."""
    key = provider.api_key_env
    where = key or "the provider's api_key_env"
    return CredentialStatus(
        names=((key,) if key else ()) + AWS_VARIABLES,
        label="AWS credentials" if present else AWS_CREDENTIALS,
        present=present,
        fix=(
            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or `profile` "
            f"in models.toml), or a Bedrock API key in {where}"
        ),
    )


def _tool_call(tool: dict[str, Any]) -> ToolCall:
    arguments = tool.get("input")
    try:
        raw = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
    except (ValueError, RecursionError):  # nested deeper than json.dumps goes
        raw = ""
    return ToolCall(
        id=as_str(tool.get("toolUseId")),
        name=as_str(tool.get("name")),
        arguments=arguments if isinstance(arguments, dict) else {},
        raw_arguments=raw,
    )


class BedrockStreamDecoder:
    """ConverseStream event-stream frames -> StreamEvents.

    The answer is complete at messageStop (metadata with the usage follows it); a body that
    ends before messageStop, or inside a frame, was cut short.
    """

    def __init__(self, codec: BedrockCodec) -> None:
        self._codec = codec
        self._frames = EventStreamBuffer()
        self._fed = 0
        self._consumed = 0
        self._stopped = False
        self._errored = False
        self._tools: dict[int | None, int] = {}  # contentBlockIndex -> position among tool calls

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not chunk:
            return events
        self._fed += len(chunk)
        self._frames.add_data(chunk)
        while (frame := self._next_frame()) is not None:
            self._frame(frame, events)
        return events

    def close(self) -> list[StreamEvent]:
        if self._errored:
            return []  # the error event already said why the stream ended
        left = self._fed - self._consumed
        if left:
            raise errors.StreamInterruptedError(
                f"stream ended inside an event-stream frame ({left} bytes left over)",
                provider=self._codec.kind,
            )
        if not self._stopped:
            raise errors.StreamInterruptedError(
                "stream ended without a messageStop event", provider=self._codec.kind
            )
        return []

    def _next_frame(self) -> EventStreamMessage | None:
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except Exception as exc:  # botocore raises ParserError, struct.error, KeyError, ...
            raise self._codec.malformed(f"invalid event-stream frame: {exc}") from None
        prelude: Any = frame.prelude  # the stubs mistype it as int
        total, headers_length = prelude.total_length, prelude.headers_length
        # botocore does not reject frames too short to hold their own prelude and CRC.
        if total < _MIN_FRAME_LENGTH or headers_length > total - _MIN_FRAME_LENGTH:
            raise self._codec.malformed(f"invalid event-stream frame length {total}")
        self._consumed += total
        return frame

    def _frame(self, frame: EventStreamMessage, events: list[StreamEvent]) -> None:
        headers: Any = frame.headers  # the stubs mistype it as int
        kind = headers.get(":message-type")
        if kind == "event":
            payload = decode_json(frame.payload, self._codec.kind) if frame.payload else {}
            if not isinstance(payload, dict):
                raise self._codec.malformed(f"event payload is not an object: {str(payload)[:120]}")
            self._event(headers.get(":event-type"), payload, events)
        elif kind == "exception":
            info = self._codec.error_info(_loose_json(frame.payload)) or ErrorInfo()
            info.code = as_str(headers.get(":exception-type")) or info.code
            self._error(info, events)
        elif kind == "error":
            message = as_str(headers.get(":error-message"))
            self._error(
                ErrorInfo(code=as_str(headers.get(":error-code")) or None, message=message), events
            )
        else:
            raise self._codec.malformed(f"unknown event-stream message type {kind!r}")

    def _error(self, info: ErrorInfo, events: list[StreamEvent]) -> None:
        self._errored = True
        events.append(StreamEvent("error", error=self._codec.make_error(None, info)))

    def _event(self, event_type: Any, payload: dict[str, Any], events: list[StreamEvent]) -> None:
        if event_type == "messageStart":
            events.append(StreamEvent("start"))
        elif event_type == "contentBlockStart":
            start = payload.get("start")
            tool = start.get("toolUse") if isinstance(start, dict) else None
            if isinstance(tool, dict):
                events.append(
                    StreamEvent(
                        "tool_call",
                        index=self._tool_position(payload.get("contentBlockIndex")),
                        id=as_str(tool.get("toolUseId")),
                        name=as_str(tool.get("name")),
                    )
                )
        elif event_type == "contentBlockDelta":
            delta = payload.get("delta")
            if isinstance(delta, dict):
                self._delta(delta, payload.get("contentBlockIndex"), events)
        elif event_type == "messageStop":
            self._stopped = True
            raw_finish = payload.get("stopReason")
            raw_finish = raw_finish if isinstance(raw_finish, str) else None
            events.append(
                StreamEvent(
                    "finish",
                    finish_reason=finish_from(FINISH_REASONS, raw_finish),
                    raw_finish_reason=raw_finish,
                )
            )
        elif event_type == "metadata":
            usage = usage_from(payload.get("usage"))
            if usage is not None:
                events.append(StreamEvent("usage", usage=usage))
        # contentBlockStop and event types added later carry nothing we report.

    def _delta(self, delta: dict[str, Any], block: Any, events: list[StreamEvent]) -> None:
        text = delta.get("text")
        if isinstance(text, str) and text:
            events.append(StreamEvent("text", text=text))
        tool = delta.get("toolUse")
        if isinstance(tool, dict):
            fragment = as_str(tool.get("input"))
            events.append(StreamEvent("tool_call", index=self._tool_position(block), text=fragment))
        thought = delta.get("reasoningContent")
        # Only the text is output; `signature` and `redactedContent` deltas are not.
        if isinstance(thought, dict) and isinstance(thought.get("text"), str) and thought["text"]:
            events.append(StreamEvent("reasoning", text=thought["text"]))

    def _tool_position(self, block: Any) -> int:
        key = block if isinstance(block, int) and not isinstance(block, bool) else None
        return self._tools.setdefault(key, len(self._tools))


def _loose_json(payload: bytes) -> Any:
    """An exception frame's payload: JSON `{"message": ...}`, or its text when it is not JSON."""
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return {"message": payload.decode("utf-8", "replace")[:200]}
