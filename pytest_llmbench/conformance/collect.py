"""`--llm-conformance`: run the built-in checks without a test module of the user's, and tell
conformance checks (the matrix rows) from ordinary tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.conformance.check import MARKER

OPTION = "--llm-conformance"
# The suite's modules, in the order the matrix lists their checks.
THEMES = (
    "answers",
    "streaming",
    "parameters",
    "messages",
    "tools",
    "structured",
    "errors",
    "vision",
)
SUITE_FILES = tuple(Path(__file__).with_name(f"{theme}.py") for theme in THEMES)
# The suite's node ids start here, wherever the package is installed.
NODE_PREFIX = "llmbench-conformance"
MARKER_HELP = (
    f"{MARKER}(theme): a conformance check; its outcomes fill the conformance matrix "
    "(rows grouped by theme)"
)


def add_option(group: pytest.OptionGroup) -> None:
    """Register --llm-conformance in the plugin's option group."""
    group.addoption(
        OPTION,
        action="store_true",
        help="run the built-in conformance suite against the selected providers "
        "(alone, or with the test paths given; combine with -k, -m, --llm-provider)",
    )


def configure(config: pytest.Config) -> None:
    """Mark known deviations as expected failures; with --llm-conformance, collect the suite:
    only it when no test paths were given (not the rootdir or testpaths), besides them when
    some were."""
    config.pluginmanager.register(ExpectedFailures(), "llmbench-conformance-xfail")
    if not config.getoption("llm_conformance"):
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []
    config.pluginmanager.register(SuiteCollector(), "llmbench-conformance-suite")


class SuiteCollector:
    """Adds the suite's checks to the collected items, before any other plugin (the -k and
    -m selection, the llmbench provider selection) looks at them. Registered after the
    llmbench plugin, so it runs first among the `tryfirst` implementations."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        add_suite(session, items)


class ExpectedFailures:
    """Per provider:model marks on conformance checks: a skip where the check does not apply
    (decided here, before any fixture, so replays need no cassette for it), and strict xfail
    for the checks a model's `conformance_xfail` (models.toml) names: the known deviation
    does not fail the run, and its fix (an XPASS) does."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            skip = not_applicable(item)
            if skip is not None:
                item.add_marker(pytest.mark.skip(reason=skip))
            reason = expected_failure(item)
            if reason is not None:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def not_applicable(item: pytest.Item) -> str | None:
    """Why this conformance check does not apply to its target, if it does not."""
    marker = item.get_closest_marker(MARKER)
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("llm_target") if callspec is not None else None
    applies = marker.kwargs.get("applies") if marker is not None else None
    if target is None or applies is None:
        return None
    reason = applies(target.provider, target.model)
    return f"{target.id}: {reason}" if reason else None


def expected_failure(item: pytest.Item) -> str | None:
    """Why this conformance check is expected to fail on its target, if it is."""
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("llm_target") if callspec is not None else None
    if target is None or check_theme(item) is None:
        return None
    name = getattr(item, "originalname", item.name)
    reason = getattr(target.model, "conformance_xfail", {}).get(name)
    return f"known deviation of {target.id}: {reason}" if reason else None


def add_suite(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Append the suite's checks to `items`.

    The modules are collected from the installed package under stable node ids
    (`llmbench-conformance/answers.py::...`), not as paths: the package's folder is not part
    of the user's project (its conftests must not load). Each xdist worker parses the same
    command line and so collects the same items.
    """
    for path in SUITE_FILES:
        module = pytest.Module.from_parent(session, path=path, nodeid=f"{NODE_PREFIX}/{path.name}")
        checks = list(_items(module))
        # Reported like any collected module, so "collected N items" counts the checks.
        report = pytest.CollectReport(module.nodeid, "passed", None, [*checks])
        session.ihook.pytest_collectreport(report=report)
        items.extend(checks)


def _items(collector: pytest.Collector) -> Iterator[pytest.Item]:
    for node in collector.collect():
        if isinstance(node, pytest.Item):
            yield node
        else:
            assert isinstance(node, pytest.Collector)
            yield from _items(node)


def check_theme(item: pytest.Item) -> str | None:
    """The theme of a conformance check, or None for an ordinary test."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    return str(marker.args[0]) if marker.args else "checks"
