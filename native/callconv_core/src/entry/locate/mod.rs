//! Finding the `ErlNifEntry` without running `nif_init`: follow its few instructions,
//! tracking constant register values, until it returns.
//!
//! C NIFs return the address of a static entry: `lea entry(%rip),%rax; ret` on x86-64,
//! `adrp x0, entry; add x0, x0, :lo12:entry; ret` on AArch64, a literal-pool load plus
//! `add r0, pc, r0` on ARM, `auipc`+`addi` on RISC-V, a TOC-relative `addis`/`addi` on
//! PowerPC64, a `$gp`-relative GOT load on MIPS, `larl` on s390x, `pcaddu12i`+`addi.d` on
//! LoongArch. The instruction layer's lifters (`crate::isa`) decode them, as for the
//! analysis; this module evaluates what they lift.
//!
//! The evaluator is deliberately small: constant propagation of the lifted effects
//! ([`Fx`]) along their control flow ([`Flow`]). It knows the values of registers set from
//! constants (PC-relative forms are constants once lifted), offsets from the stack pointer at
//! entry and the stack slots written through them (i386 `call 1f; 1: pop %ebx`), and
//! pointer-sized loads through the relocated image; it follows unconditional jumps, falls
//! through conditional branches (`nif_init` has no reason to branch, and the Windows
//! callback copy loops back to the same straight path), treats calls as clobbering the
//! caller-saved registers of the architecture's conventions, and stops after
//! [`MAX_INIT_INSNS`] instructions. Anything it does not understand makes the value unknown,
//! and an unknown value at the return is an error with a reason, never a guess.

use std::collections::HashMap;

use object::ReadRef;

use crate::conventions;
use crate::isa::{self, Flow, Fx, Lifted, Lifter};
use crate::memory::{Image, Pointer};
use crate::platform::Arch;

/// Most instructions followed from the init function before giving up. Windows `nif_init`
/// copies the callback table first (a `memcpy` call, or an inlined loop that is followed
/// once), so this leaves room beyond the few instructions of a Unix `nif_init`.
pub const MAX_INIT_INSNS: usize = 128;
/// Most code bytes read for one instruction (a MIPS branch and its delay slot, an x86
/// instruction, and the few words the lifters look ahead for fused idioms).
const MAX_INSN_BYTES: usize = 64;
/// Most stack slots tracked (x86 `push`/`call`, saved registers).
const MAX_SLOTS: usize = 64;

/// Where the init function returns its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The entry's virtual address.
    pub address: u64,
    /// How it was found, e.g. `static:x86_64`.
    pub method: String,
    /// The value is certain: the path to the return took no conditional branch (a
    /// conditional Arm instruction is one), called nothing, and followed no read of the
    /// image, so the value is a constant of the code itself (what a `return NULL;` compiles
    /// to).
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
    let mut method = format!("static:{}", arch.as_str());
    let mut start = init;
    // Registers whose values at entry the platform fixes.
    let mut known: Vec<(String, u64)> = Vec::new();
    let lifter: Box<dyn Lifter + '_> = match arch {
        Arch::X86_64 => Box::new(isa::x86::X86::new(true)?),
        Arch::X86 => Box::new(isa::x86::X86::new(false)?),
        Arch::Aarch64 => Box::new(isa::aarch64::Aarch64::new()?),
        Arch::Arm => {
            // The Thumb bit stays in the address: the lifter decodes by it.
            if init & 1 == 1 {
                method.push_str("-thumb");
            }
            Box::new(isa::arm::Arm::new(image.big_endian())?)
        }
        Arch::Riscv64 | Arch::Riscv32 => Box::new(isa::riscv::Riscv::new(arch == Arch::Riscv64)?),
        Arch::Powerpc64 => match crate::inspect::elf::ppc64_descriptor(image, init) {
            Some((code, toc)) => {
                // ELFv1: the symbol is a descriptor {entry, TOC, environment} in .opd.
                method.push_str("-elfv1");
                known.push(("r2".to_string(), toc));
                start = code;
                Box::new(isa::ppc64::Ppc64::new(image, true, Some(toc))?)
            }
            None => {
                // ELFv2: the global entry point computes the TOC from r12 = itself.
                known.push(("r12".to_string(), init));
                Box::new(isa::ppc64::Ppc64::new(image, false, None)?)
            }
        },
        // Release 6 code is read in the pre-r6 mode here (the image does not carry the ELF
        // flags): right for the r6 fixture's nif_init, not shown for r6-only encodings.
        Arch::Mips | Arch::Mips64 => Box::new(isa::mips::Mips::new(
            arch == Arch::Mips64,
            image.big_endian(),
            false,
        )?),
        Arch::S390x => Box::new(isa::s390x::S390x::new()?),
        Arch::Loongarch64 => Box::new(isa::loongarch::LoongArch),
        Arch::Sparc64 | Arch::Sparc => {
            Box::new(isa::sparc::Sparc::new(image, arch == Arch::Sparc64)?)
        }
        other => {
            return Err(format!(
                "static decoding of nif_init is not implemented for {}",
                other.as_str()
            ))
        }
    };
    // The MIPS PIC calling sequence puts the callee's own address in $t9.
    known.extend(
        lifter
            .entry_constants(start)
            .into_iter()
            .map(|(r, v)| (r.to_string(), v)),
    );
    let convention = Registers::of(arch, lifter.as_ref())?;
    let (address, certain) = run(lifter.as_ref(), image, start, &known, &convention)?;
    Ok(Located {
        address,
        method,
        certain,
    })
}

