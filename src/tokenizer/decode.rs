//! Turning an encoded vocabulary entry into the bytes the token emits.
//!
//! Three schemes, as in XGrammar and the Hugging Face decoders:
//!
//! - [`VocabType::Raw`]: the entry is the bytes.
//! - [`VocabType::ByteFallback`] (SentencePiece): an entry that is exactly `<0xHH>` is that
//!   one byte; otherwise every `▁` (U+2581) becomes a space and the rest is kept.
//! - [`VocabType::ByteLevel`] (GPT-2): every char maps back to one byte through the inverse of
//!   GPT-2's `bytes_to_unicode` table. An entry with any char outside the table is kept as is
//!   (as the Hugging Face `ByteLevel` decoder does; added tokens such as `<|eot_id|>` rely on it).
//!
//! Also here: [`detect`], the guess of a vocabulary's scheme from its entries alone.

use std::borrow::Cow;

use super::VocabType;

/// Number of chars covered by the inverse byte-level table (U+0000 ..= U+0143).
const CHAR_TABLE_LEN: usize = 0x144;

/// GPT-2's `bytes_to_unicode`: byte → code point. Printable Latin-1 bytes map to themselves,
/// the other 68 bytes, in increasing order, to U+0100, U+0101, ….
const BYTE_TO_CHAR: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut next = 0x100u16;
    let mut b = 0usize;
    while b < 256 {
        let printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        if printable {
            table[b] = b as u16;
        } else {
            table[b] = next;
            next += 1;
        }
        b += 1;
    }
    table
};

/// Inverse of [`BYTE_TO_CHAR`]: code point → byte, or -1 for chars outside the table.
const CHAR_TO_BYTE: [i16; CHAR_TABLE_LEN] = {
    let mut table = [-1i16; CHAR_TABLE_LEN];
    let mut b = 0usize;
    while b < 256 {
        table[BYTE_TO_CHAR[b] as usize] = b as i16;
        b += 1;
    }
    table
};

/// The byte a byte-level char stands for, if it is in GPT-2's table.
pub(crate) fn byte_level_char_to_byte(c: char) -> Option<u8> {
    let i = c as usize;
    if i < CHAR_TABLE_LEN {
        u8::try_from(CHAR_TO_BYTE[i]).ok()
    } else {
        None
    }
}

#[cfg(test)]
/// The char GPT-2's table uses for `byte`.
pub(crate) fn byte_level_byte_to_char(byte: u8) -> char {
    // Every entry of the table is a valid code point below U+0144.
    char::from_u32(u32::from(BYTE_TO_CHAR[usize::from(byte)])).unwrap_or('\u{FFFD}')
}

/// The byte of a SentencePiece byte token `<0xHH>` (two hex digits, either case, as the
/// Hugging Face `ByteFallback` decoder accepts).
pub(crate) fn parse_byte_token(token: &[u8]) -> Option<u8> {
    match token {
        [b'<', b'0', b'x', hi, lo, b'>'] => {
            let hi = (*hi as char).to_digit(16)?;
            let lo = (*lo as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        }
        _ => None,
    }
}

/// UTF-8 encoding of `▁` (U+2581), SentencePiece's space marker.
const SPACE_MARKER: &[u8] = "\u{2581}".as_bytes();

/// Decodes one encoded entry under `vocab_type`.
pub(crate) fn decode_token(vocab_type: VocabType, encoded: &[u8]) -> Cow<'_, [u8]> {
    match vocab_type {
        VocabType::Raw => Cow::Borrowed(encoded),
        VocabType::ByteFallback => decode_byte_fallback(encoded),
        VocabType::ByteLevel => decode_byte_level(encoded),
    }
}

