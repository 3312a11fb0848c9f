//! JSON string spelling and the string languages of schemas.
//!
//! Strings are written in one canonical spelling per value, the one `serde_json` and
//! Python's `json.dumps(ensure_ascii=False)` produce: every character raw except `"` and `\`
//! (written `\"`, `\\`) and the control characters U+0000–U+001F (written `\b \f \n \r \t`
//! where such a short escape exists, else `\u00xx` with lowercase hex). `\/` and other `\u`
//! escapes are not produced. Because each value has exactly one spelling, a language of values
//! (a `pattern`, a length range, "not one of these names") is a language of spellings, and
//! complements and intersections stay exact.
//!
//! [`lower_str`] builds the grammar of one string constraint: literal sets directly, a single
//! pattern as its own expression, a pattern with a length range by intersecting the length
//! into a simple repetition or through a lookahead assertion, and everything else (several
//! patterns, negated patterns, excluded names) through the automata of `regular.rs`.

use std::cell::OnceCell;
use std::rc::Rc;

use crate::error::{Error, ErrorKind, Result};
use crate::grammar::{CharClass, Expr, MAX_CODE_POINT};

use super::regular::{Dfa, Nfa, Sink, alt, class, seq};

/// Code points written raw inside a JSON string.
pub(crate) const RAW: [(u32, u32); 3] = [(0x20, 0x21), (0x23, 0x5B), (0x5D, MAX_CODE_POINT)];

/// The escape of a code point that may not appear raw.
fn escape(c: u32) -> String {
    match c {
        0x22 => "\\\"".into(),
        0x5C => "\\\\".into(),
        0x08 => "\\b".into(),
        0x0C => "\\f".into(),
        0x0A => "\\n".into(),
        0x0D => "\\r".into(),
        0x09 => "\\t".into(),
        _ => format!("\\u{c:04x}"),
    }
}

fn is_raw(c: u32) -> bool {
    c >= 0x20 && c != 0x22 && c != 0x5C
}

/// The canonical spelling of the string's content (without quotes).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if is_raw(ch as u32) {
            out.push(ch);
        } else {
            out.push_str(&escape(ch as u32));
        }
    }
    out
}

/// The quoted canonical spelling of a string value.
pub(crate) fn string_lit(s: &str) -> Expr {
    Expr::lit(&format!("\"{}\"", encode(s)))
}

/// One character of a set of code points, as it is spelled inside a JSON string.
pub(crate) fn json_chars(ranges: &[(u32, u32)]) -> Expr {
    let norm = CharClass {
        negated: false,
        ranges: ranges.to_vec(),
    }
    .normalized();
    let mut raw = Vec::new();
    let mut esc: Vec<u32> = Vec::new();
    for &(lo, hi) in &norm {
        for &(rlo, rhi) in &RAW {
            let (a, b) = (lo.max(rlo), hi.min(rhi));
            if a <= b {
                raw.push((a, b));
            }
        }
        // Code points that need escapes: at most 34 of them.
        let mut c = lo;
        while c <= hi && c <= 0x5C {
            if !is_raw(c) {
                esc.push(c);
            }
            c += 1;
        }
    }
    let mut alts = Vec::new();
    if !raw.is_empty() {
        alts.push(class(&raw));
    }
    if !esc.is_empty() {
        // `\` then one short escape letter, or `u00` and two lowercase hex digits.
        let mut short = Vec::new();
        let mut hi_digit: [Vec<(u32, u32)>; 2] = [Vec::new(), Vec::new()];
        for &c in &esc {
            let e = escape(c);
            if e.len() == 2 {
                let ch = e.as_bytes()[1] as u32;
                short.push((ch, ch));
            } else {
                let d = e.as_bytes()[5] as u32;
                hi_digit[(c >> 4) as usize].push((d, d));
            }
        }
        let mut tails = Vec::new();
        if !short.is_empty() {
            tails.push(class(&short));
        }
        for (h, digits) in hi_digit.iter().enumerate() {
            if !digits.is_empty() {
                tails.push(seq(vec![Expr::lit(&format!("u00{h}")), class(digits)]));
            }
        }
        alts.push(seq(vec![Expr::lit("\\"), alt(tails)]));
    }
    alt(alts)
}

/// Any one character inside a JSON string.
pub(crate) fn json_char_any() -> Expr {
    // Constant: built once per process.
    static ANY: std::sync::OnceLock<Expr> = std::sync::OnceLock::new();
    ANY.get_or_init(|| json_chars(&[(0, MAX_CODE_POINT)]))
        .clone()
}

