//! 32-bit ARM (A32 and Thumb-2, ARMv6 and ARMv7) for the Rustler evaluator.
//!
//! Thumb code is addressed with bit 0 set, as the ELF symbol, `.init_array` entries and
//! `blx`/`bx` targets carry it: an instruction's [`Ins::address`] is odd in Thumb code, so the
//! mode follows the program counter through calls and returns. Reading PC gives the
//! instruction's address + 8 (A32) or + 4 (Thumb); PC-relative loads and PC plus an immediate
//! (`adr`) round that down to a multiple of 4. Position-independent code loads an offset
//! from a literal pool or builds it with `movw`/`movt`, then adds PC to it.

use crate::disasm::arm_register as canonical;
use capstone::arch::arm::{ArmCC, ArmOperandType, ArmShift};
use capstone::arch::{ArchDetail, ArchOperand};
use capstone::Capstone;

use super::{detail_of, mask, reg_name, Cpu, Flow, Ins, Load, Opnd, State, STACK_TOP_32};

pub(super) struct Arm {
    a32: Capstone,
    thumb: Capstone,
}

impl Arm {
    pub(super) fn new() -> Result<Self, String> {
        let isa = |thumb| crate::disasm::Isa::Arm {
            thumb,
            big_endian: false,
        };
        Ok(Arm {
            a32: crate::disasm::detailed(isa(false))?,
            thumb: crate::disasm::detailed(isa(true))?,
        })
    }
}

/// Caller-saved registers (AAPCS: r0–r3, r12, lr; s0–s15 / d0–d7 as `d0`–`d7`).
const CLOBBERED: [&str; 14] = [
    "r0", "r1", "r2", "r3", "r12", "lr", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7",
];

/// The size in bytes of a register: `dN` 8, `qN` 16, the others 4. Single-precision `sN` are
/// kept apart from the `dN/2` that holds them: they are rare in init code.
fn reg_size(name: &str) -> usize {
    match name.as_bytes().first() {
        Some(b'd') => 8,
        Some(b'q') => 16,
        _ => 4,
    }
}

/// The mnemonic without width qualifiers (`.w`, `.n`), condition code and flag setting.
fn base_mnemonic(m: &str, conditional: bool) -> String {
    let m = m.trim_end_matches(".w").trim_end_matches(".n");
    // `movne`, `ldreq`, `bne`, `blne`: the condition is the last two letters.
    let m = if conditional && m.len() > 2 {
        m.get(..m.len() - 2).unwrap_or(m)
    } else {
        m
    };
    match m {
        "adds" | "addw" => "add",
        "subs" | "subw" => "sub",
        "movs" => "mov",
        "ands" => "and",
        "orrs" => "orr",
        "eors" => "eor",
        "lsls" => "lsl",
        "lsrs" => "lsr",
        "bics" => "bic",
        "mvns" => "mvn",
        "stmia" | "stmea" => "stm",
        "ldmia" | "ldmfd" => "ldm",
        "stmfd" => "stmdb",
        other => other,
    }
    .to_string()
}

impl Arm {
    fn pc(ins: &Ins) -> u64 {
        let thumb = ins.address & 1 == 1;
        (ins.address & !1).wrapping_add(if thumb { 4 } else { 8 })
    }

    fn reg(&self, state: &State, ins: &Ins, op: &Opnd) -> Option<u128> {
        match op {
            Opnd::Reg(r, _) if r == "pc" => Some(u128::from(Self::pc(ins))),
            Opnd::Reg(r, size) => state.get(r).map(|v| v & mask(*size)),
            Opnd::Imm(i) => Some(u128::from(*i as u32)),
            _ => None,
        }
    }

    fn set(state: &mut State, op: &Opnd, v: Option<u128>) {
        if let Opnd::Reg(r, size) = op {
            if r != "pc" {
                state.set(r, v.map(|v| v & mask(*size)));
            }
        }
    }

    fn addr(&self, state: &State, ins: &Ins, op: &Opnd) -> Option<u64> {
        let Opnd::Mem {
            base,
            index,
            scale,
            disp,
            ..
        } = op
        else {
            return None;
        };
        let b = match base.as_deref() {
            Some("pc") => Self::pc(ins) & !3,
            Some(r) => state.get(r)? as u64,
            None => 0,
        };
        let i = match index {
            Some(r) => (state.get(r)? as u64).wrapping_mul(*scale as u64),
            None => 0,
        };
        Some((b.wrapping_add(i).wrapping_add(*disp as u64)) & 0xffff_ffff)
    }

