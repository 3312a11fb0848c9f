//! Byte automata for grammar rules.
//!
//! Each rule that survives inlining becomes a deterministic automaton over bytes whose
//! states may also carry *call edges* (`call rule C, then go to state t`) and an
//! accepting flag (the rule may end here). Rules that are not recursive are inlined into
//! their callers, so the lexical parts of a grammar (strings, numbers, whitespace,
//! literals) become plain byte transitions and only recursion is left to the parser.
//!
//! Construction: Thompson NFA per rule (code-point classes through UTF-8 sequences,
//! bounded repetitions unrolled under a size limit), subset construction to a DFA over
//! byte equivalence classes, then a grammar-wide trim that removes calls to rules that
//! match nothing and states that cannot reach an accepting state.
//!
//! Lookahead assertions `(= ...)` must be regular; they become call-free DFAs of their own.

pub(crate) mod facts;
mod minimize;
mod outline;
pub(crate) mod runs;
mod survey;
pub(crate) mod text;

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::fxhash::FxHashMap;
use crate::grammar::{Expr, Grammar, RuleId};
use outline::Rules;

/// Marks a missing transition.
pub(crate) const DEAD: u32 = u32::MAX;

/// Most NFA states one grammar may expand to.
pub const MAX_NFA_STATES: usize = 2_000_000;
/// Most DFA states one rule may determinize to.
pub const MAX_DFA_STATES: usize = 500_000;
/// Non-recursive rules whose estimated automaton is at most this large are inlined
/// wherever they are referenced; larger ones only when referenced once and when they
/// reference other rules (a large rule that references none, such as a `date-time`
/// string, stays a rule of its own, so that its automaton is built once per process and
/// its token classes are shared between grammars).
const INLINE_SIZE: u64 = 4_000;
/// Recursive rules whose body is at most this large are unfolded one level into the
/// rules that call them (their own recursive references stay calls).
const UNFOLD_SIZE: u64 = 2_000;
/// Alternations of at least this many branches and this estimated size call the large
/// rules of their branches ([`Builder::split_plan`]) ...
const SPLIT_BRANCHES: usize = 16;
const SPLIT_SIZE: u64 = 8_192;
/// ... those estimated larger than this.
const SPLIT_MIN: u64 = 64;
/// Grammars whose automata are built from at least this many NFA states in all are
/// determinized on several threads.
const PARALLEL_NFA_STATES: usize = 20_000;
/// Automata of more states are not minimized: the large format automata (`date-time`,
/// about 25,000 states) would take longer to minimize than to build, and are built once
/// per process.
const MINIMIZE_MAX_STATES: usize = 16_384;
/// Deepest chain of nested inlined rules.
const MAX_INLINE_DEPTH: usize = 64;

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct ByteSet(pub [u64; 4]);

impl ByteSet {
    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }
    #[inline]
    pub fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }
    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut m = word;
            std::iter::from_fn(move || {
                (m != 0).then(|| {
                    let b = (w * 64) as u8 + m.trailing_zeros() as u8;
                    m &= m - 1;
                    b
                })
            })
        })
    }
    /// Adds `o`; returns whether anything was new.
    pub fn union(&mut self, o: &ByteSet) -> bool {
        let mut changed = false;
        for i in 0..4 {
            let n = self.0[i] | o.0[i];
            changed |= n != self.0[i];
            self.0[i] = n;
        }
        changed
    }
}

/// Index of a kept rule inside [`Automata`].
pub(crate) type KRule = u32;

/// A deterministic automaton for one rule.
#[derive(Debug, Clone)]
pub(crate) struct RuleDfa {
    /// Name of the grammar rule.
    pub name: String,
    /// Byte → equivalence class.
    pub classes: [u8; 256],
    /// Number of classes.
    pub ncls: usize,
    /// `trans[state * ncls + class]` = next state or [`DEAD`].
    pub trans: Vec<u32>,
    /// The rule may end in this state.
    pub accept: Vec<bool>,
    /// Call edges per state: (called rule, state after the call returns).
    pub calls: Vec<Vec<(KRule, u32)>>,
    /// Start state.
    pub start: u32,
    /// Index into [`Automata::lookaheads`] of this rule's lookahead assertion.
    pub lookahead: Option<u32>,
    /// Some byte transition leaves this state.
    pub scans: Vec<bool>,
    /// Neither accepting nor calling: a walk through it needs no closure.
    pub plain: Vec<bool>,
    /// Bytes that can begin a called rule here (or what follows a call that can match the
    /// empty string): where a token may leave this automaton for a callee.
    pub call_first: Vec<ByteSet>,
    /// The rule can end here, possibly after calls that match the empty string.
    pub can_end: Vec<bool>,
    /// Bytes that can follow the end of this rule in some caller (FOLLOW set).
    pub follow: ByteSet,
}

impl RuleDfa {
    /// An automaton starting in state 0, without calls, lookahead or derived flags.
    fn bare(
        name: &str,
        classes: [u8; 256],
        ncls: usize,
        trans: Vec<u32>,
        accept: Vec<bool>,
    ) -> Self {
        let n = accept.len();
        RuleDfa {
            name: name.to_string(),
            classes,
            ncls,
            trans,
            accept,
            calls: vec![Vec::new(); n],
            start: 0,
            lookahead: None,
            scans: Vec::new(),
            plain: Vec::new(),
            call_first: Vec::new(),
            can_end: Vec::new(),
            follow: ByteSet::default(),
        }
    }

    #[inline]
    pub fn next(&self, state: u32, byte: u8) -> u32 {
        self.trans[state as usize * self.ncls + self.classes[byte as usize] as usize]
    }
    pub fn num_states(&self) -> usize {
        self.accept.len()
    }
    /// No call here, and no lookahead to check if the rule ends here: the rule's own
    /// transitions are all a walk needs to know whether it takes a byte string.
    #[inline]
    pub fn quiet(&self, state: u32) -> bool {
        self.plain[state as usize]
            || (self.calls[state as usize].is_empty() && self.lookahead.is_none())
    }
    fn memory_bytes(&self) -> usize {
        256 + self.trans.len() * 4
            + self.accept.len() * 3
            + self.calls.iter().map(|c| 24 + c.len() * 8).sum::<usize>()
    }
}

/// The automata of a whole grammar.
#[derive(Debug)]
pub(crate) struct Automata {
    /// Kept rules; index 0 is the root.
    pub rules: Vec<RuleDfa>,
    /// Lookahead assertion automata (no call edges).
    pub lookaheads: Vec<RuleDfa>,
    /// Per lookahead assertion: its *alive rule* ([`alive_rule`]), a kept rule that no
    /// rule calls, whose token classes from a state are the tokens that keep the
    /// assertion alive from that state.
    pub alive: Vec<KRule>,
    /// Per rule, created on first use: [`facts::Facts`]. A call-free rule's slot may be
    /// shared with equal automata of other grammars ([`Self::share_facts`]).
    facts: Vec<FactsSlot>,
    /// Per rule: no state calls another rule.
    call_free: Vec<bool>,
}

/// The facts of one rule automaton, created on first use.
pub(crate) type FactsSlot = std::sync::Arc<std::sync::OnceLock<facts::Facts>>;

impl Automata {
    /// Compiles a grammar into automata.
    #[cfg(test)]
    pub fn build(g: &Grammar) -> Result<Automata> {
        Self::build_with(g, 1)
    }

    /// Compiles a grammar into automata, determinizing large ones on up to `threads`
    /// threads.
    pub fn build_with(g: &Grammar, threads: usize) -> Result<Automata> {
        let mut survey = survey::Survey::new(g.rules().iter().map(|r| &r.body));
        let recursive = survey.recursive();
        let rules = outline::outline_delimited_loops(g, &recursive, &mut survey);
        // Outlined loops call what their loop called: no rule becomes recursive.
        let mut recursive = recursive;
        recursive.resize(rules.len(), false);
        Builder::new(&rules, &survey, recursive)?.run(threads)
    }

    /// The [`facts::Facts`] of rule `r`.
    pub fn facts(&self, r: KRule) -> &facts::Facts {
        self.facts[r as usize].get_or_init(|| {
            let d = &self.rules[r as usize];
            // States calling a rule without calls of its own that surely takes any safe
            // text (an outlined string tail): safe text goes on in that rule's thread.
            // States whose calls all go to sinks that also meet no end, no call and no
            // control byte along any text of a token's length (a JSON string's tail, not
            // free text that takes newlines) are quiet sinks.
            // Per called rule, once known: (sink, quiet sink).
            let mut sink_rules: Vec<Option<(bool, bool)>> = Vec::new();
            let mut sinks = Vec::new();
            let mut quiet_sinks = Vec::new();
            for (s, calls) in d.calls.iter().enumerate() {
                let mut all_quiet = !calls.is_empty();
                for &(c, _) in calls {
                    if sink_rules.is_empty() {
                        sink_rules.resize(self.rules.len(), None);
                    }
                    let (yes, quiet) = *sink_rules[c as usize].get_or_insert_with(|| {
                        let dc = &self.rules[c as usize];
                        let yes = c != r
                            && self.call_free[c as usize]
                            && self.facts(c).safe(dc, dc.start) == 255;
                        (yes, yes && self.facts(c).quiet_text(dc, dc.start))
                    });
                    if yes {
                        sinks.resize(d.num_states(), false);
                        sinks[s] = true;
                    }
                    all_quiet &= quiet;
                }
                if all_quiet {
                    quiet_sinks.resize(d.num_states(), false);
                    quiet_sinks[s] = true;
                }
            }
            facts::Facts::new(d, sinks, quiet_sinks)
        })
    }

    /// Whether no state of rule `r` calls another rule.
    pub fn call_free(&self, r: KRule) -> bool {
        self.call_free[r as usize]
    }

    /// Uses `slot` for the facts of rule `r`, which must be call-free without lookahead:
    /// its facts then depend only on its automaton, so grammars whose automata are equal
    /// (the free text of a structural tag, a string body) compute them once.
    pub fn share_facts(&mut self, r: KRule, slot: FactsSlot) {
        let d = &self.rules[r as usize];
        if self.call_free[r as usize] && d.lookahead.is_none() {
            self.facts[r as usize] = slot;
        }
    }

    /// Safe text depth of one state ([`text::safe_closure`]).
    #[cfg(test)]
    pub fn safe_depth(&self, r: KRule, state: u32) -> u8 {
        self.facts(r).safe(&self.rules[r as usize], state)
    }

