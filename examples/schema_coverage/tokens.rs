//! Token-level mode (`--tokens`): JSONSchemaBench instances fed token by token through a
//! matcher built on a real tokenizer (default `llama3-128k`).
//!
//! For each schema that compiles, its grammar is compiled twice: for the byte vocabulary of
//! the byte mode and for the tokenizer (one compiler for the whole run). Each instance's text
//! comes from the byte mode's key-order search ([`feed_value`]): a valid instance compact and
//! pretty-printed, an invalid one compact; where the search finds no accepted key order the
//! text is the greedy best-effort one of [`best_text`]. The text is tokenized as a
//! continuation (no special tokens) and fed with `accept_token`; it counts as accepted when
//! every token is and the grammar may end there (`is_completed`, and a stop token is then
//! accepted). The same text is also run through the byte matcher: a token-level answer that
//! differs from the byte-level one on the same text (`tok≠byte`) is an engine bug, the rest of
//! the wrong answers are the byte mode's own.
//!
//! Masks: for the first valid instance of each schema (every instance with `--mask-all`),
//! before each token the next-token bitmask is filled and its bit for the token must agree
//! with `accept_token`; at the end the mask must allow a stop token exactly when the grammar
//! is complete (`mask≠acc` counts instances where either fails).
//!
//! Columns: `pass` of all schemas and of those compiled (`pass/cmp`); instance counts
//! (`tok≠byte`, `valid-rej`, `inval-acc` where bytes and tokens agree, `unknown`: key-order
//! search out of budget, `mask≠acc`); seconds spent converting and compiling (`compile`, of
//! which `tok-cmp` for the tokenizer), in the byte-level search (`search`), tokenizing and
//! feeding tokens with the mask checks (`feed`), and in all (`wall s`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use xgr::convert::json_schema::grammar_from_json_value;
use xgr::tokenizer::TokenizerInfo;
use xgr::{CompiledGrammar, CompilerOptions, GrammarCompiler, GrammarMatcher, MatcherOptions};

use crate::harness::{
    Fed, Layout, accepts, best_text, compiler, feed_value, refusal_keyword, short,
};
use crate::{Args, opts, pct, read_jsonl};

/// Outcome of feeding one text token by token.
struct TokRun {
    tokens: Vec<u32>,
    /// Index of the first rejected token.
    rejected_at: Option<usize>,
    /// Every token accepted and the grammar may end.
    accepted: bool,
    /// Disagreement between mask and `accept_token` / `is_completed`.
    mask_err: Option<String>,
    masks: usize,
}

fn get_bit(bm: &[i32], t: u32) -> bool {
    bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0
}

/// A token's bytes, escaped for messages.
fn tok_text(tok: &TokenizerInfo, t: u32) -> String {
    let b = tok.token_bytes(t).unwrap_or(&[]);
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Context of token `i`: the text before it (at most 40 bytes) and the token.
fn context(tok: &TokenizerInfo, tokens: &[u32], i: usize) -> String {
    let before: Vec<u8> = tokens[..i]
        .iter()
        .flat_map(|&t| tok.token_bytes(t).unwrap_or(&[]).to_vec())
        .collect();
    let from = before.len().saturating_sub(40);
    format!(
        "token #{i} id {} {} after {:?}",
        tokens[i],
        tok_text(tok, tokens[i]),
        String::from_utf8_lossy(&before[from..])
    )
}

/// Tokenizes `text` and feeds it; None when the tokenization does not round-trip.
fn run_tokens(
    tok: &TokenizerInfo,
    cg: &Arc<CompiledGrammar>,
    text: &str,
    check_mask: bool,
    bm: &mut [i32],
) -> Option<TokRun> {
    let tokens = tok.encode(text)?;
    let rebuilt: Vec<u8> = tokens
        .iter()
        .flat_map(|&t| tok.token_bytes(t).unwrap_or(&[]).to_vec())
        .collect();
    if rebuilt != text.as_bytes() {
        return None;
    }
    let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).expect("matcher");
    let mut r = TokRun {
        tokens,
        rejected_at: None,
        accepted: false,
        mask_err: None,
        masks: 0,
    };
    for (i, &t) in r.tokens.iter().enumerate() {
        let bit = check_mask.then(|| {
            m.fill_next_token_bitmask(bm).expect("bitmask");
            r.masks += 1;
            get_bit(bm, t)
        });
        let ok = m.accept_token(t).expect("accept_token");
        if let Some(bit) = bit
            && bit != ok
            && r.mask_err.is_none()
        {
            r.mask_err = Some(format!(
                "mask bit {bit}, accept_token {ok} at {}",
                context(tok, &r.tokens, i)
            ));
        }
        if !ok {
            r.rejected_at = Some(i);
            return Some(r);
        }
    }
    let completed = m.is_completed();
    if check_mask {
        m.fill_next_token_bitmask(bm).expect("bitmask");
        r.masks += 1;
        let stop = m.stop_token_ids().iter().any(|&s| get_bit(bm, s));
        if stop != completed && r.mask_err.is_none() {
            r.mask_err = Some(format!(
                "at the end: mask allows a stop token {stop}, is_completed {completed}"
            ));
        }
    }
    let stop_ok = match m.stop_token_ids().first() {
        Some(&s) => m.accept_token(s).expect("stop token"),
        None => completed,
    };
    if stop_ok != completed && r.mask_err.is_none() {
        r.mask_err = Some(format!(
            "at the end: stop token accepted {stop_ok}, is_completed {completed}"
        ));
    }
    r.accepted = completed && stop_ok;
    Some(r)
}