/// Rewrites a code-point-level expression (from the regex converter or a format) into the
/// spelling of its strings inside JSON quotes.
pub(crate) fn encode_content(e: &Expr) -> Result<Expr> {
    Ok(match e {
        Expr::Bytes(b) => {
            let s = std::str::from_utf8(b).map_err(|_| {
                Error::new(ErrorKind::JsonSchema, "pattern literal is not valid UTF-8")
            })?;
            Expr::lit(&encode(s))
        }
        Expr::Class(cc) => json_chars(&cc.normalized()),
        Expr::Ref(_) => {
            return Err(Error::new(
                ErrorKind::JsonSchema,
                "internal: rule reference inside a pattern",
            ));
        }
        Expr::Seq(v) => Expr::Seq(v.iter().map(encode_content).collect::<Result<_>>()?),
        Expr::Alt(v) => Expr::Alt(v.iter().map(encode_content).collect::<Result<_>>()?),
        Expr::Repeat { expr, min, max } => Expr::Repeat {
            expr: Box::new(encode_content(expr)?),
            min: *min,
            max: *max,
        },
    })
}

/// A regular string constraint: a `pattern` (search semantics) or a `format`.
#[derive(Debug)]
pub(crate) struct Rx {
    /// The pattern source, or the format name.
    pub src: String,
    pub is_format: bool,
    /// The language over code points.
    pub expr: Expr,
    /// Extra length bound in code points (hostnames).
    pub max_len: Option<u64>,
    dfa: OnceCell<std::result::Result<Rc<Dfa>, Error>>,
    nfa: OnceCell<std::result::Result<Rc<Nfa>, Error>>,
}

impl PartialEq for Rx {
    fn eq(&self, o: &Rx) -> bool {
        self.src == o.src && self.is_format == o.is_format
    }
}
impl Eq for Rx {}
impl std::hash::Hash for Rx {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.src.hash(h);
        self.is_format.hash(h);
    }
}

impl Rx {
    pub fn new(src: String, is_format: bool, expr: Expr, max_len: Option<u64>) -> Rx {
        Rx {
            src,
            is_format,
            expr,
            max_len,
            dfa: OnceCell::new(),
            nfa: OnceCell::new(),
        }
    }

    /// What to call this constraint in messages.
    pub fn describe(&self) -> String {
        if self.is_format {
            format!("format \"{}\"", self.src)
        } else {
            format!("pattern \"{}\"", self.src)
        }
    }

    /// The automaton of the language (without the length bound), built on first use.
    pub fn dfa(&self) -> Result<Rc<Dfa>> {
        self.dfa
            .get_or_init(|| Ok(Rc::new(Dfa::from_expr(&self.expr)?)))
            .clone()
            .map_err(|e| {
                Error::new(
                    ErrorKind::JsonSchema,
                    format!("{}: {}", self.describe(), e.message()),
                )
            })
    }

    /// Whether a concrete string satisfies the constraint.
    pub fn matches(&self, s: &str) -> Result<bool> {
        if self.max_len.is_some_and(|m| s.chars().count() as u64 > m) {
            return Ok(false);
        }
        let nfa = self
            .nfa
            .get_or_init(|| Ok(Rc::new(Nfa::from_expr(&self.expr)?)))
            .clone()?;
        Ok(nfa.matches(s))
    }
}

/// A conjunction of string constraints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StrC {
    /// Length bounds in code points.
    pub min: u64,
    pub max: Option<u64>,
    /// Every one must match.
    pub pats: Vec<Rc<Rx>>,
    /// None may match.
    pub not_pats: Vec<Rc<Rx>>,
    /// When set, the only allowed values (already filtered by the other constraints).
    pub lits: Option<Vec<String>>,
    /// Values that are not allowed (sorted).
    pub excl: Vec<String>,
}

impl StrC {
    pub fn any() -> StrC {
        StrC {
            min: 0,
            max: None,
            pats: vec![],
            not_pats: vec![],
            lits: None,
            excl: vec![],
        }
    }

    pub fn is_any(&self) -> bool {
        *self == StrC::any()
    }