    /// The base register's update after a pre-indexed (`[rN, #d]!`) or post-indexed
    /// (`[rN], #i`) access.
    fn write_back(&self, state: &mut State, ins: &Ins, mem: &Opnd) {
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
        let post_register = ins
            .operands_after(mem)
            .any(|o| matches!(o, Opnd::Reg(..) | Opnd::Other));
        let moved = if post_register {
            None
        } else {
            let step = post.unwrap_or(*disp) as u64;
            state
                .get(base)
                .map(|b| u128::from((b as u64).wrapping_add(step) & 0xffff_ffff))
        };
        state.set(base, moved);
    }

    /// The base register of a `push`/`pop`/`stm`/`ldm`/`vpush`/`vpop`, the size of its
    /// register list, and each listed register with the address it is stored to or loaded
    /// from (none while the base is unknown). None without a base register.
    fn transfer<'i>(state: &State, ins: &'i Ins, m: &str) -> Option<Transfer<'i>> {
        let (base, regs) = Self::list(ins, m);
        let base = base?;
        let size: u64 = regs.iter().map(|r| Self::size(r) as u64).sum();
        let mut at = state.get(base).map(|b| first_address(m, b as u64, size));
        let slots = regs
            .into_iter()
            .map(|r| {
                let here = at;
                at = at.map(|a| a.wrapping_add(Self::size(r) as u64));
                (r, here)
            })
            .collect();
        Some(Transfer { base, size, slots })
    }

    /// Moves the base register of a multiple transfer past (or before) its `size` bytes.
    fn move_base(state: &mut State, m: &str, base: &str, size: u64) {
        let moved = state
            .get(base)
            .map(|b| u128::from(written_back(m, b as u64, size)));
        state.set(base, moved);
    }

    /// The register list of `push`/`pop`/`stm`/`ldm`/`vpush`/`vpop`, and its base register.
    fn list<'i>(ins: &'i Ins, m: &str) -> (Option<&'i str>, Vec<&'i Opnd>) {
        if matches!(m, "push" | "pop" | "vpush" | "vpop") {
            return (Some("sp"), ins.ops.iter().collect());
        }
        let base = match ins.ops.first() {
            Some(Opnd::Reg(r, _)) => Some(r.as_str()),
            _ => None,
        };
        (base, ins.ops.iter().skip(1).collect())
    }
}

/// A multiple transfer (`push`, `ldm`, ...): see [`Arm::transfer`].
struct Transfer<'i> {
    base: &'i str,
    /// The bytes the register list takes.
    size: u64,
    /// Each listed register, with its address while the base is known.
    slots: Vec<(&'i Opnd, Option<u64>)>,
}

impl Cpu for Arm {
    fn decode_ins(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        let thumb = address & 1 == 1;
        let cs = if thumb { &self.thumb } else { &self.a32 };
        let insns = cs
            .disasm_count(code, address & !1, count)
            .map_err(|e| format!("cannot disassemble at {address:#x}: {e}"))?;
        insns
            .iter()
            .map(|i| {
                let detail = detail_of(cs, i)?;
                let arch = detail.arch_detail();
                let (conditional, writeback) = match &arch {
                    ArchDetail::ArmDetail(d) => (
                        !matches!(d.cc(), ArmCC::ARM_CC_AL | ArmCC::ARM_CC_INVALID),
                        d.writeback(),
                    ),
                    _ => (false, false),
                };
                let ops = arch
                    .operands()
                    .into_iter()
                    .map(|op| match op {
                        // A shifted register (`r1, lsl #2`) is not the register's value.
                        ArchOperand::ArmOperand(o)
                            if !matches!(o.shift, ArmShift::Invalid | ArmShift::Lsl(0)) =>
                        {
                            Opnd::Other
                        }
                        ArchOperand::ArmOperand(o) => match o.op_type {
                            ArmOperandType::Reg(r) => reg_name(cs, r)
                                .map(canonical)
                                .map(|n| {
                                    let size = reg_size(&n);
                                    Opnd::Reg(n, size)
                                })
                                .unwrap_or(Opnd::Other),
                            ArmOperandType::Imm(v) => {
                                let v = i64::from(v);
                                Opnd::Imm(if o.subtracted { -v } else { v })
                            }
                            ArmOperandType::Mem(m) => {
                                let disp = i64::from(m.disp());
                                Opnd::Mem {
                                    base: reg_name(cs, m.base()).map(canonical),
                                    index: reg_name(cs, m.index()).map(canonical),
                                    scale: i64::from(m.scale()),
                                    disp: if o.subtracted && disp > 0 {
                                        -disp
                                    } else {
                                        disp
                                    },
                                    size: 0,
                                }
                            }
                            _ => Opnd::Other,
                        },
                        _ => Opnd::Other,
                    })
                    .collect();
                Ok(Ins {
                    // Thumb instructions keep bit 0, so the next address keeps the mode.
                    address: i.address() | u64::from(thumb),
                    writeback,
                    conditional,
                    ..Ins::from_insn(i, ops)
                })
            })
            .collect()
    }

