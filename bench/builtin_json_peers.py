#!/usr/bin/env python3
"""The builtin-JSON-grammar benchmark of `xgr bench` run on the peers (XGrammar, llguidance).

Same protocol as `xgr bench --grammar json`: the first valid instance of each
JSONSchemaBench schema in --subset (first --limit), serialized compactly, tokenized as a
continuation, walked token by token with one mask fill timed per token; the grammar is
"any JSON" (XGrammar's builtin JSON grammar; llguidance's `%json {}`), compiled once.

Uses ../shared/peers/common.py for tokenizer loading, cases and percentiles.
Run from the repository root with the peers' venv:
  ~/.venv-peers/bin/python bench/builtin_json_peers.py --tokenizer llama3-128k --subset Github_easy --limit 100
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent / "shared" / "peers"))
from common import LocalTokenizer, arg_parser, bit_is_set, cases_from_args, compact, pct  # noqa: E402


def summary(engine, compile_ms, first, later):
    allm = first + later
    return {
        "engine": engine,
        "compile_ms_p50": round(pct(compile_ms, 50), 3),
        "mask_us_p50": round(pct(allm, 50), 2),
        "mask_us_p90": round(pct(allm, 90), 2),
        "mask_us_p99": round(pct(allm, 99), 2),
        "mask_us_max": round(max(allm), 2),
        "first_mask_us_p50": round(pct(first, 50), 2),
        "later_mask_us_p99": round(pct(later, 99), 2),
        "tokens": len(allm),
    }


def walk(cases, tok, fill, allowed, advance, eos_ok, reset):
    first, later, ok = [], [], 0
    for _case, _schema, doc in cases:
        tokens = tok.encode(compact(doc))
        reset()
        good = True
        for i, t in enumerate(tokens):
            t0 = time.perf_counter_ns()
            fill()
            (first if i == 0 else later).append((time.perf_counter_ns() - t0) / 1000.0)
            if not allowed(t) or not advance(t):
                good = False
                break
        if good:
            fill()
            good = eos_ok()
        ok += good
    return first, later, ok


def run_xgrammar(tok, cases):
    import xgrammar as xgr

    meta = xgr.TokenizerInfo._detect_metadata_from_hf(tok.json_str)
    info = xgr.TokenizerInfo(tok.id_to_token, vocab_type=meta["vocab_type"], vocab_size=tok.vocab_size,
                             stop_token_ids=[tok.eos_id], add_prefix_space=meta["add_prefix_space"])
    compile_ms = []
    for _ in range(5):
        c = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        t0 = time.perf_counter()
        cg = c.compile_builtin_json_grammar()
        compile_ms.append(1000 * (time.perf_counter() - t0))
    state = {}
    bm = xgr.allocate_token_bitmask(1, tok.vocab_size)
    row = bm[0].numpy()

    def reset():
        state["m"] = xgr.GrammarMatcher(cg)

    first, later, ok = walk(
        cases, tok,
        fill=lambda: state["m"].fill_next_token_bitmask(bm, 0),
        allowed=lambda t: bit_is_set(row, t),
        advance=lambda t: state["m"].accept_token(t),
        eos_ok=lambda: bit_is_set(row, tok.eos_id),
        reset=reset,
    )
    from importlib.metadata import version

    s = summary("xgrammar " + version("xgrammar"), compile_ms, first, later)
    s["ok"] = ok
    return s


def run_llguidance(tok, cases):
    from importlib.metadata import version

    import llguidance
    import llguidance.numpy as llnp

    lltok = llguidance.LLTokenizer(tok.json_str, n_vocab=tok.vocab_size, eos_token=tok.eos_id)
    compile_ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        grm = llguidance.LLMatcher.grammar_from_lark("start: %json {}")
        m = llguidance.LLMatcher(lltok, grm, log_level=0)
        compile_ms.append(1000 * (time.perf_counter() - t0))
    bm = llnp.allocate_token_bitmask(1, lltok.vocab_size)
    state = {}

    def reset():
        state["m"] = llguidance.LLMatcher(lltok, grm, log_level=0)

    first, later, ok = walk(
        cases, tok,
        fill=lambda: llnp.fill_next_token_bitmask(state["m"], bm, 0),
        allowed=lambda t: bit_is_set(bm[0], t),
        advance=lambda t: state["m"].consume_token(t),
        eos_ok=lambda: bit_is_set(bm[0], tok.eos_id),
        reset=reset,
    )
    s = summary("llguidance " + version("llguidance"), compile_ms, first, later)
    s["ok"] = ok
    return s


def main():
    ap = arg_parser(__doc__)
    ap.add_argument("--engines", default="xgrammar,llguidance")
    args = ap.parse_args()
    tok = LocalTokenizer(args.tokenizer)
    cases = cases_from_args(args)
    for e in args.engines.split(","):
        try:
            s = run_xgrammar(tok, cases) if e == "xgrammar" else run_llguidance(tok, cases)
        except ImportError as err:
            s = {"engine": e, "error": f"not installed: {err}"}
        s["schemas"] = len(cases)
        print("JSON " + json.dumps(s), flush=True)


if __name__ == "__main__":
    main()
