"""The tiny model's tokenizer and template are what llama-server's tool and JSON-schema
support needs (scripts/local-server/make_tiny_model.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

gguf = pytest.importorskip("gguf")  # installed by scripts/local-server/setup.sh

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-server" / "make_tiny_model.py"
# A small SentencePiece-style vocabulary: unknown, BOS, EOS, the bytes for "\n", some words.
WORDS = ["\u2581sea", "\u2581the", '\u2581"', '"', "sea", "a", "b", "c", "<", ">", "_", "tool"]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_tiny_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_tiny_model"] = module
    spec.loader.exec_module(module)
    return module


def _vocab(path: Path) -> None:
    tokens = ["<unk>", "<s>", "</s>", "<0x0A>", *WORDS]
    types = [2, 3, 3, 6] + [1] * len(WORDS)
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * len(tokens))
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("tiny")
    _vocab(folder / "vocab.gguf")
    _generator().make_model(
        folder / "vocab.gguf", folder / "tiny.gguf", 1, 16, 1234, 0.01, 0.1, 0.05, "f32"
    )
    reader = gguf.GGUFReader(folder / "tiny.gguf")
    return {key: field.contents() for key, field in reader.fields.items()}


def test_chatml_markers_are_control_tokens(model: dict[str, object]) -> None:
    tokens = model["tokenizer.ggml.tokens"]
    types = model["tokenizer.ggml.token_type"]
    assert isinstance(tokens, list) and isinstance(types, list)
    for marker in ("<|im_start|>", "<|im_end|>"):
        assert types[tokens.index(marker)] == gguf.TokenType.CONTROL


def test_tool_tags_tokenize_whole(model: dict[str, object]) -> None:
    tokens = model["tokenizer.ggml.tokens"]
    types = model["tokenizer.ggml.token_type"]
    assert isinstance(tokens, list) and isinstance(types, list)
    for tag in ("<tool_call>", "</tool_call>"):
        assert types[tokens.index(tag)] == gguf.TokenType.USER_DEFINED


def test_every_token_has_a_score_and_a_type(model: dict[str, object]) -> None:
    tokens = model["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list)
    assert len(model["tokenizer.ggml.scores"]) == len(tokens)  # type: ignore[arg-type]
    assert len(model["tokenizer.ggml.token_type"]) == len(tokens)  # type: ignore[arg-type]
    assert model["llama.vocab_size"] == len(tokens)


def test_no_space_is_prefixed_after_special_tokens(model: dict[str, object]) -> None:
    # Else "<|im_start|>assistant" tokenizes as "<|im_start|>", " assistant" and the
    # grammar, replaying the generation prompt, rejects it.
    assert model["tokenizer.ggml.add_space_prefix"] is False


def test_end_of_turn_is_the_chatml_end_marker(model: dict[str, object]) -> None:
    tokens = model["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list)
    assert model["tokenizer.ggml.eot_token_id"] == tokens.index("<|im_end|>")


def test_template_lists_tools_and_writes_hermes_tool_calls(model: dict[str, object]) -> None:
    template = model["tokenizer.chat_template"]
    assert isinstance(template, str)
    assert "{%- if tools %}" in template
    assert "<tool_call>" in template and "</tool_call>" in template
    assert "tool_call.arguments | tojson" in template
    assert "<tool_response>" in template
