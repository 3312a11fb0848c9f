//! The builtin JSON grammar, written in the EBNF dialect and parsed once.
//!
//! Semantics follow XGrammar's builtin JSON grammar: the top-level value must be an object
//! or an array, with no whitespace before or after it; whitespace `[ \t\n\r]*` may appear
//! between tokens; strings, numbers and literals follow RFC 8259 (strings exclude raw `"`,
//! `\` and U+0000–U+001F, and allow any other Unicode scalar value).
//!
//! ```
//! let g = xgr::Grammar::builtin_json();
//! assert_eq!(g.rule(g.root()).name, "root");
//! assert!(g.rule_id("value").is_some());
//! ```

use std::sync::OnceLock;

use super::Grammar;

/// The builtin JSON grammar's source text. `string`, `number` and `ws` are separate rules
/// for readability; they are not recursive, so the compiler can inline them.
pub(crate) const JSON_EBNF: &str = r#"# JSON (RFC 8259); the top-level value is an object or an array.
root ::= object | array
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"
array ::= "[" ws (value ws ("," ws value ws)*)? "]"
string ::= "\"" ([^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))* "\""
number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [+-]? [0-9]+)?
ws ::= [ \t\n\r]*
"#;

/// The builtin JSON grammar (see the module docs); parsed on first use, then cloned.
pub(crate) fn json() -> Grammar {
    static JSON: OnceLock<Grammar> = OnceLock::new();
    JSON.get_or_init(|| {
        super::ebnf::parse(JSON_EBNF, "root").expect("the builtin JSON grammar is valid EBNF")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let g = super::super::ebnf::parse(JSON_EBNF, "root").unwrap();
        let names: Vec<&str> = g.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["root", "value", "object", "array", "string", "number", "ws"]
        );
        assert_eq!(json(), g);
        // Printing and re-parsing is a fixed point.
        let printed = g.to_ebnf();
        let again = super::super::ebnf::parse(&printed, "root").unwrap();
        assert_eq!(again.to_ebnf(), printed);
    }
}
