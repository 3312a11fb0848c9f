"""TokenizerInfo: what every token id of a model means as bytes."""

from __future__ import annotations

import ctypes
import enum
import gzip
import json
import os
from ctypes import POINTER, c_char_p, c_int32, c_size_t
from typing import Any, List, Optional, Sequence, Union

from . import _ffi
from ._ffi import C, Managed, _check


class VocabType(enum.IntEnum):
    """How the tokens of a vocabulary encode bytes (XGrammar's values)."""

    RAW = 0
    """Tokens are the bytes as given."""
    BYTE_FALLBACK = 1
    """SentencePiece byte fallback: ``<0xHH>`` is a byte, ``▁`` is a space."""
    BYTE_LEVEL = 2
    """GPT-2 byte-level: the byte-to-unicode map."""


def _stop_list(stop_token_ids) -> Optional[List[int]]:
    if stop_token_ids is None:
        return None
    if isinstance(stop_token_ids, int):
        return [stop_token_ids]
    return [int(t) for t in stop_token_ids]


def _options(vocab_size, stop_token_ids, add_prefix_space=False):
    """Builds ``xgr_tokenizer_options``; returns it with the arrays it points to."""
    opts = C.xgr_tokenizer_options_default()
    if vocab_size is not None:
        if int(vocab_size) <= 0:
            raise _ffi.InvalidArgumentError(
                f"vocab_size must be positive, got {vocab_size}", _ffi.XGR_ERR_INVALID_ARGUMENT
            )
        opts.vocab_size = int(vocab_size)
    stops = _stop_list(stop_token_ids)
    keep = None
    if stops is not None:
        keep = _ffi.int32_array(stops)
        opts.stop_token_ids = ctypes.cast(keep, POINTER(c_int32))
        opts.num_stop_token_ids = len(stops)
    opts.add_prefix_space = bool(add_prefix_space)
    return opts, keep


