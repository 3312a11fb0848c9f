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

use std::collections::HashMap;

use crate::grammar::{Expr, Grammar, Rule, RuleId};

/// Loops whose body can start with at least this many distinct bytes are outlined.
const BROAD: u32 = 64;
/// Deepest rule reference followed when computing first bytes and nullability.
const MAX_DEPTH: usize = 16;

/// The grammar with delimited broad loops outlined, and for each rule whether it is such an
/// outlined loop (never to be inlined). `None` when there is nothing to outline.
pub(crate) fn outline_delimited_loops(g: &Grammar) -> Option<(Grammar, Vec<bool>)> {
    let mut o = Outliner {
        g,
        new_rules: Vec::new(),
        index: HashMap::new(),
    };
    // Loops that end up inside recursive rules stay inline: there a loop rule would often
    // return into a caller that itself ends, and tokens running past the delimiter would
    // depend on a second, unknown caller (checked one by one at every step). Those rules
    // hold one copy each anyway.
    let recursive = super::find_recursive(g);
    let mut tainted = recursive.clone();
    let mut stack: Vec<usize> = (0..g.rules().len()).filter(|&i| recursive[i]).collect();
    while let Some(i) = stack.pop() {
        g.rules()[i].body.for_each_ref(&mut |r| {
            if !tainted[r.index()] {
                tainted[r.index()] = true;
                stack.push(r.index());
            }
        });
    }
    let mut bodies: Vec<Expr> = g.rules().iter().map(|r| r.body.clone()).collect();
    for (i, b) in bodies.iter_mut().enumerate() {
        if !tainted[i] {
            o.visit(b);
        }
    }
    if o.new_rules.is_empty() {
        return None;
    }
    let n = g.rules().len();
    let mut rules: Vec<Rule> = g
        .rules()
        .iter()
        .zip(bodies)
        .map(|(r, body)| Rule {
            name: r.name.clone(),
            body,
            lookahead: r.lookahead.clone(),
        })
        .collect();
    let mut taken: std::collections::HashSet<String> =
        rules.iter().map(|r| r.name.clone()).collect();
    for (k, body) in o.new_rules.into_iter().enumerate() {
        let mut name = format!("loop_{k}");
        while !taken.insert(name.clone()) {
            name.push('_');
        }
        rules.push(Rule {
            name,
            body,
            lookahead: None,
        });
    }
    let keep: Vec<bool> = (0..rules.len()).map(|i| i >= n).collect();
    let out = Grammar::new(rules, g.root()).ok()?;
    Some((out, keep))
}

struct Outliner<'g> {
    g: &'g Grammar,
    /// Bodies of the outlined rules, in order of creation.
    new_rules: Vec<Expr>,
    /// Body → id of the outlined rule.
    index: HashMap<Expr, RuleId>,
}

impl Outliner<'_> {
    fn visit(&mut self, e: &mut Expr) {
        match e {
            Expr::Bytes(_) | Expr::Class(_) | Expr::Ref(_) => {}
            Expr::Alt(v) => v.iter_mut().for_each(|x| self.visit(x)),
            Expr::Repeat { expr, .. } => self.visit(expr),
            Expr::Seq(v) => {
                v.iter_mut().for_each(|x| self.visit(x));
                let mut out = Vec::with_capacity(v.len());
                let mut items = std::mem::take(v).into_iter().peekable();
                while let Some(x) = items.next() {
                    let delim = items.peek().and_then(|next| self.delimiter(&x, next));
                    let Some(delim) = delim else {
                        out.push(x);
                        continue;
                    };
                    let body = Expr::Seq(vec![x, Expr::Bytes(vec![delim])]);
                    out.push(Expr::Ref(self.rule_for(body)));
                    if let Some(Expr::Bytes(b)) = items.next()
                        && b.len() > 1
                    {
                        out.push(Expr::Bytes(b[1..].to_vec()));
                    }
                }
                *v = out;
            }
        }
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

/// Whether `e` matches the empty string; `None` when undecided within the depth limit.
fn nullable(g: &Grammar, e: &Expr, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match e {
        Expr::Bytes(b) => b.is_empty(),
        Expr::Class(_) => false,
        Expr::Ref(r) => nullable(g, &g.rule(*r).body, depth + 1)?,
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

/// The bytes a non-empty match of `e` can start with; `None` when undecided.
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
        Expr::Ref(r) => return first_bytes(g, &g.rule(*r).body, depth + 1),
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
        let (out, keep) = outline_delimited_loops(&g).expect("outlined");
        assert_eq!(out.rules().len(), g.rules().len() + 1);
        assert_eq!(keep.iter().filter(|&&k| k).count(), 1);
        // Narrow loops and loops followed by a byte they can start with stay inline.
        let g = Grammar::from_ebnf(r#"root ::= [0-9]* "x" [^"]* "a""#, "root").unwrap();
        assert!(outline_delimited_loops(&g).is_none());
    }
}
