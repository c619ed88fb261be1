//! Canonicalization: an input column, as the reader gave it, becomes canonical values plus a
//! list of the rows whose value is invalid (with a reason code, never the value).
//!
//! Dispatch on the input's data type happens once per column per batch. String layouts other
//! than `Utf8` (`LargeUtf8`, `Utf8View`, dictionaries) and non-string Parquet columns are cast
//! to `Utf8` once; identity numbers stored as Parquet integers take their own path (a 10-digit
//! number loses its leading zeros as an integer).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Int64Array, Int64Builder, StringArray,
    StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};

use crate::error::{Error, Result};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{self, InvalidReason};
use crate::policy::{ColumnSpec, ValueType};

/// A column's canonical values for one batch.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// The canonical text of every value (null where the input is null or was invalid).
    pub text: StringArray,
    /// Typed values, for the types that have them (`date`, `integer`, `boolean`).
    pub typed: Option<ArrayRef>,
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
    let mut invalid = Vec::new();
    let opts = ParseOptions {
        reference,
        allow_interim: spec.allow_interim,
    };
    if spec.value_type == ValueType::Personnummer && array.data_type().is_integer() {
        let ints = cast(array, &DataType::Int64)
            .map_err(|e| Error::internal(format!("integer cast of `{}`: {e}", spec.name)))?;
        let ints: &Int64Array = ints.as_primitive::<Int64Type>();
        let mut b = StringBuilder::with_capacity(ints.len(), ints.len() * 12);
        for (i, v) in ints.iter().enumerate() {
            match v {
                None => null_or_missing(spec, i, &mut invalid, &mut b),
                Some(v) => match Pnr::from_integer(v, &opts) {
                    Ok(p) => b.append_value(p.as_str()),
                    Err(r) => {
                        invalid.push((i, r));
                        b.append_null();
                    }
                },
            }
        }
        return Ok((
            Canonical {
                text: b.finish(),
                typed: None,
            },
            invalid,
        ));
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
            Canonical { text, typed: None }
        }
        ValueType::Personnummer => {
            let mut b = StringBuilder::with_capacity(n, n * 12);
            for (i, v) in text.iter().enumerate() {
                match v {
                    None => null_or_missing(spec, i, &mut invalid, &mut b),
                    Some(s) => match Pnr::parse(s, &opts) {
                        Ok(p) => b.append_value(p.as_str()),
                        Err(r) => {
                            invalid.push((i, r));
                            b.append_null();
                        }
                    },
                }
            }
            Canonical {
                text: b.finish(),
                typed: None,
            }
        }
        ValueType::Email | ValueType::Phone => {
            let f = if spec.value_type == ValueType::Email {
                ident::email::canonicalize
            } else {
                ident::phone::canonicalize
            };
            let mut b = StringBuilder::with_capacity(n, text.value_data().len());
            let mut buf = String::new();
            for (i, v) in text.iter().enumerate() {
                match v {
                    None => null_or_missing(spec, i, &mut invalid, &mut b),
                    Some(s) => {
                        buf.clear();
                        match f(s, &mut buf) {
                            Ok(()) => b.append_value(&buf),
                            Err(r) => {
                                invalid.push((i, r));
                                b.append_null();
                            }
                        }
                    }
                }
            }
            Canonical {
                text: b.finish(),
                typed: None,
            }
        }
        ValueType::PostalCode => {
            let mut b = StringBuilder::with_capacity(n, n * 5);
            for (i, v) in text.iter().enumerate() {
                match v {
                    None => null_or_missing(spec, i, &mut invalid, &mut b),
                    Some(s) => match ident::postal::canonicalize(s) {
                        Ok(code) => b.append_value(std::str::from_utf8(&code).unwrap_or("")),
                        Err(r) => {
                            invalid.push((i, r));
                            b.append_null();
                        }
                    },
                }
            }
            Canonical {
                text: b.finish(),
                typed: None,
            }
        }
        ValueType::Date => {
            let mut b = StringBuilder::with_capacity(n, n * 10);
            let mut d = Date32Builder::with_capacity(n);
            let mut buf = String::with_capacity(10);
            for (i, v) in text.iter().enumerate() {
                match v.map(Date::parse) {
                    None => {
                        null_or_missing(spec, i, &mut invalid, &mut b);
                        d.append_null();
                    }
                    Some(Some(date)) => {
                        buf.clear();
                        date.write_iso(&mut buf);
                        b.append_value(&buf);
                        d.append_value(date.to_days());
                    }
                    Some(None) => {
                        invalid.push((i, InvalidReason::Date));
                        b.append_null();
                        d.append_null();
                    }
                }
            }
            Canonical {
                text: b.finish(),
                typed: Some(Arc::new(d.finish())),
            }
        }
        ValueType::Integer => {
            let mut b = StringBuilder::with_capacity(n, text.value_data().len());
            let mut t = Int64Builder::with_capacity(n);
            for (i, v) in text.iter().enumerate() {
                match v.map(ident::parse_i64) {
                    None => {
                        null_or_missing(spec, i, &mut invalid, &mut b);
                        t.append_null();
                    }
                    Some(Ok(x)) => {
                        b.append_value(x.to_string());
                        t.append_value(x);
                    }
                    Some(Err(r)) => {
                        invalid.push((i, r));
                        b.append_null();
                        t.append_null();
                    }
                }
            }
            Canonical {
                text: b.finish(),
                typed: Some(Arc::new(t.finish())),
            }
        }
        ValueType::Boolean => {
            let mut b = StringBuilder::with_capacity(n, n * 5);
            let mut t = BooleanBuilder::with_capacity(n);
            for (i, v) in text.iter().enumerate() {
                match v.map(ident::parse_bool) {
                    None => {
                        null_or_missing(spec, i, &mut invalid, &mut b);
                        t.append_null();
                    }
                    Some(Ok(x)) => {
                        b.append_value(if x { "true" } else { "false" });
                        t.append_value(x);
                    }
                    Some(Err(r)) => {
                        invalid.push((i, r));
                        b.append_null();
                        t.append_null();
                    }
                }
            }
            Canonical {
                text: b.finish(),
                typed: Some(Arc::new(t.finish())),
            }
        }
    };
    Ok((canonical, invalid))
}

