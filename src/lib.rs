//! minex
pub mod demo;
pub mod error;
pub mod ident;
pub mod io;
pub mod keys;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod reidentify;
pub mod report;
pub mod synth;
pub mod transform;