fn decode_byte_fallback(encoded: &[u8]) -> Cow<'_, [u8]> {
    if let Some(b) = parse_byte_token(encoded) {
        return Cow::Owned(vec![b]);
    }
    if !contains(encoded, SPACE_MARKER) {
        return Cow::Borrowed(encoded);
    }
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        if encoded[i..].starts_with(SPACE_MARKER) {
            out.push(b' ');
            i += SPACE_MARKER.len();
        } else {
            out.push(encoded[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn decode_byte_level(encoded: &[u8]) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(encoded) else {
        return Cow::Borrowed(encoded);
    };
    let mut out = Vec::with_capacity(encoded.len());
    for c in text.chars() {
        match byte_level_char_to_byte(c) {
            Some(b) => out.push(b),
            None => return Cow::Borrowed(encoded),
        }
    }
    if out == encoded {
        Cow::Borrowed(encoded)
    } else {
        Cow::Owned(out)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Statistics over an encoded vocabulary used by [`detect`] and by the tokenizer.json
/// cross-check.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VocabStats {
    /// Non-empty entries.
    pub nonempty: usize,
    /// Entries that are exactly `<0xHH>`.
    pub byte_tokens: usize,
    /// Entries containing `▁`.
    pub space_marker: usize,
    /// Entries that are valid UTF-8 and made only of byte-level table chars.
    pub in_byte_level_alphabet: usize,
    /// Distinct bytes whose byte-level char appears as a one-char entry.
    pub single_char_byte_level: usize,
    /// Entries containing `Ġ`, `Ċ`, `ĉ` or `č` (byte-level space, newline, tab, CR).
    pub byte_level_markers: usize,
}

impl VocabStats {
    /// Collects the statistics of `encoded`.
    pub(crate) fn of<S: AsRef<[u8]>>(encoded: impl IntoIterator<Item = S>) -> VocabStats {
        let mut stats = VocabStats::default();
        let mut single = [false; 256];
        for entry in encoded {
            let entry = entry.as_ref();
            if entry.is_empty() {
                continue;
            }
            stats.nonempty += 1;
            if parse_byte_token(entry).is_some() {
                stats.byte_tokens += 1;
            }
            if contains(entry, SPACE_MARKER) {
                stats.space_marker += 1;
            }
            let Ok(text) = std::str::from_utf8(entry) else {
                continue;
            };
            if text.chars().all(|c| byte_level_char_to_byte(c).is_some()) {
                stats.in_byte_level_alphabet += 1;
                let mut chars = text.chars();
                if let (Some(c), None) = (chars.next(), chars.next())
                    && let Some(b) = byte_level_char_to_byte(c)
                {
                    single[usize::from(b)] = true;
                }
            }
            if text.contains(['\u{120}', '\u{10A}', '\u{109}', '\u{10D}']) {
                stats.byte_level_markers += 1;
            }
        }
        stats.single_char_byte_level = single.iter().filter(|&&s| s).count();
        stats
    }

    /// The scheme these statistics point to.
    pub(crate) fn guess(&self) -> VocabType {
        // Full-size vocabularies: the XGrammar thresholds.
        if self.byte_tokens >= 128 {
            return VocabType::ByteFallback;
        }
        if self.single_char_byte_level >= 128
            && self.in_byte_level_alphabet * 100 >= self.nonempty * 99
        {
            return VocabType::ByteLevel;
        }
        // Small vocabularies: whichever marker kind is more common.
        let sentencepiece = self.byte_tokens + self.space_marker;
        if sentencepiece > 0 && sentencepiece >= self.byte_level_markers {
            return VocabType::ByteFallback;
        }
        if self.byte_level_markers > 0 && self.in_byte_level_alphabet * 10 >= self.nonempty * 9 {
            return VocabType::ByteLevel;
        }
        VocabType::Raw
    }
}

/// Guesses the vocab type of an encoded vocabulary (see [`VocabStats::guess`]).
pub(crate) fn detect<S: AsRef<[u8]>>(encoded: &[S]) -> VocabType {
    VocabStats::of(encoded.iter().map(AsRef::as_ref)).guess()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_table_is_gpt2() {
        assert_eq!(byte_level_byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_level_byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_level_byte_to_char(b'\t'), 'ĉ');
        assert_eq!(byte_level_byte_to_char(0), '\u{100}');
        assert_eq!(byte_level_byte_to_char(0xAD), '\u{143}');
        assert_eq!(byte_level_byte_to_char(b'a'), 'a');
        assert_eq!(byte_level_byte_to_char(0xE9), 'é');
        for b in 0..=255u8 {
            assert_eq!(byte_level_char_to_byte(byte_level_byte_to_char(b)), Some(b));
        }
        let mapped = (0..0x200u32)
            .filter_map(char::from_u32)
            .filter(|&c| byte_level_char_to_byte(c).is_some())
            .count();
        assert_eq!(mapped, 256);
    }

    #[test]
    fn decodes_each_scheme() {
        assert_eq!(
            &*decode_token(VocabType::ByteLevel, "Ġhello".as_bytes()),
            b" hello"
        );
        assert_eq!(&*decode_token(VocabType::ByteLevel, "Ċ".as_bytes()), b"\n");
        assert_eq!(
            &*decode_token(VocabType::ByteLevel, "Ã©".as_bytes()),
            "é".as_bytes()
        );
        assert_eq!(
            &*decode_token(VocabType::ByteLevel, "<|eot_id|>".as_bytes()),
            b"<|eot_id|>"
        );
        // A char outside the table keeps the whole entry verbatim.
        assert_eq!(
            &*decode_token(VocabType::ByteLevel, "Ġ日".as_bytes()),
            "Ġ日".as_bytes()
        );
        assert_eq!(&*decode_token(VocabType::ByteFallback, b"<0x0A>"), b"\n");
        assert_eq!(&*decode_token(VocabType::ByteFallback, b"<0xff>"), b"\xff");
        assert_eq!(
            &*decode_token(VocabType::ByteFallback, b"<0xG0>"),
            b"<0xG0>"
        );
        assert_eq!(
            &*decode_token(VocabType::ByteFallback, "▁the▁".as_bytes()),
            b" the "
        );
        assert_eq!(
            &*decode_token(VocabType::ByteFallback, "▁".as_bytes()),
            b" "
        );
        assert_eq!(
            &*decode_token(VocabType::Raw, "▁x".as_bytes()),
            "▁x".as_bytes()
        );
        assert_eq!(&*decode_token(VocabType::Raw, b"\xff\x00"), b"\xff\x00");
    }

    #[test]
    fn detects_small_vocabularies() {
        assert_eq!(detect(&["a", "b", "hello"]), VocabType::Raw);
        assert_eq!(detect(&["▁the", "<0x0A>", "a"]), VocabType::ByteFallback);
        assert_eq!(
            detect(&["Ġthe", "Ċ", "a", "<|endoftext|>"]),
            VocabType::ByteLevel
        );
        let empty: [&str; 0] = [];
        assert_eq!(detect(&empty), VocabType::Raw);
    }
}
