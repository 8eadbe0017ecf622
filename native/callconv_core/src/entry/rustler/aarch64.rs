//! AArch64: adrp/add/adr, mov/movz/movk/orr, str/stp/stur and their loads.

use capstone::arch::arm64::Arm64OperandType;
use capstone::arch::{ArchDetail, ArchOperand};
use capstone::Capstone;

use super::eval::{mask, reg_name, Cpu, Flow, Load, State};
use super::legacy::{detail_of, disassemble, Ins, Opnd};

pub(super) struct Aarch64 {
    cs: Capstone,
}

impl Aarch64 {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Aarch64)?;
        Ok(Aarch64 { cs })
    }
}

/// `wN` → (`xN`, 4), `xN` → (`xN`, 8), `qN`/`dN`/`sN`/`vN` → (`vN`, 16/8/4/16).
pub(super) fn a64_reg(name: &str) -> (String, usize) {
    let num = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match name.split_at(1.min(name.len())) {
        ("w", n) if num(n) => (format!("x{n}"), 4),
        ("x", n) if num(n) => (format!("x{n}"), 8),
        ("q", n) | ("v", n) if num(n) => (format!("v{n}"), 16),
        ("d", n) if num(n) => (format!("v{n}"), 8),
        ("s", n) if num(n) => (format!("v{n}"), 4),
        _ if name == "wzr" => ("xzr".to_string(), 4),
        _ if name == "xzr" => ("xzr".to_string(), 8),
        _ if name == "wsp" => ("sp".to_string(), 4),
        _ => (name.to_string(), 8),
    }
}

pub(super) const A64_CLOBBERED: [&str; 19] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x30",
];

impl Aarch64 {
    fn reg(&self, state: &State, op: &Opnd) -> Option<u128> {
        match op {
            Opnd::Reg(r, _) => {
                let (full, size) = a64_reg(r);
                if full == "xzr" {
                    return Some(0);
                }
                state.get(&full).map(|v| v & mask(size))
            }
            Opnd::Imm(i) => Some(*i as u64 as u128),
            _ => None,
        }
    }

    fn set(&self, state: &mut State, op: &Opnd, v: Option<u128>) {
        if let Opnd::Reg(r, _) = op {
            let (full, size) = a64_reg(r);
            if full != "xzr" {
                state.set(&full, v.map(|v| v & mask(size)));
            }
        }
    }

    fn addr(&self, state: &State, op: &Opnd) -> Option<u64> {
        let Opnd::Mem {
            base, index, disp, ..
        } = op
        else {
            return None;
        };
        let reg = |r: &String| state.get(&a64_reg(r).0).map(|v| v as u64);
        let b = match base {
            Some(r) => reg(r)?,
            None => 0,
        };
        let i = match index {
            Some(r) => reg(r)?,
            None => 0,
        };
        Some(b.wrapping_add(i).wrapping_add(*disp as u64))
    }

    /// Moves the base register of a pre-indexed (`[xN, #d]!`: base + d) or post-indexed
    /// (`[xN], #i`: base + i) access, after the access itself.
    fn write_back(&self, ins: &Ins, mem: &Opnd, state: &mut State) {
        let Opnd::Mem {
            base: Some(base),
            disp,
            ..
        } = mem
        else {
            return;
        };
        let post = ins.post_index(mem);
        if !ins.writeback && post.is_none() {
            return;
        }
        let (full, _) = a64_reg(base);
        let step = post.unwrap_or(*disp) as u64;
        let moved = state
            .get(&full)
            .map(|b| u128::from((b as u64).wrapping_add(step)));
        state.set(&full, moved);
    }

    fn size_of(op: &Opnd) -> usize {
        match op {
            Opnd::Reg(r, _) => a64_reg(r).1,
            _ => 8,
        }
    }
}

