"""Regression rules: the accepted forms and a clear error for everything else."""

from __future__ import annotations

import re

import pytest

from pytest_llmbench.drift import DriftChange, DriftComparison
from pytest_llmbench.reports import RuleError, parse_drift_rules, parse_rules


def test_parses_the_documented_example() -> None:
    rules = parse_rules("ttft.p95:+20%,itl.p50:+15%,error_rate:>1%,tokens_per_s.p50:-10%")
    assert [str(r) for r in rules] == [
        "ttft.p95:+20%", "itl.p50:+15%", "error_rate:>1%", "tokens_per_s.p50:-10%",
    ]  # fmt: skip
    ttft, _, errors, rate = rules
    assert (ttft.metric.field, ttft.stat, ttft.limit) == ("ttft_ms", "p95", 0.2)
    assert ttft.kind == "relative"
    assert (errors.metric.field, errors.kind, errors.limit) == ("error_rate", "absolute", 0.01)
    assert (rate.metric.field, rate.kind, rate.limit) == ("output_tps", "relative", 0.1)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("ttfb.p50:+5%", "ttfb_ms"),
        ("e2e.max:+5%", "e2e_ms"),
        ("chunk_gap.p99:+5%", "chunk_gap_ms"),
        ("throughput:-5%", "throughput_tps"),
        ("cost:+5%", "cost_usd"),
    ],
)
def test_each_metric_name_maps_to_its_run_stats_field(text: str, field: str) -> None:
    assert parse_rules(text)[0].metric.field == field


def test_run_stats_field_names_are_accepted_as_aliases() -> None:
    (rule,) = parse_rules("ttft_ms.p95:+20%")
    assert str(rule) == "ttft.p95:+20%"


def test_absolute_limits_are_in_the_metric_unit() -> None:
    ceiling, floor = parse_rules("e2e.p99:>2000, throughput:<50")
    assert (ceiling.kind, ceiling.limit, ceiling.threshold(None)) == ("absolute", 2000, 2000)
    assert (floor.kind, floor.limit, str(floor)) == ("absolute", 50, "throughput:<50")


def test_whitespace_case_and_empty_parts_are_tolerated() -> None:
    assert [str(r) for r in parse_rules(" TTFT.P95 : +20 % , ,")] == ["ttft.p95:+20%"]


def test_empty_text_means_no_rules() -> None:
    assert parse_rules("") == []


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("ttft.p95", "expected METRIC[.STAT]:LIMIT"),
        ("latency.p95:+20%", "unknown metric 'latency'"),
        ("ttft.p42:+20%", "unknown statistic 'p42'"),
        ("ttft:+20%", "ttft needs a statistic"),
        ("throughput.p50:-10%", "throughput is a single figure"),
        ("ttft.p95:20%", "cannot read the limit"),
        ("ttft.p95:+abc%", "cannot read the limit"),
        ("ttft.p95:+20", "a relative limit is a percentage"),
        ("ttft.p95:-20%", "ttft is better lower, so a regression is +N%"),
        ("tokens_per_s.p50:+10%", "tokens_per_s is better higher, so a regression is -N%"),
        ("ttft.p95:<500", "ttft is better lower, so its limit is >N"),
        ("error_rate:+1%", "error_rate takes an absolute limit"),
        ("error_rate:>0.01", "error_rate is a percentage"),
        ("e2e.p95:>5%", "an absolute limit on e2e is in ms, not a percentage"),
        ("throughput:-100%", "a drop limit must be below 100%"),
    ],
)
def test_invalid_rule_is_named_with_the_reason_and_accepted_forms(rule: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(f"ttft.p50:+10%,{rule}")
    message = str(caught.value)
    assert f"invalid regression rule {rule!r}" in message
    assert reason in message
    assert "accepted forms: METRIC.STAT:+N%" in message
    assert caught.value.rule == rule


def test_rule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        parse_rules("nope:+1%")


def drift(target: str, *kinds: str) -> DriftComparison:
    changes = [DriftChange(kind=kind, scope="field", event="e", path="p") for kind in kinds]
    return DriftComparison(
        nodeid="t", target=target, cassette="c", request="POST /", changes=changes
    )


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("drift:any", ("added", "removed", "retyped")),
        ("drift:added", ("added",)),
        (" Drift : Removed ", ("removed",)),
        ("drift:retyped", ("retyped",)),
    ],
)
def test_drift_rules_name_the_change_kinds(text: str, kinds: tuple[str, ...]) -> None:
    (rule,) = parse_drift_rules(text)
    assert rule.kinds == kinds


def test_metric_and_drift_rules_are_read_by_their_own_parsers() -> None:
    text = "ttft.p95:+20%,drift:removed"
    assert [str(rule) for rule in parse_rules(text)] == ["ttft.p95:+20%"]
    assert [str(rule) for rule in parse_drift_rules(text)] == ["drift:removed"]


def test_a_drift_rule_of_an_unknown_kind_is_an_error() -> None:
    with pytest.raises(
        RuleError, match=re.escape("a drift rule is drift:any or drift:added|removed|retyped")
    ):
        parse_drift_rules("drift:gone")


def test_a_drift_rule_is_breached_per_target_with_counts() -> None:
    (rule,) = parse_drift_rules("drift:removed")
    comparisons = [drift("a:m", "removed", "added"), drift("b:m", "added"), drift("a:m", "removed")]
    assert rule.breaches(comparisons) == ["drift:removed breached on a:m: 2 removed"]


def test_drift_any_counts_every_kind() -> None:
    (rule,) = parse_drift_rules("drift:any")
    assert rule.breaches([drift("a:m", "retyped", "added")]) == [
        "drift:any breached on a:m: 1 added, 1 retyped"
    ]
    assert rule.breaches([drift("a:m")]) == []
