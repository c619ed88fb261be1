//! The column kernels: each turns a whole canonical array into an output array.
//!
//! Outputs are pre-sized (a token is always 32 bytes; a ciphertext is 4/3 of the value plus
//! 38 bytes), nulls stay nulls, and the keyed crypto state is built once per column and
//! cloned per value (see [`crate::keys`]).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Array, Date32Builder, Int32Builder,
    StringArray, StringBuilder, new_null_array,
};
use arrow::datatypes::{DataType, Date32Type};

use crate::arrays::{Utf8Column, utf8_array};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr, Sex};
use crate::keys::{Encryptor, TOKEN_HEX_LEN, Tokenizer};
use crate::policy::{Derivation, Generalization};

/// `tokenize`: 32 lowercase hex characters per non-null value.
///
/// Every token has the same length, so the values and offsets are written straight into
/// buffers sized up front; the nulls are the input's.
pub fn tokenize(values: &StringArray, tokenizer: &Tokenizer) -> ArrayRef {
    let n = values.len();
    let mut data = Vec::with_capacity((n - values.null_count()) * TOKEN_HEX_LEN);
    tokenizer.extend_hex(values.iter().flatten().map(str::as_bytes), &mut data);
    let mut offsets = Vec::with_capacity(n + 1);
    let mut end = 0i32;
    offsets.push(end);
    for i in 0..n {
        if values.is_valid(i) {
            // A batch holds far fewer than 2^31 / 32 tokens.
            end = end.saturating_add(TOKEN_HEX_LEN as i32);
        }
        offsets.push(end);
    }
    match utf8_array(offsets, data, values.nulls().cloned()) {
        Ok(a) => Arc::new(a),
        // Hex digits are ASCII and the offsets grow by 32: this cannot fail.
        Err(e) => unreachable!("token array: {e}"),
    }
}

