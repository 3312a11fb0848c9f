//! Loading a Hugging Face `tokenizer.json`.
//!
//! The file is read as plain JSON (fast: no merges table is built). From it come:
//!
//! - the id → entry table: the model's vocab (a map for BPE/WordLevel, a list of
//!   `[piece, score]` for Unigram) overlaid with `added_tokens` (an added token owns its id,
//!   as in the HF decoder). An added token that is also the model's token at that id decodes
//!   as a model token; any other added token's bytes are its content. Added tokens marked
//!   `special` are never text; the others (Qwen3 `<think>`) are text.
//! - the vocab type, from the decoder (`ByteLevel` → byte-level; `ByteFallback`, `Metaspace`
//!   or `Replace ▁→space` → byte-fallback), else from hints in the pre-tokenizer, normalizer and
//!   model (`byte_fallback`), else from the vocab itself; then cross-checked against the vocab.
//!   Decoders that would decode differently (`WordPiece`, `BPEDecoder`, `CTC`, other
//!   `Replace`s) are rejected rather than decoded wrongly.
//! - stop tokens by name (added tokens first) plus eos tokens the post-processor appends.
//! - `add_prefix_space`: a `Prepend ▁` normalizer, a `Metaspace` pre-tokenizer that prepends,
//!   or a `ByteLevel` pre-tokenizer with `add_prefix_space`.
//! - a continuation variant of the JSON (those prepends switched off) kept for
//!   [`TokenizerInfo::encode`].

use std::borrow::Cow;
use std::ops::Range;

use serde_json::{Map, Value};

use super::decode::{VocabStats, decode_token};
use super::scan;
use super::{
    Assembly, Entry, HfEncoder, MAX_VOCAB_SIZE, TokenizerInfo, TokenizerOptions, VocabType,
    assemble, is_stop_name,
};
use crate::error::{Error, Result};

/// SentencePiece's space marker.
const MARKER: &str = "\u{2581}";

/// One id's entry while loading.
#[derive(Clone, Copy)]
struct Slot<'a> {
    content: &'a str,
    /// Decode with the vocab type (a model token) rather than taking the content verbatim.
    model: bool,
    special: bool,
}

/// What the decoder does.
#[derive(Default)]
struct DecoderSteps {
    byte_level: bool,
    byte_fallback: bool,
    /// `▁` → space (Metaspace or Replace).
    space_marker: bool,
}

