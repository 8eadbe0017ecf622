//! NIF-level false refusals and missed refusals (issue #12), each on a fixture built by
//! `test/fixtures/nif_facts/build.sh` (committed outputs) or on real OTP files:
//!
//! * a `--target` of another word size than the running VM takes its `enif_*` set from the
//!   table for that target (the `*int64` functions are symbols on ILP32);
//! * `enif-defined` only for names of the NIF API;
//! * GCC's Thumb section-anchor `nif_init` decodes;
//! * a `nif_init` that certainly returns NULL is `nif-init-null`;
//! * OTP 25's `-nifs`, read from `.beam` code, gives `nif-not-declared`.

mod common;

use std::path::{Path, PathBuf};

use callconv::beam::read_nifs;
use callconv::report::LibraryReport;
use callconv::target::Target;
use callconv::{check_path_with, Options};
use common::{otp25, repo, trixie_root};

fn fixture(path: &str) -> PathBuf {
    repo().join("test/fixtures/nif_facts").join(path)
}

fn rules(report: &LibraryReport) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

fn check(path: &Path, options: &Options) -> LibraryReport {
    check_path_with(path, options).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// This machine's OTP 25 runtime as the running VM sees it: the exact exports of its
/// LP64 `beam.smp`, where the four `*int64` functions are macros and have no symbol.
fn running_vm() -> Target {
    let target = callconv::runtime::read_erts(Path::new("/usr/lib/erlang"))
        .expect("this machine's ERTS is readable");
    let exports = target
        .enif_exports
        .as_ref()
        .expect("beam.smp exports enif_*");
    assert!(exports.iter().any(|n| n == "enif_get_long"));
    assert!(
        !exports.iter().any(|n| n == "enif_get_int64"),
        "an LP64 beam.smp has no enif_get_int64 symbol"
    );
    target
}

const INT64: [&str; 4] = [
    "enif_get_int64",
    "enif_get_uint64",
    "enif_make_int64",
    "enif_make_uint64",
];

#[test]
fn a_32_bit_target_has_the_int64_symbols_the_running_vm_lacks() {
    for (triple, lib) in [
        ("i686-unknown-linux-gnu", "x86-linux-gnu/int64_nif.so"),
        (
            "armv7-unknown-linux-gnueabihf",
            "arm-linux-gnueabihf/int64_nif.so",
        ),
    ] {
        let target = running_vm().for_triple(triple).unwrap();
        let exports = target.enif_exports.as_ref().unwrap();
        for name in INT64 {
            assert!(exports.iter().any(|n| n == name), "{triple}: {name}");
        }
        let report = check(&fixture(lib), &Options::new(target));
        assert!(
            !rules(&report).contains(&"enif-missing"),
            "{lib} for {triple}: {:?}",
            report.findings
        );
        assert_eq!(
            report.verdict,
            callconv::report::Verdict::Pass,
            "{lib}: {:?}",
            report.findings
        );
    }
}

#[test]
fn the_running_vm_itself_still_refuses_an_int64_import() {
    // Same word size as the running VM: its real list stays, and an import of a function it
    // lacks is still caught (a 64-bit library importing enif_get_int64 would not load).
    let target = running_vm().for_triple("x86_64-unknown-linux-gnu").unwrap();
    assert!(!target
        .enif_exports
        .as_ref()
        .unwrap()
        .iter()
        .any(|n| n == "enif_get_int64"));
    // Back from 32 bits to LP64: the table drops them again.
    let back = running_vm()
        .for_triple("i686-unknown-linux-gnu")
        .and_then(|t| t.for_triple("aarch64-unknown-linux-gnu"))
        .unwrap();
    assert!(!back
        .enif_exports
        .as_ref()
        .unwrap()
        .iter()
        .any(|n| INT64.contains(&n.as_str())));
    // The 32-bit library against the 64-bit VM: the word size is the refusal, and the
    // int64 imports really are missing there.
    let report = check(
        &fixture("x86-linux-gnu/int64_nif.so"),
        &Options::new(running_vm()),
    );
    assert!(rules(&report).contains(&"arch-mismatch"));
    assert!(rules(&report).contains(&"enif-missing"));
}

#[test]
fn windows_and_an_unknown_nif_version_follow_the_word_size_too() {
    // Windows is LLP64: long is 32 bits, the *int64 functions are real (callback table).
    let windows = running_vm().for_triple("x86_64-pc-windows-msvc").unwrap();
    assert!(windows
        .enif_exports
        .as_ref()
        .unwrap()
        .iter()
        .any(|n| n == "enif_make_uint64"));
    // Without a NIF version the known list is adjusted rather than rebuilt.
    let mut unversioned = running_vm();
    unversioned.nif_version = None;
    let before = unversioned.enif_exports.clone().unwrap();
    let ilp32 = unversioned.for_triple("i686-unknown-linux-gnu").unwrap();
    let after = ilp32.enif_exports.unwrap();
    assert_eq!(after.len(), before.len() + 4);
    assert!(before.iter().all(|n| after.contains(n)));
}

#[test]
fn helpers_named_enif_are_not_enif_defined() {
    for lib in [
        "x86_64-linux-gnu/int64_nif.so",
        "x86-linux-gnu/int64_nif.so",
        "arm-linux-gnueabihf/int64_nif.so",
    ] {
        let report = check(&fixture(lib), &Options::new(otp25()));
        assert!(
            !rules(&report).contains(&"enif-defined"),
            "{lib}: {:?}",
            report.findings
        );
    }
}

#[test]
fn gcc_thumb_section_anchor_init_decodes() {
    let target = otp25().for_triple("armv7-unknown-linux-gnueabihf").unwrap();
    let report = check(
        &fixture("arm-linux-gnueabihf/thumb1_init.so"),
        &Options::new(target),
    );
    let nif = report
        .nif
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", report.findings));
    assert_eq!(nif.module, "thumb1_init");
    assert_eq!((nif.major, nif.minor), (2, 16));
    assert_eq!(nif.decoded_by, "static:arm-thumb");
    let names: Vec<(&str, u32)> = nif
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.arity))
        .collect();
    assert_eq!(names, [("echo", 1), ("echo2", 1)]);
    assert_eq!(nif.min_erts.as_deref(), Some("erts-12.0"));
    assert!(!rules(&report).contains(&"nif-entry-unreadable"));
}

