//! RISC-V: `auipc a0, %pcrel_hi(entry); addi a0, a0, %pcrel_lo(...)`, or a GOT load
//! (`auipc` + `ld`). Compressed instructions are decoded too.

use capstone::arch::riscv::RiscVOperand;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{
    address, from_capstone, operands, reg_name, sign_extend, value, Insn, Machine, Memory, Op,
    Regs, Step,
};

pub(super) struct Riscv {
    cs: Capstone,
}

impl Riscv {
    pub(super) fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Riscv { wide })?;
        Ok(Riscv { cs })
    }
}

/// Registers a call may change: ra, t0–t6, a0–a7.
const CLOBBERED: [&str; 16] = [
    "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
];

impl Machine for Riscv {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::RiscVOperand(o) => match o {
                        RiscVOperand::Reg(r) => reg_name(cs, r).map(Op::Reg).unwrap_or(Op::Other),
                        RiscVOperand::Imm(i) => Op::Imm(i),
                        RiscVOperand::Mem(m) => Op::Mem {
                            base: reg_name(cs, m.base()),
                            index: None,
                            disp: m.disp(),
                        },
                        RiscVOperand::Invalid => Op::Other,
                    },
                    _ => Op::Other,
                })
                .collect();
            Ok((ops, false))
        })
    }

    fn result_register(&self) -> &'static str {
        "a0"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        regs.set("zero", Some(0));
        let m = insn.mnemonic.strip_prefix("c.").unwrap_or(&insn.mnemonic);
        let dest = insn.reg(0).map(str::to_string);
        match m {
            "ret" => return Ok(Step::Return),
            "jr" if insn.reg(0) == Some("ra") => return Ok(Step::Return),
            "jalr" if insn.reg(0) == Some("zero") && insn.ops.iter().any(is_ra) => {
                return Ok(Step::Return)
            }
            "auipc" => {
                if let Some(d) = dest {
                    let v = insn
                        .imm(1)
                        .map(|i| insn.address.wrapping_add(sign_extend((i as u64) << 12, 32)));
                    regs.set(&d, v);
                }
            }
            "lui" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|i| sign_extend((i as u64) << 12, 32));
                    regs.set(&d, v);
                }
            }
            "addi" | "addiw" | "add" | "addw" => {
                if let Some(d) = dest {
                    // Compressed forms have two operands: `c.addi a0, 4` adds to a0.
                    let (a, b) = if insn.ops.len() == 2 {
                        (insn.ops.first(), insn.ops.get(1))
                    } else {
                        (insn.ops.get(1), insn.ops.get(2))
                    };
                    let mut v = value(regs, a)
                        .zip(value(regs, b))
                        .map(|(a, b)| a.wrapping_add(b));
                    if m.ends_with('w') {
                        v = v.map(|x| sign_extend(x, 32));
                    }
                    regs.set(&d, v);
                }
            }
            "mv" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "li" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|i| i as u64);
                    regs.set(&d, v);
                }
            }
            "ld" => {
                if let Some(d) = dest {
                    let v = address(regs, insn.ops.get(1)).and_then(|a| memory.pointer(a));
                    regs.set(&d, v);
                }
            }
            "lw" => {
                if let Some(d) = dest {
                    let v = address(regs, insn.ops.get(1))
                        .and_then(|a| memory.word32(a))
                        .map(|x| sign_extend(x, 32));
                    regs.set(&d, v);
                }
            }
            "j" => {
                return insn
                    .imm(0)
                    .map(|off| Step::Jump(insn.address.wrapping_add(off as u64)))
                    .ok_or_else(|| "nif_init jumps to an unknown address".to_string())
            }
            "call" | "jal" | "jalr" => regs.forget(&CLOBBERED),
            "sd" | "sw" | "sh" | "sb" | "sdsp" | "swsp" | "nop" | "fence" => {}
            // Conditional branches: follow the fall-through path.
            _ if m.starts_with('b') => {}
            _ => {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}

fn is_ra(op: &Op) -> bool {
    match op {
        Op::Reg(r) => r == "ra",
        Op::Mem { base, .. } => base.as_deref() == Some("ra"),
        _ => false,
    }
}
