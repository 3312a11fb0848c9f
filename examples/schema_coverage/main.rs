//! Coverage of the JSON Schema converter over the full shared data.
//!
//! ```text
//! cargo run --release --example schema_coverage -- [--data DIR] [--bench-only] [--suite-only]
//!     [--subset NAME] [--id ID] [--skip N] [--limit N] [--strict] [--relax] [--list-wrong]
//!     [--list-refused] [--convert-only] [--compile-only]
//!     [--tokens [--tokenizer NAME] [--mask-all]]
//! cargo run --release --example schema_coverage -- --print '<schema JSON>' [texts...]
//! ```
//!
//! `DIR` (default `/work/shared/data`) holds `jsonschemabench/*.jsonl` and
//! `json-schema-test-suite/tests/draft2020-12/`. For JSONSchemaBench a schema passes when it
//! compiles and every valid instance is accepted (compact and pretty-printed) and every
//! invalid one rejected; for the Test-Suite each test counts alone. Refusals (errors) are
//! counted by the keyword their message names; wrong answers are listed.
//!
//! `--tokens`: JSONSchemaBench only, token by token with a real tokenizer (default
//! `llama3-128k`, vendored or shared), each text also checked against the byte matcher; see
//! `tokens.rs`.

#[path = "harness.rs"]
mod harness;
mod tokens;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use xgr::convert::json_schema::{JsonSchemaOptions, Relaxation, grammar_from_json_value};

use harness::{Verdict, accepts, grade, matcher, refusal_keyword, short};

struct Args {
    data: PathBuf,
    bench: bool,
    suite: bool,
    subset: Option<String>,
    id: Option<String>,
    skip: usize,
    limit: usize,
    strict: bool,
    relax: bool,
    list_wrong: bool,
    list_refused: bool,
    convert_only: bool,
    compile_only: bool,
    /// Token-level mode (`tokens.rs`).
    tokens: bool,
    mask_all: bool,
}

#[derive(Default)]
struct Tally {
    schemas: usize,
    passed: usize,
    refused: usize,
    wrong: usize,
    tests: usize,
    tests_passed: usize,
    valid_rejected: usize,
    invalid_accepted: usize,
    unknown: usize,
}

