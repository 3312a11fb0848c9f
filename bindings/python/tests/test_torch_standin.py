"""The torch code paths with a minimal stand-in for torch (numpy-backed tensors), so that
they run where torch is not installed: CPU tensors through the CPU kernel, and "CUDA"
tensors dispatched to xgr_apply_token_bitmask_cuda on the current stream (which raises
CUDAUnavailableError while the library has no CUDA path). Real torch: test_torch.py."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import xgr
from xgr import _arrays
from xgr.testing import bitmask_to_bool_mask


class _DType:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"torch.{self.name}"


class _Device:
    def __init__(self, spec):
        self.type, _, idx = str(spec).partition(":")
        self.index = int(idx) if idx else (0 if self.type == "cuda" else None)


def make_fake_torch():
    torch = types.ModuleType("torch")
    dtypes = {n: _DType(n) for n in ("int32", "int64", "float32", "float16", "bfloat16")}
    np_of = {
        "int32": np.int32,
        "int64": np.int64,
        "float32": np.float32,
        "float16": np.float16,
        "bfloat16": np.uint16,
    }

    class Tensor:
        def __init__(self, arr, dtype, device="cpu"):
            self.arr, self.dtype, self.device = arr, dtype, _Device(device)

        @property
        def shape(self):
            return self.arr.shape

        def dim(self):
            return self.arr.ndim

        def stride(self, i):
            return self.arr.strides[i] // self.arr.itemsize

        def element_size(self):
            return self.arr.itemsize

        def data_ptr(self):
            return self.arr.ctypes.data

        def fill_(self, v):
            self.arr.fill(v)
            return self

        def t(self):
            return Tensor(self.arr.T, self.dtype, f"{self.device.type}")

        def __array__(self, dtype=None, copy=None):
            return self.arr if dtype is None else self.arr.astype(dtype)

    def full(shape, v, dtype):
        return Tensor(np.full(shape, v, dtype=np_of[dtype.name]), dtype)

    def tensor(values, dtype, device="cpu"):
        return Tensor(
            np.array(values, dtype=np_of[dtype.name]),
            dtype,
            str(device.type) if isinstance(device, _Device) else device,
        )

    streams = []

    class _Stream:
        cuda_stream = 0

    def current_stream(device=None):
        streams.append(device)
        return _Stream()

    torch.Tensor = Tensor
    torch.full = full
    torch.tensor = tensor
    torch.cuda = types.SimpleNamespace(current_stream=current_stream, calls=streams)
    for n, d in dtypes.items():
        setattr(torch, n, d)
    torch.np_of = np_of
    return torch


@pytest.fixture
def fake_torch(monkeypatch):
    if "torch" in sys.modules and sys.modules["torch"] is not None:
        pytest.skip("real torch is imported; see test_torch.py")
    torch = make_fake_torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setattr(_arrays, "_TORCH", torch)
    return torch


def test_allocate_and_dtype(fake_torch):
    bm = xgr.allocate_token_bitmask(2, 100)
    assert isinstance(bm, fake_torch.Tensor) and bm.dtype is fake_torch.int32
    assert bm.shape == (2, 4) and (bm.arr == -1).all()
    assert xgr.bitmask_dtype is fake_torch.int32
    bm.arr[:] = 0
    xgr.reset_token_bitmask(bm)
    assert (bm.arr == -1).all()


def test_fill_and_apply_cpu(fake_torch, byte_compiler):
    m = xgr.GrammarMatcher(byte_compiler.compile_grammar('root ::= "q"'))
    bm = xgr.allocate_token_bitmask(3, 257)
    m.fill_next_token_bitmask(bm, 1)
    assert bitmask_to_bool_mask(bm.arr, 257, 1).nonzero()[0].tolist() == [ord("q")]
    assert (bm.arr[0] == -1).all()
    with pytest.raises(xgr.InvalidArgumentError, match="int64"):
        m.fill_next_token_bitmask(fake_torch.Tensor(np.zeros((1, 9), np.int64), fake_torch.int64))
    with pytest.raises(xgr.InvalidArgumentError, match="contiguous"):
        m.fill_next_token_bitmask(
            fake_torch.Tensor(np.zeros((9, 2), np.int32), fake_torch.int32).t()
        )
    for name in ("float32", "float16"):
        logits = fake_torch.Tensor(
            np.zeros((3, 257), fake_torch.np_of[name]), getattr(fake_torch, name)
        )
        xgr.apply_token_bitmask_inplace(logits, bm, indices=[1])
        assert np.isfinite(logits.arr[1]).nonzero()[0].tolist() == [ord("q")]
        assert (logits.arr[[0, 2]] == 0).all()
    # bfloat16 as 16-bit patterns: 0x3F80 = 1.0, -inf = 0xFF80
    logits = fake_torch.Tensor(np.full((1, 257), 0x3F80, np.uint16), fake_torch.bfloat16)
    xgr.apply_token_bitmask_inplace(logits, _row(fake_torch, bm, 1))
    row = logits.arr[0]
    assert row[ord("q")] == 0x3F80
    assert (np.delete(row, ord("q")) == 0xFF80).all()


def _row(torch, bm, i):
    return torch.Tensor(bm.arr[i : i + 1], torch.int32)


def test_cuda_dispatch(fake_torch, byte_compiler):
    logits = fake_torch.Tensor(np.zeros((2, 64), np.float32), fake_torch.float32, "cuda")
    bm = fake_torch.Tensor(np.zeros((2, 2), np.int32), fake_torch.int32, "cuda")
    if xgr.cuda_available():
        pytest.skip("the library has a CUDA path; the stand-in has no device memory")
    with pytest.raises(xgr.CUDAUnavailableError) as ei:
        xgr.apply_token_bitmask_inplace(logits, bm, indices=[1])
    assert ei.value.message
    assert fake_torch.cuda.calls, "the current torch stream was asked for"
    # An empty index list selects no row, so nothing is launched (passing NULL with 0 indices
    # would mean "every row" to the C function).
    xgr.apply_token_bitmask_inplace(logits, bm, indices=[])
    assert not np.isneginf(logits.arr).any()
    cpu_bm = fake_torch.Tensor(np.zeros((2, 2), np.int32), fake_torch.int32)
    with pytest.raises(xgr.InvalidArgumentError, match="same device"):
        xgr.apply_token_bitmask_inplace(logits, cpu_bm)
    m_bm = fake_torch.Tensor(np.zeros((1, 9), np.int32), fake_torch.int32, "cuda")
    with pytest.raises(xgr.InvalidArgumentError, match="CPU memory"):
        xgr.GrammarMatcher(byte_compiler.compile_grammar('root ::= "a"')).fill_next_token_bitmask(
            m_bm
        )
