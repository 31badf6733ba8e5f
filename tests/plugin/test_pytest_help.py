"""`pytest --help` works with the plugin installed and shows its options."""

from __future__ import annotations

import pytest


def test_pytest_help_lists_the_llm_options(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--help")
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(["*--llm-fail=RULES*", '*"ttft.p95:+20%,error_rate:>1%"*'])
