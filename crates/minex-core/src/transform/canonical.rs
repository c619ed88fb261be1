//! Canonicalization: an input column, as the reader gave it, becomes canonical values plus a
//! list of the rows whose value is invalid (with a reason code, never the value).
//!
//! Dispatch on the input's data type happens once per column per batch. String layouts other
//! than `Utf8` (`LargeUtf8`, `Utf8View`, dictionaries) and non-string Parquet columns are cast
//! to `Utf8` once; identity numbers stored as Parquet integers take their own path (a 10-digit
//! number loses its leading zeros as an integer).

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Int64Array,
    Int64Builder, StringArray, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};

use crate::arrays::Utf8Column;
use crate::error::{Error, Result};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{self, InvalidReason};
use crate::policy::{ColumnSpec, ValueType};

/// A column's canonical values for one batch.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// The canonical text of every value (null where the input is null or was invalid);
    /// `None` for a typed column whose text no kernel reads (see [`canonicalize_with`]).
    pub text: Option<StringArray>,
    /// Typed values, for the types that have them (`date`, `integer`, `boolean`).
    pub typed: Option<ArrayRef>,
}

/// Identity numbers stored as integers (a 10-digit number has lost its leading zeros).
fn personnummer_from_integers(
    spec: &ColumnSpec,
    array: &ArrayRef,
    opts: &ParseOptions,
) -> Result<(Canonical, Vec<(usize, InvalidReason)>)> {
    let mut invalid = Vec::new();
    // An unsigned value beyond i64 is no identity number: it becomes -1, which is invalid
    // (`format`), never a silent null as a plain cast would make it.
    let ints = match array.as_primitive_opt::<arrow::datatypes::UInt64Type>() {
        Some(u) => std::sync::Arc::new(u.unary::<_, Int64Type>(|v| i64::try_from(v).unwrap_or(-1)))
            as ArrayRef,
        None => cast(array, &DataType::Int64)
            .map_err(|e| Error::internal(format!("integer cast of `{}`: {e}", spec.name)))?,
    };
    let ints: &Int64Array = ints.as_primitive::<Int64Type>();
    let text = each_value(
        spec,
        ints.iter(),
        12,
        true,
        &mut invalid,
        &mut (),
        |v, buf, _| {
            buf.push_str(Pnr::from_integer(v, opts)?.as_str());
            Ok(())
        },
    );
    Ok((Canonical { text, typed: None }, invalid))
}

/// Canonicalizes `array` as `spec` says. Returns the canonical values and the invalid rows
/// (batch-relative index, reason); invalid values are null in the result.
///
/// # Errors
/// `Internal` when an input type cannot be read as text (a bug: the plan checks types).
pub fn canonicalize(
    spec: &ColumnSpec,
    array: &ArrayRef,
    reference: Date,
) -> Result<(Canonical, Vec<(usize, InvalidReason)>)> {
    canonicalize_with(spec, array, reference, true)
}

