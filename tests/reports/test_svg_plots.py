"""The SVG plotting helpers: round ticks, step CDFs, escaped labels."""

from __future__ import annotations

import re

import pytest

from pytest_llmbench.reports import svg


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 38.5, [0, 10, 20, 30, 40]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 9, [0, 2, 4, 6, 8, 10]),
        (0, 12, [0, 2.5, 5, 7.5, 10, 12.5]),
        (5, 5, [5, 6, 7, 8, 9, 10]),
    ],
)
def test_nice_ticks_are_round_and_cover_the_range(
    low: float, high: float, ticks: list[float]
) -> None:
    assert svg.nice_ticks(low, high) == pytest.approx(ticks)


def test_tick_labels_have_just_enough_decimals() -> None:
    label = svg.tick_formatter([0, 2.5, 5])
    assert [label(v) for v in (0, 2.5, 5)] == ["0.0", "2.5", "5.0"]
    assert svg.tick_formatter([0, 500, 1000])(1000) == "1,000"


def test_cdf_steps_up_by_one_over_n_at_each_value() -> None:
    plot = svg.cdf_plot([svg.Series("m", [10, 20, 30, 40])], title="t", x_label="ms")
    line = re.search(r'<path d="(M[^"]*)" fill="none" stroke="#\w+" stroke-width="2"', plot)
    assert line is not None
    start_y = float(line.group(1).split(",")[1].split("H")[0])
    levels = [float(y) for y in re.findall(r"V([\d.]+)", line.group(1))]
    # from 0% up to 25%, 50%, 75% and 100%: four equal steps
    assert len(levels) == 4
    steps = [a - b for a, b in zip([start_y, *levels[:-1]], levels, strict=True)]
    assert steps == pytest.approx([steps[0]] * 4, abs=0.1)
    assert steps[0] > 0


def test_plot_text_is_escaped() -> None:
    plot = svg.bar_chart(["<b>"], [svg.Series("s", [1.0])], title="a & b", value_label="x")
    assert "<b>" not in plot
    assert "&lt;b&gt;" in plot
    assert ">a &amp; b</text>" in plot


def test_empty_series_say_no_data() -> None:
    assert ">no data</text>" in svg.histogram([svg.Series("m", [])], title="t", x_label="ms")
