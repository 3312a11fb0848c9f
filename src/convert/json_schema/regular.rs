//! A small toolkit of deterministic automata over Unicode code points.
//!
//! The schema converter needs a few operations that grammar expressions cannot express
//! directly: intersection and complement of regular languages (several `pattern`s, `not`
//! with a `pattern`, object keys that must avoid declared names or match one
//! `patternProperties` regex but not another), emptiness tests (to prove `oneOf` branches
//! disjoint) and membership of a concrete string (to filter `enum` values by `pattern`).
//!
//! A [`Dfa`] has sorted, disjoint code-point interval transitions; it is built from a
//! rule-free [`Expr`] (Thompson NFA, then subset construction over the elementary intervals
//! of each state), combined by products, minimized by partition refinement, and turned back
//! into an [`Expr`] by [`Dfa::to_expr`]: strongly connected components are solved by state
//! elimination (Arden's lemma), and states reached from several places become shared rules,
//! so the result references only non-recursive rules (usable inside lookahead assertions).
//! Every construction has a state budget and fails with a clear error instead of growing
//! without bound.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, ErrorKind, Result};
use crate::grammar::{CharClass, Expr, MAX_CODE_POINT};

/// Automaton states all constructions of one conversion may create together.
pub(crate) const WORK_LIMIT: usize = 4_000_000;

thread_local! {
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(WORK_LIMIT) };
}

/// Starts the work budget of a conversion.
pub(crate) fn reset_work() {
    WORK.with(|w| w.set(WORK_LIMIT));
}

/// Takes `n` states from the work budget.
fn charge(n: usize) -> Result<()> {
    WORK.with(|w| {
        let left = w.get();
        if left < n {
            Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the schema needs more than {WORK_LIMIT} automaton states to convert exactly (patterns, formats, multipleOf or negations combined)"
                ),
            ))
        } else {
            w.set(left - n);
            Ok(())
        }
    })
}

/// Most NFA states one expression may expand to.
const NFA_LIMIT: usize = 200_000;
/// Most DFA states one construction may produce.
pub(crate) const DFA_LIMIT: usize = 20_000;
/// Largest expression (in nodes) state elimination may produce for one component.
const ELIM_LIMIT: usize = 4_000;
/// Largest component solved by state elimination (larger ones become recursive rules).
const ELIM_STATES: usize = 24;

/// A deterministic automaton; state 0 is the start state. Missing transitions are dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dfa {
    pub states: Vec<DState>,
}

/// A transition: code points `lo..=hi` to a target state.
pub(crate) type Edge = (u32, u32, u32);

/// Turns a set of code-point intervals into an expression.
pub(crate) type Label<'l> = &'l dyn Fn(&[(u32, u32)]) -> Expr;

/// One DFA state: sorted disjoint `(lo, hi, target)` intervals and an accepting flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct DState {
    pub edges: Vec<(u32, u32, u32)>,
    pub accept: bool,
}

fn too_big(what: &str) -> Error {
    Error::new(
        ErrorKind::JsonSchema,
        format!("{what}: the regular language is too large to combine exactly"),
    )
}

// ----------------------------------------------------------------------------- NFA

/// A Thompson automaton with ε-moves, for membership tests of single strings.
#[derive(Debug, Default)]
pub(crate) struct Nfa {
    eps: Vec<Vec<u32>>,
    edges: Vec<Vec<(u32, u32, u32)>>,
    start: u32,
    end: u32,
}

impl Nfa {
    /// The automaton of a rule-free expression.
    pub fn from_expr(e: &Expr) -> Result<Nfa> {
        let mut n = Nfa::default();
        n.start = n.new_state()?;
        n.end = n.add(e, n.start)?;
        Ok(n)
    }

    /// Whether `s` is in the language.
    pub fn matches(&self, s: &str) -> bool {
        let mut cur = vec![self.start];
        self.closure(&mut cur);
        for c in s.chars() {
            let c = c as u32;
            let mut next = Vec::new();
            for &q in &cur {
                for &(lo, hi, t) in &self.edges[q as usize] {
                    if lo <= c && c <= hi {
                        next.push(t);
                    }
                }
            }
            if next.is_empty() {
                return false;
            }
            self.closure(&mut next);
            cur = next;
        }
        cur.binary_search(&self.end).is_ok()
    }

