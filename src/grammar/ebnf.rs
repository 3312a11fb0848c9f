//! EBNF parser: XGrammar's grammar dialect, a superset of llama.cpp's GBNF, into a [`Grammar`].
//!
//! ```
//! let src = r#"
//! root ::= "[" item ("," item)* "]"   # a list
//! item ::= [a-z]+ | "\u4e00"
//! "#;
//! let g = xgr::Grammar::from_ebnf(src, "root").unwrap();
//! assert_eq!(g.rules().len(), 2);
//! ```
//!
//! # Syntax
//!
//! - A grammar is a list of rules `name ::= expr`. Names match `[a-zA-Z_][a-zA-Z0-9_.-]*`.
//!   A rule's body may span several lines; a new rule begins wherever `name ::=` appears.
//!   Rules may be referenced before their definition; each name is defined once. Unused
//!   rules are kept. `#` starts a comment that runs to the end of the line. A leading
//!   byte-order mark is ignored.
//! - String literals `"..."` (one line). Escapes denote Unicode code points, emitted as UTF-8:
//!   `\n \r \t \b \f \a \v \e \0`, `\xHH` (exactly two hex digits, as in GBNF; XGrammar
//!   reads any number), `\uHHHH`, `\UHHHHHHHH`, and a backslash before any of
//!   `" ' ? \ / [ ] - ^ $ . * + ( ) { } |` for the character itself. Surrogates and code points above U+10FFFF are errors. `""` is the empty string.
//! - Character classes `[a-z0-9_]`, negated `[^"\\]`, with the same escapes; ranges are
//!   over code points (`[α-ω]`, `[\u4e00-\u9fff]`). A `-` first or last is literal. `[]`
//!   matches nothing and `[^]` any code point. `\d \w \s` (and upper case) are rejected.
//!   Classes are stored canonically (see `print::canonical_class`).
//! - Grouping `( ... )` (`( )` is the empty string), alternation `|` (an empty alternative
//!   is the empty string, as in GBNF's `ws ::= | " "`), sequence by juxtaposition.
//! - Postfix quantifiers `? * + {n} {m,} {m,n}`; also `{,n}` (= `{0,n}`) and `{m,-1}`
//!   (= `{m,}`, as XGrammar prints it). Two quantifiers in a row (`"a"++`) are an error.
//! - A lookahead assertion `(= expr)` may end a rule body (it goes to [`Rule::lookahead`]);
//!   anywhere else it is an error.
//! - Parentheses nest at most [`MAX_NESTING`] deep; deeper input is a `LimitExceeded` error.
//!   The parser uses no recursion, so no input can overflow the stack.
//!
//! Not supported, each reported as an error with its position: `.` (write `[^]`), rule
//! options `name[max_tokens=...] ::=`, and macros such as `TagDispatch(...)`, `Regex(...)`.
//!
//! # Errors
//!
//! Every error message reads `EBNF syntax error at line L, column C: <what was expected or
//! what is wrong>`, with 1-based line and column (columns count characters). Limit errors
//! read `EBNF nesting limit exceeded at line L, column C: ...`.

use std::collections::HashMap;

use super::print::canonical_class;
use super::{CharClass, Expr, Grammar, MAX_CODE_POINT, Rule, RuleId};
use crate::error::{Error, Result};

/// The deepest nesting of parentheses (including `(= ...)`) the parser accepts.
pub(crate) const MAX_NESTING: usize = 1000;

/// XGrammar macro names: an identifier from this list followed by `(` is reported as an
/// unsupported macro (unless a rule of that name exists).
const MACROS: &[&str] = &[
    "TagDispatch",
    "TokenTagDispatch",
    "Token",
    "ExcludeToken",
    "Regex",
    "Substring",
];

/// Parses `src` in the EBNF dialect described in the module docs; `root_rule` names the
/// start rule.
pub(crate) fn parse(src: &str, root_rule: &str) -> Result<Grammar> {
    let toks = Lexer::new(src).tokenize()?;
    Parser::new(&toks)?.parse(root_rule)
}

/// A 1-based source position; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    col: usize,
}

