//! The abstract state the engine runs on: values (constants, stack offsets, table entries),
//! registers by id and stack slots, and how two states merge.

use super::*;
/// An abstract value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Val {
    /// The register's own value at entry.
    Entry(Reg),
    /// Entry stack pointer plus an offset.
    SpPlus(i64),
    /// A stack address relative to the stack pointer right after a realignment
    /// (`and rsp, -32`, frame [`REALIGNED`]) or after a move by an unknown distance from a
    /// realigned one (`sub rsp, rcx`, frame [`MOVED`], alignment 1: not known): its distance
    /// to the entry SP is not known.
    AlPlus { align: u64, off: i64, frame: u8 },
    /// A known constant (an address).
    Const(u64),
    /// What the loader writes into a GOT slot for this import (MIPS `lw $t9, f($gp)`).
    Import(Sym),
    /// A known base plus an unknown index: an address inside a jump table (MIPS `addu`).
    Indexed(u64),
    /// An entry read from a jump table.
    TableEntry { table: u64, size: u8, signed: bool },
    /// A jump-table target: `base + (entry << shift)`.
    TableTarget {
        table: u64,
        size: u8,
        signed: bool,
        base: u64,
        shift: u8,
    },
    /// Anything else.
    Unknown,
    /// Lost by merging states: never reported.
    Top,
}

/// `v` with its low `bits` kept and widened, signed or not (an AArch64 extended-register
/// operand). A table entry stays one when the widening keeps its value (`sxtb` of a byte
/// entry makes it a signed one); any other value the widening could change is unknown.
pub(super) fn extended(v: Val, bits: u8, signed: bool) -> Val {
    match v {
        Val::Const(c) => Val::Const(crate::isa::extend(c, bits, signed)),
        Val::TableEntry {
            table,
            size,
            signed: entry_signed,
        } => {
            let entry_bits = 8 * u16::from(size);
            let bits = u16::from(bits);
            let keeps_sign = if bits == entry_bits {
                Some(signed)
            } else if bits > entry_bits && (!entry_signed || signed) {
                // A zero-extended entry is positive in any wider view; a sign-extended one
                // stays itself when widened with its sign again.
                Some(entry_signed)
            } else {
                None
            };
            keeps_sign.map_or(Val::Unknown, |signed| Val::TableEntry {
                table,
                size,
                signed,
            })
        }
        Val::Top => Val::Top,
        _ => Val::Unknown,
    }
}

/// A stack slot: frame (0: entry SP, [`REALIGNED`], [`MOVED`]) and offset.
pub(super) type Slot = (u8, i64);

/// The frame of slots counted from the stack pointer right after a realignment.
pub(super) const REALIGNED: u8 = 1;
/// The frame of slots counted from the stack pointer after it moved an unknown distance
/// down from a realigned one.
pub(super) const MOVED: u8 = 2;

/// The interpreter's state on one path. Registers are indexed by id; an id past the end of
/// `regs` holds its entry value, so states made before the interner grew stay valid and
/// cloning copies only the registers the code has used.
#[derive(Debug, Clone)]
pub(super) struct State {
    /// Register values by id (`Entry(id)`: unchanged).
    pub(super) regs: Vec<Val>,
    /// Stack slots, sorted by slot.
    pub(super) slots: Vec<(Slot, Val)>,
    /// A store found [`MAX_SLOTS_PER_STATE`] slots taken and was not recorded: a slot not
    /// found then holds an unknown value that is never reported.
    pub(super) slots_full: bool,
    /// The path went through a call to an import whose name is unknown (Mach-O, PE): if it
    /// never returns, what follows is another function's code, so exits are not judged.
    pub(super) uncertain: bool,
    /// The stack pointer was given up at the head of a loop that moves it each round
    /// ([`Ctx::trace`]): what a return pops from the lost stack (its address) is not judged.
    pub(super) depth_given_up: bool,
    /// Where each callee-saved register was last changed, sorted by register.
    pub(super) changed_at: Vec<(Reg, u64)>,
    /// The last `cmp reg, imm` and the bound a branch derived from it.
    pub(super) cmp: Option<i64>,
    /// The last `cmp a, b`, with the address of the instruction after it (a branch there may
    /// use it).
    pub(super) cmp_regs: Option<(u64, Reg, Reg)>,
    pub(super) bound: Option<u64>,
    /// The condition flags' possible combinations (`flags.rs`): [`flags::ANY`] unless the
    /// path has proved something about them.
    pub(super) flags: u16,
}

impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        // Cheap fields first: most states compared differ in the stack pointer or a slot.
        self.slots_full == other.slots_full
            && self.uncertain == other.uncertain
            && self.depth_given_up == other.depth_given_up
            && self.cmp == other.cmp
            && self.cmp_regs == other.cmp_regs
            && self.bound == other.bound
            && self.flags == other.flags
            && self.same_regs(other)
            && self.slots == other.slots
            && self.changed_at == other.changed_at
    }
}

impl Eq for State {}

impl State {
    pub(super) fn new() -> State {
        State {
            regs: Vec::new(),
            slots: Vec::new(),
            changed_at: Vec::new(),
            cmp: None,
            cmp_regs: None,
            bound: None,
            flags: flags::ANY,
            slots_full: false,
            uncertain: false,
            depth_given_up: false,
        }
    }

