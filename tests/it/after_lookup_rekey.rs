//! `minex lookup` and `minex rekey` (issue 14): the tokens they give are exactly those of the
//! extracts `minex run` writes, no value ever leaves them, and each appends one audit line.
//!
//! Identity numbers come from Skatteverket's test list; keys are fixed TEST keys.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::util::*;

/// One register row: the pupil, the guardian (maybe none), and what a run does with it.
#[derive(Debug, Clone)]
struct Row {
    pupil: String,
    guardian: Option<String>,
    /// The spelling of the pupil's number in the register.
    pupil_spelling: String,
    protected: &'static str,
    postal_code: &'static str,
}

impl Row {
    /// Whether `minex run` with school-supplier writes this row.
    fn kept(&self) -> bool {
        self.protected != "ja" && self.postal_code != "ABCDE" && !self.pupil_spelling.ends_with('X')
    }
}

const HEADER: &str = "personnummer,guardian_personnummer,first_name,last_name,email,phone,street_address,postal_code,city,municipality_code,date_of_birth,gender,protected_identity,school,case_note";

/// A synthetic register from Skatteverket's test numbers: pupils born 2010-2015, guardians
/// born in the 1980s (shared by siblings; one guardian is also a pupil row of their own),
/// people of 100 or more, a protected row, a row with an invalid postal code and one with an
/// invalid identity number.
fn rows() -> Vec<Row> {
    let pnrs = test_pnrs();
    let born = |prefix: &str| -> Vec<String> {
        pnrs.iter()
            .filter(|p| p.starts_with(prefix))
            .take(12)
            .cloned()
            .collect()
    };
    let children = born("2012");
    let parents = born("1984");
    let old = born("1910");
    let mut rows = Vec::new();
    for (i, c) in children.iter().enumerate() {
        rows.push(Row {
            pupil: c.clone(),
            guardian: Some(parents[i / 2].clone()),
            // Every other pupil spelled as a 10-digit number with `-`.
            pupil_spelling: if i % 2 == 0 {
                c.clone()
            } else {
                format!("{}-{}", &c[2..8], &c[8..])
            },
            protected: if i == 3 { "ja" } else { "nej" },
            postal_code: if i == 5 { "ABCDE" } else { "11122" },
        });
    }
    // A guardian who is also a pupil row (an adult learner), and people of 100 or more.
    rows.push(Row {
        pupil: parents[0].clone(),
        guardian: None,
        pupil_spelling: parents[0].clone(),
        protected: "",
        postal_code: "11122",
    });
    for o in &old[..3] {
        rows.push(Row {
            pupil: o.clone(),
            guardian: Some(parents[7].clone()),
            pupil_spelling: format!("{}+{}", &o[2..8], &o[8..]),
            protected: "false",
            postal_code: "41301",
        });
    }
    // An invalid identity number (wrong check digit; the `X` marks it for `kept`).
    let bad = &parents[10];
    let last = bad.as_bytes()[11] - b'0';
    rows.push(Row {
        pupil: String::new(),
        guardian: Some(parents[11].clone()),
        pupil_spelling: format!("{}{}X", &bad[..11], (last + 1) % 10),
        protected: "nej",
        postal_code: "11122",
    });
    rows
}

fn register_text(rows: &[Row]) -> String {
    let mut s = format!("{HEADER}\n");
    for (i, r) in rows.iter().enumerate() {
        let spelling = r.pupil_spelling.trim_end_matches('X');
        let dob = if r.pupil.is_empty() {
            "2012-01-01".to_string()
        } else {
            format!("{}-{}-{}", &r.pupil[..4], &r.pupil[4..6], &r.pupil[6..8])
        };
        s.push_str(&format!(
            "{spelling},{},Namn{i},Efternamn{i},elev{i}@example.se,070-000000{},Gatan {i},{},Stad,0180,{dob},F,{},Skola {},\n",
            r.guardian.clone().unwrap_or_default(),
            i % 10,
            r.postal_code,
            r.protected,
            i % 3
        ));
    }
    s
}

struct Setup {
    dir: tempfile::TempDir,
    rows: Vec<Row>,
    register: PathBuf,
    key: PathBuf,
    policy: PathBuf,
}

