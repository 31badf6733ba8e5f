"""Small inline-SVG plots for the HTML report: CDF lines, histograms and horizontal bars.

Each function returns one `<svg>` element as text, with axes, ticks, axis labels and a legend,
ready to be placed in an HTML page. Nothing is fetched at view time (no scripts, no fonts), and
every piece of text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#3b6fb6",
    "#e8871e",
    "#3f9e4d",
    "#d1495b",
    "#7b5ea7",
    "#1d9a9a",
    "#b5651d",
    "#c9579b",
    "#6b7a8f",
    "#a3a13a",
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
WIDTH = 560
HEIGHT = 320
CHAR_WIDTH = 6.6  # average advance of a 12px sans-serif character, for layout estimates
AXIS_COLOR = "#4a5568"
GRID_COLOR = "#e5e8ee"
TEXT_COLOR = "#1f2933"

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """A named set of values: one line, one histogram or one bar per category."""

    name: str
    values: Sequence[float]
    color: str = ""  # empty: the palette colour of the series' position


def color(index: int) -> str:
    """The palette colour of the index-th series, shared by every plot of a report."""
    return PALETTE[index % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering low..high."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("ticks of a non-finite range")
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def tick_formatter(ticks: Sequence[float]) -> Formatter:
    """Labels with just enough decimals to tell the ticks apart: 0, 2.5, 5 or 0.02, 0.04."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1

    def label(value: float) -> str:
        if abs(value) >= 10_000 and decimals == 0:
            return f"{value / 1000:g}k"
        return f"{value:,.{decimals}f}"

    return label


def cdf_plot(series: Sequence[Series], *, title: str, x_label: str) -> str:
    """Empirical CDF of each series: share of values at or below x, as step lines."""
    drawn = _finite(series)
    values = [v for s in drawn for v in s.values]
    canvas = _Canvas(title, drawn)
    if not values:
        return canvas.empty("no data")
    x_ticks = nice_ticks(min(0.0, min(values)), max(values))
    y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    plot = canvas.axes(
        x_ticks, y_ticks, x_label, "share of requests", y_format=_share, right_pad=40
    )
    for reference in (0.5, 0.95):
        y = plot.y(reference)
        canvas.add(
            f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.right}" y2="{y:.1f}" '
            f'stroke="{AXIS_COLOR}" stroke-dasharray="3 4" stroke-width="1" opacity="0.6"/>'
        )
        canvas.text(plot.right + 6, y + 4, f"p{round(reference * 100)}", size=10)
    for s in drawn:
        canvas.add(_cdf_path(plot, sorted(s.values), s.color))
    return canvas.svg()


