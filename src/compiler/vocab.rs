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
    /// Per trie node: its first child whose [`TrieNode::text_tail`] is [`NOT_TEXT`]
    /// (`u32::MAX` if none); with [`Self::odd_next`], the children a walk in a state that
    /// takes any text must visit.
    pub odd_child: Vec<u32>,
    /// Per trie node: its next sibling whose [`TrieNode::text_tail`] is [`NOT_TEXT`].
    pub odd_next: Vec<u32>,
    /// Per trie node: its first child below which some token is neither safe text nor
    /// stops at a control byte (see `quiet_nodes`); with [`Self::live_next`], the children
    /// a walk must visit in a state that takes no control byte after safe text and takes
    /// safe text by its length alone.
    pub live_child: Vec<u32>,
    /// Per trie node: its next such sibling.
    pub live_next: Vec<u32>,
    /// Per sorted position: the characters the token starts when it is safe text from a
    /// character boundary (at most 254), else [`NOT_TEXT`].
    pub text_chars: Vec<u8>,
    /// Sorted positions grouped by [`Self::text_chars`]: group `k` is
    /// `by_chars[chars_start[k]..chars_start[k + 1]]` (group 255: tokens that are not text).
    by_chars: Vec<u32>,
    chars_start: Vec<u32>,
    /// [`Self::text_bits_up_to`] computed so far, by character count.
    text_bits_up_to: parking_lot::Mutex<crate::fxhash::FxHashMap<u8, Bits>>,
    /// Every text token, as a bitmask over ids.
    pub text_bits: Vec<u32>,
}

/// A bitmask over token ids, shared.
pub(crate) type Bits = std::sync::Arc<Vec<u32>>;

/// [`TrieNode::text_tail`] of a subtree with some byte that is not plain text.
pub(crate) const NOT_TEXT: u8 = 255;

/// One trie node: the prefix of its path, and what the token walk reads of its subtree (kept
/// together: a walk reads them all for each child it meets).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TrieNode {
    /// Last byte of the prefix.
    pub byte: u8,
    /// When the prefix is safe text (possibly ending inside a character) and every token
    /// below continues it with safe text only ([`crate::automaton::text`]), the most
    /// characters such a continuation starts (at most 254); otherwise [`NOT_TEXT`].
    pub text_tail: u8,
    /// [`Phase::index`] of the prefix's end when the prefix is safe text, else [`NOT_TEXT`].
    pub text_phase: u8,
    /// The most bytes a token below adds to the prefix (at most 255).
    pub height: u8,
    /// The bytes that occur strictly below ([`ByteClass`] in two halves; [`Self::below`]).
    below: [u64; 2],
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

impl TrieNode {
    /// The bytes that occur strictly below the node.
    #[inline]
    pub fn below(&self) -> ByteClass {
        self.below[0] as ByteClass | (self.below[1] as ByteClass) << 64
    }
}

/// [`TrieNode::text_tail`] and [`TrieNode::text_phase`] of every node. Children are created after their parents, so
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

/// [`TrieNode::below`] and [`TrieNode::height`] of every node, children before parents.
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

/// Sorted positions grouped by character count (counting sort), and where each group
/// starts (257 entries: the end of group `k` is entry `k + 1`).
fn group_by_chars(chars: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; 257];
    for &k in chars {
        start[k as usize + 1] += 1;
    }
    for k in 1..257 {
        start[k] += start[k - 1];
    }
    let mut next = start.clone();
    let mut by = vec![0u32; chars.len()];
    for (p, &k) in chars.iter().enumerate() {
        by[next[k as usize] as usize] = p as u32;
        next[k as usize] += 1;
    }
    (by, start)
}

/// Per node: whether every token below it is safe text or *stops at a control byte*: its
/// longest prefix of safe text ends at a character boundary and is followed by a byte below
/// 0x20 (a newline, a tab). In a state where no control byte is taken after any safe text,
/// such a subtree holds nothing but its text.
fn quiet_nodes(trie: &[TrieNode], phase: &[u8]) -> Vec<bool> {
    let n = trie.len();
    let mut cut = vec![false; n];
    for p in 0..n {
        if phase[p] == 0 {
            let mut c = trie[p].first_child;
            while c != u32::MAX {
                cut[c as usize] = trie[c as usize].byte < 0x20;
                c = trie[c as usize].next_sibling;
            }
        }
    }
    let mut quiet = vec![true; n];
    for p in (0..n).rev() {
        if cut[p] {
            continue;
        }
        if phase[p] == NOT_TEXT {
            quiet[p] = false;
            continue;
        }
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            quiet[p] &= quiet[c as usize];
            c = trie[c as usize].next_sibling;
        }
    }
    quiet
}

