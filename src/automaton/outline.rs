//! Shared rules for delimited loops.
//!
//! A loop over a broad class followed by a delimiter the loop cannot start with (the body
//! of a JSON string and its closing quote: `X* "\""`) is moved into a rule of its own,
//! one per distinct loop, which is never inlined. Every string of a grammar then runs
//! through the same few automaton states, so the token classes of those states are
//! computed once and shared by every place that calls them; only tokens that run past the
//! delimiter depend on the caller (a small part of the vocabulary, walked per call site).
//! Inlined, each string would be its own copy of those states, each classified on first
//! use by a walk over most of the vocabulary. Only loops in rules that no recursive rule
//! uses are outlined (see [`outline_delimited_loops`]).

use super::survey::Survey;
use crate::fxhash::{FxHashMap, FxHashSet};
use crate::grammar::{Expr, Grammar, Rule, RuleId};

/// Loops whose body can start with at least this many distinct bytes are outlined.
const BROAD: u32 = 64;
/// Deepest rule reference followed when computing first bytes and nullability.
const MAX_DEPTH: usize = 16;
/// Most items of a sequence looked back over for an earlier loop still running
/// ([`Outliner::delimiter_at`]): an unanchored pattern's match between its search loops.
const LOOK_BACK: usize = 16;
/// Most expression nodes [`all_bytes`] visits for one item looked back over.
const ALL_BYTES_NODES: usize = 256;

/// The rules automata are built from: a grammar's, with the bodies outlining rewrote and
/// the loop rules it added after the grammar's own (never to be inlined). Bodies it left
/// alone are borrowed from the grammar.
pub(crate) struct Rules<'g> {
    g: &'g Grammar,
    /// Per rule of `g`: its index in `rewritten`, or `u32::MAX` when unchanged.
    slot: Vec<u32>,
    rewritten: Vec<Rule>,
    added: Vec<Rule>,
}

impl<'g> Rules<'g> {
    /// How many rules: the grammar's, then the added loops.
    pub(crate) fn len(&self) -> usize {
        self.g.rules().len() + self.added.len()
    }

    /// Rule `r`: its rewritten body where outlining changed it.
    pub(crate) fn rule(&self, r: RuleId) -> &Rule {
        let i = r.index();
        let n = self.g.rules().len();
        if i >= n {
            &self.added[i - n]
        } else if self.slot[i] == u32::MAX {
            self.g.rule(r)
        } else {
            &self.rewritten[self.slot[i] as usize]
        }
    }

    /// Every rule, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Rule> + '_ {
        (0..self.len()).map(|i| self.rule(RuleId(i as u32)))
    }

    /// The grammar's root.
    pub(crate) fn root(&self) -> RuleId {
        self.g.root()
    }

    /// Whether rule `r` is kept as an automaton of its own: an added loop, or a rule the
    /// grammar marks apart.
    pub(crate) fn kept_apart(&self, r: RuleId) -> bool {
        r.index() >= self.g.rules().len() || self.g.is_apart(r)
    }

    /// How many rules outlining added.
    #[cfg(test)]
    pub(crate) fn added(&self) -> usize {
        self.added.len()
    }
}