/// What the evaluator takes from the architecture's calling conventions (canonical names).
struct Registers {
    /// Where an integer or pointer result is returned.
    result: String,
    /// Registers any call may change: the union of the conventions' caller-saved registers
    /// (x86-64 `nif_init` may be System V or Microsoft code).
    clobbered: Vec<String>,
    /// Registers that always read as zero (`zero`, `xzr`).
    zero: Vec<String>,
}

impl Registers {
    fn of(arch: Arch, lifter: &dyn Lifter) -> Result<Self, String> {
        let mut result = None;
        let mut clobbered: Vec<String> = Vec::new();
        for c in conventions::for_arch(arch.as_str()) {
            if result.is_none() {
                result = c.int_return.first().map(|r| lifter.canonical_model(r));
            }
            for r in c.caller_saved {
                let r = lifter.canonical_model(r);
                if !clobbered.contains(&r) {
                    clobbered.push(r);
                }
            }
        }
        let result = result.ok_or_else(|| {
            format!(
                "no calling convention says where {} returns a pointer",
                arch.as_str()
            )
        })?;
        let zero = ["zero", "xzr"]
            .into_iter()
            .map(|r| lifter.canonical_model(r))
            .collect();
        Ok(Registers {
            result,
            clobbered,
            zero,
        })
    }
}

/// A value the evaluator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Const(u64),
    /// The stack pointer at entry plus this offset.
    Stack(i64),
}

/// Register values and stack slots along the one path followed.
struct State<'i, R> {
    image: &'i Image<R>,
    /// The stack pointer's name.
    sp: &'static str,
    regs: HashMap<String, Val>,
    slots: HashMap<i64, Val>,
    /// Values are 32-bit (wrap arithmetic there).
    narrow: bool,
    /// Reads of the image: a value read from memory is not a constant of the code.
    reads: usize,
}

