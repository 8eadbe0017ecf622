//! The facts that decide whether a library loads on macOS, Windows and Linux: the C library
//! and glibc floor (#12), PE import names wherever they lie (#12), the Mach-O, PE and ELF
//! facts of the report, the macOS version floor, the MSVC runtime and Windows' DLL search.
//!
//! The committed cross fixtures (zig-built) and patched copies of them run everywhere; the
//! vendor-built wheels of `test/fixtures/pypi/fetch.sh` are checked when that script has run.

use std::fs;
use std::path::{Path, PathBuf};

use callconv::inspect::{Import, VersionNeed};
use callconv::report::{Arch, LibraryReport};
use callconv::rules::Severity;
use callconv::target::Target;
use callconv::Options;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

fn cross(path: &str) -> PathBuf {
    fixtures().join("cross").join(path)
}

/// A file of the PyPI cache, or `None` (with a note) when fetch.sh has not run.
fn pypi(path: &str) -> Option<PathBuf> {
    let file = fixtures().join("cache/pypi").join(path);
    if file.is_file() {
        Some(file)
    } else {
        // In CI (`CI` set) script/test fetched the wheels first: a missing one is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI: test/fixtures/pypi/fetch.sh did not fetch it",
            file.display()
        );
        eprintln!(
            "skipped: {} (run test/fixtures/pypi/fetch.sh)",
            file.display()
        );
        None
    }
}

fn target(triple: &str) -> Target {
    Target::host().for_triple(triple).unwrap()
}

fn check(path: &Path, triple: &str) -> LibraryReport {
    callconv::check_path(path, &target(triple)).unwrap()
}

