"""GrammarMatcher, BatchGrammarMatcher and the token-bitmask helpers."""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
from ctypes import c_bool, c_int32
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ffi
from ._arrays import bitmask_view, is_torch_tensor, new_bitmask, torch_module, view
from ._ffi import C, Managed, _check
from .compiler import CompiledGrammar


def _invalid(msg: str) -> _ffi.InvalidArgumentError:
    return _ffi.InvalidArgumentError(msg, _ffi.XGR_ERR_INVALID_ARGUMENT)


# ---------------------------------------------------------------------------------------------
# Bitmask helpers.


def __getattr__(name):  # module attribute `bitmask_dtype`, resolved lazily
    if name == "bitmask_dtype":
        return _bitmask_dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _bitmask_dtype():
    torch = torch_module()
    return torch.int32 if torch is not None else np.int32


def get_bitmask_shape(batch_size: int, vocab_size: int) -> Tuple[int, int]:
    """``(batch_size, ceil(vocab_size / 32))``."""
    return (int(batch_size), (int(vocab_size) + 31) // 32)


def allocate_token_bitmask(batch_size: int, vocab_size: int):
    """A bitmask of ``get_bitmask_shape(batch_size, vocab_size)`` int32 words, filled with -1
    (every token allowed): a CPU torch tensor when torch is importable, else a numpy array."""
    return new_bitmask(get_bitmask_shape(batch_size, vocab_size), torch_module() is not None)


def reset_token_bitmask(bitmask) -> None:
    """Fills the bitmask with -1 (every token allowed)."""
    if is_torch_tensor(bitmask):
        bitmask.fill_(-1)
    elif isinstance(bitmask, np.ndarray):
        bitmask.fill(-1)
    else:
        raise TypeError(f"bitmask must be a numpy array or a torch tensor, not {type(bitmask)}")


_DTYPES = {
    "float32": _ffi.XGR_DTYPE_F32,
    "float16": _ffi.XGR_DTYPE_F16,
    "bfloat16": _ffi.XGR_DTYPE_BF16,
}


def apply_token_bitmask_inplace(
    logits,
    bitmask,
    *,
    vocab_size: Optional[int] = None,
    indices: Optional[Sequence[int]] = None,
) -> None:
    """Sets ``logits[row, j] = -inf`` for every token ``j`` the bitmask row disallows, in place.

    ``logits``: a 1-D or 2-D float32/float16/bfloat16 numpy array or torch tensor (rows
    contiguous); ``bitmask``: int32 with the same number of dimensions. Rows are every row, or
    the rows named in ``indices`` (then logits and bitmask may have different row counts).
    ``vocab_size`` defaults to ``min(logits.shape[-1], bitmask.shape[-1] * 32)``; columns at or
    past it are set to -inf as well. CPU arrays use the library's CPU kernel; torch CUDA
    tensors use its CUDA kernel on the current torch stream (asynchronously; the raw stream
    pointer is passed). For CUDA, ``indices`` may also be a 1-D int32 CUDA tensor, used in
    place (no synchronisation; out-of-range values are skipped); a list is copied to the
    device first."""
    lv = view(logits, "logits", writable=True)
    bv = bitmask_view(bitmask, writable=False)
    dt = _DTYPES.get(lv.dtype_name)
    if dt is None:
        raise _invalid(f"logits must be float32, float16 or bfloat16, got {lv.dtype_name}")
    if lv.one_dim != bv.one_dim:
        raise _invalid("logits and bitmask must both be 1-D or both be 2-D")
    if vocab_size is None:
        vocab_size = min(lv.cols, bv.cols * 32)
        if bv.cols * 32 < lv.cols:
            warnings.warn(
                f"the bitmask covers {bv.cols * 32} columns but logits have {lv.cols}; the "
                "columns past the bitmask are masked",
                UserWarning,
                stacklevel=2,
            )
    vocab_size = int(vocab_size)
    if vocab_size < 0:
        raise _invalid(f"vocab_size must be >= 0, got {vocab_size}")
    if (vocab_size + 31) // 32 > bv.cols:
        raise _invalid(
            f"the bitmask has {bv.cols} words per row, fewer than vocab_size {vocab_size} needs"
        )
    dev_idx = None
    if (
        indices is not None
        and lv.device == "cuda"
        and is_torch_tensor(indices)
        and indices.device.type == "cuda"
    ):
        # A device index tensor (as vLLM passes) is used in place: no host round trip, no
        # synchronisation; out-of-range values are skipped by the kernel.
        if indices.dtype != torch_module().int32 or indices.dim() != 1:
            raise _invalid("a CUDA indices tensor must be 1-D int32")
        if indices.device != lv.obj.device:
            raise _invalid("indices must be on the same device as logits")
        dev_idx = indices.contiguous()
    if dev_idx is not None:
        num_rows = min(lv.rows, bv.rows)
        idx_list = None
    elif indices is None:
        if bv.rows < lv.rows:
            raise _invalid(
                f"the bitmask has {bv.rows} rows but logits have {lv.rows} (pass indices)"
            )
        num_rows = lv.rows
        idx_list = None
    else:
        idx_list = [int(i) for i in indices]
        num_rows = min(lv.rows, bv.rows)
        for i in idx_list:
            if not 0 <= i < num_rows:
                raise _invalid(
                    f"index {i} is out of range (logits have {lv.rows} rows, the bitmask {bv.rows})"
                )
    if lv.device != bv.device or (lv.device == "cuda" and lv.device_index != bv.device_index):
        raise _invalid(f"logits ({lv.device}) and bitmask ({bv.device}) must be on the same device")
    if lv.device == "cuda":
        torch = torch_module()
        idx_ptr, n_idx, keep = None, 0, None
        if dev_idx is not None:
            keep = dev_idx
            idx_ptr, n_idx = keep.data_ptr() or None, keep.numel()
            if n_idx == 0:
                return
        elif idx_list is not None:
            if not idx_list:
                return
            keep = torch.tensor(idx_list, dtype=torch.int32, device=lv.obj.device)
            idx_ptr, n_idx = keep.data_ptr(), len(idx_list)
        stream = torch.cuda.current_stream(lv.obj.device).cuda_stream
        _check(
            C.xgr_apply_token_bitmask_cuda(
                lv.ptr,
                dt,
                num_rows,
                lv.row_stride,
                lv.cols,
                vocab_size,
                bv.ptr,
                bv.row_stride,
                idx_ptr,
                n_idx,
                stream or None,
            )
        )
        del keep
        return
    idx_arr = _ffi.int32_array(idx_list) if idx_list is not None else None
    _check(
        C.xgr_apply_token_bitmask_cpu(
            lv.ptr,
            dt,
            num_rows,
            lv.row_stride,
            lv.cols,
            vocab_size,
            bv.ptr,
            bv.row_stride,
            idx_arr,
            len(idx_list) if idx_list is not None else 0,
        )
    )


# ---------------------------------------------------------------------------------------------
# GrammarMatcher.


def _stop_list(tokens) -> Optional[List[int]]:
    if tokens is None:
        return None
    if isinstance(tokens, int):
        return [tokens]
    return [int(t) for t in tokens]


class GrammarMatcher(Managed):
    """Follows one generated sequence against a compiled grammar: accepts tokens, fills the
    next-token bitmask, rolls back, forks and finds jump-forward strings. One thread at a time
    (it may move between threads)."""

    _free = staticmethod(C.xgr_matcher_free)

    def __init__(
        self,
        compiled_grammar: CompiledGrammar,
        *,
        override_stop_tokens: Optional[Union[int, List[int]]] = None,
        terminate_without_stop_token: bool = False,
        max_rollback_tokens: int = -1,
    ):
        if not isinstance(compiled_grammar, CompiledGrammar):
            raise TypeError(
                f"compiled_grammar must be a CompiledGrammar, not {type(compiled_grammar).__name__}"
            )
        if max_rollback_tokens != -1:
            warnings.warn(
                "max_rollback_tokens is deprecated and ignored: rollback is unbounded",
                DeprecationWarning,
                stacklevel=2,
            )
        opts = C.xgr_matcher_options_default()
        stops = _stop_list(override_stop_tokens)
        keep = None
        if stops is not None:
            keep = _ffi.int32_array(stops)
            opts.override_stop_token_ids = ctypes.cast(keep, ctypes.POINTER(c_int32))
            opts.num_override_stop_token_ids = len(stops)
        opts.terminate_without_stop_token = bool(terminate_without_stop_token)
        out = _ffi.P_matcher()
        _check(C.xgr_matcher_new(compiled_grammar.handle, ctypes.byref(opts), ctypes.byref(out)))
        del keep
        super().__init__(out)
        self._compiled_grammar = compiled_grammar
        self._stop_token_ids = (
            stops if stops is not None else compiled_grammar.tokenizer_info.stop_token_ids
        )
        self._terminate_without_stop_token = bool(terminate_without_stop_token)

    @property
    def compiled_grammar(self) -> CompiledGrammar:
        return self._compiled_grammar

    @property
    def stop_token_ids(self) -> List[int]:
        return list(self._stop_token_ids)

    @property
    def max_rollback_tokens(self) -> int:
        return -1

    @property
    def vocab_size(self) -> int:
        return int(C.xgr_matcher_vocab_size(self.handle))

    @property
    def num_accepted(self) -> int:
        """Steps :meth:`rollback` can undo (xgr addition)."""
        return int(C.xgr_matcher_num_accepted(self.handle))

    def accept_token(self, token_id: int, *, debug_print: bool = False) -> bool:
        """Accepts one token; False (state unchanged) when the grammar rejects it. Raises
        TerminatedError after termination, InvalidArgumentError for an id out of range."""
        ok = c_bool(False)
        _check(C.xgr_matcher_accept_token(self.handle, int(token_id), ok))
        return ok.value

    def accept_string(self, input_str: Union[str, bytes], *, debug_print: bool = False) -> bool:
        """Accepts a string (or any bytes) all or nothing; one step for rollback."""
        data = _ffi.to_bytes(input_str, "input_str")
        ok = c_bool(False)
        _check(C.xgr_matcher_accept_string(self.handle, data, len(data), ok))
        return ok.value

    def fill_next_token_bitmask(
        self, bitmask, index: int = 0, *, debug_print: bool = False
    ) -> bool:
        """Writes the allowed next tokens into row ``index`` of ``bitmask`` (an int32 numpy
        array or CPU torch tensor, 1-D or 2-D, rows contiguous). Returns True when some token
        is disallowed (the mask needs applying)."""
        bv = bitmask_view(bitmask, writable=True)
        if bv.device != "cpu":
            raise _invalid("the bitmask must be in CPU memory (fill it on the host, then copy)")
        index = int(index)
        if not 0 <= index < bv.rows:
            raise _invalid(f"index {index} is out of range for a bitmask of {bv.rows} rows")
        ptr = bv.ptr + index * bv.row_stride * 4
        need = c_bool(True)
        _check(C.xgr_matcher_fill_next_token_bitmask(self.handle, ptr, bv.cols, need))
        return need.value

    def find_jump_forward_string(self) -> str:
        """The longest string the grammar forces from here (state unchanged)."""
        h = self.handle
        data = _ffi.read_string(
            lambda buf, cap, n: C.xgr_matcher_find_jump_forward_string(h, buf, cap, n)
        )
        return data.decode("utf-8", "replace")

    def rollback(self, num_tokens: int = 1) -> None:
        """Undoes the last ``num_tokens`` steps (RollbackError if fewer were accepted)."""
        num_tokens = int(num_tokens)
        if num_tokens < 0:
            raise _invalid(f"num_tokens must be >= 0, got {num_tokens}")
        _check(C.xgr_matcher_rollback(self.handle, num_tokens))

    def reset(self) -> None:
        _check(C.xgr_matcher_reset(self.handle))

    def fork(self) -> "GrammarMatcher":
        """An independent copy (state and history; the compiled grammar is shared)."""
        out = _ffi.P_matcher()
        _check(C.xgr_matcher_fork(self.handle, ctypes.byref(out)))
        m = GrammarMatcher.__new__(GrammarMatcher)
        Managed.__init__(m, out)
        m._compiled_grammar = self._compiled_grammar
        m._stop_token_ids = list(self._stop_token_ids)
        m._terminate_without_stop_token = self._terminate_without_stop_token
        return m

    def is_terminated(self) -> bool:
        return bool(C.xgr_matcher_is_terminated(self.handle))

    def is_completed(self) -> bool:
        """Whether the grammar may end here (a stop token would be accepted)."""
        return bool(C.xgr_matcher_is_completed(self.handle))


# ---------------------------------------------------------------------------------------------
# BatchGrammarMatcher.


class _hybridmethod:
    """A method that gets the class when called on the class and the instance otherwise."""

    def __init__(self, f):
        self.f = f
        self.__doc__ = f.__doc__

    def __get__(self, obj, cls):
        target = obj if obj is not None else cls

        def bound(*args, **kwargs):
            return self.f(target, *args, **kwargs)

        bound.__doc__ = self.f.__doc__
        bound.__name__ = self.f.__name__
        return bound


_default_batch_lock = threading.Lock()
_default_batch: Optional["BatchGrammarMatcher"] = None


def _default() -> "BatchGrammarMatcher":
    global _default_batch
    with _default_batch_lock:
        if _default_batch is None:
            _default_batch = BatchGrammarMatcher(max_threads=1)
        return _default_batch


def _matcher_array(matchers) -> Tuple[ctypes.Array, List[GrammarMatcher]]:
    ms = list(matchers)
    for m in ms:
        if not isinstance(m, GrammarMatcher):
            raise TypeError(f"expected GrammarMatcher objects, got {type(m).__name__}")
    return (_ffi.P_matcher * len(ms))(*(m.handle for m in ms)), ms


class BatchGrammarMatcher(Managed):
    """Fills bitmasks of many matchers in parallel on a persistent thread pool (created once).
    ``max_threads="auto"`` uses half the cores, like XGrammar."""

    _free = staticmethod(C.xgr_batch_free)

    def __init__(self, max_threads: Union[int, str] = "auto"):
        if max_threads == "auto":
            n = max(1, (os.cpu_count() or 2) // 2)
        elif isinstance(max_threads, int):
            n = max_threads
        else:
            raise _invalid(f"max_threads must be an int or 'auto', got {max_threads!r}")
        out = _ffi.P_batch()
        _check(C.xgr_batch_new(int(n), ctypes.byref(out)))
        super().__init__(out)

    @property
    def max_threads(self) -> int:
        return int(C.xgr_batch_num_threads(self.handle))

    def batch_fill_next_token_bitmask(
        self,
        matchers: Sequence[GrammarMatcher],
        bitmask,
        indices: Optional[Sequence[int]] = None,
        debug_print: bool = False,
    ) -> None:
        """Fills row ``indices[i]`` (default ``i``) of the 2-D ``bitmask`` for ``matchers[i]``;
        a terminated matcher gets an all-ones row."""
        arr, ms = _matcher_array(matchers)
        bv = bitmask_view(bitmask, writable=True)
        if bv.device != "cpu":
            raise _invalid("the bitmask must be in CPU memory (fill it on the host, then copy)")
        if indices is None:
            if len(ms) > bv.rows:
                raise _invalid(f"{len(ms)} matchers but the bitmask has {bv.rows} rows")
            idx = None
        else:
            rows = [int(i) for i in indices]
            if len(rows) != len(ms):
                raise _invalid(f"{len(rows)} indices for {len(ms)} matchers")
            for r in rows:
                if not 0 <= r < bv.rows:
                    raise _invalid(f"index {r} is out of range for a bitmask of {bv.rows} rows")
            idx = _ffi.int32_array(rows)
        for m in ms:
            words = (m.vocab_size + 31) // 32
            if words > bv.cols:
                raise _invalid(f"the bitmask has {bv.cols} words per row; a matcher needs {words}")
        _check(
            C.xgr_batch_fill_next_token_bitmask(
                self.handle, arr, len(ms), bv.ptr, bv.row_stride, idx
            )
        )

    @_hybridmethod
    def batch_accept_token(
        self_or_cls,
        matchers: Sequence[GrammarMatcher],
        tokens: Sequence[int],
        debug_print: bool = False,
    ) -> List[bool]:
        """Accepts ``tokens[i]`` on ``matchers[i]``; returns whether each was accepted.
        Callable on the class (as in XGrammar) or on an instance (uses its threads)."""
        batch = self_or_cls if isinstance(self_or_cls, BatchGrammarMatcher) else _default()
        arr, ms = _matcher_array(matchers)
        toks = [int(t) for t in tokens]
        if len(toks) != len(ms):
            raise _invalid(f"{len(toks)} tokens for {len(ms)} matchers")
        out = (c_bool * max(len(ms), 1))()
        _check(C.xgr_batch_accept_token(batch.handle, arr, _ffi.int32_array(toks), len(ms), out))
        return [bool(x) for x in out[: len(ms)]]

    @staticmethod
    def batch_accept_string(
        matchers: Sequence[GrammarMatcher],
        strings: Sequence[Union[str, bytes]],
        debug_print: bool = False,
    ) -> List[bool]:
        ms, ss = list(matchers), list(strings)
        if len(ms) != len(ss):
            raise _invalid(f"{len(ss)} strings for {len(ms)} matchers")
        return [m.accept_string(s) for m, s in zip(ms, ss)]

    @staticmethod
    def batch_rollback(
        matchers: Sequence[GrammarMatcher], num_tokens: Union[int, Sequence[int]] = 1
    ) -> None:
        ms = list(matchers)
        ns = [num_tokens] * len(ms) if isinstance(num_tokens, int) else list(num_tokens)
        if len(ns) != len(ms):
            raise _invalid(f"{len(ns)} rollback counts for {len(ms)} matchers")
        for m, n in zip(ms, ns):
            m.rollback(n)
