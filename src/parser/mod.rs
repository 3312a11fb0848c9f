//! An Earley parser over rule automata, one item set per input byte.
//!
//! An item is (rule, automaton state, origin set, lookahead constraint at prediction,
//! current lookahead constraint). Scanning a byte moves every item whose state has a
//! transition on it; the closure then predicts called rules and completes finished ones
//! (including rules that finish where they started, through a per-set completion record).
//! All sets are kept, so rolling back any number of bytes is a truncation.
//!
//! Lookahead assertions are exact: when a rule with an assertion completes, the advanced
//! parent carries a constraint (the assertion's automaton state) that every following
//! byte must keep alive until the assertion accepts; items whose constraint dies are dropped.
//!
//! ```ignore
//! let mut p = Parser::new(&automata);
//! assert!(p.push(&automata, b'a'));
//! p.pop();
//! ```

use crate::automaton::{Automata, DEAD, KRule};

use crate::fxhash::FxHashMap;

/// One Earley item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Item {
    pub rule: KRule,
    pub state: u32,
    pub origin: u32,
    /// Lookahead constraint when the rule was predicted (matches the parent's `la`).
    pub la0: u32,
    /// Lookahead constraint now (0 = none).
    pub la: u32,
}

/// Sets up to this size are de-duplicated by a linear scan, larger ones by hashing.
const SMALL_SET: usize = 16;

/// Constraint id meaning "violated".
const VIOLATED: u32 = u32::MAX;

/// Interned lookahead constraints: sets of (assertion automaton, state) still pending.
#[derive(Debug, Clone)]
struct LaTable {
    sets: Vec<Vec<(u32, u32)>>,
    ids: FxHashMap<Vec<(u32, u32)>, u32>,
    step: FxHashMap<(u32, u8), u32>,
    add: FxHashMap<(u32, u32), u32>,
}

impl LaTable {
    fn new() -> Self {
        let mut ids = FxHashMap::default();
        ids.insert(Vec::new(), 0);
        LaTable {
            sets: vec![Vec::new()],
            ids,
            step: FxHashMap::default(),
            add: FxHashMap::default(),
        }
    }

    fn intern(&mut self, mut v: Vec<(u32, u32)>) -> u32 {
        v.sort_unstable();
        v.dedup();
        if let Some(&id) = self.ids.get(&v) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(v.clone());
        self.ids.insert(v, id);
        id
    }

    fn advance(&mut self, a: &Automata, la: u32, b: u8) -> u32 {
        if let Some(&r) = self.step.get(&(la, b)) {
            return r;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for &(l, st) in &self.sets[la as usize] {
            let d = &a.lookaheads[l as usize];
            let t = d.next(st, b);
            if t == DEAD {
                ok = false;
                break;
            }
            if !d.accept[t as usize] {
                out.push((l, t));
            }
        }
        let r = if ok { self.intern(out) } else { VIOLATED };
        self.step.insert((la, b), r);
        r
    }

    fn push(&mut self, a: &Automata, la: u32, l: u32) -> u32 {
        let d = &a.lookaheads[l as usize];
        if d.accept[d.start as usize] {
            return la;
        }
        if let Some(&r) = self.add.get(&(la, l)) {
            return r;
        }
        let mut v = self.sets[la as usize].clone();
        v.push((l, d.start));
        let r = self.intern(v);
        self.add.insert((la, l), r);
        r
    }
}

/// The parser state: all item sets since the start.
#[derive(Debug, Clone)]
pub(crate) struct Parser {
    items: Vec<Item>,
    /// Start of each set in `items`; the last set runs to `items.len()`.
    set_start: Vec<u32>,
    la: LaTable,
    seen: FxHashMap<Item, ()>,
    /// Completions recorded in the set being built: (rule, la0, la after).
    comps: Vec<(KRule, u32, u32)>,
}

impl Parser {
    /// A parser at the start of the root rule.
    pub fn new(a: &Automata) -> Parser {
        let mut p = Self::empty(vec![0]);
        p.add(Item {
            rule: 0,
            state: a.rules[0].start,
            origin: 0,
            la0: 0,
            la: 0,
        });
        p.close(a);
        p
    }

    fn empty(set_start: Vec<u32>) -> Parser {
        Parser {
            items: Vec::with_capacity(256),
            set_start,
            la: LaTable::new(),
            seen: FxHashMap::default(),
            comps: Vec::new(),
        }
    }

    /// Number of bytes consumed.
    pub fn len(&self) -> usize {
        self.set_start.len() - 1
    }

    /// Items of the current (last) set.
    pub fn last_set(&self) -> &[Item] {
        &self.items[*self.set_start.last().unwrap_or(&0) as usize..]
    }

    /// Memory held by the item sets, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item>() + self.set_start.capacity() * 4
    }

    #[inline]
    fn add(&mut self, it: Item) {
        let start = *self.set_start.last().unwrap_or(&0) as usize;
        let n = self.items.len() - start;
        if n < SMALL_SET {
            if !self.items[start..].contains(&it) {
                self.items.push(it);
            }
            return;
        }
        if n == SMALL_SET && self.seen.is_empty() {
            for k in start..self.items.len() {
                self.seen.insert(self.items[k], ());
            }
        }
        if self.seen.insert(it, ()).is_none() {
            self.items.push(it);
        }
    }

