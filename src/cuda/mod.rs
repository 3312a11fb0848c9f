//! The CUDA apply kernel: token bitmasks applied to logits in device memory, on the caller's
//! stream.
//!
//! Nothing about CUDA is needed to build, link or test xgr: cudarc is used with
//! `dynamic-loading` (the driver library is opened at run time) and its bindings are pinned
//! to CUDA 12.0 (`cuda-12000`), so no toolkit is looked for at build time. At run time only the
//! NVIDIA driver is needed: the kernel (`kernel.cu`) ships as PTX built ahead for compute_70
//! (`kernel.ptx`, rebuilt by `scripts/build-ptx.sh`, checked current by a test), which the
//! driver JIT-compiles for the device on first use.
//!
//! - [`driver`]: [`available`] / [`probe`] (opens `libcuda` before cudarc may panic on its
//!   absence) and [`CudaError`].
//! - `module`: the module, loaded once per context, cached, thread-safe.
//! - [`launch`]: context, kernel and grid choice; [`apply_token_bitmask_cuda`].
//!
//! Semantics are those of the CPU kernel ([`crate::bitmask`], the oracle of the GPU tests):
//! for each selected row, each column `j < vocab_size` whose bit is 0, and each column at or
//! past `vocab_size`, becomes `-inf` (f32, f16, bf16 by bit pattern). Launches allocate
//! nothing and never synchronise, so they can be captured in a CUDA graph (after a first call
//! in the context has loaded the module). Row indices out of range, which the device cannot
//! report, are skipped.
//!
//! ```no_run
//! use xgr::cuda::{DeviceApply, apply_token_bitmask_cuda, available};
//! if available() {
//!     let a = DeviceApply {
//!         logits: 0x7f00_0000_0000, // device addresses from the engine
//!         elem_bytes: 4, neg_inf: 0xFF80_0000,
//!         num_rows: 1, row_stride: 128_256, cols: 128_256, vocab_size: 128_256,
//!         bitmask: 0x7f00_1000_0000, bitmask_row_stride: 4008,
//!         indices: 0, num_indices: 0,
//!     };
//!     unsafe { apply_token_bitmask_cuda(&a, std::ptr::null_mut()) }.unwrap();
//! }
//! ```

pub mod driver;
pub mod launch;
pub(crate) mod module;

#[cfg(test)]
mod tests;

pub use driver::{CudaError, MIN_DRIVER_VERSION, probe};
pub use launch::{DeviceApply, apply_token_bitmask_cuda};

/// Whether CUDA applies can run here: a driver of CUDA 12.0 or later with at least one device.
/// Probed once per process; never panics.
pub fn available() -> bool {
    probe().is_ok()
}
