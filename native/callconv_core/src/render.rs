//! Renderers for a document: human-readable text (one small table per library, then a
//! summary line) here; SARIF 2.1.0 and GitHub workflow annotations in the submodules.

pub mod github;
mod location;
pub mod sarif;

pub use location::source_path;

use std::fmt::Write;

use crate::report::{Document, Endian, LibraryError, LibraryReport, Summary};
use crate::target::Target;

/// The JSON value type, for callers (the NIF glue) that hand reports back to be rendered.
pub use serde_json::Value;

/// Renders `doc` in a named format: `"text"`, `"json"` (schema v1), `"sarif"` (2.1.0) or
/// `"github"` (workflow annotations). `root` is the project root, which SARIF and GitHub
/// output name paths relative to; `verbose` adds the machine-code analysis of every entry
/// point to the text. `None` for an unknown format.
pub fn render(doc: &Document, format: &str, root: Option<&str>, verbose: bool) -> Option<String> {
    match format {
        "text" => Some(text_with(doc, verbose)),
        "json" => Some(doc.to_json()),
        "sarif" => Some(sarif::render(doc, root)),
        "github" => Some(github::render(doc, root)),
        _ => None,
    }
}

/// Rebuilds a document from reports held elsewhere as JSON values shaped like schema v1
/// library objects and error objects (the Elixir side's `%Callconv.Report{}` and
/// `%Callconv.Error{}` after its policy: ignored rules, strictness, lockfile findings).
/// The summary is recomputed from the verdicts.
pub fn document_from_values(
    target: Target,
    libraries: Vec<Value>,
    errors: Vec<Value>,
) -> Result<Document, String> {
    let libraries = libraries
        .into_iter()
        .map(|v| serde_json::from_value::<LibraryReport>(v).map_err(|e| format!("report: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let errors = errors
        .into_iter()
        .map(|v| serde_json::from_value::<LibraryError>(v).map_err(|e| format!("error: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Document::new(target, libraries, errors))
}

/// Renders the document as plain text (no colour): for each library its facts and findings.
pub fn text(doc: &Document) -> String {
    text_with(doc, false)
}

/// [`text`], with the machine-code analysis of each entry point when `verbose`.
pub fn text_with(doc: &Document, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", target_line(&doc.target));
    for lib in &doc.libraries {
        library(&mut out, lib);
        if verbose {
            analysis(&mut out, lib);
        }
        out.push('\n');
    }
    for err in &doc.errors {
        let _ = writeln!(out, "{}  FAIL", err.path);
        let _ = writeln!(out, "  error     {} ({})", err.message, err.reason);
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(&doc.summary));
    out
}

/// What the loader reads besides the needed libraries, on one line (`None` when the format
/// tells nothing more): ELF's SONAME, RUNPATH/RPATH and program interpreter; Mach-O's file
/// type, minimum OS and SDK, install name, rpaths and weak libraries; PE's subsystem,
/// DllCharacteristics and delay-loaded DLLs.
fn loader_facts(lib: &LibraryReport) -> Option<String> {
    let mut parts = Vec::new();
    let list = |v: &[String]| v.join(":");
    if let Some(elf) = &lib.elf {
        if let Some(soname) = &elf.soname {
            parts.push(format!("soname {soname}"));
        }
        if !elf.runpath.is_empty() {
            parts.push(format!("runpath {}", list(&elf.runpath)));
        }
        if !elf.rpath.is_empty() {
            parts.push(format!("rpath {}", list(&elf.rpath)));
        }
        if let Some(interpreter) = &elf.interpreter {
            parts.push(format!("interpreter {interpreter}"));
        }
    }
    if let Some(m) = &lib.macho {
        let mut first = m.file_type.clone();
        if let Some(platform) = &m.platform {
            first.push_str(&format!(" for {platform}"));
        }
        if let Some(min_os) = &m.min_os {
            first.push_str(&format!(" {min_os}+"));
        }
        if let Some(sdk) = &m.sdk {
            first.push_str(&format!(" (SDK {sdk})"));
        }
        parts.push(first);
        if let Some(name) = &m.install_name {
            parts.push(format!("install name {name}"));
        }
        if !m.rpaths.is_empty() {
            parts.push(format!("rpaths {}", m.rpaths.join(", ")));
        }
        if !m.weak_dylibs.is_empty() {
            parts.push(format!("weak {}", m.weak_dylibs.join(", ")));
        }
    }
    if let Some(pe) = &lib.pe {
        parts.push(format!("subsystem {}", pe.subsystem));
        let flags: Vec<&str> = [
            (pe.dynamic_base, "dynamic-base"),
            (pe.high_entropy_va, "high-entropy-va"),
            (pe.nx_compat, "nx-compat"),
            (pe.guard_cf, "guard-cf"),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| *name)
        .collect();
        if !flags.is_empty() {
            parts.push(flags.join(" "));
        }
        if !pe.delay_imports.is_empty() {
            parts.push(format!("delay-loads {}", pe.delay_imports.join(", ")));
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `3 checked, 2 passed, 0 warned, 1 failed`.
pub fn summary_line(s: &Summary) -> String {
    format!(
        "{} checked, {} passed, {} warned, {} failed",
        s.checked, s.passed, s.warned, s.failed
    )
}

/// What a policy's ignore list hid, for the line after the summary.
pub fn hidden_line(hidden: usize) -> String {
    format!(
        "{} hidden by --ignore",
        plural(hidden, "finding", "findings")
    )
}

/// `1 exit`, `2 exits`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line naming the runtime the libraries were checked against, such as
/// `checked against OTP 25 (ERTS 13.1.5, NIF 2.16) on x86_64 linux, glibc 2.36`.
/// Unknown parts say so: without a runtime, the NIF version checks were skipped.
pub fn target_line(t: &Target) -> String {
    let runtime = match (&t.otp_release, &t.erts_version, &t.nif_version) {
        (None, None, None) => "no particular runtime (NIF version not checked)".to_string(),
        (otp, erts, nif) => {
            let mut parts = Vec::new();
            if let Some(erts) = erts {
                parts.push(format!("ERTS {erts}"));
            }
            parts.push(match nif {
                Some(nif) => format!("NIF {nif}"),
                None => "NIF version unknown".to_string(),
            });
            match otp {
                Some(otp) => format!("OTP {otp} ({})", parts.join(", ")),
                None => parts.join(", "),
            }
        }
    };
    let libc = match (t.libc.as_deref(), t.libc_version.as_deref()) {
        (Some("gnu"), Some(v)) => format!("glibc {v}"),
        (Some("gnu"), None) => "glibc".to_string(),
        (Some(libc), Some(v)) => format!("{libc} {v}"),
        (Some(libc), None) => libc.to_string(),
        (None, _) => "no C library named".to_string(),
    };
    let abi = t
        .abi_variant
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    format!(
        "checked against {runtime} on {}{abi} {}, {libc}",
        t.arch.as_str(),
        t.os
    )
}

fn library(out: &mut String, lib: &LibraryReport) {
    let verdict = match lib.verdict {
        crate::report::Verdict::Pass => "PASS",
        crate::report::Verdict::Warn => "WARN",
        crate::report::Verdict::Fail => "FAIL",
    };
    let _ = writeln!(out, "{}  {verdict}", lib.path);
    let kind = match (&lib.kind, &lib.nif) {
        (crate::report::Kind::Nif, Some(nif)) => format!(
            "NIF, module {}, version {}.{}, {} functions",
            nif.module,
            nif.major,
            nif.minor,
            nif.functions.len()
        ),
        (k, _) => k.as_str().to_string(),
    };
    let _ = writeln!(out, "  kind      {kind}");
    let _ = writeln!(
        out,
        "  binary    {} {}, {}-bit, {}, abi {}",
        lib.format.as_str(),
        lib.arch.as_str(),
        lib.bits,
        if lib.endian == Endian::Little {
            "little-endian"
        } else {
            "big-endian"
        },
        lib.abi.as_deref().unwrap_or("unknown")
    );
    let needed = if lib.needed.is_empty() {
        "nothing".to_string()
    } else {
        lib.needed.join(", ")
    };
    let _ = writeln!(out, "  needs     {needed}");
    if let Some(facts) = loader_facts(lib) {
        let _ = writeln!(out, "  library   {facts}");
    }
    if lib.findings.is_empty() {
        let _ = writeln!(out, "  findings  none");
    }
    for f in &lib.findings {
        let sev = f.severity.as_str();
        let _ = writeln!(out, "  {sev:<9} [{}] {}", f.rule, f.message);
        let _ = writeln!(out, "  {:<9} fix: {}", "", f.hint);
    }
}

/// The per-entry-point observations and the instruction-set floor, one line each.
fn analysis(out: &mut String, lib: &LibraryReport) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    if lib.functions.is_empty() {
        let _ = writeln!(out, "  analysis  not done for this architecture");
        return;
    }
    if let Some(isa) = &lib.isa {
        let flags: Vec<String> = isa.features.iter().map(|f| f.flag.clone()).collect();
        let level = isa
            .x86_64_level
            .map(|l| format!("x86-64-v{l}, "))
            .unwrap_or_default();
        let guard = match (&isa.guard, isa.guarded) {
            (Some(g), true) => format!(", guarded by {g}"),
            (None, true) => ", guarded".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  isa       {level}features {}{guard} ({} instructions swept{})",
            list(&flags),
            isa.instructions,
            if isa.capped { ", capped" } else { "" }
        );
    }
    for f in &lib.functions {
        let o = &f.observed;
        let fit = match &f.matches_best {
            Some(best) => format!("matches {best}, not {}", f.expected_convention),
            None => f.expected_convention.clone(),
        };
        let _ = writeln!(
            out,
            "  function  {} at {:#x}: {fit}; reads {}; callee-saved changed {}; {}{}; {}, {}{}",
            f.name,
            f.address,
            list(&o.args_read),
            list(&o.callee_saved_touched),
            if o.stack_balanced {
                "stack balanced"
            } else {
                "stack unbalanced"
            },
            if o.cleanup > 0 {
                format!(", pops {} bytes", o.cleanup)
            } else {
                String::new()
            },
            plural(o.exits, "exit", "exits"),
            plural(f.instructions, "instruction", "instructions"),
            f.capped
                .as_deref()
                .map(|c| format!(" (capped: {c})"))
                .unwrap_or_default()
        );
    }
}
