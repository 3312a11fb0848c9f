#!/usr/bin/env bash
# The C ABI end to end: header freshness and versions, the CMake build, the C/C++ tests under
# CTest (plain and ASan+UBSan), install (SONAME, symlinks, xgrConfig.cmake, xgr.pc) and the
# example consumer built both ways (add_subdirectory and find_package).
#
# Usage: bash tests/ffi.sh          (from anywhere; called by tests/run.sh)
# Env:   XGR_FFI_KEEP=1             keep the temporary directory
#        XGR_FFI_JOBS=N             parallel build/test jobs (default 2)
#        XGR_FFI_CARGO_TARGET_DIR   cargo target directory of the CMake builds (default target/cmake)
#
# Missing tools (cmake, a C/C++ compiler, pkg-config, gzip, readelf) are installed with apt-get
# on Debian/Ubuntu; cbindgen is installed by scripts/gen-header.sh when missing. All CMake
# builds share one cargo target directory (target/cmake, dev profile), so only the first run
# compiles the dependencies (a few minutes); later runs take well under a minute.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${XGR_FFI_JOBS:-2}

step() { printf '\n== ffi: %s\n' "$*"; }
fail() {
  echo "ffi: FAILED: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
step "tools"
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "missing ${need[*]} and no apt-get to install them"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing ${need[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || fail "cargo is required (https://rustup.rs)"
cmake --version | head -1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xgr-ffi.XXXXXX")
if [ "${XGR_FFI_KEEP:-0}" = 1 ]; then
  echo "keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

# ---------------------------------------------------------------------------------------------
step "header is up to date (scripts/gen-header.sh)"
bash scripts/gen-header.sh "$tmp/xgr.h"
if ! diff -u include/xgr.h "$tmp/xgr.h"; then
  fail "include/xgr.h is stale: run scripts/gen-header.sh and commit the result"
fi

step "versions: Cargo.toml = header macros (= xgr_version(), checked by xgr_test_abi)"
cargo_version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && $1 == "version" { gsub(/[" ]/, "", $0); sub(/^version=/, "", $0); print; exit }
' Cargo.toml)
macro() { sed -n "s/^#define $1 \(.*\)$/\1/p" include/xgr.h; }
header_version="$(macro XGR_VERSION_MAJOR).$(macro XGR_VERSION_MINOR).$(macro XGR_VERSION_PATCH)"
[ "$header_version" = "${cargo_version%%[-+]*}" ] || fail "header macros $header_version != Cargo.toml $cargo_version"
[ "$(macro XGR_VERSION)" = "\"$cargo_version\"" ] || fail "XGR_VERSION $(macro XGR_VERSION) != Cargo.toml $cargo_version"
echo "version $cargo_version"
IFS=. read -r major minor _patch <<<"${cargo_version%%[-+]*}"
if [ "$major" = 0 ]; then soname="libxgr.so.0.$minor"; else soname="libxgr.so.$major"; fi

# ---------------------------------------------------------------------------------------------
# A cargo target directory of its own: `cargo build` in target/ would overwrite the cdylib
# (built here with a SONAME) and recompile the crate on every alternation.
cargo_dir=${XGR_FFI_CARGO_TARGET_DIR:-$root/target/cmake}
common=(-DCMAKE_BUILD_TYPE=Debug "-DXGR_CARGO_TARGET_DIR=$cargo_dir")

step "CMake build (library via cargo, C/C++ tests plain and with ASan+UBSan)"
cmake -S . -B "$tmp/build" "${common[@]}" -DXGR_BUILD_TESTS=ON -DXGR_SANITIZER_TESTS=ON >"$tmp/configure.log" \
  || { cat "$tmp/configure.log"; fail "configure"; }
cmake --build "$tmp/build" -j "$jobs"

step "CTest"
(cd "$tmp/build" && ctest --output-on-failure -j "$jobs")
(cd "$tmp/build" && ctest -N) >"$tmp/tests.txt"
for t in xgr_test_abi_asan xgr_test_gpt2_asan xgr_test_threads_gpt2_asan xgr_test_cpp_asan xgr_asan_canary \
  xgr_test_header_c xgr_test_header_cpp xgr_test_suites xgr_test_suites_asan; do
  grep -q " $t\$" "$tmp/tests.txt" || fail "test $t is not registered"
done
readelf -d "$tmp/build/tests/c/xgr_test_abi_asan" >"$tmp/asan-dyn.txt"
grep -q 'NEEDED.*libasan' "$tmp/asan-dyn.txt" || fail "xgr_test_abi_asan does not link libasan"

step "install: versioned library, SONAME, symlinks, headers, CMake package, pkg-config"
prefix="$tmp/prefix"
cmake --install "$tmp/build" --prefix "$prefix" >/dev/null
lib="$prefix/lib/libxgr.so.${cargo_version%%[-+]*}"
[ -f "$lib" ] && [ ! -L "$lib" ] || fail "$lib missing"
got_soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$got_soname" = "$soname" ] || fail "SONAME is '$got_soname', expected '$soname'"
[ "$(readlink "$prefix/lib/$soname")" = "$(basename "$lib")" ] || fail "$soname symlink"
[ "$(readlink "$prefix/lib/libxgr.so")" = "$soname" ] || fail "libxgr.so symlink"
for f in include/xgr.h include/xgr.hpp lib/cmake/xgr/xgrConfig.cmake lib/cmake/xgr/xgrConfigVersion.cmake \
  lib/pkgconfig/xgr.pc; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
cmp -s include/xgr.h "$prefix/include/xgr.h" || fail "installed header differs"
echo "SONAME $got_soname"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion xgr)" = "${cargo_version%%[-+]*}" ] || fail "pkg-config version"
cat >"$tmp/pc.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <xgr.h>
int main(void) {
    xgr_grammar *g = NULL;
    if (xgr_grammar_builtin_json(&g) != XGR_OK) return 1;
    xgr_grammar_free(g);
    printf("pkg-config consumer: xgr %s\n", xgr_version());
    return strcmp(xgr_version(), XGR_VERSION) != 0;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$tmp/pc.c" -o "$tmp/pc" $(pkg-config --cflags --libs xgr)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/pc"
readelf -d "$tmp/pc" >"$tmp/pc-dyn.txt"
grep -q "NEEDED.*\[$soname\]" "$tmp/pc-dyn.txt" || fail "the pkg-config consumer does not need $soname"

# ---------------------------------------------------------------------------------------------
gzip -dc tests/data/tokenizers/gpt2-50k.json.gz >"$tmp/gpt2.json"

step "examples/cmake-consumer via find_package (installed prefix)"
cmake -S examples/cmake-consumer -B "$tmp/consumer-pkg" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_PREFIX_PATH=$prefix" \
  >"$tmp/consumer-pkg.log" || { cat "$tmp/consumer-pkg.log"; fail "configure consumer (find_package)"; }
cmake --build "$tmp/consumer-pkg" -j "$jobs"
"$tmp/consumer-pkg/engine" "$tmp/gpt2.json"
readelf -d "$tmp/consumer-pkg/engine" >"$tmp/engine-dyn.txt"
grep -q "NEEDED.*\[$soname\]" "$tmp/engine-dyn.txt" || fail "engine does not need $soname"

step "examples/cmake-consumer via add_subdirectory (source tree)"
cmake -S examples/cmake-consumer -B "$tmp/consumer-sub" "${common[@]}" -DXGR_CONSUMER_USE_SUBDIRECTORY=ON \
  "-DXGR_SOURCE_DIR=$root" >"$tmp/consumer-sub.log" || { cat "$tmp/consumer-sub.log"; fail "configure consumer (add_subdirectory)"; }
cmake --build "$tmp/consumer-sub" -j "$jobs"
"$tmp/consumer-sub/engine" "$tmp/gpt2.json"

echo
echo "ffi: all C ABI checks passed"
