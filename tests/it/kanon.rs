//! The k-anonymity gate end to end through `minex run` (issue 4): hand-checked registers with
//! known class sizes (the exact rows suppressed, the exact figures in the manifest),
//! `on_violation: fail` and `max_suppression` (nothing written), a seeded randomized
//! comparison with a naive count, and quasi-identifiers derived from the personnummer.
//!
//! Identity numbers are Skatteverket's official TEST personnummer; everything else is made up.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::util::*;

/// The hand-checked fixture: 26 rows, classes of sizes 1, 2, 2, 3, 4, 5, 7 at k = 3 (see the
/// comment at the top of the policy).
fn small_policy() -> PathBuf {
    fixture("verify/kanon_small.yaml")
}

fn small_csv() -> PathBuf {
    fixture("verify/kanon_small.csv")
}

fn range_ids(from: u32, to: u32) -> BTreeSet<String> {
    (from..=to).map(|i| format!("r{i:02}")).collect()
}

/// The manifest beside `DIR/NAME.parquet`.
fn manifest_of(parquet: &Path) -> serde_json::Value {
    let name = parquet.file_stem().unwrap().to_str().unwrap();
    read_json(&parquet.with_file_name(format!("{name}.manifest.json")))
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Asserts that a figure is `want`, up to the last bit or two (JSON's decimal form of an
/// `f64` need not parse back to the very same bits).
#[track_caller]
fn assert_figure(v: &serde_json::Value, want: f64, what: &str) {
    let got = f(v);
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: {got} != {want}"
    );
}

/// `class_size_histogram` with the bucket labels trimmed (`"     3-5"` → `"3-5"`).
fn histogram(k: &serde_json::Value) -> BTreeMap<String, u64> {
    k["class_size_histogram"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(b, n)| (b.trim().to_string(), u(n)))
        .collect()
}

/// Checks `rows.in = out + filtered + rejected + suppressed` and returns the `rows` object.
#[track_caller]
fn rows_add_up(m: &serde_json::Value) -> &serde_json::Value {
    let r = &m["rows"];
    assert_eq!(
        u(&r["in"]),
        u(&r["out"]) + u(&r["filtered"]) + u(&r["rejected"]) + u(&r["suppressed"]),
        "rows do not add up: {r}"
    );
    r
}

/// Class sizes in the extract over `qis` (values cast to text, nulls as `None`).
fn extract_classes(e: &Extract, qis: &[&str]) -> HashMap<Vec<Option<String>>, u64> {
    let cols: Vec<Vec<Option<String>>> = qis.iter().map(|q| e.strings(q)).collect();
    let mut classes = HashMap::new();
    for row in 0..e.rows() {
        let key: Vec<Option<String>> = cols.iter().map(|c| c[row].clone()).collect();
        *classes.entry(key).or_insert(0) += 1;
    }
    classes
}

/// Runs `minex run` with the TEST key into `dir/out/extract.parquet`.
fn run_into(dir: &Path, policy: &Path, input: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let key = dir.join("test.key");
    if !key.exists() {
        write_key_file(dir);
    }
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("extract.parquet");
    (minex_run(policy, &[input], &out, &key, extra), out)
}

/// `minex verify` of an extract made by [`run_into`], with the input and the TEST key.
fn verify_cli(dir: &Path, policy: &Path, input: &Path, extract: &Path) -> Output {
    run_cmd(
        minex_cmd()
            .arg("verify")
            .arg("--policy")
            .arg(policy)
            .arg("--extract")
            .arg(extract)
            .arg("--input")
            .arg(input)
            .arg("--key-file")
            .arg(dir.join("test.key")),
    )
}

/// A variant of the small policy, with `k_anonymity` options appended or replaced.
fn small_policy_with(dir: &Path, name: &str, on_violation: &str, max: Option<&str>) -> PathBuf {
    let mut text = std::fs::read_to_string(small_policy()).unwrap().replace(
        "on_violation: suppress",
        &format!("on_violation: {on_violation}"),
    );
    if let Some(m) = max {
        text.push_str(&format!("  max_suppression: {m}\n"));
    }
    write(dir, name, text)
}

#[test]
fn hand_checked_register_suppresses_exactly_the_small_classes() {
    let dir = tempdir();
    let (out, extract) = run_into(dir.path(), &small_policy(), &small_csv(), &[]);
    out.expect_code(0);

    // Exactly classes D, E, F and G (r08 to r26) survive.
    let e = read_parquet(&extract);
    let ids: BTreeSet<String> = non_null(&e.strings("row_id")).into_iter().collect();
    assert_eq!(ids, range_ids(8, 26));
    assert_eq!(e.rows(), 19);
    let mut sizes: Vec<u64> = extract_classes(&e, &["postal_code", "gender", "date_of_birth"])
        .into_values()
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![3, 4, 5, 7]);
    // The gate counted the generalized values: r04, r08, r12, r16, r20 and r24 spell the
    // postal code with a space, and every row has its own birth date.
    assert!(
        e.strings("postal_code")
            .iter()
            .flatten()
            .all(|p| p.len() == 3)
    );

    let m = manifest_of(&extract);
    let r = rows_add_up(&m);
    assert_eq!(u(&r["in"]), 26);
    assert_eq!(u(&r["out"]), 19);
    assert_eq!(u(&r["filtered"]), 1);
    assert_eq!(u(&r["rejected"]), 1);
    assert_eq!(u(&r["suppressed"]), 5);

    let k = &m["k_anonymity"];
    assert_eq!(
        k["quasi_identifiers"],
        serde_json::json!(["postal_code", "gender", "date_of_birth"])
    );
    assert_eq!(u(&k["k"]), 3);
    assert_eq!(u(&k["smallest_class"]), 3);
    assert_eq!(u(&k["classes"]), 4);
    assert_eq!(u(&k["suppressed"]), 5);
    assert_figure(&k["max_prosecutor_risk"], 1.0 / 3.0, "max_prosecutor_risk");
    assert_figure(&k["avg_prosecutor_risk"], 4.0 / 19.0, "avg_prosecutor_risk");
    // 24 rows reached the gate (r06 was filtered, r07 rejected), 5 of them in classes below k.
    assert_figure(
        &k["share_below_k_before"],
        5.0 / 24.0,
        "share_below_k_before",
    );
    assert_eq!(u(&k["classes_before"]), 7);
    // Sizes 3, 4, 5 fall in the bucket 3-5, size 7 in 6-8.
    let want: BTreeMap<String, u64> = [("3-5".to_string(), 3), ("6-8".to_string(), 1)].into();
    assert_eq!(histogram(k), want);

    // `minex verify` agrees: every class of the extract has at least k rows.
    let v = verify_cli(dir.path(), &small_policy(), &small_csv(), &extract);
    v.expect_code(0);
    assert!(
        v.stderr
            .contains("PASS k_anonymity: 4 classes over (postal_code, gender, date_of_birth), smallest 3, 0 below k = 3"),
        "{}",
        v.stderr
    );
}

