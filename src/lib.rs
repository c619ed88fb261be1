//! # minex
//!
//! Minimize and pseudonymize citizen registers into Parquet extracts a supplier may hold.
//!
//! This crate is the **file runner** and the `minex` command line. Everything that decides an
//! extract's bytes (the policy, the plan, identity numbers, keys, tokens and ciphertexts, row
//! rules, `on_invalid`, k-anonymity) is in [`minex_core`], re-exported here; this
//! crate reads files into Arrow batches, hands them to a [`minex_core::Transformer`] on worker
//! threads, and writes the results atomically.
//!
//! ## The flow
//! policy file → [`policy::from_file`] → [`pipeline::prepare`] (inputs opened, the
//! [`Plan`] checked against their headers and the key, every problem at once) →
//! [`pipeline::run`]: the inputs streamed as bounded batches (`io`, `stream`) through the
//! core, pass 1 → [`minex_core::Gate`] → pass 2 with k-anonymity, the extract written (`writer`),
//! the [`report::Manifest`] and the rejects report, and the commit that renames all of
//! them into place (`io::output`).
//!
//! ## The API for Rust users of the file runner
//! * [`pipeline::run`] with a [`pipeline::RunConfig`] (or [`pipeline::run_policy`]): one run,
//!   returning a [`pipeline::RunSummary`] with its manifest.
//! * [`verify::verify`]: a supplier-side or steward-side check of an extract against its
//!   manifest and policy.
//! * [`policy::from_file`], [`keyfile::load`], [`io::ReadOptions`], [`report::Manifest`],
//!   [`Error`] (its [`error::Category`] maps to the documented exit codes).
//! * [`synth`]: the synthetic register generator of the examples and benchmarks.
//!
//! The other public modules are the implementations of the `minex` subcommands (`init`,
//! `lookup`, `affected`, `rekey`, `reidentify`, `audit`, `ledger`, `demo`, `signals`), public
//! because the binary calls them; they are not a stable API. To apply a policy to Arrow
//! batches in another program (a binding, a Spark job, a DataFusion UDF), depend on
//! `minex-core` alone: it has no file, thread or terminal dependency.
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

#[doc(hidden)]
pub mod affected;
#[doc(hidden)]
pub mod audit;
#[doc(hidden)]
pub mod demo;
#[doc(hidden)]
pub mod init;
pub mod io;
pub mod keyfile;
#[doc(hidden)]
pub mod ledger;
#[doc(hidden)]
pub mod lookup;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub(crate) mod progress;
#[doc(hidden)]
pub mod reidentify;
#[doc(hidden)]
pub mod rekey;
pub mod report;
#[doc(hidden)]
pub mod signals;
pub(crate) mod stream;
pub mod synth;
pub mod verify;
pub(crate) mod writer;

/// The core: a policy applied to Arrow record batches.
pub use minex_core;
pub(crate) use minex_core::arrays;
pub use minex_core::{error, ident, keys, transform};

pub use error::{Error, ErrorKind, Result};
pub use keys::{KeyRing, MasterKey};
pub use plan::Plan;
pub use policy::Policy;
