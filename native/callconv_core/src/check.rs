//! The check: one library in, one report out.

use std::path::Path;

use object::{ReadCache, ReadRef};

use crate::entry;
use crate::error::Error;
use crate::inspect::{self, Binary};
use crate::report::{Document, Endian, Format, Kind, LibraryError, LibraryReport, Verdict};
use crate::rules::{self, Severity};
use crate::source;
use crate::target::Target;

/// Checks the library at `path` against `target`.
///
/// Only regular files are opened; the file is read in ranges, never mapped or loaded.
pub fn check_path(path: &Path, target: &Target) -> Result<LibraryReport, Error> {
    let opened = source::open(path)?;
    let sha256 = source::sha256_file(path, &opened.file, opened.len)?;
    let cache = ReadCache::new(opened.file);
    check_data(&cache, &path.to_string_lossy(), sha256, target).map_err(|e| e.with_path(path))
}

/// Checks a library held in memory. `label` stands for its path in the report.
pub fn check_bytes(bytes: &[u8], label: &str, target: &Target) -> Result<LibraryReport, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty { path: label.into() });
    }
    check_data(bytes, label, source::sha256_bytes(bytes), target)
        .map_err(|e| e.with_path(Path::new(label)))
}

/// Checks every path and gathers the results into one document.
pub fn check_paths<P: AsRef<Path>>(paths: &[P], target: &Target) -> Document {
    let mut libraries = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match check_path(path.as_ref(), target) {
            Ok(report) => libraries.push(report),
            Err(e) => errors.push(LibraryError {
                path: path.as_ref().to_string_lossy().into_owned(),
                reason: e.reason().to_string(),
                message: e.to_string(),
            }),
        }
    }
    Document::new(target.clone(), libraries, errors)
}

fn check_data<'data, R: ReadRef<'data>>(
    data: R,
    label: &str,
    sha256: String,
    target: &Target,
) -> Result<LibraryReport, Error> {
    let binary = inspect::parse(data, target.arch)?;
    let mut findings = platform_findings(&binary, target);

    let init = entry::init_symbol(&binary);
    let kind = match init {
        Some(_) => Kind::Nif,
        None if binary.export("driver_init").is_some()
            || binary.export("_driver_init").is_some() =>
        {
            Kind::Driver
        }
        None => Kind::Library,
    };
    let mut nif = None;
    match init {
        Some((name, addr)) => match entry::decode(&binary, addr) {
            Ok(decoded) => {
                findings.extend(rules::nif::check_entry(&decoded, target));
                nif = Some(decoded.entry);
            }
            Err(why) => findings.push(rules::NIF_ENTRY_UNREADABLE.finding(
                format!("{name} is exported, but its ErlNifEntry could not be decoded: {why}"),
                "the version, module and function-table checks were skipped for this library",
            )),
        },
        None => {
            let what = if kind == Kind::Driver {
                "a port driver (it exports driver_init)"
            } else {
                "a plain shared library"
            };
            findings.push(rules::NOT_A_NIF.finding(
                format!("no nif_init export: this is {what}, not a NIF"),
                "nothing to do if it is a dependency of a NIF or a driver",
            ));
        }
    }

    findings.sort_by_key(|f| f.severity);
    let verdict = verdict(&findings);
    Ok(LibraryReport {
        path: label.to_string(),
        sha256,
        verdict,
        kind,
        format: binary.format,
        arch: binary.arch,
        bits: binary.bits,
        endian: binary.endian,
        abi: platform_abi(&binary),
        needed: binary.needed.clone(),
        nif,
        findings,
    })
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

/// Format, architecture, word size and byte order against the target.
fn platform_findings<R>(binary: &Binary<R>, target: &Target) -> Vec<crate::report::Finding> {
    let mut out = Vec::new();
    let native = target.native_format();
    let format_ok = match (native, binary.format) {
        (Some(Format::Macho), Format::Macho | Format::MachoFat) => true,
        (Some(want), have) => want == have,
        (None, _) => true,
    };
    if !format_ok {
        out.push(rules::FORMAT_MISMATCH.finding(
            format!(
                "this is a {} file, but the target runs {}, which loads {} libraries",
                format_name(binary.format),
                target.os,
                native.map(format_name).unwrap_or("other")
            ),
            format!("build the library for {} instead", target.os),
        ));
    }
    let endian = |e: Endian| {
        if e == Endian::Little {
            "little-endian"
        } else {
            "big-endian"
        }
    };
    if binary.arch != target.arch || binary.bits != target.bits || binary.endian != target.endian {
        out.push(rules::ARCH_MISMATCH.finding(
            format!(
                "the library is {} {}-bit {}, the target is {} {}-bit {}",
                binary.arch.as_str(),
                binary.bits,
                endian(binary.endian),
                target.arch.as_str(),
                target.bits,
                endian(target.endian),
            ),
            format!(
                "build it for {} (e.g. cargo build --target <{}-triple>) or ship the matching precompiled artifact",
                target.arch.as_str(),
                target.arch.as_str()
            ),
        ));
    }
    out
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Elf => "ELF",
        Format::Macho => "Mach-O",
        Format::MachoFat => "universal Mach-O",
        Format::Pe => "PE",
        Format::Unknown => "unknown",
    }
}

/// The convention id the BEAM will use to call into this library.
fn platform_abi<R>(binary: &Binary<R>) -> Option<String> {
    crate::conventions::for_binary(binary.arch, binary.platform, binary.abi_variant.as_deref())
        .map(|c| c.id.to_string())
}
