//! `minex affected` end to end (issue 14, breach response).
//!
//! A synthetic register (a few rows marked protected as `true` or `JA`, some guardians that
//! are register people themselves, one a protected child's) is run through the
//! school-supplier policy **without** its `drop_when` rule, so protected people reach the
//! extract. A leak is made from a seeded random subset of the extract's rows: columns renamed
//! and shuffled, a column of unrelated hex, unrelated rows of random tokens, some tokens in
//! upper case, split over a CSV and a Parquet file that share a third of the rows. `minex
//! affected` (with the shipped policy, whose rule says who is protected) must list exactly the
//! people whose tokens are in the leak, with the right files, `minor`, `protected_identity`
//! and `coordination_number` flags; the terminal and the audit log hold counts only.
//!
//! Identity numbers are synthetic ([`minex::synth::RegisterBuilder`]); the key is the TEST key.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use minex::ident::date::Date;
use minex::ident::personnummer::{ParseOptions, Pnr};
use parquet::arrow::ArrowWriter;

use crate::util::*;

const ROWS: u64 = 4000;
const DOMAIN: &str = "skolsystem-ab";

/// A small seeded generator (splitmix64): the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

fn reference() -> Date {
    Date::new(2026, 1, 1).unwrap()
}

fn canonical(s: &str) -> Option<String> {
    let opts = ParseOptions {
        reference: reference(),
        allow_interim: false,
    };
    Pnr::parse(s, &opts).ok().map(|p| p.as_str().to_string())
}

/// The shipped school-supplier policy without its `rows:` section.
fn policy_without_rule() -> String {
    let text = schema_text("school-supplier.yaml");
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with("rows:") {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("columns:") {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!out.contains("drop_when"));
    out
}

/// The register, edited: rows marked protected and guardians set. Returns the path and the
/// records (header first).
fn make_register(dir: &Path, rng: &mut Rng) -> (PathBuf, Vec<Vec<String>>) {
    let path = register(dir, "register.csv", ROWS, 14);
    let mut records = parse_csv(&std::fs::read_to_string(&path).unwrap());
    let h = &records[0];
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (pnr, prot, guardian) = (
        col("personnummer"),
        col("protected_identity"),
        col("guardian_personnummer"),
    );
    let valid: Vec<usize> = (1..records.len())
        .filter(|i| canonical(&records[*i][pnr]).is_some())
        .collect();
    let mut minors: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|i| !records[*i][guardian].is_empty())
        .collect();
    let mut adults: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|i| records[*i][guardian].is_empty())
        .collect();
    rng.shuffle(&mut minors);
    rng.shuffle(&mut adults);
    // A few protected rows, spelled `true` and `JA`, children and adults.
    for (k, i) in minors
        .iter()
        .take(4)
        .chain(adults.iter().take(4))
        .enumerate()
    {
        records[*i][prot] = if k % 2 == 0 { "JA" } else { "true" }.into();
    }
    // Some guardians who are register people themselves (adults of the register); the first
    // is the guardian of a protected child (minors[0]).
    for k in 0..6 {
        let adult = canonical(&records[adults[10 + k]][pnr]).unwrap();
        records[minors[k * 3]][guardian] = adult;
    }
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    (path, records)
}

/// What the test expects of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    minor: bool,
    protected: bool,
    coordination: bool,
}

/// Every valid identity number of the register (personnummer and guardian columns), with the
/// flags the shipped policy's rule implies.
fn people_of(records: &[Vec<String>]) -> HashMap<String, Person> {
    let h = &records[0];
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let opts = ParseOptions {
        reference: reference(),
        allow_interim: false,
    };
    let mut people: HashMap<String, Person> = HashMap::new();
    for r in &records[1..] {
        let protected = minex::ident::parse_bool(&r[col("protected_identity")]) == Ok(true);
        for c in ["personnummer", "guardian_personnummer"] {
            let Ok(p) = Pnr::parse(&r[col(c)], &opts) else {
                continue;
            };
            let e = people.entry(p.as_str().to_string()).or_insert(Person {
                minor: p.age_at(reference()).unwrap() < 18,
                protected: false,
                coordination: p.is_coordination(),
            });
            e.protected |= protected;
        }
    }
    people
}