fn setup() -> Setup {
    let dir = tempdir();
    let rows = rows();
    let register = write(dir.path(), "register.csv", register_text(&rows));
    let key = write_key_file(dir.path());
    Setup {
        register,
        key,
        policy: schema("school-supplier.yaml"),
        rows,
        dir,
    }
}

/// A second TEST key (the first's bytes reversed), mode 0600.
fn write_second_key(dir: &Path) -> PathBuf {
    let hex: String = TEST_KEY_BYTES
        .iter()
        .rev()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = write(dir, "new.key", format!("{hex}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Every spelling of every identity number of the register, and what must not appear.
fn secrets(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        for p in [Some(&r.pupil), r.guardian.as_ref()].into_iter().flatten() {
            if p.len() == 12 {
                out.push(p.clone());
                out.push(p[2..].to_string());
                out.push(format!("{}-{}", &p[2..8], &p[8..]));
                out.push(format!("{}+{}", &p[2..8], &p[8..]));
            }
        }
        out.push(r.pupil_spelling.trim_end_matches('X').to_string());
    }
    out
}

fn assert_no_value(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} holds an identity number"
        );
    }
}

/// `item` → (space → token) from lookup's CSV; invalid items → reason.
fn parse_lookup(
    text: &str,
) -> (
    BTreeMap<usize, BTreeMap<String, String>>,
    BTreeMap<usize, String>,
) {
    let records = parse_csv(text);
    assert_eq!(records[0], ["item", "space", "token", "reason"]);
    let mut found: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut invalid = BTreeMap::new();
    for r in &records[1..] {
        let item: usize = r[0].parse().unwrap();
        if r[3].is_empty() {
            found
                .entry(item)
                .or_default()
                .insert(r[1].clone(), r[2].clone());
        } else {
            assert!(r[1].is_empty() && r[2].is_empty());
            invalid.insert(item, r[3].clone());
        }
    }
    (found, invalid)
}

fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_audit_fields(v: &serde_json::Value, command: &str) {
    for f in [
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
        assert!(v.get(f).is_some(), "audit line lacks `{f}`: {v}");
    }
    assert_eq!(v["command"], command);
    assert_eq!(v["policy"], "school-supplier");
    assert_eq!(v["policy_sha256"].as_str().unwrap().len(), 64);
}

