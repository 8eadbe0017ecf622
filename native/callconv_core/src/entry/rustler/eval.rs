//! The symbolic evaluator: machine state, and the walk over a function's paths that
//! follows calls and remembers the other side of each branch.

use std::collections::{BTreeMap, HashMap};

use object::ReadRef;

use super::{Field, MAX_INIT_INSNS};
use crate::isa::Lifted;
use crate::memory::{Image, Pointer};

/// Most instructions evaluated in one function `nif_init` calls (and those it calls).
pub(super) const MAX_CALL_INSNS: usize = 1024;
/// How deep calls from `nif_init` are followed. Below opt-level 2, `nif_init` is a wrapper
/// around `<crate>_nif_init`, which fills the entry through `ErlNifEntry::new` on its stack.
pub(super) const MAX_CALL_DEPTH: usize = 4;
/// Most bytes of memory written by evaluated code that are remembered.
pub(super) const MAX_STORED_BYTES: usize = 1 << 16;
/// Most machine states remembered at conditional branches, per evaluated function, and the
/// most stored bytes such a state may hold (bounds the memory of hostile code).
pub(super) const MAX_SNAPSHOTS: usize = 32;
pub(super) const MAX_SNAPSHOT_BYTES: usize = 4096;
/// Most code bytes read at once.
pub(super) const MAX_CODE_BYTES: usize = 1024;
/// Loads below this address are unknown: they come from NULL plus an offset.
pub(super) const NULL_PAGE: u64 = 0x100;
/// A stack pointer value that no library maps: stack stores land here, apart from the image.
pub(super) const STACK_TOP: u64 = 0x7ff0_0000_0000_0000;
/// The same for 32-bit code, whose registers cannot hold [`STACK_TOP`].
pub(super) const STACK_TOP_32: u64 = 0x7ff0_0000;
/// Most calls handed a stack address that are remembered apart.
const MAX_ESCAPES: usize = 64;
/// How far below the stack top stores count as stack stores.
pub(super) const STACK_WINDOW: u64 = 1 << 24;

// ------------------------------------------------------------------------------------------
// The evaluator.

/// What the evaluator knows: register values (absent = unknown), memory written by the
/// evaluated code (byte by byte; None = written with an unknown value), and every address
/// the code computed or accessed.
#[derive(Clone)]
pub(super) struct State {
    pub(super) regs: HashMap<String, u128>,
    /// The bytes of a 16-byte vector register loaded from memory that was only partly
    /// known (a struct copied through XMM registers, with unwritten padding).
    pub(super) vectors: HashMap<String, Vec<Option<u8>>>,
    pub(super) stored: BTreeMap<u64, Option<u8>>,
    /// When each byte of `stored` was last written, by [`State::clock`].
    pub(super) stamps: BTreeMap<u64, u64>,
    /// Instructions evaluated so far, callees' included: the time of a store.
    pub(super) clock: u64,
    /// Calls that were not followed and were handed stack addresses (in any register but the
    /// stack pointer), which they may have written through: when, and the lowest address.
    pub(super) escapes: Vec<(u64, u64)>,
    pub(super) refs: Vec<u64>,
    /// The stack pointer's starting value.
    pub(super) stack_top: u64,
    /// The byte order of stores and loads (s390x is big-endian).
    pub(super) big_endian: bool,
}

impl State {
    pub(super) fn new(stack: &str, stack_top: u64, big_endian: bool) -> Self {
        let mut regs = HashMap::new();
        regs.insert(stack.to_string(), u128::from(stack_top));
        State {
            regs,
            vectors: HashMap::new(),
            stored: BTreeMap::new(),
            stamps: BTreeMap::new(),
            clock: 0,
            escapes: Vec::new(),
            refs: Vec::new(),
            stack_top,
            big_endian,
        }
    }

    pub(super) fn get(&self, reg: &str) -> Option<u128> {
        self.regs.get(reg).copied()
    }

