//! Needed libraries resolved under a target root (a sysroot or a release directory), and the
//! symbol versions the resolved files define.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use callconv::report::LibraryReport;
use callconv::rules::Severity;
use callconv::Options;
use common::{host_fixture, otp25, repo};

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callconv-root-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies `from` to `root`/`to` (an absolute path inside the root), making directories.
fn place(root: &Path, to: &str, from: &Path) {
    let dest = root.join(to.trim_start_matches('/'));
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(from, dest).unwrap();
}

fn check_under(library: &Path, root: &Path) -> LibraryReport {
    // otp25() is an explicit target, not this machine: without a root nothing is resolved.
    let options = Options {
        root: Some(root.to_path_buf()),
        ..Options::new(otp25())
    };
    callconv::check_path_with(library, &options).unwrap()
}

fn rules(report: &LibraryReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

fn ver(release: u32) -> PathBuf {
    host_fixture(&format!("ver{release}/libcallconv_ver.so.1"))
}

#[test]
fn a_root_with_the_older_release_lacks_the_symbol_version() {
    let nif = host_fixture("needs_ver.so");
    let root = scratch("older");
    place(&root, "/usr/lib/libcallconv_ver.so.1", &ver(1));
    let report = check_under(&nif, &root);
    assert_eq!(
        rules(&report),
        vec![("symbol-version-missing", Severity::Error)]
    );
    let message = &report.findings[0].message;
    assert!(message.contains("CALLCONV_2.0"), "{message}");
    assert!(!message.contains("CALLCONV_1.0"), "{message}");
    assert!(
        message.contains(
            &root
                .join("usr/lib/libcallconv_ver.so.1")
                .display()
                .to_string()
        ),
        "{message}"
    );

    // The newer release defines it.
    let root = scratch("newer");
    place(&root, "/usr/lib/libcallconv_ver.so.1", &ver(2));
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);

    // Without a root, another machine's libraries are not guessed at.
    assert_eq!(
        rules(&callconv::check_path(&nif, &otp25()).unwrap()),
        vec![]
    );
}

#[test]
fn a_library_absent_from_the_root_is_missing_even_for_another_machine() {
    let nif = host_fixture("needs_ver.so");
    let root = scratch("empty");
    let report = check_under(&nif, &root);
    assert_eq!(rules(&report), vec![("needed-missing", Severity::Error)]);
    let message = &report.findings[0].message;
    assert!(message.contains("libcallconv_ver.so.1"), "{message}");
    assert!(message.contains(&root.display().to_string()), "{message}");
}

#[test]
fn links_inside_the_root_resolve_inside_the_root() {
    let nif = host_fixture("needs_ver.so");
    // An absolute link target is a path of the root, not of this machine.
    let root = scratch("link-inside");
    place(&root, "/opt/ver/libcallconv_ver.so.1", &ver(2));
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    symlink(
        "/opt/ver/libcallconv_ver.so.1",
        root.join("usr/lib/libcallconv_ver.so.1"),
    )
    .unwrap();
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);

    // A link to this machine's copy (which exists here) does not count: it is not in the root.
    let root = scratch("link-host");
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    let host_copy = fs::canonicalize(ver(2)).unwrap();
    symlink(&host_copy, root.join("usr/lib/libcallconv_ver.so.1")).unwrap();
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );

    // Nor does climbing out with "..": it stops at the root.
    let root = scratch("link-dotdot");
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    let climb = format!("{}{}", "../".repeat(32), host_copy.display());
    symlink(&climb, root.join("usr/lib/libcallconv_ver.so.1")).unwrap();
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );

    // A link loop ends.
    let root = scratch("link-loop");
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    symlink("/usr/lib/b", root.join("usr/lib/libcallconv_ver.so.1")).unwrap();
    symlink("/usr/lib/libcallconv_ver.so.1", root.join("usr/lib/b")).unwrap();
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );
}

