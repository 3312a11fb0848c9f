//! EBNF parser and printer: parsed IR of small grammars, a table of valid grammars that
//! must round-trip, error messages with positions, and randomized no-panic / fixed-point
//! checks.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xgr::{CharClass, ErrorKind, Expr, Grammar, Rule, RuleId};

fn parse(src: &str) -> Grammar {
    match Grammar::from_ebnf(src, "root") {
        Ok(g) => g,
        Err(e) => panic!("failed to parse:\n{src}\nerror: {e}"),
    }
}

fn lit(s: &str) -> Expr {
    Expr::lit(s)
}
fn bytes(b: &[u8]) -> Expr {
    Expr::Bytes(b.to_vec())
}
fn class(negated: bool, ranges: &[(u32, u32)]) -> Expr {
    Expr::Class(CharClass {
        negated,
        ranges: ranges.to_vec(),
    })
}
fn rep(e: Expr, min: u32, max: Option<u32>) -> Expr {
    Expr::Repeat {
        expr: Box::new(e),
        min,
        max,
    }
}
fn seq(v: Vec<Expr>) -> Expr {
    Expr::Seq(v)
}
fn alt(v: Vec<Expr>) -> Expr {
    Expr::Alt(v)
}
fn r(i: u32) -> Expr {
    Expr::Ref(RuleId(i))
}

/// An expression as text with references replaced by rule names, for comparing grammars
/// whose rule ids differ.
fn show(e: &Expr, g: &Grammar) -> String {
    match e {
        Expr::Bytes(b) => format!("B{b:?}"),
        Expr::Class(c) => format!("C{c:?}"),
        Expr::Ref(id) => format!("R({})", g.rule(*id).name),
        Expr::Seq(v) => {
            format!(
                "Seq[{}]",
                v.iter().map(|x| show(x, g)).collect::<Vec<_>>().join(", ")
            )
        }
        Expr::Alt(v) => {
            format!(
                "Alt[{}]",
                v.iter().map(|x| show(x, g)).collect::<Vec<_>>().join(", ")
            )
        }
        Expr::Repeat { expr, min, max } => format!("Rep({}, {min}, {max:?})", show(expr, g)),
    }
}

/// Rule name → (body, lookahead), plus the root's name.
fn by_name(g: &Grammar) -> (String, BTreeMap<String, (String, Option<String>)>) {
    let rules = g
        .rules()
        .iter()
        .map(|rule| {
            (
                rule.name.clone(),
                (
                    show(&rule.body, g),
                    rule.lookahead.as_ref().map(|la| show(la, g)),
                ),
            )
        })
        .collect();
    (g.rule(g.root()).name.clone(), rules)
}

/// Prints `g`, re-parses it, and checks the printed text is a fixed point. Returns the
/// re-parsed grammar.
fn round_trip(g: &Grammar) -> Grammar {
    let printed = g.to_ebnf();
    let root = &g.rule(g.root()).name;
    let again = match Grammar::from_ebnf(&printed, root) {
        Ok(a) => a,
        Err(e) => panic!("printed grammar does not re-parse:\n{printed}\nerror: {e}"),
    };
    assert_eq!(again.to_ebnf(), printed, "printing is not a fixed point");
    again
}

// ---------------------------------------------------------------------------------------
// Parsed IR of small grammars.

