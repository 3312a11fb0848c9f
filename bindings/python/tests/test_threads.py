"""Threads sharing one compiler and one compiled grammar (ctypes releases the GIL) get the
same masks as a sequential run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import xgr

DOCS = [
    '{"a": [1, 2, {"b": null}], "c": "d"}',
    '[true, false, "x\\"y", -0.5e10]',
    '{"key": {"nested": {"deep": [[], {}]}}}',
    '["\\u00e9t\\u00e9", 12345678901234567890]',
]


def masks_for(info, cg, doc: str) -> list[np.ndarray]:
    """Mask after every byte of the document (the matcher is created in the thread)."""
    m = xgr.GrammarMatcher(cg)
    out = []
    bm = np.zeros(xgr.get_bitmask_shape(1, info.vocab_size), dtype=np.int32)
    for ch in doc.encode():
        m.fill_next_token_bitmask(bm)
        out.append(bm.copy())
        assert m.accept_string(bytes([ch]))
    m.fill_next_token_bitmask(bm)
    out.append(bm.copy())
    assert m.is_completed()
    return out


def test_shared_compiled_grammar_same_masks(gpt2_info, gpt2_compiler):
    cg = gpt2_compiler.compile_builtin_json_grammar()
    want = [masks_for(gpt2_info, cg, d) for d in DOCS]
    jobs = DOCS * 3
    with ThreadPoolExecutor(max_workers=4) as ex:
        got = list(ex.map(lambda d: masks_for(gpt2_info, cg, d), jobs))
    for i, g in enumerate(got):
        w = want[i % len(DOCS)]
        assert len(g) == len(w)
        for a, b in zip(g, w):
            np.testing.assert_array_equal(a, b)


def test_concurrent_compiles_on_one_compiler(byte_info):
    compiler = xgr.GrammarCompiler(byte_info, max_threads=2)
    grammars = [f'root ::= "x{i}" [0-9]+' for i in range(8)] * 2

    def work(src):
        cg = compiler.compile_grammar(src)
        m = xgr.GrammarMatcher(cg)
        prefix = src.split('"')[1]
        return m.accept_string(prefix + "42") and m.is_completed()

    with ThreadPoolExecutor(max_workers=4) as ex:
        assert all(ex.map(work, grammars))
    assert compiler.get_cache_size_bytes() > 0
