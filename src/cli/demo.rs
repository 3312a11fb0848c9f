//! `xgr demo`: compile a JSON Schema (by default an embedded tool-call schema) or a grammar
//! for a real tokenizer and generate a document with a seeded stand-in for a language model,
//! showing compile time and per-token mask latency, and proving the document valid.

use std::time::Instant;

use super::{Opts, Percentiles, load_tokenizer};
use crate::error::Result;
use crate::{
    CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, JsonSchemaOptions, MatcherOptions,
};

/// The demo's default schema: a realistic tool call (nested objects, an enum, an array of
/// enums, integer and number bounds, a string pattern and length).
const TOOL_CALL_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "name": {"const": "get_weather_forecast"},
    "arguments": {
      "type": "object",
      "properties": {
        "location": {
          "type": "object",
          "properties": {
            "city": {"type": "string", "minLength": 1, "maxLength": 16},
            "country_code": {"type": "string", "pattern": "^[A-Z]{2}$"}
          },
          "required": ["city", "country_code"]
        },
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "units": {"enum": ["metric", "imperial"]},
        "include": {
          "type": "array",
          "items": {"enum": ["temperature", "precipitation", "wind", "humidity"]},
          "minItems": 1,
          "maxItems": 4
        },
        "alert_above_celsius": {"type": "number", "minimum": -50, "maximum": 60}
      },
      "required": ["location", "days", "units", "include"]
    }
  },
  "required": ["name", "arguments"]
}"#;

/// A small deterministic random generator (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Picks the next token among the allowed ones, as a stand-in for a model: it ends as soon
/// as a stop token is allowed and, the longer the document, the more it prefers tokens
/// that close something.
pub(crate) fn pick(
    m: &GrammarMatcher,
    bitmask: &[i32],
    rng: &mut Rng,
    step: usize,
    max_tokens: usize,
) -> Option<u32> {
    let vocab = m.vocab_size();
    let allowed: Vec<u32> = (0..vocab as u32)
        .filter(|&i| bitmask[(i / 32) as usize] as u32 & (1 << (i % 32)) != 0)
        .collect();
    let is_stop = |t: &u32| m.stop_token_ids().contains(t);
    let stops: Vec<u32> = allowed.iter().copied().filter(is_stop).collect();
    if !stops.is_empty() && (step >= 8 || rng.below(4) == 0) {
        return Some(stops[0]);
    }
    let text: Vec<u32> = allowed.iter().copied().filter(|t| !is_stop(t)).collect();
    if text.is_empty() {
        return stops.first().copied();
    }
    let tok = m.compiled_grammar().tokenizer().clone();
    let late = step * 2 >= max_tokens;
    let choose = |rng: &mut Rng, keep: &dyn Fn(&[u8]) -> bool| {
        let v: Vec<u32> = text
            .iter()
            .copied()
            .filter(|&t| tok.token_bytes(t).is_some_and(keep))
            .collect();
        (!v.is_empty()).then(|| v[rng.below(v.len())])
    };
    let closes = |b: &[u8]| {
        b.iter().any(|c| b"\"}]);".contains(c)) && !b.iter().any(|c| b"{[(\\".contains(c))
    };
    if late || rng.below(3) == 0 {
        // Short tokens that close something and open nothing.
        let max_len = if late { 1 } else { 3 };
        if let Some(t) = choose(rng, &|b| b.len() <= max_len && closes(b)) {
            return Some(t);
        }
    }
    if !late && rng.below(2) == 0 {
        // Word-like text reads better than random symbols.
        let wordy = |b: &[u8]| b.len() >= 2 && b.iter().all(|c| c.is_ascii_alphabetic());
        if let Some(t) = choose(rng, &wordy) {
            return Some(t);
        }
    }
    if late {
        // Anything short and plain keeps the document moving towards an end.
        if let Some(t) = choose(rng, &|b| b.len() == 1 && !b"{[(\\\"".contains(&b[0])) {
            return Some(t);
        }
    }
    Some(text[rng.below(text.len())])
}

pub(crate) fn run(o: &Opts) -> Result<()> {
    let tk_name = o.get("tokenizer").unwrap_or("llama3-128k");
    let t0 = Instant::now();
    let tok = load_tokenizer(tk_name)?;
    println!(
        "tokenizer {tk_name}: {} ids, loaded in {:.0} ms",
        tok.vocab_size(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    let layout = JsonSchemaOptions {
        any_whitespace: false,
        indent: Some(2),
        ..Default::default()
    };
    let (what, grammar) = if let Some(path) = o.get("grammar") {
        let src = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::invalid(format!("{path}: {e}")))?;
        (
            format!("EBNF grammar {path}"),
            Grammar::from_ebnf(&src, "root")?,
        )
    } else if let Some(re) = o.get("regex") {
        (format!("regex {re}"), Grammar::from_regex(re)?)
    } else if let Some(path) = o.get("schema") {
        let src = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::invalid(format!("{path}: {e}")))?;
        (
            format!("JSON Schema {path}"),
            Grammar::from_json_schema(&src, &layout)?,
        )
    } else if o.flag("json") {
        (
            "the builtin JSON grammar".to_string(),
            Grammar::builtin_json(),
        )
    } else {
        println!("schema (a tool call):\n{TOOL_CALL_SCHEMA}");
        (
            "the tool-call JSON Schema".to_string(),
            Grammar::from_json_schema(TOOL_CALL_SCHEMA, &layout)?,
        )
    };
    let is_json = o.get("grammar").is_none() && o.get("regex").is_none();
    let compiler = GrammarCompiler::new(tok.clone(), CompilerOptions::default());
    let t1 = Instant::now();
    let cg = compiler.compile_grammar(&grammar)?;
    let compile_ms = t1.elapsed().as_secs_f64() * 1e3;
    println!("compiled {what} in {compile_ms:.2} ms (token classes are computed on first use)");
    let seed = o.num("seed", 7)?;
    let max_tokens = o.num("max-tokens", 128)? as usize;
    let mut m = GrammarMatcher::new(cg, &MatcherOptions::default())?;
    let mut rng = Rng::new(seed);
    let mut bm = vec![0i32; m.bitmask_words()];
    let mut times = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    for step in 0..max_tokens * 4 {
        let t = Instant::now();
        m.fill_next_token_bitmask(&mut bm)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let Some(next) = pick(&m, &bm, &mut rng, step, max_tokens) else {
            break;
        };
        if !m.accept_token(next)? {
            return Err(crate::Error::invalid(format!(
                "token {next} was in the mask but rejected"
            )));
        }
        if m.is_terminated() {
            break;
        }
        text.extend_from_slice(tok.token_bytes(next).unwrap_or(&[]));
    }
    println!(
        "\ngenerated ({} tokens):\n{}\n",
        times.len(),
        String::from_utf8_lossy(&text)
    );
    let mut check = GrammarMatcher::new(m.compiled_grammar().clone(), &MatcherOptions::default())?;
    let valid = check.accept_string(&text)? && check.is_completed();
    println!(
        "valid: {} (re-checked byte by byte; ended with a stop token: {})",
        valid,
        m.is_terminated()
    );
    if is_json {
        let parsed = serde_json::from_slice::<serde_json::Value>(&text).is_ok();
        println!("parses as JSON (serde_json): {parsed}");
    }
    println!("mask per token: {}", Percentiles::of(&mut times).line("us"));
    if !valid {
        return Err(crate::Error::invalid(
            "the generated document did not complete within --max-tokens",
        ));
    }
    Ok(())
}
