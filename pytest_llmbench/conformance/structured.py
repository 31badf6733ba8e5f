"""Conformance checks on structured output: answers constrained by a JSON schema.

The schemas keep to what every provider's strict mode accepts: all properties required,
`additionalProperties: false`, and string values constrained by `enum` where the check
depends on them.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import check
from pytest_llmbench.types import Completion, Request

__all__ = [
    "test_json_schema_answer_finishes_with_stop",
    "test_json_schema_array_of_integers_validates",
    "test_json_schema_enum_value_is_one_of_the_enum",
    "test_json_schema_nested_object_validates",
    "test_json_schema_output_parses",
    "test_json_schema_streamed_output_parses",
    "test_json_schema_unicode_values_round_trip",
]

NEEDS = ["json_schema"]
COLORS = ["red", "green", "blue"]
GREETINGS = ["Grüß Gott", "こんにちは", "¡Hola! 👋", "Привет"]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _ask(prompt: str, schema: dict[str, Any], name: str, **fields: Any) -> Request:
    return Request.model_validate(
        {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 200,
            "temperature": 0,
            "response_schema": schema,
            "response_schema_name": name,
            **fields,
        }
    )


def _parsed(completion: Completion) -> dict[str, Any]:
    assert completion.finish_reason == "stop", (
        f"finish {completion.raw_finish_reason!r}: the JSON may be cut short: "
        f"{completion.text[-80:]!r}"
    )
    data = json.loads(completion.text)
    assert isinstance(data, dict), f"not a JSON object: {completion.text[:80]!r}"
    return data


@check("structured output", needs=NEEDS)
async def test_json_schema_output_parses(llm: LLMClient) -> None:
    schema = _object({"city": {"type": "string"}})
    completion = await llm.complete(_ask("Name a city in France as JSON.", schema, "city"))
    data = _parsed(completion)
    assert set(data) == {"city"} and isinstance(data["city"], str), data


@check("structured output", needs=NEEDS)
async def test_json_schema_nested_object_validates(llm: LLMClient) -> None:
    schema = _object(
        {
            "name": {"type": "string", "enum": ["Ada", "Grace", "Alan"]},
            "address": _object({"city": {"type": "string"}, "floor": {"type": "integer"}}),
        }
    )
    data = _parsed(await llm.complete(_ask("A person and their address.", schema, "person")))
    assert set(data) == {"name", "address"}, data
    assert data["name"] in ("Ada", "Grace", "Alan")
    address = data["address"]
    assert isinstance(address, dict) and set(address) == {"city", "floor"}, address
    assert isinstance(address["city"], str)
    assert isinstance(address["floor"], int) and not isinstance(address["floor"], bool)


@check("structured output", needs=NEEDS)
async def test_json_schema_enum_value_is_one_of_the_enum(llm: LLMClient) -> None:
    schema = _object({"color": {"type": "string", "enum": COLORS}})
    data = _parsed(await llm.complete(_ask("Pick a color.", schema, "color")))
    assert data == {"color": data.get("color")} and data["color"] in COLORS, data


@check("structured output", needs=NEEDS)
async def test_json_schema_array_of_integers_validates(llm: LLMClient) -> None:
    schema = _object({"primes": {"type": "array", "items": {"type": "integer"}}})
    data = _parsed(await llm.complete(_ask("List the primes below 10.", schema, "primes")))
    primes = data["primes"]
    assert isinstance(primes, list), data
    assert all(isinstance(p, int) and not isinstance(p, bool) for p in primes), primes


@check("structured output", needs=NEEDS)
async def test_json_schema_unicode_values_round_trip(llm: LLMClient) -> None:
    schema = _object({"greeting": {"type": "string", "enum": GREETINGS}})
    completion = await llm.complete(_ask("Greet me in any language.", schema, "greeting"))
    data = _parsed(completion)
    assert data["greeting"] in GREETINGS, f"greeting {data['greeting']!r} is not in the enum"


@check("structured output", needs=[*NEEDS, "streaming"])
async def test_json_schema_streamed_output_parses(llm: LLMClient) -> None:
    schema = _object({"color": {"type": "string", "enum": COLORS}, "count": {"type": "integer"}})
    request = _ask("A color and a count.", schema, "palette", stream=True)
    data = _parsed(await llm.complete(request))
    assert data["color"] in COLORS and isinstance(data["count"], int), data


@check("structured output", needs=NEEDS)
async def test_json_schema_answer_finishes_with_stop(llm: LLMClient) -> None:
    schema = _object({"answer": {"type": "boolean"}})
    completion = await llm.complete(_ask("Is the sea salty?", schema, "verdict"))
    assert completion.finish_reason == "stop", completion.raw_finish_reason
    assert completion.raw_finish_reason, "the provider sent no stop reason"
    assert json.loads(completion.text) in ({"answer": True}, {"answer": False})
