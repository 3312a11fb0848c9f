//! The grammar compiler and the compiled grammar.
//!
//! [`GrammarCompiler`] turns grammars into [`CompiledGrammar`]s for one tokenizer and keeps
//! a cache of them keyed by the grammar, bounded in bytes (least recently used first out).
//! A [`CompiledGrammar`] is immutable and `Send + Sync`: the rule automata, the tokenizer's
//! sorted vocabulary, and per-state token classes that are filled on first use (each is
//! computed once, under a per-state once-lock, and shared by every matcher).
//!
//! ```no_run
//! use std::sync::Arc;
//! use xgr::{GrammarCompiler, CompilerOptions, tokenizer::{TokenizerInfo, TokenizerOptions}};
//! let tok = Arc::new(TokenizerInfo::from_hf_json_file("tokenizer.json", &TokenizerOptions::default()).unwrap());
//! let compiler = GrammarCompiler::new(tok, CompilerOptions::default());
//! let cg = compiler.compile_builtin_json().unwrap();
//! println!("{} bytes", cg.memory_bytes());
//! ```

mod class_index;
pub(crate) mod mask;
mod shared;
pub(crate) mod vocab;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::automaton::{Automata, KRule};
use crate::error::Result;
use crate::grammar::Grammar;
use crate::tokenizer::TokenizerInfo;

use mask::{BaseMask, CTX_DEPTH, Ctx, Parent, StateMask};

/// Mask key: (rule, state, callers).
type MaskKey = (KRule, u32, Ctx);
use shared::SharedBases;
use vocab::VocabIndex;

/// Options of a [`GrammarCompiler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompilerOptions {
    /// Threads used to determinize large grammars (many tools, huge enums) and to
    /// precompute token classes eagerly (default 8, capped at the number of cores).
    pub max_threads: usize,
    /// Compute every token class at compile time instead of on first use (default false:
    /// compiles take about a millisecond and each class is computed the first time a mask
    /// needs it, then shared by every matcher of the grammar; only the initial state's and,
    /// for a structural tag, those along each trigger are computed while compiling).
    pub precompute: bool,
    /// Bound of the compiled-grammar cache in bytes (`None` = unbounded; default 512 MiB).
    pub cache_limit_bytes: Option<usize>,
    /// Whether compiled grammars are cached at all (default true).
    pub cache_enabled: bool,
}

impl Default for CompilerOptions {
    fn default() -> Self {
        CompilerOptions {
            max_threads: 8,
            precompute: false,
            cache_limit_bytes: Some(512 << 20),
            cache_enabled: true,
        }
    }
}

/// Per rule: whether no chain of calls from it comes back to a rule on the chain (only
/// such rules may share their classes: [`SharedBases::entry`] names calls by the callee's
/// entry).
fn acyclic_rules(a: &Automata) -> Vec<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        New,
        Open,
        Done(bool),
    }
    let n = a.rules.len();
    let mut seen = vec![Seen::New; n];
    // Depth-first over calls, without recursion: (rule, whether its callees are pushed).
    for r in 0..n {
        if seen[r] != Seen::New {
            continue;
        }
        let mut stack: Vec<(usize, bool)> = vec![(r, false)];
        while let Some(&(x, expanded)) = stack.last() {
            if !expanded {
                if seen[x] != Seen::New {
                    // Pushed twice; settled by the first.
                    stack.pop();
                    continue;
                }
                seen[x] = Seen::Open;
                stack.last_mut().expect("on the stack").1 = true;
                for calls in &a.rules[x].calls {
                    for &(c, _) in calls {
                        if seen[c as usize] == Seen::New {
                            stack.push((c as usize, false));
                        }
                    }
                }
                continue;
            }
            stack.pop();
            // A callee still open is on the current chain: a cycle through `x`.
            let ok = a.rules[x]
                .calls
                .iter()
                .flatten()
                .all(|&(c, _)| seen[c as usize] == Seen::Done(true));
            seen[x] = Seen::Done(ok);
        }
    }
    seen.into_iter().map(|s| s == Seen::Done(true)).collect()
}

