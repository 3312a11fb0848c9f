"""xgr: exact next-token bitmasks for structured generation (XGrammar-compatible API).

The library is loaded with ctypes from ``XGR_LIBRARY_PATH``, else next to this package
(``pip install`` bundles it), else the repository's ``target/release`` (in-tree use).
numpy is the only dependency; torch tensors are accepted (and returned by
``allocate_token_bitmask``) when torch is importable.
"""

from . import testing
from ._ffi import (
    LIBRARY_PATH,
    BufferTooSmallError,
    CUDAError,
    CUDAUnavailableError,
    DeserializeError,
    GrammarSyntaxError,
    InternalError,
    InvalidArgumentError,
    InvalidJSONError,
    JSONSchemaError,
    LimitExceededError,
    NullArgumentError,
    RollbackError,
    TerminatedError,
    TokenizerError,
    XGRError,
    library_version,
)
from .compiler import CompiledGrammar, GrammarCompiler
from .grammar import Grammar, StructuralTagItem
from .matcher import (
    BatchGrammarMatcher,
    GrammarMatcher,
    allocate_token_bitmask,
    apply_token_bitmask_inplace,
    get_bitmask_shape,
    reset_token_bitmask,
)
from .tokenizer_info import TokenizerInfo, VocabType

__version__ = "0.1.0"

__all__ = [
    "BatchGrammarMatcher",
    "BufferTooSmallError",
    "CUDAError",
    "CUDAUnavailableError",
    "CompiledGrammar",
    "DeserializeError",
    "Grammar",
    "GrammarCompiler",
    "GrammarMatcher",
    "GrammarSyntaxError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidJSONError",
    "LIBRARY_PATH",
    "JSONSchemaError",
    "LimitExceededError",
    "NullArgumentError",
    "StructuralTagItem",
    "RollbackError",
    "TerminatedError",
    "TokenizerError",
    "TokenizerInfo",
    "VocabType",
    "XGRError",
    "allocate_token_bitmask",
    "apply_token_bitmask_inplace",
    "bitmask_dtype",
    "cuda_available",
    "get_bitmask_shape",
    "library_version",
    "reset_token_bitmask",
    "testing",
]


def cuda_available() -> bool:
    """Whether the library's CUDA kernel can run here (xgr addition)."""
    from ._ffi import C

    return bool(C.xgr_cuda_available())


def __getattr__(name):
    # `bitmask_dtype` is torch.int32 when torch is importable, else numpy.int32; resolved on
    # first use so that importing xgr never imports torch.
    if name == "bitmask_dtype":
        from .matcher import _bitmask_dtype

        return _bitmask_dtype()
    raise AttributeError(f"module 'xgr' has no attribute {name!r}")
