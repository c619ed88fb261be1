//! The search over generalization ladders (issue 13), in process: hand-made registers whose
//! optimal node is known (ties broken by suppression, then by the level vector), a seeded
//! randomized comparison with a brute-force reference that transforms the register at every
//! node and counts its classes directly, and l-diversity on hand-checked classes.
//!
//! The reference shares nothing with the search but the transform itself: it builds the
//! policy at each node ([`Policy::at_levels`]), runs [`Transformer::transform`] and groups
//! the output rows by the quasi-identifiers' values.

use std::collections::HashMap;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::array_value_to_string;
use minex_core::{ClassCounts, Gate, Plan, Policy, Transformer};

use crate::util::Rng;

fn batch(columns: &[(&str, Vec<Option<String>>)]) -> RecordBatch {
    crate::util::text_batch(columns)
}

fn owned(v: &[&str]) -> Vec<Option<String>> {
    v.iter()
        .map(|s| (!s.is_empty()).then(|| s.to_string()))
        .collect()
}

/// The gate the search makes for `policy` over `batch`, counted in two partitions merged
/// (as the runner and Spark do).
fn searched(policy: &Policy, batch: &RecordBatch) -> minex_core::Result<Gate> {
    let plan = Plan::new(policy, &batch.schema()).unwrap();
    let tx = Transformer::with_ring(&plan, None).unwrap();
    let half = batch.num_rows() / 2;
    let mut counts = ClassCounts::default();
    for part in [
        batch.slice(0, half),
        batch.slice(half, batch.num_rows() - half),
    ] {
        let mut c = ClassCounts::default();
        tx.count_classes(&part, &mut c).unwrap();
        // Through bytes, as from a Spark executor.
        counts.merge(ClassCounts::from_bytes(&c.to_bytes()).unwrap());
    }
    let gate = Gate::for_policy(policy, counts)?;
    gate.check()?;
    Ok(gate)
}

/// A class of the reference: its rows and, per sensitive column, its distinct values.
type Class = (u64, Vec<Vec<String>>);

/// Every node's suppression, counted directly: the register transformed at that node and
/// its output rows grouped by the quasi-identifiers.
fn brute_force(policy: &Policy, batch: &RecordBatch) -> Vec<(Vec<usize>, u64)> {
    let ka = policy.k_anonymity.as_ref().unwrap();
    let lens: Vec<usize> = policy.ladders().iter().map(|(_, l)| l.len()).collect();
    let mut nodes = vec![vec![]];
    for len in &lens {
        nodes = nodes
            .into_iter()
            .flat_map(|n: Vec<usize>| {
                (0..*len).map(move |lv| {
                    let mut m = n.clone();
                    m.push(lv);
                    m
                })
            })
            .collect();
    }
    nodes
        .into_iter()
        .map(|node| {
            let p = policy.at_levels(&node).unwrap();
            let plan = Plan::new(&p, &batch.schema()).unwrap();
            let tx = Transformer::with_ring(&plan, None).unwrap();
            let out = tx.transform(batch).unwrap().batch;
            let text = |name: &str, row: usize| -> Option<String> {
                let c = out.column_by_name(name).unwrap();
                (!c.is_null(row)).then(|| array_value_to_string(c, row).unwrap())
            };
            let mut classes: HashMap<Vec<Option<String>>, Class> = HashMap::new();
            for row in 0..out.num_rows() {
                let key: Vec<Option<String>> =
                    ka.quasi_identifiers.iter().map(|q| text(q, row)).collect();
                let e = classes
                    .entry(key)
                    .or_insert_with(|| (0, vec![Vec::new(); ka.sensitive.len()]));
                e.0 += 1;
                for (set, s) in e.1.iter_mut().zip(&ka.sensitive) {
                    if let Some(v) = text(s, row)
                        && !set.contains(&v)
                    {
                        set.push(v);
                    }
                }
            }
            let l = ka.l.unwrap_or(0) as usize;
            let suppressed = classes
                .values()
                .filter(|(n, sets)| *n < ka.k || sets.iter().any(|s| s.len() < l))
                .map(|(n, _)| *n)
                .sum();
            (node, suppressed)
        })
        .collect()
}

