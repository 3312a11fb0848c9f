//! Arrays: positions (prefix items, then the items schema) with bounds on the length, on
//! the number of items matching `contains`, and `uniqueItems` over small finite item sets.
//!
//! The states of an array are (position, first, matching count); positions past everything
//! that depends on them collapse into loops (`Repeat`), so unbounded arrays need no
//! recursion. With `maxContains`, an item that does not count must match the negation of the
//! `contains` schema, so that counts are exact.

use std::collections::HashMap;

use crate::error::Result;
use crate::grammar::Expr;

use super::ctx::schema_err;
use super::ir::{ANY, ArrC, Id, NEVER};
use super::lower::{Lower, clamp, is_never_expr, never};
use super::regular::{Sink, alt, seq};

/// Largest `maxItems` walked position by position (with `contains`).
const MAX_COUNTED_ITEMS: u64 = 256;

impl Lower<'_, '_> {
    pub(super) fn array(&mut self, a: &ArrC, depth: usize, origin: &str) -> Result<Expr> {
        if a.unique && a.max.is_none_or(|m| m > 1) && !self.ignore_unique {
            return match self.unique_array(a, depth)? {
                Some(e) => Ok(e),
                None => Err(schema_err(
                    origin,
                    "unsupported keyword \"uniqueItems\" (exact only for items from small finite sets of scalars)",
                )),
            };
        }
        if a.contains.len() > 1 {
            if a.contains.len() > 4 || a.contains.iter().any(|c| c.max.is_some()) {
                return Err(schema_err(
                    origin,
                    "unsupported combination of several \"contains\" constraints with \"maxContains\"",
                ));
            }
            return self.arr_multi(a, depth, origin);
        }
        let mut items = a.items;
        if self.strict && a.declared && !a.open {
            items = NEVER;
        }
        let k = a.prefix.len();
        let at = |j: usize| a.prefix.get(j).copied().unwrap_or(items);
        let cont = a.contains.first().cloned();
        let (cmin, cmax, from) = match &cont {
            Some(c) => (c.min, c.max, c.from),
            None => (0, None, 0),
        };
        let cap = cmax.map(|m| m + 1).unwrap_or(cmin);
        let mut kk = k;
        if cont.is_some() {
            kk = kk.max(from).max(a.min as usize);
            if let Some(m) = a.max {
                if m > MAX_COUNTED_ITEMS {
                    return Err(schema_err(
                        origin,
                        "\"contains\" with a large \"maxItems\" is not supported",
                    ));
                }
                kk = kk.max(m as usize);
            }
        }
        // Element options at position j with count cnt: (schema, next count).
        let mut memo: HashMap<(usize, bool, u64), Expr> = HashMap::new();
        let e = self.arr_state(a, &at, kk, &cont, cap, 0, true, 0, depth, &mut memo)?;
        let _ = (cmin, cmax);
        Ok(seq(vec![Expr::lit("["), e]))
    }

    /// The spellings of a node's values if it allows only a few scalars.
    fn finite_scalars(&mut self, id: Id) -> Result<Option<Vec<String>>> {
        let n = self.ctx.norm(id)?;
        if !n.arrs.is_empty() || !n.objs.is_empty() {
            return Ok(None);
        }
        let mut v = Vec::new();
        if n.null {
            v.push("null".to_string());
        }
        if n.tru {
            v.push("true".to_string());
        }
        if n.fal {
            v.push("false".to_string());
        }
        for c in &n.nums {
            let Some(l) = &c.lits else { return Ok(None) };
            v.extend(l.iter().map(|d| d.text()));
        }
        for c in &n.strs {
            let Some(l) = &c.lits else { return Ok(None) };
            v.extend(
                l.iter()
                    .map(|s| format!("\"{}\"", super::strings::encode(s))),
            );
        }
        v.sort();
        v.dedup();
        Ok(Some(v))
    }

