//! The k-anonymity part of the scaffold: the quasi-identifiers, the derived age band, and the
//! core's search on the sample, giving up the quasi-identifier with the most distinct values
//! at its coarsest level until some combination of levels passes.
//!
//! Nothing here counts classes or suppressed rows: the candidate policy is parsed, a
//! [`Transformer`] counts the sample as `minex run` counts the input, and [`Gate`] decides.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Schema};
use minex_core::{ClassCounts, Gate, Plan, Policy, Transformer};

use crate::ident::detect::DetectedKind;
use crate::keys::MasterKey;

use super::*;

/// The k-anonymity section as settled on the sample.
#[derive(Debug, Clone, Default)]
pub(super) struct Settled {
    /// The quasi-identifiers written (empty: no section).
    pub(super) quasi_identifiers: Vec<String>,
    /// What the search chose on the sample.
    pub(super) search: Option<SampleSearch>,
    /// The quasi-identifiers given up, in order.
    pub(super) dropped: Vec<String>,
    /// Why no age band is derived after all (it was given up), for a comment.
    pub(super) age_band_dropped: Option<String>,
}

/// The age band derived from an identity number: only when no date of birth is generalized
/// (an age band next to a date of birth adds a quasi-identifier and nothing else), from the
/// tokenized column with the most valid identity numbers, when they are in at least
/// [`AGE_BAND_MIN_SHARE`] of the sampled rows.
pub(super) fn age_band(
    columns: &[ColumnChoice],
    stats: &[Stats],
    sampled: usize,
) -> Option<AgeBand> {
    if columns
        .iter()
        .any(|c| matches!(c.decision, Decision::GeneralizeBirth { .. }))
    {
        return None;
    }
    let (from, valid) = columns
        .iter()
        .zip(stats)
        .filter(|(c, _)| matches!(c.decision, Decision::Tokenize { .. }))
        .map(|(c, s)| (c, valid_numbers(s)))
        .max_by_key(|(_, valid)| *valid)?;
    let share = ratio(valid, sampled);
    if valid == 0 || share < AGE_BAND_MIN_SHARE {
        return None;
    }
    let taken: HashSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let name = std::iter::once("age_band".to_string())
        .chain((2..).map(|i| format!("age_band_{i}")))
        .find(|n| !taken.contains(n.as_str()))?;
    let ladder = AGE_BAND_LADDER.to_vec();
    let reason = format!(
        "no column is a date of birth, and {} of the {sampled} sampled rows hold a valid identity number in `{}`: the age at the reference date, in bands along a ladder, {} years",
        pct(share),
        comment_safe(&from.name),
        ladder
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" → ")
    );
    Some(AgeBand {
        name,
        from: from.name.clone(),
        ladder,
        reason,
    })
}

/// Sampled values of a column that are valid identity numbers (from the detection's share).
fn valid_numbers(s: &Stats) -> usize {
    // The share is of `non_null` values, so the product is a count (rounded).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let n = (s.share(DetectedKind::Personnummer) * s.non_null as f64).round() as usize;
    n
}

/// The quasi-identifiers: the generalized, truncated and kept columns in header order, then
/// the derived age band.
pub(super) fn quasi_identifiers(
    columns: &[ColumnChoice],
    age_band: Option<&AgeBand>,
) -> Vec<String> {
    columns
        .iter()
        .filter(|c| {
            matches!(
                c.decision,
                Decision::GeneralizeBirth { .. } | Decision::TruncatePostal { .. } | Decision::Keep
            )
        })
        .map(|c| c.name.clone())
        .chain(age_band.map(|a| a.name.clone()))
        .collect()
}

/// A level as the comments show it: `2 digits` for a postal code's `2`, else the policy's
/// spelling (`year`, `age_band:10`, `keep`).
pub(super) fn shown_level(columns: &[ColumnChoice], qi: &str, level: &str) -> String {
    let postal = columns
        .iter()
        .any(|c| c.name == qi && matches!(c.decision, Decision::TruncatePostal { .. }));
    match (postal, level) {
        (true, "1") => "1 digit".into(),
        (true, n) => format!("{n} digits"),
        (false, l) => l.to_string(),
    }
}

