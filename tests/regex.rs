//! Tests of the regex front end (`xgr::convert::regex`).
//!
//! The matcher lives elsewhere, so this file carries a tiny reference matcher over the IR
//! (`Expr` on a `&str`, set-of-positions simulation). Languages are checked against the `regex`
//! crate (pattern wrapped as `^(?:pat)$`) where the semantics agree, and ECMA-specific classes
//! (`\d \w \s .`) are asserted directly.

use std::collections::BTreeSet;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xgr::convert::regex::{RegexOptions, regex_search_to_expr, regex_to_expr};
use xgr::{ErrorKind, Expr, Grammar};

// ---------------------------------------------------------------------------------------------
// Reference matcher
// ---------------------------------------------------------------------------------------------

const MAX_DEPTH: usize = 1_000;

/// All positions where a match of `e` starting at one of `starts` can end.
fn ends(e: &Expr, s: &str, starts: &BTreeSet<usize>, depth: usize) -> BTreeSet<usize> {
    assert!(
        depth < MAX_DEPTH,
        "reference matcher: expression nested too deeply"
    );
    let mut out = BTreeSet::new();
    match e {
        Expr::Bytes(b) => {
            for &p in starts {
                if s.as_bytes()[p..].starts_with(b) {
                    out.insert(p + b.len());
                }
            }
        }
        Expr::Class(c) => {
            let ranges = c.normalized();
            for &p in starts {
                if let Some(ch) = s[p..].chars().next() {
                    let cp = ch as u32;
                    if ranges.iter().any(|&(lo, hi)| lo <= cp && cp <= hi) {
                        out.insert(p + ch.len_utf8());
                    }
                }
            }
        }
        Expr::Ref(_) => panic!("reference matcher: regex output must not reference rules"),
        Expr::Seq(items) => {
            let mut cur = starts.clone();
            for item in items {
                if cur.is_empty() {
                    break;
                }
                cur = ends(item, s, &cur, depth + 1);
            }
            out = cur;
        }
        Expr::Alt(items) => {
            for item in items {
                out.extend(ends(item, s, starts, depth + 1));
            }
        }
        Expr::Repeat { expr, min, max } => {
            // Exactly `min` repetitions (stop early at a fixpoint or when nothing is left).
            let mut cur = starts.clone();
            for _ in 0..*min {
                let next = ends(expr, s, &cur, depth + 1);
                if next.is_empty() {
                    return next;
                }
                if next == cur {
                    break;
                }
                cur = next;
            }
            // Then up to `max - min` more, breadth first.
            let extra = max.map(|m| m - min);
            out = cur.clone();
            let mut frontier = cur;
            let mut steps = 0u32;
            while !frontier.is_empty() && extra.is_none_or(|x| steps < x) {
                let next: BTreeSet<usize> = ends(expr, s, &frontier, depth + 1)
                    .into_iter()
                    .filter(|p| !out.contains(p))
                    .collect();
                out.extend(next.iter().copied());
                frontier = next;
                steps += 1;
            }
        }
    }
    out
}

fn matches(e: &Expr, s: &str) -> bool {
    ends(e, s, &BTreeSet::from([0]), 0).contains(&s.len())
}

fn expr(pattern: &str) -> Expr {
    regex_to_expr(pattern, RegexOptions::default())
        .unwrap_or_else(|e| panic!("pattern {pattern:?} failed: {}", e.message()))
}

fn search(pattern: &str) -> Expr {
    regex_search_to_expr(pattern, RegexOptions::default())
        .unwrap_or_else(|e| panic!("pattern {pattern:?} failed: {}", e.message()))
}

fn size(e: &Expr) -> usize {
    match e {
        Expr::Bytes(_) | Expr::Class(_) | Expr::Ref(_) => 1,
        Expr::Seq(v) | Expr::Alt(v) => 1 + v.iter().map(size).sum::<usize>(),
        Expr::Repeat { expr, .. } => 1 + size(expr),
    }
}

