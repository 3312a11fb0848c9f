//! GPU check of the CUDA apply kernel (driven by `tests/gpu/run.sh`): the kernel against the
//! CPU oracle (`xgr_apply_token_bitmask_cpu`) for f32/f16/bf16 over batch 1 to 4096, vocab
//! 32000 to 200019, aligned and unaligned bases and strides, row indices (with out-of-range
//! ones, which the kernel skips) and vocab_size below the logits width; a CUDA graph capture
//! and replay; and a benchmark at vocab 128256 (batch 1, 64, 4096) reporting effective GB/s
//! against the device's device-to-device copy bandwidth.
//!
//! Usage: `cargo run --release --example cuda_check [-- --quick] [--require-gpu]`. Prints
//! `skipped: no GPU` and exits 0 where `xgr_cuda_available()` is false (2 with
//! `--require-gpu`, which `tests/gpu/run.sh` passes once it has seen a GPU); exits 1 on any
//! mismatch or driver error.

use std::ffi::c_void;
use std::ptr::null;
use std::time::Instant;

use cudarc::driver::{result, sys};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xgr::ffi::{
    XgrDtypeArg, xgr_apply_token_bitmask_cpu, xgr_apply_token_bitmask_cuda, xgr_cuda_available,
    xgr_last_error_message, xgr_status,
};

type Res<T> = Result<T, String>;

