//! Finding the `ErlNifEntry` without running `nif_init`: follow its few instructions,
//! tracking constant register values, until it returns.
//!
//! C NIFs return the address of a static entry: `lea entry(%rip),%rax; ret` on x86-64,
//! `adrp x0, entry; add x0, x0, :lo12:entry; ret` on AArch64, a literal-pool load plus
//! `add r0, pc, r0` on ARM, `auipc`+`addi` on RISC-V, a TOC-relative `addis`/`addi` on
//! PowerPC64, a `$gp`-relative GOT load on MIPS, `larl` on s390x, `pcaddu12i`+`addi.d` on
//! LoongArch. One file per architecture family decodes and evaluates its instructions; this
//! one runs them.
//!
//! The evaluator is deliberately small: it knows the values of registers set from constants,
//! the program counter, and loads through the relocated image; it follows unconditional
//! jumps, falls through conditional branches (`nif_init` has no reason to branch, and the
//! Windows callback copy loops back to the same straight path), treats calls as clobbering
//! the caller-saved registers, and stops after [`MAX_INIT_INSNS`] instructions. Anything it
//! does not understand makes the value unknown, and an unknown value at the return is an
//! error with a reason, never a guess.

mod aarch64;
mod arm;
mod loongarch;
mod mips;
mod ppc;
mod riscv;
mod s390x;
mod sparc;
mod x86;

use std::collections::HashMap;

use object::ReadRef;

use crate::memory::{Image, Pointer};
use crate::platform::Arch;

/// Most instructions followed from the init function before giving up. Windows `nif_init`
/// copies the callback table first (a `memcpy` call, or an inlined loop that is followed
/// once), so this leaves room beyond the few instructions of a Unix `nif_init`.
pub const MAX_INIT_INSNS: usize = 128;
/// Most code bytes read at once.
const MAX_INIT_BYTES: usize = 512;
/// Deepest stack of pushed values tracked (x86 `push`/`call`).
const MAX_STACK: usize = 64;

/// Where the init function returns its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The entry's virtual address.
    pub address: u64,
    /// How it was found, e.g. `static:x86_64`.
    pub method: String,
    /// The value is certain: the path to the return took no conditional branch, called
    /// nothing, ran no conditional instruction and read no memory, so the value is a
    /// constant of the code itself (what a `return NULL;` compiles to).
    pub certain: bool,
}

/// The `locate_code` fuzz target's harness, shared with the replay of its regression inputs
/// in `tests/hostile.rs`: the first byte of `data` picks the architecture (low bits) and the
/// byte order (top bit); the rest is mapped as one segment at 0x1000 (aliased at 0x40_0000, so
/// jumps between the two are followed) and followed from 0x1000, 0x1001 (Thumb on ARM) and
/// 0x1008 (a descriptor on PowerPC64 ELFv1).
#[doc(hidden)]
pub fn follow_raw_code(data: &[u8]) {
    use crate::memory::{Fixup, Segment};
    // Indices 0..=2 keep the committed regression inputs' meaning.
    const ARCHES: [(Arch, u8); 14] = [
        (Arch::X86_64, 8),
        (Arch::X86, 4),
        (Arch::Aarch64, 8),
        (Arch::Arm, 4),
        (Arch::Riscv64, 8),
        (Arch::Riscv32, 4),
        (Arch::Powerpc64, 8),
        (Arch::Powerpc, 4),
        (Arch::Mips, 4),
        (Arch::Mips64, 8),
        (Arch::S390x, 8),
        (Arch::Loongarch64, 8),
        (Arch::Sparc, 4),
        (Arch::Sparc64, 8),
    ];
    let Some((&selector, code)) = data.split_first() else {
        return;
    };
    let (arch, pointer_size) = ARCHES[usize::from(selector & 0x7f) % ARCHES.len()];
    let base = 0x1000;
    let len = code.len() as u64;
    let segments = vec![
        Segment {
            vaddr: base,
            mem_size: len + (u64::from(selector) << 4),
            file_offset: 0,
            file_size: len,
            executable: true,
        },
        Segment {
            vaddr: 0x40_0000,
            mem_size: len,
            file_offset: 0,
            file_size: len,
            executable: true,
        },
    ];
    let fixups = vec![
        (base + 8, Fixup::Relative(base)),
        (base + 16, Fixup::Relative(0x40_0000)),
    ];
    let image = Image::new(code, segments, fixups, pointer_size, selector & 0x80 != 0);
    for start in [base, base | 1, base + 8] {
        let _ = locate_entry(&image, arch, start);
    }
}

