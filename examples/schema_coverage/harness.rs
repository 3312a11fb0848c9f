//! Shared by `tests/json_schema.rs` and the `schema_coverage` example: a byte-level matcher
//! for schemas, and grading of JSON instances (JSONSchemaBench entries, JSON-Schema-Test-Suite
//! groups) by running them through it.
//!
//! An instance is serialized compactly and pretty-printed (numbers in their canonical
//! spelling, strings as `serde_json` writes them) and fed to the matcher; object keys are
//! tried in every order the matcher allows, depth first, so "accepted" means "some key order
//! is accepted" and "rejected" means "no key order is". The search has a step budget.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use xgr::convert::json_schema::{JsonSchemaOptions, grammar_from_json_value};
use xgr::tokenizer::{TokenizerInfo, TokenizerOptions, VocabType};
use xgr::{CompilerOptions, GrammarCompiler, GrammarMatcher, MatcherOptions};

/// A compiler over a vocabulary of the 256 single bytes plus `</s>`.
pub fn compiler() -> &'static GrammarCompiler {
    static C: OnceLock<GrammarCompiler> = OnceLock::new();
    C.get_or_init(|| {
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        vocab.push(b"</s>".to_vec());
        let tok = TokenizerInfo::from_vocab(&vocab, VocabType::Raw, &TokenizerOptions::default())
            .expect("byte vocabulary");
        GrammarCompiler::new(
            Arc::new(tok),
            CompilerOptions {
                max_threads: 1,
                cache_enabled: false,
                ..Default::default()
            },
        )
    })
}

/// A matcher for a schema, or the conversion / compilation error message.
pub fn matcher(schema: &Value, o: &JsonSchemaOptions) -> Result<GrammarMatcher, String> {
    let g = grammar_from_json_value(schema, o).map_err(|e| e.message().to_string())?;
    let cg = compiler()
        .compile_grammar(&g)
        .map_err(|e| format!("grammar compilation failed: {}", e.message()))?;
    GrammarMatcher::new(cg, &MatcherOptions::default()).map_err(|e| e.message().to_string())
}

/// Whether the whole text is accepted and the grammar can end there.
pub fn accepts(m: &GrammarMatcher, text: &str) -> bool {
    let mut m = m.fork();
    m.accept_string(text).unwrap_or(false) && m.is_completed()
}

/// At most 300 characters of a value, for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Asserts accepted and rejected texts.
pub fn check(schema: &Value, o: &JsonSchemaOptions, ok: &[&str], bad: &[&str]) {
    let m = matcher(schema, o).unwrap_or_else(|e| panic!("{}: {e}", short(schema)));
    let schema = short(schema);
    for t in ok {
        assert!(accepts(&m, t), "{schema}\nshould accept {t:?}");
    }
    for t in bad {
        assert!(!accepts(&m, t), "{schema}\nshould reject {t:?}");
    }
}

/// Asserts that the schema is refused with a message containing `needle`.
pub fn assert_refused(schema: &Value, o: &JsonSchemaOptions, needle: &str) {
    match grammar_from_json_value(schema, o) {
        Ok(_) => panic!("{}: expected an error containing {needle:?}", short(schema)),
        Err(e) => assert!(
            e.message().contains(needle),
            "{}: {}",
            short(schema),
            e.message()
        ),
    }
}

/// The canonical spelling of a number value.
pub fn number_text(n: &serde_json::Number) -> String {
    if n.is_u64() || n.is_i64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        return "0".into();
    }
    format!("{f}")
}

/// Output layout for instances.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    Compact,
    Pretty,
}

/// Search budget for key orders (steps per instance).
const BUDGET: usize = 100_000;

/// Outcome of feeding an instance.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Fed {
    Accepted,
    Rejected,
    /// The key-order search ran out of budget.
    Unknown,
}

/// Accepts a number's text only if the number may end there (some byte that cannot
/// continue a number is allowed next, or the grammar may end).
fn number(m: &mut GrammarMatcher, sr: &mut Search, text: &str) -> bool {
    if !lit(m, sr, text) {
        return false;
    }
    if m.is_completed() {
        return true;
    }
    let bm = fingerprint(m);
    let ends = (0..256u32).any(|b| {
        let c = b as u8;
        !(c.is_ascii_digit() || b".eE+-".contains(&c))
            && bm[(b / 32) as usize] as u32 & (1 << (b % 32)) != 0
    });
    if !ends {
        m.rollback(1).expect("rollback");
    }
    ends
}

