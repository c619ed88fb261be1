//! End-to-end tests of `minex run` and the rest of the command line, against the contract in
//! DESIGN.md: determinism, unlinkability, fail-closed checks, no value in any message or
//! report, atomic output, the manifest, inputs, every action, k-anonymity and the CLI.
//!
//! Every key is a TEST key (`util::TEST_KEY_BYTES`); every identity number comes from
//! Skatteverket's official list of test personnummer, or is one of them with its check digit
//! changed (to make it invalid). Fixtures live in `tests/data/fixtures/`, named after their
//! edge case.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use minex::error::{Category, ErrorKind};
use minex::keys::{KeyRing, Purpose};
use minex::pipeline::{KeySource, RunConfig};
use parquet::arrow::ArrowWriter;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

use crate::util::*;

const SCHOOL_DOMAIN: &str = "skolsystem-ab";

/// An invalid spelling: Skatteverket's test number 19850101-2382 with its check digit changed.
const INVALID_PNR: &str = "19850101-2383";

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Creates `DIR/out/` and returns it.
fn out_dir(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    out
}

/// The manifest path beside `NAME.parquet`.
fn manifest_path(parquet: &Path) -> std::path::PathBuf {
    let name = parquet.file_name().unwrap().to_str().unwrap();
    parquet.with_file_name(name.replace(".parquet", ".manifest.json"))
}

fn rejects_path(parquet: &Path) -> std::path::PathBuf {
    let name = parquet.file_name().unwrap().to_str().unwrap();
    parquet.with_file_name(name.replace(".parquet", ".rejects.csv"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Replaces every occurrence of `from` by `to` (same length) and returns how many there were.
fn replace_bytes(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

fn is_token(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn test_key_hex_matches_its_bytes() {
    assert_eq!(hex::encode(TEST_KEY_BYTES), TEST_KEY_HEX);
}

// ---------------------------------------------------------------------------------------------
// 1. Determinism
// ---------------------------------------------------------------------------------------------

#[test]
fn same_key_domain_and_value_give_the_same_extract_whatever_the_batches_and_threads() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 3_000, 11);
    let policy = schema("school-supplier.yaml");
    let settings: [(&str, &[&str]); 5] = [
        ("a", &["--batch-size", "65536", "--threads", "1"]),
        ("b", &["--batch-size", "65536", "--threads", "1"]),
        ("c", &["--batch-size", "7", "--threads", "2"]),
        ("d", &["--batch-size", "7", "--threads", "1"]),
        ("e", &["--batch-size", "65536", "--threads", "2"]),
    ];
    let mut outs = Vec::new();
    for (name, extra) in settings {
        std::fs::create_dir(d.join(name)).unwrap();
        let out = d.join(name).join("school.parquet");
        minex_run(&policy, &[&input], &out, &key, extra).expect_code(0);
        outs.push(out);
    }

    let first = read_parquet(&outs[0]);
    assert!(first.rows() > 2_900, "{} rows", first.rows());
    let tokens = non_null(&first.strings("personnummer"));
    assert!(tokens.iter().all(|t| is_token(t)));
    let first_bytes = std::fs::read(&outs[0]).unwrap();
    let first_id = first.metadata["minex.run_id"].clone();
    let first_arrow = first.metadata["ARROW:schema"].clone();
    let mut first_meta = first.metadata.clone();
    first_meta.remove("minex.run_id");
    // The Arrow schema stored in the file carries the `minex.*` pairs too (run id included).
    first_meta.remove("ARROW:schema");
    let first_manifest = read_json(&manifest_path(&outs[0]));
    assert_eq!(first_manifest["run_id"].as_str().unwrap(), first_id);

    for (out, (name, _)) in outs.iter().zip(settings).skip(1) {
        let other = read_parquet(out);
        // Every column value, every type.
        assert_eq!(other.schema, first.schema, "run {name}");
        assert_eq!(other.batch, first.batch, "run {name}: the data differ");
        // The metadata differ only by the run id.
        let id = other.metadata["minex.run_id"].clone();
        assert_ne!(id, first_id, "run {name}: run ids must be fresh");
        let mut meta = other.metadata.clone();
        meta.remove("minex.run_id");
        let arrow = meta.remove("ARROW:schema").unwrap();
        assert_eq!(meta, first_meta, "run {name}");
        // And so do the bytes: with the run id swapped (in the footer and in the stored Arrow
        // schema), the files are identical.
        let mut bytes = std::fs::read(out).unwrap();
        assert_eq!(
            replace_bytes(&mut bytes, arrow.as_bytes(), first_arrow.as_bytes()),
            1,
            "run {name}: the stored Arrow schema should appear once"
        );
        assert_eq!(
            replace_bytes(&mut bytes, id.as_bytes(), first_id.as_bytes()),
            1,
            "run {name}: the run id should appear once in the file"
        );
        assert!(
            bytes == first_bytes,
            "run {name}: the extract's bytes differ by more than `minex.run_id`"
        );
        // The manifests agree on everything but the run, its times and the output digest.
        let mut m = read_json(&manifest_path(out));
        let mut f = first_manifest.clone();
        for j in [&mut m, &mut f] {
            for k in ["run_id", "started", "finished", "seconds"] {
                j[k] = Value::Null;
            }
            for o in j["outputs"].as_array_mut().unwrap() {
                o["sha256"] = Value::Null;
                o["path"] = Value::Null;
            }
        }
        assert_eq!(m, f, "run {name}: the manifests differ");
        // The rejects report (malformed numbers in the register) is the same too.
        assert!(u(&m["rows"]["rejected"]) > 0);
        assert_eq!(
            std::fs::read(rejects_path(out)).unwrap(),
            std::fs::read(rejects_path(&outs[0])).unwrap(),
            "run {name}: the rejects reports differ"
        );
    }
}

/// The same on an input of several read buffers (2 MiB each) and Parquet pages: where
/// batches end must not depend on which thread finished first or on buffer reuse.
#[test]
fn a_multi_buffer_input_gives_the_same_bytes_whatever_the_threads_and_batches() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 40_000, 3);
    assert!(std::fs::metadata(&input).unwrap().len() > 5 << 20);
    let policy = schema("school-supplier.yaml");
    let mut files = Vec::new();
    for (name, extra) in [
        ("a", &["--threads", "1"][..]),
        ("b", &["--threads", "2"][..]),
        ("c", &["--threads", "2"][..]),
        ("d", &["--threads", "2", "--batch-size", "1000"][..]),
    ] {
        std::fs::create_dir(d.join(name)).unwrap();
        let out = d.join(name).join("school.parquet");
        minex_run(&policy, &[&input], &out, &key, extra).expect_code(0);
        let run_id = read_json(&manifest_path(&out))["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut bytes = std::fs::read(&out).unwrap();
        assert_eq!(
            replace_bytes(&mut bytes, run_id.as_bytes(), &[b'0'; 32][..run_id.len()]),
            1
        );
        // The stored Arrow schema holds the run id too, base64-encoded: blank it.
        let arrow = read_parquet(&out).metadata["ARROW:schema"].clone();
        assert_eq!(
            replace_bytes(&mut bytes, arrow.as_bytes(), &vec![b'0'; arrow.len()]),
            1
        );
        files.push((name, bytes));
    }
    for (name, bytes) in &files[1..] {
        assert!(
            *bytes == files[0].1,
            "run {name}: the extract differs from run a"
        );
    }
}

/// Token columns are DELTA_LENGTH_BYTE_ARRAY by default and PLAIN with `--plain-encoding`;
/// the values read back are the same either way, and other columns keep their dictionary.
#[test]
fn token_columns_are_delta_length_encoded_unless_plain_is_asked_for() {
    use parquet::basic::Encoding;
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 2_000, 5);
    let policy = schema("school-supplier.yaml");
    let mut extracts = Vec::new();
    for (name, extra) in [("delta", &[][..]), ("plain", &["--plain-encoding"][..])] {
        std::fs::create_dir(d.join(name)).unwrap();
        let out = d.join(name).join("school.parquet");
        minex_run(&policy, &[&input], &out, &key, extra).expect_code(0);
        let reader = SerializedFileReader::new(File::open(&out).unwrap()).unwrap();
        let meta = reader.metadata();
        let encodings = |column: &str| -> Vec<Encoding> {
            let rg = meta.row_group(0);
            let i = (0..rg.num_columns())
                .find(|i| rg.column(*i).column_path().string() == column)
                .unwrap();
            rg.column(i).encodings().collect()
        };
        for token_column in ["personnummer", "guardian_personnummer"] {
            let e = encodings(token_column);
            assert_eq!(
                e.contains(&Encoding::DELTA_LENGTH_BYTE_ARRAY),
                name == "delta",
                "{name} {token_column}: {e:?}"
            );
            assert_eq!(
                e.contains(&Encoding::PLAIN),
                name == "plain",
                "{name}: {e:?}"
            );
        }
        assert!(
            encodings("city").contains(&Encoding::RLE_DICTIONARY),
            "{name}: city keeps its dictionary"
        );
        extracts.push(read_parquet(&out));
    }
    assert_eq!(extracts[0].schema, extracts[1].schema);
    assert_eq!(extracts[0].batch, extracts[1].batch);
}

// ---------------------------------------------------------------------------------------------
// 2. Unlinkability
// ---------------------------------------------------------------------------------------------

#[test]
fn two_domains_share_no_token() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 2_000, 3);
    let text = schema_text("school-supplier.yaml");
    let other = text.replace("domain: skolsystem-ab", "domain: annan-leverantor-ab");
    assert_ne!(
        other, text,
        "the example policy no longer names its domain as expected"
    );
    let policy_b = write(d, "other-domain.yaml", &other);

    let out_a = d.join("a.parquet");
    let out_b = d.join("b.parquet");
    minex_run(
        &schema("school-supplier.yaml"),
        &[&input],
        &out_a,
        &key,
        &[],
    )
    .expect_code(0);
    minex_run(&policy_b, &[&input], &out_b, &key, &[]).expect_code(0);

    let tokens = |p: &Path| -> (HashSet<String>, usize) {
        let e = read_parquet(p);
        let mut all: Vec<String> = non_null(&e.strings("personnummer"));
        all.extend(non_null(&e.strings("guardian_personnummer")));
        let n = all.len();
        (all.into_iter().collect(), n)
    };
    let (a, na) = tokens(&out_a);
    let (b, nb) = tokens(&out_b);
    assert!(na > 2_000 && na == nb, "{na} {nb}");
    assert_eq!(a.len(), b.len());
    assert!(
        a.is_disjoint(&b),
        "{} tokens in common between two domains",
        a.intersection(&b).count()
    );
    // Same rows, same everything else.
    let ea = read_parquet(&out_a);
    let eb = read_parquet(&out_b);
    assert_eq!(ea.strings("school"), eb.strings("school"));
    assert_ne!(ea.metadata["minex.key_ids"], eb.metadata["minex.key_ids"]);
    assert_eq!(eb.metadata["minex.domain"], "annan-leverantor-ab");
}

