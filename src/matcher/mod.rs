//! The per-request matcher: parser state, token history, masks.
//!
//! A [`GrammarMatcher`] follows one generated sequence. It accepts tokens (or raw strings),
//! fills the next-token bitmask, rolls back any number of tokens, forks, and finds the
//! string the grammar forces next (jump-forward decoding).
//!
//! Memory per accepted token: 4 bytes of history, plus per byte of the token one 4-byte set
//! index and one 20-byte item for each live parser item at that byte (typically 1 to 10).
//!
//! Bitmask contract: `ceil(vocab_size / 32)` 32-bit words, token `i` is bit `i % 32` of word
//! `i / 32`, 1 = allowed; bits at or past `vocab_size` are 0.

use std::sync::Arc;

use crate::compiler::CompiledGrammar;
use crate::compiler::mask::{
    self, CTX_DEPTH, Ctx, RealStepper, StateMask, TokenSet, and_into, get_bit, or_into, set_bit,
};
use crate::error::{Error, ErrorKind, Result};
use crate::parser::{Item, Parser};

/// Options of a [`GrammarMatcher`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatcherOptions {
    /// Stop tokens to use instead of the tokenizer's.
    pub override_stop_tokens: Option<Vec<u32>>,
    /// Terminate as soon as the grammar is complete, without a stop token.
    pub terminate_without_stop_token: bool,
}

/// History marker for an accepted stop token.
const STOP: u32 = u32::MAX;

/// Matches one sequence against a compiled grammar.
#[derive(Debug, Clone)]
pub struct GrammarMatcher {
    cg: Arc<CompiledGrammar>,
    parser: Parser,
    /// Bytes consumed by each accepted token ([`STOP`] for a stop token).
    history: Vec<u32>,
    stop_ids: Vec<u32>,
    stop_accepted: bool,
    terminate_without_stop: bool,
    scratch: Vec<u32>,
    /// Scratch: contexts of one item, callers of one item, the tokens that keep a pending
    /// lookahead constraint alive.
    ctxs: Vec<Ctx>,
    callers: Vec<(Item, u32)>,
    callers2: Vec<(Item, u32)>,
    alive: Vec<u32>,
}

