#!/usr/bin/env bash
# GPU tests of the CUDA apply kernel: the kernel against the CPU oracle for f32/f16/bf16 over
# batch 1 to 4096 and vocab 32000 to 200019 (aligned and unaligned bases and strides, row
# indices, vocab_size below the logits width), a CUDA graph capture and replay, a benchmark at
# vocab 128256 (batch 1, 64, 4096; effective GB/s against device-to-device copy bandwidth),
# and, where torch sees the GPU, the Python package's CUDA tests.
#
# Usage: bash tests/gpu/run.sh [--quick]
# Prints "skipped: no GPU" and exits 0 on a machine without an NVIDIA driver and device.
#
# Binaries: with cargo, built here (cargo build --release --example cuda_check, offline).
# Without cargo (a GPU machine with only the driver), prebuilt ones are used from
# $XGR_GPU_PREBUILT (default target/gpu), made beforehand by `bash tests/gpu/prepare.sh`
# on an x86-64 Linux machine with cargo.
# Output is also written to $XGR_GPU_LOG (default target/gpu-run.log; $OUT/gpu-run.log when
# $OUT is set).
# Budget: under 10 minutes on one H200 including the build (about 2 minutes without it).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
quick=()
[ "${1:-}" = --quick ] && quick=(--quick)

have_gpu() {
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    return 0
  fi
  ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1' && [ -e /dev/nvidiactl ]
}
if ! have_gpu; then
  echo "skipped: no GPU (no NVIDIA driver or device on this machine)"
  exit 0
fi

log=${XGR_GPU_LOG:-${OUT:+$OUT/gpu-run.log}}
log=${log:-$root/target/gpu-run.log}
mkdir -p "$(dirname "$log")"
exec > >(tee "$log") 2>&1

echo "== gpu: $(date -u +%FT%TZ) $(uname -m)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || true

prebuilt=${XGR_GPU_PREBUILT:-$root/target/gpu}
if command -v cargo >/dev/null 2>&1 && [ "${XGR_GPU_USE_PREBUILT:-0}" != 1 ]; then
  echo "== gpu: building with cargo (release)"
  t0=$(date +%s)
  cargo build --release --offline --example cuda_check --lib || exit 1
  echo "built in $(($(date +%s) - t0)) s"
  check=$root/target/release/examples/cuda_check
  lib=$root/target/release/libxgr.so
else
  echo "== gpu: no cargo here: prebuilt binaries from $prebuilt"
  check=$prebuilt/cuda_check
  lib=$prebuilt/libxgr.so
  if [ ! -x "$check" ]; then
    echo "FAILED: $check is missing: run 'bash tests/gpu/prepare.sh' on a machine with cargo" >&2
    exit 1
  fi
  if [ -f "$prebuilt/SOURCE" ]; then
    echo "prebuilt from: $(cat "$prebuilt/SOURCE")"
  fi
fi

status=0
echo
echo "== gpu: kernel vs CPU oracle, graph capture, benchmark (cuda_check)"
timeout 480 "$check" --require-gpu "${quick[@]}" || status=1

echo
echo "== gpu: Python package on torch CUDA tensors"
if python3 -c 'import torch, numpy, pytest, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  if [ -f "$lib" ]; then
    XGR_LIBRARY_PATH=$lib PYTHONPATH=$root/bindings/python timeout 180 \
      python3 -m pytest -q -rs -p no:cacheprovider bindings/python/tests/test_torch.py || status=1
  else
    echo "skipped: $lib is missing"
  fi
else
  echo "skipped: python3 with torch (seeing the GPU), numpy and pytest is not available"
fi

echo
if [ $status = 0 ]; then echo "gpu tests: PASS"; else echo "gpu tests: FAIL"; fi
exit $status
