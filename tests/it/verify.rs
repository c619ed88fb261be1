//! `minex verify` end to end (issue 4): it passes clean extracts of the three example
//! policies, and fails (exit 7, naming the check and column, never the value) an extract with
//! a planted identity number, a kept free-text column that repeats dropped contact details, a
//! manifest that does not match, a policy the extract does not follow, a wrong key, and a
//! class below k.
//!
//! Registers are synthetic ([`minex::synth::RegisterBuilder`]); the key is the TEST key.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::DataType;
use minex::ident::date::Date;
use minex::ident::personnummer::{ParseOptions, Pnr};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use tempfile::TempDir;

use crate::util::*;

/// Rows of the synthetic registers: a few thousand, enough for every kind of value (and for
/// the research policy's k = 5 gate to stay under its 5 % `max_suppression`).
const ROWS: u64 = 3000;
const RESEARCH_ROWS: u64 = 30_000;

/// A clean run: register, key, policy and the extract `out/NAME.parquet` beside its manifest.
struct Clean {
    dir: TempDir,
    input: PathBuf,
    key: PathBuf,
    policy: PathBuf,
    extract: PathBuf,
}

impl Clean {
    /// Makes a register of `rows` rows and runs `policy` (a path) on it.
    fn new(policy: PathBuf, rows: u64, seed: u64) -> Clean {
        let dir = tempdir();
        let input = register(dir.path(), "register.csv", rows, seed);
        let key = write_key_file(dir.path());
        let extract = dir.path().join("out").join("extract.parquet");
        std::fs::create_dir_all(extract.parent().unwrap()).unwrap();
        minex_run(&policy, &[&input], &extract, &key, &[]).expect_code(0);
        Clean {
            dir,
            input,
            key,
            policy,
            extract,
        }
    }

    fn schema(name: &str, rows: u64) -> Clean {
        Clean::new(schema(name), rows, 4)
    }

    /// A copy of the extract and the files beside it (manifest, rejects) in `dir/NAME/`.
    fn copy(&self, name: &str) -> PathBuf {
        let to = self.dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        let from = self.extract.parent().unwrap();
        for f in std::fs::read_dir(from).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
        to.join(self.extract.file_name().unwrap())
    }

    fn manifest(&self, extract: &Path) -> PathBuf {
        extract.with_file_name("extract.manifest.json")
    }

    /// `minex verify --json` of `extract` against `policy`, with the input and the key.
    fn verify(&self, policy: &Path, extract: &Path) -> Verified {
        self.verify_with(policy, extract, Some(&self.key), true)
    }

    fn verify_with(
        &self,
        policy: &Path,
        extract: &Path,
        key: Option<&Path>,
        input: bool,
    ) -> Verified {
        let mut c = minex_cmd();
        c.arg("verify")
            .arg("--policy")
            .arg(policy)
            .arg("--extract")
            .arg(extract);
        if input {
            c.arg("--input").arg(&self.input);
        }
        if let Some(k) = key {
            c.arg("--key-file").arg(k);
        }
        let json = run_cmd(c.arg("--json"));
        let report: Value = serde_json::from_str(&json.stdout)
            .unwrap_or_else(|e| panic!("--json is not JSON ({e}):\n{}", json.stdout));
        // The same again for the human report (on standard error).
        let mut c = minex_cmd();
        c.arg("verify")
            .arg("--policy")
            .arg(policy)
            .arg("--extract")
            .arg(extract);
        if input {
            c.arg("--input").arg(&self.input);
        }
        if let Some(k) = key {
            c.arg("--key-file").arg(k);
        }
        let human = run_cmd(&mut c);
        assert_eq!(json.code, human.code, "--json changes the exit code");
        Verified {
            json,
            human,
            checks: checks(&report),
        }
    }
}

#[derive(Debug, Clone)]
struct Check {
    check: String,
    column: Option<String>,
    status: String,
    detail: String,
}