/// Follows the init function at `init` and returns the address it returns.
///
/// `init` is the exported symbol's value: on 32-bit ARM its low bit selects Thumb code, and
/// on PowerPC64 ELFv1 it is the address of a function descriptor, not of code.
pub fn locate_entry<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    arch: Arch,
    init: u64,
) -> Result<Located, String> {
    let mut regs = Regs::new(image.pointer_size() == 4);
    let mut method = format!("static:{}", arch.as_str());
    let (mut machine, start): (Box<dyn Machine>, u64) = match arch {
        Arch::X86_64 => (Box::new(x86::X86::new(true)?), init),
        Arch::X86 => (Box::new(x86::X86::new(false)?), init),
        Arch::Aarch64 => (Box::new(aarch64::Aarch64::new()?), init),
        Arch::Arm => {
            let thumb = init & 1 == 1;
            if thumb {
                method.push_str("-thumb");
            }
            let big = image.big_endian();
            (Box::new(arm::Arm::new(thumb, big)?), init & !1)
        }
        Arch::Riscv64 | Arch::Riscv32 => {
            (Box::new(riscv::Riscv::new(arch == Arch::Riscv64)?), init)
        }
        Arch::Powerpc64 => {
            let big = image.big_endian();
            match ppc::descriptor(image, init) {
                Some((code, toc)) => {
                    // ELFv1: the symbol is a descriptor {entry, TOC, environment} in .opd.
                    method.push_str("-elfv1");
                    regs.set("r2", Some(toc));
                    (Box::new(ppc::Ppc::new(big)?), code)
                }
                None => {
                    // ELFv2: the global entry point computes the TOC from r12 = itself.
                    regs.set("r12", Some(init));
                    (Box::new(ppc::Ppc::new(big)?), init)
                }
            }
        }
        Arch::Mips | Arch::Mips64 => {
            // The PIC calling sequence puts the callee's own address in $t9 ($25).
            regs.set("t9", Some(init));
            let wide = arch == Arch::Mips64;
            (Box::new(mips::Mips::new(wide, image.big_endian())?), init)
        }
        Arch::S390x => (Box::new(s390x::S390x::new()?), init),
        Arch::Loongarch64 => (Box::new(loongarch::LoongArch), init),
        Arch::Sparc64 | Arch::Sparc => (Box::new(sparc::Sparc::new(arch == Arch::Sparc64)?), init),
        other => {
            return Err(format!(
                "static decoding of nif_init is not implemented for {}",
                other.as_str()
            ))
        }
    };
    let (address, certain) = run(machine.as_mut(), image, start, &mut regs)?;
    Ok(Located {
        address,
        method,
        certain,
    })
}

/// What one instruction does to control flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Continue with the next instruction.
    Next,
    /// Continue at this address.
    Jump(u64),
    /// The function returns now.
    Return,
    /// The function returns after the next instruction (a delay slot: MIPS, SPARC).
    ReturnAfterNext,
    /// Continue at this address after the next instruction (a delayed branch).
    JumpAfterNext(u64),
}

/// An operand, the same for every architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// A register, by its canonical name.
    Reg(String),
    /// An immediate, as the decoder gives it (absolute for branch targets).
    Imm(i64),
    /// A memory reference `disp(base, index)`.
    Mem {
        base: Option<String>,
        index: Option<String>,
        disp: i64,
    },
    /// Anything else.
    Other,
}

/// One decoded instruction.
#[derive(Debug, Clone)]
struct Insn {
    address: u64,
    len: u64,
    mnemonic: String,
    ops: Vec<Op>,
    /// Executed only under a condition (ARM condition codes).
    conditional: bool,
    /// A jump, branch, call or return of any kind (capstone's jump, call and return groups).
    branch: bool,
}

impl Insn {
    fn next(&self) -> u64 {
        self.address.wrapping_add(self.len)
    }

    fn reg(&self, i: usize) -> Option<&str> {
        match self.ops.get(i) {
            Some(Op::Reg(r)) => Some(r),
            _ => None,
        }
    }

    fn imm(&self, i: usize) -> Option<i64> {
        match self.ops.get(i) {
            Some(Op::Imm(v)) => Some(*v),
            _ => None,
        }
    }
}

/// The evaluator's knowledge: registers with a known value, and (x86) pushed values.
#[derive(Debug)]
struct Regs {
    values: HashMap<String, u64>,
    stack: Vec<Option<u64>>,
    /// Values are 32-bit (wrap arithmetic there).
    narrow: bool,
}

impl Regs {
    fn new(narrow: bool) -> Self {
        Regs {
            values: HashMap::new(),
            stack: Vec::new(),
            narrow,
        }
    }

    fn get(&self, reg: &str) -> Option<u64> {
        self.values.get(reg).copied()
    }

