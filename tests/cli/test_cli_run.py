"""`llmbench run`: load at a concurrency or rate, per-request CSV, summaries, logs."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from pathlib import Path

import pytest
from cli_helpers import KEY_ENV, SECRET, Cli

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.reports.terminal import byte_size

STATISTICS = ["min", "mean", "p50", "p95", "p99", "max"]


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_concurrency_run_writes_a_row_per_request(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    mock = cli.mock("mock")
    mock.stream(["a", "b", "c"], ttft=0.02, itl=0.005)
    output = tmp_path / "out.csv"
    result = cli(
        "run", "--provider", "mock", "--prompts", str(prompts_file), "--requests", "6",
        "--concurrent", "3", "--output", str(output),
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = read_rows(output)
    assert len(rows) == 6
    assert {row["provider"] for row in rows} == {"mock"}
    assert {row["prompt_id"] for row in rows} == {"prompts:1", "prompts:2"}
    assert all(row["ttft_ms"] and not row["error"] for row in rows)
    assert len(mock.requests) == 6
    assert "mock:mock-small" in result.out  # the summary table
    assert f"wrote 6 request rows to {output}" in result.err


def test_rate_run_sends_the_requested_count(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    mock = cli.mock("mock")
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "5", "--rate", "200",
        "--arrivals", "constant", "--output", str(tmp_path / "out.csv"), "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    run = json.loads(result.out)["runs"][0]
    assert (run["count"], run["ok"]) == (5, 5)
    assert run["achieved_rate"] is not None
    assert len(mock.requests) == 5


def test_rate_run_arrivals_are_constant_by_default_as_in_the_fixture(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--rate", "200",
        "--output", str(tmp_path / "out.csv"), "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert (
        json.loads(result.out)["runs"][0]["name"] == "prompts.txt, rate 200/s constant, 2 requests"
    )


def test_duration_run_stops_after_the_time(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    cli.mock("mock").stream(["a"], ttft=0.02)
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "--duration", "0.2",
        "--output", str(tmp_path / "out.csv"), "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    run = json.loads(result.out)["runs"][0]
    # One request in flight, each held 0.02 s by the mock: at most 0.2 / 0.02 + 1 start in time.
    assert 2 <= run["count"] <= 11
    assert run["wall_s"] >= 0.2


def test_warmup_requests_are_not_measured(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    mock = cli.mock("mock")
    output = tmp_path / "out.csv"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "3", "--warmup", "2",
        "--output", str(output),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert len(mock.requests) == 5
    assert len(read_rows(output)) == 3


def test_several_providers_run_one_after_another(
    cli: Cli, prompts_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_CLI_TEST_OTHER_KEY", "other-key-value")
    result = cli(
        "run", "-p", "mock", "-p", "mock:mock-large,other", "--prompts", str(prompts_file),
        "-n", "2", "--output", str(tmp_path / "out.csv"), "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    runs = json.loads(result.out)["runs"]
    assert [(r["provider"], r["model"]) for r in runs] == [
        ("mock", "mock-small"),
        ("mock", "mock-large"),
        ("other", "other-model"),
    ]
    assert len({r["name"] for r in runs}) == 1  # one comparison group
    # the same prompts in the same order for every model
    assert [m["prompt_id"] for m in runs[0]["requests"]] == [
        m["prompt_id"] for m in runs[2]["requests"]
    ]


def test_summary_table_compares_models_side_by_side(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    cli.mock("mock").stream(["a", "b"], usage={"input_tokens": 1000, "output_tokens": 2000})
    result = cli(
        "run", "-p", "mock", "-p", "mock:mock-large", "--prompts", str(prompts_file),
        "-n", "2", "--output", str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert result.code == 0, result.err
    small = next(line for line in result.out.splitlines() if "mock:mock-small" in line)
    large = next(line for line in result.out.splitlines() if "mock:mock-large" in line)
    assert "0.01" in small  # 2 x (1000 x $1 + 2000 x $2) / 1e6
    assert "0.1" in large  # ten times the price


def summary_rows(out: str, heading: str) -> dict[str, list[str]]:
    """The rows of the summary table headed `heading` (TTFT ms, ...), by provider:model."""
    lines = out.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split() == [*heading.split(), *STATISTICS]
    )
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:  # past the heading and its rule
        if not line.strip():
            break
        target, *cells = line.split()
        rows[target] = cells
    return rows


def spread(values: list[float]) -> list[float]:
    """min, mean, p50, p95, p99, max (percentiles interpolated linearly, as RunStats does)."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [min(values), statistics.fmean(values), cuts[49], cuts[94], cuts[98], max(values)]


