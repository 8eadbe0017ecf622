//! The path walk: each entry point's code followed block by block along the lifted control
//! flow, with each instruction's effects applied to the state, and what the convention
//! forbids recorded on the way (clobbered callee-saved registers, stack imbalance, misaligned
//! calls, reserved registers). Tables, tail calls and returns end or fan out paths here.

use super::*;
impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// Whether the instruction after `i` starts an exported function (exports mode), this
    /// one included (a local helper it jumps to may sit just before it): only a call that
    /// never returns leads there without a jump. Likewise a call that ends an exported
    /// function's code (by its symbol's size).
    pub(super) fn falls_into_other(&self, i: &Insn) -> bool {
        let next = self.lifter.code_address(i.next);
        let into_start = !self.boundaries.is_empty()
            && matches!(i.flow, Go::Next | Go::Call(_) | Go::IndirectCall)
            && self.boundaries.contains(&next);
        let off_the_end =
            matches!(i.flow, Go::Call(_) | Go::IndirectCall) && self.function_ends.contains(&next);
        into_start || off_the_end
    }

    /// The callee-saved registers of `convention` (canonical), then the link register.
    pub(super) fn saved_of(&self, convention: &Convention) -> Vec<String> {
        let mut v: Vec<String> = self
            .canon_list(convention.callee_saved)
            .into_iter()
            .collect();
        if let Some(lr) = self.lifter.link_register() {
            v.push(lr.to_string());
        }
        v
    }

    pub(super) fn function(
        &mut self,
        name: &str,
        start: u64,
        nargs: usize,
    ) -> (FunctionAnalysis, Departures) {
        let callee_saved = self.saved_of(self.convention);
        let reserved = self.reserved_regs();
        let acc = self.trace(start, &callee_saved, &reserved, MAX_FUNCTION_INSNS);
        self.summarise(name, start, nargs, acc)
    }

    /// Follows the code from `start` for at most `budget` instructions, tracking
    /// `callee_saved` and `reserved` (the expected convention's, or more in the exports mode).
    ///
    /// A loop whose rounds each move the stack pointer (OpenSSL's ARMv4 SHA-512 grows its
    /// frame by 8 bytes a round and frees 80 rounds' worth after) leaves with a depth that
    /// depends on its count, which the engine may not know: paths that leave after other
    /// counts than the code's reach the return with the stack off. When a pass finds a
    /// departure and such loops, it runs again with the stack pointer given up at their
    /// heads (never reported, as after a merge of two depths), at most [`MAX_TRACE_PASSES`]
    /// times; a function without a departure keeps its first pass.
    pub(super) fn trace(
        &mut self,
        start: u64,
        callee_saved: &[String],
        reserved: &[String],
        budget: usize,
    ) -> Acc {
        let mut given_up: BTreeSet<u64> = BTreeSet::new();
        let (mut insns, mut states) = (0, 0);
        let mut pass = 1;
        loop {
            let (mut acc, varying) =
                self.trace_pass(start, callee_saved, reserved, budget, &given_up);
            let departed = !acc.unbalanced.is_empty()
                || !acc.clobbered.is_empty()
                || !acc.misaligned.is_empty();
            let before = given_up.len();
            given_up.extend(varying);
            if !departed
                || acc.capped.is_some()
                || given_up.len() == before
                || pass == MAX_TRACE_PASSES
            {
                acc.insns += insns;
                acc.states += states;
                return acc;
            }
            insns += acc.insns;
            states += acc.states;
            pass += 1;
        }
    }

    /// One pass of [`Ctx::trace`], with the stack pointer given up at the heads in
    /// `given_up`; also returns the blocks it reached at three or more stack depths a round
    /// apart (the heads of loops that move the stack pointer).
    fn trace_pass(
        &mut self,
        start: u64,
        callee_saved: &[String],
        reserved: &[String],
        budget: usize,
        given_up: &BTreeSet<u64>,
    ) -> (Acc, Vec<u64>) {
        let callee_saved = self.regs_of(callee_saved);
        let reserved = self.regs_of(reserved);
        let caller_saved: Vec<Reg> = self
            .canon_list(self.convention.caller_saved)
            .iter()
            .map(|r| self.names.intern(r))
            .collect();
        let arg_regs: Vec<Reg> = self
            .all_arg_regs()
            .iter()
            .map(|r| self.names.intern(r))
            .collect();
        let sp = self.sp;
        let ra = self.lifter.return_address_size();
        let align = i64::from(self.convention.stack_align.max(1));
        let mut acc = Acc::default();
        let mut init = State::new();
        init.set(sp, Val::SpPlus(0));
        for (r, v) in self.lifter.entry_constants(start) {
            let r = self.names.intern(r);
            init.set(r, Val::Const(v));
        }
        let mut visited: FxHashMap<u64, Vec<State>> = FxHashMap::default();
        let mut todo: Vec<(u64, State)> = vec![(start, init)];
        let mut budget = budget;
        let frame = self.frame_check(start);
        let mut varying: Vec<u64> = Vec::new();
        'paths: while let Some((mut pc, mut st)) = todo.pop() {
            if acc.capped.is_some() {
                break;
            }
            if given_up.contains(&pc) && matches!(st.get(sp), Val::SpPlus(_) | Val::AlPlus { .. }) {
                st.set(sp, Val::Top);
                st.depth_given_up = true;
            }
            // A path the compiler's frame table rules out ends before it merges (frames.rs).
            if let Some(check) = &frame {
                if self.frame_disagrees(check, pc, &st) {
                    continue;
                }
            }
            // Record the state at this branch target; skip it if already seen.
            let states = visited.entry(pc).or_default();
            if states.contains(&st) {
                continue;
            }
            // Past the cap a state merges with one that holds the same flags (flags.rs):
            // merging flags the code tells apart (OpenSSL's SHA-1 runs one loop twice, with
            // carry clear, then set, and another stack depth) would bring back the paths they
            // rule out. A few more states may hold other flags; past those, any two merge.
            // Without flags (every architecture but 32-bit Arm) this is the latest state.
            let same_flags = if states.len() >= MAX_STATES_PER_BLOCK {
                states.iter().rposition(|s| s.flags == st.flags)
            } else {
                None
            };
            if states.len() >= MAX_STATES_PER_BLOCK
                && (same_flags.is_some() || states.len() >= MAX_STATES_PER_BLOCK_FLAGS)
            {
                let popped = match same_flags {
                    Some(k) => states.remove(k),
                    None => states.pop().unwrap_or_else(|| st.clone()),
                };
                let mut merged = popped.clone();
                merged.merge(&st);
                // A merge that changes nothing was explored already: without this check a
                // loop whose state alternates (a stack slot stored as unknown, then dropped
                // by the merge) re-runs until the instruction cap.
                if merged == popped || states.contains(&merged) || merged == st && states.is_empty()
                {
                    states.push(merged);
                    continue;
                }
                states.push(merged.clone());
                st = merged;
            } else {
                states.push(st.clone());
                if states.len() >= 3 && !varying.contains(&pc) && moves_each_round(states, sp) {
                    varying.push(pc);
                }
            }
            acc.states += 1;
            if visited.len() > MAX_BLOCKS {
                acc.capped = Some("blocks");
                break;
            }
            loop {
                if budget == 0 {
                    acc.capped = Some("instructions");
                    break 'paths;
                }
                if self.library_budget == 0 {
                    acc.capped = Some("library");
                    break 'paths;
                }
                budget -= 1;
                self.library_budget -= 1;
                acc.insns += 1;
                let Some(i) = self.insn(pc) else {
                    continue 'paths;
                };
                if let Some(check) = &frame {
                    if self.frame_disagrees(check, pc, &st) {
                        continue 'paths;
                    }
                }
                self.step(
                    &i,
                    &mut st,
                    &arg_regs,
                    &callee_saved,
                    &reserved,
                    &mut acc,
                    ra,
                );
                if self.falls_into_other(&i) {
                    continue 'paths;
                }
                match i.flow {
                    Go::Next => pc = i.next,
                    Go::Jump(t) => match self.classify(t) {
                        Target::Local if self.is_noreturn_local(t) => continue 'paths,
                        Target::Local => {
                            todo.push((t, st));
                            continue 'paths;
                        }
                        Target::Import(n) if is_noreturn_name(&n) => continue 'paths,
                        _ => {
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                            continue 'paths;
                        }
                    },
                    Go::Cond(t, bound) => {
                        let mut not_taken = st.clone();
                        let cmp = st.cmp.filter(|c| *c >= 0).map(|c| c as u64);
                        // The bound holds on one path; on the other the compared register
                        // is over it, and an earlier bound (of some other compare) must
                        // not size a table there.
                        match bound {
                            Bound::AtMost | Bound::Below => {
                                not_taken.bound =
                                    cmp.map(|c| c + u64::from(bound == Bound::AtMost));
                                st.bound = None;
                            }
                            Bound::TakenAtMost | Bound::TakenBelow => {
                                st.bound = cmp.map(|c| c + u64::from(bound == Bound::TakenAtMost));
                                not_taken.bound = None;
                            }
                            Bound::None | Bound::Equal => {}
                        }
                        if bound == Bound::Equal {
                            // `cmp sp, x16; b.ne loop`: the loop ends with sp at x16's value.
                            if let Some((_, a, b)) =
                                st.cmp_regs.filter(|(at, _, _)| *at == i.address)
                            {
                                let (va, vb) = (not_taken.get(a), not_taken.get(b));
                                if a == sp && matches!(vb, Val::SpPlus(_)) {
                                    not_taken.set(a, vb);
                                } else if b == sp && matches!(va, Val::SpPlus(_)) {
                                    not_taken.set(b, va);
                                }
                            }
                        }
                        // A condition the flags decide takes one way; each side keeps
                        // what it learnt (flags.rs).
                        if let Some(cond) = i.taken_if() {
                            let holds = flags::holds(cond);
                            st.flags &= holds;
                            not_taken.flags &= !holds;
                        }
                        if st.flags != 0 {
                            todo.push((t, st));
                        }
                        if not_taken.flags != 0 {
                            todo.push((i.next, not_taken));
                        }
                        continue 'paths;
                    }
                    Go::Call(t) if t == i.next && ra > 0 => {
                        // `call 1f; 1: pop REG` (i386 PIC): a push of the program counter.
                        if let Val::SpPlus(k) = st.get(sp) {
                            st.set(sp, Val::SpPlus(k - ra));
                            st.put_slot((0, k - ra), Val::Const(t));
                        } else {
                            st.set(sp, Val::Unknown);
                        }
                        pc = i.next;
                    }
                    Go::Call(t) => {
                        if let Some(r) = self.pc_thunk_at(t) {
                            let r = self.names.intern(r);
                            st.set(r, Val::Const(i.next));
                            pc = i.next;
                            continue;
                        }
                        let got = match st.get(self.ebx) {
                            Val::Const(c) => Some(c),
                            _ => None,
                        };
                        let call = self.call_kind(t, got);
                        if call.noreturn {
                            continue 'paths;
                        }
                        if call.unknown && self.image_names_imports_poorly() {
                            st.uncertain = true;
                        }
                        if self.arch == Arch::S390x && st.get(sp) == Val::SpPlus(0) {
                            self.callee_may_save(&mut st);
                        }
                        self.check_alignment(&i, &st, ra, align, &mut acc);
                        self.after_call(&mut st, &caller_saved, &i);
                        // A callee that ends with `ret N` pops N bytes of our outgoing
                        // arguments (an i386 struct return's hidden pointer, stdcall helpers).
                        if (call.may_return_struct || !call.pops_known)
                            && self.arch == Arch::X86
                            && first_arg_in_frame(&st, sp)
                        {
                            // An i386 SysV function that returns a struct in memory pops its
                            // hidden pointer (`ret $4`), and its first argument is then an
                            // address in the caller's frame. An import's code is not in this
                            // file, so whether it pops is not known: the stack pointer is
                            // lost on this path rather than guessed. The NIF API is exempt:
                            // erl_nif.h declares no enif_* function returning a struct.
                            // Likewise a local callee whose returns its probe could not tell
                            // (cut short by its budget or a direct tail call).
                            st.set(sp, Val::Top);
                        } else if call.pops > 0 {
                            let after = match st.get(sp) {
                                Val::SpPlus(k) => Val::SpPlus(k.wrapping_add(call.pops as i64)),
                                Val::AlPlus { align, off, frame } => Val::AlPlus {
                                    align,
                                    off: off.wrapping_add(call.pops as i64),
                                    frame,
                                },
                                v => v,
                            };
                            st.set(sp, after);
                        }
                        pc = i.next;
                    }
                    Go::IndirectCall => {
                        match i.call_via.map(|r| st.get(r)) {
                            Some(Val::Import(n)) if is_noreturn_name(self.symbols.name(n)) => {
                                continue 'paths
                            }
                            // A PIC call through a local GOT entry (MIPS `lw $t9, f($gp);
                            // jalr $t9` to the library's own `__stack_chk_fail`).
                            Some(Val::Const(t)) if self.is_noreturn_local(t) => continue 'paths,
                            _ => {}
                        }
                        self.check_alignment(&i, &st, ra, align, &mut acc);
                        self.after_call(&mut st, &caller_saved, &i);
                        pc = i.next;
                    }
                    Go::IndirectReg(r) => {
                        if let Some(targets) = self.table_targets(&st.get(r), &st, start) {
                            // Each target is a path to explore: counted like instructions.
                            budget = budget.saturating_sub(targets.len());
                            self.library_budget = self.library_budget.saturating_sub(targets.len());
                            for t in &targets {
                                todo.push((*t, st.clone()));
                            }
                            self.tables.insert(i.address, targets);
                        } else if st.get(sp) == Val::SpPlus(0) {
                            // A tail call through a register.
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                        }
                        continue 'paths;
                    }
                    Go::IndirectMem {
                        base,
                        index,
                        scale,
                        disp,
                    } => {
                        if index && base.is_none() && u64::from(scale) == self.pointer_bytes() {
                            // `jmp [T + idx*8]`: a table of absolute pointers.
                            if let Some(n) = st.bound.filter(|n| *n <= MAX_TABLE_ENTRIES) {
                                let targets: Vec<u64> = (0..n)
                                    .filter_map(|k| {
                                        self.image.pointer(
                                            (disp as u64).wrapping_add(k * u64::from(scale)),
                                        )
                                    })
                                    .filter(|t| near(*t, start))
                                    .collect();
                                budget = budget.saturating_sub(targets.len());
                                self.library_budget =
                                    self.library_budget.saturating_sub(targets.len());
                                for t in targets {
                                    todo.push((t, st.clone()));
                                }
                            }
                        } else if !index && st.get(sp) == Val::SpPlus(0) {
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                        }
                        continue 'paths;
                    }
                    Go::Ret { pop, via } => {
                        // `bx lr` where lr holds a jump table's target, not the return
                        // address (gcc's Thumb-2 PIC tables: `adr lr, T; ldr r0, [lr, r0,
                        // lsl #2]; add lr, r0; bx lr`): a jump to each case.
                        if let Some(targets) =
                            via.and_then(|r| self.table_targets(&st.get(r), &st, start))
                        {
                            for t in &targets {
                                todo.push((*t, st.clone()));
                            }
                            self.tables.insert(i.address, targets);
                            continue 'paths;
                        }
                        self.exit(&i, &st, &callee_saved, &mut acc, Some((pop, via)));
                        continue 'paths;
                    }
                    Go::CondRet { via } => {
                        self.exit(&i, &st, &callee_saved, &mut acc, Some((0, via)));
                        pc = i.next;
                    }
                    Go::Stop => continue 'paths,
                }
            }
        }
        acc.finish(&self.names);
        (acc, varying)
    }

    /// Mach-O and PE images carry no names for their import slots here, so a call to an
    /// import may be to `abort`.
    pub(super) fn image_names_imports_poorly(&self) -> bool {
        true
    }

    /// `a + (b << shift)`: a jump-table target, a stack address moved by a register, or a
    /// constant.
    pub(super) fn sum(&self, a: Val, b: Val, shift: u8) -> Val {
        let mips = matches!(self.arch, Arch::Mips | Arch::Mips64);
        match (a, b) {
            (
                Val::Const(base),
                Val::TableEntry {
                    table,
                    size,
                    signed,
                },
            )
            | (
                Val::TableEntry {
                    table,
                    size,
                    signed,
                },
                Val::Const(base),
            ) => Val::TableTarget {
                table,
                size,
                signed,
                base,
                shift,
            },
            // A frame over 4 KiB freed by a register (`add sp, sp, x12` on
            // AArch64, `lui t0, 0xfffff; add sp, sp, t0` on RISC-V), in either
            // operand order; a 32-bit target's sum wraps at 32 bits.
            (Val::SpPlus(k), Val::Const(c)) | (Val::Const(c), Val::SpPlus(k)) if shift == 0 => {
                let c = if self.pointer_bytes() == 4 {
                    i64::from(c as u32 as i32)
                } else {
                    c as i64
                };
                Val::SpPlus(k.wrapping_add(c))
            }
            (Val::AlPlus { align, off, frame }, Val::Const(c)) if shift == 0 => Val::AlPlus {
                align,
                off: off.wrapping_add(c as i64),
                frame,
            },
            // MIPS PIC: gp from $t9 and the GOT offset.
            (Val::Const(x), Val::Const(y)) => {
                Val::Const(x.wrapping_add(y.wrapping_shl(u32::from(shift))))
            }
            (Val::Const(c), v) | (v, Val::Const(c)) if mips && v != Val::Top => Val::Indexed(c),
            _ => Val::Unknown,
        }
    }

    /// s390x: a callee keeps the callee-saved registers it changes in its caller's register
    /// save area (rN at 8 × N above the stack pointer it is called with). A caller that has
    /// no frame of its own calls with its entry stack pointer, so that area is its own: after
    /// the call each of those slots holds what it held or the register's value at the call,
    /// whichever the callee's path did (OpenSSL's hand-written `AES_set_decrypt_key` reloads
    /// r6–r13 that `AES_set_encrypt_key` stored there). A slot that held that value keeps it.
    /// When the value at the call is the register's entry value, the slot may hold the right
    /// value and is lost (never reported); otherwise neither choice is right, and a slot the
    /// path never wrote takes the value at the call, which a reload then shows as changed.
    fn callee_may_save(&mut self, st: &mut State) {
        let saved: Vec<(i64, Reg)> = self
            .canon_list(self.convention.callee_saved)
            .iter()
            .filter_map(|r| {
                let n: i64 = r.strip_prefix('r')?.parse().ok()?;
                Some((n, self.names.intern(r)))
            })
            .collect();
        for (n, r) in saved {
            let key = (0, n.wrapping_mul(8));
            let at_call = st.get(r);
            let after = match st.slot(key) {
                Some(v) if *v == at_call => continue,
                None if at_call != Val::Entry(r) && !st.slots_full => at_call,
                _ => Val::Top,
            };
            st.put_slot(key, after);
        }
    }

    pub(super) fn pointer_bytes(&self) -> u64 {
        u64::from(self.image.pointer_size())
    }

    pub(super) fn after_call(&self, st: &mut State, caller_saved: &[Reg], i: &Insn) {
        for r in caller_saved {
            st.set(*r, Val::Unknown);
        }
        for r in i.writes() {
            if *r != self.sp {
                st.set(*r, Val::Unknown);
            }
        }
        st.cmp = None;
        st.cmp_regs = None;
        st.flags = flags::ANY;
    }

    pub(super) fn check_alignment(&self, i: &Insn, st: &State, ra: i64, align: i64, acc: &mut Acc) {
        if st.uncertain {
            return;
        }
        let off = match st.get(self.sp) {
            // Entry SP is aligned minus the pushed return address.
            Val::SpPlus(k) => k - ra,
            Val::AlPlus { align: a, off, .. } if a as i64 >= align => off,
            _ => return,
        };
        if off.rem_euclid(align) != 0 {
            acc.misaligned.entry(i.address).or_insert(off);
        }
    }

    /// The value of `mem[base + disp]`: a tracked stack slot, an import named by a GOT slot,
    /// or unknown. A read of the caller's frame is remembered as a stack argument.
    pub(super) fn load_value(
        &mut self,
        st: &State,
        base: Reg,
        disp: i64,
        acc: &mut Acc,
        ra: i64,
    ) -> Val {
        let mips = matches!(self.arch, Arch::Mips | Arch::Mips64);
        let missing = if st.slots_full {
            Val::Top
        } else {
            Val::Unknown
        };
        match st.get(base) {
            Val::SpPlus(k) => {
                let at = k.wrapping_add(disp);
                let slot = st.slot((0, at));
                if at >= ra && slot.is_none() && ra > 0 {
                    acc.stack_args.insert(at);
                }
                slot.copied().unwrap_or(missing)
            }
            // A slot of a realigned frame not written through it may be one written through
            // the entry stack pointer (the distance between the two is not known): its value
            // is not known to be wrong.
            Val::AlPlus { off, frame, .. } => st
                .slot((frame, off.wrapping_add(disp)))
                .copied()
                .unwrap_or(Val::Top),
            // A GOT slot the loader fills with an import's address, or (MIPS) a
            // local GOT entry it rebases.
            Val::Const(c) => match self.image.fixup_at(c.wrapping_add_signed(disp)) {
                Some(Fixup::Symbol { name, .. }) => Val::Import(self.symbols.intern(name)),
                Some(Fixup::Relative(v)) if mips => Val::Const(*v),
                // A local entry of the MIPS GOT that holds link-time address 0
                // (a page) has no fixup: its word is what the loader rebases.
                None if mips && mips::is_got_pointer(self.image, c) => self
                    .image
                    .read_word(c.wrapping_add_signed(disp))
                    .map_or(Val::Unknown, Val::Const),
                _ => Val::Unknown,
            },
            // A slot of a stack the analysis lost track of (an offset it cannot
            // follow, or paths merged with different offsets): its value is not
            // known to be wrong, so it is never reported.
            _ if base == self.sp => Val::Top,
            // The same through a copy of such a stack pointer: OpenSSL's perlasm
            // sha512_block_data_order_avx2 moves rsp down in its rounds' loop (so the paths
            // merge with different offsets), then reloads its entry rsp through `lea rbp,
            // [rsp]; mov rsi, [rbp + 0x98]` and restores the callee-saved registers from it.
            Val::Top => Val::Top,
            _ => Val::Unknown,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn step(
        &mut self,
        i: &Insn,
        st: &mut State,
        arg_regs: &[Reg],
        callee_saved: &[Reg],
        reserved: &[Reg],
        acc: &mut Acc,
        ra: i64,
    ) {
        if !i.reads_are_not_uses {
            // Storing a callee-saved register's entry value (Win64 saves rsi/rdi into its home
            // space with mov) saves it; it does not use it as an argument.
            let saves_only = !i.fx.is_empty()
                && i.fx.iter().all(
                    |fx| matches!(fx, Effect::Store { src, .. } if callee_saved.contains(src)),
                );
            // SPARC's `save` renames the arguments (the caller's `%o0` is the callee's `%i0`,
            // a copy the lifter writes out): there a read of a register still holding an
            // argument's entry value under another name reads that argument.
            let windowed = matches!(self.arch, Arch::Sparc | Arch::Sparc64);
            for r in i.reads() {
                if saves_only && callee_saved.contains(r) {
                    continue;
                }
                match st.get(*r) {
                    Val::Entry(a) if a == *r && arg_regs.contains(r) => {
                        acc.ids.args_read.insert(*r);
                    }
                    Val::Entry(a) if windowed && a != *r && arg_regs.contains(&a) => {
                        acc.ids.args_read.insert(a);
                    }
                    _ => {}
                }
            }
        }
        for fx in i.fx.iter() {
            match *fx {
                Effect::Copy { dst, src } => {
                    let v = st.get(src);
                    st.set(dst, v);
                }
                Effect::AddImm { dst, src, imm } => {
                    let v = match st.get(src) {
                        Val::SpPlus(k) => Val::SpPlus(k.wrapping_add(imm)),
                        Val::Const(c) => Val::Const(c.wrapping_add_signed(imm)),
                        Val::AlPlus { align, off, frame } => Val::AlPlus {
                            align,
                            off: off.wrapping_add(imm),
                            frame,
                        },
                        Val::Top => Val::Top,
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::AddRegs { dst, a, b, shift } => {
                    let v = self.sum(st.get(a), st.get(b), shift);
                    st.set(dst, v);
                }
                Effect::AddExtended {
                    dst,
                    a,
                    b,
                    shift,
                    bits,
                    signed,
                } => {
                    let v = self.sum(st.get(a), extended(st.get(b), bits, signed), shift);
                    st.set(dst, v);
                }
                Effect::Const { dst, value } => {
                    st.set(dst, Val::Const(value));
                }
                Effect::Store { src, base, disp } => {
                    let v = st.get(src);
                    store_slot(st, base, disp, v);
                }
                Effect::StoreConst { value, base, disp } => {
                    store_slot(st, base, disp, Val::Const(value));
                }
                Effect::StoreUnknown { base, disp } => {
                    store_slot(st, base, disp, Val::Unknown);
                }
                Effect::CopyMem {
                    from,
                    from_disp,
                    base,
                    disp,
                } => {
                    let v = self.load_value(st, from, from_disp, acc, ra);
                    store_slot(st, base, disp, v);
                }
                Effect::Load { dst, base, disp } => {
                    let v = self.load_value(st, base, disp, acc, ra);
                    st.set(dst, v);
                }
                Effect::LoadIndexed {
                    dst,
                    base,
                    disp,
                    size,
                    signed,
                } => {
                    let b = match base {
                        None => Some(0),
                        Some(base) => match st.get(base) {
                            Val::Const(c) | Val::Indexed(c) => Some(c),
                            _ => None,
                        },
                    };
                    let v = b.map_or(Val::Unknown, |b| Val::TableEntry {
                        table: b.wrapping_add_signed(disp),
                        size,
                        signed,
                    });
                    st.set(dst, v);
                }
                Effect::Align { dst, src, align } => {
                    let v = match st.get(src) {
                        Val::SpPlus(_) | Val::AlPlus { .. } => Val::AlPlus {
                            align,
                            off: 0,
                            frame: REALIGNED,
                        },
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::Swap { a, b } => {
                    let (va, vb) = (st.get(a), st.get(b));
                    st.set(a, vb);
                    st.set(b, va);
                }
                Effect::CmpImm { imm } => {
                    // A bound comes from the latest compare's branch: an older one (of another
                    // register, say, before a `cmp; cmovb` clamp) must not size a table.
                    st.cmp = Some(imm);
                    st.bound = None;
                }
                Effect::CmpRegs { a, b } => {
                    // The latest compare is of two registers: no constant bounds a table,
                    // unless (32-bit Arm, whose immediates are short) the second holds a
                    // known one (`movw r3, #341; cmp r4, r3; bhi`).
                    st.cmp = match st.get(b) {
                        Val::Const(c) if self.arch == Arch::Arm && c <= u64::from(u32::MAX) => {
                            Some(c as i64)
                        }
                        _ => None,
                    };
                    st.cmp_regs = Some((i.next, a, b));
                }
                Effect::ForgetFlags(mask) => st.flags = flags::forget(st.flags, mask),
                Effect::CompareFlags { a, imm, add } => {
                    let known = match st.get(a) {
                        Val::Const(c) => Some(c),
                        _ => None,
                    };
                    st.flags = flags::compare(known, imm, add);
                }
                // Read by the flow (below, in `trace`).
                Effect::TakenIf(_) => {}
                Effect::SubRegs { dst, a, b } => {
                    let v = match (st.get(a), st.get(b)) {
                        (Val::SpPlus(k), Val::Const(c)) => Val::SpPlus(k.wrapping_sub(c as i64)),
                        (Val::AlPlus { align, off, frame }, Val::Const(c)) => Val::AlPlus {
                            align,
                            off: off.wrapping_sub(c as i64),
                            frame,
                        },
                        // `and rsp, -64; sub rsp, rcx`, rcx worked out at run time (OpenSSL's
                        // perlasm AES_encrypt and Camellia_cbc_encrypt keep their frame off
                        // the key schedule's cache lines): the stack pointer moves down an
                        // unknown distance from a realigned one. Its slots are then a frame
                        // of their own, counted from here, so that the entry stack pointer
                        // the code stores in one (`mov rax, [rsp + 0x18]`) is read back
                        // when it restores the callee-saved registers through it. Only the
                        // stack pointer is moved so: any other register is a pointer into
                        // the stack the analysis does not follow.
                        (Val::AlPlus { .. }, Val::Unknown) if dst == self.sp && a == self.sp => {
                            st.rebase_moved_frame();
                            Val::AlPlus {
                                align: 1,
                                off: 0,
                                frame: MOVED,
                            }
                        }
                        (Val::Const(x), Val::Const(y)) => Val::Const(x.wrapping_sub(y)),
                        (Val::SpPlus(x), Val::SpPlus(y)) => Val::Const(x.wrapping_sub(y) as u64),
                        (Val::Top, _) | (_, Val::Top) => Val::Top,
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::InsertImm { dst, imm, shift } => {
                    let v = match st.get(dst) {
                        Val::Const(c) => {
                            let s = u32::from(shift);
                            let mask = 0xffffu64.checked_shl(s).unwrap_or(0);
                            Val::Const((c & !mask) | imm.checked_shl(s).unwrap_or(0))
                        }
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
            }
        }
        for w in i.undefined() {
            st.set(*w, Val::Unknown);
        }
        for w in i.touched() {
            let w = *w;
            if w != self.sp && callee_saved.contains(&w) && st.get(w) != Val::Entry(w) {
                st.set_changed_at(w, i.address);
            }
            if reserved.contains(&w) && !i.protocol_write && !self.reserved_value_ok(w, &st.get(w))
            {
                acc.ids.reserved.entry(w).or_insert(i.address);
            }
        }
    }

    /// Whether a write leaves a reserved register with the value the platform wants there
    /// anyway: MIPS code may keep the GOT pointer in another register and copy it into gp
    /// before each call (clang's o32 `move $gp, $s0`), or restore the caller's gp.
    pub(super) fn reserved_value_ok(&self, reg: Reg, v: &Val) -> bool {
        match (self.arch, v) {
            (Arch::Mips | Arch::Mips64, Val::Entry(r)) => *r == reg,
            (Arch::Mips | Arch::Mips64, Val::Const(c)) => {
                reg == self.gp && mips::is_got_pointer(self.image, *c)
            }
            _ => false,
        }
    }

    pub(super) fn table_targets(&self, v: &Val, st: &State, start: u64) -> Option<Vec<u64>> {
        let Val::TableTarget {
            table,
            size,
            signed,
            base,
            shift,
        } = *v
        else {
            return None;
        };
        let n = st.bound.filter(|n| *n > 0 && *n <= MAX_TABLE_ENTRIES)?;
        let mut out = Vec::new();
        for k in 0..n {
            let bytes = self
                .image
                .read_bytes(table + k * u64::from(size), usize::from(size))
                .ok()?;
            let mut raw: u64 = 0;
            let little = !self.image.big_endian();
            for (j, b) in bytes.iter().enumerate() {
                let shift = if little {
                    8 * j
                } else {
                    8 * (bytes.len() - 1 - j)
                };
                raw |= u64::from(*b) << shift;
            }
            let val = if signed {
                let bits = 8 * u32::from(size);
                ((raw << (64 - bits)) as i64) >> (64 - bits)
            } else {
                raw as i64
            };
            let t = base.wrapping_add_signed(val.wrapping_shl(u32::from(shift)));
            // A 32-bit machine's sum wraps at 32 bits: a word entry read unsigned that holds a
            // negative offset (gcc's Thumb-2 tables point back before the table) lands there.
            let t = if self.pointer_bytes() == 4 {
                t & 0xffff_ffff
            } else {
                t
            };
            if !near(t, start) || !self.image.is_mapped(t) {
                return None;
            }
            out.push(t);
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

/// Whether the states recorded at a block hold three or more stack depths (offsets from the
/// entry stack pointer) a constant, non-zero step apart: a loop whose every round moves the
/// stack pointer by that step. Two depths are an if/else whose sides differ.
fn moves_each_round(states: &[State], sp: Reg) -> bool {
    let mut depths: Vec<i64> = states
        .iter()
        .filter_map(|s| match s.get(sp) {
            Val::SpPlus(k) => Some(k),
            _ => None,
        })
        .collect();
    depths.sort_unstable();
    depths.dedup();
    depths.len() >= 3
        && depths
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) == depths[1].wrapping_sub(depths[0]))
}
