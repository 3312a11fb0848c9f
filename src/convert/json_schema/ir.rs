//! The normalized schema: a union of per-type constraint conjunctions.
//!
//! Every schema is brought to the form of a [`Norm`]: which of `null`, `true`, `false` are
//! allowed, and for numbers, strings, arrays and objects a list of alternative conjunctions
//! ([`NumC`], [`StrC`], [`ArrC`], [`ObjC`]). An empty list excludes the type; a list holding
//! the unconstrained conjunction allows every value of the type. Child schemas (property
//! values, array items, `contains`, …) are [`Id`]s of other nodes, resolved lazily, so
//! recursive schemas stay finite.
//!
//! This form makes `allOf` a per-type cross product of conjunctions, `anyOf` a concatenation,
//! and `not` a per-type complement (each conjunction's complement is a union of single-atom
//! conjunctions). `const`/`enum` values decompose structurally: an object literal is an
//! object with exactly its keys, each with a literal value.

use std::rc::Rc;

use crate::error::{Error, ErrorKind, Result};

use super::numbers::{Bound, Dec, above, below};
use super::strings::{Rx, StrC};

/// A schema node in the context's arena.
pub(crate) type Id = u32;
/// The node of `true`.
pub(crate) const ANY: Id = 0;
/// The node of `false`.
pub(crate) const NEVER: Id = 1;

/// A conjunction of number constraints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NumC {
    pub lo: Option<Bound>,
    pub hi: Option<Bound>,
    /// Must be a multiple of each (1 = integer).
    pub mult: Vec<Dec>,
    /// Must not be a multiple of any.
    pub not_mult: Vec<Dec>,
    /// When set, the only allowed values (already filtered).
    pub lits: Option<Vec<Dec>>,
}

fn one() -> Dec {
    Dec::parse("1").unwrap()
}

fn mult_err(m: &Dec) -> Error {
    Error::new(
        ErrorKind::JsonSchema,
        format!("multipleOf {} is too large to check exactly", m.text()),
    )
}

impl NumC {
    pub fn any() -> NumC {
        NumC {
            lo: None,
            hi: None,
            mult: vec![],
            not_mult: vec![],
            lits: None,
        }
    }

    pub fn integer() -> NumC {
        NumC {
            mult: vec![one()],
            ..NumC::any()
        }
    }

    pub fn is_any(&self) -> bool {
        *self == NumC::any()
    }

    pub fn is_integer(&self) -> bool {
        self.mult.iter().any(|m| m.is_integer())
    }

    pub fn lits(mut v: Vec<Dec>) -> NumC {
        v.sort();
        v.dedup();
        NumC {
            lits: Some(v),
            ..NumC::any()
        }
    }

    /// Whether a value satisfies every constraint except the literal set.
    pub fn admits(&self, x: &Dec) -> Result<bool> {
        if !above(x, &self.lo) || !below(x, &self.hi) {
            return Ok(false);
        }
        for m in &self.mult {
            if !x.is_multiple_of(m).ok_or_else(|| mult_err(m))? {
                return Ok(false);
            }
        }
        for m in &self.not_mult {
            if x.is_multiple_of(m).ok_or_else(|| mult_err(m))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub fn and(&self, o: &NumC) -> Result<Option<NumC>> {
        let lo = match (&self.lo, &o.lo) {
            (Some(a), Some(b)) => Some(if a.0 > b.0 || (a.0 == b.0 && a.1) {
                a.clone()
            } else {
                b.clone()
            }),
            (a, b) => a.clone().or(b.clone()),
        };
        let hi = match (&self.hi, &o.hi) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 || (a.0 == b.0 && a.1) {
                a.clone()
            } else {
                b.clone()
            }),
            (a, b) => a.clone().or(b.clone()),
        };
        let mut c = NumC {
            lo,
            hi,
            mult: self.mult.clone(),
            not_mult: self.not_mult.clone(),
            lits: None,
        };
        for m in &o.mult {
            if !c.mult.contains(m) {
                c.mult.push(m.clone());
            }
        }
        for m in &o.not_mult {
            if !c.not_mult.contains(m) {
                c.not_mult.push(m.clone());
            }
        }
        // Drop multiples implied by others (e.g. 1 when 2 is required).
        let ms = c.mult.clone();
        c.mult.retain(|m| {
            !ms.iter()
                .any(|n| n != m && n.is_multiple_of(m) == Some(true))
        });
        if c.not_mult
            .iter()
            .any(|n| c.mult.iter().any(|m| m.is_multiple_of(n) == Some(true)))
        {
            return Ok(None);
        }
        if let (Some((a, sa)), Some((b, sb))) = (&c.lo, &c.hi)
            && (a > b || (a == b && (*sa || *sb)))
        {
            return Ok(None);
        }
        let lits = match (&self.lits, &o.lits) {
            (None, None) => None,
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (Some(a), Some(b)) => Some(a.iter().filter(|x| b.contains(x)).cloned().collect()),
        };
        if let Some(l) = lits {
            let mut keep = Vec::new();
            for x in l {
                if c.admits(&x)? {
                    keep.push(x);
                }
            }
            if keep.is_empty() {
                return Ok(None);
            }
            return Ok(Some(NumC::lits(keep)));
        }
        Ok(Some(c))
    }

