//! String formats as exact regular languages.
//!
//! Each supported `format` is a regular expression over code points (parsed by the crate's
//! regex converter, whole-match) plus, for hostnames, a length bound. The definitions follow
//! the RFCs the JSON Schema specification cites: RFC 3339 (`date`, `time`, `date-time`,
//! `duration`, with leap years and with leap seconds only at 23:59:60 UTC, the offset taken
//! into account), RFC 5321 (`email`: dot-atom or quoted local part; host name or address
//! literal domain), RFC 1123 (`hostname`: labels of 1–63 letters, digits and inner hyphens,
//! at most 253 characters; labels with `--` in positions 3–4, i.e. IDNA A-labels, are not
//! accepted because their validity is not a regular property), RFC 2673/4291 (`ipv4`, `ipv6`),
//! RFC 3986/3987 (`uri`, `uri-reference`, `iri`, `iri-reference`), RFC 6570 (`uri-template`),
//! RFC 6901 (`json-pointer`, `relative-json-pointer`), RFC 4122 (`uuid`).
//!
//! `regex`, `idn-email` and `idn-hostname` are not regular (or not practically so) and are
//! refused like unknown formats.

use crate::convert::regex::{RegexOptions, regex_to_expr};
use crate::error::Result;
use crate::grammar::Expr;
use std::collections::HashMap;

use super::regular::{alt, seq};
use super::strings::Rx;

const DEC_OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const H16: &str = "[0-9a-fA-F]{1,4}";

fn ipv4() -> String {
    format!("{DEC_OCTET}(?:\\.{DEC_OCTET}){{3}}")
}

/// IPv6 (RFC 4291 §2.2): eight groups, or fewer around one `::`, optionally ending in IPv4.
fn ipv6() -> String {
    let v4 = ipv4();
    let groups = |n: usize| -> String {
        // n groups separated by ':'.
        match n {
            0 => String::new(),
            1 => H16.to_string(),
            _ => format!("{H16}(?::{H16}){{{}}}", n - 1),
        }
    };
    let mut alts = vec![
        format!("(?:{H16}:){{7}}{H16}"),
        format!("(?:{H16}:){{6}}{v4}"),
    ];
    // With "::" replacing at least one group: k groups before, m after.
    for k in 0..=7usize {
        for m in 0..=(7 - k) {
            let right = groups(m);
            alts.push(format!("{}::{}", groups(k), right));
        }
        for m in 0..=5usize.saturating_sub(k) {
            if k + m > 5 {
                continue;
            }
            let right = if m == 0 {
                v4.clone()
            } else {
                format!("(?:{H16}:){{{m}}}{v4}")
            };
            alts.push(format!("{}::{}", groups(k), right));
        }
    }
    format!("(?:{})", alts.join("|"))
}

const ATEXT: &str = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LABEL: &str = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/// A host-name label whose characters 3–4 are not both `-` (no IDNA A-labels).
fn label() -> String {
    let c = "[A-Za-z0-9]";
    let ch = "[A-Za-z0-9-]";
    format!("(?:{c}|{c}{c}|{c}{ch}{c}|{c}{ch}{c}{ch}{{0,59}}{c}|{c}{ch}-{c}(?:{ch}{{0,58}}{c})?)")
}

fn hostname() -> String {
    let l = label();
    format!("{l}(?:\\.{l})*")
}

fn date() -> String {
    let leap = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)";
    format!(
        "(?:[0-9]{{4}}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|{leap}-02-29)"
    )
}

const FRAC: &str = "(?:\\.[0-9]+)?";

fn two(n: u32) -> String {
    format!("{n:02}")
}

/// RFC 3339 `full-time`: leap seconds only where the UTC time is 23:59:60.
fn time_expr() -> Result<Expr> {
    let normal = regex_to_expr(
        &format!(
            "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{FRAC}(?:[zZ]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
        ),
        RegexOptions::default(),
    )?;
    let frac = regex_to_expr(FRAC, RegexOptions::default())?;
    // Offsets o (minutes east of UTC) with local time 23:59 + o.
    let mut alts = Vec::new();
    for o in -1439i32..=1439 {
        let local = (23 * 60 + 59 + o).rem_euclid(1440) as u32;
        let t = format!("{}:{}:60", two(local / 60), two(local % 60));
        let offs: Vec<Expr> = if o == 0 {
            vec![
                Expr::lit("Z"),
                Expr::lit("z"),
                Expr::lit("+00:00"),
                Expr::lit("-00:00"),
            ]
        } else {
            let a = o.unsigned_abs();
            let sign = if o > 0 { "+" } else { "-" };
            vec![Expr::lit(&format!("{sign}{}:{}", two(a / 60), two(a % 60)))]
        };
        alts.push(seq(vec![Expr::lit(&t), frac.clone(), alt(offs)]));
    }
    Ok(alt(vec![normal, Expr::Alt(alts)]))
}

