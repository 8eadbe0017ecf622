//! The report: what callconv says about a library, and the JSON document (schema v1) that
//! carries several of them.
//!
//! Schema v1 is a public interface. Keys are added, never renamed or removed;
//! `docs/reference/schema.md` documents them (its key list is generated from this code by
//! `tests/docs_reference.rs`).

use serde::{Deserialize, Serialize};

use crate::rules::Severity;
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

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// ELF (Linux, the BSDs, ...).
    Elf,
    /// A thin Mach-O (macOS).
    Macho,
    /// A universal (fat) Mach-O holding several slices.
    MachoFat,
    /// PE/COFF (Windows).
    Pe,
    /// None of those.
    Unknown,
}

/// The CPU architecture, spelled as Rust's `target_arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Arch {
    /// 32-bit x86.
    #[serde(rename = "x86")]
    X86,
    /// x86-64.
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit ARM.
    #[serde(rename = "aarch64")]
    Aarch64,
    /// 32-bit ARM.
    #[serde(rename = "arm")]
    Arm,
    /// 32-bit RISC-V.
    #[serde(rename = "riscv32")]
    Riscv32,
    /// 64-bit RISC-V.
    #[serde(rename = "riscv64")]
    Riscv64,
    /// 32-bit PowerPC.
    #[serde(rename = "powerpc")]
    Powerpc,
    /// 64-bit PowerPC, either endianness.
    #[serde(rename = "powerpc64")]
    Powerpc64,
    /// 32-bit MIPS.
    #[serde(rename = "mips")]
    Mips,
    /// 64-bit MIPS.
    #[serde(rename = "mips64")]
    Mips64,
    /// 32-bit SPARC.
    #[serde(rename = "sparc")]
    Sparc,
    /// 64-bit SPARC.
    #[serde(rename = "sparc64")]
    Sparc64,
    /// IBM z/Architecture.
    #[serde(rename = "s390x")]
    S390x,
    /// 64-bit LoongArch.
    #[serde(rename = "loongarch64")]
    Loongarch64,
    /// Anything else.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Arch {
    /// The Rust `target_arch` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Arm => "arm",
            Arch::Riscv32 => "riscv32",
            Arch::Riscv64 => "riscv64",
            Arch::Powerpc => "powerpc",
            Arch::Powerpc64 => "powerpc64",
            Arch::Mips => "mips",
            Arch::Mips64 => "mips64",
            Arch::Sparc => "sparc",
            Arch::Sparc64 => "sparc64",
            Arch::S390x => "s390x",
            Arch::Loongarch64 => "loongarch64",
            Arch::Unknown => "unknown",
        }
    }

    /// Parses the Rust `target_arch` spelling (and the common GNU-triple spellings).
    pub fn parse(s: &str) -> Arch {
        match s {
            "x86" | "i386" | "i486" | "i586" | "i686" => Arch::X86,
            "x86_64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "arm" | "armv7" | "armv7l" | "armv6l" | "armel" | "armhf" => Arch::Arm,
            "riscv32" => Arch::Riscv32,
            "riscv64" => Arch::Riscv64,
            "powerpc" | "ppc" => Arch::Powerpc,
            "powerpc64" | "powerpc64le" | "ppc64" | "ppc64le" => Arch::Powerpc64,
            "mips" | "mipsel" => Arch::Mips,
            "mips64" | "mips64el" => Arch::Mips64,
            "sparc" => Arch::Sparc,
            "sparc64" | "sparcv9" => Arch::Sparc64,
            "s390x" => Arch::S390x,
            "loongarch64" => Arch::Loongarch64,
            _ => Arch::Unknown,
        }
    }
}

/// Byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

/// One problem or observation, with a stable rule id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id, documented in `docs/reference/rules.md`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, naming the cause.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// One entry of the NIF function table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NifFunction {
    /// The Erlang function name.
    pub name: String,
    /// Its arity.
    pub arity: u32,
    /// 0, or 1 (dirty CPU) or 2 (dirty IO).
    pub flags: u32,
}