    /// The complement among numbers, as a union.
    pub fn complement(&self) -> Vec<NumC> {
        if let Some(l) = &self.lits {
            // Open intervals between the values.
            let mut out = Vec::new();
            let mut prev: Option<&Dec> = None;
            for x in l {
                out.push(NumC {
                    lo: prev.map(|p| (p.clone(), true)),
                    hi: Some((x.clone(), true)),
                    ..NumC::any()
                });
                prev = Some(x);
            }
            out.push(NumC {
                lo: prev.map(|p| (p.clone(), true)),
                ..NumC::any()
            });
            return out;
        }
        let mut out = Vec::new();
        if let Some((v, s)) = &self.lo {
            out.push(NumC {
                hi: Some((v.clone(), !s)),
                ..NumC::any()
            });
        }
        if let Some((v, s)) = &self.hi {
            out.push(NumC {
                lo: Some((v.clone(), !s)),
                ..NumC::any()
            });
        }
        for m in &self.mult {
            out.push(NumC {
                not_mult: vec![m.clone()],
                ..NumC::any()
            });
        }
        for m in &self.not_mult {
            out.push(NumC {
                mult: vec![m.clone()],
                ..NumC::any()
            });
        }
        out
    }
}

/// "At least `min` and at most `max` items from position `from` on match `schema`."
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Contains {
    pub schema: Id,
    pub min: u64,
    pub max: Option<u64>,
    pub from: usize,
}

/// Which items are evaluated, for `unevaluatedItems`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct ArrEval {
    pub prefix: usize,
    pub all: bool,
    pub contains: Vec<Id>,
    /// Derived from `anyOf` branches whose other branches might also have matched.
    pub uncertain: bool,
}

/// A conjunction of array constraints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ArrC {
    pub prefix: Vec<Id>,
    /// Schema of the items after the prefix.
    pub items: Id,
    pub min: u64,
    pub max: Option<u64>,
    pub contains: Vec<Contains>,
    pub unique: bool,
    /// Came from a schema that declares positional items (strict mode closes it).
    pub declared: bool,
    /// Items after the prefix are explicitly allowed (strict mode keeps them).
    pub open: bool,
    pub eval: ArrEval,
}

impl ArrC {
    pub fn any() -> ArrC {
        ArrC {
            prefix: vec![],
            items: ANY,
            min: 0,
            max: None,
            contains: vec![],
            unique: false,
            declared: false,
            open: false,
            eval: ArrEval::default(),
        }
    }

    /// The schema of position `j`.
    pub fn at(&self, j: usize) -> Id {
        self.prefix.get(j).copied().unwrap_or(self.items)
    }

    /// Whether only annotation bookkeeping differs from the unconstrained conjunction.
    pub fn is_any(&self) -> bool {
        self.prefix.iter().all(|&p| p == ANY)
            && self.items == ANY
            && self.min == 0
            && self.max.is_none()
            && self.contains.is_empty()
            && !self.unique
            && !self.declared
    }
}

/// Constraint on keys that are not named in [`ObjC::props`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ExtraRule {
    /// `patternProperties`: a key matching the pattern must have a value of the schema.
    pub pats: Vec<(Rc<Rx>, Id)>,
    /// `additionalProperties`: for keys matching none of the patterns.
    pub add: Id,
}

