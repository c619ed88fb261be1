//! Generation: the context every chunk shares, and one row at a time.

use std::io;

use rayon::prelude::*;

use crate::ident::date::days_in_month;

use super::tables::MUNICIPALITIES;
use super::*;

/// Everything the chunks share: validated settings and precomputed tables.
pub(super) struct Context {
    pub(super) seed: u64,
    pub(super) rows: u64,
    pub(super) chunk_rows: u64,
    pub(super) reference: (i32, u32, u32),
    pub(super) reference_day: i64,
    pub(super) ages: Weighted,
    pub(super) municipalities: Weighted,
    pub(super) domains: Weighted,
    pub(super) mobiles: Weighted,
    male_folded: Vec<String>,
    female_folded: Vec<String>,
    surname_folded: Vec<String>,
    pub(super) city_domains: Vec<String>,
}

impl Context {
    pub(super) fn new(b: &RegisterBuilder) -> io::Result<Self> {
        let (y, m, d) = b.reference;
        if !(1900..=9999).contains(&y)
            || !(1..=12).contains(&m)
            || d == 0
            || d > days_in_month(y, m)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the reference date must be a real date between the years 1900 and 9999",
            ));
        }
        let fold_all = |list: &[&str]| list.iter().map(|s| ascii_fold(s)).collect();
        Ok(Self {
            seed: b.seed,
            rows: b.rows,
            chunk_rows: b.chunk_rows,
            reference: b.reference,
            reference_day: days_from_civil(y, m, d),
            ages: Weighted::new((0..=100).map(age_weight)),
            municipalities: Weighted::new(MUNICIPALITIES.iter().map(|m| m.population_k)),
            domains: Weighted::new(tables::EMAIL_DOMAINS.iter().map(|d| d.1)),
            mobiles: Weighted::new(tables::MOBILE_PREFIXES.iter().map(|d| d.1)),
            male_folded: fold_all(tables::MALE_FIRST_NAMES),
            female_folded: fold_all(tables::FEMALE_FIRST_NAMES),
            surname_folded: fold_all(tables::SURNAMES),
            city_domains: MUNICIPALITIES
                .iter()
                .map(|m| format!("{}.se", ascii_fold(m.city)))
                .collect(),
        })
    }

    /// Generates chunks `first..` into `bufs` (as many as fit, up to `chunks`); returns
    /// how many were generated.
    pub(super) fn fill(&self, bufs: &mut [Vec<u8>], first: u64, chunks: u64) -> usize {
        let n = usize::try_from(chunks.saturating_sub(first))
            .unwrap_or(usize::MAX)
            .min(bufs.len());
        bufs[..n].par_iter_mut().enumerate().for_each(|(j, buf)| {
            buf.clear();
            self.chunk(first + j as u64, buf);
        });
        n
    }

    /// Appends the rows of chunk `index` to `out`.
    pub(super) fn chunk(&self, index: u64, out: &mut Vec<u8>) {
        let start = index * self.chunk_rows;
        let end = (start + self.chunk_rows).min(self.rows);
        out.reserve(
            usize::try_from(end - start)
                .unwrap_or(0)
                .saturating_mul(ROW_BYTES),
        );
        let mut row = RowGen {
            ctx: self,
            rng: Rng::new(self.seed, index),
            email: Vec::with_capacity(64),
            phone: Vec::with_capacity(32),
            note: Vec::with_capacity(160),
            scratch: Vec::with_capacity(32),
        };
        for _ in start..end {
            row.row(out);
        }
    }

    /// A birth date (days since the epoch) for someone aged exactly `age` at the
    /// reference date.
    fn birth_day(&self, rng: &mut Rng, age: u32) -> i64 {
        let (y, m, d) = self.reference;
        let age = age as i32;
        let latest = anniversary(y - age, m, d);
        let earliest = anniversary(y - age - 1, m, d) + 1;
        let span = u32::try_from(latest - earliest + 1).unwrap_or(1);
        earliest + i64::from(rng.below(span))
    }
}

/// Per-chunk generator state with reusable scratch buffers.
pub(super) struct RowGen<'a> {
    pub(super) ctx: &'a Context,
    pub(super) rng: Rng,
    pub(super) email: Vec<u8>,
    pub(super) phone: Vec<u8>,
    pub(super) note: Vec<u8>,
    pub(super) scratch: Vec<u8>,
}

