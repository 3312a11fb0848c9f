//! The boundary between C and Rust: the panic guard, the thread-local last error, and the
//! checks and casts every exported function applies to the raw pointers it receives.
//!
//! Every exported function runs its body inside [`guard`] (functions returning a status) or
//! [`guard_or`] (functions returning a value, with a neutral fallback). The body returns
//! `Result<_, Failure>`; a failure's message becomes the thread's last error and its status
//! is returned. A panic is caught, its message (with the source location) becomes the last
//! error, and `XGR_ERR_PANIC` (or the fallback) is returned: no unwinding crosses into C.
//!
//! Panics inside a guard print nothing: on first use the library chains a panic hook that
//! stays silent for panics raised on a thread that is inside a guard, and defers to the
//! previously installed hook for every other panic of the process.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Once};

use super::status::xgr_status;

/// A failure to report to C: a status and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: xgr_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: xgr_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
    /// `XGR_ERR_NULL_ARGUMENT` naming the parameter.
    pub fn null(param: &str) -> Failure {
        Failure::new(
            xgr_status::XGR_ERR_NULL_ARGUMENT,
            format!("`{param}` is NULL"),
        )
    }
    /// `XGR_ERR_INVALID_ARGUMENT`.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(xgr_status::XGR_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Failure {
        Failure::new(xgr_status::of_kind(e.kind()), e.message())
    }
}

pub(crate) type FfiResult<T> = Result<T, Failure>;

thread_local! {
    /// Message of the last failure on this thread.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Nesting depth of guards on this thread (the panic hook is silent when > 0).
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Location of the last panic caught on this thread, recorded by the hook.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records `message` as the calling thread's last error.
pub(crate) fn set_last_error(message: &str) {
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.clear();
            e.extend_from_slice(message.as_bytes());
        }
    });
}

/// Runs `f` on the calling thread's last error message (empty when there is none).
pub(crate) fn with_last_error<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let mut f = Some(f);
    let r = LAST_ERROR.try_with(|e| match e.try_borrow() {
        Ok(e) => f.take().map(|f| f(&e)),
        Err(_) => None,
    });
    match (r, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(&[]),
        (_, None) => unreachable_fallback(),
    }
}

#[cold]
fn unreachable_fallback<R>() -> R {
    // `f` was taken only when it ran and returned Some.
    unreachable!("last-error callback ran without a result")
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = GUARD_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if inside {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let _ = PANIC_LOCATION.try_with(|p| {
                    if let Ok(mut p) = p.try_borrow_mut() {
                        *p = loc;
                    }
                });
            } else {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    };
    let loc = PANIC_LOCATION
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
        .ok()
        .flatten();
    match loc {
        Some(loc) => format!("internal error (panic at {loc}): {what}"),
        None => format!("internal error (panic): {what}"),
    }
}

/// Runs `f`, catching any panic quietly; a panic becomes `Err(message)`.
pub(crate) fn catch_quiet<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    let _ = GUARD_DEPTH.try_with(|d| d.set(d.get().saturating_add(1)));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    let _ = GUARD_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    r.map_err(|payload| {
        let msg = panic_message(&*payload);
        // A payload whose destructor panics must not escape either.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
        msg
    })
}

/// The guard of every exported function returning a status.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult<()>) -> xgr_status {
    match catch_quiet(f) {
        Ok(Ok(())) => xgr_status::XGR_OK,
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fail.status
        }
        Err(msg) => {
            set_last_error(&msg);
            xgr_status::XGR_ERR_PANIC
        }
    }
}

/// The guard of exported functions returning a value: on failure or panic the message becomes
/// the last error and `fallback` is returned.
pub(crate) fn guard_or<T>(fallback: T, f: impl FnOnce() -> FfiResult<T>) -> T {
    match catch_quiet(f) {
        Ok(Ok(v)) => v,
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fallback
        }
        Err(msg) => {
            set_last_error(&msg);
            fallback
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handles.

/// An opaque C handle backed by an `Arc<Target>` (shareable, reference-counted).
///
/// # Safety
/// Implementors must be zero-sized opaque marker types that are only ever used behind pointers
/// produced by [`arc_into_raw`].
pub(crate) unsafe trait ArcHandle {
    type Target: Send + Sync;
}

/// An opaque C handle backed by a `Box<Target>` (owned by one caller at a time).
///
/// # Safety
/// As for [`ArcHandle`], with pointers produced by [`box_into_raw`].
pub(crate) unsafe trait BoxHandle {
    type Target: Send;
}

pub(crate) fn arc_into_raw<H: ArcHandle>(a: Arc<H::Target>) -> *mut H {
    Arc::into_raw(a) as *mut H
}

/// Borrows the object behind an Arc handle.
///
/// # Safety
/// `p` is NULL or a live handle of type `H`.
pub(crate) unsafe fn arc_ref<'a, H: ArcHandle>(
    p: *const H,
    param: &str,
) -> FfiResult<&'a H::Target> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    // SAFETY: a live handle points at the Arc's payload.
    Ok(unsafe { &*(p as *const H::Target) })
}

