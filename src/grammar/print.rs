//! EBNF printer: [`Grammar`] back to the EBNF dialect that `ebnf::parse` reads.
//!
//! ```
//! let g = xgr::Grammar::from_ebnf("root ::= (\"a\" | [b-d])+ x\nx ::= \"é\"?", "root").unwrap();
//! assert_eq!(g.to_ebnf(), "root ::= (\"a\" | [b-d])+ x\nx ::= \"\\u00e9\"?\n");
//! ```
//!
//! The output has one line per rule, `name ::= body`, the root rule first and then the
//! others in id order; a lookahead assertion is printed as ` (= ...)` at the end. Printing
//! is deterministic and a fixed point: printing the re-parsed text gives the same text.
//!
//! - Literals: printable ASCII as is (`"` and `\` escaped), `\n \r \t`, other ASCII control
//!   characters as `\xHH` (as `\u00HH` when a hex digit follows, so that readers taking
//!   `\x` with any number of digits agree), other code points as `\uHHHH` / `\UHHHHHHHH`.
//!   **Lossy case:** a `Bytes` value that is not valid UTF-8 cannot be written in the
//!   dialect (escapes denote code points). Its invalid bytes are printed as `\xHH`, which
//!   re-parses as the code point U+00HH, i.e. a different (two-byte) string.
//! - Classes: printed in the canonical form of [`canonical_class`].
//! - Parentheses only where precedence needs them (alternation < sequence < postfix), and
//!   around an alternation inside an alternation or a sequence inside a sequence, so the
//!   parsed structure is reproduced. One-element sequences and alternations are printed as
//!   their element.
//! - Repetitions as `?`, `*`, `+`, `{n}`, `{m,}` or `{m,n}`.
//! - Expressions that match nothing, `Alt(vec![])` and a repetition with `max < min`, are
//!   printed as `[]`, the empty character class, which also matches nothing.
//! - Rule names that are not valid in the dialect (`[a-zA-Z_][a-zA-Z0-9_.-]*`) are printed
//!   with every other character replaced by `_` (and `_` prepended if needed), with a
//!   `_1`, `_2`, ... suffix where that would clash with another name.
//!
//! The printer uses an explicit stack, so deep expressions cannot overflow the call stack.

use std::collections::HashSet;

use super::{CharClass, Expr, Grammar, MAX_CODE_POINT};

/// Prints `g` in the EBNF dialect; see the module docs for the format.
pub(crate) fn to_ebnf(g: &Grammar) -> String {
    let names = printable_names(g);
    let root = g.root().index();
    let order = std::iter::once(root).chain((0..g.rules().len()).filter(|&i| i != root));
    let mut out = String::new();
    for i in order {
        let (Some(rule), Some(name)) = (g.rules().get(i), names.get(i)) else {
            continue;
        };
        out.push_str(name);
        out.push_str(" ::= ");
        print_expr(&mut out, &rule.body, &names);
        if let Some(la) = &rule.lookahead {
            out.push_str(" (= ");
            print_expr(&mut out, la, &names);
            out.push(')');
        }
        out.push('\n');
    }
    out
}

/// The canonical form of a class: the set it matches (negation applied, surrogates
/// removed), as sorted disjoint ranges where a range may span the surrogate block (which
/// [`CharClass::normalized`] removes again), written negated when the complement needs
/// fewer ranges; on a tie, negated when the set includes U+10FFFF (so `[^"\\]` stays
/// negated and `[\x00-\x7f]` does not). Equal sets give equal canonical classes, and the
/// form is a fixed point. `[]` (nothing) is `{negated: false, ranges: []}` and `[^]`
/// (everything) is `{negated: true, ranges: []}`.
pub(crate) fn canonical_class(c: &CharClass) -> CharClass {
    let set = bridge_surrogates(c.normalized());
    let complement = bridge_surrogates(
        CharClass {
            negated: true,
            ranges: set.clone(),
        }
        .normalized(),
    );
    let reaches_top = set.last().is_some_and(|&(_, hi)| hi == MAX_CODE_POINT);
    if complement.len() < set.len() || (complement.len() == set.len() && reaches_top) {
        CharClass {
            negated: true,
            ranges: complement,
        }
    } else {
        CharClass {
            negated: false,
            ranges: set,
        }
    }
}