#[test]
fn the_roots_own_ld_so_conf_and_its_includes_are_searched() {
    let nif = host_fixture("needs_ver.so");
    let root = scratch("conf");
    place(&root, "/opt/custom/lib/libcallconv_ver.so.1", &ver(2));
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );
    fs::create_dir_all(root.join("etc/ld.so.conf.d")).unwrap();
    fs::write(
        root.join("etc/ld.so.conf"),
        "# as Debian writes it\ninclude /etc/ld.so.conf.d/*.conf\n",
    )
    .unwrap();
    fs::write(
        root.join("etc/ld.so.conf.d/custom.conf"),
        "/opt/custom/lib\n",
    )
    .unwrap();
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);
    // An include that includes itself stops at the depth cap.
    fs::write(
        root.join("etc/ld.so.conf.d/self.conf"),
        "include /etc/ld.so.conf.d/*.conf\n",
    )
    .unwrap();
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);
}

#[test]
fn a_file_of_another_architecture_is_passed_over() {
    let nif = host_fixture("needs_ver.so");
    let root = scratch("foreign");
    // The first directory searched holds an AArch64 file of that name: ld.so skips it.
    let foreign = repo().join("test/fixtures/cross/aarch64-linux-gnu/plain_lib.so");
    place(
        &root,
        "/lib/x86_64-linux-gnu/libcallconv_ver.so.1",
        &foreign,
    );
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );
    place(&root, "/usr/lib/libcallconv_ver.so.1", &ver(2));
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);
}

/// A directory laid out as `mix release` writes one, with `nif` in an application's priv.
fn release_with(nif: &Path, dep: Option<&Path>) -> (PathBuf, PathBuf) {
    let rel = scratch(&format!(
        "release-{}",
        nif.file_stem().unwrap().to_string_lossy()
    ));
    fs::create_dir_all(rel.join("releases/0.1.0")).unwrap();
    fs::create_dir_all(rel.join("erts-13.1.5/bin")).unwrap();
    let priv_dir = rel.join("lib/my_app-0.1.0/priv");
    fs::create_dir_all(&priv_dir).unwrap();
    let copy = priv_dir.join(nif.file_name().unwrap());
    fs::copy(nif, &copy).unwrap();
    if let Some(dep) = dep {
        fs::create_dir_all(priv_dir.join("deps")).unwrap();
        fs::copy(dep, priv_dir.join("deps/libcallconv_dep.so.1")).unwrap();
    }
    (rel, copy)
}

#[test]
fn a_release_finds_what_ships_beside_the_nif_and_the_system_libraries() {
    let dep = host_fixture("deps/libcallconv_dep.so.1");
    // RUNPATH $ORIGIN/deps, the dependency shipped there: found; libc.so.6 from this machine.
    let (rel, nif) = release_with(&host_fixture("needs_dep_origin.so"), Some(&dep));
    assert_eq!(rules(&check_under(&nif, &rel)), vec![]);

    // The same release without the dependency.
    let (rel, nif) = release_with(&host_fixture("needs_dep_origin.so"), None);
    let report = check_under(&nif, &rel);
    assert_eq!(rules(&report), vec![("needed-missing", Severity::Error)]);
    let message = &report.findings[0].message;
    assert!(message.contains("libcallconv_dep.so.1"), "{message}");
    assert!(message.contains("in the release"), "{message}");
    assert!(message.contains(&rel.display().to_string()), "{message}");
}

/// A file of trixie's OTP 27 tree, by the start of its directory under `usr/lib/erlang/lib`.
fn trixie_file(root: &Path, app: &str, rest: &str) -> PathBuf {
    let lib = root.join("usr/lib/erlang/lib");
    fs::read_dir(&lib)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with(app))
        .unwrap_or_else(|| panic!("no {app}* under {}", lib.display()))
        .path()
        .join(rest)
}

/// What each needed library of `library` (an x86-64 file) resolves to under `root`.
fn resolved(library: &Path, root: SearchRoot) -> Vec<(String, Lookup)> {
    resolved_as(library, root, callconv::report::Arch::X86_64)
}

/// What each needed library of `library` resolves to under `root`.
fn resolved_as(
    library: &Path,
    root: SearchRoot,
    arch: callconv::report::Arch,
) -> Vec<(String, Lookup)> {
    let bytes = fs::read(library).unwrap();
    let binary = callconv::inspect::parse(&bytes[..], arch).unwrap();
    callconv::inspect::resolve::resolve(&binary, library, root)
        .into_iter()
        .map(|r| (r.name, r.lookup))
        .collect()
}

