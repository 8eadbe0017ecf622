//! x86 and x86-64: `lea entry(%rip)`, i386 PIC (`call __x86.get_pc_thunk.REG` or
//! `call 1f; 1: pop REG`, then `add $_GLOBAL_OFFSET_TABLE_`, `lea entry@GOTOFF`), GOT loads,
//! and the Windows `nif_init(callbacks)` that calls `memcpy` before returning.

use capstone::arch::x86::X86OperandType;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{
    address, from_capstone, operands, reg_name, value, Insn, Machine, Memory, Op, Regs, Step,
};

pub(super) struct X86 {
    cs: Capstone,
    wide: bool,
}

impl X86 {
    pub(super) fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::X86 { wide })?;
        Ok(X86 { cs, wide })
    }

    /// The full register a name writes: `eax` → `rax` on x86-64 (32-bit writes zero-extend,
    /// and addresses fit), `r8d` → `r8`. 8- and 16-bit names stay as they are.
    fn canonical(&self, name: String) -> String {
        if !self.wide {
            return name;
        }
        let full = match name.as_str() {
            "eax" => "rax",
            "ebx" => "rbx",
            "ecx" => "rcx",
            "edx" => "rdx",
            "esi" => "rsi",
            "edi" => "rdi",
            "ebp" => "rbp",
            "esp" => "rsp",
            n if n.starts_with('r') && n.ends_with('d') => {
                return n.trim_end_matches('d').to_string();
            }
            _ => return name,
        };
        full.to_string()
    }
}

/// Caller-saved registers in both the System V and the Microsoft conventions.
const CLOBBERED: [&str; 12] = [
    "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "eax", "ecx", "edx",
];

impl Machine for X86 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        from_capstone(&self.cs, code, address, count, &|cs, insn| {
            let ops = operands(cs, insn)?
                .into_iter()
                .map(|op| match op {
                    ArchOperand::X86Operand(o) => match o.op_type {
                        X86OperandType::Reg(r) => reg_name(cs, r)
                            .map(|n| Op::Reg(self.canonical(n)))
                            .unwrap_or(Op::Other),
                        X86OperandType::Imm(i) => Op::Imm(i),
                        X86OperandType::Mem(m) => Op::Mem {
                            base: reg_name(cs, m.base()).map(|n| self.canonical(n)),
                            index: reg_name(cs, m.index()).map(|n| self.canonical(n)),
                            disp: m.disp(),
                        },
                        X86OperandType::Invalid => Op::Other,
                    },
                    _ => Op::Other,
                })
                .collect();
            Ok((ops, false))
        })
    }

    fn result_register(&self) -> &'static str {
        if self.wide {
            "rax"
        } else {
            "eax"
        }
    }

    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String> {
        let next = insn.next();
        // RIP-relative operands: the program counter is the next instruction.
        regs.set("rip", Some(next));
        let m = insn.mnemonic.as_str();
        let dest = insn.reg(0).map(str::to_string);
        let src = insn.ops.get(1);
        match m {
            "ret" | "retq" | "retl" => return Ok(Step::Return),
            "nop" | "endbr64" | "endbr32" | "int3" => {}
            "lea" => {
                if let Some(d) = dest {
                    let v = address(regs, src);
                    regs.set(&d, v);
                }
            }
            "mov" | "movabs" | "movq" | "movl" => match (dest, src) {
                (Some(d), Some(Op::Mem { .. })) => {
                    // A load: the relocated pointer (a GOT entry).
                    let v = address(regs, src).and_then(|a| {
                        if self.wide && !d.starts_with('e') {
                            memory.pointer(a)
                        } else {
                            memory.word32(a)
                        }
                    });
                    regs.set(&d, v);
                }
                (Some(d), s) => {
                    let v = value(regs, s);
                    regs.set(&d, v);
                }
                // A store to memory.
                (None, _) => {}
            },
            "add" | "sub" => {
                if let Some(d) = dest {
                    let v = regs.get(&d).zip(value(regs, src)).map(|(a, b)| {
                        if m == "add" {
                            a.wrapping_add(b)
                        } else {
                            a.wrapping_sub(b)
                        }
                    });
                    regs.set(&d, v);
                }
            }
            "xor" if insn.reg(0).is_some() && insn.reg(0) == insn.reg(1) => {
                if let Some(d) = dest {
                    regs.set(&d, Some(0));
                }
            }
            "push" => {
                let v = value(regs, insn.ops.first());
                regs.push(v);
            }
            "pop" => {
                let v = regs.pop();
                if let Some(d) = dest {
                    regs.set(&d, v);
                }
            }
            "jmp" => {
                return value(regs, insn.ops.first())
                    .map(Step::Jump)
                    .ok_or_else(|| "nif_init jumps through an unknown address".to_string())
            }
            "call" => {
                let target = value(regs, insn.ops.first());
                if target == Some(next) {
                    // `call 1f; 1: pop REG`: the pushed return address is the PC.
                    regs.push(Some(next));
                } else if let Some(reg) = target.and_then(|t| pc_thunk_register(memory, t)) {
                    // `call __x86.get_pc_thunk.REG` loads the return address into REG.
                    regs.set(reg, Some(next));
                } else {
                    regs.forget(&CLOBBERED);
                }
            }
            // Conditional branches: follow the fall-through path.
            _ if m.starts_with('j') => {}
            _ => {
                // Any other write to a register makes its value unknown.
                if let Some(d) = dest {
                    regs.set(&d, None);
                }
            }
        }
        Ok(Step::Next)
    }
}

/// Recognises `mov (%esp),%REG; ret`, the body of GCC's `__x86.get_pc_thunk.REG`.
fn pc_thunk_register(memory: &dyn Memory, target: u64) -> Option<&'static str> {
    let bytes = memory.bytes(target, 4)?;
    match bytes.as_slice() {
        [0x8b, 0x04, 0x24, 0xc3] => Some("eax"),
        [0x8b, 0x1c, 0x24, 0xc3] => Some("ebx"),
        [0x8b, 0x0c, 0x24, 0xc3] => Some("ecx"),
        [0x8b, 0x14, 0x24, 0xc3] => Some("edx"),
        _ => None,
    }
}