fn uri_parts(iri: bool) -> (String, String) {
    let ucs = if iri {
        "\\x{A0}-\\x{D7FF}\\x{F900}-\\x{FDCF}\\x{FDF0}-\\x{FFEF}\\x{10000}-\\x{1FFFD}\\x{20000}-\\x{2FFFD}\\x{30000}-\\x{3FFFD}\\x{40000}-\\x{4FFFD}\\x{50000}-\\x{5FFFD}\\x{60000}-\\x{6FFFD}\\x{70000}-\\x{7FFFD}\\x{80000}-\\x{8FFFD}\\x{90000}-\\x{9FFFD}\\x{A0000}-\\x{AFFFD}\\x{B0000}-\\x{BFFFD}\\x{C0000}-\\x{CFFFD}\\x{D0000}-\\x{DFFFD}\\x{E1000}-\\x{EFFFD}"
    } else {
        ""
    };
    let private = if iri {
        "\\x{E000}-\\x{F8FF}\\x{F0000}-\\x{FFFFD}\\x{100000}-\\x{10FFFD}"
    } else {
        ""
    };
    let unres = format!("A-Za-z0-9\\-._~{ucs}");
    let sub = "!$&'()*+,;=";
    let pct = "%[0-9A-Fa-f]{2}";
    let pchar = format!("(?:[{unres}{sub}:@]|{pct})");
    let v6 = ipv6();
    let v4 = ipv4();
    let _ = v4;
    let ipfuture = format!("[vV][0-9A-Fa-f]+\\.[{unres}{sub}:]+");
    let host = format!("(?:\\[(?:{v6}|{ipfuture})\\]|(?:[{unres}{sub}]|{pct})*)");
    let userinfo = format!("(?:[{unres}{sub}:]|{pct})*");
    let authority = format!("(?:{userinfo}@)?{host}(?::[0-9]*)?");
    let seg = format!("{pchar}*");
    let seg_nz = format!("{pchar}+");
    let abempty = format!("(?:/{seg})*");
    let absolute = format!("/(?:{seg_nz}(?:/{seg})*)?");
    let rootless = format!("{seg_nz}(?:/{seg})*");
    let noscheme = format!("(?:[{unres}{sub}@]|{pct})+(?:/{seg})*");
    let query = format!("(?:{pchar}|[/?{private}])*");
    let fragment = format!("(?:{pchar}|[/?])*");
    let tail = format!("(?:\\?{query})?(?:#{fragment})?");
    let scheme = "[A-Za-z][A-Za-z0-9+\\-.]*";
    let uri = format!("{scheme}:(?://{authority}{abempty}|{absolute}|{rootless}|){tail}");
    let rel = format!("(?://{authority}{abempty}|{absolute}|{noscheme}|){tail}");
    (uri, rel)
}

fn uri_template() -> String {
    // Literals: any char except CTL, SP, DQUOTE, ', %, <, >, \, ^, `, {, |, } — or pct-encoded.
    let lit = "(?:[\\x21\\x23\\x24\\x26-\\x3B\\x3D\\x3F-\\x5B\\x5D\\x5F\\x61-\\x7A\\x7E\\x{A0}-\\x{D7FF}\\x{E000}-\\x{10FFFF}]|%[0-9A-Fa-f]{2})";
    let varchar = "(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})";
    let varname = format!("{varchar}(?:\\.?{varchar})*");
    let varspec = format!("{varname}(?::[1-9][0-9]{{0,3}}|\\*)?");
    let expr = format!("\\{{[+#./;?&=,!@|]?{varspec}(?:,{varspec})*\\}}");
    format!("(?:{lit}|{expr})*")
}

/// The regular language of a format, `None` if the format is not supported.
/// Format expressions built so far, by name: (language, length bound).
type Built = HashMap<String, (Expr, Option<u64>)>;

