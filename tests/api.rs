//! The Rust API around the matcher: compiler cache, combinators, stop tokens, threads,
//! printing round trips, and bad input.
mod common;

use std::sync::Arc;

use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};
use xgr::{
    CompiledGrammar, CompilerOptions, ErrorKind, Grammar, GrammarCompiler, GrammarMatcher,
    MatcherOptions,
};

fn byte_tokenizer() -> Arc<TokenizerInfo> {
    let mut v: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    v.push(b"</s>".to_vec());
    let opts = TokenizerOptions {
        stop_token_ids: Some(vec![256]),
        ..Default::default()
    };
    Arc::new(TokenizerInfo::from_vocab(&v, VocabType::Raw, &opts).unwrap())
}

fn matcher(cg: &Arc<CompiledGrammar>) -> GrammarMatcher {
    GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap()
}

fn full_match(cg: &Arc<CompiledGrammar>, s: &[u8]) -> bool {
    let mut m = matcher(cg);
    m.accept_string(s).unwrap() && m.is_completed()
}

fn mask(m: &mut GrammarMatcher) -> Vec<i32> {
    let mut bm = vec![0i32; m.bitmask_words()];
    m.fill_next_token_bitmask(&mut bm).unwrap();
    bm
}

#[test]
fn compiled_objects_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledGrammar>();
    assert_send_sync::<GrammarCompiler>();
    assert_send_sync::<TokenizerInfo>();
    fn assert_send<T: Send>() {}
    assert_send::<GrammarMatcher>();
}

#[test]
fn compiler_index_memory_grows_with_first_uses_and_outlives_the_cache() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    let fresh = c.index_memory_bytes();
    assert!(fresh > 0);
    // A run over a 36-byte class: its first mask builds the class index and a length mask.
    let cg = c.compile_regex("#[a-z0-9]{30}!").unwrap();
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default()).unwrap();
    assert!(m.accept_string(b"#").unwrap());
    let mut bm = vec![0i32; 9];
    m.fill_next_token_bitmask(&mut bm).unwrap();
    let used = c.index_memory_bytes();
    assert!(used > fresh, "{used} after first use, {fresh} fresh");
    c.clear_cache();
    assert_eq!(c.index_memory_bytes(), used);
}

