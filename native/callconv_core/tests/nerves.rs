//! A firmware's NIF checked against a Nerves-style target (guides/nerves.md): a cross-built
//! armv7 Rustler NIF (test/fixtures/rustler/out/armv7, build_cross.sh) inside a root file
//! system laid out as a Nerves one is (the C runtime in /lib, the release's applications in
//! /srv/erlang/lib), checked with the target's triple and the root.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use callconv::inspect::resolve::{Lookup, SearchRoot};
use callconv::rules::Severity;
use callconv::Options;
use common::{otp25, repo};

/// Debian 12's armhf libc6 and libgcc-s1 (test/fixtures/nerves_root.sh), fetched if missing.
fn armhf_runtime() -> Option<PathBuf> {
    let dir = repo().join("test/fixtures/cache/nerves/armhf/root/lib/arm-linux-gnueabihf");
    if !dir.join("libc.so.6").exists() {
        let status = std::process::Command::new("bash")
            .arg(repo().join("test/fixtures/nerves_root.sh"))
            .status();
        if !dir.join("libc.so.6").exists() {
            // In CI (`CI` set) script/test fetched it first: a missing root is a failure.
            assert!(
                std::env::var_os("CI").is_none(),
                "armhf's libc6 is missing in CI: test/fixtures/nerves_root.sh did not fetch it"
            );
            eprintln!(
                "SKIPPED: armhf's libc6 could not be fetched ({status:?}); no network or apt?"
            );
            return None;
        }
    }
    Some(dir)
}

/// The runtime files a Nerves root has in /lib (Buildroot: no multiarch directory).
const RUNTIME: [&str; 5] = [
    "ld-linux-armhf.so.3",
    "libc.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "libgcc_s.so.1",
];
const NIF_AT: &str = "srv/erlang/lib/rustler_fixture-0.1.0/priv/native/librustler_fixture.so";

/// A fresh Nerves-like root holding `runtime` in /lib and the armv7 fixture as a release's NIF.
fn nerves_root(name: &str, from: &Path, runtime: &[&str]) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("callconv-nerves-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("lib")).unwrap();
    for file in runtime {
        fs::copy(from.join(file), root.join("lib").join(file)).unwrap();
    }
    let nif = root.join(NIF_AT);
    fs::create_dir_all(nif.parent().unwrap()).unwrap();
    fs::copy(
        repo().join("test/fixtures/rustler/out/armv7/0.39.0-lto-strip.so"),
        &nif,
    )
    .unwrap();
    (root, nif)
}

fn options(root: &Path) -> Options {
    let target = otp25()
        .for_triple("armv7-unknown-linux-gnueabihf")
        .expect("triple");
    Options {
        root: Some(root.to_path_buf()),
        ..Options::new(target)
    }
}

#[test]
fn an_armv7_rustler_nif_checks_clean_in_a_nerves_root() {
    let Some(runtime) = armhf_runtime() else {
        return;
    };
    let (root, nif) = nerves_root("complete", &runtime, &RUNTIME);
    let report = callconv::check_path_with(&nif, &options(&root)).unwrap();
    let errors: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        report.verdict,
        callconv::report::Verdict::Pass,
        "{:?}",
        report.findings
    );
    let entry = report.nif.as_ref().expect("a NIF entry");
    assert_eq!(entry.module, "Elixir.Callconv.Fixtures.Rustler");
    assert_eq!(entry.functions.len(), 5);

    // Every needed library is found in the root's /lib, with the symbol versions it defines.
    let bytes = fs::read(&nif).unwrap();
    let binary = callconv::inspect::parse(&bytes[..], callconv::report::Arch::Arm).unwrap();
    let resolved = callconv::inspect::resolve::resolve(&binary, &nif, SearchRoot::Sysroot(&root));
    let names: Vec<&str> = resolved.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"libc.so.6"), "{names:?}");
    for r in &resolved {
        let Lookup::Found { path, versions } = &r.lookup else {
            panic!("{}: {:?}", r.name, r.lookup)
        };
        assert_eq!(path, &root.join("lib").join(&r.name), "{}", r.name);
        assert!(
            versions.as_ref().is_some_and(|v| !v.is_empty()),
            "{}",
            r.name
        );
    }

    // The same root without libc: the NIF cannot load there.
    let without: Vec<&str> = RUNTIME
        .iter()
        .copied()
        .filter(|f| *f != "libc.so.6")
        .collect();
    let (bare, nif) = nerves_root("no-libc", &runtime, &without);
    let report = callconv::check_path_with(&nif, &options(&bare)).unwrap();
    let missing: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "needed-missing")
        .collect();
    assert_eq!(missing.len(), 1, "{:?}", report.findings);
    assert_eq!(missing[0].severity, Severity::Error);
    assert!(
        missing[0].message.contains("libc.so.6"),
        "{}",
        missing[0].message
    );
    let _ = fs::remove_dir_all(&root);
    let _ = fs::remove_dir_all(&bare);
}

/// The board's CPU, set once (`callconv: [target: [cpu: ...]]`, `--cpu`): the same armv7 NIF
/// runs on a Cortex-A7 (Raspberry Pi 2) and not on the ARM1176 of a Raspberry Pi Zero, whose
/// VFPv2 has no NEON, which the NIF's copy loops use.
#[test]
fn the_board_cpu_decides_the_isa_floor() {
    let nif = repo().join("test/fixtures/rustler/out/armv7/0.39.0-strip.so");
    let board = |cpu: &str| {
        let target = otp25()
            .for_triple("armv7-unknown-linux-gnueabihf")
            .expect("triple");
        let target = callconv::analysis::IsaLevel::target_with_cpu(target, cpu).expect("cpu");
        callconv::check_path_with(&nif, &Options::new(target)).unwrap()
    };
    let isa_level = |r: &callconv::report::LibraryReport| -> Vec<(Severity, String)> {
        r.findings
            .iter()
            .filter(|f| f.rule == "isa-level")
            .map(|f| (f.severity, f.message.clone()))
            .collect()
    };
    let a7 = board("cortex-a7");
    assert!(isa_level(&a7).is_empty(), "{:?}", isa_level(&a7));
    let pi0 = isa_level(&board("arm1176jzf-s"));
    assert_eq!(pi0.len(), 1, "{pi0:?}");
    assert_eq!(pi0[0].0, Severity::Error);
    assert!(pi0[0].1.contains("neon (`vld1.8`"), "{}", pi0[0].1);
    // Without a CPU no Arm floor is assumed: no isa-level finding either way.
    let target = otp25().for_triple("armv7-unknown-linux-gnueabihf").unwrap();
    let none = callconv::check_path_with(&nif, &Options::new(target)).unwrap();
    assert!(isa_level(&none).is_empty());
}
