//! Reading a policy file: YAML → [`Policy`], with every problem reported at once.
//!
//! The YAML is first read into a generic tree (a syntax error stops here, with its line).
//! Each section is then checked on its own, so one bad column does not hide the next:
//! unknown keys, wrong types, missing options and contradictions are all collected, each with
//! the line of the key it concerns (found by [`KeyLines`], a small index of block-style keys).

use std::collections::HashMap;
use std::path::Path;

use serde_norway::{Mapping, Value};
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, PolicyProblem, Result};
use crate::ident::date::Date;

use super::model::*;

mod checks;
mod columns;
mod sections;

/// The largest policy file read: a policy names every column of a register, so even 100,000
/// columns fit; anything larger is not a policy.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// The deepest nesting of mappings and lists a policy may have (the language needs 5).
pub const MAX_NESTING: usize = 10;
/// The longest column name, in bytes (the same limit as for an input's header).
pub const MAX_NAME_BYTES: usize = 256;
/// The `domain` `minex init` writes when none is given; `check`, `plan` and `run` refuse it.
pub const PLACEHOLDER_DOMAIN: &str = "change-me-recipient";

/// Parses and validates a policy file's text (`path` for messages and the manifest): besides
/// [`from_str`]'s checks, refuses `minex init`'s placeholder domain, which a run must not use.
/// The runner's `policy::from_file` reads the file (bounded) and calls this.
///
/// # Errors
/// `Policy` with every problem found.
pub fn from_file_text(text: &str, path: &Path) -> Result<Policy> {
    let policy = from_str(text, path)?;
    if policy.domain == PLACEHOLDER_DOMAIN {
        return Err(ErrorKind::Policy {
            path: path.to_path_buf(),
            problems: vec![PolicyProblem {
                line: KeyLines::new(text).line("domain"),
                path: "domain".into(),
                message: "is still the placeholder `minex init` wrote; set the pseudonymisation domain of this recipient (one per recipient and purpose) before any run".into(),
            }],
        }
        .into());
    }
    Ok(policy)
}

impl Policy {
    /// Parses and validates a policy from its YAML text, reporting every problem at once.
    /// Messages and the manifest call it `policy`; [`from_str`] takes a path for them.
    ///
    /// # Errors
    /// `Policy` with every problem found.
    pub fn from_yaml(text: &str) -> Result<Policy> {
        from_str(text, Path::new("policy"))
    }
}

/// Parses and validates policy text; `path` is used for messages and the manifest.
///
/// Text over [`MAX_POLICY_BYTES`], nested deeper than [`MAX_NESTING`], holding more than one
/// YAML document, or using YAML anchors and aliases (which can make a small file expand into
/// a huge tree) is refused before it is deserialized.
///
/// # Errors
/// `Policy` with every problem found.
pub fn from_str(text: &str, path: &Path) -> Result<Policy> {
    if let Some(problem) = refuse_shape(text) {
        return Err(ErrorKind::Policy {
            path: path.to_path_buf(),
            problems: vec![problem],
        }
        .into());
    }
    let mut p = Parser {
        lines: KeyLines::new(text),
        problems: Vec::new(),
    };
    let policy = p.parse(text, path);
    match policy {
        Some(policy) if p.problems.is_empty() => Ok(policy),
        _ => Err(ErrorKind::Policy {
            path: path.to_path_buf(),
            problems: p.problems,
        }
        .into()),
    }
}