    fn new_state(&mut self) -> Result<u32> {
        if self.eps.len() >= NFA_LIMIT {
            return Err(too_big("automaton construction"));
        }
        charge(1)?;
        self.eps.push(Vec::new());
        self.edges.push(Vec::new());
        Ok(self.eps.len() as u32 - 1)
    }

    fn add(&mut self, e: &Expr, from: u32) -> Result<u32> {
        match e {
            Expr::Bytes(b) => {
                let s = std::str::from_utf8(b).map_err(|_| {
                    Error::new(ErrorKind::JsonSchema, "a literal is not valid UTF-8")
                })?;
                let mut cur = from;
                for c in s.chars() {
                    let n = self.new_state()?;
                    self.edges[cur as usize].push((c as u32, c as u32, n));
                    cur = n;
                }
                Ok(cur)
            }
            Expr::Class(cc) => {
                let n = self.new_state()?;
                for (lo, hi) in cc.normalized() {
                    self.edges[from as usize].push((lo, hi, n));
                }
                Ok(n)
            }
            Expr::Ref(_) => Err(Error::new(
                ErrorKind::JsonSchema,
                "internal: rule reference inside a regular expression",
            )),
            Expr::Seq(v) => {
                let mut cur = from;
                for x in v {
                    cur = self.add(x, cur)?;
                }
                Ok(cur)
            }
            Expr::Alt(v) => {
                let end = self.new_state()?;
                for x in v {
                    let s = self.new_state()?;
                    self.eps[from as usize].push(s);
                    let t = self.add(x, s)?;
                    self.eps[t as usize].push(end);
                }
                Ok(end)
            }
            Expr::Repeat { expr, min, max } => {
                let mut cur = from;
                for _ in 0..*min {
                    cur = self.add(expr, cur)?;
                }
                match max {
                    None => {
                        let s = self.new_state()?;
                        self.eps[cur as usize].push(s);
                        let t = self.add(expr, s)?;
                        self.eps[t as usize].push(s);
                        Ok(s)
                    }
                    Some(m) => {
                        let fin = self.new_state()?;
                        self.eps[cur as usize].push(fin);
                        for _ in *min..*m {
                            cur = self.add(expr, cur)?;
                            self.eps[cur as usize].push(fin);
                        }
                        Ok(fin)
                    }
                }
            }
        }
    }

    fn closure(&self, set: &mut Vec<u32>) {
        let mut seen: std::collections::HashSet<u32> = set.iter().copied().collect();
        let mut stack = set.clone();
        while let Some(s) = stack.pop() {
            for &t in &self.eps[s as usize] {
                if seen.insert(t) {
                    set.push(t);
                    stack.push(t);
                }
            }
        }
        set.sort_unstable();
        set.dedup();
    }
}

/// Splits possibly overlapping `(lo, hi, target)` edges into elementary intervals, each with
/// the sorted set of targets covering it.
fn elementary(edges: &[(u32, u32, u32)]) -> Vec<(u32, u32, Vec<u32>)> {
    let mut points: Vec<u32> = Vec::with_capacity(edges.len() * 2);
    for &(lo, hi, _) in edges {
        points.push(lo);
        if hi < MAX_CODE_POINT {
            points.push(hi + 1);
        }
    }
    points.sort_unstable();
    points.dedup();
    let mut events: BTreeMap<u32, Vec<(bool, u32)>> = BTreeMap::new();
    for &(lo, hi, t) in edges {
        events.entry(lo).or_default().push((true, t));
        if hi < MAX_CODE_POINT {
            events.entry(hi + 1).or_default().push((false, t));
        }
    }
    let mut active: BTreeMap<u32, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        if let Some(ev) = events.get(&p) {
            for &(add, t) in ev {
                if add {
                    *active.entry(t).or_insert(0) += 1;
                } else if let Some(c) = active.get_mut(&t) {
                    *c -= 1;
                    if *c == 0 {
                        active.remove(&t);
                    }
                }
            }
        }
        if active.is_empty() {
            continue;
        }
        let hi = points.get(i + 1).map(|&n| n - 1).unwrap_or(MAX_CODE_POINT);
        out.push((p, hi, active.keys().copied().collect()));
    }
    out
}

