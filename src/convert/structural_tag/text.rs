//! Free text that avoids a set of strings, as one regular expression.
//!
//! The language "any text that contains none of `S` as a substring" is recognized by the
//! Aho–Corasick automaton of `S` with its match states removed: a state is the longest
//! suffix of the text read so far that is a prefix of some string of `S`. Its states are the
//! trie nodes, so it is small (the total length of `S`), and every state accepts.
//!
//! The automaton is turned back into a rule-free [`Expr`] by state elimination, deepest trie
//! nodes first: a deep node is usually entered only from its parent, so eliminating it just
//! nests its outgoing choices under the parent's edge, and the expression stays about as
//! large as the automaton. Because the result references no rules, the compiler inlines it
//! into the rule that uses it and builds one DFA for the free text together with what
//! follows it (a trigger, a tag's end): masks in free text are then cached per DFA state.
//!
//! ```text
//! avoid ["ab"]  →  ( [^a] | "a"+ [^ab] )* "a"*
//! ```

use std::collections::{BTreeMap, VecDeque};

use crate::error::{Error, Result};
use crate::grammar::{CharClass, Expr, MAX_CODE_POINT};

/// Largest expression (in nodes) one free-text language may become.
const MAX_NODES: usize = 2_000_000;

/// Text (any Unicode code points) containing none of `avoid`; empty strings in `avoid` are
/// ignored.
pub(crate) fn avoid_expr(avoid: &[String]) -> Result<Expr> {
    let mut pats: Vec<Vec<u32>> = avoid
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().map(|c| c as u32).collect())
        .collect();
    pats.sort();
    pats.dedup();
    if pats.is_empty() {
        return Ok(star(any_class()));
    }
    let ac = Automaton::new(&pats);
    ac.to_expr()
}

/// Every code point.
fn any_class() -> Expr {
    Expr::Class(CharClass {
        negated: false,
        ranges: vec![(0, MAX_CODE_POINT)],
    })
}

fn star(e: Expr) -> Expr {
    Expr::Repeat {
        expr: Box::new(e),
        min: 0,
        max: None,
    }
}

/// The Aho–Corasick automaton of the avoided strings, match states removed.
struct Automaton {
    /// Per live state: transitions `(code point, target)` on the code points that occur in
    /// the patterns, sorted; `None` target = a pattern would be completed (dead).
    edges: Vec<Vec<(u32, Option<usize>)>>,
    /// Depth of each live state in the trie (root 0).
    depth: Vec<usize>,
    /// The code points occurring in the patterns, sorted.
    alphabet: Vec<u32>,
}

impl Automaton {
    fn new(pats: &[Vec<u32>]) -> Automaton {
        // Trie.
        let mut children: Vec<BTreeMap<u32, usize>> = vec![BTreeMap::new()];
        let mut terminal = vec![false];
        let mut depth = vec![0usize];
        for p in pats {
            let mut s = 0;
            for &c in p {
                s = match children[s].get(&c) {
                    Some(&t) => t,
                    None => {
                        children.push(BTreeMap::new());
                        terminal.push(false);
                        depth.push(depth[s] + 1);
                        let t = children.len() - 1;
                        children[s].insert(c, t);
                        t
                    }
                };
            }
            terminal[s] = true;
        }
        let mut alphabet: Vec<u32> = pats.iter().flatten().copied().collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        // Failure links and full transitions, breadth first.
        let n = children.len();
        let mut fail = vec![0usize; n];
        let mut delta: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut order = Vec::with_capacity(n);
        let mut queue = VecDeque::from([0usize]);
        while let Some(s) = queue.pop_front() {
            order.push(s);
            if s != 0 && terminal[fail[s]] {
                terminal[s] = true;
            }
            let mut row = Vec::with_capacity(alphabet.len());
            for &c in &alphabet {
                let t = match children[s].get(&c) {
                    Some(&t) => {
                        fail[t] = if s == 0 {
                            0
                        } else {
                            delta[fail[s]][alphabet.binary_search(&c).unwrap_or(0)]
                        };
                        queue.push_back(t);
                        t
                    }
                    None if s == 0 => 0,
                    None => delta[fail[s]][alphabet.binary_search(&c).unwrap_or(0)],
                };
                row.push(t);
            }
            delta[s] = row;
        }
        // Renumber the live (non-match) states in breadth-first order; the root stays 0.
        let mut id = vec![usize::MAX; n];
        let mut live_depth = Vec::new();
        for &s in &order {
            if !terminal[s] {
                id[s] = live_depth.len();
                live_depth.push(depth[s]);
            }
        }
        let mut edges = vec![Vec::new(); live_depth.len()];
        for &s in &order {
            if terminal[s] {
                continue;
            }
            edges[id[s]] = alphabet
                .iter()
                .zip(&delta[s])
                .map(|(&c, &t)| (c, (!terminal[t]).then_some(id[t])))
                .collect();
        }
        Automaton {
            edges,
            depth: live_depth,
            alphabet,
        }
    }