/// Every node of the gate's evidence that says it passes, or how many rows it suppresses,
/// agrees with the brute force's direct count of that node.
#[track_caller]
fn assert_evidence_agrees(policy: &Policy, batch: &RecordBatch, gate: &Gate, case: usize) {
    let s = gate.search().unwrap();
    let all = brute_force(policy, batch);
    for n in &s.lattice {
        let direct = all.iter().find(|(l, _)| *l == n.levels).unwrap().1;
        if let Some(sup) = n.suppressed {
            assert_eq!(sup, direct, "case {case} node {:?}", n.levels);
        }
        if let Some(pass) = n.passes {
            assert_eq!(pass, direct <= s.budget, "case {case} {:?}", n.levels);
        }
    }
}

/// The choice rule, applied to the reference's figures: within the budget, the smallest
/// height, then the fewest suppressed, then the smallest level vector.
fn reference_choice(policy: &Policy, batch: &RecordBatch) -> Option<(Vec<usize>, u64)> {
    let ka = policy.k_anonymity.as_ref().unwrap();
    let all = brute_force(policy, batch);
    // Rows at the gate: the register at the finest node, none suppressed.
    let plan = Plan::new(policy, &batch.schema()).unwrap();
    let rows = Transformer::with_ring(&plan, None)
        .unwrap()
        .transform(batch)
        .unwrap()
        .batch
        .num_rows() as u64;
    let budget = (ka.max_suppression.unwrap() * rows as f64 * (1.0 + 1e-12)).floor() as u64;
    all.into_iter()
        .filter(|(_, s)| *s <= budget)
        .min_by_key(|(n, s)| (n.iter().sum::<usize>(), *s, n.clone()))
}

const HEAD: &str = "version: 1\nname: search\ndomain: test-search\nreference_date: 2026-01-01\n";

/// Two two-level string ladders; `x` and `y` cut to 2 then 1 characters.
fn two_ladders(k: u64, max: f64) -> Policy {
    Policy::from_yaml(&format!(
        "{HEAD}columns:\n  x: {{ action: truncate, keep: [2, 1] }}\n  y: {{ action: truncate, keep: [2, 1] }}\nk_anonymity:\n  quasi_identifiers: [x, y]\n  k: {k}\n  max_suppression: {max}\n"
    ))
    .unwrap()
}

fn xy(rows: &[(&str, &str)]) -> RecordBatch {
    batch(&[
        ("x", owned(&rows.iter().map(|r| r.0).collect::<Vec<_>>())),
        ("y", owned(&rows.iter().map(|r| r.1).collect::<Vec<_>>())),
    ])
}

#[test]
fn a_tie_in_height_and_suppression_goes_to_the_smaller_level_vector() {
    // [0,1] and [1,0] both make two classes of two; [0,1] comes first in QI order.
    let b = xy(&[("aa", "aa"), ("ab", "aa"), ("aa", "ab"), ("ab", "ab")]);
    let p = two_ladders(2, 0.0);
    let g = searched(&p, &b).unwrap();
    assert_eq!(g.levels(), &[0, 1]);
    assert_eq!(g.rows_below(), 0);
    let s = g.search().unwrap();
    assert_eq!(s.height, 1);
    assert_eq!(s.nodes, 4);
    // [0,0] fails; [0,1], [1,0] and [1,1] pass.
    assert_eq!(s.nodes_passing, 3);
    assert_eq!(reference_choice(&p, &b), Some((vec![0, 1], 0)));
}