impl Cpu for Aarch64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        disassemble(&self.cs, code, address, count)?
            .iter()
            .map(|i| {
                // See crate::disasm: operands of these are never asked for.
                if !crate::disasm::aarch64_operands_are_safe(i.mnemonic().unwrap_or("")) {
                    return Ok(Ins::from_insn(i, vec![Opnd::Other]));
                }
                let detail = detail_of(&self.cs, i)?;
                let arch_detail = detail.arch_detail();
                let writeback = match &arch_detail {
                    ArchDetail::Arm64Detail(a) => a.writeback(),
                    _ => false,
                };
                let ops = arch_detail
                    .operands()
                    .into_iter()
                    .map(|op| match op {
                        ArchOperand::Arm64Operand(o) => match o.op_type {
                            Arm64OperandType::Reg(r) => reg_name(&self.cs, r)
                                .map(|n| Opnd::Reg(n, 0))
                                .unwrap_or(Opnd::Other),
                            Arm64OperandType::Imm(v) => Opnd::Imm(v),
                            Arm64OperandType::Mem(m) => Opnd::Mem {
                                base: reg_name(&self.cs, m.base()),
                                index: reg_name(&self.cs, m.index()),
                                scale: 1,
                                disp: i64::from(m.disp()),
                                size: 0,
                            },
                            _ => Opnd::Other,
                        },
                        _ => Opnd::Other,
                    })
                    .collect();
                Ok(Ins {
                    writeback,
                    ..Ins::from_insn(i, ops)
                })
            })
            .collect()
    }

    fn result_register(&self) -> &'static str {
        "x0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("x30", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(A64_CLOBBERED);
        state.forget((0..32).map(|i| format!("v{i}")));
    }

    fn step(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let m = ins.mnemonic.as_str();
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        for o in &ins.ops {
            if let Some(a) = self.addr(state, o) {
                state.note(a);
            }
        }
        match m {
            "ret" => return Ok(Flow::Return),
            "brk" | "udf" | "hlt" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {:#x}", ins.address)))
            }
            "nop" | "hint" | "bti" | "paciasp" | "autiasp" | "pacibsp" | "autibsp" | "cmp"
            | "cmn" | "tst" | "prfm" | "dmb" | "dsb" | "isb" => {}
            "adrp" | "adr" => {
                let v = self.reg(state, &op(1));
                if let Some(a) = v {
                    state.note(a as u64);
                }
                self.set(state, &op(0), v);
            }
            "add" | "sub" | "orr" | "and" | "eor" | "lsl" | "lsr" => {
                let v =
                    self.reg(state, &op(1))
                        .zip(self.reg(state, &op(2)))
                        .map(|(a, b)| match m {
                            "add" => a.wrapping_add(b),
                            "sub" => a.wrapping_sub(b),
                            "orr" => a | b,
                            "and" => a & b,
                            "eor" => a ^ b,
                            "lsl" => a << (b & 0x3f),
                            _ => a >> (b & 0x3f),
                        });
                if m == "add" {
                    if let Some(a) = v {
                        state.note(a as u64);
                    }
                }
                self.set(state, &op(0), v);
            }
            "mov" | "movz" | "movi" | "fmov" => {
                let v = self.reg(state, &op(1));
                self.set(state, &op(0), v);
            }
            "movk" => {
                // movk xD, #imm, lsl #s — capstone folds the shift into the immediate? Be
                // conservative: only the plain form (shift 0) is merged.
                let v = self.reg(state, &op(0)).zip(self.reg(state, &op(1)));
                self.set(
                    state,
                    &op(0),
                    v.map(|(old, imm)| (old & !0xffff) | (imm & 0xffff)),
                );
                if ins.ops.len() > 2 {
                    self.set(state, &op(0), None);
                }
            }
            "str" | "stur" | "strb" | "strh" | "stp" => {
                let pair = m == "stp";
                let mem = if pair { op(2) } else { op(1) };
                let size = match m {
                    "strb" => 1,
                    "strh" => 2,
                    _ => Self::size_of(&op(0)),
                };
                if let Some(a) = self.addr(state, &mem) {
                    let v0 = self.reg(state, &op(0));
                    state.store(a, size, v0);
                    if pair {
                        let v1 = self.reg(state, &op(1));
                        state.store(a.wrapping_add(size as u64), size, v1);
                    }
                }
                self.write_back(ins, &mem, state);
            }
            "ldr" | "ldur" | "ldp" => {
                let pair = m == "ldp";
                let mem = if pair { op(2) } else { op(1) };
                let size = Self::size_of(&op(0));
                let at = match &mem {
                    Opnd::Imm(a) => Some(*a as u64),
                    other => self.addr(state, other),
                };
                let v0 = at.and_then(|a| image.load(state, a, size));
                let v1 = pair
                    .then(|| at.and_then(|a| image.load(state, a.wrapping_add(size as u64), size)))
                    .flatten();
                self.write_back(ins, &mem, state);
                self.set(state, &op(0), v0);
                if pair {
                    self.set(state, &op(1), v1);
                }
            }
            "b" => {
                return match op(0) {
                    Opnd::Imm(t) => Ok(Flow::Jump(t as u64)),
                    _ => Ok(Flow::DeadEnd(format!(
                        "a branch to an unknown address at {:#x}",
                        ins.address
                    ))),
                }
            }
            "br" => {
                return Ok(match self.reg(state, &op(0)) {
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect branch at {:#x}", ins.address)),
                })
            }
            "bl" | "blr" => return Ok(Flow::Call(self.reg(state, &op(0)).map(|t| t as u64))),
            _ if m.starts_with("b.") || matches!(m, "cbz" | "cbnz" | "tbz" | "tbnz") => {
                let target = ins.ops.iter().rev().find_map(|o| match o {
                    Opnd::Imm(t) => Some(*t as u64),
                    _ => None,
                });
                if let Some(t) = target {
                    return Ok(Flow::Branch(t));
                }
            }
            _ => {
                let o = op(0);
                self.set(state, &o, None);
            }
        }
        Ok(Flow::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a64_register_families() {
        assert_eq!(a64_reg("w3"), ("x3".to_string(), 4));
        assert_eq!(a64_reg("x30"), ("x30".to_string(), 8));
        assert_eq!(a64_reg("q0"), ("v0".to_string(), 16));
        assert_eq!(a64_reg("wzr"), ("xzr".to_string(), 4));
    }
}
