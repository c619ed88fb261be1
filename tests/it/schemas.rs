//! The published policy JSON Schema (`schemas/minex-policy.schema.json`) and the example
//! policies next to it.
//!
//! 1. The schema is valid JSON, a valid draft 2020-12 schema, has its `$id`, and documents
//!    every property (editors show `title`/`description` as hover help).
//! 2. Every `schemas/*.yaml` passes both the schema and `minex::policy::from_file`, names every
//!    column of the synthetic register, and starts with the yaml-language-server comment.
//! 3. Broken policies are rejected by both the schema and the parser, and a few unusual but
//!    valid ones are accepted by both, so the two describe the same language.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

const SCHEMA_ID: &str = "https://minex.invalid/schemas/minex-policy.schema.json";
const MODELINE: &str = "# yaml-language-server: $schema=./minex-policy.schema.json";

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(schemas_dir().join("minex-policy.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).unwrap()
}

/// YAML text as the JSON value an editor's YAML language server checks.
fn yaml_to_json(text: &str) -> Value {
    serde_norway::from_str::<Value>(text).unwrap()
}

/// The schema's complaints about `text`, one per line (empty when it is valid).
fn schema_errors(validator: &jsonschema::Validator, text: &str) -> String {
    let instance = yaml_to_json(text);
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parser_result(text: &str) -> minex::error::Result<minex::policy::Policy> {
    minex::policy::from_str(text, Path::new("inline.yaml"))
}

#[test]
fn schema_file_is_a_draft_2020_12_schema_with_its_id() {
    let schema = schema();
    assert_eq!(schema["$id"], SCHEMA_ID);
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::meta::validate(&schema).unwrap();
    let top = schema["description"].as_str().unwrap();
    assert!(top.contains(&MODELINE[2..]), "{top}");
}

/// Every schema under a `properties` map (at any depth) has a title and a description.
#[test]
fn every_property_is_documented() {
    fn walk(v: &Value, path: &str, checked: &mut usize) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, sub) in props {
                        // `if` schemas and the conditional `then` restate a property only to
                        // constrain it; they carry no documentation of their own.
                        if path.contains("/if") || path.contains("/then") {
                            continue;
                        }
                        *checked += 1;
                        for key in ["title", "description"] {
                            let text = sub.get(key).and_then(Value::as_str).unwrap_or("");
                            assert!(!text.is_empty(), "{path}/properties/{name} has no {key}");
                        }
                    }
                }
                for (k, sub) in map {
                    walk(sub, &format!("{path}/{k}"), checked);
                }
            }
            Value::Array(items) => {
                for (i, sub) in items.iter().enumerate() {
                    walk(sub, &format!("{path}/{i}"), checked);
                }
            }
            _ => {}
        }
    }
    let mut checked = 0;
    walk(&schema(), "#", &mut checked);
    assert!(checked >= 30, "only {checked} properties found");
}

#[test]
fn yaml_dates_come_through_as_strings() {
    let v = yaml_to_json("reference_date: 2026-01-01\nk: 5\nflag: true\n");
    assert_eq!(v["reference_date"], Value::String("2026-01-01".into()));
    assert_eq!(v["k"], 5);
    assert_eq!(v["flag"], true);
}

#[test]
fn every_example_policy_validates_and_loads() {
    let validator = validator();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(schemas_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let shown = path.display();
        assert_eq!(text.lines().next(), Some(MODELINE), "{shown}: first line");

        let errors = schema_errors(&validator, &text);
        assert!(errors.is_empty(), "{shown} fails the schema:\n{errors}");

        let policy = match minex::policy::from_file(path) {
            Ok(p) => p,
            Err(e) => panic!("{shown} fails the parser: {e}"),
        };
        // `unknown_columns: error` is only safe if every register column is named.
        assert_eq!(
            policy.unknown_columns,
            minex::policy::UnknownColumns::Error,
            "{shown}"
        );
        for column in minex::synth::HEADER {
            assert!(
                policy.column(column).is_some(),
                "{shown} does not name `{column}`"
            );
        }
        assert_eq!(policy.columns.len(), minex::synth::HEADER.len(), "{shown}");
        assert_eq!(policy.reference_date.to_string(), "2026-01-01", "{shown}");
    }
    assert!(paths.len() >= 3, "only {} policies checked", paths.len());
}

