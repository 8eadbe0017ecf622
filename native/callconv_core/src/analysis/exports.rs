//! The exports mode: every exported function of any C library (not only a NIF) against each
//! C convention its platform has, for a ctypes user choosing `CDLL` or `WinDLL` or a Zig or C
//! author checking an `export`.
//!
//! Each function is traced once, with the platform's default convention for what calls
//! clobber, while tracking the callee-saved and reserved registers of every candidate
//! convention. A candidate matches when the code reads arguments only in its integer argument
//! registers, pops what it pops on return (x86 `ret N`) as it has the callee do, keeps its
//! callee-saved registers and link register, and leaves the stack pointer where it found it.
//! Conventions that differ only in what the analysis does not check (FP argument registers,
//! variadic rules) cannot be told apart and are all listed.
//!
//! Bounded by counted budgets only ([`Budget`]): instructions per function and instructions
//! and states over the whole library, never by wall-clock time. Functions past the total
//! budget are counted as not analysed, and the report says so.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use object::ReadRef;
use serde::{Deserialize, Serialize};

use super::{make_lifter, reserved_of, Acc, Ctx, Departures, FunctionAnalysis, Observed};
use crate::conventions::{self, Cleanup, Convention, SretLocation};
use crate::inspect::{Binary, Platform};
use crate::platform::Arch;

/// The counted budgets of the exports mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most instructions interpreted for one function (counting re-visits).
    pub function_instructions: usize,
    /// Most instructions interpreted over all the functions of a library.
    pub total_instructions: usize,
    /// Most states recorded at branch targets over all the functions of a library.
    pub total_states: usize,
}

/// The default budgets. Debian 12's libcrypto (amd64, 5,363 functions) takes 0.82 M
/// instructions and 0.11 M states, its libc (2,153) 1.45 M instructions: a library of 20,000
/// exports of that kind fits, and a larger or denser one is cut at 10 M instructions (about a
/// minute on one core), and the report names what was left out (`analysis-capped`).
pub const BUDGET: Budget = Budget {
    function_instructions: super::MAX_FUNCTION_INSNS,
    total_instructions: 10_000_000,
    total_states: 2_000_000,
};

/// Counts over the exports of one library (JSON: the report's `exports`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportsSummary {
    /// The candidate conventions, the platform's default first.
    pub conventions: Vec<String>,
    /// Exported symbols with an address.
    pub exports: usize,
    /// Of those, data (not in a code section): not analysed.
    pub data: usize,
    /// Of those, other names for a function already analysed (reported with its result).
    pub aliases: usize,
    /// Distinct functions analysed.
    pub analysed: usize,
    /// Functions left out because the library's total budget was spent.
    pub not_analysed: usize,
    /// Functions whose analysis stopped at a per-function cap (partly checked).
    pub capped: usize,
    /// Functions that match none of the candidate conventions.
    pub errors: usize,
    /// Functions matching each candidate convention.
    pub matched: BTreeMap<String, usize>,
    /// Instructions interpreted in all.
    pub instructions: usize,
    /// States recorded in all.
    pub states: usize,
    /// Which total budget ran out (`instructions` or `states`), if one did.
    pub budget_exhausted: Option<String>,
}

/// The result of the exports mode for one library.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportsAnalysis {
    /// Whether this architecture is analysed at all.
    pub supported: bool,
    /// One element per exported function (aliases included), by address.
    pub functions: Vec<FunctionAnalysis>,
    /// The functions that fit no candidate, in order: how each departs from the platform's
    /// default convention.
    pub misfits: Vec<Departures>,
    /// The functions whose analysis stopped at a per-function cap, with the cap, in order.
    pub capped: Vec<(String, &'static str)>,
    /// The functions left out because the library's total budget was spent, in order.
    pub skipped: Vec<String>,
    /// The budgets it ran within.
    pub budget: Budget,
    /// The counts.
    pub summary: ExportsSummary,
}

impl Default for Budget {
    fn default() -> Self {
        BUDGET
    }
}

/// The C conventions a library of this architecture and platform may use for its exports,
/// `default` (the platform's own) first: cdecl, stdcall and fastcall on x86; System V and
/// Win64 on x86-64; every calling convention of the model for the architecture elsewhere.
pub fn candidates(
    arch: Arch,
    platform: Platform,
    default: &'static Convention,
) -> Vec<&'static Convention> {
    let ids: Vec<&str> = match (arch, platform) {
        (Arch::X86, Platform::Windows) => {
            vec!["x86-cdecl-msvc", "x86-stdcall", "x86-fastcall-msvc"]
        }
        (Arch::X86, _) => vec!["x86-cdecl-sysv", "x86-stdcall", "x86-fastcall-gcc"],
        (Arch::X86_64, _) => vec!["x86_64-sysv", "x86_64-win64"],
        _ => conventions::for_arch(default.arch)
            .filter(|c| c.is_calling_convention)
            .map(|c| c.id)
            .collect(),
    };
    let mut out = vec![default];
    out.extend(
        ids.into_iter()
            .filter(|id| *id != default.id)
            .filter_map(conventions::by_id),
    );
    out
}