impl GrammarMatcher {
    /// A matcher at the start of `cg`.
    pub fn new(cg: Arc<CompiledGrammar>, options: &MatcherOptions) -> Result<GrammarMatcher> {
        let vocab_size = cg.vocab.vocab_size;
        let stop_ids = match &options.override_stop_tokens {
            Some(v) => {
                if let Some(&bad) = v.iter().find(|&&t| t as usize >= vocab_size) {
                    return Err(Error::invalid(format!(
                        "stop token id {bad} is out of range (vocab_size {vocab_size})"
                    )));
                }
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
            None => cg.vocab.stop_ids.clone(),
        };
        let parser = Parser::new(&cg.automata);
        Ok(GrammarMatcher {
            cg,
            parser,
            history: Vec::new(),
            stop_ids,
            stop_accepted: false,
            terminate_without_stop: options.terminate_without_stop_token,
            scratch: Vec::new(),
            ctxs: Vec::new(),
            callers: Vec::new(),
            callers2: Vec::new(),
            alive: Vec::new(),
        })
    }

    /// The compiled grammar.
    pub fn compiled_grammar(&self) -> &Arc<CompiledGrammar> {
        &self.cg
    }

    /// The stop tokens in use.
    pub fn stop_token_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// The model's vocabulary size (mask width in bits).
    pub fn vocab_size(&self) -> usize {
        self.cg.vocab.vocab_size
    }

    /// Words of one bitmask row.
    pub fn bitmask_words(&self) -> usize {
        self.cg.vocab.words()
    }

    /// The grammar may end here.
    pub fn is_completed(&self) -> bool {
        self.stop_accepted || self.parser.can_end(&self.cg.automata)
    }

    /// A stop token was accepted, or the grammar is complete and the matcher was created with
    /// `terminate_without_stop_token`.
    pub fn is_terminated(&self) -> bool {
        self.stop_accepted
            || (self.terminate_without_stop && self.parser.can_end(&self.cg.automata))
    }

    fn check_not_terminated(&self) -> Result<()> {
        if self.stop_accepted {
            return Err(Error::new(
                ErrorKind::Terminated,
                "the matcher has already accepted a stop token",
            ));
        }
        Ok(())
    }

    /// Accepts one token. `Ok(false)` means rejected, with the state unchanged.
    /// Errors: id out of range (`InvalidArgument`), matcher terminated (`Terminated`).
    pub fn accept_token(&mut self, token: u32) -> Result<bool> {
        let vocab_size = self.cg.vocab.vocab_size;
        if token as usize >= vocab_size {
            return Err(Error::invalid(format!(
                "token id {token} is out of range (vocab_size {vocab_size})"
            )));
        }
        self.check_not_terminated()?;
        if self.stop_ids.binary_search(&token).is_ok() {
            if self.parser.can_end(&self.cg.automata) {
                self.stop_accepted = true;
                self.history.push(STOP);
                return Ok(true);
            }
            return Ok(false);
        }
        let pos = self.cg.vocab.pos_of[token as usize];
        if pos == u32::MAX {
            return Ok(false);
        }
        let cg = self.cg.clone();
        let bytes = cg.vocab.tok(pos as usize);
        Ok(self.push_bytes(bytes))
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> bool {
        let start = self.parser.len();
        for &b in bytes {
            if !self.parser.push(&self.cg.automata, b) {
                self.parser.truncate(start);
                return false;
            }
        }
        self.history.push(bytes.len() as u32);
        true
    }

    /// Accepts a whole string (all or nothing); it counts as one step for rollback.
    pub fn accept_string(&mut self, s: impl AsRef<[u8]>) -> Result<bool> {
        self.check_not_terminated()?;
        Ok(self.push_bytes(s.as_ref()))
    }

    /// Undoes the last `n` accepted tokens (strings and stop tokens count as one each).
    pub fn rollback(&mut self, n: usize) -> Result<()> {
        if n > self.history.len() {
            return Err(Error::new(
                ErrorKind::Rollback,
                format!(
                    "cannot roll back {n} tokens: only {} were accepted",
                    self.history.len()
                ),
            ));
        }
        let mut len = self.parser.len();
        for _ in 0..n {
            match self.history.pop() {
                Some(STOP) => self.stop_accepted = false,
                Some(k) => len -= k as usize,
                None => {}
            }
        }
        self.parser.truncate(len);
        Ok(())
    }

    /// Number of tokens that can be rolled back.
    pub fn num_accepted(&self) -> usize {
        self.history.len()
    }

    /// Back to the start.
    pub fn reset(&mut self) {
        self.parser.truncate(0);
        self.history.clear();
        self.stop_accepted = false;
    }

    /// An independent copy of this matcher.
    pub fn fork(&self) -> GrammarMatcher {
        self.clone()
    }

    /// Fills `bitmask` (at least [`Self::bitmask_words`] words) with the tokens allowed next.
    /// Returns whether any token is masked out. After termination only stop tokens are set.
    pub fn fill_next_token_bitmask(&mut self, bitmask: &mut [i32]) -> Result<bool> {
        let words = self.cg.vocab.words();
        if bitmask.len() < words {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("bitmask has {} words, {words} needed", bitmask.len()),
            ));
        }
        // i32 and u32 have the same layout.
        let out: &mut [u32] = bytemuck_i32(&mut bitmask[..words]);
        self.fill_u32(out);
        let vs = self.cg.vocab.vocab_size;
        let full_words = vs / 32;
        let mut all = out[..full_words].iter().all(|&w| w == u32::MAX);
        if all && !vs.is_multiple_of(32) {
            all = out[full_words] == (1u32 << (vs % 32)) - 1;
        }
        Ok(!all)
    }

