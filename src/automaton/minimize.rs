//! Minimal automata: states with the same future are merged into one.
//!
//! Inlining copies a rule's automaton into every place that references it. Where those
//! copies are followed by the same thing (the two items of `"[" item ("," item)* "]"`),
//! the subset construction still keeps them apart, and every copy's states have their
//! token classes computed on first use. Merging equivalent states (partition refinement
//! after Hopcroft, on partial automata) leaves one copy.
//!
//! Two states are equivalent when both accept or neither does, and for every byte class
//! and every called rule their successors (for a call: the state its return leads to) are
//! equivalent or both missing. Derived per-state flags are computed afterwards from the
//! merged automaton.

use super::{DEAD, Rows, RuleDfa};

/// Merges the equivalent states of `d`, whose call edges per state are `calls` (by callee,
/// each callee once), and drops the unreachable ones; the start state becomes state 0.
/// `d`'s derived per-state flags must not be computed yet.
pub(crate) fn minimize<C: Ord + Copy>(d: &mut RuleDfa, calls: &mut Vec<Vec<(C, u32)>>) {
    let n = d.num_states();
    let ncls = d.ncls;
    // Symbols: byte classes, then one per called rule.
    let mut callees: Vec<C> = calls.iter().flatten().map(|&(c, _)| c).collect();
    callees.sort_unstable();
    callees.dedup();
    // Reachable states, numbered in breadth-first order from the start, with their edges
    // reversed: (target, (source, symbol)), all by breadth-first number.
    let mut order: Vec<u32> = Vec::with_capacity(n);
    order.push(d.start);
    let mut index = vec![u32::MAX; n];
    index[d.start as usize] = 0;
    // Most states have one or two edges.
    let mut reversed: Vec<(u32, (u32, u32))> = Vec::with_capacity(2 * n);
    let mut k = 0;
    while k < order.len() {
        let s = order[k] as usize;
        let from = k as u32;
        k += 1;
        let mut visit = |a: usize, t: u32| {
            if index[t as usize] == u32::MAX {
                index[t as usize] = order.len() as u32;
                order.push(t);
            }
            reversed.push((index[t as usize], (from, a as u32)));
        };
        for (a, &t) in d.trans[s * ncls..(s + 1) * ncls].iter().enumerate() {
            if t != DEAD {
                visit(a, t);
            }
        }
        for &(c, t) in &calls[s] {
            let a = ncls + callees.binary_search(&c).expect("callee listed");
            visit(a, t);
        }
    }
    let m = order.len();
    let rev = Rows::new(m, &reversed);
    drop(reversed);
    let mut p = Partition::new(m, |s| d.accept[order[s] as usize]);
    let mut work: Vec<u32> = (0..p.blocks.len() as u32).collect();
    let mut queued = vec![true; p.blocks.len()];
    let nsym = ncls + callees.len();
    // Predecessors of the current splitter, bucketed by symbol.
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); nsym];
    let mut used: Vec<u32> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    let mut splitter: Vec<u32> = Vec::new();
    while let Some(b) = work.pop() {
        queued[b as usize] = false;
        let (lo, hi) = p.blocks[b as usize];
        splitter.clear();
        splitter.extend_from_slice(&p.elems[lo as usize..hi as usize]);
        for &t in &splitter {
            for &(s, a) in rev.row(t) {
                let bucket = &mut buckets[a as usize];
                if bucket.is_empty() {
                    used.push(a);
                }
                bucket.push(s);
            }
        }
        for &a in &used {
            let mut bucket = std::mem::take(&mut buckets[a as usize]);
            touched.clear();
            for &s in &bucket {
                let y = p.block_of[s as usize];
                if p.marked[y as usize] == 0 {
                    touched.push(y);
                }
                p.mark(s);
            }
            for &y in &touched {
                if let Some(new) = p.split(y) {
                    queued.push(false);
                    // A block waiting to split others splits by both halves; otherwise the
                    // smaller half does (the larger one's split follows from it).
                    let next = if queued[y as usize] || p.size(new) <= p.size(y) {
                        new
                    } else {
                        y
                    };
                    work.push(next);
                    queued[next as usize] = true;
                }
            }
            bucket.clear();
            buckets[a as usize] = bucket;
        }
        used.clear();
    }
    if p.blocks.len() == n && d.start == 0 {
        return;
    }
    // Blocks renumbered in the order their first state was reached.
    let mut new_id = vec![u32::MAX; p.blocks.len()];
    let mut reps: Vec<u32> = Vec::with_capacity(p.blocks.len());
    for (&b, &s) in p.block_of.iter().zip(&order) {
        let b = b as usize;
        if new_id[b] == u32::MAX {
            new_id[b] = reps.len() as u32;
            reps.push(s);
        }
    }
    let map = |t: u32| {
        if t == DEAD {
            DEAD
        } else {
            new_id[p.block_of[index[t as usize] as usize] as usize]
        }
    };
    let mut trans = Vec::with_capacity(reps.len() * ncls);
    let mut accept = Vec::with_capacity(reps.len());
    let mut new_calls = Vec::with_capacity(reps.len());
    for &r in &reps {
        let r = r as usize;
        trans.extend(d.trans[r * ncls..(r + 1) * ncls].iter().map(|&t| map(t)));
        accept.push(d.accept[r]);
        new_calls.push(calls[r].iter().map(|&(c, t)| (c, map(t))).collect());
    }
    d.trans = trans;
    d.accept = accept;
    d.calls = vec![Vec::new(); reps.len()];
    *calls = new_calls;
    d.start = 0;
}

