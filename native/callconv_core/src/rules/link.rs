//! Checks on how the library links against the target: the `enif_*` API it needs, its C
//! library flavour and version floor, and its ABI variant.

use super::*;
use crate::inspect::{libc, Binary, NanEncoding};
use crate::platform::Libc;
use crate::target::Target;

/// All linkage findings for `binary` on `target`. `dlsym_names` are `enif_*` names the
/// library resolves itself at init (Rustler 0.35–0.38 does).
pub fn check<'data, R: object::ReadRef<'data>>(
    binary: &Binary<R>,
    target: &Target,
) -> Vec<Finding> {
    let mut out = Vec::new();
    enif(binary, target, &mut out);
    libc_flavour(binary, target, &mut out);
    glibc_floor(binary, target, &mut out);
    abi_variant(binary, target, &mut out);
    mips_nan(binary, target, &mut out);
    macos_version(binary, target, &mut out);
    out
}

/// Compares two dotted versions, missing parts counting as 0 (`13` equals `13.0`).
fn version_cmp(a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    let at = |v: &[u32], i: usize| v.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// The macOS twin of the glibc floor: dyld refuses a library whose minimum macOS version is
/// newer than the running system's.
fn macos_version<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    if target.os != "macos" {
        return;
    }
    let Some(want) = target.os_version.as_deref() else {
        return;
    };
    let Some(facts) = &binary.macho else {
        return;
    };
    let (Some(min), Some("macos")) = (facts.min_os.as_deref(), facts.platform.as_deref()) else {
        return;
    };
    let (Some(have), Some(target_version)) = (libc::parse_version(min), libc::parse_version(want))
    else {
        return;
    };
    if version_cmp(&have, &target_version).is_gt() {
        out.push(MACOS_VERSION_TOO_NEW.finding(
            format!(
                "the library needs macOS {min} or later (its minimum OS version), but the target is macOS {want}: dyld refuses it and load_nif fails with \"built for newer macOS version ({min}) than being linked ({want})\""
            ),
            format!(
                "build it with MACOSX_DEPLOYMENT_TARGET={want} (or -mmacosx-version-min={want}; zig: -target <arch>-macos.{want})"
            ),
        ));
    }
}

/// Whether a DLL name is one of the Visual C++ runtime's or the Universal CRT's.
pub fn is_msvc_runtime(dll: &str) -> bool {
    // Exact names: a copy renamed by delvewheel (msvcp140-<hash>.dll) is the library's own,
    // which no redistributable provides.
    const RUNTIME: [&str; 9] = [
        "vcruntime140.dll",
        "vcruntime140_1.dll",
        "vcruntime140_threads.dll",
        "msvcp140.dll",
        "msvcp140_1.dll",
        "msvcp140_2.dll",
        "msvcp140_atomic_wait.dll",
        "msvcp140_codecvt_ids.dll",
        "concrt140.dll",
    ];
    let dll = dll.to_ascii_lowercase();
    RUNTIME.contains(&dll.as_str()) || dll.starts_with("api-ms-win-crt-") || dll == "ucrtbase.dll"
}

