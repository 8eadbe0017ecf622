//! `callconv`: the core's command-line tool.
//!
//! ```text
//! callconv check [OPTIONS] PATH...   (see `callconv check --help`)
//! callconv probe [--unsandboxed] [--report-sandbox] PATH
//!                                    (internal: run nif_init in this process; see callconv::probe)
//! callconv isolated [OPTIONS] PATH   (internal: one check for the VM's isolation option, as JSON)
//! ```
//!
//! The options are declared once, as clap derive structs: `--help`, `--version`, usage errors
//! and their exit status (2) all come from those declarations. Adding an option to `check`
//! is one field in [`CheckArgs`] (and its use in [`check`]).
//!
//! Exit status: 0 when no library fails, 1 when any does, 2 on a usage error.

#[cfg(unix)]
mod enif_stubs;
mod isolated;
mod policy;
#[cfg(unix)]
mod probe_child;
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
mod sandbox;

/// Called by a stub `enif_*` symbol: the library called the NIF API while initialising.
#[cfg(unix)]
pub(crate) fn stub_called(name: &str) {
    eprintln!("nif_init called {name}, which the probe does not provide");
    std::process::exit(3);
}

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use callconv::report::{Document, LibraryError};
use callconv::target::{Target, TargetSource};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "callconv",
    version,
    about = "Checks native libraries (NIFs) before the BEAM loads them",
    long_about = "Checks native libraries (NIFs, .so/.dylib/.dll) statically and predicts \
                  whether the BEAM will load them and whether they fit the platform's C calling \
                  convention. Nothing from the libraries is run unless --probe is given."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check native libraries, or the libraries found in directories
    Check(Box<CheckArgs>),
    /// Internal: run one library's nif_init in this process (the --probe child)
    #[command(hide = true)]
    Probe {
        /// The library
        path: PathBuf,
        /// Run without the sandbox (the caller reports it)
        #[arg(long)]
        unsandboxed: bool,
        /// Only set the sandbox up and say what the kernel gave; load nothing
        #[arg(long)]
        report_sandbox: bool,
        /// For the tests: a sandbox layer to treat as missing
        #[arg(long, value_name = "LAYER")]
        pretend_missing: Option<String>,
    },
    /// Internal: one check for the VM's isolation option, written as JSON
    #[command(hide = true)]
    Isolated(Box<isolated::IsolatedArgs>),
}

/// The options of `callconv check`, the same as `mix callconv.check`'s where both apply.
#[derive(Args)]
#[command(
    args_override_self = true,
    after_help = "Exit status: 0 when no library fails, 1 when any library fails (an \
    error finding, a warning with --strict, or unreadable), 2 on a usage error."
)]
struct CheckArgs {
    /// Native libraries (.so, .dylib, .dll), or directories to search for them
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Output format: a table per library, report schema v1, SARIF 2.1.0, or GitHub
    /// workflow annotations
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Write the document to FILE instead of standard output (a summary line is still printed)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Also print each entry point's machine-code analysis and the instruction-set floor
    /// (text)
    #[arg(short, long)]
    verbose: bool,

    /// Warnings fail, as errors do
    #[arg(long)]
    strict: bool,

    /// Drop a rule's findings: RULE, or RULE:GLOB for libraries whose path ends in GLOB
    /// (*, **, ?); repeatable
    #[arg(long, value_name = "RULE[:GLOB]", value_parser = policy::parse_ignore)]
    ignore: Vec<policy::Ignore>,

    /// Check against this NIF version, such as 2.17 (without it, or --otp or --erts, the
    /// NIF version checks are skipped)
    #[arg(long, value_name = "X.Y", value_parser = parse_nif_version)]
    nif_version: Option<String>,

    /// Check against this OTP release, such as 27, from the built-in table
    #[arg(long, value_name = "N")]
    otp: Option<u32>,

    /// Check against the runtime of this ERTS directory (its beam.smp)
    #[arg(long, value_name = "DIR")]
    erts: Option<PathBuf>,

    /// Check for another platform, such as aarch64-unknown-linux-gnu
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// The oldest macOS the target runs, such as 13.0 (wins over a version in --target); a
    /// library built for a newer one fails with macos-version-too-new
    #[arg(long, value_name = "VERSION", value_parser = parse_min_os)]
    min_os: Option<String>,

