//! `xgr_compiler` (compiles grammars for one tokenizer, with a cache) and
//! `xgr_compiled_grammar` (a grammar compiled for a tokenizer; immutable, reference-counted).

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::*;
use super::grammar::{json_schema_options, xgr_grammar, xgr_json_schema_options};
use super::status::xgr_status;
use super::tokenizer::xgr_tokenizer_info;
use crate::compiler::{CompiledGrammar, CompilerOptions, GrammarCompiler};
use crate::convert::json_schema::grammar_from_json_schema;
use crate::convert::structural_tag::grammar_from_structural_tag;
use crate::error::Result;
use crate::grammar::Grammar;

/// Compiles grammars for one tokenizer and caches the results (bounded in bytes, least
/// recently used evicted). Safe to share across threads: its compile calls may run
/// concurrently. Freed with `xgr_compiler_free` (compiled grammars it returned stay valid).
pub struct xgr_compiler {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Box<GrammarCompiler>` pointers.
unsafe impl BoxHandle for xgr_compiler {
    type Target = GrammarCompiler;
}

/// A grammar compiled for one tokenizer: immutable and reference-counted
/// (`xgr_compiled_grammar_clone` adds a reference, `xgr_compiled_grammar_free` drops one).
/// Safe to use from many threads at once; each matcher holds its own reference.
pub struct xgr_compiled_grammar {
    _private: [u8; 0],
}

// SAFETY: opaque marker used only behind `Arc<CompiledGrammar>` pointers.
unsafe impl ArcHandle for xgr_compiled_grammar {
    type Target = CompiledGrammar;
}

/// Options of a compiler. Initialise with `xgr_compiler_options_default()`, then set fields;
/// `struct_size` must stay as initialised.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xgr_compiler_options {
    /// `sizeof(xgr_compiler_options)` as compiled by the caller.
    pub struct_size: usize,
    /// Threads used to determinize large grammars and when `precompute` is set (default 8,
    /// capped at the number of cores; <= 0 = all cores).
    pub max_threads: i32,
    /// Bound of the compiled-grammar cache in bytes; -1 = unbounded, 0 = no caching
    /// (default 512 MiB).
    pub cache_limit_bytes: i64,
    /// Compute every token class while compiling (default false: compiles take about a
    /// millisecond and each class is computed the first time a mask needs it, then shared
    /// by every matcher of the grammar; only the initial state's and, for a structural tag,
    /// those along each trigger are computed while compiling).
    pub precompute: bool,
}

// SAFETY: repr(C), starts with `struct_size`, integers and one listed bool.
unsafe impl OptionsStruct for xgr_compiler_options {
    const BOOL_FIELDS: &'static [usize] = &[std::mem::offset_of!(xgr_compiler_options, precompute)];
    fn defaults() -> Self {
        let d = CompilerOptions::default();
        xgr_compiler_options {
            struct_size: std::mem::size_of::<xgr_compiler_options>(),
            max_threads: i32::try_from(d.max_threads).unwrap_or(i32::MAX),
            cache_limit_bytes: d
                .cache_limit_bytes
                .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
            precompute: d.precompute,
        }
    }
}

/// The defaults of `xgr_compiler_options` (with `struct_size` set). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_options_default() -> xgr_compiler_options {
    xgr_compiler_options::defaults()
}

/// A compiler for `tokenizer` (which gains a reference; the caller keeps its own). `opts`
/// NULL = defaults. On success `*out` is owned by the caller and released with
/// `xgr_compiler_free`. Thread-safe.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_INVALID_ARGUMENT` (bad options).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_new(
    tokenizer: *const xgr_tokenizer_info,
    opts: *const xgr_compiler_options,
    out: *mut *mut xgr_compiler,
) -> xgr_status {
    guard(|| {
        let out = check_out(out, "out")?;
        // SAFETY: `tokenizer` is NULL or live; `opts` NULL or valid.
        let tok = unsafe { arc_clone(tokenizer, "tokenizer")? };
        let o = unsafe { read_options(opts, "opts")? };
        let cache_limit_bytes = match o.cache_limit_bytes {
            -1 => None,
            n if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            n => {
                return Err(Failure::invalid(format!(
                    "`opts->cache_limit_bytes` is {n} (must be >= -1)"
                )));
            }
        };
        let options = CompilerOptions {
            max_threads: if o.max_threads <= 0 {
                usize::MAX
            } else {
                o.max_threads as usize
            },
            cache_limit_bytes,
            precompute: o.precompute,
            ..CompilerOptions::default()
        };
        let c = GrammarCompiler::new(tok, options);
        // SAFETY: checked.
        unsafe { out.write(box_into_raw(Box::new(c))) };
        Ok(())
    })
}

/// Shared body of the compile functions.
///
/// # Safety
/// `compiler` is NULL or live; `out` unchecked.
unsafe fn compile(
    compiler: *mut xgr_compiler,
    out: *mut *mut xgr_compiled_grammar,
    f: impl FnOnce(&GrammarCompiler) -> FfiResult<Result<Arc<CompiledGrammar>>>,
) -> FfiResult<()> {
    // SAFETY: the compiler is only used through shared references (it is Sync).
    let c = unsafe { box_ref(compiler as *const xgr_compiler, "compiler")? };
    let out = check_out(out, "out")?;
    let cg = f(c)??;
    // SAFETY: checked.
    unsafe { out.write(arc_into_raw(cg)) };
    Ok(())
}

/// Compiles `grammar` (not consumed) for the compiler's tokenizer, or returns the cached result
/// for an equal grammar. On success `*out` is a new reference owned by the caller
/// (`xgr_compiled_grammar_free`). May run concurrently with other calls on the same compiler.
///
/// Statuses: `XGR_ERR_NULL_ARGUMENT`, `XGR_ERR_LIMIT_EXCEEDED` (automaton too large),
/// `XGR_ERR_GRAMMAR_SYNTAX` (ill-formed grammar).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_grammar(
    compiler: *mut xgr_compiler,
    grammar: *const xgr_grammar,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| {
            let g = arc_ref(grammar, "grammar")?;
            Ok(c.compile_grammar(g))
        })
    })
}

