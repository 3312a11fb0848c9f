//! Runs of one byte class: per automaton state, a set of bytes that all lead to the same
//! plain state, and how many such bytes in a row the state surely takes.
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
/// at least 255) through plain states, the last byte possibly ending elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub class: ByteClass,
    pub depth: u8,
}

/// Per state of `d`: its [`Run`] (depth 0 for states that are not plain or have none).
pub(crate) fn runs(d: &RuleDfa) -> Vec<Run> {
    let n = d.num_states();
    // Per byte class of the automaton: its ASCII bytes (below 0x7f) and their number; and
    // the classes of the bytes 0x7f..=0xff.
    let mut ascii: Vec<ByteClass> = vec![0; d.ncls];
    for b in 0u8..0x7f {
        ascii[d.classes[b as usize] as usize] |= class_bit(b);
    }
    let sizes: Vec<u32> = ascii.iter().map(|m| m.count_ones()).collect();
    let ascii_classes: Vec<usize> = (0..d.ncls).filter(|&c| sizes[c] > 0).collect();
    let mut high: Vec<usize> = (0x7f..=0xffu8)
        .map(|b| d.classes[b as usize] as usize)
        .collect();
    high.sort_unstable();
    high.dedup();
    // Per state: the plain successor most ASCII bytes lead to, and those bytes.
    let mut next: Vec<Option<u32>> = vec![None; n];
    let mut class: Vec<ByteClass> = vec![0; n];
    let mut counts: Vec<(u32, u32, ByteClass)> = Vec::new();
    for s in 0..n {
        if !d.plain[s] {
            continue;
        }
        counts.clear();
        let row = &d.trans[s * d.ncls..(s + 1) * d.ncls];
        for &c in &ascii_classes {
            let t = row[c];
            if t == DEAD {
                continue;
            }
            match counts.iter_mut().find(|x| x.0 == t) {
                Some(x) => {
                    x.1 += sizes[c];
                    x.2 |= ascii[c];
                }
                None => counts.push((t, sizes[c], ascii[c])),
            }
        }
        let Some(&(t, _, mut m)) = counts.iter().max_by_key(|x| (x.1, std::cmp::Reverse(x.0)))
        else {
            continue;
        };
        if high.iter().all(|&c| row[c] == t) {
            m |= class_bit(0x7f);
        }
        class[s] = m;
        next[s] = Some(t);
    }
    // depth(s) = 1 + depth(next(s)) when next(s) is plain and its class holds s's class
    // (strings over s's class are then strings over the next one's), else 1; a chain that
    // runs into a cycle never ends (255).
    let link = |s: usize| -> Option<usize> {
        let t = next[s]? as usize;
        (d.plain[t] && next[t].is_some() && class[s] & !class[t] == 0).then_some(t)
    };
    let mut depth: Vec<Option<u8>> = vec![None; n];
    let mut on_path = vec![false; n];
    let mut path: Vec<usize> = Vec::new();
    for s0 in 0..n {
        if next[s0].is_none() || depth[s0].is_some() {
            continue;
        }
        let mut s = s0;
        // Follow the chain until a known state, its end, or a state already on the path.
        let base = loop {
            if let Some(x) = depth[s] {
                break x;
            }
            if on_path[s] {
                break 255;
            }
            on_path[s] = true;
            path.push(s);
            match link(s) {
                Some(t) => s = t,
                None => break 0,
            }
        };
        let cycle = base == 255 && on_path[s];
        let mut v = base;
        while let Some(p) = path.pop() {
            on_path[p] = false;
            v = if cycle { 255 } else { v.saturating_add(1) };
            depth[p] = Some(v);
        }
    }
    (0..n)
        .map(|s| match depth[s] {
            Some(depth) => Run {
                class: class[s],
                depth,
            },
            None => Run::default(),
        })
        .collect()
}
