//! Evaluating instructions lifted by the instruction layer (`crate::isa`): the effects
//! (`Fx`) move values between registers and memory, and the flow (`isa::Flow`) becomes the
//! evaluator's. What a lifter does not model of an instruction, a register it writes with no
//! effect that defines it, becomes unknown.

use super::eval::{Flow, Insn, Load, State};
use crate::isa::{self, Arith, ArithOp, CallTarget, Fx, Lifter, Operand};

/// What evaluating lifted code needs beyond the lifter.
pub(super) struct Abi {
    /// The register that always reads as zero (AArch64's `xzr`), whose writes are dropped.
    pub(super) zero: Option<&'static str>,
    /// The bytes of a stack slot and a pointer: the width of the lifters' `StoreConst`,
    /// `StoreUnknown` and `CopyMem` (x86's `push`, `mov [m], imm`).
    pub(super) word: usize,
    /// 32-bit code: computed values and addresses wrap at 32 bits.
    pub(super) narrow: bool,
}

impl Abi {
    fn fit(&self, v: u64) -> u64 {
        if self.narrow {
            v & 0xffff_ffff
        } else {
            v
        }
    }
}

/// Lifts up to `count` instructions of `code`, which starts at `address`.
pub(super) fn decode(
    lifter: &dyn Lifter,
    code: &[u8],
    address: u64,
    count: usize,
) -> Result<Vec<Insn>, String> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while out.len() < count {
        let Some(rest) = code.get(offset..).filter(|r| !r.is_empty()) else {
            break;
        };
        let at = address.wrapping_add(offset as u64);
        let Some(lifted) = lifter.lift(rest, at) else {
            break;
        };
        let len = lifted.next.wrapping_sub(at);
        if len == 0 || len > rest.len() as u64 {
            break;
        }
        offset += len as usize;
        out.push(lifted);
    }
    if out.is_empty() {
        return Err(format!("cannot disassemble at {address:#x}"));
    }
    Ok(out)
}