    fn set(&mut self, reg: &str, value: Option<u64>) {
        match value {
            Some(v) => {
                let v = if self.narrow { v & 0xffff_ffff } else { v };
                self.values.insert(reg.to_string(), v);
            }
            None => {
                self.values.remove(reg);
            }
        }
    }

    fn forget(&mut self, regs: &[&str]) {
        for r in regs {
            self.values.remove(*r);
        }
    }

    fn push(&mut self, value: Option<u64>) {
        if self.stack.len() < MAX_STACK {
            self.stack.push(value);
        }
    }

    fn pop(&mut self) -> Option<u64> {
        self.stack.pop().flatten()
    }
}

/// Reads from the loaded image, as the evaluator needs it.
trait Memory {
    /// The pointer-sized value at `addr` once relocated; `None` for imports and unmapped
    /// addresses.
    fn pointer(&self, addr: u64) -> Option<u64>;
    /// A 32-bit value at `addr` once relocated (a pointer-sized value on 32-bit targets).
    fn word32(&self, addr: u64) -> Option<u64>;
    /// Raw bytes.
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

impl<'data, R: ReadRef<'data>> Memory for Image<R> {
    fn pointer(&self, addr: u64) -> Option<u64> {
        match self.read_pointer(addr).ok()? {
            Pointer::Address(a) => Some(a),
            Pointer::Null => Some(0),
            Pointer::Import(_) => None,
        }
    }

    fn word32(&self, addr: u64) -> Option<u64> {
        if self.pointer_size() == 4 {
            return self.pointer(addr);
        }
        self.read_u32(addr).ok().map(u64::from)
    }

    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.read_bytes(addr, len).ok()
    }
}

/// One architecture: how to decode its instructions and what each does.
trait Machine {
    /// Decodes up to `count` instructions of `code`, which starts at `address`. Stops at the
    /// first byte sequence that is not an instruction.
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String>;
    /// Applies `insn` to `regs`.
    fn step(&self, insn: &Insn, regs: &mut Regs, memory: &dyn Memory) -> Result<Step, String>;
    /// The register holding the return value.
    fn result_register(&self) -> &'static str;
}

/// Counts the reads the evaluator makes, to tell a constant from a value read from memory.
struct Watched<'a> {
    memory: &'a dyn Memory,
    reads: std::cell::Cell<usize>,
}

impl Memory for Watched<'_> {
    fn pointer(&self, addr: u64) -> Option<u64> {
        self.reads.set(self.reads.get().saturating_add(1));
        self.memory.pointer(addr)
    }

    fn word32(&self, addr: u64) -> Option<u64> {
        self.reads.set(self.reads.get().saturating_add(1));
        self.memory.word32(addr)
    }

    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.reads.set(self.reads.get().saturating_add(1));
        self.memory.bytes(addr, len)
    }
}