fn rules(report: &LibraryReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

fn has(report: &LibraryReport, rule: &str) -> Option<Severity> {
    report
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.severity)
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callconv-platform-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn versions_named_glibc_asked_of_a_vendored_libgcc_s_make_neither_glibc_nor_a_floor() {
    // A real musl library, with what a musllinux wheel's extension adds: a vendored libgcc_s
    // asked for GLIBC_2.0 (auditwheel renames it, the version stays).
    let bytes = fs::read(cross("x86_64-linux-musl/libc_user.so")).unwrap();
    let mut binary = callconv::inspect::parse(bytes.as_slice(), Arch::X86_64).unwrap();
    assert_eq!(callconv::inspect::libc::flavour(&binary), Some("musl"));
    let libgcc = "libgcc_s-69c45f16.so.1".to_string();
    binary.needed.insert(0, libgcc.clone());
    binary.version_needs.push(VersionNeed {
        file: libgcc.clone(),
        version: "GLIBC_2.0".into(),
        weak: false,
    });
    binary.imports.push(Import {
        name: "_Unwind_Resume".into(),
        library: libgcc.clone(),
        version: Some("GLIBC_2.0".into()),
    });
    assert_eq!(callconv::inspect::libc::flavour(&binary), Some("musl"));
    assert_eq!(callconv::inspect::libc::floor(&binary, "GLIBC_"), None);
    // The same version asked of glibc's libc is a glibc floor.
    binary.imports.push(Import {
        name: "memcpy".into(),
        library: "libc.so.6".into(),
        version: Some("GLIBC_2.14".into()),
    });
    let floor = callconv::inspect::libc::floor(&binary, "GLIBC_").unwrap();
    assert_eq!(
        (floor.label.as_str(), floor.symbol.as_str()),
        ("GLIBC_2.14", "memcpy")
    );
}

#[test]
fn a_musllinux_wheel_with_a_vendored_libgcc_s_is_musl_and_loads_on_musl() {
    let Some(path) = pypi(
        "numpy-musllinux-aarch64/numpy/linalg/_umath_linalg.cpython-312-aarch64-linux-musl.so",
    ) else {
        return;
    };
    let report = check(&path, "aarch64-unknown-linux-musl");
    assert!(report.needed.iter().any(|n| n.starts_with("libgcc_s-")));
    assert_eq!(report.libc.as_deref(), Some("musl"));
    assert_eq!(report.floors.glibc, None);
    assert_eq!(has(&report, "libc-mismatch"), None, "{:?}", rules(&report));
    let elf = report.elf.as_ref().unwrap();
    assert_eq!(elf.rpath, ["$ORIGIN/../../numpy.libs"]);
    // On glibc it is the mismatch it really is.
    let report = check(&path, "aarch64-unknown-linux-gnu");
    assert_eq!(has(&report, "libc-mismatch"), Some(Severity::Error));
}

/// Reads a little-endian u32 at `at`.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

#[test]
fn a_pe_import_name_outside_the_import_section_is_still_needed() {
    // As delvewheel does: the first DLL's name moved into the header padding, outside every
    // section. object's import table reads all names from one section and lost the others.
    let pristine = fs::read(cross("x86_64-windows-gnu/hello_nif.dll")).unwrap();
    let original = callconv::inspect::parse(pristine.as_slice(), Arch::X86_64).unwrap();
    let mut bytes = pristine.clone();
    let pe = u32_at(&bytes, 0x3c) as usize;
    let optional = pe + 24;
    assert_eq!(
        u16::from_le_bytes([bytes[optional], bytes[optional + 1]]),
        0x20b
    );
    let size_of_headers = u32_at(&bytes, optional + 60) as usize;
    let sections = u16::from_le_bytes([bytes[pe + 6], bytes[pe + 7]]) as usize;
    let section_table =
        optional + usize::from(u16::from_le_bytes([bytes[pe + 20], bytes[pe + 21]]));
    let import_rva = u32_at(&bytes, optional + 112 + 8) as usize;
    // The section holding the import directory, to turn its RVA into a file offset.
    let (va, raw) = (0..sections)
        .map(|i| section_table + i * 40)
        .map(|s| {
            (
                u32_at(&bytes, s + 12) as usize,
                u32_at(&bytes, s + 20) as usize,
                u32_at(&bytes, s + 8) as usize,
            )
        })
        .find(|(va, _, size)| (*va..va + size).contains(&import_rva))
        .map(|(va, raw, _)| (va, raw))
        .unwrap();
    let descriptor = import_rva - va + raw;
    let name = b"renamed-0123456789abcdef.dll\0";
    let at = size_of_headers - 64;
    assert!(at > section_table + sections * 40);
    assert!(
        bytes[at..at + name.len()].iter().all(|b| *b == 0),
        "header padding"
    );
    bytes[at..at + name.len()].copy_from_slice(name);
    bytes[descriptor + 12..descriptor + 16].copy_from_slice(&(at as u32).to_le_bytes());
    let patched = callconv::inspect::parse(bytes.as_slice(), Arch::X86_64).unwrap();
    let mut want = original.needed.clone();
    want[0] = "renamed-0123456789abcdef.dll".into();
    assert_eq!(patched.needed, want);
    // The imports and the address table slots stay as they were.
    assert_eq!(patched.imports.len(), original.imports.len());
    assert_eq!(patched.image.fixups(), original.image.fixups());
}

#[test]
fn a_delvewheel_repaired_extension_needs_every_dll_it_names() {
    let Some(path) = pypi("numpy-win-amd64/numpy/linalg/lapack_lite.cp312-win_amd64.pyd") else {
        return;
    };
    let report = check(&path, "x86_64-pc-windows-msvc");
    assert_eq!(report.needed.len(), 5, "{:?}", report.needed);
    assert!(report.needed[0].starts_with("libscipy_openblas64_-"));
    for dll in ["python312.dll", "VCRUNTIME140.dll", "KERNEL32.dll"] {
        assert!(report.needed.iter().any(|n| n == dll), "{dll}");
    }
    assert_eq!(has(&report, "msvc-runtime"), Some(Severity::Warning));
}

#[test]
fn apple_triples_carry_the_macos_version() {
    let v = |t: &str| target(t).os_version;
    assert_eq!(v("aarch64-apple-macosx13.0").as_deref(), Some("13.0"));
    assert_eq!(v("arm64-apple-macos14").as_deref(), Some("14"));
    assert_eq!(v("x86_64-apple-darwin22").as_deref(), Some("13.0"));
    assert_eq!(v("x86_64-apple-darwin19").as_deref(), Some("10.15"));
    assert_eq!(v("x86_64-apple-darwin"), None);
    assert_eq!(target("aarch64-apple-macosx13.0").os, "macos");
    assert!(Target::host()
        .for_triple("aarch64-apple-macosxfoo")
        .is_err());
}

#[test]
fn a_library_for_a_newer_macos_than_the_target_is_refused() {
    // The zig-built fixtures say minos 15.0 (zig's default deployment target).
    let path = cross("aarch64-macos/hello_nif.so");
    let report = check(&path, "aarch64-apple-macosx14.0");
    assert_eq!(
        report.macho.as_ref().unwrap().min_os.as_deref(),
        Some("15.0")
    );
    assert_eq!(has(&report, "macos-version-too-new"), Some(Severity::Error));
    for triple in [
        "aarch64-apple-macosx15.0",
        "aarch64-apple-macos15",
        "aarch64-apple-darwin",
    ] {
        let report = check(&path, triple);
        assert_eq!(has(&report, "macos-version-too-new"), None, "{triple}");
    }
    // Apple's ld, minos 13.0.
    let path = cross("aarch64-macos-chained/hello_nif.so");
    assert_eq!(
        has(
            &check(&path, "aarch64-apple-macosx13.0"),
            "macos-version-too-new"
        ),
        None
    );
    assert!(has(
        &check(&path, "aarch64-apple-macosx12.7"),
        "macos-version-too-new"
    )
    .is_some());
}

#[test]
fn mach_o_facts_of_thin_and_universal_files() {
    let report = check(
        &cross("aarch64-macos/needs_dep_rpath.so"),
        "aarch64-apple-darwin",
    );
    let macho = report.macho.as_ref().unwrap();
    assert_eq!(macho.file_type, "dylib");
    assert_eq!(macho.platform.as_deref(), Some("macos"));
    assert_eq!(macho.rpaths, ["@loader_path/deps"]);
    assert_eq!(macho.install_name.as_deref(), Some("needs_dep_rpath.so"));
    assert_eq!(macho.fixups, "opcodes");
    assert!(macho.slices.is_empty());
    assert!(report.elf.is_none() && report.pe.is_none());
    let chained = check(
        &cross("aarch64-macos-chained/hello_nif.so"),
        "aarch64-apple-darwin",
    );
    let macho = chained.macho.as_ref().unwrap();
    assert_eq!(
        (macho.fixups.as_str(), macho.sdk.as_deref()),
        ("chained", Some("13.0"))
    );

    // Both slices in one report; the target's is primary.
    let fat = cross("universal-macos/hello_nif.so");
    for (triple, primary) in [
        ("aarch64-apple-darwin", Arch::Aarch64),
        ("x86_64-apple-darwin", Arch::X86_64),
    ] {
        let report = check(&fat, triple);
        assert_eq!(report.arch, primary);
        let slices = &report.macho.as_ref().unwrap().slices;
        let arches: Vec<Arch> = slices.iter().map(|s| s.arch).collect();
        assert_eq!(arches, [Arch::X86_64, Arch::Aarch64]);
        let primaries: Vec<Arch> = slices
            .iter()
            .filter(|s| s.primary)
            .map(|s| s.arch)
            .collect();
        assert_eq!(primaries, [primary]);
        assert!(slices
            .iter()
            .all(|s| s.needed == ["/usr/lib/libSystem.B.dylib"]));
    }
}

#[test]
fn apple_built_python_extensions_are_bundles_with_their_min_os() {
    let Some(arm64) = pypi("markupsafe-macos-arm64/markupsafe/_speedups.cpython-312-darwin.so")
    else {
        return;
    };
    let report = check(&arm64, "aarch64-apple-macosx11.0");
    let macho = report.macho.as_ref().unwrap();
    assert_eq!(macho.file_type, "bundle");
    assert_eq!(macho.min_os.as_deref(), Some("11.0"));
    assert_eq!(macho.install_name, None);
    assert_eq!(has(&report, "macos-version-too-new"), None);
    assert!(has(
        &check(&arm64, "aarch64-apple-macosx10.15"),
        "macos-version-too-new"
    )
    .is_some());
    let Some(universal) =
        pypi("markupsafe-macos-universal2/markupsafe/_speedups.cpython-312-darwin.so")
    else {
        return;
    };
    let report = check(&universal, "x86_64-apple-macosx10.13");
    let slices = &report.macho.as_ref().unwrap().slices;
    let min: Vec<(Arch, Option<&str>)> = slices
        .iter()
        .map(|s| (s.arch, s.min_os.as_deref()))
        .collect();
    assert_eq!(
        min,
        [(Arch::X86_64, Some("10.13")), (Arch::Aarch64, Some("11.0"))]
    );
    // The x86_64 slice runs on 10.13; the arm64 one needs 11.0, which no Intel-only 10.13 has.
    assert_eq!(has(&report, "macos-version-too-new"), None);
}

#[test]
fn pe_facts_and_the_msvc_runtime() {
    let report = check(
        &cross("x86_64-windows-gnu/hello_nif.dll"),
        "x86_64-pc-windows-msvc",
    );
    let pe = report.pe.as_ref().unwrap();
    assert!(pe.dynamic_base && pe.nx_compat && pe.high_entropy_va);
    assert!(pe.delay_imports.is_empty());
    // zig links the UCRT only, part of every Windows 10: nothing to say without a root.
    assert_eq!(has(&report, "msvc-runtime"), None, "{:?}", rules(&report));
    for (wheel, arch) in [
        (
            "markupsafe-win-amd64/markupsafe/_speedups.cp312-win_amd64.pyd",
            "x86_64",
        ),
        (
            "markupsafe-win32/markupsafe/_speedups.cp312-win32.pyd",
            "i686",
        ),
        (
            "markupsafe-win-arm64/markupsafe/_speedups.cp312-win_arm64.pyd",
            "aarch64",
        ),
    ] {
        let Some(path) = pypi(wheel) else { return };
        let report = check(&path, &format!("{arch}-pc-windows-msvc"));
        let pe = report.pe.as_ref().unwrap();
        assert_eq!(pe.subsystem, "windows-gui", "{wheel}");
        assert!(pe.dynamic_base && pe.nx_compat, "{wheel}");
        let finding = report.findings.iter().find(|f| f.rule == "msvc-runtime");
        let finding = finding.unwrap_or_else(|| panic!("{wheel}: {:?}", rules(&report)));
        assert_eq!(finding.severity, Severity::Warning);
        assert!(
            finding.message.contains("VCRUNTIME140.dll"),
            "{}",
            finding.message
        );
        assert!(finding.hint.contains("Redistributable"));
    }
}

#[test]
fn dlls_resolve_in_windows_search_order_under_a_root() {
    let dll = cross("x86_64-windows-gnu/hello_nif.dll");
    let any_pe = cross("x86_64-windows-gnu/plain_lib.dll");
    let run = |root: &Path| {
        let options = Options {
            root: Some(root.to_path_buf()),
            ..Options::new(target("x86_64-pc-windows-msvc"))
        };
        callconv::check_path_with(&dll, &options).unwrap()
    };
    // No system directories: nothing can be proven missing.
    let bare = scratch("bare");
    let report = run(&bare);
    assert_eq!(has(&report, "needed-missing"), None);
    assert_eq!(has(&report, "msvc-runtime"), None);
    // System directories without the UCRT or kernel32: both proven missing.
    let root = scratch("windows");
    fs::create_dir_all(root.join("Windows/System32")).unwrap();
    let report = run(&root);
    assert_eq!(
        has(&report, "msvc-runtime"),
        Some(Severity::Error),
        "{:?}",
        rules(&report)
    );
    let missing = report
        .findings
        .iter()
        .find(|f| f.rule == "needed-missing")
        .unwrap();
    assert!(
        missing.message.starts_with("KERNEL32.dll"),
        "{}",
        missing.message
    );
    // Names match without regard to case; api-ms-win-crt-* resolve to ucrtbase.dll.
    fs::copy(&any_pe, root.join("Windows/System32/kernel32.dll")).unwrap();
    fs::copy(&any_pe, root.join("Windows/System32/UCRTBASE.DLL")).unwrap();
    let report = run(&root);
    assert_eq!(has(&report, "needed-missing"), None, "{:?}", rules(&report));
    assert_eq!(has(&report, "msvc-runtime"), None);
    // A DLL of another architecture is passed over, as the loader does.
    let wrong = scratch("wrong-arch");
    fs::create_dir_all(wrong.join("windows/system32")).unwrap();
    fs::copy(
        cross("aarch64-windows-gnu/plain_lib.dll"),
        wrong.join("windows/system32/KERNEL32.dll"),
    )
    .unwrap();
    fs::copy(&any_pe, wrong.join("windows/system32/ucrtbase.dll")).unwrap();
    let report = run(&wrong);
    assert_eq!(has(&report, "needed-missing"), Some(Severity::Error));
    for dir in [bare, root, wrong] {
        let _ = fs::remove_dir_all(dir);
    }
}

#[test]
fn elf_facts() {
    let report = check(
        &cross("arm-linux-gnueabihf/hello_nif.so"),
        "armv7-unknown-linux-gnueabihf",
    );
    let elf = report.elf.as_ref().unwrap();
    assert_eq!(elf.arm_eabi, Some(5));
    assert_eq!(elf.interpreter, None);
    assert!(report.macho.is_none() && report.pe.is_none());
    let report = check(
        &cross("x86_64-linux-gnu/hello_nif.so"),
        "x86_64-unknown-linux-gnu",
    );
    assert_eq!(report.elf.as_ref().unwrap().arm_eabi, None);
}

#[test]
fn weak_and_reexported_dylibs_and_weak_ones_are_never_missing() {
    let library = fixtures().join("macho/weak_reexport.dylib");
    let report = check(&library, "aarch64-apple-darwin");
    let macho = report.macho.as_ref().unwrap();
    assert_eq!(macho.weak_dylibs, ["@rpath/libcallconv_dep.1.dylib"]);
    assert_eq!(macho.reexported_dylibs, ["@rpath/libcallconv_reexp.dylib"]);
    assert_eq!(macho.rpaths, ["@loader_path"]);
    assert_eq!(
        macho.install_name.as_deref(),
        Some("@rpath/weak_reexport.dylib")
    );
    // Alone in a root: the re-exported library is missing, the weak one is not reported.
    let root = scratch("weak");
    fs::copy(&library, root.join("weak_reexport.dylib")).unwrap();
    let options = Options {
        root: Some(root.clone()),
        ..Options::new(target("aarch64-apple-darwin"))
    };
    let report = callconv::check_path_with(&root.join("weak_reexport.dylib"), &options).unwrap();
    let missing: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "needed-missing")
        .map(|f| f.message.split(' ').next().unwrap())
        .collect();
    assert_eq!(missing, ["@rpath/libcallconv_reexp.dylib"]);
    let _ = fs::remove_dir_all(root);
}