    pub(super) fn set(&mut self, reg: &str, v: Option<u128>) {
        self.vectors.remove(reg);
        match v {
            Some(v) => {
                self.regs.insert(reg.to_string(), v);
            }
            None => {
                self.regs.remove(reg);
            }
        }
    }

    /// Forgets the registers `names` (those a call may change).
    pub(super) fn forget<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        for r in names {
            self.set(r.as_ref(), None);
        }
    }

    /// Forgets every register but the stack pointer, and every value stored on the stack.
    pub(super) fn forget_all(&mut self, stack: &str) {
        self.forget_all_but(stack, |_, _| false);
    }

    /// [`State::forget_all`], but for the stack bytes `keep` (given each byte's address and
    /// the time it was written) keeps.
    fn forget_all_but(&mut self, stack: &str, keep: impl Fn(u64, u64) -> bool) {
        self.regs.retain(|r, _| r == stack);
        self.vectors.clear();
        let floor = self.stack_top - STACK_WINDOW;
        for (a, b) in self.stored.range_mut(floor..=self.stack_top) {
            let stamp = self.stamps.get(a).copied().unwrap_or(0);
            if !keep(*a, stamp) {
                *b = None;
            }
        }
    }

    /// [`State::forget_all`] at the exit of a loop whose body was evaluated from time
    /// `since` on, reached from the branch that saved `snapshot`, when that body left no branch
    /// unexplored: a stack byte of the looping function's frame (or above) keeps its value if
    /// nothing in the body wrote it, no call not followed there was handed a stack address at
    /// or below it, and `snapshot` holds the same byte.
    fn forget_all_but_loop(&mut self, stack: &str, snapshot: &State, since: u64) {
        let frame = self.get(stack).map_or(u64::MAX, |v| v as u64);
        let escaped = self
            .escapes
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|e| e.1)
            .fold(u64::MAX, u64::min);
        let same = |a: u64| {
            a >= frame
                && a < escaped
                && self.stored.get(&a).copied().flatten().is_some()
                && snapshot.stored.get(&a) == self.stored.get(&a)
        };
        let kept: Vec<u64> = self.stored.keys().copied().filter(|a| same(*a)).collect();
        self.forget_all_but(stack, |a, stamp| {
            stamp <= since && kept.binary_search(&a).is_ok()
        });
    }

    /// Remembers the stack addresses a call that is not followed is handed.
    fn note_escape(&mut self, stack: &str) {
        let floor = self.stack_top - STACK_WINDOW;
        let lowest = self
            .regs
            .iter()
            .filter(|(r, _)| r.as_str() != stack)
            .map(|(_, v)| *v as u64)
            .filter(|v| (floor..=self.stack_top).contains(v))
            .min();
        if let Some(lowest) = lowest {
            if self.escapes.len() >= MAX_ESCAPES {
                // Merged into one that covers them all.
                let lowest = self.escapes.iter().map(|e| e.1).fold(lowest, u64::min);
                self.escapes = vec![(self.clock, lowest)];
            } else {
                self.escapes.push((self.clock, lowest));
            }
        }
    }

    /// Restores an earlier state (a snapshot, or the state before a call that was undone)
    /// on a clock that keeps running.
    fn restore(&mut self, earlier: State) {
        let clock = self.clock;
        *self = earlier;
        self.clock = clock;
    }

    pub(super) fn note(&mut self, addr: u64) {
        if self.refs.len() < 4096 && !self.refs.contains(&addr) {
            self.refs.push(addr);
        }
    }

    /// The shift of byte `i` of a `size`-byte value in memory order.
    pub(super) fn shift(&self, i: usize, size: usize) -> usize {
        if self.big_endian {
            8 * (size - 1 - i)
        } else {
            8 * i
        }
    }

    pub(super) fn store(&mut self, addr: u64, size: usize, v: Option<u128>) {
        let size = size.min(16);
        for i in 0..size {
            if self.stored.len() >= MAX_STORED_BYTES {
                return;
            }
            let byte = v.map(|v| (v >> self.shift(i, size)) as u8);
            self.stored.insert(addr.wrapping_add(i as u64), byte);
            self.stamps.insert(addr.wrapping_add(i as u64), self.clock);
        }
    }

    /// A field of the entry as written: unwritten only if no byte of it was written.
    pub(super) fn field(&self, addr: u64, size: usize) -> Field {
        let bytes: Vec<Option<Option<u8>>> = (0..size as u64)
            .map(|i| self.stored.get(&(addr + i)).copied())
            .collect();
        if bytes.iter().all(Option::is_none) {
            return Field::Unwritten;
        }
        let mut v: u128 = 0;
        let size = size.min(16);
        for (i, b) in bytes.iter().enumerate().take(size) {
            match b {
                Some(Some(b)) => v |= u128::from(*b) << self.shift(i, size),
                // A byte never written reads as the file's (zero for .bss); Rustler writes
                // every byte of the fields it sets.
                None => {}
                Some(None) => return Field::Unknown,
            }
        }
        Field::Known(v)
    }

    /// One byte as the code wrote it, else from the file (None: unknown).
    pub(super) fn byte<'data, R: ReadRef<'data>>(&self, image: &Image<R>, addr: u64) -> Option<u8> {
        match self.stored.get(&addr) {
            Some(b) => *b,
            None => image.read_bytes(addr, 1).ok()?.first().copied(),
        }
    }

    /// Loads `size` bytes: from what the code wrote, else from the relocated image.
    pub(super) fn load<'data, R: ReadRef<'data>>(
        &self,
        image: &Image<R>,
        addr: u64,
        size: usize,
    ) -> Option<u128> {
        let written = (0..size as u64).any(|i| self.stored.contains_key(&(addr + i)));
        if !written && addr < NULL_PAGE {
            // A NULL pointer plus a field offset: the file's headers live there, but the
            // code never reads them (an empty inventory list is walked this way).
            return None;
        }
        if written {
            let size = size.min(16);
            let mut v: u128 = 0;
            for i in 0..size {
                let b = (*self.stored.get(&(addr + i as u64))?)?;
                v |= u128::from(b) << self.shift(i, size);
            }
            return Some(v);
        }
        let ptr = |a: u64| match image.read_pointer(a).ok()? {
            Pointer::Address(x) => Some(x),
            Pointer::Null => Some(0),
            Pointer::Import(_) => None,
        };
        match size {
            8 if image.pointer_size() == 8 => ptr(addr).map(u128::from),
            16 if image.pointer_size() == 8 => {
                Some(u128::from(ptr(addr)?) | (u128::from(ptr(addr + 8)?) << 64))
            }
            4 if image.pointer_size() == 4 => ptr(addr).map(u128::from),
            1..=16 => {
                let b = image.read_bytes(addr, size).ok()?;
                Some(b.iter().enumerate().fold(0u128, |v, (i, b)| {
                    v | (u128::from(*b) << self.shift(i, size))
                }))
            }
            _ => None,
        }
    }
}