#[test]
fn guardian_and_person_in_the_same_space_share_tokens() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("school.parquet");
    minex_run(
        &schema("school-supplier.yaml"),
        &[&fixture("guardian_in_register.csv")],
        &out,
        &key,
        &[],
    )
    .expect_code(0);
    let e = read_parquet(&out);
    let p = e.strings("personnummer");
    let g = e.strings("guardian_personnummer");
    assert_eq!(e.rows(), 4);
    // Row 1's guardian is row 2; row 4's guardian (spelled with a dash) is row 3.
    assert_eq!(g[0], p[1]);
    assert_eq!(g[3], p[2]);
    assert_eq!(g[1], None);
    assert_eq!(g[2], None);
    assert_ne!(p[1], p[2]);
    // And the token is the contract's: HMAC in domain `skolsystem-ab`, space `person`.
    assert_eq!(
        p[1].as_deref(),
        Some(expected_token(SCHOOL_DOMAIN, "person", "198501012382").as_str())
    );
    assert_eq!(
        g[3].as_deref(),
        Some(expected_token(SCHOOL_DOMAIN, "person", "198701012398").as_str())
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Fail closed
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_column_stops_the_run_and_writes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d);
    let o = minex_run(
        &schema("school-supplier.yaml"),
        &[&fixture("unknown_column.csv")],
        &out.join("school.parquet"),
        &key,
        &[],
    );
    o.expect_code(3);
    assert!(o.stderr.contains("`shoe_size`"), "{}", o.stderr);
    assert!(o.stderr.contains("1 problem"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn every_schema_problem_is_listed_at_once() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d);
    let o = minex_run(
        &schema("school-supplier.yaml"),
        &[&fixture("unknown_and_missing_columns.csv")],
        &out.join("school.parquet"),
        &key,
        &[],
    );
    o.expect_code(3);
    for name in ["`shoe_size`", "`hair_colour`", "`school`"] {
        assert!(
            o.stderr.contains(name),
            "{name} missing from:\n{}",
            o.stderr
        );
    }
    assert!(o.stderr.contains("3 problems"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn missing_key_stops_the_run_and_writes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let input = register(d, "register.csv", 50, 1);
    let out = out_dir(d);
    // No `--key-file`, and `minex_cmd` removes `MINEX_KEY`.
    let o = minex([
        "run".as_ref(),
        "--policy".as_ref(),
        schema("school-supplier.yaml").as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        out.join("school.parquet").as_os_str(),
    ]);
    o.expect_code(6);
    assert!(o.stderr.contains("MINEX_KEY"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn key_from_the_environment_gives_the_same_tokens_as_the_key_file() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = fixture("guardian_in_register.csv");
    let a = d.join("a.parquet");
    let b = d.join("b.parquet");
    minex_run(&schema("school-supplier.yaml"), &[&input], &a, &key, &[]).expect_code(0);
    run_cmd(
        minex_cmd()
            .env("MINEX_KEY", TEST_KEY_HEX)
            .arg("run")
            .arg("--policy")
            .arg(schema("school-supplier.yaml"))
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(&b),
    )
    .expect_code(0);
    assert_eq!(read_parquet(&a).batch, read_parquet(&b).batch);
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file_mode(d, "open.key", 0o644);
    let input = register(d, "register.csv", 50, 1);
    let out = out_dir(d);
    let o = minex_run(
        &schema("school-supplier.yaml"),
        &[&input],
        &out.join("school.parquet"),
        &key,
        &[],
    );
    o.expect_code(6);
    assert!(o.stderr.contains("644"), "{}", o.stderr);
    assert!(!o.stderr.contains(TEST_KEY_HEX));
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// 4. No value shown
// ---------------------------------------------------------------------------------------------

/// The spellings of the invalid number and the other cells of its row.
const LEAKS_ROW3: &[&str] = &[
    INVALID_PNR,
    "198501012383",
    "8501012383",
    "Zebulonia",
    "Kvarnbyholm",
];

#[test]
fn invalid_value_with_on_invalid_fail_is_located_but_never_shown() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d);
    let o = minex_run(
        &fixture("invalid_personnummer_fail.yaml"),
        &[&fixture("invalid_personnummer_row3.csv")],
        &out.join("x.parquet"),
        &key,
        &[],
    );
    o.expect_code(4);
    let all = format!("{}\n{}", o.stdout, o.stderr);
    assert!(
        all.contains("row 3, column `personnummer`"),
        "the error must name row 3 and the column:\n{all}"
    );
    for leak in LEAKS_ROW3 {
        assert!(!all.contains(leak), "the output shows `{leak}`:\n{all}");
    }
    assert!(!all.contains(TEST_KEY_HEX));
    for valid in ["198701012398", "200901012385", "197201079295"] {
        assert!(!all.contains(valid));
        assert!(!all.contains(&expected_token("test-fail", "person", valid)));
    }
    assert!(
        !has_hex_run(&all, 32),
        "something like a token or key:\n{all}"
    );
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn rejects_report_holds_row_numbers_and_reasons_never_values() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d).join("r.parquet");
    let input = fixture("rejected_rows.csv");
    let o = minex_run(&fixture("rejects.yaml"), &[&input], &out, &key, &[]);
    o.expect_code(0);
    assert_eq!(
        list_dir(out.parent().unwrap()),
        ["r.manifest.json", "r.parquet", "r.rejects.csv"]
    );
    let rejects = std::fs::read_to_string(rejects_path(&out)).unwrap();
    let records = parse_csv(&rejects);
    let path = input.display().to_string();
    assert_eq!(
        records,
        vec![
            vec!["input", "row", "column", "reason"],
            vec![path.as_str(), "2", "personnummer", "checksum"],
            vec![path.as_str(), "4", "email", "email"],
        ]
    );
    // No cell of a rejected row appears in the report, the manifest or the terminal.
    let manifest = std::fs::read_to_string(manifest_path(&out)).unwrap();
    let leaks = [
        LEAKS_ROW3[0],
        LEAKS_ROW3[1],
        LEAKS_ROW3[3],
        LEAKS_ROW3[4],
        "zebulonia.q@example.se",
        "197201079295",
        "Ystadina",
        "Fjällbacka-Norra",
        "ystadina@@exempel",
    ];
    for leak in leaks {
        assert!(!rejects.contains(leak), "rejects report shows `{leak}`");
        assert!(!manifest.contains(leak), "manifest shows `{leak}`");
        assert!(!o.stderr.contains(leak) && !o.stdout.contains(leak));
    }
    assert!(!has_hex_run(&rejects, 32));
    let m = read_json(&manifest_path(&out));
    assert_eq!(u(&m["rows"]["rejected"]), 2);
    assert_eq!(u(&m["rows"]["out"]), 2);
    assert_eq!(u(&m["rows"]["rejected_by_reason"]["checksum"]), 1);
    assert_eq!(u(&m["rows"]["rejected_by_reason"]["email"]), 1);
    let rejects_out = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"].as_str().unwrap().ends_with("r.rejects.csv"))
        .expect("the rejects report is listed in the manifest's outputs");
    assert_eq!(u(&rejects_out["rows"]), 2);
    assert_eq!(
        rejects_out["sha256"].as_str().unwrap(),
        sha256_file(&rejects_path(&out)).0
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Atomic output
// ---------------------------------------------------------------------------------------------

const BIG_ROWS: usize = 150_000;

const PNR_CITY_FAIL: &str = "version: 1
name: pnr-city-fail
domain: test-atomic
reference_date: 2026-01-01
columns:
  personnummer: { type: personnummer, action: tokenize, space: person, on_invalid: fail }
  city: keep
";

/// `personnummer,city` with `BIG_ROWS` rows of test numbers; the last one is `last`.
fn big_input(dir: &Path, last: &str) -> std::path::PathBuf {
    let pnrs = test_pnrs();
    let mut csv = String::with_capacity(BIG_ROWS * 22);
    csv.push_str("personnummer,city\n");
    for i in 0..BIG_ROWS - 1 {
        csv.push_str(&pnrs[i % pnrs.len()]);
        csv.push_str(",Uppsala\n");
    }
    csv.push_str(last);
    csv.push_str(",Kvarnbyholm\n");
    write(dir, "big.csv", csv)
}

fn big_config(dir: &Path, input: &Path, out: &Path) -> RunConfig {
    let policy = write(dir, "pnr-city-fail.yaml", PNR_CITY_FAIL);
    let mut cfg = RunConfig::new(
        policy,
        vec![input.to_path_buf()],
        out,
        KeySource::Given(test_key()),
    );
    cfg.read.batch_size = 1_000;
    cfg.threads = Some(2);
    // Small row groups: the writer flushes to the temporary file while the run goes on.
    cfg.row_group_size = 1_000;
    cfg
}

#[test]
fn a_run_that_fails_midway_leaves_nothing_behind() {
    let dir = tempdir();
    let d = dir.path();
    let out = out_dir(d);
    let input = big_input(d, INVALID_PNR);
    let cfg = big_config(d, &input, &out.join("big.parquet"));
    let err = minex::pipeline::run(&cfg).unwrap_err();
    assert_eq!(err.category(), Category::Data);
    assert_eq!(err.category().exit_code(), 4);
    match err.kind() {
        ErrorKind::InvalidValue { location, reason } => {
            assert_eq!(location.row, Some(BIG_ROWS as u64));
            assert_eq!(location.column.as_deref(), Some("personnummer"));
            assert_eq!(*reason, "checksum");
        }
        other => panic!("not an invalid value: {other:?}"),
    }
    assert!(!err.to_string().contains(INVALID_PNR));
    assert_eq!(list_dir(&out), Vec::<String>::new(), "left behind");
}

#[test]
fn the_big_run_does_write_as_it_goes_when_it_succeeds() {
    // The same run with a valid last row: 150 row groups, so the failing run above had
    // flushed most of them to its temporary file before it stopped.
    let dir = tempdir();
    let d = dir.path();
    let out = out_dir(d);
    let input = big_input(d, "19850101-2382");
    let cfg = big_config(d, &input, &out.join("big.parquet"));
    let summary = minex::pipeline::run(&cfg).unwrap();
    assert_eq!(summary.manifest.rows.out, BIG_ROWS as u64);
    let reader = SerializedFileReader::new(File::open(out.join("big.parquet")).unwrap()).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), BIG_ROWS / 1_000);
    assert_eq!(list_dir(&out), ["big.manifest.json", "big.parquet"]);
}

#[test]
fn a_new_run_replaces_the_extract_and_removes_a_stale_rejects_report() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out_d = out_dir(d);
    let out = out_d.join("r.parquet");
    let policy = fixture("rejects.yaml");

    // 1. Two rows rejected: three files.
    minex_run(&policy, &[&fixture("rejected_rows.csv")], &out, &key, &[]).expect_code(0);
    assert_eq!(
        list_dir(&out_d),
        ["r.manifest.json", "r.parquet", "r.rejects.csv"]
    );
    let first_id = read_parquet(&out).metadata["minex.run_id"].clone();

    // 2. A clean input of three rows: the extract is replaced, the old rejects report goes.
    let clean = write(
        d,
        "clean.csv",
        "personnummer,first_name,city,email\n198701012398,Testa,Uppsala,\n200901012385,Testb,Lund,\n197201079295,Testc,Malmö,\n",
    );
    minex_run(&policy, &[&clean], &out, &key, &[]).expect_code(0);
    assert_eq!(list_dir(&out_d), ["r.manifest.json", "r.parquet"]);
    let e = read_parquet(&out);
    assert_eq!(e.rows(), 3);
    let m = read_json(&manifest_path(&out));
    assert_eq!(m["run_id"].as_str().unwrap(), e.metadata["minex.run_id"]);
    assert_ne!(e.metadata["minex.run_id"], first_id);
    assert_eq!(u(&m["rows"]["rejected"]), 0);

    // 3. A failing run leaves the previous set exactly as it was.
    let before: Vec<Vec<u8>> = ["r.manifest.json", "r.parquet"]
        .iter()
        .map(|n| std::fs::read(out_d.join(n)).unwrap())
        .collect();
    let o = minex_run(
        &fixture("invalid_personnummer_fail.yaml"),
        &[&fixture("invalid_personnummer_row3.csv")],
        &out,
        &key,
        &[],
    );
    o.expect_code(4);
    assert_eq!(list_dir(&out_d), ["r.manifest.json", "r.parquet"]);
    let after: Vec<Vec<u8>> = ["r.manifest.json", "r.parquet"]
        .iter()
        .map(|n| std::fs::read(out_d.join(n)).unwrap())
        .collect();
    assert!(before == after, "a failed run changed the previous outputs");
}

// ---------------------------------------------------------------------------------------------
// 6. The manifest adds up and its digests match
// ---------------------------------------------------------------------------------------------

#[test]
fn manifest_adds_up_and_its_digests_match_the_files() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    // The research policy without its `max_suppression`, so that rows are filtered
    // (protected identities), rejected (malformed numbers) and suppressed (k = 5).
    let text = schema_text("research.yaml");
    let policy_text = text.replace("  max_suppression: 0.05\n", "");
    assert_ne!(policy_text, text);
    let policy = write(d, "research.yaml", &policy_text);
    let input = register(d, "register.csv", 3_000, 5);
    let out = out_dir(d).join("research.parquet");
    minex_run(&policy, &[&input], &out, &key, &[]).expect_code(0);

    let m = read_json(&manifest_path(&out));
    let e = read_parquet(&out);
    let rows = &m["rows"];
    let (rin, rout, filtered, rejected, suppressed) = (
        u(&rows["in"]),
        u(&rows["out"]),
        u(&rows["filtered"]),
        u(&rows["rejected"]),
        u(&rows["suppressed"]),
    );
    assert_eq!(rin, 3_000);
    assert_eq!(rin, rout + filtered + rejected + suppressed);
    assert!(
        filtered > 0 && rejected > 0 && suppressed > 0,
        "the test needs every kind of removal: {rows}"
    );
    let sum = |v: &Value| -> u64 { v.as_object().unwrap().values().map(u).sum() };
    assert_eq!(sum(&rows["filtered_by_rule"]), filtered);
    assert_eq!(sum(&rows["rejected_by_reason"]), rejected);
    assert_eq!(u(&rows["filtered_by_rule"]["protected_identity"]), filtered);
    assert_eq!(u(&m["k_anonymity"]["suppressed"]), suppressed);
    assert_eq!(u(&m["k_anonymity"]["k"]), 5);
    assert!(u(&m["k_anonymity"]["smallest_class"]) >= 5);

    // Inputs.
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    let (in_sha, in_bytes) = sha256_file(&input);
    assert_eq!(
        inputs[0]["path"].as_str().unwrap(),
        input.display().to_string()
    );
    assert_eq!(inputs[0]["sha256"].as_str().unwrap(), in_sha);
    assert_eq!(u(&inputs[0]["bytes"]), in_bytes);
    assert_eq!(u(&inputs[0]["rows"]), 3_000);

    // Outputs: the extract, then the rejects report (some numbers are malformed).
    let outputs = m["outputs"].as_array().unwrap();
    let pq = &outputs[0];
    let (out_sha, out_bytes) = sha256_file(&out);
    assert_eq!(pq["path"].as_str().unwrap(), out.display().to_string());
    assert_eq!(pq["sha256"].as_str().unwrap(), out_sha);
    assert_eq!(u(&pq["bytes"]), out_bytes);
    assert_eq!(u(&pq["rows"]), rout);
    assert_eq!(e.rows() as u64, rout);
    assert_eq!(e.footer_rows as u64, rout);
    assert_eq!(u(&pq["columns"]) as usize, e.names().len());
    assert_eq!(
        e.names(),
        [
            "personnummer",
            "postal_code",
            "municipality_code",
            "age_band",
            "sex"
        ]
    );
    let rj = rejects_path(&out);
    assert_eq!(outputs.len(), 2);
    assert_eq!(
        outputs[1]["path"].as_str().unwrap(),
        rj.display().to_string()
    );
    assert_eq!(outputs[1]["sha256"].as_str().unwrap(), sha256_file(&rj).0);
    assert_eq!(u(&outputs[1]["bytes"]), sha256_file(&rj).1);

    // Policy, domain, keys, run id: in the manifest and in the Parquet metadata.
    let (policy_sha, _) = sha256_file(&policy);
    assert_eq!(m["policy"]["sha256"].as_str().unwrap(), policy_sha);
    assert_eq!(m["policy"]["name"], "research-extract");
    assert_eq!(e.metadata["minex.policy_sha256"], policy_sha);
    assert_eq!(e.metadata["minex.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(e.metadata["minex.domain"], "forskning-uu");
    assert_eq!(m["domain"], "forskning-uu");
    assert_eq!(m["reference_date"], "2026-01-01");
    let key_id = KeyRing::new(test_key(), "forskning-uu").key_id(Purpose::Token, "person");
    assert_eq!(key_id.len(), 16);
    let expected_ids: BTreeMap<String, String> =
        [("token/person".to_string(), key_id.clone())].into();
    let ids: BTreeMap<String, String> = serde_json::from_value(m["key_ids"].clone()).unwrap();
    assert_eq!(ids, expected_ids);
    assert_eq!(e.metadata["minex.key_ids"], key_id);
    assert_eq!(e.metadata["minex.run_id"], m["run_id"].as_str().unwrap());
    assert_eq!(m["run_id"].as_str().unwrap().len(), 32);
    assert_eq!(
        m["columns"].as_array().unwrap().len(),
        15,
        "one entry per policy column"
    );

    // No token, key or input value in the manifest.
    let text = std::fs::read_to_string(manifest_path(&out)).unwrap();
    assert!(!text.contains(TEST_KEY_HEX));
    for t in non_null(&e.strings("personnummer")) {
        assert!(!text.contains(&t), "the manifest holds a token");
    }
    for col in [
        "personnummer",
        "email",
        "phone",
        "street_address",
        "case_note",
    ] {
        for v in csv_column(&input, col) {
            if v.chars().count() >= 8 {
                assert!(!text.contains(&v), "the manifest holds a value of `{col}`");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn csv_with_bom_and_semicolons() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("x.parquet");
    minex_run(
        &fixture("pnr_city.yaml"),
        &[&fixture("bom_semicolon.csv")],
        &out,
        &key,
        &["--delimiter", ";"],
    )
    .expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(e.strings("city"), [s("Uppsala"), s("Malmö")]);
    assert_eq!(
        e.strings("personnummer"),
        [
            Some(expected_token("test-inputs", "person", "198501012382")),
            Some(expected_token("test-inputs", "person", "198701012398")),
        ]
    );
}

#[test]
fn csv_quoted_fields_with_commas_and_newlines_and_empty_fields_as_null() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("x.parquet");
    minex_run(
        &fixture("pnr_city_note.yaml"),
        &[&fixture("quoted_commas_newlines.csv")],
        &out,
        &key,
        &[],
    )
    .expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(e.rows(), 2);
    assert_eq!(e.strings("city"), [s("Stockholm, Södermalm"), None]);
    assert_eq!(
        e.strings("note"),
        [s("first line\nsecond line"), s("say \"hi\", twice")]
    );
}

#[test]
fn two_inputs_with_one_header_make_one_extract() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("x.parquet");
    let a = fixture("two_inputs_a.csv");
    let b = fixture("two_inputs_b.csv");
    minex_run(&fixture("pnr_city.yaml"), &[&a, &b], &out, &key, &[]).expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(e.strings("city"), [s("Uppsala"), s("Malmö"), s("Lund")]);
    assert_eq!(
        e.strings("personnummer")[2],
        Some(expected_token("test-inputs", "person", "200901012385"))
    );
    let m = read_json(&manifest_path(&out));
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(u(&inputs[0]["rows"]), 2);
    assert_eq!(u(&inputs[1]["rows"]), 1);
    assert_eq!(inputs[1]["sha256"].as_str().unwrap(), sha256_file(&b).0);
}

#[test]
fn a_header_only_input_is_still_listed_in_the_manifest() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("x.parquet");
    let a = fixture("two_inputs_a.csv");
    let empty = fixture("header_only.csv");
    minex_run(&fixture("pnr_city.yaml"), &[&a, &empty], &out, &key, &[]).expect_code(0);
    let m = read_json(&manifest_path(&out));
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "every input is evidence: {inputs:?}");
    assert_eq!(
        inputs[1]["path"].as_str().unwrap(),
        empty.display().to_string()
    );
    assert_eq!(u(&inputs[1]["rows"]), 0);
    assert_eq!(inputs[1]["sha256"].as_str().unwrap(), sha256_file(&empty).0);

    // A single header-only input: an empty extract, and the input still listed.
    minex_run(&fixture("pnr_city.yaml"), &[&empty], &out, &key, &[]).expect_code(0);
    assert_eq!(read_parquet(&out).rows(), 0);
    let m = read_json(&manifest_path(&out));
    assert_eq!(m["inputs"].as_array().unwrap().len(), 1);
}

#[test]
fn two_inputs_with_different_headers_are_refused() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d);
    let o = minex_run(
        &fixture("pnr_city.yaml"),
        &[
            &fixture("two_inputs_a.csv"),
            &fixture("two_inputs_other_header.csv"),
        ],
        &out.join("x.parquet"),
        &key,
        &[],
    );
    o.expect_code(3);
    assert!(o.stderr.contains("different header"), "{}", o.stderr);
    assert!(o.stderr.contains("`town`"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn parquet_input_with_integer_personnummer_gives_the_csv_tokens() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    // The same three people: 12 digits, 10 digits, and 10 digits with a leading zero
    // (lost in an integer).
    let csv = write(
        d,
        "people.csv",
        "personnummer,city\n198501012382,Uppsala\n19870101-2398,Malmö\n20090101-2385,Lund\n",
    );
    let pq = d.join("people.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("personnummer", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![
                198_501_012_382,
                8_701_012_398,
                901_012_385,
            ])),
            Arc::new(StringArray::from(vec!["Uppsala", "Malmö", "Lund"])),
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(File::create(&pq).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let from_csv = d.join("csv.parquet");
    let from_pq = d.join("pq.parquet");
    minex_run(&fixture("pnr_city.yaml"), &[&csv], &from_csv, &key, &[]).expect_code(0);
    minex_run(&fixture("pnr_city.yaml"), &[&pq], &from_pq, &key, &[]).expect_code(0);
    let a = read_parquet(&from_csv);
    let b = read_parquet(&from_pq);
    assert_eq!(b.rows(), 3);
    assert_eq!(a.batch, b.batch);
    assert_eq!(
        b.strings("personnummer"),
        ["198501012382", "198701012398", "200901012385"].map(|p| Some(expected_token(
            "test-inputs",
            "person",
            p
        )))
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Actions
// ---------------------------------------------------------------------------------------------

#[test]
fn every_action_writes_what_the_design_table_says() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d).join("a.parquet");
    let policy = fixture("all_actions.yaml");
    let o = minex_run(&policy, &[&fixture("all_actions.csv")], &out, &key, &[]);
    o.expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(
        e.names(),
        [
            "personnummer",
            "dob_year",
            "dob_decade",
            "dob_month",
            "dob_band",
            "postal_code",
            "street",
            "city",
            "email",
            "school",
            "note",
            "case_id",
            "moved_on",
            "score",
            "birth_year",
            "sex",
            "age",
            "coordination",
            "band",
        ]
    );
    assert_eq!(e.rows(), 3);

    // tokenize: 32 lowercase hex, the contract's HMAC of the canonical form.
    assert_eq!(
        e.strings("personnummer"),
        ["198501012382", "198701012398", "199001792382"].map(|p| Some(expected_token(
            "test-actions",
            "person",
            p
        )))
    );
    assert!(
        non_null(&e.strings("personnummer"))
            .iter()
            .all(|t| is_token(t))
    );
    // generalize.
    assert_eq!(e.data_type("dob_year"), DataType::Int32);
    assert_eq!(e.strings("dob_year"), [s("1985"), s("1987"), s("1990")]);
    assert_eq!(e.data_type("dob_decade"), DataType::Int32);
    assert_eq!(e.strings("dob_decade"), [s("1980"), s("1980"), s("1990")]);
    assert_eq!(
        e.strings("dob_month"),
        [s("1985-01"), s("1987-06"), s("1990-01")]
    );
    // Ages at 2026-01-01: 41, 38 and 35 (the birthday on 19 January has not come yet).
    assert_eq!(e.strings("dob_band"), [s("40-44"), s("35-39"), s("35-39")]);
    // truncate: of the canonical form for typed columns, by characters.
    assert_eq!(e.strings("postal_code"), [s("752"), s("114"), s("114")]);
    assert_eq!(e.strings("street"), [s("Stor"), s("Å"), s("Kvar")]);
    // keep: as read; typed columns in canonical form.
    assert_eq!(e.strings("city"), [s("Uppsala"), s("Malmö"), s("Lund")]);
    assert_eq!(
        e.strings("email"),
        [s("test.person@example.se"), s("b@example.com"), None]
    );
    assert_eq!(e.data_type("moved_on"), DataType::Date32);
    assert_eq!(e.strings("moved_on"), [s("2020-05-17"), None, None]);
    assert_eq!(e.data_type("score"), DataType::Int64);
    assert_eq!(e.strings("score"), [s("42"), s("-7"), None]);
    // replace: the constant (a null stays null).
    assert_eq!(e.strings("school"), [s("redacted"), None, s("redacted")]);
    // null: a column of nulls, kept for the schema.
    assert_eq!(e.data_type("note"), DataType::Utf8);
    assert!(all_null(&e.batch, "note"));
    // encrypt: base64url text, never the value.
    let enc = e.strings("case_id");
    for c in non_null(&enc) {
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not base64url: {c}"
        );
        assert!(!c.contains("2024"));
    }
    assert_eq!(enc[2], None);
    assert_ne!(enc[0], enc[1]);
    // derive.
    assert_eq!(e.strings("birth_year"), [s("1985"), s("1987"), s("1990")]);
    assert_eq!(e.strings("sex"), [s("F"), s("M"), s("F")]);
    assert_eq!(e.data_type("age"), DataType::Int32);
    assert_eq!(e.strings("age"), [s("41"), s("39"), s("35")]);
    assert_eq!(e.data_type("coordination"), DataType::Boolean);
    assert_eq!(
        e.strings("coordination"),
        [s("false"), s("false"), s("true")]
    );
    assert_eq!(e.strings("band"), [s("40-49"), s("30-39"), s("30-39")]);

    // Row rules (a row counts for the first rule that matches), rejects, on_invalid: null.
    let m = read_json(&manifest_path(&out));
    let rows = &m["rows"];
    assert_eq!(u(&rows["in"]), 8);
    assert_eq!(u(&rows["out"]), 3);
    assert_eq!(u(&rows["filtered"]), 4);
    assert_eq!(u(&rows["filtered_by_rule"]["dead"]), 1);
    assert_eq!(u(&rows["filtered_by_rule"]["gone"]), 2);
    assert_eq!(u(&rows["filtered_by_rule"]["no_city"]), 1);
    assert_eq!(u(&rows["rejected"]), 1);
    assert_eq!(u(&rows["rejected_by_reason"]["checksum"]), 1);
    assert_eq!(u(&rows["suppressed"]), 0);
    let moved = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "moved_on")
        .unwrap();
    assert_eq!(u(&moved["invalid_nulled"]), 1);
    let first_name = m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "first_name")
        .unwrap();
    assert_eq!(first_name["output"], Value::Null);
    assert_eq!(
        parse_csv(&std::fs::read_to_string(rejects_path(&out)).unwrap())[1..],
        [vec![
            fixture("all_actions.csv").display().to_string(),
            "7".into(),
            "personnummer".into(),
            "checksum".into()
        ]]
    );

    // The steward gets the encrypted values back.
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
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout, "row,value\n1,ÄR-2024-001\n2,ÄR-2024-002\n3,\n");
}

