//! The engine's own form of a decoded instruction: the lifters' [`Lifted`] (register names as
//! strings) turned once per address into small register ids from a per-library interner, and
//! kept in one bounded store that every entry point and the instruction-set sweep share.
//!
//! The lifters stay string-based; only this boundary knows both forms. A name comes back from
//! the interner when a finding is written, so reports do not depend on the ids.

use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::isa::{Bound, FlagFx, Flow, Fx, Lifted};

/// A register, by its id in the library's [`Names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Reg(u16);

impl Reg {
    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }

    pub(crate) fn from_index(k: usize) -> Reg {
        Reg(u16::try_from(k).unwrap_or(u16::MAX))
    }
}

/// Register names by id. Names come from the lifters' finite register tables; should a
/// library ever produce more than `u16::MAX` distinct names, the rest share the last id
/// (which merges their values: less precise, never a panic).
#[derive(Debug, Default)]
pub(crate) struct Names {
    ids: FxHashMap<String, Reg>,
    names: Vec<String>,
}

impl Names {
    pub(crate) fn intern(&mut self, name: &str) -> Reg {
        if let Some(r) = self.ids.get(name) {
            return *r;
        }
        let Ok(id) = u16::try_from(self.names.len()) else {
            return Reg(u16::MAX);
        };
        let r = Reg(id);
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), r);
        r
    }

    pub(crate) fn name(&self, r: Reg) -> &str {
        self.names.get(r.index()).map_or("", String::as_str)
    }
}

/// An imported symbol's name, by its id in the library's [`Symbols`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Sym(u32);

/// Names of the imports that abstract values refer to (GOT slots), interned so values stay
/// `Copy`. Bounded by the image's fixups.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    ids: FxHashMap<String, Sym>,
    names: Vec<String>,
}

impl Symbols {
    pub(crate) fn intern(&mut self, name: &str) -> Sym {
        if let Some(s) = self.ids.get(name) {
            return *s;
        }
        let s = Sym(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), s);
        s
    }

    pub(crate) fn name(&self, s: Sym) -> &str {
        usize::try_from(s.0)
            .ok()
            .and_then(|i| self.names.get(i))
            .map_or("", String::as_str)
    }
}

/// [`Fx`] on register ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Copy {
        dst: Reg,
        src: Reg,
    },
    AddImm {
        dst: Reg,
        src: Reg,
        imm: i64,
    },
    AddRegs {
        dst: Reg,
        a: Reg,
        b: Reg,
        shift: u8,
    },
    AddExtended {
        dst: Reg,
        a: Reg,
        b: Reg,
        shift: u8,
        bits: u8,
        signed: bool,
    },
    Const {
        dst: Reg,
        value: u64,
    },
    Store {
        src: Reg,
        base: Reg,
        disp: i64,
    },
    StoreConst {
        value: u64,
        base: Reg,
        disp: i64,
    },
    StoreUnknown {
        base: Reg,
        disp: i64,
    },
    CopyMem {
        from: Reg,
        from_disp: i64,
        base: Reg,
        disp: i64,
    },
    Load {
        dst: Reg,
        base: Reg,
        disp: i64,
    },
    /// `base: None` is an absolute table address (the lifters' empty base name).
    LoadIndexed {
        dst: Reg,
        base: Option<Reg>,
        disp: i64,
        size: u8,
        signed: bool,
    },
    Align {
        dst: Reg,
        src: Reg,
        align: u64,
    },
    SubRegs {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    InsertImm {
        dst: Reg,
        imm: u64,
        shift: u8,
    },
    Swap {
        a: Reg,
        b: Reg,
    },
    CmpImm {
        imm: i64,
    },
    CmpRegs {
        a: Reg,
        b: Reg,
    },
    /// [`FlagFx::Clobber`]: these flags take values not followed.
    ForgetFlags(u8),
    /// [`FlagFx::Compare`].
    CompareFlags {
        a: Reg,
        imm: i64,
        add: bool,
    },
    /// [`FlagFx::TakenIf`]: the condition that holds on the taken side of the flow.
    TakenIf(u8),
}

impl Effect {
    /// The registers this effect defines (none, one, or two for a swap).
    fn defines(&self) -> [Option<Reg>; 2] {
        let one = match *self {
            Effect::Swap { a, b } => return [Some(a), Some(b)],
            Effect::Copy { dst, .. }
            | Effect::AddImm { dst, .. }
            | Effect::AddRegs { dst, .. }
            | Effect::AddExtended { dst, .. }
            | Effect::Const { dst, .. }
            | Effect::Load { dst, .. }
            | Effect::LoadIndexed { dst, .. }
            | Effect::Align { dst, .. }
            | Effect::SubRegs { dst, .. }
            | Effect::InsertImm { dst, .. } => Some(dst),
            _ => None,
        };
        [one, None]
    }
}

