//! A minimal JSON scanner that finds the byte ranges of an object's members without building
//! values.
//!
//! The tokenizer.json loader uses it to cut the model's `merges` (most of the file, and
//! unused here) out of the text before parsing it, and to splice edited normalizer and
//! pre-tokenizer values back into the original text. It validates nothing: whatever it
//! returns is parsed by `serde_json` afterwards, and on anything unexpected it returns None so
//! the caller falls back to parsing the whole text. It never recurses, so deep nesting is safe.

use std::ops::Range;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting with the quote at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The members of the object whose `{` is the first non-blank byte at or after `start`:
/// (raw key text between the quotes, byte range of the value).
pub(crate) fn object_members(text: &str, start: usize) -> Option<Vec<(&str, Range<usize>)>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, start);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i)?;
        let key = text.get(i + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(b, i + 1);
        let value_end = skip_value(b, value_start)?;
        members.push((key, value_start..value_end));
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(members),
            _ => return None,
        }
    }
}

/// The value range of the last member named `key`.
pub(crate) fn member(members: &[(&str, Range<usize>)], key: &str) -> Option<Range<usize>> {
    members
        .iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, r)| r.clone())
}

/// `text` with the given ranges (sorted, disjoint) replaced; None if a range is not on char
/// boundaries or out of order.
pub(crate) fn splice(text: &str, edits: &[(Range<usize>, &str)]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(text.get(at..range.start)?);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members() {
        let text =
            r#" { "a" : [1, "x]\"", {"b": {}}], "model":{"merges":[["a","b"]],"v":1} ,"n":null}"#;
        let top = object_members(text, 0).unwrap();
        let keys: Vec<&str> = top.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["a", "model", "n"]);
        assert_eq!(
            &text[member(&top, "a").unwrap()],
            r#"[1, "x]\"", {"b": {}}]"#
        );
        let model = member(&top, "model").unwrap();
        let inner = object_members(text, model.start).unwrap();
        let merges = member(&inner, "merges").unwrap();
        assert_eq!(&text[merges.clone()], r#"[["a","b"]]"#);
        let cut = splice(text, &[(merges, "[]")]).unwrap();
        assert!(cut.contains(r#""merges":[],"v":1"#));
        assert_eq!(&text[member(&top, "n").unwrap()], "null");
        assert_eq!(object_members("{}", 0).unwrap().len(), 0);
    }

    #[test]
    fn gives_up_on_malformed_text() {
        for bad in [
            "",
            "[",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":[}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"é",
        ] {
            assert!(object_members(bad, 0).is_none(), "{bad}");
        }
        assert!(splice("é", &[(0..1, "x")]).is_none());
        let deep = "[".repeat(100_000);
        assert!(skip_value(deep.as_bytes(), 0).is_none());
    }
}
