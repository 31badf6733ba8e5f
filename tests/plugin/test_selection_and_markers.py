"""Options, markers and parametrization over providers and models, in real pytest sessions."""

from __future__ import annotations

import pytest

IDS_TEST = """
import pytest

@pytest.mark.mocked
def test_hello(llm):
    assert llm.model.id
"""


def collected_ids(result: pytest.RunResult) -> list[str]:
    return sorted(line.split("::")[-1] for line in result.outlines if "::test_" in line)


def test_tests_using_llm_are_parametrized_over_default_models(project: pytest.Pytester) -> None:
    project.makepyfile(IDS_TEST)
    result = project.runpytest("--collect-only", "-q")
    assert collected_ids(result) == [
        "test_hello[anthropic:claude-a]",
        "test_hello[local:tiny]",
        "test_hello[openai:gpt-a]",
    ]


def test_provider_option_is_repeatable_and_comma_separated(project: pytest.Pytester) -> None:
    project.makepyfile(IDS_TEST)
    result = project.runpytest("--collect-only", "-q", "--llm-provider=openai,local")
    assert collected_ids(result) == ["test_hello[local:tiny]", "test_hello[openai:gpt-a]"]
    result = project.runpytest(
        "--collect-only", "-q", "--llm-provider", "anthropic", "--llm-provider", "local"
    )
    assert collected_ids(result) == ["test_hello[anthropic:claude-a]", "test_hello[local:tiny]"]


def test_model_option_picks_models(project: pytest.Pytester) -> None:
    project.makepyfile(IDS_TEST)
    result = project.runpytest(
        "--collect-only", "-q", "--llm-model=gpt-b", "--llm-model=local:tiny"
    )
    assert collected_ids(result) == ["test_hello[local:tiny]", "test_hello[openai:gpt-b]"]


def test_unknown_provider_is_a_usage_error_listing_known(project: pytest.Pytester) -> None:
    project.makepyfile(IDS_TEST)
    result = project.runpytest("--llm-provider=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-provider nope: not in *models.toml; known providers: openai, anthropic, local*"]
    )


def test_unknown_model_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(IDS_TEST)
    result = project.runpytest("--llm-model=gpt-z")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-model gpt-z: no selected provider has it; known: *openai:gpt-a*"]
    )


def test_llm_marker_restricts_providers_and_models(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.mocked
        @pytest.mark.llm(providers=["openai"], models=["gpt-a", "gpt-b"])
        def test_two(llm):
            pass
        """
    )
    result = project.runpytest("--collect-only", "-q")
    assert collected_ids(result) == ["test_two[openai:gpt-a]", "test_two[openai:gpt-b]"]


def test_models_lacking_a_needed_capability_are_skipped_with_reason(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.mocked
        @pytest.mark.llm(needs=["tools"])
        def test_tools(llm):
            pass
        """
    )
    result = project.runpytest("-rs", "--llm-provider=openai,anthropic")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*anthropic:claude-a lacks tools*"])


def test_markers_are_registered_for_strict_markers(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.live
        def test_a(): pass

        @pytest.mark.mocked
        def test_b(): pass

        @pytest.mark.llm(providers=["local"])
        def test_c(): pass
        """
    )
    project.runpytest("--strict-markers").assert_outcomes(passed=3)
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.live:*", "@pytest.mark.mocked:*", "@pytest.mark.llm(*"]
    )


MIXED = """
import pytest

@pytest.mark.mocked
def test_mocked(llm):
    pass

def test_implicitly_live(llm):
    pass

@pytest.mark.llm(providers=["openai"])
def test_marked_llm_only():
    pass

@pytest.mark.live
def test_explicitly_live(llm):
    pass

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "live",
            [
                "test_explicitly_live[openai:gpt-a]",
                "test_implicitly_live[openai:gpt-a]",
                "test_marked_llm_only",
            ],
        ),
        ("mocked", ["test_mocked[openai:gpt-a]"]),
        ("not live", ["test_mocked[openai:gpt-a]", "test_plain"]),
    ],
)
def test_marker_expressions_select_tests(
    project: pytest.Pytester, expression: str, expected: list[str]
) -> None:
    project.makepyfile(MIXED)
    result = project.runpytest("--collect-only", "-q", "--llm-provider=openai", "-m", expression)
    assert collected_ids(result) == expected


def test_provider_fixture_uses_the_default_model_and_follows_selection(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.mocked
        def test_openai(openai):
            assert openai.model.id == "gpt-a"

        @pytest.mark.mocked
        def test_local(local):
            assert local.model.id == "tiny"
        """
    )
    project.runpytest().assert_outcomes(passed=2)
    result = project.runpytest("--llm-provider=local", "-v")
    result.assert_outcomes(passed=1, deselected=1)


def test_llm_list_shows_models_and_credential_state_but_no_values(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_OPENAI_KEY", "canary-listing-secret-value-123456789")
    result = project.runpytest("--llm-list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "openai [[]openai[]] https://api.openai.com/v1  (LLMBENCH_OPENAI_KEY: set)",
            "*openai:gpt-a (default)*context 128,000*$1/$2 per Mtok*[[]streaming,tools,system[]]",
            "anthropic [[]anthropic[]] *(LLMBENCH_ANTHROPIC_KEY is not set)",
            "local *(no key needed)",
        ]
    )
    assert "canary-listing-secret" not in result.stdout.str()


def test_invalid_config_is_a_usage_error_naming_file_and_field(project: pytest.Pytester) -> None:
    project.makefile(".toml", models="[providers.x]\nkind = 'nope'\n")
    project.makepyfile(IDS_TEST)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*invalid config file *models.toml:*", "*providers.x.kind: found 'nope'*"]
    )


def test_explicit_missing_config_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--llm-config=nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*invalid config file nope.toml:", "*file not found; create it or pass --llm-config PATH"]
    )


def test_project_without_config_runs_its_other_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    pytester.runpytest().assert_outcomes(passed=1)


def test_project_without_config_errors_only_when_llm_is_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(IDS_TEST)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*llmbench: no config file *models.toml*"])
    assert result.ret != 0