/// The `msvc-runtime` finding for a Windows library that needs the Visual C++ runtime or the
/// UCRT (static imports and delay-loaded ones); the UCRT alone only when proven absent. `lookup` says, per DLL, whether it was found
/// on the target (`Some(true)`), proven absent (`Some(false)`), or not decided (`None`).
/// Found DLLs are not reported; proven absence makes it an error.
pub fn msvc_runtime<R>(
    binary: &Binary<R>,
    lookup: &dyn Fn(&str) -> Option<bool>,
) -> Option<Finding> {
    if binary.platform != crate::inspect::Platform::Windows {
        return None;
    }
    let delayed = binary.pe.iter().flat_map(|pe| pe.delay_imports.iter());
    let mut needed: Vec<&String> = binary
        .needed
        .iter()
        .chain(delayed)
        .filter(|n| is_msvc_runtime(n))
        .filter(|n| lookup(n) != Some(true))
        .collect();
    needed.dedup();
    let first = needed.first()?;
    let absent: Vec<&str> = needed
        .iter()
        .filter(|n| lookup(n) == Some(false))
        .map(|n| n.as_str())
        .collect();
    // The UCRT is part of Windows 10 and later: alone, it is news only when a target root
    // proves it absent (an older Windows).
    let ucrt = |n: &str| {
        let n = n.to_ascii_lowercase();
        n.starts_with("api-ms-win-crt-") || n == "ucrtbase.dll"
    };
    if absent.is_empty() && needed.iter().all(|n| ucrt(n)) {
        return None;
    }
    // A delay-loaded DLL is loaded at the first call into it, where its absence raises a
    // structured exception (which takes the VM down) instead of failing load_nif.
    let delayed = |n: &str| {
        !binary.needed.iter().any(|m| m == n)
            && binary
                .pe
                .iter()
                .any(|pe| pe.delay_imports.iter().any(|d| d == n))
    };
    let names: Vec<String> = needed
        .iter()
        .map(|n| {
            if delayed(n) {
                format!("{n} (delay-loaded: the first call into it fails instead)")
            } else {
                n.to_string()
            }
        })
        .collect();
    let hint = "install the Visual C++ Redistributable (x64/x86/arm64, matching the VM) on the target, ship these DLLs beside the NIF, or link the C runtime statically (/MT; Rust: -C target-feature=+crt-static)";
    Some(if absent.is_empty() {
        MSVC_RUNTIME.finding(
            format!(
                "the library needs {} from the Visual C++ runtime or the Universal CRT, which a clean Windows lacks until the Visual C++ Redistributable is installed: load_nif fails with \"The specified module could not be found\" for {first} there",
                names.join(", ")
            ),
            hint,
        )
    } else {
        MSVC_RUNTIME.finding_at(
            Severity::Error,
            format!(
                "the library needs {}, found neither beside it, nor in the release's erts-*/bin, nor in the target's system directories: load_nif fails with \"The specified module could not be found\"",
                absent.join(", ")
            ),
            hint,
        )
    })
}

/// Most bytes scanned for `dlsym` names.
const MAX_DLSYM_SCAN: usize = 64 << 20;

/// The `enif_*` names a library needs from the runtime: its imports, or, when it imports none
/// but imports `dlsym`, the `enif_*` strings in its file-backed data (what Rustler 0.35–0.38
/// pass to `dlsym` at init). The flag says which.
pub fn needed_enif<'data, R: object::ReadRef<'data>>(binary: &Binary<R>) -> (Vec<String>, bool) {
    let strip = |n: &str| n.strip_prefix('_').unwrap_or(n).to_string();
    let mut names: Vec<String> = binary
        .imports
        .iter()
        .map(|i| strip(&i.name))
        .filter(|n| n.starts_with("enif_"))
        .collect();
    let by_dlsym = names.is_empty() && binary.imports.iter().any(|i| strip(&i.name) == "dlsym");
    if by_dlsym {
        let mut budget = MAX_DLSYM_SCAN;
        for seg in binary.image.segments() {
            let len = (seg.file_size as usize).min(budget);
            budget -= len;
            if let Ok(bytes) = binary.image.read_bytes(seg.vaddr, len) {
                names.extend(enif_strings(&bytes));
            }
        }
    }
    names.sort();
    names.dedup();
    (names, by_dlsym)
}

/// NUL-terminated `enif_[a-z0-9_]+` strings in `bytes`.
fn enif_strings(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(pos) = bytes
        .get(start..)
        .and_then(|rest| rest.windows(5).position(|w| w == b"enif_"))
    {
        let begin = start + pos;
        let preceded_ok = begin == 0 || bytes.get(begin - 1) == Some(&0);
        let tail = bytes.get(begin..).unwrap_or_default();
        let len = tail
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        if tail.get(len) == Some(&0) && len > 5 {
            let name = String::from_utf8_lossy(tail.get(..len).unwrap_or_default()).into_owned();
            // Rust string literals carry no NUL, so the linker may pack one right before a
            // name (aarch64 Rustler 0.36: "...string failedenif_priv_data\0"); a name glued
            // to other text counts only when it is an API function.
            if preceded_ok || crate::runtime::enif_since(&name).is_some() {
                out.push(name);
            }
        }
        start = begin + len.max(1);
    }
    out
}

fn enif<'data, R: object::ReadRef<'data>>(
    binary: &Binary<R>,
    target: &Target,
    out: &mut Vec<Finding>,
) {
    // Windows NIFs import nothing: every call goes through the callback table.
    let Some(exports) = &target.enif_exports else {
        return;
    };
    let (needed, by_dlsym) = needed_enif(binary);
    let exports: std::collections::HashSet<&str> = exports.iter().map(String::as_str).collect();
    let missing: Vec<&String> = needed
        .iter()
        .filter(|n| !exports.contains(n.as_str()))
        .collect();
    if missing.is_empty() {
        return;
    }
    let since: Vec<String> = missing
        .iter()
        .map(|n| match crate::runtime::enif_since(n) {
            Some((a, b)) => format!("{n} (NIF {a}.{b})"),
            None => format!("{n} (not an API function)"),
        })
        .collect();
    out.push(ENIF_MISSING.finding(
        format!(
            "the library {} {} that the target runtime{} does not export; load_nif fails with \"undefined symbol: {}\"",
            if by_dlsym { "looks up with dlsym" } else { "imports" },
            since.join(", "),
            target
                .otp_release
                .as_deref()
                .map(|o| format!(" (OTP {o})"))
                .unwrap_or_default(),
            missing.first().map(|s| s.as_str()).unwrap_or_default()
        ),
        "stop calling these functions, or deploy to a runtime that has them",
    ));
}

