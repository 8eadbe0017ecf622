//! The rules: every finding callconv can report, with a stable id, and the checks that raise
//! them.
//!
//! Ids are kebab-case and never change meaning; `docs/reference/rules.md` is generated from
//! [`CATALOGUE`] (and SARIF's extra rules) by `tests/docs_reference.rs`.

pub mod catalogue;
pub mod code;
pub mod dependency;
pub mod exports;
pub mod hardening;
pub mod link;
pub mod machine;
pub mod nif;
pub mod probe;

pub use catalogue::*;