fn checks(report: &Value) -> Vec<Check> {
    report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no `checks` array: {report}"))
        .iter()
        .map(|c| Check {
            check: c["check"].as_str().unwrap().to_string(),
            column: c["column"].as_str().map(str::to_string),
            status: c["status"].as_str().unwrap().to_string(),
            detail: c["detail"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// One `minex verify`, run with `--json` and without.
struct Verified {
    json: Output,
    human: Output,
    checks: Vec<Check>,
}

impl Verified {
    #[track_caller]
    fn passed(&self) -> &Self {
        self.json.expect_code(0);
        for c in &self.checks {
            assert!(
                c.status == "pass" || c.status == "skip",
                "{c:?}\n{}",
                self.human.stderr
            );
        }
        assert!(
            self.human.stderr.contains("checks passed"),
            "{}",
            self.human.stderr
        );
        self
    }

    #[track_caller]
    fn failed(&self) -> &Self {
        self.json.expect_code(7);
        assert!(
            self.checks.iter().any(|c| c.status == "fail"),
            "exit 7 without a failed check"
        );
        self
    }

    fn status(&self, check: &str, column: Option<&str>) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.check == check && (column.is_none() || c.column.as_deref() == column))
            .map(|c| c.status.as_str())
            .collect()
    }

    /// Asserts that `check` (for `column`, when given) ran and failed, in the JSON report and
    /// in the human one.
    #[track_caller]
    fn fails(&self, check: &str, column: Option<&str>) -> &Self {
        assert!(
            self.status(check, column).contains(&"fail"),
            "`{check}` {column:?} did not fail:\n{}",
            self.human.stderr
        );
        let line = match column {
            Some(c) => format!("FAIL {check} `{c}`"),
            None => format!("FAIL {check}"),
        };
        assert!(
            self.human.stderr.contains(&line),
            "no `{line}` in\n{}",
            self.human.stderr
        );
        self
    }

    #[track_caller]
    fn passes(&self, check: &str, column: Option<&str>) -> &Self {
        let s = self.status(check, column);
        assert!(
            !s.is_empty() && s.iter().all(|s| *s == "pass"),
            "`{check}` {column:?}: {s:?}\n{}",
            self.human.stderr
        );
        self
    }

    /// Asserts that no output of either run holds `value`.
    #[track_caller]
    fn never_shows(&self, value: &str) -> &Self {
        for (what, text) in [
            ("stdout (--json)", &self.json.stdout),
            ("stderr (--json)", &self.json.stderr),
            ("stdout", &self.human.stdout),
            ("stderr", &self.human.stderr),
        ] {
            assert!(!text.contains(value), "{what} shows a planted value");
        }
        self
    }
}

fn parse_opts() -> ParseOptions {
    ParseOptions {
        reference: Date::new(2026, 1, 1).unwrap(),
        allow_interim: false,
    }
}

/// The first valid 12-digit personnummer of the register (a synthetic input row).
fn input_pnr(input: &Path) -> String {
    csv_column(input, "personnummer")
        .into_iter()
        .find(|p| {
            p.len() == 12
                && p.bytes().all(|b| b.is_ascii_digit())
                && Pnr::parse(p, &parse_opts()).is_ok()
        })
        .unwrap()
}

/// The three spellings: `YYYYMMDDNNNC`, `YYMMDD-NNNC`, `YYYYMMDD-NNNC`.
fn spellings(p12: &str) -> [String; 3] {
    [
        p12.to_string(),
        format!("{}-{}", &p12[2..8], &p12[8..]),
        format!("{}-{}", &p12[..8], &p12[8..]),
    ]
}

/// Rewrites a Parquet file with string column `column` replaced by `edit` of it, keeping the
/// schema and the key-value metadata.
fn rewrite_column(path: &Path, column: &str, edit: impl FnOnce(&StringArray) -> StringArray) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let kv: Vec<KeyValue> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.key != "ARROW:schema")
        .collect();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    let batch = concat_batches(&schema, &batches).unwrap();
    let idx = schema.index_of(column).unwrap();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[idx] = Arc::new(edit(batch.column(idx).as_string::<i32>()));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(kv))
        .build();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Rewrites a Parquet file with cell (`row`, `column`) of a string column set to `value`.
fn plant(path: &Path, column: &str, row: usize, value: &str) {
    rewrite_column(path, column, |old| {
        (0..old.len())
            .map(|i| {
                if i == row {
                    Some(value)
                } else {
                    (!old.is_null(i)).then(|| old.value(i))
                }
            })
            .collect()
    });
}

// ---- clean extracts ----------------------------------------------------------------------

#[track_caller]
fn clean_passes(name: &str, rows: u64, k_anonymity: bool) {
    let c = Clean::schema(name, rows);
    let v = c.verify(&c.policy, &c.extract);
    v.passed();
    for check in [
        "metadata.domain",
        "metadata.policy_sha256",
        "schema.columns",
        "column.type",
        "column.format",
        "manifest.rows",
        "manifest.policy",
        "manifest.run_id",
        "manifest.sha256",
        "manifest.out_rows",
        "leak_scan",
        "tokens",
    ] {
        v.passes(check, None);
    }
    v.passes("tokens", Some("personnummer"));
    if k_anonymity {
        v.passes("k_anonymity", None);
    } else {
        assert_eq!(v.status("k_anonymity", None), vec!["skip"]);
    }
    // Every output column had its type and format checked.
    let e = read_parquet(&c.extract);
    for col in e.names() {
        v.passes("column.type", Some(&col));
        v.passes("column.format", Some(&col));
    }

    // Without the input and key the scan and the token check are skipped, not failed.
    let bare = c.verify_with(&c.policy, &c.extract, None, false);
    bare.passed();
    assert_eq!(bare.status("leak_scan", None), vec!["skip"]);
    assert_eq!(bare.status("tokens", None), vec!["skip"]);
}

#[test]
fn clean_school_supplier_extract_passes() {
    clean_passes("school-supplier.yaml", ROWS, false);
}

#[test]
fn clean_social_services_extract_passes() {
    clean_passes("social-services.yaml", ROWS, false);
}

