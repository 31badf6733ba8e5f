"""Every fenced code block of README.md is checked here, read from the README at test time.

bash blocks run where that is cheap and offline, else their commands must parse (pytest's and
llmbench's options, the scripts and extras they name); toml blocks load as models.toml; python
blocks run in pytester projects. The tour test file itself runs in test_readme_tour.py.
A block no check claims fails `test_every_readme_block_is_checked`.
"""

from __future__ import annotations

import inspect
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fake_server import FakeOpenAI, fake_openai

from pytest_llmbench import conformance
from pytest_llmbench.bench import LLMBench
from pytest_llmbench.cli import app
from pytest_llmbench.config import load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
KEY = "canary-readme-blocks-0123456789"

# (language, first line of the block): the test that checks it.
CHECKS = {
    ("bash", "pytest --llm-provider=openai -m live"): "test_same_command_runs_live_then_replays",
    ("bash", "python3 -m venv .venv"): "test_setup_commands_name_real_scripts_and_extras",
    ("toml", "[providers.openai]"): "test_config_block_loads",
    ("python", "# tests/test_tour.py"): "test_readme_tour.py (every test there)",
    ("python", "# tests/test_latency.py"): "test_latency_block_runs",
    ("bash", "pytest examples --llm-provider=local --llm-report"): (
        "test_regression_gate_commands_parse"
    ),
    ("bash", "pytest examples --llm-provider=local --llm-drift"): "test_drift_command_parses",
    ("python", "from hypothesis import given"): "test_strategies_block_runs",
    ("bash", "llmbench run --provider local --prompts prompts.txt --requests 5000"): (
        "test_ray_command_parses"
    ),
    ("python", "stats = await llm_bench.load("): "test_ray_load_call_binds",
    ("bash", "pytest --llm-conformance"): "test_conformance_commands_collect_the_suite",
    ("toml", "[providers.local-anthropic.models.conformance_xfail]"): (
        "test_conformance_xfail_block_matches_models_toml"
    ),
    ("bash", "llmbench models"): "test_command_line_block",
}


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block, in README order."""
    found = re.finditer(r"^```(\w*)\n(.*?)^```", README.read_text(), re.S | re.M)
    return [(match.group(1), match.group(2)) for match in found]


def block(language: str, first_line: str) -> str:
    for lang, text in blocks():
        if lang == language and text.startswith(first_line):
            return text
    raise AssertionError(f"README has no {language} block starting {first_line!r}")


def commands(text: str) -> list[list[str]]:
    """The commands of a bash block: continuation lines joined, comments dropped."""
    joined = text.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def test_every_readme_block_is_checked() -> None:
    unchecked = [
        (language, text.splitlines()[0])
        for language, text in blocks()
        if not any(language == lang and text.startswith(first) for lang, first in CHECKS)
    ]
    assert unchecked == []


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A fresh project with the README's models.toml, its openai pointing at a loopback server."""
    for name in ("OPENAI_API_KEY", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    toml = block("toml", "[providers.openai]").replace("https://api.openai.com/v1", server.base_url)
    pytester.makefile(".toml", models=toml)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_same_command_runs_live_then_replays(
    project: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_hello="import pytest\n\n@pytest.mark.asyncio\nasync def test_hello(llm):\n"
        '    assert (await llm.complete("Hi")).text\n'
    )
    with_key, without_key = commands(block("bash", "pytest --llm-provider=openai -m live"))
    assert with_key == without_key
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    project.runpytest(*with_key[1:]).assert_outcomes(passed=1)
    assert len(server.requests) == 1  # real calls (recorded once below, for the laptop run)
    project.runpytest(*with_key[1:], "--llm-record-mode=once").assert_outcomes(passed=1)
    monkeypatch.delenv("OPENAI_API_KEY")
    server.requests.clear()
    project.runpytest(*without_key[1:]).assert_outcomes(passed=1)
    assert server.requests == []  # the cassette replayed


def test_setup_commands_name_real_scripts_and_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    setups = [text for lang, text in blocks() if text.startswith("python3 -m venv .venv")]
    assert len(setups) == 2
    for text in setups:
        steps = [shlex.split(step) for step in text.strip().split("&&")]
        assert steps[0] == ["python3", "-m", "venv", ".venv"]
        [install] = [s for s in steps if s[:2] == ["pip", "install"]]
        wanted = re.fullmatch(r"\.\[(.*)\]", install[-1])
        assert wanted is not None and set(wanted.group(1).split(",")) <= set(extras)
        [script] = [s[1] for s in steps if s[0] == "bash"]
        assert (ROOT / script).is_file()
        assert subprocess.run(["bash", "-n", str(ROOT / script)], check=False).returncode == 0


def test_config_block_loads(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(block("toml", "[providers.openai]"))
    model = load_config(path).provider("openai").model()
    assert model.id == "gpt-5.4-mini" and model.priced


def test_latency_block_runs(
    project: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    Path(project.path, "test_latency.py").write_text(block("python", "# tests/test_latency.py"))
    result = project.runpytest("--llm-provider=openai", "--benchmark-json=bench.json")
    result.assert_outcomes(passed=1)
    assert len(server.requests) == 11  # rounds=10, warmup=1
    assert Path(project.path, "bench.json").exists()  # fed to pytest-benchmark, no fixture


def test_regression_gate_commands_parse(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "examples", pytester.path / "examples")
    shutil.copy(ROOT / "models.toml", pytester.path / "models.toml")
    first, second = commands(block("bash", "pytest examples --llm-provider=local --llm-report"))
    # collection only: the local server is not needed, the options and rules must parse
    result = pytester.runpytest_subprocess(*first[1:], "--co", "-q")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "baseline.json").exists()
    result = pytester.runpytest_subprocess(*second[1:], "--co", "-q")
    assert result.ret == 0, result.stdout.str()


def test_conformance_import_collects(project: pytest.Pytester) -> None:
    (line,) = re.findall(
        r"`(from pytest_llmbench\.conformance import \*[^`]*)`", README.read_text()
    )
    project.makepyfile(test_conformance=line)
    result = project.runpytest("--llm-provider=openai", "--co", "-q")
    checks = [name for name in dir(conformance) if name.startswith("test_")]
    assert checks
    for name in checks:
        result.stdout.fnmatch_lines([f"*::{name}*"])


def test_command_line_block(project: pytest.Pytester) -> None:
    lines = commands(block("bash", "llmbench models"))
    assert all(line[0] == "llmbench" for line in lines)
    group = typer.main.get_command(app)
    for line in lines:  # every option named exists and parses
        name, *args = line[1:]
        Path(project.path, "prompts.txt").write_text("Hi\n")
        with group.commands[name].make_context(name, args) as context:  # type: ignore[attr-defined]
            assert context.params
    for line in lines[:2]:  # models and validate run for real: offline, without a key
        run = subprocess.run(
            [sys.executable, "-m", "pytest_llmbench", *line[1:]],
            cwd=project.path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "openai" in run.stdout


def test_drift_command_parses(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "examples", pytester.path / "examples")
    shutil.copy(ROOT / "models.toml", pytester.path / "models.toml")
    (line,) = commands(block("bash", "pytest examples --llm-provider=local --llm-drift"))
    # collection only: the options and the drift rule must parse (the live run is in tests/live)
    result = pytester.runpytest_subprocess(*line[1:], "--co", "-q")
    assert result.ret == 0, result.stdout.str()


# The README's `my_wrapper` is the reader's own code; here it is the project's OpenAI codec.
MY_WRAPPER = """
from pytest_llmbench.providers import StreamAssembler, codec_for


class my_wrapper:
    @staticmethod
    def parse(chunks):
        decoder = codec_for("openai").stream_decoder_for({"content-type": "text/event-stream"})
        assembler = StreamAssembler()
        for chunk in chunks:
            for event in decoder.feed(chunk):
                assembler.add(event)
        for event in decoder.close():
            assembler.add(event)
        return assembler.completion()
"""


def test_strategies_block_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wrapper=block("python", "from hypothesis import given") + MY_WRAPPER)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_ray_command_parses(project: pytest.Pytester) -> None:
    (line,) = commands(block("bash", "llmbench run --provider local --prompts prompts.txt"))
    Path(project.path, "prompts.txt").write_text("Hi\n")
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    with command.make_context("run", line[2:]) as context:
        assert context.params["workers"] == 8
        assert context.params["ray_address"] == "ray://head:10001"


def test_ray_load_call_binds() -> None:
    text = block("python", "stats = await llm_bench.load(")
    call = text.split("llm_bench.load(", 1)[1].rsplit(")", 1)[0]
    seen: dict[str, object] = {}

    def load(*args: object, **kwargs: object) -> None:
        inspect.signature(LLMBench.load).bind(None, *args, **kwargs)
        seen.update(kwargs)

    eval(f"load({call})", {"load": load})
    assert seen["workers"] == 8
    assert seen["cluster"] == "auto"


def test_conformance_commands_collect_the_suite(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "models.toml", pytester.path / "models.toml")
    whole, selected = commands(block("bash", "pytest --llm-conformance"))
    counts = []
    for line in (whole, selected):  # collection only: no provider is reachable here
        result = pytester.runpytest_subprocess(*line[1:], "--co", "-q")
        assert result.ret == 0, result.stdout.str()
        counts.append(sum("llmbench-conformance/" in out for out in result.outlines))
    assert counts[0] >= 40 * 2  # the suite on openai and anthropic
    assert 0 < counts[1] < counts[0] / 2  # -k picks the tool and JSON checks of one provider


def test_conformance_xfail_block_matches_models_toml() -> None:
    documented = tomllib.loads(
        block("toml", "[providers.local-anthropic.models.conformance_xfail]")
    )
    entries = documented["providers"]["local-anthropic"]["models"]["conformance_xfail"]
    model = load_config(ROOT / "models.toml").providers["local-anthropic"].models[0]
    assert entries.items() <= model.conformance_xfail.items()