    pub fn memory_bytes(&self) -> usize {
        self.rules.iter().map(RuleDfa::memory_bytes).sum::<usize>()
            + self
                .lookaheads
                .iter()
                .map(RuleDfa::memory_bytes)
                .sum::<usize>()
            + self
                .facts
                .iter()
                .filter_map(|f| f.get())
                .map(facts::Facts::memory_bytes)
                .sum::<usize>()
    }
}

// ----------------------------------------------------------------------------- NFA

/// A Thompson NFA under construction: edges in flat lists, in the order they were added.
#[derive(Default)]
struct Nfa {
    len: u32,
    eps: Vec<(u32, u32)>,
    bytes: Vec<(u32, (u8, u8, u32))>,
    calls: Vec<(u32, (RuleId, u32))>,
}

impl Nfa {
    fn add(&mut self, budget: &mut usize) -> Result<u32> {
        if *budget == 0 {
            return Err(Error::limit(format!(
                "grammar too large: it expands to more than {MAX_NFA_STATES} automaton states \
                 (a large repetition count such as {{0,1000000}} or a huge literal set)"
            )));
        }
        *budget -= 1;
        self.len += 1;
        Ok(self.len - 1)
    }

    fn eps(&mut self, from: u32, to: u32) {
        self.eps.push((from, to));
    }

    fn byte(&mut self, from: u32, lo: u8, hi: u8, to: u32) {
        self.bytes.push((from, (lo, hi, to)));
    }

    fn call(&mut self, from: u32, r: RuleId, to: u32) {
        self.calls.push((from, (r, to)));
    }

    /// The NFA with each state's edges in one row.
    fn freeze(&self) -> Frozen {
        Frozen {
            len: self.len as usize,
            eps: Rows::new(self.len as usize, &self.eps),
            bytes: Rows::new(self.len as usize, &self.bytes),
            calls: Rows::new(self.len as usize, &self.calls),
        }
    }
}

/// Per-state lists in compressed rows (edges of an NFA, reverse edges of a DFA).
struct Rows<T> {
    off: Vec<u32>,
    items: Vec<T>,
}

impl<T: Copy> Rows<T> {
    fn new(n: usize, edges: &[(u32, T)]) -> Rows<T> {
        let mut off = vec![0u32; n + 1];
        for &(from, _) in edges {
            off[from as usize + 1] += 1;
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        let mut fill = off.clone();
        // Every slot is written below; the first edge's value only fills them until then.
        let mut items: Vec<T> = match edges.first() {
            Some(&(_, x)) => vec![x; edges.len()],
            None => Vec::new(),
        };
        for &(from, x) in edges {
            items[fill[from as usize] as usize] = x;
            fill[from as usize] += 1;
        }
        Rows { off, items }
    }

    fn row(&self, s: u32) -> &[T] {
        &self.items[self.off[s as usize] as usize..self.off[s as usize + 1] as usize]
    }
}

/// An NFA ready for the subset construction.
struct Frozen {
    len: usize,
    eps: Rows<u32>,
    bytes: Rows<(u8, u8, u32)>,
    calls: Rows<(RuleId, u32)>,
}

struct Builder<'g> {
    g: &'g Rules<'g>,
    recursive: Vec<bool>,
    est: Vec<u64>,
    refcount: Vec<u32>,
    /// Estimated body size of recursive rules (their recursive references count as calls).
    body_est: Vec<u64>,
    budget: usize,
    /// The rule whose automaton is being built.
    current: RuleId,
    /// Inside an unfolded recursive rule: no further unfolding.
    unfolding: bool,
    /// Rules never inlined (outlined loops shared by their callers).
    keep: Vec<bool>,
    /// Rules whose body references no rule.
    closed: Vec<bool>,
    /// Rules called, not inlined, while the current alternation branch is built
    /// ([`Builder::split_plan`]).
    called: Vec<bool>,
    /// Per rule: its right-linear group ([`linear_groups`]), or [`NO_GROUP`].
    group: Vec<u32>,
    /// Per right-linear group: the estimate of all its bodies together.
    group_est: Vec<u64>,
    /// The right-linear groups being built, innermost last.
    groups: Vec<GroupBuild>,
    /// Copies the enclosing bounded repetitions make of what is being built.
    copies: u64,
}

/// Smallest estimate of a rule that a bounded repetition calls instead of inlining a copy
/// per repetition ([`Builder::should_inline`]).
const COPIED_CALL_MIN: u64 = 64;

/// No right-linear group.
const NO_GROUP: u32 = u32::MAX;

/// Largest estimate of a right-linear group built as plain automaton states.
const GROUP_SIZE: u64 = 200_000;

/// One right-linear group being built inline: each member's body starts at its own NFA
/// state and ends where the group ends, and a reference to a member (in tail position)
/// is an empty edge to that member's start.
struct GroupBuild {
    id: u32,
    end: u32,
    starts: Vec<(RuleId, u32)>,
    pending: Vec<RuleId>,
}

/// Whether every reference to a rule in `member` within `e` is in tail position: the last
/// thing `e` matches when `tail` (no repetition around it, nothing after it).
fn tail_refs_only(e: &Expr, member: &dyn Fn(RuleId) -> bool, tail: bool) -> bool {
    match e {
        Expr::Bytes(_) | Expr::Class(_) => true,
        Expr::Ref(r) => tail || !member(*r),
        Expr::Alt(v) => v.iter().all(|x| tail_refs_only(x, member, tail)),
        Expr::Seq(v) => v
            .iter()
            .enumerate()
            .all(|(k, x)| tail_refs_only(x, member, tail && k + 1 == v.len())),
        Expr::Repeat { expr, .. } => tail_refs_only(expr, member, false),
    }
}

/// Per rule, its right-linear group (else [`NO_GROUP`]): a cycle of references (a
/// strongly connected component) whose members reference each other only in tail
/// position (`X ::= "a" Y | "b"`, the per-state rules of a large regular language, or a
/// right-recursive list), with no lookahead, neither the root nor a rule kept apart, and
/// referenced from outside exactly once, outside any repetition. Such a group is a regular
/// language: it is built into its one caller as plain automaton states instead of calls,
/// whose chains, one frame per character, left the token walk's threads (8 frames)
/// unable to decide long tokens.
fn linear_groups(g: &Rules<'_>, survey: &survey::Survey) -> Vec<u32> {
    let n = g.len();
    let (comp, cyclic) = survey.components();
    let ncomp = comp.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut ok = vec![true; ncomp];
    let mut outside = vec![0u64; ncomp];
    for r in 0..n {
        let c = comp[r] as usize;
        let rid = RuleId(r as u32);
        if !cyclic[r] || rid == g.root() || g.kept_apart(rid) || g.rule(rid).lookahead.is_some() {
            ok[c] = false;
        }
        for &(callee, copies) in survey.refs(r) {
            let cc = comp[callee.index()] as usize;
            if cc != c {
                outside[cc] = outside[cc].saturating_add(copies);
            }
        }
    }
    for (c, ok) in ok.iter_mut().enumerate() {
        *ok &= outside[c] == 1;
    }
    for r in 0..n {
        let c = comp[r] as usize;
        if ok[c] {
            let member = |x: RuleId| comp[x.index()] as usize == c;
            ok[c] = tail_refs_only(&g.rule(RuleId(r as u32)).body, &member, true);
        }
    }
    (0..n)
        .map(|r| {
            if ok[comp[r] as usize] {
                comp[r]
            } else {
                NO_GROUP
            }
        })
        .collect()
}

impl<'g> Builder<'g> {
    /// A builder for `g`, whose bodies `survey` describes and whose recursive rules
    /// `recursive` marks.
    fn new(g: &'g Rules<'g>, survey: &survey::Survey, recursive: Vec<bool>) -> Result<Self> {
        let n = g.len();
        let mut refcount = vec![0u32; n];
        for r in 0..n {
            for &(c, _) in survey.refs(r) {
                refcount[c.index()] += 1;
            }
        }
        let mut b = Builder {
            g,
            recursive,
            est: vec![u64::MAX; n],
            refcount,
            body_est: vec![u64::MAX; n],
            budget: MAX_NFA_STATES,
            current: g.root(),
            unfolding: false,
            keep: (0..n).map(|i| g.kept_apart(RuleId(i as u32))).collect(),
            called: vec![false; n],
            closed: (0..n).map(|r| survey.refs(r).is_empty()).collect(),
            group: linear_groups(g, survey),
            group_est: Vec::new(),
            groups: Vec::new(),
            copies: 1,
        };
        // A group's estimate: its bodies together, references between members free;
        // groups are numbered callees first, so a group's callees are estimated before it.
        let ngroups = b
            .group
            .iter()
            .filter(|&&x| x != NO_GROUP)
            .map(|&x| x as usize + 1)
            .max();
        b.group_est = vec![0; ngroups.unwrap_or(0)];
        let mut members: Vec<usize> = (0..n).filter(|&i| b.group[i] != NO_GROUP).collect();
        members.sort_by_key(|&i| b.group[i]);
        for i in members {
            let v = b.estimate_body(survey, i, 1);
            let e = &mut b.group_est[b.group[i] as usize];
            *e = e.saturating_add(v);
        }
        // Size estimates, callees first (memoized; recursive rules count as one call edge,
        // right-linear groups as all their bodies).
        for i in 0..n {
            b.estimate_rule(survey, i, 0);
        }
        for i in 0..n {
            if b.recursive[i] {
                b.body_est[i] = b.estimate_body(survey, i, 1);
            }
        }
        Ok(b)
    }

    fn estimate_rule(&mut self, survey: &survey::Survey, r: usize, depth: usize) -> u64 {
        if self.est[r] != u64::MAX {
            return self.est[r];
        }
        if self.group[r] != NO_GROUP {
            return self.group_est[self.group[r] as usize];
        }
        if self.recursive[r] || depth > MAX_INLINE_DEPTH {
            return 1;
        }
        let v = self.estimate_body(survey, r, depth + 1);
        self.est[r] = v;
        v
    }

    /// [`Self::estimate`] of rule `r`'s body, from its survey.
    fn estimate_body(&mut self, survey: &survey::Survey, r: usize, depth: usize) -> u64 {
        let mut v = survey.own(r);
        for &(c, copies) in survey.refs(r) {
            if self.group[c.index()] != NO_GROUP && self.group[c.index()] == self.group[r] {
                // Another member of the same group: an empty edge.
                continue;
            }
            let one = if self.inlinable(c) {
                self.estimate_rule(survey, c.index(), depth)
            } else {
                1
            };
            v = v.saturating_add(one.saturating_mul(copies));
        }
        v
    }

