//! `xgr bench`: compile time and per-token mask latency.
//!
//! Default: the JSONSchemaBench protocol shared with the peer scripts
//! (`../shared/peers/README.md`): for each schema of a subset that has a valid instance,
//! compile the schema (timed: schema text to a ready matcher), serialize its first valid
//! instance compactly, tokenize it as a continuation, and for each token time one mask fill,
//! check that the token is allowed and advance; at the end a stop token must be allowed.
//! Only the fill call is inside the timed region. `--all` runs every subset and prints a
//! table per subset. The last line is `JSON {...}` with the peers' keys.
//!
//! `--grammar json`: the builtin JSON grammar over the same documents. `--grammar
//! FILE.ebnf`: that grammar over seeded random walks.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::demo::{Rng, pick};
use super::{Opts, Percentiles, load_tokenizer, shared_data_dir};
use crate::error::{Error, Result};
use crate::tokenizer::TokenizerInfo;
use crate::{
    CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, JsonSchemaOptions, MatcherOptions,
};

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

fn grammar_run(o: &Opts) -> Result<()> {
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

/// Runs `xgr bench` (see the module overview).
pub(crate) fn run(o: &Opts) -> Result<()> {
    if o.get("grammar").is_some() {
        return grammar_run(o);
    }
    schema_run(o)
}

/// One benchmark case: a schema and the compact text of its first valid instance.
struct Case {
    name: String,
    schema: String,
    doc: String,
}

/// The cases of one subset file: schemas with a valid instance, in file order.
fn schema_cases(path: &Path, limit: usize, ids: &[String]) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    let subset = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= limit {
            break;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let id = v["id"].as_str().unwrap_or("?");
        if !ids.is_empty() && !ids.iter().any(|x| x == id) {
            continue;
        }
        let Some(t) = v["tests"].as_array().and_then(|t| {
            t.iter()
                .find(|t| t["valid"] == serde_json::Value::Bool(true))
        }) else {
            continue;
        };
        out.push(Case {
            name: format!("{subset}/{id}"),
            schema: v["schema"].to_string(),
            doc: serde_json::to_string(&t["data"]).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// What one case measured.
#[derive(Default)]
struct Outcome {
    status: String,
    compile_ms: Option<f64>,
    mask_us: Vec<f64>,
    /// Byte offset in the document of each mask fill (the last one is the end).
    mask_at: Vec<usize>,
}

fn on_off(o: &Opts, key: &str, default: bool) -> Result<bool> {
    match o.get(key) {
        None => Ok(default),
        Some("on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(v) => Err(Error::invalid(format!("--{key}: `{v}` is not on/off"))),
    }
}

/// Compiles the case's schema and walks its document.
fn run_case(
    tok: &Arc<TokenizerInfo>,
    compiler: &GrammarCompiler,
    opts: &JsonSchemaOptions,
    case: &Case,
    bm: &mut [i32],
) -> Result<Outcome> {
    let mut out = Outcome::default();
    let Some(tokens) = tok.encode(&case.doc) else {
        return Err(Error::tokenizer(
            "this tokenizer cannot encode text (built from a raw vocab)",
        ));
    };
    let rebuilt: Vec<u8> = tokens
        .iter()
        .flat_map(|&t| tok.token_bytes(t).unwrap_or(&[]).to_vec())
        .collect();
    if rebuilt != case.doc.as_bytes() {
        out.status = "tokenization does not round-trip".into();
        return Ok(out);
    }
    let t = Instant::now();
    let compiled = compiler
        .compile_json_schema(&case.schema, opts)
        .and_then(|cg| GrammarMatcher::new(cg, &MatcherOptions::default()));
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let mut m = match compiled {
        Ok(m) => m,
        Err(e) => {
            let msg: String = e.message().chars().take(60).collect();
            out.status = format!("compile error: {msg}");
            return Ok(out);
        }
    };
    out.compile_ms = Some(ms);
    let mut at = 0;
    for (i, &t) in tokens.iter().enumerate() {
        let s = Instant::now();
        m.fill_next_token_bitmask(bm)?;
        out.mask_us.push(s.elapsed().as_secs_f64() * 1e6);
        out.mask_at.push(at);
        at += tok.token_bytes(t).map_or(0, |b| b.len());
        if !get_bit(bm, t) {
            out.status = format!("token {i} not in mask");
            return Ok(out);
        }
        if !m.accept_token(t)? {
            out.status = format!("token {i} rejected");
            return Ok(out);
        }
    }
    let s = Instant::now();
    m.fill_next_token_bitmask(bm)?;
    out.mask_us.push(s.elapsed().as_secs_f64() * 1e6);
    out.mask_at.push(at);
    out.status = if m.stop_token_ids().iter().any(|&s| get_bit(bm, s)) {
        "ok".into()
    } else {
        "eos not allowed at end".into()
    };
    Ok(out)
}

/// `--slow US`: each fill of the case slower than `us` µs, with the document text just
/// before the point of the fill and just after it.
fn print_slow(case: &Case, r: &Outcome, us: u64) {
    let doc = case.doc.as_bytes();
    for (i, (&t, &at)) in r.mask_us.iter().zip(&r.mask_at).enumerate() {
        if t <= us as f64 {
            continue;
        }
        let before = String::from_utf8_lossy(&doc[at.saturating_sub(24)..at]);
        let after = String::from_utf8_lossy(&doc[at..(at + 12).min(doc.len())]);
        println!(
            "    slow {t:9.1} us  {}  fill {i:4} at byte {at:5}  {before:?} | {after:?}",
            case.name
        );
    }
}

/// Figures over a set of outcomes.
struct Summary {
    schemas: usize,
    ok: usize,
    tokens: usize,
    compile: Percentiles,
    mask: Percentiles,
    first: Percentiles,
    later: Percentiles,
}

fn summarize(rs: &[(String, Outcome)]) -> Summary {
    let mut compile: Vec<f64> = rs.iter().filter_map(|(_, r)| r.compile_ms).collect();
    let mut mask: Vec<f64> = rs.iter().flat_map(|(_, r)| r.mask_us.clone()).collect();
    let mut first: Vec<f64> = rs
        .iter()
        .filter_map(|(_, r)| r.mask_us.first())
        .copied()
        .collect();
    let mut later: Vec<f64> = rs
        .iter()
        .flat_map(|(_, r)| r.mask_us.iter().skip(1).copied())
        .collect();
    Summary {
        schemas: rs.len(),
        ok: rs.iter().filter(|(_, r)| r.status == "ok").count(),
        tokens: mask.len(),
        compile: Percentiles::of(&mut compile),
        mask: Percentiles::of(&mut mask),
        first: Percentiles::of(&mut first),
        later: Percentiles::of(&mut later),
    }
}

fn schema_run(o: &Opts) -> Result<()> {
    let tk_name = o.get("tokenizer").unwrap_or("llama3-128k");
    let tok = load_tokenizer(tk_name)?;
    let verbose = o.flag("v");
    let threads = o.num("threads", 1)?.max(1) as usize;
    let opts = JsonSchemaOptions {
        any_whitespace: on_off(o, "any-whitespace", true)?,
        strict_mode: on_off(o, "strict", true)?,
        ..Default::default()
    };
    let limit = o.num("limit", 20)? as usize;
    let ids: Vec<String> = o
        .get("ids")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_default();
    // Which subsets: --schema/--doc, --all, or --subset (default Github_easy).
    let mut groups: Vec<(String, Vec<Case>)> = Vec::new();
    if let Some(schema_path) = o.get("schema") {
        let doc_path = o
            .get("doc")
            .ok_or_else(|| Error::invalid("--schema needs --doc (a valid instance)"))?;
        let read =
            |p: &str| std::fs::read_to_string(p).map_err(|e| Error::invalid(format!("{p}: {e}")));
        let doc: serde_json::Value = serde_json::from_str(&read(doc_path)?)
            .map_err(|e| Error::invalid(format!("{doc_path}: {e}")))?;
        groups.push((
            "file".into(),
            vec![Case {
                name: schema_path.to_string(),
                schema: read(schema_path)?,
                doc: serde_json::to_string(&doc).unwrap_or_default(),
            }],
        ));
    } else {
        let dir = match o.get("data") {
            Some(d) => PathBuf::from(d),
            None => shared_data_dir()
                .map(|d| d.join("jsonschemabench"))
                .ok_or_else(|| Error::invalid("no --data given and ../shared/data not found"))?,
        };
        let subsets: Vec<String> = if o.flag("all") {
            let mut v: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect();
            v.sort();
            v
        } else {
            vec![o.get("subset").unwrap_or("Github_easy").to_string()]
        };
        for s in subsets {
            let cases = schema_cases(&dir.join(format!("{s}.jsonl")), limit, &ids)?;
            groups.push((s, cases));
        }
    }
    println!(
        "xgr {} on {tk_name} (vocab {}): strict_mode={}, any_whitespace={}, compile threads {threads}",
        env!("CARGO_PKG_VERSION"),
        tok.vocab_size(),
        opts.strict_mode,
        opts.any_whitespace
    );
    // One compiler for the run, as an engine keeps one per tokenizer; no cache, so every
    // schema is compiled from scratch.
    let compiler = GrammarCompiler::new(
        tok.clone(),
        CompilerOptions {
            max_threads: threads,
            cache_enabled: false,
            ..Default::default()
        },
    );
    // Warm-up outside the measurements: page in code paths and the allocator.
    {
        let mut bm = vec![0i32; tok.vocab_size().div_ceil(32)];
        let warm = Case {
            name: "warm-up".into(),
            schema: r#"{"type":"object","properties":{"a":{"type":"string"}}}"#.into(),
            doc: r#"{"a":"b"}"#.into(),
        };
        run_case(&tok, &compiler, &opts, &warm, &mut bm)?;
    }
    let slow = o.get("slow").map(|_| o.num("slow", 0)).transpose()?;
    let total: usize = groups.iter().map(|(_, c)| c.len()).sum();
    let progress = !verbose && std::io::stderr().is_terminal();
    let mut bm = vec![0i32; tok.vocab_size().div_ceil(32)];
    let mut all: Vec<(String, Outcome)> = Vec::new();
    let mut rows = Vec::new();
    let mut done = 0usize;
    for (subset, cases) in &groups {
        let mut rs = Vec::new();
        for case in cases {
            let r = run_case(&tok, &compiler, &opts, case, &mut bm)?;
            done += 1;
            if verbose {
                let mut m = r.mask_us.clone();
                let p = Percentiles::of(&mut m);
                let c = r
                    .compile_ms
                    .map_or("      n/a".to_string(), |c| format!("{c:9.2}"));
                let status: String = r.status.chars().take(40).collect();
                println!(
                    "  {:<40} {status:<40} compile {c} ms  tokens {:5}  mask p50 {:8.1} us  p99 {:9.1} us",
                    case.name,
                    r.mask_us.len(),
                    p.p50,
                    p.p99
                );
            } else if progress {
                eprint!("\r{subset}: {done}/{total}");
            }
            if let Some(us) = slow {
                print_slow(case, &r, us);
            }
            rs.push((case.name.clone(), r));
        }
        rows.push((subset.clone(), summarize(&rs)));
        all.extend(rs);
    }
    if progress {
        eprintln!();
    }
    if groups.len() > 1 {
        println!(
            "{:<24} {:>7} {:>5} {:>12} {:>12} {:>11} {:>11} {:>11}",
            "subset",
            "schemas",
            "ok",
            "compile p50",
            "compile p99",
            "mask p50",
            "mask p99",
            "mask max"
        );
        for (s, r) in &rows {
            println!(
                "{s:<24} {:>7} {:>5} {:>9.2} ms {:>9.2} ms {:>8.1} us {:>8.1} us {:>8.1} us",
                r.schemas, r.ok, r.compile.p50, r.compile.p99, r.mask.p50, r.mask.p99, r.mask.max
            );
        }
    }
    let s = summarize(&all);
    println!(
        "xgr on {tk_name} (vocab {}): {}/{} schemas ok, {} masks; compile p50 {:.3} ms p99 {:.3} ms; mask p50 {:.2} us p90 {:.2} us p99 {:.2} us p99.9 {:.2} us mean {:.2} us max {:.2} us; first mask p50 {:.2} us p99 {:.2} us; later masks p50 {:.2} us p99 {:.2} us",
        tok.vocab_size(),
        s.ok,
        s.schemas,
        s.tokens,
        s.compile.p50,
        s.compile.p99,
        s.mask.p50,
        s.mask.p90,
        s.mask.p99,
        s.mask.p999,
        s.mask.mean,
        s.mask.max,
        s.first.p50,
        s.first.p99,
        s.later.p50,
        s.later.p99
    );
    let r3 = |x: f64| (x * 1e3).round() / 1e3;
    let r2 = |x: f64| (x * 1e2).round() / 1e2;
    let failed: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .filter(|(_, r)| r.status != "ok")
        .map(|(n, r)| (n.clone(), r.status.clone().into()))
        .collect();
    let per_subset: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|(n, r)| {
            let v = serde_json::json!({
                "schemas": r.schemas, "ok": r.ok,
                "compile_ms_p50": r3(r.compile.p50), "compile_ms_p99": r3(r.compile.p99),
                "mask_us_p50": r2(r.mask.p50), "mask_us_p99": r2(r.mask.p99),
            });
            (n.clone(), v)
        })
        .collect();
    let line = serde_json::json!({
        "engine": "xgr", "tokenizer": tk_name, "vocab": tok.vocab_size(),
        "schemas": s.schemas, "ok": s.ok, "failed": failed, "tokens": s.tokens,
        "compile_ms_p50": r3(s.compile.p50), "compile_ms_p90": r3(s.compile.p90),
        "compile_ms_p99": r3(s.compile.p99), "compile_ms_max": r3(s.compile.max),
        "mask_us_p50": r2(s.mask.p50), "mask_us_p90": r2(s.mask.p90),
        "mask_us_p99": r2(s.mask.p99), "mask_us_p999": r2(s.mask.p999),
        "mask_us_mean": r2(s.mask.mean), "mask_us_max": r2(s.mask.max),
        "first_mask_us_p50": r2(s.first.p50), "first_mask_us_p99": r2(s.first.p99),
        "later_mask_us_p50": r2(s.later.p50), "later_mask_us_p99": r2(s.later.p99),
        "subsets": per_subset,
    });
    println!("JSON {line}");
    Ok(())
}