/// Follows the code from `start` to its return: the value returned, and whether it is
/// certain (see [`Located::certain`]).
fn run<'data, R: ReadRef<'data>>(
    machine: &mut dyn Machine,
    image: &Image<R>,
    start: u64,
    regs: &mut Regs,
) -> Result<(u64, bool), String> {
    let memory = Watched {
        memory: image,
        reads: std::cell::Cell::new(0),
    };
    // A conditional branch falls through, a call clobbers: either makes the path a guess.
    let mut guessed = false;
    let mut pc = start;
    let mut budget = MAX_INIT_INSNS;
    let mut pending: Option<Step> = None;
    while budget > 0 {
        let code = image
            .read_code(pc, MAX_INIT_BYTES)
            .map_err(|e| format!("cannot read nif_init code: {e}"))?;
        let insns = machine.decode(&code, pc, budget)?;
        let Some(last) = insns.last() else {
            return Err(format!("no instruction this decoder knows at {pc:#x}"));
        };
        let mut next_pc = last.next();
        for insn in &insns {
            budget = budget.saturating_sub(1);
            let step = machine.step(insn, regs, &memory)?;
            guessed |= insn.conditional || (insn.branch && step == Step::Next);
            // The instruction in a delay slot runs, then the delayed transfer happens.
            let step = match pending.take() {
                Some(Step::ReturnAfterNext) => Step::Return,
                Some(Step::JumpAfterNext(t)) => Step::Jump(t),
                _ => step,
            };
            match step {
                Step::Next => {}
                Step::Jump(target) => {
                    next_pc = target;
                    break;
                }
                Step::Return => {
                    let reg = machine.result_register();
                    let value = regs.get(reg).ok_or_else(|| {
                        format!(
                            "nif_init returns at {:#x} with no constant in {reg}",
                            insn.address
                        )
                    })?;
                    return Ok((value, !guessed && memory.reads.get() == 0));
                }
                Step::ReturnAfterNext | Step::JumpAfterNext(_) => pending = Some(step),
            }
            if budget == 0 {
                break;
            }
        }
        pc = next_pc;
    }
    Err(format!(
        "nif_init did not return within {MAX_INIT_INSNS} instructions"
    ))
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

/// The value of a register or immediate operand.
fn value(regs: &Regs, op: Option<&Op>) -> Option<u64> {
    match op? {
        Op::Reg(r) => regs.get(r),
        Op::Imm(i) => Some(*i as u64),
        _ => None,
    }
}

/// The address a memory operand names, from the registers' known values; `zero` is the
/// name of a register that reads as zero (`zero` on MIPS/RISC-V), if any.
fn address(regs: &Regs, op: Option<&Op>) -> Option<u64> {
    let Some(Op::Mem { base, index, disp }) = op else {
        return None;
    };
    let base = match base {
        Some(b) => regs.get(b)?,
        None => 0,
    };
    let index = match index {
        Some(i) => regs.get(i)?,
        None => 0,
    };
    Some(base.wrapping_add(index).wrapping_add(*disp as u64))
}

/// Converts one capstone instruction's operands, and says whether it is conditional.
type Convert<'a> =
    dyn Fn(&capstone::Capstone, &capstone::Insn) -> Result<(Vec<Op>, bool), String> + 'a;

/// Turns capstone's instructions into ours with `convert` for the operands.
fn from_capstone(
    cs: &capstone::Capstone,
    code: &[u8],
    address: u64,
    count: usize,
    convert: &Convert<'_>,
) -> Result<Vec<Insn>, String> {
    let insns = cs
        .disasm_count(code, address, count)
        .map_err(|e| format!("cannot disassemble nif_init at {address:#x}: {e}"))?;
    insns
        .iter()
        .map(|i| {
            let (ops, conditional) = convert(cs, i)?;
            let branch = cs.insn_detail(i).is_ok_and(|d| {
                d.groups().iter().any(|g| {
                    matches!(
                        u32::from(g.0),
                        capstone::InsnGroupType::CS_GRP_JUMP
                            | capstone::InsnGroupType::CS_GRP_CALL
                            | capstone::InsnGroupType::CS_GRP_RET
                    )
                })
            });
            Ok(Insn {
                address: i.address(),
                len: i.len() as u64,
                mnemonic: i.mnemonic().unwrap_or("").to_string(),
                ops,
                conditional,
                branch,
            })
        })
        .collect()
}

/// The operands capstone details for `insn` (every evaluator but ARM's, which also reads the
/// condition code, starts from these).
fn operands(
    cs: &capstone::Capstone,
    insn: &capstone::Insn,
) -> Result<Vec<capstone::arch::ArchOperand>, String> {
    let detail = cs
        .insn_detail(insn)
        .map_err(|e| format!("capstone detail: {e}"))?;
    Ok(detail.arch_detail().operands())
}

fn reg_name(cs: &capstone::Capstone, reg: capstone::RegId) -> Option<String> {
    if reg.0 == 0 {
        return None;
    }
    cs.reg_name(reg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Segment;

    /// Follows x86-64 `code` mapped at 0x1000.
    fn follow(code: &[u8]) -> Located {
        let segments = vec![Segment {
            vaddr: 0x1000,
            mem_size: 0x100,
            file_offset: 0,
            file_size: code.len() as u64,
            executable: true,
        }];
        let image = Image::new(code, segments, Vec::new(), 8, false);
        locate_entry(&image, Arch::X86_64, 0x1000).expect("returns a constant")
    }

    #[test]
    fn a_straight_null_is_certain() {
        // xor eax, eax; ret
        let located = follow(&[0x31, 0xc0, 0xc3]);
        assert_eq!((located.address, located.certain), (0, true));
    }

    #[test]
    fn a_null_behind_a_condition_is_a_guess() {
        // test edi, edi; jne +3; xor eax, eax; ret; (lea rax, [rip]; ret)
        let located = follow(&[
            0x85, 0xff, 0x75, 0x03, 0x31, 0xc0, 0xc3, 0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3,
        ]);
        assert_eq!((located.address, located.certain), (0, false));
    }

    #[test]
    fn a_null_read_from_memory_is_a_guess() {
        // mov rax, [rip + 1]; ret; then a zero word (a pointer filled in at run time)
        let located = follow(&[
            0x48, 0x8b, 0x05, 0x01, 0, 0, 0, 0xc3, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert_eq!((located.address, located.certain), (0, false));
    }
}
