//! The engine's own form of a decoded instruction: the lifters' [`Lifted`] (register names as
//! strings) turned once per address into small register ids from a per-library interner, and
//! kept in one bounded store that every entry point and the instruction-set sweep share.
//!
//! The lifters stay string-based; only this boundary knows both forms. A name comes back from
//! the interner when a finding is written, so reports do not depend on the ids.
//!
//! The store holds instructions packed (fixed fields in one array, register lists and effects
//! in two shared arenas, the rarely set fields aside) and hands out an [`Insn`] by value, whose
//! short lists live inline: the store of a large library is most of the check's peak memory,
//! and a packed instruction costs about a third of a boxed one.

use std::rc::Rc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

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

/// Register lists of one instruction, inline up to a typical instruction's count.
type RegList = SmallVec<[Reg; 12]>;

/// Effects of one instruction, inline up to a typical instruction's count.
type EffectList = SmallVec<[Effect; 2]>;

/// One decoded instruction in the engine's form. Register lists share one list:
/// `regs[..reads]` are read, `regs[reads..writes]` written, and `regs[writes..]` are the
/// registers that the instruction writes and no effect defines (they become unknown).
/// `touched` (written or defined, once each) follows in the same slice.
#[derive(Debug, Clone)]
pub(crate) struct Insn {
    pub address: u64,
    pub next: u64,
    regs: RegList,
    reads: u16,
    writes: u16,
    undefined: u16,
    pub fx: EffectList,
    pub flow: Go,
    pub reads_are_not_uses: bool,
    pub probes_cpu: bool,
    pub protocol_write: bool,
    pub feature: Option<&'static str>,
    pub names_address: Option<u64>,
    pub call_via: Option<Reg>,
    /// Kept only for a CPU probe or an instruction that needs a CPU feature, whose
    /// mnemonics the sweep reports.
    pub probe_mnemonic: Option<Rc<str>>,
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
        let fx: EffectList =
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
        let mut regs: RegList = l.reads.iter().map(|r| n(r)).collect();
        let reads = regs.len();
        regs.extend(l.writes.iter().map(|r| n(r)));
        let writes = regs.len();
        let defined: RegList = fx.iter().flat_map(Effect::defines).flatten().collect();
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
            regs,
            fx,
            flow,
            reads_are_not_uses: l.reads_are_not_uses,
            probes_cpu: l.probes_cpu,
            protocol_write: l.protocol_write,
            feature: l.feature,
            names_address: l.names_address,
            call_via,
            probe_mnemonic: (l.probes_cpu || l.feature.is_some()).then(|| Rc::from(l.mnemonic)),
        }
    }
}

/// Decoded instructions of one library, by address, shared by every entry point and the
/// sweep. Bounded by a count: past [`Store::CAP`] addresses, instructions are decoded each
/// time they are needed instead of kept (slower, never unbounded, never a different answer).
/// The few instructions whose lists or length do not fit the packed form are not kept either.
#[derive(Default)]
pub(crate) struct Store {
    /// Index in `packed` (or [`Store::UNDECODABLE`]) by address, for the addresses within
    /// 2 GiB of the first one stored, keyed by their offset from `base`: half the size of a
    /// 64-bit key, and a library's code is far smaller than 4 GiB.
    near: FxHashMap<u32, u32>,
    /// The same, for any other address.
    far: FxHashMap<u64, u32>,
    base: Option<u64>,
    packed: Vec<Packed>,
    /// Register lists of the packed instructions, one after another.
    regs: Vec<Reg>,
    /// Effects of the packed instructions, one after another.
    effects: Vec<Effect>,
    /// The fields most instructions leave unset.
    rare: Vec<Rare>,
}

/// An [`Insn`] in 24 bytes: its lists are ranges of the store's arenas, its flow a kind and a
/// target, the rest in `rare`.
struct Packed {
    /// The target of a jump, branch or call, from the instruction's address.
    target: i32,
    regs_at: u32,
    effects_at: u32,
    /// Index in `rare`, or [`Store::NONE`].
    rare: u32,
    reads: u8,
    writes: u8,
    undefined: u8,
    regs_len: u8,
    effects_len: u8,
    flags: u8,
    /// `next - address`.
    length: u8,
    flow: FlowKind,
}

// The point of the packed form: keep it at 24 bytes.
const _: () = assert!(std::mem::size_of::<Packed>() <= 24);

/// The flows most instructions have, with a target within 2 GiB; any other is kept in
/// [`Rare`].
#[derive(Clone, Copy)]
enum FlowKind {
    Next,
    Jump,
    Cond(Bound),
    Call,
    Rare,
}

