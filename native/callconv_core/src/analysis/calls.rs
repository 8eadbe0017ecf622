//! What a call does to its caller: the library's own functions probed for their returns and
//! stack pops, imports named through PLT stubs and GOT slots, the functions that never return,
//! and the per-function accumulators of what the walk saw.

use super::*;
/// Per-function accumulators.
#[derive(Default)]
pub(super) struct Acc {
    pub(super) args_read: BTreeSet<String>,
    pub(super) stack_args: BTreeSet<i64>,
    pub(super) clobbered: BTreeMap<String, (u64, u64)>,
    pub(super) cleanup: BTreeMap<u64, u64>,
    pub(super) unbalanced: BTreeMap<u64, i64>,
    pub(super) misaligned: BTreeMap<u64, i64>,
    pub(super) reserved: BTreeMap<String, u64>,
    pub(super) exits: usize,
    pub(super) capped: Option<&'static str>,
    pub(super) insns: usize,
    /// States recorded at branch targets.
    pub(super) states: usize,
    /// What [`Ctx::trace`] records by register id, turned into the named fields above when
    /// it ends.
    pub(super) ids: IdAcc,
}

impl Acc {
    /// Names the registers recorded by id.
    pub(super) fn finish(&mut self, names: &Names) {
        let ids = std::mem::take(&mut self.ids);
        let name = |r: Reg| names.name(r).to_string();
        self.args_read.extend(ids.args_read.into_iter().map(name));
        self.clobbered
            .extend(ids.clobbered.into_iter().map(|(r, v)| (name(r), v)));
        self.reserved
            .extend(ids.reserved.into_iter().map(|(r, v)| (name(r), v)));
    }
}

/// The register-keyed accumulators of [`Acc`], by id while tracing.
#[derive(Default)]
pub(super) struct IdAcc {
    pub(super) args_read: BTreeSet<Reg>,
    pub(super) clobbered: BTreeMap<Reg, (u64, u64)>,
    pub(super) reserved: BTreeMap<Reg, u64>,
}

/// What a local function does for its callers (see [`Ctx::callee`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Callee {
    pub(super) returns: bool,
    /// Bytes of arguments its returns pop (x86 `ret N`), when known.
    pub(super) pops: Option<u64>,
}

/// What one call does (see [`Ctx::call_kind`]).
pub(super) struct CallKind {
    pub(super) noreturn: bool,
    pub(super) unknown: bool,
    /// An import whose prototype may return a struct in memory (any import but the NIF API:
    /// no `enif_*` function returns a struct by value).
    pub(super) may_return_struct: bool,
    pub(super) pops: u64,
    /// Whether `pops` was read from the callee's returns (a local callee whose probe saw
    /// them all agree) or is the convention's 0 (an import); not when a local callee's probe
    /// could not tell.
    pub(super) pops_known: bool,
}

