"""Incremental framings of streamed bodies: server-sent events and a streamed JSON array.

Both are fed bytes split anywhere (even inside a UTF-8 sequence or a CRLF) and return the
messages those bytes complete. No I/O, no clocks.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import MalformedResponseError


@dataclass(slots=True)
class SSEMessage:
    """One server-sent event. `data` lines are joined with newlines, as the spec says."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: bool = False  # a ':' line alone: a keep-alive


class SSEDecoder:
    """The WHATWG event-stream parser, incremental. Accepts LF, CRLF and CR line endings."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._char_split = False  # the last chunk ended inside a UTF-8 sequence
        # The text of the unfinished line, in pieces: joined once its line ends, so a long
        # line fed in many chunks costs time linear in its length.
        self._partial: list[str] = []
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._saw_field = False
        self.truncated = False  # set by close(): the body ended inside a line

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        text = self._decoded(chunk)
        partial = self._partial
        if "\n" not in text and "\r" not in text and not (partial and partial[-1][-1:] == "\r"):
            if text:  # no line ends here: keep it for later
                partial.append(text)
            return []
        return self._drain(text, final=False)

    def _decoded(self, chunk: bytes) -> str:
        if not self._char_split:
            try:  # most chunks hold whole characters: bytes.decode is 5x the incremental's speed
                return chunk.decode()
            except UnicodeDecodeError:
                pass
        text = self._text.decode(chunk)
        self._char_split = bool(self._text.getstate()[0])  # it keeps a character's first bytes
        return text

    def close(self) -> list[SSEMessage]:
        """Flush at end of body.

        A last event whose lines are complete but lack the closing blank line still counts
        (servers often omit it); a line cut off mid-way is dropped, as the spec says.
        """
        messages = self._drain(self._text.decode(b"", final=True), final=True)
        self.truncated = bool(self._partial)
        self._partial = []
        self._dispatch(messages)
        return messages

    def _drain(self, text: str, final: bool) -> list[SSEMessage]:
        messages: list[SSEMessage] = []
        if self._partial:
            self._partial.append(text)
            buffer = "".join(self._partial)
        else:
            buffer = text
        if "\r" not in buffer:  # the common case: LF line endings
            # Cut at blank lines first: most events are one `data: ` line, maybe after one
            # `event: ` line (Anthropic's, say), and are sent out whole here, as reading their
            # lines and then the blank line would when no field is pending.
            *blocks, rest = buffer.split("\n\n")
            for block in blocks:
                head, _, last = block.rpartition("\n")
                if (
                    not self._saw_field
                    and last.startswith("data: ")
                    and (not head or (head.startswith("event: ") and "\n" not in head))
                ):
                    messages.append(SSEMessage(head[7:] or "message", last[6:], self._id))
                else:
                    self._lines(block.split("\n"), messages)
                    self._dispatch(messages)  # the blank line that ended the block
            if rest:  # lines after the last blank line: fields of an event still to come
                *lines, rest = rest.split("\n")
                self._lines(lines, messages)
            self._partial = [rest] if rest else []
            return messages
        start = 0
        length = len(buffer)
        while start < length:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                end, after = lf, lf + 1
            elif cr + 1 < length:
                end, after = cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            elif final:
                end, after = cr, cr + 1
            else:
                break  # a CR at the end of the chunk may be the first half of CRLF
            self._line(buffer[start:end], messages)
            start = after
        self._partial = [buffer[start:]] if start < length else []
        return messages

    def _lines(self, lines: list[str], messages: list[SSEMessage]) -> None:
        for line in lines:
            if line.startswith("data: "):  # the hot path, inlined: most lines are data
                self._saw_field = True
                self._data.append(line[6:])
            elif line:
                self._line(line, messages)
            else:
                self._dispatch(messages)

    def _line(self, line: str, messages: list[SSEMessage]) -> None:
        if not line:
            self._dispatch(messages)
            return
        if line.startswith("data: "):  # the hot path: most lines are data lines
            self._saw_field = True
            self._data.append(line[6:])
            return
        name, sep, value = line.partition(":")
        if not name:  # a comment line
            if not self._saw_field:
                messages.append(SSEMessage(event="", data=value.strip(), comment=True))
            return
        if sep and value.startswith(" "):
            value = value[1:]
        self._saw_field = True
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value

    def _dispatch(self, messages: list[SSEMessage]) -> None:
        data = self._data
        if self._saw_field and (data or self._event):
            text = data[0] if len(data) == 1 else "\n".join(data)
            messages.append(SSEMessage(self._event or "message", text, self._id))
        self._event = ""
        self._data = []
        self._saw_field = False


class JSONArrayDecoder:
    """Yields the elements of a JSON array as they complete: `[{...},\\r\\n{...}]`.

    Gemini's streamGenerateContent without `alt=sse` streams this shape.
    """

    def __init__(self, provider: str = "") -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._provider = provider
        self._started = False
        self._ended = False
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._item: list[str] = []

    @property
    def complete(self) -> bool:
        return self._ended

    def feed(self, chunk: bytes) -> list[Any]:
        items: list[Any] = []
        for char in self._text.decode(chunk):
            self._char(char, items)
        return items

    def close(self) -> list[Any]:
        items: list[Any] = []
        for char in self._text.decode(b"", final=True):
            self._char(char, items)
        return items

    def _char(self, char: str, items: list[Any]) -> None:
        if self._depth == 0:
            if char.isspace() or (char == "," and self._started):
                return
            if char == "[" and not self._started:
                self._started = True
                return
            if char == "]" and self._started and not self._ended:
                self._ended = True
                return
            if char != "{" or not self._started or self._ended:
                raise MalformedResponseError(
                    f"unexpected {char!r} in a streamed JSON array", provider=self._provider
                )
        self._item.append(char)
        if self._in_string:
            if self._escape:
                self._escape = False
            elif char == "\\":
                self._escape = True
            elif char == '"':
                self._in_string = False
            return
        if char == '"':
            self._in_string = True
        elif char in "{[":
            self._depth += 1
        elif char in "}]":
            self._depth -= 1
            if self._depth == 0:
                text = "".join(self._item)
                self._item = []
                try:
                    items.append(json.loads(text))
                except (ValueError, RecursionError):
                    raise MalformedResponseError(
                        f"invalid JSON element in stream: {text[:120]!r}", provider=self._provider
                    ) from None