/// The decoded `ErlNifEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NifEntry {
    /// NIF major version the library was built for.
    pub major: i32,
    /// NIF minor version the library was built for.
    pub minor: i32,
    /// The module that must load it.
    pub module: String,
    /// The function table, in order.
    pub functions: Vec<NifFunction>,
    /// Whether a `load` callback is set.
    pub load: bool,
    /// Whether a `reload` callback is set (ignored since OTP 20).
    pub reload: bool,
    /// Whether an `upgrade` callback is set.
    pub upgrade: bool,
    /// Whether an `unload` callback is set.
    pub unload: bool,
    /// The VM variant (2.1+), normally `beam.vanilla`; null when the version predates it or
    /// the pointer is NULL.
    pub vm_variant: Option<String>,
    /// The options word (2.7+).
    pub options: Option<u32>,
    /// The minimum ERTS string (2.14+); null when absent or NULL.
    pub min_erts: Option<String>,
    /// How the entry was found, e.g. `static:x86_64-lea`.
    pub decoded_by: String,
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
}

/// The Mach-O facts dyld acts on, for the slice checked, and a summary of every slice of a
/// universal file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachoFacts {
    /// `dylib` (`MH_DYLIB`), `bundle` (`MH_BUNDLE`, what `-bundle` and most Python
    /// extensions are), `executable`, `object` or `other`.
    pub file_type: String,
    /// The platform of `LC_BUILD_VERSION` (`macos`, `ios`, `maccatalyst`, ...), `macos` for
    /// `LC_VERSION_MIN_MACOSX`; null when the file has neither.
    pub platform: Option<String>,
    /// The oldest OS version it runs on (`LC_BUILD_VERSION` minos, `LC_VERSION_MIN_MACOSX`
    /// version), such as `"11.0"`: dyld refuses it on an older one.
    pub min_os: Option<String>,
    /// The SDK it was built with, such as `"14.2"`.
    pub sdk: Option<String>,
    /// `LC_ID_DYLIB`: the install name other files record (null for a bundle).
    pub install_name: Option<String>,
    /// `LC_RPATH` entries, as written (`@loader_path` unexpanded).
    pub rpaths: Vec<String>,
    /// `LC_LOAD_WEAK_DYLIB` libraries: dyld goes on when they are missing.
    pub weak_dylibs: Vec<String>,
    /// `LC_REEXPORT_DYLIB` libraries.
    pub reexported_dylibs: Vec<String>,
    /// How dyld fixes pointers up: `chained` (`LC_DYLD_CHAINED_FIXUPS`), `opcodes`
    /// (`LC_DYLD_INFO(_ONLY)`) or `none`.
    pub fixups: String,
    /// Every slice of a universal file, in file order (the one checked has `primary: true`);
    /// empty for a thin file.
    pub slices: Vec<MachoSlice>,
}

/// One slice of a universal Mach-O.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachoSlice {
    /// Its architecture.
    pub arch: Arch,
    /// `arm64e` or `arm64` for an AArch64 slice.
    pub abi_variant: Option<String>,
    /// Whether it is the slice the report's other fields describe.
    pub primary: bool,
    /// As [`MachoFacts::file_type`].
    pub file_type: String,
    /// As [`MachoFacts::min_os`].
    pub min_os: Option<String>,
    /// As [`MachoFacts::sdk`].
    pub sdk: Option<String>,
    /// Its needed libraries, in file order.
    pub needed: Vec<String>,
}

/// The PE facts the Windows loader acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeFacts {
    /// The optional header's subsystem: `windows-gui`, `windows-cui`, `native`, `efi-*`,
    /// or `unknown-<n>`.
    pub subsystem: String,
    /// `IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE`: ASLR may move it.
    pub dynamic_base: bool,
    /// `IMAGE_DLLCHARACTERISTICS_NX_COMPAT`: DEP-compatible.
    pub nx_compat: bool,
    /// `IMAGE_DLLCHARACTERISTICS_GUARD_CF`: built with Control Flow Guard.
    pub guard_cf: bool,
    /// `IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA`: 64-bit ASLR.
    pub high_entropy_va: bool,
    /// The DLLs of the delay-load import table, loaded at the first call instead of at load.
    pub delay_imports: Vec<String>,
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
names!(Format { Elf => "elf", Macho => "macho", MachoFat => "macho-fat", Pe => "pe", Unknown => "unknown" });
names!(Endian { Little => "little", Big => "big" });
names!(Mode { Nif => "nif", Exports => "exports" });
