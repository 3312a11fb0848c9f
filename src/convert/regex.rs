//! Regular expressions → grammar IR.
//!
//! The pattern is parsed with `regex-syntax`'s AST parser and translated here, so that the
//! result follows ECMA-262 (JSON Schema `pattern`) semantics rather than Rust's:
//!
//! - `\d` = `[0-9]`, `\w` = `[A-Za-z0-9_]`, `\s` = the ECMA white space and line terminators;
//!   `\D \W \S` are their complements over all code points.
//! - `.` matches any code point except the line terminators `\n`, `\r`, U+2028 and U+2029,
//!   unless dot-all (`(?s)` or [`RegexOptions::dot_all`]) is on.
//! - Character classes with ranges, negation, escapes, nested classes and the set operations
//!   `&&`, `--`, `~~`; `\p{..}` / `\P{..}` and `[[:alpha:]]` as `regex-syntax` defines them.
//! - `* + ? {m} {m,} {m,n}`, lazy or greedy (same language); large counts stay one
//!   [`Expr::Repeat`], never unrolled.
//! - Groups (capturing, `(?:..)`, named `(?<n>..)`), alternation including empty branches.
//! - Inline flags `(?i)` (simple case folding), `(?s)`, `(?m)`, `(?x)`, `(?U)`, scoped as in
//!   `regex-syntax` (until the end of the enclosing group, across later alternatives).
//! - `^`/`\A` and `$`/`\z` are accepted only where they can only match at the start (end) of the
//!   text: at the start (end) of the pattern, possibly inside groups and alternatives there.
//!
//! Everything that cannot be expressed exactly (anchors elsewhere, `\b`, `\B`, look-around,
//! backreferences, octal escapes, `(?-u)`) is an [`ErrorKind::GrammarSyntax`] error whose message
//! names the construct and its byte offset in the pattern.
//!
//! [`regex_to_expr`] gives whole-match semantics (anchors are no-ops);
//! [`regex_search_to_expr`] gives JSON Schema search semantics (the match may lie anywhere in
//! the string unless anchored).
//!
//! ```
//! use xgr::convert::regex::{regex_to_expr, RegexOptions};
//! use xgr::Expr;
//! let e = regex_to_expr("ab{2,1000}", RegexOptions::default()).unwrap();
//! assert!(matches!(e, Expr::Seq(_)));
//! let err = regex_to_expr("(a)\\1", RegexOptions::default()).unwrap_err();
//! assert_eq!(err.message(), "regex: backreferences are not supported (at offset 3)");
//! ```
//!
//! [`ErrorKind::GrammarSyntax`]: crate::ErrorKind::GrammarSyntax

use std::fmt::Display;

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSet, ClassSetBinaryOpKind, ClassSetItem, Flag,
    FlagsItemKind, GroupKind, LiteralKind, RepetitionKind, RepetitionRange,
};
use regex_syntax::hir::{self, ClassUnicode, ClassUnicodeRange, HirKind};

use crate::error::{Error, Result};
use crate::grammar::{CharClass, Expr, Grammar, Rule, RuleId};

/// Deepest nesting of groups, classes and repetitions accepted; keeps recursion shallow.
const NEST_LIMIT: u32 = 100;

/// ECMA-262 line terminators (for `.` and multi-line anchors).
const LINE_TERMINATORS: [(u32, u32); 3] = [(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)];

/// ECMA-262 `\s`: WhiteSpace and LineTerminator code points.
const ECMA_SPACE: [(u32, u32); 10] = [
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];

/// ECMA-262 `\w`.
const ECMA_WORD: [(u32, u32); 4] = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// ECMA-262 `\d`.
const ECMA_DIGIT: [(u32, u32); 1] = [(0x30, 0x39)];

/// Options for [`regex_to_expr`] and [`regex_search_to_expr`]: the initial flags, which inline
/// flags (`(?i)`, `(?-s)`, …) can still change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RegexOptions {
    /// Match letters case-insensitively (Unicode simple case folding), like the `i` flag.
    pub case_insensitive: bool,
    /// Let `.` match line terminators too, like the `s` flag.
    pub dot_all: bool,
}

