//! The core, in-process: policies applied to record batches built in memory, no files.
//!
//! The known answers of `tests/data/kat.json` through [`Transformer`]; a property check that
//! any split of a batch, and dictionary, view and large-string layouts, give the same rows,
//! tokens, ciphertexts and rejects as the whole plain batch; row rules, `on_invalid`, the
//! k-anonymity gate over merged partition counts; errors that name the column and the row
//! and never a value. Every key is a TEST key.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, LargeStringArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use minex_core::{BatchOutput, ClassCounts, Gate, MasterKey, Plan, Policy, Reject, Transformer};
use serde_json::Value;

/// A TEST key (never a real one).
const TEST_KEY_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";

fn schema_of(names: &[&str]) -> Schema {
    Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    )
}

fn batch(columns: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
    crate::util::text_batch(columns)
}

fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap();
    let s = c.as_string::<i32>();
    (0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect()
}

fn transformer(policy: &str, names: &[&str]) -> (Plan, Transformer) {
    let policy = Policy::from_yaml(policy).unwrap();
    let plan = Plan::new(&policy, &schema_of(names)).unwrap();
    let key = MasterKey::from_hex(TEST_KEY_HEX).unwrap();
    let tx = Transformer::new(&plan, &key).unwrap();
    (plan, tx)
}

/// The API is what other programs (bindings, Spark) need: the transformer moves to and is
/// shared across threads, and clones cheaply.
#[test]
fn transformer_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Transformer>();
    assert_traits::<Gate>();
    assert_traits::<ClassCounts>();
}

/// Tokens and ciphertexts made through a Transformer over an in-memory batch are the
/// known answers of `tests/data/kat.json`, computed independently in Python.
#[test]
fn known_answers_through_the_transformer() {
    let kat: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kat.json"))
            .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for e in kat["entries"].as_array().unwrap() {
        let (domain, space) = (e["domain"].as_str().unwrap(), e["space"].as_str().unwrap());
        let policy = format!(
            "version: 1\nname: kat\ndomain: {domain}\nreference_date: 2026-01-01\ncolumns:\n  \
             t: {{ type: string, action: tokenize, space: {space} }}\n  \
             c: {{ type: string, action: encrypt, space: {space} }}\n"
        );
        let policy = Policy::from_yaml(&policy).unwrap();
        let plan = Plan::new(&policy, &schema_of(&["t", "c"])).unwrap();
        let key = MasterKey::from_hex(e["master_key"].as_str().unwrap()).unwrap();
        let tx = Transformer::new(&plan, &key).unwrap();
        // Only non-empty values: an empty cell is a missing value in a register (null out).
        let vectors: Vec<&Value> = e["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !v["value"].as_str().unwrap().is_empty())
            .collect();
        let values: Vec<Option<&str>> = vectors.iter().map(|v| v["value"].as_str()).collect();
        let out = tx
            .transform(&batch(&[("t", values.clone()), ("c", values)]))
            .unwrap();
        assert_eq!(out.batch.num_rows(), vectors.len());
        let (tokens, ciphers) = (strings(&out.batch, "t"), strings(&out.batch, "c"));
        for (i, v) in vectors.iter().enumerate() {
            assert_eq!(tokens[i].as_deref(), v["token"].as_str(), "token {i}");
            assert_eq!(
                ciphers[i].as_deref(),
                v["ciphertext"].as_str(),
                "ciphertext {i}"
            );
            checked += 1;
        }
        // The key ids the manifest records are the known ones.
        assert_eq!(
            tx.key_ids()[&format!("token/{space}")],
            e["keys"]["token"]["key_id"].as_str().unwrap()
        );
    }
    assert!(checked >= 30, "only {checked} vectors checked");
}

const POLICY: &str = "
version: 1
name: property
domain: test-domain
reference_date: 2026-01-01
columns:
  pnr: { type: personnummer, action: tokenize, space: person, on_invalid: reject }
  mail: { type: email, action: encrypt, space: contact, on_invalid: reject }
  postal_code: { type: postal_code, action: truncate, keep: 3, on_invalid: reject }
  birth_date: { type: date, action: generalize, to: year, on_invalid: null }
  protected: { type: boolean, action: drop }
  note: drop
rows:
  drop_when:
    - name: protected_identity
      column: protected
      equals: 'true'
derive:
  age_band: { from: pnr, what: 'age_band:10' }
";

const COLUMNS: [&str; 6] = [
    "pnr",
    "mail",
    "postal_code",
    "birth_date",
    "protected",
    "note",
];

/// Skatteverket's test numbers, one invalid checksum, messy spellings of everything.
fn messy_rows(n: usize) -> Vec<[Option<String>; 6]> {
    let pnrs = [
        Some("19460823-9986"),
        Some("460823-9986"),
        Some("194608239986"),
        Some("19460823-9987"),
        None,
        Some("19900101-2385"),
        Some(" 199001012385 "),
        Some("bogus"),
    ];
    let mails = [
        Some("A.Person@Example.se"),
        Some("a.person@example.se"),
        None,
        Some("not-an-email"),
    ];
    let postal = [
        Some("414 76"),
        Some("41476"),
        Some("4147"),
        None,
        Some("11122"),
    ];
    let dates = [
        Some("1946-08-23"),
        Some("19900101"),
        Some("1990-02-30"),
        None,
    ];
    let protected = [
        Some("nej"),
        Some("0"),
        Some("JA"),
        Some("false"),
        None,
        Some("x"),
        Some("maybe"),
    ];
    (0..n)
        .map(|i| {
            [
                pnrs[i % pnrs.len()].map(str::to_string),
                mails[(i / 2) % mails.len()].map(str::to_string),
                postal[(i / 3) % postal.len()].map(str::to_string),
                dates[(i / 5) % dates.len()].map(str::to_string),
                protected[(i / 7) % protected.len()].map(str::to_string),
                Some(format!("note {}", i % 3)),
            ]
        })
        .collect()
}

/// One layout of a string column.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Utf8,
    LargeUtf8,
    View,
    Dictionary,
}

