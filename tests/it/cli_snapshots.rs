//! Snapshots of what a steward reads: every command's `--help` (each has an example) and the
//! common errors. Temporary paths are filtered to `[TMP]`. Review changes with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test it cli_snapshots` and read
//! the diff).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn minex(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_minex"))
        .args(args)
        .current_dir(dir)
        .env_remove("MINEX_KEY")
        .env_remove("RUST_LOG")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = text.replace(&dir.display().to_string(), "[TMP]");
    (out.status.code().unwrap_or(-1), text)
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn help_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "",
        "run",
        "check",
        "plan",
        "init",
        "keygen",
        "reidentify",
        "verify",
        "demo",
    ] {
        let args: Vec<&str> = if cmd.is_empty() {
            vec!["--help"]
        } else {
            vec![cmd, "--help"]
        };
        let (code, text) = minex(&args, dir.path());
        assert_eq!(code, 0);
        if !cmd.is_empty() {
            assert!(
                text.contains("Example: minex"),
                "`{cmd} --help` has no example"
            );
        }
        let name = if cmd.is_empty() {
            "help".to_string()
        } else {
            format!("help_{cmd}")
        };
        settings().bind(|| insta::assert_snapshot!(name, text));
    }
}

const POLICY: &str = "version: 1
name: snapshot
domain: test-domain
reference_date: 2026-01-01
columns:
  personnummer: { type: personnummer, action: tokenize, space: person, on_invalid: fail }
  city: keep
";

/// Test numbers from Skatteverket's official test list; the second has a changed check digit.
const CSV: &str = "personnummer,city\n194608239986,Lund\n194608239987,Lund\n";

#[test]
fn common_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    std::fs::write(d.join("register.csv"), CSV).unwrap();
    std::fs::write(
        d.join("extra.csv"),
        "personnummer,city,shoe_size\n194608239986,Lund,42\n",
    )
    .unwrap();
    std::fs::write(
        d.join("bad.yaml"),
        "version: 2\nname: x\ndomain: d\nreference_date: 2026-13-01\ncolumns:\n  a: { action: tokenise }\n  b: { action: truncate }\n  c: shred\n",
    )
    .unwrap();
    let key = d.join("test.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let cases: [(&str, Vec<&str>); 5] = [
        (
            "error_unknown_column",
            vec![
                "run",
                "-q",
                "--policy",
                "policy.yaml",
                "--input",
                "extra.csv",
                "--out",
                "out/x.parquet",
                "--key-file",
                "test.key",
            ],
        ),
        ("error_bad_policy", vec!["check", "--policy", "bad.yaml"]),
        (
            "error_missing_key",
            vec![
                "run",
                "-q",
                "--policy",
                "policy.yaml",
                "--input",
                "register.csv",
                "--out",
                "out/x.parquet",
            ],
        ),
        (
            "error_invalid_value_fail",
            vec![
                "run",
                "-q",
                "--policy",
                "policy.yaml",
                "--input",
                "register.csv",
                "--out",
                "out/x.parquet",
                "--key-file",
                "test.key",
            ],
        ),
        (
            "error_missing_input",
            vec![
                "run",
                "-q",
                "--policy",
                "policy.yaml",
                "--input",
                "nope.csv",
                "--out",
                "out/x.parquet",
                "--key-file",
                "test.key",
            ],
        ),
    ];
    for (name, args) in cases {
        let (code, text) = minex(&args, d);
        assert_ne!(code, 0, "{name}");
        // Never a value or key in an error.
        assert!(!text.contains("194608239987"), "{name}: {text}");
        assert!(!text.contains(&"ab".repeat(32)), "{name}: {text}");
        settings().bind(|| insta::assert_snapshot!(name, format!("exit {code}\n{text}")));
    }
    assert!(!d.join("out").join("x.parquet").exists());
}

/// `-vvv --log-format json`: every line is a JSON object, and none holds a value or a key.
#[test]
fn json_logs_never_hold_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policy = POLICY.replace(", on_invalid: fail", "");
    std::fs::write(d.join("policy.yaml"), policy).unwrap();
    std::fs::write(d.join("register.csv"), CSV).unwrap();
    let key = d.join("test.key");
    std::fs::write(&key, format!("{}\n", "cd".repeat(32))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (code, text) = minex(
        &[
            "-vvv",
            "--log-format",
            "json",
            "run",
            "-q",
            "--policy",
            "policy.yaml",
            "--input",
            "register.csv",
            "--out",
            "out/x.parquet",
            "--key-file",
            "test.key",
        ],
        d,
    );
    assert_eq!(code, 0, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 4, "{text}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["fields"]["message"].is_string(), "{l}");
    }
    for secret in ["194608239986", "194608239987", "Lund", &"cd".repeat(32)] {
        assert!(!text.contains(secret), "a log line holds `{secret}`");
    }
    assert!(text.contains("run finished"));
}

/// `minex plan` names every input column, reading only the header.
#[test]
fn plan_names_every_input_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("policy.yaml"),
        "version: 1\nname: plan\ndomain: test-domain\nreference_date: 2026-01-01\nrows:\n  drop_when:\n    - { column: protected, equals: \"true\" }\ncolumns:\n  personnummer: { type: personnummer, action: tokenize, space: person }\n  born: { type: date, action: generalize, to: year }\n  zip: { type: postal_code, action: truncate, keep: 3 }\n  protected: drop\n  note: drop\nderive:\n  sex: { from: personnummer, what: sex }\nk_anonymity:\n  quasi_identifiers: [born, zip, sex]\n  k: 5\n",
    )
    .unwrap();
    // A header and a row that would not even parse: plan must not read past the header.
    std::fs::write(
        d.join("register.csv"),
        "personnummer,born,zip,protected,note\n\"unterminated\n",
    )
    .unwrap();
    let (code, text) = minex(
        &["plan", "--policy", "policy.yaml", "--input", "register.csv"],
        d,
    );
    assert_eq!(code, 0, "{text}");
    for column in ["personnummer", "born", "zip", "protected", "note"] {
        assert!(
            text.lines().any(|l| l.starts_with(column)),
            "`{column}` missing:\n{text}"
        );
    }
    settings().bind(|| insta::assert_snapshot!("plan", text));
}
