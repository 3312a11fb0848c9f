//! Status codes, their names, the mapping from [`ErrorKind`], and the last-error accessors.

use std::ffi::c_char;

use super::boundary::{self, guard_or};
use crate::error::ErrorKind;

/// Result of every fallible `xgr_*` function. `XGR_OK` (0) is success; every other value is a
/// failure whose detail is available from `xgr_last_error_message` on the same thread.
/// The numeric values are fixed once released and are never reused.
/// cbindgen:prefix-with-name=false
/// cbindgen:rename-all=None
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum xgr_status {
    /// Success.
    XGR_OK = 0,
    /// A required pointer argument was NULL.
    XGR_ERR_NULL_ARGUMENT = 1,
    /// A bad argument: a size, a token id out of range, a bad option value, invalid UTF-8.
    XGR_ERR_INVALID_ARGUMENT = 2,
    /// An output buffer is too small; the size needed was written to `*len_out` where the
    /// function has one.
    XGR_ERR_BUFFER_TOO_SMALL = 3,
    /// EBNF, regex or structural-tag syntax error, or an ill-formed grammar.
    XGR_ERR_GRAMMAR_SYNTAX = 10,
    /// An invalid or unsupported JSON Schema.
    XGR_ERR_JSON_SCHEMA = 11,
    /// Malformed JSON text.
    XGR_ERR_JSON = 12,
    /// A tokenizer that cannot be loaded or decoded.
    XGR_ERR_TOKENIZER = 20,
    /// A limit was hit: nesting depth, grammar size, memory budget.
    XGR_ERR_LIMIT_EXCEEDED = 30,
    /// The matcher has already terminated.
    XGR_ERR_TERMINATED = 40,
    /// Rollback of more tokens than were accepted.
    XGR_ERR_ROLLBACK = 41,
    /// A serialized object could not be read back.
    XGR_ERR_DESERIALIZE = 50,
    /// CUDA is not available (not built in, or no driver present).
    XGR_ERR_CUDA_UNAVAILABLE = 60,
    /// A CUDA call failed.
    XGR_ERR_CUDA = 61,
    /// An internal error (a Rust panic) was caught at the boundary; the message says where.
    XGR_ERR_PANIC = 90,
}

impl xgr_status {
    /// Every status, in numeric order.
    pub const ALL: [xgr_status; 15] = [
        xgr_status::XGR_OK,
        xgr_status::XGR_ERR_NULL_ARGUMENT,
        xgr_status::XGR_ERR_INVALID_ARGUMENT,
        xgr_status::XGR_ERR_BUFFER_TOO_SMALL,
        xgr_status::XGR_ERR_GRAMMAR_SYNTAX,
        xgr_status::XGR_ERR_JSON_SCHEMA,
        xgr_status::XGR_ERR_JSON,
        xgr_status::XGR_ERR_TOKENIZER,
        xgr_status::XGR_ERR_LIMIT_EXCEEDED,
        xgr_status::XGR_ERR_TERMINATED,
        xgr_status::XGR_ERR_ROLLBACK,
        xgr_status::XGR_ERR_DESERIALIZE,
        xgr_status::XGR_ERR_CUDA_UNAVAILABLE,
        xgr_status::XGR_ERR_CUDA,
        xgr_status::XGR_ERR_PANIC,
    ];

    /// The constant's name as written in the header, e.g. `"XGR_ERR_NULL_ARGUMENT"`.
    pub fn name(self) -> &'static str {
        self.name_c().to_str().unwrap_or("XGR_UNKNOWN_STATUS")
    }

    fn name_c(self) -> &'static std::ffi::CStr {
        use xgr_status::*;
        match self {
            XGR_OK => c"XGR_OK",
            XGR_ERR_NULL_ARGUMENT => c"XGR_ERR_NULL_ARGUMENT",
            XGR_ERR_INVALID_ARGUMENT => c"XGR_ERR_INVALID_ARGUMENT",
            XGR_ERR_BUFFER_TOO_SMALL => c"XGR_ERR_BUFFER_TOO_SMALL",
            XGR_ERR_GRAMMAR_SYNTAX => c"XGR_ERR_GRAMMAR_SYNTAX",
            XGR_ERR_JSON_SCHEMA => c"XGR_ERR_JSON_SCHEMA",
            XGR_ERR_JSON => c"XGR_ERR_JSON",
            XGR_ERR_TOKENIZER => c"XGR_ERR_TOKENIZER",
            XGR_ERR_LIMIT_EXCEEDED => c"XGR_ERR_LIMIT_EXCEEDED",
            XGR_ERR_TERMINATED => c"XGR_ERR_TERMINATED",
            XGR_ERR_ROLLBACK => c"XGR_ERR_ROLLBACK",
            XGR_ERR_DESERIALIZE => c"XGR_ERR_DESERIALIZE",
            XGR_ERR_CUDA_UNAVAILABLE => c"XGR_ERR_CUDA_UNAVAILABLE",
            XGR_ERR_CUDA => c"XGR_ERR_CUDA",
            XGR_ERR_PANIC => c"XGR_ERR_PANIC",
        }
    }

    /// The status with numeric value `v`, if there is one.
    pub fn from_i32(v: i32) -> Option<xgr_status> {
        Self::ALL.iter().copied().find(|s| *s as i32 == v)
    }

    /// The status code of an error kind (the mapping documented in `C_API.md`).
    pub fn of_kind(kind: ErrorKind) -> xgr_status {
        match kind {
            ErrorKind::InvalidArgument => xgr_status::XGR_ERR_INVALID_ARGUMENT,
            ErrorKind::GrammarSyntax => xgr_status::XGR_ERR_GRAMMAR_SYNTAX,
            ErrorKind::JsonSchema => xgr_status::XGR_ERR_JSON_SCHEMA,
            ErrorKind::Json => xgr_status::XGR_ERR_JSON,
            ErrorKind::Tokenizer => xgr_status::XGR_ERR_TOKENIZER,
            ErrorKind::LimitExceeded => xgr_status::XGR_ERR_LIMIT_EXCEEDED,
            ErrorKind::Terminated => xgr_status::XGR_ERR_TERMINATED,
            ErrorKind::Rollback => xgr_status::XGR_ERR_ROLLBACK,
        }
    }
}

