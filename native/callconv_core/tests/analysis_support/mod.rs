//! Helpers for `analysis.rs`: run the machine-code analysis on a library file the way the
//! check does (decode the entry, pick the platform convention, raise the code rules' findings),
//! and list its findings.

use std::path::{Path, PathBuf};

use callconv::analysis::{self, FunctionAnalysis, IsaLevel, IsaSummary};
use callconv::rules::{self, Finding};
use callconv::{conventions, entry, inspect};

/// One library's analysis and the findings the code rules raise from it.
#[derive(Debug)]
pub struct Analysed {
    /// Whether its architecture is analysed at all.
    pub supported: bool,
    /// One element per entry point analysed.
    pub functions: Vec<FunctionAnalysis>,
    /// The instruction-set floor.
    pub isa: IsaSummary,
    /// What `rules::code` finds.
    pub findings: Vec<Finding>,
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Analyses the NIF at `path`; `None` when it is not a NIF whose entry decodes.
pub fn analyse(path: &Path, isa: Option<&IsaLevel>) -> Option<Analysed> {
    let bytes = std::fs::read(path).ok()?;
    let binary = inspect::parse(&*bytes, callconv::report::Arch::X86_64).ok()?;
    let (_, init) = entry::init_symbol(&binary)?;
    let decoded = entry::decode(&binary, init).ok()?;
    let conv =
        conventions::for_binary(binary.arch, binary.platform, binary.abi_variant.as_deref())?;
    let a = analysis::analyze(&binary, &decoded, init, conv);
    Some(Analysed {
        findings: rules::code::check(&a, isa, binary.arch),
        supported: a.supported,
        functions: a.functions,
        isa: a.isa,
    })
}

/// `rule function register` lines of the error findings, for assertions and printing.
pub fn errors(a: &Analysed) -> Vec<String> {
    a.findings
        .iter()
        .filter(|f| f.severity == callconv::rules::Severity::Error)
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

/// Every file under `dir` (recursively) whose name ends with one of `exts`.
pub fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| exts.iter().any(|x| n.ends_with(x)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
