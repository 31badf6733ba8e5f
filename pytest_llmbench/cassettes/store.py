"""InteractionStore: what the replay and recording transports need from a cassette.

The transports depend on this protocol, not on `Cassette`, so the imports run one way:
`cassette.py` builds the transports, and the transports never import it.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from pytest_llmbench.cassettes.errors import CassetteError

# A recorded body as replayed: `(offset_s from the request's start, bytes)` per chunk.
PacedChunks = list[tuple[float, bytes]]


class InteractionStore(Protocol):
    """Recorded interactions to replay from and add to (`Cassette` is the one implementation).

    Responses are vcrpy-format dicts, as `new_response` builds them.
    """

    def take_replay(
        self, request: httpx.Request, body: bytes, *, recording: bool
    ) -> dict[str, Any] | None:
        """The recorded response to replay for `request` (counted as played), or None."""
        ...

    def unmatched(self, request: httpx.Request, body: bytes) -> CassetteError:
        """The error for a request the store cannot answer: why, a diff, and the fix."""
        ...

    def may_record(self) -> bool:
        """Whether a new interaction may be added."""
        ...

    def keeps_response(self, request: httpx.Request, status_code: int) -> bool:
        """Whether a response with `status_code` is recorded (an error left out is noted)."""
        ...

    def add_recording(self, request: httpx.Request, body: bytes, response: dict[str, Any]) -> None:
        """Keep a finished interaction."""
        ...

    def replay_pace(self, response: dict[str, Any]) -> tuple[float, PacedChunks]:
        """When a recorded response's headers are due (seconds after the request's start) and
        its body chunks, both at the replay pace."""
        ...
