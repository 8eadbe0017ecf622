//! Finding the `ErlNifEntry` without running `nif_init`: follow its few instructions with
//! capstone, tracking constant register values, until it returns.
//!
//! C NIFs return the address of a static entry (`lea entry(%rip),%rax; ret` on x86-64,
//! `adrp x0, entry; add x0, x0, :lo12:entry; ret` on AArch64). Anything the evaluator does not
//! understand makes it give up with a reason rather than guess.

use std::collections::HashMap;

use capstone::arch::arm64::Arm64OperandType;
use capstone::arch::x86::X86OperandType;
use capstone::arch::{self, ArchOperand, BuildsCapstone};
use capstone::{Capstone, Insn};
use object::ReadRef;

use crate::memory::{Image, Pointer};
use crate::report::Arch;

/// Most instructions followed from the init function before giving up.
pub const MAX_INIT_INSNS: usize = 64;
/// Most code bytes read for that.
const MAX_INIT_BYTES: usize = 512;

/// Where the init function returns its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The entry's virtual address.
    pub address: u64,
    /// How it was found, e.g. `static:x86_64`.
    pub method: String,
}

/// Follows the init function at `init` and returns the address it returns.
pub fn locate_entry<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    arch: Arch,
    init: u64,
) -> Result<Located, String> {
    let (cs, ret_reg) = match arch {
        Arch::X86_64 => (
            Capstone::new()
                .x86()
                .mode(arch::x86::ArchMode::Mode64)
                .detail(true)
                .build(),
            "rax",
        ),
        Arch::X86 => (
            Capstone::new()
                .x86()
                .mode(arch::x86::ArchMode::Mode32)
                .detail(true)
                .build(),
            "eax",
        ),
        Arch::Aarch64 => (
            Capstone::new()
                .arm64()
                .mode(arch::arm64::ArchMode::Arm)
                .detail(true)
                .build(),
            "x0",
        ),
        other => {
            return Err(format!(
                "static decoding of nif_init is not implemented for {}",
                other.as_str()
            ))
        }
    };
    let cs = cs.map_err(|e| format!("capstone: {e}"))?;
    let mut eval = Evaluator {
        cs: &cs,
        image,
        regs: HashMap::new(),
    };
    let address = eval.run(init, ret_reg)?;
    Ok(Located {
        address,
        method: format!("static:{}", arch.as_str()),
    })
}

struct Evaluator<'a, R> {
    cs: &'a Capstone,
    image: &'a Image<R>,
    /// Known constant values, by capstone register name.
    regs: HashMap<String, u64>,
}

enum Step {
    Next,
    Jump(u64),
    Return,
}