/// A grammar compiled for one tokenizer: immutable and shareable across threads.
pub struct CompiledGrammar {
    grammar: Arc<Grammar>,
    pub(crate) automata: Automata,
    pub(crate) vocab: Arc<VocabIndex>,
    tokenizer: Arc<TokenizerInfo>,
    /// Token classes per (rule, state, callers).
    masks: RwLock<HashMap<MaskKey, Arc<StateMask>>>,
    /// Caller-independent parts, per (rule, state).
    bases: RwLock<HashMap<(KRule, u32), Arc<BaseMask>>>,
    /// Per rule: where its caller-independent parts are shared with other grammars; set
    /// at compile time for call-free rules (whose facts are shared too), on first use for
    /// the others ([`Self::shared_entry`]), so that a grammar of many large rules (tool
    /// bodies) pays for the signatures of the rules its walks reach only.
    shared_entries: Vec<OnceLock<Option<Arc<shared::Entry>>>>,
    /// Per rule with calls: it may have an entry, made on first use (no chain of calls
    /// from it leads back into the chain, [`acyclic_rules`]; not the root, whose classes
    /// only a compile of the same grammar would reuse, and which would make every rule it
    /// calls key itself at the first fill; small enough to share).
    may_share: Vec<bool>,
    shared: Arc<SharedBases>,
    mask_bytes: AtomicUsize,
}

