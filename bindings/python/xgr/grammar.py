"""Grammar: a grammar not yet compiled for a tokenizer."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Optional, Sequence, Tuple, Union

from . import _ffi
from ._ffi import C, Managed, _check


def _json_text(value: Any, what: str) -> bytes:
    """A JSON argument given as text (str/bytes) or as a Python value (dict, list, ...);
    pydantic models are accepted through ``model_json_schema``."""
    if isinstance(value, (str, bytes, bytearray)):
        return _ffi.to_bytes(value, what)
    if hasattr(value, "model_json_schema"):  # pydantic v2 model class
        value = value.model_json_schema()
    try:
        return json.dumps(value).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be JSON text or a JSON-serialisable value: {e}") from None


#: Opt-in approximations of the JSON Schema converter (``relax=`` of ``from_json_schema`` and
#: ``compile_json_schema``), by name; without them what cannot be expressed exactly is refused.
RELAXATIONS = {
    # A oneOf whose branches cannot be proven disjoint is treated as anyOf.
    "one_of_as_any_of": 1,
    # uniqueItems: true is ignored (duplicate items are accepted).
    "ignore_unique_items": 2,
    # Defined but inexpressible formats (regex, idn-email, idn-hostname) are ignored.
    "ignore_unsupported_formats": 4,
}


class StructuralTagItem:
    """One tag of the legacy structural-tag form: ``begin``, a JSON document valid for
    ``schema`` (a dict, JSON text or pydantic model class), ``end``."""

    def __init__(self, begin: str, schema: Union[str, dict, Any], end: str):
        self.begin = begin
        self.schema = schema
        self.end = end

    def __repr__(self) -> str:
        return f"StructuralTagItem(begin={self.begin!r}, schema={self.schema!r}, end={self.end!r})"


def _structural_tag_text(args: tuple, kwargs: dict) -> bytes:
    """The JSON text of a structural tag given as XGrammar accepts it: one argument (JSON
    text, a dict, or a pydantic ``StructuralTag`` instance), or the legacy ``(tags,
    triggers)`` pair of ``StructuralTagItem``-like objects (or dicts) and trigger strings."""
    if "tags" in kwargs or "triggers" in kwargs or len(args) == 2:
        if len(args) == 2:
            tags, triggers = args
        else:
            tags = kwargs.get("tags", args[0] if args else None)
            triggers = kwargs.get("triggers")
        if tags is None or triggers is None:
            raise TypeError("the legacy form needs both tags and triggers")
        structures = []
        for t in tags:
            get = (lambda k: t[k]) if isinstance(t, dict) else (lambda k: getattr(t, k))
            schema = get("schema")
            if not isinstance(schema, (str, bytes, bytearray)):
                schema = json.loads(_json_text(schema, "schema"))
            else:
                schema = json.loads(schema)
            structures.append({"begin": get("begin"), "schema": schema, "end": get("end")})
        doc = {"type": "structural_tag", "structures": structures, "triggers": list(triggers)}
        return json.dumps(doc).encode("utf-8")
    if len(args) + len(kwargs) != 1:
        raise TypeError("expected one structural tag, or tags and triggers")
    value = args[0] if args else next(iter(kwargs.values()))
    if hasattr(value, "model_dump_json") and not isinstance(value, type):
        return value.model_dump_json().encode("utf-8")  # a pydantic StructuralTag instance
    return _json_text(value, "structural_tag")


def _schema_options(
    any_whitespace: bool,
    indent: Optional[int],
    separators: Optional[Tuple[str, str]],
    strict_mode: bool,
    max_whitespace_cnt: Optional[int],
    relax: Sequence[str] = (),
):
    """``xgr_json_schema_options`` and the byte strings it points to (keep them alive).
    ``relax`` names opt-in approximations: see ``RELAXATIONS``."""
    opts = C.xgr_json_schema_options_default()
    opts.any_whitespace = bool(any_whitespace)
    opts.strict_mode = bool(strict_mode)
    if indent is not None:
        if int(indent) < 0:
            raise _ffi.InvalidArgumentError(
                f"indent must be >= 0 or None, got {indent}", _ffi.XGR_ERR_INVALID_ARGUMENT
            )
        opts.indent = int(indent)
    keep = []
    if separators is not None:
        if len(separators) != 2:
            raise _ffi.InvalidArgumentError(
                "separators must be a pair (item_separator, key_separator)",
                _ffi.XGR_ERR_INVALID_ARGUMENT,
            )
        item, key = (_ffi.to_bytes(s, "a separator") for s in separators)
        if b"\0" in item or b"\0" in key:
            raise _ffi.InvalidArgumentError(
                "separators must not contain NUL", _ffi.XGR_ERR_INVALID_ARGUMENT
            )
        keep = [item, key]
        opts.item_separator = item
        opts.key_separator = key
    if max_whitespace_cnt is not None:
        if int(max_whitespace_cnt) <= 0:
            raise _ffi.InvalidArgumentError(
                f"max_whitespace_cnt must be positive or None, got {max_whitespace_cnt}",
                _ffi.XGR_ERR_INVALID_ARGUMENT,
            )
        opts.max_whitespace = int(max_whitespace_cnt)
    if isinstance(relax, str):
        relax = (relax,)
    for name in relax:
        if name not in RELAXATIONS:
            raise _ffi.InvalidArgumentError(
                f"unknown relaxation {name!r} (known: {', '.join(sorted(RELAXATIONS))})",
                _ffi.XGR_ERR_INVALID_ARGUMENT,
            )
        opts.relax |= RELAXATIONS[name]
    return opts, keep


def _root_name(root_rule_name: Optional[str]) -> Optional[bytes]:
    if root_rule_name is None:
        return None
    b = _ffi.to_bytes(root_rule_name, "root_rule_name")
    if b"\0" in b:
        raise _ffi.InvalidArgumentError(
            "root_rule_name must not contain NUL", _ffi.XGR_ERR_INVALID_ARGUMENT
        )
    return b


class Grammar(Managed):
    """A grammar: from EBNF, a JSON Schema, a regex or a structural tag, or the builtin JSON
    grammar; combine with :meth:`union` and :meth:`concat`. ``str(grammar)`` is its EBNF
    (which re-parses to the same language). Immutable; share freely between threads."""

    _free = staticmethod(C.xgr_grammar_free)

    def __init__(self, handle):
        # Grammars are made by the from_* constructors; this wraps an owned handle.
        super().__init__(handle)

    @staticmethod
    def _make(call) -> "Grammar":
        out = _ffi.P_grammar()
        _check(call(ctypes.byref(out)))
        return Grammar(out)

    @staticmethod
    def from_ebnf(ebnf_string: str, *, root_rule_name: str = "root") -> "Grammar":
        """Parses XGrammar's EBNF dialect (a superset of GBNF)."""
        src = _ffi.to_bytes(ebnf_string, "ebnf_string")
        root = _root_name(root_rule_name)
        return Grammar._make(lambda out: C.xgr_grammar_from_ebnf(src, len(src), root, out))

    @staticmethod
    def from_json_schema(
        schema: Union[str, dict, Any],
        *,
        any_whitespace: bool = True,
        indent: Optional[int] = None,
        separators: Optional[Tuple[str, str]] = None,
        strict_mode: bool = True,
        max_whitespace_cnt: Optional[int] = None,
        relax: Sequence[str] = (),
    ) -> "Grammar":
        """A grammar of the JSON documents a JSON Schema validates (``schema``: JSON text, a
        dict, or a pydantic model class)."""
        text = _json_text(schema, "schema")
        opts, _keep = _schema_options(
            any_whitespace, indent, separators, strict_mode, max_whitespace_cnt, relax
        )
        return Grammar._make(
            lambda out: C.xgr_grammar_from_json_schema(text, len(text), ctypes.byref(opts), out)
        )

    @staticmethod
    def from_regex(regex_string: str) -> "Grammar":
        """A grammar of exactly the strings the regular expression matches (whole match)."""
        src = _ffi.to_bytes(regex_string, "regex_string")
        return Grammar._make(lambda out: C.xgr_grammar_from_regex(src, len(src), out))

    @staticmethod
    def from_structural_tag(*args: Any, **kwargs: Any) -> "Grammar":
        """A grammar from XGrammar's structural-tag format: ``from_structural_tag(tag)`` with
        JSON text, a dict (``{"type": "structural_tag", "format": {...}}``) or a pydantic
        ``StructuralTag``; or the legacy ``from_structural_tag(tags, triggers)`` with
        :class:`StructuralTagItem` s."""
        text = _structural_tag_text(args, kwargs)
        return Grammar._make(lambda out: C.xgr_grammar_from_structural_tag(text, len(text), out))

    @staticmethod
    def builtin_json_grammar() -> "Grammar":
        """Any JSON value (RFC 8259)."""
        return Grammar._make(C.xgr_grammar_builtin_json)

    @staticmethod
    def _combine(fn, grammars) -> "Grammar":
        if len(grammars) == 1 and isinstance(grammars[0], (list, tuple)):
            grammars = tuple(grammars[0])
        for g in grammars:
            if not isinstance(g, Grammar):
                raise TypeError(f"expected Grammar objects, got {type(g).__name__}")
        arr = (_ffi.P_grammar * len(grammars))(*(g.handle for g in grammars))
        return Grammar._make(lambda out: fn(arr, len(grammars), out))

    @staticmethod
    def union(*grammars: "Grammar") -> "Grammar":
        """Strings any of the grammars matches."""
        return Grammar._combine(C.xgr_grammar_union, grammars)

    @staticmethod
    def concat(*grammars: "Grammar") -> "Grammar":
        """Concatenations of strings of the grammars, in order."""
        return Grammar._combine(C.xgr_grammar_concat, grammars)

    def to_ebnf(self) -> str:
        h = self.handle
        data = _ffi.read_string(lambda buf, cap, n: C.xgr_grammar_to_ebnf(h, buf, cap, n))
        return data.decode("utf-8")

    def __str__(self) -> str:
        return self.to_ebnf()

    def __repr__(self) -> str:
        if self.closed:
            return "Grammar(<closed>)"
        return f"Grammar({self.to_ebnf()!r})"
