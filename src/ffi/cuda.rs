//! The CUDA apply entry points: `xgr_cuda_available`, `xgr_apply_token_bitmask_cuda`. The
//! kernel, its loading and its launch live in `crate::cuda`; here the host-side arguments are
//! checked (as for the CPU function) and results become statuses. Without an NVIDIA driver
//! both report unavailability (false, `XGR_ERR_CUDA_UNAVAILABLE`) and never panic.

use std::ffi::c_void;

use super::bitmask::{XgrDtypeArg, check_apply_args, xgr_dtype};
use super::boundary::*;
use super::status::xgr_status;
use crate::bitmask::{BF16_NEG_INF, F16_NEG_INF};
use crate::cuda::{self, CudaError, DeviceApply};

impl From<CudaError> for Failure {
    fn from(e: CudaError) -> Failure {
        let status = match e {
            CudaError::Unavailable(_) => xgr_status::XGR_ERR_CUDA_UNAVAILABLE,
            CudaError::Driver { .. } => xgr_status::XGR_ERR_CUDA,
        };
        Failure::new(status, e.to_string())
    }
}

/// Whether `xgr_apply_token_bitmask_cuda` can run here: the NVIDIA driver library is found
/// (opened at run time; nothing about CUDA is linked), it supports CUDA 12.0 or later, and it
/// reports at least one device. Probed on the first call, then cached for the process. Never
/// fails (false on any problem; the reason is not recorded). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_cuda_available() -> bool {
    guard_or(false, || Ok(cuda::available()))
}

/// Applies token bitmasks to logits in place on a CUDA device, with the semantics of
/// `xgr_apply_token_bitmask_cpu` on device pointers (`logits`, `bitmask` and `indices` are
/// device memory), launched on `stream` (a `CUstream` / `cudaStream_t`; NULL = the default
/// stream), with no allocation and no synchronization: the call returns once the kernel is
/// queued, and it can be captured in a CUDA graph (make one call in the context before
/// capturing: the first loads the kernel module). The stream's context is used (for the NULL
/// stream, the current context, else the one owning `logits`). Index values, being device
/// memory, are not read on the host: rows whose index is negative or >= `num_rows` are
/// skipped by the kernel. The pointers must stay valid until the kernel has run. The PTX is
/// JIT-compiled by the driver on first use in each context (compute_70: Volta or later).
/// Thread-safe for disjoint logits.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (as for the CPU function:
/// dtype, vocab_size, strides, sizes, NULL and alignment of the pointers; checked before the
/// driver is looked for), `XGR_ERR_CUDA_UNAVAILABLE` (no driver of CUDA 12.0 or later, or no
/// device), `XGR_ERR_CUDA` (a driver call failed; the message names it and its `CUresult`).
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
        // Index values live on the device: nothing more to check on the host.
        let d = DeviceApply {
            logits: logits as u64,
            elem_bytes: a.dtype.size(),
            neg_inf: match a.dtype {
                xgr_dtype::F32 => f32::NEG_INFINITY.to_bits(),
                xgr_dtype::F16 => F16_NEG_INF as u32,
                xgr_dtype::Bf16 => BF16_NEG_INF as u32,
            },
            num_rows: a.num_rows,
            row_stride: a.row_stride,
            cols: a.cols,
            vocab_size: a.vocab_size,
            bitmask: bitmask as u64,
            bitmask_row_stride: a.bitmask_row_stride,
            indices: indices as u64,
            num_indices: if indices.is_null() { 0 } else { num_indices },
        };
        // SAFETY: the caller gives device memory as documented; host-side checks are done.
        unsafe { cuda::apply_token_bitmask_cuda(&d, stream) }?;
        Ok(())
    })
}