/// The checks made on the YAML's shape before any of it is deserialized: size, nesting,
/// anchors and aliases, one document. Reads events only (no tree is built, nothing recurses).
fn refuse_shape(text: &str) -> Option<PolicyProblem> {
    use saphyr_parser::{Event, Parser as Events};
    let at = |line: Option<usize>, message: &str| {
        Some(PolicyProblem {
            line,
            path: "(file)".into(),
            message: message.into(),
        })
    };
    if text.len() as u64 > MAX_POLICY_BYTES {
        return at(
            None,
            "a policy is at most 1 MiB; this is not a policy (check `--policy`)",
        );
    }
    let mut depth = 0usize;
    let mut documents = 0usize;
    for event in Events::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            // Syntax errors are reported by the deserializer, with its wording.
            Err(_) => return None,
        };
        let line = Some(span.start.line());
        match event {
            Event::Alias(_) => {
                return at(
                    line,
                    "YAML aliases (`*name`) are not allowed in a policy; write the value out",
                );
            }
            Event::Scalar(_, _, anchor, _) if anchor > 0 => {
                return at(
                    line,
                    "YAML anchors (`&name`) are not allowed in a policy; write the value out",
                );
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if anchor > 0 {
                    return at(
                        line,
                        "YAML anchors (`&name`) are not allowed in a policy; write the value out",
                    );
                }
                depth += 1;
                if depth > MAX_NESTING {
                    return at(
                        line,
                        "the policy is nested too deeply; a policy needs a handful of levels",
                    );
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return at(line, "a policy file holds one YAML document (one `---`)");
                }
            }
            _ => {}
        }
    }
    None
}

/// Why a column name cannot be used (control characters are never printed, so a name holding
/// one is refused here rather than shown).
pub fn bad_name(name: &str) -> Option<&'static str> {
    if name.chars().any(char::is_control) {
        Some("holds a line break or another control character")
    } else if name.len() > MAX_NAME_BYTES {
        Some("is longer than 256 bytes")
    } else {
        None
    }
}

/// Maps a dotted key path (`columns.first_name.action`) to its 1-based line.
struct KeyLines {
    lines: HashMap<String, usize>,
}

impl KeyLines {
    fn new(text: &str) -> KeyLines {
        let mut lines = HashMap::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            let Some(colon) = body.find(':') else {
                continue;
            };
            let key = body[..colon].trim().trim_matches(|c| c == '"' || c == '\'');
            if key.is_empty() || key.contains(' ') && !key.starts_with('"') && key.contains('{') {
                continue;
            }
            while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                stack.pop();
            }
            let mut path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            path.push(key);
            lines.entry(path.join(".")).or_insert(i + 1);
            stack.push((indent, key.to_string()));
        }
        KeyLines { lines }
    }

    /// The line of `path`, or of its closest ancestor that has one.
    fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            p = &p[..p.rfind('.')?];
        }
    }
}

struct Parser {
    lines: KeyLines,
    problems: Vec<PolicyProblem>,
}

const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "domain",
    "reference_date",
    "unknown_columns",
    "rows",
    "columns",
    "derive",
    "k_anonymity",
];
const COLUMN_KEYS: &[&str] = &[
    "type",
    "action",
    "space",
    "to",
    "keep",
    "with",
    "on_invalid",
    "nullable",
    "allow_interim",
    "description",
];
const BARE_ACTIONS: &[&str] = &["keep", "drop", "tokenize", "encrypt", "null"];

