//! EBNF parser.
use super::Grammar;
use crate::error::Result;

pub(crate) fn parse(_src: &str, _root: &str) -> Result<Grammar> {
    todo!()
}