/// `g`'s rules with delimited broad loops outlined; `recursive` marks `g`'s recursive
/// rules. `survey` (of `g`'s bodies) is brought up to date: rewritten bodies are surveyed
/// again and the added rules after `g`'s.
pub(crate) fn outline_delimited_loops<'g>(
    g: &'g Grammar,
    recursive: &[bool],
    survey: &mut Survey,
) -> Rules<'g> {
    let n = g.rules().len();
    let mut o = Outliner {
        g,
        new_rules: Vec::new(),
        index: FxHashMap::default(),
    };
    // Loops that end up inside recursive rules stay inline: there a loop rule would often
    // return into a caller that itself ends, and tokens running past the delimiter would
    // depend on a second, unknown caller (checked one by one at every step). Those rules
    // hold one copy each anyway.
    let mut tainted = recursive.to_vec();
    let mut stack: Vec<usize> = (0..n).filter(|&i| recursive[i]).collect();
    while let Some(i) = stack.pop() {
        for &(r, _) in survey.refs(i) {
            if !tainted[r.index()] {
                tainted[r.index()] = true;
                stack.push(r.index());
            }
        }
    }
    let mut slot = vec![u32::MAX; n];
    let mut rewritten = Vec::new();
    for (i, r) in g.rules().iter().enumerate() {
        if tainted[i] || !survey.loop_then_literal(i) {
            continue;
        }
        if let Some(body) = o.visit(&r.body) {
            survey.set(i, &body);
            slot[i] = rewritten.len() as u32;
            rewritten.push(Rule {
                name: r.name.clone(),
                body,
                lookahead: r.lookahead.clone(),
            });
        }
    }
    // Names `loop_K`, lengthened with `_` past the grammar's own names (distinct K keep
    // them distinct from each other).
    let taken: FxHashSet<&str> = if o.new_rules.is_empty() {
        FxHashSet::default()
    } else {
        g.rules().iter().map(|r| r.name.as_str()).collect()
    };
    let added = o
        .new_rules
        .into_iter()
        .enumerate()
        .map(|(k, body)| {
            let mut name = format!("loop_{k}");
            while taken.contains(name.as_str()) {
                name.push('_');
            }
            Rule {
                name,
                body,
                lookahead: None,
            }
        })
        .collect::<Vec<_>>();
    for r in &added {
        survey.set(survey.len(), &r.body);
    }
    Rules {
        g,
        slot,
        rewritten,
        added,
    }
}

struct Outliner<'g> {
    g: &'g Grammar,
    /// Bodies of the outlined rules, in order of creation.
    new_rules: Vec<Expr>,
    /// Body → id of the outlined rule.
    index: FxHashMap<Expr, RuleId>,
}

