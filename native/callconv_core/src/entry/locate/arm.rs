//! 32-bit ARM, A32 and Thumb-2. The usual PIC sequence is a literal-pool load of the
//! entry's offset from a PC value, then `add r0, pc, r0`:
//!
//! ```text
//! ldr r0, [pc, #4]      @ r0 = entry - (here + 8)         (A32; Thumb: here + 4)
//! add r0, pc, r0
//! bx lr                 @ or pop {..., pc}
//! ```
//!
//! With section anchors GCC loads the anchor and adds the entry's offset from it, in the
//! flag-setting Thumb-1 forms (Debian 12 armhf, fxml_stream.so):
//!
//! ```text
//! ldr  r0, [pc, #4]     @ r0 = anchor - (here + 4)
//! add  r0, pc           @ PC plus a register: not aligned
//! adds r0, #44          @ the entry, 44 bytes past the anchor
//! bx   lr
//! ```
//!
//! Reading PC gives the instruction's address + 8 in A32 and + 4 in Thumb; a PC-relative
//! load, `adr`, or PC plus an immediate uses that value rounded down to a multiple of 4.

use crate::disasm::arm_register as canonical;
use capstone::arch::arm::{ArmCC, ArmOperandType, ArmShift};
use capstone::arch::{ArchDetail, ArchOperand};
use capstone::Capstone;

use super::{from_capstone, reg_name, value, Insn, Machine, Memory, Op, Regs, Step};

pub(super) struct Arm {
    cs: Capstone,
    thumb: bool,
}

impl Arm {
    pub(super) fn new(thumb: bool, big_endian: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Arm { thumb, big_endian })?;
        Ok(Arm { cs, thumb })
    }

    fn pc(&self, insn: &Insn) -> u64 {
        insn.address.wrapping_add(if self.thumb { 4 } else { 8 })
    }
}

/// Registers a call may change (AAPCS: r0–r3, r12, lr).
const CLOBBERED: [&str; 6] = ["r0", "r1", "r2", "r3", "r12", "lr"];

