//! From normal forms to grammar rules.
//!
//! Every (node, nesting depth) pair that is reached becomes one rule (depth matters only
//! for pretty-printed output); rules are created on demand from a work list, so deep or
//! recursive schemas need no deep recursion here. A node's rule is the alternation of its
//! type parts: literals, number automata, string languages, arrays and objects.
//!
//! Objects list their named keys in schema order, each optional unless required, then any
//! other keys (never one of the named ones), split into regions by which `patternProperties`
//! regexes match, each region with the conjunction of the applicable value schemas. Counts
//! (`minProperties`/`maxProperties`) and the "at least one other key" of a negated
//! `additionalProperties` are tracked in the states of a small automaton of rules.
//! Arrays are in `arrays.rs`.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, ErrorKind, Result};
use crate::grammar::{Expr, Grammar, Rule, RuleId};

use super::ctx::{Ctx, schema_err};
use super::ir::{ANY, ExtraRule, Id, NEVER, NumC, ObjC, Witness};
use super::numbers::{json_number, range_expr, residue_dfa};
use super::regular::{Dfa, Sink, alt, class, seq};
use super::strings::{Rx, StrC, lower_str, string_lit};
use super::{JsonSchemaOptions, Relaxation};

/// Deepest nesting of objects and arrays produced in pretty-printed (indent) mode.
pub(crate) const MAX_INDENT_DEPTH: usize = 32;
/// Most `patternProperties` regexes one object may combine.
const MAX_PATTERNS: usize = 6;
/// Largest grammar (total expression nodes of all rules) a conversion may produce.
const MAX_GRAMMAR_NODES: usize = 4_000_000;
/// Most negated `additionalProperties`/`propertyNames` constraints on one object.
const MAX_WITNESSES: usize = 3;

enum Style {
    Any(Expr),
    Fixed {
        item: String,
        key: String,
        indent: Option<usize>,
    },
}

pub(crate) struct Lower<'c, 'a> {
    pub(super) ctx: &'c mut Ctx<'a>,
    rules: Vec<Rule>,
    memo: HashMap<(Id, usize), RuleId>,
    /// Rules by normal form, so that equal schemas at different places share one rule.
    by_norm: HashMap<(Rc<super::ir::Norm>, usize), RuleId>,
    queue: Vec<(Id, usize, RuleId)>,
    style: Style,
    pub(super) strict: bool,
    pub(super) ignore_unique: bool,
}

impl Sink for Lower<'_, '_> {
    fn share(&mut self, e: Expr) -> Expr {
        Expr::Ref(self.add_rule(e, None))
    }
    fn fresh(&mut self) -> RuleId {
        self.add_rule(never(), None)
    }
    fn define(&mut self, id: RuleId, body: Expr) {
        self.rules[id.index()].body = body;
    }
    fn lookahead(&mut self, body: Expr, la: Expr) -> Expr {
        Expr::Ref(self.add_rule(body, Some(la)))
    }
}

/// Converts the node `root` into a grammar.
pub(crate) fn lower(ctx: &mut Ctx, root: Id, opts: &JsonSchemaOptions) -> Result<Grammar> {
    let style = if opts.any_whitespace {
        Style::Any(Expr::Repeat {
            expr: Box::new(class(&[(9, 10), (13, 13), (32, 32)])),
            min: 0,
            max: opts
                .max_whitespace_cnt
                .map(|m| m.min(u32::MAX as usize) as u32),
        })
    } else {
        let (item, key) = match (&opts.separators, opts.indent) {
            (Some((i, k)), _) => (i.clone(), k.clone()),
            (None, Some(_)) => (",".to_string(), ": ".to_string()),
            (None, None) => (", ".to_string(), ": ".to_string()),
        };
        Style::Fixed {
            item,
            key,
            indent: opts.indent,
        }
    };
    let mut l = Lower {
        ctx,
        rules: Vec::new(),
        memo: HashMap::new(),
        by_norm: HashMap::new(),
        queue: Vec::new(),
        style,
        strict: opts.strict_mode,
        ignore_unique: opts.relax.contains(&Relaxation::IgnoreUniqueItems),
    };
    let r = l.value_rule(root, 0);
    debug_assert_eq!(r, RuleId(0));
    let mut nodes = 0usize;
    while let Some((id, depth, rid)) = l.queue.pop() {
        nodes += l.rules.len();
        if nodes > MAX_GRAMMAR_NODES * 4 {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                "the schema expands to too many grammar rules",
            ));
        }
        let n = l.ctx.norm(id)?;
        if let Some(&same) = l.by_norm.get(&(n.clone(), depth)) {
            l.rules[rid.index()].body = Expr::Ref(same);
            continue;
        }
        l.by_norm.insert((n, depth), rid);
        let body = l.value(id, depth)?;
        l.rules[rid.index()].body = body;
    }
    let rules = std::mem::take(&mut l.rules);
    let size: usize = rules.iter().map(|r| super::regular::size(&r.body)).sum();
    if size > MAX_GRAMMAR_NODES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the schema expands to a grammar of {size} expression nodes (limit {MAX_GRAMMAR_NODES})"
            ),
        ));
    }
    if !productive(&rules)[0] {
        return Err(Error::new(
            ErrorKind::JsonSchema,
            "the schema allows no JSON value (it is unsatisfiable, or recursive without a base case)",
        ));
    }
    Grammar::new(rules, RuleId(0))
}

