//! Reading one field of a record for [`CsvChunk::decode`](super::CsvChunk::decode): quoted
//! (with `""` for a quote) or plain, what may follow it, and the byte searches for the end of
//! a field and of a quoted field.

use memchr::{memchr, memchr2};

use crate::arrays::Utf8Column;

/// Reads a quoted field whose opening quote is just before `pos` into `col` (when the field
/// is projected), `""` read as one quote; returns the position after the closing quote, or
/// `None` when the quote is never closed.
#[inline]
pub(super) fn read_quoted(
    b: &[u8],
    mut pos: usize,
    quote_end: &QuoteEnd,
    mut col: Option<&mut Utf8Column>,
) -> Option<usize> {
    let start_len = col.as_mut().map(|c| c.values_mut().len());
    loop {
        let q = quote_end.find(&b[pos..])?;
        if let Some(c) = col.as_mut() {
            c.values_mut().extend_from_slice(&b[pos..pos + q]);
        }
        pos += q + 1;
        if pos < b.len() && b[pos] == b'"' {
            if let Some(c) = col.as_mut() {
                c.values_mut().push(b'"');
            }
            pos += 1;
        } else {
            break;
        }
    }
    if let (Some(c), Some(start)) = (col, start_len) {
        let empty = c.values_mut().len() == start;
        c.end_value(empty);
    }
    Some(pos)
}

/// Reads an unquoted field starting at `pos` into `col` (when the field is projected), without
/// the `\r` of a `\r\n` line end; returns the position of the byte after it.
#[inline]
pub(super) fn read_plain(
    b: &[u8],
    pos: usize,
    field_end: &FieldEnd,
    col: Option<&mut Utf8Column>,
) -> usize {
    let len = b.len();
    let end = field_end.find(&b[pos..]).map_or(len, |i| pos + i);
    if let Some(col) = col {
        let mut value_end = end;
        if value_end > pos && b[value_end - 1] == b'\r' && (end == len || b[end] == b'\n') {
            value_end -= 1;
        }
        col.values_mut().extend_from_slice(&b[pos..value_end]);
        col.end_value(value_end == pos);
    }
    end
}

/// After a field: a delimiter, the end of the record, or the end of input. Returns the
/// position after it and whether the record ended; `None` for anything else (text after a
/// closing quote).
#[inline]
pub(super) fn after_field(b: &[u8], pos: usize, delimiter: u8) -> Option<(usize, bool)> {
    let len = b.len();
    match b.get(pos) {
        None => Some((pos, true)),
        Some(&x) if x == delimiter => Some((pos + 1, false)),
        Some(b'\n') => Some((pos + 1, true)),
        Some(b'\r') if pos + 1 < len && b[pos + 1] == b'\n' => Some((pos + 2, true)),
        Some(b'\r') if pos + 1 == len => Some((pos + 1, true)),
        Some(_) => None,
    }
}

/// Finds the end of an unquoted field (the delimiter or a newline). Built once per chunk:
/// with AVX2 the searcher's vectors are set up once instead of on every call, which is most
/// of the cost of a search over a field of ten bytes.
pub(super) enum FieldEnd {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::Two),
    Any(u8),
}

impl FieldEnd {
    pub(super) fn new(delimiter: u8) -> FieldEnd {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = memchr::arch::x86_64::avx2::memchr::Two::new(delimiter, b'\n') {
            return FieldEnd::Avx2(two);
        }
        FieldEnd::Any(delimiter)
    }

    #[inline]
    pub(super) fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            FieldEnd::Avx2(two) => two.find(haystack),
            FieldEnd::Any(d) => memchr2(*d, b'\n', haystack),
        }
    }
}

/// Finds the next quote inside a quoted field; like [`FieldEnd`], built once per chunk.
pub(super) enum QuoteEnd {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::One),
    Any,
}

impl QuoteEnd {
    pub(super) fn new() -> QuoteEnd {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = memchr::arch::x86_64::avx2::memchr::One::new(b'"') {
            return QuoteEnd::Avx2(one);
        }
        QuoteEnd::Any
    }

    #[inline]
    pub(super) fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            QuoteEnd::Avx2(one) => one.find(haystack),
            QuoteEnd::Any => memchr(b'"', haystack),
        }
    }
}