/// Settings and budget of one instance's search.
struct Search {
    layout: Layout,
    /// Grading a valid instance: integral floats may also be written as integers.
    valid: bool,
    budget: usize,
    /// The text of each accepted step, indexed by the matcher's history position (entries at
    /// or past `num_accepted` are stale, left by rollbacks).
    pieces: Vec<String>,
}

impl Search {
    fn new(layout: Layout, valid: bool) -> Search {
        Search {
            layout,
            valid,
            budget: BUDGET,
            pieces: Vec::new(),
        }
    }

    /// The text accepted by `m` from history position `from` on.
    fn text(&self, m: &GrammarMatcher, from: usize) -> String {
        self.pieces[from..m.num_accepted()].concat()
    }
}

/// Accepts `s` as one step and records its text.
fn lit(m: &mut GrammarMatcher, sr: &mut Search, s: &str) -> bool {
    let n = m.num_accepted();
    let ok = m.accept_string(s).unwrap_or(false);
    if ok {
        sr.pieces.truncate(n);
        sr.pieces.push(s.to_string());
    }
    ok
}

fn indent(d: usize) -> String {
    format!("\n{}", "  ".repeat(d))
}

fn sep(layout: Layout, first: bool, depth: usize) -> String {
    let comma = if first { "" } else { "," };
    match layout {
        Layout::Compact => comma.to_string(),
        Layout::Pretty => format!("{comma}{}", indent(depth + 1)),
    }
}

fn close(layout: Layout, empty: bool, depth: usize, ch: char) -> String {
    match layout {
        Layout::Pretty if !empty => format!("{}{ch}", indent(depth)),
        _ => ch.to_string(),
    }
}

/// Feeds `v` into `m`. On failure `m` is rolled back to where it was.
///
/// Numbers are written in their canonical spelling; a float with an integral value keeps a
/// `.0` (as the source wrote it) unless grading a valid instance, which may also use the
/// integer spelling (the grammar writes each number value one way).
fn feed(m: &mut GrammarMatcher, v: &Value, depth: usize, sr: &mut Search) -> bool {
    let layout = sr.layout;
    if sr.budget == 0 {
        return false;
    }
    sr.budget -= 1;
    let n0 = m.num_accepted();
    let ok = match v {
        Value::Null => lit(m, sr, "null"),
        Value::Bool(b) => lit(m, sr, if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let canonical = number_text(n);
            let float = !n.is_i64() && !n.is_u64() && n.as_f64().is_some_and(|f| f.fract() == 0.0);
            if float {
                // Written with a fraction in the source: keep it; a valid instance may also
                // use the integer spelling of the same value.
                number(m, sr, &format!("{canonical}.0")) || (sr.valid && number(m, sr, &canonical))
            } else {
                number(m, sr, &canonical)
            }
        }
        Value::String(s) => lit(m, sr, &serde_json::to_string(s).unwrap()),
        Value::Array(a) => {
            lit(m, sr, "[")
                && a.iter().enumerate().all(|(i, x)| {
                    lit(m, sr, &sep(layout, i == 0, depth)) && feed(m, x, depth + 1, sr)
                })
                && lit(m, sr, &close(layout, a.is_empty(), depth, ']'))
        }
        Value::Object(o) => {
            let mut used = vec![false; o.len()];
            let mut memo = Memo::default();
            lit(m, sr, "{")
                && (greedy(m, o, depth, sr)
                    || (!has_dead_key(m, o, depth, sr)
                        && members(m, o, &mut used, 0, depth, sr, &mut memo)))
        }
    };
    if !ok {
        let n = m.num_accepted() - n0;
        m.rollback(n).expect("rollback");
    }
    ok
}

/// Places a member (separator, key, value); on failure nothing is placed.
fn place(
    m: &mut GrammarMatcher,
    k: &str,
    v: &Value,
    first: bool,
    depth: usize,
    sr: &mut Search,
) -> bool {
    let n0 = m.num_accepted();
    if key_ok(m, sr, k, first, depth) && feed(m, v, depth + 1, sr) {
        return true;
    }
    let n = m.num_accepted() - n0;
    m.rollback(n).expect("rollback");
    false
}

