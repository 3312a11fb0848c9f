//! A fast non-cryptographic hash for the engine's internal maps (automaton state sets,
//! parser items): multiply-rotate over machine words. Keys are built by the engine, not
//! chosen by an attacker, so flooding resistance is not needed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A hash map with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

/// A list without repeats, built by pushing; a new item is compared only with the items of
/// equal hash (no clones, no quadratic search).
pub(crate) struct Dedup<T> {
    pub items: Vec<T>,
    at: FxHashMap<u64, Vec<u32>>,
}

impl<T> Default for Dedup<T> {
    fn default() -> Self {
        Dedup {
            items: Vec::new(),
            at: FxHashMap::default(),
        }
    }
}

impl<T: std::hash::Hash + Eq> Dedup<T> {
    /// Adds `x` unless an equal item is there already.
    pub fn push(&mut self, x: T) {
        use std::hash::BuildHasher;
        let h = BuildHasherDefault::<FxHasher>::default().hash_one(&x);
        let at = self.at.entry(h).or_default();
        if !at.iter().any(|&i| self.items[i as usize] == x) {
            at.push(self.items.len() as u32);
            self.items.push(x);
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}
