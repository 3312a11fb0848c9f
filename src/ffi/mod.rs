//! The C ABI (`include/xgr.h`, generated from this module by cbindgen; contract:
//! `docs/C_API.md`).
//!
//! One file per handle type; `boundary.rs` holds the panic guard, the thread-local last error
//! and the pointer checks every function applies. Conventions, in short:
//!
//! - Every fallible function returns `xgr_status` (`XGR_OK` = 0) and writes its results
//!   through out pointers only on success; the detail of a failure is available from
//!   `xgr_last_error_message` on the same thread. A NULL required pointer gives
//!   `XGR_ERR_NULL_ARGUMENT`; no panic crosses the boundary (`XGR_ERR_PANIC`); the library never
//!   aborts and never prints.
//! - Shareable objects (`xgr_tokenizer_info`, `xgr_grammar`, `xgr_compiled_grammar`) are
//!   `Arc`s: `_clone` adds a reference, `_free` drops one. `xgr_compiler` is shared across
//!   threads; `xgr_matcher` and `xgr_batch` are `Box`es used by one thread at a time.
//! - Strings in are `(ptr, len)` pairs and are copied; strings out go to caller buffers
//!   `(buf, cap, len_out)`.
//! - Options are `#[repr(C)]` structs starting with `struct_size`, initialised by
//!   `xgr_*_options_default()`; an older (smaller) struct is read up to its size.
//!
//! The canonical call sequence:
//!
//! ```c
//! xgr_tokenizer_info *tok; xgr_compiler *c; xgr_compiled_grammar *cg; xgr_matcher *m;
//! xgr_tokenizer_info_from_hf_json(json, json_len, NULL, &tok);
//! xgr_compiler_new(tok, NULL, &c);
//! xgr_compiler_compile_builtin_json(c, &cg);
//! xgr_matcher_new(cg, NULL, &m);
//! size_t words = xgr_bitmask_words(xgr_tokenizer_info_vocab_size(tok));
//! int32_t *mask = calloc(words, sizeof(int32_t));
//! for (;;) {   /* each decoding step */
//!     xgr_matcher_fill_next_token_bitmask(m, mask, words, NULL);
//!     xgr_apply_token_bitmask_cpu(logits, XGR_DTYPE_F32, 1, vocab, vocab, vocab, mask, words, NULL, 0);
//!     /* sample `token` */
//!     bool ok; xgr_matcher_accept_token(m, token, &ok);
//!     if (xgr_matcher_is_terminated(m)) break;
//! }
//! xgr_matcher_free(m); xgr_compiled_grammar_free(cg); xgr_compiler_free(c); xgr_tokenizer_info_free(tok);
//! ```
//!
//! Safety, for every `unsafe extern "C"` function here: each pointer argument is NULL or valid
//! for what its documentation says (a live handle of its type, or an array of the stated
//! length); handles documented as one-caller-at-a-time are not used concurrently; nothing is
//! used after its `_free`. Everything short of that is reported with a status.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod boundary;

pub mod batch;
pub mod bitmask;
pub mod compiler;
pub mod cuda;
pub mod grammar;
pub mod matcher;
mod pool;
pub mod status;
pub mod tokenizer;

#[cfg(test)]
mod tests;

pub use batch::*;
pub use bitmask::*;
pub use compiler::*;
pub use cuda::*;
pub use grammar::*;
pub use matcher::*;
pub use status::*;
pub use tokenizer::*;
