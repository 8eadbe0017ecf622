//! The instruction-set sweep: every instruction reachable from the roots, for the CPU
//! features the code needs and whether it probes the CPU first (`floor` turns the result
//! into a floor).

use super::*;

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// Reachability sweep from every root: calls and jumps followed (PLT stubs not), for the
    /// CPU features the code needs and whether it probes the CPU.
    pub(super) fn sweep(&mut self, roots: &[(String, u64, usize)]) -> IsaSummary {
        let mut summary = IsaSummary::default();
        let mut first: BTreeMap<&'static str, (u64, String, String)> = BTreeMap::new();
        let mut seen = Visited::default();
        let mut budget = MAX_LIBRARY_INSNS;
        for (name, root, _) in roots {
            let mut todo = vec![*root];
            'walk: while let Some(mut pc) = todo.pop() {
                loop {
                    if !seen.insert(pc) {
                        continue 'walk;
                    }
                    if budget == 0 {
                        summary.capped = true;
                        break 'walk;
                    }
                    budget -= 1;
                    summary.instructions += 1;
                    let Some(i) = self.insn(pc) else {
                        continue 'walk;
                    };
                    if let Some(f) = i.feature {
                        let mnemonic = i.probe_mnemonic.as_deref().unwrap_or_default();
                        let here = (i.address, name.clone(), mnemonic.to_string());
                        let e = first.entry(f).or_insert_with(|| here.clone());
                        if i.address < e.0 {
                            *e = here;
                        }
                    }
                    if i.probes_cpu && !summary.guarded {
                        summary.guarded = true;
                        summary.guard = Some(format!(
                            "{} at {:#x}",
                            i.probe_mnemonic.as_deref().unwrap_or_default(),
                            i.address
                        ));
                    }
                    if let Some(a) = i.names_address {
                        if let Some(n) = self.image.import_at(a) {
                            if CPU_PROBES.contains(&n.as_str()) && !summary.guarded {
                                summary.guarded = true;
                                summary.guard = Some(format!("{n} read at {:#x}", i.address));
                            }
                        }
                    }
                    match i.flow {
                        Go::Next | Go::IndirectCall | Go::CondRet { .. } => pc = i.next,
                        Go::Call(t) => {
                            match self.classify(t) {
                                Target::Local => {
                                    todo.push(t);
                                    if !self.may_return(t) {
                                        continue 'walk;
                                    }
                                }
                                Target::Import(n) => {
                                    if CPU_PROBES.contains(&n.as_str()) && !summary.guarded {
                                        summary.guarded = true;
                                        summary.guard =
                                            Some(format!("call to {n} at {:#x}", i.address));
                                    }
                                    if is_noreturn_name(&n) {
                                        continue 'walk;
                                    }
                                }
                                Target::UnknownImport => {}
                            }
                            pc = i.next;
                        }
                        Go::Jump(t) => {
                            if matches!(self.classify(t), Target::Local) {
                                pc = t;
                            } else {
                                continue 'walk;
                            }
                        }
                        Go::Cond(t, _) => {
                            todo.push(t);
                            pc = i.next;
                        }
                        Go::IndirectReg(_) | Go::IndirectMem { .. } => {
                            if let Some(ts) = self.tables.get(&i.address) {
                                todo.extend(ts.iter().copied());
                            }
                            continue 'walk;
                        }
                        Go::Ret { .. } => {
                            if let Some(ts) = self.tables.get(&i.address) {
                                todo.extend(ts.iter().copied());
                            }
                            continue 'walk;
                        }
                        Go::Stop => continue 'walk,
                    }
                }
            }
        }
        summary.features = first
            .into_iter()
            .map(|(flag, (address, reached_from, instruction))| FeatureUse {
                flag: flag.to_string(),
                instruction,
                address,
                reached_from,
            })
            .collect();
        if self.arch == Arch::X86_64 {
            summary.x86_64_level = Some(floor::x86_64_level_of(
                summary.features.iter().map(|f| f.flag.as_str()),
            ));
        }
        summary
    }
}

/// A set of code addresses as one bit per byte, in 4 KiB pages allocated as the sweep reaches
/// them: the sweep visits every instruction of a library, and a bit in a dense page costs a
/// hundredth of a tree entry (about 6 MiB of tree for the 50 MB benchmark NIF).
#[derive(Default)]
struct Visited {
    pages: FxHashMap<u64, Box<[u64; 64]>>,
}

impl Visited {
    /// Adds `address`; `false` when it was already there.
    fn insert(&mut self, address: u64) -> bool {
        let page = self
            .pages
            .entry(address >> 12)
            .or_insert_with(|| Box::new([0; 64]));
        let bit = address & 0xfff;
        let Some(word) = page.get_mut((bit / 64) as usize) else {
            return true;
        };
        let mask = 1u64 << (bit % 64);
        let new = *word & mask == 0;
        *word |= mask;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::Visited;

    #[test]
    fn visited_addresses_are_seen_once() {
        let mut v = Visited::default();
        for a in [0, 1, 63, 64, 4095, 4096, u64::MAX, 0x7fff_ffff_f000] {
            assert!(v.insert(a), "{a:#x} is new");
            assert!(!v.insert(a), "{a:#x} was seen");
        }
        assert!(v.insert(2));
        assert_eq!(v.pages.len(), 4);
    }
}