/// As [`canonicalize`]; with `want_text` false, a column that has typed values (`date`,
/// `integer`, `boolean`) gets no canonical text (all null): for when no kernel reads it.
/// Validation is the same either way.
///
/// # Errors
/// As [`canonicalize`].
pub fn canonicalize_with(
    spec: &ColumnSpec,
    array: &ArrayRef,
    reference: Date,
    want_text: bool,
) -> Result<(Canonical, Vec<(usize, InvalidReason)>)> {
    let mut invalid = Vec::new();
    let opts = ParseOptions {
        reference,
        allow_interim: spec.allow_interim,
    };
    if spec.value_type == ValueType::Personnummer && array.data_type().is_integer() {
        return personnummer_from_integers(spec, array, &opts);
    }

    let text = as_utf8(array, &spec.name)?;
    let n = text.len();
    let canonical = match spec.value_type {
        ValueType::String => {
            if !spec.nullable && text.null_count() > 0 {
                for i in 0..n {
                    if text.is_null(i) {
                        invalid.push((i, InvalidReason::Missing));
                    }
                }
            }
            Canonical {
                text: Some(text),
                typed: None,
            }
        }
        ValueType::Personnummer => Canonical {
            text: Some(each_fixed(spec, &text, &mut invalid, |s| {
                Pnr::parse(s, &opts).map(|p| *p.canonical())
            })),
            typed: None,
        },
        ValueType::Email => Canonical {
            text: each_value(
                spec,
                text.iter(),
                24,
                true,
                &mut invalid,
                &mut (),
                |s, buf, _| ident::email::canonicalize(s, buf),
            ),
            typed: None,
        },
        ValueType::Phone => Canonical {
            text: each_value(
                spec,
                text.iter(),
                12,
                true,
                &mut invalid,
                &mut (),
                |s, buf, _| ident::phone::canonicalize(s, buf),
            ),
            typed: None,
        },
        ValueType::PostalCode => Canonical {
            text: Some(each_fixed(
                spec,
                &text,
                &mut invalid,
                ident::postal::canonicalize,
            )),
            typed: None,
        },
        ValueType::Date => typed_column(
            spec,
            &text,
            10,
            want_text,
            &mut invalid,
            Date32Builder::with_capacity(n),
            |s| Date::parse(s).ok_or(InvalidReason::Date),
            |b, d| b.append_option(d.map(|d| d.to_days())),
            |d, buf| d.write_iso(buf),
        ),
        ValueType::Integer => typed_column(
            spec,
            &text,
            8,
            want_text,
            &mut invalid,
            Int64Builder::with_capacity(n),
            ident::parse_i64,
            |b, x| b.append_option(x.copied()),
            |x, buf| buf.push_str(&x.to_string()),
        ),
        ValueType::Boolean => typed_column(
            spec,
            &text,
            5,
            want_text,
            &mut invalid,
            BooleanBuilder::with_capacity(n),
            ident::parse_bool,
            |b, x| b.append_option(x.copied()),
            |x, buf| buf.push_str(if *x { "true" } else { "false" }),
        ),
    };
    Ok((canonical, invalid))
}

/// A column with typed values (`date`, `integer`, `boolean`): each value is parsed once; its
/// typed value is appended to `builder` (null where it is invalid) and its canonical text is
/// rendered only when `want_text`.
#[allow(clippy::too_many_arguments)]
fn typed_column<T, B: TypedSink + ArrayBuilder>(
    spec: &ColumnSpec,
    text: &StringArray,
    bytes_per_value: usize,
    want_text: bool,
    invalid: &mut Vec<(usize, InvalidReason)>,
    mut builder: B,
    parse: impl Fn(&str) -> std::result::Result<T, InvalidReason>,
    append: impl Fn(&mut B, Option<&T>),
    render: impl Fn(&T, &mut String),
) -> Canonical {
    let text = each_value(
        spec,
        text.iter(),
        bytes_per_value,
        want_text,
        invalid,
        &mut builder,
        |s, buf, b| {
            let v = parse(s);
            append(b, v.as_ref().ok());
            let v = v?;
            if want_text {
                render(&v, buf);
            }
            Ok(())
        },
    );
    Canonical {
        text,
        typed: Some(ArrayBuilder::finish(&mut builder)),
    }
}

/// A typed builder fed alongside the canonical text: `each_value` appends its nulls.
trait TypedSink {
    fn push_null(&mut self);
}

impl TypedSink for () {
    fn push_null(&mut self) {}
}

impl<P: arrow::datatypes::ArrowPrimitiveType> TypedSink for arrow::array::PrimitiveBuilder<P> {
    fn push_null(&mut self) {
        self.append_null();
    }
}

impl TypedSink for BooleanBuilder {
    fn push_null(&mut self) {
        self.append_null();
    }
}

/// The one canonicalization loop: `f` writes a non-null value's canonical text into its
/// buffer (and its typed value into `typed`, valid or null) or says why it is invalid. An
/// invalid value is null in the result; a null where the column is not nullable is invalid
/// as `missing`.
fn each_value<T, S: TypedSink>(
    spec: &ColumnSpec,
    values: impl ExactSizeIterator<Item = Option<T>>,
    bytes_per_value: usize,
    want_text: bool,
    invalid: &mut Vec<(usize, InvalidReason)>,
    typed: &mut S,
    mut f: impl FnMut(T, &mut String, &mut S) -> std::result::Result<(), InvalidReason>,
) -> Option<StringArray> {
    let n = values.len();
    let mut b = StringBuilder::with_capacity(
        if want_text { n } else { 0 },
        if want_text { n * bytes_per_value } else { 0 },
    );
    let mut buf = String::with_capacity(64);
    for (i, v) in values.enumerate() {
        match v {
            None => {
                if !spec.nullable {
                    invalid.push((i, InvalidReason::Missing));
                }
                if want_text {
                    b.append_null();
                }
                typed.push_null();
            }
            Some(v) => {
                buf.clear();
                match f(v, &mut buf, typed) {
                    Ok(()) if want_text => b.append_value(&buf),
                    Ok(()) => {}
                    Err(r) => {
                        invalid.push((i, r));
                        if want_text {
                            b.append_null();
                        }
                    }
                }
            }
        }
    }
    want_text.then(|| b.finish())
}