/// The first 11 digits of a 12-digit number with the Luhn check digit (over the last 9).
fn with_check(first11: &str) -> String {
    let sum: u32 = first11[2..]
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    format!("{first11}{}", (10 - sum % 10) % 10)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn lookup_gives_exactly_the_extract_tokens_in_every_spelling() {
    let s = setup();
    let out = s.dir.path().join("x/school.parquet");
    minex_run(&s.policy, &[&s.register], &out, &s.key, &["--quiet"]).expect_code(0);
    let extract = read_parquet(&out);
    let pupils = extract.strings("personnummer");
    let guardians = extract.strings("guardian_personnummer");
    let kept: Vec<&Row> = s.rows.iter().filter(|r| r.kept()).collect();
    assert_eq!(kept.len(), extract.rows());

    // Every pupil and guardian, in four spellings, through `--from` (a CSV with a header).
    let mut from = String::from("personnummer,note\n");
    let mut expected: Vec<String> = Vec::new();
    for (j, r) in kept.iter().enumerate() {
        let mut people = vec![(&r.pupil, pupils[j].clone().unwrap())];
        if let Some(g) = &r.guardian {
            people.push((g, guardians[j].clone().unwrap()));
        }
        for (p, token) in people {
            let year: i32 = p[..4].parse().unwrap();
            let ten = if 2026 - year >= 100 { '+' } else { '-' };
            for spelling in [
                p.clone(),
                format!("{}-{}", &p[..8], &p[8..]),
                format!("{}{ten}{}", &p[2..8], &p[8..]),
                format!("\"{}-{}\"", &p[..8], &p[8..]),
            ] {
                from.push_str(&format!("{spelling},x\n"));
                expected.push(token.clone());
            }
        }
    }
    let from = write(s.dir.path(), "requests.csv", from);
    let result = s.dir.path().join("tokens.csv");
    let o = minex([
        "lookup".as_ref(),
        "--policy".as_ref(),
        s.policy.as_os_str(),
        "--key-file".as_ref(),
        s.key.as_os_str(),
        "--from".as_ref(),
        from.as_os_str(),
        "--out".as_ref(),
        result.as_os_str(),
    ]);
    o.expect_code(0);
    assert!(o.stdout.is_empty());
    assert_eq!(mode(&result), 0o600);
    let text = std::fs::read_to_string(&result).unwrap();
    let (found, invalid) = parse_lookup(&text);
    assert!(invalid.is_empty(), "{invalid:?}");
    assert_eq!(found.len(), expected.len());
    for (i, token) in expected.iter().enumerate() {
        let row = &found[&(i + 1)];
        assert_eq!(row.len(), 1, "one space: person");
        assert_eq!(&row["person"], token, "item {}", i + 1);
    }
    // Items are in input order.
    let items: Vec<usize> = parse_csv(&text)[1..]
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert_eq!(items, (1..=expected.len()).collect::<Vec<_>>());
    let secrets = secrets(&s.rows);
    assert_no_value("the output", &text, &secrets);
    assert_no_value("stderr", &o.stderr, &secrets);
    assert!(!has_hex_run(&o.stderr, 32));

    // Positional numbers, `--space`, standard output.
    let p = &kept[0].pupil;
    let o = minex([
        "lookup",
        "--policy",
        s.policy.to_str().unwrap(),
        "--key-file",
        s.key.to_str().unwrap(),
        "--space",
        "person",
        format!("{}-{}", &p[2..8], &p[8..]).as_str(),
    ]);
    o.expect_code(0);
    assert_eq!(
        o.stdout,
        format!(
            "item,space,token,reason\n1,person,{},\n",
            pupils[0].clone().unwrap()
        )
    );
    // A space the policy does not use for identity numbers is a usage error.
    minex([
        "lookup",
        "--policy",
        s.policy.to_str().unwrap(),
        "--key-file",
        s.key.to_str().unwrap(),
        "--space",
        "case",
        p.as_str(),
    ])
    .expect_code(2);

    // One audit line per command, beside the key file, mode 0600.
    let log = PathBuf::from(format!("{}.audit.jsonl", s.key.display()));
    assert_eq!(mode(&log), 0o600);
    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 3);
    assert_audit_fields(&lines[0], "lookup");
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[0]["items"]["items"], expected.len() as u64);
    assert_eq!(lines[0]["items"]["invalid"], 0);
    assert_eq!(lines[0]["output"], result.display().to_string());
    let manifest = read_json(&s.dir.path().join("x/school.manifest.json"));
    assert_eq!(lines[0]["key_ids"], manifest["key_ids"]);
    assert_eq!(lines[1]["output"], "standard output");
    assert_eq!(lines[2]["outcome"], "usage");
    assert_no_value(
        "the audit log",
        &std::fs::read_to_string(&log).unwrap(),
        &secrets,
    );
}

#[test]
fn invalid_numbers_get_a_reason_and_no_value_is_shown() {
    let s = setup();
    let good = &s.rows[0].pupil;
    let last = good.as_bytes()[11] - b'0';
    let checksum = format!("{}{}", &good[..11], (last + 1) % 10);
    let values = [
        good.clone(),
        checksum.clone(),
        "19121312ABCD".to_string(),
        with_check(&format!("{}1332{}", &good[..4], &good[8..11])),
        with_check(&format!("{}2101{}", &good[..4], &good[8..11])),
    ];
    let log = s.dir.path().join("audit/lookup.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let mut args: Vec<String> = vec![
        "lookup".into(),
        "--policy".into(),
        s.policy.display().to_string(),
        "--key-file".into(),
        s.key.display().to_string(),
        "--audit-log".into(),
        log.display().to_string(),
    ];
    args.extend(values.iter().cloned());
    let o = minex(&args);
    o.expect_code(0);
    let (found, invalid) = parse_lookup(&o.stdout);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[&1]["person"],
        expected_token("skolsystem-ab", "person", good)
    );
    assert_eq!(invalid[&2], "checksum");
    assert_eq!(invalid[&3], "format");
    assert_eq!(invalid[&4], "date");
    assert_eq!(invalid[&5], "organisation_number");
    let mut secrets = secrets(&s.rows);
    secrets.extend(values[1..].iter().cloned());
    secrets.push(checksum[2..].to_string());
    assert_no_value("stdout", &o.stdout, &secrets[1..]);
    assert_no_value("stderr", &o.stderr, &secrets);
    assert!(o.stderr.contains("4 invalid"), "{}", o.stderr);
    let audit = std::fs::read_to_string(&log).unwrap();
    assert_no_value("the audit log", &audit, &secrets);
    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 1);
    assert_audit_fields(&lines[0], "lookup");
    assert_eq!(lines[0]["items"]["items"], 5);
    assert_eq!(lines[0]["items"]["invalid"], 4);
    assert_eq!(mode(&log), 0o600);
    // No audit log beside the key file when `--audit-log` was given.
    assert!(!PathBuf::from(format!("{}.audit.jsonl", s.key.display())).exists());

    // `--out`: never over an existing file, never onto an input.
    let existing = write(s.dir.path(), "exists.csv", "keep me");
    let base = [
        "lookup".to_string(),
        "--policy".into(),
        s.policy.display().to_string(),
        "--key-file".into(),
        s.key.display().to_string(),
        good.clone(),
        "--out".into(),
    ];
    let mut a = base.to_vec();
    a.push(existing.display().to_string());
    minex(&a).expect_code(2);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    let mut a = base.to_vec();
    a.push(s.key.display().to_string());
    minex(&a).expect_code(2);
    assert_eq!(
        std::fs::read_to_string(&s.key).unwrap().trim(),
        TEST_KEY_HEX
    );
}