pub(super) enum Target {
    Import(String),
    UnknownImport,
    Local,
}

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// The instruction at `addr`, decoded and interned once per library.
    pub(super) fn insn(&mut self, addr: u64) -> Option<Insn> {
        if let Some(i) = self.decoded.get(addr) {
            return i;
        }
        let started = crate::stats::start();
        let insn = self
            .image
            .read_code(self.lifter.code_address(addr), CODE_WINDOW)
            .ok()
            .and_then(|code| self.lifter.lift(&code, addr))
            .map(|l| Insn::from_lifted(l, &mut self.names));
        crate::stats::decoded(started);
        self.decoded.insert(addr, insn.as_ref());
        insn
    }

    pub(super) fn classify(&self, addr: u64) -> Target {
        let Ok(code) = self.image.read_code(self.lifter.code_address(addr), 32) else {
            return Target::UnknownImport;
        };
        match self.lifter.stub(&code, addr, self.image) {
            Some(Stub::Import(n)) => Target::Import(n),
            Some(Stub::Unknown) | Some(Stub::GotRelative(_)) => Target::UnknownImport,
            None => Target::Local,
        }
    }

    /// What a call does: whether it never returns, whether its target is an import the file
    /// does not name, and how many bytes of arguments it pops on return (x86 `ret N`). `got`
    /// is the caller's GOT base (i386 PIC `ebx`), which names the slot of an i386 PLT entry.
    ///
    /// Only a local callee's `ret N` is known, read from its own code. An import's is not: it
    /// counts as 0 (the platforms' C conventions leave arguments to the caller), but for the one
    /// exception, see the i386 struct return in [`Ctx::function`].
    pub(super) fn call_kind(&mut self, target: u64, got: Option<u64>) -> CallKind {
        match self.classify_with(target, got) {
            Target::Import(n) => CallKind {
                noreturn: is_noreturn_name(&n),
                unknown: false,
                may_return_struct: !n.trim_start_matches('_').starts_with("enif_"),
                pops: 0,
                pops_known: true,
            },
            Target::UnknownImport => CallKind {
                noreturn: false,
                unknown: true,
                may_return_struct: true,
                pops: 0,
                pops_known: true,
            },
            Target::Local => {
                let c = self.callee(target, 0);
                CallKind {
                    noreturn: !c.returns || self.is_noreturn_local(target),
                    unknown: false,
                    may_return_struct: false,
                    pops: c.pops.unwrap_or(0),
                    pops_known: c.pops.is_some(),
                }
            }
        }
    }

    pub(super) fn classify_with(&self, addr: u64, got: Option<u64>) -> Target {
        let Ok(code) = self.image.read_code(self.lifter.code_address(addr), 32) else {
            return Target::UnknownImport;
        };
        match self.lifter.stub(&code, addr, self.image) {
            Some(Stub::Import(n)) => Target::Import(n),
            Some(Stub::GotRelative(disp)) => {
                match got.and_then(|g| self.image.import_at(g.wrapping_add_signed(disp))) {
                    Some(n) => Target::Import(n),
                    None => Target::UnknownImport,
                }
            }
            Some(Stub::Unknown) => Target::UnknownImport,
            None => Target::Local,
        }
    }

    /// Whether `addr` is one of the library's own exported functions that never return.
    /// The register a call to `target` loads with its return address, when `target` is a
    /// PC thunk (`__x86.get_pc_thunk.bx`: i386 PIC).
    pub(super) fn pc_thunk_at(&self, target: u64) -> Option<&'static str> {
        let code = self
            .image
            .read_code(self.lifter.code_address(target), 8)
            .ok()?;
        self.lifter.pc_thunk(&code)
    }

    pub(super) fn is_noreturn_local(&self, addr: u64) -> bool {
        !self.noreturn_at.is_empty() && self.noreturn_at.contains(&self.lifter.code_address(addr))
    }

    /// Whether a local function can return.
    pub(super) fn may_return(&mut self, start: u64) -> bool {
        !self.is_noreturn_local(start) && self.callee(start, 0).returns
    }

    /// What a local function does for its callers: whether some path reaches a return, a tail
    /// call or something not followed, and the bytes its returns pop when they all agree.
    /// Calls inside count as returning unless to a no-return import (an i386 PLT entry is
    /// named through the GOT base the callee computes with `__x86.get_pc_thunk`) or to a local
    /// function that cannot return (followed [`MAX_CALLEE_DEPTH`] deep). Bounded by
    /// [`MAX_RETURN_PROBE_INSNS`] per function and [`MAX_LIBRARY_PROBE_INSNS`] per library:
    /// past either, it returns, and pops what the returns seen before pop (unknown if none).
    ///
    /// The pops come from the returns seen even when the walk did not see them all (a cap, a
    /// tail call, a jump table it does not follow): a function's returns all pop the same
    /// (the caller cleans up after each, so a compiler gives every return of one function the
    /// same `ret N`; gcc's i386 soft-fp helpers returning `_Float128` in memory are over the
    /// cap and all end in `ret $4`). Returns that disagree leave it unknown.
    pub(super) fn callee(&mut self, start: u64, depth: usize) -> Callee {
        if let Some(r) = self.callees.get(&start) {
            return *r;
        }
        let unknown = Callee {
            returns: true,
            pops: None,
        };
        if depth > MAX_CALLEE_DEPTH {
            return unknown;
        }
        // Assume it returns while probing (recursion).
        self.callees.insert(start, unknown);
        // Each path carries the one register known to hold a constant (the PIC GOT base).
        let mut todo: Vec<(u64, Option<(Reg, u64)>)> = vec![(start, None)];
        let mut seen = BTreeSet::new();
        let mut budget = MAX_RETURN_PROBE_INSNS;
        let mut returns = false;
        let mut pops: BTreeSet<u64> = BTreeSet::new();
        'walk: while let Some((mut pc, mut known)) = todo.pop() {
            loop {
                if !seen.insert(pc) {
                    continue 'walk;
                }
                if budget == 0 || self.probe_budget == 0 {
                    returns = true;
                    break 'walk;
                }
                budget -= 1;
                self.probe_budget -= 1;
                let Some(i) = self.insn(pc) else {
                    continue 'walk;
                };
                if let Some((r, v)) = known {
                    known = None;
                    for fx in i.fx.iter() {
                        if let Effect::AddImm { dst, src, imm } = *fx {
                            if dst == r && src == r {
                                known = Some((r, v.wrapping_add_signed(imm)));
                            }
                        }
                    }
                    if known.is_none() && !i.writes().contains(&r) {
                        known = Some((r, v));
                    }
                }
                match i.flow {
                    Go::Next | Go::IndirectCall => pc = i.next,
                    Go::Call(_)
                        if self
                            .function_ends
                            .contains(&self.lifter.code_address(i.next)) =>
                    {
                        continue 'walk
                    }
                    Go::Call(t) => {
                        if let Some(r) = self.pc_thunk_at(t) {
                            known = Some((self.names.intern(r), i.next));
                            pc = i.next;
                            continue;
                        }
                        let got = known.filter(|(r, _)| *r == self.ebx).map(|(_, v)| v);
                        match self.classify_with(t, got) {
                            Target::Import(n) if is_noreturn_name(&n) => continue 'walk,
                            Target::Local
                                if self.is_noreturn_local(t)
                                    || t != start && !self.callee(t, depth + 1).returns =>
                            {
                                continue 'walk
                            }
                            _ => {}
                        }
                        pc = i.next;
                    }
                    Go::Jump(t) => {
                        let got = known.filter(|(r, _)| *r == self.ebx).map(|(_, v)| v);
                        match self.classify_with(t, got) {
                            Target::Local if self.is_noreturn_local(t) => continue 'walk,
                            Target::Local => pc = t,
                            Target::Import(n) if is_noreturn_name(&n) => continue 'walk,
                            _ => {
                                returns = true;
                                continue 'walk;
                            }
                        }
                    }
                    Go::Cond(t, _) => {
                        todo.push((t, known));
                        pc = i.next;
                    }
                    Go::Ret { pop, .. } => {
                        returns = true;
                        pops.insert(pop);
                        continue 'walk;
                    }
                    Go::CondRet { .. } => {
                        returns = true;
                        pops.insert(0);
                        pc = i.next;
                    }
                    // A jump table or a tail call through a register: not followed.
                    Go::IndirectReg(_) | Go::IndirectMem { .. } => {
                        returns = true;
                        continue 'walk;
                    }
                    Go::Stop => continue 'walk,
                }
            }
        }
        // Pops are known when every return seen agrees.
        let pops = match pops.len() {
            1 => pops.first().copied(),
            _ => None,
        };
        let c = Callee { returns, pops };
        self.callees.insert(start, c);
        c
    }

    pub(super) fn canon_list(&self, regs: &[&str]) -> BTreeSet<String> {
        regs.iter()
            .map(|r| self.lifter.canonical_model(r))
            .collect()
    }

    /// Argument registers of every convention of this architecture.
    pub(super) fn all_arg_regs(&self) -> BTreeSet<String> {
        let arch = self.convention.arch;
        conventions::for_arch(arch)
            .flat_map(|c| c.int_args.iter())
            .map(|r| self.lifter.canonical_model(r))
            .collect()
    }

    pub(super) fn reserved_regs(&self) -> Vec<String> {
        reserved_of(self.convention)
    }
}
