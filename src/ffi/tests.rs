//! The C ABI called from Rust: handle lifecycles (reference counts, boxes), the main call
//! sequence, batch calls and error statuses, on the toy byte-level tokenizer (ids 0-255 =
//! bytes, 256 = EOS). The C and C++ suites in `tests/c/` cover the same ground through the
//! shared library; these run with `cargo test` (and under Miri) without a C toolchain.

use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::sync::Arc;

use super::*;
use crate::tokenizer::TokenizerInfo;

const EOS: i32 = 256;

fn last_error() -> String {
    let n = unsafe { xgr_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { xgr_last_error_message(buf.as_mut_ptr() as *mut c_char, buf.len()) };
    buf.truncate(n);
    String::from_utf8(buf).unwrap()
}

fn toy() -> *mut xgr_tokenizer_info {
    let bytes: Vec<[u8; 1]> = (0..=255u8).map(|b| [b]).collect();
    let mut ptrs: Vec<*const c_char> = bytes.iter().map(|b| b.as_ptr() as *const c_char).collect();
    let mut lens = vec![1usize; 256];
    ptrs.push(c"<eos>".as_ptr());
    lens.push(5);
    let stop = [EOS];
    let mut o = unsafe { xgr_tokenizer_options_default() };
    o.stop_token_ids = stop.as_ptr();
    o.num_stop_token_ids = 1;
    let mut out = null_mut();
    let s = unsafe {
        xgr_tokenizer_info_from_vocab(
            ptrs.as_ptr(),
            lens.as_ptr(),
            ptrs.len(),
            XgrVocabTypeArg(0),
            &o,
            &mut out,
        )
    };
    assert_eq!(s, xgr_status::XGR_OK, "{}", last_error());
    out
}

fn compile(c: *mut xgr_compiler, ebnf: &str) -> *mut xgr_compiled_grammar {
    let mut cg = null_mut();
    let s = unsafe {
        xgr_compiler_compile_ebnf(
            c,
            ebnf.as_ptr() as *const c_char,
            ebnf.len(),
            null(),
            &mut cg,
        )
    };
    assert_eq!(s, xgr_status::XGR_OK, "{}", last_error());
    cg
}

fn strong_count(t: *const xgr_tokenizer_info) -> usize {
    let raw = t as *const TokenizerInfo;
    unsafe {
        Arc::increment_strong_count(raw);
        let a = Arc::from_raw(raw);
        Arc::strong_count(&a) - 1
    }
}

#[test]
fn reference_counts_follow_clone_and_free() {
    unsafe {
        let t = toy();
        assert_eq!(strong_count(t), 1);
        let t2 = xgr_tokenizer_info_clone(t);
        assert_eq!(t2, t);
        assert_eq!(strong_count(t), 2);
        let mut c = null_mut();
        assert_eq!(xgr_compiler_new(t, null(), &mut c), xgr_status::XGR_OK);
        assert!(strong_count(t) >= 3, "the compiler holds a reference");
        xgr_tokenizer_info_free(t2);
        xgr_compiler_free(c);
        assert_eq!(strong_count(t), 1);
        xgr_tokenizer_info_free(t);
        xgr_tokenizer_info_free(null_mut());
        xgr_compiler_free(null_mut());
    }
}

#[test]
fn call_sequence_and_statuses() {
    unsafe {
        let t = toy();
        let mut c = null_mut();
        assert_eq!(xgr_compiler_new(t, null(), &mut c), xgr_status::XGR_OK);
        let cg = compile(c, "root ::= \"ab\" [0-9]+");
        let mut m = null_mut();
        assert_eq!(xgr_matcher_new(cg, null(), &mut m), xgr_status::XGR_OK);
        let words = xgr_bitmask_words(257);
        let mut mask = vec![0i32; words];
        let mut need = false;
        let s = xgr_matcher_fill_next_token_bitmask(m, mask.as_mut_ptr(), words, &mut need);
        assert_eq!(s, xgr_status::XGR_OK);
        assert!(need);
        assert_eq!(mask[3], 1 << 1, "only 'a' (97) is allowed");
        let mut acc = false;
        assert_eq!(
            xgr_matcher_accept_token(m, b'b' as i32, &mut acc),
            xgr_status::XGR_OK
        );
        assert!(!acc);
        let s = xgr_matcher_accept_string(m, c"ab7".as_ptr(), 3, &mut acc);
        assert_eq!(s, xgr_status::XGR_OK);
        assert!(acc && xgr_matcher_is_completed(m));
        assert_eq!(
            xgr_matcher_accept_token(m, EOS, &mut acc),
            xgr_status::XGR_OK
        );
        assert!(acc && xgr_matcher_is_terminated(m));
        let s = xgr_matcher_accept_token(m, b'1' as i32, &mut acc);
        assert_eq!(s, xgr_status::XGR_ERR_TERMINATED);
        assert_eq!(xgr_matcher_rollback(m, 9), xgr_status::XGR_ERR_ROLLBACK);
        assert!(last_error().contains("only 2"), "{}", last_error());
        let s = xgr_matcher_accept_token(m, 257, &mut acc);
        assert_eq!(s, xgr_status::XGR_ERR_INVALID_ARGUMENT);
        assert_eq!(
            xgr_matcher_accept_token(null_mut(), 1, &mut acc),
            xgr_status::XGR_ERR_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "`m` is NULL");

        let mut f = null_mut();
        assert_eq!(xgr_matcher_fork(m, &mut f), xgr_status::XGR_OK);
        assert_eq!(xgr_matcher_reset(m), xgr_status::XGR_OK);
        assert!(xgr_matcher_is_terminated(f) && !xgr_matcher_is_terminated(m));

        let mut buf = [0 as c_char; 8];
        let mut len = 0;
        let s = xgr_matcher_find_jump_forward_string(m, buf.as_mut_ptr(), buf.len(), &mut len);
        assert_eq!(s, xgr_status::XGR_OK);
        assert_eq!(len, 2);
        assert_eq!(
            std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().unwrap(),
            "ab"
        );

        // A syntax error reports its position.
        let mut bad = null_mut();
        let src = "root ::= (";
        let s = xgr_compiler_compile_ebnf(
            c,
            src.as_ptr() as *const c_char,
            src.len(),
            null(),
            &mut bad,
        );
        assert_eq!(s, xgr_status::XGR_ERR_GRAMMAR_SYNTAX);
        assert!(bad.is_null());
        assert!(last_error().contains("line 1"), "{}", last_error());

        xgr_matcher_free(f);
        xgr_matcher_free(m);
        xgr_compiled_grammar_free(cg);
        xgr_compiler_free(c);
        xgr_tokenizer_info_free(t);
    }
}

#[test]
fn batch_rows_and_terminated_matchers() {
    unsafe {
        let t = toy();
        let mut c = null_mut();
        assert_eq!(xgr_compiler_new(t, null(), &mut c), xgr_status::XGR_OK);
        let cg = compile(c, "root ::= [a-c]+");
        let mut ms = [null_mut(); 3];
        for m in &mut ms {
            assert_eq!(xgr_matcher_new(cg, null(), m), xgr_status::XGR_OK);
        }
        let mut acc = false;
        xgr_matcher_accept_token(ms[1], b'a' as i32, &mut acc);
        xgr_matcher_accept_token(ms[2], b'a' as i32, &mut acc);
        xgr_matcher_accept_token(ms[2], EOS, &mut acc);
        assert!(xgr_matcher_is_terminated(ms[2]));
        let mut b = null_mut();
        assert_eq!(xgr_batch_new(3, &mut b), xgr_status::XGR_OK);
        let words = 9;
        let stride = 10;
        let mut bm = vec![7i32; 4 * stride];
        let rows = [3, 1, 0];
        let s = xgr_batch_fill_next_token_bitmask(
            b,
            ms.as_ptr(),
            3,
            bm.as_mut_ptr(),
            stride,
            rows.as_ptr(),
        );
        assert_eq!(s, xgr_status::XGR_OK, "{}", last_error());
        for (i, &r) in rows.iter().enumerate() {
            let row = &bm[r as usize * stride..r as usize * stride + words];
            if i == 2 {
                assert_eq!(row[..8], [-1; 8]);
                assert_eq!(row[8], 1, "all ones within vocab_size");
            } else {
                let mut single = vec![0i32; words];
                xgr_matcher_fill_next_token_bitmask(ms[i], single.as_mut_ptr(), words, null_mut());
                assert_eq!(row, &single[..]);
            }
            assert_eq!(bm[r as usize * stride + words], 7, "padding untouched");
        }
        assert_eq!(bm[2 * stride..3 * stride], [7; 10], "row 2 untouched");

        let toks = [b'b' as i32, b'z' as i32];
        let mut out = [false; 2];
        let s = xgr_batch_accept_token(b, ms.as_ptr(), toks.as_ptr(), 2, out.as_mut_ptr());
        assert_eq!(s, xgr_status::XGR_OK);
        assert_eq!(out, [true, false]);
        let dup = [ms[0], ms[0]];
        let s = xgr_batch_accept_token(b, dup.as_ptr(), toks.as_ptr(), 2, out.as_mut_ptr());
        assert_eq!(s, xgr_status::XGR_ERR_INVALID_ARGUMENT);

        xgr_batch_free(b);
        for m in ms {
            xgr_matcher_free(m);
        }
        xgr_compiled_grammar_free(cg);
        xgr_compiler_free(c);
        xgr_tokenizer_info_free(t);
    }
}

#[test]
fn apply_cpu_basic_and_dtype_check() {
    unsafe {
        let mut logits = [1.0f32; 40];
        let mask = [0b101i32, 0];
        let s = xgr_apply_token_bitmask_cpu(
            logits.as_mut_ptr() as *mut _,
            XgrDtypeArg(0),
            1,
            40,
            40,
            36,
            mask.as_ptr(),
            2,
            null(),
            0,
        );
        assert_eq!(s, xgr_status::XGR_OK);
        assert_eq!(logits[0], 1.0);
        assert!(logits[1].is_infinite() && logits[39].is_infinite());
        assert_eq!(logits[2], 1.0);
        let s = xgr_apply_token_bitmask_cpu(
            logits.as_mut_ptr() as *mut _,
            XgrDtypeArg(3),
            1,
            40,
            40,
            36,
            mask.as_ptr(),
            2,
            null(),
            0,
        );
        assert_eq!(s, xgr_status::XGR_ERR_INVALID_ARGUMENT);
    }
}

/// The CUDA entry point's host-side checks come first (they hold with or without a driver);
/// without a driver every call that passes them reports `XGR_ERR_CUDA_UNAVAILABLE`.
#[test]
fn cuda_argument_checks_and_unavailable_status() {
    let cuda = |logits: *mut f32,
                dtype: i32,
                rows: usize,
                stride: usize,
                cols: usize,
                vocab: i32,
                mask: *const i32,
                mstride: usize,
                ix: *const i32,
                nix: usize| unsafe {
        xgr_apply_token_bitmask_cuda(
            logits.cast(),
            XgrDtypeArg(dtype),
            rows,
            stride,
            cols,
            vocab,
            mask,
            mstride,
            ix,
            nix,
            null_mut(),
        )
    };
    let mut logits = [1.0f32; 80];
    let l = logits.as_mut_ptr();
    let mask = [0b101i32, 0, 0, 0];
    let m = mask.as_ptr();
    let ix = [0i32, 1];
    let invalid = xgr_status::XGR_ERR_INVALID_ARGUMENT;
    let expect = |got: xgr_status, want: xgr_status, needle: &str| {
        assert_eq!(got, want, "{needle}");
        let msg = last_error();
        assert!(msg.contains(needle), "{needle}: {msg}");
    };
    let null_arg = xgr_status::XGR_ERR_NULL_ARGUMENT;
    expect(cuda(l, 3, 1, 40, 40, 36, m, 2, null(), 0), invalid, "dtype");
    expect(
        cuda(l, 0, 1, 40, 40, -1, m, 2, null(), 0),
        invalid,
        "vocab_size",
    );
    expect(
        cuda(l, 0, 1, 30, 40, 36, m, 2, null(), 0),
        invalid,
        "logits_row_stride",
    );
    expect(
        cuda(l, 0, 1, 40, 40, 36, m, 1, null(), 0),
        invalid,
        "bitmask_row_stride_words",
    );
    expect(
        cuda(null_mut(), 0, 1, 40, 40, 36, m, 2, null(), 0),
        null_arg,
        "logits",
    );
    expect(
        cuda(l, 0, 1, 40, 40, 36, null(), 2, null(), 0),
        null_arg,
        "bitmask",
    );
    let odd = l.wrapping_byte_add(2);
    expect(
        cuda(odd, 0, 1, 40, 40, 36, m, 2, null(), 0),
        invalid,
        "aligned",
    );
    let odd = l.wrapping_byte_add(1);
    expect(
        cuda(odd, 2, 1, 40, 40, 36, m, 2, null(), 0),
        invalid,
        "aligned",
    );
    let odd = m.wrapping_byte_add(2);
    expect(
        cuda(l, 0, 1, 40, 40, 36, odd, 2, null(), 0),
        invalid,
        "aligned",
    );
    let odd = ix.as_ptr().wrapping_byte_add(1);
    expect(cuda(l, 0, 2, 40, 40, 36, m, 2, odd, 2), invalid, "aligned");
    expect(
        cuda(l, 0, 2, 40, 40, 36, m, 2, null(), 3),
        invalid,
        "num_indices",
    );
    let huge = usize::MAX / 4;
    expect(
        cuda(l, 0, huge, huge, 40, 36, m, 2, null(), 0),
        invalid,
        "overflows",
    );
    if unsafe { xgr_cuda_available() } {
        eprintln!("a CUDA driver is present: the unavailable status is not exercised here");
        return;
    }
    for (dtype, ix, nix, rows) in [(0, null(), 0, 2), (1, ix.as_ptr(), 2, 2), (2, null(), 0, 0)] {
        let s = cuda(l, dtype, rows, 40, 40, 36, m, 2, ix, nix);
        assert_eq!(s, xgr_status::XGR_ERR_CUDA_UNAVAILABLE, "dtype {dtype}");
        let msg = last_error();
        assert!(msg.contains("CUDA is not available"), "{msg}");
        assert!(msg.contains("libcuda"), "{msg}");
    }
    // The logits were never touched.
    assert!(logits.iter().all(|&x| x == 1.0));
}