#[test]
fn an_init_that_returns_null_is_refused() {
    for (lib, triple) in [
        ("x86_64-linux-gnu/null_init.so", "x86_64-unknown-linux-gnu"),
        (
            "aarch64-linux-gnu/null_init.so",
            "aarch64-unknown-linux-gnu",
        ),
        (
            "arm-linux-gnueabihf/null_init.so",
            "armv7-unknown-linux-gnueabihf",
        ),
    ] {
        let target = otp25().for_triple(triple).unwrap();
        let report = check(&fixture(lib), &Options::new(target));
        let found = rules(&report);
        assert!(found.contains(&"nif-init-null"), "{lib}: {found:?}");
        assert!(!found.contains(&"nif-entry-unreadable"), "{lib}: {found:?}");
        let finding = report
            .findings
            .iter()
            .find(|f| f.rule == "nif-init-null")
            .unwrap();
        assert!(finding.message.contains("Library init-call unsuccessful"));
        assert_eq!(report.verdict, callconv::report::Verdict::Fail);
    }
}

#[test]
fn an_init_that_may_return_its_entry_is_not_refused() {
    // NULL only when guarded_init_ready() says so: never certain.
    let report = check(
        &fixture("x86_64-linux-gnu/guarded_init.so"),
        &Options::new(otp25()),
    );
    assert!(
        !rules(&report).contains(&"nif-init-null"),
        "{:?}",
        report.findings
    );
}