#[test]
fn clean_research_extract_passes() {
    clean_passes("research.yaml", RESEARCH_ROWS, true);
}

#[test]
fn json_report_has_one_entry_per_check_with_a_status() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let v = c.verify(&c.policy, &c.extract);
    v.passed();
    let raw: Value = serde_json::from_str(&v.json.stdout).unwrap();
    for entry in raw["checks"].as_array().unwrap() {
        let o = entry.as_object().unwrap();
        assert!(o["check"].is_string(), "{entry}");
        assert!(o["column"].is_string() || o["column"].is_null(), "{entry}");
        assert!(o["detail"].is_string(), "{entry}");
        assert!(
            ["pass", "fail", "skip"].contains(&o["status"].as_str().unwrap()),
            "{entry}"
        );
    }
    // One entry per check and column.
    let mut seen = BTreeSet::new();
    for ch in &v.checks {
        assert!(
            seen.insert((ch.check.clone(), ch.column.clone())),
            "{} {:?} twice",
            ch.check,
            ch.column
        );
    }
    let m = read_json(&c.manifest(&c.extract));
    assert_eq!(
        v.status("manifest.sha256", None).len() + v.status("manifest.rejects_sha256", None).len(),
        m["outputs"].as_array().unwrap().len()
    );
    // The human report has one line per entry, and a summary.
    let lines: Vec<&str> = v
        .human
        .stderr
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("SKIP ") || l.starts_with("FAIL "))
        .collect();
    assert_eq!(lines.len(), v.checks.len());
    assert!(
        v.human
            .stderr
            .contains(&format!("all {} checks passed", v.checks.len()))
    );
}

// ---- planted identity numbers ------------------------------------------------------------

#[test]
fn planted_identity_number_fails_the_leak_scan_in_any_column() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let pnr = input_pnr(&c.input);
    let e = read_parquet(&c.extract);
    // Every text column of the extract: kept (`city`, `school`, ...), truncated
    // (`postal_code`) and tokenized (`personnummer`, `guardian_personnummer`).
    let text_columns: Vec<String> = e
        .names()
        .into_iter()
        .filter(|n| e.data_type(n) == DataType::Utf8)
        .collect();
    assert!(text_columns.len() >= 5, "{text_columns:?}");
    let mut n = 0;
    for column in &text_columns {
        for (s, spelled) in spellings(&pnr).iter().enumerate() {
            // One row of the first row group, another elsewhere.
            let row = if s == 1 { e.rows() - 1 } else { 17 * s };
            let extract = c.copy(&format!("plant{n}"));
            n += 1;
            plant(&extract, column, row, spelled);
            let v = c.verify(&c.policy, &extract);
            v.failed()
                .fails("leak_scan", Some(column))
                // The rewrite also changed the file's digest.
                .fails("manifest.sha256", None)
                .never_shows(spelled)
                .never_shows(&pnr)
                .never_shows(&pnr[2..]);
            let leak = v
                .checks
                .iter()
                .find(|ch| ch.check == "leak_scan" && ch.column.as_deref() == Some(column))
                .unwrap();
            assert!(leak.detail.contains("identity number"), "{leak:?}");
            assert!(leak.detail.starts_with("1 cells"), "{leak:?}");
            // Only the planted column leaks.
            assert!(
                v.checks
                    .iter()
                    .filter(|ch| ch.check == "leak_scan" && ch.status == "fail")
                    .all(|ch| ch.column.as_deref() == Some(column)),
                "{:?}",
                v.checks
            );
        }
    }
}

#[test]
fn planted_identity_number_inside_text_fails_the_leak_scan() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let pnr = input_pnr(&c.input);
    for (s, spelled) in spellings(&pnr).iter().enumerate() {
        let extract = c.copy(&format!("inside{s}"));
        let text = format!("Skola {spelled} Norr");
        plant(&extract, "school", 3, &text);
        c.verify(&c.policy, &extract)
            .failed()
            .fails("leak_scan", Some("school"))
            .never_shows(spelled)
            .never_shows(&pnr);
    }
}

#[test]
fn planted_guardian_number_fails_the_leak_scan() {
    // A number that occurs only in the (tokenized) guardian column of the input.
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let own: BTreeSet<String> = csv_column(&c.input, "personnummer").into_iter().collect();
    let guardian = csv_column(&c.input, "guardian_personnummer")
        .into_iter()
        .find(|g| g.len() == 12 && !own.contains(g) && Pnr::parse(g, &parse_opts()).is_ok())
        .unwrap();
    let extract = c.copy("guardian");
    let short = format!("{}-{}", &guardian[2..8], &guardian[8..]);
    plant(&extract, "city", 0, &short);
    c.verify(&c.policy, &extract)
        .failed()
        .fails("leak_scan", Some("city"))
        .never_shows(&short)
        .never_shows(&guardian);
}

// ---- kept free text ----------------------------------------------------------------------