/// Analyses every exported function of `binary` against [`candidates`], within `budget`.
pub fn analyze_exports<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    default: &'static Convention,
    budget: &Budget,
) -> ExportsAnalysis {
    let candidates = candidates(binary.arch, binary.platform, default);
    let mut summary = ExportsSummary {
        conventions: candidates.iter().map(|c| c.id.to_string()).collect(),
        exports: binary.exports.len(),
        ..ExportsSummary::default()
    };
    let mut code: Vec<(String, u64, usize)> = binary
        .exports
        .iter()
        .filter(|e| e.code)
        .map(|e| (e.name.clone(), e.address, 0))
        .collect();
    summary.data = summary.exports - code.len();
    // By address, for the decode cache; names break ties so aliases come out in a stable order.
    code.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let Some((lifter, code_roots)) = make_lifter(binary, default, &code) else {
        return ExportsAnalysis {
            summary,
            ..ExportsAnalysis::default()
        };
    };
    let roots = code_roots.as_deref().unwrap_or(&code);
    // The library's share of the counted budget is the exports mode's own total.
    let mut ctx = Ctx::new(
        &binary.image,
        lifter.as_ref(),
        binary.arch,
        default,
        BUDGET.total_instructions,
    );
    ctx.boundaries = roots.iter().map(|r| lifter.code_address(r.1)).collect();
    ctx.function_ends = function_ends(binary, roots, lifter.as_ref());
    ctx.use_frames(binary.frame_table());
    ctx.noreturn_at = roots
        .iter()
        .filter(|r| super::is_noreturn_name(&r.0))
        .map(|r| lifter.code_address(r.1))
        .collect();
    // Track every candidate's callee-saved and reserved registers at once.
    let saved_by: Vec<BTreeSet<String>> = candidates
        .iter()
        .map(|c| ctx.saved_of(c).into_iter().collect())
        .collect();
    let reserved_by: Vec<BTreeSet<String>> = candidates
        .iter()
        .map(|c| reserved_of(c).into_iter().collect())
        .collect();
    // Every register some candidate holds to, once each, in order.
    let union = |sets: &[BTreeSet<String>]| -> Vec<String> {
        sets.iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let tracked_saved = union(&saved_by);
    let tracked_reserved = union(&reserved_by);

    let mut out = ExportsAnalysis {
        supported: true,
        budget: *budget,
        ..ExportsAnalysis::default()
    };
    let mut done: HashMap<u64, usize> = HashMap::new();
    for (name, addr, _) in roots {
        if let Some(k) = done.get(addr) {
            let mut alias = out.functions[*k].clone();
            alias.name = name.clone();
            out.functions.push(alias);
            summary.aliases += 1;
            continue;
        }
        let left = budget
            .total_instructions
            .saturating_sub(summary.instructions);
        if left == 0 || summary.states >= budget.total_states {
            summary.budget_exhausted.get_or_insert_with(|| {
                if left == 0 { "instructions" } else { "states" }.to_string()
            });
            summary.not_analysed += 1;
            out.skipped.push(name.clone());
            continue;
        }
        let acc = ctx.trace(
            *addr,
            &tracked_saved,
            &tracked_reserved,
            budget.function_instructions.min(left),
        );
        summary.instructions += acc.insns;
        summary.states += acc.states;
        let fitting: Vec<&'static Convention> = candidates
            .iter()
            .zip(saved_by.iter().zip(&reserved_by))
            .filter(|(c, (saved, reserved))| fits(&ctx, c, &acc, saved, reserved))
            .map(|(c, _)| *c)
            .collect();
        // Compilers pass arguments in order: when some fitting convention has the registers
        // read as its first ones, one that would leave a gap (Win64's rcx, rdx, r8 read as
        // System V's third to fifth arguments) is not what the code was compiled for.
        let gap_free: Vec<&'static Convention> = fitting
            .iter()
            .copied()
            .filter(|c| reads_in_order(&ctx, c, &acc))
            .collect();
        let matches: Vec<String> = if gap_free.is_empty() {
            fitting
        } else {
            gap_free
        }
        .iter()
        .map(|c| c.id.to_string())
        .collect();
        for m in &matches {
            *summary.matched.entry(m.clone()).or_default() += 1;
        }
        if matches.is_empty() {
            summary.errors += 1;
            out.misfits.push(misfit(&ctx, name, *addr, &acc, default));
        }
        if let Some(cap) = acc.capped {
            summary.capped += 1;
            out.capped.push((name.clone(), cap));
        }
        done.insert(*addr, out.functions.len());
        out.functions
            .push(function_result(&ctx, name, *addr, acc, default, matches));
    }
    summary.analysed = done.len();
    out.summary = summary;
    out
}

/// Where the exported functions' code ends, by their symbols' sizes: only for roots that are
/// the export's own address (not PPC64 ELFv1 descriptors rewritten to their code).
fn function_ends<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    roots: &[(String, u64, usize)],
    lifter: &dyn crate::isa::Lifter,
) -> std::collections::HashSet<u64> {
    let sized: HashMap<u64, u64> = binary
        .exports
        .iter()
        .filter(|e| e.code && e.size > 0)
        .map(|e| (e.address, e.size))
        .collect();
    roots
        .iter()
        .filter_map(|r| {
            let size = sized.get(&r.1)?;
            Some(lifter.code_address(lifter.code_address(r.1).checked_add(*size)?))
        })
        .collect()
}

