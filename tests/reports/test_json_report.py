"""The JSON report: versioned schema, lossless round trip, clear errors on bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel
from report_data import OUTCOMES, openai_run, outcome, results

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.reports import ReportFormatError, read_json, write_json
from pytest_llmbench.results import SCHEMA_VERSION, RunMeta, TestOutcome
from pytest_llmbench.stats import Distribution, RunStats, WorkerStats

SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "report-schema.md"


def test_round_trip_gives_back_the_same_results(tmp_path: Path) -> None:
    original = results()
    write_json(tmp_path / "results.json", original)
    assert read_json(tmp_path / "results.json") == original


def test_file_has_the_documented_top_level_and_per_request_rows(tmp_path: Path) -> None:
    write_json(tmp_path / "results.json", results())
    data = json.loads((tmp_path / "results.json").read_text())
    assert list(data) == ["schema_version", "meta", "runs", "outcomes", "drift", "conformance"]
    assert data["schema_version"] == SCHEMA_VERSION
    run = data["runs"][0]
    assert (run["name"], run["provider"], run["model"]) == ("test_chat", "openai", "gpt-a")
    assert run["ttft_ms"]["p50"] == 25.0
    assert run["ttft_ms"]["p95"] == 38.5
    assert [r["ttft_ms"] for r in run["requests"]] == [10, 20, 30, 40]


def test_conformance_section_has_each_check_by_target_with_outcome_and_reason(
    tmp_path: Path,
) -> None:
    ordinary = outcome("test_ttfb", "openai:gpt-a", "failed", "too slow", theme=None)
    write_json(tmp_path / "results.json", results(outcomes=[*OUTCOMES, ordinary]))
    section = json.loads((tmp_path / "results.json").read_text())["conformance"]
    assert section["targets"] == ["openai:gpt-a", "anthropic:claude-b"]
    assert [c["name"] for c in section["checks"]] == ["test_streaming", "test_usage", "test_tools"]
    usage = section["checks"][1]
    assert usage["theme"] == "answers"
    assert usage["results"]["anthropic:claude-b"] == {
        "outcome": "failed",
        "reason": "usage missing",
    }
    assert section["checks"][2]["results"] == {
        "openai:gpt-a": {"outcome": "skipped", "reason": "no tool support"}
    }
    assert section["counts"] == {"failed": 1, "error": 0, "passed": 3, "skipped": 1}


def test_conformance_section_is_ignored_when_read_back(tmp_path: Path) -> None:
    write_json(tmp_path / "results.json", results())
    assert read_json(tmp_path / "results.json").outcomes == results().outcomes


def test_parent_directories_are_created(tmp_path: Path) -> None:
    write_json(tmp_path / "a" / "b" / "results.json", results())
    assert read_json(tmp_path / "a" / "b" / "results.json").runs[0].ttft_ms.p50 == 25.0


def test_non_finite_numbers_are_written_as_null(tmp_path: Path) -> None:
    run = openai_run()
    run.throughput_tps = float("inf")
    write_json(tmp_path / "results.json", results([run]))
    text = (tmp_path / "results.json").read_text()
    assert "Infinity" not in text
    assert json.loads(text)["runs"][0]["throughput_tps"] is None


def test_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old")
    write_json(path, results())
    assert os.listdir(tmp_path) == ["results.json"]
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    path.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json(path, results())
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]


@pytest.mark.parametrize(("version", "age"), [(SCHEMA_VERSION + 1, "newer"), (0, "older")])
def test_unknown_schema_version_is_rejected(tmp_path: Path, version: int, age: str) -> None:
    path = tmp_path / "baseline.json"
    write_json(path, results())
    data = json.loads(path.read_text())
    data["schema_version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(ReportFormatError) as caught:
        read_json(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"schema_version is {version}" in message
    assert age in message


def test_missing_schema_version_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"runs": []}))
    with pytest.raises(ReportFormatError, match=r"other\.json: field schema_version is missing"):
        read_json(path)


def test_bad_field_is_named_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_json(path, results())
    data = json.loads(path.read_text())
    data["runs"][1]["ttft_ms"]["p50"] = "fast"
    path.write_text(json.dumps(data))
    with pytest.raises(ReportFormatError) as caught:
        read_json(path)
    assert str(path) in str(caught.value)
    assert "field runs[1].ttft_ms.p50" in str(caught.value)
    assert "'fast'" in str(caught.value)


def test_invalid_json_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1,\n  oops}')
    with pytest.raises(ReportFormatError, match=r"broken\.json: not valid JSON \(line 2"):
        read_json(path)


def test_json_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ReportFormatError, match="expected a JSON object"):
        read_json(path)


@pytest.mark.parametrize(
    "model", [RunMeta, RunStats, Distribution, RequestMetrics, TestOutcome, WorkerStats]
)
def test_schema_document_describes_every_field(model: type[BaseModel]) -> None:
    document = SCHEMA_DOC.read_text(encoding="utf-8")
    undocumented = [name for name in model.model_fields if f"`{name}`" not in document]
    assert undocumented == []
