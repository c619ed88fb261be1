//! Reading a policy file: YAML → [`Policy`], with every problem reported at once.
//!
//! The YAML is first read into a generic tree (a syntax error stops here, with its line).
//! Each section is then checked on its own, so one bad column does not hide the next:
//! unknown keys, wrong types, missing options and contradictions are all collected, each with
//! the line of the key it concerns (found by [`KeyLines`], a small index of block-style keys).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_norway::{Mapping, Value};
use sha2::{Digest, Sha256};

use super::model::*;
use crate::error::{ErrorKind, PolicyProblem, Result};
use crate::ident::date::Date;

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

    fn columns(&mut self, v: Option<&Value>, _reference: &Date) -> Vec<ColumnSpec> {
        let Some(v) = v else {
            self.problem(
                "columns",
                "missing; every input column must be named with an action",
            );
            return Vec::new();
        };
        let Value::Mapping(map) = v else {
            self.problem("columns", "must be a mapping from column name to action");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(name) = scalar_text(k) else {
                self.problem("columns", "a column name must be text");
                continue;
            };
            if let Some(why) = bad_name(&name) {
                self.problem(
                    "columns",
                    format!(
                        "column {} of `columns` has a name that {why}",
                        out.len() + 1
                    ),
                );
                continue;
            }
            let path = format!("columns.{name}");
            if let Some(c) = self.column(&name, v, &path) {
                out.push(c);
            }
        }
        if out.is_empty() && self.problems.is_empty() {
            self.problem("columns", "names no column");
        }
        out
    }

    fn column(&mut self, name: &str, v: &Value, path: &str) -> Option<ColumnSpec> {
        let line = self.lines.line(path);
        let default = |action| ColumnSpec {
            name: name.to_string(),
            value_type: ValueType::String,
            action,
            on_invalid: OnInvalid::Reject,
            nullable: true,
            allow_interim: false,
            line,
        };
        let map = match v {
            // YAML reads an unquoted `null` as no value; `first_name: null` means the action.
            Value::Null => return Some(default(Action::Null)),
            Value::String(s) => {
                return match s.as_str() {
                    "keep" => Some(default(Action::Keep)),
                    "drop" => Some(default(Action::Drop)),
                    "null" => Some(default(Action::Null)),
                    "tokenize" => Some(default(Action::Tokenize { space: name.into() })),
                    "encrypt" => Some(default(Action::Encrypt { space: name.into() })),
                    "generalize" | "truncate" | "replace" => {
                        self.problem(
                            path,
                            format!("`{s}` needs options; write it as a map, e.g. `{{ action: {s}, {} }}`", match s.as_str() {
                                "generalize" => "to: year",
                                "truncate" => "keep: 3",
                                _ => "with: REDACTED",
                            }),
                        );
                        None
                    }
                    other => {
                        self.problem(
                            path,
                            format!(
                                "unknown action `{other}`; a bare action is one of {}, or use a map with `action:`",
                                BARE_ACTIONS.join(", ")
                            ),
                        );
                        None
                    }
                };
            }
            Value::Mapping(m) => m,
            _ => {
                self.problem(
                    path,
                    "must be an action (`drop`) or a map (`{ type: ..., action: ... }`)",
                );
                return None;
            }
        };
        let before = self.problems.len();
        self.check_keys(map, path, COLUMN_KEYS);
        let get = |k: &str| map.get(k);
        let value_type = match get("type") {
            None => None,
            Some(t) => match scalar_text(t).as_deref().and_then(ValueType::from_name) {
                Some(t) => Some(t),
                None => {
                    self.problem(
                        &format!("{path}.type"),
                        format!("unknown type; one of {}", ValueType::NAMES),
                    );
                    None
                }
            },
        };
        let action_name = match get("action").map(|v| match v {
            Value::Null => Some("null".to_string()),
            v => scalar_text(v),
        }) {
            Some(Some(a)) => a,
            Some(None) => {
                self.problem(&format!("{path}.action"), "must be text");
                return None;
            }
            None => {
                self.problem(path, "missing `action` (keep, drop, tokenize, encrypt, generalize, truncate, replace, null)");
                return None;
            }
        };
        let space = match get("space") {
            None => name.to_string(),
            Some(v) => match scalar_text(v) {
                Some(s) => {
                    self.check_label(&s, &format!("{path}.space"));
                    s
                }
                None => {
                    self.problem(&format!("{path}.space"), "must be text");
                    name.to_string()
                }
            },
        };
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let action = match action_name.as_str() {
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "null" => Action::Null,
            "tokenize" => {
                used.insert("space");
                Action::Tokenize { space }
            }
            "encrypt" => {
                used.insert("space");
                Action::Encrypt { space }
            }
            "generalize" => {
                used.insert("to");
                match get("to")
                    .and_then(scalar_text)
                    .as_deref()
                    .and_then(Generalization::from_name)
                {
                    Some(g) => Action::Generalize(g),
                    None => {
                        self.problem(
                            &format!("{path}.to"),
                            "`generalize` needs `to:` one of year, decade, month, age_band:N (N from 1 to 100)",
                        );
                        Action::Generalize(Generalization::Year)
                    }
                }
            }
            "truncate" => {
                used.insert("keep");
                match get("keep").and_then(Value::as_u64) {
                    Some(n) if n >= 1 => Action::Truncate {
                        keep: usize::try_from(n).unwrap_or(usize::MAX),
                    },
                    _ => {
                        self.problem(
                            &format!("{path}.keep"),
                            "`truncate` needs `keep:` a whole number of characters, at least 1",
                        );
                        Action::Truncate { keep: 1 }
                    }
                }
            }
            "replace" => {
                used.insert("with");
                match get("with").and_then(scalar_text) {
                    Some(w) => Action::Replace { with: w },
                    None => {
                        self.problem(
                            &format!("{path}.with"),
                            "`replace` needs `with:` the constant text",
                        );
                        Action::Replace {
                            with: String::new(),
                        }
                    }
                }
            }
            other => {
                self.problem(
                    &format!("{path}.action"),
                    format!("unknown action `{other}`; one of keep, drop, tokenize, encrypt, generalize, truncate, replace, null"),
                );
                return None;
            }
        };
        for opt in ["space", "to", "keep", "with"] {
            if get(opt).is_some() && !used.contains(opt) {
                self.problem(
                    &format!("{path}.{opt}"),
                    format!("`{opt}` does not apply to action `{action_name}`"),
                );
            }
        }
        let value_type = match (value_type, &action) {
            (Some(t), _) => t,
            (None, Action::Generalize(_)) => ValueType::Date,
            (None, _) => ValueType::String,
        };
        if let Action::Generalize(_) = action
            && !matches!(value_type, ValueType::Date | ValueType::Personnummer)
        {
            self.problem(
                &format!("{path}.type"),
                "`generalize` works on `type: date` (or `personnummer`, by its birth date)",
            );
        }
        let on_invalid = match get("on_invalid").map(|v| match v {
            Value::Null => Some("null".to_string()),
            v => scalar_text(v),
        }) {
            None => OnInvalid::Reject,
            Some(Some(s)) if s == "reject" => OnInvalid::Reject,
            Some(Some(s)) if s == "null" => OnInvalid::Null,
            Some(Some(s)) if s == "fail" => OnInvalid::Fail,
            Some(_) => {
                self.problem(
                    &format!("{path}.on_invalid"),
                    "must be `reject`, `null` or `fail`",
                );
                OnInvalid::Reject
            }
        };
        let nullable = match get("nullable") {
            None => value_type != ValueType::Personnummer,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problem(&format!("{path}.nullable"), "must be `true` or `false`");
                true
            }
        };
        let allow_interim = match get("allow_interim") {
            None => false,
            Some(Value::Bool(b)) => {
                if value_type != ValueType::Personnummer {
                    self.problem(
                        &format!("{path}.allow_interim"),
                        "applies only to `type: personnummer`",
                    );
                }
                *b
            }
            Some(_) => {
                self.problem(
                    &format!("{path}.allow_interim"),
                    "must be `true` or `false`",
                );
                false
            }
        };
        if let Some(d) = get("description")
            && !matches!(d, Value::String(_))
        {
            self.problem(&format!("{path}.description"), "must be text");
        }
        (self.problems.len() == before).then(|| ColumnSpec {
            name: name.to_string(),
            value_type,
            action,
            on_invalid,
            nullable,
            allow_interim,
            line,
        })
    }

    fn rules(&mut self, v: Option<&Value>) -> Vec<RowRule> {
        let Some(v) = v else { return Vec::new() };
        let Value::Mapping(rows) = v else {
            self.problem("rows", "must be a mapping with `drop_when:`");
            return Vec::new();
        };
        self.check_keys(rows, "rows", &["drop_when"]);
        let Some(list) = rows.get("drop_when") else {
            return Vec::new();
        };
        let Value::Sequence(list) = list else {
            self.problem(
                "rows.drop_when",
                "must be a list of rules like `{ column: protected_identity, equals: \"true\" }`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let path = "rows.drop_when".to_string();
            let Value::Mapping(m) = r else {
                self.problem(&path, format!("rule {} must be a map", i + 1));
                continue;
            };
            self.check_keys(m, &path, &["column", "equals", "in", "is_null", "name"]);
            let Some(column) = m.get("column").and_then(scalar_text) else {
                self.problem(&path, format!("rule {} needs `column:`", i + 1));
                continue;
            };
            let mut conds = Vec::new();
            if let Some(e) = m.get("equals") {
                match scalar_text(e) {
                    Some(s) => conds.push(Condition::Equals(s.trim().to_string())),
                    None => self.problem(
                        &path,
                        format!("rule {}: `equals` must be a single value", i + 1),
                    ),
                }
            }
            if let Some(e) = m.get("in") {
                match e {
                    Value::Sequence(items) => {
                        let texts: Option<Vec<String>> = items
                            .iter()
                            .map(|x| scalar_text(x).map(|s| s.trim().to_string()))
                            .collect();
                        match texts {
                            Some(t) if !t.is_empty() => conds.push(Condition::In(t)),
                            _ => self.problem(
                                &path,
                                format!("rule {}: `in` must be a non-empty list of values", i + 1),
                            ),
                        }
                    }
                    _ => self.problem(&path, format!("rule {}: `in` must be a list", i + 1)),
                }
            }
            if let Some(e) = m.get("is_null") {
                match e {
                    Value::Bool(b) => conds.push(Condition::IsNull(*b)),
                    _ => self.problem(
                        &path,
                        format!("rule {}: `is_null` must be true or false", i + 1),
                    ),
                }
            }
            if conds.len() != 1 {
                if conds.len() > 1 {
                    self.problem(&path, format!("rule {} has more than one of `equals`, `in`, `is_null`; write one rule each", i + 1));
                } else {
                    self.problem(
                        &path,
                        format!("rule {} needs one of `equals`, `in`, `is_null`", i + 1),
                    );
                }
                continue;
            }
            let label = match m.get("name").and_then(scalar_text) {
                Some(n) => n,
                None => format!("drop_when[{i}]:{column}"),
            };
            if let Some(c) = conds.pop() {
                out.push(RowRule {
                    label,
                    column,
                    condition: c,
                    value_type: ValueType::String,
                });
            }
        }
        out
    }

    fn derive(&mut self, v: Option<&Value>) -> Vec<DeriveSpec> {
        let Some(v) = v else { return Vec::new() };
        let Value::Mapping(map) = v else {
            self.problem(
                "derive",
                "must be a mapping from new column name to `{ from: ..., what: ... }`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(name) = scalar_text(k) else { continue };
            let path = format!("derive.{name}");
            let Value::Mapping(m) = v else {
                self.problem(&path, "must be a map `{ from: COLUMN, what: birth_year }`");
                continue;
            };
            self.check_keys(m, &path, &["from", "what", "description"]);
            let from = m.get("from").and_then(scalar_text);
            let what = m.get("what").and_then(scalar_text);
            let what_parsed = what.as_deref().and_then(Derivation::from_name);
            if from.is_none() {
                self.problem(
                    &path,
                    "needs `from:` an input column of `type: personnummer`",
                );
            }
            if what_parsed.is_none() {
                self.problem(
                    &format!("{path}.what"),
                    "needs `what:` one of birth_date, birth_year, age, age_band:N, sex, coordination",
                );
            }
            if let (Some(from), Some(what)) = (from, what_parsed) {
                out.push(DeriveSpec { name, from, what });
            }
        }
        out
    }

    fn k_anonymity(&mut self, v: &Value) -> Option<KAnonymity> {
        let path = "k_anonymity";
        let Value::Mapping(m) = v else {
            self.problem(path, "must be a map with `quasi_identifiers:` and `k:`");
            return None;
        };
        self.check_keys(
            m,
            path,
            &["quasi_identifiers", "k", "on_violation", "max_suppression"],
        );
        let qis: Vec<String> = match m.get("quasi_identifiers") {
            Some(Value::Sequence(items)) => items.iter().filter_map(scalar_text).collect(),
            _ => {
                self.problem(
                    &format!("{path}.quasi_identifiers"),
                    "needs a list of output column names",
                );
                Vec::new()
            }
        };
        if qis.is_empty() {
            self.problem(&format!("{path}.quasi_identifiers"), "names no column");
        }
        let k = match m.get("k").and_then(Value::as_u64) {
            Some(k) if k >= 1 => k,
            _ => {
                self.problem(
                    &format!("{path}.k"),
                    "needs `k:` a whole number, at least 1 (usually 5 or more)",
                );
                1
            }
        };
        let on_violation = match m.get("on_violation").map(scalar_text) {
            None => OnViolation::Suppress,
            Some(Some(s)) if s == "suppress" => OnViolation::Suppress,
            Some(Some(s)) if s == "fail" => OnViolation::Fail,
            Some(_) => {
                self.problem(
                    &format!("{path}.on_violation"),
                    "must be `suppress` or `fail`",
                );
                OnViolation::Suppress
            }
        };
        let max_suppression = match m.get("max_suppression") {
            None => None,
            Some(v) => match v.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => {
                    self.problem(
                        &format!("{path}.max_suppression"),
                        "must be a share from 0 to 1 (e.g. 0.05)",
                    );
                    None
                }
            },
        };
        Some(KAnonymity {
            quasi_identifiers: qis,
            k,
            on_violation,
            max_suppression,
        })
    }

    /// A rule over a typed column compares canonical values: its texts are canonicalized here
    /// (`equals: "TRUE"` on a boolean is `true`), and a text that is not a value of the type is
    /// a problem. Such a column must reject (or fail on) a value it cannot read: with
    /// `on_invalid: null`, an unreadable marker would let its row through the rule.
    fn type_rules(&mut self, p: &mut Policy) {
        let reference = p.reference_date;
        for r in &mut p.rules {
            let Some(c) = p.column_index.get(&r.column).map(|i| &p.columns[*i]) else {
                continue;
            };
            if c.value_type == ValueType::String {
                continue;
            }
            r.value_type = c.value_type;
            let canon = |t: &str| {
                crate::transform::canonical::canonical_value(
                    c.value_type,
                    t,
                    reference,
                    c.allow_interim,
                )
            };
            let texts: Vec<&mut String> = match &mut r.condition {
                Condition::Equals(t) => vec![t],
                Condition::In(list) => list.iter_mut().collect(),
                Condition::IsNull(_) => Vec::new(),
            };
            let mut bad = 0;
            for t in texts {
                match canon(t) {
                    Ok(v) => *t = v,
                    Err(_) => bad += 1,
                }
            }
            if bad > 0 {
                self.problem(
                    "rows.drop_when",
                    format!(
                        "rule `{}`: {bad} of its values {} not a `{}` value, so the rule could never match them",
                        r.label,
                        if bad == 1 { "is" } else { "are" },
                        c.value_type.name()
                    ),
                );
            }
            if c.on_invalid == OnInvalid::Null {
                self.problem(
                    &format!("columns.{}.on_invalid", c.name),
                    format!(
                        "column `{}` is read by rule `{}`: a value the rule cannot read must not become null and let its row through; use `reject` (the default) or `fail`",
                        c.name, r.label
                    ),
                );
            }
        }
    }

    /// Checks that need the whole policy.
    fn cross_check(&mut self, p: &Policy) {
        let column_names: BTreeSet<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        for r in &p.rules {
            if !column_names.contains(r.column.as_str()) {
                self.problem(
                    "rows.drop_when",
                    format!(
                        "rule `{}` tests column `{}`, which `columns` does not name",
                        r.label, r.column
                    ),
                );
            }
        }
        let outputs: BTreeSet<&str> = p
            .columns
            .iter()
            .filter(|c| c.action != Action::Drop)
            .map(|c| c.name.as_str())
            .collect();
        for d in &p.derive {
            let path = format!("derive.{}", d.name);
            match p.column(&d.from) {
                None => self.problem(
                    &path,
                    format!("reads `{}`, which `columns` does not name", d.from),
                ),
                Some(c) if c.value_type != ValueType::Personnummer => self.problem(
                    &path,
                    format!(
                        "reads `{}`, which must be `type: personnummer` to derive from",
                        d.from
                    ),
                ),
                Some(_) => {}
            }
            if outputs.contains(d.name.as_str()) {
                self.problem(&path, format!("`{}` is already an output column", d.name));
            }
        }
        if let Some(k) = &p.k_anonymity {
            let all: BTreeSet<&str> = outputs
                .iter()
                .copied()
                .chain(p.derive.iter().map(|d| d.name.as_str()))
                .collect();
            for q in &k.quasi_identifiers {
                if !all.contains(q.as_str()) {
                    self.problem(
                        "k_anonymity.quasi_identifiers",
                        format!("`{q}` is not an output column (quasi-identifiers name columns after generalization and derivation; a dropped column is not one)"),
                    );
                }
            }
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