/// Joins `(a, U+D7FF)` and `(U+E000, b)` into `(a, b)`.
fn bridge_surrogates(ranges: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if last.1 == 0xD7FF && lo == 0xE000 => last.1 = hi,
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The names to print, indexed by rule id: valid names as they are, others sanitized.
fn printable_names(g: &Grammar) -> Vec<String> {
    let mut used: HashSet<String> = g
        .rules()
        .iter()
        .filter(|r| is_valid_name(&r.name))
        .map(|r| r.name.clone())
        .collect();
    g.rules()
        .iter()
        .map(|r| {
            if is_valid_name(&r.name) {
                return r.name.clone();
            }
            let mut base: String = r
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                base.insert(0, '_');
            }
            let mut name = base.clone();
            let mut k = 1u64;
            while used.contains(&name) {
                name = format!("{base}_{k}");
                k += 1;
            }
            used.insert(name.clone());
            name
        })
        .collect()
}

/// Binding strength: what a context requires of a child to print it without parentheses.
const PREC_ALT: u8 = 0;
const PREC_SEQ: u8 = 1;
const PREC_POSTFIX: u8 = 2;
const PREC_ATOM: u8 = 3;

/// One-element sequences and alternations print as their element.
fn peel(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Seq(v) | Expr::Alt(v) => match v.as_slice() {
                [x] => e = x,
                _ => return e,
            },
            _ => return e,
        }
    }
}

fn matches_nothing_repeat(min: u32, max: Option<u32>) -> bool {
    max.is_some_and(|m| m < min)
}

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Alt(v) if v.len() >= 2 => PREC_ALT,
        Expr::Seq(v) if v.len() >= 2 => PREC_SEQ,
        Expr::Repeat { min, max, .. } if !matches_nothing_repeat(*min, *max) => PREC_POSTFIX,
        _ => PREC_ATOM,
    }
}

fn quantifier(min: u32, max: Option<u32>) -> String {
    match (min, max) {
        (0, Some(1)) => "?".into(),
        (0, None) => "*".into(),
        (1, None) => "+".into(),
        (m, None) => format!("{{{m},}}"),
        (m, Some(n)) if m == n => format!("{{{m}}}"),
        (m, Some(n)) => format!("{{{m},{n}}}"),
    }
}

enum Work<'a> {
    /// Print an expression; the `u8` is the least precedence printable without parentheses.
    Expr(&'a Expr, u8),
    Text(&'static str),
    Owned(String),
}

fn print_expr(out: &mut String, e: &Expr, names: &[String]) {
    let mut stack = vec![Work::Expr(e, PREC_ALT)];
    while let Some(w) = stack.pop() {
        let (e, need) = match w {
            Work::Text(s) => {
                out.push_str(s);
                continue;
            }
            Work::Owned(s) => {
                out.push_str(&s);
                continue;
            }
            Work::Expr(e, need) => (peel(e), need),
        };
        if precedence(e) < need {
            out.push('(');
            stack.push(Work::Text(")"));
        }
        match e {
            Expr::Bytes(b) => print_bytes(out, b),
            Expr::Class(c) => print_class(out, c),
            Expr::Ref(id) => out.push_str(names.get(id.index()).map_or("_", String::as_str)),
            Expr::Seq(v) if v.is_empty() => out.push_str("\"\""),
            Expr::Alt(v) if v.is_empty() => out.push_str("[]"),
            Expr::Seq(v) | Expr::Alt(v) => {
                let (sep, child) = if matches!(e, Expr::Seq(_)) {
                    (" ", PREC_POSTFIX)
                } else {
                    (" | ", PREC_SEQ)
                };
                for (i, x) in v.iter().enumerate().rev() {
                    stack.push(Work::Expr(x, child));
                    if i > 0 {
                        stack.push(Work::Text(sep));
                    }
                }
            }
            Expr::Repeat { min, max, .. } if matches_nothing_repeat(*min, *max) => {
                out.push_str("[]");
            }
            Expr::Repeat { expr, min, max } => {
                stack.push(Work::Owned(quantifier(*min, *max)));
                stack.push(Work::Expr(expr, PREC_ATOM));
            }
        }
    }
}

/// Writes code point `cp`, escaped as needed. `in_class` selects the characters that need
/// a backslash; `next_is_hex` says a raw hex digit follows (see the module docs).
fn push_code_point(out: &mut String, cp: u32, in_class: bool, next_is_hex: bool) {
    let c = char::from_u32(cp.min(MAX_CODE_POINT)).unwrap_or('\u{FFFD}');
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        '"' if !in_class => out.push_str("\\\""),
        ']' | '^' | '-' if in_class => {
            out.push('\\');
            out.push(c);
        }
        ' '..='~' => out.push(c),
        _ => push_escape(out, c as u32, next_is_hex),
    }
}

