"""Structural tags through the Python API: the JSON format (text, dict), the legacy
(tags, triggers) form, matching on the byte-level tokenizer, and errors."""

from __future__ import annotations

import json

import pytest

import xgr
from conftest import BYTE_STOP

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

TAG = {
    "type": "structural_tag",
    "format": {
        "type": "triggered_tags",
        "triggers": ["<function="],
        "tags": [
            {"type": "tag", "begin": "<function=get_weather>",
             "content": {"type": "json_schema", "json_schema": WEATHER}, "end": "</function>"},
        ],
    },
}


def _accepts(cg, s: str) -> bool:
    with xgr.GrammarMatcher(cg) as m:
        return m.accept_string(s) and m.is_completed()


def test_json_format(byte_compiler):
    for cg in (
        byte_compiler.compile_structural_tag(TAG),
        byte_compiler.compile_structural_tag(json.dumps(TAG)),
        byte_compiler.compile_grammar(xgr.Grammar.from_structural_tag(TAG)),
    ):
        assert _accepts(cg, 'hi <function=get_weather>{"city": "Paris"}</function> bye')
        assert _accepts(cg, "no call at all")
        assert not _accepts(cg, '<function=get_weather>{"town": "Paris"}</function>')
        assert not _accepts(cg, "<function=other>{}</function>")
        with xgr.GrammarMatcher(cg) as m:
            assert m.accept_string("text")
            assert m.accept_token(BYTE_STOP)


def test_legacy_form(byte_compiler):
    tags = [xgr.StructuralTagItem(begin="<function=get_weather>", schema=WEATHER, end="</function>"),
            {"begin": "<function=get_time>", "schema": json.dumps({"type": "object"}), "end": "</function>"}]
    triggers = ["<function="]
    for cg in (
        byte_compiler.compile_structural_tag(tags, triggers),
        byte_compiler.compile_structural_tag(tags=tags, triggers=triggers),
        byte_compiler.compile_grammar(xgr.Grammar.from_structural_tag(tags, triggers)),
    ):
        assert _accepts(cg, 'a <function=get_weather>{"city": "x"}</function>')
        assert _accepts(cg, "<function=get_time>{}</function>")
        assert not _accepts(cg, "<function=get_weather>{}</function>")


def test_errors():
    with pytest.raises(xgr.InvalidJSONError):
        xgr.Grammar.from_structural_tag("{oops")
    with pytest.raises(xgr.GrammarSyntaxError) as ei:
        xgr.Grammar.from_structural_tag({"type": "structural_tag", "format": {"type": "nope"}})
    assert "format.type" in ei.value.message
    bad = json.loads(json.dumps(TAG))
    bad["format"]["triggers"] = ["<function=", "<tool>"]
    with pytest.raises(xgr.GrammarSyntaxError) as ei:
        xgr.Grammar.from_structural_tag(bad)
    assert "format.triggers[1]" in ei.value.message
    bad["format"]["tags"] = []
    with pytest.raises(xgr.GrammarSyntaxError):
        xgr.Grammar.from_structural_tag(bad)
    deep = {"type": "const_string", "value": "x"}
    for _ in range(60):
        deep = {"type": "optional", "content": deep}
    with pytest.raises(xgr.LimitExceededError):
        xgr.Grammar.from_structural_tag({"type": "structural_tag", "format": deep})