#[test]
fn dropped_phone_or_email_in_kept_free_text_fails_the_leak_scan() {
    let pdir = tempdir();
    let text = schema_text("social-services.yaml");
    assert!(text.contains("\n  case_note: drop\n"));
    let policy = write(
        pdir.path(),
        "keeps-case-note.yaml",
        text.replace("\n  case_note: drop\n", "\n  case_note: keep\n"),
    );
    let c = Clean::new(policy, ROWS, 4);

    // The register's notes that repeat the person's own phone or email.
    let notes = csv_column(&c.input, "case_note");
    let phones = csv_column(&c.input, "phone");
    let emails = csv_column(&c.input, "email");
    let mut repeated = Vec::new();
    for i in 0..notes.len() {
        for contact in [&phones[i], &emails[i]] {
            if !contact.is_empty() && notes[i].contains(contact.as_str()) {
                repeated.push(contact.clone());
            }
        }
    }
    assert!(
        repeated.len() >= 20,
        "{} notes repeat contacts",
        repeated.len()
    );

    let v = c.verify(&c.policy, &c.extract);
    v.failed().fails("leak_scan", Some("case_note"));
    let details: Vec<&str> = v
        .checks
        .iter()
        .filter(|ch| {
            ch.check == "leak_scan"
                && ch.status == "fail"
                && ch.column.as_deref() == Some("case_note")
        })
        .map(|ch| ch.detail.as_str())
        .collect();
    assert!(details.iter().any(|d| d.contains("phone")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("email")), "{details:?}");
    for r in &repeated {
        v.never_shows(r);
    }
    // Every other column is clean; the structural checks still pass.
    assert!(
        v.checks
            .iter()
            .filter(|ch| ch.status == "fail")
            .all(|ch| ch.check == "leak_scan" && ch.column.as_deref() == Some("case_note")),
        "{}",
        v.human.stderr
    );
}

// ---- the manifest ------------------------------------------------------------------------

/// Applies `edit` to the manifest of a copy of the clean extract and verifies it.
fn edit_manifest(c: &Clean, name: &str, edit: impl FnOnce(&mut Value)) -> Verified {
    let extract = c.copy(name);
    let path = c.manifest(&extract);
    let mut m = read_json(&path);
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    c.verify(&c.policy, &extract)
}

/// A change to a manifest.
type Edit = Box<dyn FnOnce(&mut Value)>;

fn bump(v: &mut Value) {
    *v = Value::from(v.as_u64().unwrap() + 1);
}

#[test]
fn manifest_that_does_not_match_fails() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let m = read_json(&c.manifest(&c.extract));
    assert!(m["rows"]["rejected"].as_u64().unwrap() > 0);
    assert_eq!(
        m["outputs"].as_array().unwrap().len(),
        2,
        "extract and rejects"
    );

    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "rows.in",
            "manifest.rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["in"])),
        ),
        (
            "rows.out",
            "manifest.rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["out"])),
        ),
        (
            "rows.out",
            "manifest.out_rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["out"])),
        ),
        (
            "rows.filtered",
            "manifest.rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["filtered"])),
        ),
        (
            "rows.rejected",
            "manifest.rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["rejected"])),
        ),
        (
            "rows.suppressed",
            "manifest.rows",
            Box::new(|m: &mut Value| bump(&mut m["rows"]["suppressed"])),
        ),
        (
            "rows.filtered_by_rule",
            "manifest.rows",
            Box::new(|m: &mut Value| {
                bump(&mut m["rows"]["filtered_by_rule"]["protected_identity"])
            }),
        ),
        (
            "outputs[0].rows",
            "manifest.out_rows",
            Box::new(|m: &mut Value| bump(&mut m["outputs"][0]["rows"])),
        ),
        (
            "outputs[0].bytes",
            "manifest.sha256",
            Box::new(|m: &mut Value| bump(&mut m["outputs"][0]["bytes"])),
        ),
        (
            "outputs[0].sha256",
            "manifest.sha256",
            Box::new(|m: &mut Value| {
                let s = m["outputs"][0]["sha256"].as_str().unwrap();
                let flipped = if s.starts_with('0') { "1" } else { "0" };
                m["outputs"][0]["sha256"] = Value::from(format!("{flipped}{}", &s[1..]));
            }),
        ),
        (
            "outputs[1].bytes",
            "manifest.rejects_sha256",
            Box::new(|m: &mut Value| bump(&mut m["outputs"][1]["bytes"])),
        ),
        (
            "run_id",
            "manifest.run_id",
            Box::new(|m: &mut Value| m["run_id"] = Value::from("0".repeat(32))),
        ),
        (
            "policy.sha256",
            "manifest.policy",
            Box::new(|m: &mut Value| m["policy"]["sha256"] = Value::from("0".repeat(64))),
        ),
    ];
    for (i, (field, check, edit)) in cases.into_iter().enumerate() {
        let v = edit_manifest(&c, &format!("m{i}"), edit);
        v.failed();
        assert!(
            v.status(check, None).contains(&"fail"),
            "editing `{field}` does not fail `{check}`:\n{}",
            v.human.stderr
        );
        // Only manifest checks fail.
        for ch in v.checks.iter().filter(|ch| ch.status == "fail") {
            assert!(ch.check.starts_with("manifest."), "{field}: {ch:?}");
        }
    }
}

