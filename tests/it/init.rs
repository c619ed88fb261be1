//! `minex init`: the scaffold it writes passes `minex check`, runs, and its extract passes
//! `minex verify` and holds no identity number, e-mail, phone, name or address; it never
//! writes a sample value; it refuses to overwrite without `--force`.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::AsArray;
use arrow::datatypes::DataType;
use minex::ident::date::Date;
use minex::ident::personnummer::{ParseOptions, Pnr};
use minex::policy::{Action, Condition, Derivation, Generalization, Policy, ValueType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const REFERENCE: &str = "2026-01-01";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn minex<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_minex"))
        .env_remove("MINEX_KEY")
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn ok(o: &Out, what: &str) {
    assert_eq!(
        o.code, 0,
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        o.code, o.stdout, o.stderr
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minex-init-")
        .tempdir()
        .unwrap()
}

/// A synthetic register of `rows` rows with its header replaced by `header` (when given).
fn register(dir: &Path, rows: u64, header: Option<&[&str]>) -> PathBuf {
    let path = dir.join("register.csv");
    minex::synth::RegisterBuilder::new(rows)
        .write_csv_file(&path)
        .unwrap();
    if let Some(h) = header {
        assert_eq!(h.len(), minex::synth::HEADER.len());
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, rest) = text.split_once('\n').unwrap();
        std::fs::write(&path, format!("{}\n{rest}", h.join(","))).unwrap();
    }
    path
}

/// The records of a CSV file, header first.
fn records(path: &Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The values of synthetic column `synth_name` (by position, whatever the header says).
fn column(recs: &[Vec<String>], synth_name: &str) -> Vec<String> {
    let i = minex::synth::HEADER
        .iter()
        .position(|h| *h == synth_name)
        .unwrap();
    recs[1..]
        .iter()
        .map(|r| r[i].clone())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Every cell of the extract as text (booleans included), with its column name.
fn extract_cells(path: &Path) -> Vec<(String, String)> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut cells = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
            let text = arrow::compute::cast(col, &DataType::Utf8).unwrap();
            for v in text.as_string::<i32>().iter().flatten() {
                cells.push((f.name().clone(), v.to_string()));
            }
        }
    }
    cells
}

