//! `xgr_matcher`: the per-sequence matcher (one caller at a time).

use std::ffi::c_char;
use std::mem::offset_of;

use super::boundary::*;
use super::compiler::xgr_compiled_grammar;
use super::status::xgr_status;
use crate::matcher::{GrammarMatcher, MatcherOptions};

/// Follows one generated sequence against a compiled grammar: accepts tokens, fills the
/// next-token bitmask, rolls back, forks, finds jump-forward strings. Used by one thread at a
/// time (it may move between threads). Freed with `xgr_matcher_free`.
pub struct xgr_matcher {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Box<GrammarMatcher>` pointers.
unsafe impl BoxHandle for xgr_matcher {
    type Target = GrammarMatcher;
}

/// Options of a matcher. Initialise with `xgr_matcher_options_default()`, then set fields;
/// `struct_size` must stay as initialised.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xgr_matcher_options {
    /// `sizeof(xgr_matcher_options)` as compiled by the caller.
    pub struct_size: usize,
    /// Stop tokens to use instead of the tokenizer's (copied); NULL = the tokenizer's
    /// (default). A non-NULL array of length 0 means no stop token.
    pub override_stop_token_ids: *const i32,
    /// Length of `override_stop_token_ids`.
    pub num_override_stop_token_ids: usize,
    /// Terminate as soon as the grammar is complete, without a stop token (default false).
    pub terminate_without_stop_token: bool,
}

// SAFETY: repr(C), starts with `struct_size`, integers/pointers plus one listed bool.
unsafe impl OptionsStruct for xgr_matcher_options {
    const BOOL_FIELDS: &'static [usize] = &[offset_of!(
        xgr_matcher_options,
        terminate_without_stop_token
    )];
    fn defaults() -> Self {
        xgr_matcher_options {
            struct_size: std::mem::size_of::<xgr_matcher_options>(),
            override_stop_token_ids: std::ptr::null(),
            num_override_stop_token_ids: 0,
            terminate_without_stop_token: false,
        }
    }
}

/// The defaults of `xgr_matcher_options` (with `struct_size` set). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_options_default() -> xgr_matcher_options {
    xgr_matcher_options::defaults()
}

/// Fails with `XGR_ERR_TERMINATED` when the matcher has terminated.
pub(crate) fn check_live(m: &GrammarMatcher, param: &str) -> FfiResult<()> {
    if m.is_terminated() {
        return Err(Failure::new(
            xgr_status::XGR_ERR_TERMINATED,
            format!("`{param}` has terminated; roll back or reset it to continue"),
        ));
    }
    Ok(())
}

/// A matcher at the start of `cg` (which gains a reference; the caller keeps its own).
/// `opts` NULL = defaults. On success `*out` is owned by the caller and released with
/// `xgr_matcher_free`. Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (bad options, a stop id
/// negative or >= vocab_size).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_new(
    cg: *const xgr_compiled_grammar,
    opts: *const xgr_matcher_options,
    out: *mut *mut xgr_matcher,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: `cg` is NULL or live; `opts` NULL or valid with a readable array.
        let cg = unsafe { arc_clone(cg, "cg")? };
        let o = unsafe { read_options(opts, "opts")? };
        let override_stop_tokens = if o.override_stop_token_ids.is_null() {
            None
        } else {
            let ids = unsafe {
                slice_in(
                    o.override_stop_token_ids,
                    o.num_override_stop_token_ids,
                    "opts->override_stop_token_ids",
                )?
            };
            Some(token_ids(ids, "opts->override_stop_token_ids")?)
        };
        let m = GrammarMatcher::new(
            cg,
            &MatcherOptions {
                override_stop_tokens,
                terminate_without_stop_token: o.terminate_without_stop_token,
            },
        )?;
        // SAFETY: checked.
        unsafe { out.write(box_into_raw(Box::new(m))) };
        Ok(())
    })
}

/// Accepts one token. A token the grammar rejects gives `XGR_OK` with `*accepted` = false and
/// the state unchanged; an accepted one gives `*accepted` = true and can be undone with
/// `xgr_matcher_rollback`. Not thread-safe (one caller at a time per matcher).
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`m` or `accepted` NULL), `XGR_ERR_INVALID_ARGUMENT`
/// (id negative or >= vocab_size), `XGR_ERR_TERMINATED` (the matcher has terminated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_accept_token(
    m: *mut xgr_matcher,
    token_id: i32,
    accepted: *mut bool,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only.
        let m = unsafe { box_mut(m, "m")? };
        let accepted = check_out(accepted, "accepted")?;
        let id = super::boundary::token_id(token_id, m.vocab_size(), "token_id")?;
        check_live(m, "m")?;
        let ok = m.accept_token(id)?;
        // SAFETY: checked.
        unsafe { accepted.write(ok) };
        Ok(())
    })
}

/// Accepts a byte string (`bytes`, `len` bytes, any bytes, not necessarily a whole character;
/// copied) all or nothing: `*accepted` = false leaves the state unchanged. It counts as one
/// step for rollback. Not thread-safe (one caller at a time per matcher).
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`m` or `accepted` NULL, `bytes` NULL with `len` > 0),
/// `XGR_ERR_TERMINATED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_accept_string(
    m: *mut xgr_matcher,
    bytes: *const c_char,
    len: usize,
    accepted: *mut bool,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only; `bytes` has `len` bytes.
        let m = unsafe { box_mut(m, "m")? };
        let accepted = check_out(accepted, "accepted")?;
        let bytes = unsafe { slice_in(bytes as *const u8, len, "bytes")? };
        check_live(m, "m")?;
        let ok = m.accept_string(bytes)?;
        // SAFETY: checked.
        unsafe { accepted.write(ok) };
        Ok(())
    })
}

