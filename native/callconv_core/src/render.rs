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
/// output name paths relative to. `None` for an unknown format.
pub fn render(doc: &Document, format: &str, root: Option<&str>) -> Option<String> {
    match format {
        "text" => Some(text(doc)),
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

/// Renders the document as plain text (no colour).
pub fn text(doc: &Document) -> String {
    let mut out = String::new();
    for lib in &doc.libraries {
        library(&mut out, lib);
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