#[test]
fn a_tie_in_height_goes_to_the_fewer_suppressed() {
    // [1,0]: (a,aa) (a,ab) (a,ba), two each: 0 suppressed. [0,1]: (aa,a) (ab,a) of two and
    // (aa,b) (ab,b) of one: 2 suppressed, within the budget of floor(0.34 × 6) = 2.
    let b = xy(&[
        ("aa", "aa"),
        ("ab", "aa"),
        ("aa", "ab"),
        ("ab", "ab"),
        ("aa", "ba"),
        ("ab", "ba"),
    ]);
    let p = two_ladders(2, 0.34);
    let g = searched(&p, &b).unwrap();
    assert_eq!(g.levels(), &[1, 0]);
    assert_eq!(g.rows_below(), 0);
    let s = g.search().unwrap();
    assert_eq!(s.budget, 2);
    let at = |l: &[usize]| s.lattice.iter().find(|n| n.levels == l).unwrap().clone();
    assert_eq!(at(&[0, 1]).suppressed, Some(2));
    assert_eq!(at(&[0, 1]).passes, Some(true));
    assert_eq!(at(&[0, 0]).passes, Some(false));
    assert_eq!(reference_choice(&p, &b), Some((vec![1, 0], 0)));
}

#[test]
fn the_least_height_wins_over_fewer_suppressed_rows() {
    // [0,1] and [1,0] leave (ac, ac) alone and suppress it (budget 1); [1,1] puts it with the
    // others and suppresses none, but is higher.
    let b = xy(&[
        ("aa", "aa"),
        ("ab", "aa"),
        ("aa", "ab"),
        ("ab", "ab"),
        ("ac", "ac"),
    ]);
    let p = two_ladders(2, 0.2);
    let g = searched(&p, &b).unwrap();
    assert_eq!(g.levels(), &[0, 1]);
    assert_eq!(g.rows_below(), 1);
    let s = g.search().unwrap();
    let top = s.lattice.iter().find(|n| n.levels == [1, 1]).unwrap();
    assert_eq!(top.suppressed, Some(0));
    assert_eq!(reference_choice(&p, &b), Some((vec![0, 1], 1)));
}

#[test]
fn no_node_within_the_budget_fails_naming_the_best_and_its_suppression() {
    // Three distinct first letters: even [1,1] leaves three classes of one.
    let b = xy(&[("aa", "aa"), ("ba", "ba"), ("ca", "ca")]);
    let p = two_ladders(2, 0.0);
    let e = searched(&p, &b).unwrap_err();
    let m = e.to_string();
    assert_eq!(e.category().exit_code(), 7, "{m}");
    assert!(m.contains("no combination of the ladders' levels"), "{m}");
    assert!(m.contains("x: 1, y: 1 (height 2)"), "{m}");
    assert!(m.contains("would suppress 3 rows"), "{m}");
    // Never a value.
    for v in ["aa", "ba", "ca"] {
        assert!(
            !m.contains(&format!("`{v}`")) && !m.contains(&format!(" {v} ")),
            "{m}"
        );
    }
    assert_eq!(reference_choice(&p, &b), None);
}

#[test]
fn a_policy_without_ladders_is_one_node_and_unchanged() {
    let p = Policy::from_yaml(&format!(
        "{HEAD}columns:\n  x: {{ action: truncate, keep: 1 }}\n  y: keep\nk_anonymity:\n  quasi_identifiers: [x, y]\n  k: 2\n"
    ))
    .unwrap();
    let b = xy(&[("aa", "q"), ("ab", "q"), ("ba", "q")]);
    let g = searched(&p, &b).unwrap();
    assert!(g.search().is_none());
    assert_eq!(g.levels(), &[0, 0]);
    assert_eq!(g.rows_below(), 1);
}

