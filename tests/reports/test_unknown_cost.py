"""A model without prices has an unknown cost (null, shown as "–"), never 0, in every report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from report_data import ok, openai_run

from pytest_llmbench.metrics import cost_usd
from pytest_llmbench.reports import terminal_text, write_csv, write_html, write_json
from pytest_llmbench.results import Results
from pytest_llmbench.stats import RunStats


def unpriced_run() -> RunStats:
    requests = [ok("local", "tiny", i, ttft=10, e2e=100) for i in range(2)]
    for request in requests:
        request.cost_usd = None
    return RunStats.from_metrics(requests, wall_s=1.0, name="test_free")


def test_cost_without_prices_is_unknown() -> None:
    assert cost_usd(10, 10, None, None) is None
    assert cost_usd(10, 10, 0.0, 0.0) == 0.0


def test_a_run_with_an_unpriced_request_has_unknown_cost() -> None:
    assert unpriced_run().cost_usd is None
    assert openai_run().cost_usd == 0.004


def test_terminal_report_shows_unknown_cost_as_a_dash() -> None:
    text = terminal_text(Results(runs=[unpriced_run()]), width=120, color=False)
    [row] = [line for line in text.splitlines() if "local:tiny" in line]
    assert row.split()[-1] == "–"  # the cost column (the replay column is empty)


def test_json_report_writes_null_cost(tmp_path: Path) -> None:
    write_json(tmp_path / "r.json", Results(runs=[unpriced_run()]))
    [run] = json.loads((tmp_path / "r.json").read_text())["runs"]
    assert run["cost_usd"] is None
    assert [r["cost_usd"] for r in run["requests"]] == [None, None]


def test_csv_report_leaves_unknown_cost_empty(tmp_path: Path) -> None:
    write_csv(tmp_path / "r.csv", Results(runs=[unpriced_run()]))
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [row["cost_usd"] for row in rows] == ["", ""]


def test_html_report_renders_unknown_cost(tmp_path: Path) -> None:
    write_html(tmp_path / "r.html", Results(runs=[unpriced_run(), openai_run()]))
    html = (tmp_path / "r.html").read_text()
    assert "Cost per model" in html
    assert "local:tiny · cost: –" in html
