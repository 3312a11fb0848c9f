"""TokenizerInfo.from_huggingface: a clear error without transformers; with a stand-in for a
transformers fast tokenizer, the tokenizer.json path."""

from __future__ import annotations

import sys
import types

import pytest

import xgr
from conftest import gpt2_json_text, has_module


@pytest.mark.skipif(has_module("transformers"), reason="transformers is installed")
def test_clear_error_without_transformers(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails
    with pytest.raises(ImportError, match="needs the `transformers` package"):
        xgr.TokenizerInfo.from_huggingface(object())


class FakeBackend:
    def __init__(self, text: str):
        self._text = text

    def to_str(self) -> str:
        return self._text


class FakeFastTokenizer:
    """The parts of a transformers PreTrainedTokenizerFast that from_huggingface reads."""

    def __init__(self):
        import json

        text = gpt2_json_text().decode()
        self.backend_tokenizer = FakeBackend(text)
        self._vocab = json.loads(text)["model"]["vocab"]
        self.eos_token_id = 50256

    def get_vocab(self):
        return dict(self._vocab, **{"<|endoftext|>": 50256})


class FakeSlowTokenizer:
    eos_token_id = 3

    def get_vocab(self):
        return {"<unk>": 0, "<s>": 1, "<0x0A>": 2, "</s>": 3, "▁a": 4, "b": 5}


def test_with_stand_in_tokenizers(monkeypatch):
    if not has_module("transformers"):
        monkeypatch.setitem(sys.modules, "transformers", types.ModuleType("transformers"))
    info = xgr.TokenizerInfo.from_huggingface(FakeFastTokenizer(), vocab_size=50304)
    assert info.vocab_size == 50304
    assert info.vocab_type == xgr.VocabType.BYTE_LEVEL
    assert info.stop_token_ids == [50256]
    slow = xgr.TokenizerInfo.from_huggingface(FakeSlowTokenizer())
    assert slow.vocab_type == xgr.VocabType.BYTE_FALLBACK
    assert slow.stop_token_ids == [3]
    assert slow.add_prefix_space
    assert slow.decoded_vocab[4] == b" a" and slow.decoded_vocab[2] == b"\n"
