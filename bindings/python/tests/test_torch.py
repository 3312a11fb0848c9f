"""torch tensors: bitmask fill into CPU int32 tensors, apply for float32/float16/bfloat16,
and the CUDA path (CUDAUnavailableError while the library has no CUDA kernel). Skipped with
a visible reason when torch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import xgr
from xgr.testing import bitmask_to_bool_mask

torch = pytest.importorskip("torch", reason="torch is not installed (optional dependency)")


def test_allocate_returns_torch():
    bm = xgr.allocate_token_bitmask(2, 100)
    assert isinstance(bm, torch.Tensor)
    assert bm.dtype == torch.int32 and bm.device.type == "cpu"
    assert tuple(bm.shape) == (2, 4) and bool((bm == -1).all())
    assert xgr.bitmask_dtype == torch.int32


def test_fill_into_tensor_row(byte_compiler):
    m = xgr.GrammarMatcher(byte_compiler.compile_grammar('root ::= "q"'))
    bm = torch.zeros((3, 9), dtype=torch.int32)
    m.fill_next_token_bitmask(bm, 2)
    assert bitmask_to_bool_mask(bm, 257, 2).nonzero()[0].tolist() == [ord("q")]
    assert bool((bm[:2] == 0).all())
    with pytest.raises(xgr.InvalidArgumentError, match="int32"):
        m.fill_next_token_bitmask(torch.zeros((1, 9), dtype=torch.int64))
    with pytest.raises(xgr.InvalidArgumentError, match="contiguous"):
        m.fill_next_token_bitmask(torch.zeros((9, 2), dtype=torch.int32).t())


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_apply_cpu(dtype):
    dt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn((3, 100), generator=g).to(dt)
    bm = torch.randint(-(2**31), 2**31 - 1, (3, 4), generator=g, dtype=torch.int64).to(torch.int32)
    want = logits.clone().float()
    for r in range(3):
        allowed = torch.from_numpy(bitmask_to_bool_mask(bm, 100, r))
        want[r][~allowed] = float("-inf")
    xgr.apply_token_bitmask_inplace(logits, bm)
    assert torch.equal(logits.float(), want)


def test_apply_indices_torch():
    logits = torch.zeros((4, 64))
    bm = torch.zeros((4, 2), dtype=torch.int32)
    xgr.apply_token_bitmask_inplace(logits, bm, indices=[1, 3])
    assert bool(torch.isneginf(logits[[1, 3]]).all()) and bool((logits[[0, 2]] == 0).all())


@pytest.mark.skipif(not (torch.cuda.is_available()), reason="no CUDA device for torch")
def test_apply_cuda():
    logits = torch.zeros((2, 64), device="cuda")
    bm = torch.zeros((2, 2), dtype=torch.int32, device="cuda")
    if not xgr.cuda_available():
        with pytest.raises(xgr.CUDAUnavailableError):
            xgr.apply_token_bitmask_inplace(logits, bm)
        return
    xgr.apply_token_bitmask_inplace(logits, bm, indices=[1])
    torch.cuda.synchronize()
    assert bool(torch.isneginf(logits[1]).all()) and bool((logits[0] == 0).all())
    with pytest.raises(xgr.InvalidArgumentError, match="same device"):
        xgr.apply_token_bitmask_inplace(logits, bm.cpu())


def test_numpy_and_torch_mix():
    logits = torch.zeros((1, 64))
    bm = np.zeros((1, 2), dtype=np.int32)
    xgr.apply_token_bitmask_inplace(logits, bm)
    assert bool(torch.isneginf(logits).all())