/// An [`Insn`]'s fields that most instructions leave unset.
struct Rare {
    feature: Option<&'static str>,
    names_address: Option<u64>,
    call_via: Option<Reg>,
    probe_mnemonic: Option<Rc<str>>,
    /// The flow, when [`FlowKind::Rare`].
    flow: Go,
}

const READS_ARE_NOT_USES: u8 = 1;
const PROBES_CPU: u8 = 2;
const PROTOCOL_WRITE: u8 = 4;

impl Store {
    /// Most instructions kept: more than the sweep's [`super::MAX_LIBRARY_INSNS`], so a
    /// library within the budgets decodes each instruction once.
    pub(crate) const CAP: usize = 1 << 19;

    const UNDECODABLE: u32 = u32::MAX;
    const NONE: u32 = u32::MAX;

    fn len(&self) -> usize {
        self.near.len() + self.far.len()
    }

    fn near_key(&self, address: u64) -> Option<u32> {
        u32::try_from(address.wrapping_sub(self.base?)).ok()
    }

    /// `None` when `address` was never stored; `Some(None)` when it decodes to nothing.
    pub(crate) fn get(&self, address: u64) -> Option<Option<Insn>> {
        let k = match self.near_key(address) {
            Some(key) => *self.near.get(&key)?,
            None => *self.far.get(&address)?,
        };
        if k == Self::UNDECODABLE {
            return Some(None);
        }
        let p = self.packed.get(k as usize)?;
        let regs = range(&self.regs, p.regs_at, p.regs_len)?;
        let fx = range(&self.effects, p.effects_at, p.effects_len)?;
        let rare = self.rare.get(p.rare as usize);
        let target = address.wrapping_add_signed(i64::from(p.target));
        let flow = match p.flow {
            FlowKind::Next => Go::Next,
            FlowKind::Jump => Go::Jump(target),
            FlowKind::Cond(b) => Go::Cond(target, b),
            FlowKind::Call => Go::Call(target),
            FlowKind::Rare => rare?.flow,
        };
        Some(Some(Insn {
            address,
            next: address.wrapping_add(u64::from(p.length)),
            regs: RegList::from_slice(regs),
            reads: u16::from(p.reads),
            writes: u16::from(p.writes),
            undefined: u16::from(p.undefined),
            fx: EffectList::from_slice(fx),
            flow,
            reads_are_not_uses: p.flags & READS_ARE_NOT_USES != 0,
            probes_cpu: p.flags & PROBES_CPU != 0,
            protocol_write: p.flags & PROTOCOL_WRITE != 0,
            feature: rare.and_then(|r| r.feature),
            names_address: rare.and_then(|r| r.names_address),
            call_via: rare.and_then(|r| r.call_via),
            probe_mnemonic: rare.and_then(|r| r.probe_mnemonic.clone()),
        }))
    }

    fn index(&mut self, address: u64, k: u32) {
        if self.base.is_none() {
            self.base = Some(address.saturating_sub(1 << 31));
        }
        match self.near_key(address) {
            Some(key) => self.near.insert(key, k),
            None => self.far.insert(address, k),
        };
    }

