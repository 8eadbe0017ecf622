//! Dependencies: the libraries a file needs, resolved where the target's loader looks.

use std::path::Path;

use super::*;
use crate::inspect::resolve::{self, Lookup, SearchRoot};
use crate::inspect::{Binary, Platform};
use crate::target::{Target, TargetSource};

/// Resolves the needed libraries on the target's file system (the root given, or this
/// machine when it is the target) and reports those missing (`needed-missing`) and the
/// symbol versions the resolved files lack (`symbol-version-missing`). `so_far` are the
/// findings already made: a glibc version that `glibc-too-new` reports is not reported again.
pub fn check<R>(
    binary: &Binary<R>,
    path: &Path,
    target: &Target,
    root: Option<&Path>,
    so_far: &[Finding],
) -> Vec<Finding> {
    let root = match root {
        Some(dir) => SearchRoot::for_dir(dir),
        None if is_this_machine(target, binary) => SearchRoot::Host,
        None => return link::msvc_runtime(binary, &|_| None).into_iter().collect(),
    };
    let glibc_reported = so_far.iter().any(|f| f.rule == GLIBC_TOO_NEW.id);
    let mut out = Vec::new();
    let all = resolve::resolve(binary, path, root);
    let windows = binary.platform == Platform::Windows;
    if windows {
        let lookup = |dll: &str| {
            all.iter()
                .find(|r| r.name.eq_ignore_ascii_case(dll))
                .and_then(|r| match r.lookup {
                    Lookup::Found { .. } => Some(true),
                    Lookup::Missing => Some(false),
                    Lookup::Unchecked => None,
                })
        };
        out.extend(link::msvc_runtime(binary, &lookup));
    }
    // dyld goes on without a weak library; the MSVC runtime has its own rule.
    let weak = |name: &str| {
        binary
            .macho
            .as_ref()
            .is_some_and(|m| m.weak_dylibs.iter().any(|w| w == name))
    };
    for resolved in all
        .iter()
        .filter(|r| !(weak(&r.name) || windows && link::is_msvc_runtime(&r.name)))
    {
        let name = &resolved.name;
        match &resolved.lookup {
            Lookup::Missing if windows => out.push(NEEDED_MISSING.finding(
                format!(
                    "{name} is needed but not found {} (the library's directory, the release's erts-*/bin, the system directories): load_nif fails with \"The specified module could not be found\"",
                    root.describe()
                ),
                format!("ship {name} beside the NIF, or link it statically"),
            )),
            Lookup::Missing => out.push(if binary.platform == Platform::Darwin {
                NEEDED_MISSING.finding(
                    format!(
                        "{name} is needed but not found {} (LC_RPATH {:?}, @loader_path being the library's directory): load_nif fails with \"Library not loaded: {name}\"",
                        root.describe(), binary.rpath
                    ),
                    format!("ship {} beside the NIF and link with -Wl,-rpath,@loader_path, or link it statically", name.rsplit('/').next().unwrap_or(name)),
                )
            } else {
                NEEDED_MISSING.finding(
                    format!(
                        "{name} is needed but not found {} (RUNPATH {:?}, RPATH {:?}, ld.so.conf, the default directories): load_nif fails with \"{name}: cannot open shared object file\"",
                        root.describe(), binary.runpath, binary.rpath
                    ),
                    format!("install {name} on the target, or ship it beside the NIF and link with -Wl,-rpath,'$ORIGIN'"),
                )
            }),
            Lookup::Found { path: found, versions: Some(defined) } => {
                let lacking: Vec<&str> = binary
                    .version_needs
                    .iter()
                    .filter(|n| &n.file == name && !n.weak)
                    .filter(|n| !(glibc_reported && n.version.starts_with("GLIBC_")))
                    .filter(|n| !defined.contains(&n.version))
                    .map(|n| n.version.as_str())
                    .collect();
                if let Some(first) = lacking.first() {
                    out.push(SYMBOL_VERSION_MISSING.finding(
                        format!(
                            "{name} resolves to {} {}, which does not define {}: load_nif fails with \"version `{first}' not found (required by {})\"",
                            found.display(),
                            root.place(),
                            lacking.join(", "),
                            path.display()
                        ),
                        format!("build against the {name} the target has (an older distribution or toolchain), or ship the newer {name} beside the NIF with RUNPATH $ORIGIN"),
                    ));
                }
            }
            // No version definitions: the loader only warns. Unchecked: out of budget.
            Lookup::Found { versions: None, .. } | Lookup::Unchecked => {}
        }
    }
    out
}

/// Whether the target is the machine callconv runs on, so its file system is the target's.
fn is_this_machine<R>(target: &Target, binary: &Binary<R>) -> bool {
    matches!(target.source, TargetSource::RunningVm | TargetSource::Host)
        && binary.platform == Platform::Unix
        && binary.arch == target.arch
        && target.os == std::env::consts::OS
}
