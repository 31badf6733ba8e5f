"""`--llm-drift` against the real local llama.cpp server, in both its OpenAI and Anthropic
formats: a cassette recorded from the server, edited to lack one field and to carry an extra
one, is reported with exactly those two paths, and the cassette is left byte-identical.

Runs when the local server is up (scripts/local-server/start.sh); skips otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cassette_edit import edit_recorded_body
from local_server import CONFIG, LOCAL, needs_local_server

pytestmark = needs_local_server

MODELS_TOML = f"""
[providers.local]
kind = "openai"
base_url = "{LOCAL.base_url}"
timeout_s = 60
max_retries = 0

[[providers.local.models]]
id = "tiny"
context_window = 2048
input_per_mtok = 0
output_per_mtok = 0
capabilities = ["streaming"]

[providers.local-anthropic]
kind = "anthropic"
base_url = "{CONFIG.provider("local-anthropic").base_url}"
timeout_s = 60
max_retries = 0

[[providers.local-anthropic.models]]
id = "tiny"
context_window = 2048
input_per_mtok = 0
output_per_mtok = 0
capabilities = ["streaming"]
"""
TEST = """
import pytest

@pytest.mark.asyncio
async def test_story(llm):
    completion = await llm.complete(
        "Tell a story.", max_tokens=8, temperature=0, seed=1, stream=True
    )
    assert completion.finish_reason in ("stop", "length")
"""
# provider -> (event type edited, field removed from the recording, field added to it)
EDITS = {
    "local": ("chat.completion.chunk", "system_fingerprint", "drift_canary"),
    "local-anthropic": ("message_start", "message.model", "message.drift_canary"),
}


def edit_events(body: bytes, event: str, remove: str, add: str) -> bytes:
    """Each `data:` JSON of type (or object) `event` without `remove` and with `add` = 1."""
    lines = []
    for line in body.decode().split("\n"):
        if line.startswith("data: {"):
            data = json.loads(line[6:])
            if event in (data.get("type"), data.get("object")):
                *parents, last = remove.split(".")
                holder = data
                for name in parents:
                    holder = holder[name]
                del holder[last]
                *parents, last = add.split(".")
                holder = data
                for name in parents:
                    holder = holder[name]
                holder[last] = 1
            line = "data: " + json.dumps(data, separators=(",", ":"))
        lines.append(line)
    return "\n".join(lines).encode()


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", models=MODELS_TOML)
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_llama_story=TEST)
    return pytester


@pytest.mark.parametrize("provider", sorted(EDITS))
def test_drift_names_exactly_the_edited_paths_and_writes_nothing(
    project: pytest.Pytester, provider: str
) -> None:
    run = ("-p", "no:cacheprovider", f"--llm-provider={provider}", "-rsf")
    project.runpytest(*run, "--llm-record-mode=once").assert_outcomes(passed=1)
    (cassette,) = Path(project.path, "cassettes").rglob("*.yaml")
    event, removed, added = EDITS[provider]
    edit_recorded_body(cassette, lambda body: edit_events(body, event, removed, added))
    before = cassette.read_bytes()

    result = project.runpytest(*run, "--llm-drift", "--llm-report=drift.json")

    result.assert_outcomes(passed=1)
    (comparison,) = json.loads(Path(project.path, "drift.json").read_text())["drift"]
    assert comparison["target"] == f"{provider}:tiny"
    changes = [(c["kind"], c["event"], c["path"]) for c in comparison["changes"]]
    assert sorted(changes) == [("added", event, removed), ("removed", event, added)]
    assert cassette.read_bytes() == before
