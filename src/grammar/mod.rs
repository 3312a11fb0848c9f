//! The grammar IR: rules made of byte strings, code-point classes, rule references,
//! sequences, choices, bounded repetitions, and an optional lookahead assertion per rule.
//!
//! Every front end (EBNF, regex, JSON Schema, structural tags) lowers to [`Grammar`];
//! the compiler turns it into byte automata. `Grammar::to_ebnf()` prints it back in the
//! EBNF dialect, and the printed text re-parses to the same language.
//!
//! ```
//! let g = xgr::Grammar::from_ebnf("root ::= \"a\" [0-9]+", "root").unwrap();
//! assert_eq!(g.rule(g.root()).name, "root");
//! ```

mod builtin;
mod ebnf;
mod print;

use crate::error::{Error, Result};

/// Index of a rule inside a [`Grammar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Highest Unicode scalar value.
pub const MAX_CODE_POINT: u32 = 0x10FFFF;

/// A set of Unicode code points: inclusive ranges, optionally negated.
///
/// Negation is taken over all Unicode scalar values (surrogates excluded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CharClass {
    /// Match every code point *not* in `ranges`.
    pub negated: bool,
    /// Inclusive code-point ranges, in any order, possibly overlapping.
    pub ranges: Vec<(u32, u32)>,
}

impl CharClass {
    /// Whether the ranges are already what [`CharClass::normalized`] returns: not negated,
    /// sorted, disjoint and not adjacent, within Unicode, without surrogates.
    pub fn is_normalized(&self) -> bool {
        !self.negated
            && self
                .ranges
                .iter()
                .all(|&(lo, hi)| lo <= hi && hi <= MAX_CODE_POINT && (hi < 0xD800 || lo > 0xDFFF))
            && self
                .ranges
                .windows(2)
                .all(|w| w[0].1.saturating_add(1) < w[1].0)
    }

    /// The matched code points as sorted, disjoint, inclusive ranges, negation applied and
    /// surrogates (U+D800..U+DFFF) removed.
    pub fn normalized(&self) -> Vec<(u32, u32)> {
        if self.is_normalized() {
            return self.ranges.clone();
        }
        let mut r: Vec<(u32, u32)> = self
            .ranges
            .iter()
            .filter(|(lo, hi)| lo <= hi)
            .map(|&(lo, hi)| (lo, hi.min(MAX_CODE_POINT)))
            .filter(|(lo, hi)| lo <= hi)
            .collect();
        r.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(r.len());
        for (lo, hi) in r {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let set = if self.negated {
            let mut out = Vec::new();
            let mut next = 0u32;
            for (lo, hi) in merged {
                if lo > next {
                    out.push((next, lo - 1));
                }
                next = hi + 1;
            }
            if next <= MAX_CODE_POINT {
                out.push((next, MAX_CODE_POINT));
            }
            out
        } else {
            merged
        };
        // Remove surrogates.
        let mut out = Vec::with_capacity(set.len() + 1);
        for (lo, hi) in set {
            if hi < 0xD800 || lo > 0xDFFF {
                out.push((lo, hi));
            } else {
                if lo < 0xD800 {
                    out.push((lo, 0xD7FF));
                }
                if hi > 0xDFFF {
                    out.push((0xE000, hi));
                }
            }
        }
        out
    }
}

/// A grammar expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A literal byte string; empty means the empty string.
    Bytes(Vec<u8>),
    /// One code point from a class, matched as its UTF-8 encoding.
    Class(CharClass),
    /// A reference to another rule.
    Ref(RuleId),
    /// Each item in order.
    Seq(Vec<Expr>),
    /// Any one of the alternatives; an empty list matches nothing.
    Alt(Vec<Expr>),
    /// `expr` repeated between `min` and `max` times (`None` = unbounded).
    Repeat {
        /// The repeated expression.
        expr: Box<Expr>,
        /// Least number of repetitions.
        min: u32,
        /// Most repetitions; `None` for no bound.
        max: Option<u32>,
    },
}