fn column(values: &[Option<String>], layout: Layout) -> ArrayRef {
    let v: Vec<Option<&str>> = values.iter().map(|s| s.as_deref()).collect();
    match layout {
        Layout::Utf8 => Arc::new(StringArray::from(v)),
        Layout::LargeUtf8 => Arc::new(LargeStringArray::from(v)),
        Layout::View => Arc::new(StringViewArray::from(v)),
        Layout::Dictionary => Arc::new(v.into_iter().collect::<DictionaryArray<Int32Type>>()),
    }
}

fn rows_batch(rows: &[[Option<String>; 6]], layouts: &[Layout; 6]) -> RecordBatch {
    let arrays: Vec<ArrayRef> = (0..6)
        .map(|c| {
            let values: Vec<Option<String>> = rows.iter().map(|r| r[c].clone()).collect();
            column(&values, layouts[c])
        })
        .collect();
    let fields: Vec<Field> = COLUMNS
        .iter()
        .zip(&arrays)
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Everything an output says, with rows renumbered from `offset` (the split's start).
#[derive(Debug, PartialEq)]
struct Summary {
    batch: RecordBatch,
    rejects: Vec<Reject>,
    filtered: usize,
    suppressed: usize,
    rejected_rows: usize,
}

fn transform_split(
    tx: &Transformer,
    rows: &[[Option<String>; 6]],
    cuts: &[usize],
    layouts: &[Layout; 6],
    gate: Option<&Gate>,
) -> Summary {
    let mut parts: Vec<BatchOutput> = Vec::new();
    let mut starts = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([rows.len()]) {
        let b = rows_batch(&rows[start..end], layouts);
        parts.push(match gate {
            Some(g) => tx.transform_gated(&b, g).unwrap(),
            None => tx.transform(&b).unwrap(),
        });
        starts.push(start);
        start = end;
    }
    let batches: Vec<RecordBatch> = parts.iter().map(|p| p.batch.clone()).collect();
    Summary {
        batch: concat_batches(&tx.schema(), &batches).unwrap(),
        rejects: parts
            .iter()
            .zip(&starts)
            .flat_map(|(p, s)| {
                p.rejects.iter().map(move |r| Reject {
                    row: r.row + s,
                    ..r.clone()
                })
            })
            .collect(),
        filtered: parts.iter().map(|p| p.filtered).sum(),
        suppressed: parts.iter().map(|p| p.suppressed).sum(),
        rejected_rows: parts.iter().map(|p| p.rejected_rows).sum(),
    }
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Property: whatever the split into batches, and whatever the layout of each string column
/// (plain, large, view, dictionary), the rows, tokens, ciphertexts, rejects and counts are
/// those of the whole plain batch.
#[test]
fn any_split_and_any_layout_give_the_same_output() {
    let (_, tx) = transformer(POLICY, &COLUMNS);
    let rows = messy_rows(211);
    let plain = [Layout::Utf8; 6];
    let whole = transform_split(&tx, &rows, &[], &plain, None);
    // The fixture exercises what it should: rules, rejects and nulls all happen.
    assert!(whole.filtered > 0 && whole.rejected_rows > 0, "{whole:?}");
    assert!(whole.batch.num_rows() > 50);
    let reasons: BTreeSet<&str> = whole.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons.contains("checksum") && reasons.contains("email"),
        "{reasons:?}"
    );
    let layouts = [
        Layout::Utf8,
        Layout::LargeUtf8,
        Layout::View,
        Layout::Dictionary,
    ];
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut cuts: Vec<usize> = (0..rng.below(8))
            .map(|_| rng.below(rows.len() + 1))
            .collect();
        cuts.sort_unstable();
        let chosen: [Layout; 6] = std::array::from_fn(|_| layouts[rng.below(layouts.len())]);
        let got = transform_split(&tx, &rows, &cuts, &chosen, None);
        assert_eq!(got, whole, "seed {seed}: cuts {cuts:?}, layouts {chosen:?}");
    }
    // Every column as a dictionary, one batch per row, and all at once.
    let dict = [Layout::Dictionary; 6];
    let each: Vec<usize> = (1..rows.len()).collect();
    assert_eq!(transform_split(&tx, &rows, &each, &dict, None), whole);
    assert_eq!(transform_split(&tx, &rows, &[], &dict, None), whole);
}

/// k-anonymity over partitions: counts merged in any order give one gate, and pass 2 over
/// any split suppresses the same rows as over the whole.
#[test]
fn class_counts_merge_across_partitions_and_the_gate_is_split_independent() {
    let policy = "
version: 1
name: k
domain: test-domain
reference_date: 2026-01-01
columns:
  pnr: { type: personnummer, action: tokenize, space: person, on_invalid: reject }
  mail: drop
  postal_code: { type: postal_code, action: truncate, keep: 2, on_invalid: reject }
  birth_date: { type: date, action: generalize, to: year, on_invalid: null }
  protected: drop
  note: drop
k_anonymity:
  quasi_identifiers: [postal_code, birth_date]
  k: 4
";
    let (plan, tx) = transformer(policy, &COLUMNS);
    let rows = messy_rows(157);
    let plain = [Layout::Utf8; 6];
    let mut whole = ClassCounts::default();
    tx.count_classes(&rows_batch(&rows, &plain), &mut whole)
        .unwrap();
    // Three partitions, merged in reverse.
    let mut parts: Vec<ClassCounts> = [0..40, 40..41, 41..157]
        .into_iter()
        .map(|r| {
            let mut c = ClassCounts::default();
            tx.count_classes(&rows_batch(&rows[r], &[Layout::Dictionary; 6]), &mut c)
                .unwrap();
            c
        })
        .collect();
    let mut merged = ClassCounts::default();
    while let Some(p) = parts.pop() {
        merged.merge(p);
    }
    assert_eq!(merged, whole);
    let gate = Gate::new(&plan, merged).unwrap();
    assert!(gate.rows_below() > 0, "the fixture must have small classes");
    let full = transform_split(&tx, &rows, &[], &plain, Some(&gate));
    assert_eq!(full.suppressed as u64, gate.rows_below());
    assert_eq!(
        full.batch.num_rows() as u64 + full.suppressed as u64,
        gate.rows_at_gate()
    );
    let split = transform_split(&tx, &rows, &[13, 14, 99], &[Layout::View; 6], Some(&gate));
    assert_eq!(split, full);
    let info = gate.info(full.batch.num_rows() as u64);
    assert!(info.smallest_class >= 4);
    assert_eq!(info.suppressed, gate.rows_below());
}

/// Row rules compare canonical values of a typed column: every spelling of true drops the
/// row, an unreadable marker is rejected by its column, and the output never holds them.
#[test]
fn row_rules_and_on_invalid_in_process() {
    let policy = "
version: 1
name: rules
domain: test-domain
reference_date: 2026-01-01
columns:
  pnr: { type: personnummer, action: tokenize, space: person, on_invalid: reject }
  protected: { type: boolean, action: drop }
rows:
  drop_when:
    - name: protected_identity
      column: protected
      equals: 'true'
";
    let (_, tx) = transformer(policy, &["pnr", "protected"]);
    let markers = ["TRUE", "1", "ja", " Ja ", "x", "nej", "0", "kanske"];
    let b = batch(&[
        ("pnr", vec![Some("19460823-9986"); markers.len()]),
        ("protected", markers.iter().map(|m| Some(*m)).collect()),
    ]);
    let out = tx.transform(&b).unwrap();
    assert_eq!(out.filtered, 5);
    assert_eq!(out.filtered_by_rule, vec![5]);
    assert_eq!(
        out.rejects,
        vec![Reject {
            row: 7,
            column: "protected".into(),
            reason: "boolean".into()
        }]
    );
    assert_eq!(out.batch.num_rows(), 2);
    assert_eq!(out.rows_in, 8);
    assert_eq!(
        out.rows_in,
        out.batch.num_rows() + out.filtered + out.rejected_rows + out.suppressed
    );
}

/// An invalid value under `on_invalid: fail` stops with the column and the batch row; the
/// message holds no value, and no token of it.
#[test]
fn errors_name_column_and_row_never_the_value() {
    let policy = "
version: 1
name: fail
domain: test-domain
reference_date: 2026-01-01
columns:
  pnr: { type: personnummer, action: tokenize, space: person, on_invalid: fail }
";
    let (_, tx) = transformer(policy, &["pnr"]);
    let planted = "19460823-9987";
    let b = batch(&[("pnr", vec![Some("19460823-9986"), Some(planted)])]);
    let e = tx.transform(&b).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("row 2") && text.contains("`pnr`"), "{text}");
    assert!(text.contains("checksum"), "{text}");
    assert!(!text.contains("460823") && !text.contains("9987"), "{text}");
    assert_eq!(e.category().exit_code(), 4);
    // A batch without a column the plan reads is refused by name.
    let e = tx
        .transform(&batch(&[("other", vec![Some("x")])]))
        .unwrap_err();
    assert!(e.to_string().contains("`pnr`"), "{e}");
}

