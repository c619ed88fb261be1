//! # minex-core
//!
//! The part of minex that decides an extract's bytes: a policy applied to Arrow record
//! batches. Tokens, ciphertexts, rejects and k-anonymity suppression are made here and only
//! here, so the `minex` command line, the Rust library and every binding give identical
//! output by construction. Nothing in this crate opens a file, starts a thread or writes to
//! the terminal: the runner on top does (reading CSV and Parquet, the worker threads, the
//! extract writer, the manifest's files).
//!
//! The flow: [`Policy`] (YAML text) → [`Plan`] (the policy checked against an input's
//! Arrow schema) → [`Transformer`] (keyed once by a [`MasterKey`]) → [`BatchOutput`] per
//! batch; with k-anonymity, pass 1 counts classes into [`ClassCounts`], a [`Gate`] decides,
//! and pass 2 transforms through the gate.
//!
//! No error made by this crate holds a cell value, a key or a token: errors name the
//! column and the batch row.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{RecordBatch, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use minex_core::{BatchOutput, ClassCounts, Gate, MasterKey, Plan, Policy, Reject, Transformer};
//!
//! # fn main() -> Result<(), minex_core::Error> {
//! let text = "
//! version: 1
//! name: example
//! domain: skolsystem-ab
//! reference_date: 2026-01-01
//! columns:
//!   personnummer: { type: personnummer, action: tokenize, space: person }
//!   postal_code: { type: postal_code, action: truncate, keep: 3 }
//!   first_name: drop
//! k_anonymity:
//!   quasi_identifiers: [postal_code]
//!   k: 2
//! ";
//! let policy = Policy::from_yaml(text)?;
//! let schema = Schema::new(vec![
//!     Field::new("personnummer", DataType::Utf8, true),
//!     Field::new("postal_code", DataType::Utf8, true),
//!     Field::new("first_name", DataType::Utf8, true),
//! ]);
//! let plan = Plan::new(&policy, &schema)?;
//! // A fixed test key (a real one comes from `minex keygen`).
//! let key = MasterKey::from_hex(&"07".repeat(32))?;
//! let tx = Transformer::new(&plan, &key)?;
//!
//! // Skatteverket's test numbers; the third is not a valid number and is rejected.
//! let batch = RecordBatch::try_new(
//!     Arc::new(schema),
//!     vec![
//!         Arc::new(StringArray::from(vec!["19460823-9986", "460823-9986", "19460823-9987"])),
//!         Arc::new(StringArray::from(vec!["414 76", "41476", "414 80"])),
//!         Arc::new(StringArray::from(vec!["Anna", "Anna", "Bo"])),
//!     ],
//! )
//! .map_err(|e| minex_core::Error::internal(e.to_string()))?;
//!
//! let out: BatchOutput = tx.transform(&batch)?;
//! assert_eq!(out.batch.num_rows(), 2);
//! assert_eq!(out.filtered, 0);
//! assert_eq!(out.rejects, vec![Reject { row: 2, column: "personnummer".into(), reason: "checksum".into() }]);
//! // Two spellings of one number give one token.
//! let tokens = out.batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
//! assert_eq!(tokens.value(0), tokens.value(1));
//!
//! // k-anonymity: count the classes (pass 1, mergeable across partitions), decide, write.
//! let mut counts = ClassCounts::default();
//! tx.count_classes(&batch, &mut counts)?;
//! counts.merge(ClassCounts::default());
//! let gate = Gate::new(&plan, counts)?;
//! let out = tx.transform_gated(&batch, &gate)?;
//! assert_eq!((out.batch.num_rows(), out.suppressed), (2, 0));
//! # Ok(())
//! # }
//! ```

pub mod arrays;
pub mod error;
pub mod gate;
pub mod ident;
pub mod keys;
pub mod manifest;
pub mod plan;
pub mod policy;
mod search;
pub mod transform;
pub mod transformer;

pub use error::{Error, ErrorKind, Result};
pub use gate::{ClassCounts, Gate};
pub use keys::{KeyRing, MasterKey};
pub use plan::Plan;
pub use policy::Policy;
pub use transformer::{BatchOutput, Reject, Transformer};
