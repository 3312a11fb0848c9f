//! Front ends that convert other grammar languages (regex, JSON Schema, structural tags)
//! into the grammar IR.

pub mod regex;
