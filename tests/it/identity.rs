//! Identity numbers through the column kernels: every spelling of one number gives one token,
//! and the reason codes are right. Reads the personnummer projects' shared list from
//! `../shared/testdata` (independent of this project).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use minex::ident::InvalidReason;
use minex::ident::date::Date;
use minex::keys::{KeyRing, MasterKey};
use minex::policy::{Action, ColumnSpec, OnInvalid, ValueType};
use minex::transform::{canonicalize, kernels};

/// A fixed test key, never used for real data.
const TEST_KEY: [u8; 32] = [0x5a; 32];

fn spec() -> ColumnSpec {
    ColumnSpec {
        name: "personnummer".into(),
        value_type: ValueType::Personnummer,
        action: Action::Tokenize {
            space: "person".into(),
        },
        on_invalid: OnInvalid::Reject,
        nullable: false,
        allow_interim: false,
        line: None,
        ladder: None,
    }
}

fn list() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/personnummer/list.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_spelling_of_a_number_gives_one_token() {
    let reference = Date::new(2026, 1, 1).unwrap();
    let tok = KeyRing::new(MasterKey::from_bytes(TEST_KEY), "test-domain").tokenizer("person");
    let mut checked = 0;
    for r in list().iter().filter(|r| r["valid"] == true) {
        let long = r["long_format"].as_str().unwrap();
        let born: i32 = long[..4].parse().unwrap();
        // The 10-digit form without a separator means `-`: for a person aged 100 or more it
        // names someone a century younger (see testdata/personnummer/README.md).
        let mut spellings = vec![
            long,
            r["separated_format"].as_str().unwrap(),
            r["separated_long"].as_str().unwrap(),
        ];
        if 2026 - born < 100 {
            spellings.push(r["short_format"].as_str().unwrap());
        }
        let array: ArrayRef = Arc::new(StringArray::from(spellings.clone()));
        let (canon, invalid) = canonicalize(&spec(), &array, reference).unwrap();
        assert!(invalid.is_empty(), "{long}: {invalid:?}");
        let tokens = kernels::tokenize(canon.text.as_ref().unwrap(), &tok);
        let tokens = tokens.as_string::<i32>();
        for (i, spelling) in spellings.iter().enumerate() {
            assert_eq!(
                canon.text.as_ref().unwrap().value(i),
                long,
                "spelling {spelling}"
            );
            assert_eq!(tokens.value(i), tok.token(long.as_bytes()));
        }
        assert_eq!(tokens.len(), spellings.len());
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![r["integer"].as_i64().unwrap()]));
        let (canon, invalid) = canonicalize(&spec(), &ints, reference).unwrap();
        assert!(invalid.is_empty());
        assert_eq!(canon.text.as_ref().unwrap().value(0), long);
        checked += 1;
    }
    assert_eq!(checked, 8, "list.json has 8 valid records");
}

#[test]
fn invalid_numbers_get_the_right_reason() {
    let reference = Date::new(2026, 1, 1).unwrap();
    let mut reasons = Vec::new();
    for r in list().iter().filter(|r| r["valid"] == false) {
        let long = r["long_format"].as_str().unwrap();
        let array: ArrayRef = Arc::new(StringArray::from(vec![long]));
        let (canon, invalid) = canonicalize(&spec(), &array, reference).unwrap();
        assert!(canon.text.as_ref().unwrap().is_null(0));
        reasons.push((long.to_string(), invalid[0].1));
    }
    let want = [
        ("201509160006", InvalidReason::Serial),
        ("197004289895", InvalidReason::Checksum),
        ("194205669899", InvalidReason::Checksum),
        ("196004309886", InvalidReason::Checksum),
        ("197210869924", InvalidReason::Checksum),
        ("19090527 1474", InvalidReason::Format),
    ];
    for (long, reason) in want {
        assert!(
            reasons.contains(&(long.to_string(), reason)),
            "{long}: want {reason:?}, got {reasons:?}"
        );
    }
    assert_eq!(reasons.len(), want.len());
    // Organisation numbers (AP-fonderna, from orgnumber.json) and a null in a required column.
    let array: ArrayRef = Arc::new(StringArray::from(vec![Some("857209-0606"), None]));
    let (_, invalid) = canonicalize(&spec(), &array, reference).unwrap();
    assert_eq!(
        invalid,
        vec![
            (0, InvalidReason::OrganisationNumber),
            (1, InvalidReason::Missing)
        ]
    );
}