/// Whole-match grammar for [`Grammar::from_regex`]: one rule named `root` whose body is
/// [`regex_to_expr`] of `pattern` with default options.
pub(crate) fn regex_to_grammar(pattern: &str) -> Result<Grammar> {
    let body = regex_to_expr(pattern, RegexOptions::default())?;
    Grammar::new(
        vec![Rule {
            name: "root".into(),
            body,
            lookahead: None,
        }],
        RuleId(0),
    )
}

/// Converts `pattern` to an [`Expr`] matching exactly the strings the pattern matches as a
/// whole (as if wrapped in `^(?:…)$`). `^` and `$` at the ends are accepted and match the
/// empty string. The result references no rules.
///
/// Errors ([`ErrorKind::GrammarSyntax`](crate::ErrorKind::GrammarSyntax), or
/// [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) for nesting deeper than 100)
/// name the offending construct and its byte offset.
pub fn regex_to_expr(pattern: &str, opts: RegexOptions) -> Result<Expr> {
    convert(pattern, opts, false)
}

/// Like [`regex_to_expr`] but with JSON Schema (ECMA `RegExp.test`) search semantics: the
/// result matches every string that *contains* a match of `pattern`, i.e. `[^]* (pattern) [^]*`,
/// where a `^` (`$`) at the start (end) drops the leading (trailing) `[^]*`. Under `(?m)`, `^`
/// and `$` also match after / before a line terminator.
pub fn regex_search_to_expr(pattern: &str, opts: RegexOptions) -> Result<Expr> {
    convert(pattern, opts, true)
}

fn convert(pattern: &str, opts: RegexOptions, search: bool) -> Result<Expr> {
    let ast = ast::parse::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .octal(true)
        .build()
        .parse(pattern)
        .map_err(|e| parse_error(pattern, &e))?;
    let mut conv = Converter {
        pattern,
        flags: Flags {
            case_insensitive: opts.case_insensitive,
            dot_all: opts.dot_all,
            multi_line: false,
        },
    };
    let pos = Pos {
        at_start: true,
        at_end: true,
        pre: search,
        post: search,
    };
    conv.translate(&ast, pos)
}

/// A syntax error naming the construct and the byte offset.
fn err_at(what: impl Display, offset: usize) -> Error {
    Error::syntax(format!("regex: {what} (at offset {offset})"))
}

/// The text at `offset..` of `pattern`, or "" where that is not a char boundary.
fn text_from(pattern: &str, offset: usize) -> &str {
    pattern.get(offset..).unwrap_or("")
}

/// Turns a `regex-syntax` parse error into one of ours.
fn parse_error(pattern: &str, e: &ast::Error) -> Error {
    use ast::ErrorKind as K;
    let offset = e.span().start.offset;
    let text = text_from(pattern, offset);
    let msg = match e.kind() {
        K::UnsupportedLookAround => {
            let which = if text.starts_with("(?<=") {
                "lookbehind `(?<=...)`"
            } else if text.starts_with("(?<!") {
                "negative lookbehind `(?<!...)`"
            } else if text.starts_with("(?!") {
                "negative lookahead `(?!...)`"
            } else {
                "lookahead `(?=...)`"
            };
            format!("{which} is not supported")
        }
        K::UnsupportedBackreference => "backreferences are not supported".to_string(),
        K::EscapeUnrecognized => {
            let mut chars = text.chars();
            chars.next(); // the backslash
            match chars.next() {
                Some('k') => "named backreferences `\\k<name>` are not supported".to_string(),
                Some('8' | '9') => "backreferences are not supported".to_string(),
                Some('c') => "control escapes `\\cX` are not supported".to_string(),
                Some(c) => format!("unrecognized escape sequence `\\{c}`"),
                None => "unrecognized escape sequence".to_string(),
            }
        }
        K::GroupUnclosed => "unclosed group `(`".to_string(),
        K::GroupUnopened => "unopened group `)`".to_string(),
        K::ClassUnclosed => "unclosed character class `[`".to_string(),
        K::NestLimitExceeded(limit) => {
            return Error::limit(format!(
                "regex: groups, classes and repetitions nested deeper than {limit} \
                 (at offset {offset})"
            ));
        }
        other => other.to_string(),
    };
    err_at(msg, offset)
}

/// Flags in force at a point of the pattern.
#[derive(Debug, Clone, Copy)]
struct Flags {
    case_insensitive: bool,
    dot_all: bool,
    multi_line: bool,
}