def histogram(
    series: Sequence[Series], *, title: str, x_label: str, bins: int | None = None
) -> str:
    """Share of each series' values per bin, overlaid. The range stops at the 99th
    percentile when a long tail would squash the rest; the last bin then holds the tail."""
    drawn = _finite(series)
    values = sorted(v for s in drawn for v in s.values)
    canvas = _Canvas(title, drawn)
    if not values:
        return canvas.empty("no data")
    low = min(0.0, values[0])
    high = values[-1]
    tail = values[min(len(values) - 1, math.ceil(0.99 * (len(values) - 1)))]
    clipped = high > 2 * tail > low
    x_ticks = nice_ticks(low, tail if clipped else high)
    low, high = x_ticks[0], x_ticks[-1]
    count = bins or max(8, min(40, round(math.sqrt(len(values)) * 2)))
    width = (high - low) / count
    shares = [_bin_shares(s.values, low, width, count) for s in drawn]
    top = max(max(row) for row in shares)
    last_bin = f"{high - width:.3g}"
    plot = canvas.axes(
        x_ticks,
        nice_ticks(0.0, top, 4),
        x_label + (f"; the last bin holds all ≥ {last_bin}" if clipped else ""),
        "share of values",
        y_format=_share,
    )
    # One series: solid bars. Several: light fills under a step outline each, so that
    # overlapping shapes stay apart.
    opacity = 0.8 if len(drawn) == 1 else 0.18
    for index, row in enumerate(shares):
        fill = drawn[index].color
        for b, share in enumerate(row):
            if share <= 0:
                continue
            x0, x1 = plot.x(low + b * width), plot.x(low + (b + 1) * width)
            y = plot.y(share)
            canvas.add(
                f'<rect x="{x0 + 0.5:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                f'height="{plot.bottom - y:.1f}" fill="{fill}" fill-opacity="{opacity}">'
                f"<title>{escape(drawn[index].name)}: {share:.1%}</title></rect>"
            )
        if len(drawn) > 1:
            canvas.add(_step_outline(plot, row, low, width, fill))
    return canvas.svg()


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    value_label: str,
    value_format: Formatter | None = None,
    empty: str = "no data",
) -> str:
    """Horizontal bars: one band per category (labels on the left, so long model names fit),
    one bar per series within a band (`series[i].values[j]` belongs to `categories[j]`)."""
    series = _coloured(series)
    legend = series if len(series) > 1 else []
    values = [v for s in series for v in s.values if math.isfinite(v)]
    label_chars = max((len(c) for c in categories), default=0)
    left = min(max(60, 16 + label_chars * CHAR_WIDTH), WIDTH * 0.42)
    canvas = _Canvas(title, legend)
    # Few categories get wider bands, so that a bar chart is as tall as the other plots.
    fill = (HEIGHT - canvas.top - 54) / max(len(categories), 1)
    band = max(26.0, 14.0 * len(series) + 10, min(fill, 24.0 * len(series) + 30))
    canvas.height = canvas.top + 6 + band * max(len(categories), 1) + 48
    if not categories or not values:
        return canvas.empty(empty)
    fmt = value_format or tick_formatter(nice_ticks(0.0, max(values)))
    x_ticks = nice_ticks(0.0, max(max(values), 0.0) or 1.0)
    plot = canvas.axes(x_ticks, [], value_label, "", left=left, right_pad=56)
    for j, category in enumerate(categories):
        band_top = plot.top + j * band
        canvas.text(
            plot.left - 8,
            band_top + band / 2 + 4,
            _truncate(category, (left - 16) / CHAR_WIDTH),
            anchor="end",
            tooltip=category,
        )
        bar_height = min((band - 10) / len(series), 24.0)
        first_bar = band_top + (band - bar_height * len(series)) / 2
        for index, s in enumerate(series):
            value = s.values[j]
            y = first_bar + index * bar_height
            # A value no axis can show (NaN, infinite) gets no bar, only its label.
            x1 = plot.x(max(value, 0.0) if math.isfinite(value) else 0.0)
            canvas.add(
                f'<rect x="{plot.left}" y="{y:.1f}" width="{max(x1 - plot.left, 0):.1f}" '
                f'height="{bar_height - 2:.1f}" fill="{s.color}" rx="2">'
                f"<title>{escape(category)} · {escape(s.name)}: {escape(fmt(value))}</title></rect>"
            )
            canvas.text(x1 + 4, y + bar_height / 2 + 3, fmt(value), size=10)
    return canvas.svg()


@dataclass(frozen=True)
class _Plot:
    """The plotting area and its scales, in SVG user units."""

    left: float
    right: float
    top: float
    bottom: float
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def x(self, value: float) -> float:
        span = self.x_max - self.x_min or 1.0
        return self.left + (value - self.x_min) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = self.y_max - self.y_min or 1.0
        return self.bottom - (value - self.y_min) / span * (self.bottom - self.top)


