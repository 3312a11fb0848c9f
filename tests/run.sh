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

step "CUDA kernel PTX is current (scripts/build-ptx.sh --check)"
if [ -f target/tools/nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so.12 ] || [ -n "${XGR_NVRTC:-}" ]; then
  bash scripts/build-ptx.sh --check
else
  echo "skipped: NVRTC is not installed in target/tools (bash scripts/build-ptx.sh installs it);"
  echo "cargo test checked the PTX's recorded source hash"
fi

step "GPU tests (tests/gpu/run.sh --quick; skipped without a GPU)"
bash tests/gpu/run.sh --quick

step "C ABI: header, CMake package, C/C++ tests under CTest (plain and ASan+UBSan), consumer"
XGR_FFI_CARGO_TARGET_DIR="${XGR_FFI_CARGO_TARGET_DIR:-$PWD/target}" bash tests/ffi.sh

step "Python package: ctypes bindings, shared suites, pip install"
bash tests/python.sh

echo
echo "all tests passed"
