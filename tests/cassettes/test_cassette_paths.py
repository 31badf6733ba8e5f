"""cassette_path: cassettes/<provider>/<test module>/<test name>.yaml, safe on every file system."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pytest_llmbench.cassettes import cassette_path
from pytest_llmbench.cassettes.paths import MAX_NAME_LENGTH

ROOT = Path("/cassettes")


def test_path_is_provider_then_module_stem_then_test_name() -> None:
    path = cassette_path(ROOT, "openai", "tests/test_chat.py", "test_hello")
    assert path == ROOT / "openai" / "test_chat" / "test_hello.yaml"


def test_parametrize_id_is_kept_readable() -> None:
    path = cassette_path(ROOT, "openai", "tests/test_chat.py", "test_hello[openai:gpt-x]")
    assert path.name == "test_hello[openai-gpt-x].yaml"


def test_windows_module_paths_give_the_stem() -> None:
    path = cassette_path(ROOT, "openai", "tests\\sub\\test_chat.py", "test_hello")
    assert path.parent.name == "test_chat"


def test_path_separators_in_names_cannot_escape_the_root() -> None:
    path = cassette_path(ROOT, "../../etc", "test_x.py", "test_a[../../passwd]")
    assert path.parent.parent.parent == ROOT
    assert ".." not in path.parts


def test_long_names_are_shortened_with_a_hash() -> None:
    name = "test_long[" + "x" * 300 + "]"
    path = cassette_path(ROOT, "openai", "test_m.py", name)
    assert len(path.stem) == MAX_NAME_LENGTH
    assert path.stem.startswith("test_long[xxx")


def test_long_names_differing_only_at_the_end_stay_distinct() -> None:
    first = cassette_path(ROOT, "openai", "test_m.py", "test_a[" + "x" * 300 + "1]")
    second = cassette_path(ROOT, "openai", "test_m.py", "test_a[" + "x" * 300 + "2]")
    assert first != second


@given(provider=st.text(), module=st.text(), name=st.text())
def test_every_name_gives_three_portable_components_under_the_root(
    provider: str, module: str, name: str
) -> None:
    path = cassette_path(ROOT, provider, module, name)
    parts = path.relative_to(ROOT).parts
    assert len(parts) == 3
    assert parts[-1].endswith(".yaml")
    for part in parts:
        assert part.isascii()
        assert "/" not in part and "\\" not in part and ":" not in part
        assert not part.startswith(".")
        assert len(part.encode()) <= MAX_NAME_LENGTH + len(".yaml")
