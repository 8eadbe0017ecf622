//! x86-64, and 32-bit x86.

use capstone::arch::x86::X86OperandType;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::eval::{mask, reg_name, Cpu, Flow, Insn, Load, State, STACK_TOP, STACK_TOP_32};
use super::legacy::{decode_operands, Ins, Opnd};
use super::lifted::{self, Abi};
use crate::isa::x86::X86 as Lifter;

/// Most instructions scanned for the first return of a function not followed (32-bit x86).
const MAX_RET_SCAN: usize = 4096;

/// x86-64, and 32-bit x86 (`wide` false: 4-byte stack slots and addresses, cdecl's
/// caller-saved registers, and the `__x86.get_pc_thunk` calls of position-independent code).
/// x86-64 runs on the instruction layer's lifter; 32-bit x86 still on the old decoder.
pub(super) struct X86_64 {
    cs: Capstone,
    lifter: Lifter,
    wide: bool,
}

const ABI: Abi = Abi {
    zero: None,
    word: 8,
};

impl X86_64 {
    pub(super) fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::X86 { wide })?;
        Ok(X86_64 {
            cs,
            lifter: Lifter::new(wide)?,
            wide,
        })
    }

    /// The size of a stack slot and of an address.
    fn slot(&self) -> u64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    fn wrap(&self, a: u64) -> u64 {
        if self.wide {
            a
        } else {
            a & 0xffff_ffff
        }
    }

    /// The register a 32-bit PIC thunk (`mov reg, [esp]; ret`) at `target` loads with its
    /// return address.
    fn pc_thunk(&self, state: &State, image: &dyn Load, target: u64) -> Option<&'static str> {
        if self.wide {
            return None;
        }
        let code = image.load(state, target, 4)? as u32;
        // 8b /r with mod 00, r/m 100 (SIB), SIB 24 ([esp]); then c3 (ret).
        let [op, modrm, sib, ret] = code.to_le_bytes();
        if op != 0x8b || modrm & 0xc7 != 0x04 || sib != 0x24 || ret != 0xc3 {
            return None;
        }
        const REGS: [&str; 8] = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
        REGS.get(usize::from((modrm >> 3) & 7)).copied()
    }
}

/// The full register a name is part of, and whether a write to it replaces the whole register
/// (64- and 32-bit writes; the latter zero-extends) or merges (8 and 16 bits).
pub(super) fn x86_full(name: &str) -> String {
    const LEGACY: [(&str, [&str; 4]); 8] = [
        ("rax", ["eax", "ax", "al", "ah"]),
        ("rbx", ["ebx", "bx", "bl", "bh"]),
        ("rcx", ["ecx", "cx", "cl", "ch"]),
        ("rdx", ["edx", "dx", "dl", "dh"]),
        ("rsi", ["esi", "si", "sil", ""]),
        ("rdi", ["edi", "di", "dil", ""]),
        ("rbp", ["ebp", "bp", "bpl", ""]),
        ("rsp", ["esp", "sp", "spl", ""]),
    ];
    for (full, parts) in LEGACY {
        if name == full || parts.contains(&name) {
            return full.to_string();
        }
    }
    if let Some(rest) = name.strip_prefix('r') {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return format!("r{digits}");
        }
    }
    if let Some(n) = name
        .strip_prefix("ymm")
        .or_else(|| name.strip_prefix("zmm"))
    {
        return format!("xmm{n}");
    }
    name.to_string()
}

/// Caller-saved registers (System V).
pub(super) const X86_CLOBBERED: [&str; 9] =
    ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"];
/// Caller-saved registers of 32-bit x86 (cdecl).
pub(super) const X86_32_CLOBBERED: [&str; 3] = ["rax", "rcx", "rdx"];

impl X86_64 {
    fn read(&self, state: &State, op: &Opnd) -> Option<u128> {
        match op {
            Opnd::Reg(r, size) => {
                let v = state.get(&x86_full(r))?;
                let v = if r.ends_with('h') && r.len() == 2 {
                    v >> 8
                } else {
                    v
                };
                Some(v & mask(*size))
            }
            Opnd::Imm(i) => Some(*i as u64 as u128),
            _ => None,
        }
    }

