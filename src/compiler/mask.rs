//! Token masks: per-state token classes computed once, and the exact mask of a parser state.
//!
//! For an item (rule R, state s) the vocabulary splits, regardless of what surrounds R, into
//! - *accepted*: some path inside R consumes the whole token;
//! - *rejected*: no path inside R consumes it and R cannot end before it fails;
//! - *uncertain*: R could end partway, so the rest depends on R's callers.
//!
//! These classes are computed on first use by a walk over the sorted vocabulary (tokens with a
//! common prefix share the work; a failed prefix skips every token that extends it), with a
//! plain DFA walk when no call is reachable from s and a small Earley parser seeded with the
//! item otherwise. The mask of a parser state is then the union of the accepted sets of its
//! scanning items plus the uncertain tokens that the real parser accepts, checked by the same
//! prefix-sharing walk. Stop tokens are allowed exactly where the root can end.

use crate::automaton::{Automata, DEAD, KRule, RuleDfa};
use crate::parser::Parser;

use super::vocab::VocabIndex;

/// A set of token ids.
#[derive(Debug, Clone)]
pub(crate) enum TokenSet {
    /// Sorted token ids.
    Ids(Vec<u32>),
    /// A bitmask over token ids (`vocab_size` bits).
    Bits(Vec<u32>),
}

/// The context-independent classes of one (rule, state).
#[derive(Debug, Clone)]
pub(crate) struct StateMask {
    pub accepted: TokenSet,
    /// Sorted vocabulary positions of accepted tokens (kept only when few).
    pub accepted_pos: Option<Vec<u32>>,
    /// Sorted vocabulary positions of uncertain tokens.
    pub uncertain: Vec<u32>,
}

impl StateMask {
    pub fn memory_bytes(&self) -> usize {
        let a = match &self.accepted {
            TokenSet::Ids(v) | TokenSet::Bits(v) => v.len() * 4,
        };
        a + self.accepted_pos.as_ref().map_or(0, |v| v.len() * 4) + self.uncertain.len() * 4 + 64
    }
}

/// Outcome of one token in a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Rejected,
    Uncertain,
}

/// Something that consumes bytes one at a time and can undo them.
pub(crate) trait Stepper {
    fn push(&mut self, b: u8) -> bool;
    fn pop(&mut self);
    /// Bytes consumed so far.
    fn depth(&self) -> usize;
    /// Whether the walked rule could have ended at some depth up to the current one.
    fn ended(&self) -> bool;
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Walks the tokens at `positions` (sorted) through `st`, reporting each outcome.
pub(crate) fn walk<S: Stepper>(
    vocab: &VocabIndex,
    positions: impl Iterator<Item = usize>,
    st: &mut S,
    mut f: impl FnMut(usize, Outcome),
) {
    let base = st.depth();
    let mut path: Vec<u8> = Vec::with_capacity(64);
    // Last failure: (token position, failing depth, outcome).
    let mut fail: Option<(usize, usize, Outcome)> = None;
    for p in positions {
        let tok = vocab.tok(p);
        if let Some((fp, fd, out)) = fail
            && common_prefix(tok, vocab.tok(fp)) > fd
        {
            f(p, out);
            continue;
        }
        let l = common_prefix(tok, &path);
        while path.len() > l {
            st.pop();
            path.pop();
        }
        let mut ok = true;
        for (d, &b) in tok.iter().enumerate().skip(l) {
            if !st.push(b) {
                let out = if st.ended() {
                    Outcome::Uncertain
                } else {
                    Outcome::Rejected
                };
                fail = Some((p, d, out));
                ok = false;
                break;
            }
            path.push(b);
        }
        if ok {
            f(p, Outcome::Accepted);
        } else if let Some((_, _, out)) = fail {
            f(p, out);
        }
    }
    while st.depth() > base {
        st.pop();
    }
}

/// Walks a call-free part of one rule automaton.
struct DfaStepper<'a> {
    dfa: &'a RuleDfa,
    /// (state, ended at or before this depth)
    stack: Vec<(u32, bool)>,
    ends_matter: bool,
}

