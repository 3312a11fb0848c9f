#![allow(dead_code)]
pub mod tokenizers;