impl std::fmt::Debug for CompiledGrammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledGrammar")
            .field("rules", &self.automata.rules.len())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl CompiledGrammar {
    fn new(
        grammar: Arc<Grammar>,
        tokenizer: Arc<TokenizerInfo>,
        vocab: Arc<VocabIndex>,
        shared: Arc<SharedBases>,
        threads: usize,
    ) -> Result<Self> {
        let mut automata = Automata::build_with(&grammar, threads)?;
        let shared_entries: Vec<OnceLock<Option<Arc<shared::Entry>>>> = (0..automata.rules.len())
            .map(|r| {
                let cell = OnceLock::new();
                if automata.call_free(r as KRule) {
                    let _ = cell.set(shared.entry(&automata.rules[r], &|_| None));
                }
                cell
            })
            .collect();
        for (r, e) in shared_entries.iter().enumerate() {
            if let Some(Some(e)) = e.get() {
                automata.share_facts(r as KRule, e.facts.clone());
            }
        }
        let may_share: Vec<bool> = acyclic_rules(&automata)
            .into_iter()
            .enumerate()
            .map(|(r, acyclic)| acyclic && r != 0 && SharedBases::may_share(&automata.rules[r]))
            .collect();
        Ok(CompiledGrammar {
            grammar,
            automata,
            vocab,
            tokenizer,
            masks: RwLock::new(HashMap::new()),
            bases: RwLock::new(HashMap::new()),
            shared_entries,
            may_share,
            shared,
            mask_bytes: AtomicUsize::new(0),
        })
    }

    /// The source grammar.
    pub fn grammar(&self) -> &Grammar {
        &self.grammar
    }

    /// The tokenizer this grammar was compiled for.
    pub fn tokenizer(&self) -> &Arc<TokenizerInfo> {
        &self.tokenizer
    }

    /// Bytes held: automata, token classes computed so far, and the bookkeeping around them
    /// (the vocabulary index shared with the compiler is not counted).
    pub fn memory_bytes(&self) -> usize {
        self.automata.memory_bytes() + self.mask_bytes.load(Ordering::Relaxed)
    }

    /// Token classes of (rule, state) under a caller, computed on first use.
    pub(crate) fn state_mask(&self, rule: KRule, state: u32, parent: Parent) -> Arc<StateMask> {
        let key = (rule, state, parent);
        if let Some(m) = self.masks.read().get(&key) {
            return m.clone();
        }
        let base = self.base_mask(rule, state);
        let m = Arc::new(mask::classify(&self.automata, &self.vocab, &base, parent));
        let mut w = self.masks.write();
        let e = w.entry(key).or_insert_with(|| {
            self.mask_bytes
                .fetch_add(m.memory_bytes() + 64, Ordering::Relaxed);
            m
        });
        e.clone()
    }

    /// The shared entry of `rule`, made when first asked for: after those of the rules it
    /// calls (deepest first, without recursion); none for a rule on or above a cycle of
    /// calls, nor for the root ([`Self::may_share`]).
    fn shared_entry(&self, rule: KRule) -> Option<&Arc<shared::Entry>> {
        let cell = &self.shared_entries[rule as usize];
        if let Some(e) = cell.get() {
            return e.as_ref();
        }
        let rules = &self.automata.rules;
        let mut stack = vec![rule as usize];
        while let Some(&x) = stack.last() {
            if self.shared_entries[x].get().is_some() {
                stack.pop();
                continue;
            }
            if !self.may_share[x] {
                let _ = self.shared_entries[x].set(None);
                continue;
            }
            let before = stack.len();
            for &(c, _) in rules[x].calls.iter().flatten() {
                if self.shared_entries[c as usize].get().is_none() {
                    stack.push(c as usize);
                }
            }
            if stack.len() > before {
                continue;
            }
            let id = |c: KRule| {
                let e = self.shared_entries[c as usize].get()?.as_ref()?;
                Some(e.id())
            };
            let _ = self.shared_entries[x].set(self.shared.entry(&rules[x], &id));
            stack.pop();
        }
        cell.get().and_then(|e| e.as_ref())
    }

    fn base_mask(&self, rule: KRule, state: u32) -> Arc<BaseMask> {
        if let Some(b) = self.bases.read().get(&(rule, state)) {
            return b.clone();
        }
        let entry = self.shared_entry(rule);
        let found = entry.and_then(|e| e.masks.read().get(&state).cloned());
        let b = match found {
            Some((k, b)) if k == rule => b,
            Some((k, b)) => Arc::new(b.renumbered(k, rule)),
            None => {
                let b = Arc::new(mask::classify_base(
                    &self.automata,
                    &self.vocab,
                    rule,
                    state,
                ));
                if let Some(e) = entry
                    && self.shared.has_room()
                {
                    e.masks.write().entry(state).or_insert_with(|| {
                        self.shared.add_bytes(e, b.memory_bytes() + 64);
                        (rule, b.clone())
                    });
                }
                b
            }
        };
        let mut w = self.bases.write();
        w.entry((rule, state))
            .or_insert_with(|| {
                self.mask_bytes
                    .fetch_add(b.memory_bytes() + 64, Ordering::Relaxed);
                b
            })
            .clone()
    }

    /// Every (rule, state, caller) a mask fill can ask for.
    fn mask_keys(&self) -> Vec<(KRule, u32, Parent)> {
        let a = &self.automata;
        let mut callers: Vec<Vec<(KRule, u32)>> = vec![Vec::new(); a.rules.len()];
        for (p, d) in a.rules.iter().enumerate() {
            for calls in &d.calls {
                for &(c, t) in calls {
                    if !callers[c as usize].contains(&(p as KRule, t)) {
                        callers[c as usize].push((p as KRule, t));
                    }
                }
            }
        }
        // Contexts of each rule: its callers, each with their own callers (or closed at the
        // top-level root).
        let contexts = |r: usize| -> Vec<Ctx> {
            let mut v = Vec::new();
            // The alive rules of lookahead assertions are asked for on their own.
            if r == 0 || a.alive.contains(&(r as KRule)) {
                v.push(Ctx::TOP);
            }
            for &(p, t) in &callers[r] {
                let one = Ctx::TOP.push((p, t), p == 0);
                if p == 0 || callers[p as usize].is_empty() || CTX_DEPTH < 2 {
                    v.push(Ctx {
                        closed: p == 0,
                        ..one
                    });
                }
                if CTX_DEPTH < 2 {
                    // The top-level root may also be a nested call of itself.
                    if p == 0 && !callers[0].is_empty() {
                        v.push(Ctx {
                            closed: false,
                            ..one
                        });
                    }
                    continue;
                }
                for &(g, u) in &callers[p as usize] {
                    v.push(
                        Ctx {
                            closed: false,
                            ..one
                        }
                        .push((g, u), false),
                    );
                }
            }
            v
        };
        let mut out = Vec::new();
        for (r, d) in a.rules.iter().enumerate() {
            let ctxs = contexts(r);
            for s in (0..d.num_states() as u32).filter(|&s| d.scans[s as usize]) {
                out.extend(ctxs.iter().map(|&c| (r as KRule, s, c)));
            }
        }
        out
    }

    /// Computes the token classes that the first fills of a request ask for: those of the
    /// initial state and, for each of the grammar's warm texts (a structural tag's
    /// triggers), those of the states along it as the tokenizer splits it, and of the state
    /// after it. Compiling pays for them instead of the first masks; a text the grammar or
    /// the tokenizer cannot take is skipped where it stops.
    fn warm_up(self: &Arc<Self>) {
        let Ok(mut m) = crate::GrammarMatcher::new(self.clone(), &Default::default()) else {
            return;
        };
        let mut bm = vec![0i32; m.bitmask_words()];
        if m.fill_next_token_bitmask(&mut bm).is_err() {
            return;
        }
        for text in self.grammar.warm_texts() {
            let Some(tokens) = self.tokenizer.encode(text) else {
                continue;
            };
            m.reset();
            for t in tokens {
                if !m.accept_token(t).unwrap_or(false)
                    || m.fill_next_token_bitmask(&mut bm).is_err()
                {
                    break;
                }
            }
        }
    }

    /// Computes the token classes of every (rule, state, caller) now, on up to `threads`
    /// threads, so that no mask fill pays for a first use.
    pub fn precompute(&self, threads: usize) {
        let work = self.mask_keys();
        crate::parallel::map(work.len(), threads, |i| {
            let (r, s, p) = work[i];
            self.state_mask(r, s, p);
        });
    }
}

