//! The conversion context: the arena of schema nodes and their lazy normalization.
//!
//! A node is a schema location in the document, a conjunction (`allOf`, merged properties),
//! a complement (`not`), a literal (`const`/`enum` member) or an already normalized
//! [`Norm`]. Nodes are memoized (by pointer, by member set, by operand), so recursive schemas
//! and repeated merges of the same pair produce finite graphs. A node is normalized on first
//! use; meeting a node that is still being normalized means a reference cycle that passes
//! through no object property or array item, which has no base case and is an error.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

use super::JsonSchemaOptions;
use super::doc::Doc;
use super::ir::{ANY, Id, NEVER, Norm};
use super::strings::Rx;

/// Deepest chain of schemas normalized inside one another (`allOf`, `$ref`, `not`, …).
pub(crate) const MAX_DEPTH: usize = 128;

/// The dynamic scope: resources with dynamic anchors entered so far, outermost first.
pub(crate) type Scope = Rc<Vec<String>>;

#[derive(Clone)]
enum Slot<'a> {
    Raw(&'a Value, Scope),
    And(Vec<Id>),
    Or(Vec<Id>),
    Not(Id),
    Lit(&'a Value),
    Ready(Rc<Norm>),
    Busy,
}

pub(crate) struct Ctx<'a> {
    pub opts: &'a JsonSchemaOptions,
    pub doc: Doc<'a>,
    slots: Vec<Slot<'a>>,
    /// JSON pointer of each node, for messages.
    origin: Vec<Rc<str>>,
    raw_memo: HashMap<String, Id>,
    and_memo: HashMap<Vec<Id>, Id>,
    not_memo: HashMap<Id, Id>,
    pub rx_cache: HashMap<(String, bool), Rc<Rx>>,
    depth: usize,
    /// The dynamic scope of the schema being built.
    pub scope: Scope,
}

/// Formats a JSON pointer for messages.
pub(crate) fn at(ptr: &str) -> String {
    if ptr.is_empty() {
        "the root".to_string()
    } else {
        ptr.to_string()
    }
}

/// A schema error at a pointer.
pub(crate) fn schema_err(ptr: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::JsonSchema, format!("{msg} at {}", at(ptr)))
}

