"""A tiny raw HTTP/1.1 server on 127.0.0.1 for transport tests: scripted bytes, real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Handler = Callable[["Seen", asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Seen:
    """One request as the server read it."""

    request_line: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _read_request(reader: asyncio.StreamReader) -> Seen | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Seen(lines[0], headers, body)


@asynccontextmanager
async def serve(handler: Handler, *, close_after_response: bool = False) -> AsyncIterator[Server]:
    """Serve `handler` on a free port; it writes the whole response for each request."""
    server_state = Server(port=0)
    connections: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            while True:
                try:
                    seen = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if seen is None:
                    return
                server_state.seen.append(seen)
                await handler(seen, writer)
                await writer.drain()
                if close_after_response:
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    server_state.port = server.sockets[0].getsockname()[1]
    async with server:
        try:
            yield server_state
        finally:
            for task in connections:  # handlers that stall on purpose end with the server
                task.cancel()


def chunked(*parts: bytes) -> bytes:
    """A chunked HTTP/1.1 body made of `parts` (each one chunk)."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def response_head(
    status: int = 200, content_type: str = "application/json", **headers: str
) -> bytes:
    lines = [f"HTTP/1.1 {status} OK", f"content-type: {content_type}", "keep-alive: timeout=5"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
