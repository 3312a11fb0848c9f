//! Exact decimal numbers and the number languages built from them.
//!
//! Numbers with any constraint are written in one canonical spelling per value: an optional
//! `-`, an integer part without leading zeros, and an optional fraction without trailing zeros;
//! no exponent and no `-0` (so `1.0` is written `1`, and `2.50` is written `2.5`). A number with
//! no constraint at all accepts the full JSON number syntax.
//!
//! [`range_expr`] builds digit automata for `lo ≤ x ≤ hi` (each bound optional and possibly
//! exclusive, integers only or not) by splitting on the integer part and comparing the
//! fraction digit by digit. [`residue_dfa`] is the automaton of the multiples (and
//! non-multiples, for `not: {multipleOf}`) of decimals `p / 10^s`: it tracks the digits read
//! so far modulo the least common multiple of the scaled divisors; it is intersected with the
//! range automaton with the tools of `regular.rs`.

use std::cmp::Ordering;

use crate::error::{Error, ErrorKind, Result};
use crate::grammar::Expr;

use super::regular::{DState, Dfa, alt, class, seq};

/// Largest `p` (of `multipleOf = p / 10^s`) whose residue automaton is built.
const MAX_MODULUS: u64 = 5_000;

/// An exact decimal: sign, integer digits (no leading zeros; empty = 0) and fraction digits
/// (no trailing zeros). Zero is never negative.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Dec {
    pub neg: bool,
    pub int: Vec<u8>,
    pub frac: Vec<u8>,
}

impl Dec {
    /// Parses a decimal in plain or exponent notation.
    pub fn parse(s: &str) -> Option<Dec> {
        let (neg, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (mant, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (ip, fp) = match mant.find('.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, ""),
        };
        if ip.is_empty() && fp.is_empty() {
            return None;
        }
        if !ip.bytes().chain(fp.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        if exp.abs() > 400 {
            return None;
        }
        let mut digits: Vec<u8> = ip.bytes().chain(fp.bytes()).map(|b| b - b'0').collect();
        let mut point = ip.len() as i64 + exp;
        if point < 0 {
            let mut z = vec![0u8; (-point) as usize];
            z.extend(digits);
            digits = z;
            point = 0;
        }
        while (digits.len() as i64) < point {
            digits.push(0);
        }
        let p = point as usize;
        let mut int = digits[..p].to_vec();
        let mut frac = digits[p..].to_vec();
        while int.first() == Some(&0) {
            int.remove(0);
        }
        while frac.last() == Some(&0) {
            frac.pop();
        }
        let zero = int.is_empty() && frac.is_empty();
        Some(Dec {
            neg: neg && !zero,
            int,
            frac,
        })
    }

    /// The decimal a JSON number denotes (floats through their shortest round-trip digits).
    pub fn from_json(n: &serde_json::Number) -> Option<Dec> {
        if let Some(u) = n.as_u64() {
            return Dec::parse(&u.to_string());
        }
        if let Some(i) = n.as_i64() {
            return Dec::parse(&i.to_string());
        }
        let f = n.as_f64()?;
        if !f.is_finite() {
            return None;
        }
        Dec::parse(&format!("{f}"))
    }

    pub fn zero() -> Dec {
        Dec {
            neg: false,
            int: vec![],
            frac: vec![],
        }
    }

    pub fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac.is_empty()
    }

    pub fn is_integer(&self) -> bool {
        self.frac.is_empty()
    }

    /// The canonical spelling.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        if self.int.is_empty() {
            s.push('0');
        }
        s.extend(self.int.iter().map(|d| (b'0' + d) as char));
        if !self.frac.is_empty() {
            s.push('.');
            s.extend(self.frac.iter().map(|d| (b'0' + d) as char));
        }
        s
    }

    pub fn abs(&self) -> Dec {
        Dec {
            neg: false,
            ..self.clone()
        }
    }

