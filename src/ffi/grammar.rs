//! `xgr_grammar`: a grammar from EBNF, regex, JSON Schema, structural tags or the builtin JSON
//! grammar (immutable, reference-counted), and `xgr_json_schema_options`.

use std::ffi::c_char;
use std::mem::offset_of;
use std::sync::Arc;

use super::boundary::*;
use super::status::xgr_status;
use crate::convert::json_schema::{JsonSchemaOptions, Relaxation, grammar_from_json_schema};
use crate::convert::structural_tag::grammar_from_structural_tag;
use crate::grammar::Grammar;

/// A grammar (not yet compiled for a tokenizer). Immutable and reference-counted:
/// `xgr_grammar_clone` adds a reference, `xgr_grammar_free` drops one. Safe to use from many
/// threads at once.
pub struct xgr_grammar {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Arc<Grammar>` pointers.
unsafe impl ArcHandle for xgr_grammar {
    type Target = Grammar;
}

/// Options of the JSON Schema converter. Initialise with `xgr_json_schema_options_default()`,
/// then set fields; `struct_size` must stay as initialised.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xgr_json_schema_options {
    /// `sizeof(xgr_json_schema_options)` as compiled by the caller.
    pub struct_size: usize,
    /// Allow any JSON whitespace between tokens (default true). When false, the layout is fixed
    /// by `indent` and the separators.
    pub any_whitespace: bool,
    /// Indentation in spaces when `any_whitespace` is false; -1 = compact, one line (default).
    pub indent: i32,
    /// Separator between items and members (NUL-terminated, copied); NULL = the default
    /// (`", "` compact, `","` with an indent).
    pub item_separator: *const c_char,
    /// Separator between a key and its value (NUL-terminated, copied); NULL = `": "`.
    pub key_separator: *const c_char,
    /// Refuse properties and items the schema does not declare (default true).
    pub strict_mode: bool,
    /// Longest run of whitespace allowed where any whitespace is; -1 = unbounded (default).
    pub max_whitespace: i32,
    /// Opt-in approximations: a bitwise OR of `xgr_relax` values (default 0: none; what
    /// cannot be expressed exactly is refused). Appended in 0.1; older callers get 0.
    pub relax: u32,
}

/// Bits of `xgr_json_schema_options.relax`: named approximations a caller may accept
/// instead of an error.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xgr_relax {
    /// A `oneOf` whose branches cannot be proven disjoint is treated as `anyOf` (instances
    /// matching several branches are accepted).
    OneOfAsAnyOf = 1,
    /// `uniqueItems: true` is ignored (duplicate items are accepted).
    IgnoreUniqueItems = 2,
    /// Defined but inexpressible `format` values (`regex`, `idn-email`, `idn-hostname`) are
    /// ignored (any string is accepted). Names no draft defines never constrain.
    IgnoreUnsupportedFormats = 4,
}

const RELAXATIONS: [(xgr_relax, Relaxation); 3] = [
    (xgr_relax::OneOfAsAnyOf, Relaxation::OneOfAsAnyOf),
    (xgr_relax::IgnoreUniqueItems, Relaxation::IgnoreUniqueItems),
    (
        xgr_relax::IgnoreUnsupportedFormats,
        Relaxation::IgnoreUnsupportedFormats,
    ),
];

// SAFETY: repr(C), starts with `struct_size`, integers/pointers plus listed bools.
unsafe impl OptionsStruct for xgr_json_schema_options {
    const BOOL_FIELDS: &'static [usize] = &[
        offset_of!(xgr_json_schema_options, any_whitespace),
        offset_of!(xgr_json_schema_options, strict_mode),
    ];
    fn defaults() -> Self {
        let d = JsonSchemaOptions::default();
        xgr_json_schema_options {
            struct_size: std::mem::size_of::<xgr_json_schema_options>(),
            any_whitespace: d.any_whitespace,
            indent: -1,
            item_separator: std::ptr::null(),
            key_separator: std::ptr::null(),
            strict_mode: d.strict_mode,
            max_whitespace: -1,
            relax: 0,
        }
    }
}

/// Reads and checks C JSON Schema options.
///
/// # Safety
/// `opts` is NULL or a valid options struct whose strings are NUL-terminated.
pub(crate) unsafe fn json_schema_options(
    opts: *const xgr_json_schema_options,
) -> FfiResult<JsonSchemaOptions> {
    // SAFETY: forwarded.
    let o = unsafe { read_options(opts, "opts")? };
    let indent = match o.indent {
        -1 => None,
        n if n >= 0 => Some(n as usize),
        n => {
            return Err(Failure::invalid(format!(
                "`opts->indent` is {n} (must be >= -1)"
            )));
        }
    };
    let max_whitespace_cnt = match o.max_whitespace {
        -1 => None,
        n if n >= 0 => Some(n as usize),
        n => {
            return Err(Failure::invalid(format!(
                "`opts->max_whitespace` is {n} (must be >= -1)"
            )));
        }
    };
    // SAFETY: the caller's promise.
    let item = unsafe { cstr_opt(o.item_separator, "opts->item_separator")? };
    let key = unsafe { cstr_opt(o.key_separator, "opts->key_separator")? };
    let separators = match (item, key) {
        (None, None) => None,
        (item, key) => Some((
            item.unwrap_or(if indent.is_some() { "," } else { ", " })
                .to_owned(),
            key.unwrap_or(": ").to_owned(),
        )),
    };
    let known: u32 = RELAXATIONS.iter().map(|(bit, _)| *bit as u32).sum();
    if o.relax & !known != 0 {
        return Err(Failure::invalid(format!(
            "`opts->relax` has unknown bits {:#x} (known XGR_RELAX_* bits: {known:#x})",
            o.relax & !known
        )));
    }
    let relax = RELAXATIONS
        .iter()
        .filter(|(bit, _)| o.relax & *bit as u32 != 0)
        .map(|(_, r)| *r)
        .collect();
    Ok(JsonSchemaOptions {
        any_whitespace: o.any_whitespace,
        indent,
        separators,
        strict_mode: o.strict_mode,
        max_whitespace_cnt,
        relax,
    })
}

/// Writes a new grammar handle.
fn put(out: *mut *mut xgr_grammar, g: Grammar) -> FfiResult<()> {
    // SAFETY: `out` was checked by `check_out`.
    unsafe { out.write(arc_into_raw(Arc::new(g))) };
    Ok(())
}

/// The defaults of `xgr_json_schema_options` (with `struct_size` set). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_json_schema_options_default() -> xgr_json_schema_options {
    xgr_json_schema_options::defaults()
}

/// Parses a grammar in XGrammar's EBNF dialect (a superset of GBNF): `src` is `len` bytes of
/// UTF-8 (copied); `root_rule` is the NUL-terminated name of the start rule, NULL = `"root"`.
/// On success `*out` is a new grammar owned by the caller (`xgr_grammar_free`). Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (invalid UTF-8),
/// `XGR_ERR_GRAMMAR_SYNTAX` (the message names line and column), `XGR_ERR_LIMIT_EXCEEDED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_from_ebnf(
    src: *const c_char,
    len: usize,
    root_rule: *const c_char,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promises.
        let src = unsafe { str_in(src, len, "src")? };
        let root = unsafe { cstr_opt(root_rule, "root_rule")? }.unwrap_or("root");
        put(out, Grammar::from_ebnf(src, root)?)
    })
}

