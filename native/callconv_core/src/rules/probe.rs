//! The probe: what running `nif_init` in a separate process gave, against the entry decoded
//! from the file.

use super::*;
use crate::entry::NifEntry;
use crate::probe::{Confinement, Hang, Outcome};

/// The findings of one probe run, in order: running unsandboxed (a warning in itself), then
/// what the outcome says against `decoded`, the entry read from the file (`None`: it could
/// not be read, and the probe's entry stands in for it without a finding).
pub fn check(
    outcome: &Outcome,
    decoded: Option<&NifEntry>,
    confinement: Confinement,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if confinement == Confinement::Unsandboxed && !matches!(outcome, Outcome::Refused(_)) {
        out.push(NIF_PROBE_UNSANDBOXED.finding(
            "the probe ran the library's constructors and nif_init without its sandbox, with this user's full rights",
            "use the sandboxed probe (--probe, probe: true) on a Linux kernel with Landlock and seccomp; run unsandboxed only in a disposable machine",
        ));
    }
    let finding = match outcome {
        Outcome::Entry(probed) => match decoded {
            None => None,
            Some(decoded) if same_entry(decoded, probed) => None,
            Some(decoded) => Some(NIF_PROBE_MISMATCH.finding(
                format!(
                    "running nif_init gave a different entry than the file holds (module {:?} version {}.{} with {} functions, against {:?} {}.{} with {}): the library changes its entry at init",
                    probed.module, probed.major, probed.minor, probed.functions.len(),
                    decoded.module, decoded.major, decoded.minor, decoded.functions.len()
                ),
                "the BEAM uses what nif_init returns; trust the probe's values and report this library so the decoder learns the pattern",
            )),
        },
        Outcome::Crashed(signal) => Some(NIF_PROBE_FAILED.finding_at(
            Severity::Error,
            format!("nif_init crashed with signal {signal} when run by the probe: load_nif would crash the VM the same way"),
            "run the library's init under a debugger; it must not touch anything but its own data",
        )),
        Outcome::Hung(hang) => Some(NIF_PROBE_FAILED.finding_at(
            Severity::Error,
            match hang {
                Hang::Computing(budget) => format!("nif_init did not return within {:.1} s of CPU time when run by the probe: load_nif would hang", budget.as_secs_f64()),
                Hang::Waiting(budget) => format!("nif_init did not return within {:.1} s of waiting with no thread running when run by the probe: load_nif would hang", budget.as_secs_f64()),
            },
            "do slow work in the load callback or lazily, not in nif_init",
        )),
        Outcome::Failed(why) => Some(NIF_PROBE_FAILED.finding(
            format!("the probe could not run nif_init: {why}"),
            "the static checks still apply; this only means the cross-check did not happen",
        )),
        Outcome::Refused(missing) => Some(NIF_PROBE_REFUSED.finding(
            format!("the probe ran nothing: its sandbox cannot be set up here: {missing}"),
            "probe on a Linux kernel with Landlock enabled and seccomp allowed, or accept the risk with --probe-unsandboxed (probe: :unsandboxed); the static checks still apply",
        )),
    };
    out.extend(finding);
    out
}

/// The entries agree on everything the BEAM checks (not on how they were found).
fn same_entry(a: &NifEntry, b: &NifEntry) -> bool {
    let strip = |e: &NifEntry| NifEntry {
        decoded_by: String::new(),
        ..e.clone()
    };
    strip(a) == strip(b)
}
