//! TokenizerInfo against real tokenizers: every token's bytes equal what the Hugging Face
//! tokenizer itself decodes, stop/special detection, padding and dropping of ids, encoding
//! round trips, `from_vocab`, and errors.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use common::tokenizers::{NAMES, json, load, load_with};
use tokenizers::Tokenizer;
use xgr::ErrorKind;
use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};

/// GPT-2's byte → char table, written out independently of the library.
fn gpt2_byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
        let c = if printable {
            b
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(c).unwrap();
    }
    table
}

/// Ways to complete a byte string that is broken UTF-8 only at its ends.
const PREFIXES: &[&[u8]] = &[
    b"",
    b"\xC3",
    b"\xE4",
    b"\xE4\x80",
    b"\xF1",
    b"\xF1\x80",
    b"\xF1\x80\x80",
];
const SUFFIXES: &[&[u8]] = &[
    b"",
    b"\x80",
    b"\x80\x80",
    b"\x80\x80\x80",
    b"\xA0",
    b"\xA0\x80",
    b"\x90",
    b"\x90\x80",
    b"\x90\x80\x80",
];

/// Prefix and suffix that make `bytes` valid UTF-8, if short ones exist.
fn completion(bytes: &[u8]) -> Option<(&'static [u8], &'static [u8])> {
    for p in PREFIXES {
        for s in SUFFIXES {
            if std::str::from_utf8(&[*p, bytes, *s].concat()).is_ok() {
                return Some((p, s));
            }
        }
    }
    None
}

/// Checks that every id's bytes are what the HF tokenizer decodes. Returns the number of ids
/// checked only lossily (bytes that cannot be completed to valid UTF-8: 0xC0, 0xC1, 0xF5..).
fn check_all_tokens(name: &str, info: &TokenizerInfo, hf: &Tokenizer) -> usize {
    let id_space = hf
        .get_vocab(true)
        .values()
        .max()
        .map_or(0, |&m| m as usize + 1);
    assert_eq!(info.vocab_size(), id_space, "{name}: id space");

    // One token per single byte, to complete partial UTF-8 sequences.
    let byte_chars = gpt2_byte_chars();
    let byte_id = |b: u8| -> u32 {
        hf.token_to_id(&format!("<0x{b:02X}>"))
            .or_else(|| hf.token_to_id(&byte_chars[b as usize].to_string()))
            .unwrap_or_else(|| panic!("{name}: no token for byte {b:#04x}"))
    };
    let byte_ids: Vec<u32> = (0..=255u8).map(byte_id).collect();
    // An anchor before the token keeps decoders from stripping its leading space.
    let anchor = hf.token_to_id("a").expect("token \"a\"");
    assert_eq!(hf.decode(&[anchor], false).unwrap(), "a");

    let mut lossy = 0;
    for id in 0..id_space as u32 {
        let Some(hf_token) = hf.id_to_token(id) else {
            assert_eq!(info.token_bytes(id), None, "{name}: hole {id}");
            assert!(!info.is_text_token(id), "{name}: hole {id} is text");
            assert!(
                info.special_token_ids().binary_search(&id).is_ok(),
                "{name}: hole {id}"
            );
            continue;
        };
        assert_eq!(
            info.encoded_token(id),
            Some(hf_token.as_str()),
            "{name}: entry {id}"
        );
        let ours = info
            .token_bytes(id)
            .unwrap_or_else(|| panic!("{name}: no bytes for {id}"));
        let mut ids = vec![anchor];
        let (expected, lossless) = match completion(ours) {
            Some((p, s)) => {
                ids.extend(p.iter().map(|&b| byte_ids[b as usize]));
                ids.push(id);
                ids.extend(s.iter().map(|&b| byte_ids[b as usize]));
                (String::from_utf8([p, ours, s].concat()).unwrap(), true)
            }
            None => {
                ids.push(id);
                (String::from_utf8_lossy(ours).into_owned(), false)
            }
        };
        let decoded = hf.decode(&ids, false).unwrap();
        assert_eq!(
            decoded.strip_prefix('a'),
            Some(expected.as_str()),
            "{name}: token {id} {hf_token:?} decodes to {ours:?}"
        );
        lossy += usize::from(!lossless);
    }
    lossy
}

