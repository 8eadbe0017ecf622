//! A walk's end turned into the function's observations: what each exit leaves (callee-saved
//! registers, the stack, `ret N`), the departures from the convention, and which of the
//! platform's conventions the code fits best.

use super::*;

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    pub(super) fn exit(
        &self,
        i: &Insn,
        st: &State,
        callee_saved: &[Reg],
        acc: &mut Acc,
        ret: Option<(u64, Option<Reg>)>,
    ) {
        acc.exits += 1;
        if st.uncertain {
            return;
        }
        match st.get(self.sp) {
            Val::SpPlus(0) => {}
            Val::SpPlus(k) => {
                acc.unbalanced.entry(i.address).or_insert(k);
            }
            _ => {}
        }
        if let Some((pop, via)) = ret {
            if pop > 0 {
                acc.cleanup.entry(i.address).or_insert(pop);
            }
            // A return through another register than lr is only a bug if it is not lr's
            // entry value; after a loop whose count set the stack depth, one loaded from the
            // stack given up is not judged.
            if let Some(v) = via {
                if Some(v) != self.link {
                    let ok = st.get(v) == Val::Entry(self.lr)
                        || st.depth_given_up && st.get(v) == Val::Top;
                    if !ok {
                        acc.ids
                            .clobbered
                            .entry(self.lr)
                            .or_insert((i.address, i.address));
                    }
                }
            }
        }
        for r in callee_saved {
            let r = *r;
            // On a tail call lr is the callee's to use: it holds our return address only if
            // we restored it, which the callee's return then checks.
            if ret.is_none() && Some(r) == self.link {
                continue;
            }
            if ret.is_some() && Some(r) == self.link && ret.and_then(|r| r.1) != self.link {
                continue;
            }
            match st.get(r) {
                Val::Top => {}
                v if v == Val::Entry(r) => {}
                _ => {
                    let at = st.changed_at(r).unwrap_or(i.address);
                    acc.ids.clobbered.entry(r).or_insert((at, i.address));
                }
            }
        }
    }

    pub(super) fn summarise(
        &self,
        name: &str,
        start: u64,
        nargs: usize,
        acc: Acc,
    ) -> (FunctionAnalysis, Departures) {
        let start = self.lifter.code_address(start);
        let expected = self.convention;
        let cleanup = acc.cleanup.values().copied().max().unwrap_or(0);
        let (consistent, best) = self.best_match(&acc.args_read, cleanup, nargs);
        let matches_best = if consistent { None } else { best.clone() };
        let args: Vec<String> = acc.args_read.iter().cloned().collect();
        let argument_registers: Vec<String> = expected
            .int_args
            .iter()
            .take(nargs)
            .map(|r| self.lifter.canonical_model(r))
            .collect();
        let departures = self.departures(name, start, &acc, argument_registers, |_| true);
        let departures = Departures {
            arguments: nargs,
            fits_convention: consistent,
            best_match: best,
            ..departures
        };
        let mut touched: Vec<String> = acc.clobbered.keys().cloned().collect();
        touched.sort();
        let fa = FunctionAnalysis {
            name: name.to_string(),
            address: start,
            observed: Observed {
                args_read: args,
                stack_args_read: acc.stack_args.iter().copied().collect(),
                callee_saved_touched: touched,
                cleanup,
                stack_balanced: acc.unbalanced.is_empty(),
                exits: acc.exits,
            },
            expected_convention: expected.id.to_string(),
            matches_best,
            capped: acc.capped.map(str::to_string),
            instructions: acc.insns,
            matches: None,
        };
        (fa, departures)
    }

    /// The departures `acc` records from the convention this context holds code to, at code
    /// address `start`; `kept` says which clobbered registers that convention keeps (the
    /// exports mode tracks more). Fit is left unknown (`fits_convention` false, no match).
    pub(super) fn departures(
        &self,
        name: &str,
        start: u64,
        acc: &Acc,
        argument_registers: Vec<String>,
        kept: impl Fn(&str) -> bool,
    ) -> Departures {
        Departures {
            name: name.to_string(),
            address: start,
            convention: self.convention,
            arguments: 0,
            argument_registers,
            args_read: acc.args_read.iter().cloned().collect(),
            fits_convention: false,
            best_match: None,
            cleanup: acc.cleanup.values().copied().max().unwrap_or(0),
            cleanup_at: acc.cleanup.keys().next().copied(),
            clobbered: acc
                .clobbered
                .iter()
                .filter(|(reg, _)| kept(reg))
                .map(|(reg, (changed, exit))| Clobber {
                    register: reg.clone(),
                    changed_at: *changed,
                    exit_at: *exit,
                    link_register: Some(reg.as_str()) == self.lifter.link_register(),
                })
                .collect(),
            unbalanced: acc.unbalanced.iter().map(|(a, k)| (*a, *k)).collect(),
            misaligned: acc.misaligned.iter().map(|(a, k)| (*a, *k)).collect(),
            reserved: acc.reserved.iter().map(|(r, a)| (r.clone(), *a)).collect(),
            capped: acc.capped,
            stack_pointer: self.lifter.sp(),
        }
    }

    /// Whether the observation fits the expected convention, and the model convention of
    /// this architecture it fits best.
    pub(super) fn best_match(
        &self,
        args_read: &BTreeSet<String>,
        cleanup: u64,
        nargs: usize,
    ) -> (bool, Option<String>) {
        let fits = |c: &Convention| -> Option<usize> {
            if !c.is_calling_convention {
                return None;
            }
            let regs: BTreeSet<String> = c
                .int_args
                .iter()
                .take(nargs)
                .map(|r| self.lifter.canonical_model(r))
                .collect();
            let saved = self.canon_list(c.callee_saved);
            if args_read
                .iter()
                .any(|r| !regs.contains(r) && !saved.contains(r))
            {
                return None;
            }
            let on_stack = nargs.saturating_sub(c.int_args.len().min(nargs)) as u64;
            let want_cleanup = match c.stack_cleanup {
                Cleanup::Callee => on_stack * u64::from(c.stack_args.slot_size),
                _ => 0,
            };
            if cleanup != want_cleanup {
                return None;
            }
            Some(args_read.intersection(&regs).count() * 2 + usize::from(cleanup > 0))
        };
        // Reading a register the expected convention has callee-saved fits it (the code may
        // read what it saves), unless another convention passes arguments in exactly the
        // registers read: then the code takes its arguments there (sysv_abi on Windows reads
        // rdi and rsi, which Win64 keeps callee-saved).
        let expected_args: BTreeSet<String> = self
            .convention
            .int_args
            .iter()
            .take(nargs)
            .map(|r| self.lifter.canonical_model(r))
            .collect();
        let borrows_saved = args_read.iter().any(|r| !expected_args.contains(r));
        let read_as_arguments_elsewhere = || {
            conventions::for_arch(self.convention.arch).any(|c| {
                c.id != self.convention.id
                    && c.is_calling_convention
                    && args_read.iter().all(|r| {
                        c.int_args
                            .iter()
                            .take(nargs)
                            .any(|a| self.lifter.canonical_model(a) == *r)
                    })
            })
        };
        let consistent =
            fits(self.convention).is_some() && !(borrows_saved && read_as_arguments_elsewhere());
        let mut best: Option<(usize, &'static str)> = None;
        let mut ties: Vec<&'static str> = Vec::new();
        for c in conventions::for_arch(self.convention.arch) {
            if c.id == self.convention.id {
                continue;
            }
            if let Some(score) = fits(c) {
                match best {
                    Some((s, _)) if s > score => {}
                    Some((s, _)) if s == score => ties.push(c.id),
                    _ => {
                        best = Some((score, c.id));
                        ties.clear();
                    }
                }
            }
        }
        let best = best.map(|(_, id)| {
            if ties.is_empty() {
                id.to_string()
            } else {
                format!("{id} (or {})", ties.join(", "))
            }
        });
        let _ = self.arch;
        (consistent, best)
    }
}
