//! The generated values of a row that need more than one draw: e-mail addresses, street
//! addresses, phone numbers, case notes and malformed personnummer.

use crate::ident::date::days_in_month;

use super::tables::Municipality;
use super::*;

impl RowGen<'_> {
    /// Writes an e-mail address built from the folded names into `self.email`.
    pub(super) fn email_address(
        &mut self,
        first: &str,
        last: &str,
        birth_year: i32,
        municipality: usize,
    ) {
        let (first, last) = (first.as_bytes(), last.as_bytes());
        let rng = &mut self.rng;
        let e = &mut self.email;
        match rng.below(100) {
            0..30 => {
                e.extend_from_slice(first);
                e.push(b'.');
                e.extend_from_slice(last);
            }
            30..45 => {
                e.extend_from_slice(first);
                e.extend_from_slice(last);
            }
            45..60 => {
                e.extend_from_slice(first);
                e.push(b'.');
                e.extend_from_slice(last);
                push_num(e, u64::from(birth_year.rem_euclid(100).unsigned_abs()), 2);
            }
            60..70 => {
                e.extend_from_slice(&first[..1]);
                e.push(b'.');
                e.extend_from_slice(last);
            }
            70..78 => {
                e.extend_from_slice(first);
                e.push(b'_');
                e.extend_from_slice(last);
            }
            78..90 => {
                e.extend_from_slice(first);
                push_uint(e, 1 + rng.below(99));
            }
            _ => {
                e.extend_from_slice(last);
                e.push(b'.');
                e.extend_from_slice(first);
            }
        }
        e.push(b'@');
        let (domain, _) = tables::EMAIL_DOMAINS[self.ctx.domains.sample(rng)];
        if domain == "@kommun" {
            e.extend_from_slice(self.ctx.city_domains[municipality].as_bytes());
        } else {
            e.extend_from_slice(domain.as_bytes());
        }
    }

    /// Writes a street address into `self.scratch`.
    pub(super) fn street_address(&mut self) {
        let rng = &mut self.rng;
        let s = &mut self.scratch;
        s.clear();
        if rng.below(100) < 20 {
            s.extend_from_slice(rng.pick(tables::STREETS).as_bytes());
        } else {
            s.extend_from_slice(rng.pick(tables::STREET_PREFIXES).as_bytes());
            s.extend_from_slice(rng.pick(tables::STREET_SUFFIXES).as_bytes());
        }
        s.push(b' ');
        let number = if rng.below(100) < 85 {
            1 + rng.below(40)
        } else {
            1 + rng.below(150)
        };
        push_uint(s, number);
        match rng.below(100) {
            0..10 => {
                s.push(b' ');
                s.push(b'A' + rng.below(4) as u8);
            }
            10..12 => {
                s.extend_from_slice(b", ");
                push_uint(s, 1 + rng.below(6));
                s.extend_from_slice(b" tr");
            }
            12..20 => {
                s.extend_from_slice(b" lgh ");
                push_uint(s, 1000 + 100 * rng.below(9) + rng.below(20));
            }
            _ => {}
        }
    }

    /// Writes the case note into `self.note` (after `self.phone` and `self.email`).
    pub(super) fn case_note(&mut self, first: &str) {
        self.note.clear();
        let mut first_note = None;
        let roll = self.rng.below(1000);
        let has_contact = !(self.phone.is_empty() && self.email.is_empty());
        if roll < NOTE_LEAK_PER_1K && has_contact {
            let use_phone = if self.email.is_empty() {
                true
            } else if self.phone.is_empty() {
                false
            } else {
                self.rng.below(2) == 0
            };
            let template = if use_phone {
                self.rng.pick(tables::PHONE_LEAK_NOTES)
            } else {
                self.rng.pick(tables::EMAIL_LEAK_NOTES)
            };
            self.render_note(template, first);
        } else if !(NOTE_LEAK_PER_1K..NOTE_LEAK_PER_1K + NOTE_EMPTY_PER_1K).contains(&roll) {
            let i = self.rng.index(tables::NOTES.len());
            first_note = Some(i);
            self.render_note(tables::NOTES[i], first);
        }
        if !self.note.is_empty() && self.rng.below(100) < NOTE_SECOND_SENTENCE_PERCENT {
            let mut i = self.rng.index(tables::NOTES.len());
            if first_note == Some(i) {
                i = (i + 1) % tables::NOTES.len();
            }
            if !self.note.ends_with(b".") && !self.note.ends_with(b")") {
                self.note.push(b'.');
            }
            self.note.push(b' ');
            self.render_note(tables::NOTES[i], first);
        }
    }

    /// A malformed personnummer for someone born on `birth` (see the module docs).
    pub(super) fn malformed(
        &mut self,
        birth: (i32, u32, u32),
        serial: u32,
        century: u32,
        spelling: Spelling,
    ) -> Pnr {
        let rng = &mut self.rng;
        match rng.below(4) {
            0 => {
                let mut ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let check = u32::from(ten[9] - b'0');
                ten[9] = b'0' + ((check + 1 + rng.below(9)) % 10) as u8;
                Pnr::spell(century, &ten, spelling)
            }
            1 => {
                let ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let mut pnr = Pnr::spell(century, &ten, spelling);
                let digits = pnr.digit_positions().count();
                let k = rng.index(digits);
                pnr.put_letter(k, b"OIlSBX"[rng.index(6)]);
                pnr
            }
            2 => {
                let ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let mut pnr = Pnr::spell(century, &ten, spelling);
                let digits = pnr.digit_positions().count();
                let k = rng.index(digits);
                pnr.drop_digit(k);
                pnr
            }
            _ => {
                // An impossible date, with the check digit computed over it.
                let (month, day) = match rng.below(4) {
                    0 => (13 + rng.below(7), birth.2),
                    1 => (0, birth.2),
                    2 => (birth.1, 0),
                    _ => (birth.1, days_in_month(birth.0, birth.1) + 1 + rng.below(2)),
                };
                let ten = ten_digits(birth.0, month, day, serial);
                Pnr::spell(century, &ten, spelling)
            }
        }
    }

    /// Writes a phone number in one of the usual spellings into `self.phone`.
    pub(super) fn phone_number(&mut self, municipality: &Municipality) {
        let ctx = self.ctx;
        let rng = &mut self.rng;
        let p = &mut self.phone;
        // National significant number: an area code (without 0) and a subscriber number,
        // nine digits together.
        let mobile = rng.below(100) < 80;
        let area = if mobile {
            tables::MOBILE_PREFIXES[ctx.mobiles.sample(rng)].0
        } else {
            municipality.area_code
        };
        let sub_len = 9 - area.len();
        let mut sub = [0u8; 8];
        for (i, d) in sub[..sub_len].iter_mut().enumerate() {
            *d = if i == 0 && !mobile {
                b'1' + rng.below(9) as u8
            } else {
                rng.digit()
            };
        }
        let sub = &sub[..sub_len];
        let groups: &[usize] = match sub_len {
            8 => &[3, 3, 2],
            7 => &[3, 2, 2],
            6 => &[2, 2, 2],
            _ => &[3, 2],
        };
        let push_grouped = |p: &mut Vec<u8>| {
            let mut at = 0;
            for (k, &g) in groups.iter().enumerate() {
                if k > 0 {
                    p.push(b' ');
                }
                p.extend_from_slice(&sub[at..at + g]);
                at += g;
            }
        };
        let style = rng.below(100);
        let (national_dashed, compact, e164) = if mobile { (35, 60, 80) } else { (50, 75, 90) };
        if style < national_dashed {
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.push(b'-');
            push_grouped(p);
        } else if style < compact {
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.extend_from_slice(sub);
        } else if style < e164 {
            p.extend_from_slice(b"+46");
            p.extend_from_slice(area.as_bytes());
            p.extend_from_slice(sub);
        } else if mobile && style >= 95 {
            // `070-1234567`
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.push(b'-');
            p.extend_from_slice(sub);
        } else {
            p.extend_from_slice(b"+46 ");
            p.extend_from_slice(area.as_bytes());
            p.push(b' ');
            push_grouped(p);
        }
    }

    /// Renders a note template into `self.note`.
    fn render_note(&mut self, template: &str, first: &str) {
        let t = template.as_bytes();
        let mut i = 0;
        while i < t.len() {
            if t[i] == b'{' && i + 2 < t.len() && t[i + 2] == b'}' {
                match t[i + 1] {
                    b'f' => self.note.extend_from_slice(first.as_bytes()),
                    b'p' => self.note.extend_from_slice(&self.phone),
                    b'e' => self.note.extend_from_slice(&self.email),
                    b's' => {
                        let school = self.rng.pick(tables::PRIMARY_SCHOOLS);
                        self.note.extend_from_slice(school.as_bytes());
                    }
                    _ => {
                        let day = self.ctx.reference_day - 30 + i64::from(self.rng.below(180));
                        push_date(&mut self.note, civil_from_days(day));
                    }
                }
                i += 3;
            } else {
                self.note.push(t[i]);
                i += 1;
            }
        }
    }
}
