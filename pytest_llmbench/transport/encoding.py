"""Undoing Content-Encoding (gzip, deflate, brotli) on timed chunks, outside httpx.

Transports below httpx see bodies as sent; recording stores them decoded and the SDK metrics
observer reads usage from them, so both undo the coding here, chunk by chunk.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any


class _Decoder:
    """Undoes one content coding incrementally."""

    def decode(self, data: bytes) -> bytes:
        raise NotImplementedError

    def flush(self) -> bytes:
        return b""


class _GzipDecoder(_Decoder):
    def __init__(self) -> None:
        self._inner = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> bytes:
        return self._inner.decompress(data)

    def flush(self) -> bytes:
        return self._inner.flush()


class _DeflateDecoder(_Decoder):
    # "deflate" is zlib-wrapped by the standard and raw from some servers: try the first and
    # fall back on the first chunk, as httpx does.
    def __init__(self) -> None:
        self._inner = zlib.decompressobj()
        self._first = True

    def decode(self, data: bytes) -> bytes:
        if self._first and data:
            self._first = False
            try:
                return self._inner.decompress(data)
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inner.decompress(data)

    def flush(self) -> bytes:
        return self._inner.flush()


class _BrotliDecoder(_Decoder):
    def __init__(self, brotli: Any) -> None:
        self._inner = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data))


def _decoder(name: str) -> _Decoder | None:
    if name in ("gzip", "x-gzip"):
        return _GzipDecoder()
    if name == "deflate":
        return _DeflateDecoder()
    if name == "br":
        try:
            # Optional dependency, untyped; httpx decodes brotli only when it is installed too.
            return _BrotliDecoder(importlib.import_module("brotli"))
        except ImportError:
            return None
    return None


def decode_chunks(
    chunks: list[tuple[int, bytes]], content_encoding: list[str]
) -> list[tuple[int, bytes]] | None:
    """The chunks with Content-Encoding undone, each keeping its arrival; None if impossible.

    A compressed chunk may decode to nothing (the decoder waits for more); its bytes then
    belong to a later chunk, as they would for a client decoding as it reads.
    """
    names = [name.strip().lower() for value in content_encoding for name in value.split(",")]
    names = [name for name in names if name and name != "identity"]
    if not names:
        return chunks
    pipeline: list[_Decoder] = []
    for name in reversed(names):  # the last coding applied is undone first
        decoder = _decoder(name)
        if decoder is None:
            return None
        pipeline.append(decoder)
    out: list[tuple[int, bytes]] = []
    try:
        for at, chunk in chunks:
            data = chunk
            for decoder in pipeline:
                data = decoder.decode(data)
            if data:
                out.append((at, data))
        tail = b""
        for decoder in pipeline:
            tail = (decoder.decode(tail) if tail else b"") + decoder.flush()
    except Exception:
        # Whatever a decoder rejects (zlib.error, brotli.error) is stored as sent.
        return None
    if tail:
        if out:
            out[-1] = (out[-1][0], out[-1][1] + tail)
        else:
            out.append((chunks[-1][0], tail))
    return out