    fn fill_u32(&mut self, out: &mut [u32]) {
        let cg = self.cg.clone();
        let a = &cg.automata;
        if self.stop_accepted {
            out.fill(0);
            for &s in &self.stop_ids {
                set_bit(out, s);
            }
            return;
        }
        let mut trusted: Vec<Arc<StateMask>> = Vec::new();
        let mut extra: Vec<u32> = Vec::new();
        let mut seen: Vec<(u32, u32, Ctx)> = Vec::new();
        let mut ctxs = std::mem::take(&mut self.ctxs);
        let mut written = false;
        // The tokens that keep the last pending constraint met alive, and its id.
        let mut alive_la = 0;
        let mut alive = std::mem::take(&mut self.alive);
        for k in 0..self.parser.last_set().len() {
            let it = self.parser.last_set()[k];
            let d = &a.rules[it.rule as usize];
            if !d.scans[it.state as usize] {
                continue;
            }
            self.contexts(&it, &mut ctxs);
            for &ctx in &ctxs {
                let key = (it.rule, it.state, ctx);
                if it.la == 0 && seen.contains(&key) {
                    continue;
                }
                let sm = cg.state_mask(it.rule, it.state, ctx);
                if it.la == 0 {
                    seen.push(key);
                    // The first set is copied rather than ORed into a cleared row.
                    match (&sm.accepted, written) {
                        (TokenSet::Bits(b), false) => out.copy_from_slice(b),
                        (set, false) => {
                            out.fill(0);
                            or_into(out, set);
                        }
                        (set, true) => or_into(out, set),
                    }
                    written = true;
                    if !sm.uncertain.is_empty() {
                        trusted.push(sm);
                    }
                } else {
                    // A pending lookahead constraint reads every byte of every path from the
                    // item alike (callers continue with the item's constraint), so the item
                    // takes what its automata take wherever the constraint stays alive.
                    if alive_la != it.la {
                        self.alive_tokens(it.la, &mut alive);
                        alive_la = it.la;
                    }
                    if !written {
                        out.fill(0);
                        written = true;
                    }
                    or_into_masked(out, &sm.accepted, &alive);
                    let ids = &cg.vocab.ids;
                    extra.extend(
                        sm.uncertain
                            .iter()
                            .filter(|&&p| get_bit(&alive, ids[p as usize])),
                    );
                }
            }
        }
        self.alive = alive;
        self.ctxs = ctxs;
        let lists: Vec<&[u32]> = trusted.iter().map(|m| m.uncertain.as_slice()).collect();
        if !written {
            out.fill(0);
        }
        let mut cand = std::mem::take(&mut self.scratch);
        cand.clear();
        if lists.len() == 1 && extra.is_empty() {
            cand.extend_from_slice(lists[0]);
        } else {
            for l in &lists {
                cand.extend_from_slice(l);
            }
            cand.extend_from_slice(&extra);
            cand.sort_unstable();
            cand.dedup();
        }
        let vocab = &cg.vocab;
        cand.retain(|&p| !get_bit(out, vocab.ids[p as usize]));
        if !cand.is_empty() {
            let base = self.parser.len();
            let mut st = RealStepper {
                a,
                p: &mut self.parser,
                base,
            };
            mask::walk(vocab, cand.iter().map(|&p| p as usize), &mut st, |p, o| {
                if o == mask::Outcome::Accepted {
                    set_bit(out, vocab.ids[p]);
                }
            });
        }
        self.scratch = cand;
        if self.parser.can_end(a) {
            for &s in &self.stop_ids {
                set_bit(out, s);
            }
        }
    }

