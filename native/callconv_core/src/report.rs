//! The report: what callconv says about a library, and the JSON document (schema v1) that
//! carries several of them.
//!
//! Schema v1 is a public interface. Keys are added, never renamed or removed;
//! `docs/reference/schema.md` documents them (its key list is generated from this code by
//! `tests/docs_reference.rs`).

use serde::{Deserialize, Serialize};

pub use crate::entry::{NifEntry, NifFunction};
pub use crate::inspect::macho::{MachoFacts, MachoSlice};
pub use crate::inspect::pe::PeFacts;
pub use crate::platform::{Arch, Endian, Format};
pub use crate::rules::Finding;
use crate::target::Target;

/// The version of the JSON document layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome for one library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No finding above `info`.
    Pass,
    /// At least one warning, no error.
    Warn,
    /// At least one error: the library will not load, or is unsafe to call.
    Fail,
}

/// What the library is for the BEAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Exports a NIF init function.
    Nif,
    /// Exports `driver_init`: a port driver, loaded with `erl_ddll`.
    Driver,
    /// A native library with neither: a dependency of a NIF, or a helper.
    Library,
    /// Could not tell.
    Unknown,
}

/// Everything callconv says about one library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryReport {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// pass, warn or fail.
    pub verdict: Verdict,
    /// NIF, driver, plain library.
    pub kind: Kind,
    /// The container format.
    pub format: Format,
    /// The architecture (of the slice checked, for a universal file).
    pub arch: Arch,
    /// 32 or 64.
    pub bits: u32,
    /// Byte order.
    pub endian: Endian,
    /// The platform calling convention id from the model, when known.
    pub abi: Option<String>,
    /// The libraries it needs (`DT_NEEDED`, `LC_LOAD_DYLIB`, PE imports), in file order.
    pub needed: Vec<String>,
    /// The decoded NIF entry, when the library is a NIF and the entry could be read.
    pub nif: Option<NifEntry>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Machine-code analysis of each entry point against the platform convention (empty when
    /// the architecture is not analysed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<crate::analysis::FunctionAnalysis>,
    /// The instruction-set floor of the code reachable from the entry points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa: Option<crate::analysis::IsaSummary>,
    /// The C library it was linked against: `gnu` (glibc), `musl`, `macos`, `ucrt` or
    /// `msvcrt` (Windows); null when it needs none or names none callconv knows.
    #[serde(default)]
    pub libc: Option<String>,
    /// The newest version required of each versioned runtime library (ELF `VERNEED`).
    #[serde(default)]
    pub floors: Floors,
    /// The ELF `.note.gnu.property` markers; null when the file has none.
    #[serde(default)]
    pub gnu_properties: Option<GnuPropertySummary>,
    /// What the machine-code analysis covered: absent for the default NIF mode, `exports`
    /// when every exported function was checked against the platform's C conventions
    /// (`functions` then holds one element per exported function, and no NIF check ran).
    #[serde(default, skip_serializing_if = "is_nif_mode")]
    pub mode: Option<Mode>,
    /// Exports mode: the counts (exports, analysed, errors, per convention, budgets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exports: Option<crate::analysis::exports::ExportsSummary>,
    /// What only ELF tells about loading it; null for other formats.
    #[serde(default)]
    pub elf: Option<ElfFacts>,
    /// What only Mach-O tells about loading it; null for other formats.
    #[serde(default)]
    pub macho: Option<MachoFacts>,
    /// What only PE tells about loading it; null for other formats.
    #[serde(default)]
    pub pe: Option<PeFacts>,
}

/// The default mode is not written, so NIF-mode documents stay as they were.
fn is_nif_mode(mode: &Option<Mode>) -> bool {
    matches!(mode, None | Some(Mode::Nif))
}

/// What the machine-code analysis of a report covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The NIF's entry points (the default; not written in JSON).
    Nif,
    /// Every exported function.
    Exports,
}