/// Appends `(lo, hi, t)` to sorted edges, merging with the previous one when contiguous.
fn push_edge(edges: &mut Vec<(u32, u32, u32)>, lo: u32, hi: u32, t: u32) {
    if let Some(last) = edges.last_mut()
        && last.2 == t
        && last.1 + 1 == lo
    {
        last.1 = hi;
        return;
    }
    edges.push((lo, hi, t));
}

impl Dfa {
    /// The automaton of a rule-free expression over code points.
    pub fn from_expr(e: &Expr) -> Result<Dfa> {
        let nfa = Nfa::from_expr(e)?;
        let (start, end) = (nfa.start, nfa.end);
        let mut map: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut sets: Vec<Vec<u32>> = Vec::new();
        let mut init = vec![start];
        nfa.closure(&mut init);
        map.insert(init.clone(), 0);
        sets.push(init);
        let mut states: Vec<DState> = Vec::new();
        let mut i = 0;
        while i < sets.len() {
            let set = sets[i].clone();
            let mut all = Vec::new();
            for &s in &set {
                all.extend_from_slice(&nfa.edges[s as usize]);
            }
            let mut edges = Vec::new();
            for (lo, hi, mut tset) in elementary(&all) {
                nfa.closure(&mut tset);
                let id = match map.get(&tset) {
                    Some(&id) => id,
                    None => {
                        if sets.len() >= DFA_LIMIT {
                            return Err(too_big("automaton construction"));
                        }
                        charge(1)?;
                        let id = sets.len() as u32;
                        map.insert(tset.clone(), id);
                        sets.push(tset);
                        id
                    }
                };
                push_edge(&mut edges, lo, hi, id);
            }
            states.push(DState {
                edges,
                accept: set.binary_search(&end).is_ok(),
            });
            i += 1;
        }
        Ok(Dfa { states }.minimized())
    }

    /// The automaton accepting nothing.
    pub fn empty() -> Dfa {
        Dfa {
            states: vec![DState::default()],
        }
    }

    /// Whether the language is empty.
    pub fn is_empty(&self) -> bool {
        !self.live().first().copied().unwrap_or(false)
    }

