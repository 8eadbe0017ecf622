//! s390x: `larl %r2, entry; br %r14`, or a GOT load (`lgrl %r2, entry@GOTENT`).

use crate::disasm::s390x_register as canonical;
use capstone::arch::sysz::SysZOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use super::{
    address, from_capstone, operands, reg_name, value, Insn, Machine, Memory, Op, Regs, Step,
};

pub(super) struct S390x {
    cs: Capstone,
}

impl S390x {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::S390x)?;
        Ok(S390x { cs })
    }
}

/// Volatile registers: r0–r5 and r14 (the return address).
const CLOBBERED: [&str; 7] = ["r0", "r1", "r2", "r3", "r4", "r5", "r14"];

impl Machine for S390x {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::SysZOperand(o) => match o {
                        SysZOperand::Reg(r) => reg_name(cs, r)
                            .map(|n| Op::Reg(canonical(n)))
                            .unwrap_or(Op::Other),
                        SysZOperand::Imm(i) => Op::Imm(i),
                        SysZOperand::Mem(m) => Op::Mem {
                            base: reg_name(cs, RegId(m.base().into())).map(canonical),
                            index: reg_name(cs, RegId(m.index().into())).map(canonical),
                            disp: m.disp(),
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
        "r2"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        let m = insn.mnemonic.as_str();
        let dest = insn.reg(0).map(str::to_string);
        match m {
            "br" if insn.reg(0) == Some("r14") => return Ok(Step::Return),
            "larl" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|t| t as u64);
                    regs.set(&d, v);
                }
            }
            "lgrl" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).and_then(|t| memory.pointer(t as u64));
                    regs.set(&d, v);
                }
            }
            "lg" => {
                if let Some(d) = dest {
                    let v = address(regs, insn.ops.get(1)).and_then(|a| memory.pointer(a));
                    regs.set(&d, v);
                }
            }
            "la" | "lay" => {
                if let Some(d) = dest {
                    let v = address(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "lgr" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "aghi" | "agfi" | "agr" => {
                if let Some(d) = dest {
                    let v = regs
                        .get(&d)
                        .zip(value(regs, insn.ops.get(1)))
                        .map(|(a, b)| a.wrapping_add(b));
                    regs.set(&d, v);
                }
            }
            "j" | "jg" => {
                return insn
                    .imm(0)
                    .map(|t| Step::Jump(t as u64))
                    .ok_or_else(|| "nif_init jumps to an unknown address".to_string())
            }
            "brasl" | "basr" => regs.forget(&CLOBBERED),
            "stmg" | "stg" | "st" | "nopr" | "nop" | "bcr" => {}
            "lmg" => {
                // Restores the callee-saved range; r2 is never in it in a prologue/epilogue,
                // but be exact about the registers named.
                for op in &insn.ops {
                    if let Op::Reg(r) = op {
                        regs.set(r, None);
                    }
                }
            }
            // Conditional branches: follow the fall-through path.
            _ if m.starts_with('j') || m.starts_with("br") => {}
            _ => {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}
