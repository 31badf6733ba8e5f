"""Cassettes that keep streams: vcrpy's YAML format plus each chunk's arrival offset.

Record through `Cassette.recording_transport(inner)`, replay through `replay_transport()`, and
`save()`; `cassette_path` says where a test's cassette lives. Usable without pytest.
"""

from __future__ import annotations

from pytest_llmbench.cassettes.cassette import Cassette, Timing
from pytest_llmbench.cassettes.errors import CassetteError
from pytest_llmbench.cassettes.paths import cassette_path

__all__ = ["Cassette", "CassetteError", "Timing", "cassette_path"]
