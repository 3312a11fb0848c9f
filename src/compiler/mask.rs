//! Token masks: per-state token classes computed once, and the exact mask of a parser state.
//!
//! For an item (rule R, state s) the vocabulary splits, regardless of what surrounds R, into
//! - *accepted*: R's automaton consumes the whole token from s;
//! - *rejected*: it does not, and at no byte on the way could R have ended or a call of R
//!   have begun with that byte;
//! - *uncertain*: everything else; it depends on R's callers or callees.
//!
//! The classes are computed on first use by a depth-first walk of the vocabulary trie
//! through R's automaton (a dead byte settles a whole subtree at once) and kept in the
//! compiled grammar. The mask of a parser state is the union of the accepted sets of its
//! scanning items plus the uncertain tokens that the real parser accepts, checked by a
//! prefix-sharing walk over the sorted candidates. Stop tokens are allowed exactly where the
//! root can end.

use crate::automaton::runs::{ByteClass, Run, class_bit};
use crate::automaton::text::leaves_out_spaces;
use crate::automaton::{Automata, ByteSet, DEAD, KRule};
use crate::parser::Parser;

use super::class_index::ClassIndex;
use super::vocab::{NOT_TEXT, VocabIndex};

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
    /// Sorted vocabulary positions of uncertain tokens.
    pub uncertain: Vec<u32>,
}

impl StateMask {
    pub fn memory_bytes(&self) -> usize {
        let a = match &self.accepted {
            TokenSet::Ids(v) | TokenSet::Bits(v) => v.len() * 4,
        };
        a + self.uncertain.len() * 4 + 64
    }
}

/// Outcome of one token in a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Rejected,
}

/// Something that consumes bytes one at a time and can undo them.
pub(crate) trait Stepper {
    fn push(&mut self, b: u8) -> bool;
    fn pop(&mut self);
    /// Bytes consumed so far.
    fn depth(&self) -> usize;
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
                let out = Outcome::Rejected;
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
}

/// Most caller frames a token class is computed with.
/// One level measured best on JSON documents: a second level cut no fill time on the
/// benchmark grammars but multiplied the classes computed on first use.
pub(crate) const CTX_DEPTH: usize = 1;

/// The callers a token class is computed for, innermost first: up to [`CTX_DEPTH`] frames of
/// (caller rule, state its call returns to). `closed` says that nothing may follow the end of
/// the outermost frame (it is the top-level root); otherwise what lies beyond is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Ctx {
    pub n: u8,
    pub closed: bool,
    pub frames: [(KRule, u32); CTX_DEPTH],
}

impl Ctx {
    /// The item is the top-level root itself.
    pub const TOP: Ctx = Ctx {
        n: 0,
        closed: true,
        frames: [(0, 0); CTX_DEPTH],
    };

    /// This context with one more, outer frame.
    pub fn push(mut self, frame: (KRule, u32), closed: bool) -> Ctx {
        self.frames[self.n as usize] = frame;
        self.n += 1;
        self.closed = closed;
        self
    }
}

pub(crate) type Parent = Ctx;

