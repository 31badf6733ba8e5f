"""Hostile cassette files and keys: validated on load, cleaned up, never leaked."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest

from pytest_llmbench import secrets
from pytest_llmbench.cassettes import Cassette, CassetteError, cassette_path
from pytest_llmbench.cassettes.storage import write_atomically

CASSETTE = """interactions:
- request:
    method: POST
    uri: http://127.0.0.1:9/v1/chat/completions
    headers: {}
    body: null
  response:
    status: {code: 200, message: OK}
    headers: {content-type: [text/event-stream]}
    body: {string: "data: [DONE]\\n\\n"}
    headers_ms: HEADERS
    chunks:
    - [FIRST, 6]
    - [SECOND, 8]
version: 1
"""


def cassette_with(
    tmp_path: Path, headers: str = "1.0", first: str = "2.0", second: str = "3.0"
) -> Path:
    path = tmp_path / "c.yaml"
    text = CASSETTE.replace("HEADERS", headers).replace("FIRST", first).replace("SECOND", second)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_well_formed_cassette_loads(tmp_path: Path) -> None:
    Cassette(cassette_with(tmp_path))


@pytest.mark.parametrize("offset", [".inf", "1.0e+12", "-5.0", ".nan"])
def test_an_impossible_chunk_offset_is_refused_naming_file_and_line(
    tmp_path: Path, offset: str
) -> None:
    path = cassette_with(tmp_path, second=offset)
    with pytest.raises(CassetteError, match="not a recorded time") as raised:
        Cassette(path, timing="recorded")
    assert f"{path}:14: interactions[0].response.chunks[1][0]" in str(raised.value)


def test_chunk_offsets_out_of_order_are_refused(tmp_path: Path) -> None:
    path = cassette_with(tmp_path, first="5.0", second="3.0")
    with pytest.raises(CassetteError, match="before the previous chunk's 5 ms") as raised:
        Cassette(path)
    assert f"{path}:14: interactions[0].response.chunks[1]" in str(raised.value)


def test_headers_after_the_first_chunk_are_refused(tmp_path: Path) -> None:
    path = cassette_with(tmp_path, headers="9.0")
    with pytest.raises(CassetteError, match="cannot arrive after the first chunk") as raised:
        Cassette(path)
    assert f"{path}:11: interactions[0].response.headers_ms" in str(raised.value)


@pytest.mark.parametrize("headers", [".inf", "-1"])
def test_an_impossible_headers_time_is_refused(tmp_path: Path, headers: str) -> None:
    with pytest.raises(CassetteError, match=r"headers_ms: .* is not a recorded time"):
        Cassette(cassette_with(tmp_path, headers=headers))


def test_temp_files_of_a_killed_write_are_ignored_then_cleaned(tmp_path: Path) -> None:
    path = cassette_with(tmp_path)
    stale = tmp_path / f".{path.name}.k1ll3d.tmp"
    stale.write_text("half a cassette: [", encoding="utf-8")
    other = tmp_path / ".other.yaml.k1ll3d.tmp"  # another cassette's: not ours to remove
    other.write_text("x", encoding="utf-8")
    Cassette(path)  # reading ignores it
    write_atomically(path, path.read_text(encoding="utf-8"))
    assert not stale.exists()
    assert other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.yaml.k1ll3d.tmp", "c.yaml"]


def test_test_ids_that_sanitize_alike_get_distinct_cassettes(tmp_path: Path) -> None:
    names = ["test_x[a/b]", "test_x[a:b]", "test_x[a b]"]
    paths = {cassette_path(tmp_path, "openai", "test_m.py", name) for name in names}
    assert len(paths) == 3
    assert all(path.parent == tmp_path / "openai" / "test_m" for path in paths)


def test_provider_model_ids_keep_their_readable_cassette_names(tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "openai", "test_m.py", "test_x[openai:gpt-4o]")
    assert path.name == "test_x[openai-gpt-4o].yaml"


def test_a_cassette_linked_to_another_file_never_shows_its_contents(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(
        ".toml",
        models='[providers.openai]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[[providers.openai.models]]\nid = "gpt-a"\ncontext_window = 1000\n'
        "input_per_mtok = 0\noutput_per_mtok = 0\n",
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(
        test_leak="import pytest\n\n@pytest.mark.asyncio\nasync def test_hello(llm):\n"
        "    await llm.complete('Hi')\n"
    )
    private = Path(pytester.path, "private.txt")  # stands in for a system file
    private.write_text("root:PRIVATE-LINE-1\nuser: [PRIVATE-LINE-2\n", encoding="utf-8")
    link = Path(pytester.path, "cassettes/openai/test_leak/test_hello[openai-gpt-a].yaml")
    link.parent.mkdir(parents=True)
    link.symlink_to(private)
    result = pytester.runpytest(
        "--llm-provider=openai", "--llm-replay", "--showlocals", "--tb=long"
    )
    output = result.stdout.str() + result.stderr.str()
    assert "not a readable cassette" in output
    assert "PRIVATE-LINE" not in output


def test_a_key_too_short_to_protect_is_warned_about_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMBENCH_SHORT_KEY", "abcd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        secrets.register("LLMBENCH_SHORT_KEY", "abcd")
        secrets.register("LLMBENCH_SHORT_KEY", "abcd")
    assert len(caught) == 1
    assert issubclass(caught[0].category, secrets.ShortCredentialWarning)
    assert "LLMBENCH_SHORT_KEY holds a value of 4 characters" in str(caught[0].message)
    assert "abcd" not in str(caught[0].message)


def _reply(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


async def _record_one(path: Path, url: str, secret_name: str) -> Cassette:
    cassette = Cassette(path, record_mode="once", secret_names=[secret_name])
    transport = cassette.recording_transport(httpx.MockTransport(_reply))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(url, json={"messages": []})
    return cassette


async def test_recording_is_refused_while_a_key_is_too_short_to_protect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_SHORT_KEY", "abcd")
    path = tmp_path / "c.yaml"
    cassette = await _record_one(path, "http://127.0.0.1:9/v1/x", "LLMBENCH_SHORT_KEY")
    with pytest.raises(CassetteError) as raised:
        cassette.save()
    message = str(raised.value)
    assert f"{path}: not written: LLMBENCH_SHORT_KEY holds a value of 4 characters" in message
    assert "abcd" not in message
    assert not path.exists()


async def test_a_key_equal_to_a_word_in_the_url_is_refused_saying_where_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_OLLAMA_KEY", "ollama")
    url = "http://ollama.internal:11434/v1/chat/completions"
    cassette = await _record_one(tmp_path / "c.yaml", url, "LLMBENCH_OLLAMA_KEY")
    with pytest.raises(CassetteError) as raised:
        cassette.save()
    message = str(raised.value)
    assert "the value of LLMBENCH_OLLAMA_KEY (6 characters) occurs in" in message
    assert "interactions[0].request.uri: ...http://<LLMBENCH_OLLAMA_KEY>.internal" in message
    assert "give LLMBENCH_OLLAMA_KEY a longer, distinct value while recording" in message
