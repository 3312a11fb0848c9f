//! Tests that need no GPU: the committed PTX is current, grid and vector-path choices, and the
//! unavailable status where no driver is present. With a GPU: `tests/gpu/run.sh`.

use super::launch::{BLOCK, BLOCKS_PER_SM, grid, vector_ok};
use super::module::Kernel;
use super::*;

/// SHA-256 (FIPS 180-4), enough to check the PTX's recorded source hash without a dependency.
fn sha256(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256(&[b'a'; 1000]),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

#[test]
fn committed_ptx_is_built_from_the_current_kernel_source() {
    let src = include_bytes!("kernel.cu");
    let ptx = include_str!("kernel.ptx");
    let recorded = ptx
        .lines()
        .find_map(|l| l.strip_prefix("// xgr-kernel-source-sha256: "))
        .expect("kernel.ptx records its source hash");
    assert_eq!(
        recorded.trim(),
        sha256(src),
        "src/cuda/kernel.ptx is stale: run `bash scripts/build-ptx.sh` and commit the result"
    );
    // compute_70 and PTX ISA 8.0 (CUDA 12.0): loads on every driver xgr accepts.
    assert!(ptx.contains("\n.version 8.0\n"), "PTX ISA version");
    assert!(ptx.contains("\n.target sm_70\n"), "PTX target");
    assert!(ptx.contains("\n.address_size 64\n"));
    assert_eq!(MIN_DRIVER_VERSION, 12000);
    for name in [
        "xgr_apply_bitmask_b32_vec",
        "xgr_apply_bitmask_b32_scalar",
        "xgr_apply_bitmask_b16_vec",
        "xgr_apply_bitmask_b16_scalar",
    ] {
        assert!(
            ptx.contains(&format!(".visible .entry {name}(")),
            "kernel {name} in the PTX"
        );
    }
    // Each kernel takes the 10 parameters launch.rs passes (8-byte pointers and counts, then
    // the 4-byte pattern).
    let entry = ptx
        .split(".visible .entry xgr_apply_bitmask_b16_scalar(")
        .nth(1);
    let params = entry.unwrap().split(')').next().unwrap();
    assert_eq!(params.matches(".param .u64").count(), 9, "{params}");
    assert_eq!(params.matches(".param .u32").count(), 1, "{params}");
    assert_ne!(Kernel::B32Vec, Kernel::B16Scalar);
}

#[test]
fn grid_fills_the_device_and_never_exceeds_the_work() {
    let sms = 132;
    let target = sms as u64 * BLOCKS_PER_SM;
    // batch 1, vocab 128256, f32: 32064 chunks -> 126 blocks of 256, one row.
    assert_eq!(grid(1, 128_256, 4, sms), (126, 1));
    // batch 64: 16 column blocks per row fill 1056 blocks.
    assert_eq!(grid(64, 128_256, 4, sms), (16, 64));
    // batch 4096: one block per row, rows strided.
    assert_eq!(grid(4096, 128_256, 2, sms), (1, target as u32));
    // tiny: at least one block.
    assert_eq!(grid(1, 1, 2, sms), (1, 1));
    assert_eq!(grid(0, 0, 4, 1), (1, 1));
    // huge row counts stay within gridDim.y.
    assert_eq!(grid(1 << 20, 64, 4, 100_000).1, 65_535);
    for &(rows, cols, eb) in &[(3, 200_019, 2), (4096, 32_000, 4), (7, 33, 2)] {
        let (x, y) = grid(rows, cols, eb, sms);
        let chunks = (cols as u64).div_ceil(16 / eb as u64);
        assert!(x as u64 <= chunks.div_ceil(BLOCK as u64).max(1));
        assert!(y as usize <= rows && y >= 1 && x >= 1);
    }
}

#[test]
fn vector_path_needs_aligned_base_and_stride() {
    assert!(vector_ok(0x1000, 128_256, 4));
    assert!(vector_ok(0x1000, 128_256, 2));
    assert!(!vector_ok(0x1004, 128_256, 4));
    assert!(!vector_ok(0x1000, 128_257, 4));
    assert!(!vector_ok(0x1000, 200_019, 2));
    assert!(vector_ok(0x1010, 8, 2));
    assert!(!vector_ok(0x1000, 4, 2));
}

#[test]
fn without_a_driver_everything_reports_unavailable() {
    if available() {
        eprintln!("a CUDA driver is present: the unavailable path is not exercised here");
        return;
    }
    let e = probe().unwrap_err();
    assert!(matches!(e, CudaError::Unavailable(_)), "{e}");
    assert!(e.to_string().contains("CUDA is not available"), "{e}");
    let a = DeviceApply {
        logits: 0x1000,
        elem_bytes: 4,
        neg_inf: 0xFF80_0000,
        num_rows: 1,
        row_stride: 64,
        cols: 64,
        vocab_size: 64,
        bitmask: 0x2000,
        bitmask_row_stride: 2,
        indices: 0,
        num_indices: 0,
    };
    // SAFETY: without a driver nothing is dereferenced.
    let r = unsafe { apply_token_bitmask_cuda(&a, std::ptr::null_mut()) };
    assert!(matches!(r, Err(CudaError::Unavailable(_))), "{r:?}");
    // Probed once: the same answer again.
    assert!(!available());
}

/// A line-by-line model of `kernel.cu` (same loops, same bit arithmetic, the grid of
/// `launch.rs`), run on the host against the CPU kernel: checks the work split and the bit
/// handling that the GPU run (`tests/gpu/run.sh`) checks on hardware.
#[allow(clippy::too_many_arguments)]
fn model_kernel<T: Copy>(
    logits: &mut [T],
    bitmask: &[i32],
    indices: Option<&[i32]>,
    num_rows: usize,
    row_stride: usize,
    cols: usize,
    vocab_size: usize,
    bitmask_row_stride: usize,
    neg_inf: T,
    vec: bool,
    sm_count: u32,
) {
    let es = std::mem::size_of::<T>();
    let chunk = (16 / es) as i64;
    let selected = indices.map_or(num_rows, |ix| ix.len());
    let (gx, gy) = grid(selected, cols, es, sm_count);
    let masked_cols = vocab_size.min(cols) as i64;
    let cols = cols as i64;
    let chunks = (cols + chunk - 1) / chunk;
    let chunk_step = gx as i64 * BLOCK as i64;
    let full: u32 = (1u32 << chunk) - 1;
    for by in 0..gy as i64 {
        for bx in 0..gx as i64 {
            for tx in 0..BLOCK as i64 {
                let mut s = by;
                while s < selected as i64 {
                    let mut row = s;
                    let skip = if let Some(ix) = indices {
                        row = ix[s as usize] as i64;
                        row < 0 || row >= num_rows as i64
                    } else {
                        false
                    };
                    if !skip {
                        let l0 = (row * row_stride as i64) as usize;
                        let b0 = (row * bitmask_row_stride as i64) as usize;
                        let mut c = bx * BLOCK as i64 + tx;
                        while c < chunks {
                            let col = c * chunk;
                            let mut bits = 0u32;
                            if col < masked_cols {
                                let word = bitmask[b0 + (col >> 5) as usize] as u32;
                                bits = (word >> (col & 31)) & full;
                                let valid = masked_cols - col;
                                if valid < chunk {
                                    bits &= (1u32 << valid) - 1;
                                }
                            }
                            let whole = col + chunk <= cols;
                            let p = l0 + col as usize;
                            if !(whole && bits == full) {
                                if vec && whole && bits == 0 {
                                    logits[p..p + chunk as usize].fill(neg_inf);
                                } else {
                                    let n = if whole { chunk } else { cols - col };
                                    for k in 0..chunk {
                                        if k < n && (bits >> k) & 1 == 0 {
                                            logits[p + k as usize] = neg_inf;
                                        }
                                    }
                                }
                            }
                            c += chunk_step;
                        }
                    }
                    s += gy as i64;
                }
            }
        }
    }
}

#[test]
fn kernel_model_matches_the_cpu_kernel() {
    use crate::bitmask::{BF16_NEG_INF, Logits, Rows, apply_token_bitmask_cpu, words};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    let mut rng = SmallRng::seed_from_u64(11);
    for case in 0..300 {
        let rows = rng.gen_range(1..9);
        let cols: usize = rng.gen_range(1..700);
        let stride = cols + rng.gen_range(0..9);
        let vocab = match rng.gen_range(0..3) {
            0 => cols,
            1 => cols.saturating_sub(rng.gen_range(0..70)),
            _ => rng.gen_range(0..cols + 1),
        };
        let bstride = words(vocab) + rng.gen_range(0..3);
        let mask: Vec<i32> = (0..rows * bstride)
            .map(|_| match rng.gen_range(0..4) {
                0 => 0,
                1 => -1,
                _ => rng.r#gen(),
            })
            .collect();
        let ix: Option<Vec<i32>> = rng.gen_bool(0.4).then(|| {
            (0..rng.gen_range(0..rows + 3))
                .map(|_| rng.gen_range(-1..rows as i32 + 1))
                .collect()
        });
        let sms = [1, 3, 132][case % 3];
        let valid: Vec<usize> = match &ix {
            Some(v) => v
                .iter()
                .filter(|&&r| r >= 0 && (r as usize) < rows)
                .map(|&r| r as usize)
                .collect(),
            None => (0..rows).collect(),
        };
        let len = rows * stride;
        if case % 2 == 0 {
            let base: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let mut want = base.clone();
            apply_token_bitmask_cpu(
                Logits::F32(&mut want),
                stride,
                cols,
                vocab,
                &mask,
                bstride,
                Rows::Indices(&valid),
            )
            .unwrap();
            for vec in [false, stride.is_multiple_of(4)] {
                let mut got = base.clone();
                model_kernel(
                    &mut got,
                    &mask,
                    ix.as_deref(),
                    rows,
                    stride,
                    cols,
                    vocab,
                    bstride,
                    f32::NEG_INFINITY,
                    vec,
                    sms,
                );
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "case {case} vec {vec}");
            }
        } else {
            let base: Vec<u16> = (0..len).map(|i| (i % 30000) as u16).collect();
            let mut want = base.clone();
            apply_token_bitmask_cpu(
                Logits::Bf16(&mut want),
                stride,
                cols,
                vocab,
                &mask,
                bstride,
                Rows::Indices(&valid),
            )
            .unwrap();
            for vec in [false, stride.is_multiple_of(8)] {
                let mut got = base.clone();
                model_kernel(
                    &mut got,
                    &mask,
                    ix.as_deref(),
                    rows,
                    stride,
                    cols,
                    vocab,
                    bstride,
                    BF16_NEG_INF,
                    vec,
                    sms,
                );
                assert_eq!(got, want, "case {case} vec {vec}");
            }
        }
    }
}
