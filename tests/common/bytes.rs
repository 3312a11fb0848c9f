//! A toy tokenizer of single bytes: ids 0-255 are the bytes, 256 is the stop token `</s>`.

use std::sync::Arc;

use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};
use xgr::{CompilerOptions, GrammarCompiler};

/// A compiler over the byte vocabulary (default options).
pub fn byte_compiler() -> GrammarCompiler {
    let mut v: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    v.push(b"</s>".to_vec());
    let opts = TokenizerOptions {
        stop_token_ids: Some(vec![256]),
        ..Default::default()
    };
    let t = TokenizerInfo::from_vocab(&v, VocabType::Raw, &opts).unwrap();
    GrammarCompiler::new(Arc::new(t), CompilerOptions::default())
}