/// `\xHH` (or `\u00HH` before a hex digit), `\uHHHH` or `\UHHHHHHHH`.
fn push_escape(out: &mut String, cp: u32, next_is_hex: bool) {
    let s = if cp < 0x80 && !next_is_hex {
        format!("\\x{cp:02x}")
    } else if cp <= 0xFFFF {
        format!("\\u{cp:04x}")
    } else {
        format!("\\U{cp:08x}")
    };
    out.push_str(&s);
}

enum Unit {
    Char(char),
    Byte(u8),
}

fn print_bytes(out: &mut String, bytes: &[u8]) {
    let mut units = Vec::new();
    for chunk in bytes.utf8_chunks() {
        units.extend(chunk.valid().chars().map(Unit::Char));
        units.extend(chunk.invalid().iter().map(|&b| Unit::Byte(b)));
    }
    out.push('"');
    for (i, u) in units.iter().enumerate() {
        let next_is_hex = matches!(units.get(i + 1), Some(Unit::Char(c)) if c.is_ascii_hexdigit());
        match u {
            Unit::Char(c) => push_code_point(out, *c as u32, false, next_is_hex),
            Unit::Byte(b) => {
                let s = if next_is_hex {
                    format!("\\u{b:04x}")
                } else {
                    format!("\\x{b:02x}")
                };
                out.push_str(&s);
            }
        }
    }
    out.push('"');
}

fn print_class(out: &mut String, c: &CharClass) {
    let canon = canonical_class(c);
    // Code points, with `None` for the `-` of a range.
    let mut pieces: Vec<Option<u32>> = Vec::with_capacity(canon.ranges.len() * 3);
    for &(lo, hi) in &canon.ranges {
        pieces.push(Some(lo));
        if hi == lo + 1 {
            pieces.push(Some(hi));
        } else if hi > lo {
            pieces.push(None);
            pieces.push(Some(hi));
        }
    }
    out.push('[');
    if canon.negated {
        out.push('^');
    }
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Some(cp) => {
                let next_is_hex = matches!(pieces.get(i + 1), Some(Some(n))
                    if char::from_u32(*n).is_some_and(|c| c.is_ascii_hexdigit()));
                push_code_point(out, *cp, true, next_is_hex);
            }
            None => out.push('-'),
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{Rule, RuleId};

    fn g1(body: Expr) -> Grammar {
        Grammar::new(
            vec![Rule {
                name: "root".into(),
                body,
                lookahead: None,
            }],
            RuleId(0),
        )
        .unwrap()
    }

    #[test]
    fn precedence_and_quantifiers() {
        let e = Expr::Seq(vec![
            Expr::Alt(vec![Expr::lit("a"), Expr::lit("b")]),
            Expr::Repeat {
                expr: Box::new(Expr::Seq(vec![Expr::lit("c"), Expr::lit("d")])),
                min: 2,
                max: Some(5),
            },
            Expr::Alt(vec![]),
            Expr::Seq(vec![]),
        ]);
        assert_eq!(
            to_ebnf(&g1(e)),
            "root ::= (\"a\" | \"b\") (\"c\" \"d\"){2,5} [] \"\"\n"
        );
    }

    #[test]
    fn escapes() {
        let e = Expr::Bytes(b"\"\\\n\x01A\x01z\xff\xe4\xb8\x80".to_vec());
        assert_eq!(
            to_ebnf(&g1(e)),
            "root ::= \"\\\"\\\\\\n\\u0001A\\x01z\\xff\\u4e00\"\n"
        );
    }

    #[test]
    fn classes() {
        let c = CharClass {
            negated: true,
            ranges: vec![(0x5C, 0x5C), (0x22, 0x22)],
        };
        assert_eq!(to_ebnf(&g1(Expr::Class(c))), "root ::= [^\"\\\\]\n");
        let all = CharClass {
            negated: false,
            ranges: vec![(0, MAX_CODE_POINT)],
        };
        assert_eq!(
            canonical_class(&all),
            CharClass {
                negated: true,
                ranges: vec![]
            }
        );
    }
}
