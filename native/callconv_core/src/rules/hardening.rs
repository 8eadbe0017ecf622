//! Properties of the file that make it unsafe or unloadable on hardened systems.

use super::*;
use crate::analysis::IsaLevel;
use crate::inspect::{libc, Binary, NotShared, Platform};
use crate::platform::{Arch, Format, Libc};
use crate::target::Target;

/// glibc refuses to dlopen a library that needs an executable stack from this version on.
const GLIBC_REFUSES_EXEC_STACK: [u32; 2] = [2, 41];

/// Hardening findings for `binary` on `target`.
pub fn check<R>(binary: &Binary<R>, target: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    if binary.exec_stack {
        let refused = target.libc_kind() == Some(Libc::Gnu)
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

/// Loading and binding findings of an ELF file: whether `dlopen` takes it at all, RELRO and
/// BIND_NOW, and exports that the VM's own definitions interpose.
pub fn check_loading<R>(binary: &Binary<R>, target: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    enif_defined(binary, &mut out);
    if binary.format != Format::Elf {
        return out;
    }
    if let Some(kind) = binary.not_shared {
        let (what, loader_says) = match kind {
            NotShared::Fixed => (
                "an executable (ET_EXEC)",
                "cannot dynamically load executable",
            ),
            NotShared::Pie => (
                "a position-independent executable (DF_1_PIE)",
                "cannot dynamically load position-independent executable",
            ),
            NotShared::Relocatable => (
                "an object file (ET_REL), never linked",
                "only ET_DYN and ET_EXEC can be loaded",
            ),
        };
        let interp = binary
            .interpreter
            .as_deref()
            .map(|i| format!(", with program interpreter {i}"))
            .unwrap_or_default();
        out.push(NOT_A_SHARED_OBJECT.finding(
            format!("the file is {what}{interp}, not a shared library: load_nif fails with \"{loader_says}\""),
            "link the library with -shared (compile with -fPIC); for Rust, crate-type = [\"cdylib\"]",
        ));
        // RELRO and exports mean something else in an executable.
        return out;
    }
    if !binary.relro {
        out.push(NO_RELRO.finding(
            "the library has no PT_GNU_RELRO segment: its GOT, .dynamic and init/fini arrays stay writable after loading",
            "link with -Wl,-z,relro,-z,now",
        ));
    } else if !binary.bind_now && target.vm_bind_now == Some(true) {
        out.push(NO_BIND_NOW.finding(
            "partial RELRO: the library is not linked with BIND_NOW, so its PLT GOT stays writable, while the target's beam.smp has full RELRO",
            "link with -Wl,-z,now",
        ));
    }
    interposable(binary, target, &mut out);
    out
}

/// Most names quoted in one finding.
const QUOTED_NAMES: usize = 5;

/// `a, b, c` and `(n in all)` when there are more than quoted.
fn name_list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(QUOTED_NAMES).copied().collect();
    if names.len() > QUOTED_NAMES {
        format!("{}, ... ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

fn enif_defined<R>(binary: &Binary<R>, out: &mut Vec<Finding>) {
    if binary.platform == Platform::Windows {
        // Windows NIFs reach the API through the callback table, never by symbol.
        return;
    }
    let mut names: Vec<&str> = binary
        .exports
        .iter()
        .map(|e| e.name.strip_prefix('_').unwrap_or(&e.name))
        // Only the API's own names: a library may name its helpers enif_* (Debian's bitcask
        // defines enif_get_uint64_bin), and those shadow nothing of the VM's.
        .filter(|n| crate::runtime::enif_function(n).is_some())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return;
    }
    out.push(ENIF_DEFINED.finding(
        format!(
            "the library defines {} itself, while the VM provides the NIF API: with -Bsymbolic{} or protected visibility its calls run this copy instead of the VM's; otherwise they run the VM's, and this copy wherever the runtime lacks the function",
            name_list(&names),
            if binary.symbolic { " (as this library is linked)" } else { "" }
        ),
        "remove these definitions (a stub or mock of the NIF API linked in by mistake) and call the API only through erl_nif.h",
    ));
}

/// Exact names and prefixes of libraries that NIFs bundle and that the VM, its libraries
/// or another NIF's dependencies also define: zlib (which beam.smp itself links on most
/// distributions), the C allocator, OpenSSL and its forks, and common embedded libraries.
const BUNDLED_NAMES: &[&str] = &[
    "malloc",
    "free",
    "calloc",
    "realloc",
    "aligned_alloc",
    "posix_memalign",
    "memalign",
    "valloc",
    "pvalloc",
    "malloc_usable_size",
    "crc32",
    "adler32",
    "compress",
    "compress2",
    "uncompress",
    "zlibVersion",
    "zError",
];
const BUNDLED_PREFIXES: &[&str] = &[
    "deflate", "inflate", "crc32_", "adler32_", "gzopen", "gzread", "gzwrite", "gzclose", "SSL_",
    "EVP_", "CRYPTO_", "OPENSSL_", "BIO_", "X509_", "ERR_", "BN_", "RSA_", "EC_", "RAND_", "PEM_",
    "sqlite3_", "ZSTD_", "LZ4_", "XXH", "BZ2_", "lzma_", "png_", "jpeg_", "curl_", "pcre_",
    "pcre2_", "yaml_", "uv_", "sodium_", "mbedtls_", "je_",
];

/// Names a NIF is meant to export.
fn expected_export(name: &str) -> bool {
    matches!(name, "nif_init" | "driver_init" | "_init" | "_fini")
        || name.ends_with("_nif_init")
        || name.starts_with("enif_")
}

fn interposable<R>(binary: &Binary<R>, target: &Target, out: &mut Vec<Finding>) {
    // With -Bsymbolic the library's own references bind to its own definitions at link time.
    if binary.symbolic {
        return;
    }
    let mut from_vm = 0;
    let mut names: Vec<&str> = Vec::new();
    for name in &binary.interposable_exports {
        if expected_export(name) {
            continue;
        }
        let in_vm = target.vm_exports_has(name);
        let bundled = BUNDLED_NAMES.contains(&name.as_str())
            || BUNDLED_PREFIXES.iter().any(|p| name.starts_with(p));
        if in_vm || bundled {
            from_vm += usize::from(in_vm);
            names.push(name);
        }
    }
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return;
    }
    let vm_note = if from_vm > 0 {
        format!(" ({from_vm} of them exported by the target's beam.smp itself)")
    } else {
        String::new()
    };
    out.push(INTERPOSABLE_EXPORT.finding(
        format!(
            "the library exports {}{vm_note}: names that the VM, a library it loads or another bundled library also defines. The dynamic loader looks them up in the VM and its libraries first, so the library's own calls to them can run those definitions instead of its own",
            name_list(&names)
        ),
        "export only nif_init: build with -fvisibility=hidden, link bundled static libraries with -Wl,--exclude-libs,ALL (or a version script), or link with -Wl,-Bsymbolic",
    ));
}

/// glibc refuses a library whose x86 ISA marker exceeds the CPU from this version on.
const GLIBC_CHECKS_ISA_MARKER: [u32; 2] = [2, 33];

/// The `.note.gnu.property` x86-64 ISA level against the target CPU.
pub fn check_isa_note<R>(
    binary: &Binary<R>,
    target: &Target,
    target_isa: Option<&IsaLevel>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let needed = binary
        .gnu_properties
        .and_then(|p| p.x86_64_level())
        .filter(|_| binary.arch == Arch::X86_64);
    let (Some(needed), Some(have)) = (needed, target_isa.and_then(|t| t.x86_64_level)) else {
        return out;
    };
    if needed <= have {
        return out;
    }
    let glibc = target.libc_kind() == Some(Libc::Gnu);
    let old_glibc = target
        .libc_version
        .as_deref()
        .and_then(libc::parse_version)
        .is_some_and(|v| v < GLIBC_CHECKS_ISA_MARKER.to_vec());
    let (severity, consequence) = if glibc && !old_glibc {
        (
            Severity::Error,
            "glibc 2.33 and later refuse to load it: \"CPU ISA level is lower than required\"",
        )
    } else {
        (
            Severity::Warning,
            "this C library ignores the marker, but code built for that level raises SIGILL on this CPU",
        )
    };
    out.push(ISA_NOTE_LEVEL.finding_at(
        severity,
        format!(
            "the library's .note.gnu.property needs x86-64-v{needed} (GNU_PROPERTY_X86_ISA_1_NEEDED), the target CPU is x86-64-v{have}: {consequence}"
        ),
        format!("build for x86-64-v{have} or lower (-march=x86-64-v{have}, no -Wl,-z,x86-64-v{needed}), or deploy to CPUs of level v{needed}"),
    ));
    out
}