    fn cmp_abs(&self, o: &Dec) -> Ordering {
        self.int
            .len()
            .cmp(&o.int.len())
            .then_with(|| self.int.cmp(&o.int))
            .then_with(|| self.frac.cmp(&o.frac))
    }

    /// The integer part (truncated toward zero), as a non-negative integer.
    fn trunc_abs(&self) -> Dec {
        Dec {
            neg: false,
            int: self.int.clone(),
            frac: vec![],
        }
    }

    /// `|self| + 1` for a non-negative integer.
    fn inc(&self) -> Dec {
        let mut d = self.int.clone();
        let mut i = d.len();
        loop {
            if i == 0 {
                d.insert(0, 1);
                break;
            }
            i -= 1;
            if d[i] == 9 {
                d[i] = 0;
            } else {
                d[i] += 1;
                break;
            }
        }
        Dec {
            neg: false,
            int: d,
            frac: vec![],
        }
    }

    /// `|self| - 1` for a positive integer.
    fn dec(&self) -> Dec {
        let mut d = self.int.clone();
        let mut i = d.len();
        while i > 0 {
            i -= 1;
            if d[i] == 0 {
                d[i] = 9;
            } else {
                d[i] -= 1;
                break;
            }
        }
        while d.first() == Some(&0) {
            d.remove(0);
        }
        Dec {
            neg: false,
            int: d,
            frac: vec![],
        }
    }

    /// Smallest integer ≥ self.
    pub fn ceil(&self) -> Dec {
        if self.frac.is_empty() {
            return self.clone();
        }
        if self.neg {
            let t = self.trunc_abs();
            Dec {
                neg: !t.is_zero(),
                ..t
            }
        } else {
            self.trunc_abs().inc()
        }
    }

    /// Largest integer ≤ self.
    pub fn floor(&self) -> Dec {
        if self.frac.is_empty() {
            return self.clone();
        }
        if self.neg {
            Dec {
                neg: true,
                ..self.trunc_abs().inc()
            }
        } else {
            self.trunc_abs()
        }
    }

    /// `self + 1` for an integer.
    pub fn plus_one(&self) -> Dec {
        if self.neg {
            let m = self.abs().dec();
            Dec {
                neg: !m.is_zero(),
                ..m
            }
        } else {
            self.inc()
        }
    }

    /// `self - 1` for an integer.
    pub fn minus_one(&self) -> Dec {
        if self.neg || self.is_zero() {
            Dec {
                neg: true,
                ..self.abs().inc()
            }
        } else {
            self.dec()
        }
    }

    /// `(p, s)` with `self = p / 10^s`, `p` a positive integer that fits in `u64`.
    fn as_ratio(&self) -> Option<(u64, usize)> {
        let mut p: u64 = 0;
        for &d in self.int.iter().chain(self.frac.iter()) {
            p = p.checked_mul(10)?.checked_add(d as u64)?;
        }
        (p > 0).then_some((p, self.frac.len()))
    }

    /// Whether `self` is an integer multiple of the positive `m`; `None` if too large to tell.
    pub fn is_multiple_of(&self, m: &Dec) -> Option<bool> {
        let (p, s) = m.as_ratio()?;
        if self.frac.len() > s {
            return Some(false);
        }
        // self * 10^s as a digit string, modulo p.
        let mut r: u128 = 0;
        let pad = s - self.frac.len();
        for &d in self
            .int
            .iter()
            .chain(self.frac.iter())
            .chain(std::iter::repeat_n(&0u8, pad))
        {
            r = (r * 10 + d as u128) % p as u128;
        }
        Some(r == 0)
    }
}

impl Ord for Dec {
    fn cmp(&self, o: &Dec) -> Ordering {
        match (self.neg, o.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(o),
            (true, true) => o.cmp_abs(self),
        }
    }
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, o: &Dec) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// A bound: value and whether it is exclusive.
pub(crate) type Bound = (Dec, bool);

