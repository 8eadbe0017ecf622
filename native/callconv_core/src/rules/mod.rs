//! The rules: every finding callconv can report, with a stable id, and the checks that raise
//! them.
//!
//! Ids are kebab-case and never change meaning; the README's rule catalogue lists each one
//! (a test keeps the two in step).

pub mod catalogue;
pub mod dependency;
pub mod hardening;
pub mod link;
pub mod machine;
pub mod nif;

pub use catalogue::*;