impl Parser {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(PolicyProblem {
            line: self.lines.line(path),
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn parse(&mut self, text: &str, file: &Path) -> Option<Policy> {
        let root: Value = match serde_norway::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(PolicyProblem {
                    line: e.location().map(|l| l.line()),
                    path: "(file)".into(),
                    message: format!("not valid YAML: {}", yaml_message(&e)),
                });
                return None;
            }
        };
        let Value::Mapping(root) = root else {
            self.problem(
                "(file)",
                "a policy is a YAML mapping (`version: 1`, `name: ...`, `columns: ...`)",
            );
            return None;
        };
        self.check_keys(&root, "", TOP_KEYS);

        let version = match root.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(1) => 1,
            Some(_) => {
                self.problem("version", "only `version: 1` exists");
                1
            }
            None => {
                self.problem("version", "missing; write `version: 1`");
                1
            }
        };
        let name = self.req_string(&root, "name").unwrap_or_default();
        let description = self.opt_string(&root, "description");
        let domain = self.req_string(&root, "domain").unwrap_or_default();
        if root.get("domain").is_some() {
            self.check_label(&domain, "domain");
        }
        let reference_date = match root.get("reference_date") {
            Some(v) => match scalar_text(v).as_deref().and_then(Date::parse) {
                Some(d) => d,
                None => {
                    self.problem("reference_date", "must be a date, `YYYY-MM-DD`");
                    Date::from_days(0)
                }
            },
            None => {
                self.problem(
                    "reference_date",
                    "missing; ages and the century of 10-digit identity numbers are computed at this date (e.g. `reference_date: 2026-01-01`)",
                );
                Date::from_days(0)
            }
        };
        let unknown_columns = match root.get("unknown_columns").map(scalar_text) {
            None => UnknownColumns::Error,
            Some(Some(s)) if s == "error" => UnknownColumns::Error,
            Some(Some(s)) if s == "drop" => UnknownColumns::Drop,
            Some(_) => {
                self.problem("unknown_columns", "must be `error` (the default) or `drop`");
                UnknownColumns::Error
            }
        };

        let columns = self.columns(root.get("columns"), &reference_date);
        let rules = self.rules(root.get("rows"));
        let derive = self.derive(root.get("derive"));
        let k_anonymity = root.get("k_anonymity").and_then(|v| self.k_anonymity(v));

        let column_index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let mut policy = Policy {
            version,
            name,
            description,
            domain,
            reference_date,
            unknown_columns,
            rules,
            columns,
            derive,
            k_anonymity,
            path: file.to_path_buf(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            column_index,
        };
        self.type_rules(&mut policy);
        self.cross_check(&policy);
        Some(policy)
    }

    fn check_keys(&mut self, map: &Mapping, prefix: &str, allowed: &[&str]) {
        for key in map.keys() {
            let k = scalar_text(key).unwrap_or_default();
            if !allowed.contains(&k.as_str()) {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                self.problem(
                    &path,
                    format!("unknown key `{k}`; allowed here: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn req_string(&mut self, map: &Mapping, key: &str) -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(_) => {
                self.problem(key, "must be non-empty text");
                None
            }
            None => {
                self.problem(key, "missing");
                None
            }
        }
    }

    fn opt_string(&mut self, map: &Mapping, key: &str) -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(key, "must be text");
                None
            }
            None => None,
        }
    }

    /// Domains and spaces go into the key derivation between zero bytes, so they must not
    /// hold one.
    fn check_label(&mut self, s: &str, path: &str) {
        if s.is_empty() || s.contains('\0') {
            self.problem(path, "must be non-empty text without a zero byte");
        }
    }
}

