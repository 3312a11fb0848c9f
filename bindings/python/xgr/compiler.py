"""GrammarCompiler and CompiledGrammar."""

from __future__ import annotations

import ctypes
from typing import Any, Optional, Sequence, Tuple, Union

from . import _ffi
from ._ffi import C, Managed, _check
from .grammar import Grammar, _json_text, _root_name, _schema_options, _structural_tag_text
from .tokenizer_info import TokenizerInfo


class CompiledGrammar(Managed):
    """A grammar compiled for one tokenizer. Immutable; share it between threads and
    matchers (each matcher holds its own reference)."""

    _free = staticmethod(C.xgr_compiled_grammar_free)

    def __init__(self, handle, tokenizer_info: TokenizerInfo, grammar: Optional[Grammar] = None):
        super().__init__(handle)
        self._tokenizer_info = tokenizer_info
        self._grammar = grammar

    @property
    def tokenizer_info(self) -> TokenizerInfo:
        return self._tokenizer_info

    @property
    def grammar(self) -> Optional[Grammar]:
        """The source grammar when it was compiled from a :class:`Grammar` object."""
        return self._grammar

    @property
    def vocab_size(self) -> int:
        return int(C.xgr_compiled_grammar_vocab_size(self.handle))

    @property
    def memory_size_bytes(self) -> int:
        """Bytes held: automata and the token classes computed so far."""
        return int(C.xgr_compiled_grammar_memory_bytes(self.handle))

    def __repr__(self) -> str:
        if self.closed:
            return "CompiledGrammar(<closed>)"
        return f"CompiledGrammar(vocab_size={self.vocab_size}, memory={self.memory_size_bytes})"


class GrammarCompiler(Managed):
    """Compiles grammars for one tokenizer and caches the results (bounded in bytes, least
    recently used evicted). Safe to share across threads; compile calls release the GIL and
    may run concurrently."""

    _free = staticmethod(C.xgr_compiler_free)

    def __init__(
        self,
        tokenizer_info: TokenizerInfo,
        *,
        max_threads: int = 8,
        cache_enabled: bool = True,
        cache_limit_bytes: int = -1,
    ):
        if not isinstance(tokenizer_info, TokenizerInfo):
            raise TypeError(
                f"tokenizer_info must be a TokenizerInfo, not {type(tokenizer_info).__name__}"
            )
        opts = C.xgr_compiler_options_default()
        opts.max_threads = int(max_threads)
        if not cache_enabled:
            opts.cache_limit_bytes = 0
        else:
            opts.cache_limit_bytes = int(cache_limit_bytes)
        out = _ffi.P_compiler()
        _check(C.xgr_compiler_new(tokenizer_info.handle, ctypes.byref(opts), ctypes.byref(out)))
        super().__init__(out)
        self._tokenizer_info = tokenizer_info
        self._cache_limit_bytes = int(cache_limit_bytes) if cache_enabled else 0

    @property
    def tokenizer_info(self) -> TokenizerInfo:
        return self._tokenizer_info

    @property
    def cache_limit_bytes(self) -> int:
        return self._cache_limit_bytes

    def _compile(self, call, grammar: Optional[Grammar] = None) -> CompiledGrammar:
        out = _ffi.P_compiled_grammar()
        _check(call(self.handle, ctypes.byref(out)))
        return CompiledGrammar(out, self._tokenizer_info, grammar)

    def compile_grammar(
        self, grammar: Union[str, Grammar], *, root_rule_name: str = "root"
    ) -> CompiledGrammar:
        """Compiles a :class:`Grammar` or EBNF text."""
        if isinstance(grammar, Grammar):
            g = grammar.handle
            return self._compile(lambda h, out: C.xgr_compiler_compile_grammar(h, g, out), grammar)
        src = _ffi.to_bytes(grammar, "grammar")
        root = _root_name(root_rule_name)
        return self._compile(
            lambda h, out: C.xgr_compiler_compile_ebnf(h, src, len(src), root, out)
        )

    def compile_json_schema(
        self,
        schema: Union[str, dict, Any],
        *,
        any_whitespace: bool = True,
        indent: Optional[int] = None,
        separators: Optional[Tuple[str, str]] = None,
        strict_mode: bool = True,
        max_whitespace_cnt: Optional[int] = None,
        relax: Sequence[str] = (),
    ) -> CompiledGrammar:
        text = _json_text(schema, "schema")
        opts, _keep = _schema_options(
            any_whitespace, indent, separators, strict_mode, max_whitespace_cnt, relax
        )
        return self._compile(
            lambda h, out: C.xgr_compiler_compile_json_schema(
                h, text, len(text), ctypes.byref(opts), out
            )
        )

    def compile_builtin_json_grammar(self) -> CompiledGrammar:
        return self._compile(C.xgr_compiler_compile_builtin_json)

    def compile_regex(self, regex: str) -> CompiledGrammar:
        src = _ffi.to_bytes(regex, "regex")
        return self._compile(lambda h, out: C.xgr_compiler_compile_regex(h, src, len(src), out))

    def compile_structural_tag(self, *args: Any, **kwargs: Any) -> CompiledGrammar:
        """``compile_structural_tag(tag)`` (JSON text, dict or pydantic ``StructuralTag``) or
        the legacy ``compile_structural_tag(tags, triggers)``."""
        text = _structural_tag_text(args, kwargs)
        return self._compile(
            lambda h, out: C.xgr_compiler_compile_structural_tag(h, text, len(text), out)
        )

    def clear_cache(self) -> None:
        C.xgr_compiler_clear_cache(self.handle)

    def get_cache_size_bytes(self) -> int:
        return int(C.xgr_compiler_cache_size_bytes(self.handle))

    def get_index_memory_bytes(self) -> int:
        """Bytes held by the compiler's index of its tokenizer, shared by every grammar it
        compiles (not dropped by ``clear_cache``)."""
        return int(C.xgr_compiler_index_memory_bytes(self.handle))
