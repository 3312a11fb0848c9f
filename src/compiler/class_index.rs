//! Tokens made of one byte class, for states that count runs of that class.
//!
//! A pattern string such as `^[ -}]{30}$` or `^[\w.-]+$` spends its states in a chain or a
//! loop over one byte class `C` ([`crate::automaton::runs::class_count`]): every string of
//! `C` bytes up to some length is taken through states with no call and no end, and the
//! bytes outside `C` that none of those states takes (`D`, the dead bytes) reject a token
//! wherever they stand. For such a state the vocabulary splits by the token alone:
//!
//! - tokens made only of `C` bytes are accepted exactly when they are short enough: one
//!   bitmask per length bound, read from the tokens grouped by length;
//! - tokens whose first byte outside `C` is in `D` are rejected;
//! - the other tokens (a `"` that ends the string, a `\` that starts an escape) are walked.
//!
//! [`ClassIndex`] holds, per (`C`, `D`), the length groups and the trie links to the
//! subtrees that hold tokens of the third kind, so that the walk visits only those. It is
//! built once per vocabulary and (`C`, `D`), from two passes over the flat node arrays.

use std::sync::Arc;

use crate::automaton::ByteSet;
use crate::fxhash::FxHashMap;

use super::vocab::{Bits, Grouped, VocabIndex};

/// Indexes kept per vocabulary; when this many are kept, the cache starts over.
const MAX_KEPT: usize = 64;

/// [`ClassIndex`] by (`C`, `D`).
pub(crate) type Cache = parking_lot::Mutex<FxHashMap<(ByteSet, ByteSet), Arc<ClassIndex>>>;

/// The tokens of one byte class and the links to the subtrees a walk must visit.
#[derive(Debug)]
pub(crate) struct ClassIndex {
    /// Positions of the tokens made only of `C` bytes, grouped by length (at most 255).
    by_len: Grouped,
    /// Per node whose path is made of `C` bytes and below which some token must be walked,
    /// by node: the first such child (`u32::MAX` when none, kept for the root).
    first: Vec<(u32, u32)>,
    /// Per child listed under such a node, by child: the next one (`u32::MAX` after the
    /// last).
    next: Vec<(u32, u32)>,
}

impl ClassIndex {
    /// The index of `class` with dead bytes `dead` for `vocab`, built on first use.
    /// Only control bytes, DEL and bytes above it count as dead (the others outside the
    /// class are walked), so that the states along one chain share an index.
    pub fn get(vocab: &VocabIndex, class: ByteSet, dead: ByteSet) -> Arc<ClassIndex> {
        let mut dead = dead;
        dead.0[0] &= 0xffff_ffff;
        dead.0[1] &= 1 << 63;
        if let Some(ix) = vocab.class_indexes.lock().get(&(class, dead)) {
            return ix.clone();
        }
        let ix = Arc::new(ClassIndex::build(vocab, &class, &dead));
        let mut cache = vocab.class_indexes.lock();
        if cache.len() >= MAX_KEPT {
            cache.clear();
        }
        cache.entry((class, dead)).or_insert(ix).clone()
    }

    fn build(vocab: &VocabIndex, class: &ByteSet, dead: &ByteSet) -> ClassIndex {
        let n = vocab.trie.len();
        let in_class: [bool; 256] = std::array::from_fn(|b| class.contains(b as u8));
        // Nodes whose path is made of class bytes (parents come before their children).
        let mut inside = vec![false; n];
        inside[0] = true;
        for i in 1..n {
            inside[i] = in_class[vocab.byte[i] as usize] && inside[vocab.parent[i] as usize];
        }
        // A child of such a node is visited when some token below must be walked: below a
        // class child, when the child itself has such children; at the first byte outside
        // the class, unless that byte is dead. Children come before parents in reverse, and
        // each is put at the front of its parent's list: siblings are met from the last, so
        // every list ends up in byte order, as the trie's own.
        let mut head = vec![u32::MAX; n];
        let mut next: Vec<(u32, u32)> = Vec::new();
        for i in (1..n).rev() {
            let p = vocab.parent[i] as usize;
            if !inside[p] {
                continue;
            }
            let visit = if inside[i] {
                head[i] != u32::MAX
            } else {
                !dead.contains(vocab.byte[i])
            };
            if visit {
                next.push((i as u32, head[p]));
                head[p] = i as u32;
            }
        }
        next.sort_unstable();
        let mut first: Vec<(u32, u32)> = head
            .iter()
            .enumerate()
            .filter(|&(i, &h)| h != u32::MAX && inside[i])
            .map(|(i, &h)| (i as u32, h))
            .collect();
        if first.first().is_none_or(|&(i, _)| i != 0) {
            first.insert(0, (0, u32::MAX));
        }
        let tokens: Vec<(u32, u8)> = (0..vocab.len() as u32)
            .filter_map(|p| {
                let node = vocab.node_of[p as usize] as usize;
                inside[node].then(|| (p, vocab.depth[node]))
            })
            .collect();
        ClassIndex {
            by_len: Grouped::of(tokens.iter().copied()),
            first,
            next,
        }
    }

