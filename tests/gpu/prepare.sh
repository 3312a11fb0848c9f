#!/usr/bin/env bash
# Builds what tests/gpu/run.sh needs on a GPU machine without cargo: the cuda_check example
# and libxgr.so (release, stripped) in target/gpu (or $1). Run here, on x86-64 Linux, then send
# target/gpu along (e.g. `carry: ["target/gpu"]`) and run `bash tests/gpu/run.sh` there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${1:-$root/target/gpu}
cargo build --release --example cuda_check --lib
mkdir -p "$out"
cp target/release/examples/cuda_check "$out/cuda_check"
cp target/release/libxgr.so "$out/libxgr.so"
strip "$out/cuda_check" "$out/libxgr.so" 2>/dev/null || true
echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +dirty), built $(date -u +%FT%TZ) on $(uname -m)" >"$out/SOURCE"
ls -la "$out"