/// Whether `x` satisfies a lower bound.
pub(crate) fn above(x: &Dec, lo: &Option<Bound>) -> bool {
    match lo {
        None => true,
        Some((b, strict)) => {
            if *strict {
                x > b
            } else {
                x >= b
            }
        }
    }
}

/// Whether `x` satisfies an upper bound.
pub(crate) fn below(x: &Dec, hi: &Option<Bound>) -> bool {
    match hi {
        None => true,
        Some((b, strict)) => {
            if *strict {
                x < b
            } else {
                x <= b
            }
        }
    }
}

fn digits_text(d: &[u8]) -> String {
    if d.is_empty() {
        return "0".into();
    }
    d.iter().map(|x| (b'0' + x) as char).collect()
}

fn digit_class(lo: u8, hi: u8) -> Expr {
    class(&[((b'0' + lo) as u32, (b'0' + hi) as u32)])
}

fn any_digits(min: u32, max: Option<u32>) -> Expr {
    if max == Some(0) {
        return Expr::empty();
    }
    Expr::Repeat {
        expr: Box::new(digit_class(0, 9)),
        min,
        max,
    }
}

/// Digit strings of the length of `lo`/`hi` (equal lengths, leading zeros allowed) between
/// them inclusive.
fn same_len(lo: &[u8], hi: &[u8]) -> Expr {
    if lo.is_empty() {
        return Expr::empty();
    }
    let n = lo.len() as u32;
    if lo[1..].iter().all(|&d| d == 0) && hi[1..].iter().all(|&d| d == 9) {
        return seq(vec![
            digit_class(lo[0], hi[0]),
            any_digits(n - 1, Some(n - 1)),
        ]);
    }
    if lo[0] == hi[0] {
        return seq(vec![
            digit_class(lo[0], lo[0]),
            same_len(&lo[1..], &hi[1..]),
        ]);
    }
    let nines = vec![9u8; lo.len() - 1];
    let zeros = vec![0u8; lo.len() - 1];
    let mut alts = vec![seq(vec![
        digit_class(lo[0], lo[0]),
        same_len(&lo[1..], &nines),
    ])];
    if hi[0] > lo[0] + 1 {
        alts.push(seq(vec![
            digit_class(lo[0] + 1, hi[0] - 1),
            any_digits(n - 1, Some(n - 1)),
        ]));
    }
    alts.push(seq(vec![
        digit_class(hi[0], hi[0]),
        same_len(&zeros, &hi[1..]),
    ]));
    alt(alts)
}

/// Canonical non-negative integers in `[a, b]` (`b = None`: unbounded).
fn int_range(a: &Dec, b: Option<&Dec>) -> Expr {
    if let Some(b) = b
        && a > b
    {
        return Expr::Alt(vec![]);
    }
    let da: Vec<u8> = if a.int.is_empty() {
        vec![0]
    } else {
        a.int.clone()
    };
    let la = da.len();
    let mut alts = Vec::new();
    match b {
        Some(b) => {
            let db: Vec<u8> = if b.int.is_empty() {
                vec![0]
            } else {
                b.int.clone()
            };
            let lb = db.len();
            for l in la..=lb {
                let lo = if l == la {
                    da.clone()
                } else {
                    let mut v = vec![0u8; l];
                    v[0] = 1;
                    v
                };
                let hi = if l == lb { db.clone() } else { vec![9u8; l] };
                alts.push(same_len(&lo, &hi));
            }
        }
        None => {
            alts.push(same_len(&da, &vec![9u8; la]));
            alts.push(seq(vec![digit_class(1, 9), any_digits(la as u32, None)]));
        }
    }
    alt(alts)
}

/// A fraction bound still active: remaining digits of the bound and strictness.
type FracBound<'a> = Option<(&'a [u8], bool)>;

