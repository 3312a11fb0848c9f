"""apply_token_bitmask_inplace on numpy arrays (float32, float16; bfloat16 through torch in
test_torch.py) against a numpy reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xgr
from xgr.testing import bitmask_to_bool_mask


def reference(logits, bitmask, vocab_size, indices=None):
    out = logits.copy()
    rows = range(logits.shape[0]) if indices is None else indices
    for r in rows:
        allowed = bitmask_to_bool_mask(bitmask, vocab_size, r)
        row = out[r]
        row[:vocab_size][~allowed] = -np.inf
        row[vocab_size:] = -np.inf
    return out


def random_case(rng, rows, vocab, cols, dtype):
    logits = rng.standard_normal((rows, cols)).astype(dtype)
    bitmask = rng.integers(-(2**31), 2**31, size=(rows, (vocab + 31) // 32), dtype=np.int64)
    return logits, bitmask.astype(np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("vocab", [1, 31, 32, 33, 1000, 50257])
def test_matches_reference(dtype, vocab):
    rng = np.random.default_rng(vocab)
    logits, bm = random_case(rng, 3, vocab, vocab, dtype)
    want = reference(logits, bm, vocab)
    xgr.apply_token_bitmask_inplace(logits, bm)
    np.testing.assert_array_equal(logits, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_indices_and_vocab_size(dtype):
    rng = np.random.default_rng(7)
    logits, bm = random_case(rng, 4, 300, 320, dtype)
    want = reference(logits, bm, 300, indices=[3, 1])
    xgr.apply_token_bitmask_inplace(logits, bm, vocab_size=300, indices=[3, 1])
    np.testing.assert_array_equal(logits, want)
    # padded logits (wider than the vocabulary): the padding columns are masked too
    logits, bm = random_case(rng, 2, 300, 320, dtype)
    want = reference(logits, bm, 300)
    xgr.apply_token_bitmask_inplace(logits, bm, vocab_size=300)
    np.testing.assert_array_equal(logits, want)
    assert np.isneginf(logits[:, 300:]).all()


def test_indices_with_different_row_counts():
    rng = np.random.default_rng(3)
    logits, _ = random_case(rng, 2, 64, 64, np.float32)
    _, bm = random_case(rng, 5, 64, 64, np.float32)
    want = reference(logits, bm, 64, indices=[1])
    xgr.apply_token_bitmask_inplace(logits, bm, indices=[1])
    np.testing.assert_array_equal(logits, want)
    with pytest.raises(xgr.InvalidArgumentError, match="out of range"):
        xgr.apply_token_bitmask_inplace(logits, bm, indices=[2])


def test_one_dimensional():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal(100).astype(np.float32)
    bm = rng.integers(-(2**31), 2**31, size=4, dtype=np.int64).astype(np.int32)
    want = reference(logits[None], bm[None], 100)[0]
    xgr.apply_token_bitmask_inplace(logits, bm)
    np.testing.assert_array_equal(logits, want)


def test_row_strided_logits():
    rng = np.random.default_rng(9)
    big = rng.standard_normal((3, 80)).astype(np.float32)
    view = big[:, :64]  # rows contiguous, row stride 80
    bm = rng.integers(-(2**31), 2**31, size=(3, 2), dtype=np.int64).astype(np.int32)
    want = reference(view.copy(), bm, 64)
    untouched = big[:, 64:].copy()
    xgr.apply_token_bitmask_inplace(view, bm)
    np.testing.assert_array_equal(big[:, :64], want)
    np.testing.assert_array_equal(big[:, 64:], untouched)


def test_short_bitmask_warns_like_xgrammar():
    logits = np.zeros((1, 40), dtype=np.float32)
    bm = np.full((1, 1), -1, dtype=np.int32)
    with pytest.warns(UserWarning, match="covers 32 columns"):
        xgr.apply_token_bitmask_inplace(logits, bm)
    assert (logits[0, :32] == 0).all() and np.isneginf(logits[0, 32:]).all()


def test_all_allowed_is_identity():
    logits = np.arange(64, dtype=np.float32).reshape(1, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xgr.apply_token_bitmask_inplace(logits, np.full((1, 2), -1, dtype=np.int32))
    np.testing.assert_array_equal(logits, np.arange(64, dtype=np.float32).reshape(1, 64))


def test_argument_checks():
    logits = np.zeros((2, 64), dtype=np.float32)
    bm = np.zeros((2, 2), dtype=np.int32)
    with pytest.raises(xgr.InvalidArgumentError, match="float32, float16 or bfloat16"):
        xgr.apply_token_bitmask_inplace(logits.astype(np.float64), bm)
    with pytest.raises(xgr.InvalidArgumentError, match="int32"):
        xgr.apply_token_bitmask_inplace(logits, bm.astype(np.int64))
    with pytest.raises(xgr.InvalidArgumentError, match="contiguous"):
        xgr.apply_token_bitmask_inplace(np.zeros((64, 2), dtype=np.float32).T, bm)
    with pytest.raises(xgr.InvalidArgumentError, match="rows"):
        xgr.apply_token_bitmask_inplace(logits, bm[:1])
    with pytest.raises(xgr.InvalidArgumentError, match="words"):
        xgr.apply_token_bitmask_inplace(logits, bm, vocab_size=65)
    with pytest.raises(xgr.InvalidArgumentError, match="both"):
        xgr.apply_token_bitmask_inplace(logits[0], bm)
    ro = logits.copy()
    ro.flags.writeable = False
    with pytest.raises(xgr.InvalidArgumentError, match="read-only"):
        xgr.apply_token_bitmask_inplace(ro, bm)
    with pytest.raises(TypeError):
        xgr.apply_token_bitmask_inplace(logits.tolist(), bm)


def test_end_to_end_with_matcher(byte_compiler):
    cg = byte_compiler.compile_grammar("root ::= [a-c]+")
    m = xgr.GrammarMatcher(cg)
    bm = xgr.allocate_token_bitmask(1, 257)
    m.fill_next_token_bitmask(bm)
    logits = np.zeros((1, 257), dtype=np.float16)
    xgr.apply_token_bitmask_inplace(logits, np.asarray(bm))
    assert np.flatnonzero(np.isfinite(logits[0])).tolist() == [ord("a"), ord("b"), ord("c")]
