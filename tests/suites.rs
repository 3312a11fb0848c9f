//! Runs the data-driven suites in `tests/data/suites/*.toml` through the Rust API.
use std::sync::Arc;

use serde::Deserialize;
use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};
use xgr::{CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions};

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
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
    error: Option<String>,
}

/// Ids 0-255 are the bytes, 256 is the stop token.
fn byte_compiler() -> GrammarCompiler {
    let mut v: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    v.push(b"</s>".to_vec());
    let opts = TokenizerOptions {
        stop_token_ids: Some(vec![256]),
        ..Default::default()
    };
    let t = TokenizerInfo::from_vocab(&v, VocabType::Raw, &opts).unwrap();
    GrammarCompiler::new(Arc::new(t), CompilerOptions::default())
}

fn build(c: &GrammarCompiler, case: &Case) -> xgr::Result<Arc<xgr::CompiledGrammar>> {
    let g = if let Some(src) = &case.ebnf {
        Grammar::from_ebnf(src, "root")?
    } else if let Some(re) = &case.regex {
        Grammar::from_regex(re)?
    } else if case.builtin.as_deref() == Some("json") {
        Grammar::builtin_json()
    } else {
        panic!("{}: no grammar source", case.name)
    };
    c.compile_grammar(&g)
}

#[test]
fn grammar_suite() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/suites/grammars.toml"
    ))
    .unwrap();
    let suite: Suite = toml::from_str(&text).unwrap();
    assert!(suite.test.len() >= 25);
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