impl<'data, R: ReadRef<'data>> State<'_, R> {
    fn get(&self, reg: &str) -> Option<Val> {
        self.regs.get(reg).copied()
    }

    fn constant(&self, reg: &str) -> Option<u64> {
        match self.get(reg)? {
            Val::Const(c) => Some(c),
            Val::Stack(_) => None,
        }
    }

    fn set(&mut self, reg: &str, value: Option<Val>) {
        match value {
            Some(Val::Const(c)) if self.narrow => {
                self.regs
                    .insert(reg.to_string(), Val::Const(c & 0xffff_ffff));
            }
            Some(v) => {
                self.regs.insert(reg.to_string(), v);
            }
            None => {
                self.regs.remove(reg);
            }
        }
    }

    fn store(&mut self, base: &str, disp: i64, value: Option<Val>) {
        // Only the stack is tracked: a store elsewhere cannot change a register.
        let Some(Val::Stack(k)) = self.get(base) else {
            return;
        };
        let at = k.wrapping_add(disp);
        match value {
            // Slots are kept when addressed through the stack pointer itself (pushes, pops,
            // saves); locals through a frame pointer are forgotten, not followed.
            Some(v)
                if base == self.sp
                    && (self.slots.len() < MAX_SLOTS || self.slots.contains_key(&at)) =>
            {
                self.slots.insert(at, v);
            }
            _ => {
                self.slots.remove(&at);
            }
        }
    }

    /// A pointer-sized word of the loaded image, relocated; `None` for imports and unmapped
    /// addresses.
    fn read(&mut self, addr: u64) -> Option<Val> {
        self.reads = self.reads.saturating_add(1);
        match self.image.read_pointer(addr).ok()? {
            Pointer::Address(a) => Some(Val::Const(a)),
            Pointer::Null => Some(Val::Const(0)),
            Pointer::Import(_) => None,
        }
    }

    /// A `size`-byte read at `addr` of the image: a pointer-sized one relocated, a 32-bit one
    /// on a 64-bit target as a plain word; other sizes are not followed.
    fn read_sized(&mut self, addr: u64, size: u8, signed: bool) -> Option<Val> {
        if size == self.image.pointer_size() {
            return self.read(addr);
        }
        if size != 4 {
            return None;
        }
        self.reads = self.reads.saturating_add(1);
        let w = self.image.read_u32(addr).ok()?;
        Some(Val::Const(if signed {
            i64::from(w as i32) as u64
        } else {
            u64::from(w)
        }))
    }

    /// A `size`-byte read at `base + disp`; an empty `base` is the absolute address `disp`
    /// (a PC-relative load).
    fn load(&mut self, base: &str, disp: i64, size: u8, signed: bool) -> Option<Val> {
        if base.is_empty() {
            return self.read_sized(disp as u64, size, signed);
        }
        match self.get(base)? {
            Val::Stack(_) if base != self.sp => None,
            Val::Stack(k) => self.slots.get(&k.wrapping_add(disp)).copied(),
            Val::Const(c) => self.read_sized(c.wrapping_add_signed(disp), size, signed),
        }
    }

    /// Applies one instruction's effects; the registers it writes that no effect defines
    /// become unknown.
    fn apply(&mut self, insn: &Lifted) {
        let mut defined: Vec<&str> = Vec::new();
        for fx in &insn.fx {
            let (dst, v) = match fx {
                Fx::Copy { dst, src } => (dst, self.get(src)),
                Fx::AddImm { dst, src, imm } => (
                    dst,
                    match self.get(src) {
                        Some(Val::Const(c)) => Some(Val::Const(c.wrapping_add_signed(*imm))),
                        Some(Val::Stack(k)) => Some(Val::Stack(k.wrapping_add(*imm))),
                        None => None,
                    },
                ),
                Fx::AddRegs { dst, a, b, shift } => {
                    let b = self.constant(b).map(|b| b.wrapping_shl(u32::from(*shift)));
                    let v = match (self.get(a), b) {
                        (Some(Val::Const(a)), Some(b)) => Some(Val::Const(a.wrapping_add(b))),
                        (Some(Val::Stack(k)), Some(b)) if *shift == 0 => {
                            Some(Val::Stack(k.wrapping_add(b as i64)))
                        }
                        _ => None,
                    };
                    (dst, v)
                }
                Fx::AddExtended {
                    dst,
                    a,
                    b,
                    shift,
                    bits,
                    signed,
                } => {
                    // Constants only: the extension of a stack offset is not followed.
                    let b = self
                        .constant(b)
                        .map(|b| isa::extend(b, *bits, *signed).wrapping_shl(u32::from(*shift)));
                    let v = match (self.get(a), b) {
                        (Some(Val::Const(a)), Some(b)) => Some(Val::Const(a.wrapping_add(b))),
                        _ => None,
                    };
                    (dst, v)
                }
                Fx::SubRegs { dst, a, b } => {
                    let v = match (self.get(a), self.get(b)) {
                        (Some(Val::Const(a)), Some(Val::Const(b))) => {
                            Some(Val::Const(a.wrapping_sub(b)))
                        }
                        (Some(Val::Stack(k)), Some(Val::Const(b))) => {
                            Some(Val::Stack(k.wrapping_sub(b as i64)))
                        }
                        _ => None,
                    };
                    (dst, v)
                }
                Fx::Const { dst, value } => (dst, Some(Val::Const(*value))),
                Fx::InsertImm { dst, imm, shift } => {
                    let v = self.constant(dst).map(|c| {
                        let s = u32::from(*shift);
                        let mask = 0xffffu64.checked_shl(s).unwrap_or(0);
                        Val::Const((c & !mask) | imm.checked_shl(s).unwrap_or(0))
                    });
                    (dst, v)
                }
                Fx::Load {
                    dst,
                    base,
                    disp,
                    size,
                    signed,
                } => (dst, self.load(base, *disp, *size, *signed)),
                // A table read, a realigned stack, shifts and logic: not followed.
                Fx::LoadIndexed { dst, .. }
                | Fx::Align { dst, .. }
                | Fx::Arith(isa::Arith { dst, .. }) => (dst, None),
                Fx::Store {
                    src, base, disp, ..
                } => {
                    let v = self.get(src);
                    self.store(base, *disp, v);
                    continue;
                }
                Fx::StoreConst { value, base, disp } => {
                    self.store(base, *disp, Some(Val::Const(*value)));
                    continue;
                }
                // A narrow immediate: the slots hold whole words, so the slot is unknown.
                Fx::StoreUnknown { base, disp } | Fx::StoreImm { base, disp, .. } => {
                    self.store(base, *disp, None);
                    continue;
                }
                Fx::CopyMem {
                    from,
                    from_disp,
                    base,
                    disp,
                } => {
                    let size = self.image.pointer_size();
                    let v = self.load(from, *from_disp, size, false);
                    self.store(base, *disp, v);
                    continue;
                }
                Fx::Swap { a, b } => {
                    let (va, vb) = (self.get(a), self.get(b));
                    self.set(a, vb);
                    self.set(b, va);
                    defined.push(a);
                    defined.push(b);
                    continue;
                }
                Fx::CmpImm { .. } | Fx::CmpRegs { .. } | Fx::Flags(_) => continue,
            };
            self.set(dst, v);
            defined.push(dst);
        }
        for w in &insn.writes {
            if !defined.contains(&w.as_str()) {
                self.set(w, None);
            }
        }
    }
}

