"""pytester setup shared by the plugin tests: a models.toml with a few providers."""

from __future__ import annotations

import pytest

MODELS_TOML = """
[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "LLMBENCH_OPENAI_KEY"

[[providers.openai.models]]
id = "gpt-a"
context_window = 128000
input_per_mtok = 1.0
output_per_mtok = 2.0
capabilities = ["streaming", "tools", "system"]
default = true

[[providers.openai.models]]
id = "gpt-b"
context_window = 128000
input_per_mtok = 3.0
output_per_mtok = 4.0
capabilities = ["streaming", "system"]

[providers.anthropic]
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key_env = "LLMBENCH_ANTHROPIC_KEY"

[[providers.anthropic.models]]
id = "claude-a"
context_window = 200000
input_per_mtok = 1.0
output_per_mtok = 5.0
capabilities = ["streaming", "system"]

[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[[providers.local.models]]
id = "tiny"
context_window = 2048
input_per_mtok = 0
output_per_mtok = 0
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project with models.toml, asyncio strict mode, and no provider keys set."""
    for name in ("LLMBENCH_OPENAI_KEY", "LLMBENCH_ANTHROPIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    # Inner sessions must not think they are xdist workers when this suite runs under -n.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", models=MODELS_TOML)
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester
