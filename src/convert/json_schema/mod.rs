//! JSON Schema → grammar.
//!
//! [`grammar_from_json_schema`] turns a schema (drafts 4 to 2020-12) into a [`Grammar`]
//! that accepts exactly the JSON texts the schema allows, in the output style chosen by
//! [`JsonSchemaOptions`] (whitespace, indentation, separators), with object properties in
//! the order the schema declares them. What cannot be expressed exactly is refused with an
//! [`ErrorKind::JsonSchema`] error naming the keyword and the JSON pointer of the schema,
//! unless an opt-in [`Relaxation`] allows a named approximation.
//!
//! Pipeline (one module each):
//! - `doc`: the document, `$id`/`$anchor` index, `$ref` resolution (local only);
//! - `build`: keywords of one schema object → a normal form (`ir`): per JSON type, a union
//!   of constraint conjunctions; children are lazily normalized nodes (`ctx`);
//! - `ops`: intersection (`allOf`), union (`anyOf`), complement (`not`, `if`), disjointness
//!   and exact `oneOf`;
//! - `lower`: normal forms → grammar rules, with `numbers` (exact digit automata for ranges
//!   and `multipleOf`), `strings` (canonical JSON string spelling, lengths, patterns) and
//!   `formats`; `regular` provides the automata operations these need.
//!
//! Values are written in one canonical spelling each (numbers without exponent, trailing
//! fraction zeros or `-0`; strings with only the escapes JSON requires), except that a number
//! with no constraint at all accepts any JSON number spelling. Extra object keys (allowed by
//! `additionalProperties`/`patternProperties`, or by default when `strict_mode` is off) come
//! after the declared ones and are never one of the declared names; their uniqueness among
//! themselves is not checked.
//!
//! ```
//! use xgr::convert::json_schema::{grammar_from_json_schema, JsonSchemaOptions};
//! let g = grammar_from_json_schema(
//!     r#"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}"#,
//!     &JsonSchemaOptions::default(),
//! )
//! .unwrap();
//! assert!(!g.rules().is_empty());
//! ```

mod arrays;
mod build;
mod ctx;
mod doc;
mod formats;
mod ir;
mod lower;
mod numbers;
mod ops;
mod regular;
mod strings;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::grammar::Grammar;

/// Options of the conversion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonSchemaOptions {
    /// Allow any JSON whitespace (`[ \t\n\r]*`, bounded by `max_whitespace_cnt`) between
    /// tokens (default true). When false, the layout is fixed by `indent` and `separators`.
    pub any_whitespace: bool,
    /// Without `any_whitespace`: `None` = everything on one line; `Some(n)` = pretty-printed
    /// with `n` spaces per level, as Python's `json.dumps(indent=n)`.
    pub indent: Option<usize>,
    /// Without `any_whitespace`: (item separator, key separator). Default as XGrammar and
    /// Python: `(", ", ": ")` on one line, `(",", ": ")` with `indent`.
    pub separators: Option<(String, String)>,
    /// No undeclared object properties or array items unless the schema allows them
    /// explicitly (default true). Applies to objects that declare properties and arrays that
    /// declare positional items; `false` gives the JSON Schema semantics.
    pub strict_mode: bool,
    /// With `any_whitespace`: at most this many whitespace characters in a row.
    pub max_whitespace_cnt: Option<usize>,
    /// Opt-in approximations (default none).
    pub relax: Vec<Relaxation>,
}

impl Default for JsonSchemaOptions {
    fn default() -> Self {
        JsonSchemaOptions {
            any_whitespace: true,
            indent: None,
            separators: None,
            strict_mode: true,
            max_whitespace_cnt: None,
            relax: Vec::new(),
        }
    }
}

/// A named approximation the caller accepts instead of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Relaxation {
    /// `oneOf` whose branches cannot be proven disjoint nor made exact becomes `anyOf`
    /// (instances matching several branches are accepted).
    OneOfAsAnyOf,
    /// `uniqueItems: true` is ignored (duplicate items are accepted).
    IgnoreUniqueItems,
    /// Formats the specification defines but no automaton here expresses (`regex`,
    /// `idn-email`, `idn-hostname`) are ignored (any string is accepted). Names no draft
    /// defines are annotations and never constrain, with or without this.
    IgnoreUnsupportedFormats,
}

/// Converts a schema given as JSON text. Malformed JSON is an [`ErrorKind::Json`] error
/// with its line and column; nesting deeper than the JSON reader's limit is
/// [`ErrorKind::LimitExceeded`].
pub fn grammar_from_json_schema(schema: &str, opts: &JsonSchemaOptions) -> Result<Grammar> {
    let v: Value = serde_json::from_str(schema).map_err(|e| {
        let msg = e.to_string();
        let kind = if msg.contains("recursion limit") {
            ErrorKind::LimitExceeded
        } else {
            ErrorKind::Json
        };
        Error::new(kind, format!("invalid JSON schema text: {msg}"))
    })?;
    grammar_from_json_value(&v, opts)
}

/// Converts a schema given as a parsed JSON value.
pub fn grammar_from_json_value(schema: &Value, opts: &JsonSchemaOptions) -> Result<Grammar> {
    if !matches!(schema, Value::Object(_) | Value::Bool(_)) {
        return Err(Error::new(
            ErrorKind::JsonSchema,
            "a schema must be an object or a boolean at the root",
        ));
    }
    check_depth(schema)?;
    regular::reset_work();
    let mut ctx = ctx::Ctx::new(schema, opts);
    let root = ctx.raw(schema, "");
    lower::lower(&mut ctx, root, opts)
}

/// Rejects documents nested deeper than [`ctx::MAX_DEPTH`] levels (iteratively, so that the
/// check itself cannot overflow the stack).
fn check_depth(v: &Value) -> Result<()> {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        if d > ctx::MAX_DEPTH * 2 {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the schema document is nested deeper than {} levels",
                    ctx::MAX_DEPTH * 2
                ),
            ));
        }
        match v {
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    Ok(())
}
