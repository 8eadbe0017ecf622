//! `callconv`: the core's command-line tool.
//!
//! ```text
//! callconv check [--format text|json] [--nif-version X.Y] [--otp N] [--erts DIR] [--target TRIPLE] [--root DIR] [--probe] [--exports] [--verbose] PATH...
//! callconv probe PATH      (internal: run nif_init in this process; see callconv::probe)
//! callconv isolated ... PATH  (internal: one check for the VM's isolation option, as a term)
//! ```
//!
//! Exit status: 0 when no library fails, 1 when any does, 2 on a usage error.

#[cfg(unix)]
mod enif_stubs;
mod isolated;
#[cfg(unix)]
mod probe_child;

/// Called by a stub `enif_*` symbol: the library called the NIF API while initialising.
#[cfg(unix)]
pub(crate) fn stub_called(name: &str) {
    eprintln!("nif_init called {name}, which the probe does not provide");
    std::process::exit(3);
}

use std::process::ExitCode;

use callconv::report::Verdict;
use callconv::target::{Target, TargetSource};

const USAGE: &str =
    "usage: callconv check [--format text|json] [--nif-version X.Y] [--otp N] [--erts DIR] [--target TRIPLE] [--root DIR] [--probe] [--exports] [--verbose] PATH...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("callconv: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given".into());
    };
    #[cfg(unix)]
    if command == "probe" {
        let [path] = rest else {
            return Err("probe takes exactly one PATH".into());
        };
        return Ok(match probe_child::run(path) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("{msg}");
                ExitCode::from(4)
            }
        });
    }
    if command == "isolated" {
        use std::io::Write;
        let term = isolated::run(rest)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&term).map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    if command != "check" {
        return Err(format!("unknown command {command:?}"));
    }
    let mut format = "text".to_string();
    let mut target = Target::host();
    let mut probe = None;
    let mut verbose = false;
    let mut root = None;
    let mut analyse = callconv::check::Analyse::Nif;
    let mut paths = Vec::new();
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--format" => format = value("--format")?,
            "--nif-version" => {
                let v = value("--nif-version")?;
                callconv::target::parse_major_minor(&v)
                    .ok_or_else(|| format!("--nif-version takes MAJOR.MINOR, got {v:?}"))?;
                target.nif_version = Some(v);
                target.source = TargetSource::Explicit;
            }
            "--otp" => {
                let v = value("--otp")?;
                let otp: u32 = v
                    .parse()
                    .map_err(|_| format!("--otp takes an OTP major release, got {v:?}"))?;
                target = target.with_otp(otp)?;
            }
            "--erts" => {
                let dir = value("--erts")?;
                target = callconv::runtime::read_erts(std::path::Path::new(&dir))
                    .map_err(|e| e.to_string())?;
            }
            "--target" => {
                let triple = value("--target")?;
                target = target.for_triple(&triple)?;
            }
            "--verbose" | "-v" => verbose = true,
            // Every exported function against the platform's C conventions, not the NIF.
            "--exports" => analyse = callconv::check::Analyse::Exports,
            "--probe" => {
                probe = Some(std::env::current_exe().map_err(|e| e.to_string())?);
            }
            "--root" => {
                let dir = std::path::PathBuf::from(value("--root")?);
                if !dir.is_dir() {
                    return Err(format!("--root {} is not a directory", dir.display()));
                }
                root = Some(dir);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            path => paths.push(path.to_string()),
        }
    }
    if paths.is_empty() {
        return Err("no PATH given".into());
    }
    let options = callconv::Options {
        probe,
        root,
        analyse,
        ..callconv::Options::new(target)
    };
    let doc = callconv::check_paths_with(&paths, &options);
    match format.as_str() {
        "json" => println!("{}", doc.to_json()),
        "text" => print!("{}", callconv::render::text_with(&doc, verbose)),
        other => return Err(format!("--format must be text or json, got {other:?}")),
    }
    let failed = doc.summary.failed > 0 || doc.libraries.iter().any(|l| l.verdict == Verdict::Fail);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