use callconv::inspect::resolve::{Lookup, SearchRoot};

#[test]
fn debian_trixies_crypto_resolves_in_its_own_tree_and_lacks_openssl_3_4_on_bookworm() {
    let Some(root) = common::trixie_root() else {
        return;
    };
    let crypto = trixie_file(&root, "crypto-", "priv/lib/crypto.so");

    // In its own tree: both needed libraries found there, through the root's ld.so.conf.
    let found = resolved(&crypto, SearchRoot::Sysroot(&root));
    assert_eq!(
        found.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec!["libcrypto.so.3", "libc.so.6"]
    );
    for (name, lookup) in &found {
        let Lookup::Found { path, versions } = lookup else {
            panic!("{name}: {lookup:?}")
        };
        assert!(path.starts_with(&root), "{name} at {}", path.display());
        assert!(versions.as_ref().is_some_and(|v| !v.is_empty()), "{name}");
    }
    let report = check_under(&crypto, &root);
    let ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(!ids.contains(&"needed-missing"), "{:?}", report.findings);
    assert!(
        !ids.contains(&"symbol-version-missing"),
        "{:?}",
        report.findings
    );

    // On this machine (Debian 12, OpenSSL 3.0): libcrypto.so.3 is there, OPENSSL_3.4.0 is not.
    let report = check_under(&crypto, Path::new("/"));
    let lacking: Vec<&callconv::report::Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule == "symbol-version-missing")
        .collect();
    assert_eq!(lacking.len(), 1, "{:?}", report.findings);
    assert_eq!(lacking[0].severity, Severity::Error);
    assert!(
        lacking[0].message.contains("OPENSSL_3.4.0"),
        "{}",
        lacking[0].message
    );
    assert!(
        lacking[0].message.contains("libcrypto.so.3"),
        "{}",
        lacking[0].message
    );
    assert!(
        !lacking[0].message.contains("OPENSSL_3.0.0"),
        "{}",
        lacking[0].message
    );

    // This machine's OTP 25 crypto.so is fine in the newer tree.
    let here = common::otp_nif("crypto-", "crypto.so");
    let report = check_under(&here, &root);
    let ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(!ids.contains(&"needed-missing"), "{:?}", report.findings);
    assert!(
        !ids.contains(&"symbol-version-missing"),
        "{:?}",
        report.findings
    );
}

