//! Token classes of rules, shared by every grammar one compiler compiles.
//!
//! The caller-independent classes of a rule without lookahead depend only on its automaton
//! and on the automata of the rules it calls: a base walk enters callees and returns from
//! them, and hands off only the ends of the rule itself. Grammars compiled by the same
//! compiler look their automata up here by structure, a called rule by its own entry, so
//! the walk over the vocabulary for, say, "inside a JSON string" or "inside a `uri`" is done
//! once per tokenizer instead of once per schema. Rules on or above a cycle of calls, and a
//! grammar's root when it calls rules, are not shared (the compiled grammar decides). The
//! facts of call-free automata (safe depths, runs; [`crate::automaton::facts`]) are shared
//! alike.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::automaton::{DEAD, FactsSlot, KRule, RuleDfa};
use crate::fxhash::FxHashMap;

use super::mask::BaseMask;

/// Automata with more states than this are not shared (their classes are rarely reused).
/// At most 2^24, for the signature's edges.
const MAX_SHARED_STATES: usize = 4096;
/// Most distinct automata kept; when a new one would pass this, the least recently used
/// half is forgotten.
const MAX_ENTRIES: usize = 1024;
/// Most bytes of classes and signatures kept across all entries; past it, the least
/// recently used half is forgotten before a new entry is made.
pub(crate) const MAX_BYTES: usize = 256 << 20;

/// What is known of one automaton: its classes computed so far, state → (rule index used,
/// classes), and its facts.
#[derive(Default)]
pub(crate) struct Entry {
    /// Names this entry in the signatures of the rules that call it.
    id: u64,
    /// When it was last looked up ([`Store::clock`]).
    used: AtomicU64,
    /// Bytes held: its signature and the classes added.
    bytes: AtomicUsize,
    /// Still in the store (its bytes count in the store's total); changed under the
    /// store's lock.
    kept: AtomicBool,
    pub masks: RwLock<HashMap<u32, (KRule, Arc<BaseMask>)>>,
    pub facts: FactsSlot,
}

impl Entry {
    /// The entry's name in its callers' signatures.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The entries by signature, with the counters that name and age them.
#[derive(Default)]
struct Store {
    map: FxHashMap<Vec<u32>, Arc<Entry>>,
    next_id: u64,
    clock: u64,
}

/// The compiler-wide store.
pub(crate) struct SharedBases {
    store: Mutex<Store>,
    bytes: AtomicUsize,
    /// [`MAX_ENTRIES`] and [`MAX_BYTES`], apart from tests.
    max_entries: usize,
    max_bytes: usize,
}

impl Default for SharedBases {
    fn default() -> Self {
        SharedBases::with_limits(MAX_ENTRIES, MAX_BYTES)
    }
}

impl SharedBases {
    fn with_limits(max_entries: usize, max_bytes: usize) -> Self {
        SharedBases {
            store: Mutex::default(),
            bytes: AtomicUsize::new(0),
            max_entries,
            max_bytes,
        }
    }

    /// Whether `dfa` may have an entry, given entries for what it calls: it has no
    /// lookahead and is small.
    pub fn may_share(dfa: &RuleDfa) -> bool {
        dfa.lookahead.is_none() && dfa.num_states() <= MAX_SHARED_STATES
    }

    /// Whether classes may still be added to entries.
    pub fn has_room(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) < self.max_bytes
    }

