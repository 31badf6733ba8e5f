"""The cassette fixtures a conftest.py may override: where cassettes live, what matching ignores.

pytest-recording's habit (`vcr_cassette_dir`, `vcr_config`): the defaults come from the ini
options, and a fixture of the same name in a conftest.py wins for the tests beneath it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmbench.session import Options


class CassetteFixtures:
    """The default cassette fixtures of one session, registered as a plugin."""

    def __init__(self, options: Options) -> None:
        self._options = options

    @pytest.fixture
    def llm_cassette_dir(self) -> Path:
        """Where live tests read and write cassettes: the llm_cassette_dir ini option. Override
        this fixture in a conftest.py to keep a directory's or a module's cassettes elsewhere."""
        return self._options.cassette_dir

    @pytest.fixture
    def llm_match_ignore(self) -> list[str]:
        """Request-body JSON paths left out of cassette matching: the llm_match_ignore ini
        option. Override this fixture in a conftest.py to change them for the tests beneath."""
        return list(self._options.match_ignore)


def options_for_test(request: pytest.FixtureRequest, options: Options) -> Options:
    """`options` with this test's llm_cassette_dir and llm_match_ignore; a relative directory
    is taken from the rootdir, as the ini option's is."""
    cassette_dir = request.getfixturevalue("llm_cassette_dir")
    match_ignore = request.getfixturevalue("llm_match_ignore")
    if not isinstance(cassette_dir, (str, os.PathLike)):
        pytest.fail(
            f"the llm_cassette_dir fixture returned {cassette_dir!r}; return a directory path "
            "(a str or pathlib.Path)",
            pytrace=False,
        )
    if not (
        isinstance(match_ignore, (list, tuple)) and all(isinstance(p, str) for p in match_ignore)
    ):
        pytest.fail(
            f"the llm_match_ignore fixture returned {match_ignore!r}; return a list of dotted "
            'request-body JSON paths, e.g. ["metadata.user_id", "messages.*.cache_control"]',
            pytrace=False,
        )
    directory = Path(cassette_dir)
    root = request.config.rootpath
    return replace(
        options,
        cassette_dir=directory if directory.is_absolute() else root / directory,
        match_ignore=list(match_ignore),
    )
