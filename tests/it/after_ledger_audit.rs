//! Issue 14: `minex ledger` (what went where) and the audit line `reidentify` appends to the
//! key's audit log. Every key is a TEST key; data is synthetic or a fixture.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::util::*;

fn run_into(policy: &Path, input: &Path, out: &Path, key: &Path) {
    minex_run(policy, &[input], out, key, &["--quiet"]).expect_code(0);
}

/// The ledger lists every run of two policies in time order, filters by domain, and as JSON.
#[test]
fn ledger_lists_runs_of_two_policies_in_time_order() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 1500, 11);
    let extracts = d.join("extracts");
    run_into(
        &schema("school-supplier.yaml"),
        &input,
        &extracts.join("2026-01/school.parquet"),
        &key,
    );
    // Manifests record start times to the second: runs a second apart sort by time.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_into(
        &schema("social-services.yaml"),
        &input,
        &extracts.join("2026-01/social.parquet"),
        &key,
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_into(
        &schema("school-supplier.yaml"),
        &input,
        &extracts.join("2026-02/school.parquet"),
        &key,
    );
    // Not a manifest: skipped, never fatal.
    write(&extracts, "notes.manifest.json", "{ not json");

    let out = minex(["ledger", extracts.to_str().unwrap()]);
    out.expect_code(0);
    let order: Vec<usize> = ["2026-01/school", "2026-01/social", "2026-02/school"]
        .iter()
        .map(|n| {
            out.stdout
                .find(n)
                .unwrap_or_else(|| panic!("{n}:\n{}", out.stdout))
        })
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{}", out.stdout);
    assert!(out.stdout.contains("skolsystem-ab"));
    assert!(out.stdout.contains("socialtjanst-ab"));
    assert!(out.stdout.contains("3 runs"), "{}", out.stdout);
    assert!(
        out.stdout.contains("personnummer (tokenize:person)"),
        "{}",
        out.stdout
    );
    for p in csv_column(&input, "personnummer").iter().take(200) {
        assert!(!out.stdout.contains(p.as_str()));
    }

    let only = minex([
        "ledger",
        "--domain",
        "skolsystem-ab",
        "--json",
        extracts.to_str().unwrap(),
    ]);
    only.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&only.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["domain"] == "skolsystem-ab"));
    assert!(runs[0]["started"].as_str() < runs[1]["started"].as_str());
    assert_eq!(runs[0]["extract_sha256"].as_str().unwrap().len(), 64);
    assert!(runs[0]["rows_out"].as_u64().unwrap() > 1000);
}

/// `reidentify` appends one audit line beside the key file: who, what, which keys, how many,
/// where; never a value. With `MINEX_KEY` the log must be named.
#[test]
fn reidentify_appends_one_audit_line_without_a_value() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let policy = fixture("all_actions.yaml");
    let out = d.join("out/x.parquet");
    run_into(&policy, &fixture("all_actions.csv"), &out, &key);
    let r = minex([
        "reidentify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--key-file".as_ref(),
        key.as_os_str(),
        "--extract".as_ref(),
        out.as_os_str(),
        "--column".as_ref(),
        "case_id".as_ref(),
        "--out".as_ref(),
        d.join("plain.csv").as_os_str(),
    ]);
    r.expect_code(0);
    let mut log = key.as_os_str().to_owned();
    log.push(".audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    for field in [
        "time",
        "user",
        "command",
        "policy",
        "policy_sha256",
        "key_ids",
        "items",
        "output",
        "outcome",
    ] {
        assert!(v.get(field).is_some(), "{field} missing: {text}");
    }
    assert_eq!(v["command"], "reidentify");
    assert_eq!(v["outcome"], "ok");
    assert_eq!(v["items"]["values"], 2);
    assert!(v["key_ids"]["encrypt/case"].is_string(), "{text}");
    assert!(!text.contains("ÄR-2024"), "a value in the audit log");
    assert!(!text.contains(TEST_KEY_HEX));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // MINEX_KEY and no --audit-log: a usage error before anything is decrypted.
    let out2 = run_cmd(
        minex_cmd()
            .env("MINEX_KEY", TEST_KEY_HEX)
            .args(["reidentify", "--policy"])
            .arg(&policy)
            .arg("--extract")
            .arg(&out)
            .args(["--column", "case_id"]),
    );
    out2.expect_code(2);
    assert!(out2.stderr.contains("--audit-log"), "{}", out2.stderr);
    assert!(out2.stdout.is_empty());
}