#[test]
fn missing_or_unreadable_manifest_fails() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let extract = c.copy("missing");
    std::fs::remove_file(c.manifest(&extract)).unwrap();
    c.verify(&c.policy, &extract)
        .failed()
        .fails("manifest", None);

    // The rejects report the manifest lists beside the extract is gone.
    let extract = c.copy("no-rejects");
    std::fs::remove_file(extract.with_file_name("extract.rejects.csv")).unwrap();
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("manifest.rejects_sha256", None);
    assert_eq!(v.status("manifest.sha256", None), vec!["pass"]);

    let extract = c.copy("garbled");
    std::fs::write(c.manifest(&extract), b"{\"not\": \"a manifest\"}").unwrap();
    c.verify(&c.policy, &extract)
        .failed()
        .fails("manifest", None);
}

/// The manifest's claims about inputs and k-anonymity are checked too.
#[test]
fn manifest_input_rows_that_do_not_add_up_fail() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let v = edit_manifest(&c, "inputs-rows", |m| bump(&mut m["inputs"][0]["rows"]));
    v.failed().fails("manifest.input_rows", None);
}

#[test]
fn manifest_input_digest_that_does_not_match_fails() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let v = edit_manifest(&c, "inputs-sha", |m| {
        m["inputs"][0]["sha256"] = Value::from("0".repeat(64));
    });
    v.failed().fails("manifest.input_sha256", None);
}

#[test]
fn manifest_k_anonymity_figures_that_do_not_match_fail() {
    let c = Clean::schema("research.yaml", RESEARCH_ROWS);
    for (i, field) in ["classes", "smallest_class", "suppressed"]
        .iter()
        .enumerate()
    {
        let v = edit_manifest(&c, &format!("k{i}"), |m| {
            bump(&mut m["k_anonymity"][*field]);
        });
        v.failed().fails("manifest.k_anonymity", None);
    }
}

// ---- schema, key, k-anonymity ------------------------------------------------------------

#[test]
fn extract_of_another_policy_fails_the_schema_check() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    for other in ["social-services.yaml", "research.yaml"] {
        let v = c.verify(&schema(other), &c.extract);
        v.failed()
            .fails("schema.columns", None)
            .fails("metadata.domain", None)
            .fails("metadata.policy_sha256", None)
            .fails("manifest.policy", None);
    }
}

#[test]
fn extract_with_a_column_removed_fails_the_schema_check() {
    // The same policy, but the extract lost its `school` column.
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let extract = c.copy("no-school");
    let e = read_parquet(&extract);
    let idx = e.schema.index_of("school").unwrap();
    let mut fields: Vec<_> = e.schema.fields().iter().cloned().collect();
    fields.remove(idx);
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    let mut cols = e.batch.columns().to_vec();
    cols.remove(idx);
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let kv: Vec<KeyValue> = e
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "ARROW:schema")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(kv))
        .build();
    let mut w = ArrowWriter::try_new(File::create(&extract).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("schema.columns", None);
    let ch = v
        .checks
        .iter()
        .find(|c| c.check == "schema.columns")
        .unwrap();
    assert!(ch.detail.contains("school"), "{ch:?}");
}

#[test]
fn wrong_key_fails_the_token_check() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let other = c.dir.path().join("other.key");
    run_cmd(minex_cmd().arg("keygen").arg("--out").arg(&other)).expect_code(0);
    let v = c.verify_with(&c.policy, &c.extract, Some(&other), true);
    v.failed()
        .fails("tokens", Some("personnummer"))
        .fails("tokens", Some("guardian_personnummer"));
    // Nothing else fails, and no token or key is printed.
    for ch in v.checks.iter().filter(|ch| ch.status == "fail") {
        assert_eq!(ch.check, "tokens", "{ch:?}");
    }
    for text in [&v.json.stdout, &v.json.stderr, &v.human.stderr] {
        assert!(!has_hex_run(text, 32), "a token or key in the report");
    }
}

#[test]
fn class_below_k_fails_the_k_anonymity_check() {
    let c = Clean::schema("research.yaml", RESEARCH_ROWS);
    let extract = c.copy("small-class");
    // A postal region no one in the register lives in: a class of one.
    let e = read_parquet(&extract);
    let regions: BTreeSet<String> = non_null(&e.strings("postal_code")).into_iter().collect();
    let lonely = (10..100)
        .map(|r| r.to_string())
        .find(|r| !regions.contains(r))
        .unwrap();
    plant(&extract, "postal_code", 5, &lonely);
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("k_anonymity", None);
    let ch = v.checks.iter().find(|c| c.check == "k_anonymity").unwrap();
    assert!(ch.detail.contains("smallest 1"), "{ch:?}");
    assert!(ch.detail.contains("1 below k = 5"), "{ch:?}");
}

#[test]
fn token_that_is_not_a_token_fails_the_format_check() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let extract = c.copy("format");
    plant(&extract, "personnummer", 2, "Stockholm");
    let v = c.verify(&c.policy, &extract);
    v.failed()
        .fails("column.format", Some("personnummer"))
        .fails("tokens", Some("personnummer"));
}

