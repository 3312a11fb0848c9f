"""Helpers used by tests (XGrammar's semi-public ``xgrammar.testing``)."""

from __future__ import annotations

import threading
from typing import List, Optional, Union

import numpy as np

from ._arrays import is_torch_tensor
from .compiler import GrammarCompiler
from .grammar import Grammar
from .matcher import GrammarMatcher
from .tokenizer_info import TokenizerInfo, VocabType

_lock = threading.Lock()
_compiler: Optional[GrammarCompiler] = None


def _empty_compiler() -> GrammarCompiler:
    """A compiler for a byte vocabulary (ids 0-255 = the bytes, no stop token): its
    matchers follow strings. (XGrammar uses an empty vocabulary, which xgr refuses.)"""
    global _compiler
    with _lock:
        if _compiler is None:
            info = TokenizerInfo([bytes([b]) for b in range(256)], VocabType.RAW, stop_token_ids=[])
            _compiler = GrammarCompiler(info, max_threads=1, cache_enabled=False)
        return _compiler


def _get_matcher_from_grammar(grammar: Union[Grammar, str], **kwargs) -> GrammarMatcher:
    """A matcher of ``grammar`` (a Grammar or EBNF text) over a byte vocabulary that
    terminates as soon as the grammar is complete."""
    compiled = _empty_compiler().compile_grammar(grammar)
    kwargs.setdefault("terminate_without_stop_token", True)
    return GrammarMatcher(compiled, **kwargs)


def _is_grammar_accept_string(
    grammar: Union[Grammar, str],
    input_str: Union[str, bytes],
    *,
    debug_print: bool = False,
    print_time: bool = False,
    require_termination: bool = True,
) -> bool:
    """Whether ``grammar`` (a Grammar or EBNF text) accepts ``input_str`` as a complete
    string (``require_termination=False``: as a prefix)."""
    matcher = _get_matcher_from_grammar(grammar)
    try:
        if not matcher.accept_string(input_str):
            return False
        return matcher.is_terminated() if require_termination else True
    finally:
        matcher.close()


def _bitmask_row(bitmask, index: int) -> np.ndarray:
    if is_torch_tensor(bitmask):
        bitmask = bitmask.detach().cpu().numpy()
    arr = np.asarray(bitmask)
    if arr.dtype != np.int32:
        raise TypeError(f"bitmask must have dtype int32, got {arr.dtype}")
    if arr.ndim == 1:
        if index != 0:
            raise IndexError(f"index {index} for a 1-D bitmask")
        return arr
    return arr[index]


def bitmask_to_bool_mask(bitmask, vocab_size: int, index: int = 0) -> np.ndarray:
    """Row ``index`` of a bitmask as a bool array of ``vocab_size`` (True = allowed)."""
    row = np.ascontiguousarray(_bitmask_row(bitmask, index)).astype("<i4", copy=False)
    bits = np.unpackbits(row.view(np.uint8), bitorder="little")
    if vocab_size > bits.size:
        raise ValueError(f"vocab_size {vocab_size} exceeds the {bits.size} bits of a row")
    return bits[:vocab_size].astype(bool)


def bool_mask_to_bitmask(bool_mask) -> np.ndarray:
    """A bool array (True = allowed) packed into one bitmask row of int32 words."""
    m = np.asarray(bool_mask, dtype=bool).ravel()
    words = (m.size + 31) // 32
    padded = np.zeros(words * 32, dtype=np.uint8)
    padded[: m.size] = m
    return np.packbits(padded, bitorder="little").view("<i4").astype(np.int32)


def _get_masked_tokens_from_bitmask(bitmask, vocab_size: int, index: int = 0) -> List[int]:
    """Ids ``< vocab_size`` whose bit is 0 (disallowed) in row ``index``."""
    return np.flatnonzero(~bitmask_to_bool_mask(bitmask, vocab_size, index)).tolist()


def _is_single_token_bitmask(bitmask, vocab_size: int, index: int = 0):
    """``(True, id)`` when exactly one token is allowed, else ``(False, -1)``."""
    allowed = np.flatnonzero(bitmask_to_bool_mask(bitmask, vocab_size, index))
    if allowed.size == 1:
        return True, int(allowed[0])
    return False, -1
