"""Provider-neutral request, completion and stream types.

Every codec translates between these and one wire format; tests, reports and the CLI only
ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pytest_llmbench.metrics import RequestMetrics

if TYPE_CHECKING:
    from pytest_llmbench.errors import ProviderError

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


class ToolCall(BaseModel):
    """A function call the model asked for, with its arguments parsed from JSON."""

    id: str = ""
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = ""
    # An opaque token the provider wants back with this call in the next turn (Gemini's
    # thought signature); None when the provider sent none.
    signature: str | None = None


class Message(BaseModel):
    """One chat message. `content` is text, or a list of provider-style parts (images)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | list[dict[str, Any]] = ""
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The message's text, whatever the content shape."""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class ToolSpec(BaseModel):
    """A function the model may call; `parameters` is a JSON schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Request(BaseModel):
    """What to ask a model, independent of the wire format.

    `extra` is merged into the provider's JSON body last, for fields this type does not name.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] = Field(default_factory=list)
    stream: bool = False
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] | None = None
    response_schema: dict[str, Any] | None = None
    response_schema_name: str = "response"
    seed: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def system(self) -> str | None:
        """All system messages joined, for wire formats that take the system prompt apart."""
        parts = [m.text for m in self.messages if m.role == "system"]
        return "\n\n".join(parts) if parts else None

    @property
    def conversation(self) -> list[Message]:
        """The messages that are not system messages."""
        return [m for m in self.messages if m.role != "system"]


class Usage(BaseModel):
    """Token counts as the server reported them (or estimated: see RequestMetrics)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Completion(BaseModel):
    """One finished answer: text, tool calls, why it stopped, usage, and how long it took."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str = ""
    model: str = ""
    text: str = ""
    reasoning: str = ""
    refusal: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: FinishReason = "other"
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    metrics: RequestMetrics = Field(default_factory=RequestMetrics)
    raw: Any = None


EventType = Literal[
    "start", "text", "reasoning", "refusal", "tool_call", "usage", "finish", "error", "keepalive"
]
OUTPUT_EVENT_TYPES = frozenset({"text", "reasoning", "refusal", "tool_call"})


# A dataclass, not a pydantic model: thousands are built per second in the stream loop,
# and pydantic validation per event was the largest cost there.
@dataclass(slots=True)
class StreamEvent:
    """One decoded piece of a stream.

    `type` says which fields are set: `text` for text/reasoning/refusal deltas; `index`, `id`,
    `name` and `text` (the arguments fragment) for tool-call deltas; `usage`; `finish_reason`
    with `raw_finish_reason`; `error`. `start` carries the response `id` and `model`.
    `arrival_ns` is stamped by the client: the arrival of the chunk that completed the event.
    """

    type: EventType
    text: str = ""
    index: int = 0
    id: str = ""
    name: str = ""
    model: str = ""
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    error: ProviderError | None = None
    signature: str = ""
    arrival_ns: int | None = field(default=None, compare=False)

    @property
    def is_output(self) -> bool:
        """True for events that carry generated output (what TTFT and ITL are measured on)."""
        if self.type == "tool_call":
            return bool(self.text or self.name)
        return self.type in OUTPUT_EVENT_TYPES and bool(self.text)
