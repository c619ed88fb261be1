//! The `columns` section: each column as a bare action or a map of `type`, `action` and its
//! options, `on_invalid`, `nullable` and `allow_interim`.

use std::collections::BTreeSet;

use serde_norway::{Mapping, Value};

use crate::ident::date::Date;

use super::*;

impl Parser {
    pub(super) fn columns(&mut self, v: Option<&Value>, _reference: &Date) -> Vec<ColumnSpec> {
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

    pub(super) fn column(&mut self, name: &str, v: &Value, path: &str) -> Option<ColumnSpec> {
        let line = self.lines.line(path);
        let default = |action| ColumnSpec {
            name: name.to_string(),
            value_type: ValueType::String,
            action,
            on_invalid: OnInvalid::Reject,
            nullable: true,
            allow_interim: false,
            line,
            ladder: None,
        };
        let map = match v {
            // YAML reads an unquoted `null` as no value; `first_name: null` means the action.
            Value::Null => return Some(default(Action::Null)),
            Value::String(s) => return self.bare_action(name, s, path).map(default),
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
        let value_type = self.column_type(map, path);
        let (action, ladder) = self.column_action(name, map, path)?;
        let value_type = match (value_type, &action) {
            (Some(t), _) => t,
            (None, Action::Generalize(_)) => ValueType::Date,
            (None, _) => ValueType::String,
        };
        // A samordningsnummer may lack its month or day while its year is known: by an
        // identity number, `month` does not nest in `year`, so a calendar ladder over one is
        // no ladder (age bands, null without a full birth date at every level, are).
        if value_type == ValueType::Personnummer
            && let Some(l) = &ladder
            && l.len() > 1
            && l.iter().any(|a| {
                matches!(
                    a,
                    Action::Generalize(
                        Generalization::Month | Generalization::Year | Generalization::Decade
                    )
                )
            })
        {
            self.problem(
                &format!("{path}.to"),
                "a ladder of `month`, `year` or `decade` by an identity number is refused: a samordningsnummer may have a birth year but no month, so its classes would split going up the ladder; use age bands (`[age_band:5, age_band:10]`), or generalize a `type: date` column",
            );
        }
        if let Action::Generalize(_) = action
            && !matches!(value_type, ValueType::Date | ValueType::Personnummer)
        {
            self.problem(
                &format!("{path}.type"),
                "`generalize` works on `type: date` (or `personnummer`, by its birth date)",
            );
        }
        let (on_invalid, nullable, allow_interim) = self.column_options(map, path, value_type);
        (self.problems.len() == before).then(|| ColumnSpec {
            name: name.to_string(),
            value_type,
            action,
            on_invalid,
            nullable,
            allow_interim,
            line,
            ladder,
        })
    }

    /// A column written as a bare action (`first_name: drop`): the action, or `None` (with a
    /// problem) for an action that needs options or an unknown one.
    fn bare_action(&mut self, name: &str, s: &str, path: &str) -> Option<Action> {
        match s {
            "keep" => Some(Action::Keep),
            "drop" => Some(Action::Drop),
            "null" => Some(Action::Null),
            "tokenize" => Some(Action::Tokenize { space: name.into() }),
            "encrypt" => Some(Action::Encrypt { space: name.into() }),
            "generalize" | "truncate" | "replace" => {
                self.problem(
                    path,
                    format!(
                        "`{s}` needs options; write it as a map, e.g. `{{ action: {s}, {} }}`",
                        match s {
                            "generalize" => "to: year",
                            "truncate" => "keep: 3",
                            _ => "with: REDACTED",
                        }
                    ),
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
        }
    }

    /// A column's `type`, if given and known.
    fn column_type(&mut self, map: &Mapping, path: &str) -> Option<ValueType> {
        let get = |k: &str| map.get(k);
        match get("type") {
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
        }
    }

    /// A column's `action` with its options (`space`, `to`, `keep`, `with`), and its ladder
    /// when `to`/`keep` is a list; an option that does not apply to the action is a problem.
    fn column_action(
        &mut self,
        name: &str,
        map: &Mapping,
        path: &str,
    ) -> Option<(Action, Option<Vec<Action>>)> {
        let mut ladder: Option<Vec<Action>> = None;
        // A list of levels: the first is the action, the list the ladder.
        macro_rules! return_ladder {
            ($levels:expr) => {{
                let (first, list) = $levels;
                ladder = list;
                first
            }};
        }
        let get = |k: &str| map.get(k);
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
                let one = |v: &Value| {
                    scalar_text(v)
                        .as_deref()
                        .and_then(Generalization::from_name)
                        .map(Action::Generalize)
                };
                match self.levels(get("to"), &format!("{path}.to"), one) {
                    Some(levels) => return_ladder!(levels),
                    None => {
                        self.problem(
                            &format!("{path}.to"),
                            "`generalize` needs `to:` one of year, decade, month, age_band:N (N from 1 to 100), or a list of them finest first (`[month, year, decade]`)",
                        );
                        Action::Generalize(Generalization::Year)
                    }
                }
            }
            "truncate" => {
                used.insert("keep");
                let one = |v: &Value| match v.as_u64() {
                    Some(n) if n >= 1 => Some(Action::Truncate {
                        keep: usize::try_from(n).unwrap_or(usize::MAX),
                    }),
                    _ => None,
                };
                match self.levels(get("keep"), &format!("{path}.keep"), one) {
                    Some(levels) => return_ladder!(levels),
                    None => {
                        self.problem(
                            &format!("{path}.keep"),
                            "`truncate` needs `keep:` a whole number of characters, at least 1, or a list of them longest first (`[3, 2, 1]`)",
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
        if let Some(l) = &ladder
            && let Some(why) = super::checks::ladder_problem(l)
        {
            self.problem(
                &format!(
                    "{path}.{}",
                    if action_name == "truncate" {
                        "keep"
                    } else {
                        "to"
                    }
                ),
                why,
            );
        }
        Some((action, ladder))
    }

    /// One level (`to: year`) or a list of levels (`to: [month, year]`): the first level, and
    /// the list when a list was given. `None` when a level is not one `one` reads.
    pub(super) fn levels<T>(
        &mut self,
        v: Option<&Value>,
        path: &str,
        one: impl Fn(&Value) -> Option<T>,
    ) -> Option<(T, Option<Vec<T>>)>
    where
        T: Clone,
    {
        match v? {
            Value::Sequence(items) => {
                if items.is_empty() {
                    self.problem(path, "an empty list of levels");
                    return None;
                }
                let levels: Vec<T> = items.iter().map(&one).collect::<Option<_>>()?;
                Some((levels[0].clone(), Some(levels)))
            }
            v => one(v).map(|t| (t, None)),
        }
    }

    /// A column's `on_invalid`, `nullable` and `allow_interim` (checked against `value_type`),
    /// and that its `description` is text.
    fn column_options(
        &mut self,
        map: &Mapping,
        path: &str,
        value_type: ValueType,
    ) -> (OnInvalid, bool, bool) {
        let get = |k: &str| map.get(k);
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
        (on_invalid, nullable, allow_interim)
    }
}
