//! Loading the vendored tokenizers of `tests/data/tokenizers/` (gzip-compressed
//! `tokenizer.json` files) for integration tests. Nothing is cached.

use std::io::Read;
use std::path::PathBuf;

use xgr::tokenizer::{TokenizerInfo, TokenizerOptions};

/// Names of the vendored tokenizers.
pub const NAMES: &[&str] = &["gpt2-50k", "llama2-32k", "llama3-128k"];

/// Path of a vendored tokenizer's `.json.gz`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tokenizers")
        .join(format!("{name}.json.gz"))
}

/// The decompressed `tokenizer.json` text of a vendored tokenizer.
pub fn json(name: &str) -> String {
    let path = path(name);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("cannot decompress {}: {e}", path.display()));
    text
}

/// Loads a vendored tokenizer with default options.
pub fn load(name: &str) -> TokenizerInfo {
    load_with(name, &TokenizerOptions::default())
}

/// Loads a vendored tokenizer with `opts`.
pub fn load_with(name: &str, opts: &TokenizerOptions) -> TokenizerInfo {
    TokenizerInfo::from_hf_json(&json(name), opts)
        .unwrap_or_else(|e| panic!("cannot load tokenizer {name}: {e}"))
}
