"""`--llm-conformance`: run the built-in checks without a test module of the user's, and tell
conformance checks (the matrix rows) from ordinary tests."""

from __future__ import annotations

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


def add_suite(config: pytest.Config) -> None:
    """With --llm-conformance, collect the suite's modules: instead of the default test paths
    when none were given, besides them when some were.

    Each xdist worker parses the same command line and so collects the same items.
    """
    if not config.getoption("llm_conformance"):
        return
    suite = [str(path) for path in SUITE_FILES]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *(path for path in suite if path not in config.args)]
    else:
        config.args = suite


def check_theme(item: pytest.Item) -> str | None:
    """The theme of a conformance check, or None for an ordinary test."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    return str(marker.args[0]) if marker.args else "checks"
