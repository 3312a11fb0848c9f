//! The structural-tag document: JSON text → a tree of [`Format`]s.
//!
//! Every object is checked field by field: a missing required field, a field of the wrong
//! type, an unknown `type` or an unknown field is an error whose message names the JSON path
//! (`format.tags[2].content.json_schema`). Nesting is bounded by [`MAX_DEPTH`] formats.
//!
//! ```text
//! {"type": "structural_tag", "format": {"type": "const_string", "value": "hi"}}
//!   → Format::Const("hi")
//! ```

use serde_json::{Map, Value};

use crate::convert::json_schema::JsonSchemaOptions;
use crate::error::{Error, ErrorKind, Result};

/// Most nested formats (a format inside a format's `content` or `elements` is one level).
pub const MAX_DEPTH: usize = 48;

/// One format of the structural-tag language.
#[derive(Debug, Clone)]
pub enum Format {
    /// `const_string`: exactly this text.
    Const(String),
    /// `json_schema`: a JSON document the schema allows.
    JsonSchema {
        /// The schema (object or boolean).
        schema: Value,
        /// Conversion options taken from the format's fields.
        opts: JsonSchemaOptions,
    },
    /// `grammar`: an EBNF grammar whose start rule is `root`.
    Ebnf(String),
    /// `regex`: a whole-match regular expression.
    Regex(String),
    /// `any_text`: any text that contains none of `excludes`.
    AnyText {
        /// Strings the text must not contain.
        excludes: Vec<String>,
    },
    /// `sequence`: each element in order.
    Sequence(Vec<Format>),
    /// `or`: one of the elements.
    Or(Vec<Format>),
    /// `optional` / `plus` / `star` / `repeat`: the content `min..=max` times.
    Repeat {
        /// What is repeated.
        content: Box<Format>,
        /// Least number of times.
        min: u32,
        /// Most number of times; `None` for no bound.
        max: Option<u32>,
    },
    /// `tag`: `begin content end`.
    Tag(Tag),
    /// `triggered_tags`: free text in which each trigger starts one of its tags.
    TriggeredTags {
        /// Strings that start a tag; each is a prefix of the `begin` of some tags.
        triggers: Vec<String>,
        /// The tags.
        tags: Vec<Tag>,
        /// The output must hold at least one tag (and then begins with one).
        at_least_one: bool,
        /// The format ends after the first tag.
        stop_after_first: bool,
        /// Strings the free text must not contain.
        excludes: Vec<String>,
    },
    /// `tags_with_separator`: tags separated by `separator`, nothing else.
    TagsWithSeparator {
        /// The tags.
        tags: Vec<Tag>,
        /// Text between two tags.
        separator: String,
        /// At least one tag.
        at_least_one: bool,
        /// At most one tag.
        stop_after_first: bool,
    },
}

impl Format {
    /// The formats directly inside this one, tag contents included, in order.
    pub(crate) fn children(&self) -> Vec<&Format> {
        match self {
            Format::Sequence(v) | Format::Or(v) => v.iter().collect(),
            Format::Repeat { content, .. } => vec![content],
            Format::Tag(t) => vec![&t.content],
            Format::TriggeredTags { tags, .. } | Format::TagsWithSeparator { tags, .. } => {
                tags.iter().map(|t| &*t.content).collect()
            }
            Format::Const(_)
            | Format::JsonSchema { .. }
            | Format::Ebnf(_)
            | Format::Regex(_)
            | Format::AnyText { .. } => Vec::new(),
        }
    }
}

/// A `tag` format.
#[derive(Debug, Clone)]
pub struct Tag {
    /// The text that opens the tag.
    pub begin: String,
    /// What comes between `begin` and `end`.
    pub content: Box<Format>,
    /// The texts that may close the tag (at least one).
    pub ends: Vec<String>,
}

/// The error of a structural tag at `path`.
pub(crate) fn err_at(path: &str, msg: impl std::fmt::Display) -> Error {
    Error::syntax(format!("invalid structural tag at `{path}`: {msg}"))
}

/// Parses JSON text; malformed text is an [`ErrorKind::Json`] error (nesting beyond the JSON
/// reader's limit is [`ErrorKind::LimitExceeded`]).
pub(crate) fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let kind = if msg.contains("recursion limit") {
            ErrorKind::LimitExceeded
        } else {
            ErrorKind::Json
        };
        Error::new(kind, format!("invalid structural tag JSON text: {msg}"))
    })
}

