"""Typical XGrammar usage with a real tokenizer (GPT-2, vendored): compile, then loop
fill / apply / accept over the tokenization of a document."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xgr
from conftest import gpt2_json_text, require_json_schema
from xgr.testing import _get_masked_tokens_from_bitmask, bitmask_to_bool_mask

DOC = {
    "name": "Ada Lovelace",
    "born": 1815,
    "languages": ["en", "fr"],
    "notes": 'wrote the first program; "poetical science"',
    "alive": False,
    "score": -1.5e3,
}
DOC_TEXT = json.dumps(DOC, indent=2)

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "born": {"type": "integer"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "string"},
        "alive": {"type": "boolean"},
        "score": {"type": "number"},
    },
    "required": ["name", "born"],
}

EBNF = r"""
root ::= "Answer: " ("yes" | "no") " because " reason "."
reason ::= [a-z ]+
"""
EBNF_DOC = "Answer: yes because the sky is blue."


# -- tokenization in the test ---------------------------------------------------------------


def greedy_tokenize(info: xgr.TokenizerInfo, text: str) -> list[int]:
    """Greedy longest match of the text's bytes over the decoded vocabulary (text tokens)."""
    special = set(info.special_token_ids) | set(info.stop_token_ids)
    table: dict[bytes, int] = {}
    for i, b in enumerate(info.decoded_vocab):
        if b and i not in special and b not in table:
            table[b] = i
    longest = max(len(b) for b in table)
    data = text.encode()
    out, pos = [], 0
    while pos < len(data):
        for n in range(min(longest, len(data) - pos), 0, -1):
            t = table.get(data[pos : pos + n])
            if t is not None:
                out.append(t)
                pos += n
                break
        else:
            raise AssertionError(f"no token for byte {data[pos]}")
    return out


def hf_tokenize(text: str) -> list[int]:
    tokenizers = pytest.importorskip(
        "tokenizers", reason="the `tokenizers` package is not installed"
    )
    tok = tokenizers.Tokenizer.from_str(gpt2_json_text().decode())
    return tok.encode(text, add_special_tokens=False).ids


TOKENIZE = ["greedy", "tokenizers", "library"]


def tokenize(how: str, info: xgr.TokenizerInfo, text: str) -> list[int]:
    if how == "greedy":
        return greedy_tokenize(info, text)
    if how == "tokenizers":
        return hf_tokenize(text)
    return info.encode(text)


# -- the generation loop ---------------------------------------------------------------------


def run_document(info, compiled, tokens, *, check_exact_at=()):
    """Fills the mask, checks the next token is allowed, applies the mask to random logits,
    checks masked entries are -inf, then accepts the token; finally the stop token."""
    vocab = info.vocab_size
    rng = np.random.default_rng(0)
    matcher = xgr.GrammarMatcher(compiled)
    bitmask = np.full(xgr.get_bitmask_shape(1, vocab), -1, dtype=np.int32)
    decoded = info.decoded_vocab
    assert b"".join(decoded[t] for t in tokens)  # sanity: the tokens decode to something
    for step, tok in enumerate(tokens + [None]):
        xgr.reset_token_bitmask(bitmask)
        need_apply = matcher.fill_next_token_bitmask(bitmask)
        assert need_apply  # a JSON/EBNF grammar never allows every token
        allowed = bitmask_to_bool_mask(bitmask, vocab)
        masked = _get_masked_tokens_from_bitmask(bitmask, vocab)
        assert len(masked) + int(allowed.sum()) == vocab
        logits = rng.standard_normal((1, vocab)).astype(np.float32)
        before = logits.copy()
        xgr.apply_token_bitmask_inplace(logits, bitmask)
        assert np.all(np.isneginf(logits[0, masked]))
        np.testing.assert_array_equal(logits[0, allowed], before[0, allowed])
        if step in check_exact_at:
            # the mask is exact: a token is allowed iff accept_token takes it
            probe = [t for t in range(vocab) if t % 7 == 0 or allowed[t]]
            for t in probe:
                ok = matcher.accept_token(t)
                assert ok == bool(allowed[t]), f"step {step}: token {t} {decoded[t]!r}"
                if ok:
                    matcher.rollback(1)
        if tok is None:
            break
        assert allowed[tok], f"step {step}: token {tok} {decoded[tok]!r} masked"
        assert np.isfinite(logits[0, tok])
        assert matcher.accept_token(tok), f"step {step}: token {tok} rejected"
    assert matcher.is_completed()
    stop = info.stop_token_ids[0]
    assert allowed[stop], "the stop token must be allowed at the end"
    assert matcher.accept_token(stop)
    assert matcher.is_terminated()
    return matcher


def test_gpt2_info(gpt2_info):
    assert gpt2_info.vocab_size == 50257
    assert gpt2_info.vocab_type == xgr.VocabType.BYTE_LEVEL
    assert gpt2_info.stop_token_ids == [50256]
    assert 50256 in gpt2_info.special_token_ids
    assert gpt2_info.decoded_vocab[50256] == b"<|endoftext|>"
    assert gpt2_info.decoded_vocab[220] == b" "
    assert not gpt2_info.add_prefix_space
    meta = json.loads(gpt2_info.dump_metadata())
    assert meta == {
        "vocab_type": 2,
        "vocab_size": 50257,
        "add_prefix_space": False,
        "stop_token_ids": [50256],
    }