/// Where an AST node sits and what search-mode padding it must add.
#[derive(Debug, Clone, Copy, Default)]
struct Pos {
    /// Nothing that consumes text can precede the node: a start anchor is legal here.
    at_start: bool,
    /// Nothing that consumes text can follow the node: an end anchor is legal here.
    at_end: bool,
    /// Search mode: prepend "any text" unless a start anchor cancels it.
    pre: bool,
    /// Search mode: append "any text" unless an end anchor cancels it.
    post: bool,
}

/// Which side of the pattern an anchor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Start,
    End,
}

/// How strongly a run of zero-width items anchors its side; ordered weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Anchor {
    /// Not anchored (or only on some alternatives).
    Free,
    /// Multi-line `^`/`$`: start/end of text or next to a line terminator.
    Line,
    /// Start/end of the text.
    Text,
}

/// True if `ast` consumes nothing and can contain only anchors of `side` (or none).
fn is_zero_width(ast: &Ast, side: Side) -> bool {
    match ast {
        Ast::Empty(_) | Ast::Flags(_) => true,
        Ast::Assertion(a) => match side {
            Side::Start => matches!(a.kind, AssertionKind::StartLine | AssertionKind::StartText),
            Side::End => matches!(a.kind, AssertionKind::EndLine | AssertionKind::EndText),
        },
        Ast::Group(g) => is_zero_width(&g.ast, side),
        Ast::Concat(c) => c.asts.iter().all(|a| is_zero_width(a, side)),
        Ast::Alternation(a) => a.asts.iter().all(|a| is_zero_width(a, side)),
        _ => false,
    }
}

/// Whether an assertion (anchor or word boundary) occurs anywhere in `ast`.
fn has_assertion(ast: &Ast) -> bool {
    let mut stack = vec![ast];
    while let Some(a) = stack.pop() {
        match a {
            Ast::Assertion(_) => return true,
            Ast::Group(g) => stack.push(&g.ast),
            Ast::Repetition(r) => stack.push(&r.ast),
            Ast::Concat(c) => stack.extend(c.asts.iter()),
            Ast::Alternation(x) => stack.extend(x.asts.iter()),
            _ => {}
        }
    }
    false
}

struct Converter<'p> {
    pattern: &'p str,
    flags: Flags,
}

