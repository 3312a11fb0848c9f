//! Boolean operations on normal forms: intersection (`allOf`), union (`anyOf`), complement
//! (`not`, the `else` side of `if`), disjointness proofs and exact `oneOf`.
//!
//! Intersection is a per-type cross product of conjunctions; merged objects take the union
//! of the named keys, each key's schema being the conjunction of what both sides say about
//! it (its declared schema, or what the other side's `patternProperties` and
//! `additionalProperties` give it). Complement turns a conjunction into the union of its
//! negated atoms (`minLength` 3 becomes `maxLength` 2, `required` k becomes "k absent", a
//! property schema S becomes "present with a value of not-S", `items` S becomes `contains`
//! not-S, …); atoms without an exact negation (`uniqueItems`, `propertyNames`,
//! `patternProperties`) are errors. `oneOf` is a plain union when its branches are provably
//! pairwise disjoint (different types, disjoint ranges or literals, a required key whose
//! values cannot agree), otherwise each branch is intersected with the complements of the
//! branches it overlaps; if that fails too the schema is refused, unless
//! [`Relaxation::OneOfAsAnyOf`](super::Relaxation::OneOfAsAnyOf) is on.

use std::rc::Rc;

use crate::error::{Error, ErrorKind, Result};

use super::Relaxation;
use super::build::MAX_PARTS;
use super::ctx::{Ctx, schema_err};
use super::ir::{ANY, ArrC, Contains, ExtraRule, Id, NEVER, Norm, NumC, ObjC, Witness};
use super::strings::StrC;
use crate::fxhash::Dedup;

fn too_many(ptr: &str) -> Error {
    schema_err(
        ptr,
        format!(
            "the combination of allOf/anyOf/oneOf/not expands to more than {MAX_PARTS} alternatives"
        ),
    )
}