/// Computes the token classes of (rule, state), apart from what depends on the caller, by
/// a depth-first walk of the vocabulary trie ([`classify`] adds a caller). Each walk thread is a small call stack over the rule automata: it enters
/// called rules, returns from them, and when the rule itself ends mid-token continues in the
/// caller's automaton from the return state. A token that leaves every thread is uncertain
/// when, at some byte after the first, a thread could have ended into an unknown caller (and
/// the byte may follow it), or a call deeper than the stack limit could have begun with it;
/// otherwise it is rejected with its whole subtree. Ends and calls at the first byte need no
/// thread: the parser's closure already holds those callers and callees as items.
pub(crate) fn classify_base(a: &Automata, vocab: &VocabIndex, rule: KRule, state: u32) -> BaseMask {
    // Counted text (a string bounded by `maxLength`; from 255 characters left, more than
    // any token holds) and text taken whatever it is (a string's body): tokens of safe
    // text are decided by their length alone, read from the vocabulary; the walk visits
    // only the other tokens, and of those only the ones that do not stop at a control
    // byte when no control byte is taken after the text. Likewise for counted runs of one
    // byte class (a pattern string), with the tokens of that class and the bytes no state
    // of the run takes.
    let d = &a.rules[rule as usize];
    let facts = a.facts(rule);
    let depth = facts.safe(d, state);
    let counted = match depth {
        0 => None,
        255 => facts
            .quiet_text(d, state)
            .then_some(crate::automaton::facts::Counted { no_control: true }),
        _ => facts.counts_only(d, state, depth),
    };
    let runs = match counted {
        None if depth == 0 => {
            // Runs over broad classes only, chains and loops alike: the index is built once
            // per vocabulary and class, from the trie nodes that leave the class; the walks
            // of narrow classes are short.
            let run = facts.run(d, state);
            (run.depth > 0 && run.class.count_ones() >= MIN_CLASS_BYTES)
                .then(|| crate::automaton::runs::class_count(d, state, run.class))
                .flatten()
                .map(|cc| (ClassIndex::get(vocab, cc.class, cc.dead), cc.depth))
        }
        _ => None,
    };
    let mut w = TrieWalk::new(a, vocab, Ctx::TOP, true);
    let mut t = Thread {
        n: 1,
        level: 0,
        frames: [(0, 0); MAX_FRAMES],
    };
    t.frames[0] = (rule, state);
    w.arena.push(t);
    w.only = match (counted, &runs) {
        (Some(c), _) if c.no_control => Only::Live,
        (Some(_), _) => Only::Odd,
        (None, Some((ix, _))) => Only::Class(ix),
        (None, None) => Only::All,
    };
    w.node(0, 0, 1, false, true);
    // The tokens decided by the vocabulary alone.
    let known = match (counted, &runs) {
        (Some(_), _) => Some(vocab.text_bits_up_to(depth.min(254))),
        (None, Some((ix, n))) => Some(ix.up_to(vocab, *n)),
        (None, None) => None,
    };
    let bits = if let Some(known) = known {
        // The walk found the other accepted tokens: add them (to a copy when the mask is
        // kept by the vocabulary).
        let mut bits = std::sync::Arc::unwrap_or_clone(known);
        for p in w.accepted.iter().flat_map(|&(lo, hi)| lo..hi) {
            set_bit(&mut bits, vocab.ids[p as usize]);
        }
        let count = popcount(&bits);
        if many(vocab, count) {
            Some(bits)
        } else {
            w.accepted = positions_of(vocab, &bits);
            None
        }
    } else {
        let count: usize = w.accepted.iter().map(|&(lo, hi)| (hi - lo) as usize).sum();
        many(vocab, count).then(|| ranges_to_bits(vocab, &w.accepted, count))
    };
    if bits.is_some() {
        w.accepted.clear();
    }
    BaseMask {
        accepted: w.accepted,
        uncertain: w.uncertain,
        handoffs: w.handoffs,
        bits,
    }
}

/// Whether a set of `count` tokens is kept as a bitmask over ids rather than sorted ids:
/// when it has more members than the bitmask has words.
fn many(vocab: &VocabIndex, count: usize) -> bool {
    count > vocab.words()
}

fn popcount(bits: &[u32]) -> usize {
    bits.iter().map(|w| w.count_ones() as usize).sum()
}

/// The sorted positions of the tokens set in `bits`, as ranges.
fn positions_of(vocab: &VocabIndex, bits: &[u32]) -> Vec<(u32, u32)> {
    let mut pos: Vec<u32> = Vec::new();
    for (w, &word) in bits.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            let id = w as u32 * 32 + x.trailing_zeros();
            x &= x - 1;
            let p = vocab.pos_of[id as usize];
            if p != u32::MAX {
                pos.push(p);
            }
        }
    }
    pos.sort_unstable();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for p in pos {
        push_range(&mut ranges, p, p + 1);
    }
    ranges
}

/// The first bytes of a list of handoff threads ([`TrieWalk::first_bytes`]).
struct First {
    threads: Vec<Thread>,
    /// `None` when the threads could leave for an unknown context.
    class: Option<ByteClass>,
    /// The bytes of `class`, when they are at most [`FEW_FIRST_BYTES`].
    bytes: Option<Vec<u8>>,
}

/// Most first bytes for which a handoff's children are looked up one by one.
const FEW_FIRST_BYTES: usize = 8;

