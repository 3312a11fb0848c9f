//! The vocabulary as the mask machinery sees it: text tokens sorted by their bytes, so
//! that tokens sharing a prefix are neighbours and a walk can share parser work between
//! them (an implicit trie).

use crate::tokenizer::TokenizerInfo;

/// Sorted text tokens of one tokenizer, shared by every grammar compiled for it.
#[derive(Debug)]
pub(crate) struct VocabIndex {
    /// Mask width (the model's vocabulary size).
    pub vocab_size: usize,
    /// Text token ids in byte order.
    pub ids: Vec<u32>,
    offs: Vec<u32>,
    data: Vec<u8>,
    /// Position in `ids` of each token id (`u32::MAX` for tokens that are not text).
    pub pos_of: Vec<u32>,
    /// Stop tokens of the tokenizer, sorted.
    pub stop_ids: Vec<u32>,
}

impl VocabIndex {
    pub fn new(t: &TokenizerInfo) -> VocabIndex {
        let ids: Vec<u32> = t.sorted_text_tokens().to_vec();
        let mut offs = Vec::with_capacity(ids.len() + 1);
        let mut data = Vec::new();
        offs.push(0);
        for &id in &ids {
            data.extend_from_slice(t.token_bytes(id).unwrap_or(&[]));
            offs.push(data.len() as u32);
        }
        let vocab_size = t.vocab_size();
        let mut pos_of = vec![u32::MAX; vocab_size];
        for (p, &id) in ids.iter().enumerate() {
            if let Some(slot) = pos_of.get_mut(id as usize) {
                *slot = p as u32;
            }
        }
        let mut stop_ids: Vec<u32> = t
            .stop_token_ids()
            .iter()
            .copied()
            .filter(|&s| (s as usize) < vocab_size)
            .collect();
        stop_ids.sort_unstable();
        stop_ids.dedup();
        VocabIndex {
            vocab_size,
            ids,
            offs,
            data,
            pos_of,
            stop_ids,
        }
    }

    /// Number of text tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Bytes of the token at sorted position `p`.
    #[inline]
    pub fn tok(&self, p: usize) -> &[u8] {
        &self.data[self.offs[p] as usize..self.offs[p + 1] as usize]
    }

    /// Words of one bitmask row.
    pub fn words(&self) -> usize {
        self.vocab_size.div_ceil(32)
    }
}