/// Places the members in a first-fit order (at each step the first key, in instance order,
/// whose member is accepted; no backtracking) and the closing brace; on failure nothing is
/// placed. Finds the order at once when the instance follows the schema's order.
fn greedy(
    m: &mut GrammarMatcher,
    o: &serde_json::Map<String, Value>,
    depth: usize,
    sr: &mut Search,
) -> bool {
    let n0 = m.num_accepted();
    let mut placed = vec![false; o.len()];
    for done in 0..o.len() {
        let mut ok = false;
        for (i, (k, v)) in o.iter().enumerate() {
            if !placed[i] && place(m, k, v, done == 0, depth, sr) {
                placed[i] = true;
                ok = true;
                break;
            }
        }
        if !ok {
            break;
        }
    }
    let end = close(sr.layout, o.is_empty(), depth, '}');
    if placed.iter().all(|&p| p) && lit(m, sr, &end) {
        return true;
    }
    let n = m.num_accepted() - n0;
    m.rollback(n).expect("rollback");
    false
}

/// Accepts the separator and the key of a member; whether that worked.
fn key_ok(m: &mut GrammarMatcher, sr: &mut Search, k: &str, first: bool, depth: usize) -> bool {
    let text = key_text(k, first, sr.layout, depth);
    lit(m, sr, &text)
}

/// The separator and the key of a member, up to its value.
fn key_text(k: &str, first: bool, layout: Layout, depth: usize) -> String {
    let ksep = match layout {
        Layout::Compact => ":",
        Layout::Pretty => ": ",
    };
    let key = serde_json::to_string(k).unwrap();
    format!("{}{key}{ksep}", sep(layout, first, depth))
}

/// Whether the key could come next (probe, nothing placed).
fn key_next(m: &mut GrammarMatcher, sr: &mut Search, k: &str, first: bool, depth: usize) -> bool {
    let n0 = m.num_accepted();
    let ok = key_ok(m, sr, k, first, depth);
    let n = m.num_accepted() - n0;
    m.rollback(n).expect("rollback");
    ok
}

/// Whether some key of the object can never be placed, whatever the order (a key the schema
/// forbids, one behind a missing required key, or, for an invalid instance, one whose value
/// is never accepted where it may come): then the object is rejected without a search. A
/// key is placeable once the matcher allows it next (when grading an invalid instance, only
/// once its value is accepted there too) somewhere along the walk, a depth-first search
/// through key orders that stops once every key was placeable.
///
/// At each step the walk leaves out a member that may also come right after another one
/// that may come next (of two that may each come right after the other, the later one in
/// the instance): the path through that other one still reaches it. With one declared key
/// order this keeps only the first placeable key in that order, after which every later key
/// stays placeable, so the walk is one path and exact. Where object alternatives part
/// (`anyOf`/`oneOf`, the remainders of an exact `oneOf`, `dependencies`) their first keys
/// usually do not come after one another, and the walk follows each (a single greedy path
/// could commit to one alternative and call a key that only another one allows dead); it
/// could still err for alternatives that declare shared keys in different orders. A state
/// (keys placed, keys allowed next) is not walked twice.
fn has_dead_key(
    m: &mut GrammarMatcher,
    o: &serde_json::Map<String, Value>,
    depth: usize,
    sr: &mut Search,
) -> bool {
    let keys: Vec<(&String, &Value)> = o.iter().collect();
    let mut w = Walk {
        placed: vec![false; keys.len()],
        seen: vec![false; keys.len()],
        visited: std::collections::HashSet::new(),
    };
    let n0 = m.num_accepted();
    walk(m, &keys, &mut w, true, depth, sr);
    let n = m.num_accepted() - n0;
    m.rollback(n).expect("rollback");
    sr.budget > 0 && w.seen.iter().any(|s| !s)
}

/// State of the dead-key walk.
struct Walk {
    placed: Vec<bool>,
    seen: Vec<bool>,
    /// (keys placed, keys allowed next) already explored.
    visited: std::collections::HashSet<(Vec<bool>, Vec<bool>)>,
}