#[test]
fn every_token_decodes_like_hf() {
    for name in NAMES {
        let text = json(name);
        let info = TokenizerInfo::from_hf_json(&text, &TokenizerOptions::default()).unwrap();
        let hf: Tokenizer = text.parse().unwrap();
        let lossy = check_all_tokens(name, &info, &hf);
        eprintln!(
            "{name}: {lossy} of {} tokens checked lossily",
            info.vocab_size()
        );
        // Only single bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5..0xFF) are lossy.
        assert!(lossy <= 13, "{name}: {lossy} lossy");
    }
}

#[test]
fn vocab_types_and_prefix_space() {
    let expect = [
        ("gpt2-50k", VocabType::ByteLevel, false),
        ("llama2-32k", VocabType::ByteFallback, true),
        ("llama3-128k", VocabType::ByteLevel, false),
    ];
    for (name, ty, prefix) in expect {
        let info = load(name);
        assert_eq!(info.vocab_type(), ty, "{name}");
        assert_eq!(info.add_prefix_space(), prefix, "{name}");
        let encoded: Vec<&str> = (0..info.vocab_size() as u32)
            .filter_map(|id| info.encoded_token(id))
            .collect();
        assert_eq!(TokenizerInfo::detect_vocab_type(&encoded), ty, "{name}");
    }
    let o = TokenizerOptions {
        add_prefix_space: true,
        ..Default::default()
    };
    assert!(load_with("gpt2-50k", &o).add_prefix_space());
}

#[test]
fn stop_and_special_tokens() {
    let gpt2 = load("gpt2-50k");
    assert_eq!(gpt2.stop_token_ids(), &[50256]);
    assert_eq!(gpt2.special_token_ids(), &[50256]);
    assert_eq!(gpt2.token_bytes(50256), Some(&b"<|endoftext|>"[..]));

    let llama2 = load("llama2-32k");
    assert_eq!(llama2.stop_token_ids(), &[2]);
    assert_eq!(llama2.special_token_ids(), &[0, 1, 2]);
    assert_eq!(llama2.token_bytes(13), Some(&b"\n"[..])); // <0x0A>
    assert!(llama2.is_text_token(3) && llama2.is_text_token(258)); // <0x00>, <0xFF>

    let llama3 = load("llama3-128k");
    assert_eq!(llama3.stop_token_ids(), &[128001, 128009]);
    let specials: Vec<u32> = (128000..128256).collect();
    assert_eq!(llama3.special_token_ids(), &specials[..]);
    for info in [&gpt2, &llama2, &llama3] {
        for &id in info.special_token_ids().iter().chain(info.stop_token_ids()) {
            assert!(!info.is_text_token(id));
        }
        let text = info.sorted_text_tokens();
        assert_eq!(
            text.len() + info.special_token_ids().len(),
            info.vocab_size()
        );
        assert!(text.iter().all(|&id| info.is_text_token(id)));
        for w in text.windows(2) {
            let (a, b) = (
                info.token_bytes(w[0]).unwrap(),
                info.token_bytes(w[1]).unwrap(),
            );
            assert!(a < b || (a == b && w[0] < w[1]));
        }
        assert!(info.memory_bytes() > info.vocab_size() * 4);
    }
    // The smallest byte string is the NUL byte token.
    assert_eq!(
        llama3.token_bytes(llama3.sorted_text_tokens()[0]),
        Some(&b"\0"[..])
    );
}