    /// Estimated NFA states of `e`, callees inlined where they would be: its own part and
    /// its references as the survey splits a body, each reference at its callee's
    /// estimate (all known once the builder is made).
    fn estimate(&self, e: &Expr) -> u64 {
        let (own, refs) = survey::parts(e);
        refs.iter().fold(own, |v, &(c, copies)| {
            let one = match self.est[c.index()] {
                x if self.inlinable(c) && x != u64::MAX => x,
                _ => 1,
            };
            v.saturating_add(one.saturating_mul(copies))
        })
    }

    fn inlinable(&self, r: RuleId) -> bool {
        let i = r.index();
        (!self.recursive[i] || self.group[i] != NO_GROUP)
            && self.g.rule(r).lookahead.is_none()
            && r != self.g.root()
            && !self.keep.get(i).copied().unwrap_or(false)
    }

    fn should_inline(&self, r: RuleId, depth: usize) -> bool {
        if self.group[r.index()] != NO_GROUP {
            return !self.called[r.index()]
                && depth < MAX_INLINE_DEPTH
                && self.group_est[self.group[r.index()] as usize] <= GROUP_SIZE;
        }
        self.inlinable(r)
            && !self.called[r.index()]
            && depth < MAX_INLINE_DEPTH
            && (self.copies <= 1 || self.est[r.index()] < COPIED_CALL_MIN)
            && (self.est[r.index()] <= INLINE_SIZE
                || (self.refcount[r.index()] <= 1 && !self.closed[r.index()]))
    }

    /// In a large alternation, per branch, the large rules it references after a literal
    /// prefix (`"<tool=a>" a_args "</tool>"`): they are called rather than inlined. The
    /// prefixes still form one automaton and none is a prefix of another, so one branch is
    /// chosen by the time a call is made, while each rule is determinized apart and the
    /// alternation's own automaton stays small. `None` when no branch has such a rule, or
    /// when the prefixes overlap (branches that all begin with `{`), which would leave
    /// several calls alive at once.
    fn split_plan(&self, branches: &[Expr]) -> Option<Vec<Vec<RuleId>>> {
        let mut prefixes: Vec<&[u8]> = Vec::new();
        let plan: Vec<Vec<RuleId>> = branches
            .iter()
            .map(|branch| {
                let Expr::Seq(items) = branch else {
                    return Vec::new();
                };
                let Some(Expr::Bytes(lit)) = items.first() else {
                    return Vec::new();
                };
                let refs: Vec<RuleId> = items
                    .iter()
                    .filter_map(|x| match x {
                        Expr::Ref(r) if self.inlinable(*r) && self.est[r.index()] > SPLIT_MIN => {
                            Some(*r)
                        }
                        _ => None,
                    })
                    .collect();
                if !refs.is_empty() {
                    prefixes.push(lit);
                }
                refs
            })
            .collect();
        if prefixes.is_empty() {
            return None;
        }
        prefixes.sort_unstable();
        let free = prefixes.iter().all(|p| !p.is_empty())
            && prefixes.windows(2).all(|w| !w[1].starts_with(w[0]));
        free.then_some(plan)
    }

    fn should_unfold(&self, r: RuleId, depth: usize) -> bool {
        let i = r.index();
        self.recursive[i]
            && !self.unfolding
            && r != self.current
            && r != self.g.root()
            && self.g.rule(r).lookahead.is_none()
            && depth < MAX_INLINE_DEPTH
            && self.body_est[i] <= UNFOLD_SIZE
    }

    fn run(mut self, threads: usize) -> Result<Automata> {
        let g = self.g;
        let mut kept: Vec<RuleId> = vec![g.root()];
        let mut kept_index: HashMap<RuleId, KRule> = HashMap::from([(g.root(), 0)]);
        // Each kept rule's automaton is remembered or built from an NFA; the NFAs (the
        // callees they name are kept too) are determinized afterwards, on `threads` threads.
        let mut remembered: Vec<Option<RuleDfa>> = Vec::new();
        let mut nfas: Vec<(usize, Frozen, u32, u32)> = Vec::new();
        let mut la_nfas: Vec<(usize, Frozen, u32, u32)> = Vec::new();
        let mut i = 0;
        while i < kept.len() {
            let rid = kept[i];
            let rule = g.rule(rid);
            self.current = rid;
            let stored = if self.closed[rid.index()] {
                closed_dfa(&rule.body)
            } else {
                None
            };
            match stored {
                Some(mut dfa) => {
                    dfa.name.clone_from(&rule.name);
                    remembered.push(Some(dfa));
                }
                None => {
                    let mut nfa = Nfa::default();
                    let start = nfa.add(&mut self.budget)?;
                    let end = nfa.add(&mut self.budget)?;
                    self.build(&mut nfa, &rule.body, start, end, 0)?;
                    for &(_, (c, _)) in &nfa.calls {
                        {
                            let next = kept.len() as KRule;
                            if let std::collections::hash_map::Entry::Vacant(e) =
                                kept_index.entry(c)
                            {
                                e.insert(next);
                                kept.push(c);
                            }
                        }
                    }
                    remembered.push(None);
                    nfas.push((i, nfa.freeze(), start, end));
                }
            }
            if let Some(la) = &rule.lookahead {
                let mut lnfa = Nfa::default();
                let ls = lnfa.add(&mut self.budget)?;
                let le = lnfa.add(&mut self.budget)?;
                self.build_regular(&mut lnfa, la, ls, le, 0, &rule.name)?;
                la_nfas.push((i, lnfa.freeze(), ls, le));
            }
            i += 1;
        }
        // Threads pay off only for large automata.
        let size: usize = nfas.iter().map(|(_, n, ..)| n.len).sum();
        let threads = if size >= PARALLEL_NFA_STATES {
            threads
        } else {
            1
        };
        // Each automaton is finished on the thread that built it, while its tables are in
        // that core's cache: calls numbered by kept rule, the reversed edges trimming
        // reads, the per-state flags and the bytes each state scans (both made again where
        // trimming changes the table).
        let built = crate::parallel::map(nfas.len(), threads, |k| {
            let (r, nfa, start, end) = &nfas[k];
            let (mut dfa, mut calls) = determinize(nfa, *start, *end, &g.rule(kept[*r]).name)?;
            if dfa.num_states() <= MINIMIZE_MAX_STATES {
                minimize::minimize(&mut dfa, &mut calls);
            }
            dfa.calls = calls
                .into_iter()
                .map(|v| v.into_iter().map(|(c, t)| (kept_index[&c], t)).collect())
                .collect();
            let rev = Reverse::new(&dfa);
            finish_flags(&mut dfa);
            let scan = scan_first(&dfa);
            Ok((dfa, rev, scan))
        });
        // Automata from the store were trimmed before they were stored.
        let trimmed: Vec<bool> = remembered.iter().map(Option::is_some).collect();
        let mut dfas: Vec<Option<RuleDfa>> = remembered;
        let mut reverse: Vec<Reverse> = (0..kept.len()).map(|_| Reverse::empty()).collect();
        let mut scans: Vec<Vec<ByteSet>> = vec![Vec::new(); kept.len()];
        for ((r, ..), res) in nfas.iter().zip(built) {
            let (dfa, rev, scan) = res?;
            dfas[*r] = Some(dfa);
            reverse[*r] = rev;
            scans[*r] = scan;
        }
        let mut dfas: Vec<RuleDfa> = dfas.into_iter().flatten().collect();
        for (d, &from_store) in dfas.iter_mut().zip(&trimmed) {
            if from_store {
                d.calls = vec![Vec::new(); d.num_states()];
            }
        }
        let mut la_dfas: Vec<RuleDfa> = Vec::with_capacity(la_nfas.len());
        for (r, lnfa, ls, le) in &la_nfas {
            let name = &g.rule(kept[*r]).name;
            let (ldfa, _) = determinize(lnfa, *ls, *le, name)?;
            dfas[*r].lookahead = Some(la_dfas.len() as u32);
            la_dfas.push(ldfa);
        }
        let mut a = Automata {
            facts: Vec::new(),
            call_free: Vec::new(),
            rules: dfas,
            lookaheads: la_dfas,
            alive: Vec::new(),
        };
        let changed = trim(&mut a, &trimmed, &reverse)?;
        for (r, &from_store) in trimmed.iter().enumerate() {
            let rule = g.rule(kept[r]);
            if !from_store && rule.lookahead.is_none() && self.closed[kept[r].index()] {
                remember_closed_dfa(&rule.body, &a.rules[r]);
            }
        }
        for (r, d) in a.rules.iter_mut().enumerate() {
            if trimmed[r] || changed[r] {
                finish_flags(d);
                scans[r] = scan_first(d);
            }
        }
        for d in a.lookaheads.iter_mut() {
            finish_flags(d);
        }
        for l in 0..a.lookaheads.len() {
            let mut d = alive_rule(&a.lookaheads[l]);
            finish_flags(&mut d);
            scans.push(scan_first(&d));
            a.alive.push(a.rules.len() as KRule);
            a.rules.push(d);
        }
        first_sets(&mut a, scans);
        a.facts = (0..a.rules.len()).map(|_| FactsSlot::default()).collect();
        a.call_free = a
            .rules
            .iter()
            .map(|d| d.calls.iter().all(Vec::is_empty))
            .collect();
        Ok(a)
    }

