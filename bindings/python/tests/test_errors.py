"""Every error path raises its own exception class, carrying the library's message."""

from __future__ import annotations

import pytest

import xgr
from conftest import require_json_schema
from xgr import _ffi


def raises(cls, fn, *args, contains=None, **kwargs):
    with pytest.raises(cls) as ei:
        fn(*args, **kwargs)
    e = ei.value
    assert isinstance(e, xgr.XGRError)
    assert e.message, "the exception carries the library's message"
    assert str(e) == e.message
    assert e.status == type(e).status
    assert e.status_name.startswith("XGR_ERR_")
    if contains is not None:
        assert contains in e.message, e.message
    return e


def test_hierarchy():
    assert issubclass(xgr.XGRError, RuntimeError)
    assert issubclass(xgr.InvalidArgumentError, ValueError)
    for cls in _ffi.ERROR_CLASSES.values():
        assert issubclass(cls, xgr.XGRError)
        assert getattr(xgr, cls.__name__) is cls
    assert len({c.status for c in _ffi.ERROR_CLASSES.values()}) == len(_ffi.ERROR_CLASSES)


def test_unknown_status_is_base_class():
    e = _ffi.error_for(12345, "odd")
    assert type(e) is xgr.XGRError and e.status == 12345 and e.message == "odd"


def test_grammar_syntax_errors():
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_ebnf, 'root ::= "abc', contains="line 1")
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_ebnf, "root ::= foo", contains="foo")
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_ebnf, 'start ::= "a"', contains="root")
    # a different root rule name is fine
    assert "start" in str(xgr.Grammar.from_ebnf('start ::= "a"', root_rule_name="start"))
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_regex, "(a", contains="")
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_regex, r"(a)\1", contains="backreferences")


def test_compile_errors_same_classes(byte_compiler):
    raises(xgr.GrammarSyntaxError, byte_compiler.compile_grammar, "root ::= ", contains="line 1")
    raises(xgr.GrammarSyntaxError, byte_compiler.compile_regex, "[a")
    raises(
        xgr.LimitExceededError,
        byte_compiler.compile_grammar,
        'root ::= "ab"{5000000}',
        contains="too large",
    )


def test_json_errors(byte_compiler):
    require_json_schema()
    # malformed JSON text: InvalidJSONError (XGrammar's name); an invalid schema: JSONSchemaError
    raises(xgr.InvalidJSONError, xgr.Grammar.from_json_schema, "{not json")
    raises(xgr.JSONSchemaError, xgr.Grammar.from_json_schema, {"type": "no-such-type"})
    raises(xgr.JSONSchemaError, byte_compiler.compile_json_schema, {"type": 5})


def test_json_schema_options_checked():
    with pytest.raises(xgr.InvalidArgumentError, match="indent"):
        xgr.Grammar.from_json_schema({"type": "integer"}, indent=-1)
    with pytest.raises(xgr.InvalidArgumentError, match="separators"):
        xgr.Grammar.from_json_schema({"type": "integer"}, separators=(",",))
    with pytest.raises(xgr.InvalidArgumentError, match="max_whitespace_cnt"):
        xgr.Grammar.from_json_schema({"type": "integer"}, max_whitespace_cnt=0)
    with pytest.raises(TypeError):
        xgr.Grammar.from_json_schema({"type": {1, 2}})


def test_structural_tag_errors():
    e = raises(
        (xgr.InvalidJSONError, xgr.GrammarSyntaxError), xgr.Grammar.from_structural_tag, "{oops"
    )
    assert e.message
    raises(xgr.GrammarSyntaxError, xgr.Grammar.from_structural_tag, {"type": "nonsense"})


def test_tokenizer_errors(tmp_path):
    raises(
        xgr.TokenizerError,
        xgr.TokenizerInfo.from_tokenizer_json,
        str(tmp_path / "missing.json"),
        contains="missing.json",
    )
    e = raises(
        (xgr.TokenizerError, xgr.InvalidJSONError),
        xgr.TokenizerInfo.from_tokenizer_json,
        '{"model": 3}',
    )
    assert e.message
    raises(
        (xgr.TokenizerError, xgr.InvalidJSONError),
        xgr.TokenizerInfo.from_tokenizer_json,
        '{"not": "a tokenizer"',
    )
    with pytest.raises(TypeError):
        xgr.TokenizerInfo.from_tokenizer_json(42)


def test_invalid_arguments(byte_info, byte_compiler):
    vocab = [bytes([b]) for b in range(4)]
    raises(
        xgr.InvalidArgumentError,
        xgr.TokenizerInfo,
        vocab,
        stop_token_ids=[9],
        contains="out of range",
    )
    with pytest.raises(ValueError):
        xgr.TokenizerInfo(vocab, 7)  # not a VocabType
    with pytest.raises(xgr.InvalidArgumentError):
        xgr.TokenizerInfo(vocab, vocab_size=0)
    raises(xgr.InvalidArgumentError, xgr.TokenizerInfo, [], contains="empty")
    cg = byte_compiler.compile_grammar('root ::= "a"')
    raises(xgr.InvalidArgumentError, xgr.GrammarMatcher, cg, override_stop_tokens=[1000])
    m = xgr.GrammarMatcher(cg)
    raises(xgr.InvalidArgumentError, m.accept_token, 257)
    raises(xgr.InvalidArgumentError, m.accept_token, -1)
    raises(xgr.InvalidArgumentError, xgr.Grammar.union)
    raises(xgr.InvalidArgumentError, xgr.Grammar.concat)
    raises(xgr.InvalidArgumentError, xgr.BatchGrammarMatcher, 100000)
    with pytest.raises(xgr.InvalidArgumentError):
        m.rollback(-1)
    with pytest.raises(TypeError):
        xgr.Grammar.union(xgr.Grammar.from_regex("a"), "b")
    with pytest.raises(TypeError):
        xgr.GrammarCompiler("not an info")
    with pytest.raises(TypeError):
        xgr.GrammarMatcher("not a compiled grammar")


def test_rollback_and_terminated(byte_compiler):
    m = xgr.GrammarMatcher(byte_compiler.compile_grammar('root ::= "a"'))
    raises(xgr.RollbackError, m.rollback, 1)
    m.accept_token(ord("a"))
    m.accept_token(256)
    raises(xgr.TerminatedError, m.accept_token, ord("a"), contains="terminated")


def test_cuda_unavailable_without_torch():
    """The CUDA entry point reports CUDA_UNAVAILABLE while the library has no CUDA path."""
    if xgr.cuda_available():
        pytest.skip("this library build has a CUDA path")
    import ctypes

    import numpy as np

    logits = np.zeros((1, 64), dtype=np.float32)
    bm = np.zeros((1, 2), dtype=np.int32)
    st = _ffi.C.xgr_apply_token_bitmask_cuda(
        logits.ctypes.data, 0, 1, 64, 64, 64, bm.ctypes.data, 2, None, 0, None
    )
    e = _ffi.error_for(st)
    assert isinstance(e, xgr.CUDAUnavailableError), (st, e.message)
    assert e.message
    assert ctypes  # keep the import used


def test_error_message_is_per_thread():
    import threading

    msgs = {}

    def worker(i):
        try:
            xgr.Grammar.from_ebnf(f"root ::= r{i}")
        except xgr.GrammarSyntaxError as e:
            msgs[i] = e.message

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(8):
        assert f"r{i}" in msgs[i]
