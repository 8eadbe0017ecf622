//! Helpers for `convention_agreement.rs`: load a probe object, disassemble one probe function
//! with capstone and normalise its instructions into a tiny architecture-neutral form
//! (register operands by capstone name, memory operands as base + displacement).

use capstone::arch::{
    self, ArchOperand, BuildsCapstone, BuildsCapstoneEndian, BuildsCapstoneExtraMode,
};
use capstone::{Capstone, Endian, RegId};
use object::{Architecture, Object, ObjectSection, ObjectSymbol, SymbolKind};

/// A normalised operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Reg(String),
    Imm(i64),
    Mem { base: String, disp: i64 },
    Other,
}

/// A normalised instruction.
#[derive(Debug, Clone)]
pub struct Ins {
    pub mnem: String,
    pub text: String,
    pub ops: Vec<Op>,
}

/// The probe objects live in test/fixtures/conventions/out (relative to the crate root).
pub fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/conventions/out")
}

fn capstone_for(file: &object::File<'_>) -> Capstone {
    let endian = match file.endianness() {
        object::Endianness::Big => Endian::Big,
        object::Endianness::Little => Endian::Little,
    };
    let cs = match file.architecture() {
        Architecture::I386 => Capstone::new()
            .x86()
            .mode(arch::x86::ArchMode::Mode32)
            .build(),
        Architecture::X86_64 => Capstone::new()
            .x86()
            .mode(arch::x86::ArchMode::Mode64)
            .build(),
        Architecture::Aarch64 => Capstone::new()
            .arm64()
            .mode(arch::arm64::ArchMode::Arm)
            .build(),
        Architecture::Arm => Capstone::new()
            .arm()
            .mode(arch::arm::ArchMode::Arm)
            .endian(endian)
            .build(),
        Architecture::Riscv64 => Capstone::new()
            .riscv()
            .mode(arch::riscv::ArchMode::RiscV64)
            .extra_mode([arch::riscv::ArchExtraMode::RiscVC].into_iter())
            .build(),
        Architecture::Riscv32 => Capstone::new()
            .riscv()
            .mode(arch::riscv::ArchMode::RiscV32)
            .extra_mode([arch::riscv::ArchExtraMode::RiscVC].into_iter())
            .build(),
        Architecture::PowerPc64 => Capstone::new()
            .ppc()
            .mode(arch::ppc::ArchMode::Mode64)
            .endian(endian)
            .build(),
        Architecture::PowerPc => Capstone::new()
            .ppc()
            .mode(arch::ppc::ArchMode::Mode32)
            .endian(endian)
            .build(),
        Architecture::Mips => Capstone::new()
            .mips()
            .mode(arch::mips::ArchMode::Mips32)
            .endian(endian)
            .build(),
        Architecture::Mips64 | Architecture::Mips64_N32 => Capstone::new()
            .mips()
            .mode(arch::mips::ArchMode::Mips64)
            .endian(endian)
            .build(),
        Architecture::Sparc | Architecture::Sparc32Plus => Capstone::new()
            .sparc()
            .mode(arch::sparc::ArchMode::Default)
            .build(),
        Architecture::Sparc64 => Capstone::new()
            .sparc()
            .mode(arch::sparc::ArchMode::V9)
            .build(),
        Architecture::S390x => Capstone::new()
            .sysz()
            .mode(arch::sysz::ArchMode::Default)
            .build(),
        other => panic!("no capstone mode for {other:?}"),
    };
    let mut cs = cs.expect("capstone");
    cs.set_detail(true).expect("detail");
    cs
}

fn name(cs: &Capstone, r: RegId) -> String {
    cs.reg_name(r).unwrap_or_default()
}