/// Which rules derive at least one finite string.
fn productive(rules: &[Rule]) -> Vec<bool> {
    fn prod(e: &Expr, p: &[bool]) -> bool {
        match e {
            Expr::Bytes(_) => true,
            Expr::Class(c) => !c.normalized().is_empty(),
            Expr::Ref(r) => p[r.index()],
            Expr::Seq(v) => v.iter().all(|x| prod(x, p)),
            Expr::Alt(v) => v.iter().any(|x| prod(x, p)),
            Expr::Repeat { expr, min, .. } => *min == 0 || prod(expr, p),
        }
    }
    let mut p = vec![false; rules.len()];
    loop {
        let mut changed = false;
        for (i, r) in rules.iter().enumerate() {
            if !p[i] && prod(&r.body, &p) {
                p[i] = true;
                changed = true;
            }
        }
        if !changed {
            return p;
        }
    }
}

pub(super) fn never() -> Expr {
    Expr::Alt(vec![])
}

pub(super) fn is_never_expr(e: &Expr) -> bool {
    matches!(e, Expr::Alt(v) if v.is_empty())
}

impl<'c, 'a> Lower<'c, 'a> {
    fn add_rule(&mut self, body: Expr, lookahead: Option<Expr>) -> RuleId {
        let id = RuleId(self.rules.len() as u32);
        let name = if self.rules.is_empty() {
            "root".to_string()
        } else {
            format!("r{}", self.rules.len())
        };
        self.rules.push(Rule {
            name,
            body,
            lookahead,
        });
        id
    }

    fn indent(&self) -> Option<usize> {
        match &self.style {
            Style::Fixed { indent, .. } => *indent,
            Style::Any(_) => None,
        }
    }

    /// The rule of a node at a depth (created on first use, filled from the work list).
    fn value_rule(&mut self, id: Id, depth: usize) -> RuleId {
        let depth = if self.indent().is_some() { depth } else { 0 };
        if let Some(&r) = self.memo.get(&(id, depth)) {
            return r;
        }
        let r = self.add_rule(never(), None);
        self.memo.insert((id, depth), r);
        self.queue.push((id, depth, r));
        r
    }

    pub(super) fn value_ref(&mut self, id: Id, depth: usize) -> Expr {
        Expr::Ref(self.value_rule(id, depth))
    }

    /// What comes before a member or an element.
    pub(super) fn prefix(&self, first: bool, depth: usize) -> Expr {
        match &self.style {
            Style::Any(ws) => {
                if first {
                    ws.clone()
                } else {
                    seq(vec![ws.clone(), Expr::lit(","), ws.clone()])
                }
            }
            Style::Fixed { item, indent, .. } => {
                let sep = if first { "" } else { item.as_str() };
                match indent {
                    None => Expr::lit(sep),
                    Some(n) => Expr::lit(&format!("{sep}\n{}", " ".repeat(n * (depth + 1)))),
                }
            }
        }
    }

    /// The closing bracket after no member (`empty`) or after some.
    pub(super) fn close(&self, empty: bool, ch: &str, depth: usize) -> Expr {
        match &self.style {
            Style::Any(ws) => seq(vec![ws.clone(), Expr::lit(ch)]),
            Style::Fixed { indent, .. } => match indent {
                Some(n) if !empty => Expr::lit(&format!("\n{}{ch}", " ".repeat(n * depth))),
                _ => Expr::lit(ch),
            },
        }
    }

    fn key_sep(&self) -> Expr {
        match &self.style {
            Style::Any(ws) => seq(vec![ws.clone(), Expr::lit(":"), ws.clone()]),
            Style::Fixed { key, .. } => Expr::lit(key),
        }
    }

