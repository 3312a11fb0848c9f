"""torch tensors: bitmask fill into CPU int32 tensors, apply for float32/float16/bfloat16,
and the CUDA path: CUDAUnavailableError without a driver; with a GPU, the kernel against the
CPU path (all dtypes, strides, device indices, a CUDA graph). Skipped with a visible reason
when torch, a CUDA device or the driver is missing."""

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


_no_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device for torch")
_no_kernel = pytest.mark.skipif(
    not (torch.cuda.is_available() and xgr.cuda_available()),
    reason="no CUDA device for torch, or xgr's CUDA path is unavailable (no driver)",
)


@_no_cuda
def test_apply_cuda_unavailable_or_basic():
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


def _random_case(rows, cols, dtype, seed, pad=0):
    g = torch.Generator().manual_seed(seed)
    wide = torch.randn((rows, cols + pad), generator=g).to(dtype)
    words = (cols + 31) // 32
    bm = torch.randint(-(2**31), 2**31 - 1, (rows, words), generator=g, dtype=torch.int64)
    return wide, bm.to(torch.int32)


@_no_kernel
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("rows,cols,pad", [(1, 32000, 0), (5, 128256, 3), (64, 200019, 1)])
def test_apply_cuda_matches_cpu(dtype, rows, cols, pad):
    dt = getattr(torch, dtype)
    wide, bm = _random_case(rows, cols, dt, seed=rows + cols)
    if pad:
        wide = torch.cat([wide, torch.zeros((rows, pad), dtype=dt)], dim=1)
    cpu = wide[:, :cols]  # row stride cols + pad: the unaligned (scalar) path when pad is odd
    gpu_wide = wide.cuda()
    gpu = gpu_wide[:, :cols]
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):  # the current stream is the one used
        xgr.apply_token_bitmask_inplace(gpu, bm.cuda(), vocab_size=cols - 7)
    stream.synchronize()
    xgr.apply_token_bitmask_inplace(cpu, bm, vocab_size=cols - 7)
    bits = torch.int32 if dt == torch.float32 else torch.int16  # compare bit patterns
    assert torch.equal(gpu_wide.cpu().view(bits), wide.view(bits))


@_no_kernel
def test_apply_cuda_device_indices_and_graph_capture():
    rows, cols = 8, 50257
    wide, bm = _random_case(rows, cols, torch.float32, seed=3)
    want = wide.clone()
    xgr.apply_token_bitmask_inplace(want, bm, indices=[6, 1, 6])
    logits, dbm = wide.cuda(), bm.cuda()
    ix = torch.tensor([6, 1, 6, -1, rows], dtype=torch.int32, device="cuda")  # bad ones skipped
    xgr.apply_token_bitmask_inplace(logits, dbm, indices=ix)
    torch.cuda.synchronize()
    assert torch.equal(logits.cpu(), want)
    # Captured in a CUDA graph (the module is loaded already), then replayed on new inputs.
    static = wide.cuda()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):  # captures on torch's side stream, the current one inside
        xgr.apply_token_bitmask_inplace(static, dbm)
    torch.cuda.synchronize()
    for seed in (4, 5):
        w2, b2 = _random_case(rows, cols, torch.float32, seed=seed)
        static.copy_(w2)
        dbm.copy_(b2)
        graph.replay()
        torch.cuda.synchronize()
        xgr.apply_token_bitmask_inplace(w2, b2)
        assert torch.equal(static.cpu(), w2)


def test_numpy_and_torch_mix():
    logits = torch.zeros((1, 64))
    bm = np.zeros((1, 2), dtype=np.int32)
    xgr.apply_token_bitmask_inplace(logits, bm)
    assert bool(torch.isneginf(logits).all())
