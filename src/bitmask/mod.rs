//! Token bitmasks: layout helpers and the CPU kernel that applies a mask to logits.
//!
//! Layout (the contract): a row is `ceil(vocab_size / 32)` 32-bit words; token `i` is bit
//! `i % 32` (least significant first) of word `i / 32`; 1 = allowed; bits at or past
//! `vocab_size` are 0. Rows may be laid out with a stride (in words).
//!
//! Apply (the contract): for each selected row and each column `j < vocab_size` whose bit is 0,
//! `logits[row, j] = -inf`; columns at or past `vocab_size` are set to `-inf` too (they are
//! never valid tokens). Logits are f32, f16 or bf16 (the half types as their `u16` bit
//! patterns: only `-inf` is ever written, so no conversion is needed).
//!
//! ```
//! use xgr::bitmask::{apply_token_bitmask_cpu, words, Logits, Rows};
//! let vocab = 40;
//! let mut logits = vec![1.0f32; vocab];
//! let mut mask = vec![0i32; words(vocab)];
//! mask[0] = 0b101; // tokens 0 and 2 allowed
//! apply_token_bitmask_cpu(Logits::F32(&mut logits), vocab, vocab, vocab, &mask, words(vocab), Rows::All(1)).unwrap();
//! assert_eq!(logits[0], 1.0);
//! assert_eq!(logits[1], f32::NEG_INFINITY);
//! assert_eq!(logits[2], 1.0);
//! ```

use crate::error::{Error, Result};

/// `-inf` as an IEEE half-precision bit pattern.
pub const F16_NEG_INF: u16 = 0xFC00;
/// `-inf` as a bfloat16 bit pattern.
pub const BF16_NEG_INF: u16 = 0xFF80;

/// Words of one bitmask row for `vocab_size` tokens.
pub fn words(vocab_size: usize) -> usize {
    vocab_size.div_ceil(32)
}

/// Whether token `token` is allowed in `row`.
#[inline]
pub fn is_allowed(row: &[i32], token: usize) -> bool {
    (row[token / 32] as u32 >> (token % 32)) & 1 != 0
}

/// Sets token `token` allowed in `row`.
#[inline]
pub fn allow(row: &mut [i32], token: usize) {
    row[token / 32] |= (1u32 << (token % 32)) as i32;
}

/// Fills `row` (at least [`words`]`(vocab_size)` words) with every token below `vocab_size`
/// allowed and the bits past it clear.
pub fn fill_all_allowed(row: &mut [i32], vocab_size: usize) {
    let n = words(vocab_size);
    row[..n].fill(-1);
    if !vocab_size.is_multiple_of(32) {
        row[n - 1] = ((1u32 << (vocab_size % 32)) - 1) as i32;
    }
}

