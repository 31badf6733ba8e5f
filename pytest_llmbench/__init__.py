"""pytest-llmbench: LLM provider conformance and latency testing in pytest."""

from __future__ import annotations

from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import Config, ModelConfig, ProviderConfig, load_config
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.types import (
    Completion,
    Message,
    Request,
    StreamEvent,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "Completion",
    "Config",
    "LLMClient",
    "Message",
    "ModelConfig",
    "ProviderConfig",
    "Request",
    "RequestMetrics",
    "StreamEvent",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "load_config",
]