fn libc_flavour<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    let (Some(have), Some(want)) = (libc::flavour(binary), target.libc.as_deref()) else {
        return;
    };
    let unix = |f: &str| matches!(f, "gnu" | "musl" | "bionic");
    if unix(have) && unix(want) && have != want {
        out.push(LIBC_MISMATCH.finding(
            format!(
                "the library is linked against {} but the target runs on {}",
                libc_name(have),
                libc_name(want)
            ),
            format!(
                "build it for {} (e.g. the *-linux-{want} target)",
                libc_name(want)
            ),
        ));
    }
}

fn libc_name(f: &str) -> &str {
    match f {
        "gnu" => "glibc",
        "musl" => "musl",
        "bionic" => "Android's bionic",
        other => other,
    }
}

fn glibc_floor<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    if target.libc_kind() != Some(Libc::Gnu) {
        return;
    }
    let Some(have) = target.libc_version.as_deref().and_then(libc::parse_version) else {
        return;
    };
    if let Some(floor) = libc::floor(binary, "GLIBC_") {
        if floor.version > have {
            out.push(GLIBC_TOO_NEW.finding(
                format!(
                    "the library needs {} (for {}) but the target has glibc {}",
                    floor.label,
                    floor.symbol,
                    target.libc_version.as_deref().unwrap_or("?")
                ),
                format!(
                    "build against glibc {} or older (an older distribution, or zig cc -target <arch>-linux-gnu.{})",
                    target.libc_version.as_deref().unwrap_or("?"),
                    target.libc_version.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
}

fn abi_variant<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    let (Some(have), Some(want)) = (binary.abi_variant.as_deref(), target.abi_variant.as_deref())
    else {
        return;
    };
    if binary.arch != target.arch {
        return;
    }
    // Compare the part that decides register use: float ABI, MIPS ABI, PPC64 ELF version.
    let key = |v: &str| -> String {
        v.split('-')
            .filter(|p| !p.starts_with("eabi") && *p != "nan2008" && *p != "fp64")
            .collect::<Vec<_>>()
            .join("-")
    };
    if key(have) != key(want) {
        out.push(ABI_MISMATCH.finding(
            format!("the library's ABI is {have}, the target runtime's is {want}"),
            format!("build the library for the {want} ABI"),
        ));
    }
}

/// MIPS: glibc's loader maps only objects of the process's NaN encoding (the header's
/// `EF_MIPS_NAN2008` must equal its own); a mismatch fails like a missing file. The target's
/// encoding is in its ABI variant (read from its `beam.smp`, or implied by the triple).
fn mips_nan<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    let (Some(have), Some(variant)) = (binary.mips_nan, target.abi_variant.as_deref()) else {
        return;
    };
    if binary.arch != target.arch {
        return;
    }
    let want = if variant.split('-').any(|p| p == "nan2008") {
        NanEncoding::Ieee2008
    } else {
        NanEncoding::Legacy
    };
    if have == want {
        return;
    }
    let (severity, consequence) = match target.libc_kind() {
        Some(Libc::Gnu) | None => (
            Severity::Error,
            "glibc's loader refuses it (\"cannot open shared object file\")",
        ),
        Some(_) => (
            Severity::Warning,
            "the C library loads it, but the two read each other's quiet NaNs as signalling ones",
        ),
    };
    out.push(MIPS_NAN_MISMATCH.finding_at(
        severity,
        format!(
            "the library uses the {} NaN encoding, the target runtime ({variant}) the {} one: {consequence}",
            have.as_str(),
            want.as_str()
        ),
        format!("build the library with -mnan={}", want.as_str()),
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn enif_names_glued_to_other_text_count_only_when_they_are_api_functions() {
        let bytes = b"copy of string failedenif_priv_data\0enif_alloc\0myenif_not_api\0\0enif_x1\0";
        assert_eq!(
            super::enif_strings(bytes),
            vec!["enif_priv_data", "enif_alloc", "enif_x1"]
        );
    }
}
