#!/usr/bin/env bash
# The one test command: formatting, lints, and every test suite of the project.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets -q -- -D warnings

step "cargo test"
cargo test -q

step "C ABI: header, CMake package, C/C++ tests under CTest (plain and ASan+UBSan), consumer"
XGR_FFI_CARGO_TARGET_DIR="${XGR_FFI_CARGO_TARGET_DIR:-$PWD/target}" bash tests/ffi.sh

step "Python package: ctypes bindings, shared suites, pip install"
bash tests/python.sh

echo
echo "all tests passed"
