"""SSE decode + stream assembly cost: microseconds per event, and time for one huge event.

Two figures: the per-event cost of decoding ordinary OpenAI chat chunks and assembling the
Completion (the hot path of every stream), and the time to decode one event of N MB fed in
64 KiB chunks (linear in N when the decoder is; quadratic before issue 9's fix).

Reproduce: python -m benchmarks.sse_decode [--events 20000 --repeat 5 --big-mb 2 5 10]
"""

from __future__ import annotations

import argparse
import json
import time

from pytest_llmbench.providers import StreamAssembler
from pytest_llmbench.providers.framing import SSEDecoder
from pytest_llmbench.providers.openai import OpenAIChatCodec


def chat_body(events: int) -> bytes:
    """A synthetic OpenAI chat stream (documented chunk shape) of `events` text deltas."""
    lines = []
    for i in range(events):
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "model": "bench",
            "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
        }
        lines.append(f"data: {json.dumps(chunk)}\n\n")
    final = {
        "id": "chatcmpl-bench",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    lines.append(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n")
    return "".join(lines).encode()


def per_event_us(events: int, repeat: int, chunk_size: int) -> float:
    """Best-of-`repeat` microseconds per event to decode and assemble a chat stream."""
    body = chat_body(events)
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    codec = OpenAIChatCodec()
    best = float("inf")
    for _ in range(repeat):
        decoder = codec.stream_decoder()
        assembler = StreamAssembler()
        start = time.perf_counter()
        for chunk in chunks:
            for event in decoder.feed(chunk):
                assembler.add(event)
        for event in decoder.close():
            assembler.add(event)
        assembler.completion()
        best = min(best, time.perf_counter() - start)
    return best / events * 1e6


def big_event_s(megabytes: float, chunk_size: int = 16384) -> float:
    """Seconds for SSEDecoder to decode one `megabytes` MB data line fed in chunks."""
    body = b"data: " + b"x" * int(megabytes * 1_000_000) + b"\n\n"
    decoder = SSEDecoder()
    start = time.perf_counter()
    for i in range(0, len(body), chunk_size):
        decoder.feed(body[i : i + chunk_size])
    decoder.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-mb", type=float, nargs="*", default=[2.0, 5.0, 10.0])
    args = parser.parse_args()
    one_event = len(chat_body(2)) - len(chat_body(1))  # the bytes of one text-delta event
    for chunk, label in ((one_event, "one event per chunk"), (4096, "4 KiB chunks")):
        cost = per_event_us(args.events, args.repeat, chunk)
        print(f"decode+assemble, {label}: {cost:.2f} us/event")
    for megabytes in args.big_mb:
        print(f"one {megabytes:g} MB event in 16 KiB chunks: {big_event_s(megabytes):.3f} s")
    print(
        f"reproduce: python -m benchmarks.sse_decode --events {args.events} --repeat {args.repeat}"
    )


if __name__ == "__main__":
    main()