impl Outliner<'_> {
    /// `e` with its delimited loops outlined; `None` when there are none.
    fn visit(&mut self, e: &Expr) -> Option<Expr> {
        match e {
            Expr::Bytes(_) | Expr::Class(_) | Expr::Ref(_) => None,
            Expr::Alt(v) => self.visit_all(v).map(Expr::Alt),
            Expr::Repeat { expr, min, max } => self.visit(expr).map(|x| Expr::Repeat {
                expr: Box::new(x),
                min: *min,
                max: *max,
            }),
            Expr::Seq(v) => {
                let inner = self.visit_all(v);
                let items = inner.as_deref().unwrap_or(v);
                let found = (0..items.len()).find_map(|k| Some((k, self.delimiter_at(items, k)?)));
                let Some((at, delim)) = found else {
                    return inner.map(Expr::Seq);
                };
                let mut out: Vec<Expr> = items[..at].to_vec();
                let mut k = at;
                let mut delim = Some(delim);
                while k < items.len() {
                    let x = &items[k];
                    let d = delim.take().or_else(|| self.delimiter_at(items, k));
                    let Some(d) = d else {
                        out.push(x.clone());
                        k += 1;
                        continue;
                    };
                    let body = Expr::Seq(vec![x.clone(), Expr::Bytes(vec![d])]);
                    out.push(Expr::Ref(self.rule_for(body)));
                    if let Expr::Bytes(b) = &items[k + 1]
                        && b.len() > 1
                    {
                        out.push(Expr::Bytes(b[1..].to_vec()));
                    }
                    k += 2;
                }
                Some(Expr::Seq(out))
            }
        }
    }

    /// `v` with each item visited; `None` when no item changed.
    fn visit_all(&mut self, v: &[Expr]) -> Option<Vec<Expr>> {
        let (at, first) = v
            .iter()
            .enumerate()
            .find_map(|(k, x)| Some((k, self.visit(x)?)))?;
        let mut out: Vec<Expr> = Vec::with_capacity(v.len());
        out.extend_from_slice(&v[..at]);
        out.push(first);
        for x in &v[at + 1..] {
            out.push(self.visit(x).unwrap_or_else(|| x.clone()));
        }
        Some(out)
    }

    /// [`Self::delimiter`] of `items[k]` and `items[k + 1]`, unless an earlier loop of the
    /// sequence may still be running there: every byte between the two is one the earlier
    /// loop's body can start with (the search loops around an unanchored pattern's match,
    /// `X* "date-time" X* "\""`). Outlined, the later loop would be a call beside the
    /// earlier loop's states in the caller's automaton, and its language, which holds all
    /// the earlier loop takes, could not absorb them: the state after the match would
    /// search on and call at once, neither quiet nor counted. Inline, minimizing leaves one
    /// state that takes any text.
    fn delimiter_at(&self, items: &[Expr], k: usize) -> Option<u8> {
        let d = self.delimiter(&items[k], items.get(k + 1)?)?;
        let mut between = [0u64; 4];
        for j in (k.saturating_sub(LOOK_BACK)..k).rev() {
            if let Expr::Repeat {
                expr, max: None, ..
            } = &items[j]
                && let Some(first) = first_bytes(self.g, expr, 0)
                && (0..4).all(|i| between[i] & !first[i] == 0)
            {
                return None;
            }
            // Undecided: outlined as when no loop came before.
            let mut budget = ALL_BYTES_NODES;
            let Some(b) = all_bytes(self.g, &items[j], 0, &mut budget) else {
                break;
            };
            (0..4).for_each(|i| between[i] |= b[i]);
        }
        Some(d)
    }

    /// The delimiting byte when `lp` is an unbounded loop over a broad, non-nullable body
    /// and `next` is a literal starting with a byte the body cannot start with.
    fn delimiter(&self, lp: &Expr, next: &Expr) -> Option<u8> {
        let Expr::Repeat {
            expr,
            min: 0,
            max: None,
        } = lp
        else {
            return None;
        };
        let Expr::Bytes(b) = next else {
            return None;
        };
        let d = *b.first()?;
        if !may_be_broad(expr) {
            return None;
        }
        if nullable(self.g, expr, 0) != Some(false) {
            return None;
        }
        let first = first_bytes(self.g, expr, 0)?;
        let count: u32 = first.iter().map(|w| w.count_ones()).sum();
        let in_first = first[(d / 64) as usize] >> (d % 64) & 1 != 0;
        (count >= BROAD && !in_first).then_some(d)
    }

    fn rule_for(&mut self, body: Expr) -> RuleId {
        if let Some(&id) = self.index.get(&body) {
            return id;
        }
        let id = RuleId((self.g.rules().len() + self.new_rules.len()) as u32);
        self.index.insert(body.clone(), id);
        self.new_rules.push(body);
        id
    }
}

/// Whether a loop over `e` may be broad enough to outline: not a literal, which starts
/// with one byte, nor a class of fewer than [`BROAD`] code points (one first byte each),
/// such as the whitespace between JSON tokens.
pub(crate) fn may_be_broad(e: &Expr) -> bool {
    match e {
        Expr::Bytes(_) => false,
        Expr::Class(c) if !c.negated => {
            let points: u64 = c
                .ranges
                .iter()
                .map(|&(lo, hi)| u64::from(hi.saturating_sub(lo)) + 1)
                .sum();
            points >= u64::from(BROAD)
        }
        _ => true,
    }
}

