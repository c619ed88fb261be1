//! Transformations: canonicalization of typed values ([`canonical`]) and one kernel per action
//! ([`kernels`]), each over whole Arrow arrays.

pub mod canonical;
pub mod kernels;

pub use canonical::{Canonical, canonicalize, canonicalize_with};
