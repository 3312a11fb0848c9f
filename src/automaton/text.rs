//! Plain text as the token walk's shortcut sees it: UTF-8 sequences of "safe" characters,
//! every Unicode scalar value from U+0020 except `"` (U+0022), `\` (U+005C) and DEL
//! (U+007F), which is what JSON strings and free text take without escaping.
//!
//! Two facts meet in the walk (`compiler/mask.rs`): for a trie node, the most characters the
//! tokens below it add when every continuation is safe text ([`Phase`], used by the
//! vocabulary index); and for an automaton state, how many safe characters it surely takes,
//! whatever they are, passing only through plain states ([`safe_depths`]). Where the first
//! is within the second, every token below the node is accepted without walking it.

use super::{DEAD, RuleDfa};

/// Where a byte string stands in the UTF-8 encoding of safe text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// At a character boundary.
    Boundary,
    /// Inside a character: `n` more continuation bytes, the next one in `lo..=hi`.
    Inside { n: u8, lo: u8, hi: u8 },
}

impl Phase {
    /// The phase after byte `b`, or `None` when `b` cannot continue safe text here.
    pub fn step(self, b: u8) -> Option<Phase> {
        let inside = |n, lo, hi| Some(Phase::Inside { n, lo, hi });
        match self {
            Phase::Boundary => match b {
                0x20..=0x7e if b != b'"' && b != b'\\' => Some(Phase::Boundary),
                0xc2..=0xdf => inside(1, 0x80, 0xbf),
                0xe0 => inside(2, 0xa0, 0xbf),
                0xe1..=0xec | 0xee..=0xef => inside(2, 0x80, 0xbf),
                0xed => inside(2, 0x80, 0x9f),
                0xf0 => inside(3, 0x90, 0xbf),
                0xf1..=0xf3 => inside(3, 0x80, 0xbf),
                0xf4 => inside(3, 0x80, 0x8f),
                _ => None,
            },
            Phase::Inside { n, lo, hi } => {
                if !(lo..=hi).contains(&b) {
                    None
                } else if n == 1 {
                    Some(Phase::Boundary)
                } else {
                    inside(n - 1, 0x80, 0xbf)
                }
            }
        }
    }
}

/// The safe characters as byte-range rows (the well-formed UTF-8 table restricted to them).
const ROWS: &[&[(u8, u8)]] = &[
    &[(0x20, 0x21)],
    &[(0x23, 0x5b)],
    &[(0x5d, 0x7e)],
    &[(0xc2, 0xdf), (0x80, 0xbf)],
    &[(0xe0, 0xe0), (0xa0, 0xbf), (0x80, 0xbf)],
    &[(0xe1, 0xec), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xed, 0xed), (0x80, 0x9f), (0x80, 0xbf)],
    &[(0xee, 0xef), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf0, 0xf0), (0x90, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf1, 0xf3), (0x80, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf4, 0xf4), (0x80, 0x8f), (0x80, 0xbf), (0x80, 0xbf)],
];

/// Per state of `d`: how many safe characters the state surely takes, whatever they are
/// (the last one possibly cut short), passing only through plain states (no end, no call)
/// before the last byte; 255 means "at least 255". 0 for states that are not plain.
pub(crate) fn safe_depths(d: &RuleDfa) -> Vec<u8> {
    let n = d.num_states();
    // Classes of the bytes of each range.
    let classes_of = |lo: u8, hi: u8| -> Vec<usize> {
        let mut v: Vec<usize> = (lo..=hi).map(|b| d.classes[b as usize] as usize).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let rows: Vec<Vec<Vec<usize>>> = ROWS
        .iter()
        .map(|r| r.iter().map(|&(lo, hi)| classes_of(lo, hi)).collect())
        .collect();
    // For each plain state: the plain states reached after one whole character, or None
    // when some safe character (or a prefix of one) is not surely taken.
    let mut succ: Vec<Option<Vec<u32>>> = vec![None; n];
    for (s, out) in succ.iter_mut().enumerate() {
        if !d.plain[s] {
            continue;
        }
        let mut ends: Vec<u32> = Vec::new();
        let mut ok = true;
        'rows: for row in &rows {
            let mut cur: Vec<u32> = vec![s as u32];
            for (i, cls) in row.iter().enumerate() {
                let last = i + 1 == row.len();
                let mut next = Vec::new();
                for &st in &cur {
                    for &c in cls {
                        let t = d.trans[st as usize * d.ncls + c];
                        if t == DEAD || (!last && !d.plain[t as usize]) {
                            ok = false;
                            break 'rows;
                        }
                        next.push(t);
                    }
                }
                next.sort_unstable();
                next.dedup();
                cur = next;
            }
            ends.extend(cur);
        }
        if ok {
            ends.sort_unstable();
            ends.dedup();
            *out = Some(ends);
        }
    }
    // f(s) = min over characters of (1 if the character ends on a state that is not plain,
    // else 1 + f(that state)); a greatest fixpoint from 255 down.
    let mut f: Vec<u16> = (0..n)
        .map(|s| if succ[s].is_some() { 255 } else { 0 })
        .collect();
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (s, out) in succ.iter().enumerate() {
        for &t in out.iter().flatten() {
            if d.plain[t as usize] {
                preds[t as usize].push(s as u32);
            }
        }
    }
    let eval = |f: &[u16], s: usize| -> u16 {
        let Some(ends) = &succ[s] else {
            return 0;
        };
        let mut v = 255u16;
        for &t in ends {
            let x = if d.plain[t as usize] {
                (1 + f[t as usize]).min(255)
            } else {
                1
            };
            v = v.min(x);
        }
        v
    };
    let mut work: Vec<u32> = (0..n as u32)
        .filter(|&s| succ[s as usize].is_some())
        .collect();
    let mut queued = vec![false; n];
    work.iter().for_each(|&s| queued[s as usize] = true);
    while let Some(s) = work.pop() {
        queued[s as usize] = false;
        let v = eval(&f, s as usize);
        if v < f[s as usize] {
            f[s as usize] = v;
            for &p in &preds[s as usize] {
                if !queued[p as usize] {
                    queued[p as usize] = true;
                    work.push(p);
                }
            }
        }
    }
    f.into_iter().map(|x| x as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_well_formed_utf8() {
        let run = |bs: &[u8]| {
            bs.iter()
                .try_fold(Phase::Boundary, |p, &b| p.step(b))
                .map(|p| p == Phase::Boundary)
        };
        assert_eq!(run("aé中😀".as_bytes()), Some(true));
        assert_eq!(run(&"中".as_bytes()[..2]), Some(false));
        assert_eq!(run(b"a\"b"), None);
        assert_eq!(run(b"\\"), None);
        assert_eq!(run(b"\n"), None);
        assert_eq!(run(&[0xed, 0xa0, 0x80]), None, "surrogate");
        assert_eq!(run(&[0xc0, 0x80]), None, "overlong");
    }
}
