//! The CUDA apply entry points. This build has no CUDA backend: `xgr_cuda_available()` is
//! false and `xgr_apply_token_bitmask_cuda` checks its host-side arguments, then reports
//! `XGR_ERR_CUDA_UNAVAILABLE`. The real kernel (loaded at run time, no link-time CUDA
//! dependency) is tracked separately; the CPU kernel is its oracle.

use std::ffi::c_void;

use super::bitmask::{XgrDtypeArg, check_apply_args};
use super::boundary::*;
use super::status::xgr_status;

/// Whether `xgr_apply_token_bitmask_cuda` can run here (a CUDA backend built in and a driver
/// present). Always false in this build: the CUDA backend is not implemented yet. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_cuda_available() -> bool {
    false
}

/// Applies token bitmasks to logits in place on a CUDA device, with the semantics of
/// `xgr_apply_token_bitmask_cpu` on device pointers (`logits`, `bitmask` and `indices` are
/// device memory), launched on `stream` (a `CUstream` / `cudaStream_t`; NULL = the default
/// stream), with no allocation and no synchronization.
///
/// In this build the CUDA backend is not implemented yet (it is tracked separately): after
/// checking the host-side arguments (dtype, vocab_size, strides, sizes, NULL and alignment of
/// the pointers) the call returns `XGR_ERR_CUDA_UNAVAILABLE`, also when no driver is present.
/// Thread-safe for disjoint logits.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (as for the CPU function,
/// except that index values, being device memory, are not read), `XGR_ERR_CUDA_UNAVAILABLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_apply_token_bitmask_cuda(
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
    stream: *mut c_void,
) -> xgr_status {
    let _ = stream;
    guard(|| {
        check_apply_args(
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
        // Index values live on the device: nothing more to check on the host.
        Err(Failure::new(
            xgr_status::XGR_ERR_CUDA_UNAVAILABLE,
            "CUDA is not available: this build of xgr has no CUDA backend yet \
             (use xgr_apply_token_bitmask_cpu)",
        ))
    })
}