fn beam(name: &str) -> callconv::beam::BeamNifs {
    let bytes = std::fs::read(fixture(name)).unwrap();
    read_nifs(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn with_module(target: Target, beam: &callconv::beam::BeamNifs) -> Options {
    Options {
        module: Some(beam.module.clone()),
        functions: Some(beam.functions.clone()),
        declared_nifs: beam.declared.clone(),
        ..Options::new(target)
    }
}

#[test]
fn nif_start_marks_the_declared_functions() {
    let with = beam("beam/with_nifs.beam");
    assert_eq!(with.module, "with_nifs");
    assert_eq!(with.declared, Some(vec![("add".to_string(), 2)]));
    for f in [("add", 2), ("sub", 2), ("load", 0), ("module_info", 1)] {
        assert!(
            with.functions.contains(&(f.0.to_string(), f.1)),
            "{f:?} in {:?}",
            with.functions
        );
    }
    let without = beam("beam/without_nifs.beam");
    assert_eq!(without.module, "without_nifs");
    assert_eq!(without.declared, None);
}

#[test]
fn an_undeclared_nif_is_refused_on_otp_25_and_later() {
    let with = beam("beam/with_nifs.beam");
    let lib = fixture("x86_64-linux-gnu/two_nifs_with.so");
    let report = check(&lib, &with_module(otp25(), &with));
    let not_declared: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "nif-not-declared")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(not_declared.len(), 1, "{:?}", report.findings);
    assert!(not_declared[0].contains("Function not declared as nif with_nifs:sub/2"));
    assert_eq!(report.verdict, callconv::report::Verdict::Fail);

    // A runtime older than OTP 25 could not load the module at all: not this rule's business.
    let otp24 = otp25().with_otp(24).unwrap();
    let report = check(&lib, &with_module(otp24, &with));
    assert!(!rules(&report).contains(&"nif-not-declared"));

    // The module without -nifs takes both.
    let without = beam("beam/without_nifs.beam");
    let report = check(
        &fixture("x86_64-linux-gnu/two_nifs_without.so"),
        &with_module(otp25(), &without),
    );
    assert!(
        !rules(&report).contains(&"nif-not-declared"),
        "{:?}",
        report.findings
    );
}

/// Every `.beam` under `dir`'s `lib/*/ebin`.
fn beams_under(lib: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for app in std::fs::read_dir(lib).unwrap().filter_map(|e| e.ok()) {
        if let Ok(ebin) = std::fs::read_dir(app.path().join("ebin")) {
            out.extend(
                ebin.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "beam")),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn every_beam_of_otp_25_and_27_reads() {
    let mut roots = vec![PathBuf::from("/usr/lib/erlang/lib")];
    if let Some(trixie) = trixie_root() {
        roots.push(trixie.join("usr/lib/erlang/lib"));
    }
    for lib in roots {
        let beams = beams_under(&lib);
        assert!(
            beams.len() > 100,
            "{}: only {} .beam files",
            lib.display(),
            beams.len()
        );
        for path in &beams {
            let bytes = std::fs::read(path).unwrap();
            let read = read_nifs(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy();
            assert_eq!(read.module, stem, "{}", path.display());
            assert!(!read.functions.is_empty(), "{}", path.display());
        }
    }
}

#[test]
fn otp_crypto_declares_every_nif_it_loads() {
    // OTP's crypto.erl lists its NIFs in -nifs since OTP 25: the real pair passes.
    let ebin = std::fs::read_dir("/usr/lib/erlang/lib")
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("crypto-"))
        .unwrap()
        .path();
    let crypto = read_nifs(&std::fs::read(ebin.join("ebin/crypto.beam")).unwrap()).unwrap();
    let declared = crypto.declared.clone().expect("crypto declares its NIFs");
    assert!(declared.len() > 20, "{declared:?}");
    let report = check(
        &ebin.join("priv/lib/crypto.so"),
        &with_module(otp25(), &crypto),
    );
    let nif = report.nif.as_ref().expect("crypto.so decodes");
    assert!(nif.functions.len() > 20);
    assert!(
        !rules(&report).contains(&"nif-not-declared"),
        "{:?}",
        report.findings
    );

    // And OTP 27's (Debian 13), against its own runtime.
    let Some(root) = trixie_root() else { return };
    let lib = root.join("usr/lib/erlang/lib");
    let app = std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("crypto-"))
        .unwrap()
        .path();
    let crypto27 = read_nifs(&std::fs::read(app.join("ebin/crypto.beam")).unwrap()).unwrap();
    assert!(crypto27.declared.as_ref().is_some_and(|d| d.len() > 20));
    let target = callconv::runtime::read_erts(&root.join("usr/lib/erlang")).unwrap();
    let report = check(
        &app.join("priv/lib/crypto.so"),
        &with_module(target, &crypto27),
    );
    assert!(report.nif.is_some());
    assert!(
        !rules(&report).contains(&"nif-not-declared"),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_truncated_beam_is_an_error_at_every_length() {
    let bytes = std::fs::read(fixture("beam/with_nifs.beam")).unwrap();
    for len in 0..bytes.len() {
        // Never a panic; a prefix that still parses must not invent declarations.
        if let Ok(read) = read_nifs(&bytes[..len]) {
            assert!(read
                .declared
                .iter()
                .flatten()
                .all(|f| f == &("add".to_string(), 2)));
        }
    }
}