#[test]
fn suppression_is_the_same_for_any_batch_size_and_thread_count() {
    let dir = tempdir();
    for (i, (batch, threads)) in [("1", "1"), ("4", "2"), ("5", "3")].iter().enumerate() {
        let d = dir.path().join(format!("run{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let (out, extract) = run_into(
            &d,
            &small_policy(),
            &small_csv(),
            &["--batch-size", batch, "--threads", threads],
        );
        out.expect_code(0);
        let e = read_parquet(&extract);
        let ids: BTreeSet<String> = non_null(&e.strings("row_id")).into_iter().collect();
        assert_eq!(ids, range_ids(8, 26), "batch size {batch}");
        let m = manifest_of(&extract);
        assert_eq!(u(&m["rows"]["suppressed"]), 5, "batch size {batch}");
        assert_eq!(
            u(&m["k_anonymity"]["classes_before"]),
            7,
            "batch size {batch}"
        );
    }
}

#[test]
fn on_violation_fail_writes_nothing() {
    let dir = tempdir();
    let policy = small_policy_with(dir.path(), "fail.yaml", "fail", None);
    let (out, _) = run_into(dir.path(), &policy, &small_csv(), &[]);
    out.expect_code(7);
    assert!(out.stderr.contains("k = 3"), "{}", out.stderr);
    assert_eq!(list_dir(&dir.path().join("out")), Vec::<String>::new());
    // The error counts rows; it never names a value.
    for pnr in csv_column(&small_csv(), "personnummer") {
        assert!(!out.stderr.contains(&pnr) && !out.stdout.contains(&pnr));
    }
}

#[test]
fn on_violation_fail_passes_when_every_class_is_large_enough() {
    let dir = tempdir();
    // Only classes D, E, F and G (rows r08 to r26) and the filtered and rejected rows.
    let text = std::fs::read_to_string(small_csv()).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !["r01,", "r02,", "r03,", "r04,", "r05,"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    let input = write(dir.path(), "big_classes.csv", kept.join("\n") + "\n");
    let policy = small_policy_with(dir.path(), "fail.yaml", "fail", None);
    let (out, extract) = run_into(dir.path(), &policy, &input, &[]);
    out.expect_code(0);
    let m = manifest_of(&extract);
    assert_eq!(u(&m["rows"]["suppressed"]), 0);
    assert_eq!(u(&m["rows"]["out"]), 19);
    assert_eq!(u(&m["k_anonymity"]["classes"]), 4);
    assert_figure(
        &m["k_anonymity"]["share_below_k_before"],
        0.0,
        "share_below_k_before",
    );

    // `max_suppression: 0` allows a run that suppresses nothing.
    let zero = dir.path().join("zero");
    std::fs::create_dir_all(&zero).unwrap();
    let policy = small_policy_with(&zero, "max0.yaml", "suppress", Some("0"));
    let (out, extract) = run_into(&zero, &policy, &input, &[]);
    out.expect_code(0);
    assert_eq!(u(&manifest_of(&extract)["rows"]["out"]), 19);
}

#[test]
fn every_class_below_k_writes_an_empty_extract() {
    let dir = tempdir();
    let text = std::fs::read_to_string(small_policy())
        .unwrap()
        .replace("  k: 3\n", "  k: 8\n");
    let policy = write(dir.path(), "k8.yaml", text);
    let (out, extract) = run_into(dir.path(), &policy, &small_csv(), &[]);
    out.expect_code(0);
    assert_eq!(read_parquet(&extract).rows(), 0);
    let m = manifest_of(&extract);
    let r = rows_add_up(&m);
    assert_eq!(u(&r["out"]), 0);
    assert_eq!(u(&r["suppressed"]), 24);
    let k = &m["k_anonymity"];
    assert_eq!(u(&k["smallest_class"]), 0);
    assert_eq!(u(&k["classes"]), 0);
    assert_eq!(u(&k["classes_before"]), 7);
    assert!(k["max_prosecutor_risk"].is_null(), "{k}");
    assert!(k["avg_prosecutor_risk"].is_null(), "{k}");
    assert_figure(&k["share_below_k_before"], 1.0, "share_below_k_before");
    assert_eq!(histogram(k), BTreeMap::new());
    verify_cli(dir.path(), &policy, &small_csv(), &extract).expect_code(0);
}

#[test]
fn max_suppression_below_the_share_fails_and_writes_nothing() {
    // 5 of 24 rows (0.208) are below k.
    let dir = tempdir();
    let policy = small_policy_with(dir.path(), "max.yaml", "suppress", Some("0.2"));
    let (out, _) = run_into(dir.path(), &policy, &small_csv(), &[]);
    out.expect_code(7);
    assert!(out.stderr.contains("max_suppression"), "{}", out.stderr);
    assert_eq!(list_dir(&dir.path().join("out")), Vec::<String>::new());
}

#[test]
fn max_suppression_above_the_share_succeeds() {
    let dir = tempdir();
    let policy = small_policy_with(dir.path(), "max.yaml", "suppress", Some("0.21"));
    let (out, extract) = run_into(dir.path(), &policy, &small_csv(), &[]);
    out.expect_code(0);
    let e = read_parquet(&extract);
    assert_eq!(e.rows(), 19);
    let m = manifest_of(&extract);
    assert_eq!(u(&m["rows"]["suppressed"]), 5);
}

#[test]
fn max_suppression_equal_to_the_share_is_allowed() {
    // Without class E (r11 to r14) 20 rows reach the gate and 5 are below k: a share of
    // exactly 0.25, which `max_suppression: 0.25` allows and 0.24 does not.
    let dir = tempdir();
    let text = std::fs::read_to_string(small_csv()).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !["r11,", "r12,", "r13,", "r14,"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    let input = write(dir.path(), "no_e.csv", kept.join("\n") + "\n");

    let at = dir.path().join("at");
    std::fs::create_dir_all(&at).unwrap();
    let policy = small_policy_with(&at, "max.yaml", "suppress", Some("0.25"));
    let (out, extract) = run_into(&at, &policy, &input, &[]);
    out.expect_code(0);
    let m = manifest_of(&extract);
    let k = &m["k_anonymity"];
    assert_figure(&k["share_below_k_before"], 0.25, "share_below_k_before");
    assert_eq!(u(&k["classes"]), 3);
    assert_eq!(u(&k["classes_before"]), 6);
    assert_figure(&k["avg_prosecutor_risk"], 3.0 / 15.0, "avg_prosecutor_risk");
    let want: BTreeMap<String, u64> = [("3-5".to_string(), 2), ("6-8".to_string(), 1)].into();
    assert_eq!(histogram(k), want);
    let ids: BTreeSet<String> = non_null(&read_parquet(&extract).strings("row_id"))
        .into_iter()
        .collect();
    let mut want_ids = range_ids(8, 10);
    want_ids.extend(range_ids(15, 26));
    assert_eq!(ids, want_ids);

    let below = dir.path().join("below");
    std::fs::create_dir_all(&below).unwrap();
    let policy = small_policy_with(&below, "max.yaml", "suppress", Some("0.24"));
    let (out, _) = run_into(&below, &policy, &input, &[]);
    out.expect_code(7);
    assert_eq!(list_dir(&below.join("out")), Vec::<String>::new());
}

/// splitmix64: a tiny seeded PRNG, so the randomized test needs no crate.
impl Rng {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

const RANDOM_POLICY: &str = "\
version: 1
name: kanon-random
domain: kanon-random
reference_date: 2026-01-01
unknown_columns: error
columns:
  row_id: keep
  postal_code: { type: postal_code, action: truncate, keep: 3 }
  gender: keep
  date_of_birth: { type: date, action: generalize, to: year }
k_anonymity:
  quasi_identifiers: [postal_code, gender, date_of_birth]
  k: {K}
  on_violation: suppress
";

#[test]
fn randomized_registers_match_a_naive_count() {
    let dir = tempdir();
    let (mut total_suppressed, mut total_out, mut total_nulls) = (0, 0, 0);
    for seed in 1..=8u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let rows = 200 + rng.below(200);
        let k = 2 + rng.below(5);
        // Small domains, so classes of every size occur; some values are empty (null).
        let prefixes = &["111", "112", "113", "114"][..1 + rng.below(4) as usize];
        let years = 1 + rng.below(4);
        let mut csv = String::from("row_id,postal_code,gender,date_of_birth\n");
        let mut naive: HashMap<(String, String, u64), Vec<String>> = HashMap::new();
        for i in 0..rows {
            let id = format!("s{seed}r{i}");
            let prefix = if rng.below(30) == 0 {
                String::new()
            } else {
                rng.pick(prefixes).to_string()
            };
            let postal = if prefix.is_empty() {
                String::new()
            } else if rng.below(2) == 0 {
                format!("{prefix}{:02}", rng.below(100))
            } else {
                format!("{prefix} {:02}", rng.below(100))
            };
            let gender = rng.pick(&["M", "F", "F", "M", ""]);
            let year = 1960 + rng.below(years);
            let dob = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
            csv.push_str(&format!("{id},{postal},{gender},{dob}\n"));
            naive
                .entry((prefix, gender.to_string(), year))
                .or_default()
                .push(id);
        }
        let d = dir.path().join(format!("seed{seed}"));
        std::fs::create_dir_all(&d).unwrap();
        let input = write(&d, "register.csv", &csv);
        let policy = write(
            &d,
            "policy.yaml",
            RANDOM_POLICY.replace("{K}", &k.to_string()),
        );
        let batch = ["1", "7", "64", "65536"][rng.below(4) as usize];
        let threads = (1 + rng.below(3)).to_string();
        let (out, extract) = run_into(
            &d,
            &policy,
            &input,
            &["--batch-size", batch, "--threads", &threads],
        );
        out.expect_code(0);
        let ctx = format!("seed {seed}: {rows} rows, k = {k}, batch size {batch}");

        let naive_suppressed: u64 = naive
            .values()
            .filter(|ids| (ids.len() as u64) < k)
            .map(|ids| ids.len() as u64)
            .sum();
        let naive_kept: BTreeSet<String> = naive
            .values()
            .filter(|ids| ids.len() as u64 >= k)
            .flatten()
            .cloned()
            .collect();
        let naive_classes = naive.values().filter(|ids| ids.len() as u64 >= k).count() as u64;

        let e = read_parquet(&extract);
        let classes = extract_classes(&e, &["postal_code", "gender", "date_of_birth"]);
        for (class, n) in &classes {
            assert!(*n >= k, "{ctx}: class {class:?} has {n} rows");
        }
        let ids: BTreeSet<String> = non_null(&e.strings("row_id")).into_iter().collect();
        assert_eq!(ids, naive_kept, "{ctx}");
        total_suppressed += naive_suppressed;
        total_out += ids.len();
        total_nulls += classes
            .keys()
            .filter(|c| c.iter().any(Option::is_none))
            .count();

        let m = manifest_of(&extract);
        let r = rows_add_up(&m);
        assert_eq!(u(&r["in"]), rows, "{ctx}");
        assert_eq!(u(&r["suppressed"]), naive_suppressed, "{ctx}");
        assert_eq!(u(&r["out"]), rows - naive_suppressed, "{ctx}");
        let ki = &m["k_anonymity"];
        assert_eq!(u(&ki["suppressed"]), naive_suppressed, "{ctx}");
        assert_eq!(u(&ki["classes"]), naive_classes, "{ctx}");
        assert_eq!(u(&ki["classes"]), classes.len() as u64, "{ctx}");
        assert_eq!(u(&ki["classes_before"]), naive.len() as u64, "{ctx}");
        assert_figure(
            &ki["share_below_k_before"],
            naive_suppressed as f64 / rows as f64,
            &ctx,
        );
        if naive_classes > 0 {
            let smallest = classes.values().copied().min().unwrap();
            assert_eq!(u(&ki["smallest_class"]), smallest, "{ctx}");
            assert_figure(&ki["max_prosecutor_risk"], 1.0 / smallest as f64, &ctx);
            assert_figure(
                &ki["avg_prosecutor_risk"],
                classes.len() as f64 / e.rows() as f64,
                &ctx,
            );
        }
        assert_eq!(
            histogram(ki).values().sum::<u64>(),
            naive_classes,
            "{ctx}: histogram {}",
            ki["class_size_histogram"]
        );
    }
    // The registers exercised both sides of the gate, and classes with a null in them.
    assert!(total_suppressed > 0 && total_out > 0 && total_nulls > 0);
}

/// The age in whole years at 2026-01-01 of someone born on `yyyymmdd`.
fn age_at_2026(pnr: &str) -> u32 {
    let y: u32 = pnr[..4].parse().unwrap();
    let md: u32 = pnr[4..8].parse().unwrap();
    2026 - y - u32::from(md > 101)
}

/// `M` or `F` by the 9th digit of the 10-digit form (odd for men).
fn sex_of(pnr: &str) -> &'static str {
    if pnr.as_bytes()[10] % 2 == 1 {
        "M"
    } else {
        "F"
    }
}

#[test]
fn derived_quasi_identifiers_from_the_personnummer() {
    let dir = tempdir();
    let all = test_pnrs();
    // `n` distinct TEST numbers born in `year` with sex `sex`.
    let mut used = BTreeSet::new();
    let mut take = |year: &str, sex: &str, n: usize| -> Vec<String> {
        let v: Vec<String> = all
            .iter()
            .filter(|p| p.starts_with(year) && sex_of(p) == sex && !used.contains(*p))
            .step_by(2)
            .take(n)
            .cloned()
            .collect();
        assert_eq!(v.len(), n);
        used.extend(v.iter().cloned());
        v
    };
    // (pnrs, postal code, kept?) over (age_band:10, sex, postal area), k = 3.
    let mut g1 = take("1981", "M", 2);
    g1.extend(take("1984", "M", 2)); // 40-49 M 123: 4 rows, kept
    let g2 = take("1983", "F", 1); // 40-49 F 123: 1 row, suppressed
    let g3 = take("1971", "F", 3); // 50-59 F 123: 3 rows, kept
    let g4 = take("1975", "M", 2); // 50-59 M 456: 2 rows, suppressed
    let g5 = take("1961", "F", 5); // 60-69 F 456: 5 rows, kept
    let groups = [
        (g1, "12345", true),
        (g2, "12399", false),
        (g3, "123 01", true),
        (g4, "45611", false),
        (g5, "45699", true),
    ];
    let mut csv = String::from("personnummer,postal_code\n");
    let mut kept: BTreeMap<String, (String, &str, &str)> = BTreeMap::new();
    for (pnrs, postal, keep) in &groups {
        for p in pnrs {
            // Spell a few of them with a separator, as registers do.
            let spelled = if p.ends_with(['1', '3']) {
                format!("{}-{}", &p[..8], &p[8..])
            } else {
                p.clone()
            };
            csv.push_str(&format!("{spelled},{postal}\n"));
            if *keep {
                let token = expected_token("kanon-derived", "person", p);
                let lo = age_at_2026(p) / 10 * 10;
                kept.insert(token, (format!("{lo}-{}", lo + 9), sex_of(p), &postal[..3]));
            }
        }
    }
    let input = write(dir.path(), "derived.csv", &csv);
    let policy = write(
        dir.path(),
        "derived.yaml",
        "\
version: 1
name: kanon-derived
domain: kanon-derived
reference_date: 2026-01-01
columns:
  personnummer: { type: personnummer, action: tokenize, space: person }
  postal_code: { type: postal_code, action: truncate, keep: 3 }
derive:
  age_band: { from: personnummer, what: age_band:10 }
  sex: { from: personnummer, what: sex }
k_anonymity:
  quasi_identifiers: [age_band, sex, postal_code]
  k: 3
  on_violation: suppress
",
    );
    let (out, extract) = run_into(dir.path(), &policy, &input, &[]);
    out.expect_code(0);

    let e = read_parquet(&extract);
    assert_eq!(e.rows(), 12);
    let tokens = non_null(&e.strings("personnummer"));
    let bands = non_null(&e.strings("age_band"));
    let sexes = non_null(&e.strings("sex"));
    let postals = non_null(&e.strings("postal_code"));
    let mut seen = BTreeSet::new();
    for i in 0..e.rows() {
        let (band, sex, postal) = kept
            .get(&tokens[i])
            .unwrap_or_else(|| panic!("row {i}: a token of a suppressed or unknown person"));
        assert_eq!(&bands[i], band, "row {i}");
        assert_eq!(sexes[i], *sex, "row {i}");
        assert_eq!(postals[i], *postal, "row {i}");
        seen.insert(tokens[i].clone());
    }
    assert_eq!(seen.len(), kept.len());

    let m = manifest_of(&extract);
    let r = rows_add_up(&m);
    assert_eq!(u(&r["in"]), 15);
    assert_eq!(u(&r["suppressed"]), 3);
    let k = &m["k_anonymity"];
    assert_eq!(u(&k["classes"]), 3);
    assert_eq!(u(&k["classes_before"]), 5);
    assert_eq!(u(&k["smallest_class"]), 3);
    assert_figure(
        &k["share_below_k_before"],
        3.0 / 15.0,
        "share_below_k_before",
    );
    assert_figure(&k["avg_prosecutor_risk"], 3.0 / 12.0, "avg_prosecutor_risk");
    let want: BTreeMap<String, u64> = [("3-5".to_string(), 3)].into();
    assert_eq!(histogram(k), want);

    // `minex verify` counts the same classes on the extract independently.
    let v = verify_cli(dir.path(), &policy, &input, &extract);
    v.expect_code(0);
    assert!(v.stderr.contains("PASS k_anonymity"), "{}", v.stderr);
}