impl Converter<'_> {
    fn translate(&mut self, ast: &Ast, pos: Pos) -> Result<Expr> {
        match ast {
            Ast::Concat(c) => self.concat(&c.asts, pos),
            _ => self.concat(std::slice::from_ref(ast), pos),
        }
    }

    /// A concatenation: leading start anchors, the middle, trailing end anchors.
    fn concat(&mut self, items: &[Ast], pos: Pos) -> Result<Expr> {
        let ls = items
            .iter()
            .take_while(|a| is_zero_width(a, Side::Start))
            .count();
        let (head, rest) = items.split_at(ls);
        let re = rest
            .iter()
            .rev()
            .take_while(|a| is_zero_width(a, Side::End))
            .count();
        let (mid, tail) = rest.split_at(rest.len() - re);

        let mut out = Vec::new();
        let start = self.zero_width(head, pos.at_start)?;
        let mut pre = pos.pre;
        if pre && start != Anchor::Free {
            pre = false;
            if start == Anchor::Line {
                out.push(line_lead());
            }
        }

        // The end anchors' flags depend on flag items in the middle; groups restore theirs.
        let saved = self.flags;
        for item in mid {
            if let Ast::Flags(f) = item {
                self.set_flags(&f.flags)?;
            }
        }
        // An error here is reported after those of the middle, which come first in the text.
        let end_result = self.zero_width(tail, pos.at_end);
        let end = end_result.as_ref().map_or(Anchor::Free, |&a| a);
        let after = self.flags;
        self.flags = saved;
        let mut post = pos.post;
        let mut trail = None;
        if post && end != Anchor::Free {
            post = false;
            if end == Anchor::Line {
                trail = Some(line_trail());
            }
        }

        if mid.is_empty() {
            if pre || post {
                out.push(any_star());
            }
        } else {
            let last = mid.len() - 1;
            for (i, item) in mid.iter().enumerate() {
                let p = Pos {
                    at_start: pos.at_start && i == 0,
                    at_end: pos.at_end && i == last,
                    pre: pre && i == 0,
                    post: post && i == last,
                };
                out.push(self.item(item, p)?);
            }
        }
        end_result?;
        self.flags = after;
        out.extend(trail);
        Ok(seq(out))
    }

    /// Processes zero-width items (flags, empties, anchors of one side): applies flags, checks
    /// that anchors are `legal` here, and says how strongly the run anchors.
    fn zero_width(&mut self, items: &[Ast], legal: bool) -> Result<Anchor> {
        let mut kind = Anchor::Free;
        for item in items {
            kind = kind.max(self.zero_width_one(item, legal)?);
        }
        Ok(kind)
    }

    fn zero_width_one(&mut self, ast: &Ast, legal: bool) -> Result<Anchor> {
        match ast {
            Ast::Flags(f) => {
                self.set_flags(&f.flags)?;
                Ok(Anchor::Free)
            }
            Ast::Assertion(a) => {
                if !legal {
                    return Err(self.assertion_error(a));
                }
                let line = matches!(a.kind, AssertionKind::StartLine | AssertionKind::EndLine);
                Ok(if line && self.flags.multi_line {
                    Anchor::Line
                } else {
                    Anchor::Text
                })
            }
            Ast::Group(g) => {
                let saved = self.flags;
                let r = self
                    .group_flags(g)
                    .and_then(|()| self.zero_width_one(&g.ast, legal));
                self.flags = saved;
                r
            }
            Ast::Concat(c) => self.zero_width(&c.asts, legal),
            Ast::Alternation(alt) => {
                let mut kind = Anchor::Text;
                for branch in &alt.asts {
                    kind = kind.min(self.zero_width_one(branch, legal)?);
                }
                Ok(kind)
            }
            _ => Ok(Anchor::Free),
        }
    }

    /// One item of the middle of a concatenation.
    fn item(&mut self, ast: &Ast, pos: Pos) -> Result<Expr> {
        let e = match ast {
            Ast::Empty(_) => Expr::empty(),
            Ast::Flags(f) => {
                self.set_flags(&f.flags)?;
                Expr::empty()
            }
            Ast::Literal(l) => {
                let c = self.literal_char(l, false)?;
                self.char_expr(c)?
            }
            Ast::Dot(_) => {
                let ranges = if self.flags.dot_all {
                    Vec::new()
                } else {
                    LINE_TERMINATORS.to_vec()
                };
                Expr::Class(CharClass {
                    negated: true,
                    ranges,
                })
            }
            Ast::Assertion(a) => return Err(self.assertion_error(a)),
            Ast::ClassUnicode(c) => class_expr(&self.unicode_class(c)?),
            Ast::ClassPerl(p) => class_expr(&self.perl_class(p)?),
            Ast::ClassBracketed(b) => class_expr(&self.bracketed(b)?),
            Ast::Repetition(r) => {
                let inner = self.translate(&r.ast, Pos::default())?;
                let (min, max) = match &r.op.kind {
                    RepetitionKind::ZeroOrOne => (0, Some(1)),
                    RepetitionKind::ZeroOrMore => (0, None),
                    RepetitionKind::OneOrMore => (1, None),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, Some(*n)),
                };
                if max.is_some_and(|max| max < min) {
                    return Err(err_at(
                        "invalid repetition count range, the start must be <= the end",
                        r.op.span.start.offset,
                    ));
                }
                repeat(inner, min, max)
            }
            Ast::Group(g) => {
                let saved = self.flags;
                let r = self
                    .group_flags(g)
                    .and_then(|()| self.translate(&g.ast, pos));
                self.flags = saved;
                return r;
            }
            Ast::Alternation(alt) => {
                // In search mode, branches without anchors share one leading and one trailing
                // "any text" (`.*(a|b).*`, not `.*a.*|.*b.*`, whose DFA tracks which branches
                // have matched: exponential in the number of branches).
                let search = pos.pre || pos.post;
                let inner = Pos {
                    pre: false,
                    post: false,
                    ..pos
                };
                let mut free = Vec::new();
                let mut branches = Vec::with_capacity(alt.asts.len());
                for branch in &alt.asts {
                    if search && !has_assertion(branch) {
                        free.push(self.translate(branch, inner)?);
                    } else {
                        branches.push(self.translate(branch, pos)?);
                    }
                }
                if !free.is_empty() {
                    branches.push(wrap(alt_of(free), pos));
                }
                return Ok(alt_of(branches));
            }
            Ast::Concat(c) => return self.concat(&c.asts, pos),
        };
        Ok(wrap(e, pos))
    }

    fn assertion_error(&self, a: &ast::Assertion) -> Error {
        let offset = a.span.start.offset;
        let text = self
            .pattern
            .get(a.span.start.offset..a.span.end.offset)
            .unwrap_or("");
        let msg = match a.kind {
            AssertionKind::StartLine | AssertionKind::StartText => format!(
                "anchor `{text}` is only supported at the start of the pattern \
                 (or of a top-level alternative)"
            ),
            AssertionKind::EndLine | AssertionKind::EndText => format!(
                "anchor `{text}` is only supported at the end of the pattern \
                 (or of a top-level alternative)"
            ),
            AssertionKind::WordBoundary => "word boundary `\\b` is not supported".to_string(),
            AssertionKind::NotWordBoundary => {
                "non-word-boundary `\\B` is not supported".to_string()
            }
            _ => format!("word boundary assertion `{text}` is not supported"),
        };
        err_at(msg, offset)
    }

    fn set_flags(&mut self, flags: &ast::Flags) -> Result<()> {
        let mut negated = false;
        for item in &flags.items {
            match item.kind {
                FlagsItemKind::Negation => negated = true,
                FlagsItemKind::Flag(Flag::CaseInsensitive) => {
                    self.flags.case_insensitive = !negated
                }
                FlagsItemKind::Flag(Flag::DotMatchesNewLine) => self.flags.dot_all = !negated,
                FlagsItemKind::Flag(Flag::MultiLine) => self.flags.multi_line = !negated,
                FlagsItemKind::Flag(Flag::Unicode) if negated => {
                    return Err(err_at(
                        "disabling Unicode mode `(?-u)` is not supported",
                        item.span.start.offset,
                    ));
                }
                // Swap greed, ignore whitespace (handled by the parser), CRLF, Unicode: no
                // effect on the language here.
                FlagsItemKind::Flag(_) => {}
            }
        }
        Ok(())
    }

    fn group_flags(&mut self, g: &ast::Group) -> Result<()> {
        match &g.kind {
            GroupKind::NonCapturing(flags) => self.set_flags(flags),
            _ => Ok(()),
        }
    }

    /// The code point of a literal; `\0` is NUL, other octal escapes are rejected.
    fn literal_char(&self, l: &ast::Literal, in_class: bool) -> Result<char> {
        if l.kind == LiteralKind::Octal {
            let text = self
                .pattern
                .get(l.span.start.offset..l.span.end.offset)
                .unwrap_or("");
            if text == "\\0" {
                return Ok('\0');
            }
            let what = if in_class || text.starts_with("\\0") {
                format!("octal escape `{text}` is not supported")
            } else {
                "backreferences are not supported".to_string()
            };
            return Err(err_at(what, l.span.start.offset));
        }
        Ok(l.c)
    }

    fn char_expr(&self, c: char) -> Result<Expr> {
        if self.flags.case_insensitive {
            let mut set = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            self.fold(&mut set)?;
            return Ok(class_expr(&set));
        }
        let mut buf = [0u8; 4];
        Ok(Expr::Bytes(c.encode_utf8(&mut buf).as_bytes().to_vec()))
    }

    /// Applies simple case folding when case-insensitive.
    fn fold(&self, set: &mut ClassUnicode) -> Result<()> {
        if self.flags.case_insensitive {
            set.try_case_fold_simple()
                .map_err(|_| Error::syntax("regex: Unicode case folding data is unavailable"))?;
        }
        Ok(())
    }

    /// A leaf class: folded while positive, then negated.
    fn leaf(&self, mut set: ClassUnicode, negated: bool) -> Result<ClassUnicode> {
        self.fold(&mut set)?;
        if negated {
            set.negate();
        }
        Ok(set)
    }

    fn perl_class(&self, p: &ast::ClassPerl) -> Result<ClassUnicode> {
        let ranges: &[(u32, u32)] = match p.kind {
            ClassPerlKind::Digit => &ECMA_DIGIT,
            ClassPerlKind::Word => &ECMA_WORD,
            ClassPerlKind::Space => &ECMA_SPACE,
        };
        self.leaf(class_from(ranges), p.negated)
    }

    fn unicode_class(&self, c: &ast::ClassUnicode) -> Result<ClassUnicode> {
        let negated = c.is_negated();
        let mut positive = c.clone();
        positive.negated = false;
        if let ast::ClassUnicodeKind::NamedValue { op, .. } = &mut positive.kind {
            *op = ast::ClassUnicodeOpKind::Equal;
        }
        let set = self.hir_class(&Ast::class_unicode(positive), c.span.start.offset)?;
        self.leaf(set, negated)
    }

    fn ascii_class(&self, a: &ast::ClassAscii) -> Result<ClassUnicode> {
        let mut positive = a.clone();
        positive.negated = false;
        let bracketed = ast::ClassBracketed {
            span: a.span,
            negated: false,
            kind: ClassSet::Item(ClassSetItem::Ascii(positive)),
        };
        let set = self.hir_class(&Ast::class_bracketed(bracketed), a.span.start.offset)?;
        self.leaf(set, a.negated)
    }

    /// The code points of a class AST as `regex-syntax` defines them (no case folding).
    fn hir_class(&self, ast: &Ast, offset: usize) -> Result<ClassUnicode> {
        let hir = hir::translate::TranslatorBuilder::new()
            .build()
            .translate(self.pattern, ast)
            .map_err(|e| err_at(e.kind(), e.span().start.offset))?;
        match hir.kind() {
            HirKind::Class(hir::Class::Unicode(c)) => Ok(c.clone()),
            HirKind::Class(hir::Class::Bytes(b)) if b.ranges().is_empty() => {
                Ok(ClassUnicode::empty())
            }
            HirKind::Literal(hir::Literal(bytes)) => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(ClassUnicode::new(
                    s.chars().map(|c| ClassUnicodeRange::new(c, c)),
                )),
                Err(_) => Err(err_at("unsupported character class", offset)),
            },
            _ => Err(err_at("unsupported character class", offset)),
        }
    }

    fn bracketed(&self, b: &ast::ClassBracketed) -> Result<ClassUnicode> {
        let set = self.class_set(&b.kind)?;
        self.leaf(set, b.negated)
    }

    fn class_set(&self, set: &ClassSet) -> Result<ClassUnicode> {
        match set {
            ClassSet::Item(item) => self.class_item(item),
            ClassSet::BinaryOp(op) => {
                let mut lhs = self.class_set(&op.lhs)?;
                let rhs = self.class_set(&op.rhs)?;
                match op.kind {
                    ClassSetBinaryOpKind::Intersection => lhs.intersect(&rhs),
                    ClassSetBinaryOpKind::Difference => lhs.difference(&rhs),
                    ClassSetBinaryOpKind::SymmetricDifference => lhs.symmetric_difference(&rhs),
                }
                Ok(lhs)
            }
        }
    }

    fn class_item(&self, item: &ClassSetItem) -> Result<ClassUnicode> {
        match item {
            ClassSetItem::Empty(_) => Ok(ClassUnicode::empty()),
            ClassSetItem::Literal(l) => {
                let c = self.literal_char(l, true)?;
                Ok(ClassUnicode::new([ClassUnicodeRange::new(c, c)]))
            }
            ClassSetItem::Range(r) => {
                let lo = self.literal_char(&r.start, true)?;
                let hi = self.literal_char(&r.end, true)?;
                if lo > hi {
                    return Err(err_at(
                        "invalid character class range, the start must be <= the end",
                        r.span.start.offset,
                    ));
                }
                Ok(ClassUnicode::new([ClassUnicodeRange::new(lo, hi)]))
            }
            ClassSetItem::Ascii(a) => self.ascii_class(a),
            ClassSetItem::Unicode(u) => self.unicode_class(u),
            ClassSetItem::Perl(p) => self.perl_class(p),
            ClassSetItem::Bracketed(b) => self.bracketed(b),
            ClassSetItem::Union(u) => {
                let mut set = ClassUnicode::empty();
                for item in &u.items {
                    set.union(&self.class_item(item)?);
                }
                Ok(set)
            }
        }
    }
}

