//! Properties of the file that make it unsafe or unloadable on hardened systems.

use super::*;
use crate::inspect::{libc, Binary};
use crate::report::Arch;
use crate::target::Target;

/// glibc refuses to dlopen a library that needs an executable stack from this version on.
const GLIBC_REFUSES_EXEC_STACK: [u32; 2] = [2, 41];

/// Hardening findings for `binary` on `target`.
pub fn check<R>(binary: &Binary<R>, target: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    if binary.exec_stack {
        let refused = target.libc.as_deref() == Some("gnu")
            && target
                .libc_version
                .as_deref()
                .and_then(libc::parse_version)
                .is_some_and(|v| v >= GLIBC_REFUSES_EXEC_STACK.to_vec());
        let message = if refused {
            format!(
                "the library asks for an executable stack, and the target's glibc {} refuses to load it (\"cannot enable executable stack as shared object requires\")",
                target.libc_version.as_deref().unwrap_or("?")
            )
        } else {
            "the library asks for an executable stack: glibc 2.41 and later refuse to load it, older ones make every thread stack of the VM executable".to_string()
        };
        let severity = if refused {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(EXEC_STACK.finding_at(
            severity,
            message,
            "add .note.GNU-stack to the assembly that lacks it, or link with -Wl,-z,noexecstack",
        ));
    }
    // SPARC's ABI puts the PLT in a writable, executable segment: every SPARC library has one.
    let rwx_is_the_abi = matches!(binary.arch, Arch::Sparc | Arch::Sparc64);
    for vaddr in binary
        .rwx_segments
        .iter()
        .take(4)
        .filter(|_| !rwx_is_the_abi)
    {
        out.push(RWX_SEGMENT.finding(
            format!("the loadable segment at {vaddr:#x} is writable and executable"),
            "keep code and writable data in separate sections",
        ));
    }
    if binary.textrel {
        out.push(TEXTREL.finding(
            "the library has text relocations: the loader must write into its code",
            "compile every object with -fPIC",
        ));
    }
    out
}