/// The rest `G'` of a canonical fraction (ending in a non-zero digit unless empty, and empty
/// allowed only if the previous digit was non-zero) with `0.G'` between the active bounds
/// (compared with zero padding).
fn frac_tail(lo: FracBound, hi: FracBound, prev_nonzero: bool) -> Expr {
    // A lower bound with no digits left is 0: satisfied by everything non-strictly, and by
    // every non-empty canonical rest strictly.
    let (lo, lo_need_nonempty) = match lo {
        Some(([], strict)) => (None, strict),
        x => (x, false),
    };
    let empty_ok = prev_nonzero
        && !lo_need_nonempty
        && lo.is_none()
        && match hi {
            None => true,
            Some((f, strict)) => !f.is_empty() || !strict,
        };
    let mut alts = Vec::new();
    if empty_ok {
        alts.push(Expr::empty());
    }
    if let Some((f, _)) = hi
        && f.is_empty()
    {
        // 0.G' ≤ 0 means G' is all zeros: only the empty rest is canonical.
        return alt(alts);
    }
    if lo.is_none() && hi.is_none() {
        // Any non-empty canonical rest: \d*[1-9].
        alts.push(seq(vec![any_digits(0, None), digit_class(1, 9)]));
        return alt(alts);
    }
    // Group digits by outcome: below the lower bound's digit (dead), equal to a bound's
    // digit (recurse on that bound), or strictly between (free).
    let key = |d: u8| -> Option<(i8, i8)> {
        let l = match lo {
            None => 1,
            Some((f, _)) => (d as i8 - f[0] as i8).signum(),
        };
        let h = match hi {
            None => -1,
            Some((f, _)) => (d as i8 - f[0] as i8).signum(),
        };
        if l < 0 || h > 0 { None } else { Some((l, h)) }
    };
    let mut d = 0u8;
    while d <= 9 {
        let k = key(d);
        let mut e = d;
        let free = !matches!(k, Some((l, h)) if l == 0 || h == 0);
        if free {
            while e < 9 && key(e + 1) == k {
                e += 1;
            }
        }
        if let Some((l, h)) = k {
            let nlo = if l == 0 {
                lo.map(|(f, s)| (&f[1..], s))
            } else {
                None
            };
            let nhi = if h == 0 {
                hi.map(|(f, s)| (&f[1..], s))
            } else {
                None
            };
            if d == 0 && e > 0 {
                // Split zero (the rest must then be non-empty) from non-zero digits.
                alts.push(seq(vec![digit_class(0, 0), frac_tail(nlo, nhi, false)]));
                alts.push(seq(vec![digit_class(1, e), frac_tail(nlo, nhi, true)]));
            } else {
                alts.push(seq(vec![digit_class(d, e), frac_tail(nlo, nhi, d != 0)]));
            }
        }
        d = e + 1;
    }
    alt(alts)
}

/// An optional canonical fraction (`ε` or `.` digits) whose value `0.F` lies in the bounds.
fn opt_frac(lo: FracBound, hi: FracBound) -> Expr {
    let zero_ok = match lo {
        None => true,
        Some((f, strict)) => f.is_empty() && !strict,
    } && match hi {
        None => true,
        Some((f, strict)) => !(f.is_empty() && strict),
    };
    let mut alts = Vec::new();
    if zero_ok {
        alts.push(Expr::empty());
    }
    alts.push(seq(vec![Expr::lit("."), frac_tail(lo, hi, false)]));
    alt(alts)
}