/// Parses EBNF (`src`, `len` bytes of UTF-8, copied; `root_rule` NUL-terminated, NULL =
/// `"root"`) and compiles it. Ownership, concurrency and statuses as for
/// `xgr_compiler_compile_grammar` and `xgr_grammar_from_ebnf`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_ebnf(
    compiler: *mut xgr_compiler,
    src: *const c_char,
    len: usize,
    root_rule: *const c_char,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| {
            let src = str_in(src, len, "src")?;
            let root = cstr_opt(root_rule, "root_rule")?.unwrap_or("root");
            Ok(c.compile_ebnf(src, root))
        })
    })
}

/// Converts a JSON Schema (`schema`, `len` bytes, copied; `opts` NULL = defaults) and compiles
/// it. Ownership, concurrency and statuses as for `xgr_compiler_compile_grammar` and
/// `xgr_grammar_from_json_schema`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_json_schema(
    compiler: *mut xgr_compiler,
    schema: *const c_char,
    len: usize,
    opts: *const xgr_json_schema_options,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| {
            let schema = str_in(schema, len, "schema")?;
            let opts = json_schema_options(opts)?;
            let g = grammar_from_json_schema(schema, &opts)?;
            Ok(c.compile_grammar(&g))
        })
    })
}

/// Compiles a regular expression (`re`, `len` bytes, copied; whole match). Ownership,
/// concurrency and statuses as for `xgr_compiler_compile_grammar` and `xgr_grammar_from_regex`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_regex(
    compiler: *mut xgr_compiler,
    re: *const c_char,
    len: usize,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| {
            let re = str_in(re, len, "re")?;
            Ok(c.compile_regex(re))
        })
    })
}

/// Compiles the builtin JSON grammar. Ownership, concurrency and statuses as for
/// `xgr_compiler_compile_grammar`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_builtin_json(
    compiler: *mut xgr_compiler,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| Ok(c.compile_builtin_json()))
    })
}

