"""The transport stack beneath every httpx client: network, timing (and later replay/record/mock).

Behaviour is added by wrapping a transport, never by patching, so an official SDK given an
httpx client on this stack is timed, recorded and replayed like our own client.
"""

from __future__ import annotations

from pytest_llmbench.transport.network import build_http_client, network_transport
from pytest_llmbench.transport.timing import TIMING_KEY, ResponseTiming, TimingTransport

__all__ = [
    "TIMING_KEY",
    "ResponseTiming",
    "TimingTransport",
    "build_http_client",
    "network_transport",
]