    pub(super) fn get(&self, r: Reg) -> Val {
        self.regs.get(r.index()).copied().unwrap_or(Val::Entry(r))
    }

    pub(super) fn set(&mut self, r: Reg, v: Val) {
        let i = r.index();
        if i >= self.regs.len() {
            if v == Val::Entry(r) {
                return;
            }
            let from = self.regs.len();
            self.regs.extend((from..=i).map(|k| Val::Entry(reg_at(k))));
        }
        self.regs[i] = v;
    }

    /// Whether both states hold the same register values (ids past either's end holding
    /// their entry value).
    pub(super) fn same_regs(&self, other: &State) -> bool {
        let n = self.regs.len().min(other.regs.len());
        self.regs[..n] == other.regs[..n]
            && self.regs[n..]
                .iter()
                .chain(&other.regs[n..])
                .enumerate()
                .all(|(k, v)| *v == Val::Entry(reg_at(n + k)))
    }

    pub(super) fn slot(&self, key: Slot) -> Option<&Val> {
        self.slots
            .binary_search_by(|(k, _)| k.cmp(&key))
            .ok()
            .map(|i| &self.slots[i].1)
    }

    /// Sets a slot whatever the slot cap (the return address a `call` pushes).
    pub(super) fn put_slot(&mut self, key: Slot, v: Val) {
        match self.slots.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.slots[i].1 = v,
            Err(i) => self.slots.insert(i, (key, v)),
        }
    }

    pub(super) fn changed_at(&self, r: Reg) -> Option<u64> {
        self.changed_at
            .binary_search_by(|(k, _)| k.cmp(&r))
            .ok()
            .map(|i| self.changed_at[i].1)
    }

    pub(super) fn set_changed_at(&mut self, r: Reg, at: u64) {
        match self.changed_at.binary_search_by(|(k, _)| k.cmp(&r)) {
            Ok(i) => self.changed_at[i].1 = at,
            Err(i) => self.changed_at.insert(i, (r, at)),
        }
    }

    /// The stack pointer starts a new [`MOVED`] frame: what the old one's slots held and
    /// every value counted from it no longer has a place.
    pub(super) fn rebase_moved_frame(&mut self) {
        let old = |v: &Val| matches!(v, Val::AlPlus { frame: MOVED, .. });
        self.slots.retain(|(k, _)| k.0 != MOVED);
        for v in self
            .regs
            .iter_mut()
            .chain(self.slots.iter_mut().map(|(_, v)| v))
        {
            if old(v) {
                *v = Val::Unknown;
            }
        }
    }

    pub(super) fn merge(&mut self, other: &State) {
        let n = self.regs.len().max(other.regs.len());
        for k in 0..n {
            let r = reg_at(k);
            if self.get(r) != other.get(r) {
                self.set(r, Val::Top);
            }
        }
        // A slot both paths wrote with different values holds one of them: Top (never
        // reported), not unknown, or a callee-saved register reloaded from it (its save slot
        // after the paths' merge) would look clobbered. A slot only one path wrote is dropped.
        let mut slots = Vec::with_capacity(self.slots.len().min(other.slots.len()));
        let (mut a, mut b) = (self.slots.iter().peekable(), other.slots.iter().peekable());
        while let (Some((ka, va)), Some((kb, vb))) = (a.peek(), b.peek()) {
            match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    slots.push((*ka, if va == vb { *va } else { Val::Top }));
                    a.next();
                    b.next();
                }
            }
        }
        self.slots = slots;
        for (k, at) in &other.changed_at {
            if let Err(i) = self.changed_at.binary_search_by(|(r, _)| r.cmp(k)) {
                self.changed_at.insert(i, (*k, *at));
            }
        }
        if self.bound != other.bound {
            self.bound = None;
        }
        self.flags |= other.flags;
        self.uncertain |= other.uncertain;
        self.depth_given_up |= other.depth_given_up;
        self.slots_full |= other.slots_full;
    }
}

/// The register with id `k` (an index of [`State::regs`], which never outgrows the interner).
pub(super) fn reg_at(k: usize) -> Reg {
    Reg::from_index(k)
}

/// `mem[base + disp] := v` when the address is a tracked stack slot: the slot's old value is
/// gone (a slot that kept it would vouch for a value the code has overwritten).
pub(super) fn store_slot(st: &mut State, base: Reg, disp: i64, v: Val) {
    let key = match st.get(base) {
        Val::SpPlus(k) => (0, k.wrapping_add(disp)),
        Val::AlPlus { off, frame, .. } => (frame, off.wrapping_add(disp)),
        _ => return,
    };
    match st.slots.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) => st.slots[i].1 = v,
        Err(i) if st.slots.len() < MAX_SLOTS_PER_STATE => st.slots.insert(i, (key, v)),
        Err(_) => st.slots_full = true,
    }
}

/// Whether the first stack argument of a call (the slot at the stack pointer) holds an
/// address in the caller's own frame.
pub(super) fn first_arg_in_frame(st: &State, sp: Reg) -> bool {
    let slot = match st.get(sp) {
        Val::SpPlus(k) => st.slot((0, k)),
        Val::AlPlus { off, frame, .. } => st.slot((frame, off)),
        _ => None,
    };
    matches!(slot, Some(Val::SpPlus(_) | Val::AlPlus { .. }))
}