class _Canvas:
    """Collects SVG elements; lays out the title and a wrapping legend above the plot."""

    def __init__(self, title: str, legend: Sequence[Series], *, height: float = HEIGHT) -> None:
        self.title = title
        self.parts: list[str] = []
        self.height: float = height
        self.text(16, 22, title, size=14, weight="600")
        self.top = 34 + self._legend(legend, 16, 34)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        anchor: str = "start",
        size: int = 12,
        weight: str = "normal",
        rotate: bool = False,
        tooltip: str = "",
    ) -> None:
        transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        title = f"<title>{escape(tooltip)}</title>" if tooltip and tooltip != content else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{TEXT_COLOR}"{transform}>{title}{escape(content)}</text>'
        )

    def _legend(self, entries: Sequence[Series], x0: float, y0: float) -> float:
        """Draw legend entries in rows that wrap at the plot's width; return the height used."""
        if not entries:
            return 0
        x, y = x0, y0 + 10
        for entry in entries:
            name = entry.name
            label = _truncate(name, 48)
            width = 18 + len(label) * CHAR_WIDTH + 16
            if x > x0 and x + width > WIDTH - 12:
                x, y = x0, y + 18
            self.add(
                f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="12" rx="2" '
                f'fill="{entry.color}"/>'
            )
            self.text(x + 18, y + 1, label, tooltip=name)
            x += width
        return y - y0 + 14

    def axes(
        self,
        x_ticks: Sequence[float],
        y_ticks: Sequence[float],
        x_label: str,
        y_label: str,
        *,
        y_format: Formatter | None = None,
        left: float = 64,
        right_pad: float = 20,
    ) -> _Plot:
        """Draw gridlines, axis lines, ticks and labels; return the plot's scales."""
        plot = _Plot(
            left=left,
            right=WIDTH - right_pad,
            top=self.top + 6,
            bottom=self.height - 48,
            x_min=x_ticks[0],
            x_max=x_ticks[-1],
            y_min=y_ticks[0] if y_ticks else 0.0,
            y_max=y_ticks[-1] if y_ticks else 1.0,
        )
        x_format = tick_formatter(x_ticks)
        for tick in x_ticks:
            x = plot.x(tick)
            self.add(
                f'<line x1="{x:.1f}" y1="{plot.top:.1f}" x2="{x:.1f}" y2="{plot.bottom:.1f}" '
                f'stroke="{GRID_COLOR}"/>'
            )
            self.add(
                f'<line x1="{x:.1f}" y1="{plot.bottom:.1f}" x2="{x:.1f}" '
                f'y2="{plot.bottom + 5:.1f}" stroke="{AXIS_COLOR}"/>'
            )
            self.text(x, plot.bottom + 18, x_format(tick), anchor="middle", size=11)
        y_fmt = y_format or tick_formatter(y_ticks)
        for tick in y_ticks:
            y = plot.y(tick)
            self.add(
                f'<line x1="{plot.left:.1f}" y1="{y:.1f}" x2="{plot.right:.1f}" y2="{y:.1f}" '
                f'stroke="{GRID_COLOR}"/>'
            )
            self.add(
                f'<line x1="{plot.left - 5:.1f}" y1="{y:.1f}" x2="{plot.left:.1f}" y2="{y:.1f}" '
                f'stroke="{AXIS_COLOR}"/>'
            )
            self.text(plot.left - 8, y + 4, y_fmt(tick), anchor="end", size=11)
        self.add(
            f'<path d="M{plot.left:.1f},{plot.top:.1f} V{plot.bottom:.1f} H{plot.right:.1f}" '
            f'fill="none" stroke="{AXIS_COLOR}"/>'
        )
        self.text((plot.left + plot.right) / 2, self.height - 10, x_label, anchor="middle")
        if y_label:
            self.text(16, (plot.top + plot.bottom) / 2, y_label, anchor="middle", rotate=True)
        return plot

    def empty(self, message: str) -> str:
        self.height = max(self.height, self.top + 60)
        self.text(WIDTH / 2, self.top + 30, message, anchor="middle", size=13)
        return self.svg()

    def svg(self) -> str:
        return (
            f'<svg class="plot" viewBox="0 0 {WIDTH} {self.height:.0f}" width="{WIDTH}" '
            f'height="{self.height:.0f}" role="img" aria-label="{escape(self.title)}" '
            f'font-family="{escape(FONT)}">' + "".join(self.parts) + "</svg>"
        )


def _cdf_path(plot: _Plot, values: Sequence[float], stroke: str) -> str:
    n = len(values)
    commands = [f"M{plot.x(values[0]):.1f},{plot.y(0):.1f}"]
    for i, value in enumerate(values):
        x = plot.x(value)
        commands.append(f"H{x:.1f}V{plot.y((i + 1) / n):.1f}")
    commands.append(f"H{plot.right:.1f}")
    return (
        f'<path d="{"".join(commands)}" fill="none" stroke="{stroke}" stroke-width="2" '
        'stroke-linejoin="round"/>'
    )


def _step_outline(
    plot: _Plot, shares: Sequence[float], low: float, width: float, stroke: str
) -> str:
    commands = [f"M{plot.x(low):.1f},{plot.y(0):.1f}"]
    for b, share in enumerate(shares):
        commands.append(f"V{plot.y(share):.1f}H{plot.x(low + (b + 1) * width):.1f}")
    commands.append(f"V{plot.y(0):.1f}")
    return (
        f'<path d="{"".join(commands)}" fill="none" stroke="{stroke}" stroke-width="1.6" '
        'stroke-linejoin="round"/>'
    )


def _coloured(series: Sequence[Series]) -> list[Series]:
    """Each series with its colour: its own, or the palette's for its position."""
    return [Series(s.name, s.values, s.color or color(i)) for i, s in enumerate(series)]


def _finite(series: Sequence[Series]) -> list[Series]:
    """The series that have values, coloured, without the values no axis can show (NaN, inf)."""
    kept = [
        Series(s.name, [v for v in s.values if math.isfinite(v)], s.color)
        for s in _coloured(series)
    ]
    return [s for s in kept if s.values]


def _bin_shares(values: Sequence[float], low: float, width: float, count: int) -> list[float]:
    counts = [0] * count
    for value in values:
        counts[min(max(int((value - low) / width), 0), count - 1)] += 1
    return [c / len(values) for c in counts]


def _share(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _truncate(text: str, max_chars: float) -> str:
    limit = max(int(max_chars), 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"
