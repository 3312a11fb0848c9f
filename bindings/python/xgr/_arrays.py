"""Raw views of numpy arrays and torch tensors for the C calls: checks and pointers.

torch is never imported here unless the caller already passed a tensor (or asked for one):
it is optional.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import _ffi


def torch_module():
    """The torch module when it can be imported, else None (cached)."""
    global _TORCH
    if _TORCH is _UNSET:
        try:
            import torch  # noqa: F401

            _TORCH = torch
        except Exception:  # ImportError, or a broken installation
            _TORCH = None
    return _TORCH


_UNSET = object()
_TORCH: Any = _UNSET


def is_torch_tensor(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _invalid(msg: str) -> _ffi.InvalidArgumentError:
    return _ffi.InvalidArgumentError(msg, _ffi.XGR_ERR_INVALID_ARGUMENT)


@dataclass
class View:
    """A 1-D or 2-D array seen as rows: ``ptr`` is the address of element (0, 0),
    ``row_stride`` is in elements, ``rows`` x ``cols`` its logical shape."""

    ptr: int
    rows: int
    cols: int
    row_stride: int
    itemsize: int
    dtype_name: str
    is_torch: bool
    device: str  # "cpu" or "cuda"
    device_index: Optional[int]
    obj: Any  # keeps the array alive
    one_dim: bool


def view(x, what: str, *, writable: bool) -> View:
    """Checks that ``x`` is a 1-D or 2-D numpy array or torch tensor whose rows are
    contiguous, and returns its raw view."""
    if isinstance(x, np.ndarray):
        if x.ndim not in (1, 2):
            raise _invalid(f"{what} must be 1-D or 2-D, got shape {tuple(x.shape)}")
        if writable and not x.flags.writeable:
            raise _invalid(f"{what} is read-only")
        item = x.itemsize
        if x.ndim == 1:
            rows, cols = 1, x.shape[0]
            if cols > 1 and x.strides[0] != item:
                raise _invalid(f"{what} must be contiguous (stride {x.strides[0]} bytes)")
            row_stride = cols
        else:
            rows, cols = x.shape
            if cols > 1 and x.strides[1] != item:
                raise _invalid(
                    f"{what} rows must be contiguous (column stride {x.strides[1]} bytes)"
                )
            s0 = x.strides[0]
            if rows > 1 and (s0 < 0 or s0 % item != 0 or s0 // item < cols):
                raise _invalid(f"{what} has an unsupported row stride of {s0} bytes")
            row_stride = s0 // item if rows > 1 else cols
        name = x.dtype.name
        return View(
            int(x.ctypes.data),
            rows,
            cols,
            row_stride,
            item,
            name,
            False,
            "cpu",
            None,
            x,
            x.ndim == 1,
        )
    if is_torch_tensor(x):
        if x.dim() not in (1, 2):
            raise _invalid(f"{what} must be 1-D or 2-D, got shape {tuple(x.shape)}")
        dev = x.device.type
        if dev not in ("cpu", "cuda"):
            raise _invalid(f"{what} is on an unsupported device {x.device}")
        item = x.element_size()
        if x.dim() == 1:
            rows, cols = 1, x.shape[0]
            if cols > 1 and x.stride(0) != 1:
                raise _invalid(f"{what} must be contiguous (stride {x.stride(0)})")
            row_stride = cols
        else:
            rows, cols = x.shape
            if cols > 1 and x.stride(1) != 1:
                raise _invalid(f"{what} rows must be contiguous (column stride {x.stride(1)})")
            s0 = x.stride(0)
            if rows > 1 and s0 < cols:
                raise _invalid(f"{what} has an unsupported row stride of {s0}")
            row_stride = s0 if rows > 1 else cols
        name = str(x.dtype).replace("torch.", "")
        return View(
            int(x.data_ptr()),
            int(rows),
            int(cols),
            int(row_stride),
            item,
            name,
            True,
            dev,
            x.device.index,
            x,
            x.dim() == 1,
        )
    raise TypeError(f"{what} must be a numpy array or a torch tensor, not {type(x).__name__}")


def bitmask_view(bitmask, what: str = "bitmask", *, writable: bool) -> View:
    v = view(bitmask, what, writable=writable)
    if v.dtype_name != "int32":
        raise _invalid(f"{what} must have dtype int32 (xgr.bitmask_dtype), got {v.dtype_name}")
    return v


def new_bitmask(shape, use_torch: bool):
    if use_torch:
        torch = torch_module()
        return torch.full(shape, -1, dtype=torch.int32)
    return np.full(shape, -1, dtype=np.int32)