/// One step of the dead-key walk (see [`has_dead_key`]); leaves `m` where it was.
fn walk(
    m: &mut GrammarMatcher,
    keys: &[(&String, &Value)],
    w: &mut Walk,
    first: bool,
    depth: usize,
    sr: &mut Search,
) {
    if sr.budget == 0 || w.seen.iter().all(|&s| s) {
        return;
    }
    let next: Vec<bool> = (0..keys.len())
        .map(|i| !w.placed[i] && key_next(m, sr, keys[i].0, first, depth))
        .collect();
    if !w.visited.insert((w.placed.clone(), next.clone())) {
        return;
    }
    if sr.valid {
        // A key counts as placeable once it may come next; when grading an invalid
        // instance, only once its value is accepted there too.
        for (s, &x) in w.seen.iter_mut().zip(&next) {
            *s |= x;
        }
    }
    let base = m.num_accepted();
    // Members that may come next, with the keys that may come right after them.
    let mut options: Vec<(usize, Vec<bool>)> = Vec::new();
    for i in (0..keys.len()).filter(|&i| next[i]) {
        if !place(m, keys[i].0, keys[i].1, first, depth, sr) {
            continue;
        }
        w.seen[i] = true;
        let after: Vec<bool> = (0..keys.len())
            .map(|j| j != i && !w.placed[j] && key_next(m, sr, keys[j].0, false, depth))
            .collect();
        let n = m.num_accepted() - base;
        m.rollback(n).expect("rollback");
        options.push((i, after));
    }
    // A member that may also come right after another one is left to the path through that
    // one (unless each may come right after the other and it is the earlier in the instance).
    let dominated = |k: usize| {
        let (i, ref after_i) = options[k];
        options
            .iter()
            .enumerate()
            .any(|(l, (j, after_j))| l != k && after_j[i] && (!after_i[*j] || l < k))
    };
    let mut kept: Vec<&(usize, Vec<bool>)> = (0..options.len())
        .filter(|&k| !dominated(k))
        .map(|k| &options[k])
        .collect();
    if kept.is_empty() {
        kept.extend(options.first());
    }
    // The member after which most keys may come first.
    kept.sort_by_key(|(_, a)| std::cmp::Reverse(a.iter().filter(|&&x| x).count()));
    for &(i, _) in kept {
        if w.seen.iter().all(|&s| s) || sr.budget == 0 {
            break;
        }
        if !place(m, keys[i].0, keys[i].1, first, depth, sr) {
            continue;
        }
        w.placed[i] = true;
        walk(m, keys, w, false, depth, sr);
        w.placed[i] = false;
        let n = m.num_accepted() - base;
        m.rollback(n).expect("rollback");
    }
}

/// What the key-order search of one object has learned.
#[derive(Default)]
struct Memo {
    /// (placed keys, next-token mask) from which the rest could not be placed.
    failed: std::collections::HashSet<(Vec<bool>, Vec<i32>)>,
}

/// The set of bytes the matcher allows next: a fingerprint of its state.
fn fingerprint(m: &mut GrammarMatcher) -> Vec<i32> {
    let mut bm = vec![0i32; m.bitmask_words()];
    m.fill_next_token_bitmask(&mut bm).expect("bitmask");
    bm
}

/// Feeds the remaining members (any order the matcher allows) and the closing brace.
///
/// A state (keys placed, bytes allowed next) from which the rest could not be placed is not
/// explored again through another order of the same keys; this keeps permutations of
/// interchangeable keys (those not declared by the schema) from a factorial search.
#[allow(clippy::too_many_arguments)]
fn members(
    m: &mut GrammarMatcher,
    o: &serde_json::Map<String, Value>,
    used: &mut Vec<bool>,
    done: usize,
    depth: usize,
    sr: &mut Search,
    memo: &mut Memo,
) -> bool {
    let layout = sr.layout;
    if done == o.len() {
        return lit(m, sr, &close(layout, done == 0, depth, '}'));
    }
    let key = (used.clone(), fingerprint(m));
    if memo.failed.contains(&key) {
        return false;
    }
    let n0 = m.num_accepted();
    for (i, (k, v)) in o.iter().enumerate() {
        if used[i] || sr.budget == 0 {
            continue;
        }
        if !key_ok(m, sr, k, done == 0, depth) {
            continue;
        }
        sr.budget = sr.budget.saturating_sub(1);
        if feed(m, v, depth + 1, sr) {
            used[i] = true;
            let r = members(m, o, used, done + 1, depth, sr, memo);
            used[i] = false;
            if r {
                return true;
            }
        }
        let n = m.num_accepted() - n0;
        m.rollback(n).expect("rollback");
    }
    if sr.budget > 0 {
        memo.failed.insert(key);
    }
    false
}

/// Whether some key order of the instance is accepted as a complete text.
pub fn accepts_value(m: &GrammarMatcher, v: &Value, layout: Layout, valid: bool) -> Fed {
    feed_value(m, v, layout, valid).0
}

