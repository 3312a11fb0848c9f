//! The vocabulary as the mask machinery sees it: text tokens sorted by their bytes, so
//! that tokens sharing a prefix are neighbours and a walk can share parser work between
//! them, plus the explicit byte trie over them. Every trie node covers a contiguous range
//! of sorted positions (its subtree), so a rejected prefix rejects a whole range at once.

use std::sync::Arc;

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
    /// Per trie node: the bytes that occur strictly below it
    /// ([`crate::automaton::runs::ByteClass`]).
    pub below: Vec<ByteClass>,
    /// Per trie node: the most bytes a token below adds to its prefix (at most 255).
    pub height: Vec<u8>,
    /// Per trie node: the last bytes of its children ([`ByteClass`]).
    pub child_bytes: Vec<ByteClass>,
    /// Per trie node: some token below continues the node's prefix with (a byte of) a
    /// whitespace character from U+0080 (`text::SPACES_FROM_0X80`: U+00A0, U+3000, …). A walk that
    /// leaves out the space leaves these out too (`text::ROWS_NO_WS`).
    pub ws_below: Vec<bool>,
    /// Per trie node: its first child whose [`Self::text_tail`] is [`NOT_TEXT`]
    /// (`u32::MAX` if none); with [`Self::odd_next`], the children a walk in a state that
    /// takes any text must visit.
    pub odd_child: Vec<u32>,
    /// Per trie node: its next sibling whose [`Self::text_tail`] is [`NOT_TEXT`].
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
    /// Sorted positions grouped by [`Self::text_chars`] (group 255: tokens that are not
    /// text), with [`Self::text_bits_up_to`] computed so far.
    by_chars: Grouped,
    /// Per trie node: its parent (the root's is 0), its last byte and its depth (at most
    /// 255), in flat arrays for passes over every node.
    pub parent: Vec<u32>,
    pub byte: Vec<u8>,
    pub depth: Vec<u8>,
    /// Per sorted position: the trie node of the token.
    pub node_of: Vec<u32>,
    /// Token ids grouped by each byte they hold ([`Self::ids_with`]).
    by_held: Grouped,
    /// The ids of the text tokens that hold some byte from 0x80.
    pub high_ids: Vec<u32>,
    /// The trie nodes whose last byte is from 0x80 and whose parent's is not (or is the
    /// root).
    pub high_starts: Vec<u32>,
    /// Trie nodes grouped by their last byte ([`Self::nodes_with`]).
    by_byte: Grouped,
    /// Sorted positions grouped by the token's length in bytes (at most 255).
    by_len: Grouped,
    /// [`super::class_index::ClassIndex`] built so far, by byte class and dead bytes.
    pub(crate) class_indexes: super::class_index::Cache,
    /// Every text token, as a bitmask over ids.
    pub text_bits: Vec<u32>,
}

/// A bitmask over token ids, shared.
pub(crate) type Bits = Arc<Vec<u32>>;

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

/// [`VocabIndex::text_tail`] and [`VocabIndex::text_phase`] of every node. Children are
/// created after their parents, so phases flow forward and subtree facts flow backward
/// through the node order.
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

