//! The vocabulary as the mask machinery sees it: text tokens sorted by their bytes, so
//! that tokens sharing a prefix are neighbours and a walk can share parser work between
//! them, plus the explicit byte trie over them. Every trie node covers a contiguous range
//! of sorted positions (its subtree), so a rejected prefix rejects a whole range at once.

use crate::automaton::runs::{ByteClass, class_bit};
use crate::automaton::text::Phase;
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
    /// Trie nodes; node 0 is the root (empty prefix).
    pub trie: Vec<TrieNode>,
    /// Per trie node: when the node's prefix is safe text (possibly ending inside a
    /// character) and every token below continues it with safe text only
    /// ([`crate::automaton::text`]), the most characters such a continuation starts (at
    /// most 254); otherwise [`NOT_TEXT`].
    pub text_tail: Vec<u8>,
    /// Per trie node: [`Phase::index`] of its prefix's end when the prefix is safe text,
    /// else [`NOT_TEXT`].
    pub text_phase: Vec<u8>,
    /// Per trie node: its first child whose [`Self::text_tail`] is [`NOT_TEXT`]
    /// (`u32::MAX` if none); with [`Self::odd_next`], the children a walk in a state that
    /// takes any text must visit.
    pub odd_child: Vec<u32>,
    /// Per trie node: its next sibling whose [`Self::text_tail`] is [`NOT_TEXT`].
    pub odd_next: Vec<u32>,
    /// Per sorted position: the characters the token starts when it is safe text from a
    /// character boundary (at most 254), else [`NOT_TEXT`].
    pub text_chars: Vec<u8>,
    /// [`Self::text_up_to`] computed so far, by character count.
    text_up_to: parking_lot::Mutex<crate::fxhash::FxHashMap<u8, Ranges>>,
    /// Every text token, as a bitmask over ids.
    pub text_bits: Vec<u32>,
    /// Per trie node: the bytes that occur strictly below it
    /// ([`crate::automaton::runs::ByteClass`]).
    pub below: Vec<ByteClass>,
    /// Per trie node: the most bytes a token below adds to its prefix (at most 255).
    pub height: Vec<u8>,
}

/// Ranges of sorted positions, shared.
pub(crate) type Ranges = std::sync::Arc<Vec<(u32, u32)>>;

/// [`VocabIndex::text_tail`] of a subtree with some byte that is not plain text.
pub(crate) const NOT_TEXT: u8 = 255;

/// One trie node: the prefix of its path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrieNode {
    /// Last byte of the prefix.
    pub byte: u8,
    /// First child, or `u32::MAX`.
    pub first_child: u32,
    /// Next sibling (children are in byte order), or `u32::MAX`.
    pub next_sibling: u32,
    /// Sorted positions `lo..here_end` are tokens equal to the prefix; `lo..hi` are all
    /// tokens starting with it.
    pub lo: u32,
    pub here_end: u32,
    pub hi: u32,
}

/// [`VocabIndex::text_tail`] of every node. Children are created after their parents, so
/// phases flow forward and subtree facts flow backward through the node order.
fn text_tails(trie: &[TrieNode]) -> (Vec<u8>, Vec<u8>) {
    let n = trie.len();
    let mut phase: Vec<Option<Phase>> = vec![None; n];
    phase[0] = Some(Phase::Boundary);
    for p in 0..n {
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            phase[c as usize] = phase[p].and_then(|ph| ph.step(trie[c as usize].byte));
            c = trie[c as usize].next_sibling;
        }
    }
    // chars[n]: most characters started below n when all continuations are safe text.
    let mut chars: Vec<u16> = vec![0; n];
    let mut ok = vec![true; n];
    for p in (0..n).rev() {
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            let ci = c as usize;
            if phase[ci].is_none() || !ok[ci] {
                ok[p] = false;
            } else {
                let starts = (phase[p] == Some(Phase::Boundary)) as u16;
                chars[p] = chars[p].max((chars[ci] + starts).min(NOT_TEXT as u16));
            }
            c = trie[ci].next_sibling;
        }
    }
    let tails = (0..n)
        .map(|i| {
            if ok[i] && phase[i].is_some() && chars[i] < NOT_TEXT as u16 {
                chars[i] as u8
            } else {
                NOT_TEXT
            }
        })
        .collect();
    let phases = phase
        .iter()
        .map(|p| p.map_or(NOT_TEXT, Phase::index))
        .collect();
    (tails, phases)
}

/// [`VocabIndex::below`] and [`VocabIndex::height`] of every node, children before parents.
fn below_and_height(trie: &[TrieNode]) -> (Vec<ByteClass>, Vec<u8>) {
    let n = trie.len();
    let mut below: Vec<ByteClass> = vec![0; n];
    let mut height: Vec<u8> = vec![0; n];
    for p in (0..n).rev() {
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            let ci = c as usize;
            below[p] |= below[ci] | class_bit(trie[ci].byte);
            height[p] = height[p].max(height[ci].saturating_add(1));
            c = trie[ci].next_sibling;
        }
    }
    (below, height)
}