/// Searches a key order of the instance as [`accepts_value`] does; with the outcome, the text
/// that was fed when the whole instance was accepted (`Fed::Accepted`, or `Fed::Rejected`
/// where the grammar cannot end after it).
pub fn feed_value(
    m: &GrammarMatcher,
    v: &Value,
    layout: Layout,
    valid: bool,
) -> (Fed, Option<String>) {
    let mut sr = Search::new(layout, valid);
    let mut m = m.fork();
    let n0 = m.num_accepted();
    if feed(&mut m, v, 0, &mut sr) {
        let text = Some(sr.text(&m, n0));
        if m.is_completed() {
            (Fed::Accepted, text)
        } else {
            (Fed::Rejected, text)
        }
    } else if sr.budget == 0 {
        (Fed::Unknown, None)
    } else {
        (Fed::Rejected, None)
    }
}

/// The spelling of a scalar as [`feed`] first tries it (integral floats keep a `.0`).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::Number(n) => {
            let canonical = number_text(n);
            let float = !n.is_i64() && !n.is_u64() && n.as_f64().is_some_and(|f| f.fract() == 0.0);
            if float {
                format!("{canonical}.0")
            } else {
                canonical
            }
        }
        _ => v.to_string(),
    }
}

/// State of [`best_text`].
struct Best {
    m: GrammarMatcher,
    sr: Search,
    out: String,
    /// Everything written so far was accepted by `m`.
    live: bool,
}

impl Best {
    /// Writes `s`, feeding it while everything so far was accepted.
    fn emit(&mut self, s: &str) {
        if self.live && !lit(&mut self.m, &mut self.sr, s) {
            self.live = false;
        }
        self.out.push_str(s);
    }

    /// Writes `v`: in a key order the matcher accepts when there is one, otherwise as
    /// [`Best::parts`] does.
    fn value(&mut self, v: &Value, depth: usize) {
        if self.live {
            let n0 = self.m.num_accepted();
            self.sr.budget = BUDGET;
            if feed(&mut self.m, v, depth, &mut self.sr) {
                let t = self.sr.text(&self.m, n0);
                self.out.push_str(&t);
                return;
            }
        }
        self.parts(v, depth);
    }

    /// Writes `v` part by part: each object's members in the order [`Best::pick`] finds (the
    /// value of a member whose value is rejected written the same way), and once something
    /// is rejected, the rest in instance order.
    fn parts(&mut self, v: &Value, depth: usize) {
        let layout = self.sr.layout;
        match v {
            Value::Array(a) => {
                self.emit("[");
                for (i, x) in a.iter().enumerate() {
                    self.emit(&sep(layout, i == 0, depth));
                    self.value(x, depth + 1);
                }
                self.emit(&close(layout, a.is_empty(), depth, ']'));
            }
            Value::Object(o) => {
                self.emit("{");
                let mut placed = vec![false; o.len()];
                for done in 0..o.len() {
                    let first = done == 0;
                    let n0 = self.m.num_accepted();
                    let pick = if self.live {
                        self.pick(o, &placed, first, depth)
                    } else {
                        None
                    };
                    match pick {
                        Some((i, whole)) => {
                            placed[i] = true;
                            let (k, x) = o.iter().nth(i).unwrap();
                            let ok = if whole {
                                place(&mut self.m, k, x, first, depth, &mut self.sr)
                            } else {
                                key_ok(&mut self.m, &mut self.sr, k, first, depth)
                            };
                            assert!(ok, "replaying a member");
                            let t = self.sr.text(&self.m, n0);
                            self.out.push_str(&t);
                            if !whole {
                                self.value(o.iter().nth(i).unwrap().1, depth + 1);
                            }
                        }
                        None => {
                            let i = placed.iter().position(|&p| !p).unwrap();
                            placed[i] = true;
                            let (k, x) = o.iter().nth(i).unwrap();
                            self.emit(&key_text(k, first, layout, depth));
                            self.value(x, depth + 1);
                        }
                    }
                }
                self.emit(&close(layout, o.is_empty(), depth, '}'));
            }
            _ => {
                self.live = false;
                self.out.push_str(&scalar_text(v));
            }
        }
    }
}

