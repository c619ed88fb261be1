//! Writing the policy file: YAML quoting, safe comments, and each section of the scaffold.

use std::fmt::Write as _;
use std::path::Path;

use super::*;

/// Writes `s` as a YAML scalar: plain when safe, else double-quoted (JSON escaping is valid
/// YAML).
pub(super) fn yaml_str(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
    }
}

/// Text fit for a one-line comment.
pub(super) fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A policy name from a file name: lowercase letters, digits and dashes.
pub(super) fn name_from(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "extract".into()
    } else {
        out
    }
}

pub(super) fn render(
    opts: &InitOptions,
    columns: &[ColumnChoice],
    age_band: Option<&AgeBand>,
    sampled: usize,
    settled: &Settled,
) -> String {
    let mut t = String::new();
    render_head(&mut t, opts, sampled);
    render_rows(&mut t, columns, sampled);
    render_columns(&mut t, columns);
    render_derive(&mut t, age_band, settled);
    render_k_anonymity(&mut t, columns, settled);
    t
}

/// The head of the file: the comments, `version`, `name`, `description`, `domain`,
/// `reference_date` and `unknown_columns`.
fn render_head(t: &mut String, opts: &InitOptions, sampled: usize) {
    let files: Vec<String> = opts
        .inputs
        .iter()
        .map(|p| {
            comment_safe(
                &p.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let _ = writeln!(
        t,
        "# yaml-language-server: $schema=./minex-policy.schema.json"
    );
    t.push_str("#\n");
    let _ = writeln!(
        t,
        "# Written by `minex init` from the header of {} and a sample of its first {sampled} rows.",
        files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    t.push_str(
        "# A starting point, safe by default: every column is dropped unless its values and its\n\
         # name support a safer useful choice; the comment above each column says why. No value\n\
         # from the input is written here, only counts and shares.\n\
         #\n\
         # Before the first real run: set `domain` (one per recipient), read every column's\n\
         # comment and keep only what the recipient's purpose needs, then\n\
         #   minex check --policy THIS.yaml --input INPUT\n\
         #   minex plan  --policy THIS.yaml --input INPUT\n\
         # (editors check this file against schemas/minex-policy.schema.json when it lies beside it)\n\n",
    );
    t.push_str("version: 1\n");
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| name_from(opts.inputs.first().map_or(Path::new(""), |p| p)));
    let _ = writeln!(t, "name: {}", yaml_str(&name));
    t.push_str(
        "description: >-\n  Scaffold written by minex init. Describe the recipient and the purpose of this extract.\n",
    );
    match &opts.domain {
        Some(d) => {
            t.push_str(
                "# The pseudonymisation domain: one per recipient (and purpose). Tokens made for one\n\
                 # domain never match tokens made for another.\n",
            );
            let _ = writeln!(t, "domain: {}", yaml_str(d));
        }
        None => {
            t.push_str(
                "# CHANGE THIS: the pseudonymisation domain, one per recipient (and purpose), e.g. the\n\
                 # supplier's name. Tokens made for one domain never match tokens made for another, so\n\
                 # two recipients cannot join their extracts; never reuse a domain across recipients.\n",
            );
            let _ = writeln!(t, "domain: {PLACEHOLDER_DOMAIN}");
        }
    }
    t.push_str(
        "# Ages and the century of 10-digit personnummer (YYMMDD-NNNC) are computed at this date;\n\
         # it is recorded in the manifest so the run can be repeated.\n",
    );
    let _ = writeln!(t, "reference_date: {}", opts.reference_date);
    t.push_str(
        "# Fail closed: a column added to the register later stops the run until a steward has\n\
         # decided what to do with it here.\n\
         unknown_columns: error\n",
    );
}

/// The `rows` section: a rule for each protected-identity marker.
fn render_rows(t: &mut String, columns: &[ColumnChoice], sampled: usize) {
    let rules: Vec<&ColumnChoice> = columns
        .iter()
        .filter(|c| matches!(c.decision, Decision::ProtectedRule { .. }))
        .collect();
    if !rules.is_empty() {
        t.push_str(
            "\nrows:\n  drop_when:\n    # People with protected identity (skyddade personuppgifter) never leave the\n    # register, not even pseudonymised. The rule reads the column before it is dropped.\n",
        );
        for (i, c) in rules.iter().enumerate() {
            let Decision::ProtectedRule { marked } = &c.decision else {
                continue;
            };
            let label = if rules.len() == 1 {
                "protected_identity".to_string()
            } else {
                format!("protected_identity_{}", i + 1)
            };
            let _ = writeln!(
                t,
                "    # `{}`: {marked} of {sampled} sampled rows marked. The column is `type: boolean`, so",
                comment_safe(&c.name)
            );
            t.push_str(
                "    # `true`, `TRUE`, `1`, `ja`, `x` ... all match, and a value that is neither true nor\n    # false rejects its row.\n",
            );
            let _ = writeln!(t, "    - name: {label}");
            let _ = writeln!(t, "      column: {}", yaml_str(&c.name));
            t.push_str("      equals: \"true\"\n");
        }
    }
}

/// The `columns` section: each column's decision, with its reason as a comment.
fn render_columns(t: &mut String, columns: &[ColumnChoice]) {
    t.push_str("\ncolumns:\n");
    for c in columns {
        let _ = writeln!(t, "  # {}", comment_safe(&c.reason));
        let value = match &c.decision {
            Decision::Tokenize { nullable } => format!(
                "{{ type: personnummer, action: tokenize, space: {PERSON_SPACE}{} }}",
                if *nullable { ", nullable: true" } else { "" }
            ),
            Decision::GeneralizeBirth {
                ladder,
                invalid_to_null,
            } => format!(
                "{{ type: date, action: generalize, to: {}{} }}",
                ladder_text(ladder.iter().map(|l| l.name())),
                if *invalid_to_null {
                    ", on_invalid: null"
                } else {
                    ""
                }
            ),
            Decision::TruncatePostal {
                ladder,
                invalid_to_null,
            } => format!(
                "{{ type: postal_code, action: truncate, keep: {}{} }}",
                ladder_text(ladder.iter()),
                if *invalid_to_null {
                    ", on_invalid: null"
                } else {
                    ""
                }
            ),
            Decision::Keep => "keep".into(),
            Decision::ProtectedRule { .. } => "{ type: boolean, action: drop }".into(),
            Decision::Drop => "drop".into(),
        };
        let _ = writeln!(t, "  {}: {value}", yaml_str(&c.name));
    }
}

/// A ladder as YAML: `[month, year, decade]`, or the level alone when there is one.
fn ladder_text<T: std::fmt::Display>(levels: impl Iterator<Item = T>) -> String {
    let levels: Vec<String> = levels.map(|l| l.to_string()).collect();
    match levels.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", levels.join(", ")),
    }
}

/// The `derive` section: the age band, when one is derived (or why the one considered was
/// given up).
fn render_derive(t: &mut String, age_band: Option<&AgeBand>, settled: &Settled) {
    if let Some(a) = age_band {
        t.push_str(
            "
derive:
",
        );
        let _ = writeln!(t, "  # {}", comment_safe(&a.reason));
        let _ = writeln!(
            t,
            "  {}: {{ from: {}, what: {} }}",
            yaml_str(&a.name),
            yaml_str(&a.from),
            ladder_text(a.ladder.iter().map(|w| format!("age_band:{w}")))
        );
    } else if let Some(why) = &settled.age_band_dropped {
        let _ = write!(
            t,
            "
# {}
",
            comment_safe(why)
        );
    }
}

/// The `k_anonymity` section, when there are quasi-identifiers: with what the search chose
/// on the sample, once it has run.
fn render_k_anonymity(t: &mut String, columns: &[ColumnChoice], settled: &Settled) {
    let qis = &settled.quasi_identifiers;
    let dropped = if settled.dropped.is_empty() {
        String::new()
    } else {
        format!(
            "Given up because no combination of levels passed on the sample (see their comments): {}.",
            settled.dropped.join(", ")
        )
    };
    if qis.is_empty() {
        if !dropped.is_empty() {
            let _ = write!(
                t,
                "
# No k_anonymity section: no quasi-identifier is left. {}
",
                comment_safe(&dropped)
            );
        }
        return;
    }
    let mut c = String::from(
        "Quasi-identifiers: harmless alone, together they may single a person out. \
         Rows of classes smaller than k are suppressed. A ladder (`to: [...]`, `keep: [...]`, `what: [...]`) lists levels finest first: \
         `minex run` counts the classes once and searches every combination of one level per quasi-identifier for the least generalization (smallest sum of level indices) \
         that suppresses at most max_suppression of the rows that reach the gate; when none does, it fails and writes nothing. ",
    );
    if settled.search.as_ref().is_some_and(|s| s.rows_at_gate == 0) {
        c.push_str(
            "No sampled row reached the gate, so the sample could not check the ladders; `minex run` searches on the whole input. ",
        );
    } else if let Some(s) = &settled.search {
        let chosen = s
            .chosen
            .iter()
            .map(|(q, l)| format!("{q}: {}", shown_level(columns, q, l)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            c,
            "On the sample ({} rows at the gate), the search chose {chosen} (height {}; {} of {} combinations within the budget of {} rows), suppressing {} ({} rows). \
             `minex run` searches again on the whole input and may choose other levels; the manifest's `k_anonymity.search` says which. ",
            s.rows_at_gate,
            s.height,
            s.nodes_passing,
            s.nodes,
            s.budget,
            pct(ratio(
                usize::try_from(s.rows_suppressed).unwrap_or(usize::MAX),
                usize::try_from(s.rows_at_gate).unwrap_or(usize::MAX)
            )),
            s.rows_suppressed,
        );
    }
    c.push_str(&dropped);
    t.push('\n');
    for line in wrap(&comment_safe(c.trim_end()), 92) {
        let _ = writeln!(t, "# {line}");
    }
    let list: Vec<String> = qis.iter().map(|q| yaml_str(q)).collect();
    let _ = write!(
        t,
        "k_anonymity:\n  quasi_identifiers: [{}]\n  k: {K}\n  on_violation: suppress\n  max_suppression: {MAX_SUPPRESSION}\n",
        list.join(", ")
    );
}

/// Splits `text` into lines of at most `width` characters, at spaces (a longer word stays
/// whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
