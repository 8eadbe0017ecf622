//! Renderers for a document: human-readable text (one small table per library, then a
//! summary line) here; SARIF 2.1.0 and GitHub workflow annotations in the submodules.

pub mod github;
mod location;
pub mod sarif;

use std::fmt::Write;

use crate::report::{Document, Endian, LibraryError, LibraryReport};
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
    let s = &doc.summary;
    let _ = writeln!(
        out,
        "{} checked, {} passed, {} warned, {} failed",
        s.checked, s.passed, s.warned, s.failed
    );
    out
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
            "  function  {} at {:#x}: {fit}; reads {}; callee-saved changed {}; {}{}; {} exits, {} instructions{}",
            f.name,
            f.address,
            list(&o.args_read),
            list(&o.callee_saved_touched),
            if o.stack_balanced { "stack balanced" } else { "stack unbalanced" },
            if o.cleanup > 0 { format!(", pops {} bytes", o.cleanup) } else { String::new() },
            o.exits,
            f.instructions,
            f.capped.as_deref().map(|c| format!(" (capped: {c})")).unwrap_or_default()
        );
    }
}