struct CacheEntry {
    value: Arc<CompiledGrammar>,
    bytes: usize,
    tick: u64,
}

#[derive(Default)]
struct Cache {
    /// Keyed by the compiled grammar's own copy of its source.
    map: crate::fxhash::FxHashMap<Arc<Grammar>, CacheEntry>,
    bytes: usize,
    tick: u64,
}

/// Compiles grammars for one tokenizer; thread-safe, with a bounded cache.
pub struct GrammarCompiler {
    tokenizer: Arc<TokenizerInfo>,
    vocab: Arc<VocabIndex>,
    /// Classes of call-free rules, shared by the grammars this compiler compiles.
    shared: Arc<SharedBases>,
    options: CompilerOptions,
    cache: Mutex<Cache>,
}

impl GrammarCompiler {
    /// A compiler for `tokenizer`.
    pub fn new(tokenizer: Arc<TokenizerInfo>, options: CompilerOptions) -> GrammarCompiler {
        let vocab = Arc::new(VocabIndex::new(&tokenizer));
        GrammarCompiler {
            tokenizer,
            vocab,
            shared: Arc::new(SharedBases::default()),
            options,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Arc<TokenizerInfo> {
        &self.tokenizer
    }

    /// The options.
    pub fn options(&self) -> CompilerOptions {
        self.options
    }

    /// Compiles a grammar (or returns the cached result for an equal grammar).
    pub fn compile_grammar(&self, grammar: &Grammar) -> Result<Arc<CompiledGrammar>> {
        self.compile_with(grammar, || Arc::new(grammar.clone()))
    }

    /// [`Self::compile_grammar`] for a grammar this compiler may keep without a copy.
    fn compile_owned(&self, grammar: Grammar) -> Result<Arc<CompiledGrammar>> {
        let grammar = Arc::new(grammar);
        let key = grammar.clone();
        self.compile_with(&key, || grammar)
    }

    /// Looks `grammar` up in the cache, or compiles it, keeping the copy `keep` makes.
    fn compile_with(
        &self,
        grammar: &Grammar,
        keep: impl FnOnce() -> Arc<Grammar>,
    ) -> Result<Arc<CompiledGrammar>> {
        if self.options.cache_enabled {
            let mut c = self.cache.lock();
            c.tick += 1;
            let tick = c.tick;
            if let Some(e) = c.map.get_mut(grammar) {
                e.tick = tick;
                return Ok(e.value.clone());
            }
        }
        let cg = Arc::new(CompiledGrammar::new(
            keep(),
            self.tokenizer.clone(),
            self.vocab.clone(),
            self.shared.clone(),
            self.options.max_threads,
        )?);
        if self.options.precompute {
            cg.precompute(self.options.max_threads);
        } else {
            cg.warm_up();
        }
        if self.options.cache_enabled {
            self.insert(&cg);
        }
        Ok(cg)
    }

    fn insert(&self, cg: &Arc<CompiledGrammar>) {
        let bytes = cg.memory_bytes();
        let limit = self.options.cache_limit_bytes.unwrap_or(usize::MAX);
        if bytes > limit {
            return;
        }
        let mut c = self.cache.lock();
        c.tick += 1;
        let tick = c.tick;
        if let Some(old) = c.map.insert(
            cg.grammar.clone(),
            CacheEntry {
                value: cg.clone(),
                bytes,
                tick,
            },
        ) {
            c.bytes -= old.bytes;
        }
        c.bytes += bytes;
        while c.bytes > limit {
            let Some(victim) = c
                .map
                .iter()
                .min_by_key(|(_, e)| e.tick)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = c.map.remove(&victim) {
                c.bytes -= e.bytes;
            }
        }
    }

    /// Parses and compiles EBNF text.
    pub fn compile_ebnf(&self, src: &str, root_rule: &str) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(Grammar::from_ebnf(src, root_rule)?)
    }

    /// Compiles a regular expression (whole match).
    pub fn compile_regex(&self, pattern: &str) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(Grammar::from_regex(pattern)?)
    }

