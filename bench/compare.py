#!/usr/bin/env python3
"""Side-by-side JSONSchemaBench comparison: xgr and its peers, one after another, same inputs.

Runs, for each subset, `xgr bench` (the release binary, native timings), the project's Python
package through `../shared/peers/xgr_bench.py` (same call overhead as the peers), and the peer
scripts `../shared/peers/{xgrammar,llguidance}_bench.py`, each on the same tokenizer, subset,
limit and strict-mode setting, then prints one table per subset with every engine's figures
and xgr's ratio to each (xgr / peer: lower is better for xgr), and the pass counts.

    ~/.venv-peers/bin/python bench/compare.py --tokenizer llama3-128k --subsets Github_easy \\
        --limit 50
    ~/.venv-peers/bin/python bench/compare.py --all --limit 20 --markdown

Needs: a release build of the `xgr` binary (built here with cargo when missing), the peers'
venv (see ../shared/peers/README.md: `python3 -m venv ~/.venv-peers` and
`~/.venv-peers/bin/pip install xgrammar llguidance tokenizers numpy`), and the shared data.
An engine that is not installed is reported as such and skipped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XGR_SHARED", ROOT.parent / "shared"))
PEERS = SHARED / "peers"
DATA = SHARED / "data" / "jsonschemabench"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def last_json(out: str) -> dict | None:
    for line in reversed(out.splitlines()):
        if line.startswith("JSON "):
            return json.loads(line[5:])
    return None


def run(cmd: list[str], timeout: int, env: dict | None = None) -> tuple[dict | None, str]:
    log("  $", " ".join(cmd))
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(ROOT)
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    j = last_json(p.stdout)
    if j is None:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        return None, f"exit {p.returncode}: " + " | ".join(tail)
    return j, ""


def xgr_binary() -> Path:
    exe = ROOT / "target" / "release" / "xgr"
    if not exe.exists():
        log("building the release binary (cargo build --release)")
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=str(ROOT), check=True)
    return exe


def library() -> Path | None:
    for name in ("libxgr.so", "libxgr.dylib"):
        p = ROOT / "target" / "release" / name
        if p.exists():
            return p
    return None


def engines(args) -> list[tuple[str, list[str], dict | None]]:
    """(name, command without the subset arguments, environment) per engine."""
    common = ["--tokenizer", args.tokenizer]
    strict = "on" if args.strict else "off"
    out = []
    want = set(args.engines.split(","))
    if "xgr" in want:
        out.append(
            ("xgr", [str(xgr_binary()), "bench", *common, "--strict", strict], None)
        )
    py = args.python
    if "xgr-py" in want:
        lib = library()
        if lib is None:
            log("xgr-py: no target/release/libxgr.so (cargo build --release); skipped")
        else:
            env = dict(os.environ)
            env["PYTHONPATH"] = str(ROOT / "bindings" / "python")
            env["XGR_LIBRARY_PATH"] = str(lib)
            out.append(
                (
                    "xgr (Python)",
                    [py, str(PEERS / "xgr_bench.py"), *common, "--strict", strict],
                    env,
                )
            )
    if "xgrammar" in want:
        out.append(
            ("XGrammar", [py, str(PEERS / "xgrammar_bench.py"), *common, "--strict", strict], None)
        )
    if "llguidance" in want:
        out.append(("llguidance", [py, str(PEERS / "llguidance_bench.py"), *common], None))
    return out


def version_of(py: str, module: str) -> str:
    try:
        p = subprocess.run(
            [py, "-c", f"import importlib.metadata as m; print(m.version('{module}'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return p.stdout.strip() or "not installed"
    except Exception:  # noqa: BLE001 (any failure: report it as missing)
        return "not installed"


def fmt(x, unit="") -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}{unit}" if x < 100 else f"{x:.0f}{unit}"


def ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


COLS = [
    ("compile p50 ms", "compile_ms_p50"),
    ("compile p99 ms", "compile_ms_p99"),
    ("mask p50 us", "mask_us_p50"),
    ("mask p99 us", "mask_us_p99"),
    ("mask max us", "mask_us_max"),
    ("first mask p50 us", "first_mask_us_p50"),
]


def table(subset: str, results: list[tuple[str, dict | None, str]], markdown: bool) -> str:
    ref = next((j for n, j, _ in results if n == "xgr" and j), None)
    head = ["engine", "ok"] + [c for c, _ in COLS] + ["xgr/peer compile p50", "xgr/peer mask p50",
                                                      "xgr/peer mask p99"]
    rows = []
    for name, j, err in results:
        if j is None:
            rows.append([name, "-"] + [err[:60]] + [""] * (len(head) - 3))
            continue
        row = [name, f"{j['ok']}/{j['schemas']}"] + [fmt(j.get(k)) for _, k in COLS]
        if ref is not None and name != "xgr":
            row += [
                ratio(ref.get("compile_ms_p50"), j.get("compile_ms_p50")),
                ratio(ref.get("mask_us_p50"), j.get("mask_us_p50")),
                ratio(ref.get("mask_us_p99"), j.get("mask_us_p99")),
            ]
        else:
            row += ["", "", ""]
        rows.append(row)
    lines = [f"### {subset}" if markdown else f"== {subset}"]
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths)))
        lines += ["  ".join(str(c).rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokenizer", default="llama3-128k")
    ap.add_argument("--subsets", default="Github_easy", help="comma-separated subset names")
    ap.add_argument("--all", action="store_true", help="every subset of the data")
    ap.add_argument("--limit", type=int, default=20, help="schemas per subset")
    ap.add_argument("--strict", action=argparse.BooleanOptionalAction, default=True,
                    help="strict_mode for xgr and XGrammar (default on, XGrammar's default)")
    ap.add_argument("--engines", default="xgr,xgr-py,xgrammar,llguidance")
    ap.add_argument("--python", default=str(Path.home() / ".venv-peers" / "bin" / "python"),
                    help="the Python of the peers' venv")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per engine and subset")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args()

    subsets = (
        sorted(p.stem for p in DATA.glob("*.jsonl")) if args.all else args.subsets.split(",")
    )
    eng = engines(args)
    py = args.python
    print(
        f"# xgr vs peers, JSONSchemaBench, tokenizer {args.tokenizer}, {args.limit} schemas per "
        f"subset, strict_mode={'on' if args.strict else 'off'}"
    )
    print(
        f"# {datetime.datetime.now().isoformat(timespec='minutes')}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; xgrammar "
        f"{version_of(py, 'xgrammar')}, llguidance {version_of(py, 'llguidance')}"
    )
    totals: dict[str, list[int]] = {}
    for subset in subsets:
        log(f"subset {subset}")
        results = []
        for name, cmd, env in eng:
            j, err = run(cmd + ["--subset", subset, "--limit", str(args.limit)], args.timeout, env)
            results.append((name, j, err))
            if j:
                t = totals.setdefault(name, [0, 0])
                t[0] += j["ok"]
                t[1] += j["schemas"]
        print()
        print(table(subset, results, args.markdown))
    print()
    print("pass counts: " + ", ".join(f"{n} {ok}/{n_}" for n, (ok, n_) in totals.items()))
    print(
        "Ratios are xgr (native, `xgr bench`) over each peer: below 1.00x xgr is faster. "
        "Peer and `xgr (Python)` mask times include the Python-to-native call of each binding "
        "(about 1-2 us); `xgr` is timed inside Rust without it. Compile = schema text to a ready "
        "matcher, no cache; first mask includes any work deferred from compile."
    )


if __name__ == "__main__":
    main()