/// Converts a structural tag (`json`, `len` bytes, copied) and compiles it. Ownership,
/// concurrency and statuses as for `xgr_compiler_compile_grammar` and
/// `xgr_grammar_from_structural_tag`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_compile_structural_tag(
    compiler: *mut xgr_compiler,
    json: *const c_char,
    len: usize,
    out: *mut *mut xgr_compiled_grammar,
) -> xgr_status {
    guard(|| unsafe {
        // SAFETY: the caller's promises on every pointer.
        compile(compiler, out, |c| {
            let json = str_in(json, len, "json")?;
            let g: Grammar = grammar_from_structural_tag(json)?;
            Ok(c.compile_grammar(&g))
        })
    })
}

/// Bytes held by the compiler's cache of compiled grammars. Returns -1 for a NULL `compiler`
/// (and sets the last error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_cache_size_bytes(compiler: *const xgr_compiler) -> i64 {
    guard_or(-1, || {
        // SAFETY: `compiler` is NULL or live.
        let c = unsafe { box_ref(compiler, "compiler")? };
        Ok(i64::try_from(c.cache_size_bytes()).unwrap_or(i64::MAX))
    })
}

/// Bytes held by the compiler's index of its tokenizer (the vocabulary trie and its facts,
/// and the token masks and byte-class indexes built so far), shared by every grammar it
/// compiles and not dropped by `xgr_compiler_clear_cache`. Returns -1 for a NULL `compiler`
/// (and sets the last error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_index_memory_bytes(compiler: *const xgr_compiler) -> i64 {
    guard_or(-1, || {
        // SAFETY: `compiler` is NULL or live.
        let c = unsafe { box_ref(compiler, "compiler")? };
        Ok(i64::try_from(c.index_memory_bytes()).unwrap_or(i64::MAX))
    })
}

/// Drops every cached compiled grammar (grammars already returned stay valid). NULL is a
/// no-op. May run concurrently with compile calls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_clear_cache(compiler: *mut xgr_compiler) {
    guard_or((), || {
        if !compiler.is_null() {
            // SAFETY: live; used through a shared reference.
            unsafe { box_ref(compiler as *const xgr_compiler, "compiler")? }.clear_cache();
        }
        Ok(())
    })
}

/// Frees a compiler (its cache included; compiled grammars it returned stay valid). NULL is a
/// no-op. No other call may be using the compiler; must not be called twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiler_free(compiler: *mut xgr_compiler) {
    guard_or((), || {
        // SAFETY: `compiler` is NULL or live and unused elsewhere.
        unsafe { box_free(compiler) };
        Ok(())
    })
}

/// Bytes held by a compiled grammar: automata and the token classes computed so far (the
/// tokenizer's vocabulary, shared, is not counted). Returns 0 for NULL (and sets the last
/// error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiled_grammar_memory_bytes(
    cg: *const xgr_compiled_grammar,
) -> usize {
    guard_or(0, || {
        // SAFETY: `cg` is NULL or live.
        Ok(unsafe { arc_ref(cg, "cg")? }.memory_bytes())
    })
}

/// The model's vocabulary size the grammar was compiled for (the width of its bitmask rows in
/// bits). Returns -1 for NULL (and sets the last error). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiled_grammar_vocab_size(cg: *const xgr_compiled_grammar) -> i32 {
    guard_or(-1, || {
        // SAFETY: `cg` is NULL or live.
        let cg = unsafe { arc_ref(cg, "cg")? };
        Ok(i32::try_from(cg.tokenizer().vocab_size()).unwrap_or(i32::MAX))
    })
}

/// Adds a reference to `cg` and returns it (the same pointer), or NULL for a NULL `cg`. Each
/// reference is released with `xgr_compiled_grammar_free`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiled_grammar_clone(
    cg: *const xgr_compiled_grammar,
) -> *mut xgr_compiled_grammar {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: `cg` is NULL or live.
        Ok(arc_into_raw(unsafe { arc_clone(cg, "cg")? }))
    })
}

/// Drops one reference to `cg`; it is freed with its last reference (matchers hold their
/// own). NULL is a no-op. Must not be called more times than references were obtained.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xgr_compiled_grammar_free(cg: *mut xgr_compiled_grammar) {
    guard_or((), || {
        // SAFETY: `cg` is NULL or a live reference the caller gives up.
        unsafe { arc_free(cg) };
        Ok(())
    })
}