/// Writes all-text columns as Parquet.
fn write_parquet(path: &Path, header: &[String], rows: &[Vec<Option<String>>]) {
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|c| {
            Arc::new(StringArray::from(
                rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn write_csv(path: &Path, header: &[String], rows: &[Vec<Option<String>>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r.iter().map(|v| v.as_deref().unwrap_or("")))
            .unwrap();
    }
    w.flush().unwrap();
}

struct Leak {
    csv: PathBuf,
    parquet: PathBuf,
    /// Person (canonical) → the leaked files holding one of their tokens, in file order.
    expected: BTreeMap<String, Vec<PathBuf>>,
    /// Random tokens in the two token columns of the unrelated rows.
    unrelated_tokens: u64,
    /// Every token of the leak that belongs to a register person.
    tokens: Vec<String>,
}

/// The leak: a seeded subset of the extract's rows (every protected row among them),
/// renamed, shuffled and mixed with unrelated rows, over a CSV and a Parquet file.
fn make_leak(
    dir: &Path,
    extract: &Extract,
    token_to_pnr: &HashMap<String, String>,
    protected_tokens: &HashSet<String>,
    rng: &mut Rng,
) -> Leak {
    let names = extract.names();
    let columns: Vec<Vec<Option<String>>> = names.iter().map(|n| extract.strings(n)).collect();
    let pcol = names.iter().position(|n| n == "personnummer").unwrap();
    let mut picked: Vec<usize> = (0..extract.rows())
        .filter(|r| {
            columns[pcol][*r]
                .as_ref()
                .is_some_and(|t| protected_tokens.contains(t))
        })
        .collect();
    assert!(picked.len() >= 8, "the protected rows reach the extract");
    let mut rest: Vec<usize> = (0..extract.rows())
        .filter(|r| !picked.contains(r))
        .collect();
    rng.shuffle(&mut rest);
    picked.extend(rest.into_iter().take(300));
    rng.shuffle(&mut picked);

    // Renamed columns in a shuffled order, plus a column of unrelated hex.
    let rename = |n: &str| match n {
        "personnummer" => "elev_id".to_string(),
        "guardian_personnummer" => "Vårdnadshavare".to_string(),
        other => format!("x_{other}"),
    };
    let mut order: Vec<usize> = (0..names.len()).collect();
    rng.shuffle(&mut order);
    let mut header: Vec<String> = order.iter().map(|c| rename(&names[*c])).collect();
    header.insert(1, "checksum".into());
    let token_cols: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                names[**c].as_str(),
                "personnummer" | "guardian_personnummer"
            )
        })
        .map(|(i, _)| if i >= 1 { i + 1 } else { i })
        .collect();
    let leaked_row = |r: usize, rng: &mut Rng| -> Vec<Option<String>> {
        let mut row: Vec<Option<String>> = order
            .iter()
            .map(|c| {
                let v = columns[*c][r].clone();
                // Some tokens in upper case: tokens compare case-insensitively.
                if r.is_multiple_of(7) && names[*c] == "personnummer" {
                    v.map(|t| t.to_uppercase())
                } else {
                    v
                }
            })
            .collect();
        row.insert(1, Some(rng.hex32()));
        row
    };
    let unrelated = |rng: &mut Rng| -> Vec<Option<String>> {
        (0..header.len())
            .map(|i| {
                if i == 1 || token_cols.contains(&i) {
                    Some(rng.hex32())
                } else {
                    Some(format!("u{}", rng.below(1000)))
                }
            })
            .collect()
    };
    let third = picked.len() / 3;
    let in_csv = &picked[..2 * third];
    let in_parquet = &picked[third..];
    let mut csv_rows: Vec<Vec<Option<String>>> =
        in_csv.iter().map(|r| leaked_row(*r, rng)).collect();
    let mut pq_rows: Vec<Vec<Option<String>>> =
        in_parquet.iter().map(|r| leaked_row(*r, rng)).collect();
    for _ in 0..40 {
        let at = rng.below(csv_rows.len());
        csv_rows.insert(at, unrelated(rng));
    }
    for _ in 0..25 {
        let at = rng.below(pq_rows.len());
        pq_rows.insert(at, unrelated(rng));
    }
    let csv = dir.join("leak").join("dump.csv");
    let parquet = dir.join("leak").join("dump.parquet");
    std::fs::create_dir_all(csv.parent().unwrap()).unwrap();
    write_csv(&csv, &header, &csv_rows);
    write_parquet(&parquet, &header, &pq_rows);

    let gcol = names
        .iter()
        .position(|n| n == "guardian_personnummer")
        .unwrap();
    let mut expected: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut tokens = Vec::new();
    for (file, rows) in [(&csv, in_csv), (&parquet, in_parquet)] {
        for r in rows {
            for c in [pcol, gcol] {
                if let Some(t) = &columns[c][*r] {
                    let p = token_to_pnr[t].clone();
                    tokens.push(t.clone());
                    let files = expected.entry(p).or_default();
                    if files.last() != Some(file) {
                        files.push(file.clone());
                    }
                }
            }
        }
    }
    Leak {
        csv,
        parquet,
        expected,
        unrelated_tokens: (40 + 25) * token_cols.len() as u64,
        tokens,
    }
}