/// Loads `json`; see [`TokenizerInfo::from_hf_json`].
pub(super) fn load(json: &str, opts: &TokenizerOptions) -> Result<TokenizerInfo> {
    // Parse without the merges when the text can be cut (most of the file; unused here).
    let cut = cut_merges(json);
    let mut root: Value = serde_json::from_str(cut.as_ref().map_or(json, |c| &c.text))
        .map_err(|e| Error::tokenizer(format!("tokenizer.json is not valid JSON: {e}")))?;
    if !root.is_object() {
        return Err(Error::tokenizer(
            "tokenizer.json: top level is not an object",
        ));
    }

    // Facts read before the continuation edits below change the normalizer/pre-tokenizer.
    let detected_prefix = prepends_space(&root);
    let mut steps = DecoderSteps::default();
    match root.get("decoder") {
        None | Some(Value::Null) => {}
        Some(d) => decoder_steps(d, &mut steps)?,
    }
    let pre_byte_level = find_type(root.get("pre_tokenizer"), "ByteLevel").is_some();
    let space_to_marker = maps_space_to_marker(&root);

    let continuation = if make_continuation(&mut root) {
        continuation_json(json, &root, cut.as_ref())?
    } else {
        json.to_owned()
    };

    let model = root
        .get("model")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::tokenizer("tokenizer.json: missing \"model\" object"))?;
    check_model(model)?;
    let model_byte_fallback = model.get("byte_fallback").and_then(Value::as_bool) == Some(true);

    let model_tokens = model_vocab(model)?;
    let added = added_tokens(&root)?;
    let id_space = model_tokens
        .iter()
        .map(|&(id, _)| id)
        .chain(added.iter().map(|&(id, _, _)| id))
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut slots: Vec<Option<Slot<'_>>> = vec![None; id_space];
    for &(id, content) in &model_tokens {
        let slot = &mut slots[id as usize];
        if let Some(prev) = slot {
            return Err(Error::tokenizer(format!(
                "tokenizer.json: id {id} is given to both {:?} and {content:?}",
                prev.content
            )));
        }
        *slot = Some(Slot {
            content,
            model: true,
            special: false,
        });
    }

    // Vocab type, from the decoder and hints, cross-checked against the model's vocab.
    let stats = VocabStats::of(model_tokens.iter().map(|&(_, t)| t.as_bytes()));
    let vocab_type = if steps.byte_level && (steps.byte_fallback || steps.space_marker) {
        return Err(Error::tokenizer(
            "tokenizer.json: the decoder mixes ByteLevel with ByteFallback/Metaspace",
        ));
    } else if steps.byte_level {
        VocabType::ByteLevel
    } else if steps.byte_fallback || steps.space_marker {
        VocabType::ByteFallback
    } else if pre_byte_level {
        VocabType::ByteLevel
    } else if space_to_marker || model_byte_fallback {
        VocabType::ByteFallback
    } else {
        stats.guess()
    };
    cross_check(
        vocab_type,
        &stats,
        &steps,
        model_byte_fallback,
        space_to_marker,
    )?;

    for &(id, content, special) in &added {
        let slot = &mut slots[id as usize];
        let model = matches!(slot, Some(s) if s.model && s.content == content);
        *slot = Some(Slot {
            content,
            model,
            special,
        });
    }

    // Stop tokens: by name among added tokens (else among all), plus the post-processor's eos.
    let mut detected_stops: Vec<u32> = added
        .iter()
        .filter(|&&(_, content, _)| is_stop_name(content.as_bytes()))
        .map(|&(id, _, _)| id)
        .collect();
    if detected_stops.is_empty() {
        detected_stops = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some_and(|s| is_stop_name(s.content.as_bytes())))
            .map(|(id, _)| id as u32)
            .collect();
    }
    detected_stops.extend(post_processor_eos(root.get("post_processor")));
    detected_stops.sort_unstable();
    detected_stops.dedup();

    let entries = slots
        .iter()
        .map(|slot| {
            slot.map(|s| Entry {
                encoded: s.content.as_bytes(),
                bytes: if s.model {
                    decode_token(vocab_type, s.content.as_bytes())
                } else {
                    Cow::Borrowed(s.content.as_bytes())
                },
                special: s.special,
            })
        })
        .collect();
    assemble(Assembly {
        entries,
        id_space,
        vocab_type,
        add_prefix_space: opts.add_prefix_space || detected_prefix,
        detected_stops,
        opts,
        hf: Some(HfEncoder::new(continuation)),
    })
}

/// The tokenizer.json text with the model's merges replaced by `[]`, and the byte ranges of
/// its top-level members.
struct CutText<'a> {
    text: String,
    top: Vec<(&'a str, Range<usize>)>,
}

fn cut_merges(json: &str) -> Option<CutText<'_>> {
    let top = scan::object_members(json, 0)?;
    let model = scan::member(&top, "model")?;
    let merges = scan::member(&scan::object_members(json, model.start)?, "merges")?;
    let text = scan::splice(json, &[(merges, "[]")])?;
    Some(CutText { text, top })
}

/// The original text with the (edited) normalizer and pre-tokenizer of `root` spliced in;
/// re-serializes `root` whole only when it was parsed from the uncut text.
fn continuation_json(json: &str, root: &Value, cut: Option<&CutText<'_>>) -> Result<String> {
    let ser = |v: &Value| {
        serde_json::to_string(v)
            .map_err(|e| Error::tokenizer(format!("tokenizer.json: cannot re-serialize: {e}")))
    };
    let Some(cut) = cut else { return ser(root) };
    let mut edits = Vec::new();
    for key in ["normalizer", "pre_tokenizer"] {
        if let Some(range) = scan::member(&cut.top, key) {
            edits.push((range, ser(root.get(key).unwrap_or(&Value::Null))?));
        }
    }
    edits.sort_by_key(|(range, _)| range.start);
    let edits: Vec<(Range<usize>, &str)> =
        edits.iter().map(|(r, s)| (r.clone(), s.as_str())).collect();
    scan::splice(json, &edits)
        .ok_or_else(|| Error::tokenizer("tokenizer.json: cannot build the continuation text"))
}