    /// State elimination, deepest states first; the root is solved last.
    fn to_expr(&self) -> Result<Expr> {
        let n = self.edges.len();
        // coef[i][j]: expression for one step i → j (j != i or a self-loop).
        let mut coef: Vec<BTreeMap<usize, Expr>> = vec![BTreeMap::new(); n];
        for (s, row) in self.edges.iter().enumerate() {
            let mut by_target: BTreeMap<usize, Vec<(u32, u32)>> = BTreeMap::new();
            for &(c, t) in row {
                if let Some(t) = t {
                    by_target.entry(t).or_default().push((c, c));
                }
            }
            // Code points outside the alphabet go back to the root.
            let mut other = Vec::new();
            let mut next = 0u32;
            for &c in &self.alphabet {
                if c > next {
                    other.push((next, c - 1));
                }
                next = c + 1;
            }
            if next <= MAX_CODE_POINT {
                other.push((next, MAX_CODE_POINT));
            }
            by_target.entry(0).or_default().extend(other);
            for (t, ranges) in by_target {
                coef[s].insert(t, class(ranges));
            }
        }
        // out[i]: how a path may end from i (every state accepts).
        let mut out: Vec<Expr> = vec![Expr::empty(); n];
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (s, row) in coef.iter().enumerate() {
            for &t in row.keys() {
                if t != s {
                    preds[t].push(s);
                }
            }
        }
        let mut order: Vec<usize> = (1..n).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(self.depth[s]));
        let mut alive = vec![true; n];
        for k in order {
            alive[k] = false;
            let lp = coef[k].remove(&k).map(star);
            let through = |e: Expr| match &lp {
                Some(l) => seq(vec![l.clone(), e]),
                None => e,
            };
            let succ: Vec<(usize, Expr)> = std::mem::take(&mut coef[k])
                .into_iter()
                .filter(|(j, _)| alive[*j])
                .map(|(j, e)| (j, through(e)))
                .collect();
            let out_k = through(std::mem::replace(&mut out[k], Expr::empty()));
            let ps: Vec<usize> = std::mem::take(&mut preds[k])
                .into_iter()
                .filter(|&p| alive[p])
                .collect();
            for p in ps {
                let Some(into) = coef[p].remove(&k) else {
                    continue;
                };
                for (j, e) in &succ {
                    let add = seq(vec![into.clone(), e.clone()]);
                    let merged = match coef[p].remove(j) {
                        Some(old) => alt(vec![old, add]),
                        None => {
                            if *j != p {
                                preds[*j].push(p);
                            }
                            add
                        }
                    };
                    if size(&merged) > MAX_NODES {
                        return Err(too_big());
                    }
                    coef[p].insert(*j, merged);
                }
                let o = std::mem::replace(&mut out[p], Expr::empty());
                out[p] = alt(vec![o, seq(vec![into, out_k.clone()])]);
            }
        }
        let lp = coef[0].remove(&0).map(star);
        let o = std::mem::replace(&mut out[0], Expr::empty());
        let e = match lp {
            Some(l) => seq(vec![l, o]),
            None => o,
        };
        if size(&e) > MAX_NODES {
            return Err(too_big());
        }
        Ok(e)
    }
}

