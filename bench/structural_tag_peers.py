#!/usr/bin/env python3
"""XGrammar on the inputs of `examples/structural_tag_bench.rs` (run that first: it writes
target/structural_tag_bench/tools{N}.json and tools{N}.txt).

For each tokenizer and tool count: compile time of the structural tag (median of 3, fresh
compiler without cache, max_threads as given), then mask-fill times along the document
(tokenized as a continuation), once on a fresh matcher ("cold") and once more ("warm").
Run from the repository root with the peers' venv:
  ~/.venv-peers/bin/python bench/structural_tag_peers.py --tokenizers llama3-128k,qwen3-151k
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent / "shared" / "peers"))
from common import LocalTokenizer, bit_is_set, pct  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokenizers", default="llama3-128k,qwen3-151k")
    ap.add_argument("--tools", default="50,400")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--dir", default="target/structural_tag_bench")
    args = ap.parse_args()
    import xgrammar as xg
    from importlib.metadata import version

    for name in args.tokenizers.split(","):
        tok = LocalTokenizer(name)
        meta = xg.TokenizerInfo._detect_metadata_from_hf(tok.json_str)
        info = xg.TokenizerInfo(tok.id_to_token, vocab_type=meta["vocab_type"],
                                vocab_size=tok.vocab_size, stop_token_ids=[tok.eos_id],
                                add_prefix_space=meta["add_prefix_space"])
        for n in [int(x) for x in args.tools.split(",")]:
            tag = (Path(args.dir) / f"tools{n}.json").read_text()
            doc = (Path(args.dir) / f"tools{n}.txt").read_text()
            times = []
            for _ in range(3):
                c = xg.GrammarCompiler(info, max_threads=args.threads, cache_enabled=False)
                t0 = time.perf_counter()
                cg = c.compile_structural_tag(tag)
                times.append(1000 * (time.perf_counter() - t0))
            tokens = tok.encode(doc)
            bm = xg.allocate_token_bitmask(1, tok.vocab_size)
            row = bm[0].numpy()
            res = {"engine": "xgrammar " + version("xgrammar"), "tokenizer": name, "tools": n,
                   "threads": args.threads, "compile_ms_p50": round(pct(times, 50), 1)}
            for phase in ["cold", "warm"]:
                m = xg.GrammarMatcher(cg)
                fills, ok = [], True
                for t in tokens:
                    t0 = time.perf_counter_ns()
                    m.fill_next_token_bitmask(bm, 0)
                    fills.append((time.perf_counter_ns() - t0) / 1000.0)
                    if not bit_is_set(row, t) or not m.accept_token(t):
                        ok = False
                        break
                res[phase] = {"p50_us": round(pct(fills, 50), 1), "p99_us": round(pct(fills, 99), 1),
                              "n": len(fills), "ok": ok}
            print("JSON " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