fn internal(what: &str) -> impl Fn(minex_core::Error) -> Error + '_ {
    move |e| {
        Error::internal(format!(
            "minex init could not {what} ({e}); please report this"
        ))
    }
}

/// Writes the candidate policy, searches on the sample, and gives up quasi-identifiers until
/// a combination of levels passes (or none is left). Updates the columns' decisions and
/// reasons and the age band.
pub(super) fn settle(
    opts: &InitOptions,
    columns: &mut [ColumnChoice],
    age_band: &mut Option<AgeBand>,
    sample: &Sample,
) -> Result<Settled> {
    let key = MasterKey::generate()?;
    let named: Vec<(&str, &Schema)> = sample
        .schemas
        .iter()
        .map(|(label, schema)| (label.as_str(), schema))
        .collect();
    let mut settled = Settled::default();
    loop {
        settled.quasi_identifiers = quasi_identifiers(columns, age_band.as_ref());
        if settled.quasi_identifiers.is_empty() {
            return Ok(settled);
        }
        let text = render(opts, columns, age_band.as_ref(), sample.rows, &settled);
        let policy = crate::policy::from_str(&text, Path::new("minex-init.yaml"))
            .map_err(internal("parse the policy it wrote"))?;
        let plan =
            Plan::for_inputs(&policy, &named).map_err(internal("plan the policy it wrote"))?;
        let tx = Transformer::new(&plan, &key).map_err(internal("key the policy it wrote"))?;
        let mut counts = ClassCounts::default();
        for batch in &sample.batches {
            tx.count_classes(batch, &mut counts)
                .map_err(internal("count the sample's classes"))?;
        }
        let gate =
            Gate::for_policy(&policy, counts).map_err(internal("search the sample's classes"))?;
        if gate.check().is_ok() {
            let search = sample_search(&policy, &gate)?;
            note_levels(columns, age_band.as_mut(), &search);
            settled.search = Some(search);
            return Ok(settled);
        }
        give_up_one(columns, age_band, &mut settled, &policy, &tx, &gate, sample)?;
    }
}

/// What the search chose, from the gate.
fn sample_search(policy: &Policy, gate: &Gate) -> Result<SampleSearch> {
    let spec = policy
        .k_anonymity
        .as_ref()
        .ok_or_else(|| Error::internal("a searched policy without k_anonymity"))?;
    let budget = minex_core::gate::budget(spec, gate.rows_at_gate());
    let ladders = policy.ladders();
    let (chosen, height, nodes, nodes_passing) = match gate.search() {
        Some(s) => (
            ladders
                .iter()
                .map(|(q, l)| {
                    let level = s.chosen.get(q).or(l.first()).cloned().unwrap_or_default();
                    (q.clone(), level)
                })
                .collect(),
            s.height,
            s.nodes,
            s.nodes_passing,
        ),
        // No ladder (only kept codes): a single combination, which passed.
        None => (
            ladders
                .iter()
                .map(|(q, l)| (q.clone(), l.first().cloned().unwrap_or_default()))
                .collect(),
            0,
            1,
            1,
        ),
    };
    Ok(SampleSearch {
        chosen,
        height,
        nodes,
        nodes_passing,
        rows_at_gate: gate.rows_at_gate(),
        rows_suppressed: gate.rows_below(),
        budget,
    })
}

/// Adds the level the search chose on the sample to each laddered column's reason.
fn note_levels(
    columns: &mut [ColumnChoice],
    age_band: Option<&mut AgeBand>,
    search: &SampleSearch,
) {
    let shown: Vec<(String, String)> = search
        .chosen
        .iter()
        .map(|(q, l)| (q.clone(), shown_level(columns, q, l)))
        .collect();
    for (q, level) in &shown {
        if let Some(c) = columns.iter_mut().find(|c| &c.name == q)
            && matches!(
                c.decision,
                Decision::GeneralizeBirth { .. } | Decision::TruncatePostal { .. }
            )
        {
            let _ = write!(c.reason, "; on the sample the search chose {level}");
        }
    }
    if let Some(a) = age_band
        && let Some((_, level)) = shown.iter().find(|(q, _)| *q == a.name)
    {
        let _ = write!(a.reason, "; on the sample the search chose {level}");
    }
}

