//! Finding the NVIDIA driver at run time, and turning driver results into errors.
//!
//! Nothing about CUDA is linked: cudarc (`dynamic-loading`) opens `libcuda` on its first call,
//! and panics if it cannot. So [`probe`] first opens the library itself with `libloading` and
//! only then lets cudarc in, under `catch_unwind`: `cuInit`, the driver version (at least
//! [`MIN_DRIVER_VERSION`], CUDA 12.0, the version the cudarc bindings and the shipped PTX are
//! pinned to) and at least one device. The outcome is computed once per process.

use std::ffi::CStr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use cudarc::driver::sys;

/// The oldest driver API accepted: CUDA 12.0 (`cuda-12000` bindings; PTX ISA 8.0).
pub const MIN_DRIVER_VERSION: i32 = 12000;

/// Library names tried by the probe (the driver installs `libcuda.so.1`; `libcuda.so` is the
/// development symlink; `nvcuda.dll` on Windows). cudarc's own candidates include them all.
const DRIVER_LIBRARIES: &[&str] = &["libcuda.so.1", "libcuda.so", "nvcuda.dll"];

/// Why a CUDA call did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaError {
    /// No usable driver or device here.
    Unavailable(String),
    /// A driver call failed.
    Driver {
        /// The driver function.
        call: &'static str,
        /// Its `CUresult` code.
        code: i32,
        /// The code's name and description.
        message: String,
    },
}

impl std::fmt::Display for CudaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CudaError::Unavailable(m) => write!(f, "CUDA is not available: {m}"),
            CudaError::Driver {
                call,
                code,
                message,
            } => write!(f, "{call} failed: {message} (CUresult {code})"),
        }
    }
}

impl std::error::Error for CudaError {}

/// `Ok` when a driver of CUDA 12.0 or later and at least one device are present; computed on
/// the first call, then cached. Never panics.
pub fn probe() -> Result<(), CudaError> {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    STATE
        .get_or_init(probe_once)
        .clone()
        .map_err(CudaError::Unavailable)
}

fn probe_once() -> Result<(), String> {
    let found = DRIVER_LIBRARIES.iter().any(|name| {
        // SAFETY: loading the NVIDIA driver library runs its initialisers, which are safe to
        // run at any time; the handle is dropped at once (cudarc opens the library itself).
        unsafe { libloading::Library::new(*name) }.is_ok()
    });
    if !found {
        return Err("no NVIDIA driver library (libcuda.so.1) was found".into());
    }
    let r = panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        // SAFETY: `is_culib_present` only tries to open the library.
        if !unsafe { sys::is_culib_present() } {
            return Err("the NVIDIA driver library was found but cudarc cannot open it".into());
        }
        // SAFETY: plain driver calls with valid out pointers.
        unsafe {
            check("cuInit", sys::cuInit(0)).map_err(|e| e.to_string())?;
            let mut v = 0;
            check("cuDriverGetVersion", sys::cuDriverGetVersion(&mut v))
                .map_err(|e| e.to_string())?;
            if v < MIN_DRIVER_VERSION {
                return Err(format!(
                    "the driver supports CUDA {}.{}; xgr needs {}.{} or later",
                    v / 1000,
                    (v % 1000) / 10,
                    MIN_DRIVER_VERSION / 1000,
                    (MIN_DRIVER_VERSION % 1000) / 10
                ));
            }
            let mut n = 0;
            check("cuDeviceGetCount", sys::cuDeviceGetCount(&mut n)).map_err(|e| e.to_string())?;
            if n < 1 {
                return Err("the driver reports no CUDA device".into());
            }
        }
        Ok(())
    }));
    match r {
        Ok(r) => r,
        Err(_) => Err("loading the NVIDIA driver library failed (panic in cudarc)".into()),
    }
}

/// `Ok` for `CUDA_SUCCESS`, else a [`CudaError::Driver`] naming `call`.
pub(crate) fn check(call: &'static str, r: sys::CUresult) -> Result<(), CudaError> {
    if r == sys::CUresult::CUDA_SUCCESS {
        return Ok(());
    }
    let describe = |f: unsafe fn(sys::CUresult, *mut *const std::ffi::c_char) -> sys::CUresult| {
        let mut p: *const std::ffi::c_char = std::ptr::null();
        // SAFETY: the driver returns a static string or leaves `p` NULL.
        let ok = unsafe { f(r, &mut p) } == sys::CUresult::CUDA_SUCCESS && !p.is_null();
        // SAFETY: `p` is a NUL-terminated static string when the call succeeded.
        ok.then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    let name = describe(sys::cuGetErrorName).unwrap_or_else(|| "CUDA_ERROR_UNKNOWN".into());
    let message = match describe(sys::cuGetErrorString) {
        Some(s) => format!("{name}: {s}"),
        None => name,
    };
    Err(CudaError::Driver {
        call,
        code: r as i32,
        message,
    })
}
