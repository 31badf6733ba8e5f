"""The shape of a response: its event names, JSON field paths and types, and header names.

Sans-I/O: a status, headers and body bytes in, a `Shape` out. Bodies are read by their
content type: server-sent events (OpenAI, OpenAI Responses, Anthropic, Gemini with alt=sse),
AWS binary event streams (Bedrock ConverseStream), and JSON (any non-streamed body, and
Gemini's streamed JSON array). Values never enter a shape, only their JSON types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.cassettes.sanitize import safe_response_headers
from pytest_llmbench.providers.framing import SSEDecoder

BODY_EVENT = "body"  # the event name of a whole JSON body
NOT_JSON = "(not json)"  # the type of an event whose data is not JSON
EVENT_STREAM = "application/vnd.amazon.eventstream"
Headers = Mapping[str, str] | Mapping[str, list[str]] | Iterable[tuple[str, str]]


@dataclass
class Shape:
    """What a response looks like without its values.

    `events` lists the event names in order of first appearance; `fields` maps each event name
    to the JSON paths seen in any event of that name (`choices[].delta.content`) and the JSON
    types each path held (object, array, string, number, boolean, null). `headers` holds the
    names of the allowlisted response headers that were present.
    """

    status: int
    events: list[str] = field(default_factory=list)
    fields: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    headers: set[str] = field(default_factory=set)

    def add_event(self, name: str, data: Any) -> None:
        """Count one event and merge the paths and types of its JSON `data`."""
        if name not in self.fields:
            self.events.append(name)
            self.fields[name] = {}
        add_paths(self.fields[name], data, "")

    def add_raw_event(self, name: str, data: str) -> None:
        """An event whose data may or may not be JSON (OpenAI's `[DONE]` is not)."""
        try:
            parsed = json.loads(data)
        except ValueError:
            if name not in self.fields:
                self.events.append(name)
                self.fields[name] = {}
            self.fields[name].setdefault("", set()).add(NOT_JSON)
            return
        self.add_event(_event_name(name, parsed), parsed)


def json_type(value: Any) -> str:
    """The JSON type of a parsed value; integers and floats are both `number`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def add_paths(paths: dict[str, set[str]], value: Any, prefix: str) -> None:
    """Merge the paths of `value` under `prefix` into `paths`: `a.b`, `a[].b` (any item)."""
    paths.setdefault(prefix, set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            add_paths(paths, item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for item in value:
            add_paths(paths, item, f"{prefix}[]")


def _event_name(sse_event: str, data: Any) -> str:
    """An event's name: the SSE `event:` line, else the data's `type`, else its `object`.

    OpenAI chat chunks have neither an event line nor a `type`; their `object` names them.
    """
    if sse_event and sse_event != "message":
        return sse_event
    if isinstance(data, dict):
        for key in ("type", "object"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return "message"


def _header_lists(headers: Headers) -> dict[str, list[str]]:
    items: Iterable[tuple[str, Any]]
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, list[str]] = {}
    for name, value in items:
        values = value if isinstance(value, list) else [value]
        out.setdefault(str(name).lower(), []).extend(str(v) for v in values)
    return out


def content_type(headers: Headers) -> str:
    """The media type of the body, lower case, without parameters ('' when absent)."""
    values = _header_lists(headers).get("content-type", [""])
    return values[0].split(";")[0].strip().lower()


def response_shape(status: int, headers: Headers, body: bytes) -> Shape:
    """The shape of one whole response (`body` already decoded from gzip etc.)."""
    lists = _header_lists(headers)
    # content-encoding is the transport's: recording decodes the body and drops it.
    shape = Shape(status=status, headers=set(safe_response_headers(lists)) - {"content-encoding"})
    media = content_type(lists)
    if media == "text/event-stream":
        decoder = SSEDecoder()
        for message in [*decoder.feed(body), *decoder.close()]:
            if not message.comment:
                shape.add_raw_event(message.event, message.data)
    elif media == EVENT_STREAM:
        for name, payload in event_stream_frames(body):
            shape.add_raw_event(name, payload)
    elif body.strip():
        shape.add_raw_event(BODY_EVENT, body.decode("utf-8", "replace"))
    return shape


def event_stream_frames(body: bytes) -> list[tuple[str, str]]:
    """The (event type, payload text) of each AWS event-stream frame, decoded by botocore.

    An exception frame is named by its `:exception-type`; a body that cannot be decoded ends
    the list with a `(not an event stream)` entry.
    """
    from botocore.eventstream import EventStreamBuffer, ParserError

    frames: Any = EventStreamBuffer()  # its stubs type iteration wrongly
    frames.add_data(body)
    out: list[tuple[str, str]] = []
    try:
        for frame in frames:
            headers = frame.headers
            name = headers.get(":event-type") or headers.get(":exception-type") or "message"
            out.append((str(name), frame.payload.decode("utf-8", "replace")))
    except ParserError:
        out.append(("(not an event stream)", ""))
    return out
