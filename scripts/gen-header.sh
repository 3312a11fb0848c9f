#!/usr/bin/env bash
# Regenerates the C header from src/ffi/ with cbindgen: `scripts/gen-header.sh [OUT]`
# (default OUT: include/xgr.h). The version macros come from Cargo.toml. cbindgen is pinned
# (different versions format differently, and tests/ffi.sh diffs the committed header): the
# pinned version is used from PATH, else from target/tools, else installed there with
# `cargo install cbindgen --locked` (the only step that needs the network, once).
# Normal cargo and CMake builds never run this script and never rewrite the source tree.
set -euo pipefail

CBINDGEN_VERSION=0.29.4

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/include/xgr.h}
case $out in /*) ;; *) out=$PWD/$out ;; esac

cbindgen_bin() {
  local c
  for c in "$(command -v cbindgen || true)" "$root/target/tools/bin/cbindgen"; do
    if [ -n "$c" ] && [ -x "$c" ] && [ "$("$c" --version 2>/dev/null)" = "cbindgen $CBINDGEN_VERSION" ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if ! cb=$(cbindgen_bin); then
  echo "gen-header: installing cbindgen $CBINDGEN_VERSION into $root/target/tools" >&2
  cargo install cbindgen --locked --version "$CBINDGEN_VERSION" --root "$root/target/tools" >&2
  cb=$(cbindgen_bin)
fi

# version = "MAJOR.MINOR.PATCH" of [package] in Cargo.toml.
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && $1 == "version" { gsub(/[" ]/, "", $0); sub(/^version=/, "", $0); print; exit }
' "$root/Cargo.toml")
core=${version%%[-+]*}
IFS=. read -r major minor patch <<<"$core"
if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ && $patch =~ ^[0-9]+$ ]]; then
  echo "gen-header: cannot parse the version '$version' of Cargo.toml" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  printf 'after_includes = """\n'
  printf '\n/* Version of this header; xgr_version() gives the library'"'"'s at run time. */\n'
  printf '#define XGR_VERSION_MAJOR %s\n' "$major"
  printf '#define XGR_VERSION_MINOR %s\n' "$minor"
  printf '#define XGR_VERSION_PATCH %s\n' "$patch"
  printf '#define XGR_VERSION "%s"\n' "$version"
  printf '"""\n'
  cat "$root/cbindgen.toml"
} >"$tmp/cbindgen.toml"

(cd "$root" && CARGO_NET_OFFLINE=true "$cb" --quiet --config "$tmp/cbindgen.toml" --crate xgr --output "$tmp/xgr.h")
mkdir -p "$(dirname "$out")"
if ! cmp -s "$tmp/xgr.h" "$out" 2>/dev/null; then
  cp "$tmp/xgr.h" "$out"
fi
