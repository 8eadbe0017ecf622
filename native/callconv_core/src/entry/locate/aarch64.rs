//! AArch64 (Linux, macOS, Windows): `adrp`+`add`, `adr`, GOT loads through `ldr`, and the
//! Windows `nif_init(callbacks)` that calls `memcpy` first.

use capstone::arch::arm64::Arm64OperandType;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{
    address, from_capstone, operands, reg_name, value, Insn, Machine, Memory, Op, Regs, Step,
};

pub(super) struct Aarch64 {
    cs: Capstone,
}

impl Aarch64 {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Aarch64)?;
        Ok(Aarch64 { cs })
    }
}

/// `wN` → `xN`: a 32-bit write zero-extends, and the evaluator tracks addresses only.
fn canonical(name: String) -> String {
    match name.strip_prefix('w') {
        Some(n) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => format!("x{n}"),
        _ if name == "wzr" => "xzr".to_string(),
        _ => name,
    }
}

/// Registers a call may change (AAPCS64: x0–x18, x30).
const CLOBBERED: [&str; 20] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x30",
];

impl Machine for Aarch64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let mnemonic = insn.mnemonic().unwrap_or("");
            if !crate::disasm::aarch64_operands_are_safe(mnemonic) {
                // Writes a register we cannot name safely: nif_init has no business here.
                return Err(format!(
                    "nif_init executes {mnemonic} at {:#x}, which static evaluation does not follow",
                    insn.address()
                ));
            }
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::Arm64Operand(o) => match o.op_type {
                        Arm64OperandType::Reg(r) => reg_name(cs, r)
                            .map(|n| Op::Reg(canonical(n)))
                            .unwrap_or(Op::Other),
                        Arm64OperandType::Imm(i) => Op::Imm(i),
                        Arm64OperandType::Mem(m) => Op::Mem {
                            base: reg_name(cs, m.base()).map(canonical),
                            index: reg_name(cs, m.index()).map(canonical),
                            disp: i64::from(m.disp()),
                        },
                        _ => Op::Other,
                    },
                    _ => Op::Other,
                })
                .collect();
            Ok((ops, false))
        })
    }

    fn result_register(&self) -> &'static str {
        "x0"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        regs.set("xzr", Some(0));
        let m = insn.mnemonic.as_str();
        let dest = insn.reg(0).map(str::to_string);
        match m {
            "ret" => return Ok(Step::Return),
            "adrp" | "adr" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|i| i as u64);
                    regs.set(&d, v);
                }
            }
            "add" | "sub" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1))
                        .zip(value(regs, insn.ops.get(2)))
                        .map(|(a, b)| {
                            if m == "add" {
                                a.wrapping_add(b)
                            } else {
                                a.wrapping_sub(b)
                            }
                        });
                    regs.set(&d, v);
                }
            }
            "mov" | "movz" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "ldr" => {
                if let Some(d) = dest {
                    let at = match insn.ops.get(1) {
                        // A literal load names its address as an immediate.
                        Some(Op::Imm(a)) => Some(*a as u64),
                        other => address(regs, other),
                    };
                    let v = at.and_then(|a| memory.pointer(a));
                    regs.set(&d, v);
                }
            }
            "b" => {
                return insn
                    .imm(0)
                    .map(|t| Step::Jump(t as u64))
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "bl" | "blr" => regs.forget(&CLOBBERED),
            // Stores, hints, and pointer authentication of the return address.
            "str" | "stp" | "stur" | "strb" | "strh" | "paciasp" | "autiasp" | "pacibsp"
            | "autibsp" | "bti" | "nop" | "hint" => {}
            "ldp" => {
                for i in 0..2 {
                    if let Some(r) = insn.reg(i) {
                        regs.set(r, None);
                    }
                }
            }
            // Conditional branches: follow the fall-through path.
            _ if m.starts_with("b.") || matches!(m, "cbz" | "cbnz" | "tbz" | "tbnz") => {}
            _ => {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}