fn dedup_push<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl<'a> Ctx<'a> {
    /// Intersection of two normal forms.
    pub(crate) fn and_norm(&mut self, a: &Norm, b: &Norm, ptr: &str) -> Result<Norm> {
        let mut n = Norm {
            null: a.null && b.null,
            tru: a.tru && b.tru,
            fal: a.fal && b.fal,
            nums: vec![],
            strs: vec![],
            arrs: vec![],
            objs: vec![],
        };
        let (mut nums, mut strs, mut arrs, mut objs) = (
            Dedup::<NumC>::default(),
            Dedup::<StrC>::default(),
            Dedup::<ArrC>::default(),
            Dedup::<ObjC>::default(),
        );
        let check = |x: usize, y: usize| -> Result<()> {
            if x * y > MAX_PARTS * 4 {
                Err(too_many(ptr))
            } else {
                Ok(())
            }
        };
        check(a.nums.len(), b.nums.len())?;
        for x in &a.nums {
            for y in &b.nums {
                if let Some(z) = x.and(y)? {
                    nums.push(z);
                }
            }
        }
        check(a.strs.len(), b.strs.len())?;
        for x in &a.strs {
            for y in &b.strs {
                if let Some(z) = x.and(y)? {
                    strs.push(z);
                }
            }
        }
        check(a.arrs.len(), b.arrs.len())?;
        for x in &a.arrs {
            for y in &b.arrs {
                if let Some(z) = self.and_arr(x, y, ptr)? {
                    arrs.push(z);
                }
            }
        }
        check(a.objs.len(), b.objs.len())?;
        for x in &a.objs {
            for y in &b.objs {
                for z in self.and_obj(x, y, ptr)? {
                    objs.push(z);
                }
            }
        }
        (n.nums, n.strs, n.arrs, n.objs) = (nums.items, strs.items, arrs.items, objs.items);
        if n.nums
            .len()
            .max(n.strs.len())
            .max(n.arrs.len())
            .max(n.objs.len())
            > MAX_PARTS
        {
            return Err(too_many(ptr));
        }
        Ok(n)
    }

    /// Union of two normal forms.
    pub(crate) fn or_norm(&mut self, a: &Norm, b: &Norm) -> Norm {
        fn join<T: PartialEq + Clone>(x: &[T], y: &[T], any: impl Fn(&T) -> bool) -> Vec<T> {
            if let Some(a) = x.iter().chain(y.iter()).find(|p| any(p)) {
                return vec![a.clone()];
            }
            let mut v = x.to_vec();
            for p in y {
                dedup_push(&mut v, p.clone());
            }
            v
        }
        Norm {
            null: a.null || b.null,
            tru: a.tru || b.tru,
            fal: a.fal || b.fal,
            nums: join(&a.nums, &b.nums, NumC::is_any),
            strs: join(&a.strs, &b.strs, StrC::is_any),
            arrs: if a
                .arrs
                .iter()
                .chain(&b.arrs)
                .all(|p| p.eval == Default::default())
            {
                join(&a.arrs, &b.arrs, ArrC::is_any)
            } else {
                join(&a.arrs, &b.arrs, |_| false)
            },
            objs: if a
                .objs
                .iter()
                .chain(&b.objs)
                .all(|p| p.eval == Default::default())
            {
                join(&a.objs, &b.objs, ObjC::is_any)
            } else {
                join(&a.objs, &b.objs, |_| false)
            },
        }
    }

    pub(crate) fn and_arr(&mut self, a: &ArrC, b: &ArrC, ptr: &str) -> Result<Option<ArrC>> {
        let len = a.prefix.len().max(b.prefix.len());
        let mut prefix = Vec::with_capacity(len);
        for j in 0..len {
            prefix.push(self.and(&[a.at(j), b.at(j)], ptr));
        }
        let items = self.and(&[a.items, b.items], ptr);
        let mut c = ArrC {
            prefix,
            items,
            min: a.min.max(b.min),
            max: match (a.max, b.max) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
            contains: a.contains.clone(),
            unique: a.unique || b.unique,
            declared: a.declared || b.declared,
            open: a.open || b.open,
            eval: a.eval.clone(),
        };
        for x in &b.contains {
            dedup_push(&mut c.contains, x.clone());
        }
        c.eval.prefix = a.eval.prefix.max(b.eval.prefix);
        c.eval.all |= b.eval.all;
        c.eval.uncertain |= b.eval.uncertain;
        for &x in &b.eval.contains {
            dedup_push(&mut c.eval.contains, x);
        }
        if c.max.is_some_and(|m| m < c.min) {
            return Ok(None);
        }
        // Trailing prefix positions equal to the items schema are redundant.
        while c.prefix.last() == Some(&c.items) && c.prefix.len() > c.eval.prefix {
            c.prefix.pop();
        }
        // Required positions that can hold nothing make the array impossible.
        for j in 0..(c.min as usize).min(c.prefix.len() + 1) {
            if c.at(j) == NEVER {
                return Ok(None);
            }
        }
        Ok(Some(c))
    }

    /// The value schema an object conjunction gives key `k`.
    pub(crate) fn eff(&mut self, o: &ObjC, k: &str) -> Result<Id> {
        if let Some(v) = o.prop(k) {
            return Ok(v);
        }
        let mut ids = Vec::new();
        for r in &o.extra {
            ids.push(self.eff_rule(r, k)?);
        }
        Ok(self.and(&ids, ""))
    }

    fn and_obj_base(&mut self, a: &ObjC, b: &ObjC, ptr: &str) -> Result<Option<ObjC>> {
        let mut props = Vec::with_capacity(a.props.len() + b.props.len());
        let mut keys: Vec<&String> = a.props.iter().map(|(k, _)| k).collect();
        for (k, _) in &b.props {
            if a.prop(k).is_none() {
                keys.push(k);
            }
        }
        for k in keys {
            let va = self.eff(a, k)?;
            let vb = self.eff(b, k)?;
            props.push((k.clone(), self.and(&[va, vb], ptr)));
        }
        let mut c = ObjC {
            props,
            required: a.required.clone(),
            extra: a.extra.clone(),
            min: a.min.max(b.min),
            max: match (a.max, b.max) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
            names: a.names.clone(),
            witnesses: vec![],
            declared: a.declared || b.declared,
            open: a.open || b.open,
            eval: a.eval.clone(),
        };
        for k in &b.required {
            c.require(k);
        }
        for r in &b.extra {
            dedup_push(&mut c.extra, r.clone());
        }
        for &n in &b.names {
            dedup_push(&mut c.names, n);
        }
        for k in &b.eval.names {
            if let Err(i) = c.eval.names.binary_search(k) {
                c.eval.names.insert(i, k.clone());
            }
        }
        for p in &b.eval.pats {
            dedup_push(&mut c.eval.pats, p.clone());
        }
        c.eval.all |= b.eval.all;
        c.eval.uncertain |= b.eval.uncertain;
        if c.max
            .is_some_and(|m| m < c.min || (m as usize) < c.required.len())
        {
            return Ok(None);
        }
        for k in &c.required {
            if c.prop(k) == Some(NEVER) {
                return Ok(None);
            }
        }
        Ok(Some(c))
    }

    /// Intersection of two object conjunctions, as a union (a witness key of one side may
    /// be a key the other side names).
    pub(crate) fn and_obj(&mut self, a: &ObjC, b: &ObjC, ptr: &str) -> Result<Vec<ObjC>> {
        let Some(c) = self.and_obj_base(a, b, ptr)? else {
            return Ok(vec![]);
        };
        let mut parts = vec![c];
        for (x, y) in [(a, b), (b, a)] {
            for w in &x.witnesses {
                // Keys the other side names that were "other" keys for this witness.
                let mut cands = Vec::new();
                for (k, _) in &y.props {
                    if x.prop(k).is_none() && w.key.contains(k)? {
                        cands.push(k.clone());
                    }
                }
                let mut next = Vec::new();
                for p in &parts {
                    let mut kept = p.clone();
                    if !kept.witnesses.contains(w) {
                        kept.witnesses.push(w.clone());
                    }
                    next.push(kept);
                    for k in &cands {
                        let mut q = p.clone();
                        let v = q.prop(k).unwrap_or(ANY);
                        let nv = self.and(&[v, w.value], ptr);
                        if let Some(e) = q.props.iter_mut().find(|(n, _)| n == k) {
                            e.1 = nv;
                        }
                        q.require(k);
                        if nv != NEVER {
                            next.push(q);
                        }
                    }
                }
                if next.len() > MAX_PARTS {
                    return Err(too_many(ptr));
                }
                parts = next;
            }
        }
        Ok(parts)
    }

    /// Complement of a normal form.
    pub(crate) fn not_norm(&mut self, a: &Norm, ptr: &str) -> Result<Norm> {
        let mut n = Norm::never();
        n.null = !a.null;
        n.tru = !a.tru;
        n.fal = !a.fal;
        // Numbers.
        let mut acc = vec![NumC::any()];
        for p in &a.nums {
            let comp = p.complement();
            let mut next = Dedup::default();
            for x in &acc {
                for y in &comp {
                    if let Some(z) = x.and(y)? {
                        next.push(z);
                    }
                }
            }
            if next.len() > MAX_PARTS {
                return Err(too_many(ptr));
            }
            acc = next.items;
        }
        n.nums = acc;
        // Strings.
        let mut acc = vec![StrC::any()];
        for p in &a.strs {
            let comp = p.complement();
            let mut next = Dedup::default();
            for x in &acc {
                for y in &comp {
                    if let Some(z) = x.and(y)? {
                        next.push(z);
                    }
                }
            }
            if next.len() > MAX_PARTS {
                return Err(too_many(ptr));
            }
            acc = next.items;
        }
        n.strs = acc;
        // Arrays.
        let mut acc = vec![ArrC::any()];
        for p in &a.arrs {
            let comp = self.not_arr(p, ptr)?;
            let mut next = Dedup::default();
            for x in &acc {
                for y in &comp {
                    if let Some(z) = self.and_arr(x, y, ptr)? {
                        next.push(z);
                    }
                }
            }
            if next.len() > MAX_PARTS {
                return Err(too_many(ptr));
            }
            acc = next.items;
        }
        n.arrs = acc;
        // Objects.
        let mut acc = vec![ObjC::any()];
        for p in &a.objs {
            let comp = self.not_obj(p, ptr)?;
            let mut next = Dedup::default();
            for x in &acc {
                for y in &comp {
                    for z in self.and_obj(x, y, ptr)? {
                        next.push(z);
                    }
                }
            }
            if next.len() > MAX_PARTS {
                return Err(too_many(ptr));
            }
            acc = next.items;
        }
        n.objs = acc;
        Ok(n)
    }

    fn not_arr(&mut self, a: &ArrC, ptr: &str) -> Result<Vec<ArrC>> {
        if a.unique {
            return Err(schema_err(ptr, "cannot negate \"uniqueItems\""));
        }
        let mut out = Vec::new();
        if a.min > 0 {
            out.push(ArrC {
                max: Some(a.min - 1),
                ..ArrC::any()
            });
        }
        if let Some(m) = a.max {
            out.push(ArrC {
                min: m + 1,
                ..ArrC::any()
            });
        }
        for (j, &p) in a.prefix.iter().enumerate() {
            if p == ANY {
                continue;
            }
            let mut prefix = vec![ANY; j];
            prefix.push(self.not(p, ptr));
            out.push(ArrC {
                min: j as u64 + 1,
                prefix,
                ..ArrC::any()
            });
        }
        if a.items != ANY {
            out.push(ArrC {
                contains: vec![Contains {
                    schema: self.not(a.items, ptr),
                    min: 1,
                    max: None,
                    from: a.prefix.len(),
                }],
                ..ArrC::any()
            });
        }
        for c in &a.contains {
            if c.min > 0 {
                out.push(ArrC {
                    contains: vec![Contains {
                        max: Some(c.min - 1),
                        min: 0,
                        ..c.clone()
                    }],
                    ..ArrC::any()
                });
            }
            if let Some(m) = c.max {
                out.push(ArrC {
                    contains: vec![Contains {
                        min: m + 1,
                        max: None,
                        ..c.clone()
                    }],
                    ..ArrC::any()
                });
            }
        }
        Ok(out)
    }

    fn not_obj(&mut self, o: &ObjC, ptr: &str) -> Result<Vec<ObjC>> {
        let mut out = Vec::new();
        let named = |o: &ObjC| -> ObjC {
            let mut x = ObjC::any();
            for (k, _) in &o.props {
                x.props.push((k.clone(), ANY));
            }
            x
        };
        for w in &o.witnesses {
            // No other key in the witness's language has such a value.
            let nv = self.not(w.value, ptr);
            let rule = if w.key.is_any() {
                ExtraRule {
                    pats: vec![],
                    add: nv,
                }
            } else if w.key.pats.len() == 1
                && (StrC {
                    pats: vec![],
                    ..w.key.clone()
                })
                .is_any()
            {
                ExtraRule {
                    pats: vec![(w.key.pats[0].clone(), nv)],
                    add: ANY,
                }
            } else {
                return Err(schema_err(
                    ptr,
                    "cannot negate a negated \"propertyNames\" or \"patternProperties\"",
                ));
            };
            let mut x = named(o);
            x.extra.push(rule);
            out.push(x);
        }
        for &nm in &o.names {
            if nm == ANY {
                continue;
            }
            // Some key (named or not) has a name outside the propertyNames schema.
            let n = self.norm(nm)?;
            let mut comp = vec![StrC::any()];
            for c in &n.strs {
                let mut next = Vec::new();
                for x in &comp {
                    for y in c.complement() {
                        if let Some(z) = x.and(&y)? {
                            next.push(z);
                        }
                    }
                }
                if next.len() > MAX_PARTS {
                    return Err(too_many(ptr));
                }
                comp = next;
            }
            for key in comp {
                let mut x = ObjC::any();
                x.witnesses.push(Witness { key, value: ANY });
                out.push(x);
            }
        }
        if o.min > 0 {
            out.push(ObjC {
                max: Some(o.min - 1),
                ..ObjC::any()
            });
        }
        if let Some(m) = o.max {
            out.push(ObjC {
                min: m + 1,
                ..ObjC::any()
            });
        }
        for r in &o.required {
            let mut x = ObjC::any();
            x.props.push((r.clone(), NEVER));
            out.push(x);
        }
        for (k, v) in &o.props {
            if *v == ANY {
                continue;
            }
            let mut x = ObjC::any();
            x.props.push((k.clone(), self.not(*v, ptr)));
            x.require(k);
            out.push(x);
        }
        for r in &o.extra {
            let mut ws = Vec::new();
            for (p, v) in &r.pats {
                if *v != ANY {
                    ws.push(Witness {
                        key: StrC {
                            pats: vec![p.clone()],
                            ..StrC::any()
                        },
                        value: self.not(*v, ptr),
                    });
                }
            }
            if r.add != ANY {
                ws.push(Witness {
                    key: StrC {
                        not_pats: r.pats.iter().map(|(p, _)| p.clone()).collect(),
                        ..StrC::any()
                    },
                    value: self.not(r.add, ptr),
                });
            }
            for w in ws {
                let mut x = named(o);
                x.witnesses.push(w);
                out.push(x);
            }
        }
        Ok(out)
    }

    /// Whether no value satisfies both (`false` when unknown).
    pub(crate) fn disjoint(&mut self, a: &Norm, b: &Norm, depth: u32) -> bool {
        self.disjoint_inner(a, b, depth).unwrap_or(false)
    }

    fn disjoint_ids(&mut self, x: Id, y: Id, depth: u32) -> Result<bool> {
        if depth == 0 {
            return Ok(false);
        }
        if x == NEVER || y == NEVER {
            return Ok(true);
        }
        let a = self.norm(x)?;
        let b = self.norm(y)?;
        self.disjoint_inner(&a, &b, depth - 1)
    }

    fn disjoint_inner(&mut self, a: &Norm, b: &Norm, depth: u32) -> Result<bool> {
        if (a.null && b.null) || (a.tru && b.tru) || (a.fal && b.fal) {
            return Ok(false);
        }
        for x in &a.nums {
            for y in &b.nums {
                if x.and(y)?.is_some() {
                    return Ok(false);
                }
            }
        }
        for x in &a.strs {
            for y in &b.strs {
                let Some(z) = x.and(y)? else { continue };
                if z.lits.is_some() {
                    return Ok(false);
                }
                match z.dfa() {
                    Ok(d) if d.is_empty() => continue,
                    _ => return Ok(false),
                }
            }
        }
        for x in &a.arrs {
            for y in &b.arrs {
                let Some(z) = self.and_arr(x, y, "")? else {
                    continue;
                };
                let mut sep = false;
                for j in 0..(z.min as usize).min(z.prefix.len() + 1) {
                    if self.disjoint_ids(x.at(j), y.at(j), depth)? {
                        sep = true;
                        break;
                    }
                }
                if !sep {
                    return Ok(false);
                }
            }
        }
        for x in &a.objs {
            for y in &b.objs {
                if self.and_obj(x, y, "")?.is_empty() {
                    continue;
                }
                let mut sep = false;
                let keys: Vec<String> = x
                    .required
                    .iter()
                    .chain(y.required.iter())
                    .cloned()
                    .collect();
                for k in keys {
                    let vx = self.eff(x, &k)?;
                    let vy = self.eff(y, &k)?;
                    if self.disjoint_ids(vx, vy, depth)? {
                        sep = true;
                        break;
                    }
                }
                if !sep {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// `context ∧ oneOf(ids)`: the sibling keywords take part in the disjointness proofs
    /// (a discriminator key is often required next to the `oneOf`, not inside it).
    pub(crate) fn one_of(&mut self, context: &Norm, ids: &[Id], ptr: &str) -> Result<Norm> {
        let mut norms: Vec<Rc<Norm>> = Vec::new();
        for &id in ids {
            let n = self.norm(id)?;
            norms.push(Rc::new(self.and_norm(context, &n, ptr)?));
        }
        let k = norms.len();
        let mut overlap = vec![vec![false; k]; k];
        let mut all_disjoint = true;
        for i in 0..k {
            for j in i + 1..k {
                if !self.disjoint(&norms[i], &norms[j], 6) {
                    overlap[i][j] = true;
                    overlap[j][i] = true;
                    all_disjoint = false;
                }
            }
        }
        let mut u = Norm::never();
        if all_disjoint || self.opts.relax.contains(&Relaxation::OneOfAsAnyOf) {
            for n in &norms {
                u = self.or_norm(&u, n);
            }
            return Ok(u);
        }
        for i in 0..k {
            let mut part = (*norms[i]).clone();
            for j in 0..k {
                if j == i || !overlap[i][j] {
                    continue;
                }
                let nj = self.not(ids[j], ptr);
                let c = self.norm(nj).map_err(|e| {
                    Error::new(
                        if e.kind() == ErrorKind::LimitExceeded {
                            ErrorKind::LimitExceeded
                        } else {
                            ErrorKind::JsonSchema
                        },
                        format!(
                            "\"oneOf\" branches {i} and {j} may overlap and branch {j} cannot be negated exactly ({}) at {}",
                            e.message(),
                            super::ctx::at(ptr)
                        ),
                    )
                })?;
                part = self.and_norm(&part, &c, ptr)?;
                if part.is_never() {
                    break;
                }
            }
            u = self.or_norm(&u, &part);
        }
        Ok(u)
    }
}
