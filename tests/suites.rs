//! Runs the data-driven suites in `tests/data/suites/*.toml` through the Rust API.
mod common;

use common::bytes::byte_compiler;
use std::sync::Arc;

use serde::Deserialize;
use xgr::{Grammar, GrammarCompiler, GrammarMatcher, JsonSchemaOptions, MatcherOptions};

#[derive(Deserialize)]
struct Suite {
    test: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    ebnf: Option<String>,
    regex: Option<String>,
    builtin: Option<String>,
    /// JSON text, or a TOML table standing for the JSON object.
    json_schema: Option<toml::Value>,
    structural_tag: Option<toml::Value>,
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
    error: Option<String>,
}

/// A TOML string as is; a TOML table or array as the JSON text it stands for.
fn json_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap(),
    }
}

fn build(c: &GrammarCompiler, case: &Case) -> xgr::Result<Arc<xgr::CompiledGrammar>> {
    let g = if let Some(src) = &case.ebnf {
        Grammar::from_ebnf(src, "root")?
    } else if let Some(re) = &case.regex {
        Grammar::from_regex(re)?
    } else if case.builtin.as_deref() == Some("json") {
        Grammar::builtin_json()
    } else if let Some(v) = &case.json_schema {
        Grammar::from_json_schema(&json_text(v), &JsonSchemaOptions::default())?
    } else if let Some(v) = &case.structural_tag {
        Grammar::from_structural_tag(&json_text(v))?
    } else {
        panic!("{}: no grammar source", case.name)
    };
    c.compile_grammar(&g)
}

#[test]
fn grammar_suites() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/suites");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in &files {
        let suite: Suite = toml::from_str(&std::fs::read_to_string(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        cases.extend(suite.test);
    }
    assert!(cases.len() >= 25);
    let suite = Suite { test: cases };
    let c = byte_compiler();
    for case in &suite.test {
        match (build(&c, case), &case.error) {
            (Err(e), Some(want)) => assert!(
                e.message().contains(want.as_str()),
                "{}: error `{e}` lacks `{want}`",
                case.name
            ),
            (Err(e), None) => panic!("{}: unexpected error {e}", case.name),
            (Ok(_), Some(want)) => panic!("{}: expected an error containing `{want}`", case.name),
            (Ok(cg), None) => {
                for s in &case.accept {
                    let mut m =
                        GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
                    assert!(
                        m.accept_string(s).unwrap() && m.is_completed(),
                        "{}: should accept {s:?}",
                        case.name
                    );
                    assert!(
                        m.accept_token(256).unwrap(),
                        "{}: stop token after {s:?}",
                        case.name
                    );
                }
                for s in &case.reject {
                    let mut m =
                        GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
                    let ok = m.accept_string(s).unwrap() && m.is_completed();
                    assert!(!ok, "{}: should reject {s:?}", case.name);
                }
            }
        }
    }
}