/// The canonicalization loop for types whose canonical form is `W` ASCII bytes (identity
/// numbers, postal codes): the bytes go straight into the array's buffer, sized up front.
/// Nulls and invalid values as in [`each_value`].
fn each_fixed<const W: usize>(
    spec: &ColumnSpec,
    values: &StringArray,
    invalid: &mut Vec<(usize, InvalidReason)>,
    mut f: impl FnMut(&str) -> std::result::Result<[u8; W], InvalidReason>,
) -> StringArray {
    let n = values.len();
    let mut out = Utf8Column::with_capacity(n, n * W);
    for (i, v) in values.iter().enumerate() {
        match v {
            None => {
                if !spec.nullable {
                    invalid.push((i, InvalidReason::Missing));
                }
                out.push_null();
            }
            Some(v) => match f(v) {
                Ok(bytes) => out.push(&bytes),
                Err(r) => {
                    invalid.push((i, r));
                    out.push_null();
                }
            },
        }
    }
    match out.finish() {
        Ok(a) => a,
        // Canonical forms are ASCII and every offset moves by 0 or W: this cannot fail.
        Err(e) => unreachable!("canonical array: {e}"),
    }
}

/// The canonical text of one value of type `value_type`, exactly as [`canonicalize`] renders
/// it in a column (`" TRUE "` as a boolean is `true`, a 10-digit personnummer its 12 digits).
/// Row rules on typed columns compare these.
///
/// # Errors
/// The reason the value is invalid for the type.
pub fn canonical_value(
    value_type: ValueType,
    value: &str,
    reference: Date,
    allow_interim: bool,
) -> std::result::Result<String, InvalidReason> {
    let opts = ParseOptions {
        reference,
        allow_interim,
    };
    let mut out = String::new();
    match value_type {
        ValueType::String => out.push_str(value),
        ValueType::Integer => out.push_str(&ident::parse_i64(value)?.to_string()),
        ValueType::Boolean => out.push_str(if ident::parse_bool(value)? {
            "true"
        } else {
            "false"
        }),
        ValueType::Date => Date::parse(value)
            .ok_or(InvalidReason::Date)?
            .write_iso(&mut out),
        ValueType::Personnummer => out.push_str(Pnr::parse(value, &opts)?.as_str()),
        ValueType::Email => ident::email::canonicalize(value, &mut out)?,
        ValueType::Phone => ident::phone::canonicalize(value, &mut out)?,
        ValueType::PostalCode => {
            let code = ident::postal::canonicalize(value)?;
            out.push_str(std::str::from_utf8(&code).map_err(|_| InvalidReason::Format)?);
        }
    }
    Ok(out)
}