/// A partition of `0..n` into blocks, each a contiguous range of `elems`; the marked
/// elements of a block are at its front.
struct Partition {
    elems: Vec<u32>,
    /// Position of each element in `elems`.
    loc: Vec<u32>,
    block_of: Vec<u32>,
    /// Per block: its range of `elems`.
    blocks: Vec<(u32, u32)>,
    /// Per block: how many of its elements are marked.
    marked: Vec<u32>,
}

impl Partition {
    /// Two blocks at most: the elements where `key` holds, and the others.
    fn new(n: usize, key: impl Fn(usize) -> bool) -> Partition {
        let mut elems: Vec<u32> = (0..n as u32).filter(|&s| key(s as usize)).collect();
        let yes = elems.len();
        elems.extend((0..n as u32).filter(|&s| !key(s as usize)));
        let mut blocks = Vec::new();
        if yes > 0 {
            blocks.push((0, yes as u32));
        }
        if yes < n {
            blocks.push((yes as u32, n as u32));
        }
        let mut loc = vec![0u32; n];
        let mut block_of = vec![0u32; n];
        for (i, &e) in elems.iter().enumerate() {
            loc[e as usize] = i as u32;
            block_of[e as usize] = if i < yes || yes == 0 { 0 } else { 1 };
        }
        let marked = vec![0; blocks.len()];
        Partition {
            elems,
            loc,
            block_of,
            blocks,
            marked,
        }
    }

    fn size(&self, b: u32) -> u32 {
        let (lo, hi) = self.blocks[b as usize];
        hi - lo
    }

    /// Marks `e` (moves it to the marked front of its block); marking twice is harmless.
    fn mark(&mut self, e: u32) {
        let b = self.block_of[e as usize] as usize;
        let (lo, _) = self.blocks[b];
        let front = lo + self.marked[b];
        let at = self.loc[e as usize];
        if at < front {
            return;
        }
        let other = self.elems[front as usize];
        self.elems.swap(front as usize, at as usize);
        self.loc[other as usize] = at;
        self.loc[e as usize] = front;
        self.marked[b] += 1;
    }