/// Maximal runs of digits and separators in `s`, as digits only.
fn digit_runs(s: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut in_run = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
            in_run = true;
        } else if in_run && " -+()".contains(c) {
        } else {
            if !cur.is_empty() {
                runs.push(std::mem::take(&mut cur));
            }
            in_run = false;
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Scans the extract for the input's identity numbers, e-mails, phones, street addresses,
/// names and notes, in every column.
fn assert_no_leak(recs: &[Vec<String>], extract: &Path) {
    let opts = ParseOptions {
        reference: Date::new(2026, 1, 1).unwrap(),
        allow_interim: true,
    };
    let mut numbers: HashSet<String> = HashSet::new();
    for v in column(recs, "personnummer")
        .into_iter()
        .chain(column(recs, "guardian_personnummer"))
    {
        if let Ok(p) = Pnr::parse(&v, &opts) {
            let c = String::from_utf8_lossy(p.canonical()).into_owned();
            numbers.insert(c[2..].to_string());
            numbers.insert(c);
        }
        numbers.insert(v.chars().filter(char::is_ascii_digit).collect());
    }
    for v in column(recs, "phone") {
        let d: String = v.chars().filter(char::is_ascii_digit).collect();
        if let Some(national) = d.strip_prefix("46") {
            numbers.insert(format!("0{national}"));
        }
        numbers.insert(d);
    }
    numbers.retain(|n| n.len() >= 8);
    let emails: Vec<String> = column(recs, "email")
        .iter()
        .map(|e| e.to_lowercase())
        .collect();
    let texts: Vec<String> = column(recs, "street_address")
        .into_iter()
        .chain(column(recs, "case_note"))
        .map(|s| s.to_lowercase())
        .filter(|s| s.chars().count() >= 8)
        .collect();
    let names: HashSet<String> = column(recs, "first_name")
        .into_iter()
        .chain(column(recs, "last_name"))
        .map(|s| s.to_lowercase())
        .collect();

    let cells = extract_cells(extract);
    assert!(!cells.is_empty(), "the extract is empty");
    for (col, cell) in &cells {
        let lower = cell.to_lowercase();
        for run in digit_runs(&lower) {
            assert!(
                !numbers.contains(&run),
                "an input identity or phone number in extract column `{col}`"
            );
        }
        assert!(
            !emails.iter().any(|e| lower.contains(e.as_str())),
            "an input e-mail in extract column `{col}`"
        );
        assert!(
            !texts.iter().any(|t| lower.contains(t.as_str())),
            "an input address or note in extract column `{col}`"
        );
        // Names: any cell made of several words (free text) must not hold one; a one-word
        // cell must not be a first name or surname unless it is a short code.
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .collect();
        if words.len() > 1 {
            assert!(
                !words.iter().any(|w| names.contains(*w)),
                "a name inside text in extract column `{col}`"
            );
        }
    }
    // No column of the extract is a name: a kept column has few distinct values.
    let mut per_column: std::collections::HashMap<&str, HashSet<&str>> =
        std::collections::HashMap::new();
    for (col, cell) in &cells {
        per_column.entry(col).or_default().insert(cell);
    }
    for (col, values) in per_column {
        let named = values
            .iter()
            .filter(|v| names.contains(&v.to_lowercase()))
            .count();
        assert!(
            named <= 3,
            "extract column `{col}` holds {named} distinct first names or surnames"
        );
    }
}

struct Scaffolded {
    _dir: tempfile::TempDir,
    policy_path: PathBuf,
    policy: Policy,
    text: String,
    input: PathBuf,
}

/// `minex init` on `input`, then `check`, `run` and `verify`; returns the policy.
fn init_run_verify(dir: tempfile::TempDir, input: PathBuf) -> Scaffolded {
    let policy_path = dir.path().join("policy.yaml");
    let o = minex([
        "init".as_ref(),
        "--input".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        policy_path.as_os_str(),
        "--reference-date".as_ref(),
        REFERENCE.as_ref(),
    ]);
    ok(&o, "minex init");
    let text = std::fs::read_to_string(&policy_path).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    let policy = minex::policy::from_str(&text, &policy_path).unwrap();
    assert_eq!(policy.domain, minex::init::PLACEHOLDER_DOMAIN);
    assert_eq!(policy.reference_date, Date::new(2026, 1, 1).unwrap());
    // `check` and `run` refuse the placeholder (issue 10): the steward sets the domain.
    let placeholder = format!("domain: {}", minex::init::PLACEHOLDER_DOMAIN);
    assert!(text.contains(&placeholder), "{text}");
    let text = text.replace(&placeholder, "domain: test-recipient");
    std::fs::write(&policy_path, &text).unwrap();

    let check = minex([
        "check".as_ref(),
        "--policy".as_ref(),
        policy_path.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
    ]);
    ok(&check, "minex check");
    assert!(
        !check.stderr.contains("warning"),
        "the scaffold should be lint-clean:\n{}\n{text}",
        check.stderr
    );

    let key = dir.path().join("minex.key");
    keygen(&key);
    let extract = dir.path().join("out/extract.parquet");
    run_scaffold(&policy_path, &input, &extract, &key, &text);

    let verify = minex([
        "verify".as_ref(),
        "--policy".as_ref(),
        policy_path.as_os_str(),
        "--extract".as_ref(),
        extract.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--key-file".as_ref(),
        key.as_os_str(),
    ]);
    ok(&verify, "minex verify");

    assert_no_leak(&records(&input), &extract);
    Scaffolded {
        _dir: dir,
        policy_path,
        policy,
        text,
        input,
    }
}

fn action(p: &Policy, column: &str) -> (ValueType, Action, bool) {
    let c = p
        .column(column)
        .unwrap_or_else(|| panic!("no column `{column}`"));
    (c.value_type, c.action.clone(), c.nullable)
}

fn person() -> Action {
    Action::Tokenize {
        space: "person".into(),
    }
}

/// The decisions that must hold whatever the column names (by synthetic column).
fn assert_decisions(s: &Scaffolded, names: &[&str]) {
    let p = &s.policy;
    let n = |synth: &str| {
        names[minex::synth::HEADER
            .iter()
            .position(|h| *h == synth)
            .unwrap()]
    };
    // Every input column is named, in header order.
    let cols: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, names);
    assert_eq!(
        action(p, n("personnummer")),
        (ValueType::Personnummer, person(), false)
    );
    assert_eq!(
        action(p, n("guardian_personnummer")),
        (ValueType::Personnummer, person(), true)
    );
    for dropped in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "street_address",
        "case_note",
        "protected_identity",
    ] {
        assert_eq!(
            p.column(n(dropped)).unwrap().action,
            Action::Drop,
            "{dropped}\n{}",
            s.text
        );
    }
    // A date of birth and a postal code get ladders (issue 13), unless the search on the
    // sample gave them up.
    let c = p.column(n("date_of_birth")).unwrap();
    if c.action != Action::Drop {
        assert_eq!(c.value_type, ValueType::Date);
        assert_eq!(
            c.ladder,
            Some(vec![
                Action::Generalize(Generalization::Month),
                Action::Generalize(Generalization::Year),
                Action::Generalize(Generalization::Decade),
            ]),
            "{}",
            s.text
        );
    }
    let c = p.column(n("postal_code")).unwrap();
    if c.action != Action::Drop {
        assert_eq!(c.value_type, ValueType::PostalCode);
        assert_eq!(
            c.ladder,
            Some(
                [3, 2, 1]
                    .into_iter()
                    .map(|keep| Action::Truncate { keep })
                    .collect()
            ),
            "{}",
            s.text
        );
    }
    assert!(p.has_ladders(), "{}", s.text);
    assert_eq!(action(p, n("gender")).1, Action::Keep, "{}", s.text);
    // The protected-identity rule.
    assert_eq!(p.rules.len(), 1, "{}", s.text);
    assert_eq!(p.rules[0].column, n("protected_identity"));
    match &p.rules[0].condition {
        Condition::Equals(v) => assert_eq!(v, "true"),
        Condition::In(v) => assert!(v.contains(&"true".to_string())),
        Condition::IsNull(_) => panic!("a null rule"),
    }
    // k-anonymity over every generalized, truncated or kept column, and the derived ones.
    let k = p.k_anonymity.as_ref().expect("a k_anonymity section");
    assert_eq!(k.k, 5);
    assert_eq!(k.max_suppression, Some(0.05));
    let expected: Vec<&str> = p
        .columns
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Keep | Action::Generalize(_) | Action::Truncate { .. }
            )
        })
        .map(|c| c.name.as_str())
        .chain(p.derive.iter().map(|d| d.name.as_str()))
        .collect();
    assert_eq!(k.quasi_identifiers, expected);
    // Every column has a comment just above it.
    let lines: Vec<&str> = s.text.lines().collect();
    for c in &p.columns {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{}:", c.name)))
            .unwrap();
        assert!(
            lines[i - 1].trim_start().starts_with("# "),
            "no comment above `{}`",
            c.name
        );
    }
}

