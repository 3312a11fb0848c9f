#![allow(dead_code)]
pub mod bytes;
pub mod oracle;
pub mod tokenizers;