/// A class from inclusive code-point ranges (surrogates skipped).
fn class_from(ranges: &[(u32, u32)]) -> ClassUnicode {
    ClassUnicode::new(ranges.iter().filter_map(|&(lo, hi)| {
        Some(ClassUnicodeRange::new(
            char::from_u32(lo)?,
            char::from_u32(hi)?,
        ))
    }))
}

/// The smaller of a class and its negated complement; a single code point becomes bytes.
fn class_expr(set: &ClassUnicode) -> Expr {
    let ranges: Vec<(u32, u32)> = set
        .iter()
        .map(|r| (u32::from(r.start()), u32::from(r.end())))
        .collect();
    if let [(lo, hi)] = ranges[..]
        && lo == hi
        && let Some(c) = char::from_u32(lo)
    {
        let mut buf = [0u8; 4];
        return Expr::Bytes(c.encode_utf8(&mut buf).as_bytes().to_vec());
    }
    let mut complement = set.clone();
    complement.negate();
    if complement.ranges().len() < ranges.len() {
        let ranges = complement
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())));
        return Expr::Class(CharClass {
            negated: true,
            ranges: ranges.collect(),
        });
    }
    Expr::Class(CharClass {
        negated: false,
        ranges,
    })
}

/// Any code point.
fn any_char() -> Expr {
    Expr::Class(CharClass {
        negated: true,
        ranges: Vec::new(),
    })
}

