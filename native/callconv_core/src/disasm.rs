//! What is safe to ask capstone about.
//!
//! capstone-rs 0.14 converts AArch64 system-register operands into its register enum with an
//! unchecked `transmute`: an `mrs`/`msr`/`sys` that names a register it does not know is
//! undefined behaviour, and with debug assertions an uncatchable abort. A single bit flip in a
//! real NIF produces one. So operands are never requested for those instructions; callers fall
//! back to the instruction's text.

/// Whether capstone's operand details may be requested for this AArch64 instruction.
pub fn aarch64_operands_are_safe(mnemonic: &str) -> bool {
    !matches!(
        mnemonic,
        "mrs" | "msr" | "sys" | "sysl" | "tlbi" | "dc" | "ic" | "at" | "cfp" | "dvp" | "cpp"
    )
}

/// The destination register of `mrs xN, <sysreg>`, read from its text (`"x0, midr_el1"`).
pub fn aarch64_mrs_destination(op_str: &str) -> Option<String> {
    let first = op_str.split(',').next()?.trim();
    (first.starts_with('x') || first.starts_with('w')).then(|| first.to_string())
}

/// The instruction sets callconv decodes, with what selects capstone's mode.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Isa {
    X86 {
        wide: bool,
    },
    Aarch64,
    Arm {
        thumb: bool,
        big_endian: bool,
    },
    Riscv {
        wide: bool,
    },
    Ppc64 {
        big_endian: bool,
    },
    /// `r6`: release 6's encodings (capstone's MIPS32R6 mode, which also decodes the
    /// 64-bit instructions, tries the release 6 tables first).
    Mips {
        wide: bool,
        big_endian: bool,
        r6: bool,
    },
    S390x,
    Sparc,
}

/// Capstone could not build a handle (the library was built without the architecture, or
/// ran out of memory).
#[derive(Debug, thiserror::Error)]
#[error("capstone: {0}")]
pub struct DisasmError(#[from] capstone::Error);

/// The decoders that still report in words take the message as it always read.
impl From<DisasmError> for String {
    fn from(e: DisasmError) -> String {
        e.to_string()
    }
}

/// A capstone handle for `isa` with operand details on: the one place every decoder
/// (`entry::locate`, `entry::rustler`, `analysis`) gets its handle from.
pub(crate) fn detailed(isa: Isa) -> Result<capstone::Capstone, DisasmError> {
    use capstone::arch::{self, BuildsCapstone, BuildsCapstoneEndian, BuildsCapstoneExtraMode};
    use capstone::{Capstone, Endian};
    let endian = |big: bool| if big { Endian::Big } else { Endian::Little };
    let built = match isa {
        Isa::X86 { wide } => Capstone::new()
            .x86()
            .mode(if wide {
                arch::x86::ArchMode::Mode64
            } else {
                arch::x86::ArchMode::Mode32
            })
            .detail(true)
            .build(),
        Isa::Aarch64 => Capstone::new()
            .arm64()
            .mode(arch::arm64::ArchMode::Arm)
            .detail(true)
            .build(),
        Isa::Arm { thumb, big_endian } => Capstone::new()
            .arm()
            .mode(if thumb {
                arch::arm::ArchMode::Thumb
            } else {
                arch::arm::ArchMode::Arm
            })
            .endian(endian(big_endian))
            .detail(true)
            .build(),
        Isa::Riscv { wide } => Capstone::new()
            .riscv()
            .mode(if wide {
                arch::riscv::ArchMode::RiscV64
            } else {
                arch::riscv::ArchMode::RiscV32
            })
            .extra_mode([arch::riscv::ArchExtraMode::RiscVC].iter().copied())
            .detail(true)
            .build(),
        Isa::Ppc64 { big_endian } => Capstone::new()
            .ppc()
            .mode(arch::ppc::ArchMode::Mode64)
            .endian(endian(big_endian))
            .detail(true)
            .build(),
        Isa::Mips {
            wide,
            big_endian,
            r6,
        } => Capstone::new()
            .mips()
            .mode(if r6 {
                arch::mips::ArchMode::Mips32R6
            } else if wide {
                arch::mips::ArchMode::Mips64
            } else {
                arch::mips::ArchMode::Mips32
            })
            .endian(endian(big_endian))
            .detail(true)
            .build(),
        Isa::S390x => Capstone::new()
            .sysz()
            .mode(arch::sysz::ArchMode::Default)
            .detail(true)
            .build(),
        // Always big-endian; V9 mode decodes V8 as well, and 32-bit files may be V8+ (V9
        // instructions under the 32-bit ABI).
        Isa::Sparc => Capstone::new()
            .sparc()
            .mode(arch::sparc::ArchMode::V9)
            .detail(true)
            .build(),
    };
    Ok(built?)
}

/// The `index`-th 32-bit word of `code` in the given byte order (fixed-width ISAs whose words
/// capstone does not decode, such as Power ISA 3.1's prefixed instructions).
pub(crate) fn word32(code: &[u8], index: usize, big_endian: bool) -> Option<u32> {
    let start = index.checked_mul(4)?;
    let b: [u8; 4] = code.get(start..start.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}