    fn result_register(&self) -> &'static str {
        "r0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn stack_top(&self) -> u64 {
        STACK_TOP_32
    }

    fn fetch_address(&self, pc: u64) -> u64 {
        pc & !1
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("lr", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..16).map(|i| format!("s{i}")));
    }

    fn step_ins(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let thumb = ins.address & 1 == 1;
        let here = ins.address & !1;
        let m = base_mnemonic(&ins.mnemonic, ins.conditional);
        let m = m.as_str();
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        for o in &ins.ops {
            if let Some(a) = self.addr(state, ins, o) {
                state.note(a);
            }
        }
        let writes_pc = |from: usize| {
            ins.ops
                .iter()
                .skip(from)
                .any(|o| matches!(o, Opnd::Reg(r, _) if r == "pc"))
        };
        // A branch target in the current mode (`b`, `bl`, `cbz`): Thumb keeps bit 0.
        let local = |t: i64| (t as u32 as u64) | u64::from(thumb);
        if ins.conditional && m != "b" {
            // Executed or not: what it writes becomes unknown; a conditional call, return
            // or load into PC is not taken (the path that goes on is followed).
            match m {
                "bl" | "blx" | "bx" => {}
                "str" | "strb" | "strh" | "vstr" => {
                    if let Some(a) = self.addr(state, ins, &op(1)) {
                        let size = match m {
                            "strb" => 1,
                            "strh" => 2,
                            _ => Self::size(&op(0)),
                        };
                        state.store(a, size, None);
                    }
                }
                _ if m.starts_with("st") || m.starts_with("vst") || m == "push" => {
                    return Ok(Flow::DeadEnd(format!(
                        "a conditional multiple store at {here:#x}"
                    )))
                }
                "pop" | "ldm" if writes_pc(0) => {}
                _ => {
                    for o in &ins.ops {
                        if matches!(o, Opnd::Reg(..)) {
                            Self::set(state, o, None);
                        }
                        if !matches!(m, "cmp" | "cmn" | "tst" | "teq") {
                            break;
                        }
                    }
                    if ins.writeback || matches!(m, "pop" | "ldm") {
                        return Ok(Flow::DeadEnd(format!(
                            "a conditional load with write-back at {here:#x}"
                        )));
                    }
                }
            }
            return Ok(Flow::Next);
        }
        match m {
            "bx" => {
                return Ok(match self.reg(state, ins, &op(0)) {
                    _ if matches!(op(0), Opnd::Reg(ref r, _) if r == "lr") => Flow::Return,
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect branch at {here:#x}")),
                })
            }
            "udf" | "bkpt" | "trap" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {here:#x}")));
            }
            "nop" | "cmp" | "cmn" | "tst" | "teq" | "pld" | "dmb" | "dsb" | "isb" | "vcmp"
            | "vcmpe" | "vmrs" => {}
            _ if m.starts_with("it") && m.len() <= 4 => {}
            "b" => {
                let t = match op(0) {
                    Opnd::Imm(t) => local(t),
                    _ => return Ok(Flow::DeadEnd(format!("a branch at {here:#x}"))),
                };
                return Ok(if ins.conditional {
                    Flow::Branch(t)
                } else {
                    Flow::Jump(t)
                });
            }
            "cbz" | "cbnz" => {
                if let Opnd::Imm(t) = op(1) {
                    return Ok(Flow::Branch(local(t)));
                }
            }
            "bl" => {
                return Ok(Flow::Call(match op(0) {
                    Opnd::Imm(t) => Some(local(t)),
                    _ => None,
                }))
            }
            "blx" => {
                return Ok(Flow::Call(match op(0) {
                    // An immediate switches mode: to A32 from Thumb, to Thumb from A32.
                    Opnd::Imm(t) if thumb => Some(t as u32 as u64 & !3),
                    Opnd::Imm(t) => Some(t as u32 as u64 | 1),
                    other => self.reg(state, ins, &other).map(|t| t as u64),
                }));
            }
            "mov" | "movw" | "vmov" if ins.ops.len() == 2 => {
                if matches!(op(0), Opnd::Reg(ref r, _) if r == "pc") {
                    return Ok(match self.reg(state, ins, &op(1)) {
                        _ if matches!(op(1), Opnd::Reg(ref r, _) if r == "lr") => Flow::Return,
                        Some(t) => Flow::Jump(t as u64),
                        None => Flow::DeadEnd(format!("an indirect branch at {here:#x}")),
                    });
                }
                let v = self.reg(state, ins, &op(1));
                Self::set(state, &op(0), v);
            }
            "movt" => {
                let v = self
                    .reg(state, ins, &op(0))
                    .zip(self.reg(state, ins, &op(1)))
                    .map(|(low, high)| (low & 0xffff) | ((high & 0xffff) << 16));
                Self::set(state, &op(0), v);
            }
            "mvn" => {
                let v = self.reg(state, ins, &op(1)).map(|v| !v & 0xffff_ffff);
                Self::set(state, &op(0), v);
            }
            "add" | "sub" | "rsb" | "and" | "orr" | "eor" | "bic" | "lsl" | "lsr" | "asr" => {
                // Two operands (Thumb `add r0, pc`) or three.
                let (a, b) = if ins.ops.len() == 2 {
                    (op(0), op(1))
                } else {
                    (op(1), op(2))
                };
                // PC plus an immediate is `adr` and reads PC word-aligned.
                let a_value = match (&a, &b) {
                    (Opnd::Reg(r, _), Opnd::Imm(_)) if r == "pc" => {
                        Some(u128::from(Self::pc(ins) & !3))
                    }
                    _ => self.reg(state, ins, &a),
                };
                let v = a_value
                    .zip(self.reg(state, ins, &b))
                    .map(|(a, b)| {
                        let s = (b & 0xff) as u32;
                        match m {
                            "add" => a.wrapping_add(b),
                            "sub" => a.wrapping_sub(b),
                            "rsb" => b.wrapping_sub(a),
                            "and" => a & b,
                            "orr" => a | b,
                            "eor" => a ^ b,
                            "bic" => a & !b,
                            "lsl" if s < 32 => a << s,
                            "lsr" if s < 32 => a >> s,
                            "asr" => (((a as u32 as i32) >> s.min(31)) as u32).into(),
                            _ => 0,
                        }
                    })
                    .map(|v| v & 0xffff_ffff);
                if matches!(op(0), Opnd::Reg(ref r, _) if r == "pc") {
                    return Ok(match v {
                        Some(t) => Flow::Jump(t as u64),
                        None => Flow::DeadEnd(format!("an indirect branch at {here:#x}")),
                    });
                }
                if let Some(a) = v {
                    state.note(a as u64);
                }
                Self::set(state, &op(0), v);
            }
            "adr" => {
                let v = match op(1) {
                    Opnd::Imm(off) => Some(u128::from(
                        (Self::pc(ins) & !3).wrapping_add(off as u64) & 0xffff_ffff,
                    )),
                    _ => None,
                };
                if let Some(a) = v {
                    state.note(a as u64);
                }
                Self::set(state, &op(0), v);
            }
            "str" | "strb" | "strh" | "vstr" | "strd" => {
                let mem = if m == "strd" { op(2) } else { op(1) };
                let size = match m {
                    "strb" => 1,
                    "strh" => 2,
                    _ => Self::size(&op(0)),
                };
                if let Some(a) = self.addr(state, ins, &mem) {
                    state.store(a, size, self.reg(state, ins, &op(0)));
                    if m == "strd" {
                        state.store(a.wrapping_add(4), 4, self.reg(state, ins, &op(1)));
                    }
                }
                self.write_back(state, ins, &mem);
            }
            "ldr" | "ldrb" | "ldrh" | "ldrsb" | "ldrsh" | "vldr" | "ldrd" => {
                let mem = if m == "ldrd" { op(2) } else { op(1) };
                let size = match m {
                    "ldrb" | "ldrsb" => 1,
                    "ldrh" | "ldrsh" => 2,
                    _ => Self::size(&op(0)),
                };
                let at = self.addr(state, ins, &mem);
                let v0 = at
                    .and_then(|a| image.load(state, a, size))
                    .map(|v| match m {
                        "ldrsb" => u128::from(v as u8 as i8 as i32 as u32),
                        "ldrsh" => u128::from(v as u16 as i16 as i32 as u32),
                        _ => v,
                    });
                let v1 = (m == "ldrd")
                    .then(|| at.and_then(|a| image.load(state, a.wrapping_add(4), 4)))
                    .flatten();
                self.write_back(state, ins, &mem);
                if matches!(op(0), Opnd::Reg(ref r, _) if r == "pc") {
                    return Ok(match v0 {
                        Some(t) => Flow::Jump(t as u64),
                        None => Flow::DeadEnd(format!("a load into pc at {here:#x}")),
                    });
                }
                Self::set(state, &op(0), v0);
                if m == "ldrd" {
                    Self::set(state, &op(1), v1);
                }
            }
            "push" | "vpush" | "stm" | "stmdb" | "stmib" | "stmda" | "vstmia" | "vstmdb" => {
                let Some(Transfer { base, size, slots }) = Self::transfer(state, ins, m) else {
                    return Ok(Flow::Next);
                };
                for (r, at) in &slots {
                    if let Some(at) = *at {
                        state.store(at, Self::size(r), self.reg(state, ins, r));
                    }
                }
                if ins.writeback || matches!(m, "push" | "vpush") {
                    Self::move_base(state, m, base, size);
                }
            }
            "pop" | "vpop" | "ldm" | "ldmdb" | "ldmib" | "ldmda" | "vldmia" | "vldmdb" => {
                let Some(Transfer { base, size, slots }) = Self::transfer(state, ins, m) else {
                    return Ok(Flow::Next);
                };
                let values: Vec<_> = slots
                    .iter()
                    .map(|(r, at)| at.and_then(|at| image.load(state, at, Self::size(r))))
                    .collect();
                if ins.writeback || matches!(m, "pop" | "vpop") {
                    Self::move_base(state, m, base, size);
                }
                let mut target = None;
                for ((r, _), v) in slots.iter().zip(values) {
                    if matches!(r, Opnd::Reg(n, _) if n == "pc") {
                        target = Some(v);
                    } else {
                        Self::set(state, r, v);
                    }
                }
                if let Some(t) = target {
                    // A return pops the address `lr` held on entry; evaluation treats it as
                    // the end of the function whatever the value.
                    let _ = t;
                    return Ok(Flow::Return);
                }
            }
            "ldrex" | "strex" | "ldaex" | "stlex" => {
                // Atomics (a `Once`, an inventory push): the register results are unknown.
                Self::set(state, &op(0), None);
            }
            _ => {
                if writes_pc(0) {
                    return Ok(Flow::DeadEnd(format!(
                        "an instruction writing pc at {here:#x}"
                    )));
                }
                Self::set(state, &op(0), None);
            }
        }
        Ok(Flow::Next)
    }
}