#[test]
fn reidentify_refuses_a_token_column() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("a.parquet");
    let policy = fixture("all_actions.yaml");
    minex_run(&policy, &[&fixture("all_actions.csv")], &out, &key, &[]).expect_code(0);
    let r = minex([
        "reidentify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--key-file".as_ref(),
        key.as_os_str(),
        "--extract".as_ref(),
        out.as_os_str(),
        "--column".as_ref(),
        "personnummer".as_ref(),
    ]);
    r.expect_code(2);
    assert!(r.stdout.is_empty());
}

#[test]
fn unquoted_null_works_as_an_action_and_as_on_invalid() {
    // DESIGN.md writes `null` bare, both as an action and as an `on_invalid` choice; YAML
    // reads an unquoted `null` as the null value, which the policy must take as the word.
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = d.join("n.parquet");
    minex_run(
        &fixture("bare_null_action.yaml"),
        &[&fixture("two_inputs_a.csv")],
        &out,
        &key,
        &[],
    )
    .expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(e.rows(), 2);
    assert_eq!(e.data_type("city"), DataType::Utf8);
    assert!(all_null(&e.batch, "city"));

    let input = write(
        d,
        "one_invalid.csv",
        format!("personnummer,city\n198701012398,Uppsala\n{INVALID_PNR},Lund\n"),
    );
    minex_run(
        &fixture("bare_null_on_invalid.yaml"),
        &[&input],
        &out,
        &key,
        &[],
    )
    .expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(
        e.strings("personnummer"),
        [
            Some(expected_token("test-null", "person", "198701012398")),
            None
        ]
    );
    assert_eq!(e.strings("city"), [s("Uppsala"), s("Lund")]);
    let m = read_json(&manifest_path(&out));
    assert_eq!(u(&m["rows"]["rejected"]), 0);
    assert_eq!(u(&m["columns"][0]["invalid_nulled"]), 1);
}