    /// The body of a node's rule.
    fn value(&mut self, id: Id, depth: usize) -> Result<Expr> {
        let n = self.ctx.norm(id)?;
        let origin = self.ctx.origin(id);
        let mut alts = Vec::new();
        if n.null {
            alts.push(Expr::lit("null"));
        }
        if n.tru {
            alts.push(Expr::lit("true"));
        }
        if n.fal {
            alts.push(Expr::lit("false"));
        }
        if n.nums.iter().any(NumC::is_any) {
            alts.push(json_number());
        } else {
            for c in &n.nums {
                alts.push(self.number(c).map_err(|e| add_at(e, &origin))?);
            }
        }
        for c in &n.strs {
            alts.push(lower_str(c, self).map_err(|e| add_at(e, &origin))?);
        }
        let deep = self.indent().is_some() && depth >= MAX_INDENT_DEPTH;
        if !deep {
            for c in &n.arrs {
                alts.push(self.array(c, depth, &origin)?);
            }
            for c in &n.objs {
                alts.push(self.object(c, depth, &origin)?);
            }
        }
        Ok(alt(alts))
    }

    fn number(&mut self, c: &NumC) -> Result<Expr> {
        if let Some(l) = &c.lits {
            return Ok(alt(l.iter().map(|d| Expr::lit(&d.text())).collect()));
        }
        let integer = c.is_integer();
        let range = range_expr(&c.lo, &c.hi, integer);
        let extra: Vec<_> = c
            .mult
            .iter()
            .filter(|m| !(m.is_integer() && m.int == [1]))
            .collect();
        if extra.is_empty() && c.not_mult.is_empty() {
            return Ok(range);
        }
        let extra: Vec<_> = extra.into_iter().cloned().collect();
        let d = Dfa::from_expr(&range)?.intersect(&residue_dfa(&extra, &c.not_mult)?)?;
        d.to_expr(&class, self)
    }

    // ------------------------------------------------------------------ objects

    /// Whether key `k` satisfies a `propertyNames` schema.
    fn name_ok(&mut self, names: Id, k: &str) -> Result<bool> {
        let n = self.ctx.norm(names)?;
        for s in &n.strs {
            if s.contains(k)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Alternatives for one "other" member (key, separator, value), or `None`.
    fn extra_member(
        &mut self,
        o: &ObjC,
        rules: &[ExtraRule],
        witnesses: &[&Witness],
        depth: usize,
        origin: &str,
    ) -> Result<Option<Expr>> {
        let mut pats: Vec<Rc<Rx>> = Vec::new();
        for r in rules {
            for (p, _) in &r.pats {
                if !pats.contains(p) {
                    pats.push(p.clone());
                }
            }
        }
        if pats.len() > MAX_PATTERNS {
            return Err(schema_err(
                origin,
                format!("more than {MAX_PATTERNS} \"patternProperties\" regexes on one object"),
            ));
        }
        // Key constraints from propertyNames.
        let mut name_parts: Vec<StrC> = vec![StrC::any()];
        for &nm in &o.names {
            let n = self.ctx.norm(nm)?;
            let mut next = Vec::new();
            for x in &name_parts {
                for y in &n.strs {
                    if let Some(z) = x.and(y)? {
                        next.push(z);
                    }
                }
            }
            name_parts = next;
        }
        let mut alts = Vec::new();
        for mask in 0u32..(1u32 << pats.len()) {
            let mut ids = Vec::new();
            for r in rules {
                let hit: Vec<Id> = r
                    .pats
                    .iter()
                    .filter(|(p, _)| mask & (1 << pats.iter().position(|q| q == p).unwrap()) != 0)
                    .map(|(_, v)| *v)
                    .collect();
                if hit.is_empty() {
                    ids.push(r.add);
                } else {
                    ids.extend(hit);
                }
            }
            for w in witnesses {
                ids.push(w.value);
            }
            let v = self.ctx.and(&ids, origin);
            if self.ctx.is_never(v)? {
                continue;
            }
            let mut key = StrC::any();
            for (i, p) in pats.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    key.pats.push(p.clone());
                } else {
                    key.not_pats.push(p.clone());
                }
            }
            let mut empty = false;
            for w in witnesses {
                match key.and(&w.key)? {
                    Some(k2) => key = k2,
                    None => empty = true,
                }
            }
            if empty {
                continue;
            }
            let mut key_alts = Vec::new();
            for np in &name_parts {
                let Some(mut kc) = key.and(np)? else { continue };
                let mut excl = Vec::new();
                for (name, _) in &o.props {
                    if kc.contains(name)? {
                        excl.push(name.clone());
                    }
                }
                if let Some(l) = &mut kc.lits {
                    l.retain(|x| !excl.contains(x));
                    if l.is_empty() {
                        continue;
                    }
                } else {
                    excl.sort();
                    kc.excl = excl;
                }
                let e = lower_str(&kc, self).map_err(|e| add_at(e, origin))?;
                if !is_never_expr(&e) {
                    key_alts.push(e);
                }
            }
            if key_alts.is_empty() {
                continue;
            }
            let val = self.value_ref(v, depth + 1);
            alts.push(seq(vec![alt(key_alts), self.key_sep(), val]));
        }
        if alts.is_empty() {
            return Ok(None);
        }
        let e = alt(alts);
        Ok(Some(if super::regular::size(&e) > 16 {
            self.share(e)
        } else {
            e
        }))
    }