def test_from_tokenizer_json_text_and_gz(gpt2_info):
    text = gpt2_json_text()
    a = xgr.TokenizerInfo.from_tokenizer_json(text.decode(), vocab_size=50304)
    assert a.vocab_size == 50304
    assert a.stop_token_ids == [50256]
    from conftest import TOKENIZERS_DIR

    b = xgr.TokenizerInfo.from_tokenizer_json(
        TOKENIZERS_DIR / "gpt2-50k.json.gz", stop_token_ids=[198]
    )
    assert b.stop_token_ids == [198]
    assert b.vocab_size == gpt2_info.vocab_size


@pytest.mark.parametrize("how", TOKENIZE)
def test_builtin_json_document(how, gpt2_info, gpt2_compiler):
    tokens = tokenize(how, gpt2_info, DOC_TEXT)
    cg = gpt2_compiler.compile_builtin_json_grammar()
    assert cg.memory_size_bytes > 0
    run_document(gpt2_info, cg, tokens, check_exact_at=(0, 5) if how == "greedy" else ())


@pytest.mark.parametrize("how", ["greedy", "tokenizers"])
def test_json_schema_document(how, gpt2_info, gpt2_compiler):
    require_json_schema()
    cg = gpt2_compiler.compile_json_schema(SCHEMA, indent=2)
    tokens = tokenize(how, gpt2_info, DOC_TEXT)
    run_document(gpt2_info, cg, tokens)
    # a document the schema refuses: "born" must be an integer
    bad = json.dumps({"name": "x", "born": "1815"}, indent=2)
    m = xgr.GrammarMatcher(cg)
    assert not (m.accept_string(bad) and m.is_completed())


def test_json_schema_str_and_dict_agree(gpt2_compiler):
    require_json_schema()
    a = xgr.Grammar.from_json_schema(SCHEMA)
    b = xgr.Grammar.from_json_schema(json.dumps(SCHEMA))
    assert str(a) == str(b)


@pytest.mark.parametrize("how", TOKENIZE)
def test_ebnf_document(how, gpt2_info, gpt2_compiler):
    tokens = tokenize(how, gpt2_info, EBNF_DOC)
    cg = gpt2_compiler.compile_grammar(EBNF)
    m = run_document(gpt2_info, cg, tokens, check_exact_at=(2,))
    assert m.is_terminated()


def test_regex_and_grammar_object(gpt2_info, gpt2_compiler):
    g = xgr.Grammar.from_regex(r"\d{3}-[a-z]{2}")
    cg = gpt2_compiler.compile_grammar(g)
    assert cg.grammar is g
    run_document(gpt2_info, cg, greedy_tokenize(gpt2_info, "123-ab"))
    cg2 = gpt2_compiler.compile_regex(r"\d{3}-[a-z]{2}")
    run_document(gpt2_info, cg2, greedy_tokenize(gpt2_info, "123-ab"))


def test_compiler_cache(gpt2_info):
    c = xgr.GrammarCompiler(gpt2_info, max_threads=1)
    assert c.get_cache_size_bytes() == 0
    c.compile_grammar('root ::= "a" [0-9]*')
    size = c.get_cache_size_bytes()
    assert size > 0
    c.compile_grammar('root ::= "a" [0-9]*')
    assert c.get_cache_size_bytes() == size
    index = c.get_index_memory_bytes()
    assert index > 1_000_000  # the trie of a 50k vocabulary and its facts
    c.clear_cache()
    assert c.get_cache_size_bytes() == 0
    assert c.get_index_memory_bytes() == index
    nc = xgr.GrammarCompiler(gpt2_info, max_threads=1, cache_enabled=False)
    nc.compile_grammar('root ::= "a"')
    assert nc.get_cache_size_bytes() == 0


def test_hf_tokenizers_agrees_on_text(gpt2_info):
    """The `tokenizers` package and the library's own encoder tokenize the same way."""
    ids = hf_tokenize(DOC_TEXT)
    assert ids == gpt2_info.encode(DOC_TEXT)
    assert b"".join(gpt2_info.decoded_vocab[t] for t in ids) == DOC_TEXT.encode()


@pytest.mark.parametrize(
    "opts,text,ok",
    [
        ({"any_whitespace": False}, json.dumps(DOC), True),
        ({"any_whitespace": False}, json.dumps(DOC, indent=2), False),
        ({"any_whitespace": False, "indent": 2}, json.dumps(DOC, indent=2), True),
        ({"any_whitespace": False, "indent": 2}, json.dumps(DOC), False),
        (
            {"any_whitespace": False, "separators": (",", ":")},
            json.dumps(DOC, separators=(",", ":")),
            True,
        ),
        ({"any_whitespace": False, "separators": (",", ":")}, json.dumps(DOC), False),
        ({"strict_mode": True}, json.dumps(dict(DOC, extra=1)), False),
        ({"strict_mode": False}, json.dumps(dict(DOC, extra=1)), True),
        ({"max_whitespace_cnt": 2}, '{"name":   "x", "born": 1}', False),
        ({"max_whitespace_cnt": 3}, '{"name":   "x", "born": 1}', True),
    ],
)
def test_json_schema_options(opts, text, ok, byte_compiler):
    require_json_schema()
    cg = byte_compiler.compile_json_schema(SCHEMA, **opts)
    m = xgr.GrammarMatcher(cg)
    assert (m.accept_string(text) and m.is_completed()) == ok
    g = xgr.Grammar.from_json_schema(json.dumps(SCHEMA), **opts)
    assert xgr.testing._is_grammar_accept_string(g, text) == ok