fn opts(a: &Args) -> JsonSchemaOptions {
    JsonSchemaOptions {
        strict_mode: a.strict,
        relax: if a.relax {
            vec![
                Relaxation::OneOfAsAnyOf,
                Relaxation::IgnoreUniqueItems,
                Relaxation::IgnoreUnsupportedFormats,
            ]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let mut a = Args {
        data: PathBuf::from("/work/shared/data"),
        bench: true,
        suite: true,
        subset: None,
        id: None,
        skip: 0,
        limit: usize::MAX,
        strict: false,
        relax: false,
        list_wrong: false,
        list_refused: false,
        convert_only: false,
        compile_only: false,
        tokens: false,
        mask_all: false,
    };
    let mut tokenizer = "llama3-128k".to_string();
    while let Some(x) = argv.next() {
        match x.as_str() {
            "--data" => a.data = PathBuf::from(argv.next().expect("--data DIR")),
            "--bench-only" => a.suite = false,
            "--suite-only" => a.bench = false,
            "--subset" => a.subset = argv.next(),
            "--id" => a.id = argv.next(),
            "--skip" => a.skip = argv.next().and_then(|s| s.parse().ok()).expect("--skip N"),
            "--limit" => a.limit = argv.next().and_then(|s| s.parse().ok()).expect("--limit N"),
            "--strict" => a.strict = true,
            "--relax" => a.relax = true,
            "--list-wrong" => a.list_wrong = true,
            "--list-refused" => a.list_refused = true,
            "--convert-only" => a.convert_only = true,
            "--compile-only" => a.compile_only = true,
            "--tokens" => a.tokens = true,
            "--tokenizer" => tokenizer = argv.next().expect("--tokenizer NAME"),
            "--mask-all" => a.mask_all = true,
            "--print" => {
                let schema: Value = serde_json::from_str(&argv.next().expect("--print SCHEMA"))
                    .expect("schema JSON");
                print_schema(&schema, &opts(&a), argv.collect());
                return;
            }
            _ => panic!("unknown argument {x}"),
        }
    }
    if a.tokens {
        tokens::tokens_bench(&a, &tokenizer);
        return;
    }
    if a.bench {
        bench(&a);
    }
    if a.suite {
        suite(&a);
    }
}

fn print_schema(schema: &Value, o: &JsonSchemaOptions, texts: Vec<String>) {
    let t = Instant::now();
    let g = match grammar_from_json_value(schema, o) {
        Ok(g) => g,
        Err(e) => {
            println!("error: {}", e.message());
            return;
        }
    };
    let conv = t.elapsed().as_secs_f64();
    if std::env::var_os("QUIET").is_none() {
        println!("{g}");
    }
    let t = Instant::now();
    let m = matcher(schema, o).expect("compiles");
    println!(
        "rules: {}, convert {conv:.3}s, convert+compile {:.3}s",
        g.rules().len(),
        t.elapsed().as_secs_f64()
    );
    for t in texts {
        println!("{:>5}  {t}", if accepts(&m, &t) { "ok" } else { "no" });
    }
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    std::io::BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("JSON line"))
        .collect()
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn bench(a: &Args) {
    let o = opts(a);
    let dir = a.data.join("jsonschemabench");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut total = Tally::default();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong_list = Vec::new();
    let mut slow: Vec<(f64, f64, String)> = Vec::new();
    let t0 = Instant::now();
    println!(
        "JSONSchemaBench (strict_mode={}, relaxations={})",
        a.strict, a.relax
    );
    println!(
        "{:<24} {:>7} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9}",
        "subset", "schemas", "pass", "refused", "wrong", "valid-rej", "inval-acc", "unknown"
    );
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        if a.subset.as_ref().is_some_and(|s| *s != name) {
            continue;
        }
        let mut t = Tally::default();
        for e in read_jsonl(&f).into_iter().skip(a.skip).take(a.limit) {
            let id = e["id"].as_str().unwrap_or("?").to_string();
            if a.id.as_ref().is_some_and(|x| *x != id) {
                continue;
            }
            t.schemas += 1;
            let ts = Instant::now();
            if a.convert_only {
                match grammar_from_json_value(&e["schema"], &o) {
                    Ok(_) => t.passed += 1,
                    Err(err) => {
                        t.refused += 1;
                        let msg = err.message().to_string();
                        *refusals.entry(refusal_keyword(&msg)).or_default() += 1;
                        if a.list_refused {
                            println!("  refused {name}/{id}: {msg}");
                        }
                    }
                }
                continue;
            }
            if std::env::var_os("XGR_COVERAGE_TRACE").is_some() {
                eprintln!("compiling {name}/{id}");
            }
            let m = matcher(&e["schema"], &o);
            let compile_s = ts.elapsed().as_secs_f64();
            let m = match m {
                Ok(m) => m,
                Err(msg) => {
                    t.refused += 1;
                    *refusals.entry(refusal_keyword(&msg)).or_default() += 1;
                    if a.list_refused {
                        println!("  refused {name}/{id}: {msg}");
                    }
                    continue;
                }
            };
            let mut ok = true;
            let no_tests = Vec::new();
            let tests = if a.compile_only {
                &no_tests
            } else {
                e["tests"].as_array().unwrap_or(&no_tests)
            };
            for test in tests {
                let valid = test["valid"].as_bool().unwrap_or(true);
                t.tests += 1;
                match grade(&m, &test["data"], valid) {
                    Verdict::Pass => t.tests_passed += 1,
                    Verdict::ValidRejected => {
                        ok = false;
                        t.valid_rejected += 1;
                        wrong_list.push(format!(
                            "{name}/{id}: valid rejected: {}",
                            short(&test["data"])
                        ));
                    }
                    Verdict::InvalidAccepted => {
                        ok = false;
                        t.invalid_accepted += 1;
                        wrong_list.push(format!(
                            "{name}/{id}: INVALID ACCEPTED: {}",
                            short(&test["data"])
                        ));
                    }
                    Verdict::Unknown => {
                        ok = false;
                        t.unknown += 1;
                        wrong_list.push(format!(
                            "{name}/{id}: unknown (search budget), valid={valid}: {}",
                            short(&test["data"])
                        ));
                    }
                }
            }
            slow.push((
                ts.elapsed().as_secs_f64(),
                compile_s,
                format!("{name}/{id}"),
            ));
            if ok {
                t.passed += 1;
            } else {
                t.wrong += 1;
            }
        }
        println!(
            "{:<24} {:>7} {:>7.1}% {:>8} {:>6} {:>9} {:>9} {:>9}",
            name,
            t.schemas,
            pct(t.passed, t.schemas),
            t.refused,
            t.wrong,
            t.valid_rejected,
            t.invalid_accepted,
            t.unknown
        );
        for (x, y) in [
            (&mut total.schemas, t.schemas),
            (&mut total.passed, t.passed),
            (&mut total.refused, t.refused),
            (&mut total.wrong, t.wrong),
            (&mut total.tests, t.tests),
            (&mut total.tests_passed, t.tests_passed),
            (&mut total.valid_rejected, t.valid_rejected),
            (&mut total.invalid_accepted, t.invalid_accepted),
            (&mut total.unknown, t.unknown),
        ] {
            *x += y;
        }
    }
    println!(
        "{:<24} {:>7} {:>7.1}% {:>8} {:>6} {:>9} {:>9} {:>9}",
        "TOTAL",
        total.schemas,
        pct(total.passed, total.schemas),
        total.refused,
        total.wrong,
        total.valid_rejected,
        total.invalid_accepted,
        total.unknown
    );
    println!(
        "instances: {} graded, {:.2}% correct; {:.1}s",
        total.tests,
        pct(total.tests_passed, total.tests),
        t0.elapsed().as_secs_f64()
    );
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("slowest schemas (total s, compile s):");
    for (t, c, n) in slow.iter().take(8) {
        println!("  {t:>8.2} {c:>8.2}  {n}");
    }
    print_refusals(refusals);
    print_wrong(&wrong_list, a.list_wrong, "wrong answers");
}

/// Refusal counts by keyword, most first.
pub(crate) fn print_refusals(refusals: BTreeMap<String, usize>) {
    println!("refusals by keyword:");
    let mut r: Vec<_> = refusals.into_iter().collect();
    r.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (k, n) in r {
        println!("  {n:>6}  {k}");
    }
}

/// The wrong answers, or their count when many and not asked for.
pub(crate) fn print_wrong(wrong: &[String], all: bool, what: &str) {
    if all || wrong.len() <= 40 {
        for w in wrong {
            println!("  {w}");
        }
    } else {
        println!("  ({} {what}; --list-wrong shows them)", wrong.len());
    }
}

fn suite(a: &Args) {
    let o = opts(a);
    let root = a.data.join("json-schema-test-suite/tests/draft2020-12");
    let mut files = Vec::new();
    for sub in ["", "optional", "optional/format"] {
        let d = root.join(sub);
        let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        v.sort();
        files.extend(v);
    }
    println!(
        "\nJSON-Schema-Test-Suite draft2020-12 (strict_mode={}, relaxations={})",
        a.strict, a.relax
    );
    println!(
        "{:<44} {:>6} {:>6} {:>8} {:>6}",
        "file", "tests", "pass", "refused", "wrong"
    );
    let mut tot = [0usize; 4];
    let mut part = BTreeMap::<&str, [usize; 4]>::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong_list = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        let groups: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let mut t = [0usize; 4];
        for g in groups.as_array().unwrap() {
            let tests = g["tests"].as_array().unwrap();
            match matcher(&g["schema"], &o) {
                Err(msg) => {
                    t[0] += tests.len();
                    t[2] += tests.len();
                    *refusals.entry(refusal_keyword(&msg)).or_default() += tests.len();
                    if a.list_refused {
                        println!("  refused {rel} / {}: {msg}", g["description"]);
                    }
                }
                Ok(m) => {
                    for test in tests {
                        t[0] += 1;
                        let valid = test["valid"].as_bool().unwrap();
                        match grade(&m, &test["data"], valid) {
                            Verdict::Pass => t[1] += 1,
                            v => {
                                t[3] += 1;
                                wrong_list.push(format!(
                                    "{rel} / {} / {}: {v:?}",
                                    g["description"], test["description"]
                                ));
                            }
                        }
                    }
                }
            }
        }
        println!(
            "{:<44} {:>6} {:>5.0}% {:>8} {:>6}",
            rel,
            t[0],
            pct(t[1], t[0]),
            t[2],
            t[3]
        );
        let key = if rel.starts_with("optional/format") {
            "optional/format"
        } else if rel.starts_with("optional") {
            "optional"
        } else {
            "required"
        };
        let p = part.entry(key).or_default();
        for i in 0..4 {
            p[i] += t[i];
            tot[i] += t[i];
        }
    }
    for (k, p) in &part {
        println!(
            "{:<44} {:>6} {:>5.1}% {:>8} {:>6}",
            format!("[{k}]"),
            p[0],
            pct(p[1], p[0]),
            p[2],
            p[3]
        );
    }
    println!(
        "{:<44} {:>6} {:>5.1}% {:>8} {:>6}",
        "TOTAL",
        tot[0],
        pct(tot[1], tot[0]),
        tot[2],
        tot[3]
    );
    println!("refusals by keyword (tests):");
    let mut r: Vec<_> = refusals.into_iter().collect();
    r.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (k, n) in r {
        println!("  {n:>6}  {k}");
    }
    for w in &wrong_list {
        println!("  {w}");
    }
}