/// Sanity: the needles are per input value, so an unrelated digit run does not fail the scan.
#[test]
fn numbers_that_are_not_from_the_input_do_not_fail_the_leak_scan() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let own: HashSet<[u8; 12]> = csv_column(&c.input, "personnummer")
        .into_iter()
        .chain(csv_column(&c.input, "guardian_personnummer"))
        .filter_map(|p| Pnr::parse(&p, &parse_opts()).ok().map(|p| *p.canonical()))
        .collect();
    // A TEST personnummer that is not in the register.
    let absent = test_pnrs()
        .into_iter()
        .find(|p| !own.contains(Pnr::parse(p, &parse_opts()).unwrap().canonical()))
        .unwrap();
    let extract = c.copy("absent");
    plant(&extract, "city", 1, &absent);
    let v = c.verify(&c.policy, &extract);
    v.passes("leak_scan", None);
    // Only the digest gives the rewrite away.
    for ch in v.checks.iter().filter(|ch| ch.status == "fail") {
        assert_eq!(ch.check, "manifest.sha256", "{ch:?}");
    }
}

// ---- issue 10: more spellings, identifiers cut short, interrupted commits -----------------

/// The leak-scan failures of a report, as (column, detail).
fn leak_failures(v: &Verified) -> Vec<(String, String)> {
    v.checks
        .iter()
        .filter(|ch| ch.check == "leak_scan" && ch.status == "fail")
        .map(|ch| (ch.column.clone().unwrap_or_default(), ch.detail.clone()))
        .collect()
}

#[test]
fn identity_numbers_with_other_separators_or_glued_to_letters_fail_the_leak_scan() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let pnr = input_pnr(&c.input);
    let spelled = [
        format!("{}_{}", &pnr[..8], &pnr[8..]),
        format!("{}:{}", &pnr[2..8], &pnr[8..]),
        format!("ID{pnr}"),
        format!("pnr{pnr}x"),
        format!("id{}", &pnr[2..]),
    ];
    for (s, value) in spelled.iter().enumerate() {
        // A kept column and a tokenized one.
        for column in ["city", "guardian_personnummer"] {
            let extract = c.copy(&format!("sep{s}-{column}"));
            plant(&extract, column, 5 + s, value);
            let v = c.verify(&c.policy, &extract);
            v.failed()
                .fails("leak_scan", Some(column))
                .never_shows(value)
                .never_shows(&pnr)
                .never_shows(&pnr[2..]);
            let l = leak_failures(&v);
            assert_eq!(l.len(), 1, "{l:?}");
            assert!(
                l[0].1.starts_with("1 cells hold an identity number"),
                "{l:?}"
            );
        }
    }
}

#[test]
fn phones_in_international_spellings_fail_the_leak_scan() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    // A mobile number of the register (the school-supplier policy drops `phone`).
    let phone = csv_column(&c.input, "phone")
        .into_iter()
        .find(|p| p.starts_with("07"))
        .unwrap();
    let mut e164 = String::new();
    minex::ident::phone::canonicalize(&phone, &mut e164).unwrap();
    let nsn = e164.strip_prefix("+46").unwrap().to_string();
    assert_eq!(nsn.len(), 9);
    let spelled = [
        format!(
            "+46(0){}-{} {} {}",
            &nsn[..2],
            &nsn[2..5],
            &nsn[5..7],
            &nsn[7..]
        ),
        format!("0046{nsn}"),
        format!(
            "0046 {} {} {} {}",
            &nsn[..2],
            &nsn[2..5],
            &nsn[5..7],
            &nsn[7..]
        ),
        format!("+46 (0){nsn}"),
        format!("tel{e164}"),
    ];
    for (s, value) in spelled.iter().enumerate() {
        let extract = c.copy(&format!("phone{s}"));
        plant(
            &extract,
            "school",
            7 + s,
            &format!("Ring {value} efter tre"),
        );
        let v = c.verify(&c.policy, &extract);
        v.failed()
            .fails("leak_scan", Some("school"))
            .never_shows(value)
            .never_shows(&phone)
            .never_shows(&e164)
            .never_shows(&nsn);
        let l = leak_failures(&v);
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(l[0].1.contains("phone"), "{l:?}");
    }
}

/// 32 lowercase hex characters around `digits` (a token's shape).
fn hex_token_around(digits: &str) -> String {
    let mut t = format!("ab{digits}c{}", "0123456789abcdef".repeat(2));
    t.truncate(32);
    t
}

