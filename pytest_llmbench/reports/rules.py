"""Regression rules (`--llm-fail`): which metric may move how far from the baseline.

ttft.p95:+20%         breach when current > baseline x 1.20  (latency or cost up)
tokens_per_s.p50:-10% breach when current < baseline x 0.90  (rate down)
e2e.p99:>2000         breach when current > 2000 (ms)        (absolute ceiling)
throughput:<50        breach when current < 50 (tok/s)       (absolute floor)
error_rate:>1%        breach when more than 1% of requests failed
drift:removed         breach when a --llm-drift run finds a removed field, event or header
drift:any             ... any change (drift:added and drift:retyped name one kind each)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_llmbench.drift.compare import CHANGE_KINDS, ChangeKind, DriftComparison
from pytest_llmbench.stats import Distribution, RunStats

STATS = ("mean", "min", "p50", "p90", "p95", "p99", "max")


@dataclass(frozen=True)
class Metric:
    """A metric a rule can name, and the RunStats figure it reads."""

    name: str
    field: str  # RunStats attribute
    unit: str  # "ms", "tok/s", "$" or "fraction"
    higher_is_worse: bool
    distribution: bool


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("ttfb", "ttfb_ms", "ms", higher_is_worse=True, distribution=True),
        Metric("ttft", "ttft_ms", "ms", higher_is_worse=True, distribution=True),
        Metric("e2e", "e2e_ms", "ms", higher_is_worse=True, distribution=True),
        Metric("itl", "itl_ms", "ms", higher_is_worse=True, distribution=True),
        Metric("chunk_gap", "chunk_gap_ms", "ms", higher_is_worse=True, distribution=True),
        Metric("tokens_per_s", "output_tps", "tok/s", higher_is_worse=False, distribution=True),
        Metric("throughput", "throughput_tps", "tok/s", higher_is_worse=False, distribution=False),
        Metric("cost", "cost_usd", "$", higher_is_worse=True, distribution=False),
        Metric("error_rate", "error_rate", "fraction", higher_is_worse=True, distribution=False),
    )
}
# The RunStats field names (the metric names of docs/architecture.md) are accepted too.
ALIASES = {m.field: m.name for m in METRICS.values() if m.field != m.name}

ACCEPTED_FORMS = (
    "accepted forms: METRIC.STAT:+N% (latency or cost up by more than N%), "
    "METRIC.STAT:-N% (rate down by more than N%), METRIC.STAT:>N or <N (absolute limit in "
    "ms, tok/s or $), error_rate:>N%; METRIC.STAT for "
    + ", ".join(m.name for m in METRICS.values() if m.distribution)
    + " (STAT one of "
    + ", ".join(STATS)
    + "), plain METRIC for "
    + ", ".join(m.name for m in METRICS.values() if not m.distribution)
    + "; with --llm-drift, drift:any or drift:added, drift:removed, drift:retyped"
)

_RULE = re.compile(r"^(?P<metric>[a-z0-9_]+)(?:\.(?P<stat>[a-z0-9_]+))?:(?P<limit>.*)$")
_LIMIT = re.compile(r"^(?P<op>[-+<>])\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<percent>%?)$")


class RuleError(ValueError):
    """A rule that cannot be parsed; the message names it and lists the accepted forms."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"invalid regression rule {rule!r}: {reason}; {ACCEPTED_FORMS}")
        self.rule = rule
        self.reason = reason


@dataclass(frozen=True)
class Rule:
    """One parsed rule. `limit` is a fraction for relative rules (0.2 for +20%) and a value in
    the metric's unit for absolute ones (error_rate: a fraction, 0.01 for >1%)."""

    metric: Metric
    stat: str | None
    kind: Literal["relative", "absolute"]
    limit: float
    limit_text: str  # as written, normalised: "+20%", ">1%", "<50"

    @property
    def label(self) -> str:
        """The metric as rules name it: `ttft.p95`, `error_rate`."""
        return f"{self.metric.name}.{self.stat}" if self.stat else self.metric.name

    def __str__(self) -> str:
        return f"{self.label}:{self.limit_text}"

    def value(self, stats: RunStats) -> float | None:
        """The figure this rule checks, read from one run."""
        figure = getattr(stats, self.metric.field)
        if isinstance(figure, Distribution):
            return figure.get(self.stat or "p50")
        return None if figure is None else float(figure)

    def threshold(self, baseline: float | None) -> float | None:
        """The value past which the current run breaches; None without a baseline to scale."""
        if self.kind == "absolute":
            return self.limit
        if baseline is None:
            return None
        factor = 1 + self.limit if self.metric.higher_is_worse else 1 - self.limit
        return baseline * factor

    def breached_by(self, current: float, baseline: float | None) -> bool:
        """Whether `current` is past the threshold (in the metric's worse direction)."""
        threshold = self.threshold(baseline)
        if threshold is None:
            return False
        return current > threshold if self.metric.higher_is_worse else current < threshold


def parse_rules(text: str) -> list[Rule]:
    """Parse comma-separated rules such as `ttft.p95:+20%,error_rate:>1%`; empty text, none.

    Drift rules (`drift:...`) are left to `parse_drift_rules`. Raises RuleError naming the
    first bad rule, why it is bad, and the accepted forms.
    """
    return [parse_rule(part) for part in text.split(",") if part.strip() and not _is_drift(part)]