/// Runs `minex affected` with the TEST key.
fn affected(
    policy: &Path,
    key: &Path,
    register: &Path,
    leaked: &[&Path],
    out: &Path,
    audit: &Path,
) -> Output {
    let mut c = minex_cmd();
    c.arg("affected")
        .arg("--policy")
        .arg(policy)
        .arg("--key-file")
        .arg(key)
        .arg("--register")
        .arg(register)
        .arg("--out")
        .arg(out)
        .arg("--audit-log")
        .arg(audit);
    for l in leaked {
        c.arg("--leaked").arg(l);
    }
    run_cmd(&mut c)
}

/// Panics if `text` holds any of the values (or a 10-digit spelling of a number, or any run
/// of 32 hex digits).
#[track_caller]
fn assert_no_value(what: &str, text: &str, numbers: &[String], tokens: &[String]) {
    for p in numbers {
        assert!(
            !text.contains(p.as_str()),
            "{what} holds an identity number"
        );
        assert!(!text.contains(&p[2..]), "{what} holds an identity number");
        let dashed = format!("{}-{}", &p[2..8], &p[8..]);
        assert!(!text.contains(&dashed), "{what} holds an identity number");
    }
    let lower = text.to_lowercase();
    for t in tokens {
        assert!(!lower.contains(&t.to_lowercase()), "{what} holds a token");
    }
    assert!(!has_hex_run(text, 32), "{what} holds a 32-hex run");
}

