//! Plain text as the token walk's shortcut sees it: UTF-8 sequences of "safe" characters,
//! every Unicode scalar value from U+0020 except `"` (U+0022), `\` (U+005C), DEL
//! (U+007F) and the line and paragraph separators U+2028 and U+2029: what JSON strings and
//! free text take without escaping, and what a pattern's `.` takes.
//!
//! Two facts meet in the walk (`compiler/mask.rs`): for a trie node, the most characters the
//! tokens below it add when every continuation is safe text ([`Phase`], used by the
//! vocabulary index); and for an automaton state, how many safe characters it surely takes,
//! whatever they are, passing only through quiet states ([`safe_closure`]). Where the first
//! is within the second, every token below the node is accepted without walking it.

use super::runs::{ByteClass, class_bit};
use super::{ByteSet, DEAD, RuleDfa};

/// The safe ASCII characters as a [`ByteClass`].
pub(crate) const SAFE_ASCII: ByteClass = {
    let mut m: ByteClass = 0;
    let mut b = 0x20;
    while b < 0x7f {
        if b != b'"' && b != b'\\' {
            m |= 1 << b;
        }
        b += 1;
    }
    m
};

/// Where a byte string stands in the UTF-8 encoding of safe text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// At a character boundary.
    Boundary,
    /// Inside a character: `n` more continuation bytes, the next one in `lo..=hi`; `ls`
    /// after `E2` and `E2 80`, the starts of U+2028 and U+2029 (excluded).
    Inside { n: u8, lo: u8, hi: u8, ls: bool },
}

impl Phase {
    /// The phase after byte `b`, or `None` when `b` cannot continue safe text here.
    pub fn step(self, b: u8) -> Option<Phase> {
        let inside = |n, lo, hi| {
            Some(Phase::Inside {
                n,
                lo,
                hi,
                ls: false,
            })
        };
        match self {
            Phase::Boundary => match b {
                0x20..=0x7e if b != b'"' && b != b'\\' => Some(Phase::Boundary),
                0xc2..=0xdf => inside(1, 0x80, 0xbf),
                0xe0 => inside(2, 0xa0, 0xbf),
                0xe2 => Some(Phase::Inside {
                    n: 2,
                    lo: 0x80,
                    hi: 0xbf,
                    ls: true,
                }),
                0xe1..=0xec | 0xee..=0xef => inside(2, 0x80, 0xbf),
                0xed => inside(2, 0x80, 0x9f),
                0xf0 => inside(3, 0x90, 0xbf),
                0xf1..=0xf3 => inside(3, 0x80, 0xbf),
                0xf4 => inside(3, 0x80, 0x8f),
                _ => None,
            },
            Phase::Inside { n, lo, hi, ls } => {
                if !(lo..=hi).contains(&b) || (ls && n == 1 && (b == 0xa8 || b == 0xa9)) {
                    None
                } else if n == 1 {
                    Some(Phase::Boundary)
                } else {
                    Some(Phase::Inside {
                        n: n - 1,
                        lo: 0x80,
                        hi: 0xbf,
                        ls: ls && b == 0x80,
                    })
                }
            }
        }
    }
}

/// Every [`Phase::Inside`] there is; [`Phase::index`] numbers them from 1.
pub(crate) const INSIDE: [Phase; 9] = {
    const fn k(n: u8, lo: u8, hi: u8, ls: bool) -> Phase {
        Phase::Inside { n, lo, hi, ls }
    }
    [
        k(1, 0x80, 0xbf, false),
        k(2, 0xa0, 0xbf, false),
        k(2, 0x80, 0xbf, false),
        k(2, 0x80, 0x9f, false),
        k(3, 0x90, 0xbf, false),
        k(3, 0x80, 0xbf, false),
        k(3, 0x80, 0x8f, false),
        k(2, 0x80, 0xbf, true),
        k(1, 0x80, 0xbf, true),
    ]
};

