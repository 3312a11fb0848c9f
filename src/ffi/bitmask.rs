//! Bitmask layout and the CPU apply kernel: `xgr_bitmask_words`, `xgr_apply_token_bitmask_cpu`.

use std::ffi::c_void;

use super::boundary::*;
use super::status::xgr_status;
use crate::bitmask::{Logits, Rows, apply_token_bitmask_cpu, words};

/// Element type of logits.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xgr_dtype {
    /// 32-bit IEEE float.
    F32 = 0,
    /// 16-bit IEEE half float.
    F16 = 1,
    /// bfloat16.
    Bf16 = 2,
}

/// A dtype as received from C (checked before use). Appears in the header as `xgr_dtype`.
/// cbindgen:no-export
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XgrDtypeArg(pub i32);

impl XgrDtypeArg {
    pub(crate) fn get(self) -> FfiResult<xgr_dtype> {
        match self.0 {
            0 => Ok(xgr_dtype::F32),
            1 => Ok(xgr_dtype::F16),
            2 => Ok(xgr_dtype::Bf16),
            v => Err(Failure::invalid(format!("`dtype` {v} is not an xgr_dtype"))),
        }
    }
}

impl xgr_dtype {
    pub(crate) fn size(self) -> usize {
        match self {
            xgr_dtype::F32 => 4,
            xgr_dtype::F16 | xgr_dtype::Bf16 => 2,
        }
    }
}

/// Host-side arguments of an apply call, checked.
pub(crate) struct ApplyArgs {
    pub dtype: xgr_dtype,
    pub num_rows: usize,
    pub row_stride: usize,
    pub cols: usize,
    pub vocab_size: usize,
    pub bitmask_row_stride: usize,
    /// Elements of logits covered by `num_rows` rows (the last one needs only `cols`).
    pub logits_len: usize,
    /// Words of bitmask covered by `num_rows` rows (the last one needs only the words read).
    pub bitmask_len: usize,
}

/// Checks the arguments shared by the CPU and CUDA apply functions (pointers are checked for
/// NULL and alignment only).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_apply_args(
    logits: *const c_void,
    dtype: XgrDtypeArg,
    num_rows: usize,
    logits_row_stride: usize,
    logits_cols: usize,
    vocab_size: i32,
    bitmask: *const i32,
    bitmask_row_stride_words: usize,
    indices: *const i32,
    num_indices: usize,
) -> FfiResult<ApplyArgs> {
    let dtype = dtype.get()?;
    let vocab_size = usize::try_from(vocab_size)
        .map_err(|_| Failure::invalid(format!("`vocab_size` is {vocab_size} (must be >= 0)")))?;
    if logits_row_stride < logits_cols {
        return Err(Failure::invalid(format!(
            "`logits_row_stride` {logits_row_stride} is smaller than `logits_cols` {logits_cols}"
        )));
    }
    let mask_words = words(vocab_size.min(logits_cols));
    if bitmask_row_stride_words < mask_words {
        return Err(Failure::invalid(format!(
            "`bitmask_row_stride_words` {bitmask_row_stride_words} is smaller than a row ({mask_words} words for {} columns)",
            vocab_size.min(logits_cols)
        )));
    }
    let selected = if indices.is_null() {
        num_rows
    } else {
        num_indices
    };
    let too_big = || Failure::invalid("the logits or bitmask size overflows");
    let (logits_len, bitmask_len) = if num_rows == 0 {
        (0, 0)
    } else {
        let l = (num_rows - 1)
            .checked_mul(logits_row_stride)
            .and_then(|x| x.checked_add(logits_cols))
            .filter(|&x| {
                x.checked_mul(dtype.size())
                    .is_some_and(|b| b <= isize::MAX as usize)
            })
            .ok_or_else(too_big)?;
        let b = if mask_words == 0 {
            0
        } else {
            (num_rows - 1)
                .checked_mul(bitmask_row_stride_words)
                .and_then(|x| x.checked_add(mask_words))
                .filter(|&x| x <= isize::MAX as usize / 4)
                .ok_or_else(too_big)?
        };
        (l, b)
    };
    if selected > 0 && logits_cols > 0 {
        if logits.is_null() {
            return Err(Failure::null("logits"));
        }
        if !(logits as usize).is_multiple_of(dtype.size()) {
            return Err(Failure::invalid(format!(
                "`logits` is not aligned to {} bytes",
                dtype.size()
            )));
        }
        if mask_words > 0 {
            if bitmask.is_null() {
                return Err(Failure::null("bitmask"));
            }
            if !(bitmask as usize).is_multiple_of(4) {
                return Err(Failure::invalid("`bitmask` is not aligned to 4 bytes"));
            }
        }
    }
    if !indices.is_null() && !(indices as usize).is_multiple_of(4) {
        return Err(Failure::invalid("`indices` is not aligned to 4 bytes"));
    }
    if indices.is_null() && num_indices > 0 && num_indices != num_rows {
        return Err(Failure::invalid(format!(
            "`indices` is NULL but `num_indices` is {num_indices}"
        )));
    }
    Ok(ApplyArgs {
        dtype,
        num_rows,
        row_stride: logits_row_stride,
        cols: logits_cols,
        vocab_size,
        bitmask_row_stride: bitmask_row_stride_words,
        logits_len,
        bitmask_len,
    })
}

