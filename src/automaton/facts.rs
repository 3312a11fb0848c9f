//! Per-state facts that the token walk's shortcuts read ([`super::text`], [`super::runs`]),
//! computed for a state, and what it leads to, the first time a walk asks: a large
//! automaton (a `date-time` format has tens of thousands of states) costs nothing for the
//! states no walk reaches. Values are deterministic, so concurrent walks that compute the
//! same state store the same values.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use super::RuleDfa;
use super::runs::{self, Run, RunClasses};
use super::text::{self, INSIDE, TextClasses};

/// Facts of one automaton's states; each slot holds 0 until known, else the value + 1.
#[derive(Debug)]
pub(crate) struct Facts {
    tc: TextClasses,
    /// Per state (empty when none): it calls a rule that surely takes any safe text.
    sinks: Vec<bool>,
    /// Per state (empty when none): it calls a rule that surely takes any safe text and
    /// meets no end, no call and no control byte along a token's length of it.
    quiet_sinks: Vec<bool>,
    rc: RunClasses,
    safe: Vec<AtomicU16>,
    /// Safe depth leaving out the ASCII characters outside the state's run.
    excl: Vec<AtomicU16>,
    /// `[state * INSIDE.len() + phase]`.
    inside: Vec<AtomicU16>,
    run_depth: Vec<AtomicU16>,
    run_class: Vec<[AtomicU64; 2]>,
    /// [`Self::counts_only`] known so far.
    counts: Vec<AtomicU16>,
    /// [`Self::ascii_longest`] known so far.
    longest: Vec<AtomicU16>,
    /// [`Self::quiet_text`] known so far.
    quiet: Vec<AtomicU16>,
}

/// The value of `s` in `slots` (0: unknown, else value + 1), computed when unknown by
/// `compute`, which is given the values known so far and returns those of `s` and of the
/// states it settled on the way; all are stored.
fn settle<I: IntoIterator<Item = (u32, u8)>>(
    slots: &[AtomicU16],
    s: u32,
    compute: impl FnOnce(&dyn Fn(u32) -> Option<u8>) -> I,
) -> u8 {
    let known = |t: u32| match slots[t as usize].load(Ordering::Relaxed) {
        0 => None,
        v => Some((v - 1) as u8),
    };
    if let Some(v) = known(s) {
        return v;
    }
    let mut out = 0;
    for (st, v) in compute(&known) {
        slots[st as usize].store(v as u16 + 1, Ordering::Relaxed);
        if st == s {
            out = v;
        }
    }
    out
}

/// What [`Facts::counts_only`] knows of a state whose safe text is only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    /// No control byte (below 0x20) is taken after any of the counted text.
    pub no_control: bool,
}

fn slots(n: usize) -> Vec<AtomicU16> {
    (0..n).map(|_| AtomicU16::new(0)).collect()
}

impl Facts {
    /// The facts of `d`, whose states `sinks` call a rule that surely takes any safe text
    /// (empty when none do), and `quiet_sinks` one whose text is also quiet
    /// ([`Self::quiet_text`]).
    pub fn new(d: &RuleDfa, sinks: Vec<bool>, quiet_sinks: Vec<bool>) -> Facts {
        let n = d.num_states();
        Facts {
            tc: TextClasses::new(d),
            sinks,
            quiet_sinks,
            rc: RunClasses::new(d),
            safe: slots(n),
            excl: slots(n),
            inside: slots(n * INSIDE.len()),
            run_depth: slots(n),
            counts: slots(n),
            longest: slots(n),
            quiet: slots(n),
            run_class: (0..n)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
        }
    }

    /// Bytes held by the slots (the class tables are small).
    pub fn memory_bytes(&self) -> usize {
        (self.safe.len()
            + self.excl.len()
            + self.inside.len()
            + self.run_depth.len()
            + self.counts.len()
            + self.longest.len()
            + self.quiet.len())
            * 2
            + self.run_class.len() * 16
    }

    /// How many safe characters `s` surely takes ([`text::safe_closure`]).
    pub fn safe(&self, d: &RuleDfa, s: u32) -> u8 {
        settle(&self.safe, s, |known| {
            text::safe_closure(d, &self.tc, s, 0, &self.sinks, known)
        })
    }

    /// The safe ASCII characters outside the run of `s` (those that leave its loop, such as
    /// the first byte of a trigger in free text), and how many safe characters `s` surely
    /// takes when those are left out ([`text::safe_closure`] with an exclusion).
    pub fn excluding(&self, d: &RuleDfa, s: u32) -> (runs::ByteClass, u8) {
        let e = text::SAFE_ASCII & !self.run(d, s).class;
        if e == 0 || e == text::SAFE_ASCII {
            return (e, 0);
        }
        let slot = &self.excl[s as usize];
        match slot.load(Ordering::Relaxed) {
            0 => {
                let v = text::safe_closure(d, &self.tc, s, e, &self.sinks, |_| None)
                    .into_iter()
                    .find(|&(st, _)| st == s)
                    .map_or(0, |(_, v)| v);
                slot.store(v as u16 + 1, Ordering::Relaxed);
                (e, v)
            }
            v => (e, (v - 1) as u8),
        }
    }

