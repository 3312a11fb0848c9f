//! Formats → grammar rules.
//!
//! Each format becomes an expression; embedded grammars (EBNF, JSON Schema) are copied in with
//! their rule names prefixed (`s3_root`, `s3_value`, …) and referenced by their root, and
//! free-text regions become the rule-free expressions of [`super::text`]. The end strings of
//! the innermost enclosing `tag` are excluded from every free-text region of its content, so
//! free text inside a tag stops at the tag's end.
//!
//! `triggered_tags` is lowered to
//!
//! ```text
//! T ::= (F (t1 D1 | t2 D2 | ...))* F        F  = text avoiding triggers, excludes, ends
//! D1 ::= rest-of-begin content end | ...     (the tags whose begin starts with trigger t1)
//! ```
//!
//! so that the free text, the triggers and the dispatch on the rest of each tag's begin are
//! all byte transitions of T's automaton; only the tag contents are called rules.

use std::collections::HashMap;

use serde_json::Value;

use crate::convert::json_schema::{JsonSchemaOptions, grammar_from_json_value};
use crate::convert::regex::{RegexOptions, regex_to_expr};
use crate::error::{Error, Result};
use crate::grammar::{Expr, Grammar, Rule, RuleId};

use super::format::{Format, Tag, err_at};
use super::text::{alt, avoid_expr, seq};

/// Formats with at least this many JSON schemas convert them on several threads.
const PARALLEL_SCHEMAS: usize = 16;
/// Most threads converting schemas.
const SCHEMA_THREADS: usize = 8;

/// Builds the grammar of a format.
pub(crate) fn lower(f: &Format) -> Result<Grammar> {
    let mut b = Builder {
        rules: vec![Rule {
            name: "root".into(),
            body: Expr::empty(),
            lookahead: None,
        }],
        next: 0,
        schemas: convert_schemas(f),
        apart: Vec::new(),
    };
    let body = b.format(f, &[], "format")?;
    b.rules[0].body = body;
    let mut triggers = Vec::new();
    collect_triggers(f, &mut triggers);
    Grammar::new(b.rules, RuleId(0)).map(|g| g.with_apart(b.apart).with_warm_texts(triggers))
}

