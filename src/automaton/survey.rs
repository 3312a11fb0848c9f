//! One pass over the rule bodies: what the automaton builder asks of every rule before it
//! builds anything.
//!
//! Recursion, reference counts, which rules reference none, size estimates and which
//! bodies may hold a delimited loop to outline are all read from one walk per body. A
//! large grammar's expressions are scattered over the heap, so on a busy machine each walk
//! over all of them costs about as much as the cache misses it takes (a few ms for a
//! 400-tool structural tag), and this replaces five such walks.
//!
//! A body's size estimate is kept as a constant plus its references, each with the number
//! of copies its enclosing repetitions make: the estimate of the body is the constant plus
//! each reference's estimate times its copies, whatever the callees turn out to be.

use crate::grammar::{Expr, RuleId};

/// What one walk over each rule body found.
pub(crate) struct Survey {
    /// Per rule: its range of `refs`.
    span: Vec<(u32, u32)>,
    /// Every reference of every body, in order: the callee and its copies.
    refs: Vec<(RuleId, u64)>,
    /// Per rule: the size estimate of its body without its references.
    own: Vec<u64>,
    /// Per rule: some sequence in the body has an unbounded loop that may be broad
    /// ([`super::outline::may_be_broad`]) followed by a literal.
    loop_then_literal: Vec<bool>,
}

impl Survey {
    /// Surveys `bodies`, one per rule.
    pub(crate) fn new<'a>(bodies: impl ExactSizeIterator<Item = &'a Expr>) -> Survey {
        let mut s = Survey {
            span: Vec::with_capacity(bodies.len()),
            refs: Vec::new(),
            own: Vec::with_capacity(bodies.len()),
            loop_then_literal: Vec::with_capacity(bodies.len()),
        };
        for body in bodies {
            s.span.push((0, 0));
            s.own.push(0);
            s.loop_then_literal.push(false);
            s.set(s.span.len() - 1, body);
        }
        s
    }

    /// Surveys `body` as rule `r`'s (an existing rule's new body, or the next rule).
    pub(crate) fn set(&mut self, r: usize, body: &Expr) {
        if r == self.span.len() {
            self.span.push((0, 0));
            self.own.push(0);
            self.loop_then_literal.push(false);
        }
        let lo = self.refs.len() as u32;
        let mut found = false;
        let own = walk(body, &mut self.refs, &mut found);
        self.span[r] = (lo, self.refs.len() as u32);
        self.own[r] = own;
        self.loop_then_literal[r] = found;
    }

    pub(crate) fn len(&self) -> usize {
        self.span.len()
    }

    /// The references of rule `r`'s body, in order, with their copies.
    pub(crate) fn refs(&self, r: usize) -> &[(RuleId, u64)] {
        let (lo, hi) = self.span[r];
        &self.refs[lo as usize..hi as usize]
    }

    /// The size estimate of rule `r`'s body without its references.
    pub(crate) fn own(&self, r: usize) -> u64 {
        self.own[r]
    }

    /// Whether some sequence in rule `r`'s body has an unbounded loop that may be broad,
    /// followed by a literal (what outlining looks for).
    pub(crate) fn loop_then_literal(&self, r: usize) -> bool {
        self.loop_then_literal[r]
    }

    /// Per rule: whether it is part of a cycle of references.
    pub(crate) fn recursive(&self) -> Vec<bool> {
        self.components().1
    }

    /// Per rule: its strongly connected component of references (numbered in the order
    /// they close, callees first), and whether it is part of a cycle.
    pub(crate) fn components(&self) -> (Vec<u32>, Vec<bool>) {
        let n = self.len();
        let adj = |v: usize| self.refs(v);
        let mut index = vec![u32::MAX; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut rec = vec![false; n];
        let mut comp_of = vec![0u32; n];
        let mut comps = 0u32;
        let mut counter = 0u32;
        for s in 0..n {
            if index[s] != u32::MAX {
                continue;
            }
            let mut call: Vec<(usize, usize)> = vec![(s, 0)];
            index[s] = counter;
            low[s] = counter;
            counter += 1;
            stack.push(s);
            on_stack[s] = true;
            while let Some(&mut (v, ref mut k)) = call.last_mut() {
                if *k < adj(v).len() {
                    let w = adj(v)[*k].0.index();
                    *k += 1;
                    if index[w] == u32::MAX {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        call.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    call.pop();
                    if let Some(&(p, _)) = call.last() {
                        low[p] = low[p].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut comp = Vec::new();
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            comp.push(w);
                            if w == v {
                                break;
                            }
                        }
                        let cyclic = comp.len() > 1 || adj(v).iter().any(|&(c, _)| c.index() == v);
                        for w in comp {
                            rec[w] = cyclic;
                            comp_of[w] = comps;
                        }
                        comps += 1;
                    }
                }
            }
        }
        (comp_of, rec)
    }
}

/// The estimate of `e` without its references, and its references with their copies.
pub(crate) fn parts(e: &Expr) -> (u64, Vec<(RuleId, u64)>) {
    let mut refs = Vec::new();
    let own = walk(e, &mut refs, &mut false);
    (own, refs)
}

/// Pushes the references of `e` with their copies and returns its estimate without them.
fn walk(e: &Expr, refs: &mut Vec<(RuleId, u64)>, found: &mut bool) -> u64 {
    match e {
        Expr::Bytes(b) => b.len() as u64 + 1,
        Expr::Class(c) => 4 * c.ranges.len() as u64 + 4,
        Expr::Ref(r) => {
            refs.push((*r, 1));
            0
        }
        Expr::Seq(v) | Expr::Alt(v) => {
            if let Expr::Seq(v) = e {
                *found |= v.windows(2).any(|w| {
                    matches!(
                        (&w[0], &w[1]),
                        (Expr::Repeat { expr, min: 0, max: None }, Expr::Bytes(b))
                            if !b.is_empty() && super::outline::may_be_broad(expr)
                    )
                });
            }
            v.iter()
                .map(|x| walk(x, refs, found))
                .fold(1u64, |a, b| a.saturating_add(b))
        }
        Expr::Repeat { expr, min, max } => {
            let from = refs.len();
            let one = walk(expr, refs, found);
            let copies = (*max).unwrap_or(*min).max(*min).max(1) as u64;
            for r in &mut refs[from..] {
                r.1 = r.1.saturating_mul(copies);
            }
            one.saturating_mul(copies).saturating_add(2)
        }
    }
}