    fn addr(&self, state: &State, op: &Opnd, next: u64) -> Option<u64> {
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
        let reg = |r: &String| -> Option<u64> {
            if r == "rip" {
                return Some(next);
            }
            state.get(&x86_full(r)).map(|v| v as u64)
        };
        let b = match base {
            Some(r) => reg(r)?,
            None => 0,
        };
        let i = match index {
            Some(r) => reg(r)?.wrapping_mul(*scale as u64),
            None => 0,
        };
        Some(self.wrap(b.wrapping_add(i).wrapping_add(*disp as u64)))
    }

    fn write(&self, state: &mut State, op: &Opnd, v: Option<u128>, next: u64) {
        match op {
            Opnd::Reg(r, size) => {
                let full = x86_full(r);
                let v = match size {
                    4 | 8 | 16 => v.map(|v| v & mask(*size)),
                    _ if r.ends_with('h') && r.len() == 2 => state
                        .get(&full)
                        .zip(v)
                        .map(|(old, v)| (old & !0xff00) | ((v & 0xff) << 8)),
                    _ => state
                        .get(&full)
                        .zip(v)
                        .map(|(old, v)| (old & !mask(*size)) | (v & mask(*size))),
                };
                state.set(&full, v);
            }
            Opnd::Mem { size, .. } => {
                if let Some(a) = self.addr(state, op, next) {
                    state.store(a, *size, v);
                }
            }
            _ => {}
        }
    }
}

