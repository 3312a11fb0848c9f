//! Choosing the context, the kernel and the grid, and launching on the caller's stream.
//!
//! The context is the stream's (`cuStreamGetCtx`); for the NULL (or legacy / per-thread)
//! stream it is the thread's current context, and when none is current, the context that owns
//! the logits allocation (or its device's primary context, which the CUDA runtime and PyTorch
//! use). A context other than the current one is pushed for the launch and popped after.
//!
//! Grid: 256 threads per block, one 16-byte chunk of a row per thread and iteration;
//! `blockIdx.y` walks the selected rows, `blockIdx.x` the chunks of a row. The grid aims at 8
//! blocks (2,048 threads) per multiprocessor of the device: rows first (up to that many, and
//! 65,535), then as many column blocks as fill the rest, never more than a row has chunks.
//! Kernels loop, so any shape is covered by any grid.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::OnceLock;

use cudarc::driver::sys;
use parking_lot::Mutex;

use super::driver::{CudaError, check, probe};
use super::module::{Kernel, kernels_for};

/// Threads per block (the kernels declare `__launch_bounds__(256)`).
pub(crate) const BLOCK: u32 = 256;
/// Blocks per multiprocessor the grid aims at.
pub(crate) const BLOCKS_PER_SM: u64 = 8;
/// The largest `gridDim.y`.
const MAX_GRID_Y: u64 = 65_535;

/// One apply on device memory. The caller has checked the host-side arguments (see
/// `xgr_apply_token_bitmask_cuda`): strides at least a row, sizes that fit, `logits` aligned to
/// its element, `bitmask` to 4 bytes, `indices` (device `int32`, or 0) to 4 bytes.
#[derive(Debug, Clone, Copy)]
pub struct DeviceApply {
    /// Device address of the logits.
    pub logits: u64,
    /// Bytes per logit: 4 (f32) or 2 (f16, bf16).
    pub elem_bytes: usize,
    /// The `-inf` bit pattern of the dtype (`0xFF80_0000`, `0xFC00`, `0xFF80`).
    pub neg_inf: u32,
    /// Rows of logits (and of the bitmask).
    pub num_rows: usize,
    /// Elements between the starts of two logits rows.
    pub row_stride: usize,
    /// Logits per row.
    pub cols: usize,
    /// Tokens covered by the bitmask; columns at or past it become `-inf`.
    pub vocab_size: usize,
    /// Device address of the bitmask (`int32` words).
    pub bitmask: u64,
    /// Words between the starts of two bitmask rows.
    pub bitmask_row_stride: usize,
    /// Device address of `num_indices` `int32` row indices, or 0 for rows `0..num_rows`.
    pub indices: u64,
    /// Entries of `indices`.
    pub num_indices: usize,
}

/// The grid `(x, y)` for `selected` rows of `cols` elements of `elem_bytes` on a device of
/// `sm_count` multiprocessors.
pub(crate) fn grid(selected: usize, cols: usize, elem_bytes: usize, sm_count: u32) -> (u32, u32) {
    let chunk = (16 / elem_bytes) as u64;
    let chunks = (cols as u64).div_ceil(chunk);
    let x_needed = chunks.div_ceil(BLOCK as u64).max(1);
    let target = (sm_count as u64 * BLOCKS_PER_SM).max(1);
    let y = (selected as u64).clamp(1, target.min(MAX_GRID_Y));
    let x = (target / y).clamp(1, x_needed);
    (x as u32, y as u32)
}

/// Whether the 16-byte vector kernel may run: base address and row stride in bytes both
/// multiples of 16.
pub(crate) fn vector_ok(logits: u64, row_stride: usize, elem_bytes: usize) -> bool {
    logits.is_multiple_of(16) && (row_stride as u64 * elem_bytes as u64).is_multiple_of(16)
}

/// Restores the previous current context when a pushed one is popped.
struct Pushed(bool);

impl Drop for Pushed {
    fn drop(&mut self) {
        if self.0 {
            let mut c = std::ptr::null_mut();
            // SAFETY: we pushed a context on this thread; popping restores the previous one.
            let _ = unsafe { sys::cuCtxPopCurrent_v2(&mut c) };
        }
    }
}

fn is_special_stream(s: sys::CUstream) -> bool {
    // NULL, CU_STREAM_LEGACY (0x1), CU_STREAM_PER_THREAD (0x2).
    (s as usize) <= 2
}

/// The context to launch in (see the module documentation).
unsafe fn context_for(a: &DeviceApply, stream: sys::CUstream) -> Result<sys::CUcontext, CudaError> {
    let mut ctx: sys::CUcontext = std::ptr::null_mut();
    if !is_special_stream(stream) {
        // SAFETY: `stream` is a live stream (the caller's contract); valid out pointer.
        check("cuStreamGetCtx", unsafe {
            sys::cuStreamGetCtx(stream, &mut ctx)
        })?;
        return Ok(ctx);
    }
    // SAFETY: valid out pointer.
    check("cuCtxGetCurrent", unsafe { sys::cuCtxGetCurrent(&mut ctx) })?;
    if !ctx.is_null() {
        return Ok(ctx);
    }
    // No current context: the allocation's context, else its device's primary context.
    // SAFETY: valid out pointer of the attribute's type (CUcontext).
    let r = unsafe {
        sys::cuPointerGetAttribute(
            (&mut ctx as *mut sys::CUcontext).cast(),
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_CONTEXT,
            a.logits,
        )
    };
    if r == sys::CUresult::CUDA_SUCCESS && !ctx.is_null() {
        return Ok(ctx);
    }
    let mut ordinal: i32 = -1;
    // SAFETY: valid out pointer of the attribute's type (int).
    check("cuPointerGetAttribute(DEVICE_ORDINAL)", unsafe {
        sys::cuPointerGetAttribute(
            (&mut ordinal as *mut i32).cast(),
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
            a.logits,
        )
    })?;
    primary_context(ordinal)
}