/// Per node, its first child that `keep` holds (`u32::MAX` if none); per node, its next
/// such sibling.
fn links(trie: &[TrieNode], keep: impl Fn(usize) -> bool) -> (Vec<u32>, Vec<u32>) {
    let n = trie.len();
    let mut child = vec![u32::MAX; n];
    let mut next = vec![u32::MAX; n];
    let mut kids: Vec<u32> = Vec::new();
    for p in 0..n {
        kids.clear();
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            if keep(c as usize) {
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
            odd_child: Vec::new(),
            odd_next: Vec::new(),
            live_child: Vec::new(),
            live_next: Vec::new(),
            text_chars: Vec::new(),
            by_chars: Vec::new(),
            chars_start: Vec::new(),
            text_bits_up_to: Default::default(),
            text_bits: Vec::new(),
        };
        let mut bits = vec![0u32; v.words()];
        for &id in &v.ids {
            bits[(id / 32) as usize] |= 1 << (id % 32);
        }
        v.text_bits = bits;
        v.trie = v.build_trie();
        let (tail, phase) = text_tails(&v.trie);
        (v.odd_child, v.odd_next) = links(&v.trie, |c| tail[c] == NOT_TEXT);
        let quiet = quiet_nodes(&v.trie, &phase);
        (v.live_child, v.live_next) = links(&v.trie, |c| !quiet[c]);
        v.text_chars = (0..v.len()).map(|p| text_chars(v.tok(p))).collect();
        (v.by_chars, v.chars_start) = group_by_chars(&v.text_chars);
        let (below, height) = below_and_height(&v.trie);
        for (i, node) in v.trie.iter_mut().enumerate() {
            node.text_tail = tail[i];
            node.text_phase = phase[i];
            node.height = height[i];
            node.below = [below[i] as u64, (below[i] >> 64) as u64];
        }
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
            ..Default::default()
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
                    ..Default::default()
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

    /// The tokens of safe text that start at most `n` characters ([`Self::text_chars`]), as
    /// a bitmask over ids; computed once per `n`, from the nearest count computed before
    /// (or from nothing, or from every text token) by adding or clearing the groups between.
    pub fn text_bits_up_to(&self, n: u8) -> Bits {
        // The tokens of at most `k` characters are `by_chars[..end(k)]`; start from the mask
        // whose prefix of `by_chars` is nearest (nothing is the prefix 0, every text token
        // the whole list) and add or clear the tokens between.
        let end = |k: u8| self.chars_start[k as usize + 1] as usize;
        let to = end(n);
        let nearest = {
            let known = self.text_bits_up_to.lock();
            if let Some(v) = known.get(&n) {
                return v.clone();
            }
            known
                .iter()
                .min_by_key(|(k, _)| end(**k).abs_diff(to))
                .map(|(k, v)| (*k, v.clone()))
        };
        let mut from: (usize, Option<Bits>) = (0, None);
        for cand in [
            Some((self.len(), None)),
            nearest.map(|(k, v)| (end(k), Some(v))),
        ]
        .into_iter()
        .flatten()
        {
            if cand.0.abs_diff(to) < from.0.abs_diff(to) {
                from = cand;
            }
        }
        let mut bits = match from {
            (_, Some(v)) => (*v).clone(),
            (0, None) => vec![0u32; self.words()],
            (_, None) => self.text_bits.clone(),
        };
        for &p in &self.by_chars[from.0.min(to)..from.0.max(to)] {
            let id = self.ids[p as usize];
            if from.0 < to {
                bits[(id / 32) as usize] |= 1 << (id % 32);
            } else {
                bits[(id / 32) as usize] &= !(1 << (id % 32));
            }
        }
        let v = std::sync::Arc::new(bits);
        self.text_bits_up_to.lock().insert(n, v.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{TokenizerInfo, VocabType};

    fn vocab(words: &[&[u8]]) -> VocabIndex {
        let t = TokenizerInfo::from_vocab(words, VocabType::Raw, &Default::default()).unwrap();
        VocabIndex::new(&t)
    }

    const WORDS: &[&[u8]] = &[
        b"a",
        b"ab",
        b"abc",
        b"abcd",
        b"abcdefgh",
        b"\xc3\xa9",
        b"a\xc3\xa9b",
        b"a\n",
        b"ab\n\n",
        b"\n",
        b"\"",
        b"a\"",
        b"ab\",",
        b"\\n",
        b"a\\",
        b"x",
        b"xy",
        b"x\ty",
        b"\xe2\x80\xa8",
        b"\x80",
        b"a\x80",
        b"zzzzzzzzzzzz",
    ];

    #[test]
    fn short_text_masks_match_their_definition_in_any_order() {
        let v = vocab(WORDS);
        for n in [3u8, 0, 12, 1, 254, 2, 5, 4, 100] {
            let bits = v.text_bits_up_to(n);
            for p in 0..v.len() {
                let id = v.ids[p];
                let want = v.text_chars[p] != NOT_TEXT && v.text_chars[p] <= n;
                let got = bits[(id / 32) as usize] >> (id % 32) & 1 == 1;
                assert_eq!(got, want, "n={n} token {:?}", v.tok(p));
            }
        }
    }

    #[test]
    fn live_children_are_the_subtrees_holding_tokens_that_do_not_stop_at_a_control_byte() {
        let v = vocab(WORDS);
        // Safe text, or safe text then a control byte: decided apart from the walk.
        let quiet = |tok: &[u8]| {
            let cut = tok.iter().position(|&b| b < 0x20).unwrap_or(tok.len());
            text_chars(&tok[..cut]) != NOT_TEXT
        };
        let mut reached: Vec<&[u8]> = Vec::new();
        let mut stack = vec![0u32];
        while let Some(n) = stack.pop() {
            let mut c = v.live_child[n as usize];
            while c != u32::MAX {
                let node = v.trie[c as usize];
                let below: Vec<&[u8]> = (node.lo..node.hi).map(|p| v.tok(p as usize)).collect();
                assert!(below.iter().any(|t| !quiet(t)), "a quiet subtree is linked");
                reached.extend(&below[..(node.here_end - node.lo) as usize]);
                stack.push(c);
                c = v.live_next[c as usize];
            }
        }
        for p in 0..v.len() {
            let tok = v.tok(p);
            if !quiet(tok) {
                assert!(reached.contains(&tok), "{:?}", String::from_utf8_lossy(tok));
            }
        }
    }
}