#[test]
fn executable_path_is_the_releases_erts_bin() {
    // A release: lib/ and releases/, beam.smp in erts-*/bin. The library's LC_RPATH is
    // @executable_path/../lib, so its dependency must be in erts-*/lib.
    let release = scratch("release");
    for dir in ["lib/facts-1.0/priv", "releases/1.0", "erts-13.1.5/bin"] {
        fs::create_dir_all(release.join(dir)).unwrap();
    }
    let library = release.join("lib/facts-1.0/priv/exec_rpath.dylib");
    fs::copy(fixtures().join("macho/exec_rpath.dylib"), &library).unwrap();
    let run = || {
        let options = Options {
            root: Some(release.clone()),
            ..Options::new(target("aarch64-apple-darwin"))
        };
        callconv::check_path_with(&library, &options).unwrap()
    };
    let report = run();
    assert_eq!(
        has(&report, "needed-missing"),
        Some(Severity::Error),
        "{:?}",
        rules(&report)
    );
    fs::create_dir_all(release.join("erts-13.1.5/lib")).unwrap();
    fs::copy(
        cross("aarch64-macos/libcallconv_dep.1.dylib"),
        release.join("erts-13.1.5/lib/libcallconv_dep.1.dylib"),
    )
    .unwrap();
    assert_eq!(has(&run(), "needed-missing"), None);
    // Under a sysroot beam.smp's directory is unknown: unchecked, never missing.
    let sysroot = scratch("exec-sysroot");
    fs::copy(
        fixtures().join("macho/exec_rpath.dylib"),
        sysroot.join("exec_rpath.dylib"),
    )
    .unwrap();
    let options = Options {
        root: Some(sysroot.clone()),
        ..Options::new(target("aarch64-apple-darwin"))
    };
    let report = callconv::check_path_with(&sysroot.join("exec_rpath.dylib"), &options).unwrap();
    assert_eq!(has(&report, "needed-missing"), None);
    for dir in [release, sysroot] {
        let _ = fs::remove_dir_all(dir);
    }
}

