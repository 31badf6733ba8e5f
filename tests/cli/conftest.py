"""Fixtures for the `llmbench` command's tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cli_helpers import KEY_ENV, LOCAL_URL, MODELS_TOML, OTHER_KEY_ENV, SECRET, Cli


@pytest.fixture
def models_toml(tmp_path: Path) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(MODELS_TOML, encoding="utf-8")
    return path


@pytest.fixture
def cli(
    models_toml: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """`llmbench` against mocks; the mock provider's key is set, the other provider's is not."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(OTHER_KEY_ENV, raising=False)
    monkeypatch.delenv("LLMBENCH_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # rich tables unwrapped
    return Cli(models_toml, capsys)


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("Say hello\nCount to three\n", encoding="utf-8")
    return path


# -- the real local server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_server() -> str:
    """The local llama-server's URL; skips when it does not answer."""
    try:
        response = httpx.get(f"{LOCAL_URL}/health", timeout=2)
    except httpx.HTTPError as error:
        pytest.skip(
            f"local llama-server not reachable at {LOCAL_URL} ({type(error).__name__}); "
            "start it with: bash scripts/local-server/start.sh"
        )
    if response.status_code != 200:
        pytest.skip(f"local llama-server at {LOCAL_URL} is not ready: HTTP {response.status_code}")
    return LOCAL_URL
