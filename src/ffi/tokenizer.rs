//! `xgr_tokenizer_info`: a tokenizer's decoded vocabulary (immutable, reference-counted).

use std::ffi::c_char;
use std::mem::offset_of;
use std::sync::Arc;

use super::boundary::*;
use super::status::xgr_status;
use crate::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};

/// A tokenizer's vocabulary decoded to bytes, with its vocabulary type, stop tokens and the
/// model's (padded) vocabulary size. Immutable and reference-counted: `xgr_tokenizer_info_clone`
/// adds a reference, `xgr_tokenizer_info_free` drops one. Safe to use from many threads at once.
pub struct xgr_tokenizer_info {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Arc<TokenizerInfo>` pointers.
unsafe impl ArcHandle for xgr_tokenizer_info {
    type Target = TokenizerInfo;
}

/// How the tokens of a vocabulary encode bytes (as in XGrammar).
/// cbindgen:prefix-with-name=false
/// cbindgen:rename-all=None
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xgr_vocab_type {
    /// Tokens are the bytes as given.
    XGR_VOCAB_RAW = 0,
    /// SentencePiece byte fallback: `<0xHH>` is a byte, `▁` is a space.
    XGR_VOCAB_BYTE_FALLBACK = 1,
    /// GPT-2 byte-level: the byte-to-unicode map.
    XGR_VOCAB_BYTE_LEVEL = 2,
}

/// A vocabulary type as received from C (checked before use). Appears in the header as
/// `xgr_vocab_type`.
/// cbindgen:no-export
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XgrVocabTypeArg(pub i32);

impl XgrVocabTypeArg {
    fn get(self) -> FfiResult<VocabType> {
        match self.0 {
            0 => Ok(VocabType::Raw),
            1 => Ok(VocabType::ByteFallback),
            2 => Ok(VocabType::ByteLevel),
            v => Err(Failure::invalid(format!(
                "`vocab_type` {v} is not an xgr_vocab_type"
            ))),
        }
    }
}

fn vocab_type_to_c(t: VocabType) -> xgr_vocab_type {
    match t {
        VocabType::Raw => xgr_vocab_type::XGR_VOCAB_RAW,
        VocabType::ByteFallback => xgr_vocab_type::XGR_VOCAB_BYTE_FALLBACK,
        VocabType::ByteLevel => xgr_vocab_type::XGR_VOCAB_BYTE_LEVEL,
    }
}

/// Options of a tokenizer. Initialise with `xgr_tokenizer_options_default()`, then set fields;
/// `struct_size` must stay as initialised (it tells the library which fields exist).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xgr_tokenizer_options {
    /// `sizeof(xgr_tokenizer_options)` as compiled by the caller.
    pub struct_size: usize,
    /// The model's (padded) vocabulary size, at least the tokenizer's; 0 = the tokenizer's own.
    /// Default 0.
    pub vocab_size: i32,
    /// Stop token ids (copied); NULL = detect them from the vocabulary (`</s>`, `<|eot_id|>`,
    /// `<|endoftext|>`, ...). A non-NULL array of length 0 means no stop tokens. Default NULL.
    pub stop_token_ids: *const i32,
    /// Length of `stop_token_ids`.
    pub num_stop_token_ids: usize,
    /// Whether the tokenizer adds a space before the first word (SentencePiece). Default false.
    pub add_prefix_space: bool,
}

// SAFETY: repr(C), starts with `struct_size`, integers/pointers plus one listed bool.
unsafe impl OptionsStruct for xgr_tokenizer_options {
    const BOOL_FIELDS: &'static [usize] = &[offset_of!(xgr_tokenizer_options, add_prefix_space)];
    fn defaults() -> Self {
        xgr_tokenizer_options {
            struct_size: std::mem::size_of::<xgr_tokenizer_options>(),
            vocab_size: 0,
            stop_token_ids: std::ptr::null(),
            num_stop_token_ids: 0,
            add_prefix_space: false,
        }
    }
}

/// Reads and checks C tokenizer options.
///
/// # Safety
/// `opts` is NULL or a valid options struct whose `stop_token_ids` array is readable.
unsafe fn tokenizer_options(opts: *const xgr_tokenizer_options) -> FfiResult<TokenizerOptions> {
    // SAFETY: forwarded.
    let o = unsafe { read_options(opts, "opts")? };
    if o.vocab_size < 0 {
        return Err(Failure::invalid(format!(
            "`opts->vocab_size` is {} (must be >= 0; 0 = the tokenizer's own)",
            o.vocab_size
        )));
    }
    let stop_token_ids = if o.stop_token_ids.is_null() {
        None
    } else {
        // SAFETY: the caller's promise.
        let ids = unsafe {
            slice_in(
                o.stop_token_ids,
                o.num_stop_token_ids,
                "opts->stop_token_ids",
            )?
        };
        Some(token_ids(ids, "opts->stop_token_ids")?)
    };
    Ok(TokenizerOptions {
        vocab_size: (o.vocab_size > 0).then_some(o.vocab_size as usize),
        stop_token_ids,
        add_prefix_space: o.add_prefix_space,
    })
}

fn finish(info: TokenizerInfo, out: *mut *mut xgr_tokenizer_info) -> FfiResult<()> {
    let vs = info.vocab_size();
    if vs > i32::MAX as usize {
        return Err(Failure::invalid(format!(
            "vocab_size {vs} does not fit in int32"
        )));
    }
    if let Some(&bad) = info.stop_token_ids().iter().find(|&&t| t as usize >= vs) {
        return Err(Failure::invalid(format!(
            "stop token id {bad} is out of range (vocab_size {vs})"
        )));
    }
    // SAFETY: `out` was checked by `check_out`.
    unsafe { out.write(arc_into_raw(Arc::new(info))) };
    Ok(())
}

/// The defaults of `xgr_tokenizer_options` (with `struct_size` set). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_options_default() -> xgr_tokenizer_options {
    xgr_tokenizer_options::defaults()
}

/// Loads a tokenizer from the text of a Hugging Face `tokenizer.json` (`json`, `len` bytes of
/// UTF-8). Does not take ownership of `json` or `opts`; both are read during the call only.
/// On success `*out` is a new tokenizer owned by the caller, released with
/// `xgr_tokenizer_info_free`. Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`out` NULL, or `json` NULL with `len` > 0),
/// `XGR_ERR_INVALID_ARGUMENT` (bad options, invalid UTF-8, stop id out of range),
/// `XGR_ERR_JSON` / `XGR_ERR_TOKENIZER` (text that is not a usable tokenizer).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_from_hf_json(
    json: *const c_char,
    len: usize,
    opts: *const xgr_tokenizer_options,
    out: *mut *mut xgr_tokenizer_info,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promises on `json` and `opts`.
        let json = unsafe { str_in(json, len, "json")? };
        let opts = unsafe { tokenizer_options(opts)? };
        finish(TokenizerInfo::from_hf_json(json, &opts)?, out)
    })
}

/// Builds a tokenizer from an explicit vocabulary: token `i` is the byte string
/// `tokens[i][0 .. lens[i]]` in the encoding `vocab_type` (for `XGR_VOCAB_RAW`, the exact bytes
/// the token emits). With `lens` NULL every token is a NUL-terminated string. Copies
/// everything; the caller keeps ownership of the arrays. On success `*out` is owned by the
/// caller and released with `xgr_tokenizer_info_free`. Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`out` NULL, `tokens` NULL with `n` > 0, a NULL token
/// with a non-zero length), `XGR_ERR_INVALID_ARGUMENT` (bad `vocab_type` or options, `n` too
/// large for int32, stop id out of range), `XGR_ERR_TOKENIZER`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_from_vocab(
    tokens: *const *const c_char,
    lens: *const usize,
    n: usize,
    vocab_type: XgrVocabTypeArg,
    opts: *const xgr_tokenizer_options,
    out: *mut *mut xgr_tokenizer_info,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        let vt = vocab_type.get()?;
        if n > i32::MAX as usize {
            return Err(Failure::invalid(format!(
                "`n` = {n} tokens does not fit in int32 ids"
            )));
        }
        // SAFETY: the caller's promises on the arrays and options.
        let ptrs = unsafe { slice_in(tokens, n, "tokens")? };
        let lens = if lens.is_null() {
            None
        } else {
            Some(unsafe { slice_in(lens, n, "lens")? })
        };
        let mut vocab: Vec<&[u8]> = Vec::with_capacity(n);
        for (i, &p) in ptrs.iter().enumerate() {
            let bytes: &[u8] = match lens {
                Some(l) => unsafe { slice_in(p as *const u8, l[i], &format!("tokens[{i}]"))? },
                None if p.is_null() => return Err(Failure::null(&format!("tokens[{i}]"))),
                None => unsafe { std::ffi::CStr::from_ptr(p).to_bytes() },
            };
            vocab.push(bytes);
        }
        let opts = unsafe { tokenizer_options(opts)? };
        finish(TokenizerInfo::from_vocab(&vocab, vt, &opts)?, out)
    })
}

/// The model's (padded) vocabulary size: the width of a bitmask row in bits. Returns -1 for a
/// NULL `info` (and sets the last error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_vocab_size(info: *const xgr_tokenizer_info) -> i32 {
    guard_or(-1, || {
        // SAFETY: `info` is NULL or live.
        let t = unsafe { arc_ref(info, "info")? };
        Ok(i32::try_from(t.vocab_size()).unwrap_or(i32::MAX))
    })
}

/// The vocabulary type. Returns `XGR_VOCAB_RAW` for a NULL `info` (and sets the last error).
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_vocab_type(
    info: *const xgr_tokenizer_info,
) -> xgr_vocab_type {
    guard_or(xgr_vocab_type::XGR_VOCAB_RAW, || {
        // SAFETY: `info` is NULL or live.
        let t = unsafe { arc_ref(info, "info")? };
        Ok(vocab_type_to_c(t.vocab_type()))
    })
}

/// Copies up to `cap` stop token ids into `buf` (which may be NULL when `cap` is 0) and returns
/// how many stop tokens there are (call with `cap` 0 to size the buffer). Returns 0 for a NULL
/// `info`, or a NULL `buf` with `cap` > 0 (and sets the last error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_stop_token_ids(
    info: *const xgr_tokenizer_info,
    buf: *mut i32,
    cap: usize,
) -> usize {
    guard_or(0, || {
        // SAFETY: `info` is NULL or live; `buf` has `cap` writable ints.
        let t = unsafe { arc_ref(info, "info")? };
        let ids = t.stop_token_ids();
        let out = unsafe { slice_out(buf, cap.min(ids.len()), "buf")? };
        for (o, &id) in out.iter_mut().zip(ids) {
            *o = id as i32;
        }
        Ok(ids.len())
    })
}

/// Copies the bytes token `token_id` decodes to (for byte-level and byte-fallback vocabularies,
/// the real bytes; special tokens give their content, e.g. `<|eot_id|>`; holes of the id space
/// and padding ids give the empty string) into `buf` followed by a NUL, and sets `*len_out` to
/// the number of bytes (without the NUL; the bytes may contain NULs). Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`info` or `len_out` NULL, `buf` NULL with `cap` > 0),
/// `XGR_ERR_INVALID_ARGUMENT` (id negative or >= vocab_size), `XGR_ERR_BUFFER_TOO_SMALL`
/// (`cap` < length + 1; `*len_out` is then set to length + 1, the capacity needed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_token_bytes(
    info: *const xgr_tokenizer_info,
    token_id: i32,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> xgr_status {
    guard(|| {
        // SAFETY: `info` is NULL or live.
        let t = unsafe { arc_ref(info, "info")? };
        let len_out = check_out(len_out, "len_out")?;
        let id = token_id_check(t, token_id)?;
        let bytes = t.token_bytes(id).unwrap_or(&[]);
        // SAFETY: `buf` has `cap` writable bytes; `len_out` checked.
        unsafe { write_str_out(bytes, buf, cap, len_out, "the token") }
    })
}

/// Tokenizes `text` (`len` bytes of UTF-8, copied) as a continuation (no special tokens added,
/// no leading SentencePiece space) with the tokenizer the info was loaded from, and copies the
/// ids into `ids` (which may be NULL when `cap` is 0). `*len_out` is set to the number of ids,
/// also when `cap` is too small. Only for infos from `xgr_tokenizer_info_from_hf_json`.
/// Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`info` or `len_out` NULL, `text` NULL with `len` > 0,
/// `ids` NULL with `cap` > 0), `XGR_ERR_INVALID_ARGUMENT` (invalid UTF-8),
/// `XGR_ERR_TOKENIZER` (this info cannot encode: built from a vocabulary, or the tokenizer.json
/// is not loadable for encoding), `XGR_ERR_BUFFER_TOO_SMALL` (`cap` < the number of ids; `ids`
/// is not written).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_encode(
    info: *const xgr_tokenizer_info,
    text: *const c_char,
    len: usize,
    ids: *mut i32,
    cap: usize,
    len_out: *mut usize,
) -> xgr_status {
    guard(|| {
        // SAFETY: `info` is NULL or live; `text` has `len` bytes; `ids` has `cap` ints.
        let t = unsafe { arc_ref(info, "info")? };
        let len_out = check_out(len_out, "len_out")?;
        let text = unsafe { str_in(text, len, "text")? };
        let enc = t.encode(text).ok_or_else(|| {
            Failure::new(
                xgr_status::XGR_ERR_TOKENIZER,
                "this tokenizer info cannot encode text (it was not loaded from a usable tokenizer.json)",
            )
        })?;
        // SAFETY: checked.
        unsafe { len_out.write(enc.len()) };
        if cap < enc.len() {
            return Err(Failure::new(
                xgr_status::XGR_ERR_BUFFER_TOO_SMALL,
                format!("`ids` has room for {cap} ids, {} needed", enc.len()),
            ));
        }
        let out = unsafe { slice_out(ids, enc.len(), "ids")? };
        for (o, &id) in out.iter_mut().zip(&enc) {
            *o = id as i32;
        }
        Ok(())
    })
}

fn token_id_check(t: &TokenizerInfo, id: i32) -> FfiResult<u32> {
    token_id(id, t.vocab_size(), "token_id")
}

/// Adds a reference to `info` and returns it (the same pointer), or NULL for a NULL `info`.
/// Each reference is released with `xgr_tokenizer_info_free`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_clone(
    info: *const xgr_tokenizer_info,
) -> *mut xgr_tokenizer_info {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: `info` is NULL or live.
        Ok(arc_into_raw(unsafe { arc_clone(info, "info")? }))
    })
}

/// Drops one reference to `info`; the tokenizer is freed with its last reference (compilers
/// and compiled grammars made from it hold their own). NULL is a no-op. Must not be called
/// more times than references were obtained. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_tokenizer_info_free(info: *mut xgr_tokenizer_info) {
    // SAFETY: `info` is NULL or a live reference the caller gives up.
    guard_or((), || {
        unsafe { arc_free(info) };
        Ok(())
    })
}
