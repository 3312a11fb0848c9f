//! xgr: exact next-token bitmasks for structured generation.

pub(crate) mod automaton;
pub mod bitmask;
pub mod cli;
pub mod compiler;
pub mod convert;
pub mod cuda;
pub mod error;
pub mod ffi;
pub(crate) mod fxhash;
pub mod grammar;
pub mod matcher;
pub(crate) mod parallel;
pub(crate) mod parser;
pub mod tokenizer;

pub use compiler::{CompiledGrammar, CompilerOptions, GrammarCompiler};
pub use convert::json_schema::{JsonSchemaOptions, Relaxation};
pub use error::{Error, ErrorKind, Result};
pub use grammar::{CharClass, Expr, Grammar, Rule, RuleId};
pub use matcher::{GrammarMatcher, MatcherOptions};
