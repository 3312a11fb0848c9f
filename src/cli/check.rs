//! `xgr check`: run a document through a grammar (EBNF, regex, JSON Schema, or the builtin
//! JSON grammar) and say where and why it is rejected.

use super::{Opts, load_tokenizer};
use crate::error::{Error, Result};
use crate::{CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions};

fn describe(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes
        .iter()
        .take(24)
        .map(|&b| match b {
            b'\n' => "\\n".into(),
            b'\t' => "\\t".into(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect();
    let more = if bytes.len() > 24 {
        format!(" … ({} in all)", bytes.len())
    } else {
        String::new()
    };
    format!("[{}]{more}", shown.join(" "))
}

pub(crate) fn run(o: &Opts) -> Result<()> {
    let grammar = if let Some(path) = o.get("grammar") {
        let src =
            std::fs::read_to_string(path).map_err(|e| Error::invalid(format!("{path}: {e}")))?;
        Grammar::from_ebnf(&src, o.get("root").unwrap_or("root"))?
    } else if let Some(re) = o.get("regex") {
        Grammar::from_regex(re)?
    } else if let Some(path) = o.get("schema") {
        let src =
            std::fs::read_to_string(path).map_err(|e| Error::invalid(format!("{path}: {e}")))?;
        let opts = crate::JsonSchemaOptions {
            strict_mode: o.get("strict") != Some("off"),
            ..Default::default()
        };
        Grammar::from_json_schema(&src, &opts)?
    } else {
        Grammar::builtin_json()
    };
    let doc: Vec<u8> = match (o.get("doc"), o.get("text")) {
        (Some(path), _) => {
            std::fs::read(path).map_err(|e| Error::invalid(format!("{path}: {e}")))?
        }
        (None, Some(t)) => t.as_bytes().to_vec(),
        (None, None) => {
            return Err(Error::invalid(
                "give the document with --doc FILE or --text STRING",
            ));
        }
    };
    let tok = load_tokenizer(o.get("tokenizer").unwrap_or("gpt2-50k"))?;
    let compiler = GrammarCompiler::new(tok.clone(), CompilerOptions::default());
    let cg = compiler.compile_grammar(&grammar)?;
    // Byte by byte: the first byte the grammar cannot take.
    let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default())?;
    for (i, &b) in doc.iter().enumerate() {
        if !m.accept_string([b])? {
            let line = doc[..i].iter().filter(|&&c| c == b'\n').count() + 1;
            let col = i - doc[..i]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
                + 1;
            println!(
                "rejected at byte {i} (line {line}, column {col}): {}",
                describe(&[b])
            );
            println!(
                "after: {:?}",
                String::from_utf8_lossy(&doc[i.saturating_sub(40)..i])
            );
            println!("expected one of: {}", describe(&m.allowed_next_bytes()));
            return Err(Error::invalid("the document does not match the grammar"));
        }
    }
    if !m.is_completed() {
        println!(
            "the document is a valid prefix but incomplete; it may continue with {}",
            describe(&m.allowed_next_bytes())
        );
        if let s @ 1.. = m.find_jump_forward_string().len() {
            println!(
                "(the grammar forces the next {s} bytes: {:?})",
                m.find_jump_forward_string()
            );
        }
        return Err(Error::invalid("the document is incomplete"));
    }
    // Token by token, as a model would produce it.
    if let Some(ids) = std::str::from_utf8(&doc).ok().and_then(|t| tok.encode(t)) {
        let mut m = GrammarMatcher::new(cg, &MatcherOptions::default())?;
        let mut bm = vec![0i32; m.bitmask_words()];
        for (i, &t) in ids.iter().enumerate() {
            m.fill_next_token_bitmask(&mut bm)?;
            let allowed = bm[(t / 32) as usize] as u32 & (1 << (t % 32)) != 0;
            if !allowed || !m.accept_token(t)? {
                let bytes = tok.token_bytes(t).unwrap_or(&[]);
                println!(
                    "token {i} (id {t}, {}) is not allowed by the mask",
                    describe(bytes)
                );
                return Err(Error::invalid("the tokenized document is rejected"));
            }
        }
        m.fill_next_token_bitmask(&mut bm)?;
        let stop = m
            .stop_token_ids()
            .iter()
            .any(|&s| bm[(s / 32) as usize] as u32 & (1 << (s % 32)) != 0);
        println!(
            "accepted: {} bytes, {} tokens, stop token allowed at the end: {stop}",
            doc.len(),
            ids.len()
        );
    } else {
        println!(
            "accepted: {} bytes (byte by byte; the tokenizer cannot encode it)",
            doc.len()
        );
    }
    Ok(())
}