/// [`Flow`] on register ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Go {
    Next,
    Jump(u64),
    Cond(u64, Bound),
    Call(u64),
    IndirectCall,
    IndirectReg(Reg),
    IndirectMem {
        base: Option<Reg>,
        index: bool,
        scale: u8,
        disp: i64,
    },
    CondRet {
        via: Option<Reg>,
    },
    Ret {
        pop: u64,
        via: Option<Reg>,
    },
    Stop,
}

/// One decoded instruction in the engine's form. Register lists share one allocation:
/// `regs[..reads]` are read, `regs[reads..writes]` written, and `regs[writes..]` are the
/// registers that the instruction writes and no effect defines (they become unknown).
/// `touched` (written or defined, once each) follows in the same slice.
#[derive(Debug)]
pub(crate) struct Insn {
    pub address: u64,
    pub next: u64,
    regs: Box<[Reg]>,
    reads: u16,
    writes: u16,
    undefined: u16,
    pub fx: Box<[Effect]>,
    pub flow: Go,
    pub reads_are_not_uses: bool,
    pub probes_cpu: bool,
    pub protocol_write: bool,
    pub feature: Option<&'static str>,
    pub names_address: Option<u64>,
    pub call_via: Option<Reg>,
    /// Kept only for a CPU probe or an instruction that needs a CPU feature, whose
    /// mnemonics the sweep reports.
    pub probe_mnemonic: Option<Box<str>>,
}

impl Insn {
    pub(crate) fn reads(&self) -> &[Reg] {
        &self.regs[..usize::from(self.reads)]
    }

    pub(crate) fn writes(&self) -> &[Reg] {
        &self.regs[usize::from(self.reads)..usize::from(self.writes)]
    }

    /// Written registers that no effect defines.
    pub(crate) fn undefined(&self) -> &[Reg] {
        &self.regs[usize::from(self.writes)..usize::from(self.undefined)]
    }

    /// Registers written or defined, each once.
    pub(crate) fn touched(&self) -> &[Reg] {
        &self.regs[usize::from(self.undefined)..]
    }

    /// The condition that holds on the taken side of a conditional flow, if the lifter says.
    pub(crate) fn taken_if(&self) -> Option<u8> {
        self.fx.iter().find_map(|f| match f {
            Effect::TakenIf(c) => Some(*c),
            _ => None,
        })
    }