def parse_rule(text: str) -> Rule:
    """Parse one rule (see `parse_rules`)."""
    written = text.strip()
    match = _RULE.match(written.lower().replace(" ", ""))
    if match is None:
        raise RuleError(written, "expected METRIC[.STAT]:LIMIT")
    metric = _metric(written, match["metric"])
    stat = _stat(written, metric, match["stat"])
    limit = _LIMIT.match(match["limit"])
    if limit is None:
        raise RuleError(written, f"cannot read the limit {match['limit']!r}")
    op, number, is_percent = limit["op"], float(limit["number"]), bool(limit["percent"])
    if op in "+-":
        return _relative(written, metric, stat, op, number, is_percent)
    return _absolute(written, metric, stat, op, number, is_percent)


def _metric(written: str, name: str) -> Metric:
    metric = METRICS.get(ALIASES.get(name, name))
    if metric is None:
        raise RuleError(written, f"unknown metric {name!r}")
    return metric


def _stat(written: str, metric: Metric, stat: str | None) -> str | None:
    if not metric.distribution:
        if stat is not None:
            raise RuleError(written, f"{metric.name} is a single figure and takes no .{stat}")
        return None
    if stat is None:
        raise RuleError(written, f"{metric.name} needs a statistic, e.g. {metric.name}.p95")
    if stat not in STATS:
        raise RuleError(written, f"unknown statistic {stat!r}")
    return stat


def _worse_sign(metric: Metric, relative: bool) -> str:
    if relative:
        return "+" if metric.higher_is_worse else "-"
    return ">" if metric.higher_is_worse else "<"


def _relative(
    written: str, metric: Metric, stat: str | None, op: str, number: float, is_percent: bool
) -> Rule:
    if metric.unit == "fraction":
        raise RuleError(written, f"{metric.name} takes an absolute limit such as {metric.name}:>1%")
    if not is_percent:
        raise RuleError(written, f"a relative limit is a percentage: {op}{number:g}%")
    sign = _worse_sign(metric, relative=True)
    if op != sign:
        better = "lower" if metric.higher_is_worse else "higher"
        raise RuleError(
            written, f"{metric.name} is better {better}, so a regression is {sign}N%, not {op}N%"
        )
    if op == "-" and number >= 100:
        raise RuleError(written, "a drop limit must be below 100%")
    return Rule(metric, stat, "relative", number / 100, f"{op}{number:g}%")


def _absolute(
    written: str, metric: Metric, stat: str | None, op: str, number: float, is_percent: bool
) -> Rule:
    sign = _worse_sign(metric, relative=False)
    if op != sign:
        better = "lower" if metric.higher_is_worse else "higher"
        raise RuleError(
            written, f"{metric.name} is better {better}, so its limit is {sign}N, not {op}N"
        )
    if metric.unit == "fraction":
        if not is_percent:
            raise RuleError(written, f"{metric.name} is a percentage: {metric.name}:>{number:g}%")
        return Rule(metric, stat, "absolute", number / 100, f"{op}{number:g}%")
    if is_percent:
        raise RuleError(
            written, f"an absolute limit on {metric.name} is in {metric.unit}, not a percentage"
        )
    return Rule(metric, stat, "absolute", number, f"{op}{number:g}")


# -- drift rules -------------------------------------------------------------------------------

DRIFT_METRIC = "drift"
_ANY = "any"


def _is_drift(part: str) -> bool:
    return part.strip().lower().replace(" ", "").split(":")[0] == DRIFT_METRIC


@dataclass(frozen=True)
class DriftRule:
    """`drift:KIND`: breached when a --llm-drift comparison found a change of one of `kinds`."""

    kinds: tuple[ChangeKind, ...]
    text: str  # normalised: "drift:removed"

    def __str__(self) -> str:
        return self.text

    def breaches(self, comparisons: Sequence[DriftComparison]) -> list[str]:
        """One line per provider:model with changes of the rule's kinds, counted by kind."""
        counts: dict[str, dict[str, int]] = {}
        for comparison in comparisons:
            for kind in self.kinds:
                found = comparison.count(kind)
                if found:
                    by_kind = counts.setdefault(comparison.target, {})
                    by_kind[kind] = by_kind.get(kind, 0) + found
        return [
            f"{self.text} breached on {target}: "
            + ", ".join(f"{count} {kind}" for kind, count in by_kind.items())
            for target, by_kind in counts.items()
        ]


def parse_drift_rules(text: str) -> list[DriftRule]:
    """The `drift:KIND` rules of a --llm-fail text (KIND: any, added, removed, retyped).

    Raises RuleError for a drift rule with another KIND; other rules are `parse_rules`'s.
    """
    rules = []
    for part in text.split(","):
        if not part.strip() or not _is_drift(part):
            continue
        written = part.strip()
        kind = written.lower().replace(" ", "").partition(":")[2]
        if kind == _ANY:
            rules.append(DriftRule(CHANGE_KINDS, f"{DRIFT_METRIC}:{_ANY}"))
        elif kind in CHANGE_KINDS:
            rules.append(DriftRule((kind,), f"{DRIFT_METRIC}:{kind}"))
        else:
            raise RuleError(
                written, f"a drift rule is drift:{_ANY} or drift:{'|'.join(CHANGE_KINDS)}"
            )
    return rules