/// A random register: dates over a few decades, postal codes over a few areas, gender,
/// a diagnosis code (sensitive), and some nulls and invalid values (rejected: never at the
/// gate).
fn random_register(rng: &mut Rng, rows: usize) -> RecordBatch {
    let spread_years = 1 + rng.below(40) as i32;
    let areas = 1 + rng.below(30);
    let mut dob = Vec::new();
    let mut postal = Vec::new();
    let mut gender = Vec::new();
    let mut diagnosis = Vec::new();
    for _ in 0..rows {
        let y = 1950 + rng.below(spread_years as u64) as i32;
        let m = 1 + rng.below(12);
        let d = 1 + rng.below(28);
        dob.push(match rng.below(50) {
            0 => None,
            1 => Some("not a date".to_string()),
            _ => Some(format!("{y}-{m:02}-{d:02}")),
        });
        let area = 10 + rng.below(areas) * 7 % 90;
        postal.push(Some(format!("{area}{:03}", rng.below(1000) / 250 * 111)));
        gender.push(Some(["M", "F", "X"][rng.below(3) as usize].to_string()));
        diagnosis.push(match rng.below(8) {
            0 => None,
            n => Some(format!("D{}", n % (1 + rng.below(4)))),
        });
    }
    batch(&[
        ("date_of_birth", dob),
        ("postal_code", postal),
        ("gender", gender),
        ("diagnosis", diagnosis),
    ])
}