/// The plan lists every problem of a schema at once, before any data.
#[test]
fn plan_lists_every_schema_problem_at_once() {
    let policy = Policy::from_yaml(POLICY).unwrap();
    let schema = Schema::new(vec![
        Field::new("pnr", DataType::Utf8, true),
        Field::new("mail", DataType::Float64, true),
        Field::new("extra", DataType::Utf8, true),
    ]);
    let e = Plan::new(&policy, &schema).unwrap_err();
    let text = e.to_string();
    for needle in ["`extra`", "`postal_code`", "`birth_date`", "`mail`"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // And a policy's problems are all reported too.
    let e = Policy::from_yaml("version: 1\nname: x\ncolumns:\n  a: frobnicate\n").unwrap_err();
    assert!(e.to_string().contains("problems"), "{e}");
}

/// `MasterKey::from_hex` trims surrounding whitespace and never echoes a bad key.
#[test]
fn master_key_from_hex_trims_and_never_echoes() {
    let a = MasterKey::from_hex(TEST_KEY_HEX).unwrap();
    let b = MasterKey::from_hex(&format!("  {TEST_KEY_HEX}\r\n")).unwrap();
    assert_eq!(a.as_bytes(), b.as_bytes());
    let bad = format!("{}zz", &TEST_KEY_HEX[..62]);
    let e = MasterKey::from_hex(&bad).unwrap_err().to_string();
    assert!(!e.contains(&bad[..20]), "{e}");
    assert!(MasterKey::from_hex(&TEST_KEY_HEX[..63]).is_err());
}

/// The manifest's action labels are made by `Action::label` and read back by
/// `ActionLabel::parse`, one place each.
#[test]
fn action_labels_round_trip() {
    use minex_core::policy::{Action, ActionLabel, Generalization};
    let actions = [
        (Action::Keep, "keep", None),
        (Action::Drop, "drop", None),
        (Action::Null, "null", None),
        (
            Action::Tokenize {
                space: "person".into(),
            },
            "tokenize",
            Some("person"),
        ),
        (
            Action::Encrypt {
                space: "contact".into(),
            },
            "encrypt",
            Some("contact"),
        ),
        (Action::Truncate { keep: 3 }, "truncate", Some("3")),
        (Action::Replace { with: "x".into() }, "replace", None),
        (
            Action::Generalize(Generalization::from_name("year").unwrap()),
            "generalize",
            Some("year"),
        ),
    ];
    for (action, name, option) in actions {
        let label = action.label();
        let back = ActionLabel::parse(&label);
        assert_eq!((back.name, back.option), (name, option), "{label}");
        assert_eq!(back.name, action.name());
        assert_eq!(back.is_pseudonym(), matches!(name, "tokenize" | "encrypt"));
    }
}

/// Class counts travel as bytes (from Spark executors to the driver) and come back equal;
/// anything else is refused, never misread.
#[test]
fn class_counts_round_trip_through_bytes() {
    let policy = POLICY.replace(
        "derive:",
        "k_anonymity:\n  quasi_identifiers: [postal_code, birth_date]\n  k: 3\nderive:",
    );
    let (plan, tx) = transformer(&policy, &COLUMNS);
    let mut counts = ClassCounts::default();
    tx.count_classes(
        &rows_batch(&messy_rows(97), &[Layout::Utf8; 6]),
        &mut counts,
    )
    .unwrap();
    assert!(counts.classes() > 3);
    let bytes = counts.to_bytes();
    let back = ClassCounts::from_bytes(&bytes).unwrap();
    assert_eq!(back, counts);
    assert_eq!(
        ClassCounts::from_bytes(&ClassCounts::default().to_bytes()).unwrap(),
        ClassCounts::default()
    );
    for bad in [
        &bytes[..bytes.len() - 1],
        &bytes[1..],
        b"MXCLASS1".as_slice(),
        b"",
    ] {
        assert!(ClassCounts::from_bytes(bad).is_err());
    }
    let gate = Gate::new(&plan, back).unwrap();
    let same = Gate::for_policy(&plan.policy, counts).unwrap();
    assert_eq!(gate.rows_below(), same.rows_below());
}

/// A CSV fixture as a batch in memory: every column text, an empty field null (as the CLI's
/// reader makes it).
fn fixture_batch(name: &str) -> RecordBatch {
    let path = format!("{}/tests/data/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::ReaderBuilder::new().from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|c| {
            Arc::new(StringArray::from(
                records
                    .iter()
                    .map(|r| Some(&r[c]).filter(|v| !v.is_empty()))
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    RecordBatch::try_new(
        Arc::new(schema_of(
            &header.iter().map(String::as_str).collect::<Vec<_>>(),
        )),
        columns,
    )
    .unwrap()
}

/// Any column's values as text (nulls as `None`), whatever its type.
fn texts(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap();
    let f = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default()).unwrap();
    (0..c.len())
        .map(|i| (!c.is_null(i)).then(|| f.value(i).to_string()))
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

/// Every action, derivation, row rule and `on_invalid` in process: the design table's values
/// (the same fixture the CLI test runs end to end).
#[test]
fn every_action_in_process_writes_what_the_design_table_says() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/fixtures/all_actions.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let policy = Policy::from_yaml(&text).unwrap();
    let batch = fixture_batch("all_actions.csv");
    let plan = Plan::new(&policy, &batch.schema()).unwrap();
    let tx = Transformer::new(&plan, &crate::util::test_key()).unwrap();
    let out = tx.transform(&batch).unwrap();
    let e = &out.batch;
    assert_eq!(e.num_rows(), 3);
    let token = |p: &str| Some(crate::util::expected_token("test-actions", "person", p));
    assert_eq!(
        texts(e, "personnummer"),
        vec![
            token("198501012382"),
            token("198701012398"),
            token("199001792382")
        ]
    );
    assert_eq!(
        e.schema().field_with_name("dob_year").unwrap().data_type(),
        &DataType::Int32
    );
    assert_eq!(texts(e, "dob_year"), some(&["1985", "1987", "1990"]));
    assert_eq!(texts(e, "dob_decade"), some(&["1980", "1980", "1990"]));
    assert_eq!(
        texts(e, "dob_month"),
        some(&["1985-01", "1987-06", "1990-01"])
    );
    assert_eq!(texts(e, "dob_band"), some(&["40-44", "35-39", "35-39"]));
    assert_eq!(texts(e, "postal_code"), some(&["752", "114", "114"]));
    assert_eq!(texts(e, "street"), some(&["Stor", "Å", "Kvar"]));
    assert_eq!(texts(e, "city"), some(&["Uppsala", "Malmö", "Lund"]));
    assert_eq!(
        texts(e, "email"),
        vec![
            Some("test.person@example.se".into()),
            Some("b@example.com".into()),
            None
        ]
    );
    assert_eq!(
        e.schema().field_with_name("moved_on").unwrap().data_type(),
        &DataType::Date32
    );
    assert_eq!(
        texts(e, "moved_on"),
        vec![Some("2020-05-17".into()), None, None]
    );
    assert_eq!(
        texts(e, "score"),
        vec![Some("42".into()), Some("-7".into()), None]
    );
    assert_eq!(
        texts(e, "school"),
        vec![Some("redacted".into()), None, Some("redacted".into())]
    );
    assert_eq!(texts(e, "note"), vec![None, None, None]);
    let cases = texts(e, "case_id");
    assert!(cases[0].is_some() && cases[1].is_some() && cases[2].is_none());
    assert!(!cases[0].as_ref().unwrap().contains("2024"));
    assert_eq!(texts(e, "birth_year"), some(&["1985", "1987", "1990"]));
    assert_eq!(texts(e, "sex"), some(&["F", "M", "F"]));
    assert_eq!(texts(e, "age"), some(&["41", "39", "35"]));
    assert_eq!(texts(e, "coordination"), some(&["false", "false", "true"]));
    assert_eq!(texts(e, "band"), some(&["40-49", "30-39", "30-39"]));
    // Rules (a row counts for the first that matches), rejects, on_invalid: null.
    assert_eq!((out.rows_in, out.filtered, out.rejected_rows), (8, 4, 1));
    assert_eq!(out.filtered_by_rule, vec![1, 2, 1]);
    assert_eq!(
        out.rejects,
        vec![Reject {
            row: 6,
            column: "personnummer".into(),
            reason: "checksum".into()
        }]
    );
    assert_eq!(out.nulled, vec![("moved_on".to_string(), 1)]);
    // The manifest's labels of these actions, made in one place.
    let labels: Vec<String> = policy.columns.iter().map(|c| c.action.label()).collect();
    assert!(
        labels.contains(&"generalize:age_band:5".to_string()),
        "{labels:?}"
    );
    assert!(labels.contains(&"tokenize:person".to_string()));
}

/// Two recipients (domains) share no token; two columns in one space share them.
#[test]
fn domains_separate_and_spaces_link_in_process() {
    let policy = |domain: &str| {
        format!(
            "version: 1\nname: x\ndomain: {domain}\nreference_date: 2026-01-01\ncolumns:\n  \
             child: {{ type: personnummer, action: tokenize, space: person }}\n  \
             guardian: {{ type: personnummer, action: tokenize, space: person }}\n"
        )
    };
    let b = batch(&[
        ("child", vec![Some("19460823-9986"), Some("19900101-2385")]),
        ("guardian", vec![Some("19900101-2385"), Some("460823-9986")]),
    ]);
    let (_, a) = transformer(&policy("supplier-a"), &["child", "guardian"]);
    let (_, z) = transformer(&policy("supplier-b"), &["child", "guardian"]);
    let (oa, oz) = (
        a.transform(&b).unwrap().batch,
        z.transform(&b).unwrap().batch,
    );
    let (ca, ga) = (strings(&oa, "child"), strings(&oa, "guardian"));
    // The same person as a child and as a guardian: one token within a domain.
    assert_eq!(ca[0], ga[1]);
    assert_eq!(ca[1], ga[0]);
    let tokens_a: BTreeSet<_> = ca.iter().chain(&ga).collect();
    let cz = strings(&oz, "child");
    assert!(cz.iter().all(|t| !tokens_a.contains(t)));
}