    fn object(&mut self, o: &ObjC, depth: usize, origin: &str) -> Result<Expr> {
        let mut decl: Vec<(Expr, bool)> = Vec::new();
        for (k, v) in &o.props {
            let mut v = *v;
            for &nm in &o.names {
                if !self.name_ok(nm, k)? {
                    v = NEVER;
                }
            }
            let req = o.required.binary_search(k).is_ok();
            if self.ctx.is_never(v)? {
                if req {
                    return Ok(never());
                }
                continue;
            }
            let val = self.value_ref(v, depth + 1);
            decl.push((seq(vec![string_lit(k), self.key_sep(), val]), req));
        }
        let mut rules = o.extra.clone();
        if self.strict && o.declared && !o.open {
            let mut pats = Vec::new();
            for r in &o.extra {
                for (p, _) in &r.pats {
                    pats.push((p.clone(), ANY));
                }
            }
            rules.push(ExtraRule { pats, add: NEVER });
        }
        let extra = self.extra_member(o, &rules, &[], depth, origin)?;
        if o.witnesses.len() > MAX_WITNESSES {
            return Err(schema_err(
                origin,
                "too many negated \"additionalProperties\"/\"propertyNames\" constraints on one object",
            ));
        }
        // Members that satisfy a non-empty subset of the witnesses.
        let mut witness = Vec::new();
        for mask in 1u32..(1 << o.witnesses.len()) {
            let ws: Vec<&Witness> = o
                .witnesses
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, w)| w)
                .collect();
            if let Some(e) = self.extra_member(o, &rules, &ws, depth, origin)? {
                witness.push((mask, e));
            }
        }
        let all_w = (1u32 << o.witnesses.len()) - 1;
        let nreq = decl.iter().filter(|(_, r)| *r).count() as u64;
        let track = o.min > nreq
            || o.max
                .is_some_and(|m| extra.is_some() || !witness.is_empty() || m < decl.len() as u64);
        let cap = if track {
            o.max.map(|m| m + 1).unwrap_or(0).max(o.min)
        } else {
            0
        };
        let plan = ObjPlan {
            decl,
            extra,
            witness,
            all_w,
            min: o.min,
            max: o.max,
            cap,
            track,
            depth,
        };
        let body = if !plan.track && plan.all_w == 0 {
            self.obj_simple(&plan)
        } else {
            let mut memo = HashMap::new();
            self.obj_state(&plan, 0, true, 0, 0, &mut memo)?
        };
        Ok(seq(vec![Expr::lit("{"), body]))
    }

    /// Members without counting: the first member emitted is one of the optional members
    /// up to the first required one; after it, each later member is optional or required
    /// in turn (one rule per position, each referring to the next), then the other keys.
    fn obj_simple(&mut self, p: &ObjPlan) -> Expr {
        let depth = p.depth;
        let n = p.decl.len();
        // Tail after the declared members, not first.
        let close_nf = self.close(false, "}", depth);
        let extras_nf = match &p.extra {
            Some(x) => seq(vec![
                Expr::Repeat {
                    expr: Box::new(seq(vec![self.prefix(false, depth), x.clone()])),
                    min: 0,
                    max: None,
                },
                close_nf,
            ]),
            None => close_nf,
        };
        // tails[i]: the members from i on, after at least one member.
        let mut tails = vec![Expr::empty(); n + 1];
        tails[n] = self.share(extras_nf.clone());
        for i in (0..n).rev() {
            let (member, req) = p.decl[i].clone();
            let one = seq(vec![self.prefix(false, depth), member]);
            let e = if req {
                seq(vec![one, tails[i + 1].clone()])
            } else {
                seq(vec![
                    Expr::Repeat {
                        expr: Box::new(one),
                        min: 0,
                        max: Some(1),
                    },
                    tails[i + 1].clone(),
                ])
            };
            tails[i] = self.share(e);
        }
        let mut alts = Vec::new();
        for i in 0..n {
            let (member, req) = p.decl[i].clone();
            alts.push(seq(vec![
                self.prefix(true, depth),
                member,
                tails[i + 1].clone(),
            ]));
            if req {
                break;
            }
        }
        if p.decl.iter().all(|(_, r)| !r) {
            alts.push(self.close(true, "}", depth));
            if let Some(x) = &p.extra {
                alts.push(seq(vec![self.prefix(true, depth), x.clone(), extras_nf]));
            }
        }
        alt(alts)
    }

    /// The object's automaton: member position `i`, whether nothing was written yet, the
    /// count `c` of members so far (when bounds need it) and the set `w` of witnesses met.
    fn obj_state(
        &mut self,
        p: &ObjPlan,
        i: usize,
        first: bool,
        c: u64,
        w: u32,
        memo: &mut HashMap<(usize, bool, u64, u32), Expr>,
    ) -> Result<Expr> {
        if let Some(e) = memo.get(&(i, first, c, w)) {
            return Ok(e.clone());
        }
        let depth = p.depth;
        let inc = |c: u64| if p.track { (c + 1).min(p.cap) } else { 0 };
        let e = if p.max.is_some_and(|m| p.track && c > m) {
            never()
        } else if i < p.decl.len() {
            let (member, req) = p.decl[i].clone();
            let mut alts = Vec::new();
            if !req {
                alts.push(self.obj_state(p, i + 1, first, c, w, memo)?);
            }
            let rest = self.obj_state(p, i + 1, false, inc(c), w, memo)?;
            if !is_never_expr(&rest) {
                alts.push(seq(vec![self.prefix(first, depth), member, rest]));
            }
            alt(alts)
        } else {
            let min_ok = !p.track || c >= p.min;
            let room = !p.track || p.max.is_none_or(|m| c < m);
            let saturated = !p.track || (p.max.is_none() && c >= p.cap);
            let mut alts = Vec::new();
            if min_ok && w == p.all_w {
                alts.push(self.close(first, "}", depth));
            }
            // Witness members move to a larger set of met witnesses (no loop).
            if room {
                for (mask, x) in p.witness.clone() {
                    if w | mask == w {
                        continue;
                    }
                    let rest = self.obj_state(p, i, false, inc(c), w | mask, memo)?;
                    if !is_never_expr(&rest) {
                        alts.push(seq(vec![self.prefix(first, depth), x, rest]));
                    }
                }
            }
            if let Some(x) = p.extra.clone()
                && room
            {
                if saturated {
                    // Plain other members repeat in place (a loop, not a recursion).
                    if first {
                        let rest = self.obj_state(p, i, false, c, w, memo)?;
                        if !is_never_expr(&rest) {
                            alts.push(seq(vec![self.prefix(true, depth), x, rest]));
                        }
                    } else {
                        let exits = alt(alts);
                        alts = vec![seq(vec![
                            Expr::Repeat {
                                expr: Box::new(seq(vec![self.prefix(false, depth), x])),
                                min: 0,
                                max: None,
                            },
                            exits,
                        ])];
                    }
                } else {
                    let rest = self.obj_state(p, i, false, inc(c), w, memo)?;
                    if !is_never_expr(&rest) {
                        alts.push(seq(vec![self.prefix(first, depth), x, rest]));
                    }
                }
            }
            alt(alts)
        };
        let e = if super::regular::size(&e) > 16 {
            self.share(e)
        } else {
            e
        };
        memo.insert((i, first, c, w), e.clone());
        Ok(e)
    }
}

struct ObjPlan {
    decl: Vec<(Expr, bool)>,
    extra: Option<Expr>,
    /// Members meeting witnesses: (set of witnesses met, member).
    witness: Vec<(u32, Expr)>,
    /// The set of all witnesses.
    all_w: u32,
    min: u64,
    max: Option<u64>,
    cap: u64,
    track: bool,
    depth: usize,
}

pub(super) fn clamp(x: u64) -> u32 {
    x.min(u32::MAX as u64) as u32
}

/// Adds the pointer to an error from a helper that does not know it.
fn add_at(e: Error, origin: &str) -> Error {
    if e.message().contains(" at ") {
        e
    } else {
        Error::new(
            e.kind(),
            format!("{} at {}", e.message(), super::ctx::at(origin)),
        )
    }
}
