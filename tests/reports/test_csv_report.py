"""The CSV report: one row per request of every run, fixed columns, empty cells for None."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from report_data import results

from pytest_llmbench.reports import write_csv

COLUMNS = [
    "timestamp", "run", "provider", "model", "prompt_id", "status", "ttfb_ms", "ttft_ms",
    "e2e_ms", "itl_ms", "input_tokens", "output_tokens", "output_tps", "cost_usd", "bytes",
    "retries", "usage_estimated", "replayed", "error", "connect_ms",
    "worker",
]  # fmt: skip


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_header_has_the_columns_in_order(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results())
    with (tmp_path / "requests.csv").open(newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS


def test_one_row_per_request_of_every_run(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results())
    rows = read(tmp_path / "requests.csv")
    assert [(r["provider"], r["prompt_id"]) for r in rows] == [
        ("openai", "prompt-0"), ("openai", "prompt-1"), ("openai", "prompt-2"),
        ("openai", "prompt-3"), ("anthropic", "prompt-0"), ("anthropic", "prompt-1"),
        ("anthropic", "prompt-2"), ("anthropic", "prompt-3"),
    ]  # fmt: skip


def test_a_successful_row_holds_the_request_figures(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results())
    row = read(tmp_path / "requests.csv")[1]
    assert row == {
        "timestamp": "2023-11-14T22:13:21+00:00",  # started_at T0 + 1 s, in UTC
        "run": "test_chat",
        "provider": "openai",
        "model": "gpt-a",
        "prompt_id": "prompt-1",
        "status": "200",
        "ttfb_ms": "10.0",
        "ttft_ms": "20.0",
        "e2e_ms": "200.0",
        "itl_ms": "3.0",
        "input_tokens": "12",
        "output_tokens": "5",
        "output_tps": "60.0",
        "cost_usd": "0.001",
        "bytes": "512",
        "retries": "0",
        "usage_estimated": "false",
        "replayed": "false",
        "error": "",
        "connect_ms": "",
        "worker": "",
    }


def test_a_failed_row_has_empty_cells_for_missing_timings(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results())
    row = read(tmp_path / "requests.csv")[-1]
    assert (row["status"], row["error"], row["retries"]) == ("429", "RateLimitError", "2")
    assert (row["ttfb_ms"], row["ttft_ms"], row["itl_ms"], row["cost_usd"]) == ("", "", "", "")
    assert row["e2e_ms"] == "5.0"


def test_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results())
    assert os.listdir(tmp_path) == ["requests.csv"]


def test_no_runs_gives_just_the_header(tmp_path: Path) -> None:
    write_csv(tmp_path / "requests.csv", results(runs=[]))
    assert (tmp_path / "requests.csv").read_text().splitlines() == [",".join(COLUMNS)]


def test_a_distributed_row_names_its_worker(tmp_path: Path) -> None:
    data = results()
    data.runs[0].requests[0].worker = 1
    write_csv(tmp_path / "requests.csv", data)
    assert read(tmp_path / "requests.csv")[0]["worker"] == "1"