/// Details of the examples that a reviewer would otherwise have to check by eye.
#[test]
fn example_policies_say_what_the_brief_says() {
    use minex::policy::{Action, Derivation, Generalization};
    let load = |name: &str| minex::policy::from_file(&schemas_dir().join(name)).unwrap();

    let school = load("school-supplier.yaml");
    assert_eq!(
        (school.name.as_str(), school.domain.as_str()),
        ("school-supplier", "skolsystem-ab")
    );
    assert!(school.k_anonymity.is_none());
    assert!(school.derive.is_empty());
    let person = Action::Tokenize {
        space: "person".into(),
    };
    assert_eq!(school.column("personnummer").unwrap().action, person);
    assert!(!school.column("personnummer").unwrap().nullable);
    assert_eq!(
        school.column("guardian_personnummer").unwrap().action,
        person
    );
    assert!(school.column("guardian_personnummer").unwrap().nullable);
    assert_eq!(
        school.column("date_of_birth").unwrap().action,
        Action::Generalize(Generalization::Year)
    );
    assert_eq!(
        school.column("postal_code").unwrap().action,
        Action::Truncate { keep: 3 }
    );

    let social = load("social-services.yaml");
    assert_eq!(
        (social.name.as_str(), social.domain.as_str()),
        ("social-services", "socialtjanst-ab")
    );
    assert_eq!(social.column("case_note").unwrap().action, Action::Drop);
    assert_eq!(
        social.column("date_of_birth").unwrap().action,
        Action::Generalize(Generalization::Month)
    );
    let whats: Vec<Derivation> = social.derive.iter().map(|d| d.what).collect();
    assert_eq!(whats, [Derivation::Coordination, Derivation::Age]);

    let research = load("research.yaml");
    assert_eq!(
        (research.name.as_str(), research.domain.as_str()),
        ("research-extract", "forskning-uu")
    );
    assert_eq!(
        research.output_names(),
        [
            "personnummer",
            "postal_code",
            "municipality_code",
            "age_band",
            "sex"
        ]
    );
    let k = research.k_anonymity.as_ref().unwrap();
    assert_eq!(
        k.quasi_identifiers,
        ["age_band", "postal_code", "sex", "municipality_code"]
    );
    assert_eq!(k.k, 5);
    assert_eq!(k.max_suppression, Some(0.05));

    for p in [&school, &social, &research] {
        let rule = &p.rules[0];
        assert_eq!(rule.column, "protected_identity", "{}", p.name);
        assert_eq!(
            rule.condition,
            minex::policy::Condition::Equals("true".into())
        );
    }
}

/// A small valid policy; the cases below change one thing in it.
const BASE: &str = r#"version: 1
name: inline
domain: test-domain
reference_date: 2026-01-01
rows:
  drop_when:
    - { column: protected_identity, equals: "true" }
columns:
  personnummer: { type: personnummer, action: tokenize, space: person }
  date_of_birth: { type: date, action: generalize, to: year }
  postal_code: { type: postal_code, action: truncate, keep: 3 }
  school: { action: replace, with: redacted }
  protected_identity: drop
derive:
  sex: { from: personnummer, what: sex }
k_anonymity:
  quasi_identifiers: [date_of_birth, postal_code, sex]
  k: 5
"#;

/// `BASE` with the first occurrence of `from` replaced by `to`.
fn variant(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "`{from}` is not in BASE");
    BASE.replacen(from, to, 1)
}