impl First {
    fn of(w: &mut TrieWalk) -> First {
        let class = w.first_bytes();
        let bytes = class.and_then(|c| {
            let v: Vec<u8> = crate::automaton::runs::class_bytes(c).iter().collect();
            (v.len() <= FEW_FIRST_BYTES).then_some(v)
        });
        First {
            threads: w.arena.clone(),
            class,
            bytes,
        }
    }
}

/// Completes a base walk for one caller context: the subtrees where the rule could end
/// mid-token are walked again with the caller's automaton.
pub(crate) fn classify(
    a: &Automata,
    vocab: &VocabIndex,
    base: &BaseMask,
    parent: Parent,
) -> StateMask {
    let mut w = TrieWalk::new(a, vocab, parent, false);
    // The first bytes of the last thread list walked.
    let mut first: Option<First> = None;
    for (node, ended, escaped) in &base.handoffs {
        // Each ended thread continues in the caller's frame, or dies where nothing may
        // follow, or leaves for an unknown context on the bytes that may follow the rule.
        w.arena.clear();
        let mut esc = ByteSet::default();
        for t in ended {
            if parent.n > 0 {
                let mut nt = *t;
                nt.frames[0] = parent.frames[0];
                nt.level = 1;
                if !w.arena.contains(&nt) {
                    w.arena.push(nt);
                }
            } else if !parent.closed {
                esc.union(&a.rules[t.frames[0].0 as usize].follow);
            }
        }
        if w.arena.is_empty() && esc == ByteSet::default() {
            continue;
        }
        if !*escaped && esc == ByteSet::default() {
            // No child of the node that the continued threads can take: the walk would
            // find every child dead (a rule ending anywhere in free text, continued by a
            // trigger's first byte).
            if first.as_ref().is_none_or(|f| f.threads != w.arena) {
                first = Some(First::of(&mut w));
            }
            if let Some(First {
                class: Some(class),
                bytes,
                ..
            }) = &first
            {
                if vocab.child_bytes[*node as usize] & class == 0 {
                    continue;
                }
                if let Some(bytes) = bytes {
                    // Few first bytes: only their children are walked, found directly.
                    w.node_bytes(*node, bytes);
                    continue;
                }
            }
        }
        w.extra_esc = esc;
        let n = w.arena.len();
        w.node(*node, 0, n, *escaped, false);
    }
    let TrieWalk {
        accepted: extra,
        uncertain: extra_unc,
        ..
    } = w;
    let mut extra = extra;
    merge_ranges(&mut extra);
    let mut uncertain = base.uncertain.clone();
    uncertain.extend_from_slice(&extra_unc);
    merge_ranges(&mut uncertain);
    let uncertain = uncertain.iter().flat_map(|&(lo, hi)| lo..hi).collect();
    if let Some(bits) = &base.bits {
        // Many accepted tokens: the base's mask plus what the handoffs added.
        let mut bits = bits.clone();
        for p in extra.iter().flat_map(|&(lo, hi)| lo..hi) {
            set_bit(&mut bits, vocab.ids[p as usize]);
        }
        return StateMask {
            accepted: TokenSet::Bits(bits),
            uncertain,
        };
    }
    let accepted = union_sorted(&base.accepted, &extra);
    let count: usize = accepted.iter().map(|&(lo, hi)| (hi - lo) as usize).sum();
    let positions = || accepted.iter().flat_map(|&(lo, hi)| lo..hi);
    let set = if many(vocab, count) {
        TokenSet::Bits(ranges_to_bits(vocab, &accepted, count))
    } else {
        let mut ids: Vec<u32> = positions().map(|p| vocab.ids[p as usize]).collect();
        ids.sort_unstable();
        TokenSet::Ids(ids)
    };
    StateMask {
        accepted: set,
        uncertain,
    }
}

/// The tokens at the sorted positions of `ranges` (sorted, disjoint, `count` positions in
/// all) as a bitmask over ids; when they are most of the vocabulary, by clearing the gaps
/// from the mask of all text tokens instead of setting every position.
fn ranges_to_bits(vocab: &VocabIndex, ranges: &[(u32, u32)], count: usize) -> Vec<u32> {
    if count * 2 <= vocab.len() {
        return to_bits(vocab, ranges.iter().flat_map(|&(lo, hi)| lo..hi));
    }
    let mut bits = vocab.text_bits.clone();
    let mut next = 0u32;
    let gaps = ranges
        .iter()
        .map(|&(lo, hi)| {
            let g = next..lo;
            next = next.max(hi);
            g
        })
        .collect::<Vec<_>>();
    for p in gaps.into_iter().flatten().chain(next..vocab.len() as u32) {
        let id = vocab.ids[p as usize];
        bits[(id / 32) as usize] &= !(1 << (id % 32));
    }
    bits
}

