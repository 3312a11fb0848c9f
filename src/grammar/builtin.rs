//! The builtin JSON grammar.
use super::Grammar;

pub(crate) fn json() -> Grammar {
    todo!()
}