#[test]
fn init_on_the_synthetic_register_runs_and_verifies() {
    let dir = tempdir();
    let input = register(dir.path(), 5000, None);
    let s = init_run_verify(dir, input);
    assert_decisions(&s, minex::synth::HEADER);
    assert!(s.text.contains("are valid personnummer"), "{}", s.text);
    assert!(s.policy_path.exists() && s.input.exists());
}

/// The synthetic register's columns under names `minex init` has no word for (except
/// `sekretess`, the one a protected-identity rule must still be found by).
const UNFAMILIAR: &[&str] = &[
    "id_nr",
    "given",
    "family",
    "contact",
    "tel",
    "line1",
    "zip",
    "ort",
    "kn",
    "born",
    "k",
    "sekretess",
    "vh_id",
    "enhet",
    "anm",
];

#[test]
fn init_on_unfamiliar_column_names_is_driven_by_detection() {
    let dir = tempdir();
    let input = register(dir.path(), 5000, Some(UNFAMILIAR));
    let s = init_run_verify(dir, input);
    assert_decisions(&s, UNFAMILIAR);
    // The reasons come from the values, not the names.
    let line = |name: &str| {
        s.text
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[1].trim_start().starts_with(&format!("{name}:")))
            .map(|w| w[0].to_string())
            .unwrap()
    };
    assert!(line("id_nr").contains("valid personnummer"), "{}", s.text);
    assert!(line("contact").contains("e-mail"), "{}", s.text);
    assert!(line("tel").contains("phone numbers"), "{}", s.text);
    assert!(line("zip").contains("postal codes"), "{}", s.text);
    assert!(line("anm").contains("free text"), "{}", s.text);
}