fn to_bits(vocab: &VocabIndex, positions: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut bits = vec![0u32; vocab.words()];
    for p in positions {
        let id = vocab.ids[p as usize];
        bits[(id / 32) as usize] |= 1 << (id % 32);
    }
    bits
}

/// The caller-independent part of a classification: results outside the trie subtrees where
/// the rule can end mid-token, and those subtrees with the threads that reach them.
#[derive(Debug)]
pub(crate) struct BaseMask {
    /// Ranges of sorted positions of the accepted tokens (empty when `bits` holds them).
    accepted: Vec<(u32, u32)>,
    uncertain: Vec<(u32, u32)>,
    handoffs: Vec<(u32, Vec<Thread>, bool)>,
    /// The accepted tokens as a bitmask over ids, when they are many.
    bits: Option<Vec<u32>>,
}

impl BaseMask {
    /// The same classes for the same automaton under another rule index (a call-free rule's
    /// classes depend only on its automaton; the index appears in the handoff threads).
    pub fn renumbered(&self, from: KRule, to: KRule) -> BaseMask {
        let handoffs = self
            .handoffs
            .iter()
            .map(|(node, threads, esc)| {
                let threads = threads
                    .iter()
                    .map(|t| {
                        let mut t = *t;
                        for f in &mut t.frames[..t.n as usize] {
                            if f.0 == from {
                                f.0 = to;
                            }
                        }
                        t
                    })
                    .collect();
                (*node, threads, *esc)
            })
            .collect();
        BaseMask {
            accepted: self.accepted.clone(),
            uncertain: self.uncertain.clone(),
            handoffs,
            bits: self.bits.clone(),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.bits.as_ref().map_or(0, |b| b.len() * 4)
            + (self.accepted.len() + self.uncertain.len()) * 8
            + self
                .handoffs
                .iter()
                .map(|h| 32 + h.1.len() * std::mem::size_of::<Thread>())
                .sum::<usize>()
    }
}

/// Fewest bytes in a class whose counted runs are read from a [`ClassIndex`].
const MIN_CLASS_BYTES: u32 = 20;

/// Deepest call stack a walk thread follows.
const MAX_FRAMES: usize = 8;
/// Most threads at one trie node; beyond, the walk stops claiming rejections below it.
const MAX_THREADS: usize = 64;

/// A walk thread: a call stack of (rule, state) frames, bottom first. The bottom frame is the
/// classified rule (`level` 0), or the context frame `level - 1` once the rules below it
/// have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thread {
    n: u8,
    level: u8,
    frames: [(KRule, u32); MAX_FRAMES],
}

impl Thread {
    fn top(&self) -> (KRule, u32) {
        self.frames[self.n as usize - 1]
    }
}

/// The facts of one state that a walk reads for each child of a node, read once.
struct Seen {
    st: u32,
    safe: Option<u8>,
    excl: Option<(ByteClass, u8)>,
    run: Option<Run>,
}

impl Seen {
    fn at(st: u32) -> Seen {
        Seen {
            st,
            safe: None,
            excl: None,
            run: None,
        }
    }
}

/// The children of a trie node that a walk visits.
#[derive(Debug, Clone, Copy)]
enum Only<'a> {
    All,
    /// Those whose subtree is not all safe text ([`VocabIndex::odd_child`]).
    Odd,
    /// Those whose subtree holds a token that is neither safe text nor stops at a control
    /// byte ([`VocabIndex::live_child`]).
    Live,
    /// Those whose subtree holds a token that is not made of one byte class and does not
    /// meet a dead byte first ([`ClassIndex`]).
    Class(&'a ClassIndex),
}

impl Only<'_> {
    #[inline]
    fn first(self, vocab: &VocabIndex, node: u32) -> u32 {
        match self {
            Only::All => vocab.trie[node as usize].first_child,
            Only::Odd => vocab.odd_child[node as usize],
            Only::Live => vocab.live_child[node as usize],
            Only::Class(ix) => ix.first(vocab, node),
        }
    }

    #[inline]
    fn next(self, vocab: &VocabIndex, c: u32) -> u32 {
        match self {
            Only::All => vocab.trie[c as usize].next_sibling,
            Only::Odd => vocab.odd_next[c as usize],
            Only::Live => vocab.live_next[c as usize],
            Only::Class(ix) => ix.next(vocab, c),
        }
    }
}