/// Logits to mask in place: one of the supported element types.
#[derive(Debug)]
pub enum Logits<'a> {
    /// 32-bit floats.
    F32(&'a mut [f32]),
    /// IEEE half precision, as bit patterns.
    F16(&'a mut [u16]),
    /// bfloat16, as bit patterns.
    Bf16(&'a mut [u16]),
}

impl Logits<'_> {
    fn len(&self) -> usize {
        match self {
            Logits::F32(s) => s.len(),
            Logits::F16(s) | Logits::Bf16(s) => s.len(),
        }
    }
}

/// Which rows to mask. Logits row `r` is masked with bitmask row `r`.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Rows `0..n`.
    All(usize),
    /// The rows listed (in any order; repeats are harmless).
    Indices(&'a [usize]),
}

/// Masks `logits` in place with `bitmask` (see the module documentation for the contract).
///
/// `logits` holds rows of `row_stride` elements of which the first `cols` are logits (the last
/// selected row needs only `cols`); `bitmask` holds rows of `bitmask_row_stride` words of which
/// the first `ceil(min(vocab_size, cols) / 32)` are read. Errors (`InvalidArgument`) on a stride
/// smaller than a row, or on a selected row the slices are too short for.
pub fn apply_token_bitmask_cpu(
    logits: Logits<'_>,
    row_stride: usize,
    cols: usize,
    vocab_size: usize,
    bitmask: &[i32],
    bitmask_row_stride: usize,
    rows: Rows<'_>,
) -> Result<()> {
    if row_stride < cols {
        return Err(Error::invalid(format!(
            "logits row stride {row_stride} is smaller than the number of columns {cols}"
        )));
    }
    let masked_cols = vocab_size.min(cols);
    let mask_words = words(masked_cols);
    if bitmask_row_stride < mask_words {
        return Err(Error::invalid(format!(
            "bitmask row stride {bitmask_row_stride} words is smaller than a row ({mask_words} words for {masked_cols} columns)"
        )));
    }
    let logits_len = logits.len();
    let check_row = |r: usize| -> Result<()> {
        let lo_end = r.checked_mul(row_stride).and_then(|o| o.checked_add(cols));
        if lo_end.is_none_or(|e| e > logits_len) {
            return Err(Error::invalid(format!(
                "row {r} is past the end of the logits ({logits_len} elements, row stride {row_stride}, {cols} columns)"
            )));
        }
        let bm_end = r
            .checked_mul(bitmask_row_stride)
            .and_then(|o| o.checked_add(mask_words));
        if mask_words > 0 && bm_end.is_none_or(|e| e > bitmask.len()) {
            return Err(Error::invalid(format!(
                "row {r} is past the end of the bitmask ({} words, row stride {bitmask_row_stride})",
                bitmask.len()
            )));
        }
        Ok(())
    };
    match rows {
        Rows::All(n) => {
            if n > 0 {
                check_row(n - 1)?;
            }
        }
        Rows::Indices(ix) => {
            for &r in ix {
                check_row(r)?;
            }
        }
    }
    match logits {
        Logits::F32(l) => run(
            l,
            f32::NEG_INFINITY,
            row_stride,
            cols,
            masked_cols,
            bitmask,
            bitmask_row_stride,
            rows,
        ),
        Logits::F16(l) => run(
            l,
            F16_NEG_INF,
            row_stride,
            cols,
            masked_cols,
            bitmask,
            bitmask_row_stride,
            rows,
        ),
        Logits::Bf16(l) => run(
            l,
            BF16_NEG_INF,
            row_stride,
            cols,
            masked_cols,
            bitmask,
            bitmask_row_stride,
            rows,
        ),
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run<T: Copy>(
    logits: &mut [T],
    neg_inf: T,
    row_stride: usize,
    cols: usize,
    masked_cols: usize,
    bitmask: &[i32],
    bitmask_row_stride: usize,
    rows: Rows<'_>,
) {
    let mw = words(masked_cols);
    let one = |r: usize, logits: &mut [T]| {
        let row = &mut logits[r * row_stride..r * row_stride + cols];
        let mask = if mw == 0 {
            &[][..]
        } else {
            &bitmask[r * bitmask_row_stride..r * bitmask_row_stride + mw]
        };
        apply_row(row, neg_inf, masked_cols, mask);
    };
    match rows {
        Rows::All(n) => (0..n).for_each(|r| one(r, logits)),
        Rows::Indices(ix) => ix.iter().for_each(|&r| one(r, logits)),
    }
}

/// Masks one row: columns `< masked_cols` by their bits, the rest to `-inf`. Word at a time:
/// all-ones words are skipped, runs of zero words become one fill.
#[inline]
fn apply_row<T: Copy>(row: &mut [T], neg_inf: T, masked_cols: usize, mask: &[i32]) {
    let mut run_start: Option<usize> = None;
    for (w, &word) in mask.iter().enumerate() {
        let base = w * 32;
        let n = (masked_cols - base).min(32);
        let valid = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        let zeros = !(word as u32) & valid;
        if zeros == valid {
            run_start.get_or_insert(base);
            continue;
        }
        if let Some(s) = run_start.take() {
            row[s..base].fill(neg_inf);
        }
        let mut z = zeros;
        while z != 0 {
            let j = z.trailing_zeros() as usize;
            row[base + j] = neg_inf;
            z &= z - 1;
        }
    }
    let tail = run_start.unwrap_or(masked_cols);
    row[tail..].fill(neg_inf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// The reference: one column at a time, straight from the contract.
    #[allow(clippy::too_many_arguments)]
    fn naive<T: Copy>(
        logits: &mut [T],
        neg_inf: T,
        row_stride: usize,
        cols: usize,
        vocab_size: usize,
        bitmask: &[i32],
        bstride: usize,
        rows: &[usize],
    ) {
        for &r in rows {
            for j in 0..cols {
                let allowed =
                    j < vocab_size && (bitmask[r * bstride + j / 32] as u32 >> (j % 32)) & 1 == 1;
                if !allowed {
                    logits[r * row_stride + j] = neg_inf;
                }
            }
        }
    }

    fn random_mask(rng: &mut SmallRng, n: usize) -> Vec<i32> {
        (0..n)
            .map(|_| match rng.gen_range(0..4) {
                0 => 0,
                1 => -1,
                _ => rng.r#gen::<i32>(),
            })
            .collect()
    }

    #[test]
    fn matches_naive_reference_on_random_shapes() {
        let mut rng = SmallRng::seed_from_u64(7);
        for case in 0..600 {
            let num_rows = rng.gen_range(1..6);
            let cols: usize = rng.gen_range(0..200);
            let row_stride = cols + rng.gen_range(0..5);
            let vocab_size = match rng.gen_range(0..4) {
                0 => cols,
                1 => cols.saturating_sub(rng.gen_range(0..40)),
                2 => cols + rng.gen_range(0..40),
                _ => rng.gen_range(0..250),
            };
            let mw = words(vocab_size.min(cols));
            let bstride = words(vocab_size).max(mw) + rng.gen_range(0..3);
            let bitmask = random_mask(&mut rng, num_rows * bstride);
            let rows: Vec<usize> = if rng.gen_bool(0.5) {
                (0..num_rows).collect()
            } else {
                (0..rng.gen_range(0..num_rows + 2))
                    .map(|_| rng.gen_range(0..num_rows))
                    .collect()
            };
            let sel = if rows.len() == num_rows
                && rows.iter().enumerate().all(|(i, &r)| i == r)
                && case % 2 == 0
            {
                Rows::All(num_rows)
            } else {
                Rows::Indices(&rows)
            };
            let len = num_rows * row_stride;
            let base: Vec<f32> = (0..len).map(|i| i as f32 + 0.5).collect();
            let dtype = case % 3;
            match dtype {
                0 => {
                    let mut got = base.clone();
                    let mut want = base.clone();
                    apply_token_bitmask_cpu(
                        Logits::F32(&mut got),
                        row_stride,
                        cols,
                        vocab_size,
                        &bitmask,
                        bstride,
                        sel,
                    )
                    .unwrap();
                    naive(
                        &mut want,
                        f32::NEG_INFINITY,
                        row_stride,
                        cols,
                        vocab_size,
                        &bitmask,
                        bstride,
                        &rows,
                    );
                    assert_eq!(
                        got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                        "case {case}"
                    );
                }
                _ => {
                    let (neg, f16) = if dtype == 1 {
                        (F16_NEG_INF, true)
                    } else {
                        (BF16_NEG_INF, false)
                    };
                    let base16: Vec<u16> = (0..len).map(|i| (i % 30000) as u16).collect();
                    let mut got = base16.clone();
                    let mut want = base16.clone();
                    let l = if f16 {
                        Logits::F16(&mut got)
                    } else {
                        Logits::Bf16(&mut got)
                    };
                    apply_token_bitmask_cpu(
                        l, row_stride, cols, vocab_size, &bitmask, bstride, sel,
                    )
                    .unwrap();
                    naive(
                        &mut want, neg, row_stride, cols, vocab_size, &bitmask, bstride, &rows,
                    );
                    assert_eq!(got, want, "case {case}");
                }
            }
        }
    }

    #[test]
    fn last_row_needs_only_cols_and_errors_are_reported() {
        let mut l = vec![0.0f32; 2 * 8 + 5];
        let m = vec![-1i32; 3];
        apply_token_bitmask_cpu(Logits::F32(&mut l), 8, 5, 5, &m, 1, Rows::All(3)).unwrap();
        let e =
            apply_token_bitmask_cpu(Logits::F32(&mut l), 8, 5, 5, &m, 1, Rows::All(4)).unwrap_err();
        assert!(e.message().contains("past the end of the logits"), "{e}");
        let e =
            apply_token_bitmask_cpu(Logits::F32(&mut l), 4, 5, 5, &m, 1, Rows::All(1)).unwrap_err();
        assert!(e.message().contains("row stride"), "{e}");
        let mut big = vec![0.0f32; 4 * 8];
        let e = apply_token_bitmask_cpu(
            Logits::F32(&mut big),
            8,
            5,
            5,
            &m,
            1,
            Rows::Indices(&[3, 0]),
        )
        .unwrap_err();
        assert!(e.message().contains("past the end of the bitmask"), "{e}");
        let e = apply_token_bitmask_cpu(Logits::F32(&mut l), 8, 5, 40, &m, 0, Rows::All(1))
            .unwrap_err();
        assert!(e.message().contains("bitmask row stride"), "{e}");
    }

    #[test]
    fn layout_helpers() {
        assert_eq!(words(0), 0);
        assert_eq!(words(1), 1);
        assert_eq!(words(32), 1);
        assert_eq!(words(33), 2);
        let mut row = vec![0i32; 3];
        fill_all_allowed(&mut row, 70);
        assert_eq!(row, vec![-1, -1, 0b111111]);
        fill_all_allowed(&mut row, 64);
        assert_eq!(row[..2], [-1, -1]);
        let mut row = vec![0i32; 2];
        allow(&mut row, 33);
        assert!(is_allowed(&row, 33));
        assert!(!is_allowed(&row, 32));
    }
}
