"""Sans-I/O codecs, one module per wire format. `codec_for(kind)` picks one."""

from __future__ import annotations

from pytest_llmbench import kinds
from pytest_llmbench.providers.base import Codec, StreamAssembler, StreamDecoder

_instances: dict[str, Codec] = {}


def codec_for(kind: str) -> Codec:
    """The codec of a wire format (one of `pytest_llmbench.kinds.KINDS`)."""
    if kind not in _instances:
        _instances[kind] = kinds.load(kind, "codec")()
    return _instances[kind]


__all__ = ["Codec", "StreamAssembler", "StreamDecoder", "codec_for"]