#[test]
fn a_leak_of_extract_rows_names_exactly_their_people_with_counts_only_on_the_terminal() {
    let dir = tempdir();
    let d = dir.path();
    let mut rng = Rng(202_508);
    let (register, records) = make_register(d, &mut rng);
    let people = people_of(&records);
    let key = write_key_file(d);
    let no_rule = write(d, "no-rule.yaml", policy_without_rule());
    let with_rule = schema("school-supplier.yaml");

    // The run without the rule: protected people reach the extract.
    let extract_path = d.join("out").join("school.parquet");
    std::fs::create_dir_all(extract_path.parent().unwrap()).unwrap();
    minex_run(&no_rule, &[&register], &extract_path, &key, &[]).expect_code(0);
    let extract = read_parquet(&extract_path);

    let token_to_pnr: HashMap<String, String> = people
        .keys()
        .map(|p| (expected_token(DOMAIN, "person", p), p.clone()))
        .collect();
    let protected_tokens: HashSet<String> = records[1..]
        .iter()
        .filter(|r| minex::ident::parse_bool(&r[11]) == Ok(true))
        .filter_map(|r| canonical(&r[0]))
        .map(|p| expected_token(DOMAIN, "person", &p))
        .collect();
    let leak = make_leak(d, &extract, &token_to_pnr, &protected_tokens, &mut rng);
    assert!(leak.expected.values().any(|f| f.len() == 2));
    assert!(leak.expected.keys().any(|p| people[p].protected));
    assert!(leak.expected.keys().any(|p| people[p].minor));

    let out = d.join("notify").join("affected.csv");
    let audit = d.join("affected.audit.jsonl");
    let run = affected(
        &with_rule,
        &key,
        &register,
        &[&leak.csv, &leak.parquet],
        &out,
        &audit,
    );
    run.expect_code(0);

    // The notification list: exactly the leaked people, with their files and flags.
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let list = parse_csv(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(
        list[0],
        [
            "personnummer",
            "leaked_in",
            "spaces",
            "minor",
            "protected_identity",
            "coordination_number"
        ]
    );
    let got: BTreeSet<&str> = list[1..].iter().map(|r| r[0].as_str()).collect();
    let want: BTreeSet<&str> = leak.expected.keys().map(String::as_str).collect();
    assert_eq!(got.len(), list.len() - 1, "one row per person");
    assert_eq!(got, want, "exactly the people of the sampled rows");
    let (mut minors, mut protected) = (0, 0);
    for r in &list[1..] {
        let p = &people[&r[0]];
        let files: Vec<String> = leak.expected[&r[0]]
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        assert_eq!(r[1], files.join(";"));
        assert_eq!(r[2], "token/person");
        assert_eq!(r[3], p.minor.to_string());
        assert_eq!(r[4], p.protected.to_string());
        assert_eq!(r[5], p.coordination.to_string());
        minors += usize::from(p.minor);
        protected += usize::from(p.protected);
    }
    assert!(
        protected >= 8,
        "every protected row was leaked: {protected}"
    );

    // The terminal: counts only.
    let n = want.len();
    let in_csv = leak
        .expected
        .values()
        .filter(|f| f.contains(&leak.csv))
        .count();
    let in_pq = leak
        .expected
        .values()
        .filter(|f| f.contains(&leak.parquet))
        .count();
    let e = &run.stderr;
    assert!(e.contains(&format!("{n} people of the register")), "{e}");
    assert!(e.contains(&format!("dump.csv: {in_csv} people")), "{e}");
    assert!(e.contains(&format!("dump.parquet: {in_pq} people")), "{e}");
    assert!(e.contains(&format!("minors: {minors}\n")), "{e}");
    assert!(e.contains(&format!("rules drop): {protected}\n")), "{e}");
    assert!(
        e.contains(&format!("some token matched): {}\n", leak.unrelated_tokens)),
        "{e}"
    );
    let numbers: Vec<String> = leak.expected.keys().cloned().collect();
    assert_no_value("standard error", e, &numbers, &leak.tokens);
    assert_no_value("standard output", &run.stdout, &numbers, &leak.tokens);

    // The audit log: one line, counts and key ids, no value.
    let log = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(log.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    // The policy's digest is the one long hex run an audit line may hold.
    let digest = line["policy_sha256"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert_no_value(
        "the audit log",
        &log.replace(digest, ""),
        &numbers,
        &leak.tokens,
    );
    assert_eq!(line["command"], "affected");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["policy"], "school-supplier");
    assert_eq!(line["key_ids"]["token/person"], key_id());
    let items = &line["items"];
    assert_eq!(items["people_affected"], n as u64);
    assert_eq!(items["leaked_files"], 2);
    assert_eq!(items["minors"], minors as u64);
    assert_eq!(items["protected_identity"], protected as u64);
    assert_eq!(items["unmatched_tokens"], leak.unrelated_tokens);
    assert_eq!(line["output"], out.display().to_string());
    let mode = std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The policy the extract was made with has no rule: nobody is flagged protected.
    let out2 = d.join("notify").join("affected-no-rule.csv");
    let audit2 = d.join("no-rule.audit.jsonl");
    affected(&no_rule, &key, &register, &[&leak.parquet], &out2, &audit2).expect_code(0);
    let list2 = parse_csv(&std::fs::read_to_string(&out2).unwrap());
    assert_eq!(list2.len() - 1, in_pq);
    assert!(list2[1..].iter().all(|r| r[4] == "false"));
}

/// The key id of the TEST key's `token/person` key in the school-supplier domain (16 hex).
fn key_id() -> String {
    minex::keys::KeyRing::new(test_key(), DOMAIN).key_id(minex::keys::Purpose::Token, "person")
}

#[test]
fn an_existing_out_or_an_out_that_is_an_input_is_refused_and_audited() {
    let dir = tempdir();
    let d = dir.path();
    let register = register(d, "register.csv", 200, 3);
    let key = write_key_file(d);
    let policy = schema("school-supplier.yaml");
    let leak = write(d, "leak.csv", "a,b\n1,2\n");
    let audit = d.join("a.jsonl");

    let existing = write(d, "exists.csv", "keep me\n");
    let r = affected(&policy, &key, &register, &[&leak], &existing, &audit);
    r.expect_code(2);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me\n");

    let r = affected(&policy, &key, &register, &[&leak], &register, &audit);
    r.expect_code(2);
    let r = affected(&policy, &key, &register, &[&leak], &leak, &audit);
    r.expect_code(2);

    // An audit log that is an input (or the output) is refused before anything is
    // appended to it.
    let before = std::fs::read(&register).unwrap();
    let mut c = minex_cmd();
    c.arg("affected")
        .arg("--policy")
        .arg(&policy)
        .arg("--key-file")
        .arg(&key)
        .arg("--register")
        .arg(&register)
        .arg("--leaked")
        .arg(&leak)
        .arg("--out")
        .arg(d.join("new.csv"))
        .arg("--audit-log")
        .arg(&register);
    run_cmd(&mut c).expect_code(2);
    assert_eq!(std::fs::read(&register).unwrap(), before);

    let log = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(log.lines().count(), 3);
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["outcome"], "usage");
    }
    // Nothing but the inputs, the key and the log.
    assert_eq!(
        list_dir(d),
        [
            "a.jsonl",
            "exists.csv",
            "leak.csv",
            "register.csv",
            "test.key"
        ]
    );
}

