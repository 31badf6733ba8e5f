"""models.toml: providers, their models, prices and limits.

`load_config(path)` parses and validates the file; every problem is reported in one
`ConfigError` naming the file, the TOML path of the field, what was found and what is expected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pytest_llmbench import secrets
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.kinds import Kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

Capability = Literal["streaming", "tools", "json_schema", "vision", "system", "named_tool_choice"]
ALL_CAPABILITIES: tuple[Capability, ...] = (
    "streaming",
    "tools",
    "json_schema",
    "vision",
    "system",
    "named_tool_choice",
)


class ConfigError(LLMBenchError):
    """models.toml is missing or invalid. `problems` lists one line per bad field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid config file {self.path}:\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """One model of a provider."""

    id: str = Field(min_length=1)
    context_window: int = Field(gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    # USD per million tokens; leave both out when unknown (costs are then reported unknown).
    input_per_mtok: float | None = Field(default=None, ge=0)
    output_per_mtok: float | None = Field(default=None, ge=0)
    capabilities: tuple[Capability, ...] = ("streaming", "system")
    default: bool = False
    deployment: str | None = None  # Azure: the deployment serving this model
    # Conformance checks known to fail on this model: check name -> why (run as strict xfail).
    conformance_xfail: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _both_prices_or_neither(self) -> ModelConfig:
        if (self.input_per_mtok is None) != (self.output_per_mtok is None):
            given, other = (
                ("input_per_mtok", "output_per_mtok")
                if self.output_per_mtok is None
                else ("output_per_mtok", "input_per_mtok")
            )
            raise ValueError(
                f"{other}: missing; {given} is set, so give both prices (0 for free) or neither"
            )
        return self

    @property
    def priced(self) -> bool:
        """Whether models.toml gives this model's prices (else its costs are unknown)."""
        return self.input_per_mtok is not None and self.output_per_mtok is not None

    @property
    def price_label(self) -> str:
        """`$in/$out per Mtok`, or that the prices are not configured."""
        if self.input_per_mtok is None or self.output_per_mtok is None:
            return "no prices"
        return f"${self.input_per_mtok:g}/${self.output_per_mtok:g} per Mtok"

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities


class ProviderConfig(_Strict):
    """One configured endpoint: a wire format, where it lives, how to authenticate, limits."""

    name: str = ""
    kind: Kind
    base_url: str = Field(min_length=1)
    api_key_env: str | None = None
    api_version: str | None = None  # Azure OpenAI: selects the deployment URL scheme
    region: str | None = None  # Bedrock
    profile: str | None = None  # Bedrock: AWS profile name
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=600.0, gt=0)  # total, per attempt
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)  # the longest silence between chunks
    max_retries: int = Field(default=2, ge=0)
    max_event_bytes: int = Field(default=16 * 2**20, gt=0)  # one stream event, at most
    max_error_body_bytes: int = Field(default=2**20, gt=0)  # read of an error body, at most
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    proxy: str | None = None
    prices_read: str | None = None  # the date the prices were read from the provider
    models: tuple[ModelConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_model_ids(self) -> ProviderConfig:
        seen: set[str] = set()
        for index, model in enumerate(self.models):
            if model.id in seen:
                raise ValueError(
                    f"models[{index}].id: duplicate model {model.id!r}; each id may appear once"
                )
            seen.add(model.id)
        return self

    @property
    def is_azure(self) -> bool:
        return self.kind == "openai" and self.api_version is not None

    def model(self, model_id: str | None = None) -> ModelConfig:
        """The model with that id, or the default one (first `default = true`, else the first)."""
        if model_id is None:
            return next((m for m in self.models if m.default), self.models[0])
        for model in self.models:
            if model.id == model_id:
                return model
        known = ", ".join(m.id for m in self.models)
        raise KeyError(f"provider {self.name!r} has no model {model_id!r} (known: {known})")

    def default_models(self) -> list[ModelConfig]:
        return [m for m in self.models if m.default] or [self.models[0]]

    def api_key(self) -> str | None:
        """The API key from the environment (registered for redaction), or None."""
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env) or None
        secrets.register(self.api_key_env, value)
        return value


class Config(_Strict):
    """The whole models.toml."""

    providers: dict[str, ProviderConfig]
    path: str = ""

    @model_validator(mode="before")
    @classmethod
    def _name_providers(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("providers"), dict):
            data = dict(data)
            data["providers"] = {
                name: ({**body, "name": name} if isinstance(body, dict) else body)
                for name, body in data["providers"].items()
            }
        return data

    def provider(self, name: str) -> ProviderConfig:
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(self.providers) or "none"
            raise KeyError(
                f"no provider {name!r} in {self.path or 'models.toml'} (known: {known})"
            ) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a models.toml. Raises ConfigError naming the file and every bad field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, ["file not found; create it or pass --llm-config PATH"]) from None
    except OSError as exc:
        raise ConfigError(file, [f"cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, [f"not valid TOML: {exc}"]) from None
    if "path" in data:
        raise ConfigError(file, ["path: unknown key; top-level keys are: providers"])
    try:
        return Config.model_validate({**data, "path": str(file)})
    except ValidationError as exc:
        errors = _without_echoes(exc.errors())
        raise ConfigError(file, [_describe(error) for error in errors]) from None


def _without_echoes(errors: list[Any]) -> list[Any]:
    """Drop pydantic's "too short" on a list whose items were already reported as invalid:
    the list is not short, its items failed (one problem, said once)."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        error
        for error in errors
        if error["type"] != "too_short"
        or not any(
            len(loc) > len(error["loc"]) and loc[: len(error["loc"])] == tuple(error["loc"])
            for loc in locs
        )
    ]


def _toml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-after["):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


_FIELDS = {
    "providers": "providers",
    "provider": ", ".join(sorted(f for f in ProviderConfig.model_fields if f != "name")),
    "model": ", ".join(sorted(ModelConfig.model_fields)),
}


def _describe(error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    path = _toml_path(loc)
    found = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        scope = "model" if "models" in loc else "provider" if len(loc) > 2 else "providers"
        return f"{path}: unknown key; known keys here are: {_FIELDS[scope]}"
    if kind == "too_short":
        return f"{path}: empty; at least one entry is required"
    if kind == "missing":
        return f"{path}: missing; this field is required"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{path}.{message}" if path else message
    return f"{path}: found {found!r}; expected {_expected(error)}"


def _expected(error: Any) -> str:
    msg = str(error["msg"])
    return msg[len("Input should be ") :] if msg.startswith("Input should be ") else msg