def test_run_summary_shows_min_mean_percentiles_max_and_bytes(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    mock = cli.mock("mock")
    mock.sequence(*(mock.stream(["a", "b", "c"], ttft=t, itl=0.002) for t in (0.01, 0.03, 0.06)))
    log = tmp_path / "requests.jsonl"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "4", "--output",
        str(tmp_path / "out.csv"), "--log-file", str(log),
    )  # fmt: skip
    assert result.code == 0, result.err
    metrics = [
        RequestMetrics.model_validate_json(line)
        for line in log.read_text(encoding="utf-8").splitlines()
    ]
    overview = next(line for line in result.out.splitlines() if "mock:mock-small" in line)
    assert overview.split()[:4] == ["mock:mock-small", "4", "4", "0"]  # n, ok, err
    assert byte_size(sum(m.bytes for m in metrics)) in overview
    for heading, field in (("TTFT ms", "ttft_ms"), ("ITL ms", "itl_ms"), ("e2e ms", "e2e_ms")):
        cells = summary_rows(result.out, heading)["mock:mock-small"]
        values = [getattr(m, field) for m in metrics]
        # The table shows three significant figures or two decimals.
        assert [float(c) for c in cells] == pytest.approx(spread(values), rel=6e-3, abs=6e-3)
    ttft = [float(c) for c in summary_rows(result.out, "TTFT ms")["mock:mock-small"]]
    # min, mean, max of TTFTs injected as 10, 30, 60, 60 ms: each measures at least its delay
    assert ttft[0] >= 10 and ttft[-1] >= 60
    assert 30 <= ttft[1] < ttft[-1]


