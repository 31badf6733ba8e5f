"""Conformance checks on image input, for models with the `vision` capability."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import check, usage_of
from pytest_llmbench.types import Message, Request

__all__ = [
    "test_image_counts_as_input_tokens",
    "test_image_input_is_answered",
]

NEEDS = ["vision"]


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG, built here so the suite ships no binary file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _image_part(kind: str, png: bytes) -> dict[str, Any]:
    """The image as a content part: Anthropic's own block, else the OpenAI data-URL part
    (which the Responses, Gemini and Bedrock codecs convert)."""
    data = base64.b64encode(png).decode()
    if kind == "anthropic":
        source = {"type": "base64", "media_type": "image/png", "data": data}
        return {"type": "image", "source": source}
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def _with_image(llm: LLMClient, question: str) -> Request:
    content = [
        _image_part(llm.provider.kind, _png(64, 64, (200, 30, 30))),
        {"type": "text", "text": question},
    ]
    return Request(messages=[Message(role="user", content=content)], max_tokens=16, temperature=0)


@check("vision", needs=NEEDS)
async def test_image_input_is_answered(llm: LLMClient) -> None:
    completion = await llm.complete(_with_image(llm, "What colour is this image?"))
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert completion.text.strip(), "no answer about the image"


@check("vision", needs=NEEDS)
async def test_image_counts_as_input_tokens(llm: LLMClient) -> None:
    question = "What colour is this image?"
    with_image = await llm.complete(_with_image(llm, question))
    text_only = await llm.complete(
        Request(messages=[Message(role="user", content=question)], max_tokens=16, temperature=0)
    )
    assert usage_of(with_image)[0] > usage_of(text_only)[0], "the image cost no input tokens"
