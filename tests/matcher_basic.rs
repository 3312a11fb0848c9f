//! Matcher behaviour on small hand-built vocabularies, checked against a brute-force oracle.
use std::sync::Arc;
use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};
use xgr::{
    CharClass, CompilerOptions, Expr, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions,
    Rule, RuleId,
};

fn compiler(vocab: &[&str]) -> GrammarCompiler {
    let t = TokenizerInfo::from_vocab(vocab, VocabType::Raw, &TokenizerOptions::default()).unwrap();
    GrammarCompiler::new(Arc::new(t), CompilerOptions::default())
}

fn mask_ids(m: &mut GrammarMatcher) -> Vec<u32> {
    let mut bm = vec![0i32; m.bitmask_words()];
    m.fill_next_token_bitmask(&mut bm).unwrap();
    (0..m.vocab_size() as u32)
        .filter(|&i| bm[(i / 32) as usize] as u32 & (1 << (i % 32)) != 0)
        .collect()
}

fn oracle_ids(m: &GrammarMatcher) -> Vec<u32> {
    (0..m.vocab_size() as u32)
        .filter(|&i| m.fork().accept_token(i).unwrap_or(false))
        .collect()
}

fn one_rule(body: Expr) -> Grammar {
    Grammar::new(
        vec![Rule {
            name: "root".into(),
            body,
            lookahead: None,
        }],
        RuleId(0),
    )
    .unwrap()
}

#[test]
fn prefix_tokens_of_a_literal_are_all_allowed() {
    let c = compiler(&["a", "ab", "acab", "</s>"]);
    let cg = c.compile_grammar(&one_rule(Expr::lit("acab"))).unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    assert_eq!(mask_ids(&mut m), vec![0, 2]);
    assert_eq!(oracle_ids(&m), vec![0, 2]);
    assert!(m.accept_token(2).unwrap());
    assert_eq!(mask_ids(&mut m), vec![3]);
    assert!(m.accept_token(3).unwrap());
    assert!(m.is_terminated());
}

#[test]
fn recursive_grammar_matches_oracle() {
    // root ::= "(" root ")" root | ""
    let body = Expr::Alt(vec![
        Expr::Seq(vec![
            Expr::lit("("),
            Expr::Ref(RuleId(0)),
            Expr::lit(")"),
            Expr::Ref(RuleId(0)),
        ]),
        Expr::empty(),
    ]);
    let c = compiler(&["(", ")", "()", "((", "))", ")(", "(()", "x", "</s>"]);
    let cg = c.compile_grammar(&one_rule(body)).unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    let walk = [0u32, 2, 3, 1, 5, 4];
    for &t in &walk {
        assert_eq!(mask_ids(&mut m), oracle_ids(&m));
        assert!(m.accept_token(t).unwrap(), "token {t}");
    }
    assert_eq!(mask_ids(&mut m), oracle_ids(&m));
}