#[test]
fn ir_of_small_grammars() {
    let cases: Vec<(&str, Expr)> = vec![
        (r#"root ::= "a""#, lit("a")),
        (r#"root ::= """#, Expr::empty()),
        (r#"root ::= ( )"#, Expr::empty()),
        (r#"root ::= ("a")"#, lit("a")),
        (r#"root ::= (("a" "b"))"#, seq(vec![lit("a"), lit("b")])),
        (r#"root ::= "a" "b""#, seq(vec![lit("a"), lit("b")])),
        (
            r#"root ::= "a" ("b" "c")"#,
            seq(vec![lit("a"), seq(vec![lit("b"), lit("c")])]),
        ),
        (
            r#"root ::= "a" | "b" | """#,
            alt(vec![lit("a"), lit("b"), Expr::empty()]),
        ),
        (
            r#"root ::= "a" | ("b" | "c")"#,
            alt(vec![lit("a"), alt(vec![lit("b"), lit("c")])]),
        ),
        (r#"root ::= | "a""#, alt(vec![Expr::empty(), lit("a")])),
        (r#"root ::= "a" |"#, alt(vec![lit("a"), Expr::empty()])),
        (r#"root ::= ("a" | )"#, alt(vec![lit("a"), Expr::empty()])),
        (
            r#"root ::= "a" "b" | "c""#,
            alt(vec![seq(vec![lit("a"), lit("b")]), lit("c")]),
        ),
        (r#"root ::= "a"?"#, rep(lit("a"), 0, Some(1))),
        (r#"root ::= "a"*"#, rep(lit("a"), 0, None)),
        (r#"root ::= "a"+"#, rep(lit("a"), 1, None)),
        (r#"root ::= "a"{3}"#, rep(lit("a"), 3, Some(3))),
        (r#"root ::= "a"{2,}"#, rep(lit("a"), 2, None)),
        (r#"root ::= "a"{2,5}"#, rep(lit("a"), 2, Some(5))),
        (r#"root ::= "a"{ 2 , 5 }"#, rep(lit("a"), 2, Some(5))),
        (r#"root ::= "a"{,4}"#, rep(lit("a"), 0, Some(4))),
        (r#"root ::= "a"{2,-1}"#, rep(lit("a"), 2, None)),
        (r#"root ::= "a"{0}"#, rep(lit("a"), 0, Some(0))),
        (
            r#"root ::= "a"{4294967295}"#,
            rep(lit("a"), u32::MAX, Some(u32::MAX)),
        ),
        (
            r#"root ::= ("a" "b")* "c""#,
            seq(vec![rep(seq(vec![lit("a"), lit("b")]), 0, None), lit("c")]),
        ),
        (r#"root ::= ("a"*)+"#, rep(rep(lit("a"), 0, None), 1, None)),
        (
            r#"root ::= [a-z0-9_]"#,
            class(false, &[(0x30, 0x39), (0x5F, 0x5F), (0x61, 0x7A)]),
        ),
        (
            r#"root ::= [^"\\]"#,
            class(true, &[(0x22, 0x22), (0x5C, 0x5C)]),
        ),
        (r#"root ::= [^]"#, class(true, &[])),
        (r#"root ::= []"#, class(false, &[])),
        (r#"root ::= [cba]"#, class(false, &[(0x61, 0x63)])),
        (
            r#"root ::= [a-]"#,
            class(false, &[(0x2D, 0x2D), (0x61, 0x61)]),
        ),
        (
            r#"root ::= [-a]"#,
            class(false, &[(0x2D, 0x2D), (0x61, 0x61)]),
        ),
        (
            r#"root ::= [\]\^\-\\]"#,
            class(false, &[(0x2D, 0x2D), (0x5C, 0x5E)]),
        ),
        (r#"root ::= [--/]"#, class(false, &[(0x2D, 0x2F)])),
        (r#"root ::= [α-ω]"#, class(false, &[(0x3B1, 0x3C9)])),
        (
            r#"root ::= [\u4e00-\u9fff]"#,
            class(false, &[(0x4E00, 0x9FFF)]),
        ),
        (
            r#"root ::= [\U0001F600-\U0001F64F]"#,
            class(false, &[(0x1F600, 0x1F64F)]),
        ),
        (r#"root ::= [\x00-\U0010FFFF]"#, class(true, &[])),
        // Surrogates are not code points: the range below covers everything but them.
        (
            r#"root ::= [^\x00-\uD7FF\uE000-\U0010FFFF]"#,
            class(false, &[]),
        ),
        (
            r#"root ::= [ \t\n\r]"#,
            class(false, &[(0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x20)]),
        ),
        (r#"root ::= "\u4e00""#, bytes("\u{4e00}".as_bytes())),
        (r#"root ::= "日本""#, bytes("日本".as_bytes())),
        (
            r#"root ::= "\n\r\t\\\"\'\[\]\-\/\?""#,
            bytes(b"\n\r\t\\\"'[]-/?"),
        ),
        (
            r#"root ::= "\b\f\a\v\e\0""#,
            bytes(b"\x08\x0c\x07\x0b\x1b\x00"),
        ),
        (r#"root ::= "\x41\x7a\xe9""#, bytes("Az\u{e9}".as_bytes())),
        (r#"root ::= "\x411""#, bytes(b"A1")),
        (
            r#"root ::= "\u00E9\U0001F600""#,
            bytes("\u{e9}\u{1F600}".as_bytes()),
        ),
        (r##"root ::= "#[]""##, lit("#[]")),
        (r#"root ::= "a" (= "b")"#, lit("a")),
        (
            "root ::= \"a\" # comment \"b\"\n  \"c\" # another\n",
            seq(vec![lit("a"), lit("c")]),
        ),
        (
            "root ::=\n  \"a\"\n  | \"b\"\r\n  | \"c\"",
            alt(vec![lit("a"), lit("b"), lit("c")]),
        ),
    ];
    for (src, want) in cases {
        let g = parse(src);
        assert_eq!(g.rules().len(), 1, "{src}");
        assert_eq!(g.rule(g.root()).body, want, "{src}");
    }
}

#[test]
fn rule_references_and_lookahead() {
    let g = parse("root ::= a b (= \"x\" | c)\na ::= \"1\"\nb ::= \"2\" a\nc ::= \"3\"");
    let names: Vec<&str> = g.rules().iter().map(|rule| rule.name.as_str()).collect();
    assert_eq!(names, ["root", "a", "b", "c"]);
    assert_eq!(g.root(), RuleId(0));
    let root = g.rule(RuleId(0));
    assert_eq!(root.body, seq(vec![r(1), r(2)]));
    assert_eq!(root.lookahead, Some(alt(vec![lit("x"), r(3)])));
    assert_eq!(g.rule(RuleId(2)).body, seq(vec![lit("2"), r(1)]));
    assert_eq!(g.rule(RuleId(2)).lookahead, None);
}

#[test]
fn forward_references_root_not_first_and_unused_rules_kept() {
    let g = Grammar::from_ebnf(
        "x ::= \"u\"\nmain ::= y\ny ::= main | x\nunused ::= \"z\"",
        "main",
    )
    .unwrap();
    assert_eq!(g.rules().len(), 4);
    assert_eq!(g.root(), RuleId(1));
    assert_eq!(g.rule(RuleId(2)).body, alt(vec![r(1), r(0)]));
    assert_eq!(g.rule_id("unused"), Some(RuleId(3)));
    // Root first when printed.
    assert!(g.to_ebnf().starts_with("main ::= y\n"));
}

#[test]
fn names_and_rule_boundaries() {
    // Names with digits, `_`, `.` and `-`; a rule may start on the same line as the
    // previous body ends; bodies span lines; `::=` may be separated by comments.
    let g = parse(
        "root ::= a-b.c_1 _x\na-b.c_1 ::= \"1\" _x ::= \"2\"\n  \"3\"\nq # comment\n ::= \"q\"",
    );
    let names: Vec<&str> = g.rules().iter().map(|rule| rule.name.as_str()).collect();
    assert_eq!(names, ["root", "a-b.c_1", "_x", "q"]);
    assert_eq!(g.rule(RuleId(2)).body, seq(vec![lit("2"), lit("3")]));
    // A rule named like a macro is an ordinary reference when it is defined.
    let g = parse("root ::= Regex (\"a\")\nRegex ::= \"r\"");
    assert_eq!(g.rule(g.root()).body, seq(vec![r(1), lit("a")]));
}

// ---------------------------------------------------------------------------------------
// Valid grammars: each parses, prints, re-parses to the same IR (modulo rule order), and
// the printed text is a fixed point.

const ARITHMETIC: &str = r#"
# Arithmetic expressions (GBNF style).
root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
"#;

const GBNF_JSON: &str = r#"
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
"#;

const LIST: &str = r#"
root ::= item+
# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
"#;

const CHESS: &str = r#"
root   ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
move   ::= (pawn | nonpawn | castle) [+#]?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
pawn   ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
castle ::= "O-O" "-O"?
"#;

const XGRAMMAR_EXAMPLE: &str = r#"
root ::= "{" ws "\"id\"" ws ":" ws num ws "}"
num  ::= "-"? ([0-9] | [1-9] [0-9]{1,17}) ("." [0-9]+)?
ws   ::= [ \n\t]{0,4}
value ::= [a-z]+ (= ws "}")        # lookahead
"#;

const UNICODE: &str = r#"
root ::= greek | cjk | emoji | mixed
greek ::= [α-ωΑ-Ω]+
cjk ::= [\u4e00-\u9fff\u3040-\u30ff]{1,8}
emoji ::= [\U0001F600-\U0001F64F] | "\U0001F680" | "🚀"
mixed ::= "é" "\u00e9" [^a-zé] "\x7f" "\x01A" "tab\there"
"#;

const EDGE: &str = r#"
root ::= a | b | c | d | e | f
a ::= ("x" | ("y" | "z")) ("p" ("q" "r"))
b ::= ((("deep"))) ( ) "" [] [^]
c ::= ("a"?)? ("b"*)* ("c"+)+ ("d"{2}){3,} ("e" | "f"){0,1} ("g" "h"){1,}
d ::= [\]\[\^\-\\"] [^\]] [-] [a-] [\--\/] ["] "'" "\"" "\\"
e ::= "x" (= ("y" | "z")+ [0-9]{2,3})
f ::= | "empty alternative first"
"#;

fn valid_grammars() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("arithmetic", ARITHMETIC.into()),
        ("gbnf json", GBNF_JSON.into()),
        ("list", LIST.into()),
        ("chess", CHESS.into()),
        ("xgrammar example", XGRAMMAR_EXAMPLE.into()),
        ("unicode", UNICODE.into()),
        ("edge", EDGE.into()),
        ("builtin json", Grammar::builtin_json().to_ebnf()),
        ("one rule", "root ::= \"a\"".into()),
        ("crlf", "root ::= a\r\na ::= \"x\"\r\n  | \"y\"\r\n".into()),
        ("lone cr", "root ::= a\ra ::= \"x\"\r".into()),
        ("tabs", "root\t::=\t\"a\"\t|\t\"b\"".into()),
        ("byte-order mark", "\u{feff}root ::= \"a\"".into()),
        (
            "comment only lines",
            "# header\n\n# more\nroot ::= \"a\" # trailing".into(),
        ),
        (
            "nesting 1000",
            format!("root ::= {}\"a\"{}", "(".repeat(1000), ")".repeat(1000)),
        ),
        (
            "nested groups 200",
            format!(
                "root ::= {}\"a\"{}",
                "(\"b\" ".repeat(200),
                ")*".repeat(200)
            ),
        ),
    ];
    let many: String = (0..300)
        .map(|i| format!("r{i} ::= \"{i}\" r{}\n", i + 1))
        .collect();
    v.push(("many rules", format!("root ::= r0\n{many}r300 ::= \"\"\n")));
    v
}

#[test]
fn valid_grammars_round_trip() {
    for (name, src) in valid_grammars() {
        let g = match Grammar::from_ebnf(&src, "root") {
            Ok(g) => g,
            Err(e) => panic!("{name}: {e}"),
        };
        let again = round_trip(&g);
        assert_eq!(
            by_name(&again),
            by_name(&g),
            "{name}: IR changed in the round trip"
        );
        // Once the root is first, the round trip preserves ids too.
        let third = round_trip(&again);
        assert_eq!(third, again, "{name}");
    }
}

#[test]
fn printed_form() {
    let g = parse(EDGE);
    let want = r#"root ::= a | b | c | d | e | f
a ::= ("x" | ("y" | "z")) ("p" ("q" "r"))
b ::= "deep" "" "" [] [^]
c ::= ("a"?)? ("b"*)* ("c"+)+ ("d"{2}){3,} ("e" | "f")? ("g" "h")+
d ::= ["\-[-\^] [^\]] [\-] [\-a] [\--/] ["] "'" "\"" "\\"
e ::= "x" (= ("y" | "z")+ [0-9]{2,3})
f ::= "" | "empty alternative first"
"#;
    assert_eq!(g.to_ebnf(), want);
    let u = parse(UNICODE);
    let printed = u.to_ebnf();
    assert!(
        printed.contains(r#"greek ::= [\u0391-\u03a9\u03b1-\u03c9]+"#),
        "{printed}"
    );
    assert!(printed.contains(r#"emoji ::= [\U0001f600-\U0001f64f] | "\U0001f680" | "\U0001f680""#));
    assert!(
        printed
            .contains(r#"mixed ::= "\u00e9" "\u00e9" [^a-z\u00e9] "\x7f" "\u0001A" "tab\there""#)
    );
}

#[test]
fn printed_builtin_json() {
    let printed = Grammar::builtin_json().to_ebnf();
    let want = r#"root ::= object | array
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"
array ::= "[" ws (value ws ("," ws value ws)*)? "]"
string ::= "\"" ([^\x00-\x1f"\\] | "\\" (["/\\bfnrt] | "u" [0-9A-Fa-f]{4}))* "\""
number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([Ee] [+\-]? [0-9]+)?
ws ::= [\t\n\r ]*
"#;
    assert_eq!(printed, want);
}

// ---------------------------------------------------------------------------------------
// Printing IR built by hand (other front ends).

fn grammar(rules: Vec<(&str, Expr)>) -> Grammar {
    let rules = rules
        .into_iter()
        .map(|(name, body)| Rule {
            name: name.into(),
            body,
            lookahead: None,
        })
        .collect();
    Grammar::new(rules, RuleId(0)).unwrap()
}

#[test]
fn print_hand_built_ir() {
    let g = grammar(vec![(
        "root",
        seq(vec![
            alt(vec![]),
            seq(vec![]),
            alt(vec![lit("one")]),
            seq(vec![alt(vec![lit("a"), lit("b")])]),
            rep(lit("x"), 3, Some(2)),
            rep(seq(vec![]), 0, Some(0)),
            rep(alt(vec![lit("y")]), 1, Some(1)),
            class(false, &[(0x7A, 0x61)]),
            class(true, &[(0, 0x10FFFF)]),
            class(false, &[(0xD800, 0xDFFF)]),
            class(false, &[(0x61, 0x200000)]),
        ]),
    )]);
    let printed = g.to_ebnf();
    assert_eq!(
        printed,
        "root ::= [] \"\" \"one\" (\"a\" | \"b\") [] \"\"{0} \"y\"{1} [] [] [] [^\\x00-`]\n"
    );
    round_trip(&g);
}

#[test]
fn print_invalid_utf8_is_lossy_but_reparses() {
    let g = grammar(vec![("root", bytes(b"a\xff\xc3b\x80"))]);
    let printed = g.to_ebnf();
    assert_eq!(printed, "root ::= \"a\\xff\\u00c3b\\x80\"\n");
    let again = Grammar::from_ebnf(&printed, "root").unwrap();
    // The invalid bytes became code points U+00FF, U+00C3, U+0080, which print as `\u00HH`;
    // from there on printing is a fixed point.
    assert_eq!(
        again.rule(again.root()).body,
        bytes("a\u{ff}\u{c3}b\u{80}".as_bytes())
    );
    assert_eq!(again.to_ebnf(), "root ::= \"a\\u00ff\\u00c3b\\u0080\"\n");
    round_trip(&again);
}

#[test]
fn print_sanitizes_invalid_rule_names() {
    // `Grammar::new` rejects empty names, so the printer never sees one.
    assert!(
        Grammar::new(
            vec![Rule {
                name: String::new(),
                body: lit("d"),
                lookahead: None
            }],
            RuleId(0)
        )
        .is_err()
    );
    let g = grammar(vec![
        ("root", seq(vec![r(1), r(2), r(3), r(4)])),
        ("my rule", lit("a")),
        ("my_rule", lit("b")),
        ("1st", lit("c")),
        ("é", lit("d")),
    ]);
    let printed = g.to_ebnf();
    assert_eq!(
        printed,
        "root ::= my_rule_1 my_rule _1st _\nmy_rule_1 ::= \"a\"\nmy_rule ::= \"b\"\n_1st ::= \"c\"\n_ ::= \"d\"\n"
    );
    round_trip(&g);
}

#[test]
fn print_root_first_and_lookahead() {
    let rules = vec![
        Rule {
            name: "helper".into(),
            body: class(false, &[(0x30, 0x39)]),
            lookahead: None,
        },
        Rule {
            name: "start".into(),
            body: alt(vec![r(0), lit("x")]),
            lookahead: Some(alt(vec![lit(";"), Expr::empty()])),
        },
    ];
    let g = Grammar::new(rules, RuleId(1)).unwrap();
    assert_eq!(
        g.to_ebnf(),
        "start ::= helper | \"x\" (= \";\" | \"\")\nhelper ::= [0-9]\n"
    );
    let again = round_trip(&g);
    assert_eq!(by_name(&again), by_name(&g));
}

// ---------------------------------------------------------------------------------------
// Errors: position and a key phrase.

fn expect_err(src: &str, root: &str) -> xgr::Error {
    match Grammar::from_ebnf(src, root) {
        Ok(g) => panic!("expected an error for:\n{src}\ngot:\n{}", g.to_ebnf()),
        Err(e) => e,
    }
}

#[test]
fn errors_with_positions() {
    let cases: Vec<(&str, &str, &str)> = vec![
        // Literals and escapes.
        (
            r#"root ::= "abc"#,
            "line 1, column 10",
            "unterminated string literal",
        ),
        (
            "root ::= \"a\n\"",
            "line 1, column 10",
            "unterminated string literal",
        ),
        (
            "root ::= \"a\"\n  | \"b\n",
            "line 2, column 5",
            "unterminated string literal",
        ),
        (
            r#"root ::= "a\qb""#,
            "line 1, column 12",
            "invalid escape sequence `\\q`",
        ),
        (
            r#"root ::= "\x4""#,
            "line 1, column 11",
            "expected 2 hex digits after `\\x`",
        ),
        (
            r#"root ::= "\u12G4""#,
            "line 1, column 11",
            "expected 4 hex digits after `\\u`",
        ),
        (
            r#"root ::= "\U0001F60""#,
            "line 1, column 11",
            "expected 8 hex digits",
        ),
        (
            r#"root ::= "\uD800""#,
            "line 1, column 11",
            "surrogates are not allowed",
        ),
        (
            r#"root ::= [\uDFFF]"#,
            "line 1, column 11",
            "surrogates are not allowed",
        ),
        (
            r#"root ::= "\U00110000""#,
            "line 1, column 11",
            "the maximum is U+10FFFF",
        ),
        (
            "root ::= \"\\",
            "line 1, column 11",
            "expected an escape sequence",
        ),
        (
            r#"root ::= "\d""#,
            "line 1, column 11",
            "invalid escape sequence",
        ),
        // Classes.
        (
            "root ::= [a-z",
            "line 1, column 10",
            "unterminated character class",
        ),
        (
            "root ::= [a-z\n]",
            "line 1, column 10",
            "unterminated character class",
        ),
        (
            r#"root ::= [\d]"#,
            "line 1, column 11",
            "not supported in character classes",
        ),
        (
            r#"root ::= [a\w]"#,
            "line 1, column 12",
            "`\\w` is not supported",
        ),
        (
            "root ::= [z-a]",
            "line 1, column 11",
            "start U+007A is greater than end U+0061",
        ),
        (
            "root ::= [a-cω-α]",
            "line 1, column 14",
            "is greater than end",
        ),
        (
            "root ::= [\\q]",
            "line 1, column 11",
            "invalid escape sequence",
        ),
        // Rule structure.
        (
            r#"root "a""#,
            "line 1, column 6",
            "expected `::=` after rule name `root`",
        ),
        (
            "root ::= \"a\"\nb := \"c\"",
            "line 2, column 3",
            "expected `::=` after rule name `b`",
        ),
        (
            "root ::= \"a\"\nb = \"c\"",
            "line 2, column 3",
            "expected `::=`",
        ),
        (
            r#""a" ::= "b""#,
            "line 1, column 1",
            "expected a rule definition",
        ),
        (
            "root ::= \"a\" ::= \"b\"",
            "line 1, column 14",
            "unexpected `::=`",
        ),
        (
            "root ::=\nb ::= \"x\"",
            "line 2, column 1",
            "expected an expression after `::=`",
        ),
        (
            "root ::=",
            "line 1, column 9",
            "expected an expression after `::=`, found end of input",
        ),
        (
            "root ::= \"a\" foo",
            "line 1, column 14",
            "undefined rule `foo`",
        ),
        (
            "root ::= a\na ::= \"x\"\n  | bar",
            "line 3, column 5",
            "undefined rule `bar`",
        ),
        (
            "root ::= a\na ::= \"x\"\na ::= \"y\"",
            "line 3, column 1",
            "rule `a` is defined twice",
        ),
        (
            "root ::= a\na ::= \"x\"\na ::= \"y\"",
            "line 3, column 1",
            "first definition at line 2, column 1",
        ),
        ("", "line 1, column 1", "empty grammar"),
        (
            "  # only a comment\n\n",
            "line 3, column 1",
            "empty grammar",
        ),
        // Unexpected characters and tokens.
        (
            "root ::= \"a\" @",
            "line 1, column 14",
            "unexpected character `@`",
        ),
        (
            "root ::= \"a\" \u{2028}",
            "line 1, column 14",
            "unexpected character U+2028",
        ),
        (
            "root ::= \"a\" .",
            "line 1, column 14",
            "`.` is not supported",
        ),
        ("root ::= \"a\" 5", "line 1, column 14", "unexpected number"),
        ("root ::= \"a\" }", "line 1, column 14", "found `}`"),
        ("root ::= \"a\" ,", "line 1, column 14", "found `,`"),
        (
            "root ::= \"a\")",
            "line 1, column 13",
            "unexpected `)` without a matching `(`",
        ),
        (
            "root ::= (\"a\"",
            "line 1, column 14",
            "expected `)` to close `(` opened at line 1, column 10",
        ),
        (
            "root ::= (\"a\"\nb ::= \"x\"",
            "line 2, column 1",
            "expected `)`",
        ),
        // Quantifiers.
        (
            "root ::= \"a\"++",
            "line 1, column 14",
            "cannot follow another quantifier",
        ),
        (
            "root ::= \"a\"*?",
            "line 1, column 14",
            "cannot follow another quantifier",
        ),
        (
            "root ::= \"a\"{2}{3}",
            "line 1, column 16",
            "cannot follow another quantifier",
        ),
        (
            "root ::= *",
            "line 1, column 10",
            "must follow an expression",
        ),
        (
            "root ::= \"a\" | +",
            "line 1, column 16",
            "must follow an expression",
        ),
        (
            "root ::= (+)",
            "line 1, column 11",
            "must follow an expression",
        ),
        (
            "root ::= \"a\"{5,3}",
            "line 1, column 13",
            "minimum 5 is greater than maximum 3",
        ),
        (
            "root ::= \"a\"{4294967296}",
            "line 1, column 14",
            "is too large",
        ),
        (
            "root ::= \"a\"{1,99999999999999999999}",
            "line 1, column 16",
            "is too large",
        ),
        ("root ::= \"a\"{}", "line 1, column 14", "expected a number"),
        (
            "root ::= \"a\"{,}",
            "line 1, column 15",
            "expected a number or `}`",
        ),
        (
            "root ::= \"a\"{2",
            "line 1, column 15",
            "expected `,` or `}`",
        ),
        ("root ::= \"a\"{2,3", "line 1, column 17", "expected `}`"),
        (
            "root ::= \"a\"{2,-2}",
            "line 1, column 16",
            "expected a number or `}`",
        ),
        // Lookahead.
        (
            "root ::= \"a\" (= \"b\") \"c\"",
            "line 1, column 22",
            "must be the last element",
        ),
        (
            "root ::= \"a\" (= \"b\") | \"c\"",
            "line 1, column 22",
            "must be the last element",
        ),
        (
            "root ::= \"a\" (= \"b\")*",
            "line 1, column 21",
            "must be the last element",
        ),
        (
            "root ::= (\"a\" (= \"b\"))",
            "line 1, column 15",
            "only allowed at the end of a rule body",
        ),
        (
            "root ::= \"a\" (= \"b\" (= \"c\"))",
            "line 1, column 21",
            "only allowed at the end",
        ),
        (
            "root ::= (= \"b\")",
            "line 1, column 10",
            "expected an expression before the lookahead",
        ),
        (
            "root ::= \"a\" (= \"b\"",
            "line 1, column 20",
            "to close the lookahead assertion",
        ),
        // Unsupported XGrammar features.
        (
            "root[max_tokens=5] ::= \"a\"",
            "line 1, column 5",
            "rule options",
        ),
        (
            "root ::= a\na[capture=\"x\", lazy] ::= \"a\"",
            "line 2, column 2",
            "rule options",
        ),
        (
            "root ::= TagDispatch((\"<a>\", b))\nb ::= \"x\"",
            "line 1, column 10",
            "macro `TagDispatch(...)` is not supported",
        ),
        (
            "root ::= \"x\" Regex(\"[a-z]+\")",
            "line 1, column 14",
            "macro `Regex(...)`",
        ),
    ];
    for (src, at, phrase) in cases {
        let e = expect_err(src, "root");
        let msg = e.message();
        assert_eq!(e.kind(), ErrorKind::GrammarSyntax, "{src:?}: {msg}");
        assert!(msg.contains(at), "{src:?}: expected `{at}` in: {msg}");
        assert!(
            msg.contains(phrase),
            "{src:?}: expected `{phrase}` in: {msg}"
        );
    }
}

#[test]
fn missing_root_rule() {
    let e = expect_err("a ::= \"x\"\nb ::= a", "root");
    assert_eq!(e.kind(), ErrorKind::GrammarSyntax);
    assert!(
        e.message().contains("root rule `root` is not defined"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("line 1, column 1"), "{}", e.message());
    let e = expect_err("a ::= \"x\"", "start");
    assert!(e.message().contains("`start`"), "{}", e.message());
}

#[test]
fn nesting_limit() {
    let src = format!("root ::= {}\"a\"{}", "(".repeat(1001), ")".repeat(1001));
    let e = expect_err(&src, "root");
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(
        e.message().contains("line 1, column 1010"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("deeper than 1000"), "{}", e.message());
    // Parentheses inside a lookahead count as well.
    let src = format!(
        "root ::= \"a\" (= {}\"a\"{})",
        "(".repeat(1000),
        ")".repeat(1000)
    );
    assert_eq!(expect_err(&src, "root").kind(), ErrorKind::LimitExceeded);
}

#[test]
fn very_deep_input_does_not_overflow_the_stack() {
    // A small stack: the parser must not recurse per nesting level.
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            let deep = "(".repeat(10_000);
            let e1 = Grammar::from_ebnf(&format!("root ::= {deep}"), "root").unwrap_err();
            let e2 = Grammar::from_ebnf(
                &format!("root ::= {deep}\"a\"{}", ")".repeat(10_000)),
                "root",
            )
            .unwrap_err();
            let e3 = Grammar::from_ebnf(&format!("root ::= \"a\"{}", "*".repeat(10_000)), "root")
                .unwrap_err();
            (e1.kind(), e2.kind(), e3.kind())
        })
        .unwrap();
    let (k1, k2, k3) = handle.join().unwrap();
    assert_eq!(k1, ErrorKind::LimitExceeded);
    assert_eq!(k2, ErrorKind::LimitExceeded);
    assert_eq!(k3, ErrorKind::GrammarSyntax);
}

// ---------------------------------------------------------------------------------------
// Randomized checks.

/// Pieces that usually keep a rule body valid.
const GOOD: &[&str] = &[
    " a",
    " b",
    " \"x\"",
    " \"\"",
    " \"\\u00e9\\n\"",
    " [a-z]",
    " [^\"]",
    " [\\]-]",
    " []",
    " [^]",
    " \"\\x41\"",
    " é",
    "*",
    "+",
    "?",
    "{2}",
    "{1,3}",
    "{2,}",
    "{,2}",
    " |",
    " (",
    " )",
    " ( )",
    "\n  ",
    " #c\n",
    "\r\n",
    "\t",
    "\na ::= ",
    "\nb ::= ",
    " (= \"y\")",
];
/// Pieces that are often wrong.
const NOISE: &[&str] = &[
    "root",
    " ::= ",
    "\"\\",
    "[",
    "]",
    "(",
    ")",
    "(= ",
    "{",
    "}",
    ",",
    "1",
    "-",
    ".",
    ":",
    "=",
    "\\",
    "\"",
    "Regex(",
    "root[",
    "\u{0}",
    "\u{2028}",
    "\"\\uD800\"",
    "[z-a]",
    "{3,1}",
];

#[test]
fn random_input_never_panics_and_valid_input_round_trips() {
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    let mut ok = 0;
    for _ in 0..20_000 {
        let n = rng.gen_range(1..24);
        let mut src = String::new();
        if rng.gen_bool(0.9) {
            src.push_str("root ::= \"s\"");
        }
        if rng.gen_bool(0.5) {
            src.push_str("\na ::= \"a\"\nb ::= \"b\"\nroot2 ::= ");
        }
        let noise = if rng.gen_bool(0.5) { 0.0 } else { 0.1 };
        for _ in 0..n {
            let piece = if rng.gen_bool(noise) {
                NOISE[rng.gen_range(0..NOISE.len())]
            } else {
                GOOD[rng.gen_range(0..GOOD.len())]
            };
            src.push_str(piece);
        }
        if let Ok(g) = Grammar::from_ebnf(&src, "root") {
            ok += 1;
            let again = round_trip(&g);
            assert_eq!(by_name(&again), by_name(&g), "{src:?}");
        }
    }
    assert!(ok > 1_000, "only {ok} random grammars parsed");
}

fn random_expr(rng: &mut SmallRng, depth: u32, rules: u32) -> Expr {
    let leaf = depth == 0 || rng.gen_bool(0.3);
    if leaf {
        match rng.gen_range(0..4) {
            0 => {
                let len = rng.gen_range(0..4);
                Expr::Bytes((0..len).map(|_| rng.r#gen::<u8>()).collect())
            }
            1 => {
                let len = rng.gen_range(0..4);
                let s: String = (0..len)
                    .map(|_| {
                        let cp = match rng.gen_range(0..4) {
                            0 => rng.gen_range(0..0x80),
                            1 => rng.gen_range(0x80..0x800),
                            2 => rng.gen_range(0x800..0x10000),
                            _ => rng.gen_range(0x10000..0x110000),
                        };
                        char::from_u32(cp).unwrap_or('?')
                    })
                    .collect();
                Expr::Bytes(s.into_bytes())
            }
            2 => {
                let n = rng.gen_range(0..4);
                let ranges = (0..n)
                    .map(|_| {
                        let lo = if rng.gen_bool(0.5) {
                            rng.gen_range(0..0x80)
                        } else {
                            rng.gen_range(0..0x11_0000)
                        };
                        let hi = lo + rng.gen_range(0..0x100);
                        (lo, hi)
                    })
                    .collect();
                Expr::Class(CharClass {
                    negated: rng.gen_bool(0.3),
                    ranges,
                })
            }
            _ => Expr::Ref(RuleId(rng.gen_range(0..rules))),
        }
    } else {
        match rng.gen_range(0..3) {
            0 => Expr::Seq(
                (0..rng.gen_range(0..4))
                    .map(|_| random_expr(rng, depth - 1, rules))
                    .collect(),
            ),
            1 => Expr::Alt(
                (0..rng.gen_range(0..4))
                    .map(|_| random_expr(rng, depth - 1, rules))
                    .collect(),
            ),
            _ => {
                let min = rng.gen_range(0..4);
                let max = match rng.gen_range(0..3) {
                    0 => None,
                    _ => Some(rng.gen_range(0..5)),
                };
                rep(random_expr(rng, depth - 1, rules), min, max)
            }
        }
    }
}

#[test]
fn random_ir_prints_to_a_fixed_point() {
    let mut rng = SmallRng::seed_from_u64(42);
    for _ in 0..2_000 {
        let n = rng.gen_range(1..4u32);
        let rules = (0..n)
            .map(|i| Rule {
                name: if i == 0 {
                    "root".into()
                } else {
                    format!("r{i}")
                },
                body: random_expr(&mut rng, 4, n),
                lookahead: if rng.gen_bool(0.2) {
                    Some(random_expr(&mut rng, 2, n))
                } else {
                    None
                },
            })
            .collect();
        let root = RuleId(rng.gen_range(0..n));
        let g = Grammar::new(rules, root).unwrap();
        let printed = g.to_ebnf();
        let once = match Grammar::from_ebnf(&printed, &g.rule(g.root()).name) {
            Ok(once) => once,
            Err(e) => panic!("printed grammar does not re-parse:\n{printed}\nerror: {e}"),
        };
        // Invalid UTF-8 is printed lossily (see `print`); otherwise the first print is
        // already a fixed point.
        let invalid = g.rules().iter().any(|rule| {
            has_invalid_utf8(&rule.body) || rule.lookahead.as_ref().is_some_and(has_invalid_utf8)
        });
        if !invalid {
            assert_eq!(once.to_ebnf(), printed);
        }
        // After one round trip the IR is stable, ids included.
        assert_eq!(round_trip(&once), once);
    }
}

fn has_invalid_utf8(e: &Expr) -> bool {
    match e {
        Expr::Bytes(b) => std::str::from_utf8(b).is_err(),
        Expr::Class(_) | Expr::Ref(_) => false,
        Expr::Seq(v) | Expr::Alt(v) => v.iter().any(has_invalid_utf8),
        Expr::Repeat { expr, .. } => has_invalid_utf8(expr),
    }
}