/// A scalar as text: strings as they are, booleans and numbers as written.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The YAML parser's message without its location suffix (the line is reported separately).
fn yaml_message(e: &serde_norway::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy> {
        from_str(text, Path::new("test.yaml"))
    }

    fn problems(text: &str) -> Vec<PolicyProblem> {
        match parse(text).unwrap_err().kind() {
            ErrorKind::Policy { problems, .. } => problems.clone(),
            other => panic!("not a policy error: {other:?}"),
        }
    }

    const GOOD: &str = r#"version: 1
name: school-supplier
domain: skolsystem-ab
reference_date: 2026-01-01
rows:
  drop_when:
    - { column: protected_identity, equals: "true" }
columns:
  personnummer: { type: personnummer, action: tokenize, space: person }
  guardian_personnummer: { type: personnummer, action: tokenize, space: person, nullable: true }
  first_name: drop
  date_of_birth: { type: date, action: generalize, to: year }
  postal_code: { action: truncate, keep: 3 }
  city: keep
  protected_identity: drop
  case_id: { action: encrypt, space: case }
derive:
  birth_year: { from: personnummer, what: birth_year }
k_anonymity:
  quasi_identifiers: [date_of_birth, postal_code]
  k: 5
  on_violation: suppress
"#;

    #[test]
    fn parses_the_design_example() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.name, "school-supplier");
        assert_eq!(p.columns.len(), 8);
        assert_eq!(
            p.columns[0].action,
            Action::Tokenize {
                space: "person".into()
            }
        );
        assert!(!p.columns[0].nullable);
        assert!(p.columns[1].nullable);
        assert_eq!(
            p.columns[3].action,
            Action::Generalize(Generalization::Year)
        );
        assert_eq!(p.columns[3].line, Some(12));
        assert_eq!(p.rules[0].condition, Condition::Equals("true".into()));
        assert_eq!(p.derive[0].what, Derivation::BirthYear);
        assert_eq!(p.k_anonymity.as_ref().unwrap().k, 5);
        assert_eq!(p.sha256.len(), 64);
        assert_eq!(
            p.output_names(),
            [
                "personnummer",
                "guardian_personnummer",
                "date_of_birth",
                "postal_code",
                "city",
                "case_id",
                "birth_year"
            ]
        );
    }

    #[test]
    fn reports_every_problem_with_lines() {
        let text = r#"version: 2
name: x
domain: d
reference_date: 2026-13-01
colour: blue
columns:
  a: { action: tokenise }
  b: { action: truncate }
  c: { type: text, action: keep }
  d: { action: keep, keep: 3 }
  e: shred
derive:
  y: { from: a, what: shoe_size }
k_anonymity:
  quasi_identifiers: [zz]
  k: 0
"#;
        let ps = problems(text);
        let paths: Vec<&str> = ps.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "version",
            "reference_date",
            "colour",
            "columns.a.action",
            "columns.b.keep",
            "columns.c.type",
            "columns.d.keep",
            "columns.e",
            "derive.y.what",
            "k_anonymity.k",
        ] {
            assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
        }
        let colour = ps.iter().find(|p| p.path == "colour").unwrap();
        assert_eq!(colour.line, Some(5));
        let e = ps.iter().find(|p| p.path == "columns.e").unwrap();
        assert_eq!(e.line, Some(11));
    }

    #[test]
    fn yaml_syntax_error_has_a_line() {
        let ps = problems("version: 1\nname: [unclosed\n");
        assert_eq!(ps.len(), 1);
        assert!(ps[0].line.is_some());
    }

    #[test]
    fn cross_checks_names() {
        let text = r#"version: 1
name: x
domain: d
reference_date: 2026-01-01
rows:
  drop_when:
    - { column: nope, is_null: true }
columns:
  a: drop
  b: keep
derive:
  b: { from: a, what: sex }
k_anonymity:
  quasi_identifiers: [a]
  k: 3
"#;
        let msgs: Vec<String> = problems(text).iter().map(|p| p.to_string()).collect();
        let all = msgs.join("\n");
        assert!(all.contains("`nope`"), "{all}");
        assert!(all.contains("must be `type: personnummer`"), "{all}");
        assert!(all.contains("already an output column"), "{all}");
        assert!(all.contains("`a` is not an output column"), "{all}");
    }

    #[test]
    fn unquoted_null_is_the_null_action() {
        let text = "version: 1\nname: x\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n  a: null\n  b: { action: null }\n  c: { type: date, action: keep, on_invalid: null }\n";
        let p = parse(text).unwrap();
        assert_eq!(p.columns[0].action, Action::Null);
        assert_eq!(p.columns[1].action, Action::Null);
        assert_eq!(p.columns[2].on_invalid, OnInvalid::Null);
    }

    #[test]
    fn zero_byte_in_domain_is_refused() {
        let text = "version: 1\nname: x\ndomain: \"a\\0b\"\nreference_date: 2026-01-01\ncolumns:\n  a: keep\n";
        let ps = problems(text);
        assert!(ps.iter().any(|p| p.path == "domain"), "{ps:?}");
    }
}
