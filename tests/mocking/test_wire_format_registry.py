"""One registry names every kind's codec and mock emitter; the emitters stay apart from codecs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pytest_llmbench import kinds
from pytest_llmbench.mocking import emitter_for
from pytest_llmbench.mocking.emitter import Emitter
from pytest_llmbench.providers import codec_for

MOCKING = Path(kinds.__file__).parent / "mocking"


def test_every_kind_has_a_codec_and_an_emitter() -> None:
    assert tuple(kinds.WIRE_FORMATS) == kinds.KINDS
    for kind in kinds.KINDS:
        assert codec_for(kind).kind == kind
        assert isinstance(emitter_for(kind), Emitter)


def test_emitter_for_an_unknown_kind_names_the_known_kinds() -> None:
    with pytest.raises(ValueError) as caught:
        emitter_for("cohere")
    message = str(caught.value)
    assert "unknown provider kind 'cohere'" in message
    assert "openai, openai-responses, anthropic, gemini, bedrock" in message


def test_codec_for_an_unknown_kind_names_the_known_kinds() -> None:
    with pytest.raises(ValueError, match="known kinds: openai, openai-responses, anthropic"):
        codec_for("cohere")


@pytest.mark.parametrize("module", sorted(MOCKING.glob("*.py")), ids=lambda path: path.name)
def test_mock_modules_do_not_import_the_codecs(module: Path) -> None:
    # A mock built on a codec would make the round-trip tests check the codec against itself.
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("pytest_llmbench.providers")]
