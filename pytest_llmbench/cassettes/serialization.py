"""The cassette text: vcrpy's version-1 YAML, readable bodies, and stream chunks vcrpy ignores.

An interaction is what vcrpy keeps in memory: a `vcr.request.Request` and a response dict
`{status: {code, message}, headers: {name: [values]}, body: {string: bytes}}`. Ours adds two keys
vcrpy never reads: `headers_ms` (when the headers arrived) and `chunks`, one `[offset_ms, nbytes]`
per network chunk, offsets from the request start. So plain vcrpy replays the body, and we
replay it with its chunk boundaries and pace.

Text bodies (SSE, JSON) are written as YAML block strings and JSON request bodies indented, so a
re-recording diffs readably; binary bodies (Bedrock's event stream) as `!!binary` base64.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml
from vcr.filters import decode_response
from vcr.request import Request
from vcr.serialize import CASSETTE_FORMAT_VERSION
from vcr.serializers import yamlserializer
from vcr.serializers.compat import convert_to_bytes
from vcr.util import read_body

from pytest_llmbench.cassettes.errors import CassetteError
from pytest_llmbench.cassettes.sanitize import (
    drop_secret_fields,
    safe_request_headers,
    safe_response_headers,
    strip_secret_query,
)

# vcrpy's Request and response dict; vcrpy has no type hints.
Interaction = tuple[Any, dict[str, Any]]
FieldPath = tuple[str | int, ...]

BINARY_CONTENT_TYPES = ("application/vnd.amazon.eventstream", "application/octet-stream")
MS_DECIMALS = 3  # offsets to the microsecond; finer is clock noise
# No recorded exchange takes an hour; a larger offset would stall a paced replay for that long.
MAX_OFFSET_MS = 3_600_000.0


# -- building interactions -------------------------------------------------------------------


def stored_request(method: str, uri: str, headers: Mapping[str, Any], body: bytes | None) -> Any:
    """A vcrpy Request as it may be written: allowlisted headers, no key-bearing query
    parameters or body fields, and a JSON body indented for readable diffs."""
    return Request(
        method,
        strip_secret_query(uri),
        _stored_body(body),
        {name: values[0] for name, values in safe_request_headers(headers).items()},
    )


def _stored_body(body: bytes | None) -> bytes | None:
    if not body:
        return None
    parsed = parse_json(body)
    if parsed is None:
        return body
    text = json.dumps(drop_secret_fields(parsed), indent=2, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate escaped in the JSON ("\ud800") has no UTF-8 form unescaped.
        return json.dumps(drop_secret_fields(parsed), indent=2).encode("ascii")


def parse_json(body: bytes | str | None) -> Any:
    """A JSON object or array body, parsed; None for anything else."""
    if not body:
        return None
    text = body.lstrip()[:1]
    if text not in (b"{", b"[", "{", "["):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def new_response(
    status: int,
    reason: str,
    headers: dict[str, list[str]],
    body: bytes,
    headers_ms: float,
    chunks: Sequence[tuple[float, int]],
) -> dict[str, Any]:
    """A vcrpy response dict with our `headers_ms` and `chunks` keys."""
    return {
        "status": {"code": status, "message": reason},
        "headers": headers,
        "body": {"string": body},
        "headers_ms": round(headers_ms, MS_DECIMALS),
        "chunks": [[round(offset, MS_DECIMALS), size] for offset, size in chunks],
    }


def replay_chunks(response: dict[str, Any]) -> list[tuple[float, bytes]]:
    """The body as `(offset_s, bytes)` chunks; one chunk at the headers' time if none recorded."""
    body: bytes = response["body"]["string"]
    chunks = response.get("chunks")
    if not chunks:
        return [(headers_offset_s(response), body)] if body else []
    out: list[tuple[float, bytes]] = []
    view = memoryview(body)
    at = 0
    for offset_ms, size in chunks:
        out.append((offset_ms / 1000.0, bytes(view[at : at + size])))
        at += size
    return out


def headers_offset_s(response: dict[str, Any]) -> float:
    """When the recorded response's headers arrived, in seconds from the request start."""
    return float(response.get("headers_ms") or 0.0) / 1000.0


