"""The JSON report: `Results` as versioned JSON (docs/report-schema.md), and reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pytest_llmbench.files import write_text_atomically
from pytest_llmbench.reports.conformance import conformance_section
from pytest_llmbench.results import SCHEMA_VERSION, Results


class ReportFormatError(ValueError):
    """A results file that is not valid JSON, has another schema version, or a bad field."""


def render_json(results: Results) -> str:
    """`results` as the text `write_json` writes (indented, one trailing newline).

    Non-finite floats (an infinite rate, say) become null, so the text is strict JSON.
    The `conformance` section is derived from `outcomes` (reading the file back ignores it).
    """
    data = json.loads(results.model_dump_json())
    data["conformance"] = conformance_section(results.outcomes)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path | str, results: Results) -> None:
    """Write `results` as JSON (indented, UTF-8), replacing `path` atomically."""
    write_text_atomically(path, render_json(results))


def read_json(path: Path | str) -> Results:
    """Read a file written by `write_json`.

    Raises ReportFormatError, naming the file and the offending field, when the file is not
    JSON, was written under another schema version, or does not match the schema.
    """
    source = Path(path)
    text = source.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFormatError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ReportFormatError(
            f"{source}: expected a JSON object with schema_version, meta, runs and outcomes, "
            f"found {type(data).__name__}"
        )
    _check_schema_version(source, data)
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        raise ReportFormatError(f"{source}: {_describe(exc)}") from None


def _check_schema_version(source: Path, data: dict[str, Any]) -> None:
    if "schema_version" not in data:
        raise ReportFormatError(
            f"{source}: field schema_version is missing; not a pytest-llmbench results file"
        )
    version = data["schema_version"]
    if version == SCHEMA_VERSION and not isinstance(version, bool):
        return
    if isinstance(version, int) and not isinstance(version, bool):
        age = "an older" if version < SCHEMA_VERSION else "a newer"
        raise ReportFormatError(
            f"{source}: field schema_version is {version}, written by {age} pytest-llmbench; "
            f"this version reads schema_version {SCHEMA_VERSION} only. "
            "Re-create the file with this version (e.g. re-run with --llm-report)."
        )
    raise ReportFormatError(
        f"{source}: field schema_version must be the integer {SCHEMA_VERSION}, found {version!r}"
    )


def _describe(exc: ValidationError) -> str:
    """The first few validation errors as `field a.b[0].c: message (got ...)`."""
    lines = []
    errors = exc.errors(include_url=False)
    for error in errors[:3]:
        where = _location(error["loc"])
        got = f" (got {error['input']!r})" if error["type"] != "missing" else ""
        lines.append(f"field {where}: {error['msg']}{got}")
    if len(errors) > 3:
        lines.append(f"... and {len(errors) - 3} more invalid fields")
    return "; ".join(lines)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"