    /// The oldest CPU the target runs, for the isa-level rule: x86-64-v3, cortex-a53,
    /// cortex-a7, rv64gcv_zba_zbb, power9, z15, mips64r6, mips64r2+msa... (without it: the
    /// CPU a --target triple names, else this machine's CPU when checking for it, else the
    /// platform's distribution floor where callconv knows one)
    #[arg(long, value_name = "CPU")]
    cpu: Option<String>,

    /// Resolve each library's dependencies in this sysroot or release directory
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    root: Option<PathBuf>,

    /// Check every library as the NIF this module (such as Elixir.MyApp.Native) loads
    #[arg(long, value_name = "MODULE")]
    module: Option<String>,

    /// Also run each NIF's nif_init in a separate, resource-limited process and compare its
    /// entry with the static decode
    #[arg(long)]
    probe: bool,

    /// Like --probe, but without the sandbox where none can be set up: the library's code
    /// runs with your rights, and the report says so (nif-probe-unsandboxed)
    #[arg(long)]
    probe_unsandboxed: bool,

    /// Analyse every exported function of any C library against the platform's C
    /// conventions and say which each matches (cdecl, stdcall, fastcall; SysV, Win64; ...),
    /// instead of checking a NIF
    #[arg(long)]
    exports: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }
}

fn parse_nif_version(v: &str) -> Result<String, String> {
    callconv::target::parse_major_minor(v)
        .map(|_| v.to_string())
        .ok_or_else(|| format!("takes MAJOR.MINOR, such as 2.17; got {v:?}"))
}

fn existing_dir(v: &str) -> Result<PathBuf, String> {
    let dir = PathBuf::from(v);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!("{v} is not a directory"))
    }
}

fn main() -> ExitCode {
    // clap prints help and version to stdout with status 0, usage errors to stderr with 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(*args),
        #[cfg(unix)]
        Command::Probe {
            path,
            unsandboxed,
            report_sandbox,
            pretend_missing,
        } => Ok(probe(&probe_child::Request {
            path: &path.to_string_lossy(),
            unsandboxed,
            pretend_missing: pretend_missing.as_deref(),
            report_sandbox,
        })),
        #[cfg(not(unix))]
        Command::Probe { .. } => Err("probe is only available on Unix".into()),
        Command::Isolated(args) => isolated::run(*args).and_then(|json| {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&json).map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }),
    };
    result.unwrap_or_else(|msg| {
        eprintln!("callconv: {msg}");
        ExitCode::from(2)
    })
}

#[cfg(unix)]
fn probe(request: &probe_child::Request) -> ExitCode {
    match probe_child::run(request) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(probe_child::Failure::Refused(missing)) => {
            eprintln!("{}{missing}", callconv::probe::REFUSED_MARK);
            ExitCode::from(5)
        }
        Err(probe_child::Failure::Failed(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(4)
        }
    }
}

/// The runtime to check against: an ERTS directory's, else this machine's, then the
/// platform of `--target`, the versions of `--otp`, and `--nif-version` last.
fn target(args: &CheckArgs) -> Result<Target, String> {
    let mut target = match &args.erts {
        Some(dir) => callconv::runtime::read_erts(dir).map_err(|e| e.to_string())?,
        None => Target::host(),
    };
    if let Some(triple) = &args.target {
        target = target.for_triple(triple)?;
    }
    if let Some(otp) = args.otp {
        target = target.with_otp(otp)?;
    }
    if let Some(v) = &args.nif_version {
        target.nif_version = Some(v.clone());
        target.source = TargetSource::Explicit;
    }
    // Applied after --target, so that it wins over the version a triple carries.
    if let Some(v) = &args.min_os {
        target.os_version = Some(v.clone());
        target.source = TargetSource::Explicit;
    }
    // Likewise over the CPU a triple names (riscv64gc), and checked against the architecture.
    if let Some(cpu) = &args.cpu {
        target = callconv::analysis::IsaLevel::target_with_cpu(target, cpu)
            .map_err(|e| format!("--cpu: {e}"))?;
    }
    Ok(target)
}

fn parse_min_os(v: &str) -> Result<String, String> {
    callconv::inspect::libc::parse_version(v)
        .map(|_| v.to_string())
        .ok_or_else(|| format!("takes a version such as 13.0, got {v:?}"))
}

fn check(args: CheckArgs) -> Result<ExitCode, String> {
    // The benchmark's counters (see callconv::stats), printed to stderr when the check is done.
    let stats = std::env::var_os("CALLCONV_STATS").is_some_and(|v| v == "1");
    if stats {
        callconv::stats::enable();
    }
    let result = check_libraries(args);
    if stats {
        eprintln!("callconv-stats: {}", callconv::stats::json());
    }
    result
}

