#!/usr/bin/env python3
"""Write a tiny random-weight llama model as a GGUF file for llama-server.

Why: live tests need a real OpenAI/Anthropic-compatible server, but CI and
developer machines here have no model hub (only package registries), so we
generate the model ourselves. Its weights are random; only the plumbing is
real: a llama architecture, a real tokenizer (copied from one of the
vocab-only GGUF files that ship in llama.cpp's ``models/`` folder) and a
ChatML chat template so both ``/v1/chat/completions`` and ``/v1/messages`` work.

Tool calls and JSON-schema output (llama-server ``--jinja``) need two more things:
- The template is Hermes-style (tools listed in the system turn, calls written as
  ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``), a shape llama.cpp's
  template analyser turns into a tool-call grammar and parser. No newline follows the
  opening tag: the grammar then has to continue a call once the tag is out.
- The tokenizer must tokenize the template's markers the way the grammar sampler
  replays them: the ChatML markers are added as control tokens (as fine-tunes that
  adopt ChatML do), and no space is prefixed after a special token, so the pieces of
  the generation prompt ``<|im_start|>assistant\n`` spell it exactly. Without these the
  grammar rejects its own prompt and llama-server answers "Failed to initialize samplers".

Two tweaks keep replies readable and make them end:
- Dimension 0 of the residual stream is a constant "bias channel" (set in every
  token embedding, never written by a layer), so column 0 of the output matrix
  is a per-token logit bias. It suppresses control, byte and non-printable-ASCII
  tokens: replies are plain ASCII text.
- EOS has no bias but a wider random logit than the other tokens, sized so that
  EOS is the most likely token at about ``--stop-rate`` of the positions. That
  ratio does not depend on width, depth or context, so every model size stops
  after roughly 1/stop-rate tokens (greedy; a bit sooner when sampling). The
  newline that ends the ChatML generation prompt points away from EOS, so a
  reply never starts with EOS (never comes back empty).
- The double-quote tokens get a wider logit spread too (``--quote-rate``), so that
  inside grammar-constrained JSON a string closes after a few tokens instead of
  running to max_tokens: output is valid by construction and also short.
- ``<tool_call>`` is what the newline ending the generation prompt points to (besides
  away from EOS), and gets a wider spread too (``--tool-call-rate``): llama.cpp's
  grammar for a required tool call lets the model write text until it opens a call,
  which a random model would never do. So a reply with tools offered opens with a call
  (the model decides to call, in effect; tool_choice "none" is honoured by the server
  masking it), and a plain reply starts with the tag as text.
- The template writes one call per assistant turn (as older tool-use models do), so
  llama.cpp finds no parallel tool calls and its grammar ends the reply after a call.
The same seed always yields a byte-identical file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import NormalDist

import gguf
import numpy as np

# Hermes-style ChatML with tools: our own wording of the widely used format.
CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] + '\\n\\n' }}
    {%- endif %}
    {{- '# Tools\\n\\nYou may call functions. Signatures in <tools></tools>:\\n<tools>' }}
    {%- for tool in tools %}
        {{- '\\n' + (tool | tojson) }}
    {%- endfor %}
    {{- '\\n</tools>\\n\\nFor each call, answer in <tool_call></tool_call> tags:\\n' }}
    {{- '<tool_call>{"name": <function-name>, "arguments": <args-json-object>}</tool_call>' }}
    {{- '<|im_end|>\\n' }}
{%- elif messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' and not message.tool_calls %}
        {{- '<|im_start|>assistant\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0] %}
        {%- if tool_call.function is defined %}
            {%- set tool_call = tool_call.function %}
        {%- endif %}
        {{- '\\n<tool_call>{"name": "' + tool_call.name + '", "arguments": ' }}
        {{- tool_call.arguments | tojson }}
        {{- '}</tool_call>' }}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""
# Tokens the vocabulary lacks and the template writes: ChatML's turn markers are control
# tokens (never sampled as text), the tool tags user-defined ones (text that tokenizes whole).
ADDED_TOKENS = (
    ("<|im_start|>", gguf.TokenType.CONTROL),
    ("<|im_end|>", gguf.TokenType.CONTROL),
    ("<tool_call>", gguf.TokenType.USER_DEFINED),
    ("</tool_call>", gguf.TokenType.USER_DEFINED),
    ("<tool_response>", gguf.TokenType.USER_DEFINED),
    ("</tool_response>", gguf.TokenType.USER_DEFINED),
)
TOOL_CALL_TOKEN = "<tool_call>"
QUOTE_TOKENS = ('"', '\u2581"')  # a bare double quote, with and without a leading space
SUPPRESSED_LOGIT = -30.0  # far below any reachable logit: never sampled
LOGIT_NOISE_STD = 3.0  # spread of the random (context-dependent) logits
NEWLINE_TOKENS = ("<0x0A>", "\u010a")  # "\n" in SentencePiece / GPT-2 byte-level BPE vocabs


TOKEN_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")


def read_vocab(path: Path) -> tuple[dict[str, gguf.ReaderField], list[str], list[int], int]:
    """Return the tokenizer.* fields of a vocab-only GGUF, plus tokens, token types, EOS id."""
    reader = gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    tokens: list[str] = fields["tokenizer.ggml.tokens"].contents()
    types: list[int] = fields["tokenizer.ggml.token_type"].contents()
    eos: int = fields["tokenizer.ggml.eos_token_id"].contents()
    return fields, tokens, types, eos


def write_tokenizer(w: gguf.GGUFWriter, fields: dict[str, gguf.ReaderField]) -> None:
    """Copy the tokenizer, with ADDED_TOKENS appended and no space prefixed after specials."""
    for key, field in fields.items():
        if key in TOKEN_ARRAYS or key == "tokenizer.ggml.add_space_prefix":
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), field.types[0], sub_type)
    tokens = fields["tokenizer.ggml.tokens"].contents() + [t for t, _ in ADDED_TOKENS]
    scores = fields["tokenizer.ggml.scores"].contents() + [0.0] * len(ADDED_TOKENS)
    types = fields["tokenizer.ggml.token_type"].contents() + [int(k) for _, k in ADDED_TOKENS]
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(False)
    w.add_eot_token_id(tokens.index("<|im_end|>"))


def logit_bias(tokens: list[str], types: list[int], eos: int) -> np.ndarray:
    """Per-token logit bias: 0 for printable-ASCII normal tokens, EOS and the tool-call
    opening tag, else very negative."""
    bias = np.full(len(tokens), SUPPRESSED_LOGIT, dtype=np.float32)
    for i, (text, ttype) in enumerate(zip(tokens, types, strict=True)):
        text = text.replace("\u2581", " ")  # SentencePiece marks spaces with U+2581
        if ttype == gguf.TokenType.NORMAL and text.isascii() and text.isprintable():
            bias[i] = 0.0
    bias[eos] = 0.0
    if TOOL_CALL_TOKEN in tokens:
        bias[tokens.index(TOOL_CALL_TOKEN)] = 0.0
    return bias


def eos_spread(n_candidates: int, stop_rate: float, rng: np.random.Generator) -> float:
    """How many times wider EOS's logit spread must be than the other tokens' so
    that EOS beats all n_candidates at about stop_rate of the positions."""
    typical_max = rng.standard_normal((32, n_candidates), dtype=np.float32).max(axis=1).mean()
    return float(typical_max / NormalDist().inv_cdf(1 - stop_rate))


def make_model(
    vocab: Path,
    out: Path,
    layers: int,
    width: int,
    seed: int,
    stop_rate: float,
    quote_rate: float,
    tool_call_rate: float,
    dtype: str,
) -> None:
    fields, tokens, types, eos = read_vocab(vocab)
    tokens = tokens + [t for t, _ in ADDED_TOKENS]
    types = types + [int(k) for _, k in ADDED_TOKENS]
    n_vocab = len(tokens)
    head_dim = min(64, width // 4)
    n_head = width // head_dim
    n_ff = 4 * width
    rng = np.random.default_rng(seed)
    big = np.dtype(np.float16 if dtype == "f16" else np.float32)  # norms always stay f32

    # The bias channel carries 3/4 of the residual's energy, so the RMSNorm
    # scale (and hence every token's bias) barely depends on the other dims.
    bias_channel = float(np.sqrt(3 * (width - 1)))
    rms = np.sqrt((bias_channel**2 + (width - 1)) / width)  # other dims ~ unit variance
    h0 = bias_channel / rms  # dim 0 after the final norm
    rest_std = 1 / rms  # std of the other dims after the final norm

    def layer_matrix(rows: int, cols: int, reads_residual: bool) -> np.ndarray:
        """Random layer weights; q/k/v/gate/up never read, o/down never write the bias channel."""
        m: np.ndarray
        if reads_residual:  # input is a normed residual: unit-variance output
            m = rng.standard_normal((rows, cols), dtype=np.float32) / (rest_std * np.sqrt(cols - 1))
            m[:, 0] = 0
        else:  # updates shrink with depth, so all layers together add the same
            # variance to the residual: the token embedding keeps dominating
            m = rng.standard_normal((rows, cols), dtype=np.float32) * np.sqrt(0.5 / (layers * cols))
            m[0, :] = 0
        return m.astype(big)

    bias = logit_bias(tokens, types, eos)
    output = rng.standard_normal((n_vocab, width), dtype=np.float32)
    output *= LOGIT_NOISE_STD / (rest_std * np.sqrt(width - 1))
    n_candidates = int((bias == 0).sum())
    output[eos] *= eos_spread(n_candidates, stop_rate, rng)
    for quote in QUOTE_TOKENS:
        if quote in tokens:
            output[tokens.index(quote)] *= eos_spread(n_candidates, quote_rate, rng)
    output[tokens.index(TOOL_CALL_TOKEN)] *= eos_spread(n_candidates, tool_call_rate, rng)
    output[:, 0] = bias / h0

    embd = rng.standard_normal((n_vocab, width), dtype=np.float32)
    embd[:, 0] = bias_channel
    eos_direction = output[eos, 1:] / np.linalg.norm(output[eos, 1:])
    call = output[tokens.index(TOOL_CALL_TOKEN), 1:]
    call_direction = call / np.linalg.norm(call)
    for newline in NEWLINE_TOKENS:
        if newline in tokens:  # away from EOS, towards <tool_call>: sqrt((width-1)/2) std each
            toward = (call_direction - eos_direction) / np.sqrt(2)
            embd[tokens.index(newline), 1:] = toward * np.sqrt(width - 1)

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
    write_tokenizer(w, fields)
    w.add_chat_template(CHAT_TEMPLATE)

    w.add_tensor("token_embd.weight", embd.astype(big))
    w.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    w.add_tensor("output.weight", output.astype(big))
    for i in range(layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(width, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", layer_matrix(width, width, reads_residual=True))
        w.add_tensor(p + "attn_k.weight", layer_matrix(width, width, reads_residual=True))
        w.add_tensor(p + "attn_v.weight", layer_matrix(width, width, reads_residual=True))
        w.add_tensor(p + "attn_output.weight", layer_matrix(width, width, reads_residual=False))
        w.add_tensor(p + "ffn_norm.weight", np.ones(width, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", layer_matrix(n_ff, width, reads_residual=True))
        w.add_tensor(p + "ffn_up.weight", layer_matrix(n_ff, width, reads_residual=True))
        w.add_tensor(p + "ffn_down.weight", layer_matrix(width, n_ff, reads_residual=False))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--vocab",
        type=Path,
        required=True,
        help="vocab-only GGUF, e.g. models/ggml-vocab-llama-spm.gguf",
    )
    ap.add_argument("--out", type=Path, required=True, help="GGUF file to write")
    ap.add_argument(
        "--layers", type=int, default=2, help="transformer blocks (8: more realistic pace)"
    )
    ap.add_argument(
        "--width", type=int, default=64, help="embedding width (512: more realistic pace)"
    )
    ap.add_argument("--seed", type=int, default=1234, help="numpy seed; same seed, same file")
    ap.add_argument(
        "--stop-rate",
        type=float,
        default=0.01,
        help="share of positions where EOS is the most likely token (~1/reply length)",
    )
    ap.add_argument(
        "--quote-rate",
        type=float,
        default=0.1,
        help="share of positions where a double quote is the most likely token",
    )
    ap.add_argument(
        "--tool-call-rate",
        type=float,
        default=0.02,
        help="share of positions where <tool_call> is the most likely token",
    )
    ap.add_argument(
        "--dtype", choices=["f32", "f16"], default="f32", help="type of the big matrices"
    )
    args = ap.parse_args()
    if args.width < 8 or args.width % min(64, args.width // 4):
        ap.error("--width must be at least 8 and a multiple of 4 (of 64 when >= 256)")
    make_model(
        args.vocab,
        args.out,
        args.layers,
        args.width,
        args.seed,
        args.stop_rate,
        args.quote_rate,
        args.tool_call_rate,
        args.dtype,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