fn type_of(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

/// Rejects models whose tokens do not decode by concatenation.
fn check_model(model: &Map<String, Value>) -> Result<()> {
    let ty = model.get("type").and_then(Value::as_str).unwrap_or("BPE");
    if ty == "WordPiece" {
        return Err(Error::tokenizer(
            "tokenizer.json: WordPiece models are not supported",
        ));
    }
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
        if let Some(s) = model.get(key).and_then(Value::as_str)
            && !s.is_empty()
        {
            return Err(Error::tokenizer(format!(
                "tokenizer.json: BPE with {key} {s:?} is not supported"
            )));
        }
    }
    Ok(())
}

/// Parses a token id.
fn parse_id(v: &Value, what: &str) -> Result<u32> {
    match v.as_u64() {
        Some(id) if (id as usize) < MAX_VOCAB_SIZE => Ok(id as u32),
        Some(id) => Err(Error::tokenizer(format!(
            "tokenizer.json: {what} id {id} exceeds the limit of {MAX_VOCAB_SIZE}"
        ))),
        None => Err(Error::tokenizer(format!(
            "tokenizer.json: {what} has a bad id {v}"
        ))),
    }
}

/// The model's (id, token) pairs.
fn model_vocab(model: &Map<String, Value>) -> Result<Vec<(u32, &str)>> {
    match model.get("vocab") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(token, id)| Ok((parse_id(id, "vocab token")?, token.as_str())))
            .collect(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_VOCAB_SIZE {
                return Err(Error::tokenizer("tokenizer.json: vocab is too large"));
            }
            list.iter()
                .enumerate()
                .map(|(i, item)| {
                    let piece = item
                        .as_str()
                        .or_else(|| item.get(0).and_then(Value::as_str));
                    piece.map(|p| (i as u32, p)).ok_or_else(|| {
                        Error::tokenizer(format!("tokenizer.json: bad vocab entry {i}"))
                    })
                })
                .collect()
        }
        _ => Err(Error::tokenizer("tokenizer.json: model has no vocab")),
    }
}

/// The `added_tokens`: (id, content, special).
fn added_tokens(root: &Value) -> Result<Vec<(u32, &str, bool)>> {
    let list = match root.get("added_tokens") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(Error::tokenizer(
                "tokenizer.json: added_tokens is not a list",
            ));
        }
    };
    list.iter()
        .map(|t| {
            let id = t
                .get("id")
                .ok_or_else(|| Error::tokenizer("tokenizer.json: added token without id"))?;
            let id = parse_id(id, "added token")?;
            let content = t.get("content").and_then(Value::as_str).ok_or_else(|| {
                Error::tokenizer(format!("tokenizer.json: added token {id} without content"))
            })?;
            let special = t.get("special").and_then(Value::as_bool).unwrap_or(false);
            Ok((id, content, special))
        })
        .collect()
}

