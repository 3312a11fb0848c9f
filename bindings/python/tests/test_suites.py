"""The shared data-driven suites (tests/data/suites/*.toml) through the Python API, with the
expectations of the Rust runner tests/suites.rs: a byte-level toy tokenizer (ids 0-255 =
single bytes, RAW; 256 = "</s>", the stop token); `accept` = accept_string(s) and
is_completed(), then the stop token is accepted; `reject` = not (accept_string(s) and
is_completed()); `error` = building fails with a message containing the substring."""

from __future__ import annotations

import json

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

import pytest

import xgr
from conftest import BYTE_STOP, SUITES_DIR


def _cases():
    files = sorted(SUITES_DIR.glob("*.toml"))
    out = []
    for f in files:
        with open(f, "rb") as fh:
            suite = tomllib.load(fh)
        for case in suite.get("test", []):
            out.append(pytest.param(case, id=f"{f.stem}::{case['name']}"))
    return out


CASES = _cases()


def test_suite_is_present():
    assert (SUITES_DIR / "grammars.toml").is_file()
    assert len(CASES) >= 25


def _build(compiler: xgr.GrammarCompiler, case: dict) -> xgr.CompiledGrammar:
    if "ebnf" in case:
        g = xgr.Grammar.from_ebnf(case["ebnf"], root_rule_name="root")
    elif "regex" in case:
        g = xgr.Grammar.from_regex(case["regex"])
    elif case.get("builtin") == "json":
        g = xgr.Grammar.builtin_json_grammar()
    elif "json_schema" in case:
        schema = case["json_schema"]
        g = xgr.Grammar.from_json_schema(schema if isinstance(schema, str) else json.dumps(schema))
    elif "structural_tag" in case:
        tag = case["structural_tag"]
        g = xgr.Grammar.from_structural_tag(tag if isinstance(tag, str) else json.dumps(tag))
    else:
        raise AssertionError(f"{case['name']}: no grammar source")
    return compiler.compile_grammar(g)


@pytest.mark.parametrize("case", CASES)
def test_case(case, byte_compiler):
    name = case["name"]
    want_error = case.get("error")
    if want_error is not None:
        with pytest.raises(xgr.XGRError) as ei:
            _build(byte_compiler, case)
        assert want_error in ei.value.message, f"{name}: error {ei.value!r} lacks {want_error!r}"
        assert want_error in str(ei.value)
        return
    cg = _build(byte_compiler, case)
    for s in case.get("accept", []):
        with xgr.GrammarMatcher(cg) as m:
            assert m.accept_string(s) and m.is_completed(), f"{name}: should accept {s!r}"
            assert m.accept_token(BYTE_STOP), f"{name}: stop token after {s!r}"
            assert m.is_terminated()
    for s in case.get("reject", []):
        with xgr.GrammarMatcher(cg) as m:
            ok = m.accept_string(s) and m.is_completed()
            assert not ok, f"{name}: should reject {s!r}"
