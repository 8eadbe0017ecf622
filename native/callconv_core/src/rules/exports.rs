//! The exports mode: every exported function against the platform's C conventions, from what
//! the analysis observed (`analysis::exports`).

use std::collections::BTreeSet;

use super::*;
use crate::analysis::exports::ExportsAnalysis;
use crate::analysis::Departures;

/// How many function names a summary finding lists.
const NAMES_LISTED: usize = 8;

/// The exports mode's findings: `export-no-convention` per function that fits no candidate,
/// in order, then what the budgets left out, then the functions that fit only another
/// convention than the platform's default.
pub fn check(analysis: &ExportsAnalysis) -> Vec<Finding> {
    let mut out: Vec<Finding> = analysis.misfits.iter().map(no_convention).collect();
    let budget = &analysis.budget;
    let capped: Vec<String> = analysis
        .capped
        .iter()
        .map(|(name, cap)| format!("{name} ({cap})"))
        .collect();
    let skipped = &analysis.skipped;
    if !capped.is_empty() || !skipped.is_empty() {
        let mut parts = Vec::new();
        if !capped.is_empty() {
            parts.push(format!(
                "{} function(s) stopped at a per-function cap of {} instructions, {} branch targets or {} states per target and were checked in part: {}",
                capped.len(),
                budget.function_instructions,
                crate::analysis::MAX_BLOCKS,
                crate::analysis::MAX_STATES_PER_BLOCK,
                listed(&capped)
            ));
        }
        if !skipped.is_empty() {
            parts.push(format!(
                "{} function(s) were not analysed: the library's budget of {} instructions and {} states was spent: {}",
                skipped.len(),
                budget.total_instructions,
                budget.total_states,
                listed(skipped)
            ));
        }
        out.push(ANALYSIS_CAPPED.finding(
            parts.join("; "),
            "nothing to fix; the checks ran on the part that was analysed",
        ));
    }
    if let Some(first) = analysis.summary.conventions.first() {
        let foreign: Vec<String> = analysis
            .functions
            .iter()
            .filter(|f| {
                f.matches
                    .as_ref()
                    .is_some_and(|m| !m.is_empty() && !m.iter().any(|id| id == first))
            })
            .map(|f| {
                format!(
                    "{} ({})",
                    f.name,
                    f.matches.as_deref().unwrap_or_default().join(", ")
                )
            })
            .collect();
        if !foreign.is_empty() {
            out.push(FOREIGN_CONVENTION.finding_at(
                Severity::Info,
                format!(
                    "{} exported function(s) do not fit the platform's {} but another convention: {}",
                    foreign.len(),
                    first,
                    listed(&foreign)
                ),
                "call them with the convention they fit (ctypes: WinDLL for stdcall), or declare them with the platform's C convention",
            ));
        }
    }
    out
}

fn listed(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(NAMES_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_LISTED {
        s.push_str(&format!(" and {} more", names.len() - NAMES_LISTED));
    }
    s
}

/// The error for a function that fits no candidate: why it fails the platform's default.
fn no_convention(d: &Departures) -> Finding {
    let (name, start, default) = (&d.name, d.address, d.convention);
    let mut why: Vec<String> = Vec::new();
    let args: BTreeSet<&String> = d.argument_registers.iter().collect();
    let stray: Vec<&str> = d
        .args_read
        .iter()
        .filter(|r| !args.contains(r))
        .map(String::as_str)
        .collect();
    if !stray.is_empty() {
        why.push(format!(
            "reads {} on entry, which {} does not pass arguments in",
            stray.join(", "),
            default.id
        ));
    }
    let cleanup = d.cleanup;
    if cleanup > 0 {
        let at = d.cleanup_at.unwrap_or(start);
        why.push(format!(
            "pops {cleanup} bytes on return (ret {cleanup} at {at:#x})"
        ));
    }
    for c in &d.clobbered {
        why.push(format!(
            "changes {} at {:#x} and reaches the exit at {:#x} without restoring it",
            c.register, c.changed_at, c.exit_at
        ));
    }
    for (at, k) in &d.unbalanced {
        why.push(format!(
            "leaves at {at:#x} with the stack pointer {k:+} bytes from where it was at entry"
        ));
    }
    for (reg, at) in &d.reserved {
        why.push(format!("writes the reserved {reg} at {at:#x}"));
    }
    if why.is_empty() {
        why.push("fits each candidate on one count but not on all".to_string());
    }
    EXPORT_NO_CONVENTION.finding(
        format!(
            "exported function {name} at {start:#x} fits none of the platform's C conventions: it {}",
            why.join("; ")
        ),
        format!(
            "declare it with the platform's C convention ({}), or keep hand-written assembly to its rules; callers through a C prototype (ctypes, dlsym, a Zig extern) will corrupt their state",
            default.id
        ),
    )
}