def test_run_summary_compares_models_in_each_table(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    result = cli(
        "run", "-p", "mock", "-p", "mock:mock-large", "--prompts", str(prompts_file), "-n", "2",
        "--output", str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if "provider:model" in line)
    for label in ("n", "ok", "err", "in/out", "bytes", "cost $", "tok/s", "req/s"):
        assert label in header
    for heading in ("TTFT ms", "ITL ms", "e2e ms", "tok/s per req"):
        assert list(summary_rows(result.out, heading)) == ["mock:mock-small", "mock:mock-large"]


def test_csv_format_prints_the_csv(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "3", "--output",
        str(output), "--format", "csv",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == output.read_text(encoding="utf-8")
    assert result.out.startswith("timestamp,")


def test_json_format_prints_results_json(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--output",
        str(tmp_path / "out.csv"), "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["schema_version"] == 1
    assert data["meta"]["config"] == str(cli.config)
    assert data["meta"]["command"][:2] == ["llmbench", "run"]
    assert len(data["runs"][0]["requests"]) == 2


def test_html_report_is_written(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--output",
        str(tmp_path / "out.csv"), "--html", str(html),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "<html" in html.read_text(encoding="utf-8").lower()


def test_csv_gets_a_dated_name_by_default(
    cli: Cli, prompts_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("run", "-p", "mock", "--prompts", str(prompts_file), "-n", "1")
    assert result.code == 0, result.err
    written = [p.name for p in tmp_path.glob("llmbench-*.csv")]
    assert len(written) == 1
    assert re.fullmatch(r"llmbench-\d{8}-\d{6}\.csv", written[0])


def test_log_file_has_a_json_line_per_request(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "4", "--output",
        str(tmp_path / "out.csv"), "--log-file", str(log),
    )  # fmt: skip
    assert result.code == 0, result.err
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    metrics = [RequestMetrics.model_validate_json(line) for line in lines]
    assert all(m.provider == "mock" and m.ttft_ms is not None for m in metrics)


def test_verbose_logs_each_request_to_stderr(cli: Cli, prompts_file: Path, tmp_path: Path) -> None:
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--output",
        str(tmp_path / "out.csv"), "--verbose",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err.count("mock:mock-small prompt=") == 2


def test_some_failed_requests_are_counted_and_explained(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    mock = cli.mock("mock")
    mock.sequence(mock.error(500, "overloaded right now"), mock.reply("fine"))
    output = tmp_path / "out.csv"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "3", "--output", str(output),
        "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    run = json.loads(result.out)["runs"][0]
    assert (run["ok"], run["errors"]) == (2, {"ServerError": 1})
    assert "mock:mock-small: 1 x ServerError: mock HTTP 500" in result.err
    assert "overloaded right now" in result.err
    assert [row["error"] for row in read_rows(output)].count("ServerError") == 1


def test_failed_warmup_requests_are_not_reported(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    mock = cli.mock("mock")
    mock.sequence(mock.error(500, "cold start"), mock.reply("fine"))
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--warmup", "1",
        "--output", str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "ServerError" not in result.err  # the warmup is not measured, nor its errors
    assert "cold start" not in result.err


def test_each_kind_of_error_is_explained_once_with_its_first_message(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    mock = cli.mock("mock")
    mock.sequence(
        mock.error(500, "first outage"), mock.error(500, "second outage"),
        mock.error(429, "too many"), mock.reply("fine"),
    )  # fmt: skip
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "4", "--output",
        str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert result.code == 0, result.err
    explained = [line for line in result.err.splitlines() if " x " in line]
    assert [line.split(":")[2].strip() for line in explained] == [
        "2 x ServerError", "1 x RateLimitError",
    ]  # fmt: skip
    assert "first outage" in explained[0]
    assert "second outage" not in result.err
    assert "too many" in explained[1]


def test_a_run_whose_requests_all_fail_exits_with_their_code(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    cli.mock("mock").error(401, f"invalid key {SECRET}")
    output = tmp_path / "out.csv"
    result = cli(
        "run", "-p", "mock", "--prompts", str(prompts_file), "-n", "2", "--output", str(output)
    )
    assert result.code == 4
    assert f"hint: check that {KEY_ENV} holds a valid key" in result.err
    assert SECRET not in result.out + result.err + output.read_text(encoding="utf-8")
    assert len(read_rows(output)) == 2


def test_missing_credentials_stop_before_any_request(
    cli: Cli, prompts_file: Path, tmp_path: Path
) -> None:
    result = cli("run", "-p", "other", "--prompts", str(prompts_file), "-n", "2")
    assert result.code == 4
    assert "LLMBENCH_CLI_TEST_OTHER_KEY is not set" in result.err
    assert not list(tmp_path.glob("llmbench-*.csv"))


# -- usage errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrent", "2", "--rate", "3"], "--concurrent and --rate exclude each other"),
        (["--arrivals", "poisson"], "--arrivals applies to --rate runs"),
        (["--concurrent", "0"], "--concurrent"),
        (["--rate", "0"], "--rate"),
        (["--requests", "0"], "--requests"),
        (["--selection", "shuffled"], "--selection"),
        (["--format", "xml"], "--format"),
        (["--output", "/no/such/dir/out.csv"], "--output /no/such/dir/out.csv: directory"),
        (["--provider", "nope"], "unknown provider 'nope'"),
        (["--provider", "mock:nope"], "has no model 'nope'; its models: mock-small, mock-large"),
    ],
)
def test_bad_run_options_are_usage_errors(
    cli: Cli, prompts_file: Path, args: list[str], message: str
) -> None:
    base = ["run", "--prompts", str(prompts_file)]
    if "--provider" not in args:
        base += ["--provider", "mock"]
    result = cli(*base, *args)
    assert result.code == 64, result.err
    assert message in result.err
    assert "mock" not in cli.mocks or cli.mock("mock").requests == []


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("", ".txt", "no prompts in file"),
        ("{not json\n", ".jsonl", "not valid JSON"),
        ("prompt: x\n", ".yaml", "expected a top-level 'prompts:' list"),
        ("x", ".csv", "unknown prompt file type"),
    ],
)
def test_bad_prompt_files_are_usage_errors(
    cli: Cli, tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content, encoding="utf-8")
    result = cli("run", "-p", "mock", "--prompts", str(path))
    assert result.code == 64
    assert str(path) in result.err
    assert message in result.err


def test_missing_prompt_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "-p", "mock", "--prompts", str(tmp_path / "none.txt"))
    assert result.code == 64
    assert "no such prompt file" in result.err


def test_missing_provider_without_a_terminal_lists_the_choices(
    cli: Cli, prompts_file: Path
) -> None:
    result = cli("run", "--prompts", str(prompts_file))
    assert result.code == 64
    assert "missing --provider; choose one of: mock, other" in result.err
