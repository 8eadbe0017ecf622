//! LoongArch64: `pcalau12i $a0, %pc_hi20(entry); addi.d $a0, $a0, %pc_lo12(entry); ret`, or
//! `pcaddu12i`/`pcaddi` forms and a GOT load (`ld.d`).
//!
//! Capstone 5 has no LoongArch, so the few instructions such a function uses are decoded
//! here from the fixed 32-bit encodings of the LoongArch reference manual (vol. 1, ch. 2);
//! anything else is an instruction that may write its `rd` field (bits 4:0), which then
//! becomes unknown. PC-relative immediates are resolved to addresses while decoding.

use super::{sign_extend, Insn, Machine, Memory, Op, Regs, Step};

pub(super) struct LoongArch;

/// Registers a call may change: ra ($r1), a0–a7 ($r4–$r11), t0–t8 ($r12–$r20).
const CLOBBERED: [&str; 18] = [
    "r1", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "r16",
    "r17", "r18", "r19", "r20",
];

fn reg(n: u32) -> Op {
    Op::Reg(format!("r{}", n & 0x1f))
}

fn decode_one(w: u32, pc: u64) -> (&'static str, Vec<Op>) {
    let rd = w & 0x1f;
    let rj = (w >> 5) & 0x1f;
    let rk = (w >> 10) & 0x1f;
    let si12 = sign_extend(u64::from((w >> 10) & 0xfff), 12) as i64;
    let si20 = u64::from((w >> 5) & 0xf_ffff);
    match w >> 25 {
        // 1RI20 formats: lu12i.w, pcaddi, pcalau12i, pcaddu12i.
        0x0a => {
            return (
                "li",
                vec![reg(rd), Op::Imm(sign_extend(si20 << 12, 32) as i64)],
            )
        }
        0x0c => {
            let v = pc.wrapping_add(sign_extend(si20 << 2, 22));
            return ("li", vec![reg(rd), Op::Imm(v as i64)]);
        }
        0x0d => {
            let v = pc.wrapping_add(sign_extend(si20 << 12, 32)) & !0xfff;
            return ("li", vec![reg(rd), Op::Imm(v as i64)]);
        }
        0x0e => {
            let v = pc.wrapping_add(sign_extend(si20 << 12, 32));
            return ("li", vec![reg(rd), Op::Imm(v as i64)]);
        }
        _ => {}
    }
    match w >> 26 {
        0x13 => {
            let offs = sign_extend(u64::from((w >> 10) & 0xffff) << 2, 18) as i64;
            return ("jirl", vec![reg(rd), reg(rj), Op::Imm(offs)]);
        }
        0x14 | 0x15 => {
            let offs = (u64::from(w & 0x3ff) << 16) | u64::from((w >> 10) & 0xffff);
            let target = pc.wrapping_add(sign_extend(offs << 2, 28));
            let m = if w >> 26 == 0x14 { "b" } else { "bl" };
            return (m, vec![Op::Imm(target as i64)]);
        }
        // beqz, bnez, bceqz/bcnez, beq, bne, blt, bge, bltu, bgeu.
        0x10..=0x12 | 0x16..=0x1b => return ("bcond", Vec::new()),
        _ => {}
    }
    let mem = || Op::Mem {
        base: Some(format!("r{rj}")),
        index: None,
        disp: si12,
    };
    match w >> 22 {
        0x00a => ("addi.w", vec![reg(rd), reg(rj), Op::Imm(si12)]),
        0x00b => ("addi.d", vec![reg(rd), reg(rj), Op::Imm(si12)]),
        0x0a2 => ("ld.w", vec![reg(rd), mem()]),
        0x0a3 => ("ld.d", vec![reg(rd), mem()]),
        0x0a4..=0x0a7 => ("st", Vec::new()),
        _ => match w >> 15 {
            0x20 => ("add.w", vec![reg(rd), reg(rj), reg(rk)]),
            0x21 => ("add.d", vec![reg(rd), reg(rj), reg(rk)]),
            0x2a if rk == 0 => ("move", vec![reg(rd), reg(rj)]),
            _ if w == 0x0340_0000 => ("nop", Vec::new()),
            _ => ("other", vec![reg(rd)]),
        },
    }
}

impl Machine for LoongArch {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        Ok(code
            .chunks_exact(4)
            .take(count)
            .enumerate()
            .filter_map(|(i, bytes)| {
                let arr: [u8; 4] = bytes.try_into().ok()?;
                let pc = address.wrapping_add(4 * i as u64);
                let (mnemonic, ops) = decode_one(u32::from_le_bytes(arr), pc);
                Some(Insn {
                    address: pc,
                    len: 4,
                    mnemonic: mnemonic.to_string(),
                    ops,
                    conditional: false,
                    // The decoder knows few instructions; count every b*/j* as a branch.
                    branch: mnemonic.starts_with('b') || mnemonic.starts_with('j'),
                })
            })
            .collect())
    }

    fn result_register(&self) -> &'static str {
        "r4"
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        regs.set("r0", Some(0));
        let dest = insn.reg(0).map(str::to_string);
        let operand = |i: usize| super::value(regs, insn.ops.get(i));
        match insn.mnemonic.as_str() {
            // `jirl $zero, $ra, 0` is `ret`.
            "jirl" if insn.reg(0) == Some("r0") && insn.reg(1) == Some("r1") => {
                return Ok(Step::Return)
            }
            "jirl" => regs.forget(&CLOBBERED),
            "b" => {
                return insn
                    .imm(0)
                    .map(|t| Step::Jump(t as u64))
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "bl" => regs.forget(&CLOBBERED),
            "li" => {
                if let Some(d) = dest {
                    let v = insn.imm(1).map(|v| v as u64);
                    regs.set(&d, v);
                }
            }
            "addi.d" | "addi.w" | "add.d" | "add.w" => {
                if let Some(d) = dest {
                    let mut v = operand(1).zip(operand(2)).map(|(a, b)| a.wrapping_add(b));
                    if insn.mnemonic.ends_with(".w") {
                        v = v.map(|x| sign_extend(x, 32));
                    }
                    regs.set(&d, v);
                }
            }
            "move" => {
                if let Some(d) = dest {
                    let v = operand(1);
                    regs.set(&d, v);
                }
            }
            "ld.d" | "ld.w" => {
                if let Some(d) = dest {
                    let at = super::address(regs, insn.ops.get(1));
                    let v = at.and_then(|a| {
                        if insn.mnemonic == "ld.d" {
                            memory.pointer(a)
                        } else {
                            memory.word32(a).map(|x| sign_extend(x, 32))
                        }
                    });
                    regs.set(&d, v);
                }
            }
            "st" | "nop" | "bcond" => {}
            _ => {
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}