    /// Turns a lifted instruction into the engine's form.
    pub(crate) fn from_lifted(l: Lifted, names: &mut Names) -> Insn {
        let mut n = |s: &str| names.intern(s);
        let fx: Box<[Effect]> =
            l.fx.iter()
                .filter(|f| !absolute(f))
                .filter_map(|f| {
                    Some(match f {
                        Fx::Copy { dst, src } => Effect::Copy {
                            dst: n(dst),
                            src: n(src),
                        },
                        Fx::AddImm { dst, src, imm } => Effect::AddImm {
                            dst: n(dst),
                            src: n(src),
                            imm: *imm,
                        },
                        Fx::AddRegs { dst, a, b, shift } => Effect::AddRegs {
                            dst: n(dst),
                            a: n(a),
                            b: n(b),
                            shift: *shift,
                        },
                        Fx::AddExtended {
                            dst,
                            a,
                            b,
                            shift,
                            bits,
                            signed,
                        } => Effect::AddExtended {
                            dst: n(dst),
                            a: n(a),
                            b: n(b),
                            shift: *shift,
                            bits: *bits,
                            signed: *signed,
                        },
                        Fx::Const { dst, value } => Effect::Const {
                            dst: n(dst),
                            value: *value,
                        },
                        // The analysis tracks whole slots: widths do not change its verdicts.
                        Fx::Store {
                            src, base, disp, ..
                        } => Effect::Store {
                            src: n(src),
                            base: n(base),
                            disp: *disp,
                        },
                        Fx::StoreConst { value, base, disp } => Effect::StoreConst {
                            value: *value,
                            base: n(base),
                            disp: *disp,
                        },
                        Fx::StoreUnknown { base, disp } | Fx::StoreImm { base, disp, .. } => {
                            Effect::StoreUnknown {
                                base: n(base),
                                disp: *disp,
                            }
                        }
                        Fx::CopyMem {
                            from,
                            from_disp,
                            base,
                            disp,
                        } => Effect::CopyMem {
                            from: n(from),
                            from_disp: *from_disp,
                            base: n(base),
                            disp: *disp,
                        },
                        Fx::Load {
                            dst, base, disp, ..
                        } => Effect::Load {
                            dst: n(dst),
                            base: n(base),
                            disp: *disp,
                        },
                        Fx::LoadIndexed {
                            dst,
                            base,
                            disp,
                            size,
                            signed,
                        } => Effect::LoadIndexed {
                            dst: n(dst),
                            base: (!base.is_empty()).then(|| n(base)),
                            disp: *disp,
                            size: *size,
                            signed: *signed,
                        },
                        Fx::Align { dst, src, align } => Effect::Align {
                            dst: n(dst),
                            src: n(src),
                            align: *align,
                        },
                        Fx::SubRegs { dst, a, b } => Effect::SubRegs {
                            dst: n(dst),
                            a: n(a),
                            b: n(b),
                        },
                        Fx::InsertImm { dst, imm, shift } => Effect::InsertImm {
                            dst: n(dst),
                            imm: *imm,
                            shift: *shift,
                        },
                        Fx::Swap { a, b } => Effect::Swap { a: n(a), b: n(b) },
                        Fx::CmpImm { imm } => Effect::CmpImm { imm: *imm },
                        Fx::CmpRegs { a, b } => Effect::CmpRegs { a: n(a), b: n(b) },
                        Fx::Flags(FlagFx::Clobber(mask)) => Effect::ForgetFlags(*mask),
                        Fx::Flags(FlagFx::Compare { a, imm, add }) => Effect::CompareFlags {
                            a: n(a),
                            imm: *imm,
                            add: *add,
                        },
                        Fx::Flags(FlagFx::TakenIf(cond)) => Effect::TakenIf(*cond),
                        // Not followed: its destination, one of the writes, becomes unknown.
                        Fx::Arith(_) => return None,
                    })
                })
                .collect();
        let flow = match &l.flow {
            Flow::Next => Go::Next,
            Flow::Jump(t) => Go::Jump(*t),
            Flow::Cond(t, b) => Go::Cond(*t, *b),
            Flow::Call(t) => Go::Call(*t),
            Flow::IndirectCall => Go::IndirectCall,
            Flow::IndirectReg(r) => Go::IndirectReg(n(r)),
            Flow::IndirectMem {
                base,
                index,
                scale,
                disp,
            } => Go::IndirectMem {
                base: base.as_deref().map(&mut n),
                index: *index,
                scale: *scale,
                disp: *disp,
            },
            Flow::CondRet { via } => Go::CondRet {
                via: via.as_deref().map(&mut n),
            },
            Flow::Ret { pop, via } => Go::Ret {
                pop: *pop,
                via: via.as_deref().map(&mut n),
            },
            Flow::Stop => Go::Stop,
        };
        let call_via = l.call_via.as_deref().map(&mut n);
        let mut regs: Vec<Reg> = l.reads.iter().map(|r| n(r)).collect();
        let reads = regs.len();
        regs.extend(l.writes.iter().map(|r| n(r)));
        let writes = regs.len();
        let defined: Vec<Reg> = fx.iter().flat_map(Effect::defines).flatten().collect();
        for k in reads..writes {
            let w = regs[k];
            if !defined.contains(&w) {
                regs.push(w);
            }
        }
        let undefined = regs.len();
        for k in reads..writes {
            let w = regs[k];
            if !regs[undefined..].contains(&w) {
                regs.push(w);
            }
        }
        for w in defined {
            if !regs[undefined..].contains(&w) {
                regs.push(w);
            }
        }
        // The lifters emit a handful of registers per instruction; the offsets are u16.
        let (reads, writes, undefined) = match (
            u16::try_from(reads),
            u16::try_from(writes),
            u16::try_from(undefined),
            u16::try_from(regs.len()),
        ) {
            (Ok(r), Ok(w), Ok(u), Ok(_)) => (r, w, u),
            _ => {
                regs.clear();
                (0, 0, 0)
            }
        };
        Insn {
            address: l.address,
            next: l.next,
            reads,
            writes,
            undefined,
            regs: regs.into_boxed_slice(),
            fx,
            flow,
            reads_are_not_uses: l.reads_are_not_uses,
            probes_cpu: l.probes_cpu,
            protocol_write: l.protocol_write,
            feature: l.feature,
            names_address: l.names_address,
            call_via,
            probe_mnemonic: (l.probes_cpu || l.feature.is_some())
                .then(|| l.mnemonic.into_boxed_str()),
        }
    }
}

/// Decoded instructions of one library, by address, shared by every entry point and the
/// sweep. Bounded by a count: past [`Store::CAP`] addresses, instructions are decoded each
/// time they are needed instead of kept (slower, never unbounded, never a different answer).
#[derive(Default)]
pub(crate) struct Store {
    by_address: FxHashMap<u64, Option<Rc<Insn>>>,
}

impl Store {
    /// Most instructions kept: more than the sweep's [`super::MAX_LIBRARY_INSNS`], so a
    /// library within the budgets decodes each instruction once.
    pub(crate) const CAP: usize = 1 << 19;

    pub(crate) fn get(&self, address: u64) -> Option<&Option<Rc<Insn>>> {
        self.by_address.get(&address)
    }

    pub(crate) fn insert(&mut self, address: u64, insn: Option<Rc<Insn>>) {
        if self.by_address.len() < Self::CAP {
            self.by_address.insert(address, insn);
        }
    }
}
/// A store or load at an absolute address (an empty base): the entry evaluators', not the
/// analysis's, which follows stack slots.
fn absolute(f: &Fx) -> bool {
    matches!(
        f,
        Fx::Store { base, .. }
            | Fx::StoreConst { base, .. }
            | Fx::StoreImm { base, .. }
            | Fx::Load { base, .. }
            if base.is_empty()
    )
}