/// Records what the decoder does; errors on decoders that would decode otherwise.
fn decoder_steps(d: &Value, steps: &mut DecoderSteps) -> Result<()> {
    let unsupported =
        |what: &str| Error::tokenizer(format!("unsupported tokenizer decoder {what}"));
    match type_of(d) {
        Some("Sequence") => {
            let list = d.get("decoders").and_then(Value::as_array).ok_or_else(|| {
                Error::tokenizer("tokenizer.json: Sequence decoder without decoders")
            })?;
            for step in list {
                decoder_steps(step, steps)?;
            }
        }
        Some("ByteLevel") => steps.byte_level = true,
        Some("ByteFallback") => steps.byte_fallback = true,
        Some("Metaspace") => {
            let replacement = d
                .get("replacement")
                .and_then(Value::as_str)
                .unwrap_or(MARKER);
            if replacement != MARKER {
                return Err(unsupported(&format!(
                    "Metaspace with replacement {replacement:?}"
                )));
            }
            steps.space_marker = true;
        }
        Some("Replace") => {
            let pattern = d
                .get("pattern")
                .and_then(|p| p.get("String"))
                .and_then(Value::as_str);
            let content = d.get("content").and_then(Value::as_str);
            if pattern == Some(MARKER) && content == Some(" ") {
                steps.space_marker = true;
            } else {
                return Err(unsupported(&format!(
                    "Replace {}",
                    d.get("pattern").unwrap_or(&Value::Null)
                )));
            }
        }
        // Fuse joins tokens; Strip only trims the start/end of a whole decoded text.
        Some("Fuse") | Some("Strip") => {}
        Some(other) => return Err(unsupported(other)),
        None => return Err(Error::tokenizer("tokenizer.json: decoder without a type")),
    }
    Ok(())
}

/// Errors where the detected type would decode the vocabulary wrongly.
fn cross_check(
    vocab_type: VocabType,
    stats: &VocabStats,
    steps: &DecoderSteps,
    model_byte_fallback: bool,
    space_to_marker: bool,
) -> Result<()> {
    let guess = stats.guess();
    let conflict = matches!(
        (vocab_type, guess),
        (VocabType::ByteLevel, VocabType::ByteFallback)
            | (VocabType::ByteFallback, VocabType::ByteLevel)
    );
    if conflict {
        return Err(Error::tokenizer(format!(
            "tokenizer.json: the decoder says {vocab_type:?} but the vocabulary looks {guess:?}"
        )));
    }
    if vocab_type == VocabType::ByteFallback {
        if stats.byte_tokens > 0 && !steps.byte_fallback && !model_byte_fallback {
            return Err(Error::tokenizer(
                "tokenizer.json: <0xHH> tokens present but neither the model nor the decoder \
                 uses byte fallback",
            ));
        }
        if stats.space_marker > 0 && !steps.space_marker && !space_to_marker {
            return Err(Error::tokenizer(
                "tokenizer.json: tokens contain \u{2581} but nothing maps it to a space",
            ));
        }
    }
    Ok(())
}

/// Finds the first component of `type` in a normalizer/pre-tokenizer tree (through
/// `Sequence`s).
fn find_type<'a>(v: Option<&'a Value>, ty: &str) -> Option<&'a Value> {
    let mut found = None;
    visit(v, &mut |c| {
        if found.is_none() && type_of(c) == Some(ty) {
            found = Some(c);
        }
    });
    found
}

/// Calls `f` on every component of a normalizer/pre-tokenizer tree.
fn visit<'a>(v: Option<&'a Value>, f: &mut dyn FnMut(&'a Value)) {
    let Some(v) = v else { return };
    if type_of(v) == Some("Sequence") {
        for key in ["normalizers", "pretokenizers"] {
            for c in v.get(key).and_then(Value::as_array).into_iter().flatten() {
                visit(Some(c), f);
            }
        }
    } else if v.is_object() {
        f(v);
    }
}

/// Mutable twin of [`visit`].
fn visit_mut(v: Option<&mut Value>, f: &mut dyn FnMut(&mut Value)) {
    let Some(v) = v else { return };
    if type_of(v) == Some("Sequence") {
        for key in ["normalizers", "pretokenizers"] {
            if let Some(list) = v.get_mut(key).and_then(Value::as_array_mut) {
                for c in list {
                    visit_mut(Some(c), f);
                }
            }
        }
    } else if v.is_object() {
        f(v);
    }
}

fn is_prepend_marker(c: &Value) -> bool {
    type_of(c) == Some("Prepend") && c.get("prepend").and_then(Value::as_str) == Some(MARKER)
}