/// A status value as received from C: any `int`, checked before use (a C enum may hold a value
/// that is not one of its constants, which a Rust enum must never see). Appears in the header
/// as `xgr_status`.
/// cbindgen:no-export
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XgrStatusArg(pub i32);

/// The name of a status constant, e.g. `"XGR_ERR_NULL_ARGUMENT"`, as a static NUL-terminated
/// string that must not be freed. A value that is no status gives `"XGR_UNKNOWN_STATUS"`.
/// Never NULL. Thread-safe. Does not touch the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_status_name(status: XgrStatusArg) -> *const c_char {
    let name = match xgr_status::from_i32(status.0) {
        Some(s) => s.name_c(),
        None => c"XGR_UNKNOWN_STATUS",
    };
    name.as_ptr()
}

/// Copies the message of the last failure on the calling thread into `buf` as a NUL-terminated
/// UTF-8 string, truncated (at a character boundary) to fit `cap` bytes including the NUL,
/// and returns the full length of the message in bytes, without the NUL. With `buf` NULL or
/// `cap` 0 nothing is written (use this to size a buffer: `len + 1` bytes). Returns 0 when no
/// call on this thread has failed yet.
///
/// The message is kept per thread until the next failure on that thread; successful calls
/// do not clear it. Thread-safe (each thread sees its own message). Never fails.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_last_error_message(buf: *mut c_char, cap: usize) -> usize {
    // Not run through `guard`: it must not overwrite the message it reports, and it cannot
    // panic (no allocation, no indexing that can fail).
    boundary::with_last_error(|msg| {
        if !buf.is_null() && cap > 0 {
            let mut n = msg.len().min(cap - 1);
            while n > 0 && n < msg.len() && (msg[n] & 0xC0) == 0x80 {
                n -= 1;
            }
            // SAFETY: the caller gives `cap` writable bytes at `buf`; `n + 1 <= cap`.
            unsafe {
                std::ptr::copy_nonoverlapping(msg.as_ptr(), buf as *mut u8, n);
                *buf.add(n) = 0;
            }
        }
        msg.len()
    })
}

/// The library version, `"MAJOR.MINOR.PATCH"` as in `Cargo.toml` (and the header's
/// `XGR_VERSION` macro), as a static NUL-terminated string that must not be freed. Never NULL.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_version() -> *const c_char {
    guard_or(std::ptr::null(), || Ok(VERSION.as_ptr()))
}

const VERSION: &std::ffi::CStr = {
    match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => c"0.0.0",
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_the_contract() {
        let want = [
            (0, "XGR_OK"),
            (1, "XGR_ERR_NULL_ARGUMENT"),
            (2, "XGR_ERR_INVALID_ARGUMENT"),
            (3, "XGR_ERR_BUFFER_TOO_SMALL"),
            (10, "XGR_ERR_GRAMMAR_SYNTAX"),
            (11, "XGR_ERR_JSON_SCHEMA"),
            (12, "XGR_ERR_JSON"),
            (20, "XGR_ERR_TOKENIZER"),
            (30, "XGR_ERR_LIMIT_EXCEEDED"),
            (40, "XGR_ERR_TERMINATED"),
            (41, "XGR_ERR_ROLLBACK"),
            (50, "XGR_ERR_DESERIALIZE"),
            (60, "XGR_ERR_CUDA_UNAVAILABLE"),
            (61, "XGR_ERR_CUDA"),
            (90, "XGR_ERR_PANIC"),
        ];
        for (s, (v, n)) in xgr_status::ALL.iter().zip(want) {
            assert_eq!(*s as i32, v);
            assert_eq!(s.name(), n);
            assert_eq!(format!("{s:?}"), n);
            assert_eq!(xgr_status::from_i32(v), Some(*s));
            let c = unsafe { std::ffi::CStr::from_ptr(xgr_status_name(XgrStatusArg(v))) };
            assert_eq!(c.to_str().unwrap(), n);
        }
        let c = unsafe { std::ffi::CStr::from_ptr(xgr_status_name(XgrStatusArg(77))) };
        assert_eq!(c.to_str().unwrap(), "XGR_UNKNOWN_STATUS");
    }

    #[test]
    fn version_is_cargo_version() {
        let c = unsafe { std::ffi::CStr::from_ptr(xgr_version()) };
        assert_eq!(c.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
