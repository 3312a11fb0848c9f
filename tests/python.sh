#!/usr/bin/env bash
# Python package tests: builds the library if needed, runs bindings/python/tests with the
# in-tree package (PYTHONPATH=bindings/python), then installs the package with pip into the
# venv and imports it from outside the repository.
#
# The venv lives in target/py-venv (numpy, pytest, tokenizers, setuptools, wheel). Without
# network an existing venv is reused; tests needing `tokenizers` or torch skip themselves.
# Environment: PYTHON (default python3), XGR_PY_SKIP_INSTALL=1 skips the pip-install smoke
# test, PYTEST_ARGS adds pytest arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

step() { printf '\n== %s\n' "$*"; }

PYTHON=${PYTHON:-python3}
VENV=$ROOT/target/py-venv
VPY=$VENV/bin/python

step "python venv ($VENV)"
if [ ! -x "$VPY" ]; then
  mkdir -p "$ROOT/target"
  "$PYTHON" -m venv "$VENV"
fi
have() { "$VPY" -c "import $1" >/dev/null 2>&1; }
missing=()
for mod in numpy pytest tokenizers setuptools wheel; do
  have "$mod" || missing+=("$mod")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! "$VPY" -m pip install -q --disable-pip-version-check "${missing[@]}"; then
    echo "pip could not install ${missing[*]} (no network?); continuing with what is there"
  fi
fi
for mod in numpy pytest; do
  have "$mod" || { echo "$mod is required in $VENV and could not be installed" >&2; exit 1; }
done
have tokenizers || echo "note: the tokenizers package is missing; its tests will be skipped"

step "cargo build --release --lib"
cargo build --release --lib -q

step "pytest bindings/python/tests (in-tree package)"
# shellcheck disable=SC2086
PYTHONPATH="$ROOT/bindings/python" XGR_LIBRARY_PATH= \
  "$VPY" -m pytest -q -rs -p no:cacheprovider "$ROOT/bindings/python/tests" ${PYTEST_ARGS:-}

if [ "${XGR_PY_SKIP_INSTALL:-0}" = "1" ]; then
  echo "XGR_PY_SKIP_INSTALL=1: skipping the pip install smoke test"
  exit 0
fi

step "pip install ./bindings/python + import smoke test"
if ! { have setuptools && have wheel; }; then
  echo "setuptools/wheel are not in $VENV (no network?): skipping the pip install smoke test"
  echo
  echo "python tests passed"
  exit 0
fi
# --no-build-isolation: build with the venv's setuptools and wheel, offline.
"$VPY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  --no-build-isolation "$ROOT/bindings/python"
rm -rf "$ROOT/bindings/python/build" "$ROOT/bindings/python/xgr.egg-info"
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
(cd "$smoke" && env -u PYTHONPATH XGR_LIBRARY_PATH= "$VPY" -c '
import pathlib, xgr
lib = pathlib.Path(xgr.LIBRARY_PATH)
assert lib.parent == pathlib.Path(xgr.__file__).parent, f"not the bundled library: {lib}"
info = xgr.TokenizerInfo([bytes([b]) for b in range(256)] + [b"</s>"], stop_token_ids=[256])
m = xgr.GrammarMatcher(xgr.GrammarCompiler(info).compile_grammar("root ::= [0-9]+"))
assert m.accept_string("42") and m.is_completed() and m.accept_token(256)
print("installed xgr", xgr.library_version(), "from", lib, "works")
')

echo
echo "python tests passed"
