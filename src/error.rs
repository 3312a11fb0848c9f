//! Errors of the whole crate: one struct with a kind and a readable message.
//!
//! Every fallible operation returns [`Result`]. The message names the input position
//! where there is one (line and column for EBNF, offset for regex, JSON pointer for schemas).

use std::fmt;

/// What kind of failure an [`Error`] is. Each kind maps to one C status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad argument: size, id out of range, bad option.
    InvalidArgument,
    /// EBNF, regex or structural-tag syntax error, or an ill-formed grammar.
    GrammarSyntax,
    /// An invalid or unsupported JSON Schema.
    JsonSchema,
    /// Malformed JSON text.
    Json,
    /// A tokenizer that cannot be loaded or decoded.
    Tokenizer,
    /// A limit was hit: nesting depth, grammar size, memory budget.
    LimitExceeded,
    /// The matcher has already terminated.
    Terminated,
    /// Rollback of more tokens than were accepted.
    Rollback,
}

/// An error with a kind and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::GrammarSyntax, message)
    }
    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::LimitExceeded, message)
    }
    pub(crate) fn tokenizer(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Tokenizer, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
