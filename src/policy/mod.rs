//! The policy: the language a steward writes (YAML), its validated model, and the JSON Schema
//! published for editors (`schemas/minex-policy.schema.json`).

pub mod lint;
mod model;
mod parse;

pub use model::*;
pub use parse::{from_file, from_str};