/// Applies one lifted instruction to the state.
pub(super) fn step(
    abi: &Abi,
    sp: &str,
    ins: &Insn,
    state: &mut State,
    image: &dyn Load,
) -> Result<Flow, String> {
    let l = ins;
    let read = |state: &State, r: &str| -> Option<u128> {
        if abi.zero == Some(r) {
            Some(0)
        } else {
            state.get(r)
        }
    };
    // An empty base is an absolute address (x86 RIP-relative operands).
    let addr = |state: &State, base: &str, disp: i64| -> Option<u64> {
        let base = if base.is_empty() {
            0
        } else {
            read(state, base)? as u64
        };
        Some(abi.fit(base.wrapping_add(disp as u64)))
    };
    let mut defined: Vec<&str> = Vec::new();
    let set = |state: &mut State, dst: &'_ str, v: Option<u128>| {
        if abi.zero != Some(dst) {
            state.set(dst, v);
        }
    };
    if let Some(a) = l.names_address {
        state.note(a);
    }
    for fx in l.fx.iter().chain(&l.eval_fx) {
        match fx {
            Fx::Copy { dst, src } => {
                let v = read(state, src);
                set(state, dst, v);
                defined.push(dst);
            }
            Fx::AddImm { dst, src, imm } => {
                let v = read(state, src).map(|v| abi.fit((v as u64).wrapping_add(*imm as u64)));
                if let Some(v) = v {
                    state.note(v);
                }
                set(state, dst, v.map(u128::from));
                defined.push(dst);
            }
            Fx::AddRegs { dst, a, b, shift } => {
                let v = read(state, a).zip(read(state, b)).map(|(a, b)| {
                    let b = (b as u64).checked_shl(u32::from(*shift)).unwrap_or(0);
                    abi.fit((a as u64).wrapping_add(b))
                });
                if let Some(v) = v {
                    state.note(v);
                }
                set(state, dst, v.map(u128::from));
                defined.push(dst);
            }
            Fx::AddExtended {
                dst,
                a,
                b,
                shift,
                bits,
                signed,
            } => {
                let v = read(state, a).zip(read(state, b)).map(|(a, b)| {
                    let b = crate::isa::extend(b as u64, *bits, *signed);
                    abi.fit((a as u64).wrapping_add(b.checked_shl(u32::from(*shift)).unwrap_or(0)))
                });
                set(state, dst, v.map(u128::from));
                defined.push(dst);
            }
            Fx::Swap { a, b } => {
                let (va, vb) = (read(state, a), read(state, b));
                set(state, a, vb);
                set(state, b, va);
                defined.push(a);
                defined.push(b);
            }
            Fx::SubRegs { dst, a, b } => {
                let v = read(state, a)
                    .zip(read(state, b))
                    .map(|(a, b)| u128::from(abi.fit((a as u64).wrapping_sub(b as u64))));
                set(state, dst, v);
                defined.push(dst);
            }
            Fx::Const { dst, value } => {
                let value = abi.fit(*value);
                state.note(value);
                set(state, dst, Some(u128::from(value)));
                defined.push(dst);
            }
            Fx::InsertImm { dst, imm, shift } => {
                let field = 0xffffu64.checked_shl(u32::from(*shift)).unwrap_or(0);
                let v = read(state, dst).map(|old| {
                    let old = old as u64;
                    u128::from((old & !field) | (imm.checked_shl(u32::from(*shift)).unwrap_or(0)))
                });
                set(state, dst, v);
                defined.push(dst);
            }
            Fx::Align { dst, src, align } => {
                let v = read(state, src).map(|v| u128::from(v as u64 & !align.wrapping_sub(1)));
                set(state, dst, v);
                defined.push(dst);
            }
            Fx::Store {
                src,
                base,
                disp,
                size,
            } => {
                if let Some(a) = addr(state, base, *disp) {
                    state.note(a);
                    match (read(state, src), state.vectors.get(src.as_str()).cloned()) {
                        // A struct copied through a vector register keeps what was known
                        // of it byte by byte.
                        (None, Some(bytes)) if *size == 16 => {
                            for (i, b) in bytes.into_iter().enumerate() {
                                state.store(a.wrapping_add(i as u64), 1, b.map(u128::from));
                            }
                        }
                        (v, _) => state.store(a, usize::from(*size), v),
                    }
                }
            }
            Fx::StoreConst { value, base, disp } => {
                if let Some(a) = addr(state, base, *disp) {
                    state.note(a);
                    state.store(a, abi.word, Some(u128::from(*value)));
                }
            }
            Fx::StoreImm {
                value,
                base,
                disp,
                size,
            } => {
                if let Some(a) = addr(state, base, *disp) {
                    state.note(a);
                    state.store(a, usize::from(*size), Some(u128::from(*value)));
                }
            }
            Fx::StoreUnknown { base, disp } => {
                if let Some(a) = addr(state, base, *disp) {
                    state.note(a);
                    state.store(a, abi.word, None);
                }
            }
            Fx::CopyMem {
                from,
                from_disp,
                base,
                disp,
            } => {
                let v = addr(state, from, *from_disp).and_then(|a| image.load(state, a, abi.word));
                if let Some(a) = addr(state, base, *disp) {
                    state.note(a);
                    state.store(a, abi.word, v);
                }
            }
            Fx::Load {
                dst,
                base,
                disp,
                size,
                signed,
            } => {
                let at = addr(state, base, *disp);
                if let Some(a) = at {
                    state.note(a);
                }
                let size = usize::from(*size);
                let v = at.and_then(|a| image.load(state, a, size)).map(|v| {
                    if *signed {
                        sign_extend(v, size)
                    } else {
                        v
                    }
                });
                set(state, dst, v);
                defined.push(dst);
                // 16 bytes only partly known (a struct with unwritten padding): kept byte by
                // byte for the store that copies them on.
                if let (None, Some(a), 16) = (v, at, size) {
                    let bytes = (0..16)
                        .map(|i| image.byte(state, a.wrapping_add(i)))
                        .collect();
                    state.vectors.insert(dst.clone(), bytes);
                }
            }
            // A table read through an index the evaluator does not follow.
            Fx::LoadIndexed { dst, .. } => {
                set(state, dst, None);
                defined.push(dst);
            }
            // A 16-byte register: its value, or what is known of its bytes.
            Fx::Arith(Arith {
                dst,
                op: ArithOp::SwapHalves,
                a,
                ..
            }) => {
                let v = read(state, a).map(|v| v.rotate_left(64));
                let bytes = state.vectors.get(a.as_str()).cloned();
                set(state, dst, v);
                if let (None, Some(mut bytes)) = (v, bytes) {
                    bytes.rotate_left(8);
                    state.vectors.insert(dst.clone(), bytes);
                }
                defined.push(dst);
            }
            Fx::Arith(Arith {
                dst,
                op,
                a,
                b,
                word,
            }) => {
                let b = match b {
                    Operand::Reg(r) => read(state, r).map(|v| v as u64),
                    Operand::Imm(i) => Some(*i as u64),
                };
                let v = read(state, a)
                    .map(|v| v as u64)
                    .zip(b)
                    .map(|(a, b)| arith(*op, a, b, *word))
                    .map(|v| u128::from(abi.fit(v)));
                set(state, dst, v);
                defined.push(dst);
            }
            Fx::CmpImm { .. } | Fx::CmpRegs { .. } | Fx::Flags(_) => {}
        }
    }
    for w in &l.writes {
        if !defined.contains(&w.as_str()) {
            set(state, w, None);
        }
    }
    Ok(match &l.flow {
        isa::Flow::Next => Flow::Next,
        isa::Flow::Jump(t) => Flow::Jump(*t),
        isa::Flow::Cond(t, _) => Flow::Branch(*t),
        isa::Flow::Call(t) => Flow::Call(Some(*t)),
        isa::Flow::IndirectCall => Flow::Call(match &l.call_target {
            Some(CallTarget::Reg(r)) => read(state, r).map(|t| t as u64),
            Some(CallTarget::Mem { base, disp }) => addr(state, base, *disp)
                .and_then(|a| image.load(state, a, abi.word))
                .map(|t| t as u64),
            None => None,
        }),
        isa::Flow::IndirectReg(r) => match read(state, r) {
            Some(t) => Flow::Jump(t as u64),
            None => Flow::DeadEnd(format!("an indirect branch at {:#x}", l.address)),
        },
        isa::Flow::IndirectMem {
            base,
            index: false,
            disp,
            ..
        } => {
            let at = match base {
                Some(b) => addr(state, b, *disp),
                None => Some(*disp as u64),
            };
            match at.and_then(|a| image.load(state, a, abi.word)) {
                Some(t) => Flow::Jump(t as u64),
                None => Flow::DeadEnd(format!("an indirect jump at {:#x}", l.address)),
            }
        }
        isa::Flow::IndirectMem { .. } => {
            Flow::DeadEnd(format!("a jump through a table at {:#x}", l.address))
        }
        isa::Flow::CondRet { .. } => Flow::Next,
        isa::Flow::Ret { pop, .. } => {
            if *pop != 0 {
                let moved = read(state, sp).map(|s| u128::from((s as u64).wrapping_add(*pop)));
                set(state, sp, moved);
            }
            Flow::Return
        }
        isa::Flow::Stop => Flow::Trap(format!("a trap ({}) at {:#x}", l.mnemonic, l.address)),
    })
}