fn last_error() -> String {
    let mut buf = vec![0u8; 1024];
    let n = unsafe { xgr_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(n.min(1023));
    String::from_utf8_lossy(&buf).into_owned()
}

fn ok(s: xgr_status, what: &str) -> Res<()> {
    if s == xgr_status::XGR_OK {
        Ok(())
    } else {
        Err(format!("{what}: {s:?}: {}", last_error()))
    }
}

fn drv<T>(r: Result<T, result::DriverError>, what: &str) -> Res<T> {
    r.map_err(|e| format!("{what}: {e:?}"))
}

/// A device buffer freed on drop.
struct Dev(sys::CUdeviceptr);
impl Dev {
    fn new(bytes: usize) -> Res<Dev> {
        drv(unsafe { result::malloc_sync(bytes.max(16)) }, "cuMemAlloc").map(Dev)
    }
    fn upload<T>(&self, data: &[T]) -> Res<()> {
        drv(
            unsafe { result::memcpy_htod_sync(self.0, data) },
            "cuMemcpyHtoD",
        )
    }
    fn download<T>(&self, data: &mut [T]) -> Res<()> {
        drv(
            unsafe { result::memcpy_dtoh_sync(data, self.0) },
            "cuMemcpyDtoH",
        )
    }
}
impl Drop for Dev {
    fn drop(&mut self) {
        let _ = unsafe { result::free_sync(self.0) };
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dt {
    F32,
    F16,
    Bf16,
}
impl Dt {
    fn code(self) -> i32 {
        match self {
            Dt::F32 => 0,
            Dt::F16 => 1,
            Dt::Bf16 => 2,
        }
    }
    fn size(self) -> usize {
        if self == Dt::F32 { 4 } else { 2 }
    }
}

#[derive(Clone, Debug)]
struct Case {
    dt: Dt,
    rows: usize,
    cols: usize,
    /// Extra elements per row (stride = cols + pad).
    pad: usize,
    /// Elements the logits start past a 256-byte-aligned allocation.
    base_off: usize,
    /// vocab_size = cols - vocab_short.
    vocab_short: usize,
    /// Extra words per bitmask row.
    bpad: usize,
    /// Row indices: None = all rows; Some(n) = n random indices, some out of range.
    indices: Option<usize>,
    /// Mask kind: 0 random mix, 1 sparse (grammar-like), 2 all allowed, 3 none allowed.
    mask: u8,
}

fn make_mask(rng: &mut SmallRng, words: usize, kind: u8) -> Vec<i32> {
    (0..words)
        .map(|_| match kind {
            0 => match rng.gen_range(0..4) {
                0 => 0,
                1 => -1,
                _ => rng.r#gen::<i32>(),
            },
            1 => (rng.gen_range(0..50) == 0) as i32 * (1 << rng.gen_range(0..32)),
            2 => -1,
            _ => 0,
        })
        .collect()
}

/// Runs one case on the GPU and on the CPU; returns the number of differing elements.
fn run_case(c: &Case, rng: &mut SmallRng, stream: sys::CUstream) -> Res<usize> {
    let es = c.dt.size();
    let stride = c.cols + c.pad;
    let len = c.rows * stride;
    let vocab = c.cols - c.vocab_short;
    let bstride = vocab.div_ceil(32) + c.bpad;
    let mask = make_mask(rng, c.rows * bstride, c.mask);
    // Host logits as bit patterns (never -inf), with the base offset in front.
    let total = len + c.base_off;
    let mut host: Vec<u8> = vec![0; total * es];
    for (i, ch) in host.chunks_mut(es).enumerate() {
        if es == 4 {
            ch.copy_from_slice(&((i % 4093) as f32 + 0.25).to_le_bytes());
        } else {
            ch.copy_from_slice(&((i % 30011) as u16).to_le_bytes());
        }
    }
    let (idx, valid_idx): (Vec<i32>, Vec<i32>) = match c.indices {
        None => (vec![], vec![]),
        Some(n) => {
            let v: Vec<i32> = (0..n)
                .map(|k| {
                    if k % 17 == 5 {
                        [-1, c.rows as i32, i32::MAX][k % 3]
                    } else {
                        rng.gen_range(0..c.rows as i32)
                    }
                })
                .collect();
            let ok: Vec<i32> = v
                .iter()
                .copied()
                .filter(|&r| r >= 0 && (r as usize) < c.rows)
                .collect();
            (v, ok)
        }
    };
    let dl = Dev::new(total * es)?;
    let dm = Dev::new(mask.len() * 4)?;
    let di = Dev::new(idx.len() * 4)?;
    dl.upload(&host)?;
    dm.upload(&mask)?;
    if !idx.is_empty() {
        di.upload(&idx)?;
    }
    let (ip, ni) = match c.indices {
        None => (null(), 0),
        Some(n) => (di.0 as *const i32, n),
    };
    let lp = (dl.0 as usize + c.base_off * es) as *mut c_void;
    ok(
        unsafe {
            xgr_apply_token_bitmask_cuda(
                lp,
                XgrDtypeArg(c.dt.code()),
                c.rows,
                stride,
                c.cols,
                vocab as i32,
                dm.0 as *const i32,
                bstride,
                ip,
                ni,
                stream.cast(),
            )
        },
        "xgr_apply_token_bitmask_cuda",
    )?;
    drv(unsafe { result::stream::synchronize(stream) }, "sync")?;
    let mut got = vec![0u8; total * es];
    dl.download(&mut got)?;
    let (ix, nx) = match c.indices {
        None => (null(), 0),
        Some(_) => (valid_idx.as_ptr(), valid_idx.len()),
    };
    let mut want = host.clone();
    ok(
        unsafe {
            xgr_apply_token_bitmask_cpu(
                want.as_mut_ptr().add(c.base_off * es).cast(),
                XgrDtypeArg(c.dt.code()),
                c.rows,
                stride,
                c.cols,
                vocab as i32,
                mask.as_ptr(),
                bstride,
                ix,
                nx,
            )
        },
        "xgr_apply_token_bitmask_cpu",
    )?;
    let diff = got
        .chunks(es)
        .zip(want.chunks(es))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    if let Some(&i) = diff.first() {
        let e = i.wrapping_sub(c.base_off);
        eprintln!(
            "  first mismatch at element {e} (row {}, col {}): got {:?} want {:?}",
            e / stride,
            e % stride,
            &got[i * es..i * es + es],
            &want[i * es..i * es + es]
        );
    }
    Ok(diff.len())
}

fn correctness(stream: sys::CUstream, quick: bool) -> Res<bool> {
    let mut rng = SmallRng::seed_from_u64(2024);
    let mut cases = Vec::new();
    let shapes: &[(usize, usize)] = if quick {
        &[(1, 32000), (3, 200019), (64, 128256)]
    } else {
        &[
            (1, 32000),
            (1, 128256),
            (1, 200019),
            (2, 50257),
            (7, 151936),
            (64, 128256),
            (333, 32001),
            (1024, 32000),
            (4096, 32000),
            (4096, 128256),
            (257, 200019),
        ]
    };
    for &(rows, cols) in shapes {
        for dt in [Dt::F32, Dt::F16, Dt::Bf16] {
            for variant in 0..4u8 {
                let big = rows * cols >= 4096 * 128256;
                if big && variant > 1 {
                    continue; // keep the run inside its time budget
                }
                cases.push(Case {
                    dt,
                    rows,
                    cols,
                    // 0: aligned; 1: unaligned stride; 2: unaligned base; 3: both, indices.
                    pad: [0, 3, 8, 5][variant as usize],
                    base_off: [0, 0, 1, 3][variant as usize],
                    vocab_short: [0, 7, 0, 31][variant as usize] % cols,
                    bpad: [0, 1, 0, 2][variant as usize],
                    indices: if variant == 3 || (variant == 1 && rows > 1) {
                        Some(rows / 2 + 3)
                    } else {
                        None
                    },
                    mask: variant % 4,
                });
            }
        }
    }
    // Edge shapes: tiny, vocab 0, one column, no rows selected.
    for dt in [Dt::F32, Dt::F16, Dt::Bf16] {
        for &(rows, cols, short, ix) in &[
            (1, 1, 0, None),
            (3, 5, 5, None),
            (2, 33, 1, Some(0)),
            (5, 40, 0, Some(9)),
        ] {
            cases.push(Case {
                dt,
                rows,
                cols,
                pad: 1,
                base_off: 1,
                vocab_short: short,
                bpad: 0,
                indices: ix,
                mask: 0,
            });
        }
    }
    let mut all_ok = true;
    let t = Instant::now();
    for c in &cases {
        let n = run_case(c, &mut rng, stream)?;
        let tag = if n == 0 { "ok" } else { "MISMATCH" };
        if n != 0 {
            all_ok = false;
        }
        println!(
            "check {tag:8} {:?} rows {:5} cols {:6} stride +{} base +{} vocab -{} indices {:?} mask {}{}",
            c.dt,
            c.rows,
            c.cols,
            c.pad,
            c.base_off,
            c.vocab_short,
            c.indices,
            c.mask,
            if n == 0 {
                String::new()
            } else {
                format!(": {n} elements differ")
            }
        );
    }
    println!(
        "correctness: {} cases, {} ({:.1} s)",
        cases.len(),
        if all_ok {
            "all match the CPU oracle"
        } else {
            "FAILURES"
        },
        t.elapsed().as_secs_f64()
    );
    Ok(all_ok)
}

/// Captures one apply into a CUDA graph, replays it twice (the second time after a new mask
/// was uploaded to the same buffer) and compares with the CPU oracle.
fn graph_capture(stream: sys::CUstream) -> Res<bool> {
    let (rows, cols) = (64usize, 128256usize);
    let words = cols.div_ceil(32);
    let mut rng = SmallRng::seed_from_u64(9);
    let host: Vec<f32> = (0..rows * cols).map(|i| (i % 977) as f32).collect();
    let dl = Dev::new(host.len() * 4)?;
    let dm = Dev::new(rows * words * 4)?;
    let apply = || unsafe {
        xgr_apply_token_bitmask_cuda(
            dl.0 as *mut c_void,
            XgrDtypeArg(0),
            rows,
            cols,
            cols,
            cols as i32,
            dm.0 as *const i32,
            words,
            null(),
            0,
            stream.cast(),
        )
    };
    drv(
        unsafe {
            result::stream::begin_capture(
                stream,
                sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_GLOBAL,
            )
        },
        "cuStreamBeginCapture",
    )?;
    let s = apply();
    let g = unsafe { result::stream::end_capture(stream) };
    ok(s, "apply during capture")?;
    let g = drv(g, "cuStreamEndCapture")?;
    let exec = drv(
        unsafe { result::graph::instantiate(g, sys::CUgraphInstantiate_flags(0)) },
        "cuGraphInstantiate",
    )?;
    let mut all_ok = true;
    for round in 0..2 {
        let mask = make_mask(&mut rng, rows * words, round as u8);
        dl.upload(&host)?;
        dm.upload(&mask)?;
        drv(
            unsafe { result::graph::launch(exec, stream) },
            "cuGraphLaunch",
        )?;
        drv(unsafe { result::stream::synchronize(stream) }, "sync")?;
        let mut got = vec![0f32; host.len()];
        dl.download(&mut got)?;
        let mut want = host.clone();
        ok(
            unsafe {
                xgr_apply_token_bitmask_cpu(
                    want.as_mut_ptr().cast(),
                    XgrDtypeArg(0),
                    rows,
                    cols,
                    cols,
                    cols as i32,
                    mask.as_ptr(),
                    words,
                    null(),
                    0,
                )
            },
            "cpu",
        )?;
        let n = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        println!(
            "graph replay {round}: {}",
            if n == 0 {
                "ok (matches the CPU oracle)".to_string()
            } else {
                format!("MISMATCH: {n} elements differ")
            }
        );
        all_ok &= n == 0;
    }
    unsafe {
        let _ = result::graph::exec_destroy(exec);
        let _ = result::graph::destroy(g);
    }
    Ok(all_ok)
}

/// Mean milliseconds of `f` over `iters` runs on `stream`, timed with events after warm-up.
fn time_ms(stream: sys::CUstream, iters: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    for _ in 0..5 {
        f()?;
    }
    let flags = sys::CUevent_flags::CU_EVENT_DEFAULT;
    let a = drv(result::event::create(flags), "event")?;
    let b = drv(result::event::create(flags), "event")?;
    drv(unsafe { result::event::record(a, stream) }, "record")?;
    for _ in 0..iters {
        f()?;
    }
    drv(unsafe { result::event::record(b, stream) }, "record")?;
    drv(unsafe { result::event::synchronize(b) }, "event sync")?;
    let ms = drv(unsafe { result::event::elapsed(a, b) }, "elapsed")? as f64 / iters as f64;
    unsafe {
        let _ = result::event::destroy(a);
        let _ = result::event::destroy(b);
    }
    Ok(ms)
}

fn bench(stream: sys::CUstream, quick: bool) -> Res<()> {
    let cols = 128256usize;
    let words = cols.div_ceil(32);
    // Copy bandwidth: device-to-device memcpy of 1 GiB, counted as bytes read + written.
    let copy_bytes = 1usize << 30;
    let src = Dev::new(copy_bytes)?;
    let dst = Dev::new(copy_bytes)?;
    let copy_ms = time_ms(stream, if quick { 5 } else { 20 }, || {
        drv(
            unsafe { result::memcpy_dtod_async(dst.0, src.0, copy_bytes, stream) },
            "cuMemcpyDtoDAsync",
        )
    })?;
    let copy_gbs = 2.0 * copy_bytes as f64 / (copy_ms * 1e-3) / 1e9;
    println!(
        "bench: device-to-device copy of 1 GiB: {copy_ms:.3} ms, {copy_gbs:.0} GB/s (read + write)"
    );
    drop((src, dst));
    let mut rng = SmallRng::seed_from_u64(5);
    println!(
        "bench: apply at vocab {cols}; GB/s = (logits bytes written + bitmask bytes read) / time; \
         mask 'sparse' = ~2% of words with one allowed token (grammar-like), 'all' = every token allowed"
    );
    for dt in [Dt::F32, Dt::Bf16] {
        for rows in [1usize, 64, 4096] {
            for kind in [1u8, 2] {
                let es = dt.size();
                let dl = Dev::new(rows * cols * es)?;
                let dm = Dev::new(rows * words * 4)?;
                dm.upload(&make_mask(&mut rng, rows * words, kind))?;
                let iters = match rows {
                    1 => 2000,
                    64 => 500,
                    _ => 50,
                } / if quick { 10 } else { 1 };
                let ms = time_ms(stream, iters, || {
                    ok(
                        unsafe {
                            xgr_apply_token_bitmask_cuda(
                                dl.0 as *mut c_void,
                                XgrDtypeArg(dt.code()),
                                rows,
                                cols,
                                cols,
                                cols as i32,
                                dm.0 as *const i32,
                                words,
                                null(),
                                0,
                                stream.cast(),
                            )
                        },
                        "apply",
                    )
                })?;
                // What the kernel must move: every masked logit written, every word read.
                let written = if kind == 2 { 0 } else { rows * cols * es };
                let bytes = written + rows * words * 4;
                let gbs = bytes as f64 / (ms * 1e-3) / 1e9;
                // Host time of one call (launch overhead as the engine sees it).
                let t = Instant::now();
                let n = 200;
                for _ in 0..n {
                    ok(
                        unsafe {
                            xgr_apply_token_bitmask_cuda(
                                dl.0 as *mut c_void,
                                XgrDtypeArg(dt.code()),
                                rows,
                                cols,
                                cols,
                                cols as i32,
                                dm.0 as *const i32,
                                words,
                                null(),
                                0,
                                stream.cast(),
                            )
                        },
                        "apply",
                    )?;
                }
                let host_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
                drv(unsafe { result::stream::synchronize(stream) }, "sync")?;
                println!(
                    "bench {:4?} batch {rows:4} mask {:6}: {:9.2} us/apply, {gbs:7.0} GB/s = {:5.1}% of copy; host {host_us:.2} us/call",
                    dt,
                    if kind == 1 { "sparse" } else { "all" },
                    ms * 1e3,
                    100.0 * gbs / copy_gbs
                );
            }
        }
    }
    Ok(())
}

fn run(quick: bool) -> Res<bool> {
    let dev = drv(result::device::get(0), "cuDeviceGet")?;
    let name = drv(result::device::get_name(dev), "cuDeviceGetName")?;
    let ctx = drv(unsafe { result::primary_ctx::retain(dev) }, "retain")?;
    drv(unsafe { result::ctx::set_current(ctx) }, "cuCtxSetCurrent")?;
    let sms = drv(
        unsafe {
            result::device::get_attribute(
                dev,
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            )
        },
        "attribute",
    )?;
    let mut v = 0;
    unsafe { sys::cuDriverGetVersion(&mut v) };
    println!(
        "device 0: {name}, {sms} SMs, driver CUDA {}.{}",
        v / 1000,
        (v % 1000) / 10
    );
    let stream = drv(
        result::stream::create(result::stream::StreamKind::NonBlocking),
        "cuStreamCreate",
    )?;
    // The NULL stream too (current context), once.
    let t = Instant::now();
    let mut one = vec![1.0f32; 64];
    let dl = Dev::new(256)?;
    let dm = Dev::new(8)?;
    dl.upload(&one)?;
    dm.upload(&[0b1011i32, 0])?;
    ok(
        unsafe {
            xgr_apply_token_bitmask_cuda(
                dl.0 as *mut c_void,
                XgrDtypeArg(0),
                1,
                64,
                64,
                40,
                dm.0 as *const i32,
                2,
                null(),
                0,
                std::ptr::null_mut(),
            )
        },
        "apply on the NULL stream",
    )?;
    drv(result::ctx::synchronize(), "cuCtxSynchronize")?;
    dl.download(&mut one)?;
    let expect_ok = one[0] == 1.0
        && one[1] == 1.0
        && one[2].is_infinite()
        && one[3] == 1.0
        && one[4..].iter().all(|x| *x == f32::NEG_INFINITY);
    println!(
        "first call (module load + JIT) on the NULL stream: {:.1} ms, {}",
        t.elapsed().as_secs_f64() * 1e3,
        if expect_ok { "ok" } else { "MISMATCH" }
    );
    let c = correctness(stream, quick)?;
    let g = graph_capture(stream)?;
    bench(stream, quick)?;
    Ok(expect_ok && c && g)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if !unsafe { xgr_cuda_available() } {
        let why = xgr::cuda::probe()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        println!("skipped: no GPU ({why})");
        if std::env::args().any(|a| a == "--require-gpu") {
            println!("cuda_check: FAIL (--require-gpu: a GPU was expected here)");
            std::process::exit(2);
        }
        return;
    }
    match run(quick) {
        Ok(true) => println!("cuda_check: PASS"),
        Ok(false) => {
            println!("cuda_check: FAIL");
            std::process::exit(1);
        }
        Err(e) => {
            println!("cuda_check: ERROR: {e}");
            std::process::exit(1);
        }
    }
}