fn random_policy(rng: &mut Rng) -> Policy {
    let dob = [
        "[month, year, decade]",
        "[year, decade]",
        "[month, decade]",
        "year",
        "[age_band:5, age_band:10, age_band:20]",
    ][rng.below(5) as usize];
    let postal = ["[3, 2, 1]", "[5, 3, 1]", "[2, 1]", "3", "[4, 2]"][rng.below(5) as usize];
    let qis = [
        "[date_of_birth, postal_code, gender]",
        "[postal_code, date_of_birth]",
    ][rng.below(2) as usize];
    let gender_qi = qis.contains("gender");
    let k = 2 + rng.below(5);
    let max = [0.0, 0.01, 0.05, 0.1, 0.2, 0.5][rng.below(6) as usize];
    let ldiv = if rng.below(3) == 0 {
        format!("  sensitive: [diagnosis]\n  l: {}\n", 2 + rng.below(2))
    } else {
        String::new()
    };
    let text = format!(
        "{HEAD}columns:\n  date_of_birth: {{ type: date, action: generalize, to: {dob} }}\n  postal_code: {{ type: postal_code, action: truncate, keep: {postal} }}\n  gender: {}\n  diagnosis: keep\nk_anonymity:\n  quasi_identifiers: {qis}\n  k: {k}\n  max_suppression: {max}\n{ldiv}",
        if gender_qi { "keep" } else { "drop" }
    );
    Policy::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn the_search_chooses_what_a_brute_force_count_of_every_node_chooses() {
    let mut rng = Rng(0x5EA2_C413);
    let (mut passed, mut failed) = (0, 0);
    for case in 0..60 {
        let rows = 20 + rng.below(400) as usize;
        let b = random_register(&mut rng, rows);
        let p = random_policy(&mut rng);
        let want = reference_choice(&p, &b);
        match (searched(&p, &b), want) {
            (Ok(g), Some((node, suppressed))) => {
                passed += 1;
                assert_eq!(g.levels(), node.as_slice(), "case {case}");
                assert_eq!(g.rows_below(), suppressed, "case {case}");
                // The written extract at the gate's levels has exactly those rows suppressed.
                let plan = Plan::new(&p, &b.schema()).unwrap();
                let tx = Transformer::with_ring(&plan, None).unwrap();
                let out = tx.transform_gated(&b, &g).unwrap();
                assert_eq!(out.suppressed as u64, suppressed, "case {case}");
                // Every node the evidence marks passing or failing agrees with the count.
                if g.search().is_some() {
                    assert_evidence_agrees(&p, &b, &g, case);
                }
            }
            (Err(e), None) => {
                failed += 1;
                assert_eq!(e.category().exit_code(), 7, "case {case}: {e}");
            }
            (got, want) => panic!(
                "case {case}: search {:?}, reference {want:?}\n{p:?}",
                got.map(|g| (g.levels().to_vec(), g.rows_below()))
            ),
        }
    }
    // The cases exercise both outcomes.
    assert!(
        passed >= 20 && failed >= 3,
        "passed {passed}, failed {failed}"
    );
}

#[test]
fn l_diversity_suppresses_classes_with_too_few_distinct_sensitive_values() {
    // Classes over `area`: A has 3 rows with diagnoses {x, y, y} (2 distinct), B has 3 rows
    // {x, x, null} (1 distinct: null is not a value), C has 4 rows {x, y, z, x} (3), D has
    // 1 row (below k = 2).
    let rows = [
        ("A", "x"),
        ("A", "y"),
        ("A", "y"),
        ("B", "x"),
        ("B", "x"),
        ("B", ""),
        ("C", "x"),
        ("C", "y"),
        ("C", "z"),
        ("C", "x"),
        ("D", "q"),
    ];
    let b = batch(&[
        ("area", owned(&rows.iter().map(|r| r.0).collect::<Vec<_>>())),
        (
            "diagnosis",
            owned(&rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        ),
    ]);
    let p = |l: u64| {
        Policy::from_yaml(&format!(
            "{HEAD}columns:\n  area: keep\n  diagnosis: keep\nk_anonymity:\n  quasi_identifiers: [area]\n  k: 2\n  sensitive: [diagnosis]\n  l: {l}\n"
        ))
        .unwrap()
    };
    // l = 2: B fails l (3 rows), D fails k (1 row).
    let g = searched(&p(2), &b).unwrap();
    assert_eq!(g.rows_below(), 4);
    let info = g.info(7);
    let by = info.suppressed_by.unwrap();
    assert_eq!((by.k, by.l), (1, 3));
    let ld = info.l_diversity.unwrap();
    assert_eq!(ld.classes_below_l, 2, "B and D hold one value each: {ld:?}");
    assert_eq!(ld.smallest_distinct, 2, "A holds 2; C is counted up to l");
    assert_eq!(info.classes, 2);
    // What is written: A and C only.
    let plan = Plan::new(&p(2), &b.schema()).unwrap();
    let tx = Transformer::with_ring(&plan, None).unwrap();
    let out = tx.transform_gated(&b, &g).unwrap();
    assert_eq!(out.suppressed, 4);
    let area = out.batch.column_by_name("area").unwrap();
    let written: Vec<String> = (0..area.len())
        .map(|i| array_value_to_string(area, i).unwrap())
        .collect();
    assert_eq!(written, ["A", "A", "A", "C", "C", "C", "C"]);
    // l = 3: only C holds three distinct values.
    let g = searched(&p(3), &b).unwrap();
    assert_eq!(g.rows_below(), 7);
    let by = g.info(4).suppressed_by.unwrap();
    assert_eq!((by.k, by.l), (1, 6));
}

#[test]
fn ladder_rules_are_policy_errors() {
    let bad = |cols: &str, k: &str| {
        Policy::from_yaml(&format!("{HEAD}columns:\n{cols}k_anonymity:\n{k}"))
            .unwrap_err()
            .to_string()
    };
    let qi = "  quasi_identifiers: [d]\n  k: 2\n";
    // No max_suppression.
    let m = bad(
        "  d: { type: date, action: generalize, to: [month, year] }\n",
        qi,
    );
    assert!(m.contains("must set `max_suppression`"), "{m}");
    // A ladder on a column that is not a quasi-identifier.
    let m = bad(
        "  d: { type: date, action: generalize, to: year }\n  p: { action: truncate, keep: [3, 2] }\n",
        &format!("{qi}  max_suppression: 0.05\n"),
    );
    assert!(
        m.contains("not one of `k_anonymity.quasi_identifiers`"),
        "{m}"
    );
    // Levels that are not coarsenings of the one before.
    for to in [
        "[year, month]",
        "[month, age_band:5]",
        "[age_band:5, age_band:7]",
        "[year, year]",
    ] {
        let m = bad(
            &format!("  d: {{ type: date, action: generalize, to: {to} }}\n"),
            &format!("{qi}  max_suppression: 0.05\n"),
        );
        assert!(m.contains("cannot follow"), "{to}: {m}");
    }
    let m = bad(
        "  d: { action: truncate, keep: [2, 3] }\n",
        &format!("{qi}  max_suppression: 0.05\n"),
    );
    assert!(m.contains("cannot follow"), "{m}");
    // Sensitive columns: not quasi-identifiers, and `l` with them.
    let m = bad(
        "  d: { type: date, action: generalize, to: year }\n",
        "  quasi_identifiers: [d]\n  k: 2\n  sensitive: [d]\n  l: 2\n",
    );
    assert!(m.contains("is a quasi-identifier"), "{m}");
    let m = bad(
        "  d: { type: date, action: generalize, to: year }\n  s: keep\n",
        "  quasi_identifiers: [d]\n  k: 2\n  sensitive: [s]\n",
    );
    assert!(m.contains("`sensitive` needs `l:`"), "{m}");
    // Calendar levels by an identity number do not nest (a samordningsnummer may have a
    // year but no month); age bands by one do.
    let m = bad(
        "  p: { type: personnummer, action: generalize, to: [month, year] }\n",
        "  quasi_identifiers: [p]\n  k: 2\n  max_suppression: 0.05\n",
    );
    assert!(m.contains("by an identity number is refused"), "{m}");
    Policy::from_yaml(&format!(
        "{HEAD}columns:\n  p: {{ type: personnummer, action: generalize, to: [age_band:5, age_band:10] }}\nk_anonymity:\n  quasi_identifiers: [p]\n  k: 2\n  max_suppression: 0.05\n"
    ))
    .unwrap();
    let m = Policy::from_yaml(&format!(
        "{HEAD}columns:\n  pnr: {{ type: personnummer, action: drop }}\nderive:\n  b: {{ from: pnr, what: [birth_date, birth_year] }}\nk_anonymity:\n  quasi_identifiers: [b]\n  k: 2\n  max_suppression: 0.05\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(m.contains("cannot follow"), "{m}");
    // l at most 100.
    let m = bad(
        "  d: { type: date, action: generalize, to: year }\n  s: keep\n",
        "  quasi_identifiers: [d]\n  k: 2\n  sensitive: [s]\n  l: 101\n",
    );
    assert!(m.contains("from 1 to 100"), "{m}");
    // A derivation's ladder.
    let text = format!(
        "{HEAD}columns:\n  pnr: {{ type: personnummer, action: drop }}\nderive:\n  age: {{ from: pnr, what: [age_band:5, age_band:10, age_band:20] }}\nk_anonymity:\n  quasi_identifiers: [age]\n  k: 2\n  max_suppression: 0.1\n"
    );
    let p = Policy::from_yaml(&text).unwrap();
    assert_eq!(
        p.ladders(),
        vec![(
            "age".to_string(),
            vec![
                "age_band:5".into(),
                "age_band:10".into(),
                "age_band:20".into()
            ]
        )]
    );
}

/// End to end: no node within the budget stops `minex run` with exit 7 before anything is
/// written, naming the coarsest node and its suppression, never a value.
#[test]
fn minex_run_without_a_passing_node_writes_nothing_and_names_the_best() {
    use crate::util::{minex_run, tempdir, write, write_key_file};
    let dir = tempdir();
    let dates = [
        "1951-02-03",
        "1962-04-05",
        "1973-06-07",
        "1984-08-09",
        "1995-10-11",
    ];
    let mut csv = String::from("date_of_birth,postal_code\n");
    for (i, d) in dates.iter().enumerate() {
        csv.push_str(&format!("{d},{}1234\n", i + 1));
    }
    let input = write(dir.path(), "register.csv", csv);
    let policy = write(
        dir.path(),
        "ladders.yaml",
        format!(
            "{HEAD}columns:\n  date_of_birth: {{ type: date, action: generalize, to: [month, year, decade] }}\n  postal_code: {{ type: postal_code, action: truncate, keep: [3, 1] }}\nk_anonymity:\n  quasi_identifiers: [date_of_birth, postal_code]\n  k: 2\n  max_suppression: 0.2\n"
        ),
    );
    let key = write_key_file(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let o = minex_run(&policy, &[&input], &out_dir.join("x.parquet"), &key, &[]);
    o.expect_code(7);
    let m = &o.stderr;
    assert!(m.contains("no combination of the ladders' levels"), "{m}");
    assert!(
        m.contains("date_of_birth: decade, postal_code: 1 (height 3)"),
        "{m}"
    );
    assert!(m.contains("would suppress 5 rows"), "{m}");
    for v in dates.iter().chain(&["1234", "1950", "19510203"]) {
        assert!(!m.contains(v), "a value in the message: {m}");
    }
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing is written"
    );
}

/// A lattice of 625 nodes (four five-level ladders): above 512 nodes the evidence above the
/// chosen height is inferred by monotonicity. The choice still equals the brute force's, and
/// every node the evidence marks agrees with a direct count.
#[test]
fn a_large_lattice_infers_by_monotonicity_and_still_chooses_the_optimum() {
    let mut rng = Rng(0x1A77_1CE5);
    let mut chosen = 0;
    for case in 0..3 {
        let rows = 800 + rng.below(700) as usize;
        let names = ["a", "b", "c", "d"];
        let columns: Vec<(&str, Vec<Option<String>>)> = names
            .iter()
            .map(|n| {
                // Few first characters, more and more after: coarse levels pass, fine ones do
                // not.
                let spread = 1 + rng.below(2);
                let values = (0..rows)
                    .map(|_| {
                        Some(
                            (0..5u64)
                                .map(|i| char::from(b'0' + rng.below(spread + i) as u8))
                                .collect(),
                        )
                    })
                    .collect();
                (*n, values)
            })
            .collect();
        let b = batch(&columns);
        let p = Policy::from_yaml(&format!(
            "{HEAD}columns:\n{}k_anonymity:\n  quasi_identifiers: [a, b, c, d]\n  k: {}\n  max_suppression: {}\n",
            names
                .iter()
                .map(|n| format!("  {n}: {{ action: truncate, keep: [5, 4, 3, 2, 1] }}\n"))
                .collect::<String>(),
            2 + rng.below(2),
            [0.05, 0.1, 0.3][rng.below(3) as usize]
        ))
        .unwrap();
        let want = reference_choice(&p, &b);
        let g = searched(&p, &b);
        match (&g, &want) {
            (Ok(g), Some((node, suppressed))) => {
                assert_eq!(g.levels(), node.as_slice(), "case {case}");
                assert_eq!(g.rows_below(), *suppressed, "case {case}");
                let s = g.search().unwrap();
                assert_eq!(s.nodes, 625);
                assert_eq!(s.lattice.len(), 625);
                assert_evidence_agrees(&p, &b, g, case);
                assert!(
                    s.nodes_evaluated < 625,
                    "case {case}: monotonicity saved no evaluation: {:?} height {} evaluated {} passing {}",
                    s.levels,
                    s.height,
                    s.nodes_evaluated,
                    s.nodes_passing
                );
                chosen += 1;
            }
            (Err(_), None) => {}
            _ => panic!(
                "case {case}: search {:?}, reference {want:?}",
                g.map(|g| g.levels().to_vec())
            ),
        }
    }
    assert!(chosen >= 2, "only {chosen} of 3 cases had a passing node");
}
