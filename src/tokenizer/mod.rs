//! TokenizerInfo: what every token id of a model means as bytes.
//!
//! A [`TokenizerInfo`] is built once per tokenizer, from a Hugging Face `tokenizer.json`
//! ([`TokenizerInfo::from_hf_json`]) or from an encoded vocabulary plus its [`VocabType`]
//! ([`TokenizerInfo::from_vocab`]), and is immutable afterwards (callers share it in an `Arc`).
//!
//! For each id below the mask width ([`TokenizerInfo::vocab_size`]) it records one of:
//!
//! - a **text token**: decodes to at least one byte, and a grammar may emit it;
//! - a **special token**: never text — special added tokens (`<|begin_of_text|>`, `<s>`),
//!   holes of the id space (o200k), and padding ids past the tokenizer (the model's
//!   `vocab_size` may be larger than the tokenizer's id space);
//! - a **stop token**: explicit, or detected by name (`</s>`, `<|eot_id|>`, …); several may
//!   coexist. Stop tokens are never text either (and are usually also special).
//!
//! Decoding follows XGrammar's three vocab types (see `decode.rs`); the `tokenizer.json`
//! loader (`hf.rs`) detects the type from the decoder, normalizer and pre-tokenizer and
//! cross-checks it against the vocabulary.

mod decode;
mod hf;
mod scan;

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// The largest mask width accepted (16M ids; real vocabularies are below 300k).
pub const MAX_VOCAB_SIZE: usize = 1 << 24;

/// How a vocabulary's stored strings map to the bytes a token emits (XGrammar's `VocabType`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VocabType {
    /// Entries are the bytes themselves.
    Raw = 0,
    /// SentencePiece with byte fallback: `<0xHH>` is one byte, `▁` (U+2581) is a space.
    ByteFallback = 1,
    /// GPT-2 byte-level BPE: each char stands for one byte (`Ġ` = space, `Ċ` = newline).
    ByteLevel = 2,
}

/// Options for building a [`TokenizerInfo`].
#[derive(Debug, Clone, Default)]
pub struct TokenizerOptions {
    /// The model's vocabulary size (mask width). None = the tokenizer's id space (max id + 1).
    /// Larger than the id space: ids past the tokenizer are padding, never allowed.
    /// Smaller: ids at or past it are dropped (never allowed).
    pub vocab_size: Option<usize>,
    /// Explicit stop tokens; None = detect by name (and from the post-processor's eos).
    pub stop_token_ids: Option<Vec<u32>>,
    /// Whether the tokenizer prepends a space (or `▁`) to its input, as SentencePiece does
    /// (XGrammar's `add_prefix_space`). Metadata only: it changes no decoding. With
    /// `from_hf_json` the flag is also set when the tokenizer.json itself prepends one.
    pub add_prefix_space: bool,
}

/// Flag bits of one id.
const PRESENT: u8 = 1;
const SPECIAL: u8 = 2;
const STOP: u8 = 4;
const TEXT: u8 = 8;

/// Stop-token names detected when no explicit stop ids are given.
const STOP_NAMES: &[&str] = &[
    "</s>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|endoftext|>",
    "<|im_end|>",
    "<eos>",
    "<end_of_turn>",
    "<|eom_id|>",
    "<|end|>",
    "<|return|>",
];

/// True if `encoded` is one of the well-known stop-token names.
fn is_stop_name(encoded: &[u8]) -> bool {
    STOP_NAMES.iter().any(|n| n.as_bytes() == encoded)
}

/// One token as the loaders hand it to [`assemble`].
struct Entry<'a> {
    /// As stored in the vocabulary.
    encoded: &'a [u8],
    /// Decoded bytes.
    bytes: std::borrow::Cow<'a, [u8]>,
    /// A special (never text) token.
    special: bool,
}

/// The Hugging Face tokenizer behind [`TokenizerInfo::encode`], built on first use from a
/// continuation variant of the tokenizer.json (no prepended space).
struct HfEncoder {
    /// The JSON to build from; taken (freed) when the tokenizer is built.
    json: Mutex<Option<Box<str>>>,
    tokenizer: OnceLock<Option<tokenizers::Tokenizer>>,
}