#[derive(Default)]
struct Tally {
    schemas: usize,
    compiled: usize,
    passed: usize,
    refused: usize,
    wrong: usize,
    /// Schemas with a token-level answer that differs from the byte-level one.
    wrong_tok: usize,
    insts: usize,
    insts_passed: usize,
    tok_byte: usize,
    valid_rejected: usize,
    invalid_accepted: usize,
    unknown: usize,
    mask: usize,
    no_roundtrip: usize,
    tokens: usize,
    masks: usize,
    /// Conversion and both compilations.
    compile_s: f64,
    /// Compilation for the tokenizer.
    tok_compile_s: f64,
    search_s: f64,
    feed_s: f64,
    wall_s: f64,
}

impl Tally {
    fn add(&mut self, t: &Tally) {
        for (x, y) in [
            (&mut self.schemas, t.schemas),
            (&mut self.compiled, t.compiled),
            (&mut self.passed, t.passed),
            (&mut self.refused, t.refused),
            (&mut self.wrong, t.wrong),
            (&mut self.wrong_tok, t.wrong_tok),
            (&mut self.insts, t.insts),
            (&mut self.insts_passed, t.insts_passed),
            (&mut self.tok_byte, t.tok_byte),
            (&mut self.valid_rejected, t.valid_rejected),
            (&mut self.invalid_accepted, t.invalid_accepted),
            (&mut self.unknown, t.unknown),
            (&mut self.mask, t.mask),
            (&mut self.no_roundtrip, t.no_roundtrip),
            (&mut self.tokens, t.tokens),
            (&mut self.masks, t.masks),
        ] {
            *x += y;
        }
        self.compile_s += t.compile_s;
        self.tok_compile_s += t.tok_compile_s;
        self.search_s += t.search_s;
        self.feed_s += t.feed_s;
        self.wall_s += t.wall_s;
    }

    fn row(&self, name: &str) {
        println!(
            "{:<16} {:>7} {:>8} {:>7.1}% {:>7.1}% {:>7} {:>5} {:>8} {:>9} {:>9} {:>7} {:>8} {:>6} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1}",
            name,
            self.schemas,
            self.compiled,
            pct(self.passed, self.schemas),
            pct(self.passed, self.compiled),
            self.refused,
            self.wrong,
            self.tok_byte,
            self.valid_rejected,
            self.invalid_accepted,
            self.unknown,
            self.mask,
            self.insts,
            self.tokens,
            self.compile_s,
            self.tok_compile_s,
            self.search_s,
            self.feed_s,
            self.wall_s
        );
    }
}

/// Which text is graded, for messages.
struct Graded<'a> {
    name: &'a str,
    id: &'a str,
    data: &'a Value,
    valid: bool,
    layout: Layout,
}

