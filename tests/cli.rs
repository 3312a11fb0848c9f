//! The `xgr` command's subcommands, through the library entry point.
use xgr::cli::main_with_args;

fn run(args: &[&str]) -> i32 {
    main_with_args(args.iter().map(|s| s.to_string()).collect())
}

#[test]
fn check_accepts_and_rejects_documents() {
    assert_eq!(run(&["check", "--text", r#"{"a": [1, 2, 3]}"#]), 0);
    assert_eq!(run(&["check", "--text", r#"{"a": [1, 2,, 3]}"#]), 1);
    assert_eq!(run(&["check", "--text", r#"{"a": [1"#]), 1);
    assert_eq!(run(&["check", "--regex", r"\d{3}", "--text", "123"]), 0);
    assert_eq!(run(&["check", "--regex", r"\d{3}", "--text", "12a"]), 1);
    assert_eq!(run(&["check"]), 1, "no document given");
}

#[test]
fn demo_generates_a_valid_document() {
    assert_eq!(
        run(&[
            "demo",
            "--tokenizer",
            "gpt2-50k",
            "--json",
            "--max-tokens",
            "24",
            "--seed",
            "3"
        ]),
        0
    );
    // The default: the embedded tool-call JSON Schema.
    assert_eq!(run(&["demo", "--tokenizer", "gpt2-50k", "--seed", "5"]), 0);
    assert_eq!(
        run(&[
            "demo",
            "--tokenizer",
            "gpt2-50k",
            "--regex",
            "[a-z]{2,5}@x\\.org"
        ]),
        0
    );
    assert_eq!(run(&["nonsense"]), 1);
    assert_eq!(run(&["bench", "--limit"]), 2, "option without value");
}