fn op_of(cs: &Capstone, op: &ArchOperand) -> Op {
    use ArchOperand as A;
    match op {
        A::X86Operand(o) => match &o.op_type {
            arch::x86::X86OperandType::Reg(r) => Op::Reg(name(cs, *r)),
            arch::x86::X86OperandType::Imm(i) => Op::Imm(*i),
            arch::x86::X86OperandType::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: m.disp(),
            },
            _ => Op::Other,
        },
        A::Arm64Operand(o) => match &o.op_type {
            arch::arm64::Arm64OperandType::Reg(r) => Op::Reg(name(cs, *r)),
            arch::arm64::Arm64OperandType::Imm(i) => Op::Imm(*i),
            arch::arm64::Arm64OperandType::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: i64::from(m.disp()),
            },
            _ => Op::Other,
        },
        A::ArmOperand(o) => match &o.op_type {
            arch::arm::ArmOperandType::Reg(r) => Op::Reg(name(cs, *r)),
            arch::arm::ArmOperandType::Imm(i) => Op::Imm(i64::from(*i)),
            arch::arm::ArmOperandType::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: i64::from(m.disp()),
            },
            _ => Op::Other,
        },
        A::RiscVOperand(o) => match o {
            arch::riscv::RiscVOperand::Reg(r) => Op::Reg(name(cs, *r)),
            arch::riscv::RiscVOperand::Imm(i) => Op::Imm(*i),
            arch::riscv::RiscVOperand::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: m.disp(),
            },
            _ => Op::Other,
        },
        A::PpcOperand(o) => match o {
            arch::ppc::PpcOperand::Reg(r) => Op::Reg(name(cs, *r)),
            arch::ppc::PpcOperand::Imm(i) => Op::Imm(*i),
            arch::ppc::PpcOperand::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: i64::from(m.disp()),
            },
            _ => Op::Other,
        },
        A::MipsOperand(o) => match o {
            arch::mips::MipsOperand::Reg(r) => Op::Reg(name(cs, *r)),
            arch::mips::MipsOperand::Imm(i) => Op::Imm(*i),
            arch::mips::MipsOperand::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: m.disp(),
            },
            _ => Op::Other,
        },
        A::SysZOperand(o) => match o {
            arch::sysz::SysZOperand::Reg(r) => Op::Reg(name(cs, *r)),
            arch::sysz::SysZOperand::Imm(i) => Op::Imm(*i),
            arch::sysz::SysZOperand::Mem(m) => Op::Mem {
                base: name(cs, RegId(u16::from(m.base()))),
                disp: m.disp(),
            },
            _ => Op::Other,
        },
        A::SparcOperand(o) => match o {
            arch::sparc::SparcOperand::Reg(r) => Op::Reg(name(cs, *r)),
            arch::sparc::SparcOperand::Imm(i) => Op::Imm(*i),
            arch::sparc::SparcOperand::Mem(m) => Op::Mem {
                base: name(cs, m.base()),
                disp: i64::from(m.disp()),
            },
            _ => Op::Other,
        },
        _ => Op::Other,
    }
}

/// Strip COFF/Mach-O decoration: `_f`, `_f@8`, `@f@8`, `f@@8` → `f`.
fn undecorate(sym: &str) -> &str {
    let s = sym.trim_start_matches(['_', '@']);
    s.split('@').next().unwrap_or(s)
}

/// Disassemble the probe function `func` in fixture `file` (e.g. "x86-stdcall.o").
/// Returns the object's architecture and the normalised instructions.
pub fn disassemble(file: &str, func: &str) -> (Architecture, Vec<Ins>) {
    let path = fixture_dir().join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = object::File::parse(&*data).expect("parse object");
    let cs = capstone_for(&obj);
    let sym = obj
        .symbols()
        .find(|s| {
            s.is_definition()
                && s.kind() == SymbolKind::Text
                && s.name().is_ok_and(|n| undecorate(n) == func)
        })
        .unwrap_or_else(|| panic!("{file}: no symbol {func}"));
    let section = obj
        .section_by_index(sym.section_index().expect("section"))
        .expect("section");
    let bytes = section.data().expect("data");
    let start = usize::try_from(sym.address() - section.address()).expect("offset");
    // COFF and Mach-O symbols have no size: end at the next symbol of the section.
    let end = if sym.size() > 0 {
        start + usize::try_from(sym.size()).expect("size")
    } else {
        obj.symbols()
            .filter(|s| s.section_index() == sym.section_index() && s.address() > sym.address())
            .map(|s| usize::try_from(s.address() - section.address()).unwrap_or(bytes.len()))
            .min()
            .unwrap_or(bytes.len())
    };
    let code = &bytes[start..end];
    let insns = cs.disasm_all(code, sym.address()).expect("disassemble");
    let mut out = Vec::new();
    for insn in insns.iter() {
        let detail = cs.insn_detail(insn).expect("detail");
        let mut ops: Vec<Op> = detail
            .arch_detail()
            .operands()
            .iter()
            .map(|o| op_of(&cs, o))
            .collect();
        // RISC-V compressed stack loads/stores come as [Reg, Imm(disp), Reg(base)].
        if let [Op::Reg(_), Op::Imm(d), Op::Reg(b)] = ops.as_slice() {
            if matches!(
                obj.architecture(),
                Architecture::Riscv64 | Architecture::Riscv32
            ) {
                let (d, b) = (*d, b.clone());
                ops.truncate(1);
                ops.push(Op::Mem { base: b, disp: d });
            }
        }
        out.push(Ins {
            mnem: insn.mnemonic().unwrap_or("").to_string(),
            text: format!(
                "{} {}",
                insn.mnemonic().unwrap_or(""),
                insn.op_str().unwrap_or("")
            ),
            ops,
        });
    }
    (obj.architecture(), out)
}