/// Whether a Metaspace pre-tokenizer prepends `▁` (new `prepend_scheme` or old
/// `add_prefix_space`, default true).
fn metaspace_prepends(c: &Value) -> bool {
    match c.get("prepend_scheme").and_then(Value::as_str) {
        Some(scheme) => scheme != "never",
        None => c
            .get("add_prefix_space")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}

/// Whether the tokenizer prepends a space or `▁` to its input.
fn prepends_space(root: &Value) -> bool {
    let mut yes = false;
    visit(root.get("normalizer"), &mut |c| yes |= is_prepend_marker(c));
    visit(root.get("pre_tokenizer"), &mut |c| match type_of(c) {
        Some("Metaspace") => yes |= metaspace_prepends(c),
        Some("ByteLevel") => {
            yes |= c.get("add_prefix_space").and_then(Value::as_bool) == Some(true);
        }
        _ => {}
    });
    yes
}

/// Whether the normalizer or pre-tokenizer turns spaces into `▁`.
fn maps_space_to_marker(root: &Value) -> bool {
    let mut yes = find_type(root.get("pre_tokenizer"), "Metaspace").is_some();
    visit(root.get("normalizer"), &mut |c| {
        let replace = type_of(c) == Some("Replace")
            && c.get("pattern")
                .and_then(|p| p.get("String"))
                .and_then(Value::as_str)
                == Some(" ")
            && c.get("content").and_then(Value::as_str) == Some(MARKER);
        yes |= replace || is_prepend_marker(c);
    });
    yes
}

/// Switches off everything that prepends a space to the input; true if anything changed.
fn make_continuation(root: &mut Value) -> bool {
    let mut changed = false;
    if let Some(norm) = root.get_mut("normalizer") {
        if is_prepend_marker(norm) {
            *norm = Value::Null;
            changed = true;
        } else {
            strip_prepends(norm, &mut changed);
        }
    }
    visit_mut(root.get_mut("pre_tokenizer"), &mut |c| match type_of(c) {
        Some("Metaspace") if metaspace_prepends(c) => {
            if let Some(obj) = c.as_object_mut() {
                if obj.contains_key("prepend_scheme") {
                    obj.insert("prepend_scheme".into(), Value::from("never"));
                }
                obj.insert("add_prefix_space".into(), Value::from(false));
                changed = true;
            }
        }
        Some("ByteLevel") if c.get("add_prefix_space").and_then(Value::as_bool) == Some(true) => {
            if let Some(obj) = c.as_object_mut() {
                obj.insert("add_prefix_space".into(), Value::from(false));
                changed = true;
            }
        }
        _ => {}
    });
    changed
}

/// Removes `Prepend ▁` normalizers from (nested) `Sequence`s.
fn strip_prepends(v: &mut Value, changed: &mut bool) {
    if type_of(v) != Some("Sequence") {
        return;
    }
    if let Some(list) = v.get_mut("normalizers").and_then(Value::as_array_mut) {
        let before = list.len();
        list.retain(|c| !is_prepend_marker(c));
        *changed |= list.len() != before;
        for c in list {
            strip_prepends(c, changed);
        }
    }
}

/// Ids of special tokens a `TemplateProcessing` post-processor appends after the sequence
/// (the eos of models that add one).
fn post_processor_eos(pp: Option<&Value>) -> Vec<u32> {
    let mut out = Vec::new();
    let Some(pp) = pp else { return out };
    match type_of(pp) {
        Some("Sequence") => {
            for p in pp
                .get("processors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(post_processor_eos(Some(p)));
            }
        }
        Some("TemplateProcessing") => {
            let Some(single) = pp.get("single").and_then(Value::as_array) else {
                return out;
            };
            let Some(last_seq) = single.iter().rposition(|p| p.get("Sequence").is_some()) else {
                return out;
            };
            for piece in &single[last_seq + 1..] {
                let Some(name) = piece
                    .get("SpecialToken")
                    .and_then(|s| s.get("id"))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                let ids = pp
                    .get("special_tokens")
                    .and_then(|s| s.get(name))
                    .and_then(|s| s.get("ids"))
                    .and_then(Value::as_array);
                for id in ids.into_iter().flatten() {
                    if let Ok(id) = parse_id(id, "post-processor token") {
                        out.push(id);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn load_str(json: &str) -> Result<TokenizerInfo> {
        load(json, &TokenizerOptions::default())
    }

    const SP: &str = r#"{
        "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
                         {"id": 2, "content": "</s>", "special": true}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": null,
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                  "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁a": 4, "b": 5},
                  "merges": []}
    }"#;

    #[test]
    fn sentencepiece_json() {
        let info = load_str(SP).unwrap();
        assert_eq!(info.vocab_type(), VocabType::ByteFallback);
        assert!(info.add_prefix_space());
        assert_eq!(info.stop_token_ids(), &[2]);
        assert_eq!(info.special_token_ids(), &[0, 2]);
        assert_eq!(info.token_bytes(3), Some(&b"\n"[..]));
        assert_eq!(info.token_bytes(4), Some(&b" a"[..]));
        assert!(info.is_text_token(1)); // "<s>" is not an added token here
    }

    #[test]
    fn continuation_drops_prepend() {
        let mut root: Value = serde_json::from_str(SP).unwrap();
        assert!(make_continuation(&mut root));
        assert!(!prepends_space(&root));
        assert!(maps_space_to_marker(&root));
    }

    #[test]
    fn rejects_bad_files() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"model": {}}"#,
            r#"{"model": {"vocab": {"a": -1}}}"#,
            r#"{"model": {"vocab": {"a": 0, "b": 0}}}"#,
            r#"{"model": {"vocab": {"a": 99999999999}}}"#,
            r#"{"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": 1}]}"#,
            r#"{"model": {"vocab": {"a": 0}}, "decoder": {"type": "WordPiece"}}"#,
            r#"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#,
            r#"{"model": {"vocab": {"<0x0A>": 0, "▁a": 1}}, "decoder": {"type": "ByteLevel"}}"#,
            r#"{"model": {"vocab": {"<0x0A>": 0}}, "decoder": {"type": "Metaspace"}}"#,
        ] {
            let err = load_str(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Tokenizer, "{bad}: {err}");
        }
    }

    #[test]
    fn byte_level_prefix_space_and_post_processor_eos() {
        let json = r#"{
            "version": "1.0", "truncation": null, "padding": null,
            "added_tokens": [{"id": 6, "content": "<|my_eos|>", "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true,
                              "trim_offsets": true, "use_regex": true},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "<|my_eos|>", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                "special_tokens": {"<|my_eos|>": {"id": "<|my_eos|>", "ids": [6],
                                                  "tokens": ["<|my_eos|>"]}}},
            "decoder": {"type": "ByteLevel", "add_prefix_space": true,
                        "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                      "continuing_subword_prefix": null, "end_of_word_suffix": null,
                      "fuse_unk": false, "byte_fallback": false,
                      "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "he": 5},
                      "merges": ["h e"]}
        }"#;
        let info = load_str(json).unwrap();
        assert_eq!(info.vocab_type(), VocabType::ByteLevel);
        assert!(info.add_prefix_space());
        assert_eq!(info.stop_token_ids(), &[6]);
        assert_eq!(info.special_token_ids(), &[6]);
        assert_eq!(info.token_bytes(4), Some(&b" "[..]));
        // The continuation tokenizer does not prepend a space.
        assert_eq!(info.encode("hello"), Some(vec![5, 2, 2, 3]));
        assert_eq!(info.encode(" he"), Some(vec![4, 5]));
    }

    #[test]
    fn unigram_list_vocab() {
        let json = r#"{"model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["▁x", -1.0]]},
                       "pre_tokenizer": {"type": "Metaspace", "replacement": "▁",
                                         "prepend_scheme": "always"},
                       "decoder": {"type": "Metaspace", "replacement": "▁",
                                   "prepend_scheme": "always"}}"#;
        let info = load_str(json).unwrap();
        assert_eq!(info.vocab_type(), VocabType::ByteFallback);
        assert_eq!(info.token_bytes(1), Some(&b" x"[..]));
        assert!(info.add_prefix_space());
    }
}
