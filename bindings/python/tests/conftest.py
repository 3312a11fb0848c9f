"""Shared fixtures. The tests import `xgr` from the source tree (bindings/python) unless
XGR_TEST_INSTALLED=1 asks for the installed package."""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # bindings/python
REPO_ROOT = PACKAGE_ROOT.parent.parent

if os.environ.get("XGR_TEST_INSTALLED") != "1" and str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))

import xgr  # noqa: E402

TOKENIZERS_DIR = REPO_ROOT / "tests" / "data" / "tokenizers"
SUITES_DIR = REPO_ROOT / "tests" / "data" / "suites"
HEADER = REPO_ROOT / "include" / "xgr.h"

BYTE_STOP = 256


def byte_vocab():
    """Ids 0-255 are the single bytes (RAW), 256 is "</s>"."""
    return [bytes([b]) for b in range(256)] + [b"</s>"]


@pytest.fixture(scope="session")
def byte_info():
    return xgr.TokenizerInfo(byte_vocab(), xgr.VocabType.RAW, stop_token_ids=[BYTE_STOP])


@pytest.fixture(scope="session")
def byte_compiler(byte_info):
    return xgr.GrammarCompiler(byte_info)


def gpt2_json_text() -> bytes:
    path = TOKENIZERS_DIR / "gpt2-50k.json.gz"
    if not path.is_file():
        pytest.skip(f"vendored tokenizer missing: {path}")
    return gzip.decompress(path.read_bytes())


@pytest.fixture(scope="session")
def gpt2_path(tmp_path_factory):
    """The GPT-2 tokenizer.json decompressed to a temporary file."""
    p = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    p.write_bytes(gpt2_json_text())
    return p


@pytest.fixture(scope="session")
def gpt2_info(gpt2_path):
    return xgr.TokenizerInfo.from_tokenizer_json(str(gpt2_path))


@pytest.fixture(scope="session")
def gpt2_compiler(gpt2_info):
    return xgr.GrammarCompiler(gpt2_info, max_threads=2)


def has_module(name: str) -> bool:
    try:
        __import__(name)
        return True
    except Exception:
        return False


def require_json_schema():
    """Skips the calling test when the library refuses even a trivial JSON Schema (a build
    whose converter has not landed yet), showing the library's message."""
    try:
        xgr.Grammar.from_json_schema('{"type": "integer"}')
    except xgr.JSONSchemaError as e:
        pytest.skip(f"JSON Schema support is not in this library build: {e.message}")