impl RowGen<'_> {
    /// Appends one row (with its line ending) to `out`.
    pub(super) fn row(&mut self, out: &mut Vec<u8>) {
        let ctx = self.ctx;
        let rng = &mut self.rng;
        let age = ctx.ages.sample(rng) as u32;
        let male = rng.below(2) == 0;
        let birth = civil_from_days(ctx.birth_day(rng, age));

        // personnummer
        let pnr = self.personnummer(age, male, birth);
        out.extend_from_slice(pnr.as_bytes());
        out.push(b',');

        // first_name, last_name
        let rng = &mut self.rng;
        let (first_names, first_folded) = if male {
            (tables::MALE_FIRST_NAMES, &ctx.male_folded)
        } else {
            (tables::FEMALE_FIRST_NAMES, &ctx.female_folded)
        };
        let fi = rng.skewed(first_names.len());
        let si = rng.skewed(tables::SURNAMES.len());
        let first = first_names[fi];
        push_field(out, first.as_bytes());
        out.push(b',');
        push_field(out, tables::SURNAMES[si].as_bytes());
        out.push(b',');

        // email, phone
        let mi = ctx.municipalities.sample(rng);
        let municipality = &MUNICIPALITIES[mi];
        self.email.clear();
        if self.rng.below(1000) >= EMAIL_EMPTY_PER_1K {
            self.email_address(&first_folded[fi], &ctx.surname_folded[si], birth.0, mi);
        }
        push_field(out, &self.email);
        out.push(b',');
        self.phone.clear();
        if self.rng.below(1000) >= PHONE_EMPTY_PER_1K {
            self.phone_number(municipality);
        }
        push_field(out, &self.phone);
        out.push(b',');

        // street_address, postal_code, city, municipality_code
        self.street_address();
        push_field(out, &self.scratch);
        out.push(b',');
        let rng = &mut self.rng;
        let (lo, hi) = municipality.postal;
        let area = u32::from(lo) + rng.below(u32::from(hi - lo) + 1);
        push_num(out, u64::from(area), 3);
        out.push(b' ');
        push_num(out, u64::from(rng.below(100)), 2);
        out.push(b',');
        push_field(out, municipality.city.as_bytes());
        out.push(b',');
        out.extend_from_slice(municipality.code.as_bytes());
        out.push(b',');

        // date_of_birth, gender, protected_identity
        push_date(out, birth);
        out.extend_from_slice(if male { b",M," } else { b",F," });
        out.extend_from_slice(if rng.below(10_000) < PROTECTED_PER_10K {
            b"true,"
        } else {
            b"false,"
        });

        // guardian_personnummer: someone 20–55 years older, always valid, 12 digits.
        if age < 18 {
            let guardian_age = age + 20 + rng.below(36);
            let g_birth = civil_from_days(ctx.birth_day(rng, guardian_age));
            let g_male = rng.below(2) == 0;
            let g_serial = random_serial(rng, g_male);
            let ten = ten_digits(g_birth.0, g_birth.1, g_birth.2, g_serial);
            let g = Pnr::spell(century_of(g_birth.0), &ten, Spelling::Twelve);
            out.extend_from_slice(g.as_bytes());
        }
        out.push(b',');

        // school
        match age {
            6..=15 => push_field(out, rng.pick(tables::PRIMARY_SCHOOLS).as_bytes()),
            16..=18 => push_field(out, rng.pick(tables::UPPER_SCHOOLS).as_bytes()),
            _ => {}
        }
        out.push(b',');

        // case_note
        self.case_note(first);
        push_field(out, &self.note);
        out.push(b'\n');
    }

    /// The personnummer of someone aged `age`, born on `birth`: usually valid, sometimes
    /// a samordningsnummer or malformed, in one of three spellings.
    pub(super) fn personnummer(&mut self, age: u32, male: bool, birth: (i32, u32, u32)) -> Pnr {
        let rng = &mut self.rng;
        let serial = random_serial(rng, male);
        let kind = rng.below(10_000);
        let spelling = match rng.below(100) {
            0..70 => Spelling::Twelve,
            70..85 => Spelling::TwelveDash,
            _ => Spelling::Ten {
                centenarian: age >= 100,
            },
        };
        let century = century_of(birth.0);
        if kind < SAMORDNING_PER_10K {
            let ten = ten_digits(birth.0, birth.1, birth.2 + 60, serial);
            Pnr::spell(century, &ten, spelling)
        } else if kind < SAMORDNING_PER_10K + MALFORMED_PER_10K {
            self.malformed(birth, serial, century, spelling)
        } else {
            let ten = ten_digits(birth.0, birth.1, birth.2, serial);
            Pnr::spell(century, &ten, spelling)
        }
    }
}