impl Stepper for DfaStepper<'_> {
    #[inline]
    fn push(&mut self, b: u8) -> bool {
        let &(s, e) = self.stack.last().unwrap_or(&(DEAD, false));
        let t = self.dfa.next(s, b);
        if t == DEAD {
            return false;
        }
        let end = e || (self.ends_matter && self.dfa.accept[t as usize]);
        self.stack.push((t, end));
        true
    }
    fn pop(&mut self) {
        self.stack.pop();
    }
    fn depth(&self) -> usize {
        self.stack.len() - 1
    }
    fn ended(&self) -> bool {
        self.stack.last().is_some_and(|x| x.1)
    }
}

/// Walks from one item with a local Earley parser.
struct SeedStepper<'a> {
    a: &'a Automata,
    p: Parser,
    rule: KRule,
    ends: Vec<bool>,
    ends_matter: bool,
}

impl Stepper for SeedStepper<'_> {
    fn push(&mut self, b: u8) -> bool {
        if !self.p.push(self.a, b) {
            return false;
        }
        let e = self.ends.last().copied().unwrap_or(false)
            || (self.ends_matter && self.p.seed_can_end(self.a, self.rule));
        self.ends.push(e);
        true
    }
    fn pop(&mut self) {
        self.p.pop();
        self.ends.pop();
    }
    fn depth(&self) -> usize {
        self.p.len() - 1
    }
    fn ended(&self) -> bool {
        self.ends.last().copied().unwrap_or(false)
    }
}

/// The real parser; used to check uncertain tokens exactly.
pub(crate) struct RealStepper<'a> {
    pub a: &'a Automata,
    pub p: &'a mut Parser,
    pub base: usize,
}

impl Stepper for RealStepper<'_> {
    fn push(&mut self, b: u8) -> bool {
        self.p.push(self.a, b)
    }
    fn pop(&mut self) {
        self.p.pop();
    }
    fn depth(&self) -> usize {
        self.p.len() - self.base
    }
    fn ended(&self) -> bool {
        false
    }
}

/// Computes the token classes of (rule, state).
pub(crate) fn classify(a: &Automata, vocab: &VocabIndex, rule: KRule, state: u32) -> StateMask {
    let d = &a.rules[rule as usize];
    // Nothing can follow the end of a root that no rule calls.
    let ends_matter = rule != 0 || a.root_is_called;
    let mut accepted: Vec<u32> = Vec::new();
    let mut uncertain: Vec<u32> = Vec::new();
    let mut record = |p: usize, o: Outcome| match o {
        Outcome::Accepted => accepted.push(p as u32),
        Outcome::Uncertain => uncertain.push(p as u32),
        Outcome::Rejected => {}
    };
    let start_end = ends_matter && d.accept[state as usize];
    if !d.reaches_call[state as usize] {
        let mut st = DfaStepper {
            dfa: d,
            stack: vec![(state, start_end)],
            ends_matter,
        };
        walk(vocab, 0..vocab.len(), &mut st, &mut record);
    } else {
        let p = Parser::with_seed(a, rule, state);
        let mut st = SeedStepper {
            a,
            p,
            rule,
            ends: vec![start_end],
            ends_matter,
        };
        walk(vocab, 0..vocab.len(), &mut st, &mut record);
    }
    let words = vocab.words();
    let (set, pos) = if accepted.len() > words {
        let mut bits = vec![0u32; words];
        for &p in &accepted {
            let id = vocab.ids[p as usize] as usize;
            bits[id / 32] |= 1 << (id % 32);
        }
        (
            TokenSet::Bits(bits),
            if accepted.len() <= 4096 {
                Some(accepted)
            } else {
                None
            },
        )
    } else {
        let mut ids: Vec<u32> = accepted.iter().map(|&p| vocab.ids[p as usize]).collect();
        ids.sort_unstable();
        (TokenSet::Ids(ids), Some(accepted))
    };
    StateMask {
        accepted: set,
        accepted_pos: pos,
        uncertain,
    }
}

#[inline]
pub(crate) fn set_bit(mask: &mut [u32], id: u32) {
    mask[(id / 32) as usize] |= 1 << (id % 32);
}

#[inline]
pub(crate) fn get_bit(mask: &[u32], id: u32) -> bool {
    mask[(id / 32) as usize] & (1 << (id % 32)) != 0
}

/// Adds `set` to `mask`.
pub(crate) fn or_into(mask: &mut [u32], set: &TokenSet) {
    match set {
        TokenSet::Ids(v) => v.iter().for_each(|&id| set_bit(mask, id)),
        TokenSet::Bits(b) => mask.iter_mut().zip(b).for_each(|(m, &x)| *m |= x),
    }
}
