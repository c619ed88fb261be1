//! Byte formatting of the CSV: numbers, dates, RFC 4180 quoting, and ASCII folding for
//! e-mail addresses.

/// Appends `v` as exactly `width` decimal digits (zero-padded; higher digits dropped).
pub(super) fn push_num(buf: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let width = width.min(tmp.len());
    for slot in tmp[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&tmp[..width]);
}

/// Appends `v` in decimal without padding.
pub(super) fn push_uint(buf: &mut Vec<u8>, v: u32) {
    let mut width = 1;
    let mut rest = v / 10;
    while rest > 0 {
        width += 1;
        rest /= 10;
    }
    push_num(buf, u64::from(v), width);
}

pub(super) fn push_date(buf: &mut Vec<u8>, (y, m, d): (i32, u32, u32)) {
    push_num(buf, u64::from(y.unsigned_abs()), 4);
    buf.push(b'-');
    push_num(buf, u64::from(m), 2);
    buf.push(b'-');
    push_num(buf, u64::from(d), 2);
}

/// Appends one CSV field, quoted per RFC 4180 when it holds a comma, quote or line break.
pub(super) fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.push(b'"');
        for &b in field {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(field);
    }
}

/// Lowercases and folds Swedish letters to ASCII for e-mail local parts.
pub(super) fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'å' | 'ä' | 'Å' | 'Ä' | 'á' | 'à' => Some('a'),
            'ö' | 'Ö' | 'ø' | 'Ø' => Some('o'),
            'é' | 'É' | 'è' => Some('e'),
            'ü' | 'Ü' => Some('u'),
            ' ' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}