    /// Consumes one byte. Returns false (and leaves the state unchanged) when no item can
    /// take it.
    pub fn push(&mut self, a: &Automata, b: u8) -> bool {
        let prev_start = *self.set_start.last().unwrap_or(&0) as usize;
        let prev_end = self.items.len();
        let new_start = self.items.len() as u32;
        self.set_start.push(new_start);
        if !self.seen.is_empty() {
            self.seen.clear();
        }
        for k in prev_start..prev_end {
            let it = self.items[k];
            let d = &a.rules[it.rule as usize];
            let t = d.next(it.state, b);
            if t == DEAD {
                continue;
            }
            let la = if it.la == 0 {
                0
            } else {
                self.la.advance(a, it.la, b)
            };
            if la == VIOLATED {
                continue;
            }
            self.add(Item { state: t, la, ..it });
        }
        if self.items.len() as u32 == new_start {
            self.set_start.pop();
            return false;
        }
        self.close(a);
        true
    }

    /// Drops the last byte's set.
    pub fn pop(&mut self) {
        if self.set_start.len() > 1 {
            let s = self.set_start.pop().unwrap_or(0);
            self.items.truncate(s as usize);
        }
    }

    /// Drops sets until `len()` bytes remain.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            let s = self.set_start[len + 1];
            self.set_start.truncate(len + 1);
            self.items.truncate(s as usize);
        }
    }

    /// Predict/complete closure of the last set (its scanned items are already in place).
    fn close(&mut self, a: &Automata) {
        let cur = (self.set_start.len() - 1) as u32;
        let start = *self.set_start.last().unwrap_or(&0) as usize;
        self.comps.clear();
        let mut k = start;
        while k < self.items.len() {
            let it = self.items[k];
            k += 1;
            let d = &a.rules[it.rule as usize];
            for ci in 0..d.calls[it.state as usize].len() {
                let (c, t) = a.rules[it.rule as usize].calls[it.state as usize][ci];
                let cd = &a.rules[c as usize];
                self.add(Item {
                    rule: c,
                    state: cd.start,
                    origin: cur,
                    la0: it.la,
                    la: it.la,
                });
                for j in 0..self.comps.len() {
                    let (r, la0, la_out) = self.comps[j];
                    if r == c && la0 == it.la {
                        self.add(Item {
                            state: t,
                            la: la_out,
                            ..it
                        });
                    }
                }
            }
            if d.accept[it.state as usize] {
                let la_out = match d.lookahead {
                    Some(l) => self.la.push(a, it.la, l),
                    None => it.la,
                };
                if it.origin == cur {
                    if !self.comps.contains(&(it.rule, it.la0, la_out)) {
                        self.comps.push((it.rule, it.la0, la_out));
                    }
                    let mut j = start;
                    while j < self.items.len() {
                        let p = self.items[j];
                        j += 1;
                        self.advance_parent(a, p, it, la_out);
                    }
                } else {
                    let os = self.set_start[it.origin as usize] as usize;
                    let oe = self.set_start[it.origin as usize + 1] as usize;
                    for j in os..oe {
                        let p = self.items[j];
                        self.advance_parent(a, p, it, la_out);
                    }
                }
            }
        }
    }

    #[inline]
    fn advance_parent(&mut self, a: &Automata, p: Item, child: Item, la_out: u32) {
        if p.la != child.la0 {
            return;
        }
        for &(c, t) in &a.rules[p.rule as usize].calls[p.state as usize] {
            if c == child.rule {
                self.add(Item {
                    state: t,
                    la: la_out,
                    ..p
                });
            }
        }
    }

    /// The assertions pending in lookahead constraint `la` (an item's [`Item::la`]): pairs of
    /// (assertion automaton, state), none accepting; empty for 0.
    pub fn pending(&self, la: u32) -> &[(u32, u32)] {
        &self.la.sets[la as usize]
    }

    /// The root rule can end here (every lookahead satisfied).
    pub fn can_end(&self, a: &Automata) -> bool {
        self.last_set().iter().any(|it| {
            it.rule == 0
                && it.origin == 0
                && it.la == 0
                && a.rules[0].accept[it.state as usize]
                && a.rules[0].lookahead.is_none_or(|l| {
                    let d = &a.lookaheads[l as usize];
                    d.accept[d.start as usize]
                })
        })
    }

    /// Callers of `it`: items of its origin set waiting on its rule (with the matching
    /// lookahead constraint), each with the state its call returns to.
    pub fn callers(&self, a: &Automata, it: &Item, out: &mut Vec<(Item, u32)>) {
        out.clear();
        let o = it.origin as usize;
        let s = self.set_start[o] as usize;
        let e = self
            .set_start
            .get(o + 1)
            .map_or(self.items.len(), |&x| x as usize);
        for p in &self.items[s..e] {
            if p.la != it.la0 {
                continue;
            }
            for &(c, t) in &a.rules[p.rule as usize].calls[p.state as usize] {
                if c == it.rule && !out.contains(&(*p, t)) {
                    out.push((*p, t));
                }
            }
        }
    }

    /// The bytes some item of the last set can scan (a superset of the bytes `push` accepts).
    pub fn next_bytes(&self, a: &Automata, out: &mut [bool; 256]) {
        for it in self.last_set() {
            let d = &a.rules[it.rule as usize];
            if !d.scans[it.state as usize] {
                continue;
            }
            for (b, o) in out.iter_mut().enumerate() {
                if !*o && d.next(it.state, b as u8) != DEAD {
                    *o = true;
                }
            }
        }
    }
}
