//! The `xgr` command: `demo` (default), `bench`, `check`.
//!
//! The binary in `src/bin/xgr.rs` only calls [`main_with_args`]; everything else lives here
//! so that it is library code with tests.

mod bench;
mod check;
mod demo;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::tokenizer::{TokenizerInfo, TokenizerOptions};

pub use stats::Percentiles;

/// Runs the command line `args` (without the program name); returns the exit code.
pub fn main_with_args(args: Vec<String>) -> i32 {
    let (cmd, rest) = match args.first().map(String::as_str) {
        None => ("demo", &args[..]),
        Some(c) if !c.starts_with('-') => (c, &args[1..]),
        Some(_) => ("demo", &args[..]),
    };
    let opts = match Opts::parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xgr: {e}");
            return 2;
        }
    };
    let r = match cmd {
        "demo" => demo::run(&opts),
        "bench" => bench::run(&opts),
        "check" => check::run(&opts),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(Error::invalid(format!(
            "unknown command `{other}`\n{USAGE}"
        ))),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("xgr: {e}");
            1
        }
    }
}

const USAGE: &str = "usage: xgr [demo|bench|check] [options]
  demo   (default) compile a JSON Schema (a tool call, embedded) or a grammar for a real
         tokenizer and generate a document with a seeded stand-in for a model
         --schema FILE.json | --grammar FILE.ebnf | --regex PATTERN | --json (builtin)
         --tokenizer NAME|PATH  --seed N  --max-tokens N
  bench  JSONSchemaBench protocol (as ../shared/peers): compile each schema, walk its first
         valid instance token by token, time each mask fill
         --tokenizer NAME|PATH (default llama3-128k)  --data DIR  --subset NAME | --all
         --limit N (per subset, default 20)  --ids ID,ID  --schema FILE --doc FILE
         --strict on|off (default on)  --any-whitespace on|off (default on)  --threads N  -v
         --grammar json|FILE.ebnf: the builtin JSON grammar over the same documents, or an
         EBNF grammar over seeded random walks (--walks N --max-tokens N)
  check  run a document through a grammar or schema and say where and why it is rejected
         --doc FILE | --text STRING  --schema FILE | --grammar FILE.ebnf | --regex PATTERN
         --tokenizer NAME|PATH
";

/// Parsed options: `--key value` pairs and flags.
#[derive(Debug, Default)]
pub(crate) struct Opts {
    pairs: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts> {
        let mut o = Opts::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "-v" || a == "--verbose" || a == "--all" || a == "--json" {
                o.flags.push(a.trim_start_matches('-').to_string());
                i += 1;
            } else if let Some(k) = a.strip_prefix("--") {
                let v = args
                    .get(i + 1)
                    .ok_or_else(|| Error::invalid(format!("option --{k} needs a value")))?;
                o.pairs.push((k.to_string(), v.clone()));
                i += 2;
            } else {
                return Err(Error::invalid(format!(
                    "unexpected argument `{a}`\n{USAGE}"
                )));
            }
        }
        Ok(o)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn num(&self, k: &str, default: u64) -> Result<u64> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Error::invalid(format!("--{k}: `{v}` is not a number"))),
        }
    }

    pub fn flag(&self, k: &str) -> bool {
        self.flags
            .iter()
            .any(|f| f == k || (k == "v" && f == "verbose"))
    }
}

/// The repository root when running from a checkout (for vendored data and ../shared).
fn roots() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    if let Ok(cwd) = std::env::current_dir() {
        v.push(cwd);
    }
    v
}

/// Finds the shared data folder (`../shared/data` of the checkout, or `$XGR_DATA`), if present.
pub fn shared_data_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("XGR_DATA") {
        return Some(PathBuf::from(p));
    }
    roots()
        .into_iter()
        .map(|r| r.join("../shared/data"))
        .find(|p| p.is_dir())
}

/// Reads a tokenizer.json by name (vendored `tests/data/tokenizers/NAME.json.gz`, or
/// `../shared/data/tokenizers/NAME/tokenizer.json`) or by path (`.json` or `.json.gz`).
pub fn read_tokenizer_json(spec: &str) -> Result<String> {
    let p = Path::new(spec);
    let mut candidates: Vec<PathBuf> = Vec::new();
    if p.is_file() {
        candidates.push(p.to_path_buf());
    } else if p.is_dir() {
        candidates.push(p.join("tokenizer.json"));
    } else {
        for r in roots() {
            candidates.push(
                r.join("tests/data/tokenizers")
                    .join(format!("{spec}.json.gz")),
            );
        }
        if let Some(d) = shared_data_dir() {
            candidates.push(d.join("tokenizers").join(spec).join("tokenizer.json"));
        }
    }
    let Some(path) = candidates.into_iter().find(|c| c.is_file()) else {
        return Err(Error::tokenizer(format!(
            "tokenizer `{spec}` not found (give a tokenizer.json path or a vendored name such as llama3-128k)"
        )));
    };
    let bytes =
        std::fs::read(&path).map_err(|e| Error::tokenizer(format!("{}: {e}", path.display())))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(|e| Error::tokenizer(format!("{}: {e}", path.display())))?;
        s
    } else {
        String::from_utf8(bytes)
            .map_err(|_| Error::tokenizer(format!("{}: not UTF-8", path.display())))?
    };
    Ok(text)
}

/// Loads a tokenizer found as [`read_tokenizer_json`] finds it.
pub fn load_tokenizer(spec: &str) -> Result<Arc<TokenizerInfo>> {
    let text = read_tokenizer_json(spec)?;
    Ok(Arc::new(TokenizerInfo::from_hf_json(
        &text,
        &TokenizerOptions::default(),
    )?))
}
