"""The real local llama.cpp server of models.toml's `local` provider, for the live tests."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pytest_llmbench import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config(ROOT / "models.toml")
LOCAL = CONFIG.provider("local")


def server_up() -> bool:
    try:
        return (
            httpx.get(LOCAL.base_url.removesuffix("/v1") + "/health", timeout=1).status_code == 200
        )
    except httpx.HTTPError:
        return False


needs_local_server = pytest.mark.skipif(
    not server_up(), reason="local llama-server is not running: bash scripts/local-server/start.sh"
)