/// A new `Arc` to the object behind an Arc handle (one more reference).
///
/// # Safety
/// As for [`arc_ref`].
pub(crate) unsafe fn arc_clone<H: ArcHandle>(
    p: *const H,
    param: &str,
) -> FfiResult<Arc<H::Target>> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    let p = p as *const H::Target;
    // SAFETY: `p` came from `Arc::into_raw` and its reference is still held by the caller.
    unsafe {
        Arc::increment_strong_count(p);
        Ok(Arc::from_raw(p))
    }
}

/// Drops one reference of an Arc handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a live handle whose reference the caller gives up.
pub(crate) unsafe fn arc_free<H: ArcHandle>(p: *mut H) {
    if !p.is_null() {
        // SAFETY: see above.
        drop(unsafe { Arc::from_raw(p as *const H::Target) });
    }
}

pub(crate) fn box_into_raw<H: BoxHandle>(b: Box<H::Target>) -> *mut H {
    Box::into_raw(b) as *mut H
}

/// Borrows the object behind a Box handle.
///
/// # Safety
/// `p` is NULL or a live handle of type `H` not used mutably elsewhere for `'a`.
pub(crate) unsafe fn box_ref<'a, H: BoxHandle>(
    p: *const H,
    param: &str,
) -> FfiResult<&'a H::Target> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    // SAFETY: a live handle points at the boxed object.
    Ok(unsafe { &*(p as *const H::Target) })
}

/// Mutably borrows the object behind a Box handle.
///
/// # Safety
/// `p` is NULL or a live handle of type `H` used by no one else for `'a`.
pub(crate) unsafe fn box_mut<'a, H: BoxHandle>(
    p: *mut H,
    param: &str,
) -> FfiResult<&'a mut H::Target> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    // SAFETY: see above.
    Ok(unsafe { &mut *(p as *mut H::Target) })
}

/// Frees a Box handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a live handle the caller gives up.
pub(crate) unsafe fn box_free<H: BoxHandle>(p: *mut H) {
    if !p.is_null() {
        // SAFETY: see above.
        drop(unsafe { Box::from_raw(p as *mut H::Target) });
    }
}

// ---------------------------------------------------------------------------------------------
// Pointers, slices, strings.

/// Checks an out pointer before any work is done; write through it with `ptr::write` on
/// success only.
pub(crate) fn check_out<T>(p: *mut T, param: &str) -> FfiResult<*mut T> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::invalid(format!("`{param}` is not aligned")));
    }
    Ok(p)
}

fn check_slice<T>(p: *const T, len: usize, param: &str) -> FfiResult<()> {
    if p.is_null() {
        return Err(Failure::null(param));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Failure::invalid(format!(
            "`{param}` is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    if len
        .checked_mul(std::mem::size_of::<T>().max(1))
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!(
            "`{param}`: length {len} is too large"
        )));
    }
    Ok(())
}

/// A borrowed input slice; `(NULL, 0)` is the empty slice.
///
/// # Safety
/// Unless `len` is 0, `p` points at `len` readable, initialized `T`s for `'a`.
pub(crate) unsafe fn slice_in<'a, T>(p: *const T, len: usize, param: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_slice(p, len, param)?;
    // SAFETY: checked non-NULL, aligned and sized; validity is the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A borrowed output slice; `(NULL, 0)` is the empty slice.
///
/// # Safety
/// Unless `len` is 0, `p` points at `len` writable `T`s used by no one else for `'a`
/// (`T` is a plain integer type here, so any bit pattern is valid).
pub(crate) unsafe fn slice_out<'a, T>(
    p: *mut T,
    len: usize,
    param: &str,
) -> FfiResult<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_slice(p, len, param)?;
    // SAFETY: as for `slice_in`.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A borrowed UTF-8 string given as `(ptr, len)`; `(NULL, 0)` is the empty string.
///
/// # Safety
/// As for [`slice_in`].
pub(crate) unsafe fn str_in<'a>(p: *const c_char, len: usize, param: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded.
    let bytes = unsafe { slice_in(p as *const u8, len, param)? };
    utf8(bytes, param)
}