impl<'data, R: ReadRef<'data>> Evaluator<'_, R> {
    fn run(&mut self, start: u64, ret_reg: &str) -> Result<u64, String> {
        let mut pc = start;
        let mut budget = MAX_INIT_INSNS;
        'blocks: loop {
            let code = self
                .image
                .read_code(pc, MAX_INIT_BYTES)
                .map_err(|e| format!("cannot read nif_init code: {e}"))?;
            let insns = self
                .cs
                .disasm_count(&code, pc, budget)
                .map_err(|e| format!("cannot disassemble nif_init at {pc:#x}: {e}"))?;
            if insns.is_empty() {
                return Err(format!("no valid instruction at {pc:#x}"));
            }
            for insn in insns.iter() {
                budget = budget.saturating_sub(1);
                match self.step(insn)? {
                    Step::Next => {}
                    Step::Jump(target) => {
                        pc = target;
                        if budget == 0 {
                            break 'blocks;
                        }
                        continue 'blocks;
                    }
                    Step::Return => {
                        return self.regs.get(ret_reg).copied().ok_or_else(|| {
                            format!(
                                "nif_init returns at {:#x} with no constant in {ret_reg}",
                                insn.address()
                            )
                        })
                    }
                }
                if budget == 0 {
                    break 'blocks;
                }
            }
            // Ran off the end of what was read; continue after the last instruction.
            let Some(last) = insns.iter().last() else {
                break;
            };
            pc = last.address() + last.len() as u64;
        }
        Err(format!(
            "nif_init did not return within {MAX_INIT_INSNS} instructions"
        ))
    }

    fn name(&self, reg: capstone::RegId) -> String {
        self.cs.reg_name(reg).unwrap_or_default()
    }

    fn step(&mut self, insn: &Insn) -> Result<Step, String> {
        let mnemonic = insn.mnemonic().unwrap_or("");
        let detail = self
            .cs
            .insn_detail(insn)
            .map_err(|e| format!("capstone detail: {e}"))?;
        let ops = detail.arch_detail().operands();
        let next = insn.address() + insn.len() as u64;
        match ops.first() {
            Some(ArchOperand::X86Operand(_)) | None
                if matches!(mnemonic, "ret" | "retq" | "retl") =>
            {
                Ok(Step::Return)
            }
            Some(ArchOperand::X86Operand(_)) => self.step_x86(mnemonic, &ops, next),
            Some(ArchOperand::Arm64Operand(_)) => self.step_arm64(mnemonic, &ops),
            None if mnemonic == "ret" => Ok(Step::Return),
            None => Ok(Step::Next),
            Some(_) => Err(format!("unexpected operands in {mnemonic}")),
        }
    }

    fn x86_value(&self, op: &ArchOperand) -> Option<u64> {
        let ArchOperand::X86Operand(op) = op else {
            return None;
        };
        match &op.op_type {
            X86OperandType::Reg(r) => self.regs.get(&self.name(*r)).copied(),
            X86OperandType::Imm(i) => Some(*i as u64),
            X86OperandType::Mem(_) => None,
            X86OperandType::Invalid => None,
        }
    }

    /// The address a memory operand names, when its base is known.
    fn x86_address(&self, op: &ArchOperand, next: u64) -> Option<u64> {
        let ArchOperand::X86Operand(op) = op else {
            return None;
        };
        let X86OperandType::Mem(mem) = &op.op_type else {
            return None;
        };
        if mem.index().0 != 0 {
            return None;
        }
        let base = match self.name(mem.base()).as_str() {
            "rip" => next,
            "" => 0,
            other => *self.regs.get(other)?,
        };
        Some(base.wrapping_add_signed(mem.disp()))
    }

    fn x86_dest(&self, op: &ArchOperand) -> Option<String> {
        match op {
            ArchOperand::X86Operand(o) => match o.op_type {
                X86OperandType::Reg(r) => Some(self.name(r)),
                _ => None,
            },
            _ => None,
        }
    }

    fn step_x86(&mut self, mnemonic: &str, ops: &[ArchOperand], next: u64) -> Result<Step, String> {
        let dest = ops.first().and_then(|o| self.x86_dest(o));
        let src = ops.get(1);
        match (mnemonic, dest, src) {
            ("lea", Some(d), Some(s)) => {
                let v = self.x86_address(s, next);
                self.set(d, v);
            }
            ("mov" | "movabs", Some(d), Some(s)) => {
                let v = match self.x86_address(s, next) {
                    // A load from memory: the loaded, relocated pointer (a GOT entry).
                    Some(addr) => match self.image.read_pointer(addr) {
                        Ok(Pointer::Address(a)) => Some(a),
                        _ => None,
                    },
                    None => self.x86_value(s),
                };
                self.set(d, v);
            }
            ("add", Some(d), Some(s)) => {
                let v = self
                    .regs
                    .get(&d)
                    .copied()
                    .zip(self.x86_value(s))
                    .map(|(a, b)| a.wrapping_add(b));
                self.set(d, v);
            }
            ("jmp", _, _) => {
                let target = ops.first().and_then(|o| self.x86_value(o));
                return target
                    .map(Step::Jump)
                    .ok_or_else(|| "nif_init jumps through an unknown address".to_string());
            }
            ("call", _, _) => {
                let target = ops.first().and_then(|o| self.x86_value(o));
                // i386 PIC: `call __x86.get_pc_thunk.REG` loads the return address into REG.
                if let Some(reg) = target.and_then(|t| self.pc_thunk_register(t)) {
                    self.regs.insert(reg.to_string(), next);
                } else {
                    for r in ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"] {
                        self.regs.remove(r);
                    }
                    for r in ["eax", "ecx", "edx"] {
                        self.regs.remove(r);
                    }
                }
            }
            (_, Some(d), _) => {
                // Any other write to a register makes its value unknown.
                self.regs.remove(&d);
            }
            _ => {}
        }
        Ok(Step::Next)
    }

    /// Recognises `mov (%esp),%REG; ret`, the body of GCC's `__x86.get_pc_thunk.REG`.
    fn pc_thunk_register(&self, target: u64) -> Option<&'static str> {
        let bytes = self.image.read_bytes(target, 4).ok()?;
        match bytes.as_slice() {
            [0x8b, 0x04, 0x24, 0xc3] => Some("eax"),
            [0x8b, 0x1c, 0x24, 0xc3] => Some("ebx"),
            [0x8b, 0x0c, 0x24, 0xc3] => Some("ecx"),
            [0x8b, 0x14, 0x24, 0xc3] => Some("edx"),
            _ => None,
        }
    }

    fn step_arm64(&mut self, mnemonic: &str, ops: &[ArchOperand]) -> Result<Step, String> {
        let reg = |o: Option<&ArchOperand>| match o {
            Some(ArchOperand::Arm64Operand(op)) => match op.op_type {
                Arm64OperandType::Reg(r) => Some(self.name(r)),
                _ => None,
            },
            _ => None,
        };
        let imm = |o: Option<&ArchOperand>| match o {
            Some(ArchOperand::Arm64Operand(op)) => match op.op_type {
                Arm64OperandType::Imm(i) => Some(i as u64),
                _ => None,
            },
            _ => None,
        };
        let dest = reg(ops.first());
        match mnemonic {
            "ret" => return Ok(Step::Return),
            "adrp" | "adr" => {
                let v = imm(ops.get(1));
                if let Some(d) = dest {
                    self.set(d, v);
                }
            }
            "add" => {
                let base = reg(ops.get(1)).and_then(|r| self.regs.get(&r).copied());
                let v = base.zip(imm(ops.get(2))).map(|(a, b)| a.wrapping_add(b));
                if let Some(d) = dest {
                    self.set(d, v);
                }
            }
            "mov" => {
                let v = reg(ops.get(1))
                    .and_then(|r| self.regs.get(&r).copied())
                    .or_else(|| imm(ops.get(1)));
                if let Some(d) = dest {
                    self.set(d, v);
                }
            }
            "ldr" => {
                let addr = match ops.get(1) {
                    Some(ArchOperand::Arm64Operand(op)) => match &op.op_type {
                        Arm64OperandType::Mem(m) if m.index().0 == 0 => self
                            .regs
                            .get(&self.name(m.base()))
                            .map(|b| b.wrapping_add_signed(i64::from(m.disp()))),
                        _ => None,
                    },
                    _ => None,
                };
                let v = addr.and_then(|a| match self.image.read_pointer(a) {
                    Ok(Pointer::Address(p)) => Some(p),
                    _ => None,
                });
                if let Some(d) = dest {
                    self.set(d, v);
                }
            }
            "b" => {
                return imm(ops.first())
                    .map(Step::Jump)
                    .ok_or_else(|| "nif_init branches to an unknown address".to_string())
            }
            "paciasp" | "autiasp" | "bti" | "nop" | "hint" | "stp" | "ldp" => {}
            _ => {
                if let Some(d) = dest {
                    self.regs.remove(&d);
                }
            }
        }
        Ok(Step::Next)
    }

    fn set(&mut self, reg: String, value: Option<u64>) {
        match value {
            Some(v) => {
                self.regs.insert(reg, v);
            }
            None => {
                self.regs.remove(&reg);
            }
        }
    }
}
