//! EBNF printer.
use super::Grammar;

pub(crate) fn to_ebnf(_g: &Grammar) -> String {
    todo!()
}