    /// Splits the marked elements of block `b` off into a new block, unless all or none
    /// are marked; clears the marks. Returns the new block.
    fn split(&mut self, b: u32) -> Option<u32> {
        let bi = b as usize;
        let (lo, hi) = self.blocks[bi];
        let k = std::mem::take(&mut self.marked[bi]);
        if k == 0 || k == hi - lo {
            return None;
        }
        let new = self.blocks.len() as u32;
        self.blocks.push((lo, lo + k));
        self.marked.push(0);
        self.blocks[bi] = (lo + k, hi);
        for &e in &self.elems[lo as usize..(lo + k) as usize] {
            self.block_of[e as usize] = new;
        }
        Some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    type Calls = Vec<Vec<(u32, u32)>>;

    fn dfa(ncls: usize, trans: Vec<u32>, accept: Vec<bool>) -> RuleDfa {
        let mut classes = [0u8; 256];
        for (b, c) in classes.iter_mut().enumerate() {
            *c = (b % ncls) as u8;
        }
        RuleDfa::bare("r", classes, ncls, trans, accept)
    }

    /// A random automaton with sparse transitions and a few calls to rules 0..3.
    fn random(rng: &mut SmallRng, n: usize, ncls: usize) -> (RuleDfa, Calls) {
        let trans = (0..n * ncls)
            .map(|_| {
                if rng.gen_bool(0.4) {
                    rng.gen_range(0..n as u32)
                } else {
                    DEAD
                }
            })
            .collect();
        let accept = (0..n).map(|_| rng.gen_bool(0.3)).collect();
        let calls = (0..n)
            .map(|_| {
                let mut v: Vec<(u32, u32)> = Vec::new();
                for c in 0..3u32 {
                    if rng.gen_bool(0.15) {
                        v.push((c, rng.gen_range(0..n as u32)));
                    }
                }
                v
            })
            .collect();
        (dfa(ncls, trans, accept), calls)
    }

    /// Whether the automata take the same strings, call the same rules at the same points
    /// and return to equivalent places: a walk over pairs of states.
    fn equivalent(a: &RuleDfa, ac: &Calls, b: &RuleDfa, bc: &Calls) -> bool {
        let mut seen = std::collections::HashSet::new();
        let mut todo = vec![(a.start, b.start)];
        while let Some((x, y)) = todo.pop() {
            if !seen.insert((x, y)) {
                continue;
            }
            let (xs, ys) = (x as usize, y as usize);
            if a.accept[xs] != b.accept[ys] {
                return false;
            }
            for c in 0..a.ncls {
                let (tx, ty) = (a.trans[xs * a.ncls + c], b.trans[ys * b.ncls + c]);
                if (tx == DEAD) != (ty == DEAD) {
                    return false;
                }
                if tx != DEAD {
                    todo.push((tx, ty));
                }
            }
            if ac[xs].len() != bc[ys].len() {
                return false;
            }
            for (&(c1, r1), &(c2, r2)) in ac[xs].iter().zip(&bc[ys]) {
                if c1 != c2 {
                    return false;
                }
                todo.push((r1, r2));
            }
        }
        true
    }

    #[test]
    fn minimized_automata_are_equivalent_and_no_larger_than_any_copy() {
        let mut rng = SmallRng::seed_from_u64(7);
        for round in 0..300 {
            let n = rng.gen_range(1..40);
            let ncls = rng.gen_range(1..5);
            let (a, ac) = random(&mut rng, n, ncls);
            let (mut m, mut mc) = (a.clone(), ac.clone());
            minimize(&mut m, &mut mc);
            assert!(equivalent(&a, &ac, &m, &mc), "round {round}");
            assert!(m.num_states() <= n);
            assert_eq!(m.start, 0);
            // Two copies, the first leading into the second: minimal size is unchanged.
            let mut trans = a.trans.clone();
            for t in &mut trans {
                if *t != DEAD {
                    *t += n as u32;
                }
            }
            trans.extend_from_slice(&trans.clone());
            let accept: Vec<bool> = a.accept.iter().chain(&a.accept).copied().collect();
            let mut calls: Calls = ac
                .iter()
                .map(|v| v.iter().map(|&(c, r)| (c, r + n as u32)).collect())
                .collect();
            calls.extend(calls.clone());
            let (mut d2, mut c2) = (dfa(ncls, trans, accept), calls);
            minimize(&mut d2, &mut c2);
            assert!(equivalent(&a, &ac, &d2, &c2), "round {round}, copies");
            assert_eq!(d2.num_states(), m.num_states(), "round {round}, copies");
            // Minimal: minimizing again merges nothing.
            let before = m.num_states();
            minimize(&mut m, &mut mc);
            assert_eq!(m.num_states(), before);
        }
    }
}
