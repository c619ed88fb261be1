//! A sanity walk over a Parquet file's Thrift structures (the footer and every page header of
//! the columns read) before the parquet crate decodes them.
//!
//! # Why
//! Fuzzing found files of a few KiB that hold minex for tens of seconds: a footer or page
//! header with an unknown field holding a `list<bool>` that claims billions of elements. In the
//! Thrift compact protocol every list element takes at least one byte (a boolean in a list is
//! one byte), but the parquet crate's skipper reads nothing for a boolean, so it loops over the
//! claimed count (parquet 59.3 and 60.1, `skip_till_depth`). This walk checks what any honest
//! encoding satisfies and nothing more: every list, set, map and binary fits in the bytes that
//! are left, nesting stays within 64 levels, nothing ends early. A file that fails is malformed
//! (exit 4), and the parquet crate never sees it.
//!
//! The walk reads only the Thrift structures: the footer once, and per column chunk of the
//! projected columns one short read per page header.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Location, Result};

/// The deepest nesting walked (parquet's own limit is 64 too).
const MAX_DEPTH: u32 = 64;

/// Why a structure is not sane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insane {
    /// It ends before its last field.
    Truncated,
    /// A size claims more elements or bytes than are left, or nesting is too deep.
    Impossible,
}

/// A cursor over Thrift compact-protocol bytes.
struct Walk<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Walk<'_> {
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn byte(&mut self) -> std::result::Result<u8, Insane> {
        let x = *self.b.get(self.pos).ok_or(Insane::Truncated)?;
        self.pos += 1;
        Ok(x)
    }

    fn varint(&mut self) -> std::result::Result<u64, Insane> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let x = self.byte()?;
            if shift < 64 {
                v |= u64::from(x & 0x7f) << shift;
            }
            if x & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Insane::Impossible)
    }

    fn skip(&mut self, n: u64) -> std::result::Result<(), Insane> {
        let n = usize::try_from(n).map_err(|_| Insane::Impossible)?;
        if n > self.left() {
            return Err(Insane::Truncated);
        }
        self.pos += n;
        Ok(())
    }

    /// Walks one value of compact type `t`; `in_container`: booleans take a byte there.
    fn value(&mut self, t: u8, in_container: bool, depth: u32) -> std::result::Result<(), Insane> {
        if depth > MAX_DEPTH {
            return Err(Insane::Impossible);
        }
        match t {
            1 | 2 if in_container => self.skip(1),
            1 | 2 => Ok(()),
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let size = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                if size > self.left() as u64 {
                    return Err(Insane::Impossible);
                }
                for _ in 0..size {
                    self.value(h & 0x0f, true, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                if size.saturating_mul(2) > self.left() as u64 {
                    return Err(Insane::Impossible);
                }
                let kv = self.byte()?;
                for _ in 0..size {
                    self.value(kv >> 4, true, depth + 1)?;
                    self.value(kv & 0x0f, true, depth + 1)?;
                }
                Ok(())
            }
            12 => self.structure(depth + 1, |_, _, _| Ok(None)).map(|_| ()),
            // UUID (16 bytes), newer Thrift.
            13 => self.skip(16),
            _ => Err(Insane::Impossible),
        }
    }

    /// Walks a struct; `pick(field_id, type, walk)` may read a field itself (returning
    /// `Some(value)`); the first picked value is returned.
    fn structure(
        &mut self,
        depth: u32,
        mut pick: impl FnMut(i16, u8, &mut Self) -> std::result::Result<Option<i64>, Insane>,
    ) -> std::result::Result<Option<i64>, Insane> {
        if depth > MAX_DEPTH {
            return Err(Insane::Impossible);
        }
        let mut last = 0i16;
        let mut picked = None;
        loop {
            let h = self.byte()?;
            let t = h & 0x0f;
            if t == 0 {
                return Ok(picked);
            }
            let id = match h >> 4 {
                0 => {
                    let z = self.varint()?;
                    i16::try_from((z >> 1) as i64 ^ -((z & 1) as i64))
                        .map_err(|_| Insane::Impossible)?
                }
                d => last.wrapping_add(i16::from(d)),
            };
            last = id;
            let before = self.pos;
            match pick(id, t, self)? {
                Some(v) if picked.is_none() => picked = Some(v),
                Some(_) => {}
                None if self.pos == before => self.value(t, false, depth)?,
                None => {}
            }
        }
    }

    /// A zigzag varint (i32/i64 fields).
    fn zigzag(&mut self) -> std::result::Result<i64, Insane> {
        let z = self.varint()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }
}