/// `\S` loops leave at every whitespace character: tokens holding a non-ASCII one (U+00A0,
/// U+3000) after other text must be walked, not taken with the rest of their subtree.
#[test]
fn non_ascii_whitespace_inside_tokens_ends_a_word() {
    let vocab = [
        "\"",
        "\"a",
        "a",
        "ab",
        "a\u{a0}",
        "a\u{a0}b",
        "a\u{3000}",
        "b",
        "\u{a0}",
        " ",
        "é",
        "éa",
        "é\u{3000}x",
        "é\u{a0}",
        "x",
        "a\"",
        "</s>",
    ];
    let c = compiler(&vocab);
    let opts = xgr::JsonSchemaOptions::default();
    for pattern in [r"^\\S+$", r"^(?:\\S+\\s+){0,2}\\S+$", r"^x\\S{0,3}$"] {
        let schema = format!(r#"{{"type": "string", "pattern": "{pattern}"}}"#);
        let g = Grammar::from_json_schema(&schema, &opts).unwrap();
        let cg = c.compile_grammar(&g).unwrap();
        // Every state reached by up to two text tokens (the last id is the stop token).
        let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
        let mut seen = 0;
        let text = 0..vocab.len() as u32 - 1;
        let allowed = |m: &GrammarMatcher| -> Vec<u32> {
            text.clone()
                .filter(|&t| m.fork().accept_token(t).unwrap())
                .collect()
        };
        for t in allowed(&m) {
            assert!(m.accept_token(t).unwrap());
            assert_eq!(mask_ids(&mut m), oracle_ids(&m), "{pattern}: after {t}");
            for u in allowed(&m) {
                assert!(m.accept_token(u).unwrap());
                seen += 1;
                assert_eq!(mask_ids(&mut m), oracle_ids(&m), "{pattern}: after {t} {u}");
                m.rollback(1).unwrap();
            }
            m.rollback(1).unwrap();
        }
        assert!(seen > 0, "{pattern}: no two-token text");
    }
}

#[test]
fn lookahead_is_exact() {
    // root ::= a [a-z]*   a ::= "x" (= "yz")
    let rules = vec![
        Rule {
            name: "root".into(),
            body: Expr::Seq(vec![
                Expr::Ref(RuleId(1)),
                Expr::Repeat {
                    expr: Box::new(Expr::Class(CharClass {
                        negated: false,
                        ranges: vec![(b'a' as u32, b'z' as u32)],
                    })),
                    min: 0,
                    max: None,
                },
            ]),
            lookahead: None,
        },
        Rule {
            name: "a".into(),
            body: Expr::lit("x"),
            lookahead: Some(Expr::lit("yz")),
        },
    ];
    let g = Grammar::new(rules, RuleId(0)).unwrap();
    let c = compiler(&["x", "xy", "xyz", "xa", "y", "z", "a", "yza", "</s>"]);
    let cg = c.compile_grammar(&g).unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    assert_eq!(mask_ids(&mut m), oracle_ids(&m));
    assert_eq!(mask_ids(&mut m), vec![0, 1, 2]);
    assert!(m.accept_token(0).unwrap());
    assert_eq!(mask_ids(&mut m), vec![4, 7]);
    assert!(m.accept_token(4).unwrap());
    assert_eq!(mask_ids(&mut m), oracle_ids(&m));
}

fn byte_compiler() -> GrammarCompiler {
    let mut v: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    v.push(b"</s>".to_vec());
    let t = TokenizerInfo::from_vocab(
        &v,
        VocabType::Raw,
        &TokenizerOptions {
            stop_token_ids: Some(vec![256]),
            ..Default::default()
        },
    )
    .unwrap();
    GrammarCompiler::new(Arc::new(t), CompilerOptions::default())
}

fn accepts(c: &GrammarCompiler, g: &Grammar, s: &str) -> bool {
    let cg = c.compile_grammar(g).unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    m.accept_string(s).unwrap() && m.is_completed()
}

#[test]
fn builtin_json_accepts_documents_and_rejects_non_json() {
    let c = byte_compiler();
    let g = Grammar::builtin_json();
    for ok in [
        r#"{}"#,
        r#"[]"#,
        r#"{"a":1,"b":[true,false,null],"c":{"d":"\u00e9\n"}}"#,
        "[1.5e-3, -0, \"x\"]",
        "{ \"k\" : [ ] }",
    ] {
        assert!(accepts(&c, &g, ok), "{ok}");
    }
    for bad in [
        "1",
        "{",
        r#"{"a"}"#,
        "[01]",
        "[1,]",
        r#"{"a":tru}"#,
        " {}",
        "[\"\u{1}\"]",
    ] {
        assert!(!accepts(&c, &g, bad), "{bad}");
    }
}

#[test]
fn jump_forward_and_rollback() {
    let c = byte_compiler();
    let g = Grammar::from_ebnf(r#"root ::= "{\"name\": \"" [a-z]+ "\"}""#, "root").unwrap();
    let cg = c.compile_grammar(&g).unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    assert_eq!(m.find_jump_forward_string(), "{\"name\": \"");
    assert!(m.accept_string("{\"name\": \"ab").unwrap());
    assert_eq!(m.find_jump_forward_string(), "");
    assert!(m.accept_token(b'"' as u32).unwrap());
    assert_eq!(m.find_jump_forward_string(), "}");
    assert!(m.rollback(3).is_err());
    m.rollback(1).unwrap();
    assert!(!m.accept_token(b'}' as u32).unwrap());
    assert!(m.accept_string("c\"}").unwrap());
    assert!(m.is_completed());
    assert!(m.accept_token(256).unwrap());
    assert!(m.is_terminated());
    assert_eq!(
        m.accept_token(b'a' as u32).unwrap_err().kind(),
        xgr::ErrorKind::Terminated
    );
    m.rollback(1).unwrap();
    assert!(!m.is_terminated());
    assert!(m.accept_token(99999).is_err());
}