    /// Whether safe text from `s` is only counted: every safe character string of at most
    /// `depth` characters is taken and none longer, through states with no end and no call
    /// (so a token of safe text is accepted exactly when it starts at most `depth`
    /// characters). `depth` is the state's safe depth. When it is, also whether no control
    /// byte (below 0x20) is taken after any of that text.
    pub fn counts_only(&self, d: &RuleDfa, s: u32, depth: u8) -> Option<Counted> {
        // Slot: 0 unknown, 1 no, else 2 + depth, plus NO_CONTROL when no control byte is
        // taken.
        const NO_CONTROL: u16 = 1 << 9;
        let read = |v: u16| Counted {
            no_control: v & NO_CONTROL != 0,
        };
        match self.counts[s as usize].load(Ordering::Relaxed) {
            0 => {}
            1 => return None,
            v => {
                if (v & !NO_CONTROL) - 2 == depth as u16 {
                    return Some(read(v));
                }
            }
        }
        // Quick refusal: a run of more safe characters than the count is taken.
        if self.ascii_longest(d, s) > depth {
            self.counts[s as usize].store(1, Ordering::Relaxed);
            return None;
        }
        match text::counts_only(d, &self.tc, s, depth) {
            Some((levels, no_control)) => {
                // The states along the count count only too, each with what is left.
                let flag = if no_control { NO_CONTROL } else { 0 };
                for (k, level) in levels.iter().enumerate() {
                    for &st in level {
                        let v = (2 + depth as u16 - k as u16) | flag;
                        self.counts[st as usize].store(v, Ordering::Relaxed);
                    }
                }
                Some(Counted { no_control })
            }
            None => {
                self.counts[s as usize].store(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Whether safe text of up to 254 characters from `s` (any text token) meets no call,
    /// no end and no state that takes a control byte ([`text::quiet_levels`]): a loop
    /// over text, a count longer than any token (a `maxLength` of 255 or more), or text
    /// that goes on into a quiet sink (an unanchored pattern's tail). Meant for states
    /// whose safe depth is 255.
    pub fn quiet_text(&self, d: &RuleDfa, s: u32) -> bool {
        settle(&self.quiet, s, |_| {
            // One walk of twice the levels also settles the states up to 254 characters
            // on (the next counts of a long `maxLength` chain).
            let held = text::quiet_levels(d, &self.tc, s, 254, 254, 8192, &self.quiet_sinks);
            let own = held.first() == Some(&s);
            std::iter::once((s, own as u8))
                .chain(held.into_iter().skip(own as usize).map(|t| (t, 1)))
        }) == 1
    }

    /// [`text::ascii_longest`] of `s`.
    pub fn ascii_longest(&self, d: &RuleDfa, s: u32) -> u8 {
        settle(&self.longest, s, |known| {
            text::ascii_longest(d, &self.tc, s, known)
        })
    }

    /// [`text::inside_depth`] of `s` in phase `INSIDE[k]`.
    pub fn inside(&self, d: &RuleDfa, s: u32, k: usize) -> u8 {
        let slot = &self.inside[s as usize * INSIDE.len() + k];
        match slot.load(Ordering::Relaxed) {
            0 => {
                let v = text::inside_depth(d, &self.tc, s, k, |t| self.safe(d, t));
                slot.store(v as u16 + 1, Ordering::Relaxed);
                v
            }
            v => (v - 1) as u8,
        }
    }

    fn known_run(&self, s: u32) -> Option<Run> {
        match self.run_depth[s as usize].load(Ordering::Acquire) {
            0 => None,
            v => {
                let [lo, hi] = &self.run_class[s as usize];
                let class =
                    lo.load(Ordering::Relaxed) as u128 | (hi.load(Ordering::Relaxed) as u128) << 64;
                Some(Run {
                    class,
                    depth: (v - 1) as u8,
                })
            }
        }
    }

    fn store_run(&self, s: u32, r: Run) {
        let [lo, hi] = &self.run_class[s as usize];
        lo.store(r.class as u64, Ordering::Relaxed);
        hi.store((r.class >> 64) as u64, Ordering::Relaxed);
        self.run_depth[s as usize].store(r.depth as u16 + 1, Ordering::Release);
    }

    /// The [`Run`] of `s`: its class, and how many bytes of it in a row `s` surely takes
    /// (a chain that runs into a cycle never ends: 255; longer than 255 counts as 255).
    pub fn run(&self, d: &RuleDfa, s: u32) -> Run {
        if let Some(r) = self.known_run(s) {
            return r;
        }
        // Follow the chain from `s` until a known state, its end, or a repeat.
        let mut path: Vec<(u32, runs::ByteClass)> = Vec::new();
        let mut cur = s;
        let mut cur_step = runs::step(d, &self.rc, cur);
        let mut v: u8 = loop {
            if let Some(r) = self.known_run(cur) {
                break r.depth;
            }
            let Some((t, class)) = cur_step else {
                self.store_run(cur, Run::default());
                break 0;
            };
            if path.len() > 255 || path.iter().any(|&(p, _)| p == cur) {
                break 255;
            }
            path.push((cur, class));
            let t_step = runs::step(d, &self.rc, t);
            if !runs::links(d, class, t, t_step) {
                break 0;
            }
            cur = t;
            cur_step = t_step;
        };
        while let Some((p, class)) = path.pop() {
            v = v.saturating_add(1);
            self.store_run(p, Run { class, depth: v });
        }
        self.known_run(s).unwrap_or_default()
    }
}