struct TrieWalk<'a> {
    a: &'a Automata,
    parent: Parent,
    vocab: &'a VocabIndex,
    /// Ranges of sorted positions.
    accepted: Vec<(u32, u32)>,
    uncertain: Vec<(u32, u32)>,
    /// Thread lists of the nodes on the current path, back to back.
    arena: Vec<Thread>,
    /// Base mode: where the rule can end mid-token, record the node and the ended threads
    /// in `handoffs` (a caller continues them) and walk on with the rule's own threads.
    base: bool,
    ended: Vec<Thread>,
    handoffs: Vec<(u32, Vec<Thread>, bool)>,
    /// Bytes after which a thread could leave for an unknown context, added once to the
    /// next node's own (for ended threads handed to a caller that is not known).
    extra_esc: ByteSet,
    /// Which children the walk visits (the others are decided apart).
    only: Only<'a>,
}

impl<'a> TrieWalk<'a> {
    fn new(a: &'a Automata, vocab: &'a VocabIndex, parent: Parent, base: bool) -> Self {
        TrieWalk {
            a,
            parent,
            vocab,
            accepted: Vec::new(),
            uncertain: Vec::new(),
            arena: Vec::new(),
            base,
            ended: Vec::new(),
            handoffs: Vec::new(),
            extra_esc: ByteSet::default(),
            only: Only::All,
        }
    }

    /// Adds `t` to the list `start..` of the arena unless present.
    fn add(&mut self, start: usize, t: Thread) {
        if !self.arena[start..].contains(&t) {
            self.arena.push(t);
        }
    }

    /// Closes the list `start..` under calls and returns; gives the bytes after which a
    /// thread could leave for an unknown context.
    fn close(&mut self, start: usize) -> ByteSet {
        let mut esc = ByteSet::default();
        let mut k = start;
        while k < self.arena.len() {
            if self.arena.len() - start > MAX_THREADS {
                return ByteSet([u64::MAX; 4]);
            }
            let t = self.arena[k];
            k += 1;
            let (r, st) = t.top();
            let d = &self.a.rules[r as usize];
            if !d.calls[st as usize].is_empty() {
                if (t.n as usize) < MAX_FRAMES {
                    for i in 0..d.calls[st as usize].len() {
                        let (c, ret) = self.a.rules[r as usize].calls[st as usize][i];
                        let mut nt = t;
                        nt.frames[nt.n as usize - 1].1 = ret;
                        nt.frames[nt.n as usize] = (c, self.a.rules[c as usize].start);
                        nt.n += 1;
                        self.add(start, nt);
                    }
                } else {
                    esc.union(&d.call_first[st as usize]);
                }
            }
            if d.accept[st as usize] {
                if d.lookahead.is_some() {
                    // Its end adds a constraint the walk does not follow.
                    return ByteSet([u64::MAX; 4]);
                }
                if t.n > 1 {
                    let mut nt = t;
                    nt.n -= 1;
                    self.add(start, nt);
                } else if t.level == 0 && self.base {
                    if !self.ended.contains(&t) {
                        self.ended.push(t);
                    }
                } else if t.level < self.parent.n {
                    let mut nt = t;
                    nt.frames[0] = self.parent.frames[t.level as usize];
                    nt.level += 1;
                    self.add(start, nt);
                } else if self.parent.closed {
                    // The top-level root ended: nothing may follow.
                } else {
                    esc.union(&d.follow);
                }
            }
        }
        esc
    }

    /// The bytes the threads of the arena can take first, after their closure, as a
    /// [`ByteClass`]; `None` when the closure could leave for an unknown context. The arena
    /// is left as it was.
    fn first_bytes(&mut self) -> Option<ByteClass> {
        let n = self.arena.len();
        let esc = self.close(0);
        let mut m: ByteClass = 0;
        for t in &self.arena {
            let (r, st) = t.top();
            let d = &self.a.rules[r as usize];
            for b in 0..=255u8 {
                if d.next(st, b) != DEAD {
                    m |= class_bit(b);
                }
            }
        }
        self.arena.truncate(n);
        (esc == ByteSet::default()).then_some(m)
    }