pub(crate) fn format_rx(name: &str) -> Option<Result<Rx>> {
    let mk = |e: Result<Expr>, max_len: Option<u64>| -> Result<Rx> {
        Ok(Rx::new(name.to_string(), true, e?, max_len))
    };
    // The expressions are constant per format: built once per process.
    static BUILT: std::sync::OnceLock<parking_lot::Mutex<Built>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    if let Some((e, max_len)) = built.lock().get(name).cloned() {
        return Some(mk(Ok(e), max_len));
    }
    let r = format_rx_uncached(name)?;
    if let Ok(rx) = &r {
        built
            .lock()
            .insert(name.to_string(), (rx.expr.clone(), rx.max_len));
    }
    Some(r)
}

fn format_rx_uncached(name: &str) -> Option<Result<Rx>> {
    let re = |s: String| regex_to_expr(&s, RegexOptions::default());
    let mk = |e: Result<Expr>, max_len: Option<u64>| -> Result<Rx> {
        Ok(Rx::new(name.to_string(), true, e?, max_len))
    };
    let r = match name {
        "date" => mk(re(date()), None),
        "time" => mk(time_expr(), None),
        "date-time" => (|| {
            let d = re(date())?;
            let t = time_expr()?;
            mk(Ok(seq(vec![d, re("[Tt]".into())?, t])), None)
        })(),
        "duration" => {
            let t = "T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)";
            mk(
                re(format!(
                    "P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:{t})?|{t}|[0-9]+W)"
                )),
                None,
            )
        }
        "email" => {
            let local = format!(
                "(?:{ATEXT}+(?:\\.{ATEXT}+)*|\"(?:[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]|\\\\[\\x20-\\x7E])*\")"
            );
            let domain = format!(
                "(?:{LABEL}(?:\\.{LABEL})*|\\[{}\\]|\\[IPv6:{}\\])",
                ipv4(),
                ipv6()
            );
            mk(re(format!("{local}@{domain}")), None)
        }
        "hostname" => mk(re(hostname()), Some(253)),
        "ipv4" => mk(re(ipv4()), None),
        "ipv6" => mk(re(ipv6()), None),
        "uuid" => mk(
            re(
                "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                    .into(),
            ),
            None,
        ),
        "uri" => mk(re(uri_parts(false).0), None),
        "uri-reference" => {
            let (u, r) = uri_parts(false);
            mk(re(format!("(?:{u}|{r})")), None)
        }
        "iri" => mk(re(uri_parts(true).0), None),
        "iri-reference" => {
            let (u, r) = uri_parts(true);
            mk(re(format!("(?:{u}|{r})")), None)
        }
        "uri-template" => mk(re(uri_template()), None),
        "json-pointer" => mk(re("(?:/(?:[^/~]|~[01])*)*".into()), None),
        "relative-json-pointer" => mk(
            re("(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^/~]|~[01])*)*)".into()),
            None,
        ),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ok: &[&str], bad: &[&str]) {
        let rx = format_rx(name).unwrap().unwrap();
        for s in ok {
            assert!(rx.matches(s).unwrap(), "{name} should accept {s:?}");
        }
        for s in bad {
            assert!(!rx.matches(s).unwrap(), "{name} should reject {s:?}");
        }
    }

    #[test]
    fn formats() {
        check(
            "date",
            &["2020-02-29", "2000-02-29", "1999-12-31"],
            &["2021-02-29", "1900-02-29", "2020-13-01", "2020-04-31"],
        );
        check(
            "time",
            &[
                "23:59:60Z",
                "01:29:60+01:30",
                "15:59:60-08:00",
                "00:29:60-23:30",
                "08:30:06z",
            ],
            &[
                "22:59:60Z",
                "23:59:60+01:00",
                "23:59:60-00:30",
                "12:00:00",
                "24:00:00Z",
            ],
        );
        check(
            "ipv6",
            &[
                "::",
                "1::",
                "::1",
                "1:2:3:4:5:6:7:8",
                "::ffff:1.2.3.4",
                "1:2:3:4:5:6:1.2.3.4",
            ],
            &[
                ":1",
                "1:2:3:4:5:6:7:8:9",
                "12345::",
                "1::2::3",
                "1:2:3:4:5:6:7:1.2.3.4",
            ],
        );
        check(
            "hostname",
            &["www.example.com", "a--b.com", "h"],
            &["-a", "a-", "xn--abc", "example.", ""],
        );
        check(
            "email",
            &["joe.bloggs@[IPv6:::1]", "\"a b\"@x.com"],
            &["te..st@x.com", "2962"],
        );
        check(
            "uri",
            &["http://a/b?c#d", "urn:isbn:123"],
            &["//a/b", "http://a/é"],
        );
    }
}