/// The triggers of every `triggered_tags` in `f`, each once, in order.
fn collect_triggers(f: &Format, out: &mut Vec<String>) {
    if let Format::TriggeredTags { triggers, .. } = f {
        for t in triggers {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    f.children()
        .into_iter()
        .for_each(|c| collect_triggers(c, out));
}

struct Builder {
    rules: Vec<Rule>,
    /// Counter for fresh rule-name prefixes.
    next: usize,
    /// JSON Schema formats converted ahead of the walk, by the format's address.
    schemas: HashMap<usize, Result<Grammar>>,
    /// Rules to keep as automata of their own ([`Grammar::with_apart`]).
    apart: Vec<RuleId>,
}

/// The JSON Schema formats in `f`, converted: on several threads when there are many (a
/// `triggered_tags` with hundreds of tools), each on its own, so errors are the same as
/// when converted in turn.
fn convert_schemas(f: &Format) -> HashMap<usize, Result<Grammar>> {
    type Found<'a> = Vec<(usize, &'a Value, &'a JsonSchemaOptions)>;
    fn collect<'a>(f: &'a Format, out: &mut Found<'a>) {
        if let Format::JsonSchema { schema, opts } = f {
            out.push((f as *const Format as usize, schema, opts));
        }
        f.children().into_iter().for_each(|c| collect(c, out));
    }
    let mut found = Vec::new();
    collect(f, &mut found);
    if found.len() < PARALLEL_SCHEMAS {
        return HashMap::new();
    }
    let converted = crate::parallel::map(found.len(), SCHEMA_THREADS, |i| {
        grammar_from_json_value(found[i].1, found[i].2)
    });
    found.iter().map(|x| x.0).zip(converted).collect()
}

impl Builder {
    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{what}{}", self.next)
    }

    fn add_rule(&mut self, name: String, body: Expr) -> Expr {
        self.rules.push(Rule {
            name,
            body,
            lookahead: None,
        });
        Expr::Ref(RuleId(self.rules.len() as u32 - 1))
    }

    /// Moves `g`'s rules in with names prefixed by `prefix_`; returns a reference to its root.
    fn embed(&mut self, g: Grammar, prefix: &str) -> Expr {
        let base = self.rules.len() as u32;
        let (rules, root) = g.into_parts();
        for r in rules {
            let mut body = r.body;
            shift(&mut body, base);
            let lookahead = r.lookahead.map(|mut la| {
                shift(&mut la, base);
                la
            });
            self.rules.push(Rule {
                name: format!("{prefix}_{}", r.name),
                body,
                lookahead,
            });
        }
        Expr::Ref(RuleId(root.0 + base))
    }

    /// The expression of `f`; `ends` are the end strings of the innermost enclosing tag.
    fn format(&mut self, f: &Format, ends: &[String], path: &str) -> Result<Expr> {
        Ok(match f {
            Format::Const(s) => Expr::lit(s),
            Format::JsonSchema { schema, opts } => {
                let ahead = self.schemas.remove(&(f as *const Format as usize));
                let g = ahead.unwrap_or_else(|| grammar_from_json_value(schema, opts));
                let g = g.map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("invalid structural tag at `{path}.json_schema`: {e}"),
                    )
                })?;
                let p = self.fresh("schema");
                self.embed(g, &p)
            }
            Format::Ebnf(src) => {
                let g = Grammar::from_ebnf(src, "root").map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("invalid structural tag at `{path}.grammar`: {e}"),
                    )
                })?;
                let p = self.fresh("grammar");
                self.embed(g, &p)
            }
            Format::Regex(pattern) => {
                regex_to_expr(pattern, RegexOptions::default()).map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("invalid structural tag at `{path}.pattern`: {e}"),
                    )
                })?
            }
            Format::AnyText { excludes } => {
                let avoid: Vec<String> = excludes.iter().chain(ends).cloned().collect();
                let e = avoid_expr(&avoid)?;
                let name = self.fresh("text");
                self.add_rule(name, e)
            }
            Format::Sequence(items) => {
                let mut v = Vec::with_capacity(items.len());
                for (i, it) in items.iter().enumerate() {
                    v.push(self.format(it, ends, &format!("{path}.elements[{i}]"))?);
                }
                seq(v)
            }
            Format::Or(items) => {
                let mut v = Vec::with_capacity(items.len());
                for (i, it) in items.iter().enumerate() {
                    v.push(self.format(it, ends, &format!("{path}.elements[{i}]"))?);
                }
                alt(v)
            }
            Format::Repeat { content, min, max } => {
                let e = self.format(content, ends, &format!("{path}.content"))?;
                Expr::Repeat {
                    expr: Box::new(e),
                    min: *min,
                    max: *max,
                }
            }
            Format::Tag(t) => self.tag(t, path)?,
            Format::TriggeredTags {
                triggers,
                tags,
                at_least_one,
                stop_after_first,
                excludes,
            } => self.triggered(
                triggers,
                tags,
                *at_least_one,
                *stop_after_first,
                excludes,
                ends,
                path,
            )?,
            Format::TagsWithSeparator {
                tags,
                separator,
                at_least_one,
                stop_after_first,
            } => {
                let mut v = Vec::with_capacity(tags.len());
                for (i, t) in tags.iter().enumerate() {
                    v.push(self.tag(t, &format!("{path}.tags[{i}]"))?);
                }
                let name = self.fresh("tags");
                let one = self.add_rule(name, alt(v));
                let many = || {
                    seq(vec![
                        one.clone(),
                        Expr::Repeat {
                            expr: Box::new(seq(vec![Expr::lit(separator), one.clone()])),
                            min: 0,
                            max: None,
                        },
                    ])
                };
                match (*at_least_one, *stop_after_first) {
                    (true, true) => one.clone(),
                    (false, true) => alt(vec![Expr::empty(), one.clone()]),
                    (true, false) => many(),
                    (false, false) => alt(vec![Expr::empty(), many()]),
                }
            }
        })
    }

    /// `begin content (end1 | end2 ...)`; free text in the content stops at the ends.
    fn tag(&mut self, t: &Tag, path: &str) -> Result<Expr> {
        let content = self.format(&t.content, &t.ends, &format!("{path}.content"))?;
        let ends = alt(t.ends.iter().map(|e| Expr::lit(e)).collect());
        Ok(seq(vec![Expr::lit(&t.begin), content, ends]))
    }

    #[allow(clippy::too_many_arguments)]
    fn triggered(
        &mut self,
        triggers: &[String],
        tags: &[Tag],
        at_least_one: bool,
        stop_after_first: bool,
        excludes: &[String],
        ends: &[String],
        path: &str,
    ) -> Result<Expr> {
        // Each tag belongs to exactly one trigger, a prefix of its begin.
        let mut groups: Vec<Vec<Expr>> = vec![Vec::new(); triggers.len()];
        let mut full: Vec<Expr> = Vec::with_capacity(tags.len());
        for (i, t) in tags.iter().enumerate() {
            let p = format!("{path}.tags[{i}]");
            let hits: Vec<usize> = (0..triggers.len())
                .filter(|&k| t.begin.starts_with(&triggers[k]))
                .collect();
            let k = match hits.as_slice() {
                [k] => *k,
                [] => {
                    return Err(err_at(
                        &format!("{p}.begin"),
                        format!("begin {:?} does not start with any trigger", t.begin),
                    ));
                }
                _ => {
                    return Err(err_at(
                        &format!("{p}.begin"),
                        format!(
                            "begin {:?} starts with several triggers ({})",
                            t.begin,
                            hits.iter()
                                .map(|&k| format!("{:?}", triggers[k]))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            };
            let content = self.format(&t.content, &t.ends, &format!("{p}.content"))?;
            let end = alt(t.ends.iter().map(|e| Expr::lit(e)).collect());
            let rest = &t.begin[triggers[k].len()..];
            groups[k].push(seq(vec![Expr::lit(rest), content.clone(), end.clone()]));
            if at_least_one {
                full.push(seq(vec![Expr::lit(&t.begin), content, end]));
            }
        }
        if let Some(k) = groups.iter().position(|g| g.is_empty()) {
            return Err(err_at(
                &format!("{path}.triggers[{k}]"),
                format!(
                    "trigger {:?} is not a prefix of any tag's begin",
                    triggers[k]
                ),
            ));
        }
        let avoid: Vec<String> = triggers
            .iter()
            .chain(excludes)
            .chain(ends)
            .cloned()
            .collect();
        let text = avoid_expr(&avoid)?;
        let text_name = self.fresh("text");
        let text = self.add_rule(text_name, text);
        if let Expr::Ref(r) = text {
            // The same triggers give the same text in every grammar: its token classes are
            // shared when it is an automaton of its own.
            self.apart.push(r);
        }
        let mut dispatch = Vec::with_capacity(triggers.len());
        for (k, g) in groups.into_iter().enumerate() {
            let name = self.fresh("dispatch");
            let d = self.add_rule(name, alt(g));
            dispatch.push(seq(vec![Expr::lit(&triggers[k]), d]));
        }
        let dispatch = alt(dispatch);
        Ok(match (at_least_one, stop_after_first) {
            (true, true) => {
                let n = self.fresh("first");
                self.add_rule(n, alt(full))
            }
            (false, true) => seq(vec![
                text,
                Expr::Repeat {
                    expr: Box::new(dispatch),
                    min: 0,
                    max: Some(1),
                },
            ]),
            (at_least_one, false) => {
                let lead = if at_least_one {
                    let n = self.fresh("first");
                    self.add_rule(n, alt(full))
                } else {
                    Expr::empty()
                };
                seq(vec![
                    lead,
                    Expr::Repeat {
                        expr: Box::new(seq(vec![text.clone(), dispatch])),
                        min: 0,
                        max: None,
                    },
                    text,
                ])
            }
        })
    }
}

/// Adds `base` to every rule reference in `e`.
fn shift(e: &mut Expr, base: u32) {
    match e {
        Expr::Bytes(_) | Expr::Class(_) => {}
        Expr::Ref(r) => r.0 += base,
        Expr::Seq(v) | Expr::Alt(v) => v.iter_mut().for_each(|x| shift(x, base)),
        Expr::Repeat { expr, .. } => shift(expr, base),
    }
}