    /// A thread whose closure adds nothing: no call and no end at its state; or, in a base
    /// walk, the classified rule alone at a quiet state where it may end (the end is handed
    /// off, see [`Self::plain_walk`]).
    fn simple(&self, t: &Thread) -> bool {
        let (r, st) = t.top();
        let d = &self.a.rules[r as usize];
        d.plain[st as usize] || (self.base && t.n == 1 && t.level == 0 && d.quiet(st))
    }

    /// [`Self::node`] for a single simple thread, without the arena (the common case:
    /// inside strings, numbers and literals).
    fn node_single(&mut self, node: u32, t: Thread, escaped: bool) {
        let (r, st) = t.top();
        self.plain_walk(node, &t, r, st, escaped);
    }

    /// [`Self::node_single`] with the top frame's state passed apart: below the top, the
    /// thread does not change while it walks through plain states.
    fn plain_walk(&mut self, node: u32, t: &Thread, r: KRule, st: u32, escaped: bool) {
        let a = self.a;
        let vocab = self.vocab;
        let d = &a.rules[r as usize];
        if !d.plain[st as usize] {
            // A base walk at a quiet state where the rule may end: a caller continues the
            // ended thread below this node; the rule's own thread walks on here.
            let mut ended = *t;
            ended.frames[0].1 = st;
            self.handoffs.push((node, vec![ended], escaped));
        }
        let facts = a.facts(r);
        let trie = &vocab.trie;
        // A state that surely takes any 255 characters of text, at a character boundary,
        // takes every child subtree that is all text (each at most 254 characters): only
        // the other children are walked, and the positions between them are accepted.
        let bulk = matches!(self.only, Only::All)
            && vocab.text_phase[node as usize] == 0
            && facts.safe(d, st) == 255;
        let only = match self.only {
            Only::All if bulk => Only::Odd,
            o => o,
        };
        let mut at = trie[node as usize].here_end;
        let mut c = only.first(vocab, node);
        // Most children lead to the same state (a loop, a count): its facts, read once.
        let mut seen = Seen::at(DEAD);
        while c != u32::MAX {
            let ch = &trie[c as usize];
            if bulk {
                push_range(&mut self.accepted, at, ch.lo);
                at = ch.hi;
            }
            let ns = d.next(st, ch.byte);
            if ns == DEAD {
                if escaped {
                    push_range(&mut self.uncertain, ch.lo, ch.hi);
                }
            } else {
                let tail = vocab.text_tail[c as usize];
                if seen.st != ns {
                    seen = Seen::at(ns);
                }
                if ch.first_child != u32::MAX
                    && ((tail != NOT_TEXT
                        && match vocab.text_phase[c as usize] {
                            0 => {
                                tail <= *seen.safe.get_or_insert_with(|| facts.safe(d, ns)) || {
                                    let (e, depth) =
                                        *seen.excl.get_or_insert_with(|| facts.excluding(d, ns));
                                    tail <= depth
                                        && vocab.below[c as usize] & e == 0
                                        && (!leaves_out_spaces(e) || !vocab.ws_below[c as usize])
                                }
                            }
                            k => tail < facts.inside(d, ns, k as usize - 1),
                        })
                        || {
                            let run = *seen.run.get_or_insert_with(|| facts.run(d, ns));
                            vocab.height[c as usize] <= run.depth
                                && vocab.below[c as usize] & !run.class == 0
                        })
                {
                    // Every token below is plain text, or a run of one byte class, that the
                    // state surely takes.
                    push_range(&mut self.accepted, ch.lo, ch.hi);
                } else {
                    push_range(&mut self.accepted, ch.lo, ch.here_end);
                    if ch.first_child != u32::MAX {
                        let mut t2 = *t;
                        t2.frames[t2.n as usize - 1].1 = ns;
                        if self.simple(&t2) {
                            self.plain_walk(c, t, r, ns, escaped);
                        } else {
                            let k = self.arena.len();
                            self.arena.push(t2);
                            self.node(c, k, k + 1, escaped, false);
                            self.arena.truncate(k);
                        }
                    }
                }
            }
            c = only.next(vocab, c);
        }
        if bulk {
            push_range(&mut self.accepted, at, trie[node as usize].hi);
        }
    }