#[test]
fn tokens_never_raise_a_leak_even_when_their_hex_holds_input_digits() {
    // A larger run: 2 × 30,000 real tokens, scanned in their own columns.
    let c = Clean::schema("social-services.yaml", RESEARCH_ROWS);
    c.verify(&c.policy, &c.extract)
        .passed()
        .passes("leak_scan", None);

    // A real token, and tokens made to hold an input identity number and phone, planted in a
    // kept column: a digit run inside a token is not a number.
    let pnr = input_pnr(&c.input);
    let phone = csv_column(&c.input, "phone")
        .into_iter()
        .find(|p| p.starts_with("07"))
        .unwrap();
    let phone_digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let e = read_parquet(&c.extract);
    let real = non_null(&e.strings("personnummer")).swap_remove(3);
    for (i, token) in [
        real,
        hex_token_around(&pnr),
        hex_token_around(&pnr[2..]),
        hex_token_around(&phone_digits),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(token.len(), 32);
        let extract = c.copy(&format!("hex{i}"));
        plant(&extract, "municipality_code", 11, token);
        let v = c.verify(&c.policy, &extract);
        v.passes("leak_scan", None);
        for ch in v.checks.iter().filter(|ch| ch.status == "fail") {
            assert!(ch.check.starts_with("manifest."), "{ch:?}");
        }
    }
}

/// The school-supplier policy with `edits` applied to its column lines.
fn school_with(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = schema_text("school-supplier.yaml");
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    write(dir, name, text)
}

#[test]
fn identifiers_kept_or_cut_short_are_leaks_in_their_own_column() {
    let pdir = tempdir();
    let guardian = "  guardian_personnummer:\n    type: personnummer\n    action: tokenize\n    space: person\n    nullable: true\n";
    let policy = school_with(
        pdir.path(),
        "cut-short.yaml",
        &[
            (
                guardian,
                "  guardian_personnummer:\n    type: personnummer\n    action: truncate\n    keep: 12\n    nullable: true\n",
            ),
            (
                "  email: drop\n",
                "  email: { type: email, action: keep }\n",
            ),
            // Untyped: detection says these are phones.
            ("  phone: drop\n", "  phone: keep\n"),
        ],
    );
    let c = Clean::new(policy, ROWS, 4);
    let v = c.verify(&c.policy, &c.extract);
    v.failed()
        .fails("leak_scan", Some("guardian_personnummer"))
        .fails("leak_scan", Some("email"))
        .fails("leak_scan", Some("phone"));
    let l = leak_failures(&v);
    let detail = |col: &str| {
        l.iter()
            .filter(|(c, _)| c == col)
            .map(|(_, d)| d.as_str())
            .collect::<Vec<_>>()
    };
    assert!(
        detail("guardian_personnummer")
            .iter()
            .any(|d| d.contains("identity number")),
        "{l:?}"
    );
    assert!(detail("email").iter().any(|d| d.contains("email")), "{l:?}");
    assert!(detail("phone").iter().any(|d| d.contains("phone")), "{l:?}");
    // No value of those columns in the report.
    for col in ["guardian_personnummer", "email", "phone"] {
        for value in csv_column(&c.input, col)
            .iter()
            .filter(|v| !v.is_empty())
            .take(200)
        {
            v.never_shows(value);
        }
    }
    // The structural checks still pass: only the leak scan fails.
    for ch in v.checks.iter().filter(|ch| ch.status == "fail") {
        assert_eq!(ch.check, "leak_scan", "{ch:?}");
    }
}

#[test]
fn identifiers_cut_to_a_harmless_prefix_and_untyped_kept_text_pass() {
    let pdir = tempdir();
    let guardian = "  guardian_personnummer:\n    type: personnummer\n    action: tokenize\n    space: person\n    nullable: true\n";
    let policy = school_with(
        pdir.path(),
        "cut-harmless.yaml",
        &[
            (
                guardian,
                "  guardian_personnummer:\n    type: personnummer\n    action: truncate\n    keep: 4\n    nullable: true\n",
            ),
            (
                "  phone: drop\n",
                "  phone: { type: phone, action: replace, with: hidden }\n",
            ),
        ],
    );
    let c = Clean::new(policy, ROWS, 4);
    let v = c.verify(&c.policy, &c.extract);
    v.passed().passes("leak_scan", None);
    let ch = v.checks.iter().find(|ch| ch.check == "leak_scan").unwrap();
    assert!(
        ch.detail.contains("identifiers kept or cut short"),
        "{ch:?}"
    );
}

#[test]
fn extract_without_its_manifest_is_an_interrupted_commit() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    let extract = c.copy("uncommitted");
    std::fs::remove_file(c.manifest(&extract)).unwrap();
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("manifest", None);
    let ch = v.checks.iter().find(|ch| ch.check == "manifest").unwrap();
    assert!(
        ch.detail.starts_with(
            "no manifest: the run that wrote this extract did not finish its commit, or the manifest was removed"
        ),
        "{ch:?}"
    );
    assert!(v.human.stderr.contains("did not finish its commit"));
    // A garbled manifest is reported as such, not as a missing one.
    let extract = c.copy("garbled2");
    std::fs::write(c.manifest(&extract), b"{\"not\": \"a manifest\"}").unwrap();
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("manifest", None);
    let ch = v.checks.iter().find(|ch| ch.check == "manifest").unwrap();
    assert!(
        ch.detail.contains("not a readable minex manifest"),
        "{ch:?}"
    );
}

