//! Runs of one byte class: per automaton state, a set of bytes that all lead to the same
//! quiet state, and how many such bytes in a row the state surely takes.
//!
//! Pattern and format automata spend most of their states in loops over a class (`[\w.-]+`,
//! the characters of a URI path) or in counted chains over one (`[a-z]{1,64}`). The token
//! walk (`compiler/mask.rs`) meets them with a vocabulary fact per trie node: which bytes
//! occur below the node and how deep it goes ([`crate::compiler`]'s vocabulary index). When
//! every byte below is in the state's run class and the subtree is no deeper than the run,
//! every token below is accepted without walking it.

use super::{ByteSet, DEAD, RuleDfa};

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

/// A state whose runs over one byte class are only counted ([`class_count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassCount {
    /// The bytes of the class.
    pub class: ByteSet,
    /// How many class bytes in a row are taken (255: any number).
    pub depth: u8,
    /// The bytes outside the class that no state along the runs takes.
    pub dead: ByteSet,
    /// How many levels of states the runs pass before they end or repeat.
    pub levels: usize,
}

/// The bytes of a [`ByteClass`] (bit 127 stands for `0x7f..=0xff`).
pub(crate) fn class_bytes(class: ByteClass) -> ByteSet {
    let mut s = ByteSet::default();
    for b in 0..=255u8 {
        if class & class_bit(b) != 0 {
            s.insert(b);
        }
    }
    s
}

/// Whether strings over `class` are only counted from `s`: every string of class bytes up
/// to some length is taken, none longer, through states with no call and no end (the
/// states after the last byte included), level by level (at most 16 states a level). Then
/// a token made of class bytes is accepted exactly when it is short enough, and one whose
/// first byte outside the class is in `dead` is rejected.
pub(crate) fn class_count(d: &RuleDfa, s: u32, class: ByteClass) -> Option<ClassCount> {
    let bytes = class_bytes(class);
    let mut cls: Vec<usize> = (0..=255u8)
        .filter(|&b| bytes.contains(b))
        .map(|b| d.classes[b as usize] as usize)
        .collect();
    cls.sort_unstable();
    cls.dedup();
    let others: Vec<u8> = (0..=255u8).filter(|&b| !bytes.contains(b)).collect();
    // An automaton class with bytes on both sides leads them to the same place: the class
    // bytes decide.
    let mut taken = ByteSet::default();
    let mut levels: Vec<Vec<u32>> = Vec::new();
    let mut level = vec![s];
    let depth = loop {
        let mut next: Vec<u32> = Vec::new();
        let (mut live, mut dead) = (false, false);
        for &st in &level {
            if !d.plain[st as usize] {
                return None;
            }
            for &b in &others {
                if d.next(st, b) != DEAD {
                    taken.insert(b);
                }
            }
            for &c in &cls {
                match d.trans[st as usize * d.ncls + c] {
                    DEAD => dead = true,
                    t => {
                        live = true;
                        next.push(t);
                    }
                }
            }
        }
        if !live {
            break levels.len() as u8;
        }
        if dead {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        if next.len() > 16 {
            return None;
        }
        levels.push(std::mem::replace(&mut level, next));
        if levels.contains(&level) {
            // A cycle: runs of any length.
            break 255;
        }
        if levels.len() >= 255 {
            return None;
        }
    };
    let mut dead = ByteSet([!0; 4]);
    for (i, w) in dead.0.iter_mut().enumerate() {
        *w &= !(bytes.0[i] | taken.0[i]);
    }
    Some(ClassCount {
        class: bytes,
        depth,
        dead,
        levels: levels.len(),
    })
}
