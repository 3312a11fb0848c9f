//! Token classes of call-free rules, shared by every grammar one compiler compiles.
//!
//! The caller-independent classes of a rule without calls or lookahead (such as the shared
//! loop of JSON string bodies) depend only on its automaton. Grammars compiled by the same
//! compiler look their automata up here by structure, so the walk over the vocabulary for,
//! say, "inside a JSON string" is done once per tokenizer instead of once per schema. The
//! automaton's facts (safe depths, runs; [`crate::automaton::facts`]) are shared alike.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::automaton::{FactsSlot, KRule, RuleDfa};

use super::mask::BaseMask;

/// Automata with more states than this are not shared (their classes are rarely reused).
const MAX_SHARED_STATES: usize = 4096;
/// Most distinct automata kept; later ones are not shared.
const MAX_ENTRIES: usize = 256;
/// Most bytes of classes kept across all entries.
pub(crate) const MAX_BYTES: usize = 256 << 20;

/// What is known of one automaton: its classes computed so far, state → (rule index used,
/// classes), and its facts.
#[derive(Default)]
pub(crate) struct Entry {
    pub masks: RwLock<HashMap<u32, (KRule, Arc<BaseMask>)>>,
    pub facts: FactsSlot,
}

/// The compiler-wide store.
#[derive(Default)]
pub(crate) struct SharedBases {
    map: Mutex<HashMap<Vec<u32>, Arc<Entry>>>,
    bytes: AtomicUsize,
}

impl SharedBases {
    /// The entry for `dfa`, when it is call-free, small and the store has room.
    pub fn entry(&self, dfa: &RuleDfa) -> Option<Arc<Entry>> {
        if dfa.lookahead.is_some()
            || dfa.num_states() > MAX_SHARED_STATES
            || dfa.calls.iter().any(|c| !c.is_empty())
        {
            return None;
        }
        let mut sig: Vec<u32> = Vec::with_capacity(70 + dfa.trans.len() + dfa.num_states());
        sig.push(dfa.start);
        sig.push(dfa.ncls as u32);
        sig.extend(
            dfa.classes
                .chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        sig.extend_from_slice(&dfa.trans);
        sig.extend(dfa.accept.iter().map(|&a| a as u32));
        let mut m = self.map.lock();
        if let Some(e) = m.get(&sig) {
            return Some(e.clone());
        }
        if m.len() >= MAX_ENTRIES || self.bytes.load(Ordering::Relaxed) >= MAX_BYTES {
            return None;
        }
        let e = Arc::new(Entry::default());
        m.insert(sig, e.clone());
        Some(e)
    }

    /// Counts bytes added to some entry.
    pub fn add_bytes(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes of classes held.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Forgets every entry (grammars holding one keep it).
    pub fn clear(&self) {
        self.map.lock().clear();
        self.bytes.store(0, Ordering::Relaxed);
    }
}
