//! The check: one library in, one report out.

use std::path::Path;

use object::{ReadCache, ReadRef};

use crate::entry;
use crate::error::Error;
use crate::inspect::{self, Binary};
use crate::platform::{Endian, Format};
use crate::report::{Document, Kind, LibraryError, LibraryReport, Verdict};
use crate::rules::{self, Severity};
use crate::source;
use crate::target::{Target, TargetSource};

/// What to check a library against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The runtime that will load it.
    pub target: Target,
    /// The module that will call `load_nif` (e.g. `Elixir.MyNif`). Given, the library is
    /// checked as a NIF for that module: not being a NIF is an error, and the entry's module
    /// name must match.
    pub module: Option<String>,
    /// That module's functions, as name and arity: every NIF function must be one of them.
    pub functions: Option<Vec<(String, u32)>>,
    /// The functions that module declares as NIFs (OTP 25's `-nifs`, read from its `.beam`
    /// by [`crate::beam::read_nifs`]): every NIF function must be one of them. `None` when
    /// it declares none, or is not known.
    pub declared_nifs: Option<Vec<(String, u32)>>,
    /// Opt-in: run `nif_init` in a separate process through this executable (callconv's
    /// command-line tool) to cross-check the static decoder. `None`: never run anything.
    pub probe: Option<std::path::PathBuf>,
    /// How the probe runs the library: in its sandbox (the default; it refuses to run where
    /// the sandbox cannot be set up), or unsandboxed, which is reported as a warning.
    pub probe_confinement: crate::probe::Confinement,
    /// The CPU the library must run on, for the `isa-level` rule; `None` skips that rule.
    pub target_isa: Option<crate::analysis::IsaLevel>,
    /// The target's file system, for resolving needed libraries: a sysroot (an unpacked
    /// root file system) or a release directory. `None`: this machine's, and only when the
    /// target is this machine.
    pub root: Option<std::path::PathBuf>,
    /// What the machine-code analysis covers: the NIF's entry points (the default), or every
    /// exported function against the platform's C conventions.
    pub analyse: Analyse,
}

/// What the machine-code analysis of a check covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Analyse {
    /// A NIF's entry points against the convention the BEAM calls them with, and the NIF
    /// checks (entry, version, module, functions).
    #[default]
    Nif,
    /// Every exported function of any library against each C convention of its platform,
    /// within counted budgets. No NIF checks: the library need not be a NIF.
    Exports,
}

impl Options {
    /// What the NIF rules check an entry against.
    fn loader(&self) -> rules::nif::Loader<'_> {
        rules::nif::Loader {
            target: &self.target,
            module: self.module.as_deref(),
            functions: self.functions.as_deref(),
            declared_nifs: self.declared_nifs.as_deref(),
        }
    }

    /// Checks against `target`, for no particular module. The ISA check uses the CPU the
    /// target names (`Target::cpu`); without one, this machine's CPU when the target is this
    /// machine (the running VM or the host), else the platform's assumed floor.
    pub fn new(target: Target) -> Self {
        let here = matches!(target.source, TargetSource::RunningVm | TargetSource::Host)
            && target.arch == Target::host().arch;
        let big_endian = target.endian == Endian::Big;
        let arch = target.arch;
        Options {
            module: None,
            functions: None,
            declared_nifs: None,
            probe: None,
            probe_confinement: crate::probe::Confinement::Sandboxed,
            root: None,
            analyse: Analyse::Nif,
            // The target's CPU when it names one; else this machine's when checking for it;
            // elsewhere the floor the platform's distributions build for (RISC-V, PPC64LE,
            // s390x, MIPS; none for x86 and Arm, whose CPUs vary too much to assume one). A
            // CPU name is validated where it is given (`IsaLevel::target_with_cpu`, the
            // command line, the wire request); one that is not known here is not guessed at.
            target_isa: match crate::analysis::IsaLevel::for_target(&target) {
                Ok(Some(named)) => Some(named),
                _ if here => crate::analysis::IsaLevel::host(),
                _ => crate::analysis::IsaLevel::baseline(arch, big_endian),
            },
            target,
        }
    }
}

/// Checks the library at `path` against `target`.
///
/// Only regular files are opened; the file is read in ranges, never mapped or loaded.
pub fn check_path(path: &Path, target: &Target) -> Result<LibraryReport, Error> {
    check_path_with(path, &Options::new(target.clone()))
}

/// Checks the library at `path` with `options`.
pub fn check_path_with(path: &Path, options: &Options) -> Result<LibraryReport, Error> {
    let opened = source::open(path)?;
    let sha256 = source::sha256_file(path, &opened.file, opened.len)?;
    let cache = ReadCache::new(opened.file);
    let mut report = check_data(&cache, Some(path), &path.to_string_lossy(), sha256, options)
        .map_err(|e| e.with_path(path))?;
    if let Some(exe) = &options.probe {
        apply_probe(&mut report, exe, path, options.probe_confinement);
    }
    Ok(report)
}