/// [`VocabIndex::text_chars`] of one token.
fn text_chars(tok: &[u8]) -> u8 {
    let mut ph = Phase::Boundary;
    let mut n: u32 = 0;
    for &b in tok {
        n += (ph == Phase::Boundary) as u32;
        match ph.step(b) {
            Some(p) => ph = p,
            None => return NOT_TEXT,
        }
    }
    if n < NOT_TEXT as u32 {
        n as u8
    } else {
        NOT_TEXT
    }
}

/// [`VocabIndex::odd_child`] and [`VocabIndex::odd_next`] of every node.
fn odd_links(trie: &[TrieNode], tail: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let n = trie.len();
    let mut child = vec![u32::MAX; n];
    let mut next = vec![u32::MAX; n];
    let mut kids: Vec<u32> = Vec::new();
    for p in 0..n {
        kids.clear();
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            if tail[c as usize] == NOT_TEXT {
                kids.push(c);
            }
            c = trie[c as usize].next_sibling;
        }
        if let Some(&first) = kids.first() {
            child[p] = first;
        }
        for w in kids.windows(2) {
            next[w[0] as usize] = w[1];
        }
    }
    (child, next)
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
        let mut v = VocabIndex {
            vocab_size,
            ids,
            offs,
            data,
            pos_of,
            stop_ids,
            trie: Vec::new(),
            text_tail: Vec::new(),
            text_phase: Vec::new(),
            odd_child: Vec::new(),
            odd_next: Vec::new(),
            text_chars: Vec::new(),
            text_up_to: Default::default(),
            text_bits: Vec::new(),
            below: Vec::new(),
            height: Vec::new(),
        };
        let mut bits = vec![0u32; v.words()];
        for &id in &v.ids {
            bits[(id / 32) as usize] |= 1 << (id % 32);
        }
        v.text_bits = bits;
        v.trie = v.build_trie();
        (v.text_tail, v.text_phase) = text_tails(&v.trie);
        (v.odd_child, v.odd_next) = odd_links(&v.trie, &v.text_tail);
        v.text_chars = (0..v.len()).map(|p| text_chars(v.tok(p))).collect();
        (v.below, v.height) = below_and_height(&v.trie);
        v
    }

    fn build_trie(&self) -> Vec<TrieNode> {
        const NONE: u32 = u32::MAX;
        let n = self.len() as u32;
        let mut nodes = vec![TrieNode {
            byte: 0,
            first_child: NONE,
            next_sibling: NONE,
            lo: 0,
            here_end: 0,
            hi: n,
        }];
        // Path of node ids from the root; last_child[k] = last child created under path[k].
        let mut path: Vec<u32> = vec![0];
        let mut last_child: Vec<u32> = vec![NONE];
        let mut prev: &[u8] = &[];
        for p in 0..n {
            let tok = self.tok(p as usize);
            let l = prev.iter().zip(tok).take_while(|(a, b)| a == b).count();
            while path.len() > l + 1 {
                let done = path.pop().unwrap_or(0);
                last_child.pop();
                nodes[done as usize].hi = p;
            }
            for &b in &tok[l..] {
                let id = nodes.len() as u32;
                nodes.push(TrieNode {
                    byte: b,
                    first_child: NONE,
                    next_sibling: NONE,
                    lo: p,
                    here_end: p,
                    hi: n,
                });
                let parent = *path.last().unwrap_or(&0);
                let lc = *last_child.last().unwrap_or(&NONE);
                if lc == NONE {
                    nodes[parent as usize].first_child = id;
                } else {
                    nodes[lc as usize].next_sibling = id;
                }
                if let Some(x) = last_child.last_mut() {
                    *x = id;
                }
                path.push(id);
                last_child.push(NONE);
            }
            let end = *path.last().unwrap_or(&0);
            nodes[end as usize].here_end = p + 1;
            prev = tok;
        }
        while let Some(done) = path.pop() {
            nodes[done as usize].hi = n;
        }
        nodes
    }

    /// The sorted positions, as ranges, of the tokens of safe text that start at most `n`
    /// characters ([`Self::text_chars`]); computed once per `n`.
    pub fn text_up_to(&self, n: u8) -> Ranges {
        if let Some(v) = self.text_up_to.lock().get(&n) {
            return v.clone();
        }
        let mut ranges = Vec::new();
        let mut run: Option<u32> = None;
        for (p, &k) in self.text_chars.iter().enumerate() {
            let p = p as u32;
            match (k <= n, run) {
                (true, None) => run = Some(p),
                (false, Some(lo)) => {
                    ranges.push((lo, p));
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(lo) = run {
            ranges.push((lo, self.len() as u32));
        }
        let v = std::sync::Arc::new(ranges);
        self.text_up_to.lock().insert(n, v.clone());
        v
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
