//! Structural-tag benchmark: `triggered_tags` grammars with many tools.
//!
//! `cargo run --release --example structural_tag_bench -- [--tokenizers llama3-128k,qwen3-151k]
//! [--tools 50,400] [--walk encode|greedy] [--slow US] [--out DIR]`
//!
//! For each tokenizer and tool count, builds a Qwen/Hermes-style structural tag (trigger
//! `<tool_call>`, one tag per tool whose content is that tool's JSON Schema), and reports:
//! `compile_structural_tag` time (JSON text to compiled grammar, as an engine calls it;
//! median of 5, a fresh compiler without cache made before timing; the conversion alone is
//! timed apart for the split), then mask-fill
//! times along a walk over a document that mixes free text and two tool calls (as the
//! tokenizer encodes it, or with `--walk greedy` the longest allowed token at each step), split by
//! where the fill happens: free text, inside a tag's JSON, and at trigger boundaries (inside
//! the trigger or the rest of a tag's begin / end). Each walk runs twice on the same
//! compiled grammar: `cold` (token classes computed on first use) and `warm`; then `next`, a
//! cold walk of the same input compiled again by the same compiler (as a server's next
//! request: classes of rules shared between grammars are already known).
//!
//! `--slow US` prints every fill slower than US µs with the document around it.
//!
//! The structural tags and walk documents are written to `--out` (default
//! `target/structural_tag_bench/`) for `bench/structural_tag_peers.py`, which runs XGrammar
//! on the same input.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use xgr::cli::{Percentiles, load_tokenizer};
use xgr::tokenizer::TokenizerInfo;
use xgr::{CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions};

const TRIGGER: &str = "<tool_call>";

/// The JSON Schema of tool `i`: a few shapes, varied by `i`.
fn tool_schema(i: usize) -> Value {
    let mut props = serde_json::Map::new();
    props.insert(format!("query_{i}"), json!({"type": "string"}));
    props.insert(
        "limit".into(),
        json!({"type": "integer", "minimum": 1, "maximum": 100 + i}),
    );
    if i.is_multiple_of(2) {
        props.insert("unit".into(), json!({"enum": ["metric", "imperial"]}));
    }
    if i.is_multiple_of(3) {
        props.insert(
            "tags".into(),
            json!({"type": "array", "items": {"type": "string"}, "maxItems": 5}),
        );
    }
    if i.is_multiple_of(5) {
        props.insert(
            "options".into(),
            json!({"type": "object", "properties": {"verbose": {"type": "boolean"},
                   "depth": {"type": "number"}}, "required": ["verbose"]}),
        );
    }
    json!({"type": "object", "properties": props, "required": [format!("query_{i}")]})
}

fn begin(i: usize) -> String {
    format!("{TRIGGER}\n{{\"name\": \"tool_{i}\", \"arguments\": ")
}
const END: &str = "}\n</tool_call>";

fn structural_tag(n: usize) -> String {
    let tags: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "tag", "begin": begin(i),
                   "content": {"type": "json_schema", "json_schema": tool_schema(i)},
                   "end": END})
        })
        .collect();
    json!({"type": "structural_tag", "format": {"type": "triggered_tags",
           "triggers": [TRIGGER], "tags": tags}})
    .to_string()
}

/// The walk document and the byte ranges of each region: 0 = free text, 1 = tag JSON,
/// 2 = trigger / begin / end.
fn document(n: usize) -> (String, Vec<(usize, usize, u8)>) {
    let mut s = String::new();
    let mut regions = Vec::new();
    let mut push = |s: &mut String, text: &str, kind: u8| {
        regions.push((s.len(), s.len() + text.len(), kind));
        s.push_str(text);
    };
    push(
        &mut s,
        "Sure! I can help with that. First I will look up the current conditions, \
         then compare them with the forecast for the next few days. ",
        0,
    );
    for i in [n / 3, n - 1] {
        push(&mut s, &begin(i), 2);
        let args = json!({format!("query_{i}"): "weather in Paris, France", "limit": 7});
        push(&mut s, &args.to_string(), 1);
        push(&mut s, END, 2);
        push(
            &mut s,
            "\nThat result looks reasonable; let me check one more thing before answering. ",
            0,
        );
    }
    (s, regions)
}

fn region_at(regions: &[(usize, usize, u8)], pos: usize) -> u8 {
    regions
        .iter()
        .find(|r| r.0 <= pos && pos < r.1)
        .map_or(0, |r| r.2)
}

/// How a walk splits the document into tokens.
#[derive(Clone, Copy, PartialEq)]
enum Split {
    /// The tokenizer's own encoding, as a model writes the text (what the XGrammar peer
    /// script walks too).
    Encode,
    /// The longest allowed token that continues the document at each step: splits a
    /// trigger that the tokenizer holds as one token (Qwen3's `<tool_call>`) after a space.
    Greedy,
}

