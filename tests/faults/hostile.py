"""A scriptable hostile HTTP server on 127.0.0.1: real sockets, one script per connection.

A script is a list of steps run in order on one connection:

- `READ`: read one request (counted in `server.requests`);
- bytes: write them (and drain);
- `Hold(event)`: wait until the test (or the server's shutdown) sets `event`;
- `CLOSE`: close the connection cleanly (FIN); `RESET`: abort it with a TCP RST.

`scripts` gives the script of each connection in the order they are accepted; the last one is
used for every later connection. A script ending with `LOOP` starts again at its first step
(keep-alive serving), until the client goes away. Nothing here sleeps: a stall is a Hold on an
event nobody sets before the test's deadline.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


READ = _Marker("READ")
CLOSE = _Marker("CLOSE")
RESET = _Marker("RESET")
LOOP = _Marker("LOOP")


@dataclass
class Hold:
    """Wait for `event` before the next step (the server sets every Hold's event on shutdown)."""

    event: asyncio.Event = field(default_factory=asyncio.Event)


Step = bytes | _Marker | Hold
Script = Sequence[Step]
ScriptFor = Callable[[int], Script]  # connection number (0-based) -> its script


@dataclass
class Request:
    """One request as the server read it."""

    request_line: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileServer:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0  # connections the client closed (EOF or reset while we read)
    holds: list[Hold] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        """Set every Hold's event: stalled connections go on with their scripts."""
        for hold in self.holds:
            hold.event.set()


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(lines[0], headers, body)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:  # linger 0: close() sends RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@asynccontextmanager
async def hostile_server(scripts: Sequence[Script] | ScriptFor) -> AsyncIterator[HostileServer]:
    """Serve the scripts on a free loopback port for the duration of the block."""
    state = HostileServer()
    tasks: set[asyncio.Task[None]] = set()

    def script_for(number: int) -> Script:
        if callable(scripts):
            return scripts(number)
        return scripts[min(number, len(scripts) - 1)]

    async def run(
        script: Script, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            for step in script:
                if step is READ:
                    try:
                        state.requests.append(await _read_request(reader))
                    except (asyncio.IncompleteReadError, ConnectionError):
                        state.closed_by_client += 1
                        return
                elif step is CLOSE:
                    writer.close()
                    return
                elif step is RESET:
                    _reset(writer)
                    return
                elif step is LOOP:
                    break
                elif isinstance(step, Hold):
                    state.holds.append(step)
                    await step.event.wait()
                else:
                    assert isinstance(step, bytes)
                    writer.write(step)
                    await writer.drain()
            else:
                return  # the script ran out without LOOP

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        number = state.connections
        state.connections += 1
        try:
            await run(script_for(number), reader, writer)
        except (ConnectionError, OSError):
            state.closed_by_client += 1
        except asyncio.CancelledError:  # the server is shutting down: end quietly
            pass
        finally:
            writer.close()
            tasks.discard(task)

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0, backlog=512)
    state.port = server.sockets[0].getsockname()[1]
    try:
        async with server:
            yield state
    finally:
        state.release()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def head(status: int = 200, content_type: str = "text/event-stream", **headers: str) -> bytes:
    """A response head; `transfer_encoding="chunked"` or `content_length=N` as keywords."""
    lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def whole(
    status: int, body: bytes, content_type: str = "application/json", **headers: str
) -> bytes:
    """A complete response with a Content-Length body."""
    return head(status, content_type, content_length=str(len(body)), **headers) + body


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


@contextmanager
def hostile_server_thread(scripts: Sequence[Script] | ScriptFor) -> Iterator[HostileServer]:
    """`hostile_server` on its own event loop in a thread, for code that runs its own loop
    (the `llmbench` command)."""
    started = threading.Event()
    stop: list[asyncio.Event] = []
    box: list[HostileServer] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        async with hostile_server(scripts) as server:
            box.append(server)
            stop.append(asyncio.Event())
            started.set()
            await stop[0].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        if not started.wait(30):
            raise RuntimeError("the hostile server did not start")
        yield box[0]
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        loop.close()