    /// `uniqueItems` over items drawn from small finite sets of scalars: the states track
    /// the position (up to the prefix length) and the set of values used so far.
    fn unique_array(&mut self, a: &ArrC, depth: usize) -> Result<Option<Expr>> {
        if !a.contains.is_empty() {
            return Ok(None);
        }
        let mut items = a.items;
        if self.strict && a.declared && !a.open {
            items = NEVER;
        }
        let k = a.prefix.len();
        let mut doms: Vec<Vec<String>> = Vec::new();
        for j in 0..=k {
            let id = if j < k { a.prefix[j] } else { items };
            match self.finite_scalars(id)? {
                Some(v) => doms.push(v),
                None => return Ok(None),
            }
        }
        let mut all: Vec<String> = doms.iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        if all.len() > 12 || (k + 1) << all.len() > 20_000 {
            return Ok(None);
        }
        let idx: Vec<Vec<usize>> = doms
            .iter()
            .map(|d| d.iter().map(|x| all.binary_search(x).unwrap()).collect())
            .collect();
        let mut memo: HashMap<(usize, u32, bool), Expr> = HashMap::new();
        let e = self.unique_state(a, &all, &idx, 0, 0, true, depth, &mut memo);
        Ok(Some(seq(vec![Expr::lit("["), e])))
    }

    #[allow(clippy::too_many_arguments)]
    fn unique_state(
        &mut self,
        a: &ArrC,
        all: &[String],
        idx: &[Vec<usize>],
        j: usize,
        used: u32,
        first: bool,
        depth: usize,
        memo: &mut HashMap<(usize, u32, bool), Expr>,
    ) -> Expr {
        let k = idx.len() - 1;
        let jj = j.min(k);
        if let Some(e) = memo.get(&(jj, used, first)) {
            return e.clone();
        }
        let mut alts = Vec::new();
        let n = used.count_ones() as u64;
        if n >= a.min {
            alts.push(self.close(first, "]", depth));
        }
        if a.max.is_none_or(|m| n < m) {
            for &v in &idx[jj] {
                if used & (1 << v) != 0 {
                    continue;
                }
                let rest =
                    self.unique_state(a, all, idx, j + 1, used | (1 << v), false, depth, memo);
                if is_never_expr(&rest) {
                    continue;
                }
                alts.push(seq(vec![
                    self.prefix(first, depth),
                    Expr::lit(&all[v]),
                    rest,
                ]));
            }
        }
        let e = alt(alts);
        let e = if super::regular::size(&e) > 16 {
            self.share(e)
        } else {
            e
        };
        memo.insert((jj, used, first), e.clone());
        e
    }

