//! Target → default convention: which convention the BEAM uses to call a NIF on a platform.

use super::model::Convention;
use super::{aarch64, arm, loongarch, mips, ppc, riscv, s390x, sparc, x86};
use serde::Serialize;

/// Operating system of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Os {
    /// Linux (glibc, musl, Android's bionic share the C convention).
    Linux,
    /// macOS (and other Apple OSes, which share the arm64/x86-64 conventions).
    Macos,
    /// Windows (and UEFI, which uses the Windows conventions).
    Windows,
    /// FreeBSD.
    Freebsd,
    /// Anything else (other BSDs, Solaris, bare metal): treated like Linux/ELF.
    Other,
}

/// C library / environment of a target (Rust `target_env` spelling, mostly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Env {
    /// GNU (glibc, MinGW).
    Gnu,
    /// musl.
    Musl,
    /// Microsoft Visual C++.
    Msvc,
    /// None / unknown.
    None,
}

/// ABI variant that a binary header reveals within one architecture (ELF `e_flags`, class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AbiVariant {
    /// 32-bit Arm base (soft-float) procedure call standard (`EF_ARM_ABI_FLOAT_SOFT` or neither
    /// float bit).
    ArmSoftFloat,
    /// 32-bit Arm VFP (hard-float) variant (`EF_ARM_ABI_FLOAT_HARD`).
    ArmHardFloat,
    /// MIPS O32 (ELFCLASS32 without `EF_MIPS_ABI2`).
    MipsO32,
    /// MIPS N32 (ELFCLASS32 + `EF_MIPS_ABI2`).
    MipsN32,
    /// MIPS N64 (ELFCLASS64).
    MipsN64,
    /// PPC64 ELFv1 (`e_flags & 3` = 1, or 0 on big-endian).
    Ppc64ElfV1,
    /// PPC64 ELFv2 (`e_flags & 3` = 2).
    Ppc64ElfV2,
    /// RISC-V soft-float ABI (float-ABI field 0).
    RiscvSoftFloat,
    /// RISC-V single-float ABI (field 0x2).
    RiscvSingleFloat,
    /// RISC-V double-float ABI (field 0x4).
    RiscvDoubleFloat,
    /// RISC-V RV32E/ILP32E (`EF_RISCV_RVE`).
    RiscvE,
}

/// A compilation target, as far as the calling convention is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TargetSpec<'a> {
    /// Architecture in Rust `target_arch` spelling (`x86_64`, `aarch64`, `powerpc64`, …).
    pub arch: &'a str,
    /// Operating system.
    pub os: Os,
    /// Environment / C library.
    pub env: Env,
    /// ABI variant read from the binary, if any.
    pub abi_variant: Option<AbiVariant>,
}

impl<'a> TargetSpec<'a> {
    /// A target with no environment and no ABI variant.
    pub fn new(arch: &'a str, os: Os) -> Self {
        TargetSpec {
            arch,
            os,
            env: Env::None,
            abi_variant: None,
        }
    }

    /// The same target with this environment.
    pub fn with_env(self, env: Env) -> Self {
        TargetSpec { env, ..self }
    }

    /// The same target with this ABI variant.
    pub fn with_abi(self, abi_variant: AbiVariant) -> Self {
        TargetSpec {
            abi_variant: Some(abi_variant),
            ..self
        }
    }
}

/// The platform's default C convention for `target`: the convention the BEAM uses to call a
/// NIF there. `None` for an unknown architecture or an ABI variant that does not belong to it.
///
/// Without an ABI variant, the most common default is assumed: Arm hard-float on Linux
/// (armhf), MIPS O32/N64 by `arch`, PPC64 ELFv2 (little-endian Linux and musl; pass
/// [`AbiVariant::Ppc64ElfV1`] for big-endian glibc), RISC-V double-float.
pub fn default_for(target: &TargetSpec<'_>) -> Option<&'static Convention> {
    let v = target.abi_variant;
    let c = match target.arch {
        "x86" => match target.os {
            Os::Windows => &x86::CDECL_MSVC,
            _ => &x86::CDECL_SYSV,
        },
        "x86_64" => match target.os {
            Os::Windows => &x86::WIN64,
            _ => &x86::SYSV64,
        },
        "aarch64" => match target.os {
            Os::Macos => &aarch64::APPLE,
            Os::Windows => &aarch64::WINDOWS,
            _ => &aarch64::AAPCS64,
        },
        "arm" => match v {
            Some(AbiVariant::ArmSoftFloat) => &arm::AAPCS,
            Some(AbiVariant::ArmHardFloat) | None => &arm::AAPCS_VFP,
            Some(_) => return None,
        },
        "riscv64" => match v {
            Some(AbiVariant::RiscvSoftFloat) => &riscv::LP64,
            Some(AbiVariant::RiscvSingleFloat) => &riscv::LP64F,
            Some(AbiVariant::RiscvDoubleFloat) | None => &riscv::LP64D,
            Some(_) => return None,
        },
        "riscv32" => match v {
            Some(AbiVariant::RiscvSoftFloat) => &riscv::ILP32,
            Some(AbiVariant::RiscvSingleFloat) => &riscv::ILP32F,
            Some(AbiVariant::RiscvDoubleFloat) | None => &riscv::ILP32D,
            Some(AbiVariant::RiscvE) => &riscv::ILP32E,
            Some(_) => return None,
        },
        "powerpc64" => match v {
            Some(AbiVariant::Ppc64ElfV1) => &ppc::ELFV1,
            Some(AbiVariant::Ppc64ElfV2) | None => &ppc::ELFV2,
            Some(_) => return None,
        },
        "powerpc" => &ppc::PPC32_SYSV,
        "mips" => match v {
            Some(AbiVariant::MipsO32) | None => &mips::O32,
            Some(_) => return None,
        },
        "mips64" => match v {
            Some(AbiVariant::MipsN32) => &mips::N32,
            Some(AbiVariant::MipsN64) | None => &mips::N64,
            Some(_) => return None,
        },
        "sparc" => &sparc::V8,
        "sparc64" => &sparc::V9,
        "s390x" => &s390x::ELF,
        "loongarch64" => &loongarch::LP64D,
        _ => return None,
    };
    // Return the entry of the shared table (same data; stable address for callers).
    super::by_id(c.id)
}
