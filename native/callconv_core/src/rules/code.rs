//! The code: what the machine-code analysis observed at a NIF's entry points against the
//! convention the BEAM calls them with, and the CPU features the reachable code needs against
//! the target's.

use super::*;
use crate::analysis::{Departures, FeatureUse, IsaLevel, LibraryAnalysis};
use crate::conventions::Cleanup;
use crate::platform::Arch;

/// Every finding of one library's analysis: each function's departures in entry order, then
/// the instruction-set floor against `target_isa` (skipped without one).
pub fn check(
    analysis: &LibraryAnalysis,
    target_isa: Option<&IsaLevel>,
    arch: Arch,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = analysis.departures.iter().flat_map(function).collect();
    if let (true, Some(target)) = (analysis.supported, target_isa) {
        out.extend(isa(&analysis.isa, target, arch));
    }
    out
}

/// How one entry point's code departs from the convention the BEAM calls it with.
pub fn function(d: &Departures) -> Vec<Finding> {
    let mut findings = Vec::new();
    let what = describe(&d.name);
    let start = d.address;
    let expected = d.convention;
    let cleanup = d.cleanup;
    let nargs = d.arguments;
    if !d.fits_convention {
        let fit = match &d.best_match {
            Some(b) => format!("it matches {b}"),
            None => "it matches no convention of the model".to_string(),
        };
        let args = &d.args_read;
        let allowed = &d.argument_registers;
        findings.push(FOREIGN_CONVENTION.finding(
            format!(
                "{what} at {start:#x} reads {} on entry{} (the {} convention passes its {nargs} argument(s) in {}): {fit}, not the {} the BEAM calls it with",
                if args.is_empty() { "no argument register".to_string() } else { args.join(", ") },
                if cleanup > 0 { format!(" and pops {cleanup} bytes on return") } else { String::new() },
                expected.id,
                if allowed.is_empty() { "the stack".to_string() } else { allowed.join(", ") },
                expected.id,
            ),
            "declare the function with the platform's C convention (drop __attribute__((ms_abi/stdcall/fastcall/...)), extern \"C\" in Rust, callconv(.c) in Zig)",
        ));
    }
    if cleanup > 0 && expected.stack_cleanup == Cleanup::Caller {
        let at = d.cleanup_at.unwrap_or(start);
        findings.push(CALLEE_CLEANUP.finding(
            format!(
                "{what} returns with ret {cleanup} at {at:#x}: it pops {cleanup} bytes of arguments the caller also pops, so every call moves the BEAM's stack pointer by {cleanup} bytes (register esp)"
            ),
            "compile it as cdecl (no stdcall/fastcall/thiscall/vectorcall attribute, no -mrtd)",
        ));
    }
    for c in &d.clobbered {
        let (reg, changed, exit) = (&c.register, c.changed_at, c.exit_at);
        let role = if c.link_register {
            "the link register (return address)"
        } else {
            "callee-saved"
        };
        findings.push(CALLEE_SAVED_CLOBBERED.finding(
            format!(
                "{what} changes {reg} at {changed:#x} and reaches the exit at {exit:#x} without restoring it; {reg} is {role} in {}, so the BEAM's value is lost",
                expected.id
            ),
            format!("save {reg} in the prologue and restore it before every return (or use a caller-saved register)"),
        ));
    }
    for (at, k) in &d.unbalanced {
        findings.push(UNBALANCED_STACK.finding(
            format!(
                "{what} leaves at {at:#x} with the stack pointer ({}) {k:+} bytes from where it was at entry",
                d.stack_pointer
            ),
            "pop exactly what the function pushed before returning",
        ));
    }
    if let Some((at, k)) = d.misaligned.first() {
        findings.push(MISALIGNED_CALL.finding(
            format!(
                "{what} calls at {at:#x} with the stack pointer ({}) misaligned by {} bytes ({} needs {}-byte alignment at calls){}",
                d.stack_pointer,
                k.rem_euclid(i64::from(expected.stack_align.max(1))),
                expected.id,
                expected.stack_align,
                if d.misaligned.len() > 1 { format!(", and at {} other call(s)", d.misaligned.len() - 1) } else { String::new() }
            ),
            "keep the stack aligned at every call (push/sub an even number of slots)",
        ));
    }
    for (reg, at) in &d.reserved {
        findings.push(RESERVED_REGISTER.finding(
            format!("{what} writes {reg} at {at:#x}, which the platform reserves ({})", expected.id),
            format!("do not use {reg}: compile for the target platform (it reserves the register), or pick another register in assembly"),
        ));
    }
    if let Some(cap) = d.capped {
        findings.push(ANALYSIS_CAPPED.finding(
            format!("the analysis of {what} at {start:#x} stopped at its {cap} cap; paths past it were not checked"),
            "nothing to fix; very large functions are checked in part",
        ));
    }
    findings
}

/// The CPU features the code reachable from the entry points needs against the target's.
pub fn isa(isa: &crate::analysis::IsaSummary, target: &IsaLevel, arch: Arch) -> Vec<Finding> {
    if target.arch != arch {
        return Vec::new();
    }
    let missing: Vec<&FeatureUse> = isa
        .features
        .iter()
        .filter(|f| !target.has(&f.flag))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let list = missing
        .iter()
        .map(|f| {
            let what = crate::analysis::floor::flag_meaning(arch, &f.flag)
                .map(|m| format!(", {m}"))
                .unwrap_or_default();
            format!(
                "{} (`{}`{what}, at {:#x}, reached from {})",
                f.flag, f.instruction, f.address, f.reached_from
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let level = isa
        .x86_64_level
        .map(|l| {
            format!(
                " (x86-64-v{l}; the target is v{})",
                target.x86_64_level.unwrap_or(1)
            )
        })
        .unwrap_or_default();
    // Release 6 code runs on no pre-R6 MIPS, however new: above an assumed pre-R6 floor it is
    // an error, not a maybe.
    let r6_on_pre_r6 = missing.iter().any(|f| f.flag == "mips32r6");
    if let (Some(floor), false, false) = (target.assumed, isa.guarded, r6_on_pre_r6) {
        // Nothing said which CPU: the platform's usual floor was assumed, and the real
        // machine may be newer.
        return vec![ISA_LEVEL.finding_at(
            Severity::Warning,
            format!(
                "code reachable from the NIF uses CPU features above {floor}, the floor assumed for this platform: {list}; on a CPU without them the first call raises SIGILL and kills the VM"
            ),
            "give the target's CPU (--cpu, the :cpu option, or callconv: [target: [cpu: ...]]; e.g. z14, power9, cortex-a53) to check against it, or build for the floor",
        )];
    }
    if isa.guarded {
        vec![ISA_LEVEL.finding_at(
            Severity::Warning,
            format!(
                "code reachable from the NIF uses CPU features the target lacks{level}: {list}; it probes the CPU first ({}), so this is likely a run-time dispatch",
                isa.guard.as_deref().unwrap_or("cpuid")
            ),
            "make sure every use is behind the dispatch, or build for the target's level",
        )]
    } else {
        vec![ISA_LEVEL.finding(
            format!(
                "code reachable from the NIF uses CPU features the target lacks{level}: {list}; the first call raises SIGILL and kills the VM"
            ),
            crate::analysis::floor::build_fix(arch),
        )]
    }
}

/// How a finding names an entry point: `NIF name/arity`, or the callback's name.
fn describe(name: &str) -> String {
    if name.contains('/') {
        format!("NIF {name}")
    } else {
        name.to_string()
    }
}