impl Expr {
    /// The empty string.
    pub fn empty() -> Expr {
        Expr::Bytes(Vec::new())
    }
    /// A literal string.
    pub fn lit(s: &str) -> Expr {
        Expr::Bytes(s.as_bytes().to_vec())
    }
    /// Calls `f` on every rule this expression references.
    pub fn for_each_ref(&self, f: &mut impl FnMut(RuleId)) {
        match self {
            Expr::Bytes(_) | Expr::Class(_) => {}
            Expr::Ref(r) => f(*r),
            Expr::Seq(v) | Expr::Alt(v) => v.iter().for_each(|e| e.for_each_ref(f)),
            Expr::Repeat { expr, .. } => expr.for_each_ref(f),
        }
    }
    fn map_refs(&mut self, f: &impl Fn(RuleId) -> RuleId) {
        match self {
            Expr::Bytes(_) | Expr::Class(_) => {}
            Expr::Ref(r) => *r = f(*r),
            Expr::Seq(v) | Expr::Alt(v) => v.iter_mut().for_each(|e| e.map_refs(f)),
            Expr::Repeat { expr, .. } => expr.map_refs(f),
        }
    }
}

/// A named rule: `name ::= body (= lookahead)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The rule's name, unique within its grammar.
    pub name: String,
    /// What the rule matches.
    pub body: Expr,
    /// A positive lookahead assertion: the text after the rule must begin with a string of
    /// this language. It consumes nothing.
    pub lookahead: Option<Expr>,
}

/// A context-free grammar over bytes, with a root rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grammar {
    rules: Vec<Rule>,
    root: RuleId,
    /// Rules the compiler keeps as automata of their own rather than inlining them (a
    /// hint; see [`Grammar::with_apart`]).
    apart: Vec<RuleId>,
    /// Texts along which compiling computes the token classes ahead (a structural tag's
    /// triggers; see [`Grammar::with_warm_texts`]).
    warm: Vec<String>,
}

impl Grammar {
    /// A grammar from its rules and root. Checks that names are unique and non-empty and
    /// that every reference points at a rule.
    pub fn new(rules: Vec<Rule>, root: RuleId) -> Result<Grammar> {
        if root.index() >= rules.len() {
            return Err(Error::syntax(format!(
                "root rule id {} out of range ({} rules)",
                root.0,
                rules.len()
            )));
        }
        let mut names = crate::fxhash::FxHashSet::default();
        for r in &rules {
            if r.name.is_empty() {
                return Err(Error::syntax("rule with an empty name"));
            }
            if !names.insert(r.name.as_str()) {
                return Err(Error::syntax(format!("rule `{}` is defined twice", r.name)));
            }
            let mut bad = None;
            let mut check = |id: RuleId| {
                if id.index() >= rules.len() {
                    bad = Some(id);
                }
            };
            r.body.for_each_ref(&mut check);
            if let Some(la) = &r.lookahead {
                la.for_each_ref(&mut check);
            }
            if let Some(id) = bad {
                return Err(Error::syntax(format!(
                    "rule `{}` references rule id {} which does not exist",
                    r.name, id.0
                )));
            }
        }
        Ok(Grammar {
            rules,
            root,
            apart: Vec::new(),
            warm: Vec::new(),
        })
    }

    /// Parses XGrammar's EBNF dialect (a superset of GBNF). `root_rule` names the start rule.
    pub fn from_ebnf(src: &str, root_rule: &str) -> Result<Grammar> {
        ebnf::parse(src, root_rule)
    }

    /// The builtin JSON grammar (RFC 8259): the top-level value is an object or an array
    /// (as in XGrammar), whitespace `[ \t\n\r]*` between tokens and none around the document.
    pub fn builtin_json() -> Grammar {
        builtin::json()
    }

    /// A grammar matching exactly the strings of a regular expression (whole match).
    pub fn from_regex(pattern: &str) -> Result<Grammar> {
        crate::convert::regex::regex_to_grammar(pattern)
    }