/// [`VocabIndex::parent`], [`VocabIndex::byte`], [`VocabIndex::depth`] and
/// [`VocabIndex::node_of`].
fn flat(trie: &[TrieNode], tokens: usize) -> (Vec<u32>, Vec<u8>, Vec<u8>, Vec<u32>) {
    let n = trie.len();
    let mut parent = vec![0u32; n];
    let mut depth = vec![0u8; n];
    let mut node_of = vec![0u32; tokens];
    for p in 0..n {
        let mut c = trie[p].first_child;
        while c != u32::MAX {
            parent[c as usize] = p as u32;
            depth[c as usize] = depth[p].saturating_add(1);
            c = trie[c as usize].next_sibling;
        }
        for t in trie[p].lo..trie[p].here_end {
            node_of[t as usize] = p as u32;
        }
    }
    let byte = trie.iter().map(|t| t.byte).collect();
    (parent, byte, depth, node_of)
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
/// [`VocabIndex::ws_below`], from the tokens that hold a high byte.
fn ws_below(v: &VocabIndex) -> Vec<bool> {
    let spaces: Vec<Vec<u8>> = crate::automaton::text::SPACES_FROM_0X80
        .iter()
        .map(|c| c.to_string().into_bytes())
        .collect();
    let mut out = vec![false; v.trie.len()];
    for &id in &v.high_ids {
        let p = v.pos_of[id as usize] as usize;
        let tok = v.tok(p);
        // Where the token's last such character ends.
        let end = (0..tok.len())
            .filter(|&i| matches!(tok[i], 0xc2 | 0xe1..=0xe3 | 0xef))
            .filter_map(|i| {
                spaces
                    .iter()
                    .find(|s| tok[i..].starts_with(s))
                    .map(|s| i + s.len())
            })
            .max();
        let Some(end) = end else { continue };
        // The node's continuation holds a byte of it iff the node is shallower than its end.
        let mut node = v.node_of[p] as usize;
        loop {
            if (v.depth[node] as usize) < end {
                out[node] = true;
            }
            if node == 0 {
                break;
            }
            node = v.parent[node] as usize;
        }
    }
    out
}

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

/// Sorted positions grouped by a small key (a count), and the bitmasks over ids of the
/// positions with key at most `n`, computed once per `n`.
#[derive(Debug, Default)]
pub(crate) struct Grouped {
    /// Positions by key: group `k` is `by[start[k]..start[k + 1]]`.
    by: Vec<u32>,
    start: Vec<u32>,
    known: parking_lot::Mutex<crate::fxhash::FxHashMap<u8, Bits>>,
}

impl Grouped {
    /// Groups the positions `0..keys.len()` by their key (counting sort).
    pub fn new(keys: &[u8]) -> Grouped {
        Self::of(keys.iter().enumerate().map(|(p, &k)| (p as u32, k)))
    }

    /// Groups the given (position, key) pairs.
    pub fn of(items: impl Iterator<Item = (u32, u8)> + Clone) -> Grouped {
        let mut start = vec![0u32; 257];
        for (_, k) in items.clone() {
            start[k as usize + 1] += 1;
        }
        for k in 1..257 {
            start[k] += start[k - 1];
        }
        let mut next = start.clone();
        let mut by = vec![0u32; start[256] as usize];
        for (p, k) in items {
            by[next[k as usize] as usize] = p;
            next[k as usize] += 1;
        }
        Grouped {
            by,
            start,
            known: Default::default(),
        }
    }

    /// Bytes held, the masks computed so far included.
    pub fn memory_bytes(&self) -> usize {
        (self.by.capacity() + self.start.capacity()) * 4
            + self
                .known
                .lock()
                .values()
                .map(|b| b.len() * 4 + 16)
                .sum::<usize>()
    }

    /// The positions with key `k`.
    pub fn group(&self, k: u8) -> &[u32] {
        match self.start.get(k as usize..k as usize + 2) {
            Some(&[lo, hi]) => &self.by[lo as usize..hi as usize],
            _ => &[],
        }
    }

    /// The positions with key at most `n` as a bitmask over ids. `all`, when given, is the
    /// mask of every grouped position. Starts from the known mask (or nothing, or `all`)
    /// whose positions differ least and adds or clears the positions between.
    pub fn up_to(&self, vocab: &VocabIndex, n: u8, all: Option<&Vec<u32>>) -> Bits {
        // The positions with key at most `k` are `by[..end(k)]`.
        let end = |k: u8| self.start[k as usize + 1] as usize;
        let to = end(n);
        let nearest = {
            let known = self.known.lock();
            if let Some(v) = known.get(&n) {
                return v.clone();
            }
            known
                .iter()
                .min_by_key(|(k, _)| end(**k).abs_diff(to))
                .map(|(k, v)| (*k, v.clone()))
        };
        let mut from: (usize, Option<Bits>) = (0, None);
        let whole = all.map(|_| (self.by.len(), None));
        for cand in [whole, nearest.map(|(k, v)| (end(k), Some(v)))]
            .into_iter()
            .flatten()
        {
            if cand.0.abs_diff(to) < from.0.abs_diff(to) {
                from = cand;
            }
        }
        let mut bits = match (from.1, all) {
            (Some(v), _) => (*v).clone(),
            (None, Some(all)) if from.0 > 0 => all.clone(),
            _ => vec![0u32; vocab.words()],
        };
        let (lo, hi) = (from.0.min(to), from.0.max(to));
        let add = from.0 < to;
        for &p in &self.by[lo..hi] {
            let id = vocab.ids[p as usize];
            let w = &mut bits[(id / 32) as usize];
            if add {
                *w |= 1 << (id % 32);
            } else {
                *w &= !(1 << (id % 32));
            }
        }
        let v = std::sync::Arc::new(bits);
        self.known.lock().insert(n, v.clone());
        v
    }
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
        data.shrink_to_fit();
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
            below: Vec::new(),
            ws_below: Vec::new(),
            height: Vec::new(),
            child_bytes: Vec::new(),
            odd_child: Vec::new(),
            odd_next: Vec::new(),
            live_child: Vec::new(),
            live_next: Vec::new(),
            text_chars: Vec::new(),
            by_chars: Grouped::default(),
            parent: Vec::new(),
            byte: Vec::new(),
            depth: Vec::new(),
            node_of: Vec::new(),
            by_held: Grouped::default(),
            high_ids: Vec::new(),
            high_starts: Vec::new(),
            by_byte: Grouped::default(),
            by_len: Grouped::default(),
            class_indexes: Default::default(),
            text_bits: Vec::new(),
        };
        let mut bits = vec![0u32; v.words()];
        for &id in &v.ids {
            bits[(id / 32) as usize] |= 1 << (id % 32);
        }
        v.text_bits = bits;
        v.trie = v.build_trie();
        v.trie.shrink_to_fit();
        (v.text_tail, v.text_phase) = text_tails(&v.trie);
        (v.odd_child, v.odd_next) = links(&v.trie, |c| v.text_tail[c] == NOT_TEXT);
        let quiet = quiet_nodes(&v.trie, &v.text_phase);
        (v.live_child, v.live_next) = links(&v.trie, |c| !quiet[c]);
        v.text_chars = (0..v.len()).map(|p| text_chars(v.tok(p))).collect();
        v.by_chars = Grouped::new(&v.text_chars);
        (v.parent, v.byte, v.depth, v.node_of) = flat(&v.trie, v.len());
        v.by_byte = Grouped::new(&v.byte);
        v.by_len = Grouped::of((0..v.len()).map(|p| (p as u32, v.depth[v.node_of[p] as usize])));
        // Each token's distinct bytes, and whether one is a high byte, in one pass.
        let mut held: Vec<(u32, u8)> = Vec::new();
        for p in 0..v.len() {
            let mut seen = crate::automaton::ByteSet::default();
            for &b in v.tok(p) {
                if !seen.contains(b) {
                    seen.insert(b);
                    held.push((v.ids[p], b));
                }
            }
            if seen.0[2] | seen.0[3] != 0 {
                v.high_ids.push(v.ids[p]);
            }
        }
        v.by_held = Grouped::of(held.iter().copied());
        v.high_starts = (1..v.trie.len() as u32)
            .filter(|&c| {
                let p = v.parent[c as usize] as usize;
                v.byte[c as usize] >= 0x80 && (p == 0 || v.byte[p] < 0x80)
            })
            .collect();
        (v.below, v.height) = below_and_height(&v.trie);
        v.ws_below = ws_below(&v);
        v.child_bytes = (0..v.trie.len())
            .map(|p| {
                let mut m: ByteClass = 0;
                let mut c = v.trie[p].first_child;
                while c != u32::MAX {
                    m |= class_bit(v.trie[c as usize].byte);
                    c = v.trie[c as usize].next_sibling;
                }
                m
            })
            .collect();
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

    /// Bytes held: the trie, its per-node facts and links, the token lists, and the masks
    /// and class indexes computed so far.
    pub fn memory_bytes(&self) -> usize {
        fn v<T>(x: &Vec<T>) -> usize {
            x.capacity() * std::mem::size_of::<T>()
        }
        let arrays = v(&self.ids)
            + v(&self.offs)
            + v(&self.data)
            + v(&self.pos_of)
            + v(&self.stop_ids)
            + v(&self.trie)
            + v(&self.text_tail)
            + v(&self.text_phase)
            + v(&self.below)
            + v(&self.ws_below)
            + v(&self.height)
            + v(&self.child_bytes)
            + v(&self.odd_child)
            + v(&self.odd_next)
            + v(&self.live_child)
            + v(&self.live_next)
            + v(&self.text_chars)
            + v(&self.parent)
            + v(&self.byte)
            + v(&self.depth)
            + v(&self.node_of)
            + v(&self.high_ids)
            + v(&self.high_starts)
            + v(&self.text_bits);
        let groups = [&self.by_chars, &self.by_held, &self.by_byte, &self.by_len]
            .iter()
            .map(|g| g.memory_bytes())
            .sum::<usize>();
        let classes = {
            let cache = self.class_indexes.lock();
            let mut shared: Vec<*const Vec<u32>> = Vec::new();
            let mut sum = 0;
            for ix in cache.values() {
                let (links, bits) = ix.memory_bytes();
                sum += links;
                if !shared.contains(&Arc::as_ptr(bits)) {
                    shared.push(Arc::as_ptr(bits));
                    sum += bits.capacity() * 4;
                }
            }
            sum
        };
        arrays + groups + classes
    }

    /// The trie nodes other than the root whose last byte is `b`.
    pub fn nodes_with(&self, b: u8) -> &[u32] {
        let g = self.by_byte.group(b);
        match g.first() {
            Some(0) => &g[1..],
            _ => g,
        }
    }

    /// The child of trie `node` whose last byte is `b`, if any. Nodes are numbered in
    /// depth-first order, so the child is the first node with byte `b` after `node` that is
    /// one level deeper; the nodes with byte `b` met before it lie below earlier siblings
    /// (deeper still), and a node no deeper than the child's level ends the search.
    pub fn child_with(&self, node: u32, b: u8) -> Option<u32> {
        if self.child_bytes[node as usize] & class_bit(b) == 0 {
            return None;
        }
        let level = self.depth[node as usize];
        if level >= 254 {
            // Depths saturate at 255: walk the siblings instead.
            let mut c = self.trie[node as usize].first_child;
            while c != u32::MAX && self.trie[c as usize].byte != b {
                c = self.trie[c as usize].next_sibling;
            }
            return (c != u32::MAX).then_some(c);
        }
        let list = self.nodes_with(b);
        let i = list.partition_point(|&n| n <= node);
        for &n in &list[i..] {
            let d = self.depth[n as usize];
            if d == level + 1 {
                return (self.parent[n as usize] == node).then_some(n);
            }
            if d <= level {
                return None;
            }
        }
        None
    }

    /// The ids of the text tokens that hold byte `b`.
    pub fn ids_with(&self, b: u8) -> &[u32] {
        self.by_held.group(b)
    }

    /// The text tokens of at most `n` bytes, as a bitmask over ids; computed once per `n`.
    pub fn len_bits_up_to(&self, n: u8) -> Bits {
        self.by_len.up_to(self, n, Some(&self.text_bits))
    }

    /// The tokens of safe text that start at most `n` characters ([`Self::text_chars`]), as
    /// a bitmask over ids; computed once per `n`.
    pub fn text_bits_up_to(&self, n: u8) -> Bits {
        self.by_chars.up_to(self, n, Some(&self.text_bits))
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

    #[test]
    fn child_with_finds_each_child_by_its_byte() {
        // Siblings before a child hold the same byte deeper down ("a<", "b<" before "<").
        let mut words: Vec<Vec<u8>> = WORDS.iter().map(|w| w.to_vec()).collect();
        for w in [&b" a<"[..], b" b<x", b" <", b" <t", b"<<", b" a<<", b"a<b<"] {
            words.push(w.to_vec());
        }
        // A chain deeper than the saturated depth.
        words.push(vec![b'q'; 300]);
        words.push([vec![b'q'; 299], b"r".to_vec()].concat());
        let refs: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
        let v = vocab(&refs);
        for node in 0..v.trie.len() as u32 {
            let mut want = [None; 256];
            let mut c = v.trie[node as usize].first_child;
            while c != u32::MAX {
                want[v.trie[c as usize].byte as usize] = Some(c);
                c = v.trie[c as usize].next_sibling;
            }
            for b in 0..=255u8 {
                assert_eq!(
                    v.child_with(node, b),
                    want[b as usize],
                    "node {node} byte {b}"
                );
            }
        }
    }
}