/// How evaluation of a function ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Returned,
    OutOfBudget,
    /// A called function reached code the evaluator cannot follow.
    Abandoned,
}

/// What one instruction does to control flow.
pub(super) enum Flow {
    Next,
    /// A conditional branch to this address (the evaluator falls through).
    Branch(u64),
    Jump(u64),
    /// A call; the target when the evaluator knows it.
    Call(Option<u64>),
    Return,
    /// A path the evaluator cannot follow further (an indirect jump, a loop).
    DeadEnd(String),
    /// A trap (`ud2`, `brk`): the end of a panic path, which a run that returns never takes.
    Trap(String),
}

/// One decoded instruction, as the instruction layer (`crate::isa`) lifted it.
pub(super) type Insn = Lifted;

pub(super) trait Cpu {
    /// Decodes up to `count` instructions of `code`, which starts at `address`.
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String>;
    /// Applies one instruction to the state.
    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String>;
    fn result_register(&self) -> &'static str;
    fn stack_register(&self) -> &'static str;
    /// The stack pointer's starting value: [`STACK_TOP`], or [`STACK_TOP_32`] for 32-bit code.
    fn stack_top(&self) -> u64 {
        STACK_TOP
    }
    /// Where the code at `pc` is read from: `pc` itself, but for ARM, whose Thumb addresses
    /// carry the mode in bit 0.
    fn fetch_address(&self, pc: u64) -> u64 {
        pc
    }
    /// Registers that hold the base of position-independent data for a whole function
    /// (32-bit x86's GOT pointer in ebx, PowerPC64's TOC pointer r2).
    fn pinned_registers(&self) -> &'static [&'static str] {
        &[]
    }
    /// Sets up what a function's caller provides beyond the stack (PowerPC64's r12).
    fn begin(&self, _state: &mut State, _start: u64) {}
    /// After a call that was not followed: pops what the callee pops besides its return
    /// address (32-bit x86's `ret n`).
    fn callee_pops(&self, _state: &mut State, _image: &dyn Load, _target: u64) {}
    /// Sets up the return address of a call from `ret_addr` into a followed function.
    fn enter_call(&self, state: &mut State, ret_addr: u64);
    /// Undoes what the callee's `ret` does beyond returning (popping the return address).
    fn leave_call(&self, _state: &mut State) {}
    /// Forgets the registers a call may change (the caller-saved ones).
    fn clobber(&self, state: &mut State);
}