impl HfEncoder {
    fn new(json: String) -> Self {
        HfEncoder {
            json: Mutex::new(Some(json.into_boxed_str())),
            tokenizer: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&tokenizers::Tokenizer> {
        self.tokenizer
            .get_or_init(|| {
                let json = self.json.lock().take()?;
                std::panic::catch_unwind(AssertUnwindSafe(|| {
                    json.parse::<tokenizers::Tokenizer>().ok()
                }))
                .ok()
                .flatten()
            })
            .as_ref()
    }

    fn pending_json_len(&self) -> usize {
        self.json.lock().as_ref().map_or(0, |j| j.len())
    }
}

/// Decoded vocabulary of one tokenizer: bytes, kinds and stop tokens of every id below the
/// mask width, plus the text tokens sorted by bytes. Immutable, `Send + Sync`.
pub struct TokenizerInfo {
    vocab_type: VocabType,
    add_prefix_space: bool,
    /// Mask width.
    width: usize,
    /// Flags per id (`PRESENT`, `SPECIAL`, `STOP`, `TEXT`).
    flags: Vec<u8>,
    /// Decoded bytes of all ids, concatenated; id `i` is `bytes[byte_off[i]..byte_off[i+1]]`.
    bytes: Vec<u8>,
    byte_off: Vec<u32>,
    /// Encoded entries, concatenated, same layout.
    encoded: Vec<u8>,
    enc_off: Vec<u32>,
    stop_ids: Vec<u32>,
    special_ids: Vec<u32>,
    sorted_text: Vec<u32>,
    hf: Option<HfEncoder>,
}

impl fmt::Debug for TokenizerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenizerInfo")
            .field("vocab_type", &self.vocab_type)
            .field("vocab_size", &self.width)
            .field("add_prefix_space", &self.add_prefix_space)
            .field("text_tokens", &self.sorted_text.len())
            .field("special_tokens", &self.special_ids.len())
            .field("stop_token_ids", &self.stop_ids)
            .finish()
    }
}

impl TokenizerInfo {
    /// Loads a Hugging Face `tokenizer.json` (its text). Errors of kind `Tokenizer` for
    /// malformed JSON, unsupported decoders or a vocabulary inconsistent with its decoder;
    /// `InvalidArgument` for bad options.
    pub fn from_hf_json(json: &str, opts: &TokenizerOptions) -> Result<TokenizerInfo> {
        hf::load(json, opts)
    }