    /// Keeps `insn` (what `address` decodes to), unless the store is full, its arenas would
    /// outgrow their 32-bit offsets, or the instruction does not fit the packed form.
    pub(crate) fn insert(&mut self, address: u64, insn: Option<&Insn>) {
        if self.len() >= Self::CAP {
            return;
        }
        let Some(i) = insn else {
            self.index(address, Self::UNDECODABLE);
            return;
        };
        let (
            Ok(k),
            Ok(regs_at),
            Ok(effects_at),
            Ok(regs_len),
            Ok(effects_len),
            Ok(reads),
            Ok(writes),
            Ok(undefined),
            Ok(length),
        ) = (
            u32::try_from(self.packed.len()),
            u32::try_from(self.regs.len()),
            u32::try_from(self.effects.len()),
            u8::try_from(i.regs.len()),
            u8::try_from(i.fx.len()),
            u8::try_from(i.reads),
            u8::try_from(i.writes),
            u8::try_from(i.undefined),
            u8::try_from(i.next.wrapping_sub(address)),
        )
        else {
            return;
        };
        if k == Self::UNDECODABLE
            || i.address != address
            || regs_at.checked_add(u32::from(regs_len)).is_none()
            || effects_at.checked_add(u32::from(effects_len)).is_none()
        {
            return;
        }
        let near = |t: u64| i32::try_from(t.wrapping_sub(address) as i64).ok();
        let (flow, target) = match i.flow {
            Go::Next => (FlowKind::Next, 0),
            Go::Jump(t) => near(t).map_or((FlowKind::Rare, 0), |d| (FlowKind::Jump, d)),
            Go::Cond(t, b) => near(t).map_or((FlowKind::Rare, 0), |d| (FlowKind::Cond(b), d)),
            Go::Call(t) => near(t).map_or((FlowKind::Rare, 0), |d| (FlowKind::Call, d)),
            _ => (FlowKind::Rare, 0),
        };
        let rare = if matches!(flow, FlowKind::Rare)
            || i.feature.is_some()
            || i.names_address.is_some()
            || i.call_via.is_some()
            || i.probe_mnemonic.is_some()
        {
            match u32::try_from(self.rare.len()) {
                Ok(r) if r != Self::NONE => {
                    self.rare.push(Rare {
                        feature: i.feature,
                        names_address: i.names_address,
                        call_via: i.call_via,
                        probe_mnemonic: i.probe_mnemonic.clone(),
                        flow: i.flow,
                    });
                    r
                }
                _ => return,
            }
        } else {
            Self::NONE
        };
        let mut flags = 0;
        for (set, bit) in [
            (i.reads_are_not_uses, READS_ARE_NOT_USES),
            (i.probes_cpu, PROBES_CPU),
            (i.protocol_write, PROTOCOL_WRITE),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.regs.extend_from_slice(&i.regs);
        self.effects.extend_from_slice(&i.fx);
        self.packed.push(Packed {
            target,
            regs_at,
            effects_at,
            rare,
            reads,
            writes,
            undefined,
            regs_len,
            effects_len,
            flags,
            length,
            flow,
        });
        self.index(address, k);
    }
}

/// `len` items of `arena` from `at`.
fn range<T>(arena: &[T], at: u32, len: u8) -> Option<&[T]> {
    let at = at as usize;
    arena.get(at..at.checked_add(usize::from(len))?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lifted(address: u64, length: u64) -> Lifted {
        Lifted::plain(address, address + length, "op")
    }

    /// Every field an instruction had when stored comes back from the store.
    fn round_trip(store: &mut Store, names: &mut Names, l: Lifted) {
        let address = l.address;
        let insn = Insn::from_lifted(l, names);
        store.insert(address, Some(&insn));
        let back = store.get(address).expect("kept").expect("decodable");
        assert_eq!(format!("{back:?}"), format!("{insn:?}"));
    }

    #[test]
    fn packed_instructions_come_back_whole() {
        let mut store = Store::default();
        let mut names = Names::default();
        let mut l = lifted(0x1000, 4);
        l.reads = vec!["x1".into(), "x2".into()];
        l.writes = vec!["x0".into(), "x3".into()];
        l.fx = vec![Fx::AddImm {
            dst: "x0".into(),
            src: "x1".into(),
            imm: -16,
        }];
        l.reads_are_not_uses = true;
        round_trip(&mut store, &mut names, l);
        let mut l = lifted(0x1004, 4);
        l.flow = Flow::Cond(0x2000, Bound::Below);
        l.protocol_write = true;
        round_trip(&mut store, &mut names, l);
        // Targets behind, ahead, and further than 2 GiB either way (kept aside).
        for flow in [
            Flow::Jump(0x900),
            Flow::Call(u64::MAX),
            Flow::Call(0x1_0000_2000),
            Flow::Cond(0x8000_1008, Bound::Equal),
            Flow::Cond(0x7fff_f000, Bound::None),
            Flow::Next,
        ] {
            let mut l = lifted(0x1008, 5);
            l.flow = flow;
            round_trip(&mut store, &mut names, l);
        }
        // The rare fields and flows.
        let mut l = lifted(0x100d, 3);
        l.flow = Flow::Ret {
            pop: 4,
            via: Some("lr".into()),
        };
        l.feature = Some("avx2");
        l.probes_cpu = true;
        l.names_address = Some(0xdead_beef);
        l.call_via = Some("t9".into());
        round_trip(&mut store, &mut names, l);
        // Far from the first address (a 64-bit key), and an address that decodes to nothing.
        round_trip(&mut store, &mut names, lifted(u64::MAX - 16, 4));
        store.insert(0x5000, None);
        assert!(matches!(store.get(0x5000), Some(None)));
        assert!(store.get(0x5001).is_none());
    }

    #[test]
    fn what_does_not_fit_is_not_kept() {
        let mut store = Store::default();
        let mut names = Names::default();
        // A next address past the 8-bit length, and more registers than an 8-bit count.
        let far_next = Insn::from_lifted(lifted(0x1000, 0x1000), &mut names);
        store.insert(0x1000, Some(&far_next));
        let mut l = lifted(0x2000, 4);
        l.writes = (0..300).map(|k| format!("r{k}")).collect();
        let many = Insn::from_lifted(l, &mut names);
        store.insert(0x2000, Some(&many));
        assert!(store.get(0x1000).is_none());
        assert!(store.get(0x2000).is_none());
    }
}