/// Converts a JSON Schema (`schema`, `len` bytes of UTF-8 JSON, copied) to a grammar matching
/// the JSON documents it validates. `opts` NULL = defaults. On success `*out` is owned by the
/// caller (`xgr_grammar_free`). Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (bad options, invalid UTF-8),
/// `XGR_ERR_JSON` (malformed JSON text), `XGR_ERR_JSON_SCHEMA` (invalid or unsupported schema;
/// the message names the JSON pointer), `XGR_ERR_LIMIT_EXCEEDED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_from_json_schema(
    schema: *const c_char,
    len: usize,
    opts: *const xgr_json_schema_options,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promises.
        let schema = unsafe { str_in(schema, len, "schema")? };
        let opts = unsafe { json_schema_options(opts)? };
        put(out, grammar_from_json_schema(schema, &opts)?)
    })
}

/// A grammar matching exactly the strings of a regular expression (`re`, `len` bytes of UTF-8,
/// copied; whole match). On success `*out` is owned by the caller (`xgr_grammar_free`).
/// Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (invalid UTF-8),
/// `XGR_ERR_GRAMMAR_SYNTAX` (the message names the offset), `XGR_ERR_LIMIT_EXCEEDED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_from_regex(
    re: *const c_char,
    len: usize,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promise.
        let re = unsafe { str_in(re, len, "re")? };
        put(out, Grammar::from_regex(re)?)
    })
}