impl Phase {
    /// 0 at a boundary, else 1 + the phase's place in [`INSIDE`].
    pub fn index(self) -> u8 {
        match self {
            Phase::Boundary => 0,
            inside => INSIDE
                .iter()
                .position(|&k| k == inside)
                .map_or(0, |i| i as u8 + 1),
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
    &[(0xe1, 0xe1), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xe2, 0xe2), (0x81, 0xbf), (0x80, 0xbf)],
    &[(0xe2, 0xe2), (0x80, 0x80), (0x80, 0xa7)],
    &[(0xe2, 0xe2), (0x80, 0x80), (0xaa, 0xbf)],
    &[(0xe3, 0xec), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xed, 0xed), (0x80, 0x9f), (0x80, 0xbf)],
    &[(0xee, 0xef), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf0, 0xf0), (0x90, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf1, 0xf3), (0x80, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf4, 0xf4), (0x80, 0x8f), (0x80, 0xbf), (0x80, 0xbf)],
];

/// [`ROWS`] without the whitespace characters from U+0080 ([`SPACES_FROM_0X80`]; the ASCII ones
/// are left out through the exclusion itself): the rows a state must take when
/// the ASCII space is left out ([`succ`]), so that `\S` loops, which leave at every
/// whitespace character, have a safe depth too.
const ROWS_NO_WS: &[&[(u8, u8)]] = &[
    &[(0x20, 0x21)],
    &[(0x23, 0x5b)],
    &[(0x5d, 0x7e)],
    // U+0085, U+00A0.
    &[(0xc2, 0xc2), (0x80, 0x84)],
    &[(0xc2, 0xc2), (0x86, 0x9f)],
    &[(0xc2, 0xc2), (0xa1, 0xbf)],
    &[(0xc3, 0xdf), (0x80, 0xbf)],
    &[(0xe0, 0xe0), (0xa0, 0xbf), (0x80, 0xbf)],
    // U+1680.
    &[(0xe1, 0xe1), (0x80, 0x99), (0x80, 0xbf)],
    &[(0xe1, 0xe1), (0x9a, 0x9a), (0x81, 0xbf)],
    &[(0xe1, 0xe1), (0x9b, 0xbf), (0x80, 0xbf)],
    // U+2000-U+200A, U+2028, U+2029, U+202F, U+205F.
    &[(0xe2, 0xe2), (0x80, 0x80), (0x8b, 0xa7)],
    &[(0xe2, 0xe2), (0x80, 0x80), (0xaa, 0xae)],
    &[(0xe2, 0xe2), (0x80, 0x80), (0xb0, 0xbf)],
    &[(0xe2, 0xe2), (0x81, 0x81), (0x80, 0x9e)],
    &[(0xe2, 0xe2), (0x81, 0x81), (0xa0, 0xbf)],
    &[(0xe2, 0xe2), (0x82, 0xbf), (0x80, 0xbf)],
    // U+3000.
    &[(0xe3, 0xe3), (0x80, 0x80), (0x81, 0xbf)],
    &[(0xe3, 0xe3), (0x81, 0xbf), (0x80, 0xbf)],
    &[(0xe4, 0xec), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xed, 0xed), (0x80, 0x9f), (0x80, 0xbf)],
    // U+FEFF.
    &[(0xee, 0xee), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xef, 0xef), (0x80, 0xba), (0x80, 0xbf)],
    &[(0xef, 0xef), (0xbb, 0xbb), (0x80, 0xbe)],
    &[(0xef, 0xef), (0xbc, 0xbf), (0x80, 0xbf)],
    &[(0xf0, 0xf0), (0x90, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf1, 0xf3), (0x80, 0xbf), (0x80, 0xbf), (0x80, 0xbf)],
    &[(0xf4, 0xf4), (0x80, 0x8f), (0x80, 0xbf), (0x80, 0xbf)],
];

/// A whitespace character as [`ROWS_NO_WS`] leaves them out: Unicode's White_Space
/// ([`char::is_whitespace`]) and U+FEFF, which the `\s` of JSON Schema (ECMA-262) patterns
/// also takes.
#[cfg(test)]
fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// The whitespace characters from U+0080 ([`ROWS_NO_WS`] leaves them out).
pub(crate) const SPACES_FROM_0X80: [char; 20] = [
    '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}',
    '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}',
    '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
];

/// Whether an exclusion of ASCII characters (the `excl` of [`succ`]) leaves out the space,
/// and with it every whitespace character ([`ROWS_NO_WS`]).
pub(crate) fn leaves_out_spaces(excl: ByteClass) -> bool {
    excl & class_bit(b' ') != 0
}

