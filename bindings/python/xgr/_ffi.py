"""ctypes bindings of the xgr C ABI (``include/xgr.h``).

This module is the only place that knows about C: it finds and loads the shared library,
declares ``argtypes``/``restype`` for every function the package calls, maps status codes to
exception classes (:func:`_check`) and provides :class:`Managed`, the base class of every
object that owns a library handle.

Calls go through :class:`ctypes.CDLL`, which releases the GIL for the duration of each call,
so compiling and filling masks on several Python threads runs in parallel inside the library.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_void_p,
)
from pathlib import Path
from typing import Callable, Optional

# ---------------------------------------------------------------------------------------------
# Locating and loading the library.

if sys.platform == "win32":
    LIBRARY_NAMES = ("xgr.dll",)
elif sys.platform == "darwin":
    LIBRARY_NAMES = ("libxgr.dylib",)
else:
    LIBRARY_NAMES = ("libxgr.so",)

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidate_paths() -> list[Path]:
    """Where the library is looked for, in order."""
    out: list[Path] = []
    env = os.environ.get("XGR_LIBRARY_PATH")
    if env:
        p = Path(env)
        if p.is_dir():
            out.extend(p / n for n in LIBRARY_NAMES)
        else:
            out.append(p)
        return out  # an explicit setting is never second-guessed
    # Bundled by `pip install` next to the package's modules (or beside the package).
    for d in (_PACKAGE_DIR, _PACKAGE_DIR.parent):
        out.extend(d / n for n in LIBRARY_NAMES)
    # In-tree use: the repository's target/release, found by walking up.
    for d in _PACKAGE_DIR.parents:
        if (d / "Cargo.toml").is_file():
            out.extend(d / "target" / "release" / n for n in LIBRARY_NAMES)
    return out


def find_library() -> Path:
    """The path of the shared library that will be (or was) loaded."""
    cands = _candidate_paths()
    for p in cands:
        if p.is_file():
            return p
    tried = "\n  ".join(str(p) for p in cands) or "(nothing)"
    raise ImportError(
        "xgr: cannot find the xgr shared library. Set XGR_LIBRARY_PATH to libxgr's path, "
        "install the package with `pip install ./bindings/python`, or build it in the "
        f"repository with `cargo build --release`. Tried:\n  {tried}"
    )


LIBRARY_PATH = find_library()
lib = ctypes.CDLL(str(LIBRARY_PATH))

# ---------------------------------------------------------------------------------------------
# Types.


class _Opaque(Structure):
    _fields_: list = []


class xgr_tokenizer_info(_Opaque):
    pass


class xgr_grammar(_Opaque):
    pass


class xgr_compiler(_Opaque):
    pass


class xgr_compiled_grammar(_Opaque):
    pass


class xgr_matcher(_Opaque):
    pass


class xgr_batch(_Opaque):
    pass


P_tokenizer_info = POINTER(xgr_tokenizer_info)
P_grammar = POINTER(xgr_grammar)
P_compiler = POINTER(xgr_compiler)
P_compiled_grammar = POINTER(xgr_compiled_grammar)
P_matcher = POINTER(xgr_matcher)
P_batch = POINTER(xgr_batch)

xgr_status = c_int
xgr_vocab_type = c_int
xgr_dtype = c_int


class xgr_tokenizer_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("vocab_size", c_int32),
        ("stop_token_ids", POINTER(c_int32)),
        ("num_stop_token_ids", c_size_t),
        ("add_prefix_space", c_bool),
    ]


class xgr_json_schema_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("any_whitespace", c_bool),
        ("indent", c_int32),
        ("item_separator", c_char_p),
        ("key_separator", c_char_p),
        ("strict_mode", c_bool),
        ("max_whitespace", c_int32),
        ("relax", c_uint32),
    ]


class xgr_compiler_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("max_threads", c_int32),
        ("cache_limit_bytes", c_int64),
        ("precompute", c_bool),
    ]


class xgr_matcher_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("override_stop_token_ids", POINTER(c_int32)),
        ("num_override_stop_token_ids", c_size_t),
        ("terminate_without_stop_token", c_bool),
    ]


P_i32 = POINTER(c_int32)
P_size = POINTER(c_size_t)
P_bool = POINTER(c_bool)

# Status codes (include/xgr.h, fixed once released).
XGR_OK = 0
XGR_ERR_NULL_ARGUMENT = 1
XGR_ERR_INVALID_ARGUMENT = 2
XGR_ERR_BUFFER_TOO_SMALL = 3
XGR_ERR_GRAMMAR_SYNTAX = 10
XGR_ERR_JSON_SCHEMA = 11
XGR_ERR_JSON = 12
XGR_ERR_TOKENIZER = 20
XGR_ERR_LIMIT_EXCEEDED = 30
XGR_ERR_TERMINATED = 40
XGR_ERR_ROLLBACK = 41
XGR_ERR_DESERIALIZE = 50
XGR_ERR_CUDA_UNAVAILABLE = 60
XGR_ERR_CUDA = 61
XGR_ERR_PANIC = 90

XGR_DTYPE_F32 = 0
XGR_DTYPE_F16 = 1
XGR_DTYPE_BF16 = 2

# ---------------------------------------------------------------------------------------------
# Function declarations: name -> (restype, argtypes). Every function the package calls is
# declared here (tests/test_ffi.py checks each against include/xgr.h and the loaded library).

FUNCTIONS: dict[str, tuple[object, list]] = {
    # status / version
    "xgr_status_name": (c_char_p, [xgr_status]),
    "xgr_last_error_message": (c_size_t, [c_char_p, c_size_t]),
    "xgr_version": (c_char_p, []),
    # tokenizer
    "xgr_tokenizer_options_default": (xgr_tokenizer_options, []),
    "xgr_tokenizer_info_from_hf_json": (
        xgr_status,
        [c_char_p, c_size_t, POINTER(xgr_tokenizer_options), POINTER(P_tokenizer_info)],
    ),
    "xgr_tokenizer_info_from_vocab": (
        xgr_status,
        [
            POINTER(c_char_p),
            P_size,
            c_size_t,
            xgr_vocab_type,
            POINTER(xgr_tokenizer_options),
            POINTER(P_tokenizer_info),
        ],
    ),
    "xgr_tokenizer_info_vocab_size": (c_int32, [P_tokenizer_info]),
    "xgr_tokenizer_info_vocab_type": (xgr_vocab_type, [P_tokenizer_info]),
    "xgr_tokenizer_info_stop_token_ids": (c_size_t, [P_tokenizer_info, P_i32, c_size_t]),
    "xgr_tokenizer_info_token_bytes": (
        xgr_status,
        [P_tokenizer_info, c_int32, c_char_p, c_size_t, P_size],
    ),
    "xgr_tokenizer_info_encode": (
        xgr_status,
        [P_tokenizer_info, c_char_p, c_size_t, P_i32, c_size_t, P_size],
    ),
    "xgr_tokenizer_info_clone": (P_tokenizer_info, [P_tokenizer_info]),
    "xgr_tokenizer_info_free": (None, [P_tokenizer_info]),
    # grammar
    "xgr_json_schema_options_default": (xgr_json_schema_options, []),
    "xgr_grammar_from_ebnf": (xgr_status, [c_char_p, c_size_t, c_char_p, POINTER(P_grammar)]),
    "xgr_grammar_from_json_schema": (
        xgr_status,
        [c_char_p, c_size_t, POINTER(xgr_json_schema_options), POINTER(P_grammar)],
    ),
    "xgr_grammar_from_regex": (xgr_status, [c_char_p, c_size_t, POINTER(P_grammar)]),
    "xgr_grammar_from_structural_tag": (xgr_status, [c_char_p, c_size_t, POINTER(P_grammar)]),
    "xgr_grammar_builtin_json": (xgr_status, [POINTER(P_grammar)]),
    "xgr_grammar_union": (xgr_status, [POINTER(P_grammar), c_size_t, POINTER(P_grammar)]),
    "xgr_grammar_concat": (xgr_status, [POINTER(P_grammar), c_size_t, POINTER(P_grammar)]),
    "xgr_grammar_to_ebnf": (xgr_status, [P_grammar, c_char_p, c_size_t, P_size]),
    "xgr_grammar_clone": (P_grammar, [P_grammar]),
    "xgr_grammar_free": (None, [P_grammar]),
    # compiler
    "xgr_compiler_options_default": (xgr_compiler_options, []),
    "xgr_compiler_new": (
        xgr_status,
        [P_tokenizer_info, POINTER(xgr_compiler_options), POINTER(P_compiler)],
    ),
    "xgr_compiler_compile_grammar": (
        xgr_status,
        [P_compiler, P_grammar, POINTER(P_compiled_grammar)],
    ),
    "xgr_compiler_compile_ebnf": (
        xgr_status,
        [P_compiler, c_char_p, c_size_t, c_char_p, POINTER(P_compiled_grammar)],
    ),
    "xgr_compiler_compile_json_schema": (
        xgr_status,
        [
            P_compiler,
            c_char_p,
            c_size_t,
            POINTER(xgr_json_schema_options),
            POINTER(P_compiled_grammar),
        ],
    ),
    "xgr_compiler_compile_regex": (
        xgr_status,
        [P_compiler, c_char_p, c_size_t, POINTER(P_compiled_grammar)],
    ),
    "xgr_compiler_compile_builtin_json": (xgr_status, [P_compiler, POINTER(P_compiled_grammar)]),
    "xgr_compiler_compile_structural_tag": (
        xgr_status,
        [P_compiler, c_char_p, c_size_t, POINTER(P_compiled_grammar)],
    ),
    "xgr_compiler_cache_size_bytes": (c_int64, [P_compiler]),
    "xgr_compiler_index_memory_bytes": (c_int64, [P_compiler]),
    "xgr_compiler_clear_cache": (None, [P_compiler]),
    "xgr_compiler_free": (None, [P_compiler]),
    "xgr_compiled_grammar_memory_bytes": (c_size_t, [P_compiled_grammar]),
    "xgr_compiled_grammar_vocab_size": (c_int32, [P_compiled_grammar]),
    "xgr_compiled_grammar_clone": (P_compiled_grammar, [P_compiled_grammar]),
    "xgr_compiled_grammar_free": (None, [P_compiled_grammar]),
    # matcher
    "xgr_matcher_options_default": (xgr_matcher_options, []),
    "xgr_matcher_new": (
        xgr_status,
        [P_compiled_grammar, POINTER(xgr_matcher_options), POINTER(P_matcher)],
    ),
    "xgr_matcher_accept_token": (xgr_status, [P_matcher, c_int32, P_bool]),
    "xgr_matcher_accept_string": (xgr_status, [P_matcher, c_char_p, c_size_t, P_bool]),
    "xgr_matcher_fill_next_token_bitmask": (xgr_status, [P_matcher, c_void_p, c_size_t, P_bool]),
    "xgr_matcher_rollback": (xgr_status, [P_matcher, c_size_t]),
    "xgr_matcher_find_jump_forward_string": (xgr_status, [P_matcher, c_char_p, c_size_t, P_size]),
    "xgr_matcher_is_terminated": (c_bool, [P_matcher]),
    "xgr_matcher_is_completed": (c_bool, [P_matcher]),
    "xgr_matcher_num_accepted": (c_size_t, [P_matcher]),
    "xgr_matcher_vocab_size": (c_int32, [P_matcher]),
    "xgr_matcher_reset": (xgr_status, [P_matcher]),
    "xgr_matcher_fork": (xgr_status, [P_matcher, POINTER(P_matcher)]),
    "xgr_matcher_free": (None, [P_matcher]),
    # batch
    "xgr_batch_new": (xgr_status, [c_int32, POINTER(P_batch)]),
    "xgr_batch_num_threads": (c_size_t, [P_batch]),
    "xgr_batch_fill_next_token_bitmask": (
        xgr_status,
        [P_batch, POINTER(P_matcher), c_size_t, c_void_p, c_size_t, P_i32],
    ),
    "xgr_batch_accept_token": (
        xgr_status,
        [P_batch, POINTER(P_matcher), P_i32, c_size_t, P_bool],
    ),
    "xgr_batch_free": (None, [P_batch]),
    # bitmask / logits
    "xgr_bitmask_words": (c_size_t, [c_int32]),
    "xgr_apply_token_bitmask_cpu": (
        xgr_status,
        [
            c_void_p,
            xgr_dtype,
            c_size_t,
            c_size_t,
            c_size_t,
            c_int32,
            c_void_p,
            c_size_t,
            P_i32,
            c_size_t,
        ],
    ),
    "xgr_cuda_available": (c_bool, []),
    "xgr_apply_token_bitmask_cuda": (
        xgr_status,
        [
            c_void_p,
            xgr_dtype,
            c_size_t,
            c_size_t,
            c_size_t,
            c_int32,
            c_void_p,
            c_size_t,
            c_void_p,
            c_size_t,
            c_void_p,
        ],
    ),
}

# Functions used when the library has them, with a fallback otherwise (not yet in the ABI).
OPTIONAL_FUNCTIONS: dict[str, tuple[object, list]] = {
    "xgr_tokenizer_info_special_token_ids": (c_size_t, [P_tokenizer_info, P_i32, c_size_t]),
    "xgr_tokenizer_info_add_prefix_space": (c_bool, [P_tokenizer_info]),
}


class _Functions:
    """Attribute access to the declared functions (``C.xgr_matcher_new(...)``)."""


C = _Functions()


def _declare(name: str, restype, argtypes, required: bool) -> None:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        if required:
            raise ImportError(
                f"xgr: the library {LIBRARY_PATH} lacks `{name}`; it is older than this "
                "Python package (rebuild it with `cargo build --release`)"
            ) from None
        setattr(C, name, None)
        return
    fn.restype = restype
    fn.argtypes = argtypes
    setattr(C, name, fn)


for _name, (_res, _args) in FUNCTIONS.items():
    _declare(_name, _res, _args, True)
for _name, (_res, _args) in OPTIONAL_FUNCTIONS.items():
    _declare(_name, _res, _args, False)


def library_version() -> str:
    return C.xgr_version().decode()


# ---------------------------------------------------------------------------------------------
# Errors.


class XGRError(RuntimeError):
    """Base class of every error the library reports. ``status`` is the C status code,
    ``status_name`` its name and ``message`` the library's message."""

    status: int = -1

    def __init__(self, message: str = "", status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def status_name(self) -> str:
        return C.xgr_status_name(self.status).decode()


class NullArgumentError(XGRError, ValueError):
    status = XGR_ERR_NULL_ARGUMENT


class InvalidArgumentError(XGRError, ValueError):
    status = XGR_ERR_INVALID_ARGUMENT


class BufferTooSmallError(XGRError):
    status = XGR_ERR_BUFFER_TOO_SMALL


class GrammarSyntaxError(XGRError):
    status = XGR_ERR_GRAMMAR_SYNTAX


class JSONSchemaError(XGRError):
    status = XGR_ERR_JSON_SCHEMA


class InvalidJSONError(XGRError):
    """Malformed JSON text (XGrammar's name for it)."""

    status = XGR_ERR_JSON


class TokenizerError(XGRError):
    status = XGR_ERR_TOKENIZER


class LimitExceededError(XGRError):
    status = XGR_ERR_LIMIT_EXCEEDED


class TerminatedError(XGRError):
    status = XGR_ERR_TERMINATED


class RollbackError(XGRError):
    status = XGR_ERR_ROLLBACK


class DeserializeError(XGRError):
    status = XGR_ERR_DESERIALIZE


class CUDAUnavailableError(XGRError):
    status = XGR_ERR_CUDA_UNAVAILABLE


class CUDAError(XGRError):
    status = XGR_ERR_CUDA


class InternalError(XGRError):
    """A panic inside the library, caught at the boundary."""

    status = XGR_ERR_PANIC


ERROR_CLASSES: dict[int, type[XGRError]] = {
    cls.status: cls
    for cls in (
        NullArgumentError,
        InvalidArgumentError,
        BufferTooSmallError,
        GrammarSyntaxError,
        JSONSchemaError,
        InvalidJSONError,
        TokenizerError,
        LimitExceededError,
        TerminatedError,
        RollbackError,
        DeserializeError,
        CUDAUnavailableError,
        CUDAError,
        InternalError,
    )
}


for _cls in (XGRError, *ERROR_CLASSES.values()):
    _cls.__module__ = "xgr"


def last_error_message() -> str:
    """The message of the last failure on the calling thread."""
    buf = ctypes.create_string_buffer(512)
    n = C.xgr_last_error_message(buf, len(buf))
    if n >= len(buf):
        buf = ctypes.create_string_buffer(n + 1)
        n = C.xgr_last_error_message(buf, len(buf))
    return buf.raw[:n].decode("utf-8", "replace")


def error_for(status: int, message: Optional[str] = None) -> XGRError:
    if message is None:
        message = last_error_message()
    cls = ERROR_CLASSES.get(status, XGRError)
    return cls(message, status)


def _check(status: int) -> None:
    """Raises the exception class of ``status`` with the library's message, unless it is OK."""
    if status != XGR_OK:
        raise error_for(status)


# ---------------------------------------------------------------------------------------------
# Helpers.


def to_bytes(s, what: str = "string") -> bytes:
    if isinstance(s, str):
        return s.encode("utf-8")
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    raise TypeError(f"{what} must be str or bytes, not {type(s).__name__}")


def read_string(call: Callable[[Optional[ctypes.Array], int, ctypes.c_size_t], int]) -> bytes:
    """Runs a ``(buf, cap, len_out)`` call, growing the buffer once when it is too small."""
    cap = 256
    for _ in range(4):
        buf = ctypes.create_string_buffer(cap)
        n = c_size_t(0)
        st = call(buf, cap, n)
        if st == XGR_ERR_BUFFER_TOO_SMALL and n.value > cap:
            cap = n.value
            continue
        _check(st)
        return buf.raw[: n.value]
    raise BufferTooSmallError("the output kept growing", XGR_ERR_BUFFER_TOO_SMALL)


def int32_array(values) -> Optional[ctypes.Array]:
    values = list(values)
    return (c_int32 * len(values))(*values)


def bool_arg(p: ctypes.c_bool) -> bool:
    return bool(p.value)


class Managed:
    """Owns one library handle and releases it with the class's ``_free`` function.

    ``close()`` releases it now (idempotent); ``with obj:`` closes on exit; ``__del__``
    closes whatever is left. A closed object raises ``ValueError`` when used.
    """

    _free: Callable = staticmethod(lambda h: None)
    _handle = None

    def __init__(self, handle):
        if not handle:
            raise InternalError("the library returned a NULL handle", XGR_ERR_PANIC)
        self._handle = handle

    @property
    def handle(self):
        h = self._handle
        if h is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return h

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        h, self._handle = self._handle, None
        if h is not None:
            type(self)._free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass
