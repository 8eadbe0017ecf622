//! RISC-V (RV64GC) for the Rustler evaluator: `auipc`/`addi` and `lui` build addresses,
//! `ld`/`sd` and their narrower forms move data, `jal`/`jalr` call and return. capstone
//! spells compressed instructions with a `c.` prefix, gives `auipc`/`lui` their raw 20-bit
//! immediate, and branch and jump targets as offsets from the instruction.

use capstone::arch::riscv::RiscVOperand;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{decode_operands, reg_name, Cpu, Flow, Ins, Load, Opnd, State};

pub(super) struct Riscv {
    cs: Capstone,
}

impl Riscv {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Riscv { wide: true })?;
        Ok(Riscv { cs })
    }
}

/// Caller-saved registers (the standard calling convention).
const CLOBBERED: [&str; 16] = [
    "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
];

/// A compressed load or store, whose address capstone splits into two operands.
fn is_memory_access(mnemonic: &str) -> bool {
    let Some(m) = mnemonic.strip_prefix("c.") else {
        return false;
    };
    let m = m.strip_prefix('f').unwrap_or(m);
    matches!(
        m,
        "ld" | "lw"
            | "sd"
            | "sw"
            | "ldsp"
            | "lwsp"
            | "sdsp"
            | "swsp"
            | "lbu"
            | "lhu"
            | "lh"
            | "sb"
            | "sh"
    )
}