/// The byte classes of one automaton that the text analyses read, gathered once.
#[derive(Debug)]
pub(crate) struct TextClasses {
    /// Per row of [`ROWS`], per byte range: the automaton classes of its bytes.
    rows: Vec<Vec<Vec<usize>>>,
    /// The same for [`ROWS_NO_WS`].
    rows_no_ws: Vec<Vec<Vec<usize>>>,
    /// Classes of the safe ASCII characters.
    ascii: Vec<usize>,
    /// Per automaton class: its ASCII bytes.
    class_ascii: Vec<ByteClass>,
    /// Classes of the continuation bytes.
    cont: Vec<usize>,
    /// Per phase of [`INSIDE`]: one byte per distinct (class, next phase).
    reps: Vec<Vec<u8>>,
}

impl TextClasses {
    pub fn new(d: &RuleDfa) -> TextClasses {
        // The distinct classes of a byte range, in class order.
        let classes_of = |lo: u8, hi: u8| -> Vec<usize> {
            let mut set = ByteSet::default();
            for b in lo..=hi {
                set.insert(d.classes[b as usize]);
            }
            set.iter().map(usize::from).collect()
        };
        // Most ranges are all continuation bytes: computed once.
        let cont = classes_of(0x80, 0xbf);
        let rows_of = |table: &[&[(u8, u8)]]| -> Vec<Vec<Vec<usize>>> {
            table
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&(lo, hi)| match (lo, hi) {
                            (0x80, 0xbf) => cont.clone(),
                            _ => classes_of(lo, hi),
                        })
                        .collect()
                })
                .collect()
        };
        let rows = rows_of(ROWS);
        let rows_no_ws = rows_of(ROWS_NO_WS);
        let ascii = rows[..3]
            .iter()
            .flat_map(|r| r[0].iter().copied())
            .collect();
        let reps = inside_steps()
            .iter()
            .map(|steps| {
                // (class, next phase) pairs seen, as a bitset.
                let mut seen = [0u64; 256 * (INSIDE.len() + 1) / 64];
                let mut v = Vec::new();
                for (b, &next) in (0x80..=0xbfu8).zip(steps) {
                    if next != u8::MAX {
                        let key =
                            d.classes[b as usize] as usize * (INSIDE.len() + 1) + next as usize;
                        if seen[key / 64] >> (key % 64) & 1 == 0 {
                            seen[key / 64] |= 1 << (key % 64);
                            v.push(b);
                        }
                    }
                }
                v
            })
            .collect();
        let mut class_ascii: Vec<ByteClass> = vec![0; d.ncls];
        for b in 0u8..0x7f {
            class_ascii[d.classes[b as usize] as usize] |= class_bit(b);
        }
        TextClasses {
            rows,
            rows_no_ws,
            ascii,
            class_ascii,
            cont,
            reps,
        }
    }
}

/// Per phase of [`INSIDE`], per continuation byte `0x80..=0xbf`: the [`Phase::index`] of the
/// phase after it, or `u8::MAX` where the byte cannot continue safe text. The same for every
/// automaton; computed once.
fn inside_steps() -> &'static [[u8; 64]; INSIDE.len()] {
    static STEPS: std::sync::OnceLock<[[u8; 64]; INSIDE.len()]> = std::sync::OnceLock::new();
    STEPS.get_or_init(|| {
        let mut t = [[u8::MAX; 64]; INSIDE.len()];
        for (k, ph) in INSIDE.iter().enumerate() {
            for (i, b) in (0x80..=0xbfu8).enumerate() {
                if let Some(p2) = ph.step(b) {
                    t[k][i] = p2.index();
                }
            }
        }
        t
    })
}

