"""Build glue: compile the Rust library with cargo and bundle it inside the `xgr` package.

`pip install ./bindings/python` (or `pip wheel`) runs `cargo build --release --lib` in the
repository that contains this directory and copies `libxgr.so` (debug info stripped when
`strip` is available) next to the package's modules, where `xgr._ffi` looks first.

Environment:
  XGR_BUNDLE_LIBRARY  path of an already built library to bundle instead of running cargo
  XGR_CARGO           the cargo executable (default: `cargo`)
  XGR_CARGO_FLAGS     extra flags for cargo build (e.g. `--offline --features ...`)
  CARGO_TARGET_DIR    honoured as cargo does
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent

if sys.platform == "win32":
    LIB = "xgr.dll"
elif sys.platform == "darwin":
    LIB = "libxgr.dylib"
else:
    LIB = "libxgr.so"


def repo_root() -> Path:
    for d in (HERE, *HERE.parents):
        if (d / "Cargo.toml").is_file() and (d / "src" / "lib.rs").is_file():
            return d
    raise SystemExit(
        f"xgr: no Cargo.toml above {HERE}; build from the repository, or set "
        "XGR_BUNDLE_LIBRARY to a built libxgr"
    )


def build_library() -> Path:
    prebuilt = os.environ.get("XGR_BUNDLE_LIBRARY")
    if prebuilt:
        p = Path(prebuilt)
        if not p.is_file():
            raise SystemExit(f"xgr: XGR_BUNDLE_LIBRARY={prebuilt} is not a file")
        return p
    root = repo_root()
    cargo = os.environ.get("XGR_CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise SystemExit("xgr: cargo is required to build the library (https://rustup.rs)")
    cmd = [
        cargo,
        "build",
        "--release",
        "--lib",
        *shlex.split(os.environ.get("XGR_CARGO_FLAGS", "")),
    ]
    print("xgr: running", " ".join(cmd), "in", root, flush=True)
    subprocess.run(cmd, cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    lib = target / "release" / LIB
    if not lib.is_file():
        raise SystemExit(f"xgr: cargo finished but {lib} does not exist")
    return lib


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        lib = build_library()
        dest = Path(self.build_lib) / "xgr" / LIB
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.unlink()
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)
        strip = shutil.which("strip")
        if strip and sys.platform.startswith("linux"):
            subprocess.run([strip, "--strip-debug", str(dest)], check=False)


class BinaryDistribution(Distribution):
    """The package carries a native library: platform wheels, not pure-Python ones."""

    def has_ext_modules(self):
        return True


cmdclass = {"build_py": BuildPyWithLibrary}

try:
    from wheel.bdist_wheel import bdist_wheel

    class BdistWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            # ctypes only: any CPython 3 of this platform.
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = BdistWheel
except ImportError:  # pragma: no cover - wheel is a build requirement
    pass

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