    /// The entry for `dfa`, when it has no lookahead, is small and every rule it calls has
    /// an entry (`callee` gives its id). The signature is the automaton's structure, each
    /// call named by its callee's entry, so two rules share an entry exactly when their
    /// automata and those of everything they call are the same.
    pub fn entry(
        &self,
        dfa: &RuleDfa,
        callee: &dyn Fn(KRule) -> Option<u64>,
    ) -> Option<Arc<Entry>> {
        if !Self::may_share(dfa) {
            return None;
        }
        let n = dfa.num_states();
        let mut sig: Vec<u32> = Vec::with_capacity(70 + 4 * n);
        sig.extend([n as u32, dfa.start, dfa.ncls as u32]);
        sig.extend(
            dfa.classes
                .chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        sig.extend(dfa.accept.chunks(32).map(|c| {
            c.iter()
                .enumerate()
                .fold(0u32, |w, (i, &a)| w | (a as u32) << i)
        }));
        // Edges, per state: how many, then each as (target << 8 | class); targets are
        // below MAX_SHARED_STATES, so the pair fits.
        for row in dfa.trans.chunks(dfa.ncls.max(1)) {
            let at = sig.len();
            sig.push(0);
            for (c, &t) in row.iter().enumerate() {
                if t != DEAD {
                    sig.push(t << 8 | c as u32);
                }
            }
            sig[at] = (sig.len() - at - 1) as u32;
        }
        // Calls, per state with any: the state, how many, then (callee's entry, return).
        for (st, calls) in dfa.calls.iter().enumerate() {
            if calls.is_empty() {
                continue;
            }
            sig.extend([st as u32, calls.len() as u32]);
            for &(c, ret) in calls {
                let id = callee(c)?;
                sig.extend([id as u32, (id >> 32) as u32, ret]);
            }
        }
        let mut st = self.store.lock();
        st.clock += 1;
        let now = st.clock;
        if let Some(e) = st.map.get(&sig) {
            e.used.store(now, Ordering::Relaxed);
            return Some(e.clone());
        }
        if st.map.len() >= self.max_entries || !self.has_room() {
            self.forget_older_half(&mut st);
        }
        let key_bytes = sig.len() * 4 + 64;
        let e = Arc::new(Entry {
            id: st.next_id,
            used: AtomicU64::new(now),
            bytes: AtomicUsize::new(key_bytes),
            kept: AtomicBool::new(true),
            ..Entry::default()
        });
        st.next_id += 1;
        self.bytes.fetch_add(key_bytes, Ordering::Relaxed);
        st.map.insert(sig, e.clone());
        Some(e)
    }

    /// Forgets the least recently used half of the entries (grammars holding one keep it;
    /// the signatures of rules calling a forgotten entry match nothing again and age out).
    fn forget_older_half(&self, st: &mut Store) {
        let mut ages: Vec<u64> = st
            .map
            .values()
            .map(|e| e.used.load(Ordering::Relaxed))
            .collect();
        ages.sort_unstable();
        // The age of the youngest entry forgotten: half of them, at least one.
        let Some(&cut) = ages.get((ages.len() / 2).max(1) - 1) else {
            return;
        };
        st.map.retain(|_, e| {
            let keep = e.used.load(Ordering::Relaxed) > cut;
            if !keep {
                e.kept.store(false, Ordering::Relaxed);
                self.bytes
                    .fetch_sub(e.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            keep
        });
    }

    /// Counts bytes of classes added to `e` (in the store's total while it is kept).
    pub fn add_bytes(&self, e: &Entry, n: usize) {
        let _st = self.store.lock();
        e.bytes.fetch_add(n, Ordering::Relaxed);
        if e.kept.load(Ordering::Relaxed) {
            self.bytes.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Bytes of classes and signatures held.
    #[cfg(test)]
    pub fn memory_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Forgets every entry (grammars holding one keep it).
    pub fn clear(&self) {
        let mut st = self.store.lock();
        for e in st.map.values() {
            e.kept.store(false, Ordering::Relaxed);
        }
        st.map.clear();
        self.bytes.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automaton::Automata;
    use crate::grammar::Grammar;

    fn dfa(src: &str) -> RuleDfa {
        let g = Grammar::from_ebnf(src, "root").unwrap();
        Automata::build_with(&g, 1).unwrap().rules.swap_remove(0)
    }

    #[test]
    fn least_recently_used_half_is_forgotten_when_full() {
        let s = SharedBases::with_limits(4, usize::MAX);
        let none = |_: KRule| None;
        let d: Vec<RuleDfa> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|w| dfa(&format!("root ::= \"{w}\"+")))
            .collect();
        let first: Vec<Arc<Entry>> = d[..4].iter().map(|x| s.entry(x, &none).unwrap()).collect();
        let held: usize = first.iter().map(|e| e.bytes.load(Ordering::Relaxed)).sum();
        assert_eq!(s.memory_bytes(), held);
        // "a" and "d" used again: "b" and "c" are the older half when "e" comes.
        assert!(Arc::ptr_eq(&s.entry(&d[0], &none).unwrap(), &first[0]));
        assert!(Arc::ptr_eq(&s.entry(&d[3], &none).unwrap(), &first[3]));
        let e = s.entry(&d[4], &none).unwrap();
        assert_eq!(s.store.lock().map.len(), 3);
        let kept = [&first[0], &first[3], &e];
        let want: usize = kept.iter().map(|e| e.bytes.load(Ordering::Relaxed)).sum();
        assert_eq!(s.memory_bytes(), want);
        assert!(!first[1].kept.load(Ordering::Relaxed));
        // A forgotten entry's classes no longer count; a new entry takes its place.
        s.add_bytes(&first[1], 1000);
        assert_eq!(s.memory_bytes(), want);
        let again = s.entry(&d[1], &none).unwrap();
        assert!(!Arc::ptr_eq(&again, &first[1]));
        assert_ne!(again.id(), first[1].id());
        assert!(Arc::ptr_eq(&s.entry(&d[0], &none).unwrap(), &first[0]));
    }

    #[test]
    fn calls_are_named_by_their_callees_entries() {
        let s = SharedBases::default();
        let g = Grammar::from_ebnf(r#"root ::= "x" [^"]* "\"" "!""#, "root").unwrap();
        let a = Automata::build_with(&g, 1).unwrap();
        let root = &a.rules[0];
        assert!(root.calls.iter().any(|c| !c.is_empty()));
        // Without an entry for its callee the root has none; with one, a callee of another
        // id gives another entry.
        assert!(s.entry(root, &|_| None).is_none());
        let one = s.entry(root, &|_| Some(1)).unwrap();
        assert!(Arc::ptr_eq(&one, &s.entry(root, &|_| Some(1)).unwrap()));
        assert!(!Arc::ptr_eq(&one, &s.entry(root, &|_| Some(2)).unwrap()));
    }
}