/// The states `s` ends on after each whole safe character, when every one of them (and
/// every prefix of one) is taken passing only through quiet states before its last byte.
/// ASCII characters in `excl` are left out (they need not be taken); when the space is one of
/// them, so is every other White_Space character ([`ROWS_NO_WS`]). `ok` says which states a
/// character may pass through (quiet ones, or only plain ones).
fn succ(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    excl: ByteClass,
    ok: impl Fn(u32) -> bool,
) -> Option<Vec<u32>> {
    let row_of = |st: u32| &d.trans[st as usize * d.ncls..(st as usize + 1) * d.ncls];
    let kept = |c: usize| tc.class_ascii[c] & excl == 0;
    // Most states of pattern and format automata fail on some ASCII character.
    if !ok(s) || tc.ascii.iter().any(|&c| kept(c) && row_of(s)[c] == DEAD) {
        return None;
    }
    let rows = if leaves_out_spaces(excl) {
        &tc.rows_no_ws
    } else {
        &tc.rows
    };
    let mut ends: Vec<u32> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut next: Vec<u32> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        cur.clear();
        cur.push(s);
        for (i, cls) in row.iter().enumerate() {
            let last = i + 1 == row.len();
            next.clear();
            for &st in &cur {
                // The first three rows are the ASCII characters.
                for &c in cls.iter().filter(|&&c| r >= 3 || kept(c)) {
                    let t = row_of(st)[c];
                    if t == DEAD || (!last && !ok(t)) {
                        return None;
                    }
                    next.push(t);
                }
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(&mut cur, &mut next);
        }
        ends.extend_from_slice(&cur);
    }
    ends.sort_unstable();
    ends.dedup();
    Some(ends)
}

/// Safe depths of `s` and of the quiet states its safe characters lead to (a closed set):
/// how many safe characters a state surely takes, whatever they are (the last one possibly
/// cut short), passing only through quiet states (no call, no lookahead to check; [`RuleDfa::quiet`]) before the last byte;
/// 255 means "at least 255"; 0 for states that are not quiet. A character that ends on a
/// `sinks` state counts as 255: that state calls a rule that surely takes any safe text,
/// whose thread alone takes the rest. `known` gives states already settled, which are not
/// entered again. With `excl`, the ASCII characters in it are left out of "safe"
/// throughout (with the space, every White_Space character).
pub(crate) fn safe_closure(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    excl: ByteClass,
    sinks: &[bool],
    known: impl Fn(u32) -> Option<u8>,
) -> Vec<(u32, u8)> {
    // The closure, with each member's successors.
    let mut index: crate::fxhash::FxHashMap<u32, usize> = Default::default();
    let mut members: Vec<(u32, Option<Vec<u32>>)> = Vec::new();
    // Per member: its distance in characters from `s` (breadth first).
    let mut dist: Vec<usize> = vec![0];
    index.insert(s, 0);
    members.push((s, None));
    let mut k = 0;
    while k < members.len() {
        let st = members[k].0;
        if dist[k] == FAR {
            // Not followed: taken as 255, which changes no depth within 255 characters of
            // it (those members are not returned).
            members[k].1 = Some(Vec::new());
            k += 1;
            continue;
        }
        let out = succ(d, tc, st, excl, |t| d.quiet(t));
        for &t in out.iter().flatten() {
            if d.quiet(t) && known(t).is_none() && !index.contains_key(&t) {
                index.insert(t, members.len());
                members.push((t, None));
                dist.push(dist[k] + 1);
            }
        }
        members[k].1 = out;
        k += 1;
    }
    // f(s) = min over characters of (1 if the character ends on a state that is not quiet,
    // else 1 + f(that state)); a greatest fixpoint from 255 down.
    let m = members.len();
    let mut f: Vec<u16> = members
        .iter()
        .map(|(_, out)| if out.is_some() { 255 } else { 0 })
        .collect();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); m];
    for (i, (_, out)) in members.iter().enumerate() {
        for t in out.iter().flatten() {
            if let Some(&j) = index.get(t) {
                preds[j].push(i);
            }
        }
    }
    let eval = |f: &[u16], i: usize| -> u16 {
        let Some(ends) = &members[i].1 else {
            return 0;
        };
        let mut v = 255u16;
        for &t in ends {
            let x = if sinks.get(t as usize).copied().unwrap_or(false) {
                255
            } else if !d.quiet(t) {
                1
            } else if let Some(&j) = index.get(&t) {
                (1 + f[j]).min(255)
            } else {
                (1 + known(t).unwrap_or(0) as u16).min(255)
            };
            v = v.min(x);
        }
        v
    };
    let mut work: Vec<usize> = (0..m).filter(|&i| members[i].1.is_some()).collect();
    let mut queued = vec![false; m];
    work.iter().for_each(|&i| queued[i] = true);
    while let Some(i) = work.pop() {
        queued[i] = false;
        let v = eval(&f, i);
        if v < f[i] {
            f[i] = v;
            for &p in &preds[i] {
                if !queued[p] {
                    queued[p] = true;
                    work.push(p);
                }
            }
        }
    }
    // A depth is at most 255, so a member within `FAR - 255` characters of `s` depends on
    // followed members only.
    members
        .iter()
        .zip(f)
        .zip(dist)
        .filter(|&(_, k)| k + 255 <= FAR)
        .map(|(((st, _), v), _)| (*st, v as u8))
        .collect()
}