/// Loads through the state's stores and the image, for one evaluation.
pub(super) trait Load {
    fn load(&self, state: &State, addr: u64, size: usize) -> Option<u128>;
    fn byte(&self, state: &State, addr: u64) -> Option<u8>;
}

impl<'data, R: ReadRef<'data>> Load for Image<R> {
    fn load(&self, state: &State, addr: u64, size: usize) -> Option<u128> {
        state.load(self, addr, size)
    }

    fn byte(&self, state: &State, addr: u64) -> Option<u8> {
        state.byte(self, addr)
    }
}

/// Evaluates from `start` until a return, or until `budget` instructions are spent.
///
/// Conditional branches fall through, and their forward targets are remembered. A jump back
/// into code already evaluated (a loop), a trap (`ud2`, the code after a call that panics) or
/// an indirect jump resumes at the most recent remembered target not yet evaluated: the exit
/// of the loop, or the other side of the branch that led to the dead end. Everything the
/// skipped path may have changed, registers and stack, becomes unknown there. A trap is
/// different: the path that led to it (a panic) is the one a run that returns never takes,
/// so evaluation resumes at the other side of the last branch with the machine state the
/// branch had, when it was remembered.
///
/// Calls to a known address are followed while `depth` is below [`MAX_CALL_DEPTH`]; a
/// callee that does not return within its budget, or reaches a dead end, is undone and the
/// call treated as opaque (its caller-saved registers unknown).
pub(super) fn run<'data, R: ReadRef<'data>>(
    cpu: &dyn Cpu,
    image: &Image<R>,
    start: u64,
    budget: &mut usize,
    state: &mut State,
    depth: usize,
) -> Result<End, String> {
    let mut pc = start;
    // Each instruction evaluated, with the clock when it first was.
    let mut visited: HashMap<u64, u64> = HashMap::new();
    // Targets of branches not taken yet: the state at the branch, and the clock.
    let mut pending: Vec<(u64, Option<Box<State>>, u64)> = Vec::new();
    let mut snapshots = 0;
    // Branches to code not evaluated that were not remembered, and when; past
    // MAX_SNAPSHOTS of them, only when the last was.
    let mut unfollowed: Vec<(u64, u64)> = Vec::new();
    let mut unfollowed_lost = 0u64;
    while *budget > 0 {
        let code = image
            .read_code(cpu.fetch_address(pc), MAX_CODE_BYTES)
            .map_err(|e| format!("cannot read code at {pc:#x}: {e}"))?;
        let insns = cpu.decode(&code, pc, (*budget).min(64))?;
        let Some(last) = insns.last() else {
            return Err(format!("no instruction the evaluator knows at {pc:#x}"));
        };
        let mut next = last.next;
        for ins in &insns {
            *budget = budget.saturating_sub(1);
            // The instruction a loop comes back to, if this one does.
            let mut loop_head = None;
            let flow = if let std::collections::hash_map::Entry::Vacant(first) =
                visited.entry(ins.address)
            {
                first.insert(state.clock);
                state.clock += 1;
                cpu.step(ins, state, image)?
            } else {
                loop_head = Some(ins.address);
                let at = cpu.fetch_address(ins.address);
                Flow::DeadEnd(format!("a loop back to {at:#x}"))
            };
            let flow = match flow {
                Flow::Jump(t) if visited.contains_key(&t) => {
                    loop_head = Some(t);
                    let at = cpu.fetch_address(t);
                    Flow::DeadEnd(format!("a loop back to {at:#x}"))
                }
                other => other,
            };
            match flow {
                Flow::Next => {}
                Flow::Branch(t) => {
                    if t > ins.address
                        && !visited.contains_key(&t)
                        && pending.len() < MAX_INIT_INSNS
                    {
                        let small = state.stored.len() <= MAX_SNAPSHOT_BYTES;
                        let snapshot = (small && snapshots < MAX_SNAPSHOTS).then(|| {
                            snapshots += 1;
                            Box::new(state.clone())
                        });
                        pending.push((t, snapshot, state.clock));
                    } else if !visited.contains_key(&t) {
                        // A backward branch to code not evaluated yet.
                        if unfollowed.len() < MAX_SNAPSHOTS {
                            unfollowed.push((t, state.clock));
                        } else {
                            unfollowed_lost = state.clock;
                        }
                    }
                }
                Flow::Jump(t) => {
                    next = t;
                    break;
                }
                Flow::Call(target) => {
                    let ret_addr = ins.next;
                    let followed = match target {
                        Some(t)
                            if depth < MAX_CALL_DEPTH
                                && image.read_code(cpu.fetch_address(t), 1).is_ok() =>
                        {
                            let before = state.clone();
                            cpu.enter_call(state, ret_addr);
                            let mut callee_budget = (*budget).min(MAX_CALL_INSNS);
                            let used_before = callee_budget;
                            let end = run(cpu, image, t, &mut callee_budget, state, depth + 1);
                            *budget = budget.saturating_sub(used_before - callee_budget);
                            if matches!(end, Ok(End::Returned)) {
                                cpu.leave_call(state);
                                true
                            } else {
                                state.restore(before);
                                false
                            }
                        }
                        _ => false,
                    };
                    if !followed {
                        state.note_escape(cpu.stack_register());
                        cpu.clobber(state);
                        if let Some(t) = target {
                            cpu.callee_pops(state, image, t);
                        }
                    }
                }
                Flow::Return => return Ok(End::Returned),
                Flow::Trap(why) => {
                    let resume = std::iter::from_fn(|| pending.pop())
                        .find(|(t, ..)| !visited.contains_key(t));
                    next = match resume {
                        Some((t, Some(snapshot), _)) => {
                            state.restore(*snapshot);
                            t
                        }
                        Some((t, None, _)) if depth == 0 => {
                            state.forget_all(cpu.stack_register());
                            t
                        }
                        _ if depth > 0 => return Ok(End::Abandoned),
                        _ => return Err(format!("evaluation ends at {why} with no other path")),
                    };
                    break;
                }
                Flow::DeadEnd(why) => {
                    // A called function's state cannot be forgotten without its caller's.
                    if depth > 0 {
                        return Ok(End::Abandoned);
                    }
                    let (resume, snapshot, _) = std::iter::from_fn(|| pending.pop())
                        .find(|(t, ..)| !visited.contains_key(t))
                        .ok_or_else(|| format!("evaluation ends at {why} with no other path"))?;
                    // The base register of position-independent data survives the loop when
                    // the branch saw the same value.
                    let pinned: Vec<(&str, u128)> = cpu
                        .pinned_registers()
                        .iter()
                        .filter_map(|r| Some((*r, state.get(r)?)))
                        .filter(|(r, v)| snapshot.as_ref().is_none_or(|s| s.get(r) == Some(*v)))
                        .collect();
                    // A stack byte survives a loop when no path can have changed it: the
                    // loop's body as evaluated (from its first instruction, callees
                    // included) never wrote it, handed no stack address to a call it did not
                    // follow, and left no branch unexplored, and the branch to the exit saw
                    // the same byte. (Stores through addresses the evaluator does not know
                    // are taken to miss the stack, in a loop as anywhere.)
                    let since = loop_head.and_then(|h| visited.get(&h).copied());
                    match (since, snapshot) {
                        (Some(since), Some(snapshot))
                            if unfollowed_lost <= since
                                && !unfollowed
                                    .iter()
                                    .any(|(t, at)| *at > since && !visited.contains_key(t))
                                && !pending
                                    .iter()
                                    .any(|(t, _, at)| *at > since && !visited.contains_key(t)) =>
                        {
                            state.forget_all_but_loop(cpu.stack_register(), &snapshot, since);
                        }
                        _ => state.forget_all(cpu.stack_register()),
                    }
                    for (r, v) in pinned {
                        state.set(r, Some(v));
                    }
                    next = resume;
                    break;
                }
            }
            if *budget == 0 {
                break;
            }
        }
        pc = next;
    }
    Ok(End::OutOfBudget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_from_stores() {
        let mut s = State::new("rsp", STACK_TOP, false);
        s.store(0x100, 8, Some(0x0000_000f_0000_0002));
        assert_eq!(s.field(0x100, 4), Field::Known(2));
        assert_eq!(s.field(0x104, 4), Field::Known(15));
        assert_eq!(s.field(0x108, 8), Field::Unwritten);
        s.store(0x108, 4, None);
        assert_eq!(s.field(0x108, 4), Field::Unknown);
    }

    /// A loop's body evaluated from time 10: which stack bytes keep their value at its exit.
    #[test]
    fn stack_bytes_across_a_loop() {
        let sp = STACK_TOP_32 - 0x40;
        let mut s = State::new("sp", STACK_TOP_32, false);
        s.set("sp", Some(u128::from(sp)));
        s.clock = 3;
        s.store(sp + 4, 4, Some(0x7e894)); // the entry's base, before the loop
        s.store(sp + 8, 4, Some(1)); // a counter, before the loop ...
        s.store(sp + 0x20, 4, Some(5)); // handed to a call below
        s.store(sp - 8, 4, Some(9)); // below the frame: a callee's
        let snapshot = s.clone();
        s.clock = 12;
        s.store(sp + 8, 4, Some(2)); // ... and in it
        s.set("r0", Some(u128::from(sp + 0x20)));
        s.note_escape("sp");
        s.set("r0", Some(0x1234));
        s.clock = 20;
        let mut exit = s.clone();
        exit.forget_all_but_loop("sp", &snapshot, 10);
        assert_eq!(exit.field(sp + 4, 4), Field::Known(0x7e894));
        assert_eq!(exit.field(sp + 8, 4), Field::Unknown);
        assert_eq!(exit.field(sp + 0x20, 4), Field::Unknown);
        assert_eq!(exit.field(sp - 8, 4), Field::Unknown);
        assert_eq!(exit.get("r0"), None);
        // Not the same at the branch to the exit: forgotten.
        let mut other = snapshot.clone();
        other.store(sp + 4, 4, Some(0x7e898));
        let mut exit = s.clone();
        exit.forget_all_but_loop("sp", &other, 10);
        assert_eq!(exit.field(sp + 4, 4), Field::Unknown);
        // A body that started before the store: forgotten.
        let mut exit = s;
        exit.forget_all_but_loop("sp", &snapshot, 2);
        assert_eq!(exit.field(sp + 4, 4), Field::Unknown);
    }
}
