//! Output paths never collide with inputs (issue 10).
