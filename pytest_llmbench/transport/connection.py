"""ConnectionSetup: how one request got its connection, set by the network transport.

The network transport puts it on `request.extensions[CONNECTION_KEY]` when the request is
handed over and on `response.extensions[CONNECTION_KEY]` when the response comes. Timing layers
start a request's clock at `ready_ns`, so client setup (session, imports) and connection setup
(DNS, TCP, TLS) are never inside TTFB, TTFT or ITL; `connect_ms` reports the latter apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONNECTION_KEY = "llmbench.connection"
NS_PER_MS = 1_000_000


class ConnectionSetup:
    """Clock stamps (perf_counter_ns) of one request's connection.

    `reused` is True for a pooled keep-alive connection, False for a new one, None until known.
    `connect_start_ns`/`connect_end_ns` bracket opening a new connection (DNS, TCP, TLS);
    `ready_ns` is when the request had its connection and was about to be written.
    `resends` counts sends again after a pooled connection turned out to be closed.
    """

    __slots__ = ("connect_end_ns", "connect_start_ns", "ready_ns", "resends", "reused")

    def __init__(self) -> None:
        self.reused: bool | None = None
        self.connect_start_ns: int | None = None
        self.connect_end_ns: int | None = None
        self.ready_ns: int | None = None
        self.resends = 0

    @property
    def connect_ms(self) -> float | None:
        """Time spent opening a new connection; None when it was reused (or not known)."""
        if self.reused or self.connect_start_ns is None or self.connect_end_ns is None:
            return None
        return (self.connect_end_ns - self.connect_start_ns) / NS_PER_MS

    def __repr__(self) -> str:
        return f"ConnectionSetup(reused={self.reused}, connect_ms={self.connect_ms})"


def resends_in(extensions: Mapping[str, Any]) -> int:
    """The network transport's resends of a request or response (its extensions): retries too."""
    setup = extensions.get(CONNECTION_KEY)
    return setup.resends if isinstance(setup, ConnectionSetup) else 0