    #[allow(clippy::too_many_arguments)]
    fn arr_state(
        &mut self,
        a: &ArrC,
        at: &dyn Fn(usize) -> Id,
        kk: usize,
        cont: &Option<super::ir::Contains>,
        cap: u64,
        j: usize,
        first: bool,
        cnt: u64,
        depth: usize,
        memo: &mut HashMap<(usize, bool, u64), Expr>,
    ) -> Result<Expr> {
        if let Some(e) = memo.get(&(j, first, cnt)) {
            return Ok(e.clone());
        }
        let (cmin, cmax, from, cschema) = match cont {
            Some(c) => (c.min, c.max, c.from, c.schema),
            None => (0, None, 0, ANY),
        };
        let origin = "";
        let end_ok = (j as u64) >= a.min && cnt >= cmin;
        let counting = cont.is_some() && j >= from && cnt < cap;
        let e = if j < kk {
            let mut alts = Vec::new();
            if end_ok {
                alts.push(self.close(first, "]", depth));
            }
            if a.max.is_none_or(|m| (j as u64) < m) {
                let x = at(j);
                let mut opts: Vec<(Id, u64)> = Vec::new();
                if counting {
                    let cx = self.ctx.and(&[x, cschema], origin);
                    opts.push((cx, cnt + 1));
                    let nx = if cmax.is_some() {
                        let nc = self.ctx.not(cschema, origin);
                        self.ctx.and(&[x, nc], origin)
                    } else {
                        x
                    };
                    opts.push((nx, cnt));
                } else {
                    opts.push((x, cnt));
                }
                for (s, c2) in opts {
                    if cmax.is_some_and(|m| c2 > m) || self.ctx.is_never(s)? {
                        continue;
                    }
                    let v = self.value_ref(s, depth + 1);
                    let rest =
                        self.arr_state(a, at, kk, cont, cap, j + 1, false, c2, depth, memo)?;
                    if is_never_expr(&rest) {
                        continue;
                    }
                    alts.push(seq(vec![self.prefix(first, depth), v, rest]));
                }
            }
            alt(alts)
        } else if !counting {
            // Free tail: the items schema, between the remaining length bounds.
            let x = at(j);
            let rest_min = a.min.saturating_sub(j as u64);
            let rest_max = a.max.map(|m| m.saturating_sub(j as u64));
            let x_ok = !self.ctx.is_never(x)? && rest_max.is_none_or(|m| m >= 1);
            if cnt < cmin {
                never()
            } else if first {
                let mut alts = Vec::new();
                if rest_min == 0 {
                    alts.push(self.close(true, "]", depth));
                }
                if x_ok {
                    let v = self.value_ref(x, depth + 1);
                    let more = Expr::Repeat {
                        expr: Box::new(seq(vec![self.prefix(false, depth), v.clone()])),
                        min: clamp(rest_min.max(1) - 1),
                        max: rest_max.map(|m| clamp(m - 1)),
                    };
                    alts.push(seq(vec![
                        self.prefix(true, depth),
                        v,
                        more,
                        self.close(false, "]", depth),
                    ]));
                }
                alt(alts)
            } else if x_ok {
                let v = self.value_ref(x, depth + 1);
                let more = Expr::Repeat {
                    expr: Box::new(seq(vec![self.prefix(false, depth), v])),
                    min: clamp(rest_min),
                    max: rest_max.map(clamp),
                };
                seq(vec![more, self.close(false, "]", depth)])
            } else if rest_min == 0 {
                self.close(false, "]", depth)
            } else {
                never()
            }
        } else {
            // Counting tail with unbounded length: uncounted items loop, counted ones advance.
            let x = at(j);
            let cx = self.ctx.and(&[x, cschema], origin);
            let nx = if cmax.is_some() {
                let nc = self.ctx.not(cschema, origin);
                self.ctx.and(&[x, nc], origin)
            } else {
                x
            };
            let nx_ok = !self.ctx.is_never(nx)?;
            let cx_ok = !self.ctx.is_never(cx)? && cmax.is_none_or(|m| cnt < m);
            let mut exits = Vec::new();
            if cnt >= cmin {
                exits.push(self.close(false, "]", depth));
            }
            if cx_ok {
                let v = self.value_ref(cx, depth + 1);
                let rest = self.arr_state(a, at, kk, cont, cap, j, false, cnt + 1, depth, memo)?;
                exits.push(seq(vec![self.prefix(false, depth), v, rest]));
            }
            let exits = alt(exits);
            let not_first = if nx_ok {
                let v = self.value_ref(nx, depth + 1);
                seq(vec![
                    Expr::Repeat {
                        expr: Box::new(seq(vec![self.prefix(false, depth), v])),
                        min: 0,
                        max: None,
                    },
                    exits.clone(),
                ])
            } else {
                exits.clone()
            };
            if first {
                let mut alts = Vec::new();
                if cnt >= cmin {
                    alts.push(self.close(true, "]", depth));
                }
                if nx_ok {
                    let v = self.value_ref(nx, depth + 1);
                    alts.push(seq(vec![self.prefix(true, depth), v, not_first.clone()]));
                }
                if cx_ok {
                    let v = self.value_ref(cx, depth + 1);
                    let rest =
                        self.arr_state(a, at, kk, cont, cap, j, false, cnt + 1, depth, memo)?;
                    alts.push(seq(vec![self.prefix(true, depth), v, rest]));
                }
                alt(alts)
            } else {
                not_first
            }
        };
        let e = if super::regular::size(&e) > 16 {
            self.share(e)
        } else {
            e
        };
        memo.insert((j, first, cnt), e.clone());
        Ok(e)
    }

    /// Several `contains` with minimum counts only: the state keeps one (capped) count per
    /// constraint; an item may count toward any subset of the unmet ones (it must then match
    /// each of them), so no negation is needed.
    fn arr_multi(&mut self, a: &ArrC, depth: usize, origin: &str) -> Result<Expr> {
        let mut items = a.items;
        if self.strict && a.declared && !a.open {
            items = NEVER;
        }
        let mut kk = a.prefix.len().max(a.min as usize);
        for c in &a.contains {
            kk = kk.max(c.from);
        }
        if let Some(m) = a.max {
            if m > MAX_COUNTED_ITEMS {
                return Err(schema_err(
                    origin,
                    "\"contains\" with a large \"maxItems\" is not supported",
                ));
            }
            kk = kk.max(m as usize);
        }
        let mut memo = HashMap::new();
        let cnt = vec![0u64; a.contains.len()];
        let e = self.multi_state(a, items, kk, 0, true, &cnt, depth, &mut memo)?;
        Ok(seq(vec![Expr::lit("["), e]))
    }