/// Canonical non-negative numbers `x` with `lo ≤ x` (lo ≥ 0) and `x ≤ hi`.
fn nonneg_range(lo: &Bound, hi: &Option<Bound>, integer: bool) -> Expr {
    if integer {
        let a = if lo.1 {
            lo.0.floor().plus_one()
        } else {
            lo.0.ceil()
        };
        let b = hi.as_ref().map(|(h, strict)| {
            if *strict {
                h.ceil().minus_one()
            } else {
                h.floor()
            }
        });
        if let Some(b) = &b
            && b.neg
        {
            return Expr::Alt(vec![]);
        }
        return int_range(&a, b.as_ref());
    }
    let la = lo.0.trunc_abs();
    let fa = lo.0.frac.clone();
    let lo_f: FracBound = Some((&fa, lo.1));
    match hi {
        None => alt(vec![
            seq(vec![Expr::lit(&digits_text(&la.int)), opt_frac(lo_f, None)]),
            seq(vec![int_range(&la.inc(), None), opt_frac(None, None)]),
        ]),
        Some((h, hs)) => {
            if h < &lo.0 || (h == &lo.0 && (*hs || lo.1)) {
                return Expr::Alt(vec![]);
            }
            let lb = h.trunc_abs();
            let fb = h.frac.clone();
            let hi_f: FracBound = Some((&fb, *hs));
            if la == lb {
                return seq(vec![Expr::lit(&digits_text(&la.int)), opt_frac(lo_f, hi_f)]);
            }
            let mut alts = vec![seq(vec![
                Expr::lit(&digits_text(&la.int)),
                opt_frac(lo_f, None),
            ])];
            let a1 = la.inc();
            if a1 < lb {
                alts.push(seq(vec![
                    int_range(&a1, Some(&lb.dec())),
                    opt_frac(None, None),
                ]));
            }
            alts.push(seq(vec![
                Expr::lit(&digits_text(&lb.int)),
                opt_frac(None, hi_f),
            ]));
            alt(alts)
        }
    }
}

/// Canonical numbers with `lo ≤ x ≤ hi` (bounds optional, possibly exclusive), integers only
/// if `integer`.
pub(crate) fn range_expr(lo: &Option<Bound>, hi: &Option<Bound>, integer: bool) -> Expr {
    let zero = Dec::zero();
    let mut alts = Vec::new();
    // Non-negative part.
    let hi_nonneg = match hi {
        None => true,
        Some((h, strict)) => !h.neg && (!h.is_zero() || !*strict),
    };
    if hi_nonneg {
        let lo_nn: Bound = match lo {
            Some((l, s)) if !l.neg => (l.clone(), *s),
            _ => (zero.clone(), false),
        };
        alts.push(nonneg_range(&lo_nn, hi, integer));
    }
    // Negative part: x = -y with y > 0.
    let lo_neg = match lo {
        None => true,
        Some((l, _)) => l.neg,
    };
    if lo_neg {
        let y_lo: Bound = match hi {
            Some((h, s)) if h.neg => (h.abs(), *s),
            _ => (zero.clone(), true),
        };
        let y_hi: Option<Bound> = lo.as_ref().map(|(l, s)| (l.abs(), *s));
        alts.push(seq(vec![
            Expr::lit("-"),
            nonneg_range(&y_lo, &y_hi, integer),
        ]));
    }
    alt(alts)
}

