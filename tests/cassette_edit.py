"""Editing a recorded response body in a cassette, for drift tests: the body is replaced and
stored as one chunk, so the file stays valid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_llmbench.cassettes.serialization import cassette_data, dump
from pytest_llmbench.cassettes.storage import read_interactions, write_atomically


def edit_recorded_body(path: Path, edit: Callable[[bytes], bytes]) -> None:
    """Replace every recorded response body of the cassette at `path` with `edit(body)`."""
    interactions = read_interactions(path)
    for _, response in interactions:
        body = edit(response["body"]["string"])
        assert body != response["body"]["string"], "the edit changed nothing"
        offset = response["chunks"][-1][0] if response.get("chunks") else 0.0
        response["body"]["string"] = body
        response["chunks"] = [[offset, len(body)]]
    write_atomically(path, dump(cassette_data(interactions)))