/// One walk over the document. Returns fill times in µs per region and whether the
/// document was completed (every token in its mask).
fn walk(
    tok: &TokenizerInfo,
    cg: &Arc<xgr::CompiledGrammar>,
    doc: &str,
    regions: &[(usize, usize, u8)],
    split: Split,
    slow: f64,
) -> ([Vec<f64>; 3], bool) {
    let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).expect("matcher");
    let mut bm = vec![0i32; m.bitmask_words()];
    let mut times: [Vec<f64>; 3] = Default::default();
    let bytes = doc.as_bytes();
    let encoded = match split {
        Split::Encode => Some(tok.encode(doc).expect("this tokenizer cannot encode text")),
        Split::Greedy => None,
    };
    let mut pos = 0;
    let mut step = 0;
    while pos < bytes.len() {
        let t0 = Instant::now();
        m.fill_next_token_bitmask(&mut bm).expect("fill");
        let us = t0.elapsed().as_secs_f64() * 1e6;
        // A boundary fill is one whose position is inside, or right after, a boundary region.
        let mut kind = region_at(regions, pos);
        if pos > 0 && region_at(regions, pos - 1) == 2 {
            kind = 2;
        }
        times[kind as usize].push(us);
        if us > slow {
            let at = |i: usize| {
                (0..=i)
                    .rev()
                    .find(|&j| doc.is_char_boundary(j))
                    .unwrap_or(0)
            };
            let (lo, hi) = (at(pos.saturating_sub(24)), at((pos + 12).min(doc.len())));
            println!(
                "    slow {us:8.1} µs  fill {step:4} at byte {pos:5}  {:?} | {:?}",
                &doc[lo..pos],
                &doc[pos..hi]
            );
        }
        let allowed = |t: u32| bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0;
        let next = match &encoded {
            Some(ids) => ids.get(step).copied().filter(|&t| allowed(t)),
            None => {
                let rest = &bytes[pos..];
                let mut best: Option<(usize, u32)> = None;
                for &t in tok.sorted_text_tokens() {
                    if !allowed(t) {
                        continue;
                    }
                    if let Some(b) = tok.token_bytes(t)
                        && !b.is_empty()
                        && rest.starts_with(b)
                        && best.is_none_or(|(l, _)| b.len() > l)
                    {
                        best = Some((b.len(), t));
                    }
                }
                best.map(|(_, t)| t)
            }
        };
        let Some(t) = next else {
            return (times, false);
        };
        assert!(m.accept_token(t).expect("accept"));
        pos += tok.token_bytes(t).map_or(0, <[u8]>::len);
        step += 1;
    }
    (times, m.is_completed())
}

fn fmt(p: &Percentiles) -> String {
    format!("p50 {:7.1} µs  p99 {:7.1} µs  (n={})", p.p50, p.p99, p.n)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let toks = arg("--tokenizers", "llama3-128k,qwen3-151k");
    let counts: Vec<usize> = arg("--tools", "50,400")
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let out = std::path::PathBuf::from(arg("--out", "target/structural_tag_bench"));
    let slow: f64 = arg("--slow", "inf").parse().unwrap_or(f64::INFINITY);
    let split = match arg("--walk", "encode").as_str() {
        "greedy" => Split::Greedy,
        "encode" => Split::Encode,
        other => panic!("--walk {other}: expected encode or greedy"),
    };
    let _ = std::fs::create_dir_all(&out);
    for &n in &counts {
        let (doc, _) = document(n);
        let _ = std::fs::write(out.join(format!("tools{n}.json")), structural_tag(n));
        let _ = std::fs::write(out.join(format!("tools{n}.txt")), &doc);
    }
    for name in toks.split(',') {
        let tok = match load_tokenizer(name) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        for &n in &counts {
            let tag = structural_tag(n);
            let (doc, regions) = document(n);
            let mut convert = Vec::new();
            let mut compile = Vec::new();
            let mut cg = None;
            let mut last = None;
            for _ in 0..5 {
                // A fresh compiler per run (nothing cached), made before the clock starts:
                // engines make one per tokenizer, not one per request.
                let c = GrammarCompiler::new(
                    tok.clone(),
                    CompilerOptions {
                        cache_enabled: false,
                        ..Default::default()
                    },
                );
                // The conversion alone, for the split; then the whole of what an engine
                // calls (conversion included, the grammar moved into the compiled one).
                let t0 = Instant::now();
                let g = Grammar::from_structural_tag(&tag).expect("structural tag");
                let t1 = Instant::now();
                drop(g);
                let t2 = Instant::now();
                let compiled = c.compile_structural_tag(&tag).expect("compile");
                let t3 = Instant::now();
                // The previous run's grammar is dropped outside the timing.
                cg = Some(compiled);
                last = Some(c);
                convert.push((t1 - t0).as_secs_f64() * 1e3);
                compile.push((t3 - t2).as_secs_f64() * 1e3);
            }
            let cg = cg.expect("compiled");
            let conv = Percentiles::of(&mut convert);
            let comp_min = compile.iter().copied().fold(f64::INFINITY, f64::min);
            let comp = Percentiles::of(&mut compile);
            println!(
                "{name} tools={n}: compile_structural_tag {:.1} ms (min {:.1}; conversion alone {:.1} ms; median of 5); {} rules",
                comp.p50,
                comp_min,
                conv.p50,
                cg.grammar().rules().len()
            );
            // The next request: the same input compiled again by the same compiler (no
            // grammar cache), walked cold; rules shared between grammars are warm.
            let again = last
                .expect("compiler")
                .compile_grammar(&Grammar::from_structural_tag(&tag).expect("structural tag"))
                .expect("compile");
            for (pass, cg) in [("cold", &cg), ("warm", &cg), ("next", &again)] {
                let (mut times, ok) = walk(&tok, cg, &doc, &regions, split, slow);
                let mut all: Vec<f64> = times.iter().flatten().copied().collect();
                println!(
                    "  {pass}: all {}  completed={ok}",
                    fmt(&Percentiles::of(&mut all))
                );
                for (k, label) in ["free text", "tag JSON", "boundary"].iter().enumerate() {
                    println!("    {label:10} {}", fmt(&Percentiles::of(&mut times[k])));
                }
            }
        }
    }
}