fn null_or_missing(
    spec: &ColumnSpec,
    i: usize,
    invalid: &mut Vec<(usize, InvalidReason)>,
    b: &mut StringBuilder,
) {
    if !spec.nullable {
        invalid.push((i, InvalidReason::Missing));
    }
    b.append_null();
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

    fn spec(t: ValueType) -> ColumnSpec {
        ColumnSpec {
            name: "c".into(),
            value_type: t,
            action: Action::Keep,
            on_invalid: OnInvalid::Reject,
            nullable: t != ValueType::Personnummer,
            allow_interim: false,
            line: None,
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
            assert_eq!(c.text.value(0), "194608239986");
            assert_eq!(c.text.value(1), "194608239986");
            assert!(c.text.is_null(2));
            assert!(c.text.is_null(3));
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
        assert_eq!(c.text.value(0), "194608239986");
        assert_eq!(c.text.value(1), "194608239986");
        assert!(inv.is_empty());
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
        assert_eq!(c.text.value(1), "1987-06-05");
        assert_eq!(inv, vec![(2, InvalidReason::Date)]);
        let typed = c.typed.unwrap();
        assert_eq!(typed.data_type(), &DataType::Date32);

        let a: ArrayRef = Arc::new(StringArray::from(vec![Some(" 42 "), Some("x")]));
        let (c, inv) = canonicalize(&spec(ValueType::Integer), &a, reference()).unwrap();
        assert_eq!(c.text.value(0), "42");
        assert_eq!(inv.len(), 1);

        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("Ja"), Some("0")]));
        let (c, _) = canonicalize(&spec(ValueType::Boolean), &a, reference()).unwrap();
        assert_eq!(c.text.value(0), "true");
        assert_eq!(c.text.value(1), "false");
    }
}