/// Follows the code from `start` to its return: the value returned, and whether it is
/// certain (see [`Located::certain`]).
fn run<'data, R: ReadRef<'data>>(
    lifter: &dyn Lifter,
    image: &Image<R>,
    start: u64,
    known: &[(String, u64)],
    convention: &Registers,
) -> Result<(u64, bool), String> {
    let mut st = State {
        image,
        sp: lifter.sp(),
        regs: HashMap::new(),
        slots: HashMap::new(),
        narrow: image.pointer_size() == 4,
        reads: 0,
    };
    st.set(lifter.sp(), Some(Val::Stack(0)));
    for (r, v) in known {
        st.set(r, Some(Val::Const(*v)));
    }
    // A conditional branch falls through, a call clobbers: either makes the path a guess.
    let mut guessed = false;
    let mut pc = start;
    for _ in 0..MAX_INIT_INSNS {
        for z in &convention.zero {
            st.set(z, Some(Val::Const(0)));
        }
        let code = image
            .read_code(lifter.code_address(pc), MAX_INSN_BYTES)
            .map_err(|e| format!("cannot read nif_init code: {e}"))?;
        let insn = lifter
            .lift(&code, pc)
            .ok_or_else(|| format!("no instruction this decoder knows at {pc:#x}"))?;
        st.apply(&insn);
        pc = match &insn.flow {
            Flow::Next => insn.next,
            Flow::Jump(t) => *t,
            Flow::Cond(..) | Flow::CondRet { .. } => {
                guessed = true;
                insn.next
            }
            Flow::Call(t) => {
                guessed = true;
                call(lifter, &mut st, convention, *t, insn.next);
                insn.next
            }
            Flow::IndirectCall => {
                guessed = true;
                clobber(&mut st, convention);
                insn.next
            }
            Flow::IndirectReg(r) => st
                .constant(r)
                .ok_or_else(|| "nif_init jumps through an unknown address".to_string())?,
            Flow::IndirectMem { .. } => {
                return Err("nif_init jumps through an unknown address".to_string())
            }
            Flow::Ret { .. } => {
                let reg = &convention.result;
                let value = st.constant(reg).ok_or_else(|| {
                    format!(
                        "nif_init returns at {:#x} with no constant in {reg}",
                        lifter.code_address(insn.address)
                    )
                })?;
                return Ok((value, !guessed && st.reads == 0));
            }
            Flow::Stop => {
                return Err(format!(
                    "nif_init stops at {:#x} ({}) before it returns",
                    lifter.code_address(insn.address),
                    insn.mnemonic
                ))
            }
        };
    }
    Err(format!(
        "nif_init did not return within {MAX_INIT_INSNS} instructions"
    ))
}

