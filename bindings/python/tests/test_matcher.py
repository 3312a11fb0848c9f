"""GrammarMatcher and BatchGrammarMatcher on the byte tokenizer: rollback, fork, reset,
jump-forward, termination, bitmask arguments, batch fill with indices."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import xgr
from conftest import BYTE_STOP
from xgr.testing import (
    _get_masked_tokens_from_bitmask,
    _is_grammar_accept_string,
    _is_single_token_bitmask,
    bitmask_to_bool_mask,
    bool_mask_to_bitmask,
)

VOCAB = 257


def allowed_bytes(m: xgr.GrammarMatcher) -> set:
    bm = np.zeros(xgr.get_bitmask_shape(1, VOCAB), dtype=np.int32)
    m.fill_next_token_bitmask(bm)
    return set(np.flatnonzero(bitmask_to_bool_mask(bm, VOCAB)).tolist())


@pytest.fixture
def kv(byte_compiler):
    return byte_compiler.compile_grammar('root ::= "key=" [0-9]+ ";"')


def test_accept_and_mask(kv):
    m = xgr.GrammarMatcher(kv)
    assert m.stop_token_ids == [BYTE_STOP]
    assert m.vocab_size == VOCAB
    assert allowed_bytes(m) == {ord("k")}
    assert m.accept_token(ord("k"))
    assert not m.accept_token(ord("x"))  # rejected: False, state unchanged
    assert allowed_bytes(m) == {ord("e")}
    assert m.accept_string("ey=")
    assert allowed_bytes(m) == set(range(ord("0"), ord("9") + 1))
    assert m.accept_string(b"12;")
    assert m.is_completed() and not m.is_terminated()
    assert allowed_bytes(m) == {BYTE_STOP}
    assert m.accept_token(BYTE_STOP)
    assert m.is_terminated()


def test_rollback(kv):
    m = xgr.GrammarMatcher(kv)
    for ch in "key=1":
        assert m.accept_token(ord(ch))
    assert m.num_accepted == 5
    m.rollback(2)
    assert m.num_accepted == 3
    assert allowed_bytes(m) == {ord("=")}
    m.rollback()  # default 1
    assert allowed_bytes(m) == {ord("y")}
    assert m.accept_string("y=7;")
    assert m.accept_token(BYTE_STOP) and m.is_terminated()
    m.rollback(1)  # the stop token counts as one step
    assert not m.is_terminated() and m.is_completed()
    with pytest.raises(xgr.RollbackError) as ei:
        m.rollback(100)
    assert ei.value.message
    assert m.is_completed()  # nothing undone


def test_reset_and_fork(kv):
    m = xgr.GrammarMatcher(kv)
    m.accept_string("key=4")
    f = m.fork()
    assert f.stop_token_ids == m.stop_token_ids
    assert f.accept_string("2;")
    assert f.is_completed()
    assert not m.is_completed()  # independent
    assert allowed_bytes(m) == set(range(ord("0"), ord("9") + 1)) | {ord(";")}
    m.reset()
    assert m.num_accepted == 0
    assert allowed_bytes(m) == {ord("k")}
    f.rollback(1)
    assert not f.is_completed()


def test_jump_forward(byte_compiler):
    cg = byte_compiler.compile_grammar(
        'root ::= "{\\"name\\": \\"" [a-z]+ "\\", \\"x\\": " ("true" | "trap")'
    )
    m = xgr.GrammarMatcher(cg)
    assert m.find_jump_forward_string() == '{"name": "'
    assert m.num_accepted == 0  # unchanged
    assert m.accept_string(m.find_jump_forward_string())
    assert m.find_jump_forward_string() == ""
    m.accept_string('ab", ')
    assert m.find_jump_forward_string() == '"x": tr'  # "true" | "trap"
    long = byte_compiler.compile_grammar('root ::= "' + "abcdefgh" * 100 + '"')
    m2 = xgr.GrammarMatcher(long)
    assert m2.find_jump_forward_string() == "abcdefgh" * 100  # buffer growth path


def test_terminate_without_stop_token_and_override(kv):
    m = xgr.GrammarMatcher(kv, terminate_without_stop_token=True)
    m.accept_string("key=1;")
    assert m.is_terminated()
    m2 = xgr.GrammarMatcher(kv, override_stop_tokens=[ord("!"), 200])
    assert m2.stop_token_ids == [ord("!"), 200]
    m2.accept_string("key=1;")
    assert allowed_bytes(m2) == {ord("!"), 200}
    assert not m2.accept_token(BYTE_STOP)
    assert m2.accept_token(200) and m2.is_terminated()
    m3 = xgr.GrammarMatcher(kv, override_stop_tokens=ord("!"))
    assert m3.stop_token_ids == [ord("!")]


def test_terminated_errors(kv):
    m = xgr.GrammarMatcher(kv)
    m.accept_string("key=1;")
    m.accept_token(BYTE_STOP)
    with pytest.raises(xgr.TerminatedError) as ei:
        m.accept_token(ord("a"))
    assert "terminated" in ei.value.message
    with pytest.raises(xgr.TerminatedError):
        m.accept_string("a")
    bm = xgr.allocate_token_bitmask(1, VOCAB)
    m.fill_next_token_bitmask(bm)
    assert _is_single_token_bitmask(bm, VOCAB) == (True, BYTE_STOP)


def test_bitmask_argument_checks(kv):
    m = xgr.GrammarMatcher(kv)
    words = xgr.get_bitmask_shape(1, VOCAB)[1]
    assert words == 9
    with pytest.raises(xgr.InvalidArgumentError, match="int32"):
        m.fill_next_token_bitmask(np.zeros((1, words), dtype=np.int64))
    with pytest.raises(xgr.InvalidArgumentError, match="int32"):
        m.fill_next_token_bitmask(np.zeros((1, words), dtype=np.uint32))
    with pytest.raises(xgr.InvalidArgumentError, match="contiguous"):
        m.fill_next_token_bitmask(np.zeros((words, 2), dtype=np.int32).T)
    with pytest.raises(xgr.InvalidArgumentError, match="contiguous"):
        m.fill_next_token_bitmask(np.zeros(2 * words, dtype=np.int32)[::2])
    with pytest.raises(xgr.InvalidArgumentError, match="1-D or 2-D"):
        m.fill_next_token_bitmask(np.zeros((1, 1, words), dtype=np.int32))
    with pytest.raises(xgr.InvalidArgumentError, match="out of range"):
        m.fill_next_token_bitmask(np.zeros((2, words), dtype=np.int32), 2)
    with pytest.raises(xgr.InvalidArgumentError, match="out of range"):
        m.fill_next_token_bitmask(np.zeros((2, words), dtype=np.int32), -1)
    with pytest.raises(xgr.BufferTooSmallError) as ei:
        m.fill_next_token_bitmask(np.zeros((1, words - 1), dtype=np.int32))
    assert ei.value.message
    ro = np.zeros((1, words), dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(xgr.InvalidArgumentError, match="read-only"):
        m.fill_next_token_bitmask(ro)
    with pytest.raises(TypeError):
        m.fill_next_token_bitmask([0] * words)
    # 1-D bitmask, and a row of a 2-D one; the other rows are untouched
    one = np.zeros(words, dtype=np.int32)
    m.fill_next_token_bitmask(one)
    assert _get_masked_tokens_from_bitmask(one, VOCAB) == [t for t in range(VOCAB) if t != ord("k")]
    two = np.full((3, words), 7, dtype=np.int32)
    m.fill_next_token_bitmask(two, index=1)
    np.testing.assert_array_equal(two[1], one)
    assert (two[0] == 7).all() and (two[2] == 7).all()
    # a row-strided view (rows contiguous) is fine
    wide = np.zeros((3, words + 5), dtype=np.int32)
    m.fill_next_token_bitmask(wide[:, :words], index=2)
    np.testing.assert_array_equal(wide[2, :words], one)


def test_allocate_and_reset():
    bm = xgr.allocate_token_bitmask(3, 1000)
    assert tuple(bm.shape) == (3, 32)
    assert xgr.get_bitmask_shape(3, 1000) == (3, 32)
    assert xgr.get_bitmask_shape(1, 32) == (1, 1)
    assert xgr.get_bitmask_shape(1, 33) == (1, 2)
    assert (np.asarray(bm) == -1).all()
    bm[0, 0] = 0
    xgr.reset_token_bitmask(bm)
    assert (np.asarray(bm) == -1).all()
    assert str(bm.dtype).endswith("int32")
    assert xgr.bitmask_dtype is not None


def test_bool_mask_roundtrip():
    rng = np.random.default_rng(1)
    mask = rng.random(100) < 0.5
    bm = bool_mask_to_bitmask(mask)
    assert bm.shape == (4,) and bm.dtype == np.int32
    np.testing.assert_array_equal(bitmask_to_bool_mask(bm, 100), mask)


def test_batch_fill_with_indices(byte_compiler, kv):
    other = byte_compiler.compile_regex("[xy]+")
    ms = [xgr.GrammarMatcher(kv), xgr.GrammarMatcher(other), xgr.GrammarMatcher(kv)]
    ms[2].accept_string("key=")
    batch = xgr.BatchGrammarMatcher(max_threads=2)
    assert batch.max_threads >= 1
    bm = np.zeros((5, 9), dtype=np.int32)
    batch.batch_fill_next_token_bitmask(ms, bm, indices=[4, 0, 2])
    for m, row in zip(ms, [4, 0, 2]):
        single = np.zeros(9, dtype=np.int32)
        m.fill_next_token_bitmask(single)
        np.testing.assert_array_equal(bm[row], single)
    assert (bm[1] == 0).all() and (bm[3] == 0).all()
    bm2 = xgr.allocate_token_bitmask(3, VOCAB)
    batch.batch_fill_next_token_bitmask(ms, bm2)
    for i, m in enumerate(ms):
        single = np.zeros(9, dtype=np.int32)
        m.fill_next_token_bitmask(single)
        np.testing.assert_array_equal(np.asarray(bm2)[i], single)
    # argument checks
    with pytest.raises(xgr.InvalidArgumentError, match="out of range"):
        batch.batch_fill_next_token_bitmask(ms, bm, indices=[0, 1, 5])
    with pytest.raises(xgr.InvalidArgumentError, match="indices"):
        batch.batch_fill_next_token_bitmask(ms, bm, indices=[0, 1])
    with pytest.raises(xgr.InvalidArgumentError, match="rows"):
        batch.batch_fill_next_token_bitmask(ms, np.zeros((2, 9), dtype=np.int32))
    with pytest.raises(xgr.InvalidArgumentError) as ei:
        batch.batch_fill_next_token_bitmask(ms, bm, indices=[0, 0, 1])
    assert ei.value.message
    with pytest.raises(xgr.InvalidArgumentError):
        batch.batch_fill_next_token_bitmask([ms[0], ms[0]], bm)
    # a terminated matcher gets an all-ones row
    done = xgr.GrammarMatcher(kv)
    done.accept_string("key=1;")
    done.accept_token(BYTE_STOP)
    batch.batch_fill_next_token_bitmask([done], bm, indices=[3])
    assert bitmask_to_bool_mask(bm, VOCAB, 3).all()
    batch.close()


def test_batch_accept_token(kv):
    ms = [xgr.GrammarMatcher(kv) for _ in range(3)]
    assert xgr.BatchGrammarMatcher.batch_accept_token(ms, [ord("k"), ord("x"), ord("k")]) == [
        True,
        False,
        True,
    ]
    b = xgr.BatchGrammarMatcher()
    assert b.batch_accept_token(ms, [ord("e"), ord("k"), ord("e")]) == [True, True, True]
    assert xgr.BatchGrammarMatcher.batch_accept_string(ms, ["y=1;", "ey=2;", "y"]) == [
        True,
        True,
        True,
    ]
    assert [m.is_completed() for m in ms] == [True, True, False]
    xgr.BatchGrammarMatcher.batch_rollback(ms, [1, 1, 0])
    assert [m.num_accepted for m in ms] == [2, 1, 3]
    with pytest.raises(xgr.InvalidArgumentError):
        xgr.BatchGrammarMatcher.batch_accept_token(ms, [1, 2])
    with pytest.raises(xgr.InvalidArgumentError):
        xgr.BatchGrammarMatcher.batch_accept_token(ms[:1], [100000])


def test_testing_helpers():
    g = xgr.Grammar.from_ebnf('root ::= "a"+ "b"')
    assert _is_grammar_accept_string(g, "aab")
    assert not _is_grammar_accept_string(g, "aa")
    assert _is_grammar_accept_string(g, "aa", require_termination=False)
    assert _is_grammar_accept_string("root ::= [0-9]{2}", b"42")
    assert not _is_grammar_accept_string("root ::= [0-9]{2}", "4x")


def test_managed_lifecycle(byte_info, kv):
    with xgr.GrammarMatcher(kv) as m:
        assert m.accept_token(ord("k"))
    assert m.closed
    with pytest.raises(ValueError, match="closed"):
        m.accept_token(ord("e"))
    m.close()  # idempotent
    # objects keep what they depend on alive: free everything but the matcher
    c = xgr.GrammarCompiler(byte_info)
    cg = c.compile_grammar('root ::= "z"')
    m2 = xgr.GrammarMatcher(cg)
    c.close()
    cg.close()
    del c, cg
    gc.collect()
    assert m2.accept_token(ord("z")) and m2.is_completed()
    g = xgr.Grammar.from_regex("a")
    g.close()
    with pytest.raises(ValueError):
        str(g)


def test_structural_tag(byte_compiler):
    tag = {"type": "structural_tag", "format": {"type": "const_string", "value": "hello"}}
    try:
        g = xgr.Grammar.from_structural_tag(tag)
    except xgr.XGRError as e:
        pytest.skip(f"structural tags are not in this library build: {e.message}")
    assert _is_grammar_accept_string(g, "hello")
    assert not _is_grammar_accept_string(g, "hell")
    for cg in (
        byte_compiler.compile_structural_tag(tag),
        byte_compiler.compile_structural_tag(__import__("json").dumps(tag)),
    ):
        m = xgr.GrammarMatcher(cg)
        assert m.accept_string("hello") and m.is_completed()