#[test]
fn without_a_key_file_the_audit_log_must_be_named() {
    let dir = tempdir();
    let d = dir.path();
    let register = register(d, "register.csv", 50, 3);
    let leak = write(d, "leak.csv", "a\n1\n");
    let r = minex_cmd()
        .env("MINEX_KEY", TEST_KEY_HEX)
        .arg("affected")
        .arg("--policy")
        .arg(schema("school-supplier.yaml"))
        .arg("--register")
        .arg(&register)
        .arg("--leaked")
        .arg(&leak)
        .arg("--out")
        .arg(d.join("o.csv"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(!d.join("o.csv").exists());
}

#[test]
fn ciphertexts_dictionary_columns_and_tokens_inside_longer_cells_are_found() {
    let dir = tempdir();
    let d = dir.path();
    let register = register(d, "register.csv", 1500, 9);
    let key = write_key_file(d);
    let policy = write(
        d,
        "enc.yaml",
        "version: 1\nname: enc\ndomain: enc-test\nreference_date: 2026-01-01\nunknown_columns: drop\ncolumns:\n  personnummer: { type: personnummer, action: encrypt, space: person }\n  guardian_personnummer: { type: personnummer, action: tokenize, space: person, nullable: true }\n",
    );
    let extract_path = d.join("out").join("enc.parquet");
    std::fs::create_dir_all(extract_path.parent().unwrap()).unwrap();
    minex_run(&policy, &[&register], &extract_path, &key, &[]).expect_code(0);
    let extract = read_parquet(&extract_path);
    let ciphers = extract.strings("personnummer");
    let guardians = extract.strings("guardian_personnummer");

    // Every 5th row: its ciphertext in a dictionary column, its guardian's token (upper
    // case) inside a JSON text.
    let rows: Vec<usize> = (0..extract.rows()).step_by(5).collect();
    let dict: arrow::array::DictionaryArray<arrow::datatypes::Int32Type> = rows
        .iter()
        .map(|r| ciphers[*r].as_deref())
        .chain(std::iter::once(Some("not-a-ciphertext")))
        .collect();
    let blob: StringArray = rows
        .iter()
        .map(|r| {
            guardians[*r]
                .as_ref()
                .map(|t| format!("{{\"vh\":\"{}\",\"n\":1}}", t.to_uppercase()))
        })
        .chain(std::iter::once(None))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("blob", DataType::Utf8, true),
        Field::new("c", dict.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(blob) as ArrayRef, Arc::new(dict) as ArrayRef],
    )
    .unwrap();
    // No `.parquet` name: Parquet is recognised by its magic bytes.
    let leak = d.join("leak.bin");
    let mut w = ArrowWriter::try_new(File::create(&leak).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    // The expected people: decrypt the sampled ciphertexts, invert the guardian tokens.
    let ring = minex::keys::KeyRing::new(test_key(), "enc-test");
    let enc = ring.encryptor("person");
    let records = parse_csv(&std::fs::read_to_string(&register).unwrap());
    let by_token: HashMap<String, String> = records[1..]
        .iter()
        .filter_map(|r| canonical(&r[12]))
        .map(|p| (expected_token("enc-test", "person", &p), p))
        .collect();
    let mut want: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        let plain = enc.decrypt(ciphers[*r].as_ref().unwrap()).unwrap();
        let p = String::from_utf8(plain.to_vec()).unwrap();
        want.entry(p).or_default().insert("encrypt/person");
        if let Some(t) = &guardians[*r] {
            want.entry(by_token[t].clone())
                .or_default()
                .insert("token/person");
        }
    }
    assert!(want.values().any(|s| s.contains("token/person")));

    let out = d.join("affected.csv");
    let audit = d.join("enc.audit.jsonl");
    let run = affected(&policy, &key, &register, &[&leak], &out, &audit);
    run.expect_code(0);
    let list = parse_csv(&std::fs::read_to_string(&out).unwrap());
    let got: BTreeMap<String, BTreeSet<&str>> = list[1..]
        .iter()
        .map(|r| (r[0].clone(), r[2].split(';').collect()))
        .collect();
    assert_eq!(got, want);
    assert!(run.stderr.contains("rules drop): 0\n"), "{}", run.stderr);
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&audit).unwrap().trim()).unwrap();
    for k in ["token/person", "encrypt/person", "nonce/person"] {
        assert_eq!(line["key_ids"][k].as_str().unwrap().len(), 16, "{k}");
    }
    assert_eq!(line["items"]["unmatched_tokens"], 0);
}