    /// Adds NFA paths from `from` to `to` matching `e`.
    fn build(&mut self, nfa: &mut Nfa, e: &Expr, from: u32, to: u32, depth: usize) -> Result<()> {
        match e {
            Expr::Bytes(b) => self.build_bytes(nfa, b, from, to),
            Expr::Class(c) if c.is_normalized() => self.build_class(nfa, &c.ranges, from, to),
            Expr::Class(c) => self.build_class(nfa, &c.normalized(), from, to),
            Expr::Ref(r) => {
                let group = self.group[r.index()];
                if let Some(gb) = self.groups.last_mut().filter(|gb| gb.id == group) {
                    // A member of the group being built, in tail position: go to its start
                    // (made, and the member queued, when first referenced).
                    debug_assert_eq!(to, gb.end, "a group reference in tail position");
                    let start = match gb.starts.iter().find(|(m, _)| m == r) {
                        Some(&(_, s)) => s,
                        None => {
                            let s = nfa.add(&mut self.budget)?;
                            gb.starts.push((*r, s));
                            gb.pending.push(*r);
                            s
                        }
                    };
                    nfa.eps(from, start);
                    Ok(())
                } else if group != NO_GROUP && self.should_inline(*r, depth) {
                    let s = nfa.add(&mut self.budget)?;
                    nfa.eps(from, s);
                    self.build_group(nfa, *r, s, to, depth + 1)
                } else if self.should_inline(*r, depth) {
                    let body = &self.g.rule(*r).body;
                    self.build(nfa, body, from, to, depth + 1)
                } else if self.should_unfold(*r, depth) {
                    let body = &self.g.rule(*r).body;
                    self.unfolding = true;
                    let res = self.build(nfa, body, from, to, depth + 1);
                    self.unfolding = false;
                    res
                } else {
                    nfa.call(from, *r, to);
                    Ok(())
                }
            }
            Expr::Seq(v) => self.build_seq(nfa, v, from, to, depth),
            Expr::Alt(v) => {
                let plan = if v.len() >= SPLIT_BRANCHES {
                    self.split_plan(v).filter(|_| self.estimate(e) > SPLIT_SIZE)
                } else {
                    None
                };
                let (ends, end_of) = shared_ends(v);
                // Per shared end: the state its branches meet in before it.
                let mut meet: Vec<u32> = Vec::with_capacity(ends.len());
                for _ in &ends {
                    meet.push(nfa.add(&mut self.budget)?);
                }
                for (k, x) in v.iter().enumerate() {
                    // A fresh entry state keeps alternatives from sharing loops.
                    let s = nfa.add(&mut self.budget)?;
                    nfa.eps(from, s);
                    let called = plan.as_ref().map_or(&[][..], |p| &p[k][..]);
                    for &r in called {
                        self.called[r.index()] = true;
                    }
                    let res = match (x, end_of.get(k).copied().flatten()) {
                        (Expr::Seq(items), Some(j)) => self.build_seq(
                            nfa,
                            &items[..items.len() - 1],
                            s,
                            meet[j as usize],
                            depth,
                        ),
                        _ => self.build(nfa, x, s, to, depth),
                    };
                    for &r in called {
                        self.called[r.index()] = false;
                    }
                    res?;
                }
                for (end, &m) in ends.iter().zip(&meet) {
                    self.build_bytes(nfa, end, m, to)?;
                }
                Ok(())
            }
            Expr::Repeat { expr, min, max } => {
                self.build_repeat(nfa, expr, *min, *max, from, to, depth)
            }
        }
    }

    /// Adds NFA paths from `from` to `to` matching rule `r` of a right-linear group, with
    /// every member it reaches built once, as states of this automaton.
    fn build_group(
        &mut self,
        nfa: &mut Nfa,
        r: RuleId,
        from: u32,
        to: u32,
        depth: usize,
    ) -> Result<()> {
        self.groups.push(GroupBuild {
            id: self.group[r.index()],
            end: to,
            starts: vec![(r, from)],
            pending: vec![r],
        });
        let mut res = Ok(());
        while let Some(m) = self.groups.last_mut().and_then(|gb| gb.pending.pop()) {
            let start = self
                .groups
                .last()
                .and_then(|gb| gb.starts.iter().find(|(x, _)| *x == m).map(|&(_, s)| s));
            let body = &self.g.rule(m).body;
            res = self.build(nfa, body, start.expect("member start"), to, depth);
            if res.is_err() {
                break;
            }
        }
        self.groups.pop();
        res
    }