#[test]
fn the_policy_holds_no_sample_value() {
    let dir = tempdir();
    let input = register(dir.path(), 2000, None);
    let o = minex([
        "init".as_ref(),
        "--input".as_ref(),
        input.as_os_str(),
        "--reference-date".as_ref(),
        REFERENCE.as_ref(),
    ]);
    ok(&o, "minex init to stdout");
    let text = o.stdout;
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    minex::policy::from_str(&text, Path::new("stdout.yaml")).unwrap();
    let recs = records(&input);
    let mut needles: Vec<String> = Vec::new();
    for c in ["personnummer", "guardian_personnummer", "email", "phone"] {
        needles.extend(column(&recs, c));
    }
    for c in [
        "last_name",
        "first_name",
        "street_address",
        "case_note",
        "school",
    ] {
        // Long enough not to be a word of the policy's own comments by chance.
        needles.extend(
            column(&recs, c)
                .into_iter()
                .filter(|v| v.chars().count() >= 6),
        );
    }
    // Distinctive single values the test names explicitly.
    let pnr = &column(&recs, "personnummer")[0];
    let email = &column(&recs, "email")[0];
    let surname = column(&recs, "last_name")
        .into_iter()
        .max_by_key(String::len)
        .unwrap();
    let street = &column(&recs, "street_address")[0];
    for v in [pnr, email, &surname, street] {
        assert!(
            !text.contains(v.as_str()),
            "the policy holds a sample value"
        );
    }
    let digits: String = pnr.chars().filter(char::is_ascii_digit).collect();
    assert!(!text.contains(&digits[digits.len() - 10..]));
    for v in &needles {
        assert!(
            !text.to_lowercase().contains(&v.to_lowercase()),
            "the policy holds a sample value"
        );
    }
    // Postal codes and dates (as written) neither.
    for c in ["postal_code", "date_of_birth"] {
        for v in column(&recs, c).iter().take(200) {
            assert!(!text.contains(v.as_str()), "the policy holds a `{c}` value");
        }
    }
}

#[test]
fn out_is_not_overwritten_without_force() {
    let dir = tempdir();
    let input = register(dir.path(), 300, None);
    let out = dir.path().join("policy.yaml");
    std::fs::write(&out, "my own policy\n").unwrap();
    let args = |force: bool| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "init".into(),
            "--input".into(),
            input.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--domain".into(),
            "skolsystem-ab".into(),
            "--name".into(),
            "school".into(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let o = minex(args(false));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my own policy\n");
    ok(&minex(args(true)), "minex init --force");
    let text = std::fs::read_to_string(&out).unwrap();
    let p = minex::policy::from_str(&text, &out).unwrap();
    assert_eq!(p.domain, "skolsystem-ab");
    assert_eq!(p.name, "school");
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".minex-init")),
        "{names:?}"
    );
}