/// Any input column as `Utf8` text (a no-op for `Utf8`).
///
/// # Errors
/// `Internal` when arrow cannot cast the type to text.
pub fn as_utf8(array: &ArrayRef, name: &str) -> Result<StringArray> {
    if let Some(s) = array.as_string_opt::<i32>() {
        return Ok(s.clone());
    }
    let casted = cast(array, &DataType::Utf8).map_err(|_| {
        Error::internal(format!(
            "column `{name}` of type {} cannot be read as text",
            array.data_type()
        ))
    })?;
    Ok(casted.as_string::<i32>().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, OnInvalid};
    use arrow::array::{DictionaryArray, LargeStringArray, StringViewArray};
    use arrow::datatypes::Int32Type;
    use std::sync::Arc;

    fn spec(t: ValueType) -> ColumnSpec {
        ColumnSpec {
            name: "c".into(),
            value_type: t,
            action: Action::Keep,
            on_invalid: OnInvalid::Reject,
            nullable: t != ValueType::Personnummer,
            allow_interim: false,
            line: None,
            ladder: None,
        }
    }

    fn reference() -> Date {
        Date::new(2026, 1, 1).unwrap()
    }

    /// Every string layout, sliced too, gives the same canonical values.
    fn layouts(values: &[Option<&str>]) -> Vec<ArrayRef> {
        let mut padded = vec![Some("pad")];
        padded.extend_from_slice(values);
        let utf8 = StringArray::from(padded.clone());
        vec![
            Arc::new(StringArray::from(values.to_vec())),
            Arc::new(LargeStringArray::from(values.to_vec())),
            Arc::new(StringViewArray::from(values.to_vec())),
            Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
            Arc::new(utf8.slice(1, values.len())),
        ]
    }

    #[test]
    fn personnummer_in_every_layout() {
        let values = [
            Some("19460823-9986"),
            Some("460823-9986"),
            None,
            Some("197004289895"),
            Some("194608239986"),
        ];
        for a in layouts(&values) {
            let (c, inv) = canonicalize(&spec(ValueType::Personnummer), &a, reference()).unwrap();
            assert_eq!(c.text.as_ref().unwrap().value(0), "194608239986");
            assert_eq!(c.text.as_ref().unwrap().value(1), "194608239986");
            assert!(c.text.as_ref().unwrap().is_null(2));
            assert!(c.text.as_ref().unwrap().is_null(3));
            assert_eq!(
                inv,
                vec![(2, InvalidReason::Missing), (3, InvalidReason::Checksum)]
            );
        }
    }

    #[test]
    fn personnummer_from_integers() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(194608239986),
            Some(4608239986),
            None,
        ]));
        let mut s = spec(ValueType::Personnummer);
        s.nullable = true;
        let (c, inv) = canonicalize(&s, &a, reference()).unwrap();
        assert_eq!(c.text.as_ref().unwrap().value(0), "194608239986");
        assert_eq!(c.text.as_ref().unwrap().value(1), "194608239986");
        assert!(inv.is_empty());
    }

    /// Without text, typed columns validate the same and give the same typed values.
    #[test]
    fn typed_columns_without_text_validate_the_same() {
        let cases: [(ValueType, Vec<Option<&str>>); 3] = [
            (
                ValueType::Date,
                vec![
                    Some("1987-06-05"),
                    Some("19870605"),
                    Some("1987-02-30"),
                    None,
                ],
            ),
            (ValueType::Integer, vec![Some(" 42 "), Some("x"), None]),
            (
                ValueType::Boolean,
                vec![Some("Ja"), Some("0"), Some("kanske"), None],
            ),
        ];
        for (t, values) in cases {
            let a: ArrayRef = Arc::new(StringArray::from(values));
            let (with, inv_with) = canonicalize_with(&spec(t), &a, reference(), true).unwrap();
            let (without, inv_without) =
                canonicalize_with(&spec(t), &a, reference(), false).unwrap();
            assert_eq!(inv_with, inv_without);
            assert_eq!(
                with.typed.unwrap().to_data(),
                without.typed.unwrap().to_data()
            );
            assert!(with.text.is_some());
            assert!(without.text.is_none());
        }
    }

    #[test]
    fn dates_integers_booleans() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1987-06-05"),
            Some("19870605"),
            Some("1987-02-30"),
            None,
        ]));
        let (c, inv) = canonicalize(&spec(ValueType::Date), &a, reference()).unwrap();
        assert_eq!(c.text.as_ref().unwrap().value(1), "1987-06-05");
        assert_eq!(inv, vec![(2, InvalidReason::Date)]);
        let typed = c.typed.unwrap();
        assert_eq!(typed.data_type(), &DataType::Date32);

        let a: ArrayRef = Arc::new(StringArray::from(vec![Some(" 42 "), Some("x")]));
        let (c, inv) = canonicalize(&spec(ValueType::Integer), &a, reference()).unwrap();
        assert_eq!(c.text.as_ref().unwrap().value(0), "42");
        assert_eq!(inv.len(), 1);

        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("Ja"), Some("0")]));
        let (c, _) = canonicalize(&spec(ValueType::Boolean), &a, reference()).unwrap();
        assert_eq!(c.text.as_ref().unwrap().value(0), "true");
        assert_eq!(c.text.as_ref().unwrap().value(1), "false");
    }
}