#[test]
fn delay_loaded_dlls_and_the_msvc_runtime_under_a_root() {
    let fixture = fixtures().join("pe/delay_load.dll");
    let report = check(&fixture, "x86_64-pc-windows-msvc");
    assert_eq!(report.needed, ["VCRUNTIME140.dll"]);
    let pe = report.pe.as_ref().unwrap();
    assert_eq!(pe.delay_imports, ["user32.dll", "MSVCP140.dll"]);
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "msvc-runtime")
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
    assert!(
        finding
            .message
            .contains("VCRUNTIME140.dll, MSVCP140.dll (delay-loaded"),
        "{}",
        finding.message
    );

    let any_pe = cross("x86_64-windows-gnu/plain_lib.dll");
    let root = scratch("delay");
    fs::create_dir_all(root.join("Windows/System32")).unwrap();
    fs::copy(&any_pe, root.join("Windows/System32/USER32.dll")).unwrap();
    fs::create_dir_all(root.join("app")).unwrap();
    let library = root.join("app/delay_load.dll");
    fs::copy(&fixture, &library).unwrap();
    let run = || {
        let options = Options {
            root: Some(root.clone()),
            ..Options::new(target("x86_64-pc-windows-msvc"))
        };
        callconv::check_path_with(&library, &options).unwrap()
    };
    // Proven absent: an error naming both, and no needed-missing for them or for user32.
    let report = run();
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "msvc-runtime")
        .unwrap();
    assert_eq!(finding.severity, Severity::Error);
    assert!(
        finding.message.contains("VCRUNTIME140.dll, MSVCP140.dll"),
        "{}",
        finding.message
    );
    assert_eq!(has(&report, "needed-missing"), None, "{:?}", rules(&report));
    // Shipped beside the library: nothing to say.
    fs::copy(&any_pe, root.join("app/vcruntime140.dll")).unwrap();
    fs::copy(&any_pe, root.join("app/msvcp140.dll")).unwrap();
    let report = run();
    assert_eq!(has(&report, "msvc-runtime"), None, "{:?}", rules(&report));
    let _ = fs::remove_dir_all(root);
}
