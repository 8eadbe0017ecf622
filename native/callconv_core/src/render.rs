//! Human-readable text for a document: one small table per library, then a summary line.

use std::fmt::Write;

use crate::report::{Document, Endian, LibraryReport};

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