    /// The tokens made only of class bytes, at most `n` of them, as a bitmask over ids.
    pub fn up_to(&self, vocab: &VocabIndex, n: u8) -> Bits {
        self.by_len.up_to(vocab, n, None)
    }

    /// The first child of `node` a walk visits.
    #[inline]
    pub fn first(&self, vocab: &VocabIndex, node: u32) -> u32 {
        match self.first.binary_search_by_key(&node, |&(k, _)| k) {
            Ok(i) => self.first[i].1,
            Err(_) => vocab.trie[node as usize].first_child,
        }
    }

    /// The next sibling of `c` a walk visits.
    #[inline]
    pub fn next(&self, vocab: &VocabIndex, c: u32) -> u32 {
        match self.next.binary_search_by_key(&c, |&(k, _)| k) {
            Ok(i) => self.next[i].1,
            Err(_) => vocab.trie[c as usize].next_sibling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{TokenizerInfo, VocabType};

    #[test]
    fn index_matches_its_definition() {
        let words: &[&[u8]] = &[
            b"a",
            b"ab",
            b"abc",
            b"abcdefgh",
            b"a\"",
            b"ab\",",
            b"a\xc3\xa9",
            b"\xc3\xa9",
            b"a~b",
            b"~",
            b"x\n",
            b"xyz\\",
            b"\"",
            b"b.c",
            b"zz",
        ];
        let t = TokenizerInfo::from_vocab(words, VocabType::Raw, &Default::default()).unwrap();
        let v = VocabIndex::new(&t);
        let mut class = ByteSet::default();
        (b'a'..=b'z').chain([b'.']).for_each(|b| class.insert(b));
        // Dead: the high bytes and "~" (the latter is not kept as dead: it is walked).
        let mut dead = ByteSet::default();
        (0x80..=0xffu8).chain([b'~']).for_each(|b| dead.insert(b));
        let ix = ClassIndex::get(&v, class, dead);
        let in_class = |tok: &[u8]| tok.iter().all(|&b| class.contains(b));
        for n in [0u8, 2, 1, 3, 255, 8] {
            let bits = ix.up_to(&v, n);
            for p in 0..v.len() {
                let (id, tok) = (v.ids[p], v.tok(p));
                let want = in_class(tok) && tok.len() <= n as usize;
                assert_eq!(
                    bits[(id / 32) as usize] >> (id % 32) & 1 == 1,
                    want,
                    "{n} {tok:?}"
                );
            }
        }
        // Reached through the links: every token whose first byte outside the class is
        // not a dead high byte; every linked subtree holds one.
        let must = |tok: &[u8]| {
            let k = tok.iter().position(|&b| !class.contains(b));
            k.is_some_and(|k| tok[k] < 0x80)
        };
        let mut reached: Vec<&[u8]> = Vec::new();
        let mut stack = vec![0u32];
        while let Some(n) = stack.pop() {
            let mut c = ix.first(&v, n);
            let mut last: Option<u8> = None;
            while c != u32::MAX {
                let node = v.trie[c as usize];
                assert!(last < Some(node.byte), "links in byte order");
                last = Some(node.byte);
                let below: Vec<&[u8]> = (node.lo..node.hi).map(|p| v.tok(p as usize)).collect();
                assert!(below.iter().any(|t| must(t)), "{below:?}");
                reached.extend(&below[..(node.here_end - node.lo) as usize]);
                stack.push(c);
                c = ix.next(&v, c);
            }
        }
        for p in 0..v.len() {
            if must(v.tok(p)) {
                assert!(reached.contains(&v.tok(p)), "{:?}", v.tok(p));
            }
        }
        assert!(!reached.contains(&&b"a\xc3\xa9"[..]));
    }
}
