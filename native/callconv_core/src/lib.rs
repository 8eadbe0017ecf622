//! callconv: static checks of BEAM NIF libraries.
pub mod analysis;
pub mod beam;
pub mod check;
pub mod conventions;
pub mod disasm;
pub mod entry;
pub mod error;
pub mod inspect;
pub(crate) mod isa;
#[doc(hidden)]
pub use isa::x86_iced::{Agreement, X86DecoderAgreement};
pub mod memory;
pub mod platform;
pub mod probe;
pub mod render;
pub mod report;
pub mod rules;
pub mod runtime;
mod runtime_enif;
pub mod source;
pub mod stats;
pub mod target;
pub mod wire;

pub use error::Error;

/// This crate's version, written into every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use check::{
    check_bytes, check_bytes_with, check_path, check_path_with, check_paths, check_paths_with,
    Options,
};