/// "Some key not named in `props`, in the language `key`, has a value of `value`" (the
/// negation of `additionalProperties`, `patternProperties` or `propertyNames`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Witness {
    pub key: StrC,
    pub value: Id,
}

/// Which properties are evaluated, for `unevaluatedProperties`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct ObjEval {
    pub names: Vec<String>,
    pub pats: Vec<Rc<Rx>>,
    pub all: bool,
    pub uncertain: bool,
}

/// A conjunction of object constraints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ObjC {
    /// Named keys, in output order, each with its complete value schema (`NEVER` = the key
    /// may not appear).
    pub props: Vec<(String, Id)>,
    /// Keys that must appear (sorted; all are in `props`).
    pub required: Vec<String>,
    /// Constraints on every other key (all must hold).
    pub extra: Vec<ExtraRule>,
    pub min: u64,
    pub max: Option<u64>,
    /// `propertyNames` schemas (all keys must satisfy each).
    pub names: Vec<Id>,
    /// For each, at least one other key must satisfy it.
    pub witnesses: Vec<Witness>,
    /// Came from a schema that declares properties (strict mode closes it).
    pub declared: bool,
    /// Other keys are explicitly allowed (strict mode keeps them).
    pub open: bool,
    pub eval: ObjEval,
}

impl ObjC {
    pub fn any() -> ObjC {
        ObjC {
            props: vec![],
            required: vec![],
            extra: vec![],
            min: 0,
            max: None,
            names: vec![],
            witnesses: vec![],
            declared: false,
            open: false,
            eval: ObjEval::default(),
        }
    }

    pub fn is_any(&self) -> bool {
        self.props.iter().all(|(_, v)| *v == ANY)
            && self.required.is_empty()
            && self
                .extra
                .iter()
                .all(|r| r.add == ANY && r.pats.iter().all(|(_, v)| *v == ANY))
            && self.min == 0
            && self.max.is_none()
            && self.names.iter().all(|&n| n == ANY)
            && self.witnesses.is_empty()
            && !self.declared
    }

    pub fn prop(&self, k: &str) -> Option<Id> {
        self.props.iter().find(|(n, _)| n == k).map(|(_, v)| *v)
    }

    pub fn require(&mut self, k: &str) {
        if let Err(i) = self.required.binary_search_by(|x| x.as_str().cmp(k)) {
            self.required.insert(i, k.to_string());
        }
    }
}

/// A normalized schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Norm {
    pub null: bool,
    pub tru: bool,
    pub fal: bool,
    pub nums: Vec<NumC>,
    pub strs: Vec<StrC>,
    pub arrs: Vec<ArrC>,
    pub objs: Vec<ObjC>,
}

impl Norm {
    pub fn any() -> Norm {
        Norm {
            null: true,
            tru: true,
            fal: true,
            nums: vec![NumC::any()],
            strs: vec![StrC::any()],
            arrs: vec![ArrC::any()],
            objs: vec![ObjC::any()],
        }
    }

    pub fn never() -> Norm {
        Norm {
            null: false,
            tru: false,
            fal: false,
            nums: vec![],
            strs: vec![],
            arrs: vec![],
            objs: vec![],
        }
    }

    pub fn is_never(&self) -> bool {
        !self.null
            && !self.tru
            && !self.fal
            && self.nums.is_empty()
            && self.strs.is_empty()
            && self.arrs.is_empty()
            && self.objs.is_empty()
    }

    /// Keeps only the listed JSON types (`integer` narrows numbers).
    pub fn only_types(&mut self, types: &[&str]) {
        let has = |t: &str| types.contains(&t);
        self.null &= has("null");
        self.tru &= has("boolean");
        self.fal &= has("boolean");
        if !has("number") {
            if has("integer") {
                let int = NumC::integer();
                let mut v = Vec::new();
                for n in &self.nums {
                    if let Ok(Some(x)) = n.and(&int) {
                        v.push(x);
                    }
                }
                self.nums = v;
            } else {
                self.nums.clear();
            }
        }
        if !has("string") {
            self.strs.clear();
        }
        if !has("array") {
            self.arrs.clear();
        }
        if !has("object") {
            self.objs.clear();
        }
    }
}