fn too_big() -> Error {
    Error::limit("the excluded strings and triggers of a free-text region are too many to build")
}

fn class(ranges: Vec<(u32, u32)>) -> Expr {
    if ranges.len() == 1
        && ranges[0].0 == ranges[0].1
        && let Some(c) = char::from_u32(ranges[0].0)
    {
        return Expr::lit(c.encode_utf8(&mut [0; 4]));
    }
    Expr::Class(CharClass {
        negated: false,
        ranges,
    })
}

fn size(e: &Expr) -> usize {
    match e {
        Expr::Bytes(_) | Expr::Class(_) | Expr::Ref(_) => 1,
        Expr::Seq(v) | Expr::Alt(v) => 1 + v.iter().map(size).sum::<usize>(),
        Expr::Repeat { expr, .. } => 1 + size(expr),
    }
}

/// A flattened sequence with literals joined and empty strings dropped.
pub(crate) fn seq(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    let push = |x: Expr, out: &mut Vec<Expr>| match x {
        Expr::Bytes(b) if b.is_empty() => {}
        Expr::Bytes(b) => {
            if let Some(Expr::Bytes(prev)) = out.last_mut() {
                prev.extend_from_slice(&b);
            } else {
                out.push(Expr::Bytes(b));
            }
        }
        x => out.push(x),
    };
    for it in items {
        match it {
            Expr::Seq(v) => v.into_iter().for_each(|x| push(x, &mut out)),
            x => push(x, &mut out),
        }
    }
    match out.len() {
        0 => Expr::empty(),
        1 => out.pop().unwrap_or_else(Expr::empty),
        _ => Expr::Seq(out),
    }
}

/// A flattened choice without duplicates; one alternative is returned as is.
pub(crate) fn alt(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for it in items {
        let v = match it {
            Expr::Alt(v) if !v.is_empty() => v,
            x => vec![x],
        };
        for x in v {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or_else(Expr::empty)
    } else {
        Expr::Alt(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{Grammar, Rule, RuleId};

    fn accepts(e: &Expr, s: &str) -> bool {
        let g = Grammar::new(
            vec![Rule {
                name: "root".into(),
                body: e.clone(),
                lookahead: None,
            }],
            RuleId(0),
        )
        .unwrap();
        let cg = crate::compiler::GrammarCompiler::new(
            std::sync::Arc::new(byte_tok()),
            Default::default(),
        )
        .compile_grammar(&g)
        .unwrap();
        let mut m = crate::matcher::GrammarMatcher::new(cg, &Default::default()).unwrap();
        m.accept_string(s).unwrap_or(false) && m.is_completed()
    }

    fn byte_tok() -> crate::tokenizer::TokenizerInfo {
        let v: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        crate::tokenizer::TokenizerInfo::from_vocab(
            &v,
            crate::tokenizer::VocabType::Raw,
            &Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn avoids_exactly() {
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (
                &["ab"],
                &["", "a", "b", "ba", "aac", "xyza"],
                &["ab", "aab", "xaby"],
            ),
            (
                &["abab", "ba"],
                &["aab", "abb", "a"],
                &["ba", "abab", "xbaa"],
            ),
            (
                &["</f>", "<f="],
                &["<f", "</", "</f", "<<f"],
                &["<f=", "a</f>b", "<</f>"],
            ),
            (&["é", "日本"], &["e", "日", "本日"], &["café", "日本"]),
        ];
        for (avoid, yes, no) in cases {
            let avoid: Vec<String> = avoid.iter().map(|s| s.to_string()).collect();
            let e = avoid_expr(&avoid).unwrap();
            for s in *yes {
                assert!(accepts(&e, s), "{avoid:?} should accept {s:?}");
            }
            for s in *no {
                assert!(!accepts(&e, s), "{avoid:?} should reject {s:?}");
            }
        }
    }
}