#[test]
fn broken_policies_are_rejected_by_schema_and_parser() {
    let validator = validator();
    let cases: Vec<(&str, String)> = vec![
        ("unknown top-level key", format!("{BASE}colour: blue\n")),
        (
            "unknown column key",
            variant(
                "action: tokenize, space: person",
                "action: tokenize, space: person, salt: x",
            ),
        ),
        (
            "generalize without `to`",
            variant("action: generalize, to: year", "action: generalize"),
        ),
        ("bad type name", variant("type: date", "type: datum")),
        ("k missing", variant("  k: 5\n", "")),
        ("version 2", variant("version: 1", "version: 2")),
        ("version missing", variant("version: 1\n", "")),
        ("name missing", variant("name: inline\n", "")),
        ("empty name", variant("name: inline", "name: \"  \"")),
        ("domain missing", variant("domain: test-domain\n", "")),
        (
            "reference_date missing",
            variant("reference_date: 2026-01-01\n", ""),
        ),
        (
            "reference_date not a date",
            variant("2026-01-01", "2026-13-01"),
        ),
        ("reference_date as text", variant("2026-01-01", "tomorrow")),
        (
            "unknown_columns value",
            format!("{BASE}unknown_columns: ignore\n"),
        ),
        (
            "columns missing",
            BASE.split("columns:\n").next().unwrap().to_string(),
        ),
        (
            "unknown action in a map",
            variant("action: tokenize", "action: tokenise"),
        ),
        (
            "unknown bare action",
            variant("protected_identity: drop", "protected_identity: shred"),
        ),
        (
            "bare action needing options",
            variant("protected_identity: drop", "protected_identity: truncate"),
        ),
        (
            "column map without action",
            variant("{ action: replace, with: redacted }", "{ with: redacted }"),
        ),
        (
            "generalize to an unknown unit",
            variant("to: year", "to: week"),
        ),
        (
            "generalize to age_band:0",
            variant("to: year", "to: age_band:0"),
        ),
        (
            "generalize to age_band:101",
            variant("to: year", "to: age_band:101"),
        ),
        (
            "generalize of a string column",
            variant(
                "type: date, action: generalize",
                "type: string, action: generalize",
            ),
        ),
        (
            "truncate without keep",
            variant("action: truncate, keep: 3", "action: truncate"),
        ),
        ("truncate keep 0", variant("keep: 3", "keep: 0")),
        ("truncate keep as text", variant("keep: 3", "keep: three")),
        (
            "replace without with",
            variant("{ action: replace, with: redacted }", "{ action: replace }"),
        ),
        (
            "option for another action",
            variant(
                "protected_identity: drop",
                "protected_identity: { action: drop, keep: 3 }",
            ),
        ),
        (
            "space on keep",
            variant(
                "protected_identity: drop",
                "protected_identity: { action: keep, space: x }",
            ),
        ),
        ("empty space", variant("space: person", "space: \"\"")),
        (
            "zero byte in domain",
            variant("domain: test-domain", "domain: \"a\\0b\""),
        ),
        (
            "on_invalid value",
            variant("space: person }", "space: person, on_invalid: skip }"),
        ),
        (
            "nullable as text",
            variant("space: person }", "space: person, nullable: \"yes\" }"),
        ),
        (
            "allow_interim on a string",
            variant(
                "{ action: replace, with: redacted }",
                "{ action: replace, with: x, allow_interim: true }",
            ),
        ),
        (
            "rows without drop_when list",
            variant(
                "  drop_when:\n    - { column: protected_identity, equals: \"true\" }\n",
                "  drop_when: protected_identity\n",
            ),
        ),
        (
            "unknown rows key",
            variant("  drop_when:", "  keep_when: []\n  drop_when:"),
        ),
        (
            "rule with unknown key",
            variant("equals: \"true\" }", "equals: \"true\", unless: x }"),
        ),
        (
            "rule without a condition",
            variant(", equals: \"true\" }", " }"),
        ),
        (
            "rule with two conditions",
            variant("equals: \"true\" }", "equals: \"true\", is_null: true }"),
        ),
        (
            "rule without column",
            variant("column: protected_identity, ", ""),
        ),
        ("rule with empty in", variant("equals: \"true\"", "in: []")),
        (
            "rule with is_null as text",
            variant("equals: \"true\"", "is_null: \"yes\""),
        ),
        (
            "derive without from",
            variant("{ from: personnummer, what: sex }", "{ what: sex }"),
        ),
        (
            "derive without what",
            variant(
                "{ from: personnummer, what: sex }",
                "{ from: personnummer }",
            ),
        ),
        (
            "derive of an unknown kind",
            variant("what: sex", "what: shoe_size"),
        ),
        (
            "derive with unknown key",
            variant("what: sex }", "what: sex, as: text }"),
        ),
        ("k 0", variant("k: 5", "k: 0")),
        ("k as text", variant("k: 5", "k: five")),
        (
            "quasi_identifiers missing",
            variant(
                "  quasi_identifiers: [date_of_birth, postal_code, sex]\n",
                "",
            ),
        ),
        (
            "quasi_identifiers empty",
            variant("[date_of_birth, postal_code, sex]", "[]"),
        ),
        (
            "on_violation value",
            variant("  k: 5\n", "  k: 5\n  on_violation: warn\n"),
        ),
        (
            "max_suppression over 1",
            variant("  k: 5\n", "  k: 5\n  max_suppression: 1.5\n"),
        ),
        (
            "unknown k_anonymity key",
            variant("  k: 5\n", "  k: 5\n  l: 2\n"),
        ),
        ("not a mapping", "- version: 1\n".to_string()),
    ];
    let mut failures = Vec::new();
    for (label, text) in &cases {
        let schema_rejects = !validator.is_valid(&yaml_to_json(text));
        let parser_rejects = parser_result(text).is_err();
        if !(schema_rejects && parser_rejects) {
            failures.push(format!(
                "{label}: schema rejects: {schema_rejects}, parser rejects: {parser_rejects}\n{text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn unusual_valid_policies_are_accepted_by_schema_and_parser() {
    let validator = validator();
    let cases: Vec<(&str, String)> = vec![
        ("the base policy", BASE.to_string()),
        (
            "quoted null bare action",
            variant("protected_identity: drop", "protected_identity: \"null\""),
        ),
        (
            "quoted null on_invalid",
            variant("space: person }", "space: person, on_invalid: \"null\" }"),
        ),
        (
            "unquoted null on_invalid",
            variant("space: person }", "space: person, on_invalid: null }"),
        ),
        (
            "unquoted null bare action",
            variant("protected_identity: drop", "protected_identity: null"),
        ),
        (
            "every bare action",
            variant(
                "protected_identity: drop\n",
                "protected_identity: drop\n  a: keep\n  b: tokenize\n  c: encrypt\n",
            ),
        ),
        (
            "generalize without type",
            variant(
                "{ type: date, action: generalize, to: year }",
                "{ action: generalize, to: month }",
            ),
        ),
        (
            "generalize a personnummer",
            variant(
                "{ type: date, action: generalize, to: year }",
                "{ type: personnummer, action: generalize, to: decade }",
            ),
        ),
        ("age_band:100", variant("to: year", "to: age_band:100")),
        (
            "derive age_band:1",
            variant("what: sex", "what: age_band:1"),
        ),
        (
            "encrypt with description",
            variant(
                "protected_identity: drop",
                "protected_identity: { action: encrypt, space: case, description: why }",
            ),
        ),
        (
            "interim numbers",
            variant(
                "space: person }",
                "space: person, allow_interim: true, nullable: true, on_invalid: fail }",
            ),
        ),
        (
            "unquoted equals true",
            variant("equals: \"true\"", "equals: true"),
        ),
        (
            "named rule with in",
            variant(
                "equals: \"true\"",
                "in: [\"true\", \"yes\"], name: protected",
            ),
        ),
        (
            "is_null rule",
            variant("equals: \"true\"", "is_null: false"),
        ),
        (
            "unknown_columns drop",
            format!("{BASE}unknown_columns: drop\ndescription: text\n"),
        ),
        (
            "on_violation fail and max_suppression 0",
            variant(
                "  k: 5\n",
                "  k: 5\n  on_violation: fail\n  max_suppression: 0\n",
            ),
        ),
        (
            "no rows, derive or k_anonymity",
            "version: 1\nname: n\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n  a: drop\n"
                .to_string(),
        ),
    ];
    let mut failures = Vec::new();
    for (label, text) in &cases {
        let errors = schema_errors(&validator, text);
        let parsed = parser_result(text);
        if !errors.is_empty() || parsed.is_err() {
            let parser = parsed.err().map(|e| e.to_string()).unwrap_or_default();
            failures.push(format!(
                "{label}:\nschema: {errors}\nparser: {parser}\n{text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}
