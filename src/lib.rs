//! # minex
//!
//! Minimize and pseudonymize citizen registers into Parquet extracts a supplier may hold.
//!
//! ## Brief overview
//!
//! A [policy](policy) (YAML) says, for every input column, what a supplier may receive:
//! dropped, tokenized with a keyed HMAC, encrypted reversibly, generalized, truncated,
//! replaced. [`pipeline::run`] checks the policy against the inputs' headers
//! ([`plan::Plan`]) before reading any data, streams the inputs as bounded Arrow batches
//! ([`io`]), validates and canonicalizes typed values such as Swedish identity numbers
//! ([`ident`], [`transform::canonical`]), applies one kernel per column over whole arrays
//! ([`transform::kernels`]), optionally enforces k-anonymity, and writes the extract, its
//! manifest ([`report::manifest`]) and a rejects report atomically.
//!
//! Keys: [`keys::MasterKey`] → HKDF per purpose, domain and space → [`keys::Tokenizer`] and
//! [`keys::Encryptor`]. The constructions are a contract, pinned by `tests/data/kat.json`.
//!
//! No error, log line or report made by this crate holds a cell value, a key or a token.
//!
//! ## Example
//!
//! ```
//! use minex::keys::{KeyRing, MasterKey};
//! use minex::ident::{date::Date, personnummer::{ParseOptions, Pnr}};
//!
//! // A fixed test key (a real one comes from `minex keygen`).
//! let ring = KeyRing::new(MasterKey::from_bytes([7; 32]), "skolsystem-ab");
//! let tokens = ring.tokenizer("person");
//! let opts = ParseOptions { reference: Date::new(2026, 1, 1).unwrap(), allow_interim: false };
//! // Two spellings of one of Skatteverket's test numbers give one token.
//! let a = Pnr::parse("19460823-9986", &opts).unwrap();
//! let b = Pnr::parse("460823-9986", &opts).unwrap();
//! assert_eq!(tokens.token(a.canonical()), tokens.token(b.canonical()));
//! assert_eq!(tokens.token(a.canonical()).len(), 32);
//! ```

pub mod affected;
pub mod audit;
pub mod demo;
pub mod init;
pub mod io;
pub mod keyfile;
pub mod ledger;
pub mod lookup;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub(crate) mod progress;
pub mod reidentify;
pub mod rekey;
pub mod report;
pub mod signals;
pub(crate) mod stream;
pub mod synth;
pub mod verify;
pub(crate) mod writer;

pub(crate) use minex_core::arrays;
pub use minex_core::{error, ident, keys, transform};

pub use error::{Error, ErrorKind, Result};
pub use keys::{KeyRing, MasterKey};
pub use plan::Plan;
pub use policy::Policy;