#[test]
fn minex_key_without_audit_log_is_a_usage_error() {
    let s = setup();
    let pnr = &s.rows[0].pupil;
    let o = run_cmd(minex_cmd().env("MINEX_KEY", TEST_KEY_HEX).args([
        "lookup",
        "--policy",
        s.policy.to_str().unwrap(),
        pnr.as_str(),
    ]));
    o.expect_code(2);
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("--audit-log"), "{}", o.stderr);
    assert!(!o.stderr.contains(pnr.as_str()));
    // With `--audit-log` it works, and the log is where the flag says.
    let log = s.dir.path().join("env.audit.jsonl");
    let o = run_cmd(minex_cmd().env("MINEX_KEY", TEST_KEY_HEX).args([
        "lookup",
        "--policy",
        s.policy.to_str().unwrap(),
        "--audit-log",
        log.to_str().unwrap(),
        pnr.as_str(),
    ]));
    o.expect_code(0);
    assert_eq!(audit_lines(&log).len(), 1);
}

/// Applies the mapping of `space` to every token of `column`.
fn apply(mapping: &HashMap<String, String>, tokens: &[Option<String>]) -> Vec<Option<String>> {
    tokens
        .iter()
        .map(|t| {
            t.as_ref()
                .map(|t| mapping.get(t).cloned().expect("a token without mapping"))
        })
        .collect()
}

