//! Tokens made of one byte class, for states that count runs of that class.
//!
//! A pattern string such as `^[ -}]{30}$` or `^[\w.-]+$` spends its states in a chain or a
//! loop over one byte class `C` ([`crate::automaton::runs::class_count`]): every string of
//! `C` bytes up to some length is taken through states with no call and no end, and the
//! bytes outside `C` that none of those states takes (`D`, the dead bytes) reject a token
//! wherever they stand. For such a state the vocabulary splits by the token alone:
//!
//! - tokens made only of `C` bytes are accepted exactly when they are short enough: their
//!   bitmask and the vocabulary's tokens by length decide;
//! - tokens whose first byte outside `C` is in `D` are rejected;
//! - the other tokens (a `"` that ends the string, a `\` that starts an escape) are walked.
//!
//! [`ClassIndex`] holds, per (`C`, `D`), the tokens of the first kind and the trie links to
//! the subtrees that hold tokens of the third kind, so that the walk visits only those. It
//! is built once per vocabulary and (`C`, `D`), from the vocabulary's lists of tokens and
//! trie nodes by byte: its cost follows the bytes outside `C`, not the size of the trie.

use std::sync::Arc;

use crate::automaton::ByteSet;
use crate::fxhash::FxHashMap;

use super::vocab::{Bits, VocabIndex};

/// Indexes kept per vocabulary (about 20 KB each); when this many are kept, the cache
/// starts over.
const MAX_KEPT: usize = 256;

/// [`ClassIndex`] by (`C`, `D`).
pub(crate) type Cache = parking_lot::Mutex<FxHashMap<(ByteSet, ByteSet), Arc<ClassIndex>>>;

/// The tokens of one byte class and the links to the subtrees a walk must visit.
#[derive(Debug)]
pub(crate) struct ClassIndex {
    /// The tokens made only of `C` bytes, as a bitmask over ids (shared by the indexes of
    /// one class).
    bits: Arc<Vec<u32>>,
    /// Per node whose path is made of `C` bytes and below which some token must be walked,
    /// by node: the first such child (`u32::MAX` when none, kept for the root).
    first: Vec<(u32, u32)>,
    /// Per child listed under such a node, by child: the next one (`u32::MAX` after the
    /// last).
    next: Vec<(u32, u32)>,
}

impl ClassIndex {
    /// The index of `class` with dead bytes `dead` for `vocab`, built on first use. The
    /// tokens made of class bytes are taken from an index of the same class, when one is
    /// kept.
    pub fn get(vocab: &VocabIndex, class: ByteSet, dead: ByteSet) -> Arc<ClassIndex> {
        let same_class = {
            let cache = vocab.class_indexes.lock();
            if let Some(ix) = cache.get(&(class, dead)) {
                return ix.clone();
            }
            cache
                .iter()
                .find(|((c, _), _)| *c == class)
                .map(|(_, ix)| ix.bits.clone())
        };
        let ix = Arc::new(ClassIndex::build(vocab, &class, &dead, same_class));
        let mut cache = vocab.class_indexes.lock();
        if cache.len() >= MAX_KEPT {
            cache.clear();
        }
        cache.entry((class, dead)).or_insert(ix).clone()
    }

