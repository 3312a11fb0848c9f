//! Structural tags to grammar: not implemented yet; every call is refused with an error.
use crate::error::{Error, Result};
use crate::grammar::Grammar;

pub fn grammar_from_structural_tag(_json: &str) -> Result<Grammar> {
    Err(Error::syntax("structural tags are not supported yet"))
}
