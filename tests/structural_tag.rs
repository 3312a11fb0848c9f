//! Structural tags: the tool-call formats of real model families written as structural tags,
//! accepted and rejected documents on a byte-level tokenizer, every format type, bad input,
//! and token-level walks over real tokenizers whose masks are checked against the
//! brute-force oracle (every token tried on a fork).
mod common;

use common::bytes::byte_compiler;

use common::oracle::checked_step;

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use xgr::convert::structural_tag::{
    StructuralTagItem, grammar_from_structural_tag, grammar_from_structural_tag_items,
};
use xgr::tokenizer::TokenizerInfo;
use xgr::{
    CompiledGrammar, CompilerOptions, ErrorKind, Grammar, GrammarCompiler, GrammarMatcher,
    MatcherOptions,
};

fn st(format: Value) -> String {
    json!({"type": "structural_tag", "format": format}).to_string()
}

fn accepts(cg: &Arc<CompiledGrammar>, s: &str) -> bool {
    let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
    m.accept_string(s).unwrap() && m.is_completed()
}

fn check(name: &str, tag: &str, yes: &[&str], no: &[&str]) {
    let c = byte_compiler();
    let cg = c
        .compile_structural_tag(tag)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    for s in yes {
        assert!(accepts(&cg, s), "{name}: should accept {s:?}");
    }
    for s in no {
        assert!(!accepts(&cg, s), "{name}: should reject {s:?}");
    }
}

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"},
           "unit": {"enum": ["c", "f"]}}, "required": ["city"]})
}