    /// Whether a concrete string satisfies every constraint except the literal set.
    pub fn admits(&self, s: &str) -> Result<bool> {
        let n = s.chars().count() as u64;
        if n < self.min || self.max.is_some_and(|m| n > m) {
            return Ok(false);
        }
        if self.excl.binary_search_by(|x| x.as_str().cmp(s)).is_ok() {
            return Ok(false);
        }
        for p in &self.pats {
            if !p.matches(s)? {
                return Ok(false);
            }
        }
        for p in &self.not_pats {
            if p.matches(s)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether a concrete string is in the language.
    pub fn contains(&self, s: &str) -> Result<bool> {
        if let Some(l) = &self.lits {
            return Ok(l.iter().any(|x| x == s));
        }
        self.admits(s)
    }

    /// The conjunction of two constraints, `None` if evidently empty.
    pub fn and(&self, o: &StrC) -> Result<Option<StrC>> {
        let mut c = StrC {
            min: self.min.max(o.min),
            max: match (self.max, o.max) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            pats: self.pats.clone(),
            not_pats: self.not_pats.clone(),
            lits: None,
            excl: self.excl.clone(),
        };
        for p in &o.pats {
            if !c.pats.contains(p) {
                c.pats.push(p.clone());
            }
        }
        for p in &o.not_pats {
            if !c.not_pats.contains(p) {
                c.not_pats.push(p.clone());
            }
        }
        if c.pats.iter().any(|p| c.not_pats.contains(p)) {
            return Ok(None);
        }
        for x in &o.excl {
            if let Err(i) = c.excl.binary_search(x) {
                c.excl.insert(i, x.clone());
            }
        }
        if c.max.is_some_and(|m| m < c.min) {
            return Ok(None);
        }
        let lits = match (&self.lits, &o.lits) {
            (None, None) => None,
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (Some(a), Some(b)) => Some(a.iter().filter(|x| b.contains(x)).cloned().collect()),
        };
        if let Some(l) = lits {
            let mut keep = Vec::new();
            for s in l {
                if c.admits(&s)? {
                    keep.push(s);
                }
            }
            if keep.is_empty() {
                return Ok(None);
            }
            return Ok(Some(StrC::lits(keep)));
        }
        Ok(Some(c))
    }

    /// Exactly these values.
    pub fn lits(mut v: Vec<String>) -> StrC {
        v.sort();
        v.dedup();
        StrC {
            lits: Some(v),
            ..StrC::any()
        }
    }

    /// The complement among strings, as a union of constraints.
    pub fn complement(&self) -> Vec<StrC> {
        if let Some(l) = &self.lits {
            let mut excl = l.clone();
            excl.sort();
            return vec![StrC {
                excl,
                ..StrC::any()
            }];
        }
        let mut out = Vec::new();
        if self.min > 0 {
            out.push(StrC {
                max: Some(self.min - 1),
                ..StrC::any()
            });
        }
        if let Some(m) = self.max {
            out.push(StrC {
                min: m + 1,
                ..StrC::any()
            });
        }
        for p in &self.pats {
            out.push(StrC {
                not_pats: vec![p.clone()],
                ..StrC::any()
            });
        }
        for p in &self.not_pats {
            out.push(StrC {
                pats: vec![p.clone()],
                ..StrC::any()
            });
        }
        if !self.excl.is_empty() {
            out.push(StrC::lits(self.excl.clone()));
        }
        out
    }

    /// The automaton of the language over code points (all constraints, lengths included).
    pub fn dfa(&self) -> Result<Dfa> {
        self.dfa_opt(true)
    }

    /// The automaton of the language, with or without the length bounds.
    pub fn dfa_opt(&self, with_len: bool) -> Result<Dfa> {
        if let Some(l) = &self.lits {
            return Dfa::from_expr(&alt(l.iter().map(|s| Expr::lit(s)).collect()));
        }
        let mut d: Option<Dfa> = None;
        let add = |x: Dfa, d: &mut Option<Dfa>| -> Result<()> {
            *d = Some(match d.take() {
                None => x,
                Some(y) => y.intersect(&x)?,
            });
            Ok(())
        };
        for p in &self.pats {
            add((*p.dfa()?).clone(), &mut d)?;
        }
        for p in &self.not_pats {
            add(p.dfa()?.complement(), &mut d)?;
        }
        if !self.excl.is_empty() {
            let x = Dfa::from_expr(&alt(self.excl.iter().map(|s| Expr::lit(s)).collect()))?;
            add(x.complement(), &mut d)?;
        }
        let max = self
            .pats
            .iter()
            .filter_map(|p| p.max_len)
            .chain(self.max)
            .min();
        if with_len && (self.min > 0 || max.is_some()) {
            add(Dfa::from_expr(&len_cp(self.min, max))?, &mut d)?;
        }
        match d {
            Some(d) => Ok(d),
            None => Dfa::from_expr(&len_cp(0, None)),
        }
    }
}

/// Any code points, `min..=max` of them.
fn len_cp(min: u64, max: Option<u64>) -> Expr {
    Expr::Repeat {
        expr: Box::new(class(&[(0, MAX_CODE_POINT)])),
        min: clamp32(min),
        max: max.map(clamp32),
    }
}

fn clamp32(x: u64) -> u32 {
    x.min(u32::MAX as u64) as u32
}

/// `"` + JSON characters repeated `min..=max` times + `"`.
fn plain(min: u64, max: Option<u64>) -> Expr {
    seq(vec![
        Expr::lit("\""),
        Expr::Repeat {
            expr: Box::new(json_char_any()),
            min: clamp32(min),
            max: max.map(clamp32),
        },
        Expr::lit("\""),
    ])
}

/// Largest length bound intersected into an automaton (larger ones use a lookahead).
const LEN_IN_DFA: u64 = 64;

/// The grammar (quotes included) of the strings a constraint allows.
pub(crate) fn lower_str(c: &StrC, sink: &mut dyn Sink) -> Result<Expr> {
    if let Some(l) = &c.lits {
        return Ok(alt(l.iter().map(|s| string_lit(s)).collect()));
    }
    let max_len = c.pats.iter().filter_map(|p| p.max_len).chain(c.max).min();
    let need_len = c.min > 0 || max_len.is_some();
    if max_len.is_some_and(|m| m < c.min) {
        return Ok(Expr::Alt(vec![]));
    }
    if c.pats.is_empty() && c.not_pats.is_empty() && c.excl.is_empty() {
        return Ok(plain(c.min, max_len));
    }
    let quote = || Expr::lit("\"");
    // A lookahead checking the length, when the length is not part of the automaton.
    let len_la = |sink: &mut dyn Sink| {
        sink.lookahead(
            quote(),
            seq(vec![
                Expr::Repeat {
                    expr: Box::new(json_char_any()),
                    min: clamp32(c.min),
                    max: max_len.map(clamp32),
                },
                quote(),
            ]),
        )
    };
    if c.pats.len() == 1 && c.not_pats.is_empty() && c.excl.is_empty() {
        let e = &c.pats[0].expr;
        if !need_len {
            return Ok(seq(vec![quote(), encode_content(e)?, quote()]));
        }
        if let Some((cc, a, b)) = simple_repeat(e) {
            let lo = (a as u64).max(c.min);
            let hi = match (b, max_len) {
                (Some(x), Some(y)) => Some((x as u64).min(y)),
                (x, y) => x.map(|v| v as u64).or(y),
            };
            if hi.is_some_and(|h| h < lo) {
                return Ok(Expr::Alt(vec![]));
            }
            return Ok(seq(vec![
                quote(),
                Expr::Repeat {
                    expr: Box::new(json_chars(&cc)),
                    min: clamp32(lo),
                    max: hi.map(clamp32),
                },
                quote(),
            ]));
        }
        let small = max_len.is_some_and(|m| m <= LEN_IN_DFA);
        if !small {
            let open = len_la(sink);
            return Ok(seq(vec![open, encode_content(e)?, quote()]));
        }
    }
    // Automata for the regular constraints; the length joins them only when small.
    let small = max_len.is_some_and(|m| m <= LEN_IN_DFA) || (max_len.is_none() && c.min <= 8);
    let dfa = match c.dfa_opt(small) {
        Ok(d) => Some(d),
        Err(e) => {
            if !c.not_pats.is_empty() || !c.excl.is_empty() {
                return Err(e);
            }
            None
        }
    };
    let open = if need_len && !small {
        len_la(sink)
    } else {
        quote()
    };
    match dfa {
        Some(d) => {
            let content = d.to_expr(&json_chars, sink)?;
            if matches!(&content, Expr::Alt(v) if v.is_empty()) {
                return Ok(content);
            }
            Ok(seq(vec![open, content, quote()]))
        }
        None => {
            // Lookahead chain: every pattern but the last is checked ahead.
            let mut open = open;
            let (last, rest) = c.pats.split_last().expect("patterns present");
            for p in rest {
                open = sink.lookahead(open, seq(vec![encode_content(&p.expr)?, quote()]));
            }
            if need_len && small {
                open = sink.lookahead(
                    open,
                    seq(vec![
                        Expr::Repeat {
                            expr: Box::new(json_char_any()),
                            min: clamp32(c.min),
                            max: max_len.map(clamp32),
                        },
                        quote(),
                    ]),
                );
            }
            Ok(seq(vec![open, encode_content(&last.expr)?, quote()]))
        }
    }
}

/// A class repeated between two counts.
type ClassRepeat = (Vec<(u32, u32)>, u32, Option<u32>);

/// `Some((class, min, max))` if the expression is one class repeated.
fn simple_repeat(e: &Expr) -> Option<ClassRepeat> {
    match e {
        Expr::Seq(v) if v.len() == 1 => simple_repeat(&v[0]),
        Expr::Repeat { expr, min, max } => match &**expr {
            Expr::Class(cc) => Some((cc.normalized(), *min, *max)),
            _ => None,
        },
        Expr::Class(cc) => Some((cc.normalized(), 1, Some(1))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling() {
        assert_eq!(encode("a\"b\\c\n\u{1}é"), "a\\\"b\\\\c\\n\\u0001é");
        let d = Dfa::from_expr(&json_chars(&[(0, 0x7F)])).unwrap();
        assert!(
            d.accepts("a") && d.accepts("\\n") && d.accepts("\\u001f") && !d.accepts("\\u001F")
        );
        assert!(!d.accepts("é") && !d.accepts("\"") && d.accepts("\\\""));
    }
}
