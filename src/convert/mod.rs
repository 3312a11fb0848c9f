//! Front ends that convert other grammar languages (regex, JSON Schema, structural tags)
//! into the grammar IR.

pub mod json_schema;
pub mod regex;
pub mod structural_tag;
