//! The `rows`, `derive` and `k_anonymity` sections.

use serde_norway::Value;

use super::*;

impl Parser {
    pub(super) fn rules(&mut self, v: Option<&Value>) -> Vec<RowRule> {
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

    pub(super) fn derive(&mut self, v: Option<&Value>) -> Vec<DeriveSpec> {
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
            let what_parsed = self.levels(m.get("what"), &format!("{path}.what"), |v| {
                scalar_text(v).as_deref().and_then(Derivation::from_name)
            });
            if from.is_none() {
                self.problem(
                    &path,
                    "needs `from:` an input column of `type: personnummer`",
                );
            }
            if what_parsed.is_none() {
                self.problem(
                    &format!("{path}.what"),
                    "needs `what:` one of birth_date, birth_year, age, age_band:N, sex, coordination (or a list of levels finest first, `[age_band:5, age_band:10]`)",
                );
            }
            if let Some((_, Some(l))) = &what_parsed
                && let Some(why) = super::checks::derive_ladder_problem(l)
            {
                self.problem(&format!("{path}.what"), why);
            }
            if let (Some(from), Some((what, ladder))) = (from, what_parsed) {
                out.push(DeriveSpec {
                    name,
                    from,
                    what,
                    ladder,
                });
            }
        }
        out
    }

    pub(super) fn k_anonymity(&mut self, v: &Value) -> Option<KAnonymity> {
        let path = "k_anonymity";
        let Value::Mapping(m) = v else {
            self.problem(path, "must be a map with `quasi_identifiers:` and `k:`");
            return None;
        };
        self.check_keys(
            m,
            path,
            &[
                "quasi_identifiers",
                "k",
                "on_violation",
                "max_suppression",
                "sensitive",
                "l",
            ],
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
        let sensitive: Vec<String> = match m.get("sensitive") {
            None => Vec::new(),
            Some(Value::Sequence(items)) if !items.is_empty() => {
                items.iter().filter_map(scalar_text).collect()
            }
            Some(_) => {
                self.problem(
                    &format!("{path}.sensitive"),
                    "needs a list of output column names (the values each class must hold `l` distinct ones of)",
                );
                Vec::new()
            }
        };
        let l = match m.get("l") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(l) if (1..=100).contains(&l) => Some(l),
                _ => {
                    self.problem(
                        &format!("{path}.l"),
                        "needs `l:` a whole number from 1 to 100 (usually 2 or 3)",
                    );
                    None
                }
            },
        };
        if m.get("l").is_some() && m.get("sensitive").is_none() {
            self.problem(
                &format!("{path}.l"),
                "`l` needs `sensitive:` the columns whose values each class must hold `l` distinct ones of",
            );
        }
        if !sensitive.is_empty() && m.get("l").is_none() {
            self.problem(
                &format!("{path}.sensitive"),
                "`sensitive` needs `l:` how many distinct values each class must hold",
            );
        }
        Some(KAnonymity {
            quasi_identifiers: qis,
            k,
            on_violation,
            max_suppression,
            sensitive,
            l,
        })
    }
}
