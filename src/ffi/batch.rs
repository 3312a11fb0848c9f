//! `xgr_batch`: fills bitmasks and accepts tokens for many matchers at once, on a persistent
//! thread pool created with the batch.

use super::boundary::*;
use super::matcher::{check_live, xgr_matcher};
use super::pool::Pool;
use super::status::xgr_status;
use crate::bitmask::fill_all_allowed;
use crate::matcher::GrammarMatcher;

/// A persistent thread pool for batch calls, created once by `xgr_batch_new` and reused by
/// every call. Used by one thread at a time (calls on one batch are serialized internally);
/// it may move between threads. Freed with `xgr_batch_free`.
pub struct xgr_batch {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Box<Pool>` pointers.
unsafe impl BoxHandle for xgr_batch {
    type Target = Pool;
}

/// A raw pointer the tasks of one batch call may share (each task touches only its own
/// matcher and row; the call checked that they are distinct).
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: see above; the targets (`GrammarMatcher`, `i32`) are `Send`.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

const _: () = {
    const fn send<T: Send>() {}
    send::<GrammarMatcher>();
};

/// Most threads a batch may have.
const MAX_THREADS: usize = 1024;

/// A batch whose calls run on `num_threads` threads, the calling thread included
/// (`num_threads` <= 0: as many as there are cores; 1: the calling thread only). The worker
/// threads are spawned here, once, and live until `xgr_batch_free`. On success `*out` is owned
/// by the caller. Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (`num_threads` > 1024, or the
/// system refused to start a thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_batch_new(num_threads: i32, out: *mut *mut xgr_batch) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        let n = if num_threads <= 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            num_threads as usize
        };
        if n > MAX_THREADS {
            return Err(Failure::invalid(format!(
                "`num_threads` is {n} (at most {MAX_THREADS})"
            )));
        }
        let pool = Pool::new(n)
            .map_err(|e| Failure::invalid(format!("cannot start a batch thread: {e}")))?;
        // SAFETY: checked.
        unsafe { out.write(box_into_raw(Box::new(pool))) };
        Ok(())
    })
}

/// Threads working on each call of `batch`, the calling thread included; 0 for NULL (and the
/// last error is set). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_batch_num_threads(batch: *const xgr_batch) -> usize {
    guard_or(0, || {
        // SAFETY: `batch` is NULL or live.
        Ok(unsafe { box_ref(batch, "batch")? }.threads())
    })
}

/// The matchers of a batch call: non-NULL and pairwise distinct.
///
/// # Safety
/// `matchers` has `n` entries, each NULL or a live matcher used by no one else during the call.
unsafe fn collect_matchers<'a>(
    matchers: *const *mut xgr_matcher,
    n: usize,
) -> FfiResult<Vec<&'a mut GrammarMatcher>> {
    // SAFETY: forwarded.
    let ptrs = unsafe { slice_in(matchers, n, "matchers")? };
    let mut sorted: Vec<(usize, usize)> = ptrs
        .iter()
        .enumerate()
        .map(|(i, &p)| (p as usize, i))
        .collect();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(Failure::invalid(format!(
                "`matchers[{}]` and `matchers[{}]` are the same matcher",
                w[0].1, w[1].1
            )));
        }
    }
    ptrs.iter()
        .enumerate()
        // SAFETY: distinct live matchers, so the mutable borrows do not alias.
        .map(|(i, &p)| unsafe { box_mut(p, &format!("matchers[{i}]")) })
        .collect()
}

/// Fills one bitmask row per matcher, in parallel: the row of matcher `i` is
/// `row_indices[i]` (NULL: `i`), starting at word `row * row_stride_words` of `bitmask`. Each
/// row gets `ceil(vocab_size / 32)` words as with `xgr_matcher_fill_next_token_bitmask`; a
/// terminated matcher gets an all-ones row (every token below its vocab_size allowed);
/// the words of a row past that, up to the stride, are not touched. Rows must be distinct and
/// the matchers too (they are checked), and `bitmask` must hold every row named. Pure CPU, no
/// CUDA call: callable from any host thread. The matchers are used by this call only until it
/// returns; nothing is retained. One call at a time per batch.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`batch`, `matchers` or an entry, or `bitmask` NULL with
/// `n` > 0), `XGR_ERR_INVALID_ARGUMENT` (a matcher twice, a row index negative or twice),
/// `XGR_ERR_BUFFER_TOO_SMALL` (`row_stride_words` smaller than a matcher's row),
/// `XGR_ERR_PANIC`. On failure the bitmask may be partly written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_batch_fill_next_token_bitmask(
    batch: *mut xgr_batch,
    matchers: *const *mut xgr_matcher,
    n: usize,
    bitmask: *mut i32,
    row_stride_words: usize,
    row_indices: *const i32,
) -> xgr_status {
    guard(|| {
        // SAFETY: `batch` is NULL or live; used through a shared reference.
        let pool = unsafe { box_ref(batch as *const xgr_batch, "batch")? };
        // SAFETY: the caller's promises on the arrays.
        let ms = unsafe { collect_matchers(matchers, n)? };
        let rows: Vec<usize> = if row_indices.is_null() {
            (0..n).collect()
        } else {
            let ix = unsafe { slice_in(row_indices, n, "row_indices")? };
            ix.iter()
                .enumerate()
                .map(|(i, &r)| {
                    usize::try_from(r).map_err(|_| {
                        Failure::invalid(format!("`row_indices[{i}]` is {r} (must be >= 0)"))
                    })
                })
                .collect::<FfiResult<_>>()?
        };
        let mut sorted: Vec<(usize, usize)> = rows.iter().copied().zip(0..).collect();
        sorted.sort_unstable();
        for w in sorted.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(Failure::invalid(format!(
                    "`row_indices[{}]` and `row_indices[{}]` are both row {}",
                    w[0].1, w[1].1, w[0].0
                )));
            }
        }
        let mut offsets = Vec::with_capacity(n);
        for (i, (m, &r)) in ms.iter().zip(&rows).enumerate() {
            let need = m.bitmask_words();
            if row_stride_words < need {
                return Err(Failure::new(
                    xgr_status::XGR_ERR_BUFFER_TOO_SMALL,
                    format!(
                        "`row_stride_words` is {row_stride_words}, matcher {i} needs {need} words (vocab_size {})",
                        m.vocab_size()
                    ),
                ));
            }
            let off = r
                .checked_mul(row_stride_words)
                .filter(|&o| {
                    o.checked_add(need)
                        .is_some_and(|e| e <= isize::MAX as usize / 4)
                })
                .ok_or_else(|| Failure::invalid(format!("row {r} overflows the address space")))?;
            offsets.push((off, need));
        }
        if n == 0 {
            return Ok(());
        }
        if bitmask.is_null() {
            return Err(Failure::null("bitmask"));
        }
        if !(bitmask as usize).is_multiple_of(4) {
            return Err(Failure::invalid("`bitmask` is not aligned to 4 bytes"));
        }
        let base = Shared(bitmask);
        let ms: Vec<Shared<GrammarMatcher>> = ms.into_iter().map(|m| Shared(m as *mut _)).collect();
        let first_err: parking_lot::Mutex<Option<Failure>> = parking_lot::Mutex::new(None);
        let r = pool.run(n, &|i| {
            let (off, words) = offsets[i];
            // SAFETY: matchers are distinct and rows disjoint (distinct rows, stride >= row),
            // so each task has exclusive access to its matcher and its words.
            let m = unsafe { &mut *ms[i].get() };
            let row = unsafe { std::slice::from_raw_parts_mut(base.get().add(off), words) };
            if m.is_terminated() {
                fill_all_allowed(row, m.vocab_size());
            } else if let Err(e) = m.fill_next_token_bitmask(row) {
                first_err.lock().get_or_insert(e.into());
            }
        });
        if let Err(msg) = r {
            return Err(Failure::new(xgr_status::XGR_ERR_PANIC, msg));
        }
        match first_err.into_inner() {
            Some(f) => Err(f),
            None => Ok(()),
        }
    })
}

/// Accepts `tokens[i]` on matcher `i` for every `i < n`, in parallel, and writes whether each
/// was accepted to `accepted_out[i]` (a rejected token leaves its matcher unchanged). Every
/// argument is checked before any matcher changes: on a failure status no matcher has
/// changed and `accepted_out` is not written (except after `XGR_ERR_PANIC`, when the matchers'
/// states are unspecified). One call at a time per batch; the matchers are used by this call
/// only until it returns.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (a matcher twice, a token
/// id negative or >= its matcher's vocab_size), `XGR_ERR_TERMINATED` (a matcher has
/// terminated), `XGR_ERR_PANIC`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_batch_accept_token(
    batch: *mut xgr_batch,
    matchers: *const *mut xgr_matcher,
    tokens: *const i32,
    n: usize,
    accepted_out: *mut bool,
) -> xgr_status {
    guard(|| {
        // SAFETY: `batch` is NULL or live; used through a shared reference.
        let pool = unsafe { box_ref(batch as *const xgr_batch, "batch")? };
        // SAFETY: the caller's promises on the arrays.
        let ms = unsafe { collect_matchers(matchers, n)? };
        let toks = unsafe { slice_in(tokens, n, "tokens")? };
        let out = unsafe { slice_out(accepted_out as *mut u8, n, "accepted_out")? };
        let mut ids = Vec::with_capacity(n);
        for (i, (m, &t)) in ms.iter().zip(toks).enumerate() {
            ids.push(token_id(t, m.vocab_size(), &format!("tokens[{i}]"))?);
            check_live(m, &format!("matchers[{i}]"))?;
        }
        let ms: Vec<Shared<GrammarMatcher>> = ms.into_iter().map(|m| Shared(m as *mut _)).collect();
        let results: Vec<parking_lot::Mutex<Option<Result<bool, Failure>>>> =
            (0..n).map(|_| parking_lot::Mutex::new(None)).collect();
        let r = pool.run(n, &|i| {
            // SAFETY: distinct matchers; each task uses only its own.
            let m = unsafe { &mut *ms[i].get() };
            *results[i].lock() = Some(m.accept_token(ids[i]).map_err(Failure::from));
        });
        if let Err(msg) = r {
            return Err(Failure::new(xgr_status::XGR_ERR_PANIC, msg));
        }
        let mut acc = Vec::with_capacity(n);
        for r in results {
            match r.into_inner() {
                Some(Ok(a)) => acc.push(a),
                Some(Err(f)) => return Err(f),
                None => {
                    return Err(Failure::new(
                        xgr_status::XGR_ERR_PANIC,
                        "a batch task did not run",
                    ));
                }
            }
        }
        for (o, a) in out.iter_mut().zip(acc) {
            *o = a as u8;
        }
        Ok(())
    })
}

/// Stops and joins the batch's threads and frees it. NULL is a no-op. No call may be using the
/// batch; must not be called twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_batch_free(batch: *mut xgr_batch) {
    guard_or((), || {
        // SAFETY: `batch` is NULL or live and unused elsewhere.
        unsafe { box_free(batch) };
        Ok(())
    })
}
