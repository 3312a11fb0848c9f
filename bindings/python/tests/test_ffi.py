"""The ctypes declarations against include/xgr.h and the loaded library."""

from __future__ import annotations

import ctypes
import re

import pytest

import xgr
from conftest import HEADER, PACKAGE_ROOT
from xgr import _ffi


def _header_text() -> str:
    if not HEADER.is_file():
        pytest.skip(f"no header at {HEADER} (installed package outside the repository)")
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return text


def _prototypes() -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, [parameter types]) of every function the header declares."""
    text = _header_text()
    out = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(xgr_\w+)\s*\(([^()]*)\)\s*;", text):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        ret = ret.split("\n")[-1].strip()
        types = []
        if params and params != "void":
            for p in params.split(","):
                p = " ".join(p.split())
                # drop the parameter name (the last identifier)
                types.append(re.sub(r"\b\w+$", "", p).strip())
        out[name] = (ret, types)
    return out


def _structs() -> dict[str, list[str]]:
    text = _header_text()
    out = {}
    for m in re.finditer(r"typedef struct\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        fields = re.findall(r"(\w+)\s*;", m.group(1))
        out[m.group(2)] = fields
    return out


def _enum_values() -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"\b(XGR_\w+)\s*=\s*(\d+)", _header_text())}


SCALARS = {
    "bool": ctypes.c_bool,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "size_t": ctypes.c_size_t,
    "xgr_status": ctypes.c_int,
    "xgr_vocab_type": ctypes.c_int,
    "xgr_dtype": ctypes.c_int,
}


def _is_pointer_type(t) -> bool:
    return t in (ctypes.c_char_p, ctypes.c_void_p) or (
        isinstance(t, type) and issubclass(t, ctypes._Pointer)
    )


def _compatible(c_type: str, py_type) -> bool:
    c_type = c_type.replace("const", " ").strip()
    c_type = " ".join(c_type.split())
    if "*" in c_type:
        return _is_pointer_type(py_type)
    if c_type == "void":
        return py_type is None
    if c_type in SCALARS:
        return py_type is SCALARS[c_type]
    # a struct by value
    return isinstance(py_type, type) and py_type.__name__ == c_type


def test_header_parses():
    protos = _prototypes()
    assert len(protos) >= 50
    assert "xgr_matcher_new" in protos


@pytest.mark.parametrize("name", sorted(_ffi.FUNCTIONS))
def test_declared_function_is_in_header_and_library(name):
    protos = _prototypes()
    assert name in protos, f"{name} is declared in _ffi.py but not in include/xgr.h"
    assert hasattr(_ffi.lib, name), f"{name} is missing from {_ffi.LIBRARY_PATH}"
    ret, params = protos[name]
    restype, argtypes = _ffi.FUNCTIONS[name]
    assert len(argtypes) == len(params), f"{name}: {len(argtypes)} argtypes, header {params}"
    assert _compatible(ret, restype), f"{name}: restype {restype} vs header `{ret}`"
    for i, (c, py) in enumerate(zip(params, argtypes)):
        assert _compatible(c, py), f"{name}: parameter {i} is {py} vs header `{c}`"


@pytest.mark.parametrize("name", sorted(_ffi.OPTIONAL_FUNCTIONS))
def test_optional_function_in_header_iff_in_library(name):
    in_header = name in _prototypes()
    in_lib = hasattr(_ffi.lib, name)
    assert in_header == in_lib, f"{name}: header {in_header}, library {in_lib}"
    if in_header:
        ret, params = _prototypes()[name]
        restype, argtypes = _ffi.OPTIONAL_FUNCTIONS[name]
        assert len(argtypes) == len(params)
        assert _compatible(ret, restype)


def test_every_called_function_is_declared():
    """Each `C.xgr_*` the package uses has a declaration (so argtypes are never guessed)."""
    used = set()
    for py in (PACKAGE_ROOT / "xgr").glob("*.py"):
        used |= set(re.findall(r"\bC\.(xgr_\w+)", py.read_text()))
    declared = set(_ffi.FUNCTIONS) | set(_ffi.OPTIONAL_FUNCTIONS)
    assert used, "no calls found"
    assert used <= declared, f"undeclared: {sorted(used - declared)}"


@pytest.mark.parametrize(
    "struct,default",
    [
        (_ffi.xgr_tokenizer_options, "xgr_tokenizer_options_default"),
        (_ffi.xgr_json_schema_options, "xgr_json_schema_options_default"),
        (_ffi.xgr_compiler_options, "xgr_compiler_options_default"),
        (_ffi.xgr_matcher_options, "xgr_matcher_options_default"),
    ],
)
def test_options_struct_layout(struct, default):
    fields = _structs()[struct.__name__]
    assert [f[0] for f in struct._fields_] == fields
    d = getattr(_ffi.C, default)()
    assert d.struct_size == ctypes.sizeof(struct), (
        f"{struct.__name__}: library says {d.struct_size} bytes, ctypes {ctypes.sizeof(struct)}"
    )


def test_status_codes_match_header():
    values = _enum_values()
    statuses = {k: v for k, v in values.items() if k == "XGR_OK" or k.startswith("XGR_ERR_")}
    assert len(statuses) >= 15
    for name, value in statuses.items():
        assert getattr(_ffi, name) == value, name
        assert _ffi.C.xgr_status_name(value).decode() == name
    for name in ("XGR_DTYPE_F32", "XGR_DTYPE_F16", "XGR_DTYPE_BF16"):
        assert getattr(_ffi, name) == values[name]
    for vt in xgr.VocabType:
        assert values[f"XGR_VOCAB_{vt.name}"] == vt.value


def test_every_error_status_has_a_class():
    for name, value in _enum_values().items():
        if name.startswith("XGR_ERR_"):
            cls = _ffi.ERROR_CLASSES.get(value)
            assert cls is not None and issubclass(cls, xgr.XGRError), name
            assert cls.status == value


def test_version_agrees():
    text = HEADER.read_text() if HEADER.is_file() else None
    if text is None:
        pytest.skip("no header")
    macro = re.search(r'#define XGR_VERSION "([^"]+)"', text).group(1)
    assert xgr.library_version() == macro
    cargo = (HEADER.parent.parent / "Cargo.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', cargo, flags=re.M).group(1) == macro


def test_library_lookup_env(monkeypatch, tmp_path):
    monkeypatch.setenv("XGR_LIBRARY_PATH", str(tmp_path / "nope.so"))
    with pytest.raises(ImportError, match="XGR_LIBRARY_PATH"):
        _ffi.find_library()
    monkeypatch.setenv("XGR_LIBRARY_PATH", str(_ffi.LIBRARY_PATH.parent))
    assert _ffi.find_library() == _ffi.LIBRARY_PATH
    monkeypatch.delenv("XGR_LIBRARY_PATH")
    assert _ffi.find_library().is_file()
