//! The schema document: JSON pointers, base URIs, `$id` resources and anchors.
//!
//! One walk over the document records, for every schema object, its JSON pointer and base
//! URI (changed by `$id`, or `id` in draft 4), every embedded resource (`$id` → pointer)
//! and every anchor (`$anchor`, `$dynamicAnchor`, plain-name `$id` fragments). A `$ref` is
//! resolved against the base URI of the schema holding it; its fragment is a JSON pointer
//! (`~0`, `~1` and `%`-escapes decoded) or an anchor name. Only the document itself can be
//! referenced: remote references are errors.

use std::collections::HashMap;

use serde_json::Value;

/// Base URI of a document without `$id`.
pub(crate) const DEFAULT_BASE: &str = "https://xgr.invalid/schema.json";

/// The JSON Schema draft, from `$schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Draft {
    D3,
    D4,
    D6,
    D7,
    D2019,
    D2020,
}

impl Draft {
    pub fn from_uri(s: &str) -> Option<Draft> {
        Some(if s.contains("draft-03") {
            Draft::D3
        } else if s.contains("draft-04") {
            Draft::D4
        } else if s.contains("draft-06") {
            Draft::D6
        } else if s.contains("draft-07") {
            Draft::D7
        } else if s.contains("2019-09") {
            Draft::D2019
        } else if s.contains("2020-12") {
            Draft::D2020
        } else {
            return None;
        })
    }
}

/// The indexed document.
pub(crate) struct Doc<'a> {
    pub root: &'a Value,
    pub draft: Draft,
    bases: HashMap<String, String>,
    resources: HashMap<String, String>,
    anchors: HashMap<String, String>,
    /// Whether some schema below the root declares its own `$id`.
    pub nested_ids: bool,
    /// Whether the document uses `$dynamicRef` or `$recursiveRef` (then nodes also depend
    /// on the dynamic scope).
    pub dynamic: bool,
    /// `$dynamicAnchor`s: (resource URI, name) → pointer; `$recursiveAnchor: true` resources
    /// under the name "".
    dyn_anchors: HashMap<(String, String), String>,
}

/// Escapes one JSON pointer token.
pub(crate) fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Keywords whose value is one schema.
const ONE: [&str; 13] = [
    "additionalProperties",
    "additionalItems",
    "items",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "extends",
    "contentSchema",
];
/// Keywords whose value is an array of schemas.
const LIST: [&str; 6] = ["allOf", "anyOf", "oneOf", "prefixItems", "items", "extends"];
/// Keywords whose value is an object of schemas.
const MAP: [&str; 6] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];

