//! MIPS o32, n32 and n64. PIC code computes `$gp` from `$t9` (the function's own address,
//! set by the caller), loads a GOT entry through it and adds the low part:
//!
//! ```text
//! lui   $gp, %hi(_gp_disp)            (n64: %hi(%neg(%gp_rel(nif_init))))
//! addiu $gp, $gp, %lo(_gp_disp)
//! addu  $gp, $gp, $t9
//! lw    $v0, %got_page(entry)($gp)    (n64: ld)
//! jr    $ra
//! addiu $v0, $v0, %got_ofst(entry)    (delay slot: runs before the return)
//! ```
//!
//! The GOT's local entries hold link-time addresses that the loader rebases; the image's
//! MIPS GOT fixups (see `inspect::elf`) make the loads read them as such.

use capstone::arch::mips::MipsOperand;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{
    address, from_capstone, operands, reg_name, sign_extend, value, Insn, Machine, Memory, Op,
    Regs, Step,
};

pub(super) struct Mips {
    cs: Capstone,
    wide: bool,
}

impl Mips {
    pub(super) fn new(wide: bool, big_endian: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Mips {
            wide,
            big_endian,
            r6: false,
        })?;
        Ok(Mips { cs, wide })
    }
}

/// Registers a call may change: at, v0–v1, a0–a3 (o32; n64 a4–a7 are t0–t3 in capstone's
/// o32 naming), t0–t9, ra.
const CLOBBERED: [&str; 17] = [
    "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8",
    "t9",
];

/// Capstone names registers by their o32 names; `$1`..`$31` spellings become those.
fn canonical(name: String) -> String {
    match name.as_str() {
        "s8" => "fp".to_string(),
        _ => name,
    }
}

impl Machine for Mips {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::MipsOperand(o) => match o {
                        MipsOperand::Reg(r) => reg_name(cs, r)
                            .map(|n| Op::Reg(canonical(n)))
                            .unwrap_or(Op::Other),
                        MipsOperand::Imm(i) => Op::Imm(i),
                        MipsOperand::Mem(m) => Op::Mem {
                            base: reg_name(cs, m.base()).map(canonical),
                            index: None,
                            disp: m.disp(),
                        },
                        MipsOperand::Invalid => Op::Other,
                    },
                    _ => Op::Other,
                })
                .collect();
            Ok((ops, false))
        })
    }

    fn result_register(&self) -> &'static str {
        "v0"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        regs.set("zero", Some(0));
        let m = insn.mnemonic.as_str();
        let dest = insn.reg(0).map(str::to_string);
        // 32-bit operations sign-extend their result on MIPS64.
        let word = |v: u64| if self.wide { sign_extend(v, 32) } else { v };
        match m {
            "jr" if insn.reg(0) == Some("ra") => return Ok(Step::ReturnAfterNext),
            "jr" => {
                let target = value(regs, insn.ops.first())
                    .ok_or_else(|| "nif_init jumps through an unknown register".to_string())?;
                return Ok(Step::JumpAfterNext(target));
            }
            "b" | "j" => {
                return insn
                    .imm(0)
                    .map(|t| Step::JumpAfterNext(t as u64))
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "lui" => {
                if let Some(d) = dest {
                    let v = insn
                        .imm(1)
                        .map(|i| sign_extend((i as u64 & 0xffff) << 16, 32));
                    regs.set(&d, v);
                }
            }
            "addiu" | "addi" | "daddiu" | "daddi" | "addu" | "add" | "daddu" | "dadd" => {
                if let Some(d) = dest {
                    let v = value(regs, insn.ops.get(1))
                        .zip(value(regs, insn.ops.get(2)))
                        .map(|(a, b)| a.wrapping_add(b))
                        .map(|x| if m.starts_with('d') { x } else { word(x) });
                    regs.set(&d, v);
                }
            }
            "move" => {
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
            "lw" | "ld" => {
                if let Some(d) = dest {
                    let at = address(regs, insn.ops.get(1));
                    let v = at.and_then(|a| {
                        if m == "ld" {
                            memory.pointer(a)
                        } else {
                            memory.word32(a).map(word)
                        }
                    });
                    regs.set(&d, v);
                }
            }
            "jal" | "jalr" | "bal" => regs.forget(&CLOBBERED),
            "sw" | "sd" | "sh" | "sb" | "nop" | "ssnop" | "ehb" | "sync" => {}
            // Conditional branches: follow the fall-through path (the delay slot runs anyway).
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
