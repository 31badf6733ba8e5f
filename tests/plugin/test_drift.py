"""`--llm-drift` in real pytest sessions against a loopback server: live calls compared with
cassettes, reported per provider:model, failing on drift rules, and never writing cassettes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cassette_edit import edit_recorded_body
from fake_server import FakeOpenAI, fake_openai

KEY_ENV = "LLMBENCH_OPENAI_KEY"
KEY = "canary-drift-test-secret-0123456789"
CASSETTE = Path("cassettes/openai/test_live/test_hello[openai-gpt-a].yaml")
LIVE_TEST = """
import pytest

@pytest.mark.asyncio
async def test_hello(llm):
    completion = await llm.complete("Hi", max_tokens=5, stream=True)
    assert completion.text == "Hello there"
"""
# The loopback server's events carry choices[].finish_reason and no system_fingerprint.
EXPECTED = [
    "openai:gpt-a: 1 response(s) compared: 1 added, 1 removed, 0 retyped",
    "*test_live.py::test_hello*",
    "    added field message: choices[].finish_reason (null|string)",
    "    removed field message: system_fingerprint (string)",
]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def recorded(
    project: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A project with a cassette recorded from the loopback server; the key is set."""
    toml = Path(project.path, "models.toml")
    toml.write_text(toml.read_text().replace("https://api.openai.com/v1", server.base_url))
    project.makepyfile(test_live=LIVE_TEST)
    monkeypatch.setenv(KEY_ENV, KEY)
    run(project, "--llm-record-mode=once").assert_outcomes(passed=1)
    server.requests.clear()
    return project


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("--llm-provider=openai", "--llm-model=gpt-a", "-rsf", *args)


def drift_the_cassette(project: pytest.Pytester) -> bytes:
    """Make the recording lack finish_reason and carry system_fingerprint; return its bytes."""

    def edit(body: bytes) -> bytes:
        body = body.replace(b', "finish_reason": null', b"")
        body = body.replace(b', "finish_reason": "stop"', b"")
        return body.replace(b'{"choices"', b'{"system_fingerprint": "fp-1", "choices"')

    path = Path(project.path, CASSETTE)
    edit_recorded_body(path, edit)
    return path.read_bytes()


def test_an_unchanged_shape_reports_no_drift(recorded: pytest.Pytester, server: FakeOpenAI) -> None:
    result = run(recorded, "--llm-drift")
    result.assert_outcomes(passed=1)
    assert len(server.requests) == 1
    result.stdout.fnmatch_lines(
        ["*llmbench drift*", "openai:gpt-a: 1 response(s) compared: 0 added, 0 removed, 0 retyped"]
    )


def test_drift_names_exactly_the_added_and_removed_paths(recorded: pytest.Pytester) -> None:
    drift_the_cassette(recorded)
    result = run(recorded, "--llm-drift")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(EXPECTED)
    assert "retyped field" not in result.stdout.str()


def test_a_drift_run_leaves_the_cassette_byte_identical(recorded: pytest.Pytester) -> None:
    before = drift_the_cassette(recorded)
    run(recorded, "--llm-drift", "--llm-strict").assert_outcomes(passed=1)
    assert Path(recorded.path, CASSETTE).read_bytes() == before
    assert sorted(p.name for p in Path(recorded.path, CASSETTE).parent.iterdir()) == [CASSETTE.name]


def test_the_json_report_has_the_drift_section(recorded: pytest.Pytester) -> None:
    drift_the_cassette(recorded)
    run(recorded, "--llm-drift", "--llm-report=out.json").assert_outcomes(passed=1)
    (comparison,) = json.loads(Path(recorded.path, "out.json").read_text())["drift"]
    assert comparison["target"] == "openai:gpt-a"
    assert comparison["interaction"] == 0
    assert [(c["kind"], c["scope"], c["event"], c["path"]) for c in comparison["changes"]] == [
        ("added", "field", "message", "choices[].finish_reason"),
        ("removed", "field", "message", "system_fingerprint"),
    ]


def test_the_html_report_shows_the_drift(recorded: pytest.Pytester) -> None:
    drift_the_cassette(recorded)
    run(recorded, "--llm-drift", "--llm-html=out.html").assert_outcomes(passed=1)
    html = Path(recorded.path, "out.html").read_text()
    assert "<h2>Drift</h2>" in html
    assert "message: system_fingerprint" in html
    assert "message: choices[].finish_reason" in html


def test_a_breached_drift_rule_fails_the_session(recorded: pytest.Pytester) -> None:
    drift_the_cassette(recorded)
    result = run(recorded, "--llm-drift", "--llm-fail=drift:removed")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED drift:removed breached on openai:gpt-a: 1 removed"])


def test_a_drift_rule_of_another_kind_passes(recorded: pytest.Pytester) -> None:
    drift_the_cassette(recorded)
    result = run(recorded, "--llm-drift", "--llm-fail=drift:retyped")
    assert result.ret == pytest.ExitCode.OK


def test_tests_without_a_cassette_are_skipped(project: pytest.Pytester) -> None:
    project.makepyfile(test_live=LIVE_TEST)
    result = run(project, "--llm-drift")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*--llm-drift: no cassette to compare with*"])


def test_a_request_without_a_matching_recording_is_noted(recorded: pytest.Pytester) -> None:
    Path(recorded.path, "test_live.py").write_text(LIVE_TEST.replace('"Hi"', '"Hello?"'))
    result = run(recorded, "--llm-drift")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*0 response(s) compared*1 without a matching recording*", "*no recorded interaction*"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llm-drift", "--llm-replay"], "*--llm-drift calls the endpoints; drop --llm-replay*"),
        (["--llm-drift", "--llm-record-mode=once"], "*--llm-drift never writes cassettes*"),
        (["--llm-fail=drift:any"], "*--llm-fail drift:any needs --llm-drift*"),
        (["--llm-drift", "--llm-fail=drift:gone"], "*a drift rule is drift:any or drift:*"),
    ],
)
def test_bad_drift_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = run(project, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_drift_found_by_xdist_workers_is_reported_and_fails_the_rule(
    recorded: pytest.Pytester,
) -> None:
    drift_the_cassette(recorded)
    result = run(
        recorded, "-n", "2", "--llm-drift", "--llm-fail=drift:added", "--llm-report=o.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([*EXPECTED, "FAILED drift:added breached on openai:gpt-a: 1 added"])
    assert len(json.loads(Path(recorded.path, "o.json").read_text())["drift"]) == 1
