//! Criterion benches of the column kernels and identity-number handling.
//!
//! Inputs are built outside the timed loop from the seeded synthetic generator's number
//! construction (valid Luhn digits, mixed spellings); null density is a parameter where it
//! matters. Run: `cargo bench --bench kernels`.

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, StringArray};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use minex::ident::date::Date;
use minex::ident::personnummer::{ParseOptions, Pnr};
use minex::keys::{KeyRing, MasterKey};
use minex::policy::{Action, ColumnSpec, Generalization, OnInvalid, ValueType};
use minex::transform::{canonicalize, kernels};

const ROWS: usize = 65_536;
/// A fixed test key, never used for real data.
const BENCH_TEST_KEY: [u8; 32] = [0x42; 32];

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn luhn(digits: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in digits.iter().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    b'0' + u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// Valid identity numbers in mixed spellings (12 digits, 12 with `-`, 10 with `-`).
fn personnummer(n: usize, null_share: f64) -> Vec<Option<String>> {
    let mut s = 7u64;
    (0..n)
        .map(|i| {
            if (splitmix(&mut s) % 1000) as f64 / 1000.0 < null_share {
                return None;
            }
            let year = 1930 + splitmix(&mut s) % 90;
            let month = 1 + splitmix(&mut s) % 12;
            let day = 1 + splitmix(&mut s) % 28;
            let serial = 1 + splitmix(&mut s) % 998;
            let ten = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
            let check = luhn(ten.as_bytes()) as char;
            Some(match i % 3 {
                0 => format!("{year}{month:02}{day:02}{serial:03}{check}"),
                1 => format!("{year}{month:02}{day:02}-{serial:03}{check}"),
                _ => format!("{}-{serial:03}{check}", &ten[..6]),
            })
        })
        .collect()
}

fn bytes_of(v: &[Option<String>]) -> u64 {
    v.iter().flatten().map(|s| s.len() as u64).sum()
}

fn spec(t: ValueType) -> ColumnSpec {
    ColumnSpec {
        name: "c".into(),
        value_type: t,
        action: Action::Keep,
        on_invalid: OnInvalid::Reject,
        nullable: true,
        allow_interim: false,
        line: None,
        ladder: None,
    }
}

fn reference() -> Date {
    Date::new(2026, 1, 1).unwrap_or(Date::from_days(20_454))
}

fn bench_personnummer(c: &mut Criterion) {
    let values = personnummer(ROWS, 0.0);
    let opts = ParseOptions {
        reference: reference(),
        allow_interim: false,
    };
    let ring = KeyRing::new(MasterKey::from_bytes(BENCH_TEST_KEY), "bench");
    let tok = ring.tokenizer("person");
    let mut g = c.benchmark_group("personnummer");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("validate_canonicalize", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for v in values.iter().flatten() {
                ok += usize::from(Pnr::parse(black_box(v), &opts).is_ok());
            }
            ok
        })
    });
    g.bench_function("validate_canonicalize_tokenize", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for v in values.iter().flatten() {
                if let Ok(p) = Pnr::parse(black_box(v), &opts) {
                    acc ^= tok.token_hex(p.canonical())[0];
                }
            }
            acc
        })
    });
    let array: ArrayRef = Arc::new(StringArray::from(values.clone()));
    g.bench_function("canonicalize_kernel", |b| {
        b.iter(|| {
            canonicalize(
                &spec(ValueType::Personnummer),
                black_box(&array),
                reference(),
            )
        })
    });
    g.finish();
}

fn bench_crypto_kernels(c: &mut Criterion) {
    let ring = KeyRing::new(MasterKey::from_bytes(BENCH_TEST_KEY), "bench");
    let tok = ring.tokenizer("person");
    let enc = ring.encryptor("case");
    let mut g = c.benchmark_group("kernels");
    for null_share in [0.0, 0.5] {
        let values = personnummer(ROWS, null_share);
        let array = StringArray::from(values.clone());
        g.throughput(Throughput::Bytes(bytes_of(&values)));
        g.bench_with_input(BenchmarkId::new("tokenize", null_share), &array, |b, a| {
            b.iter(|| kernels::tokenize(black_box(a), &tok))
        });
        g.bench_with_input(BenchmarkId::new("encrypt", null_share), &array, |b, a| {
            b.iter(|| kernels::encrypt(black_box(a), &enc))
        });
        g.bench_with_input(
            BenchmarkId::new("truncate_3", null_share),
            &array,
            |b, a| b.iter(|| kernels::truncate(black_box(a), 3)),
        );
    }
    let days: Date32Array = (0..ROWS as i32)
        .map(|i| Some(-10_000 + i % 30_000))
        .collect();
    g.throughput(Throughput::Elements(ROWS as u64));
    for (name, generalization) in [
        ("generalize_year", Generalization::Year),
        ("generalize_month", Generalization::Month),
        ("generalize_age_band_5", Generalization::AgeBand(5)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| kernels::generalize_dates(black_box(&days), generalization, reference()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_personnummer, bench_crypto_kernels);
criterion_main!(benches);
