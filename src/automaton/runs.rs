//! Runs of one byte class: per automaton state, a set of bytes that all lead to the same
//! quiet state, and how many such bytes in a row the state surely takes.
//!
//! Pattern and format automata spend most of their states in loops over a class (`[\w.-]+`,
//! the characters of a URI path) or in counted chains over one (`[a-z]{1,64}`). The token
//! walk (`compiler/mask.rs`) meets them with a vocabulary fact per trie node: which bytes
//! occur below the node and how deep it goes ([`crate::compiler`]'s vocabulary index). When
//! every byte below is in the state's run class and the subtree is no deeper than the run,
//! every token below is accepted without walking it.

use super::{DEAD, RuleDfa};

/// A set of bytes as the walk's shortcut sees it: bit `b` for ASCII `b < 0x7f`; bit 127
/// stands for all of `0x7f..=0xff` at once.
pub(crate) type ByteClass = u128;

/// The [`ByteClass`] bit of byte `b`.
#[inline]
pub(crate) fn class_bit(b: u8) -> ByteClass {
    1u128 << b.min(127)
}

/// The run of one state: bytes in `class` surely take the state `depth` bytes deep (255:
/// at least 255) through quiet states, the last byte possibly ending elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub class: ByteClass,
    pub depth: u8,
}

/// The byte classes of one automaton that runs are made of, gathered once.
#[derive(Debug)]
pub(crate) struct RunClasses {
    /// Per automaton class: its ASCII bytes (below 0x7f).
    ascii: Vec<ByteClass>,
    /// Per automaton class: how many those are.
    sizes: Vec<u32>,
    /// Classes with some ASCII byte.
    with_ascii: Vec<usize>,
    /// Classes of the bytes `0x7f..=0xff`.
    high: Vec<usize>,
}

impl RunClasses {
    pub fn new(d: &RuleDfa) -> RunClasses {
        let mut ascii: Vec<ByteClass> = vec![0; d.ncls];
        for b in 0u8..0x7f {
            ascii[d.classes[b as usize] as usize] |= class_bit(b);
        }
        let sizes: Vec<u32> = ascii.iter().map(|m| m.count_ones()).collect();
        let with_ascii = (0..d.ncls).filter(|&c| sizes[c] > 0).collect();
        let mut high: Vec<usize> = (0x7f..=0xffu8)
            .map(|b| d.classes[b as usize] as usize)
            .collect();
        high.sort_unstable();
        high.dedup();
        RunClasses {
            ascii,
            sizes,
            with_ascii,
            high,
        }
    }
}

/// For a quiet state: the successor most ASCII bytes lead to, and the bytes that lead there
/// (with bit 127 when all of `0x7f..=0xff` do too); `None` for other states.
pub(crate) fn step(d: &RuleDfa, rc: &RunClasses, s: u32) -> Option<(u32, ByteClass)> {
    if !d.quiet(s) {
        return None;
    }
    let row = &d.trans[s as usize * d.ncls..(s as usize + 1) * d.ncls];
    let mut counts: Vec<(u32, u32, ByteClass)> = Vec::new();
    for &c in &rc.with_ascii {
        let t = row[c];
        if t == DEAD {
            continue;
        }
        match counts.iter_mut().find(|x| x.0 == t) {
            Some(x) => {
                x.1 += rc.sizes[c];
                x.2 |= rc.ascii[c];
            }
            None => counts.push((t, rc.sizes[c], rc.ascii[c])),
        }
    }
    let &(t, _, mut m) = counts
        .iter()
        .max_by_key(|x| (x.1, std::cmp::Reverse(x.0)))?;
    if rc.high.iter().all(|&c| row[c] == t) {
        m |= class_bit(0x7f);
    }
    Some((t, m))
}

/// Whether a run of `s`, with class `class`, continues through its successor `t` (quiet,
/// with a run whose class holds `class`): strings over `class` are then strings over `t`'s.
pub(crate) fn links(
    d: &RuleDfa,
    class: ByteClass,
    t: u32,
    t_step: Option<(u32, ByteClass)>,
) -> bool {
    d.quiet(t) && t_step.is_some_and(|(_, tc)| class & !tc == 0)
}