impl<'a> Doc<'a> {
    pub fn new(root: &'a Value) -> Doc<'a> {
        let draft = root
            .get("$schema")
            .and_then(Value::as_str)
            .and_then(Draft::from_uri)
            .unwrap_or(Draft::D2020);
        let mut d = Doc {
            root,
            draft,
            bases: HashMap::new(),
            resources: HashMap::new(),
            anchors: HashMap::new(),
            nested_ids: false,
            dynamic: false,
            dyn_anchors: HashMap::new(),
        };
        d.resources.insert(DEFAULT_BASE.to_string(), String::new());
        let mut stack = vec![(root, String::new(), DEFAULT_BASE.to_string())];
        while let Some((v, ptr, base)) = stack.pop() {
            if let Value::Object(m) = v {
                {
                    let mut base = base;
                    let id = m.get("$id").or_else(|| {
                        if d.draft <= Draft::D4 {
                            m.get("id")
                        } else {
                            None
                        }
                    });
                    if let Some(Value::String(id)) = id {
                        let abs = resolve(&base, id);
                        let (doc, frag) = split_fragment(&abs);
                        if !ptr.is_empty() && !id.starts_with('#') {
                            d.nested_ids = true;
                        }
                        if !frag.is_empty() && !frag.starts_with('/') {
                            d.anchors.insert(abs.clone(), ptr.clone());
                        }
                        if !id.starts_with('#') {
                            d.resources.entry(doc.to_string()).or_insert(ptr.clone());
                            base = doc.to_string();
                        }
                    }
                    if m.contains_key("$dynamicRef") || m.contains_key("$recursiveRef") {
                        d.dynamic = true;
                    }
                    let (res, _) = split_fragment(&base);
                    if let Some(Value::String(a)) = m.get("$dynamicAnchor") {
                        d.dyn_anchors
                            .entry((res.to_string(), a.clone()))
                            .or_insert(ptr.clone());
                    }
                    if m.get("$recursiveAnchor") == Some(&Value::Bool(true)) {
                        d.dyn_anchors
                            .entry((res.to_string(), String::new()))
                            .or_insert(ptr.clone());
                    }
                    for key in ["$anchor", "$dynamicAnchor"] {
                        if let Some(Value::String(a)) = m.get(key) {
                            let (doc, _) = split_fragment(&base);
                            d.anchors.entry(format!("{doc}#{a}")).or_insert(ptr.clone());
                        }
                    }
                    d.bases.insert(ptr.clone(), base.clone());
                    for (k, child) in m {
                        let kp = format!("{ptr}/{}", escape_token(k));
                        match child {
                            Value::Object(_) if ONE.contains(&k.as_str()) => {
                                stack.push((child, kp, base.clone()));
                            }
                            Value::Array(a) if LIST.contains(&k.as_str()) => {
                                for (i, x) in a.iter().enumerate() {
                                    stack.push((x, format!("{kp}/{i}"), base.clone()));
                                }
                            }
                            Value::Object(sm) if MAP.contains(&k.as_str()) => {
                                for (name, x) in sm {
                                    stack.push((
                                        x,
                                        format!("{kp}/{}", escape_token(name)),
                                        base.clone(),
                                    ));
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        d
    }

    /// The base URI in effect at a pointer.
    pub fn base(&self, ptr: &str) -> String {
        let mut p = ptr;
        loop {
            if let Some(b) = self.bases.get(p) {
                return b.clone();
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return DEFAULT_BASE.to_string(),
            }
        }
    }

    /// The resource (base URI without fragment) a pointer belongs to.
    pub fn resource(&self, ptr: &str) -> String {
        let b = self.base(ptr);
        split_fragment(&b).0.to_string()
    }

    /// Whether a resource defines a dynamic anchor (`""` = `$recursiveAnchor: true`).
    pub fn has_dyn_anchors(&self, res: &str) -> bool {
        self.dyn_anchors.keys().any(|(r, _)| r == res)
    }

    /// The pointer of a resource's dynamic anchor.
    pub fn dyn_anchor(&self, res: &str, name: &str) -> Option<&String> {
        self.dyn_anchors.get(&(res.to_string(), name.to_string()))
    }

    /// Resolves a reference made at `ptr` to the pointer of its target and the target.
    pub fn resolve_ref(&self, ptr: &str, r: &str) -> Result<(String, &'a Value), String> {
        let abs = resolve(&self.base(ptr), r);
        let (doc, frag) = split_fragment(&abs);
        let Some(res) = self.resources.get(doc) else {
            return Err(format!(
                "$ref \"{r}\" points to another document ({doc}); remote references are not supported"
            ));
        };
        let target = if frag.is_empty() {
            res.clone()
        } else if frag.starts_with('/') {
            let decoded = percent_decode(frag)
                .ok_or_else(|| format!("$ref \"{r}\": invalid %-escape in the JSON pointer"))?;
            format!("{res}{decoded}")
        } else {
            match self.anchors.get(&abs) {
                Some(p) => p.clone(),
                None => {
                    return Err(format!(
                        "$ref \"{r}\": no anchor \"{frag}\" in the document"
                    ));
                }
            }
        };
        match self.root.pointer(&target) {
            Some(v) => Ok((target, v)),
            None if target.is_empty() => Ok((target, self.root)),
            None => Err(format!(
                "$ref \"{r}\" points to nothing (no value at {target})"
            )),
        }
    }
}

fn split_fragment(u: &str) -> (&str, &str) {
    match u.find('#') {
        Some(i) => (&u[..i], &u[i + 1..]),
        None => (u, ""),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parts of a URI reference: scheme, authority, path, query, fragment.
struct Parts<'s> {
    scheme: Option<&'s str>,
    authority: Option<&'s str>,
    path: &'s str,
    query: Option<&'s str>,
    fragment: Option<&'s str>,
}

fn parse(u: &str) -> Parts<'_> {
    let (rest, fragment) = match u.find('#') {
        Some(i) => (&u[..i], Some(&u[i + 1..])),
        None => (u, None),
    };
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut scheme = None;
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let s = &rest[..i];
        if !s.is_empty()
            && s.chars().next().unwrap().is_ascii_alphabetic()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = Some(s);
            rest = &rest[i + 1..];
        }
    }
    let mut authority = None;
    if let Some(r) = rest.strip_prefix("//") {
        let end = r.find('/').unwrap_or(r.len());
        authority = Some(&r[..end]);
        rest = &r[end..];
    }
    Parts {
        scheme,
        authority,
        path: rest,
        query,
        fragment,
    }
}

fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        match *s {
            "." => {
                if i == segs.len() - 1 {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == segs.len() - 1 {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// RFC 3986 §5.2 reference resolution.
pub(crate) fn resolve(base: &str, r: &str) -> String {
    let b = parse(base);
    let p = parse(r);
    let (scheme, authority, path, query);
    if p.scheme.is_some() {
        scheme = p.scheme;
        authority = p.authority;
        path = remove_dots(p.path);
        query = p.query;
    } else {
        scheme = b.scheme;
        if p.authority.is_some() {
            authority = p.authority;
            path = remove_dots(p.path);
            query = p.query;
        } else {
            authority = b.authority;
            if p.path.is_empty() {
                path = b.path.to_string();
                query = p.query.or(b.query);
            } else {
                if p.path.starts_with('/') {
                    path = remove_dots(p.path);
                } else {
                    let merged = if b.authority.is_some() && b.path.is_empty() {
                        format!("/{}", p.path)
                    } else {
                        match b.path.rfind('/') {
                            Some(i) => format!("{}{}", &b.path[..=i], p.path),
                            None => p.path.to_string(),
                        }
                    };
                    path = remove_dots(&merged);
                }
                query = p.query;
            }
        }
    }
    let mut out = String::new();
    if let Some(s) = scheme {
        out.push_str(s);
        out.push(':');
    }
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = p.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(resolve("http://a/b/c/d;p?q", "g"), "http://a/b/c/g");
        assert_eq!(resolve("http://a/b/c/d;p?q", "../g"), "http://a/b/g");
        assert_eq!(resolve("http://a/b/c/d;p?q", "#s"), "http://a/b/c/d;p?q#s");
        assert_eq!(resolve("http://a/b/c/d;p?q", "/g"), "http://a/g");
        assert_eq!(resolve("urn:x:y", "#/a"), "urn:x:y#/a");
    }

    #[test]
    fn refs() {
        let v: Value = serde_json::from_str(
            r##"{"$defs": {"a~b": {"$anchor": "A"}, "c%d": {"$id": "http://x/y.json", "$defs": {"z": {}}}}}"##,
        )
        .unwrap();
        let d = Doc::new(&v);
        assert_eq!(d.resolve_ref("", "#/$defs/a~0b").unwrap().0, "/$defs/a~0b");
        assert_eq!(d.resolve_ref("", "#A").unwrap().0, "/$defs/a~0b");
        assert_eq!(d.resolve_ref("", "#/$defs/c%25d").unwrap().0, "/$defs/c%d");
        assert_eq!(
            d.resolve_ref("", "http://x/y.json#/$defs/z").unwrap().0,
            "/$defs/c%d/$defs/z"
        );
        assert!(d.resolve_ref("", "#/nope").is_err());
        assert!(d.resolve_ref("", "other.json").is_err());
    }
}
