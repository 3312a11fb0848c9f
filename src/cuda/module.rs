//! The kernel module, loaded once per CUDA context and cached.
//!
//! The PTX built ahead (`kernel.ptx`, compute_70) is handed to `cuModuleLoadData` on the first
//! apply in a context; the driver JIT-compiles it for the device (and keeps the result in its
//! own disk cache). The cache is keyed by the context's unique id (`cuCtxGetId`), not by its
//! address, so a context destroyed and another created at the same address never sees stale
//! functions. Lookups take a read lock; a miss loads under the write lock, so each context
//! loads the module exactly once however many threads race. Modules live as long as their
//! context (a destroyed context unloads its modules; its entry here is never used again).
//!
//! The first apply in a context loads the module, which is not a stream operation and may be
//! refused inside CUDA graph capture: engines call once before capturing (a warm-up).

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys;
use parking_lot::RwLock;

use super::driver::{CudaError, check};

/// The PTX, NUL-terminated for `cuModuleLoadData`.
static PTX: &str = concat!(include_str!("kernel.ptx"), "\0");

/// Names of the kernels in `kernel.ptx`, indexed by [`Kernel`].
const NAMES: [&CStr; 4] = [
    c"xgr_apply_bitmask_b32_vec",
    c"xgr_apply_bitmask_b32_scalar",
    c"xgr_apply_bitmask_b16_vec",
    c"xgr_apply_bitmask_b16_scalar",
];

/// One of the four kernels: element size (4 or 2 bytes) x 16-byte vector stores or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    B32Vec = 0,
    B32Scalar = 1,
    B16Vec = 2,
    B16Scalar = 3,
}

/// The functions of the module loaded in one context, and that context's device facts.
pub(crate) struct Kernels {
    functions: [sys::CUfunction; 4],
    /// Streaming multiprocessors of the context's device.
    pub sm_count: u32,
}

// SAFETY: `CUfunction` handles are plain driver handles, usable from any thread that has their
// context current; they are never freed while the context lives.
unsafe impl Send for Kernels {}
// SAFETY: as above; the struct is immutable once built.
unsafe impl Sync for Kernels {}

impl Kernels {
    pub fn function(&self, k: Kernel) -> sys::CUfunction {
        self.functions[k as usize]
    }
}

fn cache() -> &'static RwLock<HashMap<u64, Arc<Kernels>>> {
    static CACHE: OnceLock<RwLock<HashMap<u64, Arc<Kernels>>>> = OnceLock::new();
    CACHE.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The kernels of `ctx`, which must be current on the calling thread; loaded on first use.
///
/// # Safety
/// `ctx` is a live context, current on this thread.
pub(crate) unsafe fn kernels_for(ctx: sys::CUcontext) -> Result<Arc<Kernels>, CudaError> {
    let mut id = 0u64;
    // SAFETY: `ctx` is live; `id` is a valid out pointer.
    check("cuCtxGetId", unsafe { sys::cuCtxGetId(ctx, &mut id) })?;
    if let Some(k) = cache().read().get(&id) {
        return Ok(k.clone());
    }
    let mut w = cache().write();
    if let Some(k) = w.get(&id) {
        return Ok(k.clone());
    }
    // SAFETY: `ctx` is current (the caller's contract).
    let k = Arc::new(unsafe { load()? });
    w.insert(id, k.clone());
    Ok(k)
}

/// Loads the module into the current context and resolves its functions.
unsafe fn load() -> Result<Kernels, CudaError> {
    let mut module: sys::CUmodule = std::ptr::null_mut();
    // SAFETY: `PTX` is a NUL-terminated PTX image; `module` is a valid out pointer.
    check("cuModuleLoadData", unsafe {
        sys::cuModuleLoadData(&mut module, PTX.as_ptr().cast())
    })?;
    let mut functions = [std::ptr::null_mut(); 4];
    for (f, name) in functions.iter_mut().zip(NAMES) {
        // SAFETY: `module` was just loaded; `name` is NUL-terminated.
        check("cuModuleGetFunction", unsafe {
            sys::cuModuleGetFunction(f, module, name.as_ptr())
        })?;
    }
    let mut dev: sys::CUdevice = 0;
    // SAFETY: valid out pointers; a context is current.
    check("cuCtxGetDevice", unsafe { sys::cuCtxGetDevice(&mut dev) })?;
    let mut sms = 0;
    check("cuDeviceGetAttribute", unsafe {
        sys::cuDeviceGetAttribute(
            &mut sms,
            sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            dev,
        )
    })?;
    Ok(Kernels {
        functions,
        sm_count: sms.max(1) as u32,
    })
}
