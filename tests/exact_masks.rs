//! Exact masks: on random walks over many grammars and every vendored tokenizer, the mask
//! equals the set of tokens that `accept_token` accepts (brute force over the whole
//! vocabulary on a fork), and stop tokens appear exactly where the grammar can end.
mod common;

use common::oracle::checked_step;

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xgr::{CompilerOptions, Grammar, GrammarCompiler, GrammarMatcher, MatcherOptions};

/// (name, grammar source): EBNF unless the name starts with `re:`, builtin JSON for `json`.
const GRAMMARS: &[(&str, &str)] = &[
    ("json", ""),
    (
        "arith",
        r#"root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]+ | "(" expr ")""#,
    ),
    ("left_rec", r#"root ::= root "a" | "b""#),
    ("right_rec", r#"root ::= "a" root | "b""#),
    (
        "lookahead_word",
        r#"root ::= word (" " word)* "."
word ::= [a-z]+ (= [ .])"#,
    ),
    (
        "lookahead_num",
        r#"root ::= num ("," num)* ";"
num ::= [0-9]+ (= [,;])"#,
    ),
    // A constraint pending over several tokens, while the tag's body calls a recursive rule,
    // ends, and returns into the root: each byte of every path feeds the same constraint.
    (
        "lookahead_span",
        r#"root ::= ("<" tag ">" " "?)+
tag ::= head rest
head ::= [a-z] (= [a-z0-9]{0,5} ">")
rest ::= [a-z0-9] rest | """#,
    ),
    // Right-linear groups (rules that reference each other only last): built into their
    // caller as plain states, not calls.
    (
        "right_linear",
        r#"root ::= "[" list "]" " "? evens "."
list ::= [a-z]+ ("," list | "")
evens ::= "ab" odds | ""
odds ::= "c" evens"#,
    ),
    // A bounded repetition of a large rule calls it from every copy.
    (
        "repeated_calls",
        r#"root ::= "[" big ("," big){0,4} "]"
big ::= [a-z] [a-z0-9 ]{0,70}"#,
    ),
    ("greek_cjk", r#"root ::= [α-ω]+ "-" [\u4e00-\u9fff]{1,3}"#),
    ("quoted", r#"root ::= "\"" [^"\\]* "\"""#),
    ("bounded", r#"root ::= [0-9]{2,4} "-" [a-f]{3}"#),
    ("exact_count", r#"root ::= ("ab"){3}"#),
    ("at_least", r#"root ::= "x"{2,} "y""#),
    (
        "nested_groups",
        r#"root ::= ("a" | "b" ("c" | "d")*)+ "e"?"#,
    ),
    (
        "escapes",
        r#"root ::= "\x41\u00e9\U0001F600\n\t" [\x20-\x7e]*"#,
    ),
    ("empty_alt", r#"root ::= "a" ( | "b") "c""#),
    (
        "mutual",
        r#"root ::= a
a ::= "(" b ")" | "x"
b ::= a ("," a)*"#,
    ),
    (
        "gbnf_list",
        r#"root ::= item+
item ::= "- " [^\n]+ "\n""#,
    ),
    (
        "keywords",
        r#"root ::= ("true" | "false" | "null" | "nullable") (" " ("true" | "null"))*"#,
    ),
    ("nullable_star", r#"root ::= ("a"? "b"?)* "c""#),
    ("brackets", r#"root ::= "[" (root ("," root)*)? "]""#),
    (
        "ambiguous",
        r#"root ::= a a
a ::= "x" | "xx" | "xxx""#,
    ),
    ("emoji", r#"root ::= [😀-🙏]+ " "? [a-z]*"#),
    (
        "nullable_rules",
        r#"root ::= a b c
a ::= "x"?
b ::= "y"*
c ::= "z"?"#,
    ),
    (
        "json_string",
        r#"root ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#,
    ),
    (
        "kv",
        r#"root ::= "{" ws pair (ws "," ws pair)* ws "}"
pair ::= "\"" [a-z]+ "\"" ws ":" ws value
value ::= [0-9]+ | "true" | "false" | root
ws ::= [ \n]*"#,
    ),
    (
        "comments",
        r#"# a comment
root ::= greeting # trailing comment
  " " name
greeting ::= "hello" | "hi"   # alternatives
name ::= [A-Z] [a-z]*"#,
    ),
    ("re:date", r"\d{4}-\d{2}-\d{2}"),
    ("re:email", r"[a-z]+@[a-z]+\.(com|org)"),
    ("re:star_alt", r"(ab|a)*b?"),
    ("re:words", r"\w+\s\w+"),
    ("re:number", r"-?(0|[1-9]\d*)(\.\d+)?"),
    ("re:dot", r".{0,5}x"),
    // Counted text that also takes control bytes: tokens of text that end in a newline.
    ("re:counted_ctrl", r"[\s\S]{0,6}\n[a-z]{0,3}"),
    ("re:unicode", r"[^a-z]{1,3}é+"),
    // `\S` loops leave at every whitespace character, the non-ASCII ones (U+00A0, U+3000)
    // among them: tokens holding one after other text are walked, not taken at once.
    ("re:no_space", r"\S+"),
    ("re:space_words", r"(\S+\s+){0,3}\S+"),
    // JSON Schemas: string bodies run through one shared loop rule whose token classes are
    // shared between grammars of the same compiler (under different rule indices).
    (
        "schema:strings",
        r#"{"type": "object", "properties": {"a": {"type": "string"},
            "b": {"type": "string", "maxLength": 8},
            "c": {"type": "array", "items": {"type": "string", "minLength": 2}}},
            "required": ["a", "b", "c"]}"#,
    ),
    (
        "schema:mixed",
        r#"{"type": "object", "properties": {"id": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "note": {"type": "string", "pattern": "^[a-z ]{0,12}$"}}, "required": ["id"]}"#,
    ),
    // A count longer than any token: its first states take any text token.
    (
        "schema:long_max",
        r#"{"type": "object", "properties": {"a": {"type": "string", "maxLength": 300},
            "b": {"type": "string", "minLength": 2, "maxLength": 1000}},
            "required": ["a", "b"]}"#,
    ),
    (
        "schema:short_string",
        r#"{"type": "string", "maxLength": 20}"#,
    ),
    // Pattern and format strings: loops and counted runs over one byte class, `.` (which
    // leaves out U+2028 and U+2029), text ending inside a character.
    (
        "schema:patterns",
        r#"{"type": "object", "properties": {"u": {"type": "string", "format": "uri"},
            "w": {"type": "string", "pattern": "^[\\w\\-\\.\\s]+$"},
            "t": {"type": "string", "pattern": "^.{2,30}$"},
            "k": {"type": "string", "pattern": "^[a-z]{1,12}$"}},
            "required": ["u", "w", "t", "k"]}"#,
    ),
    // A pattern under a length bound too long to intersect into its automaton: the length
    // is a lookahead constraint, pending inside the string and at its end.
    (
        "schema:pattern_long_bound",
        r#"{"type": "string", "pattern": "^(?:\\S+\\s+){0,3}\\S+$", "minLength": 3,
            "maxLength": 66}"#,
    ),
    // Shared string tails, one that takes newlines and one that does not: text handed on
    // to a tail decides tokens by length only when the tail takes no control byte.
    // States that take any text but control bytes themselves and call a shared tail:
    // one that takes newlines (its tokens of text and a newline are accepted) and one
    // that does not.
    (
        "tail_newlines",
        r#"root ::= [^"\\\x00-\x1f]{0,3} [^"]* "\"" "!""#,
    ),
    (
        "tail_quiet",
        r#"root ::= [^"\\\x00-\x1f]{0,3} [^"\x00-\x1f]* "\"" "!""#,
    ),
    // One character, then a tail that takes newlines: the start calls nothing and every
    // character leads to the call, so its text is handed on to the tail; its tokens of a
    // character and a newline are accepted through the tail, which is not quiet text.
    (
        "tail_after_one",
        r#"root ::= [^"\\\x00-\x1f] [^"]* "\"" "!""#,
    ),
    // Two roots that differ only in the loop they call: each is shared through the entry
    // of its callee, so neither takes the other's classes.
    ("outlined_a", r#"root ::= "x" [^"]* "\"" "!""#),
    ("outlined_b", r#"root ::= "x" [^"x]* "\"" "!""#),
    // A `uri` string calls loops outlined from it, so its classes are shared through its
    // callees' entries; the two schemas number the rule apart.
    (
        "schema:uri_items",
        r#"{"type": "array", "maxItems": 2, "items": {"type": "string", "format": "uri"}}"#,
    ),
    (
        "schema:uri_nested",
        r#"{"type": "object", "properties": {"x": {"type": "object", "properties": {
            "u": {"type": "string", "format": "uri"}, "n": {"type": "integer"}},
            "required": ["u"]}}, "required": ["x"]}"#,
    ),
    ("re:runs", r"[\w.-]+(/[\w.~%-]*)*|[^\n]{0,24}"),
    // Free text that a trigger ends, and text that must contain a word: text states that
    // leave their loop on a few ASCII characters.
    ("re:trigger", r"([^<\n]|<[^t\n])*<tool>[a-z]{1,8}</tool>"),
    ("re:contains", r"[^\n]*date-time[^\n]{0,10}"),
    (
        "schema:unanchored",
        r#"{"type": "object", "properties": {"d": {"type": "string", "pattern": "date-time"},
            "u": {"type": "string", "pattern": "[0-9a-f]{4}-[0-9a-f]{2}"}},
            "required": ["d", "u"]}"#,
    ),
    (
        "schema:class_runs",
        r#"{"type": "object", "properties": {
            "id": {"type": "string", "pattern": "^[ -!#-\\[\\]-}]+$", "minLength": 30, "maxLength": 30},
            "host": {"type": "string", "pattern": "^[a-z0-9.-]+$"},
            "hex": {"type": "string", "pattern": "^[0-9a-f]{6,40}$"}},
            "required": ["id", "host", "hex"]}"#,
    ),
    // Short runs and loops over broad classes, read from the class index too: a chain of
    // 12 before a loop, a chain of 3 over printable ASCII, an email's parts.
    (
        "schema:class_short",
        r#"{"type": "object", "properties": {
            "s": {"type": "string", "pattern": "^[ -!#-\\[\\]-}]+$", "minLength": 12},
            "c": {"type": "string", "pattern": "^[ -~]{3}$"},
            "e": {"type": "string", "format": "email"}},
            "required": ["s", "c", "e"]}"#,
    ),
    (
        "class_chain",
        r#"root ::= [a-z0-9.-]{4,40} ("!" | "?" [ -~]{0,9})"#,
    ),
    (
        "schema:item_list",
        r#"{"type": "array", "minItems": 2, "items": {"type": "object",
            "properties": {"name": {"type": "string", "pattern": "^[\\w\\-\\.]+$"},
            "n": {"type": "integer"}}, "required": ["name"]}}"#,
    ),
];

fn grammar(name: &str, src: &str) -> Grammar {
    if name == "json" {
        Grammar::builtin_json()
    } else if name.starts_with("schema:") {
        Grammar::from_json_schema(src, &xgr::JsonSchemaOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    } else if let Some(_re) = name.strip_prefix("re:") {
        Grammar::from_regex(src).unwrap_or_else(|e| panic!("{name}: {e}"))
    } else {
        Grammar::from_ebnf(src, "root").unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn check_tokenizer(name: &str, walks: usize, steps: usize) {
    let tok = Arc::new(common::tokenizers::load(name));
    let compiler = GrammarCompiler::new(tok, CompilerOptions::default());
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    for &(gname, src) in GRAMMARS {
        let g = grammar(gname, src);
        walk(
            &compiler,
            &g,
            &format!("{name} / {gname}"),
            walks,
            steps,
            &mut rng,
        );
    }
}

/// Random walks over `g`, each step checked against the brute-force oracle.
fn walk(
    compiler: &GrammarCompiler,
    g: &Grammar,
    label: &str,
    walks: usize,
    steps: usize,
    rng: &mut SmallRng,
) {
    let cg = compiler.compile_grammar(g).unwrap();
    for w in 0..walks {
        let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
        for step in 0..steps {
            let (text, stop) = checked_step(&mut m, &format!("{label}: walk {w} step {step}"));
            if text.is_empty() || (stop && rng.gen_bool(0.15)) {
                break;
            }
            let t = text[rng.gen_range(0..text.len())];
            assert!(m.accept_token(t).unwrap());
        }
    }
}

/// A large alternation of tagged branches (tool calls): each branch's body is its own rule,
/// called after the branch's literal tag, and tokens run across the calls' ends.
#[test]
fn exact_masks_called_branches() {
    let mut src = String::from("root ::= ((");
    for i in 0..24 {
        if i > 0 {
            src.push_str(" | ");
        }
        src.push_str(&format!(r#""<tool_{i}>" body_{i} "</tool>""#));
    }
    src.push_str("))+ \"!\"\n");
    for i in 0..24 {
        src.push_str(&format!(
            r#"body_{i} ::= "{{\"k{i}\": " ([0-9]{{1,3}} | "\"" [a-z ]{{0,40}} "\"") "}}"
"#
        ));
    }
    let g = Grammar::from_ebnf(&src, "root").unwrap();
    let mut rng = SmallRng::seed_from_u64(0x7001);
    for name in ["gpt2-50k", "llama3-128k"] {
        let tok = Arc::new(common::tokenizers::load(name));
        let compiler = GrammarCompiler::new(tok, CompilerOptions::default());
        walk(
            &compiler,
            &g,
            &format!("{name} / called_branches"),
            8,
            24,
            &mut rng,
        );
    }
}

#[test]
fn exact_masks_gpt2() {
    check_tokenizer("gpt2-50k", 3, 16);
}

#[test]
fn exact_masks_llama2() {
    check_tokenizer("llama2-32k", 3, 16);
}

#[test]
fn exact_masks_llama3() {
    check_tokenizer("llama3-128k", 2, 12);
}
