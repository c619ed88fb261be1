//! The policy: the language a steward writes (YAML), its validated model, and the JSON Schema
//! published for editors (`schemas/minex-policy.schema.json`).

pub mod lint;
mod model;
mod parse;
pub mod vocabulary;

pub use model::*;
pub use parse::{
    MAX_NAME_BYTES, MAX_NESTING, MAX_POLICY_BYTES, PLACEHOLDER_DOMAIN, bad_name, from_file_text,
    from_str,
};