impl Cpu for X86_64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        if self.wide {
            return lifted::decode(&self.lifter, code, address, count);
        }
        Ok(self
            .decode_ins(code, address, count)?
            .into_iter()
            .map(Insn::Legacy)
            .collect())
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        match ins {
            Insn::Legacy(i) => self.step_ins(i, state, image),
            Insn::Lifted(_) => lifted::step(&ABI, "rsp", ins, state, image),
        }
    }

    fn decode_ins(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        decode_operands(&self.cs, code, address, count, |op| match op {
            ArchOperand::X86Operand(o) => match o.op_type {
                X86OperandType::Reg(r) => reg_name(&self.cs, r)
                    .map(|n| Opnd::Reg(n, usize::from(o.size)))
                    .unwrap_or(Opnd::Other),
                X86OperandType::Imm(v) => Opnd::Imm(v),
                X86OperandType::Mem(m) => Opnd::Mem {
                    base: reg_name(&self.cs, m.base()),
                    index: reg_name(&self.cs, m.index()),
                    scale: i64::from(m.scale()),
                    disp: m.disp(),
                    size: usize::from(o.size),
                },
                X86OperandType::Invalid => Opnd::Other,
            },
            _ => Opnd::Other,
        })
    }

    fn result_register(&self) -> &'static str {
        "rax"
    }

    fn stack_register(&self) -> &'static str {
        "rsp"
    }

    fn stack_top(&self) -> u64 {
        if self.wide {
            STACK_TOP
        } else {
            STACK_TOP_32
        }
    }

    fn pinned_registers(&self) -> &'static [&'static str] {
        if self.wide {
            &[]
        } else {
            &["rbx"]
        }
    }

    fn callee_pops(&self, state: &mut State, image: &dyn Load, target: u64) {
        if self.wide {
            return;
        }
        // The callee's first return, in address order: every return of a function pops
        // the same, so the first says what the call does to the stack.
        let mut pc = target;
        for _ in 0..MAX_RET_SCAN / 16 {
            let code: Vec<u8> = (0..64u64)
                .map_while(|i| image.byte(state, pc.wrapping_add(i)))
                .collect();
            let Ok(insns) = self.cs.disasm_count(&code, pc, 16) else {
                return;
            };
            let Some(last) = insns.last() else {
                return;
            };
            for i in insns.iter() {
                match (i.mnemonic(), i.bytes()) {
                    (Some("ret"), [0xc2, lo, hi]) => {
                        let n = u64::from(u16::from_le_bytes([*lo, *hi]));
                        let sp = state
                            .get("rsp")
                            .map(|s| u128::from(self.wrap((s as u64).wrapping_add(n))));
                        state.set("rsp", sp);
                        return;
                    }
                    (Some("ret"), _) => return,
                    _ => {}
                }
            }
            pc = last.address().wrapping_add(last.len() as u64);
        }
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        let slot = self.slot();
        let sp = state
            .get("rsp")
            .map(|s| self.wrap((s as u64).wrapping_sub(slot)));
        state.set("rsp", sp.map(u128::from));
        if let Some(sp) = sp {
            state.store(sp, slot as usize, Some(u128::from(ret_addr)));
        }
    }

    fn leave_call(&self, state: &mut State) {
        let sp = state
            .get("rsp")
            .map(|s| u128::from(self.wrap((s as u64).wrapping_add(self.slot()))));
        state.set("rsp", sp);
    }

    fn clobber(&self, state: &mut State) {
        let clobbered: &[&str] = if self.wide {
            &X86_CLOBBERED
        } else {
            &X86_32_CLOBBERED
        };
        state.forget(clobbered);
        state.forget((0..16).map(|i| format!("xmm{i}")));
    }

    fn step_ins(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let next = ins.address.wrapping_add(ins.len);
        let m = ins.mnemonic.as_str();
        let op0 = ins.ops.first().cloned().unwrap_or(Opnd::Other);
        let op1 = ins.ops.get(1).cloned().unwrap_or(Opnd::Other);
        // Every memory operand's address is a reference (constructors name their node so).
        for op in &ins.ops {
            if let Some(a) = self.addr(state, op, next) {
                state.note(a);
            }
        }
        let load = |state: &State, op: &Opnd| -> Option<u128> {
            match op {
                Opnd::Mem { size, .. } => {
                    let a = self.addr(state, op, next)?;
                    image.load(state, a, *size)
                }
                other => self.read(state, other),
            }
        };
        let rsp = |state: &State| state.get("rsp").map(|v| v as u64);
        match m {
            "ret" => {
                // `ret n` also pops n bytes of arguments (32-bit x86: the hidden pointer of a
                // function that returns a struct).
                if let Opnd::Imm(n) = op0 {
                    let sp = rsp(state).map(|s| u128::from(self.wrap(s.wrapping_add(n as u64))));
                    state.set("rsp", sp);
                }
                return Ok(Flow::Return);
            }
            "ud2" | "int3" | "hlt" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {:#x}", ins.address)))
            }
            "nop" | "endbr64" | "cmp" | "test" | "bt" | "ucomisd" | "ucomiss" | "comisd"
            | "comiss" | "prefetcht0" | "prefetchnta" | "pause" | "mfence" | "lfence"
            | "sfence" => {}
            "lea" => {
                let a = self.addr(state, &op1, next);
                if let Some(a) = a {
                    state.note(a);
                }
                self.write(state, &op0, a.map(u128::from), next);
            }
            "mov" | "movabs" | "movq" | "movd" | "movups" | "movaps" | "movdqu" | "movdqa"
            | "movupd" | "movapd" | "movss" | "movsd" | "movlps" | "movlpd" => {
                let v = load(state, &op1);
                let v = match (&op0, &op1) {
                    // A narrower source into an XMM register zero-extends (movq/movd/movss).
                    (Opnd::Reg(..), _) if m == "movsd" && matches!(op1, Opnd::Reg(..)) => None,
                    _ => v,
                };
                // A 16-byte copy keeps what is known byte by byte (struct copies).
                let vector = match (&op0, &op1) {
                    (Opnd::Reg(r, 16), Opnd::Mem { size: 16, .. }) if v.is_none() => {
                        self.addr(state, &op1, next).map(|a| {
                            (
                                x86_full(r),
                                (0..16).map(|i| image.byte(state, a + i)).collect(),
                            )
                        })
                    }
                    _ => None,
                };
                let copied = match (&op0, &op1) {
                    (Opnd::Mem { size: 16, .. }, Opnd::Reg(r, 16)) if v.is_none() => {
                        state.vectors.get(&x86_full(r)).cloned()
                    }
                    _ => None,
                };
                match (copied, self.addr(state, &op0, next)) {
                    (Some(bytes), Some(a)) => {
                        for (i, b) in bytes.into_iter().enumerate() {
                            state.store(a + i as u64, 1, b.map(u128::from));
                        }
                    }
                    _ => self.write(state, &op0, v, next),
                }
                if let Some((reg, bytes)) = vector {
                    state.vectors.insert(reg, bytes);
                }
            }
            "movzx" | "movsxd" | "movsx" => {
                let src_size = match &op1 {
                    Opnd::Reg(_, s) | Opnd::Mem { size: s, .. } => *s,
                    _ => 0,
                };
                let v = load(state, &op1).map(|v| {
                    if m == "movzx" || src_size == 0 {
                        v
                    } else {
                        let bits = (8 * src_size) as u32;
                        let shift = 128 - bits;
                        (((v << shift) as i128) >> shift) as u128
                    }
                });
                self.write(state, &op0, v, next);
            }
            "xor" | "xorps" | "xorpd" | "pxor" | "sub" | "subq" if op0 == op1 => {
                self.write(state, &op0, Some(0), next);
            }
            "add" | "sub" | "and" | "or" | "xor" | "shl" | "shr" | "sar" => {
                let v = load(state, &op0).zip(load(state, &op1)).map(|(a, b)| {
                    let s = (b & 0x3f) as u32;
                    match m {
                        "add" => a.wrapping_add(b),
                        "sub" => a.wrapping_sub(b),
                        "and" => a & b,
                        "or" => a | b,
                        "xor" => a ^ b,
                        "shl" => a << s,
                        "shr" => a >> s,
                        _ => ((a as u64 as i64) >> s) as u64 as u128,
                    }
                });
                self.write(state, &op0, v, next);
            }
            "inc" | "dec" => {
                let v = load(state, &op0).map(|a| {
                    if m == "inc" {
                        a.wrapping_add(1)
                    } else {
                        a.wrapping_sub(1)
                    }
                });
                self.write(state, &op0, v, next);
            }
            "push" => {
                let slot = self.slot();
                let v = load(state, &op0);
                let sp = rsp(state).map(|s| self.wrap(s.wrapping_sub(slot)));
                state.set("rsp", sp.map(u128::from));
                if let Some(sp) = sp {
                    state.store(sp, slot as usize, v);
                }
            }
            "pop" => {
                let slot = self.slot();
                let sp = rsp(state);
                let v = sp.and_then(|sp| image.load(state, sp, slot as usize));
                state.set(
                    "rsp",
                    sp.map(|s| u128::from(self.wrap(s.wrapping_add(slot)))),
                );
                self.write(state, &op0, v, next);
            }
            "jmp" => {
                // Through a register or memory (a tail call through the GOT): followed when
                // the target is known.
                return Ok(match load(state, &op0) {
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect jump at {:#x}", ins.address)),
                });
            }
            "call" => {
                let target = load(state, &op0).map(|t| t as u64);
                // 32-bit PIC: a thunk that returns its return address, or a call to the next
                // instruction followed by a pop. Neither is a call to follow.
                if let Some(reg) = target.and_then(|t| self.pc_thunk(state, image, t)) {
                    state.set(reg, Some(u128::from(next)));
                    return Ok(Flow::Next);
                }
                if target == Some(next) && !self.wide {
                    let sp = rsp(state).map(|s| self.wrap(s.wrapping_sub(4)));
                    state.set("rsp", sp.map(u128::from));
                    if let Some(sp) = sp {
                        state.store(sp, 4, Some(u128::from(next)));
                    }
                    return Ok(Flow::Next);
                }
                return Ok(Flow::Call(target));
            }
            "xchg" | "cmpxchg" | "xadd" => {
                // Both operands may change; the memory one becomes unknown.
                self.write(state, &op0, None, next);
                self.write(state, &op1, None, next);
                state.set("rax", None);
            }
            // Conditional branches: follow the fall-through path, remember the target.
            _ if m.starts_with('j') => {
                if let Opnd::Imm(t) = op0 {
                    return Ok(Flow::Branch(t as u64));
                }
            }
            _ => {
                // Any other instruction writing its first operand leaves it unknown.
                self.write(state, &op0, None, next);
            }
        }
        Ok(Flow::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_register_families() {
        assert_eq!(x86_full("eax"), "rax");
        assert_eq!(x86_full("al"), "rax");
        assert_eq!(x86_full("r8d"), "r8");
        assert_eq!(x86_full("r15b"), "r15");
        assert_eq!(x86_full("xmm3"), "xmm3");
        assert_eq!(x86_full("ymm3"), "xmm3");
    }
}