#[test]
fn explicit_stop_tokens() {
    let o = TokenizerOptions {
        stop_token_ids: Some(vec![128009, 13]),
        ..Default::default()
    };
    let info = load_with("llama3-128k", &o);
    assert_eq!(info.stop_token_ids(), &[13, 128009]);
    assert!(!info.is_text_token(13) && info.is_stop_token(13));
    assert!(!info.sorted_text_tokens().contains(&13));
    assert_eq!(info.token_bytes(13), Some(&b"."[..]));

    let text = json("gpt2-50k");
    let o = TokenizerOptions {
        stop_token_ids: Some(vec![50257]),
        ..Default::default()
    };
    let err = TokenizerInfo::from_hf_json(&text, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // In range once padded.
    let o = TokenizerOptions {
        stop_token_ids: Some(vec![50257]),
        vocab_size: Some(50304),
        ..Default::default()
    };
    assert_eq!(
        TokenizerInfo::from_hf_json(&text, &o)
            .unwrap()
            .stop_token_ids(),
        &[50257]
    );
}

#[test]
fn padding_and_dropping() {
    let padded = load_with(
        "llama3-128k",
        &TokenizerOptions {
            vocab_size: Some(128512),
            ..Default::default()
        },
    );
    assert_eq!(padded.vocab_size(), 128512);
    for id in 128256..128520 {
        assert!(!padded.is_text_token(id));
        assert_eq!(padded.token_bytes(id), None);
        assert_eq!(padded.encoded_token(id), None);
    }
    assert_eq!(padded.special_token_ids().len(), 512);
    assert_eq!(padded.sorted_text_tokens().len(), 128000);
    assert_eq!(padded.stop_token_ids(), &[128001, 128009]);

    let dropped = load_with(
        "llama3-128k",
        &TokenizerOptions {
            vocab_size: Some(128000),
            ..Default::default()
        },
    );
    assert_eq!(dropped.vocab_size(), 128000);
    assert_eq!(dropped.token_bytes(128001), None);
    assert!(!dropped.is_text_token(128001));
    assert!(dropped.special_token_ids().is_empty());
    assert!(dropped.stop_token_ids().is_empty());
    assert_eq!(dropped.sorted_text_tokens().len(), 128000);

    let small = load_with(
        "gpt2-50k",
        &TokenizerOptions {
            vocab_size: Some(100),
            ..Default::default()
        },
    );
    assert_eq!(small.sorted_text_tokens().len(), 100);
    assert!(small.stop_token_ids().is_empty());
}

const TEXTS: &[&str] = &[
    "Hello, world!",
    " leading space and trailing  ",
    "{\"name\": \"Zoë\", \"city\": \"Kraków\", \"emoji\": \"🤖👍🏽\", \"n\": [1, 2.5e-3]}",
    "日本語のテキストと中文文本\n\tand a tab",
    "Ünïcödé ✓ — ½ ∑ 𝔘 \u{fffd}",
    "<think>not special here</think>",
];

#[test]
fn encode_round_trips() {
    for name in NAMES {
        let info = load(name);
        let original: Tokenizer = json(name).parse().unwrap();
        for text in TEXTS {
            let ids = info
                .encode(text)
                .unwrap_or_else(|| panic!("{name}: encode"));
            let bytes: Vec<u8> = ids
                .iter()
                .flat_map(|&id| info.token_bytes(id).unwrap().to_vec())
                .collect();
            assert_eq!(String::from_utf8_lossy(&bytes), *text, "{name}: {ids:?}");
            assert!(
                ids.iter().all(|&id| info.is_text_token(id)),
                "{name}: {text}"
            );
            if info.vocab_type() == VocabType::ByteLevel {
                let hf_ids = original.encode(*text, false).unwrap().get_ids().to_vec();
                assert_eq!(ids, hf_ids, "{name}: {text}");
            }
        }
    }
    // SentencePiece: no leading ▁ for a continuation.
    let llama2 = load("llama2-32k");
    for text in ["{\"a\"", "hello", "1"] {
        let ids = llama2.encode(text).unwrap();
        assert!(
            !llama2.token_bytes(ids[0]).unwrap().starts_with(b" "),
            "{text}: {ids:?}"
        );
    }
    assert_eq!(
        TokenizerInfo::from_vocab(&["a"], VocabType::Raw, &Default::default())
            .unwrap()
            .encode("a"),
        None
    );
}

#[test]
fn from_vocab_each_type() {
    let o = TokenizerOptions::default();
    let raw = TokenizerInfo::from_vocab(&["a", "▁b", "</s>", "", "\u{0120}x"], VocabType::Raw, &o)
        .unwrap();
    assert_eq!(raw.vocab_type(), VocabType::Raw);
    assert_eq!(raw.token_bytes(1), Some("▁b".as_bytes()));
    assert_eq!(raw.token_bytes(3), None);
    assert_eq!(raw.stop_token_ids(), &[2]);
    assert_eq!(raw.special_token_ids(), &[3]);
    assert_eq!(raw.sorted_text_tokens(), &[0, 4, 1]);

    let bytes: [&[u8]; 3] = [b"\xff", b"ok", b"\xe2\x96\x81"];
    let raw_bytes = TokenizerInfo::from_vocab(&bytes, VocabType::Raw, &o).unwrap();
    assert_eq!(raw_bytes.token_bytes(0), Some(&b"\xff"[..]));
    assert_eq!(raw_bytes.encoded_token(0), None);
    assert_eq!(raw_bytes.sorted_text_tokens(), &[1, 2, 0]);

    let sp = [
        "<unk>", "<s>", "</s>", "<0x0A>", "<0xE2>", "▁hello", "▁", "x▁y",
    ];
    let sp = TokenizerInfo::from_vocab(&sp, VocabType::ByteFallback, &o).unwrap();
    assert_eq!(sp.token_bytes(3), Some(&b"\n"[..]));
    assert_eq!(sp.token_bytes(4), Some(&b"\xe2"[..]));
    assert_eq!(sp.token_bytes(5), Some(&b" hello"[..]));
    assert_eq!(sp.token_bytes(6), Some(&b" "[..]));
    assert_eq!(sp.token_bytes(7), Some(&b"x y"[..]));
    assert_eq!(sp.encoded_token(5), Some("▁hello"));
    assert_eq!(sp.stop_token_ids(), &[2]);
    assert!(sp.is_text_token(0)); // from_vocab knows no specials

    let bl = ["Ġhello", "Ċ", "Ã©", "<|endoftext|>", "ĠæĹ¥", "a"];
    let bl = TokenizerInfo::from_vocab(&bl, VocabType::ByteLevel, &o).unwrap();
    assert_eq!(bl.token_bytes(0), Some(&b" hello"[..]));
    assert_eq!(bl.token_bytes(1), Some(&b"\n"[..]));
    assert_eq!(bl.token_bytes(2), Some("é".as_bytes()));
    assert_eq!(bl.token_bytes(3), Some(&b"<|endoftext|>"[..]));
    assert_eq!(bl.token_bytes(4), Some(&b" \xe6\x97\xa5"[..]));
    assert_eq!(bl.stop_token_ids(), &[3]);
    assert_eq!(
        TokenizerInfo::detect_vocab_type(&["Ġhello", "Ċ", "a"]),
        VocabType::ByteLevel
    );
    assert_eq!(
        TokenizerInfo::detect_vocab_type(&["<0x0A>", "▁a"]),
        VocabType::ByteFallback
    );
    assert_eq!(
        TokenizerInfo::detect_vocab_type(&["hello", "world"]),
        VocabType::Raw
    );

    // Padding, dropping and errors.
    let padded = TokenizerInfo::from_vocab(
        &["a", "b"],
        VocabType::Raw,
        &TokenizerOptions {
            vocab_size: Some(64),
            stop_token_ids: Some(vec![63]),
            ..o.clone()
        },
    )
    .unwrap();
    assert_eq!(padded.vocab_size(), 64);
    assert_eq!(padded.special_token_ids().len(), 62);
    assert_eq!(padded.stop_token_ids(), &[63]);
    let errors = [
        TokenizerInfo::from_vocab(
            &["a", "b"],
            VocabType::Raw,
            &TokenizerOptions {
                stop_token_ids: Some(vec![2]),
                ..o.clone()
            },
        ),
        TokenizerInfo::from_vocab(
            &["a"],
            VocabType::ByteLevel,
            &TokenizerOptions {
                vocab_size: Some(0),
                ..o.clone()
            },
        ),
        TokenizerInfo::from_vocab(
            &["a"],
            VocabType::ByteFallback,
            &TokenizerOptions {
                vocab_size: Some(usize::MAX),
                ..o.clone()
            },
        ),
        TokenizerInfo::from_vocab(&[] as &[&str], VocabType::Raw, &o),
    ];
    for e in errors {
        assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn from_vocab_matches_hf_for_model_tokens() {
    let info = load("llama3-128k");
    let encoded: Vec<String> = (0..128000u32)
        .map(|id| info.encoded_token(id).unwrap().to_owned())
        .collect();
    let plain =
        TokenizerInfo::from_vocab(&encoded, VocabType::ByteLevel, &Default::default()).unwrap();
    for id in 0..128000u32 {
        assert_eq!(plain.token_bytes(id), info.token_bytes(id));
    }
    assert_eq!(plain.sorted_text_tokens(), info.sorted_text_tokens());
}

#[test]
fn malformed_input_is_an_error() {
    let o = TokenizerOptions::default();
    let text = json("gpt2-50k");
    let cases: Vec<String> = vec![
        String::new(),
        "not json".into(),
        "null".into(),
        "{}".into(),
        String::from_utf8_lossy(&text.as_bytes()[..text.len() / 2]).into_owned(),
        text.replacen("\"vocab\"", "\"vocabulary\"", 1),
        text.replacen(
            "\"decoder\":{\"type\":\"ByteLevel\"",
            "\"decoder\":{\"type\":\"WordPiece\"",
            1,
        ),
        r#"{"model": {"vocab": {"a": 0, "b": "x"}}}"#.into(),
        r#"{"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": 0.5, "content": "x"}]}"#.into(),
        r#"{"model": {"vocab": {"a": 0}}, "decoder": {"type": "Nope"}}"#.into(),
    ];
    for case in &cases {
        assert_ne!(case, &text);
        let err = TokenizerInfo::from_hf_json(case, &o).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tokenizer, "{err}");
    }
    let err = TokenizerInfo::from_hf_json_file("/nonexistent/tokenizer.json", &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tokenizer);
}

#[test]
fn loads_from_file() {
    let dir = std::env::temp_dir().join(format!("xgr-tok-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, json("gpt2-50k")).unwrap();
    let info = TokenizerInfo::from_hf_json_file(&path, &TokenizerOptions::default()).unwrap();
    assert_eq!(info.vocab_size(), 50257);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The five tokenizers of the shared data folder, when it is present.
#[test]
fn all_shared_tokenizers() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/tokenizers"
    ));
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let names = [
        "gpt2-50k",
        "llama2-32k",
        "llama3-128k",
        "qwen3-151k",
        "o200k-gpt4o",
    ];
    let mut infos = HashMap::new();
    for name in names {
        let path = dir.join(name).join("tokenizer.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let start = Instant::now();
        let info = TokenizerInfo::from_hf_json(&text, &TokenizerOptions::default()).unwrap();
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        let hf: Tokenizer = text.parse().unwrap();
        let lossy = check_all_tokens(name, &info, &hf);
        eprintln!(
            "{name}: {:?}, width {}, {} text, {} special, stops {:?}, loaded in {load_ms:.0} ms, \
             {lossy} lossy, {} KiB",
            info.vocab_type(),
            info.vocab_size(),
            info.sorted_text_tokens().len(),
            info.special_token_ids().len(),
            info.stop_token_ids(),
            info.memory_bytes() / 1024
        );
        assert!(lossy <= 13, "{name}");
        for text in TEXTS {
            let ids = info.encode(text).unwrap();
            let bytes: Vec<u8> = ids
                .iter()
                .flat_map(|&id| info.token_bytes(id).unwrap().to_vec())
                .collect();
            assert_eq!(String::from_utf8_lossy(&bytes), *text, "{name}");
        }
        infos.insert(name, info);
    }

    let qwen = &infos["qwen3-151k"];
    assert_eq!(qwen.vocab_type(), VocabType::ByteLevel);
    assert_eq!(qwen.vocab_size(), 151669);
    assert_eq!(qwen.stop_token_ids(), &[151643, 151645]);
    for tag in ["<think>", "</think>", "<tool_call>", "</tool_call>"] {
        let id = (151643..151669)
            .find(|&id| qwen.encoded_token(id) == Some(tag))
            .unwrap();
        assert!(qwen.is_text_token(id), "{tag}");
        assert_eq!(qwen.token_bytes(id), Some(tag.as_bytes()));
    }
    assert!(!qwen.is_text_token(151644)); // <|im_start|>
    assert_eq!(qwen.special_token_ids().len(), 14);
    // The ordinary BPE token "</s>" is not a stop token in Qwen.
    assert!(qwen.is_text_token(128247));
    let ids = qwen.encode("<think>x</think>").unwrap();
    assert_eq!(ids.first(), Some(&151667));

    let o200k = &infos["o200k-gpt4o"];
    assert_eq!(o200k.vocab_size(), 200019);
    assert_eq!(o200k.stop_token_ids(), &[199999]);
    let holes: Vec<u32> = std::iter::once(199998).chain(200000..200018).collect();
    for &id in &holes {
        assert!(!o200k.is_text_token(id));
        assert_eq!(o200k.token_bytes(id), None);
    }
    let mut special = holes.clone();
    special.extend([199999, 200018]);
    special.sort_unstable();
    assert_eq!(o200k.special_token_ids(), &special[..]);
    assert_eq!(o200k.sorted_text_tokens().len(), 199998);
}
