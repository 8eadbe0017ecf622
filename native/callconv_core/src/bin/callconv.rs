//! `callconv`: the core's command-line tool.
//!
//! ```text
//! callconv check [--format text|json] [--nif-version X.Y] [--otp N] PATH...
//! ```
//!
//! Exit status: 0 when no library fails, 1 when any does, 2 on a usage error.

use std::process::ExitCode;

use callconv::report::Verdict;
use callconv::target::{Target, TargetSource};

const USAGE: &str =
    "usage: callconv check [--format text|json] [--nif-version X.Y] [--otp N] PATH...";

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
    if command != "check" {
        return Err(format!("unknown command {command:?}"));
    }
    let mut format = "text".to_string();
    let mut target = Target::host();
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
                target.otp_release = Some(value("--otp")?);
                target.source = TargetSource::Explicit;
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
    let doc = callconv::check_paths(&paths, &target);
    match format.as_str() {
        "json" => println!("{}", doc.to_json()),
        "text" => print!("{}", callconv::render::text(&doc)),
        other => return Err(format!("--format must be text or json, got {other:?}")),
    }
    let failed = doc.summary.failed > 0 || doc.libraries.iter().any(|l| l.verdict == Verdict::Fail);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