/// Words of one bitmask row for `vocab_size` tokens: `ceil(vocab_size / 32)`; 0 for a
/// negative `vocab_size`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_bitmask_words(vocab_size: i32) -> usize {
    usize::try_from(vocab_size).map_or(0, words)
}

/// Applies token bitmasks to logits in place, on the CPU. `logits` holds `num_rows` rows of
/// `logits_row_stride` elements of `dtype` (f16/bf16 as 16-bit patterns), of which the first
/// `logits_cols` are logits; `bitmask` holds rows of `bitmask_row_stride_words` int32 words
/// in the layout of `xgr_matcher_fill_next_token_bitmask`. For each selected row `r` (each
/// `indices[k]`, `k < num_indices`; or every row `0..num_rows` when `indices` is NULL, and then
/// `num_indices` must be 0 or `num_rows`), logits row `r` is masked with bitmask row `r`: each
/// column `j < vocab_size` whose bit is 0 becomes `-inf`, and each column `j >= vocab_size`
/// becomes `-inf` too. Other values are not touched. Nothing is copied or retained.
/// Thread-safe for disjoint logits.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`logits`/`bitmask` NULL while something would be
/// read or written), `XGR_ERR_INVALID_ARGUMENT` (bad dtype, negative `vocab_size`, a stride
/// smaller than a row, an index negative or >= `num_rows`, misaligned pointers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_apply_token_bitmask_cpu(
    logits: *mut c_void,
    dtype: XgrDtypeArg,
    num_rows: usize,
    logits_row_stride: usize,
    logits_cols: usize,
    vocab_size: i32,
    bitmask: *const i32,
    bitmask_row_stride_words: usize,
    indices: *const i32,
    num_indices: usize,
) -> xgr_status {
    guard(|| {
        let a = check_apply_args(
            logits,
            dtype,
            num_rows,
            logits_row_stride,
            logits_cols,
            vocab_size,
            bitmask,
            bitmask_row_stride_words,
            indices,
            num_indices,
        )?;
        let rows: Vec<usize>;
        let sel = if indices.is_null() {
            Rows::All(a.num_rows)
        } else {
            // SAFETY: `indices` has `num_indices` readable ints.
            let ix = unsafe { slice_in(indices, num_indices, "indices")? };
            rows = ix
                .iter()
                .map(|&r| {
                    usize::try_from(r)
                        .ok()
                        .filter(|&r| r < a.num_rows)
                        .ok_or_else(|| {
                            Failure::invalid(format!(
                                "`indices`: row {r} is out of range (num_rows {})",
                                a.num_rows
                            ))
                        })
                })
                .collect::<FfiResult<_>>()?;
            Rows::Indices(&rows)
        };
        let nothing = match sel {
            Rows::All(n) => n == 0,
            Rows::Indices(ix) => ix.is_empty(),
        };
        if nothing || a.cols == 0 {
            return Ok(());
        }
        let (l0, l1) = (
            logits as usize,
            logits as usize + a.logits_len * a.dtype.size(),
        );
        let (b0, b1) = (bitmask as usize, bitmask as usize + a.bitmask_len * 4);
        if a.bitmask_len > 0 && l0 < b1 && b0 < l1 {
            return Err(Failure::invalid("`logits` and `bitmask` overlap"));
        }
        // SAFETY: the caller gives `num_rows` rows of logits and bitmask as documented; sizes,
        // NULL, alignment and overlap were checked above.
        let bm = unsafe { slice_in(bitmask, a.bitmask_len, "bitmask")? };
        let l = match a.dtype {
            xgr_dtype::F32 => {
                Logits::F32(unsafe { slice_out(logits as *mut f32, a.logits_len, "logits")? })
            }
            xgr_dtype::F16 => {
                Logits::F16(unsafe { slice_out(logits as *mut u16, a.logits_len, "logits")? })
            }
            xgr_dtype::Bf16 => {
                Logits::Bf16(unsafe { slice_out(logits as *mut u16, a.logits_len, "logits")? })
            }
        };
        apply_token_bitmask_cpu(
            l,
            a.row_stride,
            a.cols,
            a.vocab_size,
            bm,
            a.bitmask_row_stride,
            sel,
        )?;
        Ok(())
    })
}