/// Distinct non-null values of each quasi-identifier in the transformer's output of the
/// sample (rows removed by a rule or rejected are not in it).
fn distinct_values(
    tx: &Transformer,
    batches: &[RecordBatch],
    qis: &[String],
) -> Result<Vec<usize>> {
    let mut sets: Vec<HashSet<String>> = vec![HashSet::new(); qis.len()];
    for batch in batches {
        let out = tx
            .transform(batch)
            .map_err(internal("transform the sample"))?;
        for (q, set) in qis.iter().zip(&mut sets) {
            let Some(col) = out.batch.column_by_name(q) else {
                continue;
            };
            let text = arrow::compute::cast(col, &DataType::Utf8)
                .map_err(|e| Error::internal(format!("a level cast to text: {e}")))?;
            let Some(text) = text.as_any().downcast_ref::<StringArray>() else {
                return Err(Error::internal("a cast to text did not give text"));
            };
            set.extend(text.iter().flatten().map(str::to_string));
        }
    }
    Ok(sets.iter().map(HashSet::len).collect())
}

/// No combination of levels passed: gives up the quasi-identifier with the most distinct
/// values at its coarsest level (ties: the most at its finest level, then the later one),
/// saying why in its comment.
fn give_up_one(
    columns: &mut [ColumnChoice],
    age_band: &mut Option<AgeBand>,
    settled: &mut Settled,
    policy: &Policy,
    tx: &Transformer,
    gate: &Gate,
    sample: &Sample,
) -> Result<()> {
    let qis = settled.quasi_identifiers.clone();
    let ladders = policy.ladders();
    let top: Vec<usize> = ladders
        .iter()
        .map(|(_, l)| l.len().saturating_sub(1))
        .collect();
    let coarsest = distinct_values(
        &tx.at_levels(&top)
            .map_err(internal("take the coarsest levels"))?,
        &sample.batches,
        &qis,
    )?;
    let finest = distinct_values(tx, &sample.batches, &qis)?;
    let Some(i) = (0..qis.len()).max_by_key(|&i| (coarsest[i], finest[i], i)) else {
        return Err(Error::internal("no quasi-identifier to give up"));
    };
    let spec = policy
        .k_anonymity
        .as_ref()
        .ok_or_else(|| Error::internal("a searched policy without k_anonymity"))?;
    let budget = minex_core::gate::budget(spec, gate.rows_at_gate());
    let levels = ladders
        .iter()
        .map(|(q, l)| {
            format!(
                "{q}: {}",
                shown_level(columns, q, l.last().map_or("", String::as_str))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let others = qis
        .iter()
        .zip(&coarsest)
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, (q, n))| format!("{q} {n}"))
        .collect::<Vec<_>>();
    let why = format!(
        "but dropped: at the coarsest levels ({levels}) {} of the {} sampled rows at the gate ({}) fell in classes smaller than k = {K}, more than the {budget} rows max_suppression = {MAX_SUPPRESSION} allows, so no combination of levels passed; among the quasi-identifiers it had the most distinct values at its coarsest level ({}{})",
        gate.rows_below(),
        gate.rows_at_gate(),
        pct(gate.share_below()),
        coarsest[i],
        if others.is_empty() {
            String::new()
        } else {
            format!("; {}", others.join(", "))
        }
    );
    let q = &qis[i];
    if let Some(c) = columns.iter_mut().find(|c| &c.name == q) {
        let what = c.reason.split_once(": ").map_or("", |w| w.0).to_string();
        c.reason = format!("{what}; {why}");
        c.decision = Decision::Drop;
    } else if age_band.as_ref().is_some_and(|a| &a.name == q) {
        if let Some(a) = age_band.take() {
            settled.age_band_dropped = Some(format!(
                "An age band `{}` derived from `{}` was considered and {why}.",
                a.name,
                comment_safe(&a.from)
            ));
        }
    } else {
        return Err(Error::internal(format!(
            "quasi-identifier `{q}` is neither a column nor the age band"
        )));
    }
    settled.dropped.push(q.clone());
    Ok(())
}