#[test]
fn reference_matcher_sanity() {
    let e = Expr::Seq(vec![
        Expr::lit("a"),
        Expr::Repeat {
            expr: Box::new(Expr::lit("b")),
            min: 1,
            max: Some(2),
        },
    ]);
    assert!(matches(&e, "ab"));
    assert!(matches(&e, "abb"));
    assert!(!matches(&e, "a"));
    assert!(!matches(&e, "abbb"));
    assert!(!matches(&Expr::Alt(vec![]), ""));
    assert!(matches(&Expr::empty(), ""));
}

// ---------------------------------------------------------------------------------------------
// Language table
// ---------------------------------------------------------------------------------------------

/// One pattern. `oracle`: the pattern the `regex` crate should agree with (`Some("=")` for
/// the pattern itself), `None` where only the listed expectations are checked.
struct Case {
    pat: &'static str,
    oracle: Option<&'static str>,
    accept: &'static [&'static str],
    reject: &'static [&'static str],
}

const SAME: Option<&str> = Some("=");

const CASES: &[Case] = &[
    Case {
        pat: r"\d{4}-\d{2}-\d{2}",
        oracle: Some(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        accept: &["2024-01-31", "0000-00-00"],
        reject: &["2024-1-31", "20240131", "2024-01-311", "२०२४-01-31", ""],
    },
    Case {
        pat: r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}",
        oracle: SAME,
        accept: &["a.b@c.io", "x+y@sub.example.com", "john_doe%1@x-y.org"],
        reject: &["a@b", "@b.com", "a@b.c", "a b@c.com", "é@c.com"],
    },
    Case {
        pat: r"-?(0|[1-9][0-9]*)",
        oracle: SAME,
        accept: &["0", "-12", "120", "-0"],
        reject: &["01", "-", "", "1.0", "--1"],
    },
    Case {
        pat: r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?",
        oracle: Some(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"),
        accept: &["0", "-1.5", "3e10", "2.25E-3", "10"],
        reject: &["1.", ".5", "1e", "01", "+1", "1.5e+"],
    },
    Case {
        pat: r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)",
        oracle: Some(
            r"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
        ),
        accept: &["192.168.0.1", "255.255.255.255", "0.0.0.0", "10.20.30.40"],
        reject: &["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.", "1.2.3.4.5"],
    },
    Case {
        pat: r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?",
        oracle: Some(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"),
        accept: &["00:00", "23:59:59", "12:30"],
        reject: &["24:00", "12:60", "1:00", "12:30:"],
    },
    Case {
        pat: r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}",
        oracle: SAME,
        accept: &["123e4567-e89b-12d3-a456-426614174000"],
        reject: &[
            "123e4567-e89b-12d3-a456-42661417400",
            "123e4567e89b12d3a456426614174000",
        ],
    },
    Case {
        pat: r"#([0-9a-f]{3}){1,2}",
        oracle: SAME,
        accept: &["#abc", "#a0b1c2"],
        reject: &["#ab", "#abcd", "#abcdefa", "abc"],
    },
    Case {
        pat: r"\(\d{3}\) \d{3}-\d{4}",
        oracle: Some(r"\([0-9]{3}\) [0-9]{3}-[0-9]{4}"),
        accept: &["(555) 123-4567"],
        reject: &["555 123-4567", "(555)123-4567"],
    },
    Case {
        pat: r"(?<year>\d{4})-(?P<month>\d\d)",
        oracle: Some(r"(?<year>[0-9]{4})-(?P<month>[0-9][0-9])"),
        accept: &["1999-12"],
        reject: &["1999-1", "99-12"],
    },
    Case {
        pat: "cat|dog|bird",
        oracle: SAME,
        accept: &["cat", "dog", "bird"],
        reject: &["ca", "catdog", "", "Cat"],
    },
    Case {
        pat: "a(|b)c",
        oracle: SAME,
        accept: &["ac", "abc"],
        reject: &["abbc", "a", "c"],
    },
    Case {
        pat: "(a|)",
        oracle: SAME,
        accept: &["", "a"],
        reject: &["aa", "b"],
    },
    Case {
        pat: "(|a|b)+",
        oracle: SAME,
        accept: &["", "ab", "ba", "aab"],
        reject: &["c"],
    },
    Case {
        pat: "|",
        oracle: SAME,
        accept: &[""],
        reject: &["a", "|"],
    },
    Case {
        pat: "",
        oracle: SAME,
        accept: &[""],
        reject: &["a", " "],
    },
    Case {
        pat: "[a-cx-z]+",
        oracle: SAME,
        accept: &["abc", "zx"],
        reject: &["d", "", "w"],
    },
    Case {
        pat: "[^abc]",
        oracle: SAME,
        accept: &["d", "é", "😀", "\n", "\0"],
        reject: &["a", "", "dd", "c"],
    },
    Case {
        pat: "[a-z&&[^aeiou]]+",
        oracle: SAME,
        accept: &["bcd", "xyz"],
        reject: &["abc", "B", ""],
    },
    Case {
        pat: r"[\w&&[^_]]+",
        oracle: Some(r"[[A-Za-z0-9_]&&[^_]]+"),
        accept: &["abc123"],
        reject: &["a_b", "é"],
    },
    Case {
        pat: "[a-z--[d-w]]",
        oracle: SAME,
        accept: &["a", "z"],
        reject: &["e", "w"],
    },
    Case {
        pat: "[a-f~~c-h]",
        oracle: SAME,
        accept: &["a", "h"],
        reject: &["c", "f"],
    },
    Case {
        pat: r"[\d.-]+",
        oracle: Some(r"[0-9.-]+"),
        accept: &["1.2-3", "-"],
        reject: &["1,2", "a"],
    },
    Case {
        pat: "[]a]+",
        oracle: SAME,
        accept: &["]", "a]"],
        reject: &["b", "["],
    },
    Case {
        pat: "[a-]",
        oracle: SAME,
        accept: &["a", "-"],
        reject: &["b"],
    },
    Case {
        pat: "[[:alpha:][:digit:]]+",
        oracle: SAME,
        accept: &["ab1"],
        reject: &["é", "_"],
    },
    Case {
        pat: "héllo|日本語",
        oracle: SAME,
        accept: &["héllo", "日本語"],
        reject: &["hello", "日本", "héllo日本語"],
    },
    Case {
        pat: "[α-ω]+",
        oracle: SAME,
        accept: &["αβγ", "ω"],
        reject: &["a", "Α"],
    },
    Case {
        pat: "😀+x",
        oracle: SAME,
        accept: &["😀x", "😀😀x"],
        reject: &["x", "😁x"],
    },
    Case {
        pat: r"\p{Greek}+",
        oracle: SAME,
        accept: &["αβγ", "Ω"],
        reject: &["abc", ""],
    },
    Case {
        pat: r"\P{L}",
        oracle: SAME,
        accept: &["1", " ", "😀"],
        reject: &["a", "é"],
    },
    Case {
        pat: r"[\p{Lu}\d]+",
        oracle: Some(r"[\p{Lu}0-9]+"),
        accept: &["AB1"],
        reject: &["a"],
    },
    Case {
        pat: r"[^\P{L}a]",
        oracle: SAME,
        accept: &["b", "é"],
        reject: &["a", "1"],
    },
    Case {
        pat: "(?i)hello",
        oracle: SAME,
        accept: &["hello", "HeLLo", "HELLO"],
        reject: &["hellx", "hell"],
    },
    Case {
        pat: "(?i)[a-c]+",
        oracle: SAME,
        accept: &["AbC", "cab"],
        reject: &["d", "D"],
    },
    Case {
        pat: "(?i)[^a]",
        oracle: SAME,
        accept: &["b", "B"],
        reject: &["a", "A"],
    },
    Case {
        pat: "(?i)straße",
        oracle: SAME,
        accept: &["STRAẞE", "Straße"],
        reject: &["STRASSE"],
    },
    Case {
        pat: "(?i)k",
        oracle: SAME,
        accept: &["k", "K", "\u{212A}"],
        reject: &["x"],
    },
    Case {
        pat: "a(?i)b|c",
        oracle: SAME,
        accept: &["ab", "aB", "c", "C"],
        reject: &["Ab", "AB"],
    },
    Case {
        pat: "(?i:a)b",
        oracle: SAME,
        accept: &["ab", "Ab"],
        reject: &["AB", "aB"],
    },
    Case {
        pat: "(?i)a(?-i)b",
        oracle: SAME,
        accept: &["Ab"],
        reject: &["AB"],
    },
    Case {
        pat: "^abc$",
        oracle: SAME,
        accept: &["abc"],
        reject: &["xabc", "abcx", ""],
    },
    Case {
        pat: "^a|b$",
        oracle: SAME,
        accept: &["a", "b"],
        reject: &["ab", ""],
    },
    Case {
        pat: r"(^a|b)c$",
        oracle: SAME,
        accept: &["ac", "bc"],
        reject: &["c", "abc"],
    },
    Case {
        pat: r"\Aab\z",
        oracle: SAME,
        accept: &["ab"],
        reject: &["a"],
    },
    Case {
        pat: "^^a$$",
        oracle: SAME,
        accept: &["a"],
        reject: &[""],
    },
    Case {
        pat: "(?:^|x)a",
        oracle: SAME,
        accept: &["a", "xa"],
        reject: &["ya"],
    },
    Case {
        pat: "^",
        oracle: SAME,
        accept: &[""],
        reject: &["a"],
    },
    Case {
        pat: "a{3}",
        oracle: SAME,
        accept: &["aaa"],
        reject: &["aa", "aaaa"],
    },
    Case {
        pat: "a{2,}",
        oracle: SAME,
        accept: &["aa", "aaaaaaa"],
        reject: &["a", ""],
    },
    Case {
        pat: "a{2,4}",
        oracle: SAME,
        accept: &["aa", "aaaa"],
        reject: &["a", "aaaaa"],
    },
    Case {
        pat: "a?b*c+",
        oracle: SAME,
        accept: &["c", "abbc", "bcc"],
        reject: &["ab", "aac"],
    },
    Case {
        pat: "a+?b*?",
        oracle: SAME,
        accept: &["a", "aabb"],
        reject: &["b", ""],
    },
    Case {
        pat: "a{2,3}?c??",
        oracle: SAME,
        accept: &["aa", "aaac"],
        reject: &["a", "aaaa"],
    },
    Case {
        pat: "(ab){2}",
        oracle: SAME,
        accept: &["abab"],
        reject: &["ab", "ababab"],
    },
    Case {
        pat: "x{0}y",
        oracle: SAME,
        accept: &["y"],
        reject: &["xy"],
    },
    Case {
        pat: "(a*)*b",
        oracle: SAME,
        accept: &["b", "aab"],
        reject: &["a"],
    },
    Case {
        pat: r"\.\*\+\?\(\)\[\]\{\}\|\^\$\\",
        oracle: SAME,
        accept: &[r".*+?()[]{}|^$\"],
        reject: &["a"],
    },
    Case {
        pat: r"a\/b\-c",
        oracle: Some("a/b-c"),
        accept: &["a/b-c"],
        reject: &["ab-c"],
    },
    Case {
        pat: r"\t\n\r\f\v",
        oracle: SAME,
        accept: &["\t\n\r\x0c\x0b"],
        reject: &["tnrfv"],
    },
    Case {
        pat: r"\x41\u00e9\u{1F600}",
        oracle: SAME,
        accept: &["Aé😀"],
        reject: &["A"],
    },
    Case {
        pat: r"a\0b",
        oracle: Some(r"a\x00b"),
        accept: &["a\0b"],
        reject: &["a0b"],
    },
    Case {
        pat: "a.c",
        oracle: SAME,
        accept: &["abc", "a😀c", "a c"],
        reject: &["a\nc", "ac"],
    },
    Case {
        pat: "(?s)a.b",
        oracle: SAME,
        accept: &["a\nb", "axb"],
        reject: &["ab"],
    },
    Case {
        pat: r"[^\n]*",
        oracle: SAME,
        accept: &["", "abc"],
        reject: &["a\nb"],
    },
    Case {
        pat: "(?x) a b # comment",
        oracle: Some("ab"),
        accept: &["ab"],
        reject: &["a b"],
    },
    Case {
        pat: r#""([^"\\]|\\.)*""#,
        oracle: SAME,
        accept: &[r#""""#, r#""a\"b""#, r#""\\""#],
        reject: &[r#"""""#, r#""\""#],
    },
];

#[test]
fn table() {
    for case in CASES {
        let e = expr(case.pat);
        for s in case.accept {
            assert!(
                matches(&e, s),
                "pattern {:?} should accept {s:?}; expr {e:?}",
                case.pat
            );
        }
        for s in case.reject {
            assert!(
                !matches(&e, s),
                "pattern {:?} should reject {s:?}; expr {e:?}",
                case.pat
            );
        }
        if let Some(oracle) = case.oracle {
            let oracle = if oracle == "=" { case.pat } else { oracle };
            let re = regex::Regex::new(&format!("^(?:{oracle})$"))
                .unwrap_or_else(|e| panic!("oracle {oracle:?}: {e}"));
            for s in case.accept.iter().chain(case.reject) {
                assert_eq!(
                    matches(&e, s),
                    re.is_match(s),
                    "pattern {:?} disagrees with the regex crate on {s:?}",
                    case.pat
                );
            }
        }
    }
}

#[test]
fn grammar_from_regex() {
    let g = Grammar::from_regex(r"\d+").unwrap();
    assert_eq!(g.rules().len(), 1);
    assert_eq!(g.rule(g.root()).name, "root");
    assert_eq!(g.rule(g.root()).body, expr(r"\d+"));
    assert_eq!(g.rule(g.root()).lookahead, None);
    let err = Grammar::from_regex("(a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::GrammarSyntax);
}

#[test]
fn literals_are_merged_bytes() {
    assert_eq!(expr("héllo"), Expr::lit("héllo"));
    assert_eq!(expr("^ab$"), Expr::lit("ab"));
    assert_eq!(expr("a(?:b)c"), Expr::lit("abc"));
    assert_eq!(expr("[x]"), Expr::lit("x"));
}

// ---------------------------------------------------------------------------------------------
// ECMA-262 classes
// ---------------------------------------------------------------------------------------------

const ECMA_SPACES: &[char] = &[
    '\t', '\n', '\u{0B}', '\u{0C}', '\r', ' ', '\u{A0}', '\u{1680}', '\u{2000}', '\u{2005}',
    '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}', '\u{FEFF}',
];

#[test]
fn ecma_digit() {
    let d = expr(r"\d");
    let nd = expr(r"\D");
    for c in '0'..='9' {
        assert!(matches(&d, &c.to_string()));
        assert!(!matches(&nd, &c.to_string()));
    }
    for s in ["٣", "५", "０", "a", " "] {
        assert!(!matches(&d, s), "\\d must not accept {s:?}");
        assert!(matches(&nd, s), "\\D must accept {s:?}");
    }
}

#[test]
fn ecma_word() {
    let w = expr(r"\w");
    let nw = expr(r"\W");
    for s in ["a", "z", "A", "Z", "0", "9", "_"] {
        assert!(matches(&w, s));
        assert!(!matches(&nw, s));
    }
    for s in ["é", "ß", "α", "-", " ", "😀", "\u{17F}"] {
        assert!(!matches(&w, s), "\\w must not accept {s:?}");
        assert!(matches(&nw, s), "\\W must accept {s:?}");
    }
}

#[test]
fn ecma_space() {
    let sp = expr(r"\s");
    let nsp = expr(r"\S");
    for &c in ECMA_SPACES {
        let s = c.to_string();
        assert!(matches(&sp, &s), "\\s must accept {c:?}");
        assert!(!matches(&nsp, &s), "\\S must reject {c:?}");
    }
    // NEL and ZWSP are Unicode-ish white space in some engines but not in ECMA-262.
    for s in ["\u{85}", "\u{200B}", "\u{180E}", "a", "_"] {
        assert!(!matches(&sp, s), "\\s must not accept {s:?}");
        assert!(matches(&nsp, s), "\\S must accept {s:?}");
    }
    // Inside classes and negated classes.
    let e = expr(r"[^\s]+");
    assert!(matches(&e, "ab\u{85}"));
    assert!(!matches(&e, "a\u{3000}b"));
    let e = expr(r"[\S\s]");
    assert!(matches(&e, "\n"));
    assert!(matches(&e, "😀"));
}

#[test]
fn ecma_dot() {
    let dot = expr(".");
    for s in ["a", "\t", "😀", "\u{85}", "\0", "\u{FEFF}"] {
        assert!(matches(&dot, s), ". must accept {s:?}");
    }
    for s in ["\n", "\r", "\u{2028}", "\u{2029}", "", "ab"] {
        assert!(!matches(&dot, s), ". must reject {s:?}");
    }
    let all = [
        regex_to_expr(
            ".",
            RegexOptions {
                dot_all: true,
                ..Default::default()
            },
        )
        .unwrap(),
        expr("(?s)."),
        expr("(?s:.)"),
    ];
    for e in &all {
        for s in ["\n", "\r", "\u{2028}", "\u{2029}", "a"] {
            assert!(matches(e, s), "dot-all must accept {s:?}");
        }
    }
    let e = regex_to_expr(
        "(?-s).",
        RegexOptions {
            dot_all: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!matches(&e, "\n"));
}

#[test]
fn case_insensitive_option() {
    let opts = RegexOptions {
        case_insensitive: true,
        ..Default::default()
    };
    let e = regex_to_expr("abc[x-z]", opts).unwrap();
    assert!(matches(&e, "ABCY"));
    assert!(matches(&e, "aBcz"));
    assert!(!matches(&e, "ABCW"));
    let e = regex_to_expr("a(?-i)b", opts).unwrap();
    assert!(matches(&e, "Ab"));
    assert!(!matches(&e, "AB"));
    // Case folding does not change \d.
    let e = regex_to_expr(r"\d", opts).unwrap();
    assert!(!matches(&e, "a"));
}

// ---------------------------------------------------------------------------------------------
// Search semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn search_semantics() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("ab", &["xxabyy", "ab", "aab", "abab"], &["a b", "", "ba"]),
        ("^ab", &["ab", "abyy"], &["xab", "a"]),
        ("ab$", &["ab", "xxab"], &["abx"]),
        ("^ab$", &["ab"], &["xab", "abx", "abab"]),
        ("^a|b$", &["ax", "a", "xb", "b"], &["xa", "bx", ""]),
        ("(^a|b)c", &["acx", "xbc", "bc"], &["xac", "ab"]),
        ("(?:^|x)a", &["ab", "xa", "zxa"], &["za"]),
        ("", &["", "anything"], &[]),
        ("^", &["", "x"], &[]),
        ("^$", &[""], &["x"]),
        (r"\d+", &["abc123", "7"], &["abc", "٣"]),
        ("a|", &["", "zzz"], &[]),
        ("(?i)^ab", &["ABc"], &["xab"]),
        (
            "(?m)^b",
            &["b", "a\nb", "a\rbx", "a\u{2028}b"],
            &["ab", "a b"],
        ),
        ("(?m)a$", &["a", "a\nb", "xa\r"], &["ab"]),
        (r"\Ab", &["bx"], &["a\nb"]),
        ("(?m:^)b", &["a\nb"], &["ab"]),
    ];
    for (pat, accept, reject) in cases {
        let e = search(pat);
        for s in *accept {
            assert!(
                matches(&e, s),
                "search {pat:?} should accept {s:?}; expr {e:?}"
            );
        }
        for s in *reject {
            assert!(
                !matches(&e, s),
                "search {pat:?} should reject {s:?}; expr {e:?}"
            );
        }
    }
}

#[test]
fn search_agrees_with_regex_crate() {
    let patterns = [
        "ab",
        "^ab",
        "ab$",
        "^a|b$",
        "(^a|b)c",
        "a(b|c)*d",
        "^(a|b)+$",
        "(?:^|b)a(?:c|$)",
        "[abc]{2,3}",
        "^$",
        "",
        "a?",
    ];
    let strings = [
        "", "a", "b", "ab", "ba", "abc", "cab", "abcd", "xacd", "bad", "aac", "bac",
    ];
    for pat in patterns {
        let e = search(pat);
        let re = regex::Regex::new(pat).unwrap();
        for s in strings {
            assert_eq!(matches(&e, s), re.is_match(s), "search {pat:?} on {s:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn error(pattern: &str) -> xgr::Error {
    match regex_to_expr(pattern, RegexOptions::default()) {
        Ok(e) => panic!("pattern {pattern:?} should fail, got {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_construct_and_offset() {
    let cases: &[(&str, &str, usize)] = &[
        (r"(a)\1", "backreference", 3),
        (r"(a)b\9", "backreference", 4),
        (r"(?<n>a)\k<n>", "named backreference", 7),
        ("a(?=b)", "lookahead", 1),
        ("a(?!b)", "negative lookahead", 1),
        ("(?<=a)b", "lookbehind", 0),
        ("x(?<!a)b", "negative lookbehind", 1),
        (r"a\bc", r"word boundary `\b`", 1),
        (r"a\Bc", r"`\B`", 1),
        ("a^b", "anchor `^`", 1),
        ("a$b", "anchor `$`", 1),
        ("a(^b)", "anchor `^`", 2),
        ("(^a)*", "anchor `^`", 1),
        ("(a$)b", "anchor `$`", 2),
        ("$a", "anchor `$`", 0),
        ("a|b^c", "anchor `^`", 3),
        ("(ab", "unclosed group", 0),
        ("ab)", "unopened group", 2),
        ("[ab", "unclosed character class", 0),
        ("a{2,1}", "repetition", 1),
        ("*a", "repetition operator missing expression", 0),
        ("(?-u)a", "Unicode", 3),
        (r"\p{NoSuchProperty}", "Unicode property", 0),
        (r"[\01]", "octal", 1),
        (r"\cA", "control", 0),
        (r"(a\bc$)d", r"`\b`", 2),
        (r"\q", r"`\q`", 0),
    ];
    for (pat, needle, offset) in cases {
        let e = error(pat);
        assert_eq!(
            e.kind(),
            ErrorKind::GrammarSyntax,
            "{pat:?}: {}",
            e.message()
        );
        let msg = e.message();
        assert!(msg.starts_with("regex: "), "{pat:?}: {msg}");
        assert!(
            msg.contains(needle),
            "{pat:?}: message {msg:?} should mention {needle:?}"
        );
        assert!(
            msg.contains(&format!("(at offset {offset})")),
            "{pat:?}: message {msg:?} should give offset {offset}"
        );
        // Search mode reports the same.
        let s = regex_search_to_expr(pat, RegexOptions::default()).unwrap_err();
        assert_eq!(s.message(), msg);
    }
    assert_eq!(
        error(r"(a)\1").message(),
        "regex: backreferences are not supported (at offset 3)"
    );
}

#[test]
fn deep_nesting_is_a_limit_error() {
    let deep = format!("{}a{}", "(".repeat(500), ")".repeat(500));
    let e = error(&deep);
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{}", e.message());
    let ok = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    assert!(matches(&expr(&ok), "a"));
}

// ---------------------------------------------------------------------------------------------
// Large repeats
// ---------------------------------------------------------------------------------------------

#[test]
fn huge_repeats_stay_small() {
    let e = expr("a{1000}");
    assert_eq!(
        e,
        Expr::Repeat {
            expr: Box::new(Expr::lit("a")),
            min: 1000,
            max: Some(1000)
        }
    );
    assert!(matches(&e, &"a".repeat(1000)));
    assert!(!matches(&e, &"a".repeat(999)));
    assert!(!matches(&e, &"a".repeat(1001)));

    for pat in [
        "[0-9]{1,100000}",
        "(ab|c){4294967295}",
        "(a{1000}){1000,}",
        "x{0,4294967295}",
        r"(\d{100000}-){99999}",
    ] {
        let e = expr(pat);
        assert!(size(&e) < 20, "{pat:?} gave {} nodes", size(&e));
    }
    let e = expr("[0-9]{1,100000}");
    assert!(matches(&e, "12345"));
    assert!(!matches(&e, ""));
}

// ---------------------------------------------------------------------------------------------
// Robustness and differential fuzzing
// ---------------------------------------------------------------------------------------------

/// Random patterns over a small alphabet never panic; where both we and the `regex` crate
/// accept a pattern (and it avoids the constructs whose meaning differs), the languages agree
/// on short strings.
#[test]
fn differential_fuzz() {
    const PIECES: &[&str] = &[
        "a", "b", "c", "(", ")", "(?:", "|", "*", "+", "?", "??", "{2}", "{1,2}", "{0,}", "[", "]",
        "[^", "-", "^", "$", ".", "\\", "\\.", "\\d", "\\w", "\\s", "(?i)", "(?i:", "&&", "{", "}",
        ",", "0", "1", "A", "é",
    ];
    const STRINGS: &[&str] = &[
        "", "a", "b", "c", "A", "ab", "ba", "aa", "abc", "cab", "aab", "abab", "a.", "a-", "é",
        "É", "ac", "bb", "cc", "aaa",
    ];
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    let (mut compared, mut compared_search) = (0, 0);
    for _ in 0..6000 {
        let n = rng.gen_range(1..8);
        let pat: String = (0..n)
            .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
            .collect();
        // `\d \w \s` differ from the regex crate's only outside ASCII; `.` only on `\r` etc.
        let ascii_only = pat.contains('\\');
        let strings = STRINGS.iter().filter(|s| !ascii_only || s.is_ascii());
        if let Ok(e) = regex_to_expr(&pat, RegexOptions::default())
            && let Ok(re) = regex::Regex::new(&format!("^(?:{pat})$"))
        {
            compared += 1;
            for s in strings.clone() {
                assert_eq!(
                    matches(&e, s),
                    re.is_match(s),
                    "pattern {pat:?} on {s:?}: {e:?}"
                );
            }
        }
        if let Ok(e) = regex_search_to_expr(&pat, RegexOptions::default())
            && let Ok(re) = regex::Regex::new(&pat)
        {
            compared_search += 1;
            for s in strings {
                assert_eq!(
                    matches(&e, s),
                    re.is_match(s),
                    "search {pat:?} on {s:?}: {e:?}"
                );
            }
        }
    }
    assert!(
        compared_search > 1000,
        "only {compared_search} patterns compared in search mode"
    );
    assert!(compared > 1000, "only {compared} patterns compared");
}

#[test]
fn odd_inputs_do_not_panic() {
    for pat in [
        "\\",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "{1}",
        "a{",
        "a{1",
        "a{1,",
        "a{,1}",
        "(?",
        "(?P<",
        "(?<>a)",
        "[z-a]",
        "[\\d-z]",
        "\\x",
        "\\x{110000}",
        "\\u{D800}",
        "\\uD800",
        "(?i)(?-i",
        "[[[[",
        "a**",
        "a{99999999999}",
        "\\p{",
        "\\pX",
        "[[:foo:]]",
        "(?x)#",
        "\u{0}",
        "\\b{x}",
        "\\<",
        "(?R)a",
        "(?U)a*",
        "((?i)a)b",
    ] {
        let _ = regex_to_expr(pat, RegexOptions::default());
        let _ = regex_search_to_expr(
            pat,
            RegexOptions {
                case_insensitive: true,
                dot_all: true,
            },
        );
    }
}
