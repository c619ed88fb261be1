//! Reading the sample: the first rows of the input, each column's values, the statistics the
//! decisions read (detected kinds and their shares, lengths, distinct values), and the
//! sample's batches as `minex run` reads them (for the k-anonymity search).

use std::collections::HashSet;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Schema};

use crate::error::{Error, Location, Result};
use crate::ident::date::Date;
use crate::ident::detect::{self, DetectedKind, Detection};
use crate::ident::parse_bool;
use crate::io::{Input, ReadOptions};

use super::*;

/// One column of the sample: values trimmed, `None` for null or blank.
pub(super) struct ColumnSample {
    pub(super) values: Vec<Option<String>>,
}

/// The sample.
pub(super) struct Sample {
    /// The inputs' shared header.
    pub(super) header: Vec<String>,
    /// Each column's values, in header order.
    pub(super) columns: Vec<ColumnSample>,
    /// Data rows sampled.
    pub(super) rows: usize,
    /// Each input's label and Arrow schema, as `minex run` plans with them.
    pub(super) schemas: Vec<(String, Schema)>,
    /// The sampled rows as the run's reader gives them (every header column, untrimmed).
    pub(super) batches: Vec<RecordBatch>,
}

/// Reads the header (checking that every input shares it) and up to `sample_rows` rows.
pub(super) fn read_sample(opts: &InitOptions) -> Result<Sample> {
    let Some(first) = opts.inputs.first() else {
        return Err(Error::usage(
            "`minex init` needs at least one `--input FILE`",
        ));
    };
    let first = Input::open(first, &opts.read)?;
    let header = first.header.clone();
    let mut seen = HashSet::new();
    for h in &header {
        if !seen.insert(h.as_str()) {
            return Err(Error::malformed(
                Location::file(&first.path),
                format!("the header names column `{h}` twice; every column needs its own name"),
            ));
        }
    }
    let mut inputs = vec![first];
    for p in &opts.inputs[1..] {
        let i = Input::open(p, &opts.read)?;
        if i.header != header {
            return Err(Error::malformed(
                Location::file(p),
                "its header differs from the first input's; the inputs of one policy share one header",
            ));
        }
        inputs.push(i);
    }
    let mut columns: Vec<ColumnSample> = header
        .iter()
        .map(|_| ColumnSample { values: Vec::new() })
        .collect();
    let mut rows = 0usize;
    let mut batches = Vec::new();
    let read = ReadOptions {
        batch_size: opts.sample_rows.clamp(1, 8192),
        digest: false,
        ..opts.read.clone()
    };
    'files: for input in &inputs {
        let mut r = input.batches(&header, &read)?;
        while let Some((_, batch)) = r.next_batch()? {
            let take = batch.num_rows().min(opts.sample_rows - rows);
            for (ci, col) in columns.iter_mut().enumerate() {
                let array = batch.column(ci);
                let text = arrow::compute::cast(array, &DataType::Utf8).map_err(|_| {
                    Error::malformed(
                        Location::file(&input.path).with_column(header[ci].clone()),
                        "the column cannot be read as text",
                    )
                })?;
                let Some(text) = text.as_any().downcast_ref::<StringArray>() else {
                    return Err(Error::internal("a cast to text did not give text"));
                };
                col.values.extend(text.iter().take(take).map(|v| {
                    v.map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                }));
            }
            batches.push(batch.slice(0, take));
            rows += take;
            if rows >= opts.sample_rows {
                break 'files;
            }
        }
    }
    let schemas = inputs
        .iter()
        .map(|i| (i.path.display().to_string(), i.schema()))
        .collect();
    Ok(Sample {
        header,
        columns,
        rows,
        schemas,
        batches,
    })
}

/// Counts and shares of one sampled column; never a value.
pub(super) struct Stats {
    pub(super) detection: Detection,
    pub(super) non_null: usize,
    pub(super) nulls: usize,
    /// Distinct values, when at most `MAX_KEPT_DISTINCT`.
    pub(super) distinct: Option<usize>,
    pub(super) max_chars: usize,
    pub(super) avg_chars: f64,
    pub(super) spaced_share: f64,
    pub(super) bool_share: f64,
}

impl Stats {
    pub(super) fn share(&self, kind: DetectedKind) -> f64 {
        self.detection
            .scores
            .iter()
            .find(|s| s.0 == kind)
            .map_or(0.0, |s| s.1)
    }
}

// Counts are far below 2^53, so the conversions are exact.
#[allow(clippy::cast_precision_loss)]
pub(super) fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

pub(super) fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

pub(super) fn stats(col: &ColumnSample, reference: Date) -> Stats {
    let detection = detect::detect(col.values.iter().map(Option::as_deref), reference);
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut many = false;
    let (mut non_null, mut chars, mut max_chars, mut spaced, mut bools) = (0, 0, 0, 0, 0);
    for v in col.values.iter().flatten() {
        non_null += 1;
        let n = v.chars().count();
        chars += n;
        max_chars = max_chars.max(n);
        spaced += usize::from(v.contains(char::is_whitespace));
        bools += usize::from(parse_bool(v).is_ok());
        if !many {
            distinct.insert(v.as_str());
            many = distinct.len() > MAX_KEPT_DISTINCT;
        }
    }
    Stats {
        detection,
        non_null,
        nulls: col.values.len() - non_null,
        distinct: (!many).then_some(distinct.len()),
        max_chars,
        avg_chars: ratio(chars, non_null),
        spaced_share: ratio(spaced, non_null),
        bool_share: ratio(bools, non_null),
    }
}
