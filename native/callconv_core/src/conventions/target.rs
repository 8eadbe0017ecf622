//! Target → default convention: which convention the BEAM uses to call a NIF on a platform.

use super::model::Convention;
use super::{aarch64, arm, loongarch, mips, ppc, riscv, s390x, sparc, x86};
use serde::Serialize;

use crate::platform::{AbiVariant, Arch, Os};

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

/// A compilation target, as far as the calling convention is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TargetSpec {
    /// Architecture.
    pub arch: Arch,
    /// Operating system.
    pub os: Os,
    /// Environment / C library.
    pub env: Env,
    /// ABI variant read from the binary, if any.
    pub abi_variant: Option<AbiVariant>,
}

impl TargetSpec {
    /// A target with no environment and no ABI variant.
    pub fn new(arch: Arch, os: Os) -> Self {
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
pub fn default_for(target: &TargetSpec) -> Option<&'static Convention> {
    let v = target.abi_variant;
    let c = match target.arch {
        Arch::X86 => match target.os {
            Os::Windows => &x86::CDECL_MSVC,
            _ => &x86::CDECL_SYSV,
        },
        Arch::X86_64 => match target.os {
            Os::Windows => &x86::WIN64,
            _ => &x86::SYSV64,
        },
        Arch::Aarch64 => match target.os {
            Os::Macos => &aarch64::APPLE,
            Os::Windows => &aarch64::WINDOWS,
            _ => &aarch64::AAPCS64,
        },
        Arch::Arm => match v {
            Some(AbiVariant::ArmSoftFloat) => &arm::AAPCS,
            Some(AbiVariant::ArmHardFloat) | None => &arm::AAPCS_VFP,
            Some(_) => return None,
        },
        Arch::Riscv64 => match v {
            Some(AbiVariant::RiscvSoftFloat) => &riscv::LP64,
            Some(AbiVariant::RiscvSingleFloat) => &riscv::LP64F,
            Some(AbiVariant::RiscvDoubleFloat) | None => &riscv::LP64D,
            Some(_) => return None,
        },
        Arch::Riscv32 => match v {
            Some(AbiVariant::RiscvSoftFloat) => &riscv::ILP32,
            Some(AbiVariant::RiscvSingleFloat) => &riscv::ILP32F,
            Some(AbiVariant::RiscvDoubleFloat) | None => &riscv::ILP32D,
            Some(AbiVariant::RiscvE) => &riscv::ILP32E,
            Some(_) => return None,
        },
        Arch::Powerpc64 => match v {
            Some(AbiVariant::Ppc64ElfV1) => &ppc::ELFV1,
            Some(AbiVariant::Ppc64ElfV2) | None => &ppc::ELFV2,
            Some(_) => return None,
        },
        Arch::Powerpc => &ppc::PPC32_SYSV,
        Arch::Mips => match v {
            Some(AbiVariant::MipsO32) | None => &mips::O32,
            Some(_) => return None,
        },
        Arch::Mips64 => match v {
            Some(AbiVariant::MipsN32) => &mips::N32,
            Some(AbiVariant::MipsN64) | None => &mips::N64,
            Some(_) => return None,
        },
        Arch::Sparc => &sparc::V8,
        Arch::Sparc64 => &sparc::V9,
        Arch::S390x => &s390x::ELF,
        Arch::Loongarch64 => &loongarch::LP64D,
        _ => return None,
    };
    // Return the entry of the shared table (same data; stable address for callers).
    super::by_id(c.id)
}