/// Whether `e` matches the empty string; `None` when undecided within the depth limit, or
/// at a reference to a loop rule outlining added (items already rewritten).
fn nullable(g: &Grammar, e: &Expr, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match e {
        Expr::Bytes(b) => b.is_empty(),
        Expr::Class(_) => false,
        Expr::Ref(r) => nullable(g, &g.rules().get(r.index())?.body, depth + 1)?,
        Expr::Seq(v) => {
            for x in v {
                if !nullable(g, x, depth)? {
                    return Some(false);
                }
            }
            true
        }
        Expr::Alt(v) => {
            for x in v {
                if nullable(g, x, depth)? {
                    return Some(true);
                }
            }
            false
        }
        Expr::Repeat { expr, min, .. } => *min == 0 || nullable(g, expr, depth)?,
    })
}

/// The bytes a non-empty match of `e` can start with; `None` when undecided (as
/// [`nullable`]).
fn first_bytes(g: &Grammar, e: &Expr, depth: usize) -> Option<[u64; 4]> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut s = [0u64; 4];
    let mut add = |b: u8| s[(b / 64) as usize] |= 1 << (b % 64);
    match e {
        Expr::Bytes(b) => {
            if let Some(&c) = b.first() {
                add(c);
            }
        }
        Expr::Class(c) => {
            // The UTF-8 lead byte grows with the code point.
            for (lo, hi) in c.normalized() {
                for b in lead_byte(lo)..=lead_byte(hi) {
                    add(b);
                }
            }
        }
        Expr::Ref(r) => return first_bytes(g, &g.rules().get(r.index())?.body, depth + 1),
        Expr::Seq(v) => {
            for x in v {
                let f = first_bytes(g, x, depth)?;
                (0..4).for_each(|i| s[i] |= f[i]);
                if !nullable(g, x, depth)? {
                    break;
                }
            }
        }
        Expr::Alt(v) => {
            for x in v {
                let f = first_bytes(g, x, depth)?;
                (0..4).for_each(|i| s[i] |= f[i]);
            }
        }
        Expr::Repeat { expr, .. } => return first_bytes(g, expr, depth),
    }
    Some(s)
}

/// Every byte a match of `e` can hold (a superset for code-point classes: their lead bytes
/// and every continuation byte); `None` when undecided (as [`nullable`]), or when it would
/// visit more than `budget` expression nodes.
fn all_bytes(g: &Grammar, e: &Expr, depth: usize, budget: &mut usize) -> Option<[u64; 4]> {
    if depth > MAX_DEPTH || *budget == 0 {
        return None;
    }
    *budget -= 1;
    let mut s = [0u64; 4];
    let mut add = |b: u8| s[(b / 64) as usize] |= 1 << (b % 64);
    match e {
        Expr::Bytes(b) => b.iter().for_each(|&c| add(c)),
        Expr::Class(c) => {
            for (lo, hi) in c.normalized() {
                for b in lead_byte(lo)..=lead_byte(hi) {
                    add(b);
                }
                if hi >= 0x80 {
                    (0x80..=0xbfu8).for_each(&mut add);
                }
            }
        }
        Expr::Ref(r) => return all_bytes(g, &g.rules().get(r.index())?.body, depth + 1, budget),
        Expr::Seq(v) | Expr::Alt(v) => {
            for x in v {
                let b = all_bytes(g, x, depth, budget)?;
                (0..4).for_each(|i| s[i] |= b[i]);
            }
        }
        Expr::Repeat { expr, .. } => return all_bytes(g, expr, depth, budget),
    }
    Some(s)
}