#[test]
fn rekey_maps_the_old_extract_onto_the_new_one() {
    let s = setup();
    let new_key = write_second_key(s.dir.path());
    let old_out = s.dir.path().join("old/school.parquet");
    let new_out = s.dir.path().join("new/school.parquet");
    minex_run(&s.policy, &[&s.register], &old_out, &s.key, &["--quiet"]).expect_code(0);
    minex_run(&s.policy, &[&s.register], &new_out, &new_key, &["--quiet"]).expect_code(0);
    let mapping_path = s.dir.path().join("rotation/mapping.parquet");
    let o = minex([
        "rekey".as_ref(),
        "--policy".as_ref(),
        s.policy.as_os_str(),
        "--old-key-file".as_ref(),
        s.key.as_os_str(),
        "--new-key-file".as_ref(),
        new_key.as_os_str(),
        "--input".as_ref(),
        s.register.as_os_str(),
        "--out".as_ref(),
        mapping_path.as_os_str(),
    ]);
    o.expect_code(0);
    let secrets = secrets(&s.rows);
    assert_no_value("stderr", &o.stderr, &secrets);
    assert!(!has_hex_run(&o.stderr, 32));
    assert_eq!(mode(&mapping_path), 0o600);

    let mapping = read_parquet(&mapping_path);
    assert_eq!(
        mapping.names(),
        [
            "space",
            "old_token",
            "new_token",
            "old_ciphertext",
            "new_ciphertext"
        ]
    );
    let spaces = mapping.strings("space");
    let old_tokens = mapping.strings("old_token");
    let new_tokens = mapping.strings("new_token");
    assert!(
        mapping
            .strings("old_ciphertext")
            .iter()
            .all(Option::is_none)
    );
    let mut map = HashMap::new();
    for i in 0..mapping.rows() {
        assert_eq!(spaces[i].as_deref(), Some("person"));
        let (o, n) = (
            old_tokens[i].clone().unwrap(),
            new_tokens[i].clone().unwrap(),
        );
        assert!(o.len() == 32 && n.len() == 32 && o != n);
        assert!(map.insert(o, n).is_none(), "one mapping per person");
    }
    let old = read_parquet(&old_out);
    let new = read_parquet(&new_out);
    for col in ["personnummer", "guardian_personnummer"] {
        assert_eq!(apply(&map, &old.strings(col)), new.strings(col), "{col}");
    }
    // Exactly the people of the extract: none filtered (protected) or rejected.
    let distinct: HashSet<String> = old
        .strings("personnummer")
        .into_iter()
        .chain(old.strings("guardian_personnummer"))
        .flatten()
        .collect();
    assert_eq!(distinct.len(), mapping.rows());
    let mut all_text = String::new();
    for c in mapping.names() {
        for v in mapping.strings(&c).into_iter().flatten() {
            all_text.push_str(&v);
            all_text.push('\n');
        }
    }
    assert_no_value("the mapping", &all_text, &secrets);

    // The manifest: both key-id maps (those of the extracts), domains, counts, digests.
    let m = read_json(&s.dir.path().join("rotation/mapping.manifest.json"));
    let old_m = read_json(&s.dir.path().join("old/school.manifest.json"));
    let new_m = read_json(&s.dir.path().join("new/school.manifest.json"));
    assert_eq!(m["old"]["key_ids"], old_m["key_ids"]);
    assert_eq!(m["new"]["key_ids"], new_m["key_ids"]);
    assert_eq!(m["old"]["domain"], "skolsystem-ab");
    assert_eq!(m["new"]["domain"], "skolsystem-ab");
    assert_eq!(m["mappings"], mapping.rows() as u64);
    assert_eq!(m["spaces"][0]["space"], "person");
    assert_eq!(m["spaces"][0]["mappings"], mapping.rows() as u64);
    assert_eq!(m["inputs"][0]["sha256"], old_m["inputs"][0]["sha256"]);
    assert_eq!(m["output"]["sha256"], sha256_file(&mapping_path).0);
    let rows = &m["rows"];
    assert_eq!(rows["in"], old_m["rows"]["in"]);
    assert_eq!(rows["filtered"], old_m["rows"]["filtered"]);
    assert_eq!(rows["rejected"], old_m["rows"]["rejected"]);
    assert_eq!(rows["used"], old_m["rows"]["out"]);
    assert_no_value(
        "the manifest",
        &std::fs::read_to_string(s.dir.path().join("rotation/mapping.manifest.json")).unwrap(),
        &secrets,
    );

    // One audit line, beside the new key file.
    let log = PathBuf::from(format!("{}.audit.jsonl", new_key.display()));
    assert_eq!(mode(&log), 0o600);
    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 1);
    assert_audit_fields(&lines[0], "rekey");
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[0]["items"]["mappings"], mapping.rows() as u64);
    assert_eq!(lines[0]["output"], mapping_path.display().to_string());
    assert_eq!(
        lines[0]["key_ids"]["old:token/person"],
        old_m["key_ids"]["token/person"]
    );
    assert_eq!(
        lines[0]["key_ids"]["new:token/person"],
        new_m["key_ids"]["token/person"]
    );
    assert_no_value(
        "the audit log",
        &std::fs::read_to_string(&log).unwrap(),
        &secrets,
    );
}