/// `encrypt`: base64url of nonce ‖ ciphertext ‖ tag per non-null value.
pub fn encrypt(values: &StringArray, encryptor: &Encryptor) -> ArrayRef {
    let data = values.value_data().len();
    let mut b = StringBuilder::with_capacity(values.len(), data * 4 / 3 + values.len() * 40);
    let mut scratch = Vec::with_capacity(64);
    let mut out = String::with_capacity(64);
    for v in values.iter() {
        match v {
            Some(v) => {
                out.clear();
                encryptor.encrypt_into(v.as_bytes(), &mut scratch, &mut out);
                b.append_value(&out);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

/// `truncate`: the first `keep` characters.
///
/// Written straight into buffers; when the whole array is ASCII (postal codes, codes,
/// identity numbers) a character is a byte and no value is decoded.
pub fn truncate(values: &StringArray, keep: usize) -> ArrayRef {
    let n = values.len();
    let ascii = values.value_data().is_ascii();
    let mut out = Utf8Column::with_capacity(n, n * keep.min(64));
    for v in values.iter() {
        let v = v.unwrap_or_default();
        let end = if ascii {
            v.len().min(keep)
        } else {
            v.char_indices().nth(keep).map_or(v.len(), |(i, _)| i)
        };
        out.push(&v.as_bytes()[..end]);
    }
    match out.finish_with(values.nulls().cloned()) {
        Ok(a) => Arc::new(a),
        // Prefixes end on character boundaries of valid UTF-8: this cannot fail.
        Err(e) => unreachable!("truncated array: {e}"),
    }
}

/// `replace`: the constant for every non-null value.
pub fn replace(values: &StringArray, with: &str) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(values.len(), values.len() * with.len());
    for i in 0..values.len() {
        if values.is_null(i) {
            b.append_null();
        } else {
            b.append_value(with);
        }
    }
    Arc::new(b.finish())
}

/// `null`: a column of nulls of `data_type`.
pub fn null(data_type: &DataType, len: usize) -> ArrayRef {
    new_null_array(data_type, len)
}

/// The output type of a generalization.
pub fn generalize_type(g: Generalization) -> DataType {
    match g {
        Generalization::Year | Generalization::Decade => DataType::Int32,
        Generalization::Month | Generalization::AgeBand(_) => DataType::Utf8,
    }
}

/// `generalize` over dates (`Date32`).
pub fn generalize_dates(dates: &Date32Array, g: Generalization, reference: Date) -> ArrayRef {
    generalize_iter(
        dates.len(),
        dates
            .iter()
            .map(|d| d.map(|d| Birth::Full(Date::from_days(d)))),
        g,
        reference,
    )
}

/// `generalize` over canonical identity numbers, by their birth date.
pub fn generalize_pnr(values: &StringArray, g: Generalization, reference: Date) -> ArrayRef {
    let opts = ParseOptions {
        reference,
        allow_interim: true,
    };
    generalize_iter(
        values.len(),
        values.iter().map(|v| {
            let p = Pnr::parse(v?, &opts).ok()?;
            Some(match p.birth_date() {
                Some(d) => Birth::Full(d),
                None => Birth::YearOnly(p.birth_year()),
            })
        }),
        g,
        reference,
    )
}

/// A birth date, or only its year (samordningsnummer without a full date).
#[derive(Clone, Copy)]
enum Birth {
    Full(Date),
    YearOnly(i32),
}

impl Birth {
    fn year(self) -> i32 {
        match self {
            Birth::Full(d) => d.year,
            Birth::YearOnly(y) => y,
        }
    }
}

fn age_band(age: i32, n: u32) -> String {
    let n = i32::try_from(n).unwrap_or(1).max(1);
    let lo = age.div_euclid(n) * n;
    format!("{lo}-{}", lo + n - 1)
}

fn generalize_iter(
    len: usize,
    it: impl Iterator<Item = Option<Birth>>,
    g: Generalization,
    reference: Date,
) -> ArrayRef {
    match g {
        Generalization::Year | Generalization::Decade => {
            let mut b = Int32Builder::with_capacity(len);
            for v in it {
                b.append_option(v.map(|d| {
                    let y = d.year();
                    if g == Generalization::Decade {
                        y.div_euclid(10) * 10
                    } else {
                        y
                    }
                }));
            }
            Arc::new(b.finish())
        }
        Generalization::Month => {
            let mut b = StringBuilder::with_capacity(len, len * 7);
            for v in it {
                match v {
                    Some(Birth::Full(d)) => b.append_value(format!("{:04}-{:02}", d.year, d.month)),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Generalization::AgeBand(n) => {
            let mut b = StringBuilder::with_capacity(len, len * 5);
            for v in it {
                match v {
                    Some(Birth::Full(d)) => b.append_value(age_band(d.age_at(reference), n)),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// The output type of a derivation.
pub fn derive_type(d: Derivation) -> DataType {
    match d {
        Derivation::BirthDate => DataType::Date32,
        Derivation::BirthYear | Derivation::Age => DataType::Int32,
        Derivation::AgeBand(_) | Derivation::Sex => DataType::Utf8,
        Derivation::Coordination => DataType::Boolean,
    }
}

/// A `derive` entry over canonical identity numbers.
pub fn derive(values: &StringArray, what: Derivation, reference: Date) -> ArrayRef {
    let opts = ParseOptions {
        reference,
        allow_interim: true,
    };
    let n = values.len();
    let parsed = values.iter().map(|v| Pnr::parse(v?, &opts).ok());
    match what {
        Derivation::BirthDate => {
            let mut b = Date32Builder::with_capacity(n);
            for p in parsed {
                b.append_option(p.and_then(|p| p.birth_date()).map(Date::to_days));
            }
            Arc::new(b.finish())
        }
        Derivation::BirthYear => {
            let mut b = Int32Builder::with_capacity(n);
            for p in parsed {
                b.append_option(p.map(|p| p.birth_year()));
            }
            Arc::new(b.finish())
        }
        Derivation::Age => {
            let mut b = Int32Builder::with_capacity(n);
            for p in parsed {
                b.append_option(p.and_then(|p| p.age_at(reference)));
            }
            Arc::new(b.finish())
        }
        Derivation::AgeBand(k) => {
            let mut b = StringBuilder::with_capacity(n, n * 5);
            for p in parsed {
                match p.and_then(|p| p.age_at(reference)) {
                    Some(a) => b.append_value(age_band(a, k)),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Derivation::Sex => {
            let mut b = StringBuilder::with_capacity(n, n);
            for p in parsed {
                match p.map(|p| p.sex()) {
                    Some(Sex::Male) => b.append_value("M"),
                    Some(Sex::Female) => b.append_value("F"),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Derivation::Coordination => {
            let mut b = BooleanBuilder::with_capacity(n);
            for p in parsed {
                b.append_option(p.map(|p| p.is_coordination()));
            }
            Arc::new(b.finish())
        }
    }
}

/// Reads a typed `Date32` array.
pub fn as_dates(a: &ArrayRef) -> Option<&Date32Array> {
    a.as_primitive_opt::<Date32Type>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRing, MasterKey};

    fn test_ring() -> KeyRing {
        KeyRing::new(MasterKey::from_bytes([7u8; 32]), "test-domain")
    }

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    /// The naive per-row oracle: the library's own scalar functions, row by row.
    #[test]
    fn tokenize_matches_scalar_oracle_on_slices() {
        let ring = test_ring();
        let t = ring.tokenizer("person");
        let values: Vec<Option<String>> = (0..300)
            .map(|i| (i % 7 != 0).then(|| format!("v{i}-å")))
            .collect();
        let arr = StringArray::from(values.clone());
        for (off, len) in [(0, 300), (1, 10), (17, 200), (299, 1), (5, 0)] {
            let sliced = arr.slice(off, len);
            let out = strings(&tokenize(&sliced, &t));
            let want: Vec<Option<String>> = values[off..off + len]
                .iter()
                .map(|v| v.as_ref().map(|s| t.token(s.as_bytes())))
                .collect();
            assert_eq!(out, want);
        }
    }

    #[test]
    fn encrypt_round_trips() {
        let ring = test_ring();
        let e = ring.encryptor("case");
        let arr = StringArray::from(vec![Some("ÄR-1"), None, Some("")]);
        let out = encrypt(&arr, &e);
        let out = out.as_string::<i32>();
        assert_eq!(&e.decrypt(out.value(0)).unwrap()[..], "ÄR-1".as_bytes());
        assert!(out.is_null(1));
        assert_eq!(&e.decrypt(out.value(2)).unwrap()[..], b"");
    }

    #[test]
    fn truncate_counts_characters() {
        let arr = StringArray::from(vec![Some("åäöx"), Some("ab"), None]);
        assert_eq!(
            strings(&truncate(&arr, 3)),
            vec![Some("åäö".into()), Some("ab".into()), None]
        );
        // The ASCII path, on a slice of an array.
        let arr = StringArray::from(vec![Some("pad"), Some("11455"), None, Some("12")]);
        let sliced = arr.slice(1, 3);
        assert_eq!(
            strings(&truncate(&sliced, 3)),
            vec![Some("114".into()), None, Some("12".into())]
        );
    }

    #[test]
    fn generalize_dates_all_ways() {
        let reference = Date::new(2026, 1, 1).unwrap();
        let d = Date::new(1987, 6, 5).unwrap().to_days();
        let arr = Date32Array::from(vec![Some(d), None]);
        let y = generalize_dates(&arr, Generalization::Year, reference);
        assert_eq!(
            y.as_primitive::<arrow::datatypes::Int32Type>().value(0),
            1987
        );
        let dec = generalize_dates(&arr, Generalization::Decade, reference);
        assert_eq!(
            dec.as_primitive::<arrow::datatypes::Int32Type>().value(0),
            1980
        );
        assert_eq!(
            strings(&generalize_dates(&arr, Generalization::Month, reference)),
            vec![Some("1987-06".into()), None]
        );
        assert_eq!(
            strings(&generalize_dates(
                &arr,
                Generalization::AgeBand(5),
                reference
            )),
            vec![Some("35-39".into()), None]
        );
    }

    #[test]
    fn derivations() {
        let reference = Date::new(2026, 1, 1).unwrap();
        // Skatteverket test numbers: a personnummer and a samordningsnummer without full date.
        let arr = StringArray::from(vec![Some("194608239986"), None]);
        assert_eq!(
            strings(&derive(&arr, Derivation::Sex, reference)),
            vec![Some("F".into()), None]
        );
        let age = derive(&arr, Derivation::Age, reference);
        assert_eq!(
            age.as_primitive::<arrow::datatypes::Int32Type>().value(0),
            79
        );
        assert_eq!(
            strings(&derive(&arr, Derivation::AgeBand(10), reference)),
            vec![Some("70-79".into()), None]
        );
    }
}
