#!/usr/bin/env python3
"""Write a tiny random-weight llama model as a GGUF file for llama-server.

Why: live tests need a real OpenAI/Anthropic-compatible server, but CI and
developer machines here have no model hub (only package registries), so we
generate the model ourselves. Its weights are random; only the plumbing is
real: a llama architecture, a real tokenizer (copied from one of the
vocab-only GGUF files that ship in llama.cpp's ``models/`` folder) and a
ChatML chat template so both ``/v1/chat/completions`` and ``/v1/messages`` work.

To keep responses readable and make generations end, dimension 0 of the
residual stream is a constant "bias channel": every token embedding has the
value ``BIAS_CHANNEL`` there and no layer writes to it, so column 0 of the
output matrix acts as a per-token logit bias. We use it to
- suppress control/byte/non-printable-ASCII tokens (valid, readable UTF-8 text),
- give EOS a logit that, with llama-server's default sampling, ends a reply
  after a few dozen tokens on average (so both ``stop`` and ``length`` occur).
The same seed always yields a byte-identical file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gguf
import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SUPPRESSED_LOGIT = -30.0  # far below any reachable logit: never sampled
LOGIT_NOISE_STD = 3.0  # spread of the random (context-dependent) logits


def read_vocab(path: Path) -> tuple[dict[str, gguf.ReaderField], list[str], list[int], int]:
    """Return the tokenizer.* fields of a vocab-only GGUF, plus tokens, token types, EOS id."""
    reader = gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    tokens: list[str] = fields["tokenizer.ggml.tokens"].contents()
    types: list[int] = fields["tokenizer.ggml.token_type"].contents()
    eos: int = fields["tokenizer.ggml.eos_token_id"].contents()
    return fields, tokens, types, eos


def logit_bias(tokens: list[str], types: list[int], eos: int, eos_bias: float) -> np.ndarray:
    """Per-token logit bias: 0 for printable-ASCII normal tokens, eos_bias for EOS."""
    bias = np.full(len(tokens), SUPPRESSED_LOGIT, dtype=np.float32)
    for i, (text, ttype) in enumerate(zip(tokens, types)):
        text = text.replace("\u2581", " ")  # SentencePiece marks spaces with U+2581
        if ttype == gguf.TokenType.NORMAL and text.isascii() and text.isprintable():
            bias[i] = 0.0
    bias[eos] = eos_bias
    return bias


def make_model(vocab: Path, out: Path, layers: int, width: int, seed: int,
               eos_bias: float, dtype: str) -> None:
    fields, tokens, types, eos = read_vocab(vocab)
    n_vocab = len(tokens)
    head_dim = min(64, width // 4)
    n_head = width // head_dim
    n_ff = 4 * width
    rng = np.random.default_rng(seed)
    big = np.float16 if dtype == "f16" else np.float32  # norms always stay f32

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(big)

    def no_write_to_bias_channel(w: np.ndarray) -> np.ndarray:
        w[0, :] = 0  # output row 0 = residual dim 0: keeps the bias channel constant
        return w

    # Bias channel sized so it carries ~20% of the residual's energy.
    bias_channel = float(np.sqrt(width / 4))
    # After the final RMSNorm, dim 0 is about bias_channel / rms and the other
    # dims have roughly unit variance; scale column 0 and the rest accordingly.
    rms = np.sqrt((bias_channel**2 + (width - 1)) / width)
    h0 = bias_channel / rms

    embd = rng.standard_normal((n_vocab, width), dtype=np.float32)
    embd[:, 0] = bias_channel
    output = rng.standard_normal((n_vocab, width), dtype=np.float32) * (LOGIT_NOISE_STD / np.sqrt(width - 1))
    output[:, 0] = logit_bias(tokens, types, eos, eos_bias) / h0
    output[eos, 1:] = 0  # EOS logit is (almost) context-free: a steady stop rate

    w = gguf.GGUFWriter(out, "llama")
    w.add_name(f"pytest-llmbench tiny random llama {layers}x{width}")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)
    w.add_context_length(4096)
    w.add_embedding_length(width)
    w.add_block_count(layers)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    for key, field in fields.items():  # copy the tokenizer verbatim
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), field.types[0], sub_type)
    w.add_chat_template(CHATML_TEMPLATE)

    w.add_tensor("token_embd.weight", embd.astype(big))
    w.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    w.add_tensor("output.weight", output.astype(big))
    for i in range(layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(width, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", normal((width, width), 1 / np.sqrt(width)))
        w.add_tensor(p + "attn_k.weight", normal((width, width), 1 / np.sqrt(width)))
        w.add_tensor(p + "attn_v.weight", normal((width, width), 1 / np.sqrt(width)))
        w.add_tensor(p + "attn_output.weight", no_write_to_bias_channel(normal((width, width), 0.5 / np.sqrt(width))))
        w.add_tensor(p + "ffn_norm.weight", np.ones(width, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", normal((n_ff, width), 1 / np.sqrt(width)))
        w.add_tensor(p + "ffn_up.weight", normal((n_ff, width), 1 / np.sqrt(width)))
        w.add_tensor(p + "ffn_down.weight", no_write_to_bias_channel(normal((width, n_ff), 0.5 / np.sqrt(n_ff))))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=Path, required=True, help="vocab-only GGUF, e.g. llama.cpp/models/ggml-vocab-llama-spm.gguf")
    ap.add_argument("--out", type=Path, required=True, help="GGUF file to write")
    ap.add_argument("--layers", type=int, default=2, help="transformer blocks (8 for a more realistic pace)")
    ap.add_argument("--width", type=int, default=64, help="embedding width (512 for a more realistic pace)")
    ap.add_argument("--seed", type=int, default=1234, help="numpy seed; same seed, same file")
    ap.add_argument("--eos-bias", type=float, default=11.0, help="EOS logit; higher ends replies sooner")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32", help="weight type of the big matrices")
    args = ap.parse_args()
    if args.width < 8 or args.width % min(64, args.width // 4):
        ap.error("--width must be at least 8 and a multiple of 4 (of 64 when >= 256)")
    make_model(args.vocab, args.out, args.layers, args.width, args.seed, args.eos_bias, args.dtype)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
