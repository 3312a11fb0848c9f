//! `xgr bench`: compile time and per-token mask latency.
//!
//! `--grammar json` (default): the builtin JSON grammar over the first valid instance of
//! each JSONSchemaBench schema, serialized compactly and tokenized as a continuation; every
//! token must be in the mask, and a stop token must be allowed at the end. `--grammar
//! FILE.ebnf`: that grammar over seeded random walks. Only the fill call is timed.

use std::path::PathBuf;
use std::time::Instant;

use super::demo::{Rng, pick};
use super::{Opts, Percentiles, load_tokenizer, shared_data_dir};
use crate::error::{Error, Result};
use crate::{CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions};

fn get_bit(bm: &[i32], t: u32) -> bool {
    bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0
}

/// Valid JSON documents from JSONSchemaBench files (first valid instance per schema).
fn documents(dir: &PathBuf, subset: Option<&str>, limit: usize) -> Result<Vec<(String, String)>> {
    let mut files: Vec<PathBuf> = match subset {
        Some(s) => vec![dir.join(format!("{s}.jsonl"))],
        None => std::fs::read_dir(dir)
            .map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| Error::invalid(format!("{}: {e}", f.display())))?;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let id = v["id"].as_str().unwrap_or("?").to_string();
            let Some(tests) = v["tests"].as_array() else {
                continue;
            };
            if let Some(t) = tests
                .iter()
                .find(|t| t["valid"] == serde_json::Value::Bool(true))
            {
                let doc = serde_json::to_string(&t["data"]).unwrap_or_default();
                out.push((id, doc));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn run(o: &Opts) -> Result<()> {
    let tk_name = o.get("tokenizer").unwrap_or("llama3-128k");
    let tok = load_tokenizer(tk_name)?;
    let verbose = o.flag("v");
    let grammar_arg = o.get("grammar").unwrap_or("json");
    let grammar = if grammar_arg == "json" {
        Grammar::builtin_json()
    } else {
        let src = std::fs::read_to_string(grammar_arg)
            .map_err(|e| Error::invalid(format!("{grammar_arg}: {e}")))?;
        Grammar::from_ebnf(&src, "root")?
    };
    // Compile time: fresh compiles, no cache, lazy token classes.
    let mut compile_ms = Vec::new();
    let mut precompute_ms = Vec::new();
    for _ in 0..5 {
        let c = GrammarCompiler::new(
            tok.clone(),
            CompilerOptions {
                max_threads: 1,
                cache_enabled: false,
                ..Default::default()
            },
        );
        let t = Instant::now();
        let cg = c.compile_grammar(&grammar)?;
        compile_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        cg.precompute(1);
        precompute_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let compiler = GrammarCompiler::new(
        tok.clone(),
        CompilerOptions {
            max_threads: 1,
            ..Default::default()
        },
    );
    let cg = compiler.compile_grammar(&grammar)?;
    let mut bm = vec![0i32; tok.vocab_size().div_ceil(32)];
    let mut mask_us: Vec<f64> = Vec::new();
    let mut first_us: Vec<f64> = Vec::new();
    let (mut ok, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    if grammar_arg == "json" {
        let dir = match o.get("data") {
            Some(d) => PathBuf::from(d),
            None => shared_data_dir()
                .map(|d| d.join("jsonschemabench"))
                .ok_or_else(|| Error::invalid("no --data given and ../shared/data not found"))?,
        };
        let docs = documents(&dir, o.get("subset"), o.num("limit", 200)? as usize)?;
        for (id, doc) in &docs {
            let Some(tokens) = tok.encode(doc) else {
                return Err(Error::tokenizer(
                    "this tokenizer cannot encode text (built from a raw vocab)",
                ));
            };
            let rebuilt: Vec<u8> = tokens
                .iter()
                .flat_map(|&t| tok.token_bytes(t).unwrap_or(&[]).to_vec())
                .collect();
            if rebuilt != doc.as_bytes() {
                skipped += 1;
                continue;
            }
            let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default())?;
            let mut status = "ok".to_string();
            for (i, &t) in tokens.iter().enumerate() {
                let s = Instant::now();
                m.fill_next_token_bitmask(&mut bm)?;
                let us = s.elapsed().as_secs_f64() * 1e6;
                if i == 0 {
                    first_us.push(us)
                } else {
                    mask_us.push(us)
                }
                if !get_bit(&bm, t) || !m.accept_token(t)? {
                    status = format!("token {i} not in mask");
                    break;
                }
            }
            if status == "ok" {
                m.fill_next_token_bitmask(&mut bm)?;
                if !m.stop_token_ids().iter().any(|&s| get_bit(&bm, s)) {
                    status = "eos not allowed at end".into();
                }
            }
            if status == "ok" {
                ok += 1
            } else {
                failed += 1
            }
            if verbose {
                println!("{id}: {} tokens: {status}", tokens.len());
            }
        }
    } else {
        let walks = o.num("walks", 20)? as usize;
        let max_tokens = o.num("max-tokens", 64)? as usize;
        let mut rng = Rng::new(o.num("seed", 1)?);
        for w in 0..walks {
            let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default())?;
            for step in 0..max_tokens * 4 {
                let s = Instant::now();
                m.fill_next_token_bitmask(&mut bm)?;
                let us = s.elapsed().as_secs_f64() * 1e6;
                if step == 0 {
                    first_us.push(us)
                } else {
                    mask_us.push(us)
                }
                let Some(t) = pick(&m, &bm, &mut rng, step, max_tokens) else {
                    break;
                };
                m.accept_token(t)?;
                if m.is_terminated() {
                    break;
                }
            }
            ok += 1;
            if verbose {
                println!("walk {w}: {} tokens", m.num_accepted());
            }
        }
    }
    let c = Percentiles::of(&mut compile_ms);
    let pc = Percentiles::of(&mut precompute_ms);
    let f = Percentiles::of(&mut first_us);
    let mk = Percentiles::of(&mut mask_us);
    println!(
        "tokenizer {tk_name}, grammar {grammar_arg}: {ok} ok, {failed} failed, {skipped} skipped (tokenization does not round-trip)"
    );
    println!("compile (lazy)      {}", c.line("ms"));
    println!("precompute all      {}", pc.line("ms"));
    println!("first mask          {}", f.line("us"));
    println!("mask (later tokens) {}", mk.line("us"));
    println!(
        "JSON {{\"engine\":\"xgr\",\"tokenizer\":\"{tk_name}\",\"grammar\":\"{grammar_arg}\",\"ok\":{ok},\"failed\":{failed},\"tokens\":{},{},{},{},{}}}",
        mk.n + f.n,
        c.json("compile_ms"),
        pc.json("precompute_ms"),
        f.json("first_mask_us"),
        mk.json("mask_us")
    );
    Ok(())
}
