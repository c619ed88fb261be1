//! Utf8 columns built straight into their Arrow buffers: the CSV decoder, the fixed-width
//! canonical forms and the kernels that know their output sizes write bytes and offsets
//! themselves instead of going through a `StringBuilder` value by value.

use arrow::array::{BooleanBufferBuilder, StringArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::error::ArrowError;

/// A Utf8 column being built: the bytes of every value, their offsets, and the rows that are
/// null (usually few, so kept as a list).
#[derive(Debug)]
pub struct Utf8Column {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: Vec<usize>,
}

impl Utf8Column {
    /// Room for `rows` values of `bytes` bytes in all.
    pub fn with_capacity(rows: usize, bytes: usize) -> Utf8Column {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Utf8Column {
            values: Vec::with_capacity(bytes),
            offsets,
            nulls: Vec::new(),
        }
    }

    /// The bytes written so far; a value is written here, then ended with
    /// [`Utf8Column::end_value`].
    pub fn values_mut(&mut self) -> &mut Vec<u8> {
        &mut self.values
    }

    /// Ends the value written since the last one ended; `null` makes it a null.
    #[inline]
    pub fn end_value(&mut self, null: bool) {
        if null {
            self.nulls.push(self.offsets.len() - 1);
        }
        // Offsets beyond i32 are impossible: a batch is a few MiB (a value larger than
        // 2 GiB would fail UTF-8 validation of its offsets and be reported).
        self.offsets
            .push(i32::try_from(self.values.len()).unwrap_or(i32::MAX));
    }

    /// Appends a value.
    #[inline]
    pub fn push(&mut self, value: &[u8]) {
        self.values.extend_from_slice(value);
        self.end_value(false);
    }

    /// Appends a null.
    #[inline]
    pub fn push_null(&mut self) {
        self.end_value(true);
    }

    /// The column, with the nulls recorded.
    ///
    /// # Errors
    /// When the bytes are not UTF-8 or an offset is not on a character boundary.
    pub fn finish(self) -> Result<StringArray, ArrowError> {
        let rows = self.offsets.len() - 1;
        let nulls = (!self.nulls.is_empty()).then(|| {
            let mut valid = BooleanBufferBuilder::new(rows);
            valid.append_n(rows, true);
            for r in &self.nulls {
                valid.set_bit(*r, false);
            }
            NullBuffer::new(valid.finish())
        });
        self.finish_with(nulls)
    }

    /// The column, with `nulls` instead of the nulls recorded (a kernel whose output is null
    /// exactly where its input is).
    ///
    /// # Errors
    /// As [`Utf8Column::finish`].
    pub fn finish_with(self, nulls: Option<NullBuffer>) -> Result<StringArray, ArrowError> {
        utf8_array(self.offsets, self.values, nulls)
    }
}

/// A Utf8 array of `values` cut at `offsets` (one more than the rows), checked.
///
/// # Errors
/// When the bytes are not UTF-8, or the offsets are not increasing or not on character
/// boundaries.
pub fn utf8_array(
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: Option<NullBuffer>,
) -> Result<StringArray, ArrowError> {
    StringArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(values),
        nulls,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn values_nulls_and_incremental_writes() {
        let mut c = Utf8Column::with_capacity(4, 8);
        c.push(b"ab");
        c.push_null();
        c.values_mut().extend_from_slice(b"c\"");
        c.values_mut().push(b'd');
        c.end_value(false);
        c.push(b"");
        let a = c.finish().unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(a.value(0), "ab");
        assert!(a.is_null(1));
        assert_eq!(a.value(2), "c\"d");
        assert!(a.is_valid(3));
        assert_eq!(a.value(3), "");
        let mut c = Utf8Column::with_capacity(1, 1);
        c.push(&[0xff]);
        assert!(c.finish().is_err());
    }
}
