//! Regex to grammar.
use crate::error::Result;
use crate::grammar::Grammar;

pub(crate) fn regex_to_grammar(_pattern: &str) -> Result<Grammar> {
    todo!()
}
