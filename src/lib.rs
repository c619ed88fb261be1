//! minex
pub mod error;
pub mod ident;
pub mod keys;
pub mod synth;
