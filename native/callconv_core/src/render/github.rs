//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per
//! finding, attached to the library file, then a plain summary line.
//!
//! Format: `::error file=PATH,title=TITLE::MESSAGE`, escaped as GitHub's toolkit escapes it
//! (`%`, CR and LF in the message; also `:` and `,` in properties).

use std::fmt::Write;

use super::location::relative;
use crate::report::Document;
use crate::rules::Severity;

/// Renders the document as workflow-command annotations. `root` is the project root (the
/// workspace): libraries under it are named relative to it, which GitHub needs to attach an
/// annotation to a file.
pub fn render(doc: &Document, root: Option<&str>) -> String {
    let mut out = String::new();
    for lib in &doc.libraries {
        let file = relative(&lib.path, root).unwrap_or_else(|| lib.path.clone());
        for f in &lib.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let message = format!("{}\nFix: {}", f.message, f.hint);
            annotate(
                &mut out,
                command,
                &file,
                &format!("callconv {}", f.rule),
                &message,
            );
        }
    }
    for err in &doc.errors {
        let file = relative(&err.path, root).unwrap_or_else(|| err.path.clone());
        let message = format!("{} ({})", err.message, err.reason);
        annotate(
            &mut out,
            "error",
            &file,
            "callconv library-unreadable",
            &message,
        );
    }
    let s = &doc.summary;
    let _ = writeln!(
        out,
        "callconv: {} checked, {} passed, {} warned, {} failed",
        s.checked, s.passed, s.warned, s.failed
    );
    out
}

fn annotate(out: &mut String, command: &str, file: &str, title: &str, message: &str) {
    let _ = writeln!(
        out,
        "::{command} file={},title={}::{}",
        escape_property(file),
        escape_property(title),
        escape_data(message)
    );
}

/// Escapes a command's message (GitHub toolkit `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value (GitHub toolkit `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LibraryError;
    use crate::target::Target;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn one_annotation_per_problem_then_a_summary() {
        let doc = Document::new(
            Target::host(),
            vec![],
            vec![LibraryError {
                path: "/w/priv/x.so".into(),
                reason: "not-found".into(),
                message: "could not stat /w/priv/x.so".into(),
            }],
        );
        let out = render(&doc, Some("/w"));
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(
                "::error file=priv/x.so,title=callconv library-unreadable::could not stat /w/priv/x.so (not-found)"
            )
        );
        assert_eq!(
            lines.next(),
            Some("callconv: 1 checked, 0 passed, 0 warned, 1 failed")
        );
    }
}
