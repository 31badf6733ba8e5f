"""Cassette: one test's recorded interactions, its record mode, and its replay/record transports.

The interactions live in vcrpy's cassette model (`vcr.cassette.Cassette`), loaded through a vcrpy
persister, so vcrpy decides what a record mode allows and which recording plays next. Saving is
ours: merged under a file lock, written atomically, and refused if a credential would be written.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import httpx
from vcr.cassette import Cassette as VcrCassette
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.record_mode import RecordMode as VcrRecordMode
from vcr.request import Request

from pytest_llmbench import secrets
from pytest_llmbench.cassettes.errors import CassetteError
from pytest_llmbench.cassettes.matching import ReplayIndex, RequestMatcher, normalized_uri
from pytest_llmbench.cassettes.sanitize import (
    configured_credentials,
    find_credential,
    masked_context,
    short_credentials,
)
from pytest_llmbench.cassettes.serialization import (
    Interaction,
    cassette_data,
    dump,
    format_path,
    headers_offset_s,
    leaves,
    replay_chunks,
    stored_request,
)
from pytest_llmbench.cassettes.storage import locked, read_interactions, write_atomically
from pytest_llmbench.cassettes.store import PacedChunks
from pytest_llmbench.cassettes.transports import RecordingTransport, ReplayTransport
from pytest_llmbench.modes import RECORD_MODES, RecordMode

Timing = Literal["instant", "recorded"] | float

# pytest-recording's "rewrite" is vcrpy's new_episodes on an empty cassette.
_VCR_MODES = {
    "none": VcrRecordMode.NONE,
    "once": VcrRecordMode.ONCE,
    "new_episodes": VcrRecordMode.NEW_EPISODES,
    "all": VcrRecordMode.ALL,
    "rewrite": VcrRecordMode.NEW_EPISODES,
}
_RECORD_MODE_OPTION = re.compile(r"--llm-record-mode[= ]\S+")
REWRITE_OPTION = "--llm-record-mode=rewrite"


class _Persister:
    """vcrpy's persister interface over our reader (saving is `Cassette.save`'s)."""

    @staticmethod
    def load_cassette(cassette_path: Path, serializer: object) -> tuple[list[Any], list[Any]]:
        interactions = read_interactions(Path(cassette_path))
        if not interactions:
            raise CassetteNotFoundError()
        return [request for request, _ in interactions], [response for _, response in interactions]

    @staticmethod
    def save_cassette(cassette_path: Path, cassette_dict: object, serializer: object) -> None:
        raise NotImplementedError("cassettes are written by Cassette.save")


def timing_factor(timing: Timing) -> float:
    """The replay pace as a factor of the recorded offsets: instant is 0, recorded is 1."""
    if timing == "instant":
        return 0.0
    if timing == "recorded":
        return 1.0
    if (
        isinstance(timing, (int, float))
        and not isinstance(timing, bool)
        and math.isfinite(timing)
        and timing >= 0
    ):
        return float(timing)
    raise ValueError(f"timing {timing!r}: use 'instant', 'recorded' or a factor >= 0")


class Cassette:
    """The recorded interactions of one test, at `path`, used in one record mode.

    `record_mode` is vcrpy's (none, once, new_episodes, all) or pytest-recording's rewrite
    (record from scratch; `save` replaces the file). `match_ignore` lists dotted JSON body paths
    left out of matching. Error responses (status >= 400) are recorded only with
    `record_errors`. With `allow_playback_repeats` an interaction replays any number of times,
    else each plays once, in recorded order among identical requests. `timing` paces replay:
    "instant", "recorded", or a factor of the recorded offsets. `secret_names` are environment
    variables whose values must never be written. `record_command` (the pytest command that
    runs this test) is shown in error messages with `--llm-record-mode=rewrite`.

    A file that cannot be read raises CassetteError naming the file and the line or field.
    """

    def __init__(
        self,
        path: Path | str,
        record_mode: RecordMode = "none",
        match_ignore: Iterable[str] = (),
        record_errors: bool = False,
        allow_playback_repeats: bool = False,
        timing: Timing = "instant",
        secret_names: Iterable[str] = (),
        record_command: str | None = None,
    ) -> None:
        if record_mode not in RECORD_MODES:
            raise ValueError(f"record mode {record_mode!r}: use one of {', '.join(RECORD_MODES)}")
        self.path = Path(path)
        self.record_mode: RecordMode = record_mode
        self.record_errors = record_errors
        self.allow_playback_repeats = allow_playback_repeats
        self.timing_factor = timing_factor(timing)
        self.secret_names = list(secret_names)
        self.record_command = record_command
        self.matcher = RequestMatcher(list(match_ignore))
        self._lock = threading.Lock()
        self._chunks: dict[int, list[tuple[float, bytes]]] = {}
        self._recorded: list[Interaction] = []
        self._saved = 0
        self.unrecorded_errors: list[str] = []  # "METHOD URL -> status" left out (record_errors)
        options: dict[str, Any] = {
            "path": str(self.path),
            "persister": _Persister,
            "record_mode": _VCR_MODES[record_mode],
            "match_on": self.matcher.matchers(),
            "allow_playback_repeats": allow_playback_repeats,
        }
        # rewrite ignores what is on disk; the other modes start from it.
        self._vcr = (
            VcrCassette(**options) if record_mode == "rewrite" else VcrCassette.load(**options)
        )
        self._loaded = len(self._vcr.data)
        self._index = ReplayIndex(self.matcher)
        self._requests: list[Any] = []  # the recorded requests, for the index

    @staticmethod
    def exists(path: Path | str) -> bool:
        """Whether `path` holds at least one interaction (CassetteError if it is unreadable)."""
        return bool(read_interactions(Path(path)))

    # -- the interface for the plugin --------------------------------------------------------

    def replay_transport(self) -> httpx.AsyncBaseTransport:
        """A transport that answers only from this cassette; the network is never used."""
        return ReplayTransport(self)

    def recording_transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """A transport that, per the record mode, replays what it can and records the rest
        from `inner` (streams pass through chunk by chunk as they arrive)."""
        return RecordingTransport(self, inner)

    @property
    def new_interactions(self) -> int:
        """How many interactions were recorded since this cassette was opened."""
        return len(self._recorded)

    @property
    def play_counts(self) -> dict[int, int]:
        """How often each interaction (by index: loaded first, then recorded) was replayed."""
        with self._lock:
            return {index: count for index, count in self._vcr.play_counts.items() if count}

    def unplayed(self) -> list[str]:
        """Descriptions of the interactions loaded from the file that were never played.

        In record mode `all`, loaded interactions replaced by a new recording do not count.
        """
        with self._lock:
            loaded = list(enumerate(self._vcr.data[: self._loaded]))
            counts = dict(self._vcr.play_counts)
            recorded = [request for request, _ in self._recorded]
        out = []
        for index, (request, response) in loaded:
            if counts.get(index):
                continue
            if self.record_mode == "all" and any(
                self.matcher.matches(request, new) for new in recorded
            ):
                continue
            out.append(_describe(index, request, response))
        return out

    def save(self) -> None:
        """Write what was recorded, if anything: atomically, under the cassette's file lock.

        once/new_episodes add the new interactions to the file as it is now (another process
        may have added to it); all replaces the interactions it re-recorded; rewrite replaces
        the file. Refuses (CassetteError, nothing written) if a configured credential's value
        would be written, naming the interaction and field but not the value.
        """
        with self._lock:
            recorded = list(self._recorded)
            already_saved = self._saved
        if already_saved == len(recorded):
            return
        with locked(self.path):
            if self.record_mode == "rewrite":
                interactions = recorded
            elif self.record_mode == "all":
                current = read_interactions(self.path)
                kept = [
                    interaction
                    for interaction in current
                    if not any(self.matcher.matches(interaction[0], new) for new, _ in recorded)
                ]
                interactions = kept + recorded
            else:
                interactions = read_interactions(self.path) + recorded[already_saved:]
            data = cassette_data(interactions)
            text = dump(data)
            self._refuse_credentials(data, text)
            write_atomically(self.path, text)
        with self._lock:
            self._saved = len(recorded)

    # -- for the transports (the InteractionStore protocol) -----------------------------------

    def take_replay(
        self, request: httpx.Request, body: bytes, *, recording: bool
    ) -> dict[str, Any] | None:
        """The recorded response to replay for `request` (counted as played), or None.

        When recording, vcrpy's record-mode rules decide whether a recording may be replayed
        (never in mode `all`), and only interactions loaded from the file are: what this run
        recorded is never played back to it, so every recorded request really went out.
        """
        with self._lock:
            vcr = self._vcr
            if recording and (
                vcr.record_mode == VcrRecordMode.ALL
                or not (vcr.rewound or self.allow_playback_repeats)
            ):
                return None  # vcrpy's rule (can_play_response_for) for replaying while recording
            incoming = vcr._before_record_request(_incoming(request, body))
            if not incoming:
                return None
            requests = self._requests
            requests.extend(recorded for recorded, _ in vcr.data[len(requests) :])
            limit = self._loaded if recording else len(requests)
            found = [i for i in self._index.candidates(incoming, requests) if i < limit]
            counts = vcr.play_counts
            # Unplayed recordings first, in order; repeats (when allowed) only after them.
            chosen = next((i for i in found if counts[i] == 0), None)
            if chosen is None and self.allow_playback_repeats and found:
                chosen = found[0]
            if chosen is None:
                return None
            counts[chosen] += 1
            response: dict[str, Any] = vcr.data[chosen][1]
            return response

    def index_of(self, response: dict[str, Any]) -> int | None:
        """The position in the cassette of a response `take_replay` returned."""
        with self._lock:
            for index, (_, recorded) in enumerate(self._vcr.data):
                if recorded is response:
                    return index
        return None

    def may_record(self) -> bool:
        """Whether the record mode lets a new interaction be added."""
        return not self._vcr.write_protected

    def keeps_response(self, request: httpx.Request, status_code: int) -> bool:
        """Whether a response with `status_code` is recorded: an error (>= 400) only with
        `record_errors`; one left out is noted in `unrecorded_errors`."""
        if status_code < 400 or self.record_errors:
            return True
        with self._lock:
            self.unrecorded_errors.append(f"{request.method} {request.url} -> {status_code}")
        return False

    def add_recording(self, request: httpx.Request, body: bytes, response: dict[str, Any]) -> None:
        """Keep a finished interaction (the request filtered as it will be written)."""
        stored = stored_request(request.method, str(request.url), request.headers, body)
        with self._lock:
            self._vcr.append(stored, response)
            self._recorded.append(self._vcr.data[-1])

    def replay_pace(self, response: dict[str, Any]) -> tuple[float, PacedChunks]:
        """When the headers are due and the body as `(offset_s, bytes)`, paced by `timing`
        (the chunks are built once per response)."""
        factor = self.timing_factor
        key = id(response)
        chunks = self._chunks.get(key)
        if chunks is None:
            chunks = [(offset * factor, data) for offset, data in replay_chunks(response)]
            self._chunks[key] = chunks
        return (headers_offset_s(response) * factor if factor else 0.0), chunks

    def unmatched(self, request: httpx.Request, body: bytes) -> CassetteError:
        """The error for a request this cassette cannot answer: why, a diff, and the fix."""
        incoming = _incoming(request, body)
        with self._lock:
            recorded = [request for request, _ in self._vcr.data]
            counts = dict(self._vcr.play_counts)
        method, uri, _ = self.matcher.key(incoming)
        lines = [f"{self.path}: no recorded interaction to replay for {method} {uri}"]
        lines.append(
            f"  the cassette has {len(recorded)} interaction(s), "
            f"{sum(1 for count in counts.values() if count)} played; "
            f"record mode '{self.record_mode}'"
        )
        same = [i for i, request in enumerate(recorded) if self.matcher.matches(incoming, request)]
        if same:
            listed = ", ".join(f"#{i}" for i in same)
            lines.append(
                f"  it matches interaction(s) {listed}, already played: each recording plays "
                "once unless playback repeats are allowed"
            )
        elif self.record_mode == "once" and recorded:
            lines.append("  record mode 'once' does not add requests to an existing cassette")
        closest = self.matcher.closest(incoming, recorded)
        if closest is not None and not same:
            lines.append(f"  the closest recorded request is interaction #{closest}:")
            label = f"recorded (interaction #{closest})"
            lines += [
                f"    {line}" for line in self.matcher.diff(incoming, recorded[closest], label)
            ]
        lines.append(f"  {self._rerecord_hint()}")
        return CassetteError("\n".join(lines))

    # -- internals ---------------------------------------------------------------------------

    def _rerecord_hint(self) -> str:
        if not self.record_command:
            return f"re-record with {REWRITE_OPTION}"
        command, replaced = _RECORD_MODE_OPTION.subn(REWRITE_OPTION, self.record_command)
        if not replaced:
            command = f"{command} {REWRITE_OPTION}"
        return f"re-record with {REWRITE_OPTION}: {command}"

    def _refuse_credentials(self, data: dict[str, Any], text: str) -> None:
        for name, length in short_credentials(self.secret_names).items():
            raise CassetteError(
                f"{self.path}: not written: {secrets.short_credential_problem(name, length)}"
            )
        credentials = configured_credentials(self.secret_names)
        if not credentials:
            return
        for path, value in leaves(data):
            if not isinstance(value, (str, bytes)):
                continue
            found = find_credential(value, credentials)
            if found is not None:
                shown = value if isinstance(value, str) else value.decode("utf-8", "replace")
                raise CassetteError(
                    f"{self.path}: not written: the value of {found.name} "
                    f"({len(found.value)} characters) occurs in {format_path(path)}: "
                    f"{masked_context(shown, found)}\n"
                    "  if it is the key there (a server echoing it?), keep it out of what is "
                    "recorded: record with a scoped or dummy key;\n"
                    f"  if it only happens to equal ordinary text there (a word in base_url, "
                    f"say), give {found.name} a longer, distinct value while recording"
                )
        found = find_credential(text, credentials)
        if found is not None:
            raise CassetteError(
                f"{self.path}: not written: the value of {found.name} occurs in the cassette text"
            )


def _incoming(request: httpx.Request, body: bytes) -> Any:
    """A request being made, as a vcrpy Request for matching (its headers are not needed)."""
    return Request(request.method, str(request.url), body, {})


def _describe(index: int, request: Any, response: dict[str, Any]) -> str:
    status = response["status"]["code"]
    return f"#{index} {request.method} {normalized_uri(request.uri)} -> {status}"