fn check_libraries(args: CheckArgs) -> Result<ExitCode, String> {
    let policy = policy::Policy::new(args.strict, args.ignore.clone())?;
    let probe = if args.probe || args.probe_unsandboxed {
        Some(std::env::current_exe().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let probe_confinement = if args.probe_unsandboxed {
        callconv::probe::Confinement::Unsandboxed
    } else {
        callconv::probe::Confinement::Sandboxed
    };
    let target = target(&args)?;
    let base = callconv::Options::new(target);
    let options = callconv::Options {
        probe,
        probe_confinement,
        root: args.root.clone(),
        module: args.module.clone(),
        analyse: if args.exports {
            callconv::check::Analyse::Exports
        } else {
            callconv::check::Analyse::Nif
        },
        ..base
    };
    let paths: Vec<PathBuf> = args.paths.iter().flat_map(|p| native_files(p)).collect();
    if paths.is_empty() {
        return Err(
            "no native libraries found; give the paths of .so, .dylib or .dll files".into(),
        );
    }

    // A progress line only where a person watches: standard error and output both on a
    // terminal, and text output. Never in a pipe, a file or a machine-readable document.
    let progress = args.format == Format::Text
        && args.output.is_none()
        && paths.len() > PROGRESS_THRESHOLD
        && std::io::stderr().is_terminal()
        && std::io::stdout().is_terminal();
    let mut libraries = Vec::new();
    let mut errors = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if progress {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            eprint!(
                "\r\x1b[2Kcallconv: checking {}/{} {name}",
                i + 1,
                paths.len()
            );
        }
        match callconv::check_path_with(path, &options) {
            Ok(report) => libraries.push(report),
            Err(e) => errors.push(LibraryError {
                path: path.to_string_lossy().into_owned(),
                reason: e.reason().to_string(),
                message: e.to_string(),
            }),
        }
    }
    if progress {
        eprint!("\r\x1b[2K");
    }

    let mut hidden = 0;
    for lib in &mut libraries {
        hidden += policy.apply(lib);
    }
    let doc = Document::new(options.target.clone(), libraries, errors);
    let failed = doc.summary.failed > 0;

    let root = std::env::current_dir()
        .ok()
        .map(|d| d.to_string_lossy().into_owned());
    let rendered = match args.format {
        // SARIF and annotations point at the file in the repository, not a build copy.
        Format::Sarif | Format::Github => callconv::render::render(
            &source_paths(doc.clone(), root.as_deref()),
            args.format.name(),
            root.as_deref(),
            false,
        ),
        Format::Text => Some(callconv::render::text_with(&doc, args.verbose)),
        Format::Json => Some(doc.to_json()),
    }
    .unwrap_or_default();

    match &args.output {
        None => print!("{rendered}"),
        Some(file) => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(file, &rendered).map_err(|e| format!("{}: {e}", file.display()))?;
            println!(
                "Wrote {}: {}",
                file.display(),
                callconv::render::summary_line(&doc.summary)
            );
        }
    }
    if hidden > 0 && matches!(args.format, Format::Text) {
        println!("{}", callconv::render::hidden_line(hidden));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// More libraries than this get a progress line on a terminal.
const PROGRESS_THRESHOLD: usize = 5;

/// Each library's path as the repository knows it (see [`callconv::render::source_path`]).
fn source_paths(mut doc: Document, root: Option<&str>) -> Document {
    let Some(root) = root else { return doc };
    let exists = |rel: &str| Path::new(root).join(rel).is_file();
    for lib in &mut doc.libraries {
        if let Some(source) = callconv::render::source_path(&lib.path, Some(root), exists) {
            lib.path = source;
        }
    }
    for err in &mut doc.errors {
        if let Some(source) = callconv::render::source_path(&err.path, Some(root), exists) {
            err.path = source;
        }
    }
    doc
}

/// The native libraries under `path`, sorted; `path` itself when it is not a directory.
/// The walk is bounded in depth and does not follow directory links (no cycles).
fn native_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut found = Vec::new();
    walk(path, 0, &mut found);
    found.sort();
    found
}

const MAX_DEPTH: usize = 32;

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, found);
            }
        } else if path.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("so" | "dylib" | "dll")
            )
        {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_declarations_are_consistent() {
        Cli::command().debug_assert();
    }
}
