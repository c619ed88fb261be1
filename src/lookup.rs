//! `minex lookup` (issue 14).