/// Runs the token-level mode over the JSONSchemaBench files (see the module overview).
pub fn tokens_bench(a: &Args, tokenizer: &str) {
    let mask_all = a.mask_all;
    let trace = std::env::var_os("XGR_COVERAGE_TRACE").is_some();
    let o = opts(a);
    let t_load = Instant::now();
    let tok = xgr::cli::load_tokenizer(tokenizer)
        .unwrap_or_else(|e| panic!("tokenizer {tokenizer}: {}", e.message()));
    let tc = GrammarCompiler::new(
        tok.clone(),
        CompilerOptions {
            max_threads: 1,
            cache_enabled: false,
            ..Default::default()
        },
    );
    let mut bm = vec![0i32; tok.vocab_size().div_ceil(32)];
    let dir = a.data.join("jsonschemabench");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    println!(
        "JSONSchemaBench, token level ({tokenizer}, loaded in {:.1}s; strict_mode={}, relaxations={}; masks checked on {})",
        t_load.elapsed().as_secs_f64(),
        a.strict,
        a.relax,
        if mask_all {
            "every instance"
        } else {
            "the first valid instance of each schema"
        }
    );
    println!(
        "{:<16} {:>7} {:>8} {:>8} {:>8} {:>7} {:>5} {:>8} {:>9} {:>9} {:>7} {:>8} {:>6} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "subset",
        "schemas",
        "compiled",
        "pass",
        "pass/cmp",
        "refused",
        "wrong",
        "tok≠byte",
        "valid-rej",
        "inval-acc",
        "unknown",
        "mask≠acc",
        "insts",
        "tokens",
        "compile",
        "tok-cmp",
        "search",
        "feed",
        "wall s"
    );
    let mut total = Tally::default();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong_list: Vec<String> = Vec::new();
    let mut tok_list: Vec<String> = Vec::new();
    let t0 = Instant::now();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        if a.subset.as_ref().is_some_and(|s| *s != name) {
            continue;
        }
        let mut t = Tally::default();
        let ts = Instant::now();
        for e in read_jsonl(&f).into_iter().skip(a.skip).take(a.limit) {
            let id = e["id"].as_str().unwrap_or("?").to_string();
            if a.id.as_ref().is_some_and(|x| *x != id) {
                continue;
            }
            t.schemas += 1;
            if trace {
                eprintln!("compiling {name}/{id}");
            }
            let tc0 = Instant::now();
            let compiled = grammar_from_json_value(&e["schema"], &o)
                .map_err(|e| e.message().to_string())
                .and_then(|g| {
                    let byte_cg = compiler()
                        .compile_grammar(&g)
                        .map_err(|e| format!("grammar compilation failed: {}", e.message()))?;
                    let tc1 = Instant::now();
                    let tok_cg = tc
                        .compile_grammar(&g)
                        .map_err(|e| format!("grammar compilation failed: {}", e.message()));
                    t.tok_compile_s += tc1.elapsed().as_secs_f64();
                    Ok((byte_cg, tok_cg?))
                });
            t.compile_s += tc0.elapsed().as_secs_f64();
            let (byte_cg, tok_cg) = match compiled {
                Ok(x) => x,
                Err(msg) => {
                    t.refused += 1;
                    *refusals.entry(refusal_keyword(&msg)).or_default() += 1;
                    if a.list_refused {
                        println!("  refused {name}/{id}: {msg}");
                    }
                    continue;
                }
            };
            t.compiled += 1;
            let bmatch = GrammarMatcher::new(byte_cg, &MatcherOptions::default()).expect("matcher");
            let mut ok = true;
            let mut tok_bad = false;
            let mut first_valid = true;
            let no_tests = Vec::new();
            let tests = if a.compile_only {
                &no_tests
            } else {
                e["tests"].as_array().unwrap_or(&no_tests)
            };
            for test in tests {
                let valid = test["valid"].as_bool().unwrap_or(true);
                let data = &test["data"];
                let check_mask = mask_all || (valid && first_valid);
                first_valid &= !valid;
                t.insts += 1;
                let layouts: &[Layout] = if valid {
                    &[Layout::Compact, Layout::Pretty]
                } else {
                    &[Layout::Compact]
                };
                let mut inst_ok = true;
                for &layout in layouts {
                    let g = Graded {
                        name: &name,
                        id: &id,
                        data,
                        valid,
                        layout,
                    };
                    let s0 = Instant::now();
                    let (fed, text) = feed_value(&bmatch, data, layout, valid);
                    if fed == Fed::Unknown {
                        t.search_s += s0.elapsed().as_secs_f64();
                        t.unknown += 1;
                        inst_ok = false;
                        wrong_list.push(format!(
                            "{name}/{id}: unknown (search budget), valid={valid}: {}",
                            short(data)
                        ));
                        break;
                    }
                    let text = text.unwrap_or_else(|| best_text(&bmatch, data, layout, valid));
                    let byte_ok = accepts(&bmatch, &text);
                    t.search_s += s0.elapsed().as_secs_f64();
                    let f0 = Instant::now();
                    let r = run_tokens(&tok, &tok_cg, &text, check_mask, &mut bm);
                    t.feed_s += f0.elapsed().as_secs_f64();
                    let Some(r) = r else {
                        t.no_roundtrip += 1;
                        inst_ok = false;
                        wrong_list.push(format!(
                            "{name}/{id}: tokenization does not round-trip: {text:?}"
                        ));
                        break;
                    };
                    t.tokens += r.tokens.len();
                    t.masks += r.masks;
                    if trace {
                        eprintln!(
                            "  valid={valid} {layout:?} bytes={byte_ok} tokens={} ({} tokens{}): {text:?}",
                            r.accepted,
                            r.tokens.len(),
                            r.rejected_at
                                .map(|i| format!(", rejected at #{i}"))
                                .unwrap_or_default()
                        );
                    }
                    if let Some(err) = &r.mask_err {
                        t.mask += 1;
                        inst_ok = false;
                        tok_bad = true;
                        tok_list.push(format!("{}: MASK≠ACCEPT: {err}", describe(&g, &text)));
                    }
                    if r.accepted != byte_ok {
                        t.tok_byte += 1;
                        inst_ok = false;
                        tok_bad = true;
                        let at = match r.rejected_at {
                            Some(i) => format!("rejected {}", context(&tok, &r.tokens, i)),
                            None if r.accepted => "all tokens accepted and may end".to_string(),
                            None => format!("all {} tokens accepted, cannot end", r.tokens.len()),
                        };
                        tok_list.push(format!(
                            "{}: TOKENS≠BYTES: bytes {}, tokens {}: {at}; tokens {:?}",
                            describe(&g, &text),
                            if byte_ok { "accept" } else { "reject" },
                            if r.accepted { "accept" } else { "reject" },
                            r.tokens
                        ));
                        break;
                    }
                    if r.accepted != valid {
                        inst_ok = false;
                        if valid {
                            t.valid_rejected += 1;
                        } else {
                            t.invalid_accepted += 1;
                        }
                        wrong_list.push(format!(
                            "{}: {} (bytes agree)",
                            describe(&g, &text),
                            if valid {
                                "valid rejected"
                            } else {
                                "INVALID ACCEPTED"
                            }
                        ));
                        break;
                    }
                }
                if inst_ok {
                    t.insts_passed += 1;
                } else {
                    ok = false;
                }
            }
            if ok {
                t.passed += 1;
            } else {
                t.wrong += 1;
            }
            if tok_bad {
                t.wrong_tok += 1;
            }
        }
        t.wall_s = ts.elapsed().as_secs_f64();
        t.row(&name);
        total.add(&t);
    }
    total.row("TOTAL");
    println!(
        "instances: {} graded, {:.2}% correct; {} tokens fed, {} masks filled, {} not round-tripping; {} schemas wrong, {} of them with a token-level disagreement; {:.1}s",
        total.insts,
        pct(total.insts_passed, total.insts),
        total.tokens,
        total.masks,
        total.no_roundtrip,
        total.wrong,
        total.wrong_tok,
        t0.elapsed().as_secs_f64()
    );
    crate::print_refusals(refusals);
    println!(
        "token-level disagreements (tokens≠bytes on the same text, mask≠accept): {}",
        tok_list.len()
    );
    for w in &tok_list {
        println!("  {w}");
    }
    crate::print_wrong(
        &wrong_list,
        a.list_wrong,
        "other wrong answers, the byte mode's",
    );
}

/// Schema, truth, layout and text of a graded text, for messages.
fn describe(g: &Graded, text: &str) -> String {
    let text = short(&Value::String(text.to_string()));
    format!(
        "{}/{}: {} {:?} {} (instance {})",
        g.name,
        g.id,
        if g.valid { "valid" } else { "invalid" },
        g.layout,
        text,
        short(g.data)
    )
}
