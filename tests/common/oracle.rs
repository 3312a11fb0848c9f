//! The brute-force oracle: a mask as a sorted list of token ids, and the tokens that
//! `accept_token` accepts when tried one by one on a fork.

use xgr::GrammarMatcher;

/// The allowed token ids of the matcher's next mask; panics if a bit past `vocab_size` is
/// set.
pub fn mask_of(m: &mut GrammarMatcher) -> Vec<u32> {
    let mut bm = vec![0i32; m.bitmask_words()];
    m.fill_next_token_bitmask(&mut bm).unwrap();
    for (w, &word) in bm.iter().enumerate() {
        for bit in 0..32 {
            if word as u32 & (1 << bit) != 0 {
                assert!(w * 32 + bit < m.vocab_size(), "bit past vocab_size set");
            }
        }
    }
    (0..m.vocab_size() as u32)
        .filter(|&i| bm[(i / 32) as usize] as u32 & (1 << (i % 32)) != 0)
        .collect()
}

/// Every token id that `accept_token` accepts from the matcher's state (brute force).
pub fn oracle(m: &GrammarMatcher) -> Vec<u32> {
    let mut f = m.fork();
    let mut out = Vec::new();
    for t in 0..m.vocab_size() as u32 {
        if f.accept_token(t).unwrap() {
            out.push(t);
            f.rollback(1).unwrap();
        }
    }
    out
}

/// One checked step of a walk: the mask equals the oracle, and a stop token is in it
/// exactly when the matcher is completed. Gives the mask's tokens other than stop tokens,
/// and whether a stop token is allowed. `what` names the step in failure messages.
pub fn checked_step(m: &mut GrammarMatcher, what: &str) -> (Vec<u32>, bool) {
    let mask = mask_of(m);
    assert_eq!(mask, oracle(m), "{what}: mask differs from oracle");
    let (stops, text): (Vec<u32>, Vec<u32>) =
        mask.iter().partition(|t| m.stop_token_ids().contains(t));
    assert_eq!(
        !stops.is_empty(),
        m.is_completed(),
        "{what}: stop token iff completed"
    );
    (text, !stops.is_empty())
}
