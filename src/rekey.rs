//! `minex rekey` (issue 14).
