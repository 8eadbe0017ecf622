//! PowerPC64, ELFv2 and ELFv1.
//!
//! ELFv2 (ppc64le, and big-endian musl): the exported symbol is the global entry point, which
//! the caller enters with r12 = its own address; the prologue computes the TOC pointer from
//! it, and the entry is TOC-relative:
//!
//! ```text
//! addis r2, r12, (.TOC. - nif_init)@ha
//! addi  r2, r2,  (.TOC. - nif_init)@l
//! addis r3, r2,  (entry - .TOC.)@ha
//! addi  r3, r3,  (entry - .TOC.)@l        (or ld r3, entry@got(r2))
//! blr
//! ```
//!
//! ELFv1 (classic big-endian ppc64): the symbol is a function descriptor
//! `{entry, TOC, environment}` in `.opd`, whose words are relocated like any pointer. The
//! code runs with r2 = the descriptor's TOC.

use capstone::arch::ppc::PpcOperand;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{
    address, from_capstone, operands, reg_name, value, Insn, Machine, Memory, Op, Regs, Step,
};
pub(crate) use crate::inspect::elf::ppc64_descriptor as descriptor;

pub(super) struct Ppc {
    cs: Capstone,
    big_endian: bool,
}

impl Ppc {
    pub(super) fn new(big_endian: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Ppc64 { big_endian })?;
        Ok(Ppc { cs, big_endian })
    }

    /// A PC-relative prefixed instruction of Power ISA 3.1 (POWER10's `pla r3, entry@pcrel`
    /// or `pld r3, entry@got@pcrel`), which capstone 5 does not decode, as `pla`/`pld` with
    /// the absolute address as their operand.
    fn prefixed(&self, code: &[u8], address: u64) -> Option<Insn> {
        let word = |i: usize| crate::disasm::word32(code, i, self.big_endian);
        let (prefix, suffix) = (word(0)?, word(1)?);
        let pc_relative = (prefix >> 20) & 1 == 1 && (suffix >> 16) & 0x1f == 0;
        if prefix >> 26 != 1 || !pc_relative {
            return None;
        }
        let mnemonic = match ((prefix >> 24) & 3, suffix >> 26) {
            (2, 14) => "pla",
            (0, 57) => "pld",
            _ => return None,
        };
        let d = (u64::from(prefix & 0x3_ffff) << 16) | u64::from(suffix & 0xffff);
        let d = ((d << 30) as i64) >> 30;
        Some(Insn {
            address,
            len: 8,
            mnemonic: mnemonic.to_string(),
            ops: vec![
                Op::Reg(format!("r{}", (suffix >> 21) & 0x1f)),
                Op::Imm(address.wrapping_add_signed(d) as i64),
            ],
            conditional: false,
            branch: false,
        })
    }
}

/// Volatile registers (ELFv1/ELFv2): r0, r3–r12, and the link and count registers.
const CLOBBERED: [&str; 13] = [
    "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "ctr",
];

/// `rA|0`: register 0 as a base reads as zero in `addi`, `addis` and loads.
fn base_value(regs: &Regs, op: Option<&Op>) -> Option<u64> {
    match op {
        Some(Op::Reg(r)) if r == "r0" => Some(0),
        other => value(regs, other),
    }
}

impl Machine for Ppc {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        let mut out = self.decode_plain(code, address, count)?;
        // capstone stops at a prefixed instruction: decode it here and go on after it.
        while out.len() < count {
            let at = out.last().map_or(address, Insn::next);
            let Some(off) = at
                .checked_sub(address)
                .and_then(|o| usize::try_from(o).ok())
            else {
                break;
            };
            let Some(p) = code.get(off..).and_then(|c| self.prefixed(c, at)) else {
                break;
            };
            let after = p.next();
            out.push(p);
            let rest = code.get(off + 8..).unwrap_or(&[]);
            let more = self.decode_plain(rest, after, count - out.len())?;
            if more.is_empty() && self.prefixed(rest, after).is_none() {
                break;
            }
            out.extend(more);
        }
        Ok(out)
    }

    fn result_register(&self) -> &'static str {
        "r3"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        self.step_insn(insn, regs, memory)
    }
}

impl Ppc {
    fn decode_plain(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::PpcOperand(o) => match o {
                        PpcOperand::Reg(r) => reg_name(cs, r).map(Op::Reg).unwrap_or(Op::Other),
                        PpcOperand::Imm(i) => Op::Imm(i),
                        PpcOperand::Mem(m) => Op::Mem {
                            base: reg_name(cs, m.base()),
                            index: None,
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

    fn step_insn(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        let m = insn.mnemonic.as_str();
        let dest = insn.reg(0).map(str::to_string);
        match m {
            "blr" => return Ok(Step::Return),
            // Prefixed PC-relative forms (see `Ppc::prefixed`): the operand is absolute.
            "pla" | "pld" => {
                if let Some(d) = dest {
                    let at = insn.imm(1).map(|a| a as u64);
                    let v = if m == "pla" {
                        at
                    } else {
                        at.and_then(|a| memory.pointer(a))
                    };
                    regs.set(&d, v);
                }
            }
            "addis" | "lis" => {
                if let Some(d) = dest {
                    let (base, imm) = if m == "lis" {
                        (Some(0), insn.imm(1))
                    } else {
                        (base_value(regs, insn.ops.get(1)), insn.imm(2))
                    };
                    let v = base
                        .zip(imm)
                        .map(|(b, i)| b.wrapping_add(((i as i16 as i64) << 16) as u64));
                    regs.set(&d, v);
                }
            }
            "addi" | "li" | "la" => {
                if let Some(d) = dest {
                    let (base, imm) = match (m, insn.ops.get(1)) {
                        ("li", _) => (Some(0), insn.imm(1)),
                        // `la r3, d(r2)` is `addi r3, r2, d`.
                        ("la", Some(Op::Mem { .. })) => (address(regs, insn.ops.get(1)), Some(0)),
                        _ => (base_value(regs, insn.ops.get(1)), insn.imm(2)),
                    };
                    let v = base
                        .zip(imm)
                        .map(|(b, i)| b.wrapping_add(i as i16 as i64 as u64));
                    regs.set(&d, v);
                }
            }
            "ld" | "lwz" => {
                if let Some(d) = dest {
                    let at = match insn.ops.get(1) {
                        Some(Op::Mem { base, disp, .. }) if base.as_deref() == Some("r0") => {
                            Some(*disp as u64)
                        }
                        other => address(regs, other),
                    };
                    let v = at.and_then(|a| {
                        if m == "ld" {
                            memory.pointer(a)
                        } else {
                            memory.word32(a)
                        }
                    });
                    regs.set(&d, v);
                }
            }
            "mr" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1));
                    regs.set(&d, v);
                }
            }
            "b" => {
                return insn
                    .imm(0)
                    .map(|t| Step::Jump(t as u64))
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "bl" | "bctrl" => regs.forget(&CLOBBERED),
            "nop" | "mflr" | "mtlr" | "std" | "stw" | "stb" | "sth" => {
                if m == "mflr" {
                    if let Some(d) = dest {
                        regs.set(&d, None);
                    }
                }
            }
            "stdu" | "stwu" => {
                // Stores, with the base register (the stack pointer) updated.
                if let Some(Op::Mem { base: Some(b), .. }) = insn.ops.get(1) {
                    regs.set(&b.clone(), None);
                }
            }
            // Conditional branches (bc, beq, bne, ...): follow the fall-through path.
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