/// Runs the probe on a NIF the target can run, and reconciles it with the static decode.
fn apply_probe(
    report: &mut LibraryReport,
    exe: &Path,
    path: &Path,
    confinement: crate::probe::Confinement,
) {
    let host = Target::host();
    if report.kind != Kind::Nif || report.arch != host.arch || report.bits != host.bits {
        return;
    }
    let outcome = crate::probe::run_with(exe, path, confinement);
    let before = report.findings.len();
    let found = rules::probe::check(&outcome, report.nif.as_ref(), confinement);
    if let (crate::probe::Outcome::Entry(probed), None) = (outcome, &report.nif) {
        // The probe's entry stands in for the one the file would not give.
        report
            .findings
            .retain(|f| f.rule != rules::NIF_ENTRY_UNREADABLE.id);
        report.nif = Some(probed);
    }
    report.findings.extend(found);
    if report.findings.len() != before {
        report.findings.sort_by_key(|f| f.severity);
        report.verdict = verdict(&report.findings);
    }
}

/// Checks a library held in memory. `label` stands for its path in the report.
pub fn check_bytes(bytes: &[u8], label: &str, target: &Target) -> Result<LibraryReport, Error> {
    check_bytes_with(bytes, label, &Options::new(target.clone()))
}

/// Checks a library held in memory with `options`.
pub fn check_bytes_with(
    bytes: &[u8],
    label: &str,
    options: &Options,
) -> Result<LibraryReport, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty { path: label.into() });
    }
    check_data(bytes, None, label, source::sha256_bytes(bytes), options)
        .map_err(|e| e.with_path(Path::new(label)))
}

/// Checks every path and gathers the results into one document.
pub fn check_paths<P: AsRef<Path>>(paths: &[P], target: &Target) -> Document {
    check_paths_with(paths, &Options::new(target.clone()))
}

/// Checks every path with `options` and gathers the results into one document.
pub fn check_paths_with<P: AsRef<Path>>(paths: &[P], options: &Options) -> Document {
    let mut libraries = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match check_path_with(path.as_ref(), options) {
            Ok(report) => libraries.push(report),
            Err(e) => errors.push(LibraryError {
                path: path.as_ref().to_string_lossy().into_owned(),
                reason: e.reason().to_string(),
                message: e.to_string(),
            }),
        }
    }
    Document::new(options.target.clone(), libraries, errors)
}

fn check_data<'data, R: ReadRef<'data>>(
    data: R,
    path: Option<&Path>,
    label: &str,
    sha256: String,
    options: &Options,
) -> Result<LibraryReport, Error> {
    let target = &options.target;
    let binary = inspect::parse(data, target.arch)?;
    let mut findings = rules::machine::check(&binary, target, inspect::producer(data));
    findings.extend(rules::link::check(&binary, target));
    findings.extend(rules::hardening::check(&binary, target));
    findings.extend(rules::hardening::check_loading(&binary, target));
    findings.extend(rules::hardening::check_isa_note(
        &binary,
        target,
        options.target_isa.as_ref(),
    ));
    match path {
        Some(path) => findings.extend(rules::dependency::check(
            &binary,
            path,
            target,
            options.root.as_deref(),
            &findings,
        )),
        None => findings.extend(rules::link::msvc_runtime(&binary, &|_| None)),
    }

    if options.analyse == Analyse::Exports {
        return Ok(exports_report(binary, findings, label, sha256));
    }
    let init = entry::init_symbol(&binary);
    let kind = library_kind(&binary, init.is_some());
    let mut nif = None;
    let mut functions = Vec::new();
    let mut isa = None;
    match init {
        Some((name, addr)) => match entry::decode(&binary, addr) {
            Ok(decoded) => {
                findings.extend(rules::nif::check_entry(&decoded, &options.loader()));
                // Only a table the BEAM would read (major 2, not 2.5) holds real code pointers.
                let readable = decoded.entry.major == 2 && decoded.entry.minor != 5;
                let convention = crate::conventions::for_binary(
                    binary.arch,
                    binary.platform,
                    binary.abi_variant.as_deref(),
                )
                .filter(|_| readable);
                if let Some(convention) = convention {
                    let started = crate::stats::start();
                    let analysis = crate::analysis::analyze(&binary, &decoded, addr, convention);
                    crate::stats::analysed(
                        started,
                        analysis.functions.iter().map(|f| f.instructions).sum(),
                        analysis.isa.instructions,
                    );
                    findings.extend(rules::code::check(
                        &analysis,
                        options.target_isa.as_ref(),
                        binary.arch,
                    ));
                    if analysis.supported {
                        functions = analysis.functions;
                        isa = Some(analysis.isa);
                    }
                }
                nif = Some(decoded.entry);
            }
            Err(_) if entry::init_returns_null(&binary, addr) => {
                findings.push(rules::nif::init_null(name))
            }
            Err(why) => findings.push(rules::nif::entry_unreadable(name, &why)),
        },
        None => findings.push(rules::nif::no_init(
            &binary,
            kind == Kind::Driver,
            options.module.as_deref(),
        )),
    }

    Ok(LibraryReport {
        nif,
        functions,
        isa,
        ..report_of(&binary, label, sha256, kind, findings)
    })
}