/// What a structural-tag document holds: a format, or the legacy tag list with triggers.
pub(crate) enum Document {
    /// `{"type": "structural_tag", "format": {...}}`.
    Format(Format),
    /// `{"type": "structural_tag", "structures": [{begin, schema, end}], "triggers": [...]}`.
    Legacy(Format),
}

impl Document {
    /// The format the document describes.
    pub fn into_format(self) -> Format {
        match self {
            Document::Format(f) | Document::Legacy(f) => f,
        }
    }
}

/// Reads the top-level object.
pub(crate) fn parse_document(v: &Value) -> Result<Document> {
    let o = obj(v, "$")?;
    let ty = o
        .get("type")
        .ok_or_else(|| err_at("type", "missing field `type` (expected \"structural_tag\")"))?;
    if ty.as_str() != Some("structural_tag") {
        return Err(err_at(
            "type",
            format!("expected \"structural_tag\", found {}", short(ty)),
        ));
    }
    if o.contains_key("structures") {
        allow(o, "$", &["type", "structures", "triggers"])?;
        let items = arr(get(o, "$", "structures")?, "structures")?;
        let mut tags = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let p = format!("structures[{i}]");
            let io = obj(it, &p)?;
            allow(io, &p, &["begin", "schema", "end"])?;
            let schema = get(io, &p, "schema")?;
            let schema = match schema {
                Value::String(s) => {
                    parse_json(s).map_err(|e| err_at(&format!("{p}.schema"), e.message()))?
                }
                other => other.clone(),
            };
            tags.push(Tag {
                begin: string(get(io, &p, "begin")?, &format!("{p}.begin"))?,
                content: Box::new(Format::JsonSchema {
                    schema,
                    opts: JsonSchemaOptions::default(),
                }),
                ends: vec![string(get(io, &p, "end")?, &format!("{p}.end"))?],
            });
        }
        let triggers = strings(get(o, "$", "triggers")?, "triggers")?;
        return Ok(Document::Legacy(Format::TriggeredTags {
            triggers,
            tags,
            at_least_one: false,
            stop_after_first: false,
            excludes: Vec::new(),
        }));
    }
    allow(o, "$", &["type", "format"])?;
    let f = get(o, "$", "format")?;
    Ok(Document::Format(parse_format(f, "format", 0)?))
}