    /// Whether `s` is in the language.
    #[cfg(test)]
    pub fn accepts(&self, s: &str) -> bool {
        let mut cur = 0u32;
        for c in s.chars() {
            let c = c as u32;
            let st = &self.states[cur as usize];
            match st.edges.binary_search_by(|&(lo, hi, _)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            }) {
                Ok(i) => cur = st.edges[i].2,
                Err(_) => return false,
            }
        }
        self.states[cur as usize].accept
    }

    /// States from which an accepting state is reachable.
    fn live(&self) -> Vec<bool> {
        let n = self.states.len();
        let mut rev: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (s, st) in self.states.iter().enumerate() {
            for &(_, _, t) in &st.edges {
                rev[t as usize].push(s as u32);
            }
        }
        let mut live = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        for (s, st) in self.states.iter().enumerate() {
            if st.accept {
                live[s] = true;
                stack.push(s as u32);
            }
        }
        while let Some(s) = stack.pop() {
            for &p in &rev[s as usize] {
                if !live[p as usize] {
                    live[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        live
    }

    /// Removes unreachable states and states that cannot reach acceptance, then merges
    /// equivalent states.
    pub fn minimized(self) -> Dfa {
        let live = self.live();
        if !live[0] {
            return Dfa::empty();
        }
        // Reachable live states, renumbered from the start.
        let mut idx = vec![u32::MAX; self.states.len()];
        let mut order = vec![0u32];
        idx[0] = 0;
        let mut i = 0;
        while i < order.len() {
            let s = order[i] as usize;
            for &(_, _, t) in &self.states[s].edges {
                if live[t as usize] && idx[t as usize] == u32::MAX {
                    idx[t as usize] = order.len() as u32;
                    order.push(t);
                }
            }
            i += 1;
        }
        let states: Vec<DState> = order
            .iter()
            .map(|&s| {
                let st = &self.states[s as usize];
                let mut edges = Vec::new();
                for &(lo, hi, t) in &st.edges {
                    if live[t as usize] {
                        push_edge(&mut edges, lo, hi, idx[t as usize]);
                    }
                }
                DState {
                    edges,
                    accept: st.accept,
                }
            })
            .collect();
        // Moore partition refinement.
        let n = states.len();
        let mut class: Vec<u32> = states.iter().map(|s| s.accept as u32).collect();
        let mut nclass = 0;
        loop {
            let mut sig_map: HashMap<(u32, Vec<Edge>), u32> = HashMap::new();
            let mut next = vec![0u32; n];
            for s in 0..n {
                let mut sig = Vec::new();
                for &(lo, hi, t) in &states[s].edges {
                    push_edge(&mut sig, lo, hi, class[t as usize]);
                }
                let len = sig_map.len() as u32;
                next[s] = *sig_map.entry((class[s], sig)).or_insert(len);
            }
            let count = sig_map.len();
            class = next;
            if count == nclass {
                break;
            }
            nclass = count;
        }
        // Renumber classes so that the start state's class is 0.
        let mut ren = vec![u32::MAX; nclass];
        let mut reps = Vec::new();
        let mut q = vec![0usize];
        ren[class[0] as usize] = 0;
        reps.push(0usize);
        let mut i = 0;
        while i < q.len() {
            let s = q[i];
            for &(_, _, t) in &states[s].edges {
                let c = class[t as usize] as usize;
                if ren[c] == u32::MAX {
                    ren[c] = reps.len() as u32;
                    reps.push(t as usize);
                    q.push(t as usize);
                }
            }
            i += 1;
        }
        let out = reps
            .iter()
            .map(|&s| {
                let mut edges = Vec::new();
                for &(lo, hi, t) in &states[s].edges {
                    push_edge(&mut edges, lo, hi, ren[class[t as usize] as usize]);
                }
                DState {
                    edges,
                    accept: states[s].accept,
                }
            })
            .collect();
        Dfa { states: out }
    }

    /// The complement over all code points.
    pub fn complement(&self) -> Dfa {
        let sink = self.states.len() as u32;
        let mut states: Vec<DState> = self
            .states
            .iter()
            .map(|st| {
                let mut edges = Vec::new();
                let mut next = 0u32;
                for &(lo, hi, t) in &st.edges {
                    if lo > next {
                        edges.push((next, lo - 1, sink));
                    }
                    edges.push((lo, hi, t));
                    next = hi + 1;
                }
                if next <= MAX_CODE_POINT {
                    edges.push((next, MAX_CODE_POINT, sink));
                }
                DState {
                    edges,
                    accept: !st.accept,
                }
            })
            .collect();
        states.push(DState {
            edges: vec![(0, MAX_CODE_POINT, sink)],
            accept: true,
        });
        Dfa { states }.minimized()
    }

    /// The product automaton; `both` = intersection, else union.
    fn product(&self, other: &Dfa, both: bool) -> Result<Dfa> {
        const DEAD: u32 = u32::MAX;
        let mut map: HashMap<(u32, u32), u32> = HashMap::new();
        let mut pairs = vec![(0u32, 0u32)];
        map.insert((0, 0), 0);
        let mut states = Vec::new();
        let mut i = 0;
        let empty = DState::default();
        while i < pairs.len() {
            let (a, b) = pairs[i];
            let sa = if a == DEAD {
                &empty
            } else {
                &self.states[a as usize]
            };
            let sb = if b == DEAD {
                &empty
            } else {
                &other.states[b as usize]
            };
            let mut all: Vec<(u32, u32, u32)> = Vec::new();
            for &(lo, hi, t) in &sa.edges {
                all.push((lo, hi, t));
            }
            for &(lo, hi, t) in &sb.edges {
                all.push((lo, hi, t | 0x8000_0000));
            }
            let mut edges = Vec::new();
            for (lo, hi, ts) in elementary(&all) {
                let ta = ts.iter().find(|&&t| t & 0x8000_0000 == 0).copied();
                let tb = ts
                    .iter()
                    .find(|&&t| t & 0x8000_0000 != 0)
                    .map(|t| t & 0x7FFF_FFFF);
                if both && (ta.is_none() || tb.is_none()) {
                    continue;
                }
                let key = (ta.unwrap_or(DEAD), tb.unwrap_or(DEAD));
                let id = match map.get(&key) {
                    Some(&id) => id,
                    None => {
                        if pairs.len() >= DFA_LIMIT {
                            return Err(too_big("automaton product"));
                        }
                        charge(1)?;
                        let id = pairs.len() as u32;
                        map.insert(key, id);
                        pairs.push(key);
                        id
                    }
                };
                push_edge(&mut edges, lo, hi, id);
            }
            let acc_a = a != DEAD && self.states[a as usize].accept;
            let acc_b = b != DEAD && other.states[b as usize].accept;
            states.push(DState {
                edges,
                accept: if both { acc_a && acc_b } else { acc_a || acc_b },
            });
            i += 1;
        }
        Ok(Dfa { states }.minimized())
    }

    /// The intersection of two languages.
    pub fn intersect(&self, other: &Dfa) -> Result<Dfa> {
        self.product(other, true)
    }

    /// An expression for the language. `label` turns a set of code-point intervals into an
    /// expression (e.g. JSON-escaped characters); `sink` makes rules: shared ones for states
    /// reached from several places, and, for a strongly connected component too large to
    /// solve by state elimination, one right-recursive rule per state.
    pub fn to_expr(&self, label: Label, sink: &mut dyn Sink) -> Result<Expr> {
        if self.is_empty() {
            return Ok(Expr::Alt(vec![]));
        }
        let n = self.states.len();
        let sccs = tarjan(self);
        let mut comp = vec![0usize; n];
        for (ci, c) in sccs.iter().enumerate() {
            for &s in c {
                comp[s as usize] = ci;
            }
        }
        // Incoming edge counts, to decide which solutions to share.
        let mut indeg = vec![0u32; n];
        for st in &self.states {
            let mut seen = Vec::new();
            for &(_, _, t) in &st.edges {
                if !seen.contains(&t) {
                    seen.push(t);
                    indeg[t as usize] += 1;
                }
            }
        }
        let mut sol: Vec<Option<Expr>> = vec![None; n];
        // Tarjan yields components in reverse topological order: successors first.
        for c in &sccs {
            let set: Vec<u32> = c.clone();
            let in_comp = |t: u32| comp[t as usize] == comp[set[0] as usize];
            // Out-expressions: ε if accepting, plus edges leaving the component.
            let mut outs: Vec<Expr> = Vec::new();
            let mut coef: Vec<Vec<Option<Expr>>> = vec![vec![None; set.len()]; set.len()];
            for (qi, &q) in set.iter().enumerate() {
                let st = &self.states[q as usize];
                let mut alts = Vec::new();
                if st.accept {
                    alts.push(Expr::empty());
                }
                for (t, ranges) in group_by_target(&st.edges) {
                    let lab = label(&ranges);
                    if in_comp(t) {
                        let ti = set.iter().position(|&x| x == t).unwrap();
                        coef[qi][ti] = Some(lab);
                    } else {
                        let tail = sol[t as usize].clone().unwrap();
                        alts.push(seq2(lab, tail));
                    }
                }
                outs.push(alt(alts));
            }
            let solved = if set.len() > ELIM_STATES {
                None
            } else {
                eliminate(coef.clone(), outs.clone()).ok()
            };
            match solved {
                Some(solved) => {
                    for (qi, &q) in set.iter().enumerate() {
                        let e = solved[qi].clone();
                        let e = if indeg[q as usize] > 1 && size(&e) > 8 {
                            sink.share(e)
                        } else {
                            e
                        };
                        sol[q as usize] = Some(e);
                    }
                }
                None => {
                    // One rule per state: X_q ::= Σ label X_t | out_q.
                    let ids: Vec<_> = set.iter().map(|_| sink.fresh()).collect();
                    for (qi, &q) in set.iter().enumerate() {
                        let mut alts = vec![outs[qi].clone()];
                        for (ti, c) in coef[qi].iter().enumerate() {
                            if let Some(c) = c {
                                alts.push(seq2(c.clone(), Expr::Ref(ids[ti])));
                            }
                        }
                        sink.define(ids[qi], alt(alts));
                        sol[q as usize] = Some(Expr::Ref(ids[qi]));
                    }
                }
            }
        }
        Ok(sol[0].take().unwrap())
    }
}

/// What turning automata into expressions needs from the grammar being built.
pub(crate) trait Sink {
    /// Wraps an expression used in several places into a rule; returns the reference.
    fn share(&mut self, e: Expr) -> Expr;
    /// A new rule, defined later with [`Sink::define`].
    fn fresh(&mut self) -> crate::grammar::RuleId;
    /// Sets the body of a rule from [`Sink::fresh`].
    fn define(&mut self, id: crate::grammar::RuleId, body: Expr);
    /// A rule matching `body` whose following text must start with a string of `la`.
    fn lookahead(&mut self, body: Expr, la: Expr) -> Expr;
}

/// Groups edges by target: (target, ranges) in first-seen order.
fn group_by_target(edges: &[(u32, u32, u32)]) -> Vec<(u32, Vec<(u32, u32)>)> {
    let mut out: Vec<(u32, Vec<(u32, u32)>)> = Vec::new();
    for &(lo, hi, t) in edges {
        match out.iter_mut().find(|(x, _)| *x == t) {
            Some((_, r)) => r.push((lo, hi)),
            None => out.push((t, vec![(lo, hi)])),
        }
    }
    out
}

/// Solves `X_i = Σ_j coef[i][j] X_j + outs[i]` for every `i` (state elimination).
fn eliminate(mut coef: Vec<Vec<Option<Expr>>>, mut outs: Vec<Expr>) -> Result<Vec<Expr>> {
    let k = outs.len();
    let mut done = vec![false; k];
    let mut order = Vec::with_capacity(k);
    // Closed forms in terms of not-yet-eliminated variables: X_i = star_i (Σ coef X + out).
    let mut stars: Vec<Option<Expr>> = vec![None; k];
    for _ in 0..k {
        // Eliminate the variable with the fewest connections first.
        let i = (0..k)
            .filter(|&i| !done[i])
            .min_by_key(|&i| {
                let ins = (0..k).filter(|&j| !done[j] && coef[j][i].is_some()).count();
                let outs_n = (0..k).filter(|&j| !done[j] && coef[i][j].is_some()).count();
                ins * outs_n
            })
            .unwrap();
        done[i] = true;
        order.push(i);
        let star = coef[i][i].take().map(|l| Expr::Repeat {
            expr: Box::new(l),
            min: 0,
            max: None,
        });
        stars[i] = star.clone();
        for j in 0..k {
            if done[j] {
                continue;
            }
            let Some(a_ji) = coef[j][i].take() else {
                continue;
            };
            let via = pre_star(&a_ji, &star);
            for m in 0..k {
                if done[m] {
                    continue;
                }
                if let Some(a_im) = &coef[i][m] {
                    let add = seq2(via.clone(), a_im.clone());
                    let v = match coef[j][m].take() {
                        Some(x) => alt(vec![x, add]),
                        None => add,
                    };
                    if size(&v) > ELIM_LIMIT {
                        return Err(too_big("state elimination"));
                    }
                    coef[j][m] = Some(v);
                }
            }
            let add = seq2(via, outs[i].clone());
            outs[j] = alt(vec![
                std::mem::replace(&mut outs[j], Expr::Alt(vec![])),
                add,
            ]);
            if size(&outs[j]) > ELIM_LIMIT {
                return Err(too_big("state elimination"));
            }
        }
    }
    // Back-substitution in reverse elimination order.
    let mut sol: Vec<Option<Expr>> = vec![None; k];
    for &i in order.iter().rev() {
        let mut alts = Vec::new();
        for (m, c) in coef[i].iter().enumerate() {
            if let Some(c) = c
                && m != i
            {
                let xm = sol[m].clone().expect("solved later variable");
                alts.push(seq2(c.clone(), xm));
            }
        }
        alts.push(outs[i].clone());
        let body = alt(alts);
        let e = match &stars[i] {
            Some(s) => seq2(s.clone(), body),
            None => body,
        };
        if size(&e) > ELIM_LIMIT {
            return Err(too_big("state elimination"));
        }
        sol[i] = Some(e);
    }
    Ok(sol.into_iter().map(|e| e.unwrap()).collect())
}

fn pre_star(a: &Expr, star: &Option<Expr>) -> Expr {
    match star {
        Some(s) => seq2(a.clone(), s.clone()),
        None => a.clone(),
    }
}

/// Tarjan's strongly connected components, in reverse topological order.
fn tarjan(d: &Dfa) -> Vec<Vec<u32>> {
    let n = d.states.len();
    let mut index = vec![u32::MAX; n];
    let mut low = vec![0u32; n];
    let mut on = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0u32;
    // Iterative DFS: (state, edge position).
    for root in 0..n as u32 {
        if index[root as usize] != u32::MAX {
            continue;
        }
        let mut call: Vec<(u32, usize)> = vec![(root, 0)];
        index[root as usize] = next;
        low[root as usize] = next;
        next += 1;
        stack.push(root);
        on[root as usize] = true;
        while let Some(top) = call.len().checked_sub(1) {
            let (v, pos) = call[top];
            let edges = &d.states[v as usize].edges;
            if pos < edges.len() {
                let w = edges[pos].2;
                call[top].1 += 1;
                if index[w as usize] == u32::MAX {
                    index[w as usize] = next;
                    low[w as usize] = next;
                    next += 1;
                    stack.push(w);
                    on[w as usize] = true;
                    call.push((w, 0));
                } else if on[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
            } else {
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p as usize] = low[p as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut c = Vec::new();
                    loop {
                        let w = stack.pop().unwrap();
                        on[w as usize] = false;
                        c.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Number of nodes of an expression.
pub(crate) fn size(e: &Expr) -> usize {
    match e {
        Expr::Bytes(_) | Expr::Class(_) | Expr::Ref(_) => 1,
        Expr::Seq(v) | Expr::Alt(v) => 1 + v.iter().map(size).sum::<usize>(),
        Expr::Repeat { expr, .. } => 1 + size(expr),
    }
}

/// `a b`, flattening sequences and dropping empty strings.
pub(crate) fn seq2(a: Expr, b: Expr) -> Expr {
    seq(vec![a, b])
}

/// A sequence, flattened, empty strings removed, adjacent literals joined.
pub(crate) fn seq(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for it in items {
        match it {
            Expr::Seq(v) => {
                for x in v {
                    push_seq(&mut out, x);
                }
            }
            x => push_seq(&mut out, x),
        }
    }
    if out
        .iter()
        .any(|x| matches!(x, Expr::Alt(v) if v.is_empty()))
    {
        return Expr::Alt(vec![]);
    }
    match out.len() {
        0 => Expr::empty(),
        1 => out.pop().unwrap(),
        _ => Expr::Seq(out),
    }
}

fn push_seq(out: &mut Vec<Expr>, x: Expr) {
    match x {
        Expr::Bytes(b) if b.is_empty() => {}
        Expr::Bytes(b) => {
            if let Some(Expr::Bytes(prev)) = out.last_mut() {
                prev.extend_from_slice(&b);
            } else {
                out.push(Expr::Bytes(b));
            }
        }
        x => out.push(x),
    }
}

/// An alternation, flattened and without repeated alternatives; a single alternative is
/// returned as is.
pub(crate) fn alt(items: Vec<Expr>) -> Expr {
    let mut out = crate::fxhash::Dedup::default();
    for it in items {
        match it {
            Expr::Alt(v) => v.into_iter().for_each(|x| out.push(x)),
            x => out.push(x),
        }
    }
    let mut out = out.items;
    if out.len() == 1 {
        out.pop().unwrap()
    } else {
        Expr::Alt(out)
    }
}

/// A class of code-point ranges.
pub(crate) fn class(ranges: &[(u32, u32)]) -> Expr {
    Expr::Class(CharClass {
        negated: false,
        ranges: ranges.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Expr {
        Expr::lit(s)
    }

    #[test]
    fn basic_ops() {
        let a = Dfa::from_expr(&Expr::Repeat {
            expr: Box::new(class(&[(97, 122)])),
            min: 1,
            max: None,
        })
        .unwrap();
        assert!(a.accepts("abc"));
        assert!(!a.accepts(""));
        assert!(!a.accepts("aB"));
        let b = Dfa::from_expr(&alt(vec![lit("foo"), lit("bar")])).unwrap();
        let nb = b.complement();
        assert!(!nb.accepts("foo"));
        assert!(nb.accepts("fo"));
        let c = a.intersect(&nb).unwrap();
        assert!(c.accepts("baz") && !c.accepts("bar") && !c.accepts(""));
        assert!(b.intersect(&a.complement()).unwrap().is_empty());
        struct NoRules;
        impl Sink for NoRules {
            fn share(&mut self, e: Expr) -> Expr {
                e
            }
            fn fresh(&mut self) -> crate::grammar::RuleId {
                unreachable!()
            }
            fn define(&mut self, _: crate::grammar::RuleId, _: Expr) {}
            fn lookahead(&mut self, body: Expr, _: Expr) -> Expr {
                body
            }
        }
        let e = c.to_expr(&|r| class(r), &mut NoRules).unwrap();
        let d = Dfa::from_expr(&e).unwrap();
        assert_eq!(d, c);
    }
}