class TokenizerInfo(Managed):
    """A tokenizer's vocabulary decoded to bytes, its vocabulary type, stop tokens and the
    model's (padded) vocabulary size. Immutable; share one between compilers and threads.

    ``encoded_vocab`` is the vocabulary as the tokenizer stores it (``"Ġhello"``,
    ``"<0x0A>"``, ``"▁the"``; ``str`` or ``bytes``), indexed by token id; ``vocab_type`` says
    how it encodes bytes. ``vocab_size`` is the model's vocabulary size when it is larger than
    the tokenizer's (padding). ``stop_token_ids`` default to the ones detected by name
    (``</s>``, ``<|endoftext|>``, ``<|eot_id|>``, ...).
    """

    _free = staticmethod(C.xgr_tokenizer_info_free)

    def __init__(
        self,
        encoded_vocab: Union[Sequence[bytes], Sequence[str]],
        vocab_type: VocabType = VocabType.RAW,
        *,
        vocab_size: Optional[int] = None,
        stop_token_ids: Optional[Union[List[int], int]] = None,
        add_prefix_space: bool = False,
    ):
        toks = [_ffi.to_bytes(t, "a token") for t in encoded_vocab]
        n = len(toks)
        ptrs = (c_char_p * n)(*toks)
        lens = (c_size_t * n)(*(len(t) for t in toks))
        opts, _keep = _options(vocab_size, stop_token_ids, add_prefix_space)
        out = _ffi.P_tokenizer_info()
        _check(
            C.xgr_tokenizer_info_from_vocab(
                ptrs, lens, n, int(VocabType(vocab_type)), ctypes.byref(opts), ctypes.byref(out)
            )
        )
        super().__init__(out)
        self._add_prefix_space = bool(add_prefix_space)
        self._hf_json: Optional[dict] = None
        self._init_caches()

    def _init_caches(self) -> None:
        self._decoded_vocab: Optional[List[bytes]] = None
        self._special: Optional[List[int]] = None

    @classmethod
    def _from_handle(cls, handle, add_prefix_space: bool, hf_json: Optional[dict]):
        self = cls.__new__(cls)
        Managed.__init__(self, handle)
        self._add_prefix_space = add_prefix_space
        self._hf_json = hf_json
        self._init_caches()
        return self

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def from_tokenizer_json(
        cls,
        path_or_json_text: Union[str, bytes, "os.PathLike[str]"],
        *,
        vocab_size: Optional[int] = None,
        stop_token_ids: Optional[Union[List[int], int]] = None,
    ) -> "TokenizerInfo":
        """Loads a Hugging Face ``tokenizer.json``: a path (``.gz`` files are decompressed) or
        the JSON text itself (``str`` or ``bytes``). The vocabulary type, ``add_prefix_space``
        and stop tokens are detected (``stop_token_ids`` overrides the latter)."""
        text = _read_json_source(path_or_json_text)
        opts, _keep = _options(vocab_size, stop_token_ids)
        out = _ffi.P_tokenizer_info()
        _check(
            C.xgr_tokenizer_info_from_hf_json(
                text, len(text), ctypes.byref(opts), ctypes.byref(out)
            )
        )
        try:
            parsed = json.loads(text)
        except ValueError:  # pragma: no cover - the library parsed it already
            parsed = None
        hf = parsed if isinstance(parsed, dict) else None
        return cls._from_handle(out, _prepends_space(hf) if hf else False, hf)

    @classmethod
    def from_huggingface(
        cls,
        tokenizer: Any,
        *,
        vocab_size: Optional[int] = None,
        stop_token_ids: Optional[Union[List[int], int]] = None,
    ) -> "TokenizerInfo":
        """From a ``transformers`` tokenizer (needs ``transformers``). Fast tokenizers are
        loaded from their ``tokenizer.json``; others from their vocabulary with the type
        guessed from its markers. ``stop_token_ids`` default to the tokenizer's EOS token."""
        try:
            import transformers  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "xgr.TokenizerInfo.from_huggingface needs the `transformers` package "
                "(pip install transformers); without it use "
                "xgr.TokenizerInfo.from_tokenizer_json('path/to/tokenizer.json')"
            ) from e
        if stop_token_ids is None:
            eos = getattr(tokenizer, "eos_token_id", None)
            if isinstance(eos, int):
                stop_token_ids = [eos]
            elif isinstance(eos, (list, tuple)) and eos:
                stop_token_ids = [int(t) for t in eos]
        vocab = tokenizer.get_vocab()
        tok_vocab = max(vocab.values()) + 1 if vocab else 0
        if vocab_size is None:
            vocab_size = max(tok_vocab, len(vocab))
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None and hasattr(backend, "to_str"):
            return cls.from_tokenizer_json(
                backend.to_str(), vocab_size=vocab_size, stop_token_ids=stop_token_ids
            )
        encoded: List[Union[str, bytes]] = [""] * tok_vocab
        for tok, i in vocab.items():
            encoded[i] = tok
        if any(t == "<0x0A>" for t in encoded):
            vt, prefix = VocabType.BYTE_FALLBACK, True
        elif any(t in ("Ġ", "Ċ") for t in encoded):
            vt, prefix = VocabType.BYTE_LEVEL, False
        else:
            vt, prefix = VocabType.RAW, False
        return cls(
            encoded,
            vt,
            vocab_size=vocab_size,
            stop_token_ids=stop_token_ids,
            add_prefix_space=prefix,
        )

    # -- properties -----------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """The model's (padded) vocabulary size: the width of a bitmask row in bits."""
        return int(C.xgr_tokenizer_info_vocab_size(self.handle))

    @property
    def vocab_type(self) -> VocabType:
        return VocabType(C.xgr_tokenizer_info_vocab_type(self.handle))

    @property
    def add_prefix_space(self) -> bool:
        if C.xgr_tokenizer_info_add_prefix_space is not None:
            return bool(C.xgr_tokenizer_info_add_prefix_space(self.handle))
        return self._add_prefix_space

    @property
    def prepend_space_in_tokenization(self) -> bool:
        """Deprecated XGrammar alias of :attr:`add_prefix_space`."""
        return self.add_prefix_space

    @property
    def stop_token_ids(self) -> List[int]:
        return _read_ids(C.xgr_tokenizer_info_stop_token_ids, self.handle)

    @property
    def special_token_ids(self) -> List[int]:
        """Ids that are never text: special added tokens, holes of the id space and padding."""
        if self._special is None:
            if C.xgr_tokenizer_info_special_token_ids is not None:
                self._special = _read_ids(C.xgr_tokenizer_info_special_token_ids, self.handle)
            else:
                # The C ABI does not expose them (yet): special added tokens of the
                # tokenizer.json, plus every id that decodes to nothing.
                ids = set(i for i, b in enumerate(self.decoded_vocab) if not b)
                if self._hf_json is not None:
                    for t in self._hf_json.get("added_tokens") or []:
                        if (
                            isinstance(t, dict)
                            and t.get("special")
                            and isinstance(t.get("id"), int)
                        ):
                            if 0 <= t["id"] < self.vocab_size:
                                ids.add(t["id"])
                self._special = sorted(ids)
        return list(self._special)

    @property
    def decoded_vocab(self) -> List[bytes]:
        """The bytes each id decodes to (empty for holes and padding), indexed by id."""
        if self._decoded_vocab is None:
            h = self.handle
            n = self.vocab_size
            cap = 1024
            buf = ctypes.create_string_buffer(cap)
            ln = c_size_t(0)
            out: List[bytes] = []
            fn = C.xgr_tokenizer_info_token_bytes
            for i in range(n):
                st = fn(h, i, buf, cap, ln)
                if st == _ffi.XGR_ERR_BUFFER_TOO_SMALL:
                    cap = ln.value
                    buf = ctypes.create_string_buffer(cap)
                    st = fn(h, i, buf, cap, ln)
                _check(st)
                out.append(buf.raw[: ln.value])
            self._decoded_vocab = out
        return list(self._decoded_vocab)

    def encode(self, text: Union[str, bytes]) -> List[int]:
        """Tokenizes ``text`` as a continuation (no special tokens), with the tokenizer this
        info was loaded from (``from_tokenizer_json``/``from_huggingface`` only; an xgr
        addition, for tests and demos)."""
        data = _ffi.to_bytes(text, "text")
        n = c_size_t(0)
        fn = C.xgr_tokenizer_info_encode
        st = fn(self.handle, data, len(data), None, 0, n)
        if st not in (_ffi.XGR_OK, _ffi.XGR_ERR_BUFFER_TOO_SMALL):
            _check(st)
        ids = (c_int32 * max(n.value, 1))()
        _check(fn(self.handle, data, len(data), ids, n.value, n))
        return list(ids[: n.value])

    def dump_metadata(self) -> str:
        return json.dumps(
            {
                "vocab_type": int(self.vocab_type),
                "vocab_size": self.vocab_size,
                "add_prefix_space": self.add_prefix_space,
                "stop_token_ids": self.stop_token_ids,
            }
        )

    def __repr__(self) -> str:
        if self.closed:
            return "TokenizerInfo(<closed>)"
        return (
            f"TokenizerInfo(vocab_size={self.vocab_size}, vocab_type={self.vocab_type.name}, "
            f"stop_token_ids={self.stop_token_ids})"
        )