    /// A grammar of the JSON texts a JSON Schema validates (see
    /// [`crate::convert::json_schema`] for the options, the supported keywords and the
    /// refusals).
    pub fn from_json_schema(
        schema: &str,
        opts: &crate::convert::json_schema::JsonSchemaOptions,
    ) -> Result<Grammar> {
        crate::convert::json_schema::grammar_from_json_schema(schema, opts)
    }

    /// A grammar from XGrammar's structural-tag JSON format (see
    /// [`crate::convert::structural_tag`]).
    pub fn from_structural_tag(json: &str) -> Result<Grammar> {
        crate::convert::structural_tag::grammar_from_structural_tag(json)
    }

    /// Prints the grammar in the EBNF dialect; the text re-parses to the same language.
    pub fn to_ebnf(&self) -> String {
        print::to_ebnf(self)
    }

    /// The rules, indexed by [`RuleId`].
    /// The rules and the root, taken apart (without the hints of [`Self::with_apart`]).
    pub(crate) fn into_parts(self) -> (Vec<Rule>, RuleId) {
        (self.rules, self.root)
    }

    /// The same grammar with `ids` kept as automata of their own when compiled: rules that
    /// reference no other rule and recur unchanged across grammars (the free text of
    /// `triggered_tags`), whose token classes the compiler then shares between grammars.
    /// The language does not change.
    pub(crate) fn with_apart(mut self, ids: Vec<RuleId>) -> Grammar {
        self.apart = ids
            .into_iter()
            .filter(|&r| r.index() < self.rules.len() && r != self.root)
            .collect();
        self
    }

    /// The same grammar with texts whose states the compiler classifies ahead, as the
    /// tokenizer splits each from the start (a hint: the states a walk meets inside a
    /// structural tag's trigger, each a new classification of the free text under the
    /// root).
    pub(crate) fn with_warm_texts(mut self, texts: Vec<String>) -> Grammar {
        self.warm = texts;
        self
    }

    /// The texts of [`Self::with_warm_texts`].
    pub(crate) fn warm_texts(&self) -> &[String] {
        &self.warm
    }

    /// Whether rule `r` is to be kept apart ([`Self::with_apart`]).
    pub(crate) fn is_apart(&self, r: RuleId) -> bool {
        self.apart.contains(&r)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// One rule.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }
    /// The start rule.
    pub fn root(&self) -> RuleId {
        self.root
    }
    /// The id of the rule called `name`.
    pub fn rule_id(&self, name: &str) -> Option<RuleId> {
        self.rules
            .iter()
            .position(|r| r.name == name)
            .map(|i| RuleId(i as u32))
    }

    /// A grammar matching any string one of `grammars` matches.
    pub fn union(grammars: &[Grammar]) -> Result<Grammar> {
        Self::combine(grammars, Expr::Alt)
    }

    /// A grammar matching the concatenation of strings of `grammars`, in order.
    pub fn concat(grammars: &[Grammar]) -> Result<Grammar> {
        Self::combine(grammars, Expr::Seq)
    }

    fn combine(grammars: &[Grammar], join: fn(Vec<Expr>) -> Expr) -> Result<Grammar> {
        if grammars.is_empty() {
            return Err(Error::invalid("union/concat of zero grammars"));
        }
        let mut rules = vec![Rule {
            name: "root".into(),
            body: Expr::empty(),
            lookahead: None,
        }];
        let mut parts = Vec::new();
        for (gi, g) in grammars.iter().enumerate() {
            let base = rules.len() as u32;
            for r in &g.rules {
                let mut r = r.clone();
                r.name = format!("g{gi}_{}", r.name);
                r.body.map_refs(&|id| RuleId(id.0 + base));
                if let Some(la) = &mut r.lookahead {
                    la.map_refs(&|id| RuleId(id.0 + base));
                }
                rules.push(r);
            }
            parts.push(Expr::Ref(RuleId(g.root.0 + base)));
        }
        rules[0].body = join(parts);
        Grammar::new(rules, RuleId(0))
    }
}

impl std::fmt::Display for Grammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_ebnf())
    }
}