#[test]
fn compiler_cache_returns_the_same_grammar_and_is_bounded() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    let a = c.compile_ebnf(r#"root ::= "x"+"#, "root").unwrap();
    let b = c.compile_ebnf(r#"root ::= "x"+"#, "root").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(c.cache_size_bytes() > 0);
    c.clear_cache();
    assert_eq!(c.cache_size_bytes(), 0);
    let d = c.compile_ebnf(r#"root ::= "x"+"#, "root").unwrap();
    assert!(!Arc::ptr_eq(&a, &d));
    // A tiny budget keeps at most what fits.
    let small = GrammarCompiler::new(
        byte_tokenizer(),
        CompilerOptions {
            cache_limit_bytes: Some(a.memory_bytes() + 1),
            ..Default::default()
        },
    );
    for i in 0..10 {
        small
            .compile_ebnf(&format!("root ::= \"{i}\"+"), "root")
            .unwrap();
        assert!(small.cache_size_bytes() <= a.memory_bytes() + 1);
    }
    assert!(a.memory_bytes() > 0);
}

#[test]
fn union_and_concat() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    let g1 = Grammar::from_ebnf(
        r#"root ::= "a" x
x ::= "b"+"#,
        "root",
    )
    .unwrap();
    let g2 = Grammar::from_regex("[0-9]{2}").unwrap();
    let u = c
        .compile_grammar(&Grammar::union(&[g1.clone(), g2.clone()]).unwrap())
        .unwrap();
    for (s, ok) in [("abb", true), ("12", true), ("ab12", false), ("1", false)] {
        assert_eq!(full_match(&u, s.as_bytes()), ok, "union {s}");
    }
    let k = c
        .compile_grammar(&Grammar::concat(&[g1, g2]).unwrap())
        .unwrap();
    for (s, ok) in [
        ("ab12", true),
        ("abbb99", true),
        ("abb", false),
        ("12ab", false),
    ] {
        assert_eq!(full_match(&k, s.as_bytes()), ok, "concat {s}");
    }
    assert!(Grammar::union(&[]).is_err());
}

#[test]
fn to_ebnf_reparses_to_the_same_language() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    let sources = [
        r#"root ::= expr
expr ::= term (("+" | "-") term)*
term ::= [0-9]+ | "(" expr ")""#,
        r#"root ::= [α-ω]+ "-" [\u4e00-\u9fff]{1,3} "\"\\\n""#,
        r#"root ::= word (" " word)* "."
word ::= [a-z]+ (= [ .])"#,
        r#"root ::= ("a"? "b"?)* "c" [^"\\\x00-\x1f]{0,3}"#,
    ];
    let mut grammars: Vec<Grammar> = sources
        .iter()
        .map(|s| Grammar::from_ebnf(s, "root").unwrap())
        .collect();
    grammars.push(Grammar::builtin_json());
    grammars.push(Grammar::from_regex(r"(ab|c){2,3}\d?[^x]").unwrap());
    for g in grammars {
        let printed = g.to_ebnf();
        let g2 = Grammar::from_ebnf(&printed, &g.rule(g.root()).name)
            .unwrap_or_else(|e| panic!("{printed}\n{e}"));
        let (a, b) = (
            c.compile_grammar(&g).unwrap(),
            c.compile_grammar(&g2).unwrap(),
        );
        // Random walks over bytes in each: the other accepts every prefix and agrees on ends.
        let mut seed = 12345u64;
        for _ in 0..40 {
            let mut ma = matcher(&a);
            let mut mb = matcher(&b);
            for _ in 0..30 {
                let bm = mask(&mut ma);
                assert_eq!(bm, mask(&mut mb), "{printed}");
                let allowed: Vec<u32> = (0..256u32)
                    .filter(|&t| bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0)
                    .collect();
                if allowed.is_empty() {
                    break;
                }
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let t = allowed[(seed >> 33) as usize % allowed.len()];
                assert!(ma.accept_token(t).unwrap() && mb.accept_token(t).unwrap());
            }
        }
    }
}