    /// Element options at position `j`: (schema, counts after).
    fn multi_options(&mut self, a: &ArrC, x: Id, j: usize, cnt: &[u64]) -> Vec<(Id, Vec<u64>)> {
        let open: Vec<usize> = (0..a.contains.len())
            .filter(|&i| cnt[i] < a.contains[i].min && j >= a.contains[i].from)
            .collect();
        let mut out = Vec::new();
        for mask in 0u32..(1 << open.len()) {
            let mut ids = vec![x];
            let mut c2 = cnt.to_vec();
            for (b, &i) in open.iter().enumerate() {
                if mask & (1 << b) != 0 {
                    ids.push(a.contains[i].schema);
                    c2[i] += 1;
                }
            }
            out.push((self.ctx.and(&ids, ""), c2));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn multi_state(
        &mut self,
        a: &ArrC,
        items: Id,
        kk: usize,
        j: usize,
        first: bool,
        cnt: &[u64],
        depth: usize,
        memo: &mut HashMap<(usize, bool, Vec<u64>), Expr>,
    ) -> Result<Expr> {
        let key = (j, first, cnt.to_vec());
        if let Some(e) = memo.get(&key) {
            return Ok(e.clone());
        }
        let sat = a.contains.iter().zip(cnt).all(|(c, &n)| n >= c.min);
        let x = a.prefix.get(j).copied().unwrap_or(items);
        let mut alts = Vec::new();
        let e = if j < kk || a.max.is_some() {
            if (j as u64) >= a.min && sat {
                alts.push(self.close(first, "]", depth));
            }
            if j < kk && a.max.is_none_or(|m| (j as u64) < m) {
                for (s, c2) in self.multi_options(a, x, j, cnt) {
                    if self.ctx.is_never(s)? {
                        continue;
                    }
                    let v = self.value_ref(s, depth + 1);
                    let rest = self.multi_state(a, items, kk, j + 1, false, &c2, depth, memo)?;
                    if !is_never_expr(&rest) {
                        alts.push(seq(vec![self.prefix(first, depth), v, rest]));
                    }
                }
            }
            alt(alts)
        } else {
            // Unbounded tail: items that count nothing loop; counting ones advance.
            let mut exits = Vec::new();
            if sat {
                exits.push(self.close(false, "]", depth));
            }
            let mut plain = None;
            for (s, c2) in self.multi_options(a, x, j, cnt) {
                if self.ctx.is_never(s)? {
                    continue;
                }
                let v = self.value_ref(s, depth + 1);
                if c2 == cnt {
                    plain = Some(v);
                    continue;
                }
                let rest = self.multi_state(a, items, kk, j, false, &c2, depth, memo)?;
                if !is_never_expr(&rest) {
                    exits.push(seq(vec![
                        self.prefix(false, depth),
                        v.clone(),
                        rest.clone(),
                    ]));
                    if first {
                        alts.push(seq(vec![self.prefix(true, depth), v, rest]));
                    }
                }
            }
            let exits = alt(exits);
            let not_first = match &plain {
                Some(v) => seq(vec![
                    Expr::Repeat {
                        expr: Box::new(seq(vec![self.prefix(false, depth), v.clone()])),
                        min: 0,
                        max: None,
                    },
                    exits,
                ]),
                None => exits,
            };
            if first {
                if sat {
                    alts.push(self.close(true, "]", depth));
                }
                if let Some(v) = plain {
                    alts.push(seq(vec![self.prefix(true, depth), v, not_first]));
                }
                alt(alts)
            } else {
                not_first
            }
        };
        let e = if super::regular::size(&e) > 16 {
            self.share(e)
        } else {
            e
        };
        memo.insert(key, e.clone());
        Ok(e)
    }
}
