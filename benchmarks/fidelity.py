"""Timing fidelity and overhead of the harness, side by side with a bare aiohttp client.

Run: python -m benchmarks.fidelity [--levels 1,16,64,256] [--repeat 3] [--capacity 3000]

Starts a loopback server with a scripted schedule (first token TTFT ms after the request, then
one every ITL ms) and measures, in one run, each client in its own process: bare aiohttp
(counting token bytes), bare aiohttp that parses every event (`bare-json`, the floor for a client
that decodes what it times), LLMClient, llm_bench under pytest, `llmbench run`, and a cassette
replayed at the recorded pace.
Per level: TTFT and ITL error (measured minus scripted) p50/p99, requests/s and peak RSS; then
capacity (requests/s against a zero-delay server, 64-token streams, c=64) and the first-request
excess (first TTFT minus the median of the others at c=1). Figures are medians over --repeat
rounds; the clients alternate within a round so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.sse_server import running
from pytest_llmbench.stats import percentile

KINDS = ("bare", "bare-json", "llmclient", "pytest", "cli", "replay")
CAPACITY_KINDS = ("bare", "bare-json", "llmclient", "pytest")
MODELS_TOML = """
[providers.bench]
kind = "openai"
base_url = "{url}"
max_retries = 0

[[providers.bench.models]]
id = "bench"
context_window = 100000
input_per_mtok = 0
output_per_mtok = 0
capabilities = ["streaming"]
default = true
"""
PYTEST_FILE = """
import os
import pytest
from pytest_llmbench import Request

@pytest.mark.asyncio
async def test_fidelity(llm_bench):
    tokens = int(os.environ["FIDELITY_TOKENS"])
    await llm_bench.load(
        Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=tokens, stream=True),
        concurrency=int(os.environ["FIDELITY_C"]),
        count=int(os.environ["FIDELITY_COUNT"]),
    )
"""


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    """Run a client to its end; its peak RSS in MB (from wait4, this process's own child)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors.decode()[-2000:]}")
    return usage.ru_maxrss // 1024


def _from_csv(path: Path) -> dict[str, Any]:
    with path.open() as rows:
        table = list(csv.DictReader(rows))
    return {
        "ttft": [float(r["ttft_ms"]) if r["ttft_ms"] else None for r in table],
        "itl": [float(r["itl_ms"]) if r["itl_ms"] else None for r in table],
    }


def measure(kind: str, url: str, level: int, count: int, tokens: int, work: Path) -> dict[str, Any]:
    """One client run: per-request TTFT/ITL, wall time and peak RSS."""
    (work / "models.toml").write_text(MODELS_TOML.format(url=url))
    out = work / f"{kind}.json"
    if kind in ("bare", "bare-json", "llmclient", "replay"):
        command = [sys.executable, "-m", "benchmarks.fidelity_clients", kind, url]
        rss = _run([*command, str(level), str(count), str(tokens), str(out)], Path.cwd())
        figures: dict[str, Any] = json.loads(out.read_text())
    elif kind == "pytest":
        (work / "test_fidelity.py").write_text(textwrap.dedent(PYTEST_FILE))
        env = {
            "FIDELITY_C": str(level),
            "FIDELITY_COUNT": str(count),
            "FIDELITY_TOKENS": str(tokens),
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "test_fidelity.py",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        command += ["-p", "no:randomly", "--llm-provider=bench", "--llm-csv=out.csv"]
        command += ["--llm-report=out.json", "-o", "asyncio_mode=strict", "--rootdir", str(work)]
        rss = _run(command, work, env)
        figures = _from_csv(work / "out.csv")
        figures["wall_s"] = json.loads((work / "out.json").read_text())["runs"][0]["wall_s"]
    else:
        (work / "prompts.txt").write_text("Hi\n")
        command = ["llmbench", "run", "--prompts", "prompts.txt", "-p", "bench", "-n", str(count)]
        command += ["--concurrent", str(level), "--max-tokens", str(tokens), "--output", "out.csv"]
        command += ["--config", "models.toml", "--format", "json"]
        rss = _run(command, work)
        figures = _from_csv(work / "out.csv")
        figures["wall_s"] = None
    figures["rss_mb"] = rss
    return figures


def _stat(values: list[float], p: float) -> float | None:
    return percentile(sorted(values), p) if values else None


def summarize(figures: dict[str, Any], ttft_ms: float, itl_ms: float) -> dict[str, Any]:
    ttft = [v - ttft_ms for v in figures["ttft"] if v is not None]
    itl = [v - itl_ms for v in figures["itl"] if v is not None]
    wall = figures.get("wall_s")
    return {
        "ttft_err_p50": _stat(ttft, 50),
        "ttft_err_p99": _stat(ttft, 99),
        "itl_err_p50": _stat(itl, 50),
        "itl_err_p99": _stat(itl, 99),
        "req_s": len(figures["ttft"]) / wall if wall else None,
        "rss_mb": figures["rss_mb"],
        "first_excess": (figures["ttft"][0] - statistics.median(figures["ttft"][1:]))
        if len(figures["ttft"]) > 2 and figures["ttft"][0] is not None
        else None,
    }


def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r[key] is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,16,64,256")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--per-level", type=int, default=4, help="requests per level = N x level")
    parser.add_argument("--capacity", type=int, default=3000, help="requests in the capacity run")
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    levels = [int(v) for v in args.levels.split(",")]
    kinds = args.kinds.split(",")
    print(f"command: python -m benchmarks.fidelity {' '.join(sys.argv[1:])}".rstrip())
    with (
        running(args.ttft_ms, args.itl_ms) as url,
        running() as zero_url,
        tempfile.TemporaryDirectory() as folder,
    ):
        work = Path(folder)
        print(f"schedule: TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, {args.tokens} tokens")
        print("level kind       TTFT err p50/p99 ms  ITL err p50/p99 ms   req/s  RSS MB  1st+ms")
        for level in levels:
            count = max(20, args.per_level * level)
            rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
            for _ in range(args.repeat):
                for kind in kinds:
                    raw = measure(kind, url, level, count, args.tokens, work)
                    rounds[kind].append(summarize(raw, args.ttft_ms, args.itl_ms))
            for kind in kinds:
                r = rounds[kind]
                first = _fmt(_median(r, "first_excess")) if level == 1 else ""
                ttft = f"{_fmt(_median(r, 'ttft_err_p50')):>8}/"
                ttft += f"{_fmt(_median(r, 'ttft_err_p99')):<8}"
                itl = f"{_fmt(_median(r, 'itl_err_p50'), 2):>7}/"
                itl += f"{_fmt(_median(r, 'itl_err_p99'), 2):<7}"
                rate = f"{_fmt(_median(r, 'req_s')):>7} {_fmt(_median(r, 'rss_mb'), 0):>6}"
                print(f"{level:>5} {kind:<10} {ttft}    {itl}  {rate}  {first:>6}", flush=True)
        print(f"capacity: zero-delay server, 64-token streams, c=64, {args.capacity} requests")
        capacity: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for kind in [k for k in kinds if k in CAPACITY_KINDS]:
                raw = measure(kind, zero_url, 64, args.capacity, 64, work)
                capacity.setdefault(kind, []).append(len(raw["ttft"]) / raw["wall_s"])
        bare = statistics.median(capacity.get("bare", [0.0])) or None
        for kind, values in capacity.items():
            req_s = statistics.median(values)
            share = f"{req_s / bare:.0%} of bare" if bare else ""
            print(f"  {kind:<10} {req_s:8.1f} req/s  {share}")


if __name__ == "__main__":
    main()