fn syntax_err(pos: Pos, msg: impl std::fmt::Display) -> Error {
    Error::syntax(format!(
        "EBNF syntax error at line {}, column {}: {msg}",
        pos.line, pos.col
    ))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Assign,
    Str(Vec<u8>),
    Class(CharClass),
    LParen,
    LookParen,
    RParen,
    Pipe,
    Star,
    Plus,
    Question,
    LBrace,
    RBrace,
    Comma,
    /// A run of decimal digits, as written.
    Int(String),
    /// Any other character; the parser reports it in context.
    Other(char),
    Eof,
}

impl Tok {
    /// How the token reads in a "found ..." message.
    fn describe(&self) -> String {
        match self {
            Tok::Ident(n) => format!("`{n}`"),
            Tok::Assign => "`::=`".into(),
            Tok::Str(_) => "a string literal".into(),
            Tok::Class(_) => "a character class".into(),
            Tok::LParen => "`(`".into(),
            Tok::LookParen => "`(=`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Pipe => "`|`".into(),
            Tok::Star => "`*`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Question => "`?`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Int(s) => format!("`{s}`"),
            Tok::Other(c) if c.is_control() || c.is_whitespace() || *c == '\u{feff}' => {
                format!("character U+{:04X}", *c as u32)
            }
            Tok::Other(c) => format!("`{c}`"),
            Tok::Eof => "end of input".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: Pos,
}

/// Which literal an escape sequence appears in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EscCtx {
    Str,
    Class,
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

impl Lexer {
    fn new(src: &str) -> Lexer {
        // A byte-order mark at the start is not part of the grammar.
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        Lexer {
            chars: src.chars().collect(),
            i: 0,
            line: 1,
            col: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    /// Consumes one character, tracking lines (`\n`, `\r\n` and a lone `\r` end a line).
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        let newline = c == '\n' || (c == '\r' && self.peek() != Some('\n'));
        if newline {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' => {
                    self.bump();
                }
                '#' => {
                    while let Some(c) = self.peek()
                        && c != '\n'
                        && c != '\r'
                    {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }

    fn tokenize(mut self) -> Result<Vec<Token>> {
        let mut toks = Vec::new();
        loop {
            self.skip_space();
            let pos = self.pos();
            let Some(c) = self.peek() else {
                toks.push(Token { tok: Tok::Eof, pos });
                return Ok(toks);
            };
            let tok = match c {
                '"' => Tok::Str(self.string()?),
                '[' => Tok::Class(self.class()?),
                '(' if self.peek_at(1) == Some('=') => {
                    self.bump();
                    self.bump();
                    Tok::LookParen
                }
                ':' if self.peek_at(1) == Some(':') && self.peek_at(2) == Some('=') => {
                    self.bump();
                    self.bump();
                    self.bump();
                    Tok::Assign
                }
                c if is_name_start(c) => {
                    let mut name = String::new();
                    while let Some(c) = self.peek()
                        && is_name_char(c)
                    {
                        name.push(c);
                        self.bump();
                    }
                    self.check_rule_options()?;
                    Tok::Ident(name)
                }
                c if c.is_ascii_digit() => {
                    let mut digits = String::new();
                    while let Some(c) = self.peek()
                        && c.is_ascii_digit()
                    {
                        digits.push(c);
                        self.bump();
                    }
                    Tok::Int(digits)
                }
                _ => {
                    self.bump();
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '|' => Tok::Pipe,
                        '*' => Tok::Star,
                        '+' => Tok::Plus,
                        '?' => Tok::Question,
                        '{' => Tok::LBrace,
                        '}' => Tok::RBrace,
                        ',' => Tok::Comma,
                        c => Tok::Other(c),
                    }
                }
            };
            toks.push(Token { tok, pos });
        }
    }

    /// Right after an identifier: rejects XGrammar rule options `name[...] ::=`.
    fn check_rule_options(&self) -> Result<()> {
        if self.peek() != Some('[') {
            return Ok(());
        }
        let mut k = 1;
        let mut in_str = false;
        loop {
            match self.peek_at(k) {
                None | Some('\n') | Some('\r') => return Ok(()),
                Some('\\') if in_str => k += 1,
                Some('"') => in_str = !in_str,
                Some(']') if !in_str => break,
                _ => {}
            }
            k += 1;
        }
        k += 1;
        while matches!(self.peek_at(k), Some(' ') | Some('\t')) {
            k += 1;
        }
        if self.peek_at(k) == Some(':')
            && self.peek_at(k + 1) == Some(':')
            && self.peek_at(k + 2) == Some('=')
        {
            return Err(syntax_err(
                self.pos(),
                "rule options such as `name[max_tokens=...] ::=` are not supported",
            ));
        }
        Ok(())
    }

    /// A string literal, at its opening quote; returns its UTF-8 bytes.
    fn string(&mut self) -> Result<Vec<u8>> {
        let start = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('\n') | Some('\r') => {
                    return Err(syntax_err(
                        start,
                        "unterminated string literal: expected a closing `\"` before the end of the line",
                    ));
                }
                Some('"') => {
                    self.bump();
                    return Ok(out.into_bytes());
                }
                Some('\\') => out.push(self.escape(EscCtx::Str)?),
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// One character of a class: an escape or a raw character other than a line break.
    fn class_char(&mut self, start: Pos) -> Result<char> {
        match self.peek() {
            None | Some('\n') | Some('\r') => Err(syntax_err(
                start,
                "unterminated character class: expected a closing `]` before the end of the line",
            )),
            Some('\\') => self.escape(EscCtx::Class),
            Some(c) => {
                self.bump();
                Ok(c)
            }
        }
    }

    /// A character class, at its `[`.
    fn class(&mut self) -> Result<CharClass> {
        let start = self.pos();
        self.bump();
        let negated = self.peek() == Some('^');
        if negated {
            self.bump();
        }
        let mut ranges = Vec::new();
        loop {
            if self.peek() == Some(']') {
                self.bump();
                break;
            }
            let lo_pos = self.pos();
            let lo = self.class_char(start)?;
            let is_range = self.peek() == Some('-')
                && !matches!(self.peek_at(1), Some(']') | None | Some('\n') | Some('\r'));
            if is_range {
                self.bump();
                let hi = self.class_char(start)?;
                if lo > hi {
                    return Err(syntax_err(
                        lo_pos,
                        format!(
                            "invalid range in character class: start U+{:04X} is greater than end U+{:04X}",
                            lo as u32, hi as u32
                        ),
                    ));
                }
                ranges.push((lo as u32, hi as u32));
            } else {
                ranges.push((lo as u32, lo as u32));
            }
        }
        Ok(canonical_class(&CharClass { negated, ranges }))
    }

    /// `n` hex digits after an escape letter.
    fn hex(&mut self, n: usize, esc_pos: Pos, letter: char) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.bump();
                }
                None => {
                    return Err(syntax_err(
                        esc_pos,
                        format!("invalid escape: expected {n} hex digits after `\\{letter}`"),
                    ));
                }
            }
        }
        Ok(v)
    }

    /// An escape sequence, at its backslash; returns the code point it denotes.
    fn escape(&mut self, ctx: EscCtx) -> Result<char> {
        let pos = self.pos();
        self.bump();
        let Some(e) = self.peek() else {
            return Err(syntax_err(
                pos,
                "expected an escape sequence after `\\`, found end of input",
            ));
        };
        if matches!(e, '\n' | '\r') {
            return Err(syntax_err(
                pos,
                "expected an escape sequence after `\\`, found a line break",
            ));
        }
        self.bump();
        let simple = match e {
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'a' => Some('\u{7}'),
            'v' => Some('\u{b}'),
            'e' => Some('\u{1b}'),
            '0' => Some('\0'),
            '"' | '\'' | '?' | '\\' | '/' | '[' | ']' | '-' | '^' | '$' | '.' | '*' | '+' | '('
            | ')' | '{' | '}' | '|' => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            return Ok(c);
        }
        let cp = match e {
            'x' => self.hex(2, pos, 'x')?,
            'u' => self.hex(4, pos, 'u')?,
            'U' => self.hex(8, pos, 'U')?,
            'd' | 'D' | 'w' | 'W' | 's' | 'S' if ctx == EscCtx::Class => {
                return Err(syntax_err(
                    pos,
                    format!(
                        "the escape `\\{e}` is not supported in character classes; write the ranges explicitly, e.g. `[0-9]`"
                    ),
                ));
            }
            _ => {
                return Err(syntax_err(
                    pos,
                    format!(
                        "invalid escape sequence `\\{e}`; expected one of \\n \\r \\t \\b \\f \\a \\v \\e \\0 \\xHH \\uHHHH \\UHHHHHHHH or a backslash before punctuation"
                    ),
                ));
            }
        };
        if (0xD800..=0xDFFF).contains(&cp) {
            return Err(syntax_err(
                pos,
                format!("invalid code point U+{cp:04X} in escape: surrogates are not allowed"),
            ));
        }
        if cp > MAX_CODE_POINT {
            return Err(syntax_err(
                pos,
                format!("invalid code point U+{cp:04X} in escape: the maximum is U+10FFFF"),
            ));
        }
        char::from_u32(cp).ok_or_else(|| syntax_err(pos, format!("invalid code point U+{cp:04X}")))
    }
}

/// One open parenthesis level (or the rule body itself) while parsing a body.
struct Frame {
    /// Finished alternatives before the current one.
    alts: Vec<Expr>,
    /// Items of the current alternative.
    seq: Vec<Expr>,
    /// Where the frame was opened (`(`, `(=` or `::=`).
    open: Pos,
    /// Whether this is a lookahead assertion `(= ...)`.
    lookahead: bool,
}

impl Frame {
    fn new(open: Pos, lookahead: bool) -> Frame {
        Frame {
            alts: Vec::new(),
            seq: Vec::new(),
            open,
            lookahead,
        }
    }

