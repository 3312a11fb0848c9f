#!/usr/bin/env python3
"""Converts the data-driven grammar suites (tests/data/suites/*.toml) into a line-oriented,
length-prefixed text format that tests/c/test_suites.c parses without a TOML library.

Usage: python3 suite_to_lines.py -o OUT SUITE.toml [SUITE.toml ...]   (Python 3.11+, stdlib)

Format (every <len> is a decimal byte count of the UTF-8 payload that follows on the next
line; the payload is followed by one "\\n", which is not part of it, so payloads may hold any
bytes, newlines included):

    XGR-SUITE 1
    N <number of cases in all the files>
    F <len>\\n<file name>\\n          starts the cases of one TOML file
    T <len>\\n<case name>\\n          starts a case; then exactly one source:
    E <len>\\n<EBNF, root rule "root">\\n
    R <len>\\n<regex>\\n
    B json\\n                         the builtin JSON grammar
    J <len>\\n<JSON Schema>\\n        (a TOML table is serialised with json.dumps)
    S <len>\\n<structural tag JSON>\\n
    then either ERR <len>\\n<substring of the compile error>\\n
    or any number of A <len>\\n<accepted string>\\n and X <len>\\n<rejected string>\\n
    END                              ends the case

The conversion is strict: an unknown key, a case without exactly one grammar source, an error
case with accept/reject strings, or a file without cases is an error (exit status 1), so a
suite the C runner would not understand is never silently skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

SOURCES = {"ebnf": "E", "regex": "R", "builtin": "B", "json_schema": "J", "structural_tag": "S"}
KNOWN = {"name", "accept", "reject", "error", *SOURCES}


class SuiteError(Exception):
    pass


def _record(out: bytearray, tag: str, payload: str) -> None:
    data = payload.encode("utf-8")
    out += f"{tag} {len(data)}\n".encode("ascii")
    out += data
    out += b"\n"


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _strings(case: dict, key: str, where: str) -> list[str]:
    value = case.get(key, [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise SuiteError(f"{where}: `{key}` must be an array of strings")
    return value


def convert_case(out: bytearray, case: object, where: str) -> None:
    if not isinstance(case, dict):
        raise SuiteError(f"{where}: a [[test]] entry must be a table")
    unknown = sorted(set(case) - KNOWN)
    if unknown:
        raise SuiteError(f"{where}: unknown keys {unknown} (teach suite_to_lines.py and test_suites.c)")
    name = case.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{where}: `name` must be a non-empty string")
    where = f"{where} ({name})"
    sources = [k for k in SOURCES if k in case]
    if len(sources) != 1:
        raise SuiteError(f"{where}: needs exactly one grammar source of {sorted(SOURCES)}, has {sources}")
    accept = _strings(case, "accept", where)
    reject = _strings(case, "reject", where)
    error = case.get("error")
    if error is not None:
        if not isinstance(error, str) or not error:
            raise SuiteError(f"{where}: `error` must be a non-empty string")
        if accept or reject:
            raise SuiteError(f"{where}: an error case has no accept/reject strings")

    _record(out, "T", name)
    key = sources[0]
    value = case[key]
    if key == "builtin":
        if value != "json":
            raise SuiteError(f"{where}: unknown builtin {value!r} (only \"json\")")
        out += b"B json\n"
    elif key in ("json_schema", "structural_tag"):
        _record(out, SOURCES[key], _json_text(value))
    else:
        if not isinstance(value, str):
            raise SuiteError(f"{where}: `{key}` must be a string")
        _record(out, SOURCES[key], value)
    if error is not None:
        _record(out, "ERR", error)
    for s in accept:
        _record(out, "A", s)
    for s in reject:
        _record(out, "X", s)
    out += b"END\n"


def convert(paths: list[Path]) -> bytes:
    body = bytearray()
    total = 0
    for path in paths:
        with open(path, "rb") as fh:
            try:
                suite = tomllib.load(fh)
            except tomllib.TOMLDecodeError as e:
                raise SuiteError(f"{path}: {e}") from e
        cases = suite.get("test", [])
        if not isinstance(cases, list) or not cases:
            raise SuiteError(f"{path}: no [[test]] cases")
        _record(body, "F", path.name)
        for i, case in enumerate(cases):
            convert_case(body, case, f"{path.name}: test #{i + 1}")
        total += len(cases)
    return f"XGR-SUITE 1\nN {total}\n".encode("ascii") + bytes(body)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True, type=Path, help="file to write")
    ap.add_argument("suites", nargs="+", type=Path, help="TOML suite files")
    args = ap.parse_args(argv)
    try:
        data = convert(sorted(args.suites))
    except (SuiteError, OSError) as e:
        print(f"suite_to_lines: {e}", file=sys.stderr)
        return 1
    # Written only once everything converted: a failed run leaves no stale partial output.
    tmp = args.output.with_name(args.output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