impl Best {
    /// The member to write next (and whether the matcher accepts it whole), among those whose
    /// key the matcher allows next: the one after which the fewest of the others are no
    /// longer allowed (a member whose value is rejected counts as skipping none), then one
    /// accepted whole, then the first in the instance. This follows the declared order, so
    /// that an optional key is not skipped by a later one. Leaves the matcher where it was.
    fn pick(
        &mut self,
        o: &serde_json::Map<String, Value>,
        placed: &[bool],
        first: bool,
        depth: usize,
    ) -> Option<(usize, bool)> {
        let (m, sr) = (&mut self.m, &mut self.sr);
        sr.budget = BUDGET;
        let keys: Vec<(&String, &Value)> = o.iter().collect();
        let cands: Vec<usize> = (0..keys.len())
            .filter(|&i| !placed[i] && key_next(m, sr, keys[i].0, first, depth))
            .collect();
        let mut best: Option<(usize, bool, usize)> = None;
        for &c in &cands {
            let n0 = m.num_accepted();
            let whole = place(m, keys[c].0, keys[c].1, first, depth, sr);
            let skips = if whole {
                let s = cands
                    .iter()
                    .filter(|&&j| j != c && !key_next(m, sr, keys[j].0, false, depth))
                    .count();
                let n = m.num_accepted() - n0;
                m.rollback(n).expect("rollback");
                s
            } else {
                0
            };
            if best.is_none_or(|(s, w, _)| (skips, !whole) < (s, !w)) {
                best = Some((skips, whole, c));
            }
        }
        best.map(|(_, whole, c)| (c, whole))
    }
}

/// For an instance [`feed_value`] found no text for (the grammar rejects every key order): a
/// text of it in the given layout that goes as far into the grammar as a greedy key order
/// gets (see [`Best::parts`]), so that token-level checks of rejected instances do not fail
/// early on a mere key-order difference.
pub fn best_text(m: &GrammarMatcher, v: &Value, layout: Layout, valid: bool) -> String {
    let mut b = Best {
        m: m.fork(),
        sr: Search::new(layout, valid),
        out: String::new(),
        live: true,
    };
    b.parts(v, 0);
    b.out
}

/// How one instance came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid accepted (both layouts) or invalid rejected.
    Pass,
    /// A valid instance rejected in some layout.
    ValidRejected,
    /// An invalid instance accepted.
    InvalidAccepted,
    /// The key-order search was inconclusive.
    Unknown,
}

/// Grades one instance against a compiled schema.
pub fn grade(m: &GrammarMatcher, data: &Value, valid: bool) -> Verdict {
    if valid {
        for layout in [Layout::Compact, Layout::Pretty] {
            match accepts_value(m, data, layout, true) {
                Fed::Accepted => {}
                Fed::Rejected => return Verdict::ValidRejected,
                Fed::Unknown => return Verdict::Unknown,
            }
        }
        Verdict::Pass
    } else {
        match accepts_value(m, data, Layout::Compact, false) {
            Fed::Accepted => Verdict::InvalidAccepted,
            Fed::Rejected => Verdict::Pass,
            Fed::Unknown => Verdict::Unknown,
        }
    }
}

/// The keyword (or coarse reason) a refusal message is about.
pub fn refusal_keyword(msg: &str) -> String {
    const KEYWORDS: [&str; 40] = [
        "uniqueItems",
        "format",
        "pattern",
        "patternProperties",
        "propertyNames",
        "not",
        "oneOf",
        "anyOf",
        "allOf",
        "if",
        "contains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$recursiveRef",
        "$ref",
        "multipleOf",
        "additionalProperties",
        "dependentSchemas",
        "dependencies",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "required",
        "properties",
        "type",
        "enum",
        "const",
        "minProperties",
        "maxProperties",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "disallow",
        "extends",
        "divisibleBy",
    ];
    let mut best: Option<(usize, &str)> = None;
    for k in KEYWORDS {
        let q = format!("\"{k}\"");
        if let Some(i) = msg.find(&q)
            && best.is_none_or(|(j, _)| i < j)
        {
            best = Some((i, k));
        }
    }
    if let Some((_, k)) = best {
        return k.to_string();
    }
    for (needle, label) in [
        ("pattern", "pattern"),
        ("format", "format"),
        ("remote", "$ref (remote)"),
        ("cycle", "$ref (cycle)"),
        ("no JSON value", "unsatisfiable"),
        ("alternatives", "combination size"),
        ("too large", "size limit"),
        ("nested deeper", "depth limit"),
        ("grammar compilation", "grammar compilation"),
    ] {
        if msg.contains(needle) {
            return label.to_string();
        }
    }
    "other".to_string()
}