fn lead_byte(cp: u32) -> u8 {
    match cp {
        0..=0x7f => cp as u8,
        0x80..=0x7ff => 0xc0 | (cp >> 6) as u8,
        0x800..=0xffff => 0xe0 | (cp >> 12) as u8,
        _ => 0xf0 | (cp >> 18) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_share_one_loop_rule() {
        let g = Grammar::from_ebnf(
            r#"root ::= "{" str ":" "\"" [^"\\]* "\"" "}"
               str ::= "\"" [^"\\]* "\"""#,
            "root",
        )
        .unwrap();
        let mut survey = Survey::new(g.rules().iter().map(|r| &r.body));
        let rec = survey.recursive();
        let out = outline_delimited_loops(&g, &rec, &mut survey);
        assert_eq!(out.len(), g.rules().len() + 1);
        assert_eq!(out.added(), 1);
        assert!(out.kept_apart(RuleId(g.rules().len() as u32)));
        // Both strings call the one loop rule; the bodies that held no loop are the
        // grammar's own.
        let loop_id = RuleId(g.rules().len() as u32);
        let mut calls = 0;
        for r in out.iter() {
            r.body
                .for_each_ref(&mut |id| calls += usize::from(id == loop_id));
        }
        assert_eq!(calls, 2);
        // Narrow loops and loops followed by a byte they can start with stay inline.
        let g = Grammar::from_ebnf(r#"root ::= [0-9]* "x" [^"]* "a""#, "root").unwrap();
        let mut survey = Survey::new(g.rules().iter().map(|r| &r.body));
        let rec = survey.recursive();
        let out = outline_delimited_loops(&g, &rec, &mut survey);
        assert_eq!(out.added(), 0);
        assert_eq!(out.rule(g.root()), g.rule(g.root()));
        // The cheap test before the first bytes are computed: JSON whitespace is narrow, a
        // string's characters may be broad.
        let class = |negated, ranges: &[(u32, u32)]| {
            Expr::Class(crate::grammar::CharClass {
                negated,
                ranges: ranges.to_vec(),
            })
        };
        assert!(!may_be_broad(&class(false, &[(9, 10), (13, 13), (32, 32)])));
        assert!(!may_be_broad(&class(false, &[(0x30, 0x39), (0x41, 0x5a)])));
        assert!(may_be_broad(&class(false, &[(0x20, 0x7e)])));
        assert!(may_be_broad(&class(true, &[(0x22, 0x22), (0x5c, 0x5c)])));
        assert!(!may_be_broad(&Expr::lit("abc")));
    }

    /// The root's items after outlining `src` (a one-rule EBNF grammar) and how many loop
    /// rules were added.
    fn outlined_root(src: &str) -> (Vec<Expr>, usize) {
        let g = Grammar::from_ebnf(src, "root").unwrap();
        let mut survey = Survey::new(g.rules().iter().map(|r| &r.body));
        let rec = survey.recursive();
        let out = outline_delimited_loops(&g, &rec, &mut survey);
        let Expr::Seq(items) = &out.rule(g.root()).body else {
            panic!("a sequence");
        };
        (items.clone(), out.added())
    }

    fn calls(items: &[Expr]) -> usize {
        items.iter().filter(|x| matches!(x, Expr::Ref(_))).count()
    }

    #[test]
    fn a_loop_another_loop_may_still_run_into_stays_inline() {
        // An unanchored pattern's string: the search loop may run through the match and on
        // into the tail loop, so the tail stays inline; the next string is outlined.
        let (items, added) =
            outlined_root(r#"root ::= "\"" [^"\\]* "date-time" [^"\\]* "\"" ",\"" [^"\\]* "\"""#);
        assert_eq!(added, 1);
        assert_eq!(calls(&items), 1);
        assert!(matches!(items.last(), Some(Expr::Ref(_))), "{items:?}");
        // A byte the first loop cannot take ends it: both loops are outlined.
        let (items, _) = outlined_root(r#"root ::= "\"" [^"\\]* "\"" "date-time" [^"\\]* "\"""#);
        assert_eq!(calls(&items), 2);
        // An earlier item already rewritten holds a loop rule outlining added: looked back
        // over, it is undecided, and the later loop is outlined as before.
        let (items, added) = outlined_root(r#"root ::= ("<" [^"\\]* "\"")* "a" [^"\\]* "\"""#);
        assert_eq!(added, 1);
        assert!(matches!(items.last(), Some(Expr::Ref(_))), "{items:?}");
    }
}