    /// Children of trie `node` with the threads `arena[start..end]`; `escaped` tells whether
    /// an earlier byte of the path could have left for an unknown context.
    fn node(&mut self, node: u32, start: usize, end: usize, escaped: bool, first: bool) {
        let mut esc_bytes = if first {
            ByteSet::default()
        } else {
            self.close(start)
        };
        esc_bytes.union(&std::mem::take(&mut self.extra_esc));
        if !self.ended.is_empty() {
            let ended = std::mem::take(&mut self.ended);
            self.handoffs.push((node, ended, escaped));
        }
        let end = if first { end } else { self.arena.len() };
        let only = self.only;
        let mut c = only.first(self.vocab, node);
        while c != u32::MAX {
            self.child(c, start, end, &esc_bytes, escaped);
            c = only.next(self.vocab, c);
        }
    }

    /// One child `c` of a node whose closed threads are `arena[start..end]`; `esc_bytes`
    /// are the bytes after which a thread could leave for an unknown context.
    fn child(&mut self, c: u32, start: usize, end: usize, esc_bytes: &ByteSet, escaped: bool) {
        let ch = self.vocab.trie[c as usize];
        let esc = escaped || esc_bytes.contains(ch.byte);
        let nstart = self.arena.len();
        for k in start..end {
            let mut t = self.arena[k];
            let (r, st) = t.top();
            let ns = self.a.rules[r as usize].next(st, ch.byte);
            if ns != DEAD {
                t.frames[t.n as usize - 1].1 = ns;
                self.add(nstart, t);
            }
        }
        if self.arena.len() == nstart {
            if esc {
                push_range(&mut self.uncertain, ch.lo, ch.hi);
            }
        } else {
            push_range(&mut self.accepted, ch.lo, ch.here_end);
            if ch.first_child != u32::MAX {
                let nend = self.arena.len();
                if nend == nstart + 1 && self.simple(&self.arena[nstart]) {
                    let t = self.arena[nstart];
                    self.node_single(c, t, esc);
                } else {
                    self.node(c, nstart, nend, esc, false);
                }
            }
        }
        self.arena.truncate(nstart);
    }

    /// [`Self::node`] for threads `arena[..]` at a node of a handoff, visiting only the
    /// children whose byte is in `bytes`: the threads' closure leaves for no unknown context
    /// and takes no other first byte, so every other child is dead and not uncertain.
    fn node_bytes(&mut self, node: u32, bytes: &[u8]) {
        let esc_bytes = self.close(0);
        debug_assert!(esc_bytes == ByteSet::default());
        let end = self.arena.len();
        for &b in bytes {
            if let Some(c) = self.vocab.child_with(node, b) {
                self.child(c, 0, end, &esc_bytes, false);
            }
        }
    }
}

/// Sorts `v` and joins ranges that overlap or touch.
fn merge_ranges(v: &mut Vec<(u32, u32)>) {
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

/// The union of two lists of ranges, each sorted and disjoint, as one such list.
fn union_sorted(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let r = if j == b.len() || (i < a.len() && a[i].0 <= b[j].0) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if r.0 <= last.1 => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    out
}

fn push_range(v: &mut Vec<(u32, u32)>, lo: u32, hi: u32) {
    if lo >= hi {
        return;
    }
    match v.last_mut() {
        Some(last) if last.1 == lo => last.1 = hi,
        _ => v.push((lo, hi)),
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

/// Keeps in `mask` only the tokens of `set`.
pub(crate) fn and_into(mask: &mut [u32], set: &TokenSet) {
    match set {
        TokenSet::Ids(v) => {
            let mut keep = vec![0u32; mask.len()];
            for &id in v {
                if get_bit(mask, id) {
                    set_bit(&mut keep, id);
                }
            }
            mask.copy_from_slice(&keep);
        }
        TokenSet::Bits(b) => mask.iter_mut().zip(b).for_each(|(m, &x)| *m &= x),
    }
}

/// Adds `set` to `mask`.
pub(crate) fn or_into(mask: &mut [u32], set: &TokenSet) {
    match set {
        TokenSet::Ids(v) => v.iter().for_each(|&id| set_bit(mask, id)),
        TokenSet::Bits(b) => mask.iter_mut().zip(b).for_each(|(m, &x)| *m |= x),
    }
}