# -- writing ---------------------------------------------------------------------------------


class _ChunkRow(list[Any]):
    """A `[offset_ms, nbytes]` pair, written on one line."""


class _CassetteDumper(yaml.SafeDumper):
    """Safe YAML (vcrpy's loader reads it) with block strings for multi-line text."""


# Characters a YAML reader folds into "\n" or " " (or drops) unless they are escaped, which only
# the double-quoted style does; PyYAML would write some of them raw in block or single quotes.
_NEEDS_ESCAPES = re.compile("[\r\x85\u2028\u2029\ufeff]")


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if _NEEDS_ESCAPES.search(data):
        style: str | None = '"'
    else:
        # PyYAML falls back to a quoted style where a block cannot hold the text exactly.
        style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_row(dumper: yaml.SafeDumper, data: _ChunkRow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_CassetteDumper.add_representer(str, _represent_str)
_CassetteDumper.add_representer(_ChunkRow, _represent_row)


def cassette_data(interactions: Sequence[Interaction]) -> dict[str, Any]:
    """The document to write for `interactions` (vcrpy format version 1), filters applied."""
    return {
        "interactions": [
            _interaction_data(request, response) for request, response in interactions
        ],
        "version": CASSETTE_FORMAT_VERSION,
    }


def dump(data: dict[str, Any]) -> str:
    """The YAML text of a `cassette_data` document."""
    # An unbounded width keeps every value on one line, so a credential is never split by a
    # line fold and the final text search for keys cannot miss it.
    return yaml.dump(
        data, Dumper=_CassetteDumper, sort_keys=False, allow_unicode=True, width=2**31 - 1
    )


def dumps(interactions: Sequence[Interaction]) -> str:
    """The YAML text of a cassette holding `interactions`."""
    return dump(cassette_data(interactions))


def leaves(value: object, path: FieldPath = ()) -> Iterator[tuple[FieldPath, object]]:
    """Every scalar of a document with its path, for naming where something was found."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def _interaction_data(request: Any, response: dict[str, Any]) -> dict[str, Any]:
    # Loaded interactions (maybe written by plain vcrpy) pass the same filters as new ones.
    stored = stored_request(request.method, request.uri, request.headers, read_body(request))
    request_data = {
        "method": stored.method,
        "uri": stored.uri,
        "headers": {name: [value] for name, value in stored.headers.items()},
        "body": _text_or_bytes(stored.body, binary=False),
    }
    headers = safe_response_headers(response["headers"])
    response_data: dict[str, Any] = {
        "status": dict(response["status"]),
        "headers": headers,
        "body": {"string": _text_or_bytes(response["body"]["string"], binary=is_binary(headers))},
    }
    if "headers_ms" in response:
        response_data["headers_ms"] = response["headers_ms"]
    if response.get("chunks"):
        response_data["chunks"] = [_ChunkRow(row) for row in response["chunks"]]
    return {"request": request_data, "response": response_data}


def is_binary(headers: dict[str, list[str]]) -> bool:
    """Whether a response's content type says its body is binary."""
    content_type = " ".join(headers.get("content-type", [])).lower()
    return any(kind in content_type for kind in BINARY_CONTENT_TYPES)


def _text_or_bytes(body: bytes | str | None, *, binary: bool) -> str | bytes | None:
    if body is None or isinstance(body, str):
        return body
    if not body:
        return None
    if binary:
        return bytes(body)
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(body)


# -- reading ---------------------------------------------------------------------------------


class _PurePythonLoader(yaml.SafeLoader):
    """vcrpy's safe cassette loader (with the few Python tags old vcrpy cassettes hold), parsing
    in pure Python."""


for _tag, _constructor in getattr(
    yamlserializer, "_CassetteLoader", yaml.SafeLoader
).yaml_constructors.items():
    if _tag and _tag.startswith("tag:yaml.org,2002:python/"):
        _PurePythonLoader.add_constructor(_tag, _constructor)


def _vcrpy_loader_works() -> bool:
    # vcrpy's loader uses PyYAML's C parser, which fails ("no constructor for the tag None")
    # once yaml has been imported a second time in one process, as pytester's in-process runs
    # do; the pure-Python parser (5x slower) is used then.
    try:
        return bool(yamlserializer.deserialize("probe: [1]\n") == {"probe": [1]})
    except yaml.YAMLError:
        return False


def _parse_yaml(text: str) -> Any:
    if _VCRPY_LOADER_WORKS:
        return yamlserializer.deserialize(text)
    return yaml.load(text, Loader=_PurePythonLoader)


_VCRPY_LOADER_WORKS = _vcrpy_loader_works()


def loads(text: str, source: str) -> list[Interaction]:
    """The interactions of a cassette's text; `source` names the file in errors.

    Cassettes written by plain vcrpy or pytest-recording load too: compressed bodies are
    decoded (Content-Encoding dropped) and replay as one chunk.
    """
    __tracebackhide__ = True  # its locals hold the file's text
    try:
        data = _parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise CassetteError(
            f"{where}: not a readable cassette: {problem}; "
            "fix the file or delete it and re-record with --llm-record-mode=rewrite"
        ) from None
    except yaml.YAMLError as exc:
        raise CassetteError(f"{source}: not a readable cassette: {exc}") from None
    return _Reader(text, source).interactions(data)


class _Reader:
    """Checks the shape of loaded YAML; errors name the field (and its line)."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, path: FieldPath, problem: str) -> CassetteError:
        __tracebackhide__ = True
        line = _line_of(self.text, path)
        where = f"{self.source}:{line}" if line else self.source
        field = format_path(path) or "the document"
        return CassetteError(
            f"{where}: {field}: {problem}; "
            "fix the file or delete it and re-record with --llm-record-mode=rewrite"
        )

    def mapping(self, value: object, path: FieldPath) -> dict[Any, Any]:
        __tracebackhide__ = True
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, found {_kind(value)}")
        return value

    def field(self, mapping: dict[Any, Any], key: str, path: FieldPath) -> Any:
        __tracebackhide__ = True
        if key not in mapping:
            raise self.fail(path, f"missing the '{key}' key")
        return mapping[key]

    def interactions(self, data: object) -> list[Interaction]:
        __tracebackhide__ = True  # the frames below hold the file's text and values
        root = self.mapping(data, ())
        items = self.field(root, "interactions", ())
        if not isinstance(items, list):
            raise self.fail(("interactions",), f"expected a list, found {_kind(items)}")
        out: list[Interaction] = []
        for index, item in enumerate(items):
            path: FieldPath = ("interactions", index)
            item = self.mapping(item, path)
            request = self.request(self.field(item, "request", path), (*path, "request"))
            response = self.response(self.field(item, "response", path), (*path, "response"))
            out.append((request, response))
        return out

    def request(self, value: object, path: FieldPath) -> Any:
        __tracebackhide__ = True
        data = self.mapping(value, path)
        method = self.field(data, "method", path)
        uri = self.field(data, "uri", path)
        if not isinstance(method, str):
            raise self.fail((*path, "method"), f"expected text, found {_kind(method)}")
        if not isinstance(uri, str):
            raise self.fail((*path, "uri"), f"expected text, found {_kind(uri)}")
        headers = self.headers(data.get("headers") or {}, (*path, "headers"))
        body: Any = data.get("body")
        if isinstance(body, io.BytesIO):
            body = body.getvalue()  # old vcrpy cassettes stored file bodies as a BytesIO
        if body is not None and not isinstance(body, (str, bytes)):
            raise self.fail((*path, "body"), f"expected text or !!binary, found {_kind(body)}")
        return Request(method, uri, body, {name: values[0] for name, values in headers.items()})

    def headers(self, value: object, path: FieldPath) -> dict[str, list[str]]:
        __tracebackhide__ = True
        data = self.mapping(value, path)
        headers: dict[str, list[str]] = {}
        for name, values in data.items():
            items = values if isinstance(values, list) else [values]
            if not items or not all(isinstance(v, (str, int, float)) for v in items):
                raise self.fail((*path, str(name)), "expected a header value or a list of them")
            headers[str(name)] = [str(v) for v in items]
        return headers

    def response(self, value: object, path: FieldPath) -> dict[str, Any]:
        __tracebackhide__ = True
        data = self.mapping(value, path)
        status = self.mapping(self.field(data, "status", path), (*path, "status"))
        code = self.field(status, "code", (*path, "status"))
        if not isinstance(code, int) or isinstance(code, bool):
            raise self.fail((*path, "status", "code"), f"expected a number, found {_kind(code)}")
        body = self.mapping(self.field(data, "body", path), (*path, "body"))
        string = self.field(body, "string", (*path, "body"))
        if string is not None and not isinstance(string, (str, bytes)):
            raise self.fail(
                (*path, "body", "string"), f"expected text or !!binary, found {_kind(string)}"
            )
        response: dict[str, Any] = convert_to_bytes(
            {
                "status": {"code": code, "message": str(status.get("message") or "")},
                "headers": self.headers(data.get("headers") or {}, (*path, "headers")),
                "body": {"string": string if string is not None else b""},
            }
        )
        headers_ms = data.get("headers_ms")
        if headers_ms is not None:
            response["headers_ms"] = self.offset(headers_ms, (*path, "headers_ms"))
        if "content-encoding" in {name.lower() for name in response["headers"]}:
            # Recorded by plain vcrpy from the raw stream; offsets would not fit the decoded body.
            decoded: dict[str, Any] = decode_response(response)
            return decoded
        chunks = data.get("chunks")
        if chunks is not None:
            response["chunks"] = self.chunks(chunks, len(response["body"]["string"]), path)
            self.headers_before_chunks(response, path)
        return response

    def offset(self, value: object, path: FieldPath) -> float:
        """A recorded time in milliseconds: a finite number from 0 up to an hour."""
        __tracebackhide__ = True
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.fail(path, f"expected milliseconds, found {_kind(value)}")
        if not (0.0 <= value <= MAX_OFFSET_MS):  # also false for NaN
            raise self.fail(
                path, f"{value!r} is not a recorded time (milliseconds from 0 to {MAX_OFFSET_MS:g})"
            )
        return float(value)

    def chunks(self, value: object, body_size: int, path: FieldPath) -> list[list[float | int]]:
        __tracebackhide__ = True
        chunk_path = (*path, "chunks")
        if not isinstance(value, list):
            raise self.fail(chunk_path, f"expected a list, found {_kind(value)}")
        rows: list[list[float | int]] = []
        for index, row in enumerate(value):
            if not (
                isinstance(row, list)
                and len(row) == 2
                and isinstance(row[1], int)
                and not isinstance(row[1], bool)
                and row[1] >= 0
            ):
                raise self.fail((*chunk_path, index), "expected [offset_ms, nbytes]")
            offset = self.offset(row[0], (*chunk_path, index, 0))
            if rows and offset < rows[-1][0]:
                raise self.fail(
                    (*chunk_path, index),
                    f"offset {offset:g} ms is before the previous chunk's {rows[-1][0]:g} ms "
                    "(chunks are in arrival order)",
                )
            rows.append([offset, row[1]])
        total = sum(int(size) for _, size in rows)
        if total != body_size:
            raise self.fail(
                chunk_path,
                f"the chunk sizes add up to {total} bytes but the body has {body_size} "
                "(was the body edited? delete the 'chunks' key to replay it as one chunk)",
            )
        return rows

    def headers_before_chunks(self, response: dict[str, Any], path: FieldPath) -> None:
        """The headers arrive no later than the first body chunk."""
        __tracebackhide__ = True
        headers_ms = response.get("headers_ms")
        chunks = response.get("chunks")
        if headers_ms is not None and chunks and headers_ms > chunks[0][0]:
            raise self.fail(
                (*path, "headers_ms"),
                f"the headers ({headers_ms:g} ms) cannot arrive after the first chunk "
                f"({chunks[0][0]:g} ms)",
            )


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def format_path(path: FieldPath) -> str:
    """A field path as text: `interactions[0].response.body.string`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _line_of(text: str, path: FieldPath) -> int | None:
    """The 1-based line of the YAML node at `path` (or of its nearest existing parent)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