fn time_schema() -> Value {
    json!({"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]})
}

/// Llama 3.1: `{"name": "NAME", "parameters": {...}}` after free text.
fn llama31() -> String {
    let tag = |name: &str, schema: Value| {
        json!({"type": "tag", "begin": format!("{{\"name\": \"{name}\", \"parameters\": "),
               "content": {"type": "json_schema", "json_schema": schema}, "end": "}"})
    };
    st(
        json!({"type": "triggered_tags", "triggers": ["{\"name\": "],
              "tags": [tag("get_weather", weather_schema()), tag("get_time", time_schema())],
              "excludes": ["<|eot_id|>"]}),
    )
}

/// Qwen / Hermes: `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`.
fn hermes() -> String {
    let tag = |name: &str, schema: Value| {
        json!({"begin": format!("<tool_call>\n{{\"name\": \"{name}\", \"arguments\": "),
               "content": {"type": "json_schema", "json_schema": schema}, "end": "}\n</tool_call>"})
    };
    st(
        json!({"type": "triggered_tags", "triggers": ["<tool_call>"],
              "tags": [tag("get_weather", weather_schema()), tag("get_time", time_schema())]}),
    )
}

/// `<function=NAME>{...}</function>`.
fn function_eq() -> String {
    let tag = |name: &str, schema: Value| {
        json!({"type": "tag", "begin": format!("<function={name}>"),
               "content": {"type": "json_schema", "json_schema": schema}, "end": "</function>"})
    };
    st(json!({"type": "triggered_tags", "triggers": ["<function="],
              "tags": [tag("get_weather", weather_schema()), tag("get_time", time_schema())]}))
}

/// Hermes style with 40 tools, each with its own schema: enough schemas to be converted on
/// several threads and enough tags for the tool bodies to be called rules. `bad` replaces
/// the schemas of those tools with invalid ones.
fn many_tools(bad: &[usize]) -> String {
    let tags: Vec<Value> = (0..40)
        .map(|i| {
            let schema = if bad.contains(&i) {
                json!({"type": "strng"})
            } else {
                json!({"type": "object", "properties": {
                    format!("q{i}"): {"type": "string", "maxLength": 10 + i},
                    "n": {"type": "integer", "minimum": 0, "maximum": 50 + i},
                    "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
                    "required": [format!("q{i}")], "additionalProperties": false})
            };
            json!({"begin": format!("<tool_call>\n{{\"name\": \"tool_{i}\", \"arguments\": "),
                   "content": {"type": "json_schema", "json_schema": schema},
                   "end": "}\n</tool_call>"})
        })
        .collect();
    st(json!({"type": "triggered_tags", "triggers": ["<tool_call>"], "tags": tags}))
}

#[test]
fn many_tools_tag() {
    let call = |i: usize, args: &str| {
        format!(
            "Hi <tool_call>\n{{\"name\": \"tool_{i}\", \"arguments\": {args}}}\n</tool_call> ok"
        )
    };
    check(
        "many_tools",
        &many_tools(&[]),
        &[
            &call(33, r#"{"q33": "abc", "n": 83}"#),
            &call(3, r#"{"q3": "", "tags": ["a", "b"]}"#),
            "no tools",
        ],
        &[
            &call(33, r#"{"q33": "abc", "n": 84}"#),
            &call(33, r#"{"q3": "abc"}"#),
            &call(5, r#"{"q5": "0123456789abcdef"}"#),
            &call(40, r#"{"q40": ""}"#),
        ],
    );
    // Schemas are converted ahead (on several threads); the error names the first bad tag.
    let e = err(&many_tools(&[23, 17]));
    assert!(
        e.to_string()
            .contains("format.tags[17].content.json_schema"),
        "{e}"
    );
}

/// A reasoning block, then an answer with optional tool calls.
fn think_then_answer() -> String {
    st(json!({"type": "sequence", "elements": [
        {"type": "tag", "begin": "<think>", "content": {"type": "any_text"}, "end": "</think>"},
        {"type": "triggered_tags", "triggers": ["<tool_call>"],
         "tags": [{"begin": "<tool_call>", "content": {"type": "json_schema",
                   "json_schema": weather_schema()}, "end": "</tool_call>"}],
         "excludes": ["<think>", "</think>"]}
    ]}))
}

#[test]
fn llama31_tool_calls() {
    check(
        "llama31",
        &llama31(),
        &[
            "",
            "Sure, let me check.",
            r#"{"name": "get_weather", "parameters": {"city": "Paris"}}"#,
            r#"I'll call {"name": "get_time", "parameters": {"tz": "UTC"}} and {"name": "get_weather", "parameters": {"city": "Oslo", "unit": "c"}} done"#,
            r#"{"name" : "x"} is not a trigger"#,
        ],
        &[
            r#"{"name": "get_weather", "parameters": {"tz": "UTC"}}"#,
            r#"{"name": "unknown", "parameters": {}}"#,
            r#"{"name": "get_weather", "parameters": {"city": "Paris"}"#,
            "bye<|eot_id|>",
        ],
    );
}

#[test]
fn hermes_tool_calls() {
    check(
        "hermes",
        &hermes(),
        &[
            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"A\"}}\n</tool_call>",
            "<tool_cal",
            "a <tool_call",
        ],
        &[
            "<tool_call>",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}</tool_call>",
            "text <tool_call> more text",
        ],
    );
}

#[test]
fn function_equals_tool_calls() {
    check(
        "function=",
        &function_eq(),
        &[
            "<function=get_weather>{\"city\": \"Paris\"}</function>",
            "x <function=get_time>{\"tz\": \"UTC\"}</function> y <function=get_weather>{\"city\":\"B\",\"unit\":\"f\"}</function>",
            "<function",
        ],
        &[
            "<function=get_weather>{\"tz\": \"UTC\"}</function>",
            "<function=nope>{}</function>",
            "<function=get_weather>{\"city\": \"Paris\"}",
        ],
    );
}

#[test]
fn reasoning_then_answer() {
    check(
        "think",
        &think_then_answer(),
        &[
            "<think></think>",
            "<think>Let me think about <b>this</b> </thin k></think>The answer is 4.",
            "<think>hmm</think>Checking.<tool_call>{\"city\": \"Oslo\"}</tool_call>Done.",
        ],
        &[
            "The answer",
            "<think>a</think>b</think>",
            "<think>a</think>b<think>c",
            "<think>hmm</think><tool_call>{\"town\": \"Oslo\"}</tool_call>",
        ],
    );
}

#[test]
fn primitive_formats() {
    check(
        "const",
        &st(json!({"type": "const_string", "value": "héllo"})),
        &["héllo"],
        &["", "hello", "héllo!"],
    );
    check(
        "regex",
        &st(json!({"type": "regex", "pattern": "[0-9]{2,3}-[a-z]+"})),
        &["12-ab", "123-x"],
        &["1-a", "1234-a", "12-"],
    );
    check(
        "grammar",
        &st(json!({"type": "grammar", "grammar": "root ::= item (\",\" item)*\nitem ::= [a-z]+"})),
        &["a", "ab,c"],
        &["", "a,", ",a"],
    );
    check(
        "json_schema",
        &st(json!({"type": "json_schema", "json_schema": {"type": "integer", "minimum": 10}})),
        &["10", "99"],
        &["9", "-1", "x"],
    );
    check(
        "json_schema_ws",
        &st(
            json!({"type": "json_schema", "json_schema": {"type": "array"},
                   "max_whitespace_cnt": 1}),
        ),
        &["[1, 2]", "[]"],
        &["[1,  2]"],
    );
    check(
        "any_text",
        &st(json!({"type": "any_text", "excludes": ["bad", "<|x|>"]})),
        &["", "good text", "ba d", "<|x"],
        &["so bad", "<|x|>"],
    );
}

#[test]
fn combinators() {
    let a = json!({"type": "const_string", "value": "a"});
    let b = json!({"type": "const_string", "value": "b"});
    check(
        "sequence",
        &st(json!({"type": "sequence", "elements": [a, b]})),
        &["ab"],
        &["a", "ba"],
    );
    check(
        "or",
        &st(json!({"type": "or", "elements": [a, b]})),
        &["a", "b"],
        &["ab", ""],
    );
    check(
        "optional",
        &st(json!({"type": "optional", "content": a})),
        &["", "a"],
        &["aa"],
    );
    check(
        "plus",
        &st(json!({"type": "plus", "content": a})),
        &["a", "aaa"],
        &[""],
    );
    check(
        "star",
        &st(json!({"type": "star", "content": a})),
        &["", "aaaa"],
        &["b"],
    );
    check(
        "repeat",
        &st(json!({"type": "repeat", "min": 2, "max": 3, "content": a})),
        &["aa", "aaa"],
        &["a", "aaaa"],
    );
    check(
        "repeat_unbounded",
        &st(json!({"type": "repeat", "min": 2, "max": -1, "content": a})),
        &["aa", "aaaaa"],
        &["a"],
    );
}

#[test]
fn tags() {
    check(
        "tag_end_list",
        &st(
            json!({"type": "tag", "begin": "<r>", "content": {"type": "any_text"},
                   "end": ["</r>", "</answer>"]}),
        ),
        &["<r>x</r>", "<r>y</answer>", "<r></r>"],
        &["<r>x</r>y", "<r>x</r></answer>", "<r>x"],
    );
    // Free text in a sequence inside a tag also stops at the tag's end.
    check(
        "tag_nested_text",
        &st(
            json!({"type": "tag", "begin": "<a>", "content": {"type": "sequence", "elements": [
            {"type": "const_string", "value": "q:"}, {"type": "any_text", "excludes": ["!"]}]},
            "end": "</a>"}),
        ),
        &["<a>q:hello</a>", "<a>q:</a>"],
        &["<a>q:x</a>y</a>", "<a>q:hi!</a>"],
    );
    let t = |b: &str, v: &str| {
        json!({"type": "tag", "begin": b, "content": {"type": "const_string", "value": v},
               "end": "</t>"})
    };
    let tags = json!([t("<t1>", "1"), t("<t2>", "2")]);
    check(
        "tags_with_separator",
        &st(json!({"type": "tags_with_separator", "tags": tags, "separator": ","})),
        &["", "<t1>1</t>", "<t1>1</t>,<t2>2</t>,<t1>1</t>"],
        &["<t1>1</t>,", "x<t1>1</t>", "<t1>2</t>"],
    );
    check(
        "tags_with_separator_one",
        &st(
            json!({"type": "tags_with_separator", "tags": tags, "separator": ",",
                   "at_least_one": true, "stop_after_first": true}),
        ),
        &["<t2>2</t>"],
        &["", "<t1>1</t>,<t2>2</t>"],
    );
    check(
        "tags_with_separator_least",
        &st(
            json!({"type": "tags_with_separator", "tags": tags, "separator": "",
                   "at_least_one": true}),
        ),
        &["<t2>2</t>", "<t1>1</t><t1>1</t>"],
        &[""],
    );
}

#[test]
fn triggered_tag_options() {
    let t = |b: &str, v: &str| {
        json!({"type": "tag", "begin": b, "content": {"type": "const_string", "value": v},
               "end": "</t>"})
    };
    let base = |extra: Value| {
        let mut f = json!({"type": "triggered_tags", "triggers": ["<t"],
                           "tags": [t("<t1>", "1"), t("<t2>", "2")]});
        for (k, v) in extra.as_object().unwrap() {
            f[k] = v.clone();
        }
        st(f)
    };
    check(
        "triggered",
        &base(json!({})),
        &["", "hi", "a<t1>1</t>b<t2>2</t>c", "<", "a<"],
        &["<t", "<t3>", "<t1>2</t>", "a<tx"],
    );
    check(
        "at_least_one",
        &base(json!({"at_least_one": true})),
        &["<t1>1</t>", "<t1>1</t> then <t2>2</t>!"],
        &["", "hi", "hi <t1>1</t>"],
    );
    check(
        "stop_after_first",
        &base(json!({"stop_after_first": true})),
        &["", "hi", "hi <t1>1</t>"],
        &["hi <t1>1</t> more", "<t1>1</t><t2>2</t>"],
    );
    check(
        "one_exactly",
        &base(json!({"at_least_one": true, "stop_after_first": true})),
        &["<t2>2</t>"],
        &["", "x<t2>2</t>", "<t2>2</t>x"],
    );
    check(
        "excludes",
        &base(json!({"excludes": ["zz"]})),
        &["z z", "<t1>1</t>z"],
        &["zz", "<t1>1</t>zz"],
    );
    // Nested in a tag: the free text also stops at the outer end.
    check(
        "nested",
        &st(
            json!({"type": "tag", "begin": "<a>", "end": "</a>", "content":
            {"type": "triggered_tags", "triggers": ["<t"], "tags": [t("<t1>", "1")]}}),
        ),
        &["<a>x<t1>1</t>y</a>", "<a></a>"],
        &["<a>x</a>y</a>", "<a>x"],
    );
}

#[test]
fn legacy_form() {
    let items = vec![
        StructuralTagItem {
            begin: "<function=get_weather>".into(),
            schema: weather_schema().to_string(),
            end: "</function>".into(),
        },
        StructuralTagItem {
            begin: "<function=get_time>".into(),
            schema: time_schema().to_string(),
            end: "</function>".into(),
        },
    ];
    let triggers = vec!["<function=".to_string()];
    let g = grammar_from_structural_tag_items(&items, &triggers).unwrap();
    let c = byte_compiler();
    let cg = c.compile_grammar(&g).unwrap();
    assert!(accepts(
        &cg,
        "hi <function=get_time>{\"tz\": \"UTC\"}</function>"
    ));
    assert!(!accepts(&cg, "<function=get_time>{}</function>"));
    let cg2 = c.compile_structural_tag_items(&items, &triggers).unwrap();
    assert!(accepts(
        &cg2,
        "<function=get_weather>{\"city\": \"x\"}</function>"
    ));
    // The same as a document.
    let doc = json!({"type": "structural_tag", "triggers": triggers, "structures": [
        {"begin": "<function=get_time>", "schema": time_schema(), "end": "</function>"}]});
    let cg3 = c.compile_structural_tag(&doc.to_string()).unwrap();
    assert!(accepts(
        &cg3,
        "a<function=get_time>{\"tz\": \"\"}</function>"
    ));
    assert!(grammar_from_structural_tag_items(&[], &triggers).is_err());
}

#[test]
fn grammar_prints_and_reparses() {
    for tag in [llama31(), hermes(), function_eq(), think_then_answer()] {
        let g = Grammar::from_structural_tag(&tag).unwrap();
        let text = g.to_ebnf();
        let again = Grammar::from_ebnf(&text, "root").unwrap_or_else(|e| panic!("{e}\n{text}"));
        let c = byte_compiler();
        c.compile_grammar(&again).unwrap();
    }
}

fn err(tag: &str) -> xgr::Error {
    match grammar_from_structural_tag(tag) {
        Ok(_) => panic!("expected an error for {tag}"),
        Err(e) => e,
    }
}

#[test]
fn bad_input() {
    let e = err("{\"type\": \"structural_tag\", \"format\": ");
    assert_eq!(e.kind(), ErrorKind::Json);
    let e = err("[1]");
    assert_eq!(e.kind(), ErrorKind::GrammarSyntax);
    let e = err(r#"{"type": "nonsense"}"#);
    assert!(e.message().contains("structural_tag"), "{e}");
    let e = err(&st(json!({"type": "nope"})));
    assert!(
        e.message().contains("format.type") && e.message().contains("nope"),
        "{e}"
    );
    let e = err(&st(
        json!({"type": "const_string", "value": "x", "extra": 1}),
    ));
    assert!(e.message().contains("format.extra"), "{e}");
    let e = err(&st(json!({"type": "const_string"})));
    assert!(e.message().contains("value"), "{e}");
    let e = err(&st(json!({"type": "sequence", "elements": [
        {"type": "const_string", "value": "x"}, {"type": "const_string", "value": 3}]})));
    assert!(e.message().contains("format.elements[1].value"), "{e}");
    // Empty tag lists and triggers.
    let e = err(&st(
        json!({"type": "triggered_tags", "triggers": ["<a"], "tags": []}),
    ));
    assert!(
        e.message().contains("format.tags") && e.message().contains("empty"),
        "{e}"
    );
    let tag =
        json!({"begin": "<a>", "content": {"type": "const_string", "value": ""}, "end": "</a>"});
    let e = err(&st(
        json!({"type": "triggered_tags", "triggers": [], "tags": [tag]}),
    ));
    assert!(e.message().contains("format.triggers"), "{e}");
    let e = err(&st(
        json!({"type": "tags_with_separator", "tags": [], "separator": ","}),
    ));
    assert!(e.message().contains("format.tags"), "{e}");
    // A trigger that starts no tag, a tag that no trigger starts, a tag two triggers start.
    let e = err(&st(
        json!({"type": "triggered_tags", "triggers": ["<a", "<b"], "tags": [tag]}),
    ));
    assert!(
        e.message().contains("format.triggers[1]") && e.message().contains("prefix"),
        "{e}"
    );
    let e = err(&st(
        json!({"type": "triggered_tags", "triggers": ["<x"], "tags": [tag]}),
    ));
    assert!(e.message().contains("format.tags[0].begin"), "{e}");
    let e = err(&st(
        json!({"type": "triggered_tags", "triggers": ["<", "<a"], "tags": [tag]}),
    ));
    assert!(e.message().contains("several triggers"), "{e}");
    // Bad end, bad repeat bounds, bad embedded languages.
    let e = err(&st(
        json!({"type": "tag", "begin": "<a>", "content": {"type": "any_text"}, "end": []}),
    ));
    assert!(e.message().contains("format.end"), "{e}");
    let e = err(&st(
        json!({"type": "repeat", "min": 3, "max": 2, "content": {"type": "any_text"}}),
    ));
    assert!(e.message().contains("format.max"), "{e}");
    let e = err(&st(json!({"type": "regex", "pattern": "(a"})));
    assert!(e.message().contains("format.pattern"), "{e}");
    let e = err(&st(json!({"type": "grammar", "grammar": "root ::= "})));
    assert!(e.message().contains("format.grammar"), "{e}");
    let e = err(&st(
        json!({"type": "json_schema", "json_schema": {"type": "frobnicate"}}),
    ));
    assert!(e.message().contains("format.json_schema"), "{e}");
    let e = err(&st(json!({"type": "any_text", "excludes": [""]})));
    assert!(e.message().contains("format.excludes[0]"), "{e}");
    let e = err(&st(
        json!({"type": "json_schema", "json_schema": {}, "style": "qwen_xml"}),
    ));
    assert!(e.message().contains("format.style"), "{e}");
    // Nesting too deep: formats, and JSON beyond the reader's limit.
    let mut f = json!({"type": "const_string", "value": "x"});
    for _ in 0..60 {
        f = json!({"type": "optional", "content": f});
    }
    let e = err(&st(f));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let e = err(&format!(
        r#"{{"type": "structural_tag", "format": {deep}}}"#
    ));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
}

// ------------------------------------------------------------ token-level walks with oracle

/// Walks that follow `target` (greedy longest token that continues it), sometimes taking a
/// random allowed token instead; every mask is compared with the oracle.
fn walk(
    tok: &Arc<TokenizerInfo>,
    cg: &Arc<CompiledGrammar>,
    target: &str,
    seed: u64,
    steps: usize,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
    let mut rest: Option<&[u8]> = Some(target.as_bytes());
    for step in 0..steps {
        let (text, _) = checked_step(&mut m, &format!("seed {seed} step {step}"));
        if text.is_empty() {
            break;
        }
        let follow = rest.and_then(|r| {
            text.iter()
                .copied()
                .filter_map(|t| {
                    let b = tok.token_bytes(t)?;
                    (!b.is_empty() && r.starts_with(b)).then_some((b.len(), t))
                })
                .max()
        });
        let t = match follow {
            Some((len, t)) if !rng.gen_bool(0.08) => {
                rest = rest.map(|r| &r[len..]);
                t
            }
            _ => {
                rest = None;
                text[rng.gen_range(0..text.len())]
            }
        };
        assert!(m.accept_token(t).unwrap());
        if rest.is_some_and(|r| r.is_empty()) {
            break;
        }
    }
}

const TARGETS: &[&str] = &[
    "Let me check. {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"c\"}} Done.",
    "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>",
    "Sure <function=get_weather>{\"city\": \"Oslo\"}</function> and <function=get_time>{\"tz\": \"CET\"}</function>",
    "<think>The user wants </thin the weather.</think>Checking<tool_call>{\"city\": \"Rome\"}</tool_call>.",
    "Let me see <tool_call>\n{\"name\": \"tool_27\", \"arguments\": {\"q27\": \"x y\", \"n\": 7, \"tags\": [\"b\"]}}\n</tool_call>",
];

fn check_walks(name: &str, seeds: u64, steps: usize) {
    let tok = Arc::new(common::tokenizers::load(name));
    let c = GrammarCompiler::new(tok.clone(), CompilerOptions::default());
    let tags = [
        llama31(),
        hermes(),
        function_eq(),
        think_then_answer(),
        many_tools(&[]),
    ];
    for (i, tag) in tags.iter().enumerate() {
        let cg = c.compile_structural_tag(tag).unwrap();
        for seed in 0..seeds {
            walk(&tok, &cg, TARGETS[i], seed * 31 + i as u64, steps);
        }
    }
}

#[test]
fn walks_gpt2() {
    check_walks("gpt2-50k", 3, 40);
}

#[test]
fn walks_llama2() {
    check_walks("llama2-32k", 2, 40);
}

#[test]
fn walks_llama3() {
    check_walks("llama3-128k", 2, 30);
}

/// Compiling a structural tag computes the token classes of the start and of the states
/// along each trigger as the tokenizer splits it: a walk through the trigger computes
/// nothing new, while free text after it does.
#[test]
fn trigger_states_are_classified_at_compile_time() {
    let tok = Arc::new(common::tokenizers::load("llama3-128k"));
    let c = GrammarCompiler::new(tok.clone(), CompilerOptions::default());
    for tag in [hermes(), llama31()] {
        let cg = c.compile_structural_tag(&tag).unwrap();
        let trigger = if tag.contains("<tool_call>") {
            "<tool_call>"
        } else {
            "{\"name\": "
        };
        let tokens = tok.encode(trigger).unwrap();
        assert!(tokens.len() > 1, "{trigger:?} is split");
        let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
        let mut bm = vec![0i32; m.bitmask_words()];
        let before = cg.memory_bytes();
        m.fill_next_token_bitmask(&mut bm).unwrap();
        for &t in &tokens {
            assert!(m.accept_token(t).unwrap());
            m.fill_next_token_bitmask(&mut bm).unwrap();
        }
        assert_eq!(
            cg.memory_bytes(),
            before,
            "{trigger:?}: nothing computed on the walk"
        );
        // Past the trigger nothing is warmed: a tool's arguments compute their classes.
        let begin = if tag.contains("<tool_call>") {
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \""
        } else {
            "{\"name\": \"get_weather\", \"parameters\": {\"city\": \""
        };
        let mut m = GrammarMatcher::new(cg.clone(), &MatcherOptions::default()).unwrap();
        assert!(m.accept_string(begin).unwrap(), "{begin}");
        m.fill_next_token_bitmask(&mut bm).unwrap();
        assert!(cg.memory_bytes() > before);
    }
}