#[test]
fn manifest_of_another_run_is_an_interrupted_commit() {
    let c = Clean::schema("school-supplier.yaml", ROWS);
    // A second run of the same policy on the same input: the same rows, another run id.
    let second = c.dir.path().join("second").join("extract.parquet");
    std::fs::create_dir_all(second.parent().unwrap()).unwrap();
    minex_run(&c.policy, &[&c.input], &second, &c.key, &[]).expect_code(0);
    // The first run's extract beside the second run's manifest (the second run renamed
    // its manifest, but not its extract, into place).
    let extract = c.copy("mixed");
    std::fs::copy(c.manifest(&second), c.manifest(&extract)).unwrap();
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("manifest.run_id", None);
    let ch = v
        .checks
        .iter()
        .find(|ch| ch.check == "manifest.run_id")
        .unwrap();
    assert!(
        ch.detail.starts_with(
            "the manifest belongs to another run: an interrupted commit or files from different runs"
        ),
        "{ch:?}"
    );
    // Neither run id is printed.
    for m in [c.manifest(&c.extract), c.manifest(&second)] {
        let id = read_json(&m)["run_id"].as_str().unwrap().to_string();
        v.never_shows(&id);
    }
}

// ---- ladders and l-diversity (issue 13) ---------------------------------------------------

/// `research-ladders.yaml` with the municipality kept as a sensitive column (l = 2).
fn l_diverse_policy(dir: &Path) -> PathBuf {
    let text = schema_text("research-ladders.yaml")
        .replace("  municipality_code: drop", "  municipality_code: keep");
    assert!(text.contains("municipality_code: keep"));
    write(
        dir,
        "l-diverse.yaml",
        format!("{text}  sensitive: [municipality_code]\n  l: 2\n"),
    )
}

/// Rewrites a Parquet file with every value of string column `column` set to `value`.
fn flatten(path: &Path, column: &str, value: &str) {
    rewrite_column(path, column, |old| {
        StringArray::from(vec![value; old.len()])
    });
}

#[test]
fn ladders_extract_is_checked_at_the_levels_the_search_chose() {
    let c = Clean::new(schema("research-ladders.yaml"), 20_000, 7);
    let v = c.verify(&c.policy, &c.extract);
    v.passed().passes("k_anonymity.search", None);
    v.passes("k_anonymity", None);
    v.passes("column.type", Some("date_of_birth"));
    v.passes("column.format", Some("postal_code"));
    let m = read_json(&c.manifest(&c.extract));
    let levels = m["k_anonymity"]["search"]["levels"].clone();
    assert_eq!(levels.as_array().unwrap().len(), 3, "{m}");

    // Levels that do not fit the ladders: the search check fails, and the extract (checked
    // at the finest levels) no longer fits its types.
    let v = edit_manifest(&c, "bad-levels", |m| {
        m["k_anonymity"]["search"]["levels"] = serde_json::json!([7, 0, 0]);
    });
    v.failed().fails("k_anonymity.search", None);
}

#[test]
fn l_diversity_is_checked_and_a_class_with_one_sensitive_value_fails() {
    let dir = tempdir();
    let policy = l_diverse_policy(dir.path());
    let c = Clean::new(policy, 20_000, 7);
    let v = c.verify(&c.policy, &c.extract);
    v.passed().passes("l_diversity", None);
    let m = read_json(&c.manifest(&c.extract));
    let ld = &m["k_anonymity"]["l_diversity"];
    assert_eq!(ld["l"], 2, "{m}");
    assert!(ld["smallest_distinct"].as_u64().unwrap() >= 2, "{m}");
    let by = &m["k_anonymity"]["suppressed_by"];
    assert_eq!(
        by["k"].as_u64().unwrap() + by["l"].as_u64().unwrap(),
        m["rows"]["suppressed"].as_u64().unwrap(),
        "{m}"
    );

    // Every municipality made the same: every class holds one distinct value.
    let extract = c.copy("one-value");
    flatten(&extract, "municipality_code", "0180");
    let v = c.verify(&c.policy, &extract);
    v.failed().fails("l_diversity", None);
    let ch = v.checks.iter().find(|c| c.check == "l_diversity").unwrap();
    assert!(ch.detail.contains("below l = 2"), "{ch:?}");
    assert!(!ch.detail.contains("0180"), "a value in the report: {ch:?}");
}

#[test]
fn a_boolean_sensitive_column_is_counted_by_verify_as_by_the_run() {
    // `coordination` is a Boolean output: verify must count its values (it renders no text
    // for booleans in its format checks).
    let dir = tempdir();
    let text = schema_text("research-ladders.yaml");
    let text = format!(
        "{text}  sensitive: [coordination]\n  l: 1\nderive:\n  coordination: {{ from: personnummer, what: coordination }}\n"
    );
    let policy = write(dir.path(), "boolean-l.yaml", text);
    let c = Clean::new(policy, 20_000, 7);
    let v = c.verify(&c.policy, &c.extract);
    v.passed().passes("l_diversity", None);
}