    /// The caller contexts of a scanning item: the top-level root itself, or each caller
    /// with each of its callers (or closed where the caller is the top-level root).
    fn contexts(&mut self, it: &Item, out: &mut Vec<Ctx>) {
        let a = &self.cg.automata;
        out.clear();
        if it.rule == 0 && it.origin == 0 {
            out.push(Ctx::TOP);
        }
        let mut callers = std::mem::take(&mut self.callers);
        let mut callers2 = std::mem::take(&mut self.callers2);
        self.parser.callers(a, it, &mut callers);
        for &(p, t) in &callers {
            let one = Ctx::TOP.push((p.rule, t), false);
            let top = p.rule == 0 && p.origin == 0;
            if top {
                out.push(Ctx {
                    closed: true,
                    ..one
                });
            }
            if CTX_DEPTH < 2 {
                // The top-level root may also be a nested call of itself.
                if !top || {
                    self.parser.callers(a, &p, &mut callers2);
                    !callers2.is_empty()
                } {
                    out.push(one);
                }
                continue;
            }
            self.parser.callers(a, &p, &mut callers2);
            if callers2.is_empty() && !top {
                out.push(one);
            }
            for &(g, u) in &callers2 {
                out.push(one.push((g.rule, u), false));
            }
        }
        self.callers = callers;
        self.callers2 = callers2;
    }

    /// Sets `bits` (a bitmask over ids) to the tokens along which every assertion pending
    /// in constraint `la` stays alive: the accepted tokens of their alive rules.
    fn alive_tokens(&self, la: u32, bits: &mut Vec<u32>) {
        let cg = &self.cg;
        let a = &cg.automata;
        bits.clear();
        bits.resize(cg.vocab.words(), 0);
        for (i, &(l, st)) in self.parser.pending(la).iter().enumerate() {
            let sm = cg.state_mask(a.alive[l as usize], st, Ctx::TOP);
            debug_assert!(
                sm.uncertain.is_empty(),
                "an alive rule neither calls nor ends"
            );
            if i == 0 {
                or_into(bits, &sm.accepted);
            } else {
                and_into(bits, &sm.accepted);
            }
        }
    }

    /// The bytes that can come next (each checked by the parser), for diagnostics.
    pub fn allowed_next_bytes(&mut self) -> Vec<u8> {
        let a = &self.cg.automata;
        let mut cand = [false; 256];
        self.parser.next_bytes(a, &mut cand);
        let mut out = Vec::new();
        for (b, &c) in cand.iter().enumerate() {
            if c && self.parser.push(a, b as u8) {
                self.parser.pop();
                out.push(b as u8);
            }
        }
        out
    }

    /// The longest string the grammar forces from here (possibly empty), cut back to whole
    /// UTF-8 characters.
    pub fn find_jump_forward_string(&mut self) -> String {
        if self.stop_accepted {
            return String::new();
        }
        let a = &self.cg.automata;
        let start = self.parser.len();
        let mut out: Vec<u8> = Vec::new();
        while out.len() < 4096 && !self.parser.can_end(a) {
            let mut next = [false; 256];
            self.parser.next_bytes(a, &mut next);
            let mut only = None;
            let mut count = 0;
            for (b, &ok) in next.iter().enumerate() {
                if ok {
                    count += 1;
                    only = Some(b as u8);
                }
            }
            let Some(b) = only.filter(|_| count == 1) else {
                break;
            };
            if !self.parser.push(a, b) {
                break;
            }
            out.push(b);
        }
        self.parser.truncate(start);
        let valid = match std::str::from_utf8(&out) {
            Ok(_) => out.len(),
            Err(e) => e.valid_up_to(),
        };
        out.truncate(valid);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Bytes held by the parser state and history.
    pub fn memory_bytes(&self) -> usize {
        self.parser.memory_bytes() + self.history.capacity() * 4
    }
}

/// Adds the tokens of `set` that are also in `mask_by` (a bitmask over ids) to `mask`.
fn or_into_masked(mask: &mut [u32], set: &TokenSet, mask_by: &[u32]) {
    match set {
        TokenSet::Ids(v) => v
            .iter()
            .filter(|&&id| get_bit(mask_by, id))
            .for_each(|&id| set_bit(mask, id)),
        TokenSet::Bits(b) => mask
            .iter_mut()
            .zip(b.iter().zip(mask_by))
            .for_each(|(m, (&x, &y))| *m |= x & y),
    }
}

fn bytemuck_i32(s: &mut [i32]) -> &mut [u32] {
    // SAFETY: i32 and u32 have identical size and alignment; every bit pattern is valid.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut u32, s.len()) }
}
