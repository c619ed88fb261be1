//! `minex affected` (issue 14).
