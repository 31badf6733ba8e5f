"""`llmbench models` (the catalogue, as `pytest --llm-list`) and `llmbench validate`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import (
    KEY_ENV,
    OTHER_KEY_ENV,
    REPO_MODELS_TOML,
    SECRET,
    Cli,
    run_llmbench,
    subprocess_env,
)

from pytest_llmbench.catalog import catalog_lines
from pytest_llmbench.config import load_config


def test_models_prints_the_catalogue(cli: Cli) -> None:
    result = cli("models")
    assert result.code == 0
    assert result.out == "\n".join(catalog_lines(load_config(cli.config))) + "\n"
    assert f"{KEY_ENV}: set" in result.out
    assert f"{OTHER_KEY_ENV} is not set" in result.out
    assert SECRET not in result.out


def test_models_is_the_same_as_pytest_llm_list(models_toml: Path) -> None:
    env = subprocess_env(**{KEY_ENV: SECRET})
    ours = subprocess.run(
        [sys.executable, "-m", "pytest_llmbench", "models"],
        cwd=models_toml.parent, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    pytests = subprocess.run(
        [sys.executable, "-m", "pytest", "--llm-list", "-p", "no:cacheprovider"],
        cwd=models_toml.parent, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    assert pytests.returncode == 0, pytests.stderr
    assert ours.stdout == pytests.stdout


def test_config_comes_from_the_environment_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path / "..")  # no models.toml here
    monkeypatch.setenv("LLMBENCH_CONFIG", str(cli.config))
    result = cli("models", config=False)
    assert result.code == 0, result.err
    assert f"llmbench providers in {cli.config}:" in result.out


def test_config_defaults_to_models_toml_in_the_current_directory(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(cli.config.parent)
    result = cli("models", config=False)
    assert result.code == 0, result.err
    assert f"llmbench providers in {cli.config}:" in result.out


def test_config_option_wins_over_the_environment(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMBENCH_CONFIG", str(tmp_path / "missing.toml"))
    assert cli("models").code == 0


def test_validate_checks_each_provider_with_credentials(cli: Cli) -> None:
    mock = cli.mock("mock")
    result = cli("validate")
    assert result.code == 0, result.err
    assert f"config ok: {cli.config} (2 providers, 3 models)" in result.out
    lines = result.out.splitlines()
    assert any(line.split()[:2] == ["mock", "ok"] for line in lines)
    skipped = next(line for line in lines if line.startswith("other"))
    assert skipped.split()[1] == "skipped"
    assert f"{OTHER_KEY_ENV} is not set" in skipped
    assert len(mock.requests) == 1
    assert mock.requests[0].json["max_tokens"] == 1


def test_validate_reports_a_failure_with_its_exit_code(cli: Cli) -> None:
    cli.mock("mock").error(401, "bad key")
    result = cli("validate")
    assert result.code == 4
    failed = next(line for line in result.out.splitlines() if line.startswith("mock"))
    assert failed.split()[1] == "failed"
    assert "bad key" in result.out
    assert f"check that {KEY_ENV} holds a valid key" in result.out


def test_validate_one_provider_without_credentials_exits_4(cli: Cli) -> None:
    result = cli("validate", "other")
    assert result.code == 4
    assert f"{OTHER_KEY_ENV} is not set" in result.out
    assert "mock" not in result.out.split("\n", 1)[1]


def test_validate_unknown_provider_is_a_usage_error(cli: Cli) -> None:
    result = cli("validate", "nope")
    assert result.code == 64
    assert "known" in result.err or "providers in" in result.err


def test_validate_names_the_file_and_field_of_a_bad_config(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[providers.x]\nkind = "nonsense"\nbase_url = "http://h"\n', encoding="utf-8")
    result = cli("validate", "--config", str(bad), config=False)
    assert result.code == 64
    assert f"invalid config file {bad}" in result.err
    assert "providers.x.kind" in result.err
    assert "providers.x.models: missing" in result.err


def test_validate_against_the_local_server(local_server: str, tmp_path: Path) -> None:
    result = run_llmbench("validate", "local", "--config", str(REPO_MODELS_TOML), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "local" in result.stdout and " ok " in result.stdout