/// How far (in characters) [`safe_closure`] follows the states it meets: twice a depth, so
/// that one closure settles the next 255 states of a long count (a `maxLength: 5000`
/// string), not all of them at once.
const FAR: usize = 510;

/// The longest run of safe ASCII characters that `s` takes, through any states, for `s`
/// and every state it reaches on the way (255: at least 255, or a cycle). A lower bound on
/// the longest safe text `s` takes. `known` gives states already settled.
pub(crate) fn ascii_longest(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    known: impl Fn(u32) -> Option<u8>,
) -> Vec<(u32, u8)> {
    // Distinct successors on safe ASCII characters.
    let edges = |st: u32| {
        let row = &d.trans[st as usize * d.ncls..(st as usize + 1) * d.ncls];
        let mut v: Vec<u32> = tc
            .ascii
            .iter()
            .map(|&c| row[c])
            .filter(|&t| t != DEAD)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Iterative depth-first search; a state met again while on the stack closes a cycle.
    // Per stack entry: the state, its successors, the next one to visit, the best so far.
    let mut value: crate::fxhash::FxHashMap<u32, u8> = Default::default();
    let mut on_stack: crate::fxhash::FxHashSet<u32> = Default::default();
    let mut stack: Vec<(u32, Vec<u32>, usize, u8)> = vec![(s, edges(s), 0, 0)];
    on_stack.insert(s);
    while let Some(top) = stack.last_mut() {
        if let Some(&t) = top.1.get(top.2) {
            top.2 += 1;
            let v = if let Some(v) = known(t).or_else(|| value.get(&t).copied()) {
                v
            } else if on_stack.contains(&t) {
                255
            } else {
                on_stack.insert(t);
                stack.push((t, edges(t), 0, 0));
                continue;
            };
            top.3 = top.3.max(v.saturating_add(1));
        } else {
            let (st, _, _, v) = stack.pop().expect("non-empty");
            on_stack.remove(&st);
            value.insert(st, v);
            if let Some(p) = stack.last_mut() {
                p.3 = p.3.max(v.saturating_add(1));
            }
        }
    }
    value.into_iter().collect()
}

/// Whether `st` takes some control byte (below 0x20).
fn takes_control(d: &RuleDfa, st: u32) -> bool {
    (0..0x20).any(|b| d.next(st, b) != DEAD)
}

/// The states that [`quiet_within`] with `chars` holds for, among `s` and the states safe
/// text leads it to in at most `extra` characters: what one walk of `chars + extra`
/// levels proves. A state first met at level `k` holds when every level up to `k + chars`
/// was walked without a state that fails (the states a count leads to are each the next
/// count, so along a `maxLength: 5000` string one walk settles `extra` of them instead of
/// each walking its own `chars` levels). `s` comes first when it holds. Every state that
/// safe text of at most `chars` characters leads `s` to (`s` included, and the states
/// inside a character) must have no call and no end, and take no control byte (below
/// 0x20): a loop over text, or a count of more than `chars` characters; every safe
/// character must be taken on the way. A state in `quiet_sinks` (its calls are all to
/// rules that have the property) that does not end passes text on to them: it is followed
/// only through the characters it takes itself. The walk stops (at the level it is on)
/// past `limit` states.
pub(crate) fn quiet_levels(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    chars: usize,
    extra: usize,
    limit: usize,
    quiet_sinks: &[bool],
) -> Vec<u32> {
    let hands_on = |st: u32| quiet_sinks.get(st as usize) == Some(&true) && !d.accept[st as usize];
    let fits = |st: u32| (d.plain[st as usize] || hands_on(st)) && !takes_control(d, st);
    let takes_none = |st: u32| {
        (0x20..=0xf4u8)
            .filter(|&b| b >= 0xc2 || SAFE_ASCII & class_bit(b) != 0)
            .all(|b| d.next(st, b) == DEAD)
    };
    let last = chars + extra;
    let mut seen: crate::fxhash::FxHashSet<u32> = Default::default();
    seen.insert(s);
    // States in the order first met, with the level each was first met at.
    let mut met: Vec<(u32, usize)> = vec![(s, 0)];
    let mut level = vec![s];
    // The last level whose states all fit, and the last whose states were all followed,
    // unless `ended`: nothing is left to follow before `last`, and every state met holds.
    let mut fit_done = last;
    let mut follow_done = last;
    let mut ended = false;
    // A state met again is not followed again: it was followed as far or further.
    'levels: for k in 0..=last {
        if !level.iter().all(|&st| fits(st)) {
            if k == 0 {
                return Vec::new();
            }
            (fit_done, follow_done) = (k - 1, k - 1);
            break;
        }
        if k == last {
            follow_done = k.wrapping_sub(1);
            break;
        }
        let mut next: Vec<u32> = Vec::new();
        for &st in &level {
            if hands_on(st) && takes_none(st) {
                continue;
            }
            let passes = |t: u32| d.plain[t as usize] || hands_on(t);
            let ends = succ(d, tc, st, 0, passes);
            let Some(ends) = ends else {
                (fit_done, follow_done) = (k, k.wrapping_sub(1));
                break 'levels;
            };
            for t in ends {
                if seen.insert(t) {
                    if seen.len() > limit {
                        (fit_done, follow_done) = (k, k.wrapping_sub(1));
                        break 'levels;
                    }
                    met.push((t, k + 1));
                    next.push(t);
                }
            }
        }
        if next.is_empty() {
            ended = true;
            break;
        }
        level = next;
    }
    // A state met at level `j` holds when the `chars` levels after it fit and the ones
    // before the last of them were followed (`follow_done` wraps below level 0).
    let holds = |j: usize| {
        ended
            || (j + chars <= fit_done
                && (chars == 0 || (follow_done != usize::MAX && j + chars - 1 <= follow_done)))
    };
    met.into_iter()
        .filter(|&(_, j)| holds(j))
        .map(|(st, _)| st)
        .collect()
}