#[test]
fn stop_tokens_override_and_terminate_without_stop() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    let cg = c.compile_ebnf(r#"root ::= "ab""#, "root").unwrap();
    let opts = MatcherOptions {
        override_stop_tokens: Some(vec![b'!' as u32]),
        ..Default::default()
    };
    let mut m = GrammarMatcher::new(cg.clone(), &opts).unwrap();
    assert!(m.accept_string("ab").unwrap());
    let bm = mask(&mut m);
    assert_eq!(bm[1] as u32, 1 << 1, "only '!' (33) allowed");
    assert_eq!(bm[8], 0, "256 is not a stop token here");
    assert!(!m.accept_token(256).unwrap());
    assert!(m.accept_token(b'!' as u32).unwrap());
    assert!(m.is_terminated());
    // After termination only stop tokens are set.
    assert_eq!(mask(&mut m)[1] as u32, 1 << 1);
    let bad = MatcherOptions {
        override_stop_tokens: Some(vec![9999]),
        ..Default::default()
    };
    assert_eq!(
        GrammarMatcher::new(cg.clone(), &bad).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let opts = MatcherOptions {
        terminate_without_stop_token: true,
        ..Default::default()
    };
    let mut m = GrammarMatcher::new(cg, &opts).unwrap();
    assert!(!m.is_terminated());
    assert!(m.accept_string("ab").unwrap());
    assert!(m.is_terminated());
}

#[test]
fn llama3_has_two_stop_tokens_and_padding_is_never_allowed() {
    let tok = common::tokenizers::load_with(
        "llama3-128k",
        &TokenizerOptions {
            vocab_size: Some(128_300),
            ..Default::default()
        },
    );
    let c = GrammarCompiler::new(Arc::new(tok), CompilerOptions::default());
    let cg = c.compile_ebnf(r#"root ::= "ok""#, "root").unwrap();
    let mut m = matcher(&cg);
    assert_eq!(m.bitmask_words(), 128_300usize.div_ceil(32));
    assert!(m.accept_string("ok").unwrap());
    let bm = mask(&mut m);
    let set: Vec<u32> = (0..128_300u32)
        .filter(|&t| bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0)
        .collect();
    assert_eq!(set, vec![128001, 128009]);
    assert_eq!(
        bm[bm.len() - 1] as u32 >> (128_300 % 32),
        0,
        "no bits past vocab_size"
    );
    assert!(
        m.accept_token(128_299).is_ok_and(|ok| !ok),
        "padding id rejected"
    );
    assert!(
        m.accept_token(128_300).is_err(),
        "past vocab_size is an error"
    );
}

#[test]
fn threads_sharing_one_compiled_grammar_get_the_same_masks() {
    let tok = Arc::new(common::tokenizers::load("gpt2-50k"));
    let c = Arc::new(GrammarCompiler::new(
        tok.clone(),
        CompilerOptions {
            max_threads: 1,
            ..Default::default()
        },
    ));
    let doc = r#"{"name": "xgr", "tags": ["a", "b"], "n": [1, 2.5, -3e2], "ok": true}"#;
    let ids = tok.encode(doc).unwrap();
    let single: Vec<Vec<i32>> = {
        let cg = c.compile_builtin_json().unwrap();
        let mut m = matcher(&cg);
        ids.iter()
            .map(|&t| {
                let b = mask(&mut m);
                assert!(m.accept_token(t).unwrap());
                b
            })
            .collect()
    };
    let fresh = Arc::new(GrammarCompiler::new(
        tok,
        CompilerOptions {
            max_threads: 1,
            ..Default::default()
        },
    ));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (c, ids) = (fresh.clone(), ids.clone());
            std::thread::spawn(move || {
                let cg = c.compile_builtin_json().unwrap();
                let mut m = matcher(&cg);
                ids.iter()
                    .map(|&t| {
                        let b = mask(&mut m);
                        assert!(m.accept_token(t).unwrap());
                        b
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), single);
    }
}

#[test]
fn bad_input_gives_errors_not_crashes() {
    let c = GrammarCompiler::new(byte_tokenizer(), CompilerOptions::default());
    // 10,000-deep nesting in EBNF.
    let deep = format!("root ::= {}\"a\"{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        Grammar::from_ebnf(&deep, "root").unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
    // Repetition counts in the millions.
    let e = c
        .compile_ebnf(r#"root ::= [a-z]{0,3000000}"#, "root")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    // Empty language.
    let e = c
        .compile_ebnf("root ::= [^\\x00-\\U0010FFFF]", "root")
        .unwrap_err();
    assert!(e.message().contains("matches no string"), "{e}");
    // Invalid UTF-8 is simply not accepted by a UTF-8 grammar, and leaves the state alone.
    let cg = c.compile_ebnf(r#"root ::= [^"]*"#, "root").unwrap();
    let mut m = matcher(&cg);
    assert!(m.accept_string("é").unwrap());
    assert!(!m.accept_string([0xff]).unwrap());
    assert!(m.accept_string([0xc3]).unwrap(), "first byte of é");
    assert!(m.accept_string([0xa9]).unwrap());
    // Ids out of range, rollback past the start, too small buffers.
    assert_eq!(
        m.accept_token(257).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(m.rollback(10).unwrap_err().kind(), ErrorKind::Rollback);
    let mut small = vec![0i32; 3];
    assert_eq!(
        m.fill_next_token_bitmask(&mut small).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Deeply nested input is fine for the matcher.
    let json = c.compile_builtin_json().unwrap();
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(full_match(&json, nested.as_bytes()));
}