    fn is_empty(&self) -> bool {
        self.alts.is_empty() && self.seq.is_empty()
    }

    fn take_seq(&mut self) -> Expr {
        let mut seq = std::mem::take(&mut self.seq);
        if seq.len() == 1
            && let Some(e) = seq.pop()
        {
            return e;
        }
        if seq.is_empty() {
            Expr::empty()
        } else {
            Expr::Seq(seq)
        }
    }

    fn finish(mut self) -> Expr {
        let last = self.take_seq();
        if self.alts.is_empty() {
            last
        } else {
            self.alts.push(last);
            Expr::Alt(self.alts)
        }
    }
}

struct Parser<'a> {
    toks: &'a [Token],
    eof: &'a Token,
    i: usize,
    /// Rule name → id and position of its definition.
    names: HashMap<&'a str, (RuleId, Pos)>,
}

impl<'a> Parser<'a> {
    fn new(toks: &'a [Token]) -> Result<Parser<'a>> {
        let eof = toks
            .last()
            .ok_or_else(|| Error::syntax("EBNF: internal error: no tokens"))?;
        let mut names: HashMap<&'a str, (RuleId, Pos)> = HashMap::new();
        for w in toks.windows(2) {
            if let [
                Token {
                    tok: Tok::Ident(name),
                    pos,
                },
                Token {
                    tok: Tok::Assign, ..
                },
            ] = w
            {
                if let Some((_, first)) = names.get(name.as_str()) {
                    return Err(syntax_err(
                        *pos,
                        format!(
                            "rule `{name}` is defined twice (first definition at line {}, column {})",
                            first.line, first.col
                        ),
                    ));
                }
                let id =
                    u32::try_from(names.len()).map_err(|_| Error::limit("EBNF: too many rules"))?;
                names.insert(name.as_str(), (RuleId(id), *pos));
            }
        }
        Ok(Parser {
            toks,
            eof,
            i: 0,
            names,
        })
    }

    fn tok(&self, k: usize) -> &'a Token {
        self.toks.get(self.i + k).unwrap_or(self.eof)
    }