    /// Adds NFA paths from `from` to `to` matching the items of `v` in order.
    fn build_seq(
        &mut self,
        nfa: &mut Nfa,
        v: &[Expr],
        from: u32,
        to: u32,
        depth: usize,
    ) -> Result<()> {
        if v.is_empty() {
            nfa.eps(from, to);
            return Ok(());
        }
        let mut cur = from;
        for (k, x) in v.iter().enumerate() {
            let next = if k + 1 == v.len() {
                to
            } else {
                nfa.add(&mut self.budget)?
            };
            self.build(nfa, x, cur, next, depth)?;
            cur = next;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn build_repeat(
        &mut self,
        nfa: &mut Nfa,
        e: &Expr,
        min: u32,
        max: Option<u32>,
        from: u32,
        to: u32,
        depth: usize,
    ) -> Result<()> {
        if let Some(m) = max
            && m < min
        {
            return Err(Error::syntax(format!(
                "repetition {{{min},{m}}}: minimum exceeds maximum"
            )));
        }
        // Each copy of a large rule would be walked apart on first use: such rules are
        // called from every copy instead, which share their classes.
        let outer = self.copies;
        let copies = max.unwrap_or(min).max(min) as u64;
        if copies > 1 {
            self.copies = outer.saturating_mul(copies);
        }
        let res = self.build_copies(nfa, e, (min, max), from, to, depth);
        self.copies = outer;
        res
    }

    /// The NFA paths of `e` repeated `min..=max` times ([`Self::build_repeat`] once the
    /// copies are counted).
    fn build_copies(
        &mut self,
        nfa: &mut Nfa,
        e: &Expr,
        (min, max): (u32, Option<u32>),
        from: u32,
        to: u32,
        depth: usize,
    ) -> Result<()> {
        let mut cur = from;
        for _ in 0..min {
            let next = nfa.add(&mut self.budget)?;
            self.build(nfa, e, cur, next, depth)?;
            cur = next;
        }
        match max {
            None => {
                let a = nfa.add(&mut self.budget)?;
                let b = nfa.add(&mut self.budget)?;
                nfa.eps(cur, a);
                self.build(nfa, e, a, b, depth)?;
                nfa.eps(b, a);
                nfa.eps(a, to);
            }
            Some(m) => {
                for _ in min..m {
                    nfa.eps(cur, to);
                    let next = nfa.add(&mut self.budget)?;
                    self.build(nfa, e, cur, next, depth)?;
                    cur = next;
                }
                nfa.eps(cur, to);
            }
        }
        Ok(())
    }

    /// Like [`Self::build`] but every reference is inlined; recursion is an error.
    fn build_regular(
        &mut self,
        nfa: &mut Nfa,
        e: &Expr,
        from: u32,
        to: u32,
        depth: usize,
        owner: &str,
    ) -> Result<()> {
        match e {
            Expr::Ref(r) => {
                if self.recursive[r.index()] || depth > MAX_INLINE_DEPTH {
                    return Err(Error::syntax(format!(
                        "the lookahead assertion of rule `{owner}` must be regular, but it uses the recursive rule `{}`",
                        self.g.rule(*r).name
                    )));
                }
                let body = &self.g.rule(*r).body;
                self.build_regular(nfa, body, from, to, depth + 1, owner)
            }
            Expr::Seq(v) if !v.is_empty() => {
                let mut cur = from;
                for (k, x) in v.iter().enumerate() {
                    let next = if k + 1 == v.len() {
                        to
                    } else {
                        nfa.add(&mut self.budget)?
                    };
                    self.build_regular(nfa, x, cur, next, depth, owner)?;
                    cur = next;
                }
                Ok(())
            }
            Expr::Alt(v) => {
                for x in v {
                    let s = nfa.add(&mut self.budget)?;
                    nfa.eps(from, s);
                    self.build_regular(nfa, x, s, to, depth, owner)?;
                }
                Ok(())
            }
            Expr::Repeat { expr, min, max } => {
                // Repetition of a regular expression: reuse the general builder on an
                // inlined copy.
                let inner = self.inline_all(expr, depth, owner)?;
                self.build_repeat(nfa, &inner, *min, *max, from, to, depth)
            }
            other => self.build(nfa, other, from, to, depth),
        }
    }

    fn inline_all(&self, e: &Expr, depth: usize, owner: &str) -> Result<Expr> {
        Ok(match e {
            Expr::Ref(r) => {
                if self.recursive[r.index()] || depth > MAX_INLINE_DEPTH {
                    return Err(Error::syntax(format!(
                        "the lookahead assertion of rule `{owner}` must be regular, but it uses the recursive rule `{}`",
                        self.g.rule(*r).name
                    )));
                }
                self.inline_all(&self.g.rule(*r).body, depth + 1, owner)?
            }
            Expr::Seq(v) => Expr::Seq(
                v.iter()
                    .map(|x| self.inline_all(x, depth, owner))
                    .collect::<Result<_>>()?,
            ),
            Expr::Alt(v) => Expr::Alt(
                v.iter()
                    .map(|x| self.inline_all(x, depth, owner))
                    .collect::<Result<_>>()?,
            ),
            Expr::Repeat { expr, min, max } => Expr::Repeat {
                expr: Box::new(self.inline_all(expr, depth, owner)?),
                min: *min,
                max: *max,
            },
            other => other.clone(),
        })
    }

    fn build_bytes(&mut self, nfa: &mut Nfa, b: &[u8], from: u32, to: u32) -> Result<()> {
        if b.is_empty() {
            nfa.eps(from, to);
            return Ok(());
        }
        let mut cur = from;
        for (k, &byte) in b.iter().enumerate() {
            let next = if k + 1 == b.len() {
                to
            } else {
                nfa.add(&mut self.budget)?
            };
            nfa.byte(cur, byte, byte, next);
            cur = next;
        }
        Ok(())
    }

    fn build_class(
        &mut self,
        nfa: &mut Nfa,
        ranges: &[(u32, u32)],
        from: u32,
        to: u32,
    ) -> Result<()> {
        use regex_syntax::utf8::Utf8Sequences;
        for &(lo, hi) in ranges {
            if hi < 0x80 {
                nfa.byte(from, lo as u8, hi as u8, to);
                continue;
            }
            let (Some(lo), Some(hi)) = (char::from_u32(lo), char::from_u32(hi)) else {
                continue;
            };
            for seq in Utf8Sequences::new(lo, hi) {
                let parts = seq.as_slice();
                let mut cur = from;
                for (k, r) in parts.iter().enumerate() {
                    let next = if k + 1 == parts.len() {
                        to
                    } else {
                        nfa.add(&mut self.budget)?
                    };
                    nfa.byte(cur, r.start, r.end, next);
                    cur = next;
                }
            }
        }
        Ok(())
    }
}

/// Marks rules that can reach themselves through references (iterative Tarjan SCC).
/// The literals that end at least two branches of an alternation that are sequences
/// (`"a" x "</t>" | "b" y "</t>"`), in order of first use, and per branch the index of
/// its end among them (empty when none is shared). Such branches are built to meet in
/// one state before one copy of their end: `(p | q) e` matches what `p e | q e` does, and
/// the automaton holds the end once rather than once per branch, whatever follows the
/// calls made before it.
fn shared_ends(v: &[Expr]) -> (Vec<&[u8]>, Vec<Option<u32>>) {
    fn end(x: &Expr) -> Option<&[u8]> {
        match x {
            Expr::Seq(items) if items.len() >= 2 => match items.last() {
                Some(Expr::Bytes(b)) if !b.is_empty() => Some(&b[..]),
                _ => None,
            },
            _ => None,
        }
    }
    if v.iter().filter(|x| end(x).is_some()).nth(1).is_none() {
        return (Vec::new(), Vec::new());
    }
    let mut count: FxHashMap<&[u8], u32> = FxHashMap::default();
    for x in v {
        if let Some(e) = end(x) {
            *count.entry(e).or_insert(0) += 1;
        }
    }
    if count.values().all(|&n| n < 2) {
        return (Vec::new(), Vec::new());
    }
    let mut ends: Vec<&[u8]> = Vec::new();
    let mut index: FxHashMap<&[u8], u32> = FxHashMap::default();
    let end_of = v
        .iter()
        .map(|x| {
            let e = end(x).filter(|e| count[e] >= 2)?;
            Some(*index.entry(e).or_insert_with(|| {
                ends.push(e);
                ends.len() as u32 - 1
            }))
        })
        .collect();
    (ends, end_of)
}

// ----------------------------------------------------------------------------- DFA

/// Extends `set` with every state reachable by empty edges, keeps those `important` marks
/// and sorts it; `seen` holds `mark` for the states already in it, `stack` is scratch
/// space.
fn closure(
    nfa: &Frozen,
    set: &mut Vec<u32>,
    seen: &mut [u32],
    mark: u32,
    stack: &mut Vec<u32>,
    important: &[bool],
) {
    stack.clear();
    stack.extend_from_slice(set);
    for &s in set.iter() {
        seen[s as usize] = mark;
    }
    while let Some(s) = stack.pop() {
        for &t in nfa.eps.row(s) {
            if seen[t as usize] != mark {
                seen[t as usize] = mark;
                set.push(t);
                stack.push(t);
            }
        }
    }
    set.retain(|&s| important[s as usize]);
    set.sort_unstable();
}

type DfaWithCalls = (RuleDfa, Vec<Vec<(RuleId, u32)>>);

/// Automata of large rule bodies that reference no rule, shared by every grammar the process
/// builds: format automata (`date-time`, `uri`, ...) recur across schemas and take tens of
/// milliseconds each to determinize.
static CLOSED_DFAS: std::sync::OnceLock<parking_lot::Mutex<FxHashMap<Expr, RuleDfa>>> =
    std::sync::OnceLock::new();
/// Smallest automaton kept in [`CLOSED_DFAS`].
const CLOSED_MIN_STATES: usize = 512;
/// Most states kept in [`CLOSED_DFAS`] in all.
const CLOSED_MAX_STATES: usize = 200_000;

/// The remembered automaton of `body` (a body that references no rule), if any.
fn closed_dfa(body: &Expr) -> Option<RuleDfa> {
    CLOSED_DFAS.get()?.lock().get(body).cloned()
}

/// Remembers the trimmed automaton `dfa` of `body` (a body that references no rule) when
/// it is large; the store stops growing at [`CLOSED_MAX_STATES`].
fn remember_closed_dfa(body: &Expr, dfa: &RuleDfa) {
    if dfa.num_states() < CLOSED_MIN_STATES {
        return;
    }
    let mut m = CLOSED_DFAS
        .get_or_init(|| parking_lot::Mutex::new(FxHashMap::default()))
        .lock();
    let held: usize = m.values().map(RuleDfa::num_states).sum();
    if held + dfa.num_states() <= CLOSED_MAX_STATES {
        m.insert(body.clone(), dfa.clone());
    }
}

fn determinize(nfa: &Frozen, start: u32, accept: u32, name: &str) -> Result<DfaWithCalls> {
    // Byte equivalence classes from all range boundaries.
    let mut boundary = [false; 257];
    boundary[0] = true;
    boundary[256] = true;
    for &(lo, hi, _) in &nfa.bytes.items {
        boundary[lo as usize] = true;
        boundary[hi as usize + 1] = true;
    }
    let mut classes = [0u8; 256];
    let mut reps: Vec<u8> = Vec::new();
    let mut c: i32 = -1;
    for b in 0..256usize {
        if boundary[b] {
            c += 1;
            reps.push(b as u8);
        }
        classes[b] = c as u8;
    }
    let ncls = reps.len();

    // Only states with byte or call edges, and the accepting state, tell subsets apart:
    // the others (empty edges only) are left out of every subset.
    let important: Vec<bool> = (0..nfa.len as u32)
        .map(|s| s == accept || !nfa.bytes.row(s).is_empty() || !nfa.calls.row(s).is_empty())
        .collect();
    let mut seen = vec![0u32; nfa.len];
    let mut mark = 1u32;
    let mut sets = Subsets::default();
    let mut stack: Vec<u32> = Vec::new();
    let mut tgt = vec![start];
    closure(nfa, &mut tgt, &mut seen, mark, &mut stack, &important);
    sets.intern(&tgt, name)?;
    let mut trans: Vec<u32> = Vec::new();
    let mut accept_v = Vec::new();
    let mut calls_v: Vec<Vec<(RuleId, u32)>> = Vec::new();
    let mut edges: Vec<(u8, u8, u32)> = Vec::new();
    let mut active: Vec<(u8, u8, u32)> = Vec::new();
    let mut points: Vec<u16> = Vec::new();
    let mut prev: Vec<u32> = Vec::new();
    let mut by_rule: Vec<(RuleId, u32)> = Vec::new();
    let mut i = 0;
    while i < sets.spans.len() {
        let (lo, hi) = sets.spans[i];
        let set = lo as usize..hi as usize;
        accept_v.push(sets.arena[set.clone()].binary_search(&accept).is_ok());
        let base = trans.len();
        trans.resize(base + ncls, DEAD);
        // Sweep the byte intervals bounded by the set's edges; each interval's targets are
        // the edges active over it. Neighbouring intervals with equal targets (a wide range
        // split by another edge) share one closure.
        edges.clear();
        points.clear();
        for &s in &sets.arena[set.clone()] {
            for &e in nfa.bytes.row(s) {
                edges.push(e);
                points.push(e.0 as u16);
                points.push(e.1 as u16 + 1);
            }
        }
        edges.sort_unstable_by_key(|e| e.0);
        points.sort_unstable();
        points.dedup();
        active.clear();
        prev.clear();
        let mut prev_id = DEAD;
        let mut next = 0;
        for w in points.windows(2) {
            let (p, q) = (w[0], w[1]);
            active.retain(|e| e.1 as u16 >= p);
            while next < edges.len() && edges[next].0 as u16 == p {
                active.push(edges[next]);
                next += 1;
            }
            if active.is_empty() {
                continue;
            }
            tgt.clear();
            tgt.extend(active.iter().map(|e| e.2));
            tgt.sort_unstable();
            tgt.dedup();
            if tgt != prev {
                prev.clone_from(&tgt);
                mark += 1;
                closure(nfa, &mut tgt, &mut seen, mark, &mut stack, &important);
                prev_id = sets.intern(&tgt, name)?;
            }
            let (c0, c1) = (
                classes[p as usize] as usize,
                classes[q as usize - 1] as usize,
            );
            trans[base + c0..=base + c1].fill(prev_id);
        }
        by_rule.clear();
        for &s in &sets.arena[set] {
            by_rule.extend(nfa.calls.row(s).iter().copied());
        }
        by_rule.sort_unstable();
        let mut calls = Vec::new();
        let mut k = 0;
        while k < by_rule.len() {
            let r = by_rule[k].0;
            tgt.clear();
            while k < by_rule.len() && by_rule[k].0 == r {
                tgt.push(by_rule[k].1);
                k += 1;
            }
            tgt.dedup();
            mark += 1;
            closure(nfa, &mut tgt, &mut seen, mark, &mut stack, &important);
            calls.push((r, sets.intern(&tgt, name)?));
        }
        calls_v.push(calls);
        i += 1;
    }
    Ok((RuleDfa::bare(name, classes, ncls, trans, accept_v), calls_v))
}

/// The NFA state sets of a subset construction, numbered in order of discovery and stored
/// end to end; looked up by hash, with the sets of equal hash chained.
#[derive(Default)]
struct Subsets {
    arena: Vec<u32>,
    spans: Vec<(u32, u32)>,
    /// Hash of a set -> the last set numbered with that hash.
    heads: FxHashMap<u64, u32>,
    /// Per set: the previous set with the same hash, or `u32::MAX`.
    chain: Vec<u32>,
}

impl Subsets {
    fn hash(set: &[u32]) -> u64 {
        use std::hash::Hasher;
        let mut h = crate::fxhash::FxHasher::default();
        h.write_usize(set.len());
        for &x in set {
            h.write_u32(x);
        }
        h.finish()
    }

    fn get(&self, id: u32) -> &[u32] {
        let (lo, hi) = self.spans[id as usize];
        &self.arena[lo as usize..hi as usize]
    }

    /// The number of the sorted `set`, numbered now if new.
    fn intern(&mut self, set: &[u32], name: &str) -> Result<u32> {
        let h = Self::hash(set);
        let head = self.heads.get(&h).copied().unwrap_or(u32::MAX);
        let mut at = head;
        while at != u32::MAX {
            if self.get(at) == set {
                return Ok(at);
            }
            at = self.chain[at as usize];
        }
        if self.spans.len() >= MAX_DFA_STATES {
            return Err(Error::limit(format!(
                "rule `{name}` determinizes to more than {MAX_DFA_STATES} automaton states"
            )));
        }
        let id = self.spans.len() as u32;
        let lo = self.arena.len() as u32;
        self.arena.extend_from_slice(set);
        self.spans.push((lo, self.arena.len() as u32));
        self.chain.push(head);
        self.heads.insert(h, id);
        Ok(id)
    }
}

/// Removes call edges to rules that match nothing and states from which no accepting
/// state can be reached; fails when the root matches nothing. `reverse` holds each rule's
/// reversed edges, empty for the rules `trimmed` marks: rules without calls trimmed before
/// (served by the store), which stay as they are and are productive when their start
/// state is still live. Returns, per rule, whether its automaton changed.
fn trim(a: &mut Automata, trimmed: &[bool], reverse: &[Reverse]) -> Result<Vec<bool>> {
    let n = a.rules.len();
    // Coreachable states per rule, with the number of productive rules they were computed
    // under (productive rules only grow, so an equal count means an equal set). Those of
    // call-free rules do not depend on other rules.
    let mut co: Vec<Option<(usize, Vec<bool>)>> = vec![None; n];
    let mut productive = vec![false; n];
    let mut count = 0;
    loop {
        let mut changed = false;
        for r in 0..n {
            if productive[r] {
                continue;
            }
            let d = &a.rules[r];
            if trimmed[r] {
                let st = d.start as usize;
                if d.accept[st]
                    || d.trans[st * d.ncls..(st + 1) * d.ncls]
                        .iter()
                        .any(|&t| t != DEAD)
                {
                    productive[r] = true;
                    count += 1;
                    changed = true;
                }
                continue;
            }
            let stale = match &co[r] {
                Some((k, _)) => reverse[r].has_calls && *k != count,
                None => true,
            };
            if stale {
                co[r] = Some((count, coreachable(d, &reverse[r], &productive)));
            }
            if co[r].as_ref().is_some_and(|(_, c)| c[d.start as usize]) {
                productive[r] = true;
                count += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    if !productive[0] {
        return Err(Error::syntax(format!(
            "the grammar matches no string: rule `{}` can never complete",
            a.rules[0].name
        )));
    }
    let mut changed = vec![false; n];
    for (r, (memo, rev)) in co.into_iter().zip(reverse).enumerate() {
        if trimmed[r] {
            continue;
        }
        let co = match memo {
            Some((k, c)) if k == count || !rev.has_calls => c,
            _ => coreachable(&a.rules[r], rev, &productive),
        };
        let d = &mut a.rules[r];
        // Most automata have nothing to remove; their tables are not read again.
        if co.iter().all(|&c| c)
            && d.calls
                .iter()
                .all(|c| c.iter().all(|&(c, _)| productive[c as usize]))
        {
            continue;
        }
        changed[r] = true;
        let ncls = d.ncls;
        for s in 0..d.num_states() {
            let row = &mut d.trans[s * ncls..(s + 1) * ncls];
            if co[s] {
                for t in row.iter_mut() {
                    if *t != DEAD && !co[*t as usize] {
                        *t = DEAD;
                    }
                }
                d.calls[s].retain(|&(c, t)| productive[c as usize] && co[t as usize]);
            } else {
                row.fill(DEAD);
                d.calls[s].clear();
                d.accept[s] = false;
            }
        }
    }
    for d in &mut a.lookaheads {
        let co = coreachable(d, &Reverse::new(d), &[]);
        if !co[d.start as usize] {
            return Err(Error::syntax(format!(
                "the lookahead assertion of rule `{}` matches no string",
                d.name
            )));
        }
    }
    Ok(changed)
}

/// The reverse edges of one automaton in compressed rows: for each state, the states with a
/// byte transition into it (once per source), and the (source, callee) of calls returning to
/// it.
struct Reverse {
    /// Per state, the states with a byte transition into it.
    bytes: Rows<u32>,
    /// Per state, the (state, callee) of the calls that return to it.
    calls: Rows<(u32, KRule)>,
    has_calls: bool,
}

impl Reverse {
    /// No edges (for a rule that is not trimmed again).
    fn empty() -> Reverse {
        Reverse {
            bytes: Rows::new(0, &[]),
            calls: Rows::new(0, &[]),
            has_calls: false,
        }
    }

    fn new(d: &RuleDfa) -> Reverse {
        let n = d.num_states();
        // Distinct targets of each row (consecutive classes mostly share theirs).
        let mut bytes: Vec<(u32, u32)> = Vec::new();
        for s in 0..n {
            let mut last = DEAD;
            for &t in &d.trans[s * d.ncls..(s + 1) * d.ncls] {
                if t != DEAD && t != last {
                    bytes.push((t, s as u32));
                    last = t;
                }
            }
        }
        let calls: Vec<(u32, (u32, KRule))> = d
            .calls
            .iter()
            .enumerate()
            .flat_map(|(s, c)| c.iter().map(move |&(r, t)| (t, (s as u32, r))))
            .collect();
        Reverse {
            bytes: Rows::new(n, &bytes),
            has_calls: !calls.is_empty(),
            calls: Rows::new(n, &calls),
        }
    }
}

/// States from which an accepting state is reachable (calls only through productive rules).
fn coreachable(d: &RuleDfa, rev: &Reverse, productive: &[bool]) -> Vec<bool> {
    let n = d.num_states();
    let mut co = vec![false; n];
    let mut stack: Vec<u32> = (0..n as u32).filter(|&s| d.accept[s as usize]).collect();
    for &s in &stack {
        co[s as usize] = true;
    }
    while let Some(t) = stack.pop() {
        let bytes = rev.bytes.row(t);
        let calls = rev.calls.row(t);
        let via_calls = calls
            .iter()
            .filter(|&&(_, r)| productive.get(r as usize).copied().unwrap_or(false))
            .map(|&(s, _)| s);
        for p in bytes.iter().copied().chain(via_calls) {
            if !co[p as usize] {
                co[p as usize] = true;
                stack.push(p);
            }
        }
    }
    co
}

/// The alive rule of a lookahead assertion automaton: the same transitions, except that
/// every byte reaching an accepting state goes to one more state that takes any byte
/// forever, and no state accepts. A pending constraint in state `s` survives a byte string
/// (each byte keeps it out of the dead state until it accepts, as the parser checks it)
/// exactly when this rule, which neither calls nor ends, takes the string from `s`.
fn alive_rule(l: &RuleDfa) -> RuleDfa {
    let n = l.num_states();
    let sink = n as u32;
    let mut trans: Vec<u32> = l
        .trans
        .iter()
        .map(|&t| {
            if t != DEAD && l.accept[t as usize] {
                sink
            } else {
                t
            }
        })
        .collect();
    trans.extend(std::iter::repeat_n(sink, l.ncls));
    let mut d = RuleDfa::bare(
        &format!("{} (alive)", l.name),
        l.classes,
        l.ncls,
        trans,
        vec![false; n + 1],
    );
    d.start = l.start;
    d
}

fn finish_flags(d: &mut RuleDfa) {
    let n = d.num_states();
    d.scans = (0..n)
        .map(|s| {
            d.trans[s * d.ncls..(s + 1) * d.ncls]
                .iter()
                .any(|&t| t != DEAD)
        })
        .collect();
    d.plain = (0..n)
        .map(|s| !d.accept[s] && d.calls[s].is_empty())
        .collect();
}

/// Per state of `d`, the bytes its transitions scan: for every state when `d` calls rules,
/// for its start alone otherwise (only the start's FIRST set of a call-free rule is read);
/// the other states' sets are empty.
fn scan_first(d: &RuleDfa) -> Vec<ByteSet> {
    let calls = d.calls.iter().any(|c| !c.is_empty());
    // The bytes of each class, then per state the union over its live classes.
    let mut of_class = vec![ByteSet::default(); d.ncls];
    for byte in 0..=255u8 {
        of_class[d.classes[byte as usize] as usize].insert(byte);
    }
    (0..d.num_states())
        .map(|st| {
            let mut b = ByteSet::default();
            if !calls && st != d.start as usize {
                return b;
            }
            for (c, &t) in d.trans[st * d.ncls..(st + 1) * d.ncls].iter().enumerate() {
                if t != DEAD {
                    b.union(&of_class[c]);
                }
            }
            b
        })
        .collect()
}

/// Computes, per state, whether the rule can end there through empty calls, and which bytes
/// can begin a call made there (FIRST sets, to a fixpoint over all rules). `scans` holds
/// each rule's [`scan_first`].
fn first_sets(a: &mut Automata, scans: Vec<Vec<ByteSet>>) {
    let n = a.rules.len();
    // Rules without calls (format automata of tens of thousands of states among them) need
    // no fixpoint: they end where they accept, and only their start's FIRST set is read.
    let calls: Vec<bool> = a
        .rules
        .iter()
        .map(|d| d.calls.iter().any(|c| !c.is_empty()))
        .collect();
    // can_end: accepting, or a call to a nullable rule leads to a state that can end.
    let mut nullable = vec![false; n];
    loop {
        let mut changed = false;
        for r in 0..n {
            let d = &a.rules[r];
            let mut ce: Vec<bool> = d.accept.clone();
            let mut c2 = calls[r];
            while c2 {
                c2 = false;
                for st in 0..d.num_states() {
                    if !ce[st]
                        && d.calls[st]
                            .iter()
                            .any(|&(c, t)| nullable[c as usize] && ce[t as usize])
                    {
                        ce[st] = true;
                        c2 = true;
                    }
                }
            }
            let nl = ce[d.start as usize];
            if nl != nullable[r] {
                nullable[r] = nl;
                changed = true;
            }
            a.rules[r].can_end = ce;
        }
        if !changed {
            break;
        }
    }
    // first[r][s]: bytes that can be scanned first from state s of rule r (through calls).
    let mut first = scans;
    loop {
        let mut changed = false;
        for r in (0..n).filter(|&r| calls[r]) {
            for st in 0..a.rules[r].num_states() {
                let mut acc = first[r][st];
                for &(c, t) in &a.rules[r].calls[st] {
                    let fc = first[c as usize][a.rules[c as usize].start as usize];
                    acc.union(&fc);
                    if nullable[c as usize] {
                        let ft = first[r][t as usize];
                        acc.union(&ft);
                    }
                }
                if first[r][st].union(&acc) {
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for r in 0..n {
        if !calls[r] {
            a.rules[r].call_first = vec![ByteSet::default(); a.rules[r].num_states()];
            continue;
        }
        let cf: Vec<ByteSet> = (0..a.rules[r].num_states())
            .map(|st| {
                let mut acc = ByteSet::default();
                for &(c, t) in &a.rules[r].calls[st] {
                    acc.union(&first[c as usize][a.rules[c as usize].start as usize]);
                    if nullable[c as usize] {
                        acc.union(&first[r][t as usize]);
                    }
                }
                acc
            })
            .collect();
        a.rules[r].call_first = cf;
    }
    // FOLLOW: what a caller can scan after the call returns, and what follows the caller
    // when it can end right there.
    let mut follow = vec![ByteSet::default(); n];
    loop {
        let mut changed = false;
        for p in (0..n).filter(|&p| calls[p]) {
            for st in 0..a.rules[p].num_states() {
                for &(c, t) in &a.rules[p].calls[st] {
                    let mut add = first[p][t as usize];
                    if a.rules[p].can_end[t as usize] {
                        add.union(&follow[p].clone());
                    }
                    if follow[c as usize].union(&add) {
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    for (d, f) in a.rules.iter_mut().zip(follow) {
        d.follow = f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_set_iterates_its_members_in_order() {
        let members = [0u8, 1, 63, 64, 127, 128, 200, 255];
        let mut set = ByteSet::default();
        for &b in members.iter().rev() {
            set.insert(b);
        }
        assert_eq!(set.iter().collect::<Vec<u8>>(), members);
        assert_eq!(ByteSet::default().iter().count(), 0);
    }

    #[test]
    fn safe_depth_counts_down_a_bounded_text_run() {
        let g = Grammar::from_ebnf(r#"root ::= [^\x00-\x1f"\\]{0,3} "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        let mut s = d.start;
        let mut depths = Vec::new();
        for _ in 0..4 {
            depths.push(a.safe_depth(0, s));
            s = d.next(s, b'a');
            if s == DEAD {
                break;
            }
        }
        assert_eq!(depths, [3, 2, 1, 0]);
        // Only ASCII: some safe characters are refused, so nothing is sure.
        let g = Grammar::from_ebnf(r#"root ::= [ -~]{0,3} "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        assert_eq!(a.safe_depth(0, a.rules[0].start), 0);
        // An unbounded run (outlined into a loop rule of its own) is safe to any depth; the
        // root, which calls it, is not plain where it calls.
        let g = Grammar::from_ebnf(r#"root ::= [^\x00-\x1f"\\]* "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        assert_eq!(a.rules.len(), 2);
        assert_eq!(a.safe_depth(1, a.rules[1].start), 255);
        assert_eq!(a.safe_depth(0, a.rules[0].start), 0);
    }

    /// Whether `d`'s own transitions take `s` from the start into an accepting state.
    fn dfa_takes(d: &RuleDfa, s: &str) -> bool {
        let mut st = d.start;
        for &b in s.as_bytes() {
            st = d.next(st, b);
            if st == DEAD {
                return false;
            }
        }
        d.accept[st as usize]
    }

    #[test]
    fn facts_along_a_long_count_match_their_definition_in_any_order() {
        // After the quote and `i` characters, 2000 - i are left: the safe depth is that
        // (at most 255), and text is quiet (no end, every character taken) for 254 more
        // characters iff at least 254 are left. Each query settles a batch of later states;
        // the queries jump back and forth so that both settled and fresh states are read.
        let g =
            Grammar::from_ebnf(r#"root ::= "\"" [^"\\\x00-\x1f]{0,2000} "\"""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        let mut states = vec![d.next(d.start, b'"')];
        for _ in 0..2000 {
            let last = *states.last().unwrap();
            states.push(d.next(last, b'a'));
        }
        let f = a.facts(0);
        let order = (0..=2000usize).map(|k| (k * 617) % 2001);
        for i in order {
            let left = 2000 - i;
            assert_eq!(
                f.safe(d, states[i]) as usize,
                left.min(255),
                "safe after {i}"
            );
            assert_eq!(f.quiet_text(d, states[i]), left >= 254, "quiet after {i}");
            // The same as the state's own walk.
            let tc = text::TextClasses::new(d);
            let alone = text::quiet_within(d, &tc, states[i], 254, 8192, &[]);
            assert_eq!(f.quiet_text(d, states[i]), alone, "walk after {i}");
        }
    }

    #[test]
    fn bounded_repetitions_call_large_rules_and_inline_small_ones() {
        // Each of the five copies of `big` would be states of its own, walked apart on
        // first use; the copies call it instead. `small` is inlined into each copy.
        let g = Grammar::from_ebnf(
            r#"root ::= "[" big ("," big){0,5} "]" (";" small){0,5}
big ::= [a-z] [a-z0-9]{0,80}
small ::= "x" | "y""#,
            "root",
        )
        .unwrap();
        let a = Automata::build(&g).unwrap();
        let names: Vec<&str> = a.rules.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["root", "big"]);
        // The first `big`, outside the repetition, is inlined: the root takes it alone.
        assert!(dfa_takes(&a.rules[0], "[ab]"));
        assert!(dfa_takes(&a.rules[0], "[ab];x;y"));
        assert!(!dfa_takes(&a.rules[0], "[ab];z"));
    }

    #[test]
    fn right_linear_groups_become_states_of_their_caller() {
        // `list` refers to itself last; `evens` and `odds` to each other last: both groups
        // are regular, built into the root without calls. `mid` refers to itself in the
        // middle: it stays a rule of its own, called.
        let g = Grammar::from_ebnf(
            r#"root ::= "[" list "]" evens "|" mid
list ::= [a-z]+ ("," list | "")
evens ::= "ab" odds | ""
odds ::= "c" evens
mid ::= "(" mid ")" | "x""#,
            "root",
        )
        .unwrap();
        let a = Automata::build(&g).unwrap();
        assert_eq!(a.rules.len(), 2, "only the root and `mid`");
        assert_eq!(a.rules[1].name, "mid");
        let d = &a.rules[0];
        // `mid` is unfolded once into the root: `x` ends it there without a call.
        let takes = |s: &str| dfa_takes(d, s);
        for ok in ["[a]|x", "[ab,c,def]abcabc|x", "[x]abc|x"] {
            assert!(takes(ok), "{ok}");
        }
        for bad in [
            "[]|x",
            "[a,]|x",
            "[a]abab|x",
            "[a]abcab|x",
            "[a,b|x",
            "[a]c|x",
        ] {
            assert!(!takes(bad), "{bad}");
        }
    }

    #[test]
    fn copies_of_an_inlined_rule_with_the_same_future_merge() {
        // Both inlined copies of `x` are followed by `("," x)* "]"`: one copy is left.
        // Minimal: start, after "[", after "{" and after each of 1..=20 letters, after
        // "}", and the end.
        let g = Grammar::from_ebnf(
            r#"root ::= "[" x ("," x)* "]"
x ::= "{" [a-z]{1,20} "}""#,
            "root",
        )
        .unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        assert_eq!(d.num_states(), 25);
        let run = |s: &str| dfa_takes(d, s);
        assert!(run("[{a}]"));
        assert!(run("[{ab},{c},{abcdefghijklmnopqrst}]"));
        assert!(!run("[{abcdefghijklmnopqrstu}]"));
        assert!(!run("[{a},]"));
        assert!(!run("[]"));
    }

    #[test]
    fn longest_ascii_runs_bound_counted_text() {
        // A bounded run: the longest run of safe ASCII characters counts down with it.
        let g = Grammar::from_ebnf(r#"root ::= [^\x00-\x1f"\\]{0,3} "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let (d, f) = (&a.rules[0], a.facts(0));
        assert_eq!(f.ascii_longest(d, d.start), 3);
        assert_eq!(f.ascii_longest(d, d.next(d.start, b'x')), 2);
        assert!(f.counts_only(d, d.start, 3).is_some());
        // A loop: no bound, for the states before it too.
        let g = Grammar::from_ebnf(r#"root ::= [a-z]? [0-9] [a-z]* "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let (d, f) = (&a.rules[0], a.facts(0));
        assert_eq!(f.ascii_longest(d, d.start), 255);
        assert_eq!(f.ascii_longest(d, d.next(d.start, b'7')), 255);
    }

    #[test]
    fn rules_marked_apart_keep_their_own_automaton() {
        let g = Grammar::from_ebnf(
            r#"root ::= text "<x>" text
text ::= [a-z]*"#,
            "root",
        )
        .unwrap();
        assert_eq!(Automata::build(&g).unwrap().rules.len(), 1);
        let text = g.rule_id("text").unwrap();
        let a = Automata::build(&g.with_apart(vec![text])).unwrap();
        assert_eq!(a.rules.len(), 2);
        assert!(a.rules.iter().any(|d| d.name == "text"));
    }

    #[test]
    fn class_counts_bound_runs_and_name_dead_bytes() {
        use super::runs::{class_bytes, class_count};
        let class = |lo: u8, hi: u8| (lo..=hi).fold(0u128, |m, b| m | runs::class_bit(b));
        // A chain: five letters at most, then "!" (taken after three); nothing else.
        let g = Grammar::from_ebnf(r#"root ::= [a-z]{3,5} "!""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        let cc = class_count(d, d.start, class(b'a', b'z')).unwrap();
        assert_eq!((cc.depth, cc.levels), (5, 5));
        assert_eq!(cc.class, class_bytes(class(b'a', b'z')));
        assert!(!cc.dead.contains(b'!') && !cc.dead.contains(b'q'));
        assert!(cc.dead.contains(b'?') && cc.dead.contains(b'\n') && cc.dead.contains(0xc3));
        let after_two = d.next(d.next(d.start, b'a'), b'b');
        assert_eq!(
            class_count(d, after_two, class(b'a', b'z')).unwrap().depth,
            3
        );
        // Only part of the class taken at some level: not counted.
        assert!(class_count(d, d.start, class(b'a', b'}')).is_none());
        // A loop: runs of any length.
        let g = Grammar::from_ebnf(r#"root ::= [a-z]{2} [a-z]* "!""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        assert_eq!(
            class_count(d, d.start, class(b'a', b'z')).unwrap().depth,
            255
        );
        // A run through a state where the rule may end: not counted.
        let g = Grammar::from_ebnf(r#"root ::= [a-z]{1,4}"#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        assert!(class_count(d, d.start, class(b'a', b'z')).is_none());
    }

    #[test]
    fn runs_follow_one_byte_class() {
        // A counted run counts down; the class is the bytes that lead on.
        let g = Grammar::from_ebnf(r#"root ::= [0-9]{3} "-" [a-z]+ "!""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        let digits: runs::ByteClass = (b'0'..=b'9').map(runs::class_bit).fold(0, |x, y| x | y);
        let mut s = d.start;
        let mut depths = Vec::new();
        for _ in 0..3 {
            let r = a.facts(0).run(d, s);
            assert_eq!(r.class, digits);
            depths.push(r.depth);
            s = d.next(s, b'7');
        }
        assert_eq!(depths, [3, 2, 1]);
        // A loop never ends.
        let s = d.next(d.next(s, b'-'), b'q');
        let r = a.facts(0).run(d, s);
        let lower: runs::ByteClass = (b'a'..=b'z').map(runs::class_bit).fold(0, |x, y| x | y);
        assert_eq!((r.class, r.depth), (lower, 255));
    }

    #[test]
    fn inside_depths_complete_the_character() {
        // After the first byte of a three-byte character in a bounded text run, every
        // completion lands two characters short of the bound.
        let g = Grammar::from_ebnf(r#"root ::= [^\x00-\x1f"\\]{0,3} "\n""#, "root").unwrap();
        let a = Automata::build(&g).unwrap();
        let d = &a.rules[0];
        let s = d.next(d.start, 0xe4);
        let k = text::Phase::Boundary.step(0xe4).unwrap().index() as usize;
        assert_eq!(a.facts(0).inside(d, s, k - 1), 1 + 2);
        // `.`-like classes that leave out U+2028 still count as text.
        let g = Grammar::from_regex(r"[^\n\r\x{2028}\x{2029}]{0,3}\n").unwrap();
        let a = Automata::build(&g).unwrap();
        assert_eq!(a.safe_depth(0, a.rules[0].start), 3);
    }

    #[test]
    fn large_closed_rules_are_built_once() {
        // A rule body referencing no rule, large enough to be remembered: a second grammar
        // with the same body (under another name) gets the same automaton from the store.
        let body = r#"[a-z]{1,600} "!""#;
        let a = Automata::build(&Grammar::from_ebnf(&format!("root ::= {body}"), "root").unwrap())
            .unwrap();
        let g = Grammar::from_ebnf(&format!("top ::= {body}"), "top").unwrap();
        let rule = g.rule(g.root());
        assert!(a.rules[0].num_states() >= CLOSED_MIN_STATES);
        let hit = closed_dfa(&rule.body).expect("remembered");
        assert_eq!(hit.trans, a.rules[0].trans);
        let b = Automata::build(&g).unwrap();
        assert_eq!(b.rules[0].name, "top");
        assert_eq!(b.rules[0].trans, a.rules[0].trans);
        // Referenced once from a rule with calls, the body stays a rule of its own (not
        // inlined), so the store serves it there too.
        let g = Grammar::from_ebnf(
            &format!("root ::= \"<\" (big | s) \">\"\nbig ::= {body}\ns ::= \"x\"+"),
            "root",
        )
        .unwrap();
        let c = Automata::build(&g).unwrap();
        let big = c.rules.iter().find(|d| d.name == "big").expect("called");
        assert_eq!(big.trans, a.rules[0].trans);
    }

    /// `n` tagged branches, each body a rule of about `4 * len` NFA states that references
    /// another rule (large rules that reference none are always called).
    fn tagged(n: usize, len: usize) -> Grammar {
        let branches: Vec<String> = (0..n).map(|i| format!(r#""<t{i}>" b{i} "</t>""#)).collect();
        let mut src = format!("root ::= ({})+\nend ::= \"!\"\n", branches.join(" | "));
        for i in 0..n {
            src.push_str(&format!("b{i} ::= \"k{i}\" [a-z ]{{0,{len}}} end\n"));
        }
        Grammar::from_ebnf(&src, "root").unwrap()
    }

    /// The root's automaton straight from the subset construction, and minimized.
    fn root_before_and_after_minimizing(g: &Grammar) -> (usize, usize) {
        let mut survey = survey::Survey::new(g.rules().iter().map(|r| &r.body));
        let rec = survey.recursive();
        let rules = outline::outline_delimited_loops(g, &rec, &mut survey);
        let mut rec = rec;
        rec.resize(rules.len(), false);
        let mut b = Builder::new(&rules, &survey, rec).unwrap();
        let mut nfa = Nfa::default();
        let s = nfa.add(&mut b.budget).unwrap();
        let t = nfa.add(&mut b.budget).unwrap();
        b.build(&mut nfa, &rules.rule(g.root()).body, s, t, 0)
            .unwrap();
        let (mut d, mut calls) = determinize(&nfa.freeze(), s, t, "root").unwrap();
        let before = d.num_states();
        minimize::minimize(&mut d, &mut calls);
        (before, d.num_states())
    }

    /// The size estimate of `e` walked node by node, callees at their estimates in `b`.
    fn walked_estimate(b: &Builder, e: &Expr) -> u64 {
        match e {
            Expr::Bytes(x) => x.len() as u64 + 1,
            Expr::Class(c) => 4 * c.ranges.len() as u64 + 4,
            Expr::Ref(r) => match b.est[r.index()] {
                v if b.inlinable(*r) && v != u64::MAX => v,
                _ => 1,
            },
            Expr::Seq(v) | Expr::Alt(v) => v
                .iter()
                .map(|x| walked_estimate(b, x))
                .fold(1u64, |a, c| a.saturating_add(c)),
            Expr::Repeat { expr, min, max } => {
                let copies = (*max).unwrap_or(*min).max(*min).max(1) as u64;
                walked_estimate(b, expr)
                    .saturating_mul(copies)
                    .saturating_add(2)
            }
        }
    }

    #[test]
    fn surveyed_estimates_match_the_expressions() {
        // A rule's estimate from its survey (own part plus references times their copies)
        // is the estimate of its body walked with the callees' estimates.
        let grammars = [
            Grammar::builtin_json(),
            Grammar::from_ebnf(
                r#"root ::= item{2,5} ("," (item | pair)*)? rec
                   item ::= [a-z]{1,3} pair? "!"
                   pair ::= "(" [a-z] ")" | [0-9]+ ";"
                   rec ::= "[" rec? "]""#,
                "root",
            )
            .unwrap(),
            tagged(20, 30),
            Grammar::from_json_schema(
                r#"{"type": "object", "properties": {"a": {"type": "string"},
                    "b": {"type": "array", "items": {"type": "integer"}, "maxItems": 4}},
                    "required": ["a"]}"#,
                &Default::default(),
            )
            .unwrap(),
        ];
        for g in &grammars {
            let mut survey = survey::Survey::new(g.rules().iter().map(|r| &r.body));
            let rec = survey.recursive();
            let rules = outline::outline_delimited_loops(g, &rec, &mut survey);
            let mut rec = rec;
            rec.resize(rules.len(), false);
            let b = Builder::new(&rules, &survey, rec).unwrap();
            for i in 0..rules.len() {
                let body = &rules.rule(RuleId(i as u32)).body;
                if b.recursive[i] {
                    assert_eq!(
                        b.body_est[i],
                        walked_estimate(&b, body),
                        "{}",
                        rules.rule(RuleId(i as u32)).name
                    );
                } else {
                    assert_eq!(
                        b.est[i],
                        walked_estimate(&b, body),
                        "{}",
                        rules.rule(RuleId(i as u32)).name
                    );
                }
            }
        }
        // Only `rec` (the second grammar's) refers to itself.
        let g = &grammars[1];
        let rec = survey::Survey::new(g.rules().iter().map(|r| &r.body)).recursive();
        let names: Vec<&str> = (0..rec.len())
            .filter(|&i| rec[i])
            .map(|i| g.rules()[i].name.as_str())
            .collect();
        assert_eq!(names, ["rec"]);
    }

    #[test]
    fn subsets_that_differ_in_empty_edge_states_are_one_state() {
        // After `a`, after `b` and at the start, the closures differ only in states with
        // empty edges alone (the ends of the branches): one state, as in the minimal
        // automaton.
        let g = Grammar::from_ebnf(r#"root ::= ("a" | "b")* "c""#, "root").unwrap();
        assert_eq!(root_before_and_after_minimizing(&g), (2, 2));
    }

    #[test]
    fn branches_that_end_alike_share_their_end() {
        // Each tag's body is called; what follows each call is the same `</t>`, built once,
        // so the subset construction has nothing left for minimizing to merge.
        assert_eq!(
            shared_ends(&[
                Expr::Seq(vec![Expr::lit("a"), Expr::lit("!")]),
                Expr::lit("!"),
                Expr::Seq(vec![Expr::lit("b"), Expr::lit("?")]),
                Expr::Seq(vec![Expr::lit("c"), Expr::lit("!")]),
            ]),
            (vec![&b"!"[..]], vec![Some(0), None, None, Some(0)])
        );
        // One tag (`tagged` repeats them, and a repetition's first copy is built apart).
        let once = |g: Grammar| {
            let src = g.to_string().replacen(")+", ")", 1);
            Grammar::from_ebnf(&src, "root").unwrap()
        };
        let (before, after) = root_before_and_after_minimizing(&once(tagged(24, 600)));
        assert_eq!(before, after);
        // Ends that differ stay apart.
        let src = once(tagged(24, 600))
            .to_string()
            .replace("\"<t1>\" b1 \"</t>\"", "\"<t1>\" b1 \"</u>\"");
        let g = Grammar::from_ebnf(&src, "root").unwrap();
        let (before, after) = root_before_and_after_minimizing(&g);
        assert!(after < before, "{before} -> {after}");
    }

    #[test]
    fn large_alternations_call_their_branch_bodies() {
        // The bodies are called after their tags and determinized apart, on two threads or
        // one alike.
        let g = tagged(24, 600);
        let one = Automata::build_with(&g, 1).unwrap();
        assert_eq!(one.rules.len(), 25);
        let two = Automata::build_with(&g, 2).unwrap();
        for (a, b) in one.rules.iter().zip(&two.rules) {
            assert_eq!((&a.name, &a.trans, &a.calls), (&b.name, &b.trans, &b.calls));
        }
        // Few or small branches, or branches whose tags overlap, stay inlined.
        assert_eq!(Automata::build(&tagged(12, 400)).unwrap().rules.len(), 1);
        let mut g = tagged(24, 600);
        let src = g.to_string().replace("\"<t1>\"", "\"<t\"");
        g = Grammar::from_ebnf(&src, "root").unwrap();
        assert_eq!(Automata::build(&g).unwrap().rules.len(), 1);
        assert_eq!(Automata::build(&tagged(24, 10)).unwrap().rules.len(), 1);
    }
}