/// A direct call: i386 PIC reads its own address with `call __x86.get_pc_thunk.REG` (REG is
/// then the return address) or `call 1f; 1: pop REG` (the pushed return address is popped);
/// any other call changes the caller-saved registers.
fn call<'data, R: ReadRef<'data>>(
    lifter: &dyn Lifter,
    st: &mut State<'_, R>,
    convention: &Registers,
    target: u64,
    next: u64,
) {
    let pushed = lifter.return_address_size();
    if target == next && pushed > 0 {
        let sp = lifter.sp();
        let top = match st.get(sp) {
            Some(Val::Stack(k)) => Some(Val::Stack(k.wrapping_sub(pushed))),
            _ => None,
        };
        st.set(sp, top);
        st.store(sp, 0, Some(Val::Const(next)));
        return;
    }
    let thunk = st
        .image
        .read_code(lifter.code_address(target), 16)
        .ok()
        .and_then(|code| lifter.pc_thunk(&code));
    match thunk {
        Some(reg) => st.set(reg, Some(Val::Const(next))),
        None => clobber(st, convention),
    }
}

fn clobber<'data, R: ReadRef<'data>>(st: &mut State<'_, R>, convention: &Registers) {
    for r in &convention.clobbered {
        st.set(r, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Fixup, Segment};

    /// Follows `code` of `arch` mapped at 0x1000 from `init`, with `fixups`.
    fn follow_on(
        arch: Arch,
        code: &[u8],
        init: u64,
        fixups: Vec<(u64, Fixup)>,
        pointer_size: u8,
        big_endian: bool,
    ) -> Located {
        let segments = vec![Segment {
            vaddr: 0x1000,
            mem_size: 0x100,
            file_offset: 0,
            file_size: code.len() as u64,
            executable: true,
        }];
        let image = Image::new(code, segments, fixups, pointer_size, big_endian);
        locate_entry(&image, arch, init).expect("returns a constant")
    }

    /// Follows x86-64 `code` mapped at 0x1000.
    fn follow(code: &[u8]) -> Located {
        follow_on(Arch::X86_64, code, 0x1000, Vec::new(), 8, false)
    }

    fn words(words: &[u32], big_endian: bool) -> Vec<u8> {
        words
            .iter()
            .flat_map(|w| {
                if big_endian {
                    w.to_be_bytes()
                } else {
                    w.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn a_local_through_the_frame_pointer_is_not_followed() {
        // push rbp; mov rbp, rsp; mov qword [rbp - 8], 0; mov rax, [rbp - 8]; pop rbp; ret
        let code = [
            0x55, 0x48, 0x89, 0xe5, 0x48, 0xc7, 0x45, 0xf8, 0, 0, 0, 0, 0x48, 0x8b, 0x45, 0xf8,
            0x5d, 0xc3,
        ];
        let segments = vec![Segment {
            vaddr: 0x1000,
            mem_size: 0x100,
            file_offset: 0,
            file_size: code.len() as u64,
            executable: true,
        }];
        let image = Image::new(&code[..], segments, Vec::new(), 8, false);
        let err = locate_entry(&image, Arch::X86_64, 0x1000).expect_err("no constant");
        assert!(err.contains("no constant in rax"), "{err}");
    }

    #[test]
    fn a_got_load_reads_the_relocated_pointer() {
        // mov rax, [rip + 1]; ret; the slot the loader fills with the entry's address.
        let mut code = vec![0x48, 0x8b, 0x05, 0x01, 0, 0, 0, 0xc3];
        code.extend([0; 8]);
        let fixups = vec![(0x1008, Fixup::Relative(0x4000))];
        let located = follow_on(Arch::X86_64, &code, 0x1000, fixups, 8, false);
        assert_eq!((located.address, located.certain), (0x4000, false));
    }

    #[test]
    fn i386_pic_through_the_pc_thunk() {
        // call thunk; add ebx, 0x1000; lea eax, [ebx + 0x10]; ret; ...; thunk at 0x1020:
        // mov ebx, [esp]; ret.
        let mut code = vec![0xe8, 0x1b, 0, 0, 0, 0x81, 0xc3, 0, 0x10, 0, 0];
        code.extend([0x8d, 0x83, 0x10, 0, 0, 0, 0xc3]);
        code.resize(0x20, 0x90);
        code.extend([0x8b, 0x1c, 0x24, 0xc3]);
        let located = follow_on(Arch::X86, &code, 0x1000, Vec::new(), 4, false);
        assert_eq!(located.address, 0x1005 + 0x1000 + 0x10);
        assert_eq!(located.method, "static:x86");
    }

    #[test]
    fn i386_pic_through_call_and_pop() {
        // call 1f; 1: pop ebx; lea eax, [ebx + 0x10]; ret
        let code = [0xe8, 0, 0, 0, 0, 0x5b, 0x8d, 0x83, 0x10, 0, 0, 0, 0xc3];
        let located = follow_on(Arch::X86, &code, 0x1000, Vec::new(), 4, false);
        assert_eq!(located.address, 0x1015);
    }

    #[test]
    fn thumb_1_anchor_plus_offset() {
        // ldr r0, [pc, #4]; add r0, pc; adds r0, #44; bx lr; .word 0x100
        let code = [
            0x01, 0x48, 0x78, 0x44, 0x2c, 0x30, 0x70, 0x47, 0x00, 0x01, 0x00, 0x00,
        ];
        let located = follow_on(Arch::Arm, &code, 0x1001, Vec::new(), 4, false);
        // pc reads as the add's address + 4, not word-aligned.
        assert_eq!(located.address, 0x100 + 0x1006 + 44);
        assert_eq!(located.method, "static:arm-thumb");
    }

    #[test]
    fn a32_literal_plus_pc() {
        // ldr r0, [pc, #4]; add r0, pc, r0; bx lr; .word 0x100 (at 0x100c)
        let code = words(&[0xe59f_0004, 0xe08f_0000, 0xe12f_ff1e, 0x100], false);
        let located = follow_on(Arch::Arm, &code, 0x1000, Vec::new(), 4, false);
        assert_eq!(located.address, 0x100 + 0x1004 + 8);
    }

    #[test]
    fn power10_pla_and_pld() {
        // pla r3, +0x100; blr (ELFv2, little-endian)
        let code = words(&[0x0610_0000, 0x3860_0100, 0x4e80_0020], false);
        let located = follow_on(Arch::Powerpc64, &code, 0x1000, Vec::new(), 8, false);
        assert_eq!(located.address, 0x1100);
        // pld r3, +0x10 (a GOT slot at 0x1010); blr
        let mut code = words(&[0x0410_0000, 0xe460_0010, 0x4e80_0020, 0], false);
        code.extend([0; 8]);
        let fixups = vec![(0x1010, Fixup::Relative(0x4000))];
        let located = follow_on(Arch::Powerpc64, &code, 0x1000, fixups, 8, false);
        assert_eq!((located.address, located.certain), (0x4000, false));
    }

    #[test]
    fn s390x_larl_and_lgrl() {
        // larl %r2, .+0x20; br %r14
        let code = [0xc0, 0x20, 0, 0, 0, 0x10, 0x07, 0xfe];
        let located = follow_on(Arch::S390x, &code, 0x1000, Vec::new(), 8, true);
        assert_eq!((located.address, located.certain), (0x1020, true));
        // lgrl %r2, .+0x10; br %r14; the GOT slot at 0x1010
        let mut code = vec![0xc4, 0x28, 0, 0, 0, 0x08, 0x07, 0xfe];
        code.resize(0x18, 0);
        let fixups = vec![(0x1010, Fixup::Relative(0x4000))];
        let located = follow_on(Arch::S390x, &code, 0x1000, fixups, 8, true);
        assert_eq!((located.address, located.certain), (0x4000, false));
    }

    #[test]
    fn loongarch_pcalau12i_and_addi() {
        // pcalau12i $a0, 1; addi.d $a0, $a0, 0x10; jirl $zero, $ra, 0
        let code = words(&[0x1a00_0024, 0x02c0_4084, 0x4c00_0020], false);
        let located = follow_on(Arch::Loongarch64, &code, 0x1000, Vec::new(), 8, false);
        assert_eq!((located.address, located.certain), (0x2010, true));
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