/// Reads one format at `path`, `depth` formats deep.
pub(crate) fn parse_format(v: &Value, path: &str, depth: usize) -> Result<Format> {
    if depth >= MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("invalid structural tag at `{path}`: formats nested deeper than {MAX_DEPTH}"),
        ));
    }
    let o = obj(v, path)?;
    let ty = match o.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(err_at(
                &format!("{path}.type"),
                format!("expected a string, found {}", short(other)),
            ));
        }
        None => return Err(err_at(path, "missing field `type`")),
    };
    let sub = |key: &str| format!("{path}.{key}");
    let d = depth + 1;
    let f = match ty {
        "const_string" => {
            allow(o, path, &["type", "value"])?;
            Format::Const(string(get(o, path, "value")?, &sub("value"))?)
        }
        "json_schema" => {
            allow(
                o,
                path,
                &[
                    "type",
                    "json_schema",
                    "style",
                    "any_order",
                    "max_whitespace_cnt",
                    "excludes",
                ],
            )?;
            let schema = get(o, path, "json_schema")?;
            if !matches!(schema, Value::Object(_) | Value::Bool(_)) {
                return Err(err_at(
                    &sub("json_schema"),
                    format!("expected an object or a boolean, found {}", short(schema)),
                ));
            }
            if let Some(style) = o.get("style") {
                let s = string(style, &sub("style"))?;
                if s != "json" {
                    return Err(err_at(
                        &sub("style"),
                        format!("style \"{s}\" is not supported (only \"json\")"),
                    ));
                }
            }
            if opt_bool(o, path, "any_order")? {
                return Err(err_at(
                    &sub("any_order"),
                    "`any_order: true` is not supported",
                ));
            }
            if let Some(ex) = o.get("excludes")
                && !strings(ex, &sub("excludes"))?.is_empty()
            {
                return Err(err_at(
                    &sub("excludes"),
                    "excluded substrings in JSON strings are not supported",
                ));
            }
            let mut opts = JsonSchemaOptions::default();
            match o.get("max_whitespace_cnt") {
                None | Some(Value::Null) => {}
                Some(n) => match n.as_u64() {
                    Some(n) if n >= 1 => opts.max_whitespace_cnt = Some(n as usize),
                    _ => {
                        return Err(err_at(
                            &sub("max_whitespace_cnt"),
                            format!("expected a positive integer or null, found {}", short(n)),
                        ));
                    }
                },
            }
            Format::JsonSchema {
                schema: schema.clone(),
                opts,
            }
        }
        "grammar" => {
            allow(o, path, &["type", "grammar", "syntax"])?;
            if let Some(s) = o.get("syntax") {
                let s = string(s, &sub("syntax"))?;
                if s != "ebnf" {
                    return Err(err_at(
                        &sub("syntax"),
                        format!("syntax \"{s}\" is not supported (only \"ebnf\")"),
                    ));
                }
            }
            Format::Ebnf(string(get(o, path, "grammar")?, &sub("grammar"))?)
        }
        "regex" => {
            allow(o, path, &["type", "pattern"])?;
            Format::Regex(string(get(o, path, "pattern")?, &sub("pattern"))?)
        }
        "any_text" => {
            allow(o, path, &["type", "excludes", "max_tokens", "max_chars"])?;
            for key in ["max_tokens", "max_chars"] {
                if let Some(v) = o.get(key)
                    && !v.is_null()
                {
                    return Err(err_at(&sub(key), format!("`{key}` is not supported")));
                }
            }
            Format::AnyText {
                excludes: excludes(o, path)?,
            }
        }
        "sequence" | "or" => {
            allow(o, path, &["type", "elements"])?;
            let items = arr(get(o, path, "elements")?, &sub("elements"))?;
            if items.is_empty() {
                return Err(err_at(&sub("elements"), "must not be empty"));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                out.push(parse_format(it, &format!("{path}.elements[{i}]"), d)?);
            }
            if ty == "sequence" {
                Format::Sequence(out)
            } else {
                Format::Or(out)
            }
        }
        "optional" | "plus" | "star" => {
            allow(o, path, &["type", "content"])?;
            let content = Box::new(parse_format(get(o, path, "content")?, &sub("content"), d)?);
            let (min, max) = match ty {
                "optional" => (0, Some(1)),
                "plus" => (1, None),
                _ => (0, None),
            };
            Format::Repeat { content, min, max }
        }
        "repeat" => {
            allow(o, path, &["type", "content", "min", "max"])?;
            let min = get(o, path, "min")?;
            let min = min
                .as_u64()
                .filter(|&n| n <= u32::MAX as u64)
                .ok_or_else(|| {
                    err_at(
                        &sub("min"),
                        format!("expected a non-negative integer, found {}", short(min)),
                    )
                })? as u32;
            let maxv = get(o, path, "max")?;
            let max = match maxv.as_i64() {
                Some(-1) => None,
                Some(n) if n >= min as i64 && n <= u32::MAX as i64 => Some(n as u32),
                _ => {
                    return Err(err_at(
                        &sub("max"),
                        format!(
                            "expected -1 or an integer >= min ({min}), found {}",
                            short(maxv)
                        ),
                    ));
                }
            };
            let content = Box::new(parse_format(get(o, path, "content")?, &sub("content"), d)?);
            Format::Repeat { content, min, max }
        }
        "tag" => Format::Tag(parse_tag_fields(o, path, d)?),
        "triggered_tags" => {
            allow(
                o,
                path,
                &[
                    "type",
                    "triggers",
                    "tags",
                    "at_least_one",
                    "stop_after_first",
                    "excludes",
                ],
            )?;
            let triggers = strings(get(o, path, "triggers")?, &sub("triggers"))?;
            if triggers.is_empty() {
                return Err(err_at(&sub("triggers"), "must not be empty"));
            }
            if let Some(i) = triggers.iter().position(|t| t.is_empty()) {
                return Err(err_at(
                    &format!("{path}.triggers[{i}]"),
                    "a trigger must not be empty",
                ));
            }
            Format::TriggeredTags {
                triggers,
                tags: tags(o, path, d)?,
                at_least_one: opt_bool(o, path, "at_least_one")?,
                stop_after_first: opt_bool(o, path, "stop_after_first")?,
                excludes: excludes(o, path)?,
            }
        }
        "tags_with_separator" => {
            allow(
                o,
                path,
                &[
                    "type",
                    "tags",
                    "separator",
                    "at_least_one",
                    "stop_after_first",
                ],
            )?;
            Format::TagsWithSeparator {
                tags: tags(o, path, d)?,
                separator: string(get(o, path, "separator")?, &sub("separator"))?,
                at_least_one: opt_bool(o, path, "at_least_one")?,
                stop_after_first: opt_bool(o, path, "stop_after_first")?,
            }
        }
        "qwen_xml_parameter"
        | "dispatch"
        | "token"
        | "exclude_token"
        | "any_tokens"
        | "token_triggered_tags"
        | "token_dispatch" => {
            return Err(err_at(
                &sub("type"),
                format!("format type \"{ty}\" is not supported"),
            ));
        }
        other => {
            return Err(err_at(
                &sub("type"),
                format!("unknown format type \"{other}\""),
            ));
        }
    };
    Ok(f)
}