#[test]
fn rekey_to_a_new_domain_and_of_encrypted_identity_numbers() {
    let s = setup();
    // The same register under a policy that encrypts the pupil and tokenizes the guardian.
    let policy_text = schema_text("school-supplier.yaml").replace(
        "  personnummer:\n    type: personnummer\n    action: tokenize\n    space: person\n",
        "  personnummer:\n    type: personnummer\n    action: encrypt\n    space: sealed\n",
    );
    assert!(policy_text.contains("space: sealed"));
    let policy = write(s.dir.path(), "sealed.yaml", &policy_text);
    let moved = write(
        s.dir.path(),
        "moved.yaml",
        policy_text.replace("domain: skolsystem-ab", "domain: skolsystem-2027"),
    );
    let old_out = s.dir.path().join("old/s.parquet");
    let new_out = s.dir.path().join("new/s.parquet");
    minex_run(&policy, &[&s.register], &old_out, &s.key, &["--quiet"]).expect_code(0);
    minex_run(&moved, &[&s.register], &new_out, &s.key, &["--quiet"]).expect_code(0);

    // lookup gives the extract's ciphertexts too.
    let kept: Vec<&Row> = s.rows.iter().filter(|r| r.kept()).collect();
    let old = read_parquet(&old_out);
    let o = minex([
        "lookup",
        "--policy",
        policy.to_str().unwrap(),
        "--key-file",
        s.key.to_str().unwrap(),
        kept[1].pupil.as_str(),
    ]);
    o.expect_code(0);
    let (found, _) = parse_lookup(&o.stdout);
    assert_eq!(
        Some(found[&1]["sealed"].clone()),
        old.strings("personnummer")[1]
    );
    assert_eq!(
        Some(found[&1]["person"].clone()),
        Some(expected_token("skolsystem-ab", "person", &kept[1].pupil))
    );

    // Same key, new domain.
    let mapping_path = s.dir.path().join("m.parquet");
    let log = s.dir.path().join("rekey.jsonl");
    minex([
        "rekey".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--old-key-file".as_ref(),
        s.key.as_os_str(),
        "--new-key-file".as_ref(),
        s.key.as_os_str(),
        "--new-domain".as_ref(),
        "skolsystem-2027".as_ref(),
        "--input".as_ref(),
        s.register.as_os_str(),
        "--out".as_ref(),
        mapping_path.as_os_str(),
        "--audit-log".as_ref(),
        log.as_os_str(),
    ])
    .expect_code(0);
    let mapping = read_parquet(&mapping_path);
    let (old_t, new_t) = (mapping.strings("old_token"), mapping.strings("new_token"));
    let (old_c, new_c) = (
        mapping.strings("old_ciphertext"),
        mapping.strings("new_ciphertext"),
    );
    let mut tokens = HashMap::new();
    let mut sealed = HashMap::new();
    for (i, space) in mapping.strings("space").iter().enumerate() {
        match space.as_deref() {
            Some("sealed") => {
                assert!(old_t[i].is_none() && new_t[i].is_none());
                sealed.insert(old_c[i].clone().unwrap(), new_c[i].clone().unwrap());
            }
            Some("person") => {
                assert!(old_c[i].is_none() && new_c[i].is_none());
                tokens.insert(old_t[i].clone().unwrap(), new_t[i].clone().unwrap());
            }
            other => panic!("unexpected space {other:?}"),
        }
    }
    let new = read_parquet(&new_out);
    assert_eq!(
        apply(&sealed, &old.strings("personnummer")),
        new.strings("personnummer")
    );
    assert_eq!(
        apply(&tokens, &old.strings("guardian_personnummer")),
        new.strings("guardian_personnummer")
    );
    let m = read_json(&s.dir.path().join("m.manifest.json"));
    assert_eq!(m["new"]["domain"], "skolsystem-2027");
    assert_eq!(m["spaces"][0]["space"], "sealed");
    assert_eq!(m["spaces"][0]["kind"], "ciphertext");
    assert_eq!(audit_lines(&log).len(), 1);

    // Same key and same domain: nothing would change, a usage error, and recorded.
    let o = minex([
        "rekey".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--old-key-file".as_ref(),
        s.key.as_os_str(),
        "--new-key-file".as_ref(),
        s.key.as_os_str(),
        "--input".as_ref(),
        s.register.as_os_str(),
        "--out".as_ref(),
        s.dir.path().join("none.parquet").as_os_str(),
        "--audit-log".as_ref(),
        log.as_os_str(),
    ]);
    o.expect_code(2);
    assert!(!s.dir.path().join("none.parquet").exists());
    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["outcome"], "usage");
    // `--out` onto the register is refused before anything is read.
    minex([
        "rekey".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--old-key-file".as_ref(),
        s.key.as_os_str(),
        "--new-key-file".as_ref(),
        s.key.as_os_str(),
        "--input".as_ref(),
        mapping_path.as_os_str(),
        "--out".as_ref(),
        mapping_path.as_os_str(),
        "--audit-log".as_ref(),
        log.as_os_str(),
    ])
    .expect_code(2);
}