/// Walks the Thrift struct at the start of `bytes`; returns how many bytes it took and, when
/// `size_field` is given, that i32 field's value (a page header's `compressed_page_size`).
pub(crate) fn walk_struct(
    bytes: &[u8],
    size_field: Option<i16>,
) -> std::result::Result<(usize, Option<i64>), Insane> {
    let mut w = Walk { b: bytes, pos: 0 };
    let v = w.structure(0, |id, t, w| match size_field {
        Some(f) if id == f && t == 5 => w.zigzag().map(Some),
        _ => Ok(None),
    })?;
    Ok((w.pos, v))
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::malformed(
        Location::file(path),
        format!("the Parquet {what} is corrupt (a size that cannot fit in the file)"),
    )
}

/// Checks the footer of the Parquet file `file` (`path` names it in errors).
///
/// # Errors
/// `Malformed` when the footer's Thrift is not sane; `Io` when it cannot be read. A file too
/// short to have a footer is left to the parquet crate, which says so.
pub fn check_footer(path: &Path, file: &File) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    file.read_exact_at(&mut tail, len - 8)
        .map_err(|e| Error::io(path, e))?;
    if &tail[4..] != b"PAR1" {
        return Ok(());
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 8 > len {
        return Ok(());
    }
    let mut footer = vec![0u8; usize::try_from(footer_len).unwrap_or(0)];
    file.read_exact_at(&mut footer, len - 8 - footer_len)
        .map_err(|e| Error::io(path, e))?;
    // The whole footer was read: a struct that does not end inside it is corrupt too.
    match walk_struct(&footer, None) {
        Ok(_) => Ok(()),
        Err(_) => Err(corrupt(path, "footer")),
    }
}

/// Checks every page header of the column chunks `chunks` (`(start, length)` in the file).
///
/// # Errors
/// `Malformed` when a page header's Thrift is not sane; `Io` when it cannot be read.
pub fn check_pages(path: &Path, file: &File, chunks: &[(u64, u64)]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    // compressed_page_size is field 3 of PageHeader.
    const COMPRESSED_SIZE: i16 = 3;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    /// Page headers are small; statistics can make one longer, never this long.
    const MAX_HEADER: usize = 16 << 20;
    let mut buf = vec![0u8; 16 << 10];
    for &(start, length) in chunks {
        let end = start.saturating_add(length).min(len);
        let mut at = start;
        while at < end {
            let rest = end - at;
            let want = usize::try_from(rest.min(buf.len() as u64)).unwrap_or(0);
            file.read_exact_at(&mut buf[..want], at)
                .map_err(|e| Error::io(path, e))?;
            match walk_struct(&buf[..want], Some(COMPRESSED_SIZE)) {
                Ok((header, Some(size))) if size >= 0 => {
                    at = at.saturating_add(header as u64).saturating_add(size as u64);
                }
                Err(Insane::Impossible) => return Err(corrupt(path, "page header")),
                // The rest of the chunk was read and the header does not end in it.
                Err(Insane::Truncated) if want as u64 == rest => {
                    return Err(corrupt(path, "page header"));
                }
                // A header longer than the read: read more.
                Err(Insane::Truncated) if buf.len() < MAX_HEADER => {
                    buf.resize(buf.len() * 2, 0);
                }
                // One this walk cannot follow: the parquet crate reads it and says what is
                // wrong.
                _ => break,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honest_encodings_pass_and_impossible_lists_do_not() {
        // struct { 1: list<bool> [true, false], 2: i32 7 } STOP
        let ok = [0x19, 0x21, 1, 2, 0x15, 14, 0];
        assert_eq!(walk_struct(&ok, None), Ok((ok.len(), None)));
        // field 3 (i32) = 100 picked as a page size.
        let page = [0x35, 200, 1, 0];
        assert_eq!(walk_struct(&page, Some(3)), Ok((4, Some(100))));
        // a list<bool> claiming 2^31 elements in 10 bytes.
        let evil = [0x19, 0xf1, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0];
        assert_eq!(walk_struct(&evil, None), Err(Insane::Impossible));
        // a map claiming more pairs than bytes.
        let evil_map = [0x1b, 0xff, 0x7f, 0x11];
        assert_eq!(walk_struct(&evil_map, None), Err(Insane::Impossible));
        // cut short.
        assert_eq!(walk_struct(&[0x15], None), Err(Insane::Truncated));
        // nested 100 deep.
        let mut deep = vec![0x1c; 100];
        deep.extend(std::iter::repeat_n(0, 101));
        assert_eq!(walk_struct(&deep, None), Err(Insane::Impossible));
    }
}
