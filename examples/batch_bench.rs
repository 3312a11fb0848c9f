//! Batch mask filling through the C ABI against a loop of single fills.
//!
//! `cargo run --release --example batch_bench -- [--tokenizer NAME] [--steps N]`
//!
//! Builds the builtin JSON grammar for the tokenizer (llama3-128k by default), gives each
//! of `n` matchers its own JSON document (JSONSchemaBench instances when ../shared is
//! present, a few embedded documents otherwise), warms the grammar's token classes with one
//! pass, then times per decoding step (a) a loop of `xgr_matcher_fill_next_token_bitmask` over
//! the matchers and (b) one `xgr_batch_fill_next_token_bitmask` on the persistent pool, for
//! batch sizes 1, 16 and 128. Only the fills are timed.

use std::time::Instant;

use xgr::cli::{Percentiles, load_tokenizer, read_tokenizer_json};
use xgr::ffi::*;

const DOCS: &[&str] = &[
    r#"{"name":"xgr","version":[0,1,0],"tags":["grammar","json"],"ok":true}"#,
    r#"{"user":{"id":42,"email":"a@b.c","roles":["admin","dev"]},"active":false}"#,
    r#"[{"x":1.5,"y":-2},{"x":3e2,"y":0.25},{"label":"point \"c\""}]"#,
    r#"{"query":"weather in Paris","units":"metric","days":3,"extra":null}"#,
];

fn documents() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(dir) = xgr::cli::shared_data_dir() {
        let path = dir.join("jsonschemabench/Github_easy.jsonl");
        if let Ok(text) = std::fs::read_to_string(path) {
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if let Some(t) = v["tests"]
                    .as_array()
                    .and_then(|t| t.iter().find(|t| t["valid"] == true))
                {
                    out.push(serde_json::to_string(&t["data"]).unwrap_or_default());
                }
                if out.len() >= 128 {
                    break;
                }
            }
        }
    }
    if out.is_empty() {
        out = DOCS.iter().map(|s| s.to_string()).collect();
    }
    out
}

fn check(s: xgr_status) {
    assert_eq!(s, xgr_status::XGR_OK, "xgr call failed");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let name = arg("--tokenizer").unwrap_or_else(|| "llama3-128k".into());
    let steps: usize = arg("--steps").and_then(|s| s.parse().ok()).unwrap_or(40);
    let tok = load_tokenizer(&name).expect("tokenizer");
    let docs = documents();
    let tokens: Vec<Vec<u32>> = docs
        .iter()
        .map(|d| tok.encode(d).unwrap_or_default())
        .collect();
    // SAFETY: every handle below is created, used and freed here, one thread at a time.
    unsafe {
        let json = read_tokenizer_json(&name).expect("tokenizer.json");
        let mut info = std::ptr::null_mut();
        check(xgr_tokenizer_info_from_hf_json(
            json.as_ptr().cast(),
            json.len(),
            std::ptr::null(),
            &mut info,
        ));
        let mut compiler = std::ptr::null_mut();
        check(xgr_compiler_new(info, std::ptr::null(), &mut compiler));
        let mut cg = std::ptr::null_mut();
        check(xgr_compiler_compile_builtin_json(compiler, &mut cg));
        let vocab = xgr_compiled_grammar_vocab_size(cg) as usize;
        let words = xgr_bitmask_words(vocab as i32);
        let mut batch = std::ptr::null_mut();
        check(xgr_batch_new(0, &mut batch));
        println!(
            "tokenizer {name}, builtin JSON grammar, {} documents, batch pool of {} threads",
            docs.len(),
            xgr_batch_num_threads(batch)
        );
        println!("| batch | loop of single fills, per step | batch fill, per step | speed-up |");
        println!("|--:|--:|--:|--:|");
        for &n in &[1usize, 16, 128] {
            let mut bitmask = vec![0i32; n * words];
            let run = |use_batch: bool, bitmask: &mut Vec<i32>| -> Vec<f64> {
                let mut ms: Vec<*mut xgr_matcher> = (0..n)
                    .map(|_| {
                        let mut m = std::ptr::null_mut();
                        check(xgr_matcher_new(cg, std::ptr::null(), &mut m));
                        m
                    })
                    .collect();
                let mut times = Vec::new();
                for step in 0..steps {
                    let t0 = Instant::now();
                    if use_batch {
                        check(xgr_batch_fill_next_token_bitmask(
                            batch,
                            ms.as_ptr(),
                            n,
                            bitmask.as_mut_ptr(),
                            words,
                            std::ptr::null(),
                        ));
                    } else {
                        for (i, &m) in ms.iter().enumerate() {
                            let mut need = false;
                            check(xgr_matcher_fill_next_token_bitmask(
                                m,
                                bitmask.as_mut_ptr().add(i * words),
                                words,
                                &mut need,
                            ));
                        }
                    }
                    times.push(t0.elapsed().as_secs_f64() * 1e6);
                    for (i, &m) in ms.iter().enumerate() {
                        let doc = &tokens[i % tokens.len()];
                        if let Some(&t) = doc.get(step) {
                            let mut ok = false;
                            check(xgr_matcher_accept_token(m, t as i32, &mut ok));
                            assert!(ok);
                        }
                    }
                }
                for m in ms.drain(..) {
                    xgr_matcher_free(m);
                }
                times
            };
            run(false, &mut bitmask); // warm the token classes
            let mut single = run(false, &mut bitmask);
            let mut batched = run(true, &mut bitmask);
            let (s, b) = (Percentiles::of(&mut single), Percentiles::of(&mut batched));
            println!(
                "| {n} | p50 {:.1} us, mean {:.1} us | p50 {:.1} us, mean {:.1} us | {:.2}x |",
                s.p50,
                s.mean,
                b.p50,
                b.mean,
                s.mean / b.mean
            );
        }
        xgr_batch_free(batch);
        xgr_compiled_grammar_free(cg);
        xgr_compiler_free(compiler);
        xgr_tokenizer_info_free(info);
    }
}