    /// Converts and compiles a JSON Schema.
    pub fn compile_json_schema(
        &self,
        schema: &str,
        opts: &crate::convert::json_schema::JsonSchemaOptions,
    ) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(Grammar::from_json_schema(schema, opts)?)
    }

    /// Converts and compiles a structural tag (XGrammar's JSON format; see
    /// [`crate::convert::structural_tag`]).
    pub fn compile_structural_tag(&self, json: &str) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(Grammar::from_structural_tag(json)?)
    }

    /// Compiles the legacy structural-tag form: free text in which each trigger starts one of
    /// `items` (`begin`, JSON for `schema`, `end`).
    pub fn compile_structural_tag_items(
        &self,
        items: &[crate::convert::structural_tag::StructuralTagItem],
        triggers: &[String],
    ) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(
            crate::convert::structural_tag::grammar_from_structural_tag_items(items, triggers)?,
        )
    }

    /// Compiles the builtin JSON grammar.
    pub fn compile_builtin_json(&self) -> Result<Arc<CompiledGrammar>> {
        self.compile_owned(Grammar::builtin_json())
    }

    /// Bytes held by cached compiled grammars (as measured when each was inserted).
    pub fn cache_size_bytes(&self) -> usize {
        self.cache.lock().bytes
    }

    /// Bytes held by the compiler's index of its tokenizer, shared by every grammar it
    /// compiles: the vocabulary trie with its per-node facts and links, the token lists,
    /// and the token masks by length and the byte-class indexes built so far. It grows
    /// with the masks and class indexes first uses ask for, and is not dropped by
    /// [`Self::clear_cache`].
    pub fn index_memory_bytes(&self) -> usize {
        self.vocab.memory_bytes()
    }

    /// Drops every cached grammar.
    pub fn clear_cache(&self) {
        self.shared.clear();
        let mut c = self.cache.lock();
        c.map.clear();
        c.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{TokenizerInfo, VocabType};

    fn tag(tools: &[&str]) -> String {
        let tags: Vec<String> = tools
            .iter()
            .map(|t| {
                format!(
                    r#"{{"type": "tag", "begin": "<tool_call>{t}:", "end": "</tool_call>",
                    "content": {{"type": "json_schema", "json_schema": {{"type": "object"}}}}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"type": "structural_tag", "format": {{"type": "triggered_tags",
            "triggers": ["<tool_call>"], "tags": [{}]}}}}"#,
            tags.join(",")
        )
    }

    #[test]
    fn free_text_of_triggered_tags_and_its_facts_are_shared_between_grammars() {
        let words: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let tok = TokenizerInfo::from_vocab(&words, VocabType::Raw, &Default::default()).unwrap();
        let c = GrammarCompiler::new(Arc::new(tok), CompilerOptions::default());
        let a = c.compile_structural_tag(&tag(&["a", "b"])).unwrap();
        let b = c.compile_structural_tag(&tag(&["c"])).unwrap();
        let text = |g: &CompiledGrammar| {
            g.automata
                .rules
                .iter()
                .position(|d| d.name.starts_with("text"))
                .expect("free text kept apart")
        };
        let (i, j) = (text(&a), text(&b));
        let entry =
            |g: &CompiledGrammar, i: usize| g.shared_entry(i as KRule).cloned().expect("shared");
        assert!(Arc::ptr_eq(&entry(&a, i), &entry(&b, j)));
        // Its facts too: computed once, by whichever grammar asks first.
        assert!(std::ptr::eq(
            a.automata.facts(i as KRule),
            b.automata.facts(j as KRule)
        ));
        // The root calls other rules: its facts are its own.
        assert!(!std::ptr::eq(a.automata.facts(0), b.automata.facts(0)));
    }

    #[test]
    fn rules_with_calls_share_classes_when_their_callees_do() {
        let words: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let tok = TokenizerInfo::from_vocab(&words, VocabType::Raw, &Default::default()).unwrap();
        let c = GrammarCompiler::new(Arc::new(tok), CompilerOptions::default());
        let opts = crate::JsonSchemaOptions::default();
        // A `uri` string calls the loops outlined from it; the two schemas number it apart.
        let a = c
            .compile_json_schema(
                r#"{"type": "array", "items": {"type": "string", "format": "uri"}}"#,
                &opts,
            )
            .unwrap();
        let b = c
            .compile_json_schema(
                r#"{"type": "object", "properties": {"x": {"type": "object", "properties": {
                    "u": {"type": "string", "format": "uri"}, "n": {"type": "integer"}},
                    "required": ["u"]}}}"#,
                &opts,
            )
            .unwrap();
        // The largest rule with calls but the root.
        let uri = |g: &CompiledGrammar| {
            (1..g.automata.rules.len())
                .filter(|&i| !g.automata.call_free(i as KRule))
                .max_by_key(|&i| g.automata.rules[i].num_states())
                .expect("the uri rule")
        };
        let (i, j) = (uri(&a), uri(&b));
        assert_ne!(i, j, "numbered apart");
        let ea = a.shared_entry(i as KRule).cloned().expect("shared");
        assert!(Arc::ptr_eq(&ea, b.shared_entry(j as KRule).unwrap()));
        // Classes computed for one grammar serve the other, under its own rule index.
        let start = a.automata.rules[i].start;
        a.base_mask(i as KRule, start);
        assert_eq!(ea.masks.read().get(&start).map(|m| m.0), Some(i as KRule));
        let mb = b.base_mask(j as KRule, b.automata.rules[j].start);
        let ma = a.base_mask(i as KRule, start);
        let want = ma.renumbered(i as KRule, j as KRule);
        assert_eq!(format!("{want:?}"), format!("{mb:?}"));
        // Rules with calls get their entry when a walk asks: compiling (which walks the
        // start and a structural tag's triggers) leaves the tool bodies without one.
        let tools = c
            .compile_structural_tag(
                r#"{"type": "structural_tag", "format": {"type": "triggered_tags",
                "triggers": ["<t>"], "tags": [{"type": "tag", "begin": "<t>a:", "end": "</t>",
                "content": {"type": "json_schema", "json_schema": {"type": "array",
                "items": {"type": "string", "format": "uri"}}}}]}}"#,
            )
            .unwrap();
        let unasked = (0..tools.automata.rules.len()).filter(|&r| {
            !tools.automata.call_free(r as KRule) && tools.shared_entries[r].get().is_none()
        });
        assert!(unasked.count() > 0);
        // A rule on a cycle of calls is not shared, nor is what calls it.
        let json = c.compile_builtin_json().unwrap();
        let recursive = (0..json.automata.rules.len())
            .filter(|&r| !json.automata.call_free(r as KRule))
            .collect::<Vec<_>>();
        assert!(!recursive.is_empty());
        assert!(
            recursive
                .iter()
                .all(|&r| json.shared_entry(r as KRule).is_none())
        );
    }
}