impl Machine for Arm {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let detail = cs
                .insn_detail(insn)
                .map_err(|e| format!("capstone detail: {e}"))?;
            let arch = detail.arch_detail();
            let conditional = match &arch {
                ArchDetail::ArmDetail(d) => {
                    !matches!(d.cc(), ArmCC::ARM_CC_AL | ArmCC::ARM_CC_INVALID)
                }
                _ => false,
            };
            let ops = arch
                .operands()
                .into_iter()
                .map(|op| match op {
                    // A shifted register (`r1, lsl #2`) is not the register's value: unknown.
                    ArchOperand::ArmOperand(o)
                        if !matches!(o.shift, ArmShift::Invalid | ArmShift::Lsl(0)) =>
                    {
                        Op::Other
                    }
                    ArchOperand::ArmOperand(o) => match o.op_type {
                        ArmOperandType::Reg(r) => reg_name(cs, r)
                            .map(|n| Op::Reg(canonical(n)))
                            .unwrap_or(Op::Other),
                        ArmOperandType::Imm(i) => Op::Imm(i64::from(i)),
                        ArmOperandType::Mem(m) => {
                            let disp = i64::from(m.disp());
                            Op::Mem {
                                base: reg_name(cs, m.base()).map(canonical),
                                index: reg_name(cs, m.index()).map(canonical),
                                disp: if o.subtracted && disp > 0 {
                                    -disp
                                } else {
                                    disp
                                },
                            }
                        }
                        _ => Op::Other,
                    },
                    _ => Op::Other,
                })
                .collect();
            Ok((ops, conditional))
        })
    }

    fn result_register(&self) -> &'static str {
        "r0"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        let pc = self.pc(insn);
        regs.set("pc", Some(pc));
        // Thumb-2 and UAL spellings carry width suffixes, and Thumb-1 sets the flags on
        // every data operation (`adds`, `movs`); the value computed is the same.
        let m = match insn.mnemonic.trim_end_matches(".w").trim_end_matches(".n") {
            "adds" | "addw" => "add",
            "subs" | "subw" => "sub",
            "movs" => "mov",
            other => other,
        };
        let dest = insn.reg(0).map(str::to_string);
        let writes_pc = insn.ops.iter().any(|o| *o == Op::Reg("pc".into()));
        if insn.conditional {
            // Executed or not depending on flags: whatever it writes becomes unknown, and a
            // conditional return or branch is not taken (the straight path is followed).
            if !writes_pc && !m.starts_with('b') && !m.starts_with("st") {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
            return Ok(Step::Next);
        }
        match m {
            "bx" if insn.reg(0) == Some("lr") => return Ok(Step::Return),
            "pop" | "ldm" | "ldmia" | "ldmfd" | "ldr" if writes_pc => return Ok(Step::Return),
            "mov" if dest.as_deref() == Some("pc") && insn.reg(1) == Some("lr") => {
                return Ok(Step::Return)
            }
            "ldr" => {
                if let Some(d) = dest {
                    let v = self.load_address(insn, regs).and_then(|a| memory.word32(a));
                    regs.set(&d, v);
                }
            }
            "adr" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|off| (pc & !3).wrapping_add(off as u64));
                    regs.set(&d, v);
                }
            }
            "add" | "sub" => {
                if let Some(d) = dest {
                    // `add r0, pc` (two operands, Thumb) or `add r0, pc, r0`.
                    let (a, b) = if insn.ops.len() == 2 {
                        (insn.ops.first(), insn.ops.get(1))
                    } else {
                        (insn.ops.get(1), insn.ops.get(2))
                    };
                    // PC plus an immediate is ADR, which reads PC word-aligned; PC plus a
                    // register (`add r0, pc`) reads it as it is.
                    let pc_with_imm =
                        matches!(b, Some(Op::Imm(_))) && matches!(a, Some(Op::Reg(r)) if r == "pc");
                    let a = if pc_with_imm {
                        Some(pc & !3)
                    } else {
                        value(regs, a)
                    };
                    let v = a.zip(value(regs, b)).map(|(a, b)| {
                        if m == "add" {
                            a.wrapping_add(b)
                        } else {
                            a.wrapping_sub(b)
                        }
                    });
                    regs.set(&d, v);
                }
            }
            "mov" | "movw" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "movt" => {
                if let Some(d) = dest {
                    let v = regs
                        .get(&d)
                        .zip(insn.imm(1))
                        .map(|(low, high)| (low & 0xffff) | ((high as u64 & 0xffff) << 16));
                    regs.set(&d, v);
                }
            }
            "b" => {
                return insn
                    .imm(0)
                    .map(|t| Step::Jump(t as u64))
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "bl" | "blx" => regs.forget(&CLOBBERED),
            "push" | "stm" | "stmdb" | "stmfd" | "str" | "strd" | "strb" | "strh" | "nop"
            | "it" | "cbz" | "cbnz" => {}
            "pop" | "ldm" | "ldmia" | "ldmfd" => {
                for op in &insn.ops {
                    if let Op::Reg(r) = op {
                        regs.set(r, None);
                    }
                }
            }
            _ => {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}

impl Arm {
    /// The address an `ldr` reads: `[base, #disp]` or `[base, index]`; a PC base is
    /// word-aligned.
    fn load_address(&self, insn: &Insn, regs: &Regs) -> Option<u64> {
        let Some(Op::Mem { base, index, disp }) = insn.ops.get(1) else {
            return None;
        };
        let base = match base.as_deref() {
            Some("pc") => self.pc(insn) & !3,
            Some(b) => regs.get(b)?,
            None => 0,
        };
        let index = match index {
            Some(i) => regs.get(i)?,
            None => 0,
        };
        Some(base.wrapping_add(index).wrapping_add(*disp as u64))
    }
}