    /// Builds the index from the nodes that leave the class, not from every node: each
    /// node whose byte is neither in the class nor dead is linked when its path up to it is
    /// made of class bytes, and so are its ancestors. For a broad class those nodes are a
    /// small part of the trie.
    fn build(
        vocab: &VocabIndex,
        class: &ByteSet,
        dead: &ByteSet,
        bits: Option<Arc<Vec<u32>>>,
    ) -> ClassIndex {
        const INSIDE: u8 = 1;
        const OUTSIDE: u8 = 2;
        const LINKED: u8 = 4;
        let in_class: [bool; 256] = std::array::from_fn(|b| class.contains(b as u8));
        let (parent, byte) = (&vocab.parent, &vocab.byte);
        // Per node, as far as found: whether its path is made of class bytes, and whether
        // it is linked.
        let mut status = vec![0u8; vocab.trie.len()];
        status[0] = INSIDE;
        let mut path: Vec<u32> = Vec::new();
        let mut inside = |status: &mut [u8], x: u32| -> bool {
            let mut y = x;
            while status[y as usize] & (INSIDE | OUTSIDE) == 0 {
                path.push(y);
                y = parent[y as usize];
            }
            let mut ok = status[y as usize] & INSIDE != 0;
            for &z in path.iter().rev() {
                ok = ok && in_class[byte[z as usize] as usize];
                status[z as usize] |= if ok { INSIDE } else { OUTSIDE };
            }
            path.clear();
            ok
        };
        // The bytes outside the class, each with its nodes, except that with no high byte
        // in the class, the high bytes that leave it follow a class byte or start the
        // token: those nodes are listed apart.
        let no_high = (0x80..=0xffu8).all(|b| !in_class[b as usize]);
        let outside = (0..=255u8).filter(|&b| !(in_class[b as usize] || no_high && b >= 0x80));
        let leaving = (outside.clone().flat_map(|b| vocab.nodes_with(b)))
            .chain(vocab.high_starts.iter().filter(|_| no_high))
            .filter(|&&c| !dead.contains(byte[c as usize]));
        let mut linked: Vec<u32> = Vec::new();
        for &c in leaving {
            let mut x = parent[c as usize];
            if !inside(&mut status, x) {
                continue;
            }
            linked.push(c);
            while x != 0 && status[x as usize] & LINKED == 0 {
                status[x as usize] |= LINKED;
                linked.push(x);
                x = parent[x as usize];
            }
        }
        // Siblings in byte order are in node order (the trie is numbered depth first).
        linked.sort_unstable_by_key(|&c| (parent[c as usize], c));
        let mut first: Vec<(u32, u32)> = Vec::new();
        let mut next: Vec<(u32, u32)> = Vec::with_capacity(linked.len());
        for (i, &c) in linked.iter().enumerate() {
            let p = parent[c as usize];
            if i == 0 || parent[linked[i - 1] as usize] != p {
                first.push((p, c));
            }
            let after = linked
                .get(i + 1)
                .filter(|&&d| parent[d as usize] == p)
                .map_or(u32::MAX, |&d| d);
            next.push((c, after));
        }
        next.sort_unstable();
        if first.first().is_none_or(|&(i, _)| i != 0) {
            first.insert(0, (0, u32::MAX));
        }
        // The tokens made of class bytes: every text token but those holding another byte.
        let bits = bits.unwrap_or_else(|| {
            let mut bits = vocab.text_bits.clone();
            let others = (outside.flat_map(|b| vocab.ids_with(b)))
                .chain(vocab.high_ids.iter().filter(|_| no_high));
            for &id in others {
                bits[(id / 32) as usize] &= !(1 << (id % 32));
            }
            Arc::new(bits)
        });
        ClassIndex { bits, first, next }
    }

    /// Bytes held by the links, and the tokens' bitmask (which indexes of one class share).
    pub fn memory_bytes(&self) -> (usize, &Arc<Vec<u32>>) {
        let links = (self.first.capacity() + self.next.capacity()) * 8;
        (links, &self.bits)
    }

    /// The tokens made only of class bytes, at most `n` of them, as a bitmask over ids.
    pub fn up_to(&self, vocab: &VocabIndex, n: u8) -> Bits {
        let len = vocab.len_bits_up_to(n);
        Arc::new(
            self.bits
                .iter()
                .zip(len.iter())
                .map(|(a, b)| a & b)
                .collect(),
        )
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
            b"b\xc3",
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
        // (class, dead): high bytes dead; all high bytes in the class; one high byte in
        // the class and the others walked; "~" dead in the first two.
        let set = |bytes: &mut dyn Iterator<Item = u8>| {
            let mut s = ByteSet::default();
            bytes.for_each(|b| s.insert(b));
            s
        };
        let cases = [
            (
                set(&mut (b'a'..=b'z').chain([b'.'])),
                set(&mut (0x80..=0xffu8).chain([b'~'])),
            ),
            (
                set(&mut (b'a'..=b'z').chain(0x7f..=0xff)),
                set(&mut (0..0x20u8).chain([b'~'])),
            ),
            (set(&mut (b'a'..=b'z').chain([0xc3])), ByteSet::default()),
            // Every byte but two.
            (
                set(&mut (0..=255u8).filter(|&b| b != b'"' && b != b'\n')),
                ByteSet::default(),
            ),
        ];
        for (class, dead) in cases {
            let kept_dead = |b: u8| dead.contains(b);
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
            // not dead; every linked subtree holds one.
            let must = |tok: &[u8]| {
                let k = tok.iter().position(|&b| !class.contains(b));
                k.is_some_and(|k| !kept_dead(tok[k]))
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
            // Tokens that leave the class after a shared prefix are reached exactly when
            // they must be: "a\xc3\xa9" is dead in the first case, in the class in the
            // second and fourth, walked in the third.
            for t in [&b"a\xc3\xa9"[..], b"a~b", b"x\n"] {
                assert_eq!(reached.contains(&t), must(t), "{t:?} {class:?}");
            }
        }
    }
}