/// The lowest address a multiple load or store (`size` bytes in all) accesses from `base`:
/// increment after (`ldm`, `pop`), increment before (`ib`), decrement after (`da`) or
/// decrement before (`db`, `push`).
fn first_address(m: &str, base: u64, size: u64) -> u64 {
    let a = if m.ends_with("db") || matches!(m, "push" | "vpush") {
        base.wrapping_sub(size)
    } else if m.ends_with("da") {
        base.wrapping_sub(size).wrapping_add(4)
    } else if m.ends_with("ib") {
        base.wrapping_add(4)
    } else {
        base
    };
    a & 0xffff_ffff
}

/// The base register after a multiple load or store with write-back.
fn written_back(m: &str, base: u64, size: u64) -> u64 {
    let down = m.ends_with("db") || m.ends_with("da") || matches!(m, "push" | "vpush");
    (if down {
        base.wrapping_sub(size)
    } else {
        base.wrapping_add(size)
    }) & 0xffff_ffff
}

impl Arm {
    fn size(op: &Opnd) -> usize {
        match op {
            Opnd::Reg(_, size) => *size,
            _ => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_lose_qualifiers_and_conditions() {
        assert_eq!(base_mnemonic("ldr.w", false), "ldr");
        assert_eq!(base_mnemonic("movne", true), "mov");
        assert_eq!(base_mnemonic("bne", true), "b");
        assert_eq!(base_mnemonic("bls", true), "b");
        assert_eq!(base_mnemonic("bl", false), "bl");
        assert_eq!(base_mnemonic("stmfd", false), "stmdb");
    }
}