// ---------------------------------------------------------------------------------------------
// 9. k-anonymity
// ---------------------------------------------------------------------------------------------

const K_POLICY: &str = "version: 1
name: k-test
domain: test-k
reference_date: 2026-01-01
rows:
  drop_when:
    - { name: dead, column: status, equals: dead }
columns:
  row_id: keep
  personnummer: { type: personnummer, action: tokenize, space: person }
  region: keep
  band: keep
  status: drop
k_anonymity:
  quasi_identifiers: [region, band]
  k: 3
";

/// Classes (region, band) after the rules: (A,x) 5 rows, (A,y) 3, (B,x) 2 (a third row of it
/// is rejected, so it does not count), (B,y) 1; row 13 (C,z) is filtered first.
const K_CSV: &str = "row_id,personnummer,region,band,status
1,195501142284,A,x,alive
2,195501212137,A,x,alive
3,195501292303,A,y,alive
4,195502052656,A,x,alive
5,195502242687,B,x,alive
6,195502272684,A,y,alive
7,195503071739,A,x,alive
8,195503071796,B,y,alive
9,19850101-2383,B,x,alive
10,197201079295,A,x,alive
11,197201189268,A,y,alive
12,197202039272,B,x,alive
13,197202249285,C,z,dead
";

#[test]
fn k_anonymity_suppresses_exactly_the_small_classes() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let policy = write(d, "k.yaml", K_POLICY);
    let input = write(d, "k.csv", K_CSV);
    let out = out_dir(d).join("k.parquet");
    minex_run(&policy, &[&input], &out, &key, &["--batch-size", "4"]).expect_code(0);
    let e = read_parquet(&out);
    assert_eq!(
        non_null(&e.strings("row_id")),
        ["1", "2", "3", "4", "6", "7", "10", "11"]
    );
    let m = read_json(&manifest_path(&out));
    let rows = &m["rows"];
    assert_eq!(u(&rows["in"]), 13);
    assert_eq!(u(&rows["out"]), 8);
    assert_eq!(u(&rows["filtered"]), 1);
    assert_eq!(u(&rows["rejected"]), 1);
    assert_eq!(u(&rows["suppressed"]), 3);
    let k = &m["k_anonymity"];
    assert_eq!(
        k["quasi_identifiers"],
        serde_json::json!(["region", "band"])
    );
    assert_eq!(u(&k["k"]), 3);
    assert_eq!(u(&k["smallest_class"]), 3);
    assert_eq!(u(&k["classes"]), 2);
    assert_eq!(u(&k["suppressed"]), 3);
    assert_eq!(u(&k["classes_before"]), 4);
    assert!((k["max_prosecutor_risk"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert!((k["avg_prosecutor_risk"].as_f64().unwrap() - 2.0 / 8.0).abs() < 1e-9);
}

#[test]
fn k_anonymity_on_violation_fail_stops_the_run() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let policy = write(d, "k.yaml", format!("{K_POLICY}  on_violation: fail\n"));
    let input = write(d, "k.csv", K_CSV);
    let out = out_dir(d);
    let o = minex_run(&policy, &[&input], &out.join("k.parquet"), &key, &[]);
    o.expect_code(7);
    assert!(o.stderr.contains("3 rows in 2 classes"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

#[test]
fn k_anonymity_max_suppression_is_enforced() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = write(d, "k.csv", K_CSV);
    let out = out_dir(d);
    // 3 of the 11 rows that reach the gate (27 %) would go.
    let tight = write(
        d,
        "tight.yaml",
        format!("{K_POLICY}  max_suppression: 0.2\n"),
    );
    let o = minex_run(&tight, &[&input], &out.join("k.parquet"), &key, &[]);
    o.expect_code(7);
    assert!(o.stderr.contains("max_suppression"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
    let loose = write(
        d,
        "loose.yaml",
        format!("{K_POLICY}  max_suppression: 0.3\n"),
    );
    minex_run(&loose, &[&input], &out.join("k.parquet"), &key, &[]).expect_code(0);
    assert_eq!(read_parquet(&out.join("k.parquet")).rows(), 8);
}

// ---------------------------------------------------------------------------------------------
// 10. The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn keygen_writes_a_private_key_and_never_overwrites() {
    let dir = tempdir();
    let d = dir.path();
    let path = d.join("new.key");
    let o = minex(["keygen".as_ref(), "--out".as_ref(), path.as_os_str()]);
    o.expect_code(0);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 65);
    assert_eq!(bytes[64], b'\n');
    assert!(
        bytes[..64]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key_text = String::from_utf8(bytes[..64].to_vec()).unwrap();
    assert!(!o.stderr.contains(&key_text) && !o.stdout.contains(&key_text));

    let again = minex(["keygen".as_ref(), "--out".as_ref(), path.as_os_str()]);
    assert_ne!(again.code, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the key was changed");
    assert!(!again.stderr.contains(&key_text));

    // Two keys are different.
    let other = d.join("other.key");
    minex(["keygen".as_ref(), "--out".as_ref(), other.as_os_str()]).expect_code(0);
    assert_ne!(std::fs::read(&other).unwrap(), bytes);
}

#[test]
fn check_accepts_a_fitting_pair() {
    let dir = tempdir();
    let d = dir.path();
    let input = register(d, "register.csv", 20, 2);
    for policy in [
        "school-supplier.yaml",
        "social-services.yaml",
        "research.yaml",
    ] {
        let o = minex([
            "check".as_ref(),
            "--policy".as_ref(),
            schema(policy).as_os_str(),
            "--input".as_ref(),
            input.as_os_str(),
        ]);
        o.expect_code(0);
    }
}

#[test]
fn check_lists_every_problem_of_a_bad_policy() {
    let dir = tempdir();
    let d = dir.path();
    let policy = write(
        d,
        "bad.yaml",
        "version: 1
name: bad
domain: test-bad
reference_date: 2026-13-01
colour: blue
columns:
  personnummer: { type: personnummer, action: tokenise }
  city: { action: truncate }
  gender: shred
k_anonymity:
  quasi_identifiers: [city]
  k: 0
",
    );
    let o = minex([
        "check".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--input".as_ref(),
        fixture("two_inputs_a.csv").as_os_str(),
    ]);
    o.expect_code(3);
    for path in [
        "`reference_date`",
        "`colour`",
        "`columns.personnummer.action`",
        "`columns.city.keep`",
        "`columns.gender`",
        "`k_anonymity.k`",
    ] {
        assert!(
            o.stderr.contains(path),
            "{path} missing from:\n{}",
            o.stderr
        );
    }

    // A valid policy that does not fit the input: every mismatch at once, exit 3.
    let o = minex([
        "check".as_ref(),
        "--policy".as_ref(),
        schema("school-supplier.yaml").as_os_str(),
        "--input".as_ref(),
        fixture("unknown_and_missing_columns.csv").as_os_str(),
    ]);
    o.expect_code(3);
    for name in ["`shoe_size`", "`hair_colour`", "`school`"] {
        assert!(
            o.stderr.contains(name),
            "{name} missing from:\n{}",
            o.stderr
        );
    }
}

#[test]
fn demo_writes_an_extract_and_its_manifest() {
    let dir = tempdir();
    let d = dir.path().join("demo");
    let o = minex([
        "demo".as_ref(),
        "--out".as_ref(),
        d.as_os_str(),
        "--rows".as_ref(),
        "2000".as_ref(),
    ]);
    o.expect_code(0);
    let pq = d.join("school-supplier.parquet");
    let m = read_json(&d.join("school-supplier.manifest.json"));
    let e = read_parquet(&pq);
    assert_eq!(u(&m["rows"]["in"]), 2_000);
    assert_eq!(u(&m["rows"]["out"]), e.rows() as u64);
    assert!(e.rows() > 1_900);
    assert_eq!(m["run_id"].as_str().unwrap(), e.metadata["minex.run_id"]);
    assert_eq!(
        m["outputs"][0]["sha256"].as_str().unwrap(),
        sha256_file(&pq).0
    );
    let key_mode = std::fs::metadata(d.join("demo.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o077, 0);
}

/// A CSV cut off inside a quoted field would otherwise pass as a shorter last value.
#[test]
fn a_truncated_csv_ending_inside_quotes_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let out = out_dir(d);
    let policy = write(
        d,
        "p.yaml",
        "version: 1\nname: t\ndomain: test-domain\nreference_date: 2026-01-01\ncolumns:\n  a: keep\n  b: keep\n",
    );
    let input = write(d, "truncated.csv", "a,b\n1,\"Uppsala\n");
    let o = minex_run(&policy, &[&input], &out.join("x.parquet"), &key, &[]);
    o.expect_code(4);
    assert!(o.stderr.contains("truncated"), "{}", o.stderr);
    assert!(!o.stderr.contains("Uppsala"), "{}", o.stderr);
    assert_eq!(list_dir(&out), Vec::<String>::new());
}

/// `--report` on `run` and `verify` writes the self-contained HTML page.
#[test]
fn run_and_verify_write_html_reports() {
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 500, 7);
    let out = d.join("out").join("school.parquet");
    let run_report = d.join("run.html");
    let o = minex_run(
        &schema("school-supplier.yaml"),
        &[&input],
        &out,
        &key,
        &["--report", run_report.to_str().unwrap()],
    );
    o.expect_code(0);
    let manifest = read_json(&d.join("out").join("school.manifest.json"));
    let html = std::fs::read_to_string(&run_report).unwrap();
    assert!(html.contains(manifest["run_id"].as_str().unwrap()));
    assert!(!html.contains("<script"));
    let verify_report = d.join("verify.html");
    let o = minex([
        "verify",
        "--policy",
        schema("school-supplier.yaml").to_str().unwrap(),
        "--extract",
        out.to_str().unwrap(),
        "--report",
        verify_report.to_str().unwrap(),
    ]);
    o.expect_code(0);
    let html = std::fs::read_to_string(&verify_report).unwrap();
    assert!(html.contains("checks passed"), "verdict missing");
}