    /// Loads a Hugging Face `tokenizer.json` file; see [`TokenizerInfo::from_hf_json`].
    pub fn from_hf_json_file(
        path: impl AsRef<Path>,
        opts: &TokenizerOptions,
    ) -> Result<TokenizerInfo> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|e| Error::tokenizer(format!("cannot read {}: {e}", path.display())))?;
        Self::from_hf_json(&json, opts)
    }

    /// Builds from an encoded vocab as the tokenizer stores it (e.g. "Ġhello", "<0x0A>",
    /// "▁the"); id = index. Empty entries are holes (no token). No token is special except
    /// holes and padding; stop tokens are detected by name unless given.
    pub fn from_vocab<S: AsRef<[u8]>>(
        encoded: &[S],
        vocab_type: VocabType,
        opts: &TokenizerOptions,
    ) -> Result<TokenizerInfo> {
        if encoded.len() > MAX_VOCAB_SIZE {
            return Err(Error::invalid(format!(
                "vocabulary of {} entries exceeds the limit of {MAX_VOCAB_SIZE}",
                encoded.len()
            )));
        }
        let mut detected_stops = Vec::new();
        let entries: Vec<Option<Entry<'_>>> = encoded
            .iter()
            .enumerate()
            .map(|(id, e)| {
                let e = e.as_ref();
                if e.is_empty() {
                    return None;
                }
                if is_stop_name(e) {
                    detected_stops.push(id as u32);
                }
                Some(Entry {
                    encoded: e,
                    bytes: decode::decode_token(vocab_type, e),
                    special: false,
                })
            })
            .collect();
        let id_space = entries.len();
        assemble(Assembly {
            entries,
            id_space,
            vocab_type,
            add_prefix_space: opts.add_prefix_space,
            detected_stops,
            opts,
            hf: None,
        })
    }

    /// Guess the vocab type from an encoded vocab alone (byte tokens <0xHH> → ByteFallback;
    /// Ġ/Ċ-style GPT-2 map → ByteLevel; else Raw). Full-size vocabularies use XGrammar's
    /// thresholds (≥128 byte tokens; ≥128 one-char byte-level entries and ≥99% of entries in
    /// the byte-level alphabet); small ones go by whichever markers (`<0xHH>`/`▁` versus
    /// `Ġ`/`Ċ`/`ĉ`) are more common.
    pub fn detect_vocab_type<S: AsRef<[u8]>>(encoded: &[S]) -> VocabType {
        decode::detect(encoded)
    }

    /// The mask width: the model's vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.width
    }

    /// How the vocabulary is encoded.
    pub fn vocab_type(&self) -> VocabType {
        self.vocab_type
    }

    /// Whether the tokenizer prepends a space to its input (metadata; see
    /// [`TokenizerOptions::add_prefix_space`]).
    pub fn add_prefix_space(&self) -> bool {
        self.add_prefix_space
    }

    /// Decoded bytes of `id`; None for holes, padding and dropped ids. Special tokens give
    /// their content (e.g. `<|eot_id|>`).
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        let i = self.present(id)?;
        Some(&self.bytes[self.byte_off[i] as usize..self.byte_off[i + 1] as usize])
    }

    /// The entry as stored in the vocabulary (e.g. "Ġhello"); None where
    /// [`TokenizerInfo::token_bytes`] is None or the entry is not UTF-8 (raw vocabularies).
    pub fn encoded_token(&self, id: u32) -> Option<&str> {
        let i = self.present(id)?;
        std::str::from_utf8(&self.encoded[self.enc_off[i] as usize..self.enc_off[i + 1] as usize])
            .ok()
    }

    /// Stop tokens, sorted.
    pub fn stop_token_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Ids below the mask width that are never text: special added tokens, control tokens,
    /// tokens decoding to nothing, holes of the id space and padding ids; sorted. Stop tokens
    /// appear here when they are special added tokens (as they usually are).
    pub fn special_token_ids(&self) -> &[u32] {
        &self.special_ids
    }

    /// True iff a grammar may emit this token as text: it exists, is below vocab_size, is not
    /// special, not a stop token, and decodes to at least one byte.
    pub fn is_text_token(&self, id: u32) -> bool {
        self.flags.get(id as usize).is_some_and(|f| f & TEXT != 0)
    }

    /// True iff `id` is a stop token.
    pub fn is_stop_token(&self, id: u32) -> bool {
        self.flags.get(id as usize).is_some_and(|f| f & STOP != 0)
    }

    /// Ids of all text tokens, sorted by their decoded bytes (lexicographic; ties by id).
    pub fn sorted_text_tokens(&self) -> &[u32] {
        &self.sorted_text
    }

    /// Heap bytes held (the lazily built Hugging Face tokenizer behind
    /// [`TokenizerInfo::encode`] is not counted, its pending JSON is).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.flags.capacity()
            + self.bytes.capacity()
            + self.encoded.capacity()
            + 4 * (self.byte_off.capacity()
                + self.enc_off.capacity()
                + self.stop_ids.capacity()
                + self.special_ids.capacity()
                + self.sorted_text.capacity())
            + self.hf.as_ref().map_or(0, HfEncoder::pending_json_len)
    }

    /// Tokenize `text` as a continuation (no special tokens added, no SentencePiece leading ▁)
    /// with the underlying HF tokenizer, when built from tokenizer.json; None otherwise (or if
    /// the `tokenizers` crate cannot load that file). The HF tokenizer is built on first call.
    pub fn encode(&self, text: &str) -> Option<Vec<u32>> {
        let tokenizer = self.hf.as_ref()?.get()?;
        let encoding =
            std::panic::catch_unwind(AssertUnwindSafe(|| tokenizer.encode(text, false).ok()))
                .ok()??;
        Some(encoding.get_ids().to_vec())
    }

    /// Index of `id` if it is a present token below the width.
    fn present(&self, id: u32) -> Option<usize> {
        let i = id as usize;
        (self.flags.get(i)? & PRESENT != 0).then_some(i)
    }
}

/// Everything [`assemble`] needs.
struct Assembly<'a, 'o> {
    /// Token per id of the tokenizer's id space (None = hole).
    entries: Vec<Option<Entry<'a>>>,
    /// Max id + 1 of the tokenizer.
    id_space: usize,
    vocab_type: VocabType,
    add_prefix_space: bool,
    /// Stop ids detected by the loader, used when the options give none.
    detected_stops: Vec<u32>,
    opts: &'o TokenizerOptions,
    hf: Option<HfEncoder>,
}