def _read_ids(fn, handle) -> List[int]:
    n = fn(handle, None, 0)
    if n == 0:
        return []
    buf = (c_int32 * n)()
    n2 = fn(handle, buf, n)
    return list(buf[: min(n, n2)])


def _read_json_source(src) -> bytes:
    if isinstance(src, (bytes, bytearray)):
        data = bytes(src)
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data)
        return data
    if isinstance(src, os.PathLike):
        src = os.fspath(src)
    if not isinstance(src, str):
        raise TypeError(
            f"expected a path or the JSON text of a tokenizer.json, not {type(src).__name__}"
        )
    if src.lstrip().startswith("{"):
        return src.encode("utf-8")
    try:
        with open(src, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _ffi.TokenizerError(
            f"cannot read tokenizer file {src!r}: {e}", _ffi.XGR_ERR_TOKENIZER
        ) from e
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


_MARKER = "\u2581"


def _visit(v, f) -> None:
    if isinstance(v, dict):
        seq = v.get("pretokenizers") or v.get("normalizers")
        if v.get("type") == "Sequence" and isinstance(seq, list):
            for c in seq:
                _visit(c, f)
        else:
            f(v)


def _prepends_space(root: dict) -> bool:
    """Whether a tokenizer.json prepends a space (the library's detection, for the metadata
    the C ABI does not expose)."""
    yes = False

    def norm(c):
        nonlocal yes
        yes |= c.get("type") == "Prepend" and c.get("prepend") == _MARKER

    def pre(c):
        nonlocal yes
        if c.get("type") == "Metaspace":
            scheme = c.get("prepend_scheme")
            yes |= (
                scheme != "never" if scheme is not None else bool(c.get("add_prefix_space", True))
            )
        elif c.get("type") == "ByteLevel":
            yes |= c.get("add_prefix_space") is True

    _visit(root.get("normalizer"), norm)
    _visit(root.get("pre_tokenizer"), pre)
    return yes
