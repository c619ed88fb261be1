//! The extract opens in another tool: pyarrow reads what minex writes, with the schema, row
//! count and key-value metadata that the manifest and the policy promise.
//!
//! Needs Python with pyarrow: `MINEX_PYTHON` names the interpreter (default `python3`). When
//! pyarrow cannot be imported the test is skipped with a loud note, unless `CI` or
//! `MINEX_REQUIRE_PYARROW` is set, in which case it fails.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

use crate::util::*;

const READ_WITH_PYARROW: &str = r#"
import json, sys
import pyarrow.parquet as pq

f = pq.ParquetFile(sys.argv[1])
table = f.read()
meta = {k.decode(): v.decode() for k, v in (f.metadata.metadata or {}).items()}
print(json.dumps({
    "num_rows": f.metadata.num_rows,
    "table_rows": table.num_rows,
    "fields": [[field.name, str(field.type)] for field in f.schema_arrow],
    "metadata": {k: v for k, v in meta.items() if k.startswith("minex.")},
    "personnummer": table.column("personnummer").to_pylist(),
    "guardian_personnummer": table.column("guardian_personnummer").to_pylist(),
    "date_of_birth": table.column("date_of_birth").to_pylist(),
}))
"#;

fn python() -> String {
    std::env::var("MINEX_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether pyarrow can be imported; fails or skips (with a note) as the module docs say.
fn pyarrow_available() -> bool {
    python_has("pyarrow.parquet")
}

/// Whether the Python modules `modules` (comma-separated) can be imported; fails or skips
/// (with a note) as the module docs say.
fn python_has(modules: &str) -> bool {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    let required =
        std::env::var_os("CI").is_some() || std::env::var_os("MINEX_REQUIRE_PYARROW").is_some();
    assert!(
        !required,
        "`{py}` cannot import {modules}, and CI or MINEX_REQUIRE_PYARROW is set: run the test \
         command from the README (it installs them into a virtual environment and sets \
         MINEX_PYTHON), or point MINEX_PYTHON at a Python that has them"
    );
    eprintln!(
        "\n********************************************************************************\n\
         NOTE: interop test SKIPPED: `{py}` cannot import {modules}.\n\
         Install: python3 -m venv .venv && .venv/bin/pip install pyarrow pandas polars duckdb\n\
         then run with MINEX_PYTHON=.venv/bin/python\n\
         ********************************************************************************\n"
    );
    false
}

/// Reads an extract with DuckDB, Polars, pandas and pyarrow and prints, per reader, every
/// column as a list (rows in file order).
const READ_WITH_FOUR_TOOLS: &str = r#"
import json, sys
import duckdb, pandas, polars, pyarrow.parquet as pq

path = sys.argv[1]
arrow = pq.read_table(path)
names = arrow.column_names
def plain(v):
    return None if v is None or v != v else (int(v) if isinstance(v, float) else v)
out = {"pyarrow": {n: arrow.column(n).to_pylist() for n in names}}
rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
cols = list(zip(*rel.fetchall()))
out["duckdb"] = {n: list(c) for n, c in zip(rel.columns, cols)}
pl = polars.read_parquet(path)
out["polars"] = {n: pl[n].to_list() for n in pl.columns}
pd = pandas.read_parquet(path)
out["pandas"] = {n: [plain(v) for v in pd[n].tolist()] for n in pd.columns}
print(json.dumps(out))
"#;

/// What suppliers open the extract with (DuckDB, Polars, pandas) reads every value as pyarrow
/// does, in the default layout (token columns DELTA_LENGTH_BYTE_ARRAY) and with
/// `--plain-encoding`.
#[test]
fn duckdb_polars_and_pandas_read_every_value_of_the_extract() {
    if !python_has("pyarrow.parquet, pandas, polars, duckdb") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 800, 13);
    let policy = schema("school-supplier.yaml");
    let mut by_layout = Vec::new();
    for (name, extra) in [("delta", &[][..]), ("plain", &["--plain-encoding"][..])] {
        let out = d.join(format!("{name}.parquet"));
        minex_run(&policy, &[&input], &out, &key, extra).expect_code(0);
        let py = Command::new(python())
            .arg("-c")
            .arg(READ_WITH_FOUR_TOOLS)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "a reader could not read the {name} extract:\n{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let got: Value = serde_json::from_slice(&py.stdout).unwrap();
        let arrow = &got["pyarrow"];
        assert!(arrow["personnummer"].as_array().unwrap().len() > 750);
        for tool in ["duckdb", "polars", "pandas"] {
            assert_eq!(
                &got[tool], arrow,
                "{tool} reads the {name} extract differently"
            );
        }
        by_layout.push(arrow.clone());
    }
    assert_eq!(
        by_layout[0], by_layout[1],
        "the two layouts hold different values"
    );
}

/// Arrow's name of a type as pyarrow prints it.
fn pyarrow_type(arrow_type: &str) -> &str {
    match arrow_type {
        "Utf8" => "string",
        "Int32" => "int32",
        "Int64" => "int64",
        "Boolean" => "bool",
        "Date32" => "date32[day]",
        other => panic!("no pyarrow name known for {other}"),
    }
}

#[test]
fn pyarrow_reads_the_extract_as_the_manifest_and_policy_say() {
    if !pyarrow_available() {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let key = write_key_file(d);
    let input = register(d, "register.csv", 1_000, 9);
    let policy_path = schema("school-supplier.yaml");
    let out = d.join("school.parquet");
    minex_run(&policy_path, &[&input], &out, &key, &[]).expect_code(0);
    let manifest = read_json(&d.join("school.manifest.json"));

    let py = Command::new(python())
        .arg("-c")
        .arg(READ_WITH_PYARROW)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "pyarrow could not read the extract:\n{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let got: Value = serde_json::from_slice(&py.stdout).unwrap();

    // Rows.
    let rows_out = manifest["rows"]["out"].as_u64().unwrap();
    assert!(rows_out > 950, "{rows_out}");
    assert_eq!(got["num_rows"].as_u64().unwrap(), rows_out);
    assert_eq!(got["table_rows"].as_u64().unwrap(), rows_out);
    assert_eq!(manifest["outputs"][0]["rows"].as_u64().unwrap(), rows_out);

    // Schema: the policy's output columns, in order, with the manifest's types.
    let policy = minex::policy::from_file(&policy_path).unwrap();
    let names: Vec<&str> = got["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(names, policy.output_names());
    for field in got["fields"].as_array().unwrap() {
        let name = field[0].as_str().unwrap();
        let column = manifest["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["output"] == name)
            .unwrap_or_else(|| panic!("`{name}` is not an output in the manifest"));
        assert_eq!(
            field[1].as_str().unwrap(),
            pyarrow_type(column["output_type"].as_str().unwrap()),
            "type of `{name}`"
        );
    }
    let types: Vec<(&str, &str)> = got["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap(), f[1].as_str().unwrap()))
        .collect();
    assert!(types.contains(&("date_of_birth", "int32")), "{types:?}");
    assert!(types.contains(&("personnummer", "string")), "{types:?}");

    // Key-value metadata.
    let meta = &got["metadata"];
    assert_eq!(meta["minex.run_id"], manifest["run_id"]);
    assert_eq!(meta["minex.domain"], manifest["domain"]);
    assert_eq!(meta["minex.domain"], policy.domain.as_str());
    assert_eq!(meta["minex.policy_sha256"], manifest["policy"]["sha256"]);
    assert_eq!(
        meta["minex.policy_sha256"].as_str().unwrap(),
        sha256_file(&policy_path).0
    );
    assert_eq!(meta["minex.version"], manifest["tool"]["version"]);
    let key_ids: Vec<&str> = manifest["key_ids"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(meta["minex.key_ids"].as_str().unwrap(), key_ids.join(","));

    // Values: tokens are 32 lowercase hex characters; birth dates became integer years.
    let is_token = |t: &str| {
        t.len() == 32
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let pnr = got["personnummer"].as_array().unwrap();
    assert_eq!(pnr.len() as u64, rows_out);
    assert!(pnr.iter().all(|v| v.as_str().is_some_and(is_token)));
    let guardians: Vec<&str> = got["guardian_personnummer"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!guardians.is_empty());
    assert!(guardians.iter().all(|t| is_token(t)));
    let years: Vec<i64> = got["date_of_birth"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert!(years.len() as u64 > rows_out * 9 / 10);
    assert!(years.iter().all(|y| (1900..=2026).contains(y)), "{years:?}");
}