/// The primary context of device `ordinal`, retained once for the life of the process (as the
/// CUDA runtime does).
fn primary_context(ordinal: i32) -> Result<sys::CUcontext, CudaError> {
    static RETAINED: OnceLock<Mutex<HashMap<i32, usize>>> = OnceLock::new();
    let mut m = RETAINED.get_or_init(|| Mutex::new(HashMap::new())).lock();
    if let Some(&c) = m.get(&ordinal) {
        return Ok(c as sys::CUcontext);
    }
    let mut dev: sys::CUdevice = 0;
    let mut ctx: sys::CUcontext = std::ptr::null_mut();
    // SAFETY: valid out pointers.
    unsafe {
        check("cuDeviceGet", sys::cuDeviceGet(&mut dev, ordinal))?;
        check(
            "cuDevicePrimaryCtxRetain",
            sys::cuDevicePrimaryCtxRetain(&mut ctx, dev),
        )?;
    }
    m.insert(ordinal, ctx as usize);
    Ok(ctx)
}

/// Launches the apply kernel for `a` on `stream` (a `CUstream`; NULL = the default stream).
/// Asynchronous: no allocation, no synchronisation; errors of the kernel itself surface on the
/// stream later, as for any launch.
///
/// # Safety
/// `a` describes device memory that is valid for the whole kernel (see [`DeviceApply`]);
/// `stream` is NULL or a live stream.
pub unsafe fn apply_token_bitmask_cuda(
    a: &DeviceApply,
    stream: *mut c_void,
) -> Result<(), CudaError> {
    probe()?;
    let selected = if a.indices != 0 {
        a.num_indices
    } else {
        a.num_rows
    };
    if selected == 0 || a.cols == 0 {
        return Ok(());
    }
    let stream = stream as sys::CUstream;
    // SAFETY: the caller's contract.
    let ctx = unsafe { context_for(a, stream)? };
    let mut current = std::ptr::null_mut();
    // SAFETY: valid out pointer.
    check("cuCtxGetCurrent", unsafe {
        sys::cuCtxGetCurrent(&mut current)
    })?;
    let _pushed = if current != ctx {
        // SAFETY: `ctx` is live (from the stream, the allocation or a retained primary).
        check("cuCtxPushCurrent", unsafe { sys::cuCtxPushCurrent_v2(ctx) })?;
        Pushed(true)
    } else {
        Pushed(false)
    };
    // SAFETY: `ctx` is current now.
    let kernels = unsafe { kernels_for(ctx)? };
    let vec = vector_ok(a.logits, a.row_stride, a.elem_bytes);
    let kernel = match (a.elem_bytes, vec) {
        (4, true) => Kernel::B32Vec,
        (4, false) => Kernel::B32Scalar,
        (_, true) => Kernel::B16Vec,
        (_, false) => Kernel::B16Scalar,
    };
    let (gx, gy) = grid(selected, a.cols, a.elem_bytes, kernels.sm_count);
    // Kernel parameters, in the order of kernel.cu's XGR_KERNEL.
    let mut logits = a.logits;
    let mut bitmask = a.bitmask;
    let mut indices = a.indices;
    let mut num_rows = a.num_rows as i64;
    let mut num_selected = selected as i64;
    let mut row_stride = a.row_stride as i64;
    let mut cols = a.cols as i64;
    let mut masked_cols = a.vocab_size.min(a.cols) as i64;
    let mut bitmask_row_stride = a.bitmask_row_stride as i64;
    let mut neg_inf = a.neg_inf;
    let mut params: [*mut c_void; 10] = [
        (&mut logits as *mut u64).cast(),
        (&mut bitmask as *mut u64).cast(),
        (&mut indices as *mut u64).cast(),
        (&mut num_rows as *mut i64).cast(),
        (&mut num_selected as *mut i64).cast(),
        (&mut row_stride as *mut i64).cast(),
        (&mut cols as *mut i64).cast(),
        (&mut masked_cols as *mut i64).cast(),
        (&mut bitmask_row_stride as *mut i64).cast(),
        (&mut neg_inf as *mut u32).cast(),
    ];
    // SAFETY: the function belongs to the current context; `params` match its signature and
    // outlive the call (the driver copies them); `stream` belongs to the context.
    check("cuLaunchKernel", unsafe {
        sys::cuLaunchKernel(
            kernels.function(kernel),
            gx,
            gy,
            1,
            BLOCK,
            1,
            1,
            0,
            stream,
            params.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    })
}
