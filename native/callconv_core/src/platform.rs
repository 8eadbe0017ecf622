//! The vocabulary every layer shares: architecture, byte order, container format, operating
//! system, ABI variant and C library, as enums.
//!
//! This is the bottom of the core (see `docs/design/layers.md`): it imports nothing from the
//! crate, and everything else names a platform through these types rather than through
//! strings. The serde spellings are part of the JSON document and never change.

use serde::{Deserialize, Serialize};

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// ELF (Linux, the BSDs, ...).
    Elf,
    /// A thin Mach-O (macOS).
    Macho,
    /// A universal (fat) Mach-O holding several slices.
    MachoFat,
    /// PE/COFF (Windows).
    Pe,
    /// None of those.
    Unknown,
}

/// The CPU architecture, spelled as Rust's `target_arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Arch {
    /// 32-bit x86.
    #[serde(rename = "x86")]
    X86,
    /// x86-64.
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit ARM.
    #[serde(rename = "aarch64")]
    Aarch64,
    /// 32-bit ARM.
    #[serde(rename = "arm")]
    Arm,
    /// 32-bit RISC-V.
    #[serde(rename = "riscv32")]
    Riscv32,
    /// 64-bit RISC-V.
    #[serde(rename = "riscv64")]
    Riscv64,
    /// 32-bit PowerPC.
    #[serde(rename = "powerpc")]
    Powerpc,
    /// 64-bit PowerPC, either endianness.
    #[serde(rename = "powerpc64")]
    Powerpc64,
    /// 32-bit MIPS.
    #[serde(rename = "mips")]
    Mips,
    /// 64-bit MIPS.
    #[serde(rename = "mips64")]
    Mips64,
    /// 32-bit SPARC.
    #[serde(rename = "sparc")]
    Sparc,
    /// 64-bit SPARC.
    #[serde(rename = "sparc64")]
    Sparc64,
    /// IBM z/Architecture.
    #[serde(rename = "s390x")]
    S390x,
    /// 64-bit LoongArch.
    #[serde(rename = "loongarch64")]
    Loongarch64,
    /// Anything else.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Arch {
    /// The Rust `target_arch` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Arm => "arm",
            Arch::Riscv32 => "riscv32",
            Arch::Riscv64 => "riscv64",
            Arch::Powerpc => "powerpc",
            Arch::Powerpc64 => "powerpc64",
            Arch::Mips => "mips",
            Arch::Mips64 => "mips64",
            Arch::Sparc => "sparc",
            Arch::Sparc64 => "sparc64",
            Arch::S390x => "s390x",
            Arch::Loongarch64 => "loongarch64",
            Arch::Unknown => "unknown",
        }
    }

    /// Parses the Rust `target_arch` spelling (and the common GNU-triple spellings).
    pub fn parse(s: &str) -> Arch {
        match s {
            "x86" | "i386" | "i486" | "i586" | "i686" => Arch::X86,
            "x86_64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "arm" | "armv7" | "armv7l" | "armv6l" | "armel" | "armhf" => Arch::Arm,
            "riscv32" => Arch::Riscv32,
            "riscv64" => Arch::Riscv64,
            "powerpc" | "ppc" => Arch::Powerpc,
            "powerpc64" | "powerpc64le" | "ppc64" | "ppc64le" => Arch::Powerpc64,
            "mips" | "mipsel" => Arch::Mips,
            "mips64" | "mips64el" => Arch::Mips64,
            "sparc" => Arch::Sparc,
            "sparc64" | "sparcv9" => Arch::Sparc64,
            "s390x" => Arch::S390x,
            "loongarch64" => Arch::Loongarch64,
            _ => Arch::Unknown,
        }
    }
}

/// Byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

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

/// The operating-system family a binary is built for, as far as its format tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// ELF: Linux and the other Unixes.
    Unix,
    /// Mach-O.
    Darwin,
    /// PE.
    Windows,
}

impl Platform {
    /// The operating system whose C convention a binary of this family is called with.
    pub fn os(self) -> Os {
        match self {
            Platform::Unix => Os::Linux,
            Platform::Darwin => Os::Macos,
            Platform::Windows => Os::Windows,
        }
    }
}

impl AbiVariant {
    /// The variant an ABI spelling names, as [`crate::inspect`] words the header flags
    /// (`eabi5-hard-float`, `n32-nan2008`, `elfv1`, `double-float-rve`, ...), for a binary of
    /// `arch`. `None` where the architecture has no variants or the spelling names none.
    pub fn parse(arch: Arch, v: &str) -> Option<AbiVariant> {
        Some(match arch {
            Arch::Arm if v.contains("hard-float") => AbiVariant::ArmHardFloat,
            Arch::Arm => AbiVariant::ArmSoftFloat,
            Arch::Mips | Arch::Mips64 if v.starts_with("o32") => AbiVariant::MipsO32,
            Arch::Mips | Arch::Mips64 if v.starts_with("n32") => AbiVariant::MipsN32,
            Arch::Mips | Arch::Mips64 if v.starts_with("n64") => AbiVariant::MipsN64,
            Arch::Powerpc64 if v == "elfv1" => AbiVariant::Ppc64ElfV1,
            Arch::Powerpc64 if v == "elfv2" => AbiVariant::Ppc64ElfV2,
            Arch::Riscv32 | Arch::Riscv64 if v.ends_with("-rve") => AbiVariant::RiscvE,
            Arch::Riscv32 | Arch::Riscv64 if v.starts_with("soft") => AbiVariant::RiscvSoftFloat,
            Arch::Riscv32 | Arch::Riscv64 if v.starts_with("single") => {
                AbiVariant::RiscvSingleFloat
            }
            Arch::Riscv32 | Arch::Riscv64 if v.starts_with("double") => {
                AbiVariant::RiscvDoubleFloat
            }
            _ => return None,
        })
    }
}

/// A C library, as a target names it (`Target::libc`) or a binary reveals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Libc {
    /// glibc.
    Gnu,
    /// musl.
    Musl,
    /// Android's bionic.
    Bionic,
    /// Apple's libSystem.
    Macos,
    /// The Visual C++ runtime of a Windows target.
    Msvc,
    /// Windows' Universal CRT.
    Ucrt,
    /// Windows' legacy msvcrt.dll.
    Msvcrt,
}

impl Libc {
    /// The spelling used in targets and reports (`gnu`, `musl`, `bionic`, `macos`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Libc::Gnu => "gnu",
            Libc::Musl => "musl",
            Libc::Bionic => "bionic",
            Libc::Macos => "macos",
            Libc::Msvc => "msvc",
            Libc::Ucrt => "ucrt",
            Libc::Msvcrt => "msvcrt",
        }
    }

    /// The C library a spelling names, if callconv knows it.
    pub fn parse(s: &str) -> Option<Libc> {
        Some(match s {
            "gnu" => Libc::Gnu,
            "musl" => Libc::Musl,
            "bionic" => Libc::Bionic,
            "macos" => Libc::Macos,
            "msvc" => Libc::Msvc,
            "ucrt" => Libc::Ucrt,
            "msvcrt" => Libc::Msvcrt,
            _ => return None,
        })
    }
}

impl Format {
    /// The stable spelling used in JSON and as an Elixir atom.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Elf => "elf",
            Format::Macho => "macho",
            Format::MachoFat => "macho-fat",
            Format::Pe => "pe",
            Format::Unknown => "unknown",
        }
    }
}

impl Endian {
    /// The stable spelling used in JSON and as an Elixir atom.
    pub fn as_str(self) -> &'static str {
        match self {
            Endian::Little => "little",
            Endian::Big => "big",
        }
    }
}