/// The ELF facts the dynamic loader acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfFacts {
    /// `DT_SONAME`: the name other files record when they link against it.
    pub soname: Option<String>,
    /// `DT_RUNPATH` directories, as written (`$ORIGIN` unexpanded).
    pub runpath: Vec<String>,
    /// `DT_RPATH` directories, as written.
    pub rpath: Vec<String>,
    /// `PT_INTERP`: the program interpreter, which names the C library's loader.
    pub interpreter: Option<String>,
    /// ARM only: the EABI version of the ELF header flags (5 for every current toolchain).
    pub arm_eabi: Option<u32>,
    /// MIPS only: the NaN encoding of the header flags (`legacy` or `ieee2008`); left out on
    /// other architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mips_nan: Option<crate::inspect::NanEncoding>,
}

/// The highest version a library asks for from each versioned runtime (its `VERNEED`
/// entries), as written after the prefix: `glibc` from `GLIBC_`, `glibcxx` from `GLIBCXX_`
/// (libstdc++), `cxxabi` from `CXXABI_` (the C++ ABI of libstdc++), `gcc` from `GCC_`
/// (libgcc_s). Null when the library needs none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Floors {
    /// Such as `"2.34"`.
    pub glibc: Option<String>,
    /// Such as `"3.4.30"`.
    pub glibcxx: Option<String>,
    /// Such as `"1.3.9"`.
    pub cxxabi: Option<String>,
    /// Such as `"4.2.0"`.
    pub gcc: Option<String>,
}

/// What the ELF `.note.gnu.property` note asks of the CPU and promises to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GnuPropertySummary {
    /// `GNU_PROPERTY_X86_ISA_1_NEEDED` as a level: `x86-64-baseline`, `x86-64-v2`,
    /// `x86-64-v3` or `x86-64-v4`; null when absent.
    pub x86_isa_needed: Option<String>,
    /// `GNU_PROPERTY_X86_FEATURE_1_AND`: `ibt`, `shstk`, `lam_u48`, `lam_u57`.
    pub x86_features: Vec<String>,
    /// `GNU_PROPERTY_AARCH64_FEATURE_1_AND`: `bti`, `pac`, `gcs`.
    pub aarch64_features: Vec<String>,
}

/// Counts over the libraries of a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Libraries checked (including those that could not be read).
    pub checked: usize,
    /// Verdict pass.
    pub passed: usize,
    /// Verdict warn.
    pub warned: usize,
    /// Verdict fail, or could not be read.
    pub failed: usize,
}

/// A library that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryError {
    /// The path as given.
    pub path: String,
    /// Stable kebab-case reason, e.g. `not-found`, `malformed`.
    pub reason: String,
    /// A sentence naming the path and the problem.
    pub message: String,
}

/// The JSON document: schema v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Always [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The callconv version that wrote it.
    pub callconv: String,
    /// The runtime the libraries were checked against.
    pub target: Target,
    /// One report per library that could be read.
    pub libraries: Vec<LibraryReport>,
    /// One entry per path that could not be read.
    pub errors: Vec<LibraryError>,
    /// Counts.
    pub summary: Summary,
}

impl Document {
    /// Builds a document from per-library results.
    pub fn new(target: Target, libraries: Vec<LibraryReport>, errors: Vec<LibraryError>) -> Self {
        let mut summary = Summary {
            checked: libraries.len() + errors.len(),
            failed: errors.len(),
            ..Summary::default()
        };
        for lib in &libraries {
            match lib.verdict {
                Verdict::Pass => summary.passed += 1,
                Verdict::Warn => summary.warned += 1,
                Verdict::Fail => summary.failed += 1,
            }
        }
        Document {
            schema: SCHEMA_VERSION,
            callconv: crate::VERSION.to_string(),
            target,
            libraries,
            errors,
            summary,
        }
    }

    /// The document as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail; fall back to an empty object
        // rather than panic if it ever does.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// The stable spelling used in JSON and as an Elixir atom.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }
    };
}

names!(Verdict { Pass => "pass", Warn => "warn", Fail => "fail" });
names!(Kind { Nif => "nif", Driver => "driver", Library => "library", Unknown => "unknown" });
names!(Mode { Nif => "nif", Exports => "exports" });