fn tags(o: &Map<String, Value>, path: &str, depth: usize) -> Result<Vec<Tag>> {
    let items = arr(get(o, path, "tags")?, &format!("{path}.tags"))?;
    if items.is_empty() {
        return Err(err_at(&format!("{path}.tags"), "must not be empty"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let p = format!("{path}.tags[{i}]");
        let to = obj(it, &p)?;
        match to.get("type") {
            None => {}
            Some(Value::String(s)) if s == "tag" => {}
            Some(other) => {
                return Err(err_at(
                    &format!("{p}.type"),
                    format!("expected \"tag\", found {}", short(other)),
                ));
            }
        }
        out.push(parse_tag_fields(to, &p, depth)?);
    }
    Ok(out)
}

fn parse_tag_fields(o: &Map<String, Value>, path: &str, depth: usize) -> Result<Tag> {
    allow(o, path, &["type", "begin", "content", "end"])?;
    let begin = string(get(o, path, "begin")?, &format!("{path}.begin"))?;
    let endv = get(o, path, "end")?;
    let ends = match endv {
        Value::String(s) => vec![s.clone()],
        Value::Array(_) => {
            let v = strings(endv, &format!("{path}.end"))?;
            if v.is_empty() {
                return Err(err_at(&format!("{path}.end"), "must not be an empty list"));
            }
            v
        }
        other => {
            return Err(err_at(
                &format!("{path}.end"),
                format!(
                    "expected a string or a list of strings, found {}",
                    short(other)
                ),
            ));
        }
    };
    let content = parse_format(get(o, path, "content")?, &format!("{path}.content"), depth)?;
    Ok(Tag {
        begin,
        content: Box::new(content),
        ends,
    })
}

fn excludes(o: &Map<String, Value>, path: &str) -> Result<Vec<String>> {
    let Some(v) = o.get("excludes") else {
        return Ok(Vec::new());
    };
    let p = format!("{path}.excludes");
    let v = strings(v, &p)?;
    if let Some(i) = v.iter().position(|s| s.is_empty()) {
        return Err(err_at(
            &format!("{p}[{i}]"),
            "an excluded string must not be empty",
        ));
    }
    Ok(v)
}

fn obj<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| err_at(path, format!("expected an object, found {}", short(v))))
}

fn arr<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>> {
    v.as_array()
        .ok_or_else(|| err_at(path, format!("expected a list, found {}", short(v))))
}

fn get<'v>(o: &'v Map<String, Value>, path: &str, key: &str) -> Result<&'v Value> {
    o.get(key)
        .ok_or_else(|| err_at(path, format!("missing field `{key}`")))
}

fn string(v: &Value, path: &str) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| err_at(path, format!("expected a string, found {}", short(v))))
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>> {
    arr(v, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| string(x, &format!("{path}[{i}]")))
        .collect()
}

fn opt_bool(o: &Map<String, Value>, path: &str, key: &str) -> Result<bool> {
    match o.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(err_at(
            &format!("{path}.{key}"),
            format!("expected a boolean, found {}", short(other)),
        )),
    }
}

/// Rejects fields outside `known`.
fn allow(o: &Map<String, Value>, path: &str, known: &[&str]) -> Result<()> {
    for k in o.keys() {
        if !known.contains(&k.as_str()) {
            let p = if path == "$" {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            return Err(err_at(
                &p,
                format!(
                    "unknown field `{k}` (expected one of: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A short description of a JSON value for messages.
fn short(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.len() <= 40 => format!("{s:?}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}
