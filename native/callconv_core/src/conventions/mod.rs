//! The calling-convention model: one source of truth for every C calling convention that
//! callconv knows, with the register-level facts needed to check compiled code.
//!
//! * [`all`] / [`by_id`] give the table of [`Convention`]s (stable kebab-case ids);
//! * [`default_for`] maps a [`TargetSpec`] to the convention the BEAM uses to call a NIF;
//! * [`from_spelling`] maps a language's spelling (`extern "C"`, `callconv(.c)`,
//!   `__attribute__((ms_abi))`, `__stdcall`, ctypes `WINFUNCTYPE`, …) to a convention;
//! * [`chart::render_table`] / [`chart::render_markdown`] render the table for humans;
//! * [`to_json`] serialises the whole model.
//!
//! Every convention's `source` field names the documents its facts were checked against, by
//! tag; `docs/design/reading-a-library.md` ("The calling-convention model") lists the tags. Register
//! names are spelled as capstone 0.14 spells them (see [`model`]).
//!
//! ```
//! use callconv::conventions::{by_id, default_for, Os, TargetSpec};
//! use callconv::platform::Arch;
//! let sysv = by_id("x86_64-sysv").map(|c| c.int_args);
//! assert_eq!(sysv, Some(&["rdi", "rsi", "rdx", "rcx", "r8", "r9"][..]));
//! let t = TargetSpec::new(Arch::Aarch64, Os::Macos);
//! assert_eq!(default_for(&t).map(|c| c.id), Some("aarch64-apple"));
//! ```

pub mod aarch64;
pub mod arm;
pub mod chart;
pub mod loongarch;
pub mod mips;
pub mod model;
pub mod ppc;
pub mod riscv;
pub mod s390x;
pub mod sparc;
pub mod spelling;
pub mod target;
pub mod threaded;
pub mod x86;

pub use crate::platform::{AbiVariant, Os};
use crate::platform::{Arch, Platform};
pub use chart::{render_markdown, render_table};
pub use model::{
    ArgAllocation, Cleanup, Convention, PartialSave, Reserved, Sret, SretLocation, StackArgs,
    StackOrder, Variadic, VariadicKind,
};
pub use spelling::{from_spelling, spellings, Language, Spelling};
pub use target::{default_for, Env, TargetSpec};

static ALL: [Convention; 34] = [
    x86::CDECL_SYSV,
    x86::CDECL_MSVC,
    x86::STDCALL,
    x86::FASTCALL_MSVC,
    x86::FASTCALL_GCC,
    x86::THISCALL,
    x86::VECTORCALL_X86,
    x86::REGPARM3,
    x86::SYSV64,
    x86::WIN64,
    x86::VECTORCALL_X64,
    aarch64::AAPCS64,
    aarch64::APPLE,
    aarch64::WINDOWS,
    arm::AAPCS,
    arm::AAPCS_VFP,
    riscv::LP64D,
    riscv::LP64F,
    riscv::LP64,
    riscv::ILP32D,
    riscv::ILP32F,
    riscv::ILP32,
    riscv::ILP32E,
    ppc::ELFV2,
    ppc::ELFV1,
    ppc::PPC32_SYSV,
    mips::O32,
    mips::N32,
    mips::N64,
    sparc::V8,
    sparc::V9,
    s390x::ELF,
    loongarch::LP64D,
    threaded::THREADED_CODE,
];

/// Every convention of the model, in a stable order (x86, x86-64, AArch64, Arm, RISC-V,
/// PowerPC, MIPS, SPARC, s390x, LoongArch, then the threaded-code counterexample).
pub fn all() -> &'static [Convention] {
    &ALL
}

/// The convention with this stable id, if any.
pub fn by_id(id: &str) -> Option<&'static Convention> {
    all().iter().find(|c| c.id == id)
}

/// The conventions of one architecture (Rust `target_arch` spelling).
pub fn for_arch(arch: &str) -> impl Iterator<Item = &'static Convention> + '_ {
    all().iter().filter(move |c| c.arch == arch)
}

/// The whole model as pretty-printed JSON: `{"conventions": [...], "spellings": [...]}`.
/// Field names are stable; see [`Convention`].
pub fn to_json() -> String {
    to_json_for(None)
}

/// Like [`to_json`], with only the conventions of `arch` when one is given.
pub fn to_json_for(arch: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Doc {
        conventions: Vec<&'static Convention>,
        spellings: &'static [Spelling],
    }
    let doc = Doc {
        conventions: all()
            .iter()
            .filter(|c| arch.is_none_or(|a| c.arch == a))
            .collect(),
        spellings: spellings(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The convention the BEAM uses to call into a library read from a file: its architecture,
/// the platform its format implies, and the ABI variant its headers spell out (as
/// [`crate::inspect::Binary::abi_variant`] words it).
pub fn for_binary(
    arch: Arch,
    platform: Platform,
    abi_variant: Option<&str>,
) -> Option<&'static Convention> {
    let mut spec = TargetSpec::new(arch, platform.os());
    if let Some(v) = abi_variant.and_then(|v| AbiVariant::parse(arch, v)) {
        spec = spec.with_abi(v);
    }
    default_for(&spec)
}

#[cfg(test)]
mod tests;