/// Any JSON number, in any spelling.
pub(crate) fn json_number() -> Expr {
    seq(vec![
        Expr::Repeat {
            expr: Box::new(Expr::lit("-")),
            min: 0,
            max: Some(1),
        },
        alt(vec![
            Expr::lit("0"),
            seq(vec![digit_class(1, 9), any_digits(0, None)]),
        ]),
        Expr::Repeat {
            expr: Box::new(seq(vec![Expr::lit("."), any_digits(1, None)])),
            min: 0,
            max: Some(1),
        },
        Expr::Repeat {
            expr: Box::new(seq(vec![
                class(&[(b'e' as u32, b'e' as u32), (b'E' as u32, b'E' as u32)]),
                Expr::Repeat {
                    expr: Box::new(class(&[
                        (b'+' as u32, b'+' as u32),
                        (b'-' as u32, b'-' as u32),
                    ])),
                    min: 0,
                    max: Some(1),
                },
                any_digits(1, None),
            ])),
            min: 0,
            max: Some(1),
        },
    ])
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The automaton of number texts (canonical or not; intersect with a range automaton for
/// the syntax) that are multiples of every `mult` and of no `not_mult` (all > 0).
///
/// With `S` the largest number of fraction digits of the divisors, `x` is a multiple of
/// `m = p / 10^s` iff `X = x·10^S` is an integer divisible by `p·10^(S-s)`. The states track
/// the digits read so far modulo `L`, the least common multiple of those scaled moduli, and
/// the number of fraction digits read (beyond `S`, `X` is not an integer).
pub(crate) fn residue_dfa(mult: &[Dec], not_mult: &[Dec]) -> Result<Dfa> {
    let too_big = |m: &Dec| {
        Error::new(
            ErrorKind::JsonSchema,
            format!("multipleOf {} is too large to express exactly", m.text()),
        )
    };
    let mut ratios = Vec::new();
    for m in mult.iter().chain(not_mult) {
        ratios.push(m.as_ratio().ok_or_else(|| too_big(m))?);
    }
    let big_s = ratios.iter().map(|r| r.1).max().unwrap_or(0);
    let mut scaled = Vec::new();
    let mut l: u64 = 1;
    for (i, &(p, s)) in ratios.iter().enumerate() {
        let m = if i < mult.len() {
            &mult[i]
        } else {
            &not_mult[i - mult.len()]
        };
        let mut q = p;
        for _ in s..big_s {
            q = q.checked_mul(10).ok_or_else(|| too_big(m))?;
        }
        scaled.push(q);
        l = (l / gcd(l, q)).checked_mul(q).ok_or_else(|| too_big(m))?;
        if l > MAX_MODULUS {
            return Err(Error::new(
                ErrorKind::JsonSchema,
                format!(
                    "multipleOf constraints need a residue automaton with more than {MAX_MODULUS} states"
                ),
            ));
        }
    }
    let p = l as usize;
    let nm = mult.len();
    let ok = |x: usize| -> bool {
        scaled[..nm].iter().all(|&q| (x as u64).is_multiple_of(q))
            && scaled[nm..].iter().all(|&q| !(x as u64).is_multiple_of(q))
    };
    // States: 0 start, 1 after '-', int states 2 + r, fraction states (k in 0..=S) at
    // 2 + p + k·p + r, and one state for more than S fraction digits.
    let int_state = |r: usize| (2 + r) as u32;
    let frac_state = |k: usize, r: usize| (2 + p + k * p + r) as u32;
    let beyond = (2 + p + (big_s + 1) * p) as u32;
    let n = beyond as usize + 1;
    let mut states = vec![DState::default(); n];
    let pow10 = |e: usize| -> usize {
        let mut x = 1usize % p;
        for _ in 0..e {
            x = x * 10 % p;
        }
        x
    };
    let digits = |to: &dyn Fn(u32) -> u32| -> Vec<(u32, u32, u32)> {
        (0..10u32)
            .map(|d| (b'0' as u32 + d, b'0' as u32 + d, to(d)))
            .collect()
    };
    let mut e0 = vec![(b'-' as u32, b'-' as u32, 1)];
    e0.extend(digits(&|d| int_state(d as usize % p)));
    e0.sort_unstable();
    states[0].edges = e0;
    states[1].edges = digits(&|d| int_state(d as usize % p));
    let scale = pow10(big_s);
    for r in 0..p {
        let mut e = digits(&|d| int_state((r * 10 + d as usize) % p));
        e.push((b'.' as u32, b'.' as u32, frac_state(0, r)));
        e.sort_unstable();
        let st = &mut states[int_state(r) as usize];
        st.edges = e;
        st.accept = ok(r * scale % p);
        for k in 0..=big_s {
            let st = &mut states[frac_state(k, r) as usize];
            st.edges = if k < big_s {
                digits(&|d| frac_state(k + 1, (r * 10 + d as usize) % p))
            } else {
                digits(&|_| beyond)
            };
            st.accept = k > 0 && ok(r * pow10(big_s - k) % p);
        }
    }
    states[beyond as usize].edges = digits(&|_| beyond);
    states[beyond as usize].accept = nm == 0;
    Ok(Dfa { states }.minimized())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn decimals() {
        assert_eq!(d("1.50").text(), "1.5");
        assert_eq!(d("-0.0").text(), "0");
        assert_eq!(d("1e3").text(), "1000");
        assert_eq!(d("1.5e-3").text(), "0.0015");
        assert!(d("-2") < d("-1.5"));
        assert_eq!(d("-1.5").floor().text(), "-2");
        assert_eq!(d("-1.5").ceil().text(), "-1");
        assert_eq!(d("-0.5").ceil().text(), "0");
        assert_eq!(d("0").minus_one().text(), "-1");
        assert_eq!(d("-1").plus_one().text(), "0");
        assert_eq!(d("4.5").is_multiple_of(&d("1.5")), Some(true));
        assert_eq!(d("4.6").is_multiple_of(&d("1.5")), Some(false));
    }

    fn lang(e: &Expr) -> Dfa {
        Dfa::from_expr(e).unwrap()
    }

    #[test]
    fn ranges_exhaustive() {
        // Compare against direct evaluation on a grid of canonical numbers.
        let mut samples = Vec::new();
        for i in -120..=120 {
            for f in ["", ".5", ".05", ".25", ".125", ".9", ".99"] {
                let v = i as f64 / 10.0;
                let _ = v;
                samples.push(format!("{}{}", i, f));
            }
        }
        let samples: Vec<Dec> = samples.iter().filter_map(|s| Dec::parse(s)).collect();
        let bounds = [
            "-12", "-1.25", "-0.5", "0", "0.05", "1", "1.25", "9.9", "10", "99",
        ];
        for lo in bounds.iter().map(|s| Some(d(s))).chain([None]) {
            for hi in bounds.iter().map(|s| Some(d(s))).chain([None]) {
                for (ls, hs) in [(false, false), (true, true), (true, false)] {
                    for integer in [false, true] {
                        let lb = lo.clone().map(|x| (x, ls));
                        let hb = hi.clone().map(|x| (x, hs));
                        let a = lang(&range_expr(&lb, &hb, integer));
                        for x in &samples {
                            let want =
                                above(x, &lb) && below(x, &hb) && (!integer || x.is_integer());
                            assert_eq!(
                                a.accepts(&x.text()),
                                want,
                                "{:?} {:?} {} {}",
                                lb,
                                hb,
                                integer,
                                x.text()
                            );
                        }
                        assert!(!a.accepts("-0"));
                        assert!(!a.accepts("1.0"));
                        assert!(!a.accepts("01"));
                    }
                }
            }
        }
    }

    #[test]
    fn multiples() {
        let m = residue_dfa(&[d("1.5")], &[]).unwrap();
        for (s, ok) in [
            ("3", true),
            ("4.5", true),
            ("-1.5", true),
            ("1", false),
            ("0", true),
            ("0.5", false),
        ] {
            assert_eq!(m.accepts(s), ok, "{s}");
        }
        let m = residue_dfa(&[d("7")], &[]).unwrap();
        assert!(m.accepts("49") && !m.accepts("50") && !m.accepts("7.5"));
        let m = residue_dfa(&[d("0.5")], &[d("2"), d("1.5")]).unwrap();
        for (s, ok) in [
            ("1.5", false),
            ("1", true),
            ("2.5", true),
            ("2", false),
            ("3", false),
            ("0.25", false),
            ("0.3", false),
        ] {
            assert_eq!(m.accepts(s), ok, "{s}");
        }
        let m = residue_dfa(&[], &[d("0.5")]).unwrap();
        for (s, ok) in [
            ("1.5", false),
            ("1.25", true),
            ("0.001", true),
            ("3", false),
        ] {
            assert_eq!(m.accepts(s), ok, "{s}");
        }
    }
}