fn utf8<'a>(bytes: &'a [u8], param: &str) -> FfiResult<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::invalid(format!(
            "`{param}` is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// An optional NUL-terminated UTF-8 string (NULL gives `None`).
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string readable for `'a`.
pub(crate) unsafe fn cstr_opt<'a>(p: *const c_char, param: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    let c = unsafe { CStr::from_ptr(p) };
    utf8(c.to_bytes(), param).map(Some)
}

/// Writes `s` plus a NUL to `(buf, cap)`. On success `*len_out = s.len()`; when `cap` is too
/// small (`cap < s.len() + 1`) nothing is written to `buf`, `*len_out = s.len() + 1` (the
/// capacity needed) and `XGR_ERR_BUFFER_TOO_SMALL` is returned.
///
/// # Safety
/// `buf` is NULL or has `cap` writable bytes; `len_out` was checked with [`check_out`].
pub(crate) unsafe fn write_str_out(
    s: &[u8],
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
    what: &str,
) -> FfiResult<()> {
    if buf.is_null() && cap > 0 {
        return Err(Failure::null("buf"));
    }
    let need = s.len() + 1;
    if cap < need {
        // SAFETY: `len_out` was checked non-NULL and aligned.
        unsafe { len_out.write(need) };
        return Err(Failure::new(
            xgr_status::XGR_ERR_BUFFER_TOO_SMALL,
            format!(
                "buffer of {cap} bytes is too small for {what}: {need} bytes needed (with the NUL)"
            ),
        ));
    }
    // SAFETY: forwarded; `cap >= need`.
    let out = unsafe { slice_out(buf as *mut u8, need, "buf")? };
    out[..s.len()].copy_from_slice(s);
    out[s.len()] = 0;
    // SAFETY: as above.
    unsafe { len_out.write(s.len()) };
    Ok(())
}

/// A token id from C: non-negative and below `vocab_size`.
pub(crate) fn token_id(id: i32, vocab_size: usize, param: &str) -> FfiResult<u32> {
    if id < 0 || id as usize >= vocab_size {
        return Err(Failure::invalid(format!(
            "`{param}`: token id {id} is out of range (vocab_size {vocab_size})"
        )));
    }
    Ok(id as u32)
}

/// Token ids from C (all non-negative; range against the vocabulary is checked by the caller
/// that knows it).
pub(crate) fn token_ids(ids: &[i32], param: &str) -> FfiResult<Vec<u32>> {
    ids.iter()
        .map(|&id| {
            u32::try_from(id)
                .map_err(|_| Failure::invalid(format!("`{param}`: token id {id} is negative")))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Options structs.

/// A `#[repr(C)]` options struct whose first field is `size_t struct_size`.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with a `usize` field, and every field is an integer,
/// a raw pointer or a `bool` listed in `BOOL_FIELDS` (so any bytes are valid once bools are
/// normalized).
pub(crate) unsafe trait OptionsStruct: Copy {
    /// Byte offsets of the `bool` fields.
    const BOOL_FIELDS: &'static [usize];
    /// The defaults (what `xgr_*_options_default()` returns).
    fn defaults() -> Self;
}

/// Reads an options struct honouring `struct_size`: NULL gives the defaults; a smaller (older)
/// struct is read up to its size and the rest keeps the defaults; a larger (newer) struct is
/// read up to the fields this library knows.
///
/// # Safety
/// `p` is NULL or points at `struct_size` readable bytes (read from its first field).
pub(crate) unsafe fn read_options<T: OptionsStruct>(p: *const T, param: &str) -> FfiResult<T> {
    if p.is_null() {
        return Ok(T::defaults());
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<usize>()) {
        return Err(Failure::invalid(format!("`{param}` is not aligned")));
    }
    // SAFETY: the struct starts with a readable, aligned `size_t`.
    let size = unsafe { (p as *const usize).read() };
    let min = std::mem::size_of::<usize>();
    if size < min {
        return Err(Failure::invalid(format!(
            "`{param}->struct_size` is {size}, smaller than any version of the struct \
             (initialise it with the matching _options_default())"
        )));
    }
    let n = size.min(std::mem::size_of::<T>());
    let mut out = std::mem::MaybeUninit::new(T::defaults());
    // SAFETY: `n` bytes are readable at `p` and fit in `out`; every byte pattern is valid for
    // the integer and pointer fields, and bool fields are normalized before `assume_init`.
    unsafe {
        std::ptr::copy_nonoverlapping(p as *const u8, out.as_mut_ptr() as *mut u8, n);
        for &off in T::BOOL_FIELDS {
            let b = (out.as_mut_ptr() as *mut u8).add(off);
            if *b > 1 {
                *b = 1;
            }
        }
        Ok(out.assume_init())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        with_last_error(|m| String::from_utf8_lossy(m).into_owned())
    }

    #[test]
    fn failures_become_status_and_message() {
        let s = guard(|| Err(Failure::invalid("bad size 7")));
        assert_eq!(s, xgr_status::XGR_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error(), "bad size 7");
        let e = crate::Error::new(crate::ErrorKind::Rollback, "too far");
        assert_eq!(guard(|| Err(e.into())), xgr_status::XGR_ERR_ROLLBACK);
        assert_eq!(guard(|| Ok(())), xgr_status::XGR_OK);
        assert_eq!(last_error(), "too far", "success keeps the last error");
    }

    #[test]
    fn panics_are_caught_with_their_message_and_location() {
        let s = guard(|| panic!("boom {}", 42));
        assert_eq!(s, xgr_status::XGR_ERR_PANIC);
        let msg = last_error();
        assert!(msg.contains("boom 42"), "{msg}");
        assert!(msg.contains("boundary.rs"), "{msg}");
        let v: i32 = guard_or(-1, || {
            let v: Vec<i32> = Vec::new();
            Ok(v[3])
        });
        assert_eq!(v, -1);
        assert!(last_error().contains("index out of bounds"));
        // Panics outside a guard still reach the previous hook (and unwind as usual).
        assert!(std::panic::catch_unwind(|| panic!("outside")).is_err());
    }

    #[test]
    fn options_honour_struct_size() {
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Opts {
            struct_size: usize,
            a: i32,
            flag: bool,
            b: i64,
        }
        // SAFETY: repr(C), integers plus one listed bool.
        unsafe impl OptionsStruct for Opts {
            const BOOL_FIELDS: &'static [usize] = &[std::mem::offset_of!(Opts, flag)];
            fn defaults() -> Self {
                Opts {
                    struct_size: std::mem::size_of::<Opts>(),
                    a: 1,
                    flag: false,
                    b: 2,
                }
            }
        }
        let d = unsafe { read_options::<Opts>(std::ptr::null(), "o") }.unwrap();
        assert_eq!((d.a, d.flag, d.b), (1, false, 2));
        let mut o = Opts {
            struct_size: std::mem::offset_of!(Opts, b),
            a: 5,
            flag: true,
            b: 9,
        };
        let r = unsafe { read_options(&o, "o") }.unwrap();
        assert_eq!(
            (r.a, r.flag, r.b),
            (5, true, 2),
            "fields past struct_size keep defaults"
        );
        o.struct_size = 0;
        assert!(unsafe { read_options(&o, "o") }.is_err());
        // A bool byte that is neither 0 nor 1 (C may hand us one) is read as true.
        let mut raw = Opts::defaults();
        unsafe { *((&mut raw as *mut Opts as *mut u8).add(std::mem::offset_of!(Opts, flag))) = 7 };
        let r = unsafe { read_options(&raw, "o") }.unwrap();
        assert!(r.flag);
    }

    #[test]
    fn strings_out() {
        let mut buf = [b'z' as c_char; 4];
        let mut n = 0usize;
        let r = unsafe { write_str_out(b"abcd", buf.as_mut_ptr(), 4, &mut n, "s") };
        assert_eq!(r.unwrap_err().status, xgr_status::XGR_ERR_BUFFER_TOO_SMALL);
        assert_eq!(n, 5);
        assert_eq!(buf[0], b'z' as c_char);
        unsafe { write_str_out(b"abc", buf.as_mut_ptr(), 4, &mut n, "s") }.unwrap();
        assert_eq!(n, 3);
        assert_eq!(buf, [b'a' as c_char, b'b' as c_char, b'c' as c_char, 0]);
        let r = unsafe { write_str_out(b"abc", std::ptr::null_mut(), 4, &mut n, "s") };
        assert_eq!(r.unwrap_err().status, xgr_status::XGR_ERR_NULL_ARGUMENT);
    }

    #[test]
    fn slices_and_strings_in() {
        assert!(
            unsafe { slice_in::<i32>(std::ptr::null(), 0, "p") }
                .unwrap()
                .is_empty()
        );
        let e = unsafe { slice_in::<i32>(std::ptr::null(), 1, "p") }.unwrap_err();
        assert_eq!(e.status, xgr_status::XGR_ERR_NULL_ARGUMENT);
        let bytes = [0xffu8, 0];
        let e = unsafe { str_in(bytes.as_ptr() as *const c_char, 1, "s") }.unwrap_err();
        assert!(e.message.contains("UTF-8"));
        assert_eq!(
            token_id(-1, 10, "t").unwrap_err().status,
            xgr_status::XGR_ERR_INVALID_ARGUMENT
        );
        assert_eq!(token_id(9, 10, "t").unwrap(), 9);
        assert!(token_id(10, 10, "t").is_err());
    }
}