/// Whether [`quiet_levels`] holds for `s` itself.
#[cfg(test)]
pub(crate) fn quiet_within(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    chars: usize,
    limit: usize,
    quiet_sinks: &[bool],
) -> bool {
    quiet_levels(d, tc, s, chars, 0, limit, quiet_sinks).first() == Some(&s)
}

/// [`super::facts::Facts::counts_only`]: the states after each whole safe character, level by
/// level, are plain (and so are the states inside a character), and after `depth` levels
/// every safe character's first byte is dead. On success, the levels `0..depth` (level 0
/// is `[s]`): each state of level `k` counts only with `depth - k`, since its own levels
/// are within the later ones; and whether no state of any level (the last included) takes
/// a control byte (below 0x20).
pub(crate) fn counts_only(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    depth: u8,
) -> Option<(Vec<Vec<u32>>, bool)> {
    if depth == 0 || depth == 255 || !d.plain[s as usize] {
        return None;
    }
    let mut levels: Vec<Vec<u32>> = vec![vec![s]];
    for _ in 0..depth {
        let mut next: Vec<u32> = Vec::new();
        for &st in levels.last()? {
            let ends = succ(d, tc, st, 0, |t| d.plain[t as usize])?;
            for t in ends {
                if !d.plain[t as usize] {
                    return None;
                }
                next.push(t);
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.len() > 64 {
            return None;
        }
        levels.push(next);
    }
    let no_control = levels.iter().flatten().all(|&st| !takes_control(d, st));
    // After `depth` characters, no safe character may begin.
    let last = levels.pop()?;
    let dead = last.iter().all(|&st| {
        tc.rows.iter().all(|row| {
            row[0]
                .iter()
                .all(|&c| d.trans[st as usize * d.ncls + c] == DEAD)
        })
    });
    dead.then_some((levels, no_control))
}

/// For state `s` reached inside a character, in phase `INSIDE[k]`: 0 when some completion
/// of the character is not surely taken (a dead byte, or a state that is not quiet before
/// the last byte); otherwise 1 + the fewest safe characters surely taken after any
/// completion (`depth` of the state it lands on, 0 when that is not quiet), at most 255.
pub(crate) fn inside_depth(
    d: &RuleDfa,
    tc: &TextClasses,
    s: u32,
    k: usize,
    mut depth: impl FnMut(u32) -> u8,
) -> u8 {
    let row_of = |st: u32| &d.trans[st as usize * d.ncls..(st as usize + 1) * d.ncls];
    if !d.quiet(s) || tc.cont.iter().all(|&c| row_of(s)[c] == DEAD) {
        return 0;
    }
    // Follow every completion of the character, as (state, phase) pairs.
    let mut cur: Vec<(u32, Phase)> = vec![(s, INSIDE[k])];
    let mut next: Vec<(u32, Phase)> = Vec::new();
    let mut least = u8::MAX;
    while !cur.is_empty() {
        next.clear();
        for &(st, ph) in &cur {
            if !d.quiet(st) {
                return 0;
            }
            for &b in &tc.reps[ph.index() as usize - 1] {
                let Some(p2) = ph.step(b) else { continue };
                let t = d.next(st, b);
                if t == DEAD {
                    return 0;
                }
                if p2 == Phase::Boundary {
                    let v = if d.quiet(t) { depth(t) } else { 0 };
                    least = least.min(v);
                } else {
                    next.push((t, p2));
                }
            }
        }
        next.sort_unstable_by_key(|&(t, p)| (t, p.index()));
        next.dedup();
        std::mem::swap(&mut cur, &mut next);
    }
    least.saturating_add(1)
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
        assert_eq!(run("\u{2028}".as_bytes()), None, "line separator");
        assert_eq!(run("\u{2029}".as_bytes()), None, "paragraph separator");
        assert_eq!(run("\u{2027}\u{202a}\u{2100}".as_bytes()), Some(true));
    }

    #[test]
    fn rows_hold_exactly_the_safe_characters_and_the_safe_non_space_ones() {
        let holds = |table: &[&[(u8, u8)]], bytes: &[u8]| {
            table.iter().any(|row| {
                row.len() == bytes.len()
                    && row
                        .iter()
                        .zip(bytes)
                        .all(|(&(lo, hi), b)| (lo..=hi).contains(b))
            })
        };
        let listed: Vec<char> = (0x80..=0x10ffffu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_space(c))
            .collect();
        assert_eq!(listed, SPACES_FROM_0X80);
        let mut buf = [0u8; 4];
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            let safe = bytes
                .iter()
                .try_fold(Phase::Boundary, |p, &b| p.step(b))
                .is_some();
            assert_eq!(holds(ROWS, bytes), safe, "{c:?}");
            // ASCII characters, the space among them, are left out through `excl`.
            assert_eq!(
                holds(ROWS_NO_WS, bytes),
                safe && (c.is_ascii() || !is_space(c)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn text_classes_match_their_definition() {
        // Automata whose classes split the continuation bytes in several ways.
        for src in [
            r#"root ::= [\u0080-\u00ff]+ | [\u2000-\u2030]* "é" | [a-z]{2}"#,
            r#"root ::= [^"]* "\"" | "x""#,
            r#"root ::= [\U00010000-\U0010FFFF] [\u0800-\u0fff]"#,
        ] {
            let g = crate::grammar::Grammar::from_ebnf(src, "root").unwrap();
            let a = super::super::Automata::build(&g).unwrap();
            for d in &a.rules {
                let tc = TextClasses::new(d);
                let classes_of = |lo: u8, hi: u8| -> Vec<usize> {
                    let mut v: Vec<usize> =
                        (lo..=hi).map(|b| d.classes[b as usize] as usize).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                for (r, row) in ROWS.iter().enumerate() {
                    for (i, &(lo, hi)) in row.iter().enumerate() {
                        assert_eq!(tc.rows[r][i], classes_of(lo, hi), "{src}: row {r}");
                    }
                }
                assert_eq!(tc.cont, classes_of(0x80, 0xbf));
                for (k, ph) in INSIDE.iter().enumerate() {
                    let mut seen = Vec::new();
                    let mut want = Vec::new();
                    for b in 0x80..=0xbfu8 {
                        if let Some(p2) = ph.step(b) {
                            let key = (d.classes[b as usize], p2.index());
                            if !seen.contains(&key) {
                                seen.push(key);
                                want.push(b);
                            }
                        }
                    }
                    assert_eq!(tc.reps[k], want, "{src}: phase {k}");
                }
            }
        }
    }
}