/// What a library exports decides what it is: a NIF (`nif_init`), a port driver
/// (`driver_init`), or a plain library.
fn library_kind<R>(binary: &Binary<R>, has_init: bool) -> Kind {
    if has_init {
        Kind::Nif
    } else if binary.export("driver_init").is_some() || binary.export("_driver_init").is_some() {
        Kind::Driver
    } else {
        Kind::Library
    }
}

/// The report's fields that every mode fills the same way, with the findings sorted by
/// severity and the verdict they give; the NIF, the analysis and the mode are left empty.
fn report_of<R>(
    binary: &Binary<R>,
    label: &str,
    sha256: String,
    kind: Kind,
    mut findings: Vec<crate::report::Finding>,
) -> LibraryReport {
    findings.sort_by_key(|f| f.severity);
    LibraryReport {
        path: label.to_string(),
        sha256,
        verdict: verdict(&findings),
        kind,
        format: binary.format,
        arch: binary.arch,
        bits: binary.bits,
        endian: binary.endian,
        abi: platform_abi(binary),
        needed: binary.needed.clone(),
        nif: None,
        findings,
        functions: Vec::new(),
        isa: None,
        libc: inspect::libc::flavour(binary).map(str::to_string),
        floors: floors(binary),
        gnu_properties: binary.gnu_properties.map(|p| gnu_property_summary(&p)),
        elf: elf_facts(binary),
        macho: binary.macho.clone(),
        pe: binary.pe.clone(),
        mode: None,
        exports: None,
    }
}

/// The exports mode's report: the loading checks already in `findings`, then every exported
/// function against the platform's C conventions. No NIF checks run, so a plain library gets
/// no NIF finding.
fn exports_report<'data, R: ReadRef<'data>>(
    binary: Binary<R>,
    mut findings: Vec<crate::report::Finding>,
    label: &str,
    sha256: String,
) -> LibraryReport {
    let kind = library_kind(&binary, entry::init_symbol(&binary).is_some());
    let convention =
        crate::conventions::for_binary(binary.arch, binary.platform, binary.abi_variant.as_deref());
    let analysis = convention.map(|c| {
        crate::analysis::exports::analyze_exports(&binary, c, &crate::analysis::exports::BUDGET)
    });
    let mut functions = Vec::new();
    let mut summary = None;
    if let Some(analysis) = analysis {
        findings.extend(rules::exports::check(&analysis));
        if analysis.supported {
            functions = analysis.functions;
            summary = Some(analysis.summary);
        }
    }
    LibraryReport {
        functions,
        mode: Some(crate::report::Mode::Exports),
        exports: summary,
        ..report_of(&binary, label, sha256, kind, findings)
    }
}

/// The ELF facts the dynamic loader acts on; none for other formats.
fn elf_facts<R>(binary: &Binary<R>) -> Option<crate::report::ElfFacts> {
    (binary.format == Format::Elf).then(|| crate::report::ElfFacts {
        soname: binary.soname.clone(),
        runpath: binary.runpath.clone(),
        rpath: binary.rpath.clone(),
        interpreter: binary.interpreter.clone(),
        arm_eabi: binary.arm_eabi,
        mips_nan: binary.mips_nan,
    })
}

/// The version floors of each versioned runtime the library imports from.
fn floors<R>(binary: &Binary<R>) -> crate::report::Floors {
    let of = |prefix: &str| {
        inspect::libc::floor(binary, prefix)
            .and_then(|f| f.label.strip_prefix(prefix).map(str::to_string))
    };
    crate::report::Floors {
        glibc: of("GLIBC_"),
        glibcxx: of("GLIBCXX_"),
        cxxabi: of("CXXABI_"),
        gcc: of("GCC_"),
    }
}

fn gnu_property_summary(p: &inspect::GnuProperties) -> crate::report::GnuPropertySummary {
    let bits = |mask: u32, names: &[&str]| -> Vec<String> {
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| n.to_string())
            .collect()
    };
    crate::report::GnuPropertySummary {
        x86_isa_needed: p.x86_64_level().map(|l| match l {
            1 => "x86-64-baseline".to_string(),
            l => format!("x86-64-v{l}"),
        }),
        x86_features: bits(p.x86_features, &["ibt", "shstk", "lam_u48", "lam_u57"]),
        aarch64_features: bits(p.aarch64_features, &["bti", "pac", "gcs"]),
    }
}

fn verdict(findings: &[crate::report::Finding]) -> Verdict {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        Verdict::Fail
    } else if findings.iter().any(|f| f.severity == Severity::Warning) {
        Verdict::Warn
    } else {
        Verdict::Pass
    }
}

/// The convention id the BEAM will use to call into this library.
fn platform_abi<R>(binary: &Binary<R>) -> Option<String> {
    crate::conventions::for_binary(binary.arch, binary.platform, binary.abi_variant.as_deref())
        .map(|c| c.id.to_string())
}