/// Writes the tokens allowed next as one bitmask row of `ceil(vocab_size / 32)` int32 words
/// (token `i` is bit `i % 32` of word `i / 32`, 1 = allowed; bits at or past vocab_size are 0;
/// words past the row are not touched). After termination only the stop tokens are set.
/// `*need_apply` (nullable) is set to false when every token is allowed. Not thread-safe
/// (one caller at a time per matcher).
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_BUFFER_TOO_SMALL` (`words` < the row size).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_fill_next_token_bitmask(
    m: *mut xgr_matcher,
    bitmask: *mut i32,
    words: usize,
    need_apply: *mut bool,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only.
        let m = unsafe { box_mut(m, "m")? };
        let need = m.bitmask_words();
        if words < need {
            return Err(Failure::new(
                xgr_status::XGR_ERR_BUFFER_TOO_SMALL,
                format!(
                    "bitmask has {words} words, {need} needed (vocab_size {})",
                    m.vocab_size()
                ),
            ));
        }
        if !need_apply.is_null() {
            check_out(need_apply, "need_apply")?;
        }
        // SAFETY: `bitmask` has at least `words >= need` writable words.
        let row = unsafe { slice_out(bitmask, need, "bitmask")? };
        let any_masked = m.fill_next_token_bitmask(row)?;
        if !need_apply.is_null() {
            // SAFETY: checked.
            unsafe { need_apply.write(any_masked) };
        }
        Ok(())
    })
}

/// Undoes the last `num_tokens` accepted tokens (an accepted string or stop token counts as
/// one). Not thread-safe (one caller at a time per matcher).
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_ROLLBACK` (more than were accepted; nothing is
/// undone).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_rollback(
    m: *mut xgr_matcher,
    num_tokens: usize,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only.
        let m = unsafe { box_mut(m, "m")? };
        m.rollback(num_tokens)?;
        Ok(())
    })
}

/// Writes the longest string the grammar forces from here (possibly empty; whole UTF-8
/// characters; at most 4,096 bytes) into `buf` as a NUL-terminated string and sets `*len_out`
/// to its length without the NUL. The state is unchanged (accept the string with
/// `xgr_matcher_accept_string` to move on). Not thread-safe (one caller at a time per matcher).
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`m` or `len_out` NULL, `buf` NULL with `cap` > 0),
/// `XGR_ERR_BUFFER_TOO_SMALL` (`cap` < length + 1: nothing is written to `buf` and `*len_out`
/// is set to length + 1, the capacity needed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_find_jump_forward_string(
    m: *mut xgr_matcher,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only.
        let m = unsafe { box_mut(m, "m")? };
        let len_out = check_out(len_out, "len_out")?;
        let s = m.find_jump_forward_string();
        // SAFETY: `buf` has `cap` writable bytes.
        unsafe { write_str_out(s.as_bytes(), buf, cap, len_out, "the jump-forward string") }
    })
}

/// Whether the matcher has terminated: a stop token was accepted, or the grammar is complete
/// and the matcher was made with `terminate_without_stop_token`. False for NULL (and the last
/// error is set). Not thread-safe with calls that change the matcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_is_terminated(m: *const xgr_matcher) -> bool {
    guard_or(false, || {
        // SAFETY: `m` is NULL or live.
        Ok(unsafe { box_ref(m, "m")? }.is_terminated())
    })
}

/// Whether the grammar may end here (a stop token would be accepted). False for NULL (and the
/// last error is set). Not thread-safe with calls that change the matcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_is_completed(m: *const xgr_matcher) -> bool {
    guard_or(false, || {
        // SAFETY: `m` is NULL or live.
        Ok(unsafe { box_ref(m, "m")? }.is_completed())
    })
}

/// The number of steps `xgr_matcher_rollback` can undo (accepted tokens, strings and stop
/// tokens). 0 for NULL (and the last error is set). Not thread-safe with calls that change the
/// matcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_num_accepted(m: *const xgr_matcher) -> usize {
    guard_or(0, || {
        // SAFETY: `m` is NULL or live.
        Ok(unsafe { box_ref(m, "m")? }.num_accepted())
    })
}

/// The model's vocabulary size of the matcher's grammar (the width of its bitmask rows in
/// bits). -1 for NULL (and the last error is set). Thread-safe with other readers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_vocab_size(m: *const xgr_matcher) -> i32 {
    guard_or(-1, || {
        // SAFETY: `m` is NULL or live.
        Ok(i32::try_from(unsafe { box_ref(m, "m")? }.vocab_size()).unwrap_or(i32::MAX))
    })
}

/// Back to the start of the grammar, history cleared. Not thread-safe (one caller at a time
/// per matcher). Statuses: `XGR_ERR_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_reset(m: *mut xgr_matcher) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live and used by this caller only.
        unsafe { box_mut(m, "m")? }.reset();
        Ok(())
    })
}

/// An independent copy of `m` (state and history; the compiled grammar is shared). On success
/// `*out` is owned by the caller and released with `xgr_matcher_free`. Not thread-safe with
/// calls that change `m`.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_fork(
    m: *const xgr_matcher,
    out: *mut *mut xgr_matcher,
) -> xgr_status {
    guard(|| {
        // SAFETY: `m` is NULL or live.
        let m = unsafe { box_ref(m, "m")? };
        let out = check_out(out, "out")?;
        let f = m.fork();
        // SAFETY: checked.
        unsafe { out.write(box_into_raw(Box::new(f))) };
        Ok(())
    })
}

/// Frees a matcher. NULL is a no-op. No other call may be using it; must not be called twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_matcher_free(m: *mut xgr_matcher) {
    guard_or((), || {
        // SAFETY: `m` is NULL or live and unused elsewhere.
        unsafe { box_free(m) };
        Ok(())
    })
}
