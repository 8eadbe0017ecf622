//! Shared helpers for the integration tests: fixture paths, built on demand.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Once;

use callconv::target::{Target, TargetSource};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static BUILD: Once = Once::new();

/// A host fixture built by `test/fixtures/build.sh`, building the set on first use.
pub fn host_fixture(name: &str) -> PathBuf {
    BUILD.call_once(|| {
        let status = std::process::Command::new("bash")
            .arg(repo().join("test/fixtures/build.sh"))
            .status()
            .expect("run test/fixtures/build.sh");
        assert!(status.success(), "test/fixtures/build.sh failed");
    });
    let path = repo().join("test/fixtures/build/host").join(name);
    assert!(path.exists(), "fixture {} missing", path.display());
    path
}

/// The NIFs that Debian's Erlang/OTP 25 ships (package erlang-crypto, erlang-asn1).
pub fn otp_nif(app_glob: &str, file: &str) -> PathBuf {
    let lib = Path::new("/usr/lib/erlang/lib");
    let dir = std::fs::read_dir(lib)
        .expect("Erlang/OTP is installed under /usr/lib/erlang")
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with(app_glob))
        .unwrap_or_else(|| panic!("no {app_glob}* under {}", lib.display()));
    dir.path().join("priv/lib").join(file)
}

/// The runtime of Debian 12's Erlang/OTP 25 on this machine.
pub fn otp25() -> Target {
    Target {
        source: TargetSource::Explicit,
        otp_release: Some("25".into()),
        erts_version: Some("13.1.5".into()),
        nif_version: Some("2.16".into()),
        ..Target::host()
    }
}

/// Debian 13 (trixie)'s tree, unpacked by `test/fixtures/trixie.sh` (run on first use): OTP 27
/// and the system libraries it needs, a real sysroot. `None`, with a note, when it cannot be
/// fetched (no network or not root).
pub fn trixie_root() -> Option<PathBuf> {
    let root = repo().join("test/fixtures/cache/trixie/root");
    let complete = |root: &Path| {
        root.join("usr/lib/erlang/lib").exists()
            && root
                .join("usr/lib/x86_64-linux-gnu/libcrypto.so.3")
                .exists()
    };
    if !complete(&root) {
        let status = std::process::Command::new("bash")
            .arg(repo().join("test/fixtures/trixie.sh"))
            .status();
        if !complete(&root) {
            eprintln!(
                "SKIPPED: trixie's tree could not be fetched ({status:?}); no network or apt?"
            );
            return None;
        }
    }
    Some(root)
}

/// Every regular file under `root` whose name `keep` accepts, symlinks not followed (a
/// library's real file, not its links) and the directory `skip` not entered; sorted.
pub fn files_under(root: &Path, skip: Option<&Path>, keep: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if Some(path.as_path()) != skip {
                    dirs.push(path);
                }
            } else if meta.is_file() && keep(&e.file_name().to_string_lossy()) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The exports corpus's libraries that CI checks (the trimmed set of `tests/exports_corpus.rs`,
/// also the x86 code of `tests/decoder_agreement.rs`): libc, libcrypto and libxml2 are left
/// to `EXPORTS_CORPUS=full` for time.
pub const EXPORTS_TRIMMED: &[&str] = &[
    "libz.so.1",
    "libsqlite3.so.0",
    "libffi.so.8",
    "libssl.so.3",
    "libzstd.so.1",
    "liblzma.so.5",
    "libpcre2-8.so.0",
    "libm.so.6",
];

/// The libraries `EXPORTS_CORPUS=full` adds to the trimmed set (the exports corpus test and
/// the decoder-agreement test).
pub const EXPORTS_LARGE: &[&str] = &["libcrypto.so.3", "libxml2.so.2", "libc.so.6"];