/// Any text: `[^]*`.
fn any_star() -> Expr {
    Expr::Repeat {
        expr: Box::new(any_char()),
        min: 0,
        max: None,
    }
}

fn line_terminator() -> Expr {
    Expr::Class(CharClass {
        negated: false,
        ranges: LINE_TERMINATORS.to_vec(),
    })
}

/// What may precede a multi-line `^` in search mode: nothing, or text ending in a line
/// terminator.
fn line_lead() -> Expr {
    Expr::Alt(vec![
        Expr::empty(),
        Expr::Seq(vec![any_star(), line_terminator()]),
    ])
}

/// What may follow a multi-line `$` in search mode.
fn line_trail() -> Expr {
    Expr::Alt(vec![
        Expr::empty(),
        Expr::Seq(vec![line_terminator(), any_star()]),
    ])
}

/// Adds the search-mode padding `pos` asks for.
fn wrap(e: Expr, pos: Pos) -> Expr {
    if !pos.pre && !pos.post {
        return e;
    }
    let mut parts = Vec::with_capacity(3);
    if pos.pre {
        parts.push(any_star());
    }
    parts.push(e);
    if pos.post {
        parts.push(any_star());
    }
    seq(parts)
}

fn repeat(inner: Expr, min: u32, max: Option<u32>) -> Expr {
    match (min, max) {
        (1, Some(1)) => inner,
        (_, Some(0)) => Expr::empty(),
        _ if inner == Expr::empty() => Expr::empty(),
        _ => Expr::Repeat {
            expr: Box::new(inner),
            min,
            max,
        },
    }
}

/// A sequence, flattened, with adjacent literals merged and empty literals dropped.
fn seq(parts: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::with_capacity(parts.len());
    fn push(out: &mut Vec<Expr>, e: Expr) {
        match e {
            Expr::Seq(items) => items.into_iter().for_each(|i| push(out, i)),
            Expr::Bytes(b) if b.is_empty() => {}
            Expr::Bytes(b) => match out.last_mut() {
                Some(Expr::Bytes(prev)) => prev.extend_from_slice(&b),
                _ => out.push(Expr::Bytes(b)),
            },
            other => out.push(other),
        }
    }
    for p in parts {
        push(&mut out, p);
    }
    match out.len() {
        0 => Expr::empty(),
        1 => out.pop().unwrap_or_else(Expr::empty),
        _ => Expr::Seq(out),
    }
}

/// An alternation, flattened; one branch is returned as is.
fn alt_of(branches: Vec<Expr>) -> Expr {
    let mut out = Vec::with_capacity(branches.len());
    for b in branches {
        match b {
            Expr::Alt(items) => out.extend(items),
            other => out.push(other),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or_else(Expr::empty)
    } else {
        Expr::Alt(out)
    }
}