impl<'a> Ctx<'a> {
    pub fn new(root: &'a Value, opts: &'a JsonSchemaOptions) -> Ctx<'a> {
        let mut c = Ctx {
            opts,
            doc: Doc::new(root),
            slots: Vec::new(),
            origin: Vec::new(),
            raw_memo: HashMap::new(),
            and_memo: HashMap::new(),
            not_memo: HashMap::new(),
            rx_cache: HashMap::new(),
            depth: 0,
            scope: Rc::new(Vec::new()),
        };
        let any = c.push(Slot::Ready(Rc::new(Norm::any())), "");
        let never = c.push(Slot::Ready(Rc::new(Norm::never())), "");
        debug_assert_eq!((any, never), (ANY, NEVER));
        c
    }

    fn push(&mut self, s: Slot<'a>, origin: &str) -> Id {
        self.slots.push(s);
        self.origin.push(origin.into());
        (self.slots.len() - 1) as Id
    }

    /// The pointer a node comes from.
    pub fn origin(&self, id: Id) -> Rc<str> {
        self.origin[id as usize].clone()
    }

    /// The node of the schema at `ptr`.
    pub fn raw(&mut self, v: &'a Value, ptr: &str) -> Id {
        match v {
            Value::Bool(true) => return ANY,
            Value::Bool(false) => return NEVER,
            _ => {}
        }
        let key = if self.doc.dynamic {
            format!("{ptr}\u{0}{}", self.scope.join("\u{1}"))
        } else {
            ptr.to_string()
        };
        if let Some(&id) = self.raw_memo.get(&key) {
            return id;
        }
        let id = self.push(Slot::Raw(v, self.scope.clone()), ptr);
        self.raw_memo.insert(key, id);
        id
    }

    /// The node of a literal value.
    pub fn lit(&mut self, v: &'a Value, ptr: &str) -> Id {
        self.push(Slot::Lit(v), ptr)
    }

    /// The conjunction of nodes.
    pub fn and(&mut self, ids: &[Id], origin: &str) -> Id {
        let mut v: Vec<Id> = Vec::new();
        for &i in ids {
            if i == NEVER {
                return NEVER;
            }
            if i == ANY {
                continue;
            }
            // Flatten nested conjunctions.
            if let Slot::And(inner) = &self.slots[i as usize] {
                v.extend_from_slice(inner);
            } else {
                v.push(i);
            }
        }
        // Keep the first occurrence of each operand, in order (it decides property order).
        let mut seen = std::collections::HashSet::new();
        v.retain(|x| seen.insert(*x));
        match v.len() {
            0 => ANY,
            1 => v[0],
            _ => {
                let mut key = v.clone();
                key.sort_unstable();
                if let Some(&id) = self.and_memo.get(&key) {
                    return id;
                }
                let id = self.push(Slot::And(v), origin);
                self.and_memo.insert(key, id);
                id
            }
        }
    }

    /// The union of nodes.
    pub fn or(&mut self, ids: &[Id], origin: &str) -> Id {
        let mut v: Vec<Id> = ids.iter().copied().filter(|&i| i != NEVER).collect();
        if v.contains(&ANY) {
            return ANY;
        }
        v.sort_unstable();
        v.dedup();
        match v.len() {
            0 => NEVER,
            1 => v[0],
            _ => self.push(Slot::Or(v), origin),
        }
    }

    /// The complement of a node.
    pub fn not(&mut self, id: Id, origin: &str) -> Id {
        match id {
            ANY => return NEVER,
            NEVER => return ANY,
            _ => {}
        }
        if let Slot::Not(x) = self.slots[id as usize] {
            return x;
        }
        if let Some(&n) = self.not_memo.get(&id) {
            return n;
        }
        let n = self.push(Slot::Not(id), origin);
        self.not_memo.insert(id, n);
        self.not_memo.insert(n, id);
        n
    }

    /// The normal form of a node, computed on first use.
    pub fn norm(&mut self, id: Id) -> Result<Rc<Norm>> {
        let slot = self.slots[id as usize].clone();
        let origin = self.origin[id as usize].clone();
        if let Slot::Ready(n) = slot {
            return Ok(n);
        }
        if let Slot::Busy = slot {
            return Err(schema_err(
                &origin,
                "reference cycle with no base case (the schema refers to itself without going \
                 through a property or an item)",
            ));
        }
        if self.depth >= MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "schema nesting deeper than {MAX_DEPTH} levels at {}",
                    at(&origin)
                ),
            ));
        }
        self.slots[id as usize] = Slot::Busy;
        self.depth += 1;
        let r = match &slot {
            Slot::Raw(v, scope) => {
                let saved = std::mem::replace(&mut self.scope, scope.clone());
                let r = self.build(v, &origin);
                self.scope = saved;
                r
            }
            Slot::And(ids) => (|| {
                let mut acc = Norm::any();
                for &i in ids {
                    let n = self.norm(i)?;
                    acc = self.and_norm(&acc, &n, &origin)?;
                    if acc.is_never() {
                        break;
                    }
                }
                Ok(acc)
            })(),
            Slot::Or(ids) => (|| {
                let mut acc = Norm::never();
                for &i in ids {
                    let n = self.norm(i)?;
                    acc = self.or_norm(&acc, &n);
                }
                Ok(acc)
            })(),
            Slot::Not(x) => (|| {
                let n = self.norm(*x)?;
                self.not_norm(&n, &origin)
            })(),
            Slot::Lit(v) => self.lit_norm(v, &origin),
            Slot::Ready(_) | Slot::Busy => unreachable!(),
        };
        self.depth -= 1;
        match r {
            Ok(n) => {
                let n = Rc::new(n);
                self.slots[id as usize] = Slot::Ready(n.clone());
                Ok(n)
            }
            Err(e) => {
                self.slots[id as usize] = slot;
                Err(e)
            }
        }
    }

    /// Whether a node allows no value, as far as its normal form shows.
    pub fn is_never(&mut self, id: Id) -> Result<bool> {
        Ok(id == NEVER || self.norm(id)?.is_never())
    }
}