/// `a op b` on 64 bits; with `word`, on 32 and sign-extended (RV64's `addw`, `slliw`).
fn arith(op: ArithOp, a: u64, b: u64, word: bool) -> u64 {
    let bits = if word { 32 } else { 64 };
    let s = (b & (bits - 1)) as u32;
    let v = match op {
        ArithOp::Add => a.wrapping_add(b),
        ArithOp::Sub => a.wrapping_sub(b),
        ArithOp::And => a & b,
        ArithOp::Or => a | b,
        ArithOp::Xor => a ^ b,
        ArithOp::Shl => a << s,
        ArithOp::Shr if word => u64::from((a as u32) >> s),
        ArithOp::Shr => a >> s,
        ArithOp::Sar if word => ((a as i32) >> s) as u64,
        ArithOp::Sar => ((a as i64) >> s) as u64,
        ArithOp::Rotl if word => u64::from((a as u32).rotate_left(s)),
        ArithOp::Rotl => a.rotate_left(s),
        // On a 16-byte value, which `step` evaluates; a 64-bit value has no halves to swap.
        ArithOp::SwapHalves => a,
    };
    if word {
        v as i32 as i64 as u64
    } else {
        v
    }
}

/// `v`'s low `size` bytes, sign-extended to 64 bits.
fn sign_extend(v: u128, size: usize) -> u128 {
    match size {
        1..=7 => {
            let shift = 64 - 8 * size as u32;
            u128::from((((v as u64) << shift) as i64 >> shift) as u64)
        }
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::STACK_TOP;
    use super::super::Field;
    use super::*;

    /// Loads from what the code stored only: these tests have no image.
    struct Stored;

    impl Load for Stored {
        fn load(&self, state: &State, addr: u64, size: usize) -> Option<u128> {
            (0..size).try_fold(0u128, |v, i| {
                let b = (*state.stored.get(&(addr + i as u64))?)?;
                Some(v | u128::from(b) << state.shift(i, size))
            })
        }

        fn byte(&self, state: &State, addr: u64) -> Option<u8> {
            *state.stored.get(&addr)?
        }
    }

    /// Evaluates `code` at `address` straight through.
    fn run(lifter: &dyn Lifter, abi: &Abi, sp: &str, code: &[u8], address: u64) -> State {
        run_in(lifter, abi, sp, code, address, false)
    }

    /// [`run`] in either byte order.
    fn run_in(
        lifter: &dyn Lifter,
        abi: &Abi,
        sp: &str,
        code: &[u8],
        address: u64,
        big_endian: bool,
    ) -> State {
        let mut state = State::new(sp, STACK_TOP, big_endian);
        for ins in decode(lifter, code, address, 64).unwrap() {
            let flow = step(abi, sp, &ins, &mut state, &Stored).unwrap();
            assert!(matches!(flow, Flow::Next));
        }
        state
    }

    #[test]
    fn x86_64_stores_to_a_static_at_their_widths() {
        let lifter = crate::isa::x86::X86::new(true).unwrap();
        let abi = Abi {
            zero: None,
            word: 8,
            narrow: false,
        };
        let code = [
            0x48, 0xb8, 0x02, 0, 0, 0, 0x0f, 0, 0, 0, // movabs rax, 0xf00000002
            0x48, 0x89, 0x05, 0xf0, 0x0f, 0, 0, // mov [rip + 0xff0], rax (0x2001)
            0xc7, 0x05, 0xf0, 0x0f, 0, 0, 5, 0, 0, 0, // mov dword [rip + 0xff0], 5 (0x200b)
            0x48, 0x8b, 0x0d, 0xdf, 0x0f, 0, 0, // mov rcx, [rip + 0xfdf] (0x2001)
        ];
        let state = run(&lifter, &abi, "rsp", &code, 0x1000);
        assert_eq!(state.field(0x2001, 4), Field::Known(2));
        assert_eq!(state.field(0x2005, 4), Field::Known(15));
        assert_eq!(state.field(0x200b, 4), Field::Known(5));
        assert_eq!(state.field(0x200f, 4), Field::Unwritten);
        assert_eq!(state.get("rcx"), Some(0xf_0000_0002));
    }

    #[test]
    fn riscv_builds_a_constant_by_shifts() {
        let lifter = crate::isa::riscv::Riscv::new(true).unwrap();
        let abi = Abi {
            zero: Some("zero"),
            word: 8,
            narrow: false,
        };
        // c.li a0, 15; c.slli a0, 32; c.addi a0, 2; auipc a2, 0xfffff (a page back)
        let code = [0x3d, 0x45, 0x02, 0x15, 0x09, 0x05, 0x17, 0xf6, 0xff, 0xff];
        let state = run(&lifter, &abi, "sp", &code, 0x124a2);
        assert_eq!(state.get("a0"), Some(0xf_0000_0002));
        assert_eq!(state.get("a2"), Some(0x124a8 - 0x1000));
    }

    const WIDE: Abi = Abi {
        zero: None,
        word: 8,
        narrow: false,
    };

    #[test]
    fn ppc64_builds_the_version_word_and_copies_through_vsx() {
        let image = crate::memory::Image::new(&[][..], Vec::new(), Vec::new(), 8, false);
        let lifter = crate::isa::ppc64::Ppc64::new(&image, false, None).unwrap();
        let words: [u32; 8] = [
            0x3cc0_8000, // lis r6,-32768
            0x60c6_0001, // ori r6,r6,1
            0x78c4_0f08, // rldic r4,r6,1,28: major 2, minor 15
            0x3860_0100, // li r3,0x100
            0x38a0_0010, // li r5,16
            0xf000_04d0, // xxlxor vs0,vs0,vs0
            0x7c03_2f98, // stxvd2x vs0,r3,r5: 16 zero bytes at 0x110
            0xf883_0000, // std r4,0(r3)
        ];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let state = run(&lifter, &WIDE, "r1", &code, 0x1000);
        assert_eq!(state.get("r4"), Some(0xf_0000_0002));
        assert_eq!(state.field(0x100, 4), Field::Known(2));
        assert_eq!(state.field(0x104, 4), Field::Known(15));
        assert_eq!(state.field(0x110, 16), Field::Known(0));
        assert_eq!(state.field(0x108, 8), Field::Unwritten);
    }

    #[test]
    fn s390x_immediates_block_moves_and_clears() {
        let lifter = crate::isa::s390x::S390x::new().unwrap();
        let code = [
            0xa7, 0x19, 0x02, 0x00, // lghi %r1,512
            0xc0, 0x2e, 0, 0, 0, 0x0f, // llihf %r2,15
            0xc0, 0x2d, 0, 0, 0, 0x02, // oilf %r2,2
            0xe3, 0x20, 0x10, 0x00, 0x00, 0x24, // stg %r2,0(%r1)
            0xe5, 0x48, 0x10, 0x08, 0xff, 0xfe, // mvghi 8(%r1),-2
            0xd2, 0x07, 0x10, 0x10, 0x10, 0x00, // mvc 16(8,%r1),0(%r1)
            0xd2, 0x03, 0x10, 0x28, 0x10, 0x04, // mvc 40(4,%r1),4(%r1)
            0xd7, 0x03, 0x10, 0x18, 0x10, 0x18, // xc 24(4,%r1),24(%r1)
            0x42, 0x20, 0x10, 0x1f, // stc %r2,31(%r1)
        ];
        let state = run_in(&lifter, &WIDE, "r15", &code, 0x1000, true);
        assert_eq!(state.field(0x200, 8), Field::Known(0xf_0000_0002));
        assert_eq!(
            state.field(0x208, 8),
            Field::Known(u128::from(-2i64 as u64))
        );
        assert_eq!(state.field(0x210, 8), Field::Known(0xf_0000_0002));
        assert_eq!(state.field(0x218, 4), Field::Known(0));
        assert_eq!(state.field(0x21f, 1), Field::Known(2));
        assert_eq!(state.field(0x228, 4), Field::Known(2));
    }

    #[test]
    fn word_arithmetic_sign_extends() {
        assert_eq!(
            arith(ArithOp::Add, 0x7fff_ffff, 1, true),
            0xffff_ffff_8000_0000
        );
        assert_eq!(arith(ArithOp::Shl, 1, 65, false), 2);
        assert_eq!(
            arith(ArithOp::Sar, 0x8000_0000, 4, true),
            0xffff_ffff_f800_0000
        );
        assert_eq!(arith(ArithOp::Shr, 0x8000_0000, 4, true), 0x0800_0000);
        assert_eq!(arith(ArithOp::Rotl, 0x8000_0000_0000_0001, 1, false), 3);
        assert_eq!(arith(ArithOp::Rotl, 0x8000_0001, 1, true), 3);
    }

    #[test]
    fn sign_extension_of_narrow_loads() {
        assert_eq!(sign_extend(0xff, 1), 0xffff_ffff_ffff_ffff);
        assert_eq!(sign_extend(0x7f, 1), 0x7f);
        assert_eq!(sign_extend(0x8000_0000, 4), 0xffff_ffff_8000_0000);
        assert_eq!(sign_extend(0x1234, 8), 0x1234);
    }
}
