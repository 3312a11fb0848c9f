//! Structural tags (XGrammar's JSON format) → grammar.
//!
//! Serving engines describe tool calls inside free-form answers with a structural tag:
//! `{"type": "structural_tag", "format": {...}}`, where a format is one of
//!
//! - primitives: `const_string {value}`, `json_schema {json_schema, max_whitespace_cnt}`,
//!   `grammar {grammar}` (EBNF, start rule `root`), `regex {pattern}`,
//!   `any_text {excludes}`;
//! - combinations: `sequence {elements}`, `or {elements}`, `optional`, `plus`, `star`
//!   `{content}`, `repeat {content, min, max}` (`max: -1` = unbounded);
//! - tags: `tag {begin, content, end}` (`end` a string or a list of strings),
//!   `triggered_tags {triggers, tags, at_least_one, stop_after_first, excludes}`,
//!   `tags_with_separator {tags, separator, at_least_one, stop_after_first}`.
//!
//! Free text (`any_text`, the text around `triggered_tags`) inside a tag stops at the tag's
//! end: it never contains one of the end strings. The legacy form — a list of
//! `{begin, schema, end}` items plus triggers — is [`grammar_from_structural_tag_items`] (or
//! the document `{"type": "structural_tag", "structures": [...], "triggers": [...]}`).
//!
//! Modules: `format` reads and checks the document (errors name the JSON path), `text`
//! builds free text that avoids strings as one regular expression (an Aho–Corasick automaton
//! solved back into an expression), `lower` composes the rules.
//!
//! ```
//! use xgr::convert::structural_tag::grammar_from_structural_tag;
//! let g = grammar_from_structural_tag(r#"{"type": "structural_tag", "format": {
//!     "type": "triggered_tags", "triggers": ["<tool_call>"],
//!     "tags": [{"begin": "<tool_call>", "end": "</tool_call>",
//!               "content": {"type": "json_schema", "json_schema": {"type": "object"}}}]}}"#)
//! .unwrap();
//! assert_eq!(g.rule(g.root()).name, "root");
//! ```

mod format;
mod lower;
mod text;

use serde_json::Value;

pub use format::MAX_DEPTH;

use crate::error::{Error, Result};
use crate::grammar::Grammar;

/// One tag of the legacy structural-tag form: `begin`, a JSON document valid for `schema`,
/// `end`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructuralTagItem {
    /// Text that opens the tag.
    pub begin: String,
    /// The JSON Schema of the tag's content, as JSON text.
    pub schema: String,
    /// Text that closes the tag.
    pub end: String,
}

/// Converts a structural tag given as JSON text (`{"type": "structural_tag", "format": ...}`,
/// or the legacy `structures` + `triggers` document).
///
/// Errors: malformed JSON is [`ErrorKind::Json`](crate::ErrorKind::Json); an invalid document
/// is [`ErrorKind::GrammarSyntax`](crate::ErrorKind::GrammarSyntax) naming the JSON path;
/// formats nested deeper than [`MAX_DEPTH`] are
/// [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded); an embedded schema, grammar
/// or regex keeps its own error kind, its message prefixed with the path.
pub fn grammar_from_structural_tag(json: &str) -> Result<Grammar> {
    let v = format::parse_json(json)?;
    grammar_from_structural_tag_value(&v)
}

/// Converts a structural tag given as a parsed JSON value.
pub fn grammar_from_structural_tag_value(v: &Value) -> Result<Grammar> {
    let f = format::parse_document(v)?.into_format();
    lower::lower(&f)
}

/// The legacy form: free text in which each trigger starts one of `items`
/// (`begin`, a JSON document valid for `schema`, `end`); as `triggered_tags` with the
/// defaults. Every item's begin must start with exactly one trigger.
pub fn grammar_from_structural_tag_items(
    items: &[StructuralTagItem],
    triggers: &[String],
) -> Result<Grammar> {
    let mut structures = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let schema: Value = format::parse_json(&it.schema).map_err(|e| {
            Error::new(
                e.kind(),
                format!("invalid structural tag at `structures[{i}].schema`: {e}"),
            )
        })?;
        structures.push(serde_json::json!({
            "begin": it.begin,
            "schema": schema,
            "end": it.end,
        }));
    }
    if structures.is_empty() {
        return Err(format::err_at("structures", "must not be empty"));
    }
    let doc = serde_json::json!({
        "type": "structural_tag",
        "structures": structures,
        "triggers": triggers,
    });
    grammar_from_structural_tag_value(&doc)
}