/// Bytes of stack arguments the code reads, at least (x86: slots past the return address).
fn stack_bytes_read(acc: &Acc, c: &Convention) -> u64 {
    let slot = i64::from(c.stack_args.slot_size.max(1));
    acc.stack_args
        .iter()
        .filter(|o| **o >= c.stack_args.area_offset)
        .map(|o| (o - c.stack_args.area_offset) / slot * slot + slot)
        .max()
        .unwrap_or(0) as u64
}

/// Whether what the code did fits convention `c`, whose callee-saved (with the link register)
/// and reserved registers are `saved` and `reserved`.
fn fits<'data, R: ReadRef<'data>>(
    ctx: &Ctx<'_, R>,
    c: &Convention,
    acc: &Acc,
    saved: &BTreeSet<String>,
    reserved: &BTreeSet<String>,
) -> bool {
    let args: BTreeSet<String> = c
        .int_args
        .iter()
        .map(|r| ctx.lifter.canonical_model(r))
        .collect();
    if !acc.args_read.iter().all(|r| args.contains(r)) {
        return false;
    }
    if !cleanup_fits(c, acc) {
        return false;
    }
    if acc.clobbered.keys().any(|r| saved.contains(r)) {
        return false;
    }
    if acc.reserved.keys().any(|r| reserved.contains(r)) {
        return false;
    }
    acc.unbalanced.is_empty()
}

/// Whether the argument registers read are the first ones of `c`, without a gap.
fn reads_in_order<'data, R: ReadRef<'data>>(ctx: &Ctx<'_, R>, c: &Convention, acc: &Acc) -> bool {
    c.int_args
        .iter()
        .take(acc.args_read.len())
        .all(|r| acc.args_read.contains(&ctx.lifter.canonical_model(r)))
}

/// The bytes popped by the return against the convention's stack cleanup.
fn cleanup_fits(c: &Convention, acc: &Acc) -> bool {
    let cleanup = acc.cleanup.values().copied().max().unwrap_or(0);
    let slot = u64::from(c.stack_args.slot_size.max(1));
    match c.stack_cleanup {
        // The callee pops its stack arguments: all it reads, maybe more it ignores.
        Cleanup::Callee => cleanup % slot == 0 && cleanup >= stack_bytes_read(acc, c),
        // The caller pops them; the callee may pop only a hidden struct-return slot.
        _ => {
            cleanup == 0
                || (c.sret.popped_by_callee
                    && matches!(c.sret.location, SretLocation::FirstStackSlot { .. })
                    && cleanup == slot)
        }
    }
}

fn function_result<'data, R: ReadRef<'data>>(
    ctx: &Ctx<'_, R>,
    name: &str,
    start: u64,
    acc: Acc,
    default: &Convention,
    matches: Vec<String>,
) -> FunctionAnalysis {
    FunctionAnalysis {
        name: name.to_string(),
        address: ctx.lifter.code_address(start),
        observed: Observed {
            args_read: acc.args_read.iter().cloned().collect(),
            stack_args_read: acc.stack_args.iter().copied().collect(),
            callee_saved_touched: acc.clobbered.keys().cloned().collect(),
            cleanup: acc.cleanup.values().copied().max().unwrap_or(0),
            stack_balanced: acc.unbalanced.is_empty(),
            exits: acc.exits,
        },
        expected_convention: default.id.to_string(),
        matches_best: None,
        capped: acc.capped.map(str::to_string),
        instructions: acc.insns,
        matches: Some(matches),
    }
}

/// How a function that fits no candidate departs from the platform's default convention:
/// the registers that convention keeps, and every integer argument register it has.
fn misfit<'data, R: ReadRef<'data>>(
    ctx: &Ctx<'_, R>,
    name: &str,
    start: u64,
    acc: &Acc,
    default: &Convention,
) -> Departures {
    let start = ctx.lifter.code_address(start);
    let args: Vec<String> = default
        .int_args
        .iter()
        .map(|r| ctx.lifter.canonical_model(r))
        .collect();
    let saved: BTreeSet<String> = ctx.saved_of(default).into_iter().collect();
    ctx.departures(name, start, acc, args, |reg| saved.contains(reg))
}
