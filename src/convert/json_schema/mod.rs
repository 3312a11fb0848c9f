//! JSON Schema to grammar: placeholder until the converter lands; every call is refused.
use crate::error::{Error, ErrorKind, Result};
use crate::grammar::Grammar;

/// Options of the JSON Schema converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSchemaOptions {
    pub any_whitespace: bool,
    pub indent: Option<usize>,
    pub separators: Option<(String, String)>,
    pub strict_mode: bool,
    pub max_whitespace_cnt: Option<usize>,
}

impl Default for JsonSchemaOptions {
    fn default() -> Self {
        JsonSchemaOptions {
            any_whitespace: true,
            indent: None,
            separators: None,
            strict_mode: true,
            max_whitespace_cnt: None,
        }
    }
}

pub fn grammar_from_json_schema(_schema: &str, _opts: &JsonSchemaOptions) -> Result<Grammar> {
    Err(Error::new(
        ErrorKind::JsonSchema,
        "JSON Schema is not supported in this build",
    ))
}