#[test]
fn glibc_versions_are_reported_once() {
    let Some(root) = common::trixie_root() else {
        return;
    };
    // trixie's beam.smp needs GLIBC_2.38; this machine has glibc 2.36.
    let beam = fs::read_dir(root.join("usr/lib/erlang"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("erts-"))
        .unwrap()
        .path()
        .join("bin/beam.smp");
    let with_libc = |version: Option<&str>| {
        let mut target = otp25();
        target.libc = Some("gnu".into());
        target.libc_version = version.map(str::to_string);
        let options = Options {
            root: Some(PathBuf::from("/")),
            ..Options::new(target)
        };
        callconv::check_path_with(&beam, &options).unwrap()
    };
    let glibc_lacking = |report: &LibraryReport| {
        report
            .findings
            .iter()
            .filter(|f| f.message.contains("GLIBC_2.38"))
            .map(|f| f.rule.clone())
            .collect::<Vec<_>>()
    };
    // The target's glibc is known: glibc-too-new says it, and only it.
    let report = with_libc(Some("2.36"));
    assert_eq!(
        glibc_lacking(&report),
        vec!["glibc-too-new"],
        "{:?}",
        report.findings
    );
    // Unknown: the resolved libc.so.6 says it.
    let report = with_libc(None);
    let rules = glibc_lacking(&report);
    assert!(!rules.is_empty(), "{:?}", report.findings);
    assert!(
        rules.iter().all(|r| r == "symbol-version-missing"),
        "{rules:?}"
    );
    assert!(report.findings.iter().any(
        |f| f.message.starts_with("libc.so.6 resolves to ") && f.message.contains("GLIBC_2.38")
    ));
}

#[test]
fn mach_o_rpath_and_loader_path_are_followed_under_a_root() {
    let cross = repo().join("test/fixtures/cross");
    let nif_file = cross.join("aarch64-macos/needs_dep_rpath.so");
    let bytes = fs::read(&nif_file).unwrap();
    let binary = callconv::inspect::parse(&bytes[..], callconv::report::Arch::Aarch64).unwrap();
    assert_eq!(binary.rpath, vec!["@loader_path/deps".to_string()]);
    assert!(binary
        .needed
        .contains(&"@rpath/libcallconv_dep.1.dylib".to_string()));

    let missing = |report: &LibraryReport| -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.rule == "needed-missing")
            .map(|f| f.message.clone())
            .collect()
    };
    let lay_out = |name: &str, dep: Option<&Path>| -> (PathBuf, PathBuf) {
        let root = scratch(name);
        let nif = root.join("app/needs_dep_rpath.so");
        fs::create_dir_all(root.join("app/deps")).unwrap();
        fs::copy(&nif_file, &nif).unwrap();
        if let Some(dep) = dep {
            fs::copy(dep, root.join("app/deps/libcallconv_dep.1.dylib")).unwrap();
        }
        (root, nif)
    };

    // @rpath/ through LC_RPATH @loader_path/deps: found. libSystem lives in the dyld shared
    // cache, not on disk: left unchecked, not missing.
    let (root, nif) = lay_out(
        "macho",
        Some(&cross.join("aarch64-macos/libcallconv_dep.1.dylib")),
    );
    let found = resolved_as(
        &nif,
        SearchRoot::Sysroot(&root),
        callconv::report::Arch::Aarch64,
    );
    assert_eq!(
        found,
        vec![
            ("/usr/lib/libSystem.B.dylib".to_string(), Lookup::Unchecked),
            (
                "@rpath/libcallconv_dep.1.dylib".to_string(),
                Lookup::Found {
                    path: root.join("app/deps/libcallconv_dep.1.dylib"),
                    versions: None
                }
            ),
        ]
    );
    assert_eq!(missing(&check_under(&nif, &root)), Vec::<String>::new());

    // Absent, or of another architecture (an x86-64 dylib): missing.
    for (name, dep) in [
        ("macho-absent", None),
        ("macho-x86", Some(cross.join("x86_64-macos/plain_lib.so"))),
    ] {
        let (root, nif) = lay_out(name, dep.as_deref());
        let messages = missing(&check_under(&nif, &root));
        assert_eq!(messages.len(), 1, "{name}: {messages:?}");
        assert!(
            messages[0].contains("@rpath/libcallconv_dep.1.dylib"),
            "{}",
            messages[0]
        );
        assert!(messages[0].contains("@loader_path/deps"), "{}", messages[0]);
    }
}

#[test]
fn a_hostile_root_cannot_block_or_escape() {
    let nif = host_fixture("needs_ver.so");
    let root = scratch("hostile");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    // FIFOs where the configuration and the library are expected: never opened.
    for fifo in ["etc/ld.so.conf", "usr/lib/libcallconv_ver.so.1"] {
        let path = std::ffi::CString::new(root.join(fifo).to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc_mkfifo(path.as_ptr(), 0o644) }, 0);
    }
    assert_eq!(
        rules(&check_under(&nif, &root)),
        vec![("needed-missing", Severity::Error)]
    );
    // A configuration reached through an absolute link is read inside the root.
    fs::remove_file(root.join("etc/ld.so.conf")).unwrap();
    fs::remove_file(root.join("usr/lib/libcallconv_ver.so.1")).unwrap();
    place(&root, "/opt/custom/libcallconv_ver.so.1", &ver(2));
    fs::write(root.join("etc/real.conf"), "/opt/custom\n").unwrap();
    symlink("/etc/real.conf", root.join("etc/ld.so.conf")).unwrap();
    assert_eq!(rules(&check_under(&nif, &root)), vec![]);
}

extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}
