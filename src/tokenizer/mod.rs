//! TokenizerInfo (temporary stub until the real module lands).
use crate::error::Result;

#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VocabType {
    Raw = 0,
    ByteFallback = 1,
    ByteLevel = 2,
}

#[derive(Debug, Clone, Default)]
pub struct TokenizerOptions {
    pub vocab_size: Option<usize>,
    pub stop_token_ids: Option<Vec<u32>>,
    pub add_prefix_space: bool,
}

pub struct TokenizerInfo {
    toks: Vec<Vec<u8>>,
    sorted: Vec<u32>,
    stop: Vec<u32>,
    vs: usize,
}

impl TokenizerInfo {
    pub fn from_vocab<S: AsRef<[u8]>>(
        encoded: &[S],
        _t: VocabType,
        opts: &TokenizerOptions,
    ) -> Result<TokenizerInfo> {
        let toks: Vec<Vec<u8>> = encoded.iter().map(|s| s.as_ref().to_vec()).collect();
        let stop: Vec<u32> = opts.stop_token_ids.clone().unwrap_or_else(|| {
            toks.iter()
                .position(|t| t == b"</s>")
                .map(|p| vec![p as u32])
                .unwrap_or_default()
        });
        let mut sorted: Vec<u32> = (0..toks.len() as u32)
            .filter(|i| !stop.contains(i) && !toks[*i as usize].is_empty())
            .collect();
        sorted.sort_by(|a, b| toks[*a as usize].cmp(&toks[*b as usize]).then(a.cmp(b)));
        let vs = opts.vocab_size.unwrap_or(toks.len());
        Ok(TokenizerInfo {
            toks,
            sorted,
            stop,
            vs,
        })
    }
    pub fn from_hf_json_file(
        _p: impl AsRef<std::path::Path>,
        _o: &TokenizerOptions,
    ) -> Result<TokenizerInfo> {
        todo!()
    }
    pub fn from_hf_json(_j: &str, _o: &TokenizerOptions) -> Result<TokenizerInfo> {
        todo!()
    }
    pub fn encode(&self, _t: &str) -> Option<Vec<u32>> {
        None
    }
    pub fn vocab_size(&self) -> usize {
        self.vs
    }
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.toks.get(id as usize).map(|v| v.as_slice())
    }
    pub fn stop_token_ids(&self) -> &[u32] {
        &self.stop
    }
    pub fn sorted_text_tokens(&self) -> &[u32] {
        &self.sorted
    }
}