    fn is_rule_start(&self, k: usize) -> bool {
        matches!(self.tok(k).tok, Tok::Ident(_)) && self.tok(k + 1).tok == Tok::Assign
    }

    fn at_rule_end(&self) -> bool {
        self.tok(0).tok == Tok::Eof || self.is_rule_start(0)
    }

    fn parse(mut self, root_rule: &str) -> Result<Grammar> {
        if self.tok(0).tok == Tok::Eof {
            return Err(syntax_err(
                self.tok(0).pos,
                "empty grammar: expected a rule definition such as `root ::= ...`",
            ));
        }
        let mut rules: Vec<Option<Rule>> = vec![None; self.names.len()];
        while self.tok(0).tok != Tok::Eof {
            let t = self.tok(0);
            let name = match &t.tok {
                Tok::Ident(name) if self.tok(1).tok == Tok::Assign => name,
                Tok::Ident(name) => {
                    let next = self.tok(1);
                    return Err(syntax_err(
                        next.pos,
                        format!(
                            "expected `::=` after rule name `{name}`, found {}",
                            next.tok.describe()
                        ),
                    ));
                }
                other => {
                    return Err(syntax_err(
                        t.pos,
                        format!(
                            "expected a rule definition `name ::= ...`, found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            let assign_pos = self.tok(1).pos;
            self.i += 2;
            let (body, lookahead) = self.body(assign_pos)?;
            let id = self.names.get(name.as_str()).map(|(id, _)| *id);
            match id.and_then(|id| rules.get_mut(id.index())) {
                Some(slot) => {
                    *slot = Some(Rule {
                        name: name.clone(),
                        body,
                        lookahead,
                    })
                }
                None => return Err(Error::syntax("EBNF: internal error: unregistered rule")),
            }
        }
        let rules: Vec<Rule> = rules.into_iter().flatten().collect();
        if rules.len() != self.names.len() {
            return Err(Error::syntax("EBNF: internal error: a rule was not parsed"));
        }
        let Some((root, _)) = self.names.get(root_rule) else {
            let first = self.toks.first().map_or(Pos { line: 1, col: 1 }, |t| t.pos);
            return Err(syntax_err(
                first,
                format!("the root rule `{root_rule}` is not defined"),
            ));
        };
        Grammar::new(rules, *root)
    }

    /// Parses a rule body after `::=` up to the next rule or the end of input, without
    /// recursion. Returns the body and the lookahead assertion, if any.
    fn body(&mut self, assign_pos: Pos) -> Result<(Expr, Option<Expr>)> {
        let mut stack = vec![Frame::new(assign_pos, false)];
        // The body, once a lookahead assertion has started.
        let mut body: Option<Expr> = None;
        // Whether the last item of the current sequence may take a quantifier.
        let mut quantifiable = false;
        let mut after_quantifier = false;
        loop {
            let t = self.tok(0);
            if self.at_rule_end() {
                break;
            }
            let Some(top) = stack.last_mut() else {
                return Err(Error::syntax("EBNF: internal error: empty parser stack"));
            };
            let is_quantifier =
                matches!(t.tok, Tok::Star | Tok::Plus | Tok::Question | Tok::LBrace);
            if !is_quantifier {
                after_quantifier = false;
            }
            match &t.tok {
                Tok::Ident(name) => {
                    let Some((id, _)) = self.names.get(name.as_str()) else {
                        return Err(self.undefined(name));
                    };
                    top.seq.push(Expr::Ref(*id));
                    quantifiable = true;
                }
                Tok::Str(bytes) => {
                    top.seq.push(Expr::Bytes(bytes.clone()));
                    quantifiable = true;
                }
                Tok::Class(class) => {
                    top.seq.push(Expr::Class(class.clone()));
                    quantifiable = true;
                }
                Tok::LParen => {
                    // The lookahead frame, once open, sits at the bottom of the stack.
                    if stack.len() + usize::from(body.is_some()) > MAX_NESTING {
                        return Err(Error::limit(format!(
                            "EBNF nesting limit exceeded at line {}, column {}: parentheses nest deeper than {MAX_NESTING} levels",
                            t.pos.line, t.pos.col
                        )));
                    }
                    stack.push(Frame::new(t.pos, false));
                    quantifiable = false;
                }
                Tok::LookParen => {
                    if stack.len() > 1 || body.is_some() {
                        return Err(syntax_err(
                            t.pos,
                            "a lookahead assertion `(= ...)` is only allowed at the end of a rule body, not inside parentheses",
                        ));
                    }
                    match stack.pop() {
                        Some(f) if !f.is_empty() => body = Some(f.finish()),
                        _ => {
                            return Err(syntax_err(
                                t.pos,
                                "expected an expression before the lookahead assertion `(= ...)`",
                            ));
                        }
                    }
                    stack.push(Frame::new(t.pos, true));
                    quantifiable = false;
                }
                Tok::RParen => {
                    if stack.len() <= 1 && body.is_none() {
                        return Err(syntax_err(t.pos, "unexpected `)` without a matching `(`"));
                    }
                    let Some(frame) = stack.pop() else {
                        return Err(Error::syntax("EBNF: internal error: empty parser stack"));
                    };
                    let is_lookahead = frame.lookahead;
                    let e = frame.finish();
                    self.i += 1;
                    if is_lookahead {
                        if !self.at_rule_end() {
                            let next = self.tok(0);
                            return Err(syntax_err(
                                next.pos,
                                format!(
                                    "a lookahead assertion must be the last element of a rule body, found {} after it",
                                    next.tok.describe()
                                ),
                            ));
                        }
                        let body = body.ok_or_else(|| {
                            Error::syntax("EBNF: internal error: lookahead without a body")
                        })?;
                        return Ok((body, Some(e)));
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.seq.push(e),
                        None => {
                            return Err(Error::syntax("EBNF: internal error: empty parser stack"));
                        }
                    }
                    quantifiable = true;
                    continue;
                }
                Tok::Pipe => {
                    let alt = top.take_seq();
                    top.alts.push(alt);
                    quantifiable = false;
                }
                Tok::Star | Tok::Plus | Tok::Question | Tok::LBrace => {
                    if !quantifiable {
                        let what = t.tok.describe();
                        let msg = if after_quantifier {
                            format!(
                                "quantifier {what} cannot follow another quantifier; add parentheses, e.g. `(x*)+`"
                            )
                        } else {
                            format!("quantifier {what} must follow an expression")
                        };
                        return Err(syntax_err(t.pos, msg));
                    }
                    let (min, max) = match t.tok {
                        Tok::Star => (0, None),
                        Tok::Plus => (1, None),
                        Tok::Question => (0, Some(1)),
                        // Consumes the whole `{...}`; step back so the shared `+= 1`
                        // below lands after it.
                        _ => {
                            let r = self.braces()?;
                            self.i -= 1;
                            r
                        }
                    };
                    let Some(last) = top.seq.pop() else {
                        return Err(syntax_err(t.pos, "quantifier must follow an expression"));
                    };
                    top.seq.push(Expr::Repeat {
                        expr: Box::new(last),
                        min,
                        max,
                    });
                    quantifiable = false;
                    after_quantifier = true;
                }
                other => return Err(self.unexpected(other)),
            }
            self.i += 1;
        }
        let t = self.tok(0);
        if (stack.len() > 1 || body.is_some())
            && let Some(open) = stack.last()
        {
            let what = if open.lookahead {
                "the lookahead assertion `(=`"
            } else {
                "`(`"
            };
            return Err(syntax_err(
                t.pos,
                format!(
                    "expected `)` to close {what} opened at line {}, column {}, found {}",
                    open.open.line,
                    open.open.col,
                    t.tok.describe()
                ),
            ));
        }
        match stack.pop() {
            Some(f) if !f.is_empty() => Ok((f.finish(), None)),
            _ => Err(syntax_err(
                t.pos,
                format!(
                    "expected an expression after `::=`, found {}",
                    t.tok.describe()
                ),
            )),
        }
    }

    /// The error for an identifier (the current token) that names no rule.
    fn undefined(&self, name: &str) -> Error {
        let t = self.tok(0);
        let next = self.tok(1);
        if MACROS.contains(&name) && next.tok == Tok::LParen {
            return syntax_err(t.pos, format!("the macro `{name}(...)` is not supported"));
        }
        if matches!(next.tok, Tok::Other(':') | Tok::Other('=')) {
            return syntax_err(
                next.pos,
                format!(
                    "expected `::=` after rule name `{name}`, found {}",
                    next.tok.describe()
                ),
            );
        }
        syntax_err(t.pos, format!("undefined rule `{name}`"))
    }

    /// The error for a token (the current one) that cannot appear in an expression.
    fn unexpected(&self, tok: &Tok) -> Error {
        let t = self.tok(0);
        let prev_ident = self
            .i
            .checked_sub(1)
            .and_then(|p| self.toks.get(p))
            .and_then(|p| match &p.tok {
                Tok::Ident(n) => Some(n.as_str()),
                _ => None,
            });
        let msg = match (tok, prev_ident) {
            (Tok::Other(':') | Tok::Other('='), Some(name)) => {
                format!(
                    "expected `::=` after rule name `{name}`, found {}",
                    tok.describe()
                )
            }
            (Tok::Other('.'), _) => {
                "`.` is not supported; use `[^]` to match any character".to_string()
            }
            (Tok::Assign, _) => "unexpected `::=`: expected a rule name before it".to_string(),
            (Tok::Int(_), _) => format!(
                "unexpected number {}; repetition counts go in braces, e.g. `x{{2,5}}`",
                tok.describe()
            ),
            (Tok::Other(_), _) => {
                // `describe` already says "character U+XXXX" for invisible characters.
                let d = tok.describe();
                if d.starts_with("character") {
                    format!("unexpected {d}")
                } else {
                    format!("unexpected character {d}")
                }
            }
            _ => format!(
                "expected an expression, `|`, `)` or a new rule, found {}",
                tok.describe()
            ),
        };
        syntax_err(t.pos, msg)
    }

    /// A repetition range at `{`: `{n}`, `{m,}`, `{m,n}`, `{,n}`, `{m,-1}`. Consumes it.
    fn braces(&mut self) -> Result<(u32, Option<u32>)> {
        let open = self.tok(0).pos;
        self.i += 1;
        let (min, min_given) = match &self.tok(0).tok {
            Tok::Int(_) => {
                let n = self.count()?;
                if self.tok(0).tok == Tok::RBrace {
                    self.i += 1;
                    return Ok((n, Some(n)));
                }
                self.expect_comma()?;
                (n, true)
            }
            Tok::Comma => {
                self.i += 1;
                (0, false)
            }
            other => {
                return Err(syntax_err(
                    self.tok(0).pos,
                    format!(
                        "expected a number in repetition range `{{m,n}}`, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        // After the comma. `{,}` is rejected: one of the bounds must be written.
        let max = match &self.tok(0).tok {
            Tok::RBrace if min_given => None,
            Tok::Int(_) => Some(self.count()?),
            Tok::Other('-') if min_given && matches!(&self.tok(1).tok, Tok::Int(s) if s == "1") => {
                self.i += 2;
                None
            }
            other => {
                return Err(syntax_err(
                    self.tok(0).pos,
                    format!(
                        "expected a number or `}}` in repetition range, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        if self.tok(0).tok != Tok::RBrace {
            let t = self.tok(0);
            return Err(syntax_err(
                t.pos,
                format!(
                    "expected `}}` to close the repetition range, found {}",
                    t.tok.describe()
                ),
            ));
        }
        self.i += 1;
        if let Some(max) = max
            && min > max
        {
            return Err(syntax_err(
                open,
                format!("invalid repetition range: minimum {min} is greater than maximum {max}"),
            ));
        }
        Ok((min, max))
    }

    fn expect_comma(&mut self) -> Result<()> {
        let t = self.tok(0);
        if t.tok != Tok::Comma {
            return Err(syntax_err(
                t.pos,
                format!(
                    "expected `,` or `}}` in repetition range, found {}",
                    t.tok.describe()
                ),
            ));
        }
        self.i += 1;
        Ok(())
    }

    /// A repetition count at an `Int` token. Consumes it.
    fn count(&mut self) -> Result<u32> {
        let t = self.tok(0);
        let Tok::Int(digits) = &t.tok else {
            return Err(syntax_err(
                t.pos,
                format!("expected a number, found {}", t.tok.describe()),
            ));
        };
        let n = digits.parse::<u32>().map_err(|_| {
            syntax_err(
                t.pos,
                format!(
                    "repetition count {digits} is too large (the maximum is {})",
                    u32::MAX
                ),
            )
        })?;
        self.i += 1;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple() {
        let g = parse("root ::= \"a\" [0-9]+ (= \"x\")", "root").unwrap();
        let r = g.rule(g.root());
        assert_eq!(r.name, "root");
        assert_eq!(r.lookahead, Some(Expr::lit("x")));
        match &r.body {
            Expr::Seq(v) => assert_eq!(v.len(), 2),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let src = format!("root ::= {}\"a\"{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse(&src, "root").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::LimitExceeded);
        let ok = format!(
            "root ::= {}\"a\"{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        parse(&ok, "root").unwrap();
    }
}