fn sign_extend(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

impl Riscv {
    fn reg(state: &State, op: &Opnd) -> Option<u64> {
        match op {
            Opnd::Reg(r, _) if r == "zero" => Some(0),
            Opnd::Reg(r, _) => state.get(r).map(|v| v as u64),
            Opnd::Imm(i) => Some(*i as u64),
            _ => None,
        }
    }

    fn set(state: &mut State, op: &Opnd, v: Option<u64>) {
        if let Opnd::Reg(r, _) = op {
            if r != "zero" {
                state.set(r, v.map(u128::from));
            }
        }
    }

    fn addr(state: &State, op: &Opnd) -> Option<u64> {
        match op {
            Opnd::Mem {
                base: Some(b),
                disp,
                ..
            } => Self::reg(state, &Opnd::Reg(b.clone(), 8)).map(|b| b.wrapping_add(*disp as u64)),
            _ => None,
        }
    }
}

impl Riscv {
    /// `jal`/`jalr` that link into `rd` (None: `ra`): a call when `rd` is `ra`, else a jump
    /// (`zero`: a plain jump; `t1`/`t0`: a PLT stub's or a millicode jump).
    fn link(state: &mut State, ins: &Ins, rd: Option<Opnd>, target: Option<u64>) -> Flow {
        let next = ins.address.wrapping_add(ins.len);
        match rd {
            None => Flow::Call(target),
            Some(Opnd::Reg(r, _)) if r == "ra" => Flow::Call(target),
            Some(rd) => {
                Self::set(state, &rd, Some(next));
                match target {
                    Some(t) => Flow::Jump(t),
                    None => Flow::DeadEnd(format!("an indirect jump at {:#x}", ins.address)),
                }
            }
        }
    }
}

impl Cpu for Riscv {
    fn decode_ins(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        let mut insns = decode_operands(&self.cs, code, address, count, |op| match op {
            ArchOperand::RiscVOperand(o) => match o {
                RiscVOperand::Reg(r) => reg_name(&self.cs, r)
                    .map(|n| Opnd::Reg(n, 8))
                    .unwrap_or(Opnd::Other),
                RiscVOperand::Imm(v) => Opnd::Imm(v),
                RiscVOperand::Mem(m) => Opnd::Mem {
                    base: reg_name(&self.cs, m.base()),
                    index: None,
                    scale: 1,
                    disp: m.disp(),
                    size: 0,
                },
                RiscVOperand::Invalid => Opnd::Other,
            },
            _ => Opnd::Other,
        })?;
        for ins in &mut insns {
            // capstone gives compressed loads and stores (`c.ld a1, 0(a0)`,
            // `c.sdsp ra, 88(sp)`) as register, immediate, register.
            if let [r @ Opnd::Reg(..), Opnd::Imm(disp), Opnd::Reg(base, _)] = ins.ops.as_slice() {
                if is_memory_access(&ins.mnemonic) {
                    ins.ops = vec![
                        r.clone(),
                        Opnd::Mem {
                            base: Some(base.clone()),
                            index: None,
                            scale: 1,
                            disp: *disp,
                            size: 0,
                        },
                    ];
                }
            }
        }
        Ok(insns)
    }

    fn result_register(&self) -> &'static str {
        "a0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("ra", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..8).flat_map(|i| [format!("fa{i}"), format!("ft{i}")]));
    }

    fn step_ins(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let m = ins.mnemonic.strip_prefix("c.").unwrap_or(&ins.mnemonic);
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        let here = ins.address;
        for o in &ins.ops {
            if let Some(a) = Self::addr(state, o) {
                state.note(a);
            }
        }
        let is = |o: &Opnd, name: &str| matches!(o, Opnd::Reg(r, _) if r == name);
        // Two-operand compressed forms (`c.add rd, rs2`) read and write rd.
        let (a, b) = if ins.ops.len() == 2 {
            (op(0), op(1))
        } else {
            (op(1), op(2))
        };
        match m {
            "ret" => return Ok(Flow::Return),
            "jr" if is(&op(0), "ra") => return Ok(Flow::Return),
            "jalr" if ins.ops.len() >= 2 && is(&op(0), "zero") && is(&op(1), "ra") => {
                return Ok(Flow::Return)
            }
            "ebreak" | "unimp" => return Ok(Flow::Trap(format!("a trap ({m}) at {here:#x}"))),
            "nop" | "fence" | "fence.i" => {}
            "auipc" => {
                let v =
                    Self::reg(state, &op(1)).map(|i| here.wrapping_add(sign_extend(i << 12, 32)));
                if let Some(a) = v {
                    state.note(a);
                }
                Self::set(state, &op(0), v);
            }
            "lui" => {
                let v = Self::reg(state, &op(1)).map(|i| sign_extend(i << 12, 32));
                Self::set(state, &op(0), v);
            }
            "li" => Self::set(state, &op(0), Self::reg(state, &op(1))),
            "mv" => Self::set(state, &op(0), Self::reg(state, &op(1))),
            "add" | "addi" | "addw" | "addiw" | "sub" | "subw" | "and" | "andi" | "or" | "ori"
            | "xor" | "xori" | "sll" | "slli" | "srl" | "srli" | "sext.w" => {
                let v = if m == "sext.w" {
                    Self::reg(state, &op(1)).map(|v| sign_extend(v, 32))
                } else {
                    Self::reg(state, &a)
                        .zip(Self::reg(state, &b))
                        .map(|(a, b)| match m {
                            "add" | "addi" | "addw" | "addiw" => a.wrapping_add(b),
                            "sub" | "subw" => a.wrapping_sub(b),
                            "and" | "andi" => a & b,
                            "or" | "ori" => a | b,
                            "xor" | "xori" => a ^ b,
                            "sll" | "slli" => a << (b & 63),
                            _ => a >> (b & 63),
                        })
                        .map(|v| {
                            if m.ends_with('w') {
                                sign_extend(v, 32)
                            } else {
                                v
                            }
                        })
                };
                if let Some(a) = v {
                    if m.starts_with("add") {
                        state.note(a);
                    }
                }
                Self::set(state, &op(0), v);
            }
            "sd" | "sw" | "sh" | "sb" | "fsd" | "fsw" | "sdsp" | "swsp" => {
                let size = match m {
                    "sd" | "fsd" | "sdsp" => 8,
                    "sw" | "fsw" | "swsp" => 4,
                    "sh" => 2,
                    _ => 1,
                };
                if let Some(at) = Self::addr(state, &op(1)) {
                    let v = match op(0) {
                        Opnd::Reg(ref r, _) if r == "zero" => Some(0),
                        Opnd::Reg(ref r, _) => state.get(r),
                        _ => None,
                    };
                    state.store(at, size, v);
                }
            }
            "ld" | "lw" | "lwu" | "lh" | "lhu" | "lb" | "lbu" | "fld" | "flw" | "ldsp" | "lwsp" => {
                let size = match m {
                    "ld" | "fld" | "ldsp" => 8,
                    "lw" | "lwu" | "flw" | "lwsp" => 4,
                    "lh" | "lhu" => 2,
                    _ => 1,
                };
                let v = Self::addr(state, &op(1))
                    .and_then(|a| image.load(state, a, size))
                    .map(|v| v as u64)
                    .map(|v| match m {
                        "lw" | "lwsp" => sign_extend(v, 32),
                        "lh" => sign_extend(v, 16),
                        "lb" => sign_extend(v, 8),
                        _ => v,
                    });
                Self::set(state, &op(0), v);
            }
            "j" => {
                return Ok(match op(0) {
                    Opnd::Imm(off) => Flow::Jump(here.wrapping_add(off as u64)),
                    _ => Flow::DeadEnd(format!("a jump at {here:#x}")),
                })
            }
            "jr" => {
                return Ok(match Self::reg(state, &op(0)) {
                    Some(t) => Flow::Jump(t),
                    None => Flow::DeadEnd(format!("an indirect jump at {here:#x}")),
                })
            }
            "jal" => {
                // `jal offset` (rd = ra) or `jal rd, offset`; rd = zero is a jump.
                let (rd, target) = match (op(0), op(1)) {
                    (Opnd::Imm(off), _) => (None, Some(here.wrapping_add(off as u64))),
                    (rd, Opnd::Imm(off)) => (Some(rd), Some(here.wrapping_add(off as u64))),
                    _ => (None, None),
                };
                return Ok(Self::link(state, ins, rd, target));
            }
            "jalr" => {
                // `jalr rs` (rd = ra), `jalr rd, rs, off` or `jalr rd, off(rs)`.
                let (rd, target) = match ins.ops.as_slice() {
                    [rs] => (None, Self::reg(state, rs)),
                    [rd, mem @ Opnd::Mem { .. }] => (Some(rd.clone()), Self::addr(state, mem)),
                    [rd, rs] => (Some(rd.clone()), Self::reg(state, rs)),
                    [rd, rs, Opnd::Imm(off)] => (
                        Some(rd.clone()),
                        Self::reg(state, rs).map(|b| b.wrapping_add(*off as u64)),
                    ),
                    _ => (None, None),
                };
                return Ok(Self::link(state, ins, rd, target.map(|t| t & !1)));
            }
            _ if m.starts_with('b') => {
                // beq/bne/blt/bge/bltu/bgeu, beqz/bnez/...: the target is the last operand.
                if let Some(Opnd::Imm(off)) = ins.ops.last() {
                    return Ok(Flow::Branch(here.wrapping_add(*off as u64)));
                }
            }
            _ => Self::set(state, &op(0), None),
        }
        Ok(Flow::Next)
    }
}
