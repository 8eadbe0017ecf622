//! Which C library a binary was linked against, and the newest versions of it (and of the
//! C++ runtime) that it asks for.

use super::{Binary, Platform};

/// The C library flavour: `gnu` (glibc), `musl`, `bionic` (Android), `macos`,
/// `msvcrt`/`ucrt` (Windows), or
/// `None` when the binary needs no C library or names none we know.
pub fn flavour<R>(binary: &Binary<R>) -> Option<&'static str> {
    match binary.platform {
        Platform::Darwin => return Some("macos"),
        Platform::Windows => {
            let lower: Vec<String> = binary
                .needed
                .iter()
                .map(|n| n.to_ascii_lowercase())
                .collect();
            if lower
                .iter()
                .any(|n| n.starts_with("ucrtbase") || n.starts_with("api-ms-win-crt"))
            {
                return Some("ucrt");
            }
            if lower
                .iter()
                .any(|n| n.starts_with("msvcr") || n == "msvcrt.dll")
            {
                return Some("msvcrt");
            }
            return None;
        }
        Platform::Unix => {}
    }
    // The program interpreter is the C library's own loader, when the file names one.
    if let Some(interp) = binary.interpreter.as_deref() {
        let name = interp.rsplit('/').next().unwrap_or(interp);
        if name.starts_with("ld-musl-") {
            return Some("musl");
        }
        if is_glibc_library(name) {
            return Some("gnu");
        }
    }
    // Else the C library the file needs by name: musl's loader doubles as its libc, and
    // Alpine links it as libc.musl-<arch>.so.1.
    if binary
        .needed
        .iter()
        .any(|n| n.starts_with("libc.musl-") || n.starts_with("ld-musl-"))
    {
        return Some("musl");
    }
    // Versions count only when asked of glibc's own libraries: a vendored libgcc_s in a
    // musllinux wheel can define (and be asked for) GLIBC_2.0 without any glibc involved.
    let glibc_versions = binary
        .version_needs
        .iter()
        .any(|n| n.version.starts_with("GLIBC_") && is_glibc_library(&n.file));
    if glibc_versions
        || binary
            .needed
            .iter()
            .any(|n| n == "libc.so.6" || is_glibc_loader(n))
    {
        return Some("gnu");
    }
    // Android's bionic is plain `libc.so` too, but versions its symbols LIBC, LIBC_N, LIBC_O…
    // and ships liblog and libandroid, which no other Linux has.
    let bionic_versions = binary.imports.iter().any(|i| {
        i.version
            .as_deref()
            .is_some_and(|v| v == "LIBC" || v.starts_with("LIBC_"))
    }) || binary
        .version_needs
        .iter()
        .any(|n| n.file == "libc.so" && (n.version == "LIBC" || n.version.starts_with("LIBC_")));
    if bionic_versions
        || binary
            .needed
            .iter()
            .any(|n| n == "liblog.so" || n == "libandroid.so")
    {
        return Some("bionic");
    }
    // musl's libc is plain `libc.so` (its loader is ld-musl-<arch>.so.1, linked as libc).
    if binary
        .needed
        .iter()
        .any(|n| n == "libc.so" || n.starts_with("libc.musl-") || n.starts_with("ld-musl-"))
    {
        return Some("musl");
    }
    None
}

/// The newest version of a versioned runtime that the binary requires, with one symbol that
/// needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// The version, as numbers (`[2, 34]`).
    pub version: Vec<u32>,
    /// The version as written (`GLIBC_2.34`).
    pub label: String,
    /// A symbol that requires it.
    pub symbol: String,
}

/// The highest `<prefix>x.y[.z]` version among the binary's imports (`GLIBC_`, `GLIBCXX_`,
/// `CXXABI_`, `GCC_`). `GLIBC_` versions count only when asked of one of glibc's own
/// libraries ([`is_glibc_library`]).
pub fn floor<R>(binary: &Binary<R>, prefix: &str) -> Option<Floor> {
    binary
        .imports
        .iter()
        .filter_map(|i| {
            let label = i.version.as_deref()?;
            let rest = label.strip_prefix(prefix)?;
            if prefix == "GLIBC_" && !is_glibc_library(&i.library) {
                return None;
            }
            let version: Option<Vec<u32>> = rest.split('.').map(|p| p.parse().ok()).collect();
            Some(Floor {
                version: version?,
                label: label.to_string(),
                symbol: i.name.clone(),
            })
        })
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// Whether `name` (a `DT_NEEDED`/`vn_file` name, or a path's last component) is one of the
/// libraries glibc itself ships: its loader, libc, libm, libpthread, libdl, librt and the
/// smaller ones. Another library may name a version `GLIBC_*` (libgcc_s does, for the symbols
/// it took over from glibc), which says nothing about glibc.
pub fn is_glibc_library(name: &str) -> bool {
    const GLIBC_LIBRARIES: [&str; 17] = [
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libresolv.so.2",
        "libutil.so.1",
        "libanl.so.1",
        "libnsl.so.1",
        "libcrypt.so.1",
        "libmvec.so.1",
        "libBrokenLocale.so.1",
        "libthread_db.so.1",
        "libc_malloc_debug.so.0",
        "libmemusage.so",
        "libpcprofile.so",
        "libSegFault.so",
    ];
    GLIBC_LIBRARIES.contains(&name) || name.starts_with("libnss_") || is_glibc_loader(name)
}

/// Whether `name` is glibc's dynamic loader (`ld-linux-*.so.*`, `ld-linux.so.2`, the
/// `ld64.so.*` of ppc64 and s390x, the `ld.so.1` of 32-bit PowerPC, MIPS and s390).
fn is_glibc_loader(name: &str) -> bool {
    let name = name.rsplit('/').next().unwrap_or(name);
    name.starts_with("ld-linux") || name.starts_with("ld64.so.") || name == "ld.so.1"
}

/// Parses a version such as `"2.36"` into numbers.
pub fn parse_version(s: &str) -> Option<Vec<u32>> {
    s.trim().split('.').map(|p| p.parse().ok()).collect()
}

/// The glibc version of the running process, when it runs on glibc.
pub fn host_glibc_version() -> Option<String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: gnu_get_libc_version returns a pointer to a static, NUL-terminated string.
        let ptr = unsafe { libc::gnu_get_libc_version() };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null, static and NUL-terminated, as glibc documents.
        let s = unsafe { std::ffi::CStr::from_ptr(ptr) };
        Some(s.to_string_lossy().into_owned())
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}