#[test]
fn reference_date_defaults_to_today() {
    let dir = tempdir();
    let input = register(dir.path(), 50, None);
    let o = minex(["init".as_ref(), "--input".as_ref(), input.as_os_str()]);
    ok(&o, "minex init");
    let p = minex::policy::from_str(&o.stdout, Path::new("p.yaml")).unwrap();
    assert_eq!(p.reference_date, minex::init::today_utc());
    let bad = minex([
        "init".as_ref(),
        "--input".as_ref(),
        input.as_os_str(),
        "--reference-date".as_ref(),
        "2026-02-30".as_ref(),
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn init_help_has_an_example() {
    let o = minex(["init", "--help"]);
    ok(&o, "minex init --help");
    assert!(
        o.stdout.contains("Example: minex init --input"),
        "{}",
        o.stdout
    );
    let top = minex(["--help"]);
    assert!(top.stdout.contains("init"), "{}", top.stdout);
}

// Issue 13: the scaffold writes ladders, checks them on the sample with the core's search,
// and gives up quasi-identifiers until a combination of levels passes, so `minex run` with
// it exits 0.

/// `minex keygen --out key`.
fn keygen(key: &Path) {
    ok(
        &minex(["keygen".as_ref(), "--out".as_ref(), key.as_os_str()]),
        "minex keygen",
    );
}

/// `minex run` with a scaffold (its `text`, shown when the run fails); it must exit 0.
fn run_scaffold(policy_path: &Path, input: &Path, extract: &Path, key: &Path, text: &str) {
    let run = minex([
        "run".as_ref(),
        "--policy".as_ref(),
        policy_path.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        extract.as_os_str(),
        "--key-file".as_ref(),
        key.as_os_str(),
        "--quiet".as_ref(),
    ]);
    ok(&run, &format!("minex run with the scaffold\n{text}"));
}

/// A register from the synthetic generator (`examples/generate_register --rows N --seed S`
/// writes the same bytes), at `dir/register-N-S.csv`.
fn generated(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("register-{rows}-{seed}.csv"));
    minex::synth::RegisterBuilder::new(rows)
        .with_seed(seed)
        .write_csv_file(&path)
        .unwrap();
    path
}

/// The register at `input` without the column `drop`.
fn without_column(input: &Path, drop: &str) -> PathBuf {
    let recs = records(input);
    let i = recs[0].iter().position(|h| h == drop).unwrap();
    let out = input.with_file_name(format!("without-{drop}.csv"));
    let mut w = csv::Writer::from_path(&out).unwrap();
    for mut r in recs {
        r.remove(i);
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    out
}

/// `minex init --domain ...` then `minex run` with the scaffold as written; both must exit 0.
/// Returns the policy text, the policy and the run's manifest.
fn init_then_run(dir: &Path, input: &Path) -> (String, Policy, serde_json::Value) {
    let policy_path = dir.join("policy.yaml");
    ok(
        &minex([
            "init".as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
            "--out".as_ref(),
            policy_path.as_os_str(),
            "--domain".as_ref(),
            "test-recipient".as_ref(),
            "--reference-date".as_ref(),
            REFERENCE.as_ref(),
            "--force".as_ref(),
        ]),
        "minex init",
    );
    let text = std::fs::read_to_string(&policy_path).unwrap();
    let policy = minex::policy::from_str(&text, &policy_path).unwrap();
    let key = dir.join("minex.key");
    if !key.exists() {
        keygen(&key);
    }
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let extract = out.join("extract.parquet");
    run_scaffold(&policy_path, input, &extract, &key, &text);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("extract.manifest.json")).unwrap())
            .unwrap();
    (text, policy, manifest)
}

/// The text with comments wrapped over several lines joined.
fn unwrapped(text: &str) -> String {
    text.replace("\n# ", " ")
}

/// The scaffold has ladders, a `k_anonymity` section with the budget, a comment saying what
/// the search chose on the sample, and the run searched them.
#[track_caller]
fn assert_laddered(text: &str, policy: &Policy, manifest: &serde_json::Value) {
    assert!(policy.has_ladders(), "no ladder\n{text}");
    let k = policy.k_anonymity.as_ref().expect("a k_anonymity section");
    assert_eq!(k.k, 5);
    assert_eq!(k.max_suppression, Some(0.05));
    assert!(!k.quasi_identifiers.is_empty());
    let comments = unwrapped(text);
    assert!(comments.contains("the search chose"), "{text}");
    assert!(
        comments.contains("searches again on the whole input"),
        "{text}"
    );
    let search = &manifest["k_anonymity"]["search"];
    assert!(search.is_object(), "{manifest}");
    let suppressed = manifest["k_anonymity"]["suppressed"].as_u64().unwrap();
    let budget = search["budget"].as_u64().unwrap();
    assert!(suppressed <= budget, "{manifest}");
}

fn init_then_run_on_generated(rows: u64, seeds: &[u64]) {
    for &seed in seeds {
        let dir = tempdir();
        let input = generated(dir.path(), rows, seed);
        let (text, policy, manifest) = init_then_run(dir.path(), &input);
        assert_laddered(&text, &policy, &manifest);
    }
}

#[test]
fn init_then_run_exits_0_on_generated_registers_of_1000_rows() {
    init_then_run_on_generated(1_000, &[1, 2, 3]);
}

#[test]
fn init_then_run_exits_0_on_generated_registers_of_4000_rows() {
    init_then_run_on_generated(4_000, &[1, 2, 3]);
}

#[test]
fn init_then_run_exits_0_on_generated_registers_of_100000_rows() {
    init_then_run_on_generated(100_000, &[1, 2, 3]);
}

/// With no date of birth but an identity number, the scaffold derives an age band with a
/// ladder, and the run goes through.
#[test]
fn init_derives_an_age_band_when_there_is_no_date_of_birth() {
    for rows in [1_000, 4_000] {
        let dir = tempdir();
        let input = without_column(&generated(dir.path(), rows, 5), "date_of_birth");
        let (text, policy, manifest) = init_then_run(dir.path(), &input);
        assert_laddered(&text, &policy, &manifest);
        assert_eq!(policy.derive.len(), 1, "{text}");
        let d = &policy.derive[0];
        assert_eq!(
            (d.name.as_str(), d.from.as_str()),
            ("age_band", "personnummer")
        );
        assert_eq!(
            d.ladder,
            Some(vec![
                Derivation::AgeBand(5),
                Derivation::AgeBand(10),
                Derivation::AgeBand(20)
            ])
        );
        let k = policy.k_anonymity.as_ref().unwrap();
        assert!(
            k.quasi_identifiers.contains(&"age_band".to_string()),
            "{text}"
        );
        assert!(text.contains("no column is a date of birth"), "{text}");
    }
    // With a date of birth, no age band: it would add a quasi-identifier and nothing else.
    let dir = tempdir();
    let s = minex::init::scaffold(&init_options(&generated(dir.path(), 1_000, 5))).unwrap();
    assert!(s.age_band.is_none(), "{}", s.text);
    assert!(!s.text.contains("\nderive:"), "{}", s.text);
}

fn init_options(input: &Path) -> minex::init::InitOptions {
    minex::init::InitOptions {
        inputs: vec![input.to_path_buf()],
        read: minex::io::ReadOptions::default(),
        sample_rows: minex::init::DEFAULT_SAMPLE_ROWS,
        name: None,
        domain: Some("test-recipient".into()),
        reference_date: Date::new(2026, 1, 1).unwrap(),
    }
}

/// On 1,000 rows no combination of the date of birth's, the postal code's and the gender's
/// levels passes: the scaffold gives up the one with the most distinct values at its
/// coarsest level (decades outnumber first postal digits and genders), says so with counts,
/// and the search then passes on the sample.
#[test]
fn init_gives_up_the_quasi_identifier_with_the_most_distinct_values() {
    let dir = tempdir();
    let input = generated(dir.path(), 1_000, 1);
    let s = minex::init::scaffold(&init_options(&input)).unwrap();
    assert_eq!(s.dropped_quasi_identifiers, ["date_of_birth"], "{}", s.text);
    let dob = s
        .columns
        .iter()
        .find(|c| c.name == "date_of_birth")
        .unwrap();
    assert_eq!(dob.decision, minex::init::Decision::Drop);
    assert!(dob.reason.contains("but dropped"), "{}", dob.reason);
    assert!(
        dob.reason.contains("no combination of levels passed"),
        "{}",
        dob.reason
    );
    assert!(
        dob.reason.contains("most distinct values"),
        "{}",
        dob.reason
    );
    assert_eq!(s.quasi_identifiers, ["postal_code", "gender"]);
    let search = s.search.as_ref().expect("the search on the sample");
    assert!(search.rows_suppressed <= search.budget);
    assert!(s.estimated_suppression <= 0.05);
    assert!(
        unwrapped(&s.text).contains("Given up because no combination of levels passed"),
        "{}",
        s.text
    );
    // And the written policy runs.
    let (text, policy, manifest) = init_then_run(dir.path(), &input);
    assert_laddered(&text, &policy, &manifest);
    assert_eq!(policy.column("date_of_birth").unwrap().action, Action::Drop);
}

/// When every quasi-identifier had to be given up, there is no `k_anonymity` section, and a
/// comment says why.
#[test]
fn init_with_no_quasi_identifier_left_writes_no_k_anonymity() {
    let dir = tempdir();
    let input = generated(dir.path(), 8, 1);
    let s = minex::init::scaffold(&init_options(&input)).unwrap();
    assert!(s.quasi_identifiers.is_empty(), "{}", s.text);
    assert!(s.search.is_none());
    assert!(!s.text.contains("\nk_anonymity:"), "{}", s.text);
    assert!(!s.dropped_quasi_identifiers.is_empty(), "{}", s.text);
    assert!(s.text.contains("No k_anonymity section"), "{}", s.text);
    let p = minex::policy::from_str(&s.text, Path::new("p.yaml")).unwrap();
    assert!(p.k_anonymity.is_none() && !p.has_ladders());
}

/// A Parquet register with a typed date of birth (`Date32`): the search on the sample reads
/// the same typed batches as the run, and the run goes through.
#[test]
fn init_then_run_on_a_parquet_register_with_typed_dates() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema};

    let dir = tempdir();
    let recs = records(&generated(dir.path(), 4_000, 11));
    let header = &recs[0];
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|i| -> ArrayRef {
            let values = recs[1..].iter().map(|r| r[i].as_str());
            if header[i] == "date_of_birth" {
                Arc::new(Date32Array::from_iter(
                    values.map(|v| Date::parse(v).map(Date::to_days)),
                ))
            } else {
                Arc::new(StringArray::from_iter(
                    values.map(|v| (!v.is_empty()).then_some(v)),
                ))
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .zip(&columns)
            .map(|(h, c)| Field::new(h, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let input = dir.path().join("register.parquet");
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(File::create(&input).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (text, policy, manifest) = init_then_run(dir.path(), &input);
    assert_laddered(&text, &policy, &manifest);
    assert!(
        policy.column("date_of_birth").unwrap().ladder.is_some(),
        "{text}"
    );
}