/// Builds the final tables: applies the width, the stop tokens and the text classification.
fn assemble(a: Assembly<'_, '_>) -> Result<TokenizerInfo> {
    let width = a.opts.vocab_size.unwrap_or(a.id_space);
    if width == 0 {
        return Err(Error::invalid("vocab_size is 0 (empty vocabulary)"));
    }
    if width > MAX_VOCAB_SIZE {
        return Err(Error::invalid(format!(
            "vocab_size {width} exceeds the limit of {MAX_VOCAB_SIZE}"
        )));
    }
    let stop_ids: Vec<u32> = match &a.opts.stop_token_ids {
        Some(ids) => {
            if let Some(bad) = ids.iter().find(|&&id| id as usize >= width) {
                return Err(Error::invalid(format!(
                    "stop token id {bad} is out of range (vocab_size {width})"
                )));
            }
            ids.clone()
        }
        None => a
            .detected_stops
            .into_iter()
            .filter(|&id| (id as usize) < width)
            .collect(),
    };

    let mut flags = vec![0u8; width];
    let mut bytes = Vec::new();
    let mut encoded = Vec::new();
    let mut byte_off = Vec::with_capacity(width + 1);
    let mut enc_off = Vec::with_capacity(width + 1);
    byte_off.push(0u32);
    enc_off.push(0u32);
    let mut entries = a.entries.into_iter();
    for flag in flags.iter_mut() {
        if let Some(Some(entry)) = entries.next() {
            *flag = PRESENT;
            if entry.special || entry.bytes.is_empty() {
                *flag |= SPECIAL;
            }
            bytes.extend_from_slice(&entry.bytes);
            encoded.extend_from_slice(entry.encoded);
        } else {
            *flag = SPECIAL;
        }
        let too_big = || Error::tokenizer("vocabulary text exceeds 4 GiB");
        byte_off.push(u32::try_from(bytes.len()).map_err(|_| too_big())?);
        enc_off.push(u32::try_from(encoded.len()).map_err(|_| too_big())?);
    }
    for &id in &stop_ids {
        flags[id as usize] |= STOP;
    }
    let mut special_ids = Vec::new();
    let mut sorted_text = Vec::new();
    let mut stops = Vec::new();
    for (id, flag) in flags.iter_mut().enumerate() {
        let id = id as u32;
        if *flag & SPECIAL != 0 {
            special_ids.push(id);
        }
        if *flag & STOP != 0 {
            stops.push(id);
        }
        if *flag & (PRESENT | SPECIAL | STOP) == PRESENT {
            *flag |= TEXT;
            sorted_text.push(id);
        }
    }
    let slice = |id: u32| {
        let i = id as usize;
        &bytes[byte_off[i] as usize..byte_off[i + 1] as usize]
    };
    sorted_text.sort_unstable_by(|&x, &y| slice(x).cmp(slice(y)).then(x.cmp(&y)));
    bytes.shrink_to_fit();
    encoded.shrink_to_fit();
    Ok(TokenizerInfo {
        vocab_type: a.vocab_type,
        add_prefix_space: a.add_prefix_space,
        width,
        flags,
        bytes,
        byte_off,
        encoded,
        enc_off,
        stop_ids: stops,
        special_ids,
        sorted_text,
        hf: a.hf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TokenizerOptions {
        TokenizerOptions::default()
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<TokenizerInfo>();
    }

    #[test]
    fn raw_vocab_basics() {
        let vocab = ["a", "b", "", "ab", "</s>", "\u{ff}"];
        let info = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &opts()).unwrap();
        assert_eq!(info.vocab_size(), 6);
        assert_eq!(info.stop_token_ids(), &[4]);
        assert_eq!(info.special_token_ids(), &[2]);
        assert_eq!(info.token_bytes(2), None);
        assert_eq!(info.encoded_token(3), Some("ab"));
        assert!(!info.is_text_token(2) && !info.is_text_token(4) && !info.is_text_token(6));
        assert_eq!(info.sorted_text_tokens(), &[0, 3, 1, 5]);
        assert!(info.memory_bytes() > 0);
        assert_eq!(info.encode("ab"), None);
    }

    #[test]
    fn width_pads_and_drops() {
        let vocab = ["a", "b", "</s>"];
        let o = TokenizerOptions {
            vocab_size: Some(5),
            ..opts()
        };
        let info = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &o).unwrap();
        assert_eq!(info.special_token_ids(), &[3, 4]);
        assert_eq!(info.stop_token_ids(), &[2]);
        let o = TokenizerOptions {
            vocab_size: Some(2),
            ..opts()
        };
        let info = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &o).unwrap();
        assert_eq!(info.stop_token_ids(), &[] as &[u32]);
        assert_eq!(info.token_bytes(2), None);
        assert_eq!(info.sorted_text_tokens(), &[0, 1]);
    }

    #[test]
    fn explicit_stops_are_validated() {
        let vocab = ["a", "b"];
        let o = TokenizerOptions {
            stop_token_ids: Some(vec![1, 1]),
            ..opts()
        };
        let info = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &o).unwrap();
        assert_eq!(info.stop_token_ids(), &[1]);
        assert!(info.is_stop_token(1) && !info.is_text_token(1));
        let o = TokenizerOptions {
            stop_token_ids: Some(vec![2]),
            ..opts()
        };
        let err = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &o).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::InvalidArgument);
        let empty: [&str; 0] = [];
        assert!(TokenizerInfo::from_vocab(&empty, VocabType::Raw, &opts()).is_err());
    }
}