/// A grammar from a structural tag (`json`, `len` bytes of UTF-8 JSON, copied). On success
/// `*out` is owned by the caller (`xgr_grammar_free`). Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (invalid UTF-8),
/// `XGR_ERR_JSON`, `XGR_ERR_GRAMMAR_SYNTAX`, `XGR_ERR_JSON_SCHEMA` (a schema inside the tag).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_from_structural_tag(
    json: *const c_char,
    len: usize,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promise.
        let json = unsafe { str_in(json, len, "json")? };
        put(out, grammar_from_structural_tag(json)?)
    })
}

/// The builtin JSON grammar: any JSON value (RFC 8259). On success `*out` is owned by the
/// caller (`xgr_grammar_free`). Thread-safe. Statuses: `XGR_ERR_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_builtin_json(out: *mut *mut xgr_grammar) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        put(out, Grammar::builtin_json())
    })
}

/// Collects `n` grammar handles.
///
/// # Safety
/// `gs` is NULL or holds `n` pointers, each NULL or a live grammar.
unsafe fn grammars(gs: *const *const xgr_grammar, n: usize) -> FfiResult<Vec<Grammar>> {
    // SAFETY: forwarded.
    let ptrs = unsafe { slice_in(gs, n, "gs")? };
    ptrs.iter()
        .enumerate()
        .map(|(i, &p)| unsafe { arc_ref(p, &format!("gs[{i}]")) }.cloned())
        .collect()
}

/// A grammar matching any string one of the `n` grammars `gs` matches (`n` >= 1). The inputs
/// are not consumed (the caller still frees them). On success `*out` is owned by the caller
/// (`xgr_grammar_free`). Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`out`, `gs` or one of its entries NULL),
/// `XGR_ERR_INVALID_ARGUMENT` (`n` = 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_union(
    gs: *const *const xgr_grammar,
    n: usize,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promise.
        let v = unsafe { grammars(gs, n)? };
        put(out, Grammar::union(&v)?)
    })
}

/// A grammar matching the concatenation of strings of the `n` grammars `gs`, in order
/// (`n` >= 1). Inputs are not consumed. On success `*out` is owned by the caller
/// (`xgr_grammar_free`). Thread-safe. Statuses as for `xgr_grammar_union`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_concat(
    gs: *const *const xgr_grammar,
    n: usize,
    out: *mut *mut xgr_grammar,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: the caller's promise.
        let v = unsafe { grammars(gs, n)? };
        put(out, Grammar::concat(&v)?)
    })
}

/// Prints the grammar in the EBNF dialect (the text re-parses to the same language) into
/// `buf` as a NUL-terminated string, and sets `*len_out` to its length without the NUL.
/// Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT` (`g` or `len_out` NULL, `buf` NULL with `cap` > 0),
/// `XGR_ERR_BUFFER_TOO_SMALL` (`cap` < length + 1: nothing is written to `buf` and `*len_out`
/// is set to length + 1, the capacity needed; `buf` NULL with `cap` 0 is the way to ask).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_to_ebnf(
    g: *const xgr_grammar,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> xgr_status {
    guard(|| {
        // SAFETY: `g` is NULL or live.
        let g = unsafe { arc_ref(g, "g")? };
        let len_out = check_out(len_out, "len_out")?;
        let text = g.to_ebnf();
        // SAFETY: `buf` has `cap` writable bytes.
        unsafe { write_str_out(text.as_bytes(), buf, cap, len_out, "the EBNF text") }
    })
}

/// Adds a reference to `g` and returns it (the same pointer), or NULL for a NULL `g`. Each
/// reference is released with `xgr_grammar_free`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_clone(g: *const xgr_grammar) -> *mut xgr_grammar {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: `g` is NULL or live.
        Ok(arc_into_raw(unsafe { arc_clone(g, "g")? }))
    })
}

/// Drops one reference to `g`; the grammar is freed with its last reference. NULL is a no-op.
/// Must not be called more times than references were obtained. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_grammar_free(g: *mut xgr_grammar) {
    guard_or((), || {
        // SAFETY: `g` is NULL or a live reference the caller gives up.
        unsafe { arc_free(g) };
        Ok(())
    })
}
