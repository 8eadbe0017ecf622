//! Loading and binding properties on real binaries: files dlopen refuses (executables),
//! RELRO and BIND_NOW, interposable exports, the .note.gnu.property ISA marker, the program
//! interpreter, and the version floors of the report.

mod common;

use std::path::Path;

use callconv::analysis::IsaLevel;
use callconv::report::{Floors, GnuPropertySummary, LibraryReport, Verdict};
use callconv::rules::Severity;
use callconv::target::Target;
use callconv::Options;
use common::{host_fixture, otp25, otp_nif, repo};

fn rules(report: &LibraryReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

fn message<'a>(report: &'a LibraryReport, rule: &str) -> &'a str {
    report
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.message.as_str())
        .unwrap_or_else(|| panic!("no {rule} finding: {:?}", report.findings))
}

fn otp25_here() -> Target {
    callconv::runtime::read_erts(Path::new("/usr/lib/erlang")).unwrap()
}

#[test]
fn executables_are_not_shared_objects() {
    let report = callconv::check_path(&host_fixture("exe_fixed.so"), &otp25()).unwrap();
    assert_eq!(
        rules(&report),
        vec![("not-a-shared-object", Severity::Error)]
    );
    let text = message(&report, "not-a-shared-object");
    assert!(text.contains("ET_EXEC"), "{text}");
    assert!(
        text.contains("\"cannot dynamically load executable\""),
        "{text}"
    );
    assert_eq!(report.verdict, Verdict::Fail);

    let report = callconv::check_path(&host_fixture("exe_pie.so"), &otp25()).unwrap();
    assert_eq!(
        rules(&report),
        vec![("not-a-shared-object", Severity::Error)]
    );
    let text = message(&report, "not-a-shared-object");
    assert!(
        text.contains("\"cannot dynamically load position-independent executable\""),
        "{text}"
    );
    // A real shared library is not one.
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![]);
}

#[test]
fn the_program_interpreter_names_the_c_library() {
    // A PIE whose interpreter is musl's loader, and which needs nothing else: the interpreter
    // alone says musl, so on a glibc target it is also a libc mismatch.
    let mut glibc = otp25();
    glibc.libc = Some("gnu".into());
    let report = callconv::check_path(&host_fixture("musl_pie.so"), &glibc).unwrap();
    assert!(report.needed.is_empty(), "{:?}", report.needed);
    assert_eq!(
        rules(&report),
        vec![
            ("libc-mismatch", Severity::Error),
            ("not-a-shared-object", Severity::Error),
            ("not-a-nif", Severity::Info)
        ]
    );
    assert!(message(&report, "not-a-shared-object").contains("/lib/ld-musl-"));
    assert!(message(&report, "libc-mismatch").contains("linked against musl"));
    let mut musl = glibc.clone();
    musl.libc = Some("musl".into());
    let report = callconv::check_path(&host_fixture("musl_pie.so"), &musl).unwrap();
    assert!(!rules(&report).contains(&("libc-mismatch", Severity::Error)));
    // The glibc loader (ld-linux-*) as interpreter: a glibc program on a musl target.
    let report = callconv::check_path(&host_fixture("exe_pie.so"), &musl).unwrap();
    assert!(rules(&report).contains(&("libc-mismatch", Severity::Error)));
}

#[test]
fn relro_and_bind_now() {
    let report = callconv::check_path(&host_fixture("norelro.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![("no-relro", Severity::Info)]);
    assert_eq!(report.verdict, Verdict::Pass);

    // Partial RELRO (gcc's default) is reported only against a runtime with full RELRO.
    let mut hardened_vm = otp25();
    hardened_vm.vm_bind_now = Some(true);
    let hello = host_fixture("hello_nif.so");
    let report = callconv::check_path(&hello, &hardened_vm).unwrap();
    assert_eq!(rules(&report), vec![("no-bind-now", Severity::Info)]);
    let report = callconv::check_path(&host_fixture("bind_now.so"), &hardened_vm).unwrap();
    assert_eq!(rules(&report), vec![]);
    // Debian's beam.smp has partial RELRO itself, as do OTP's own NIFs: nothing to say.
    let here = otp25_here();
    assert_eq!(here.vm_bind_now, Some(false));
    // A release from the built-in table has no beam.smp file to tell.
    let table = here.clone().with_otp(27).unwrap();
    assert_eq!((table.vm_bind_now, table.vm_exports), (None, None));
    assert_eq!(rules(&callconv::check_path(&hello, &here).unwrap()), vec![]);
    for (app, file) in [("asn1-", "asn1rt_nif.so"), ("crypto-", "crypto.so")] {
        let report = callconv::check_path(&otp_nif(app, file), &here).unwrap();
        assert_eq!(rules(&report), vec![], "{file}");
    }
}

#[test]
fn exports_that_the_vm_or_a_bundled_library_also_defines() {
    let path = host_fixture("interposable.so");
    // Without the runtime's exports: the bundled-library names only.
    let report = callconv::check_path(&path, &otp25()).unwrap();
    assert_eq!(
        rules(&report),
        vec![("interposable-export", Severity::Warning)]
    );
    let text = message(&report, "interposable-export");
    assert!(
        text.starts_with("the library exports SSL_new, deflate, inflateEnd, sqlite3_open:"),
        "{text}"
    );
    // With the real beam.smp's exports: its MD5Init too. The library's own helper never.
    let here = otp25_here();
    let vm: Vec<&str> = here.vm_exports.as_deref().unwrap().lines().collect();
    assert!(vm.len() > 1000, "{}", vm.len());
    assert!(vm.contains(&"MD5Init") && here.vm_exports_has("MD5Init"));
    assert!(!vm
        .iter()
        .any(|n| n.starts_with("enif_") || n.starts_with("_Z")));
    assert!(vm.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    let report = callconv::check_path(&path, &here).unwrap();
    let text = message(&report, "interposable-export");
    assert!(
        text.starts_with(
            "the library exports MD5Init, SSL_new, deflate, inflateEnd, sqlite3_open (1 of them exported by the target's beam.smp itself)"
        ),
        "{text}"
    );
    assert!(!text.contains("callconv_own_helper"), "{text}");
    // -Bsymbolic binds the library's references to its own definitions.
    let report = callconv::check_path(&host_fixture("interposable_symbolic.so"), &here).unwrap();
    assert_eq!(rules(&report), vec![]);
    // OTP's own NIFs export nif_init only (and are linked -Bsymbolic).
    let report = callconv::check_path(&otp_nif("crypto-", "crypto.so"), &here).unwrap();
    assert_eq!(rules(&report), vec![]);
}

#[test]
fn a_library_that_defines_the_nif_api_itself() {
    let report = callconv::check_path(&host_fixture("enif_defined.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![("enif-defined", Severity::Error)]);
    let text = message(&report, "enif-defined");
    assert!(
        text.starts_with("the library defines enif_alloc itself"),
        "{text}"
    );
    assert!(
        text.contains("with -Bsymbolic (as this library is linked)"),
        "{text}"
    );
}

fn with_cpu(target: Target, level: u8) -> Options {
    Options {
        target_isa: Some(IsaLevel::x86_64(level)),
        ..Options::new(target)
    }
}

#[test]
fn the_isa_level_marker_against_the_target_cpu() {
    if std::env::consts::ARCH != "x86_64" {
        return; // the fixture is built on x86-64 hosts only
    }
    let path = host_fixture("isa_v4.so");
    let mut glibc = otp25();
    glibc.libc = Some("gnu".into());
    glibc.libc_version = Some("2.36".into());
    let report = callconv::check_path_with(&path, &with_cpu(glibc.clone(), 3)).unwrap();
    assert_eq!(rules(&report), vec![("isa-note-level", Severity::Error)]);
    let text = message(&report, "isa-note-level");
    assert!(text.contains("needs x86-64-v4"), "{text}");
    assert!(text.contains("the target CPU is x86-64-v3"), "{text}");
    assert!(
        text.contains("\"CPU ISA level is lower than required\""),
        "{text}"
    );
    assert_eq!(
        report.gnu_properties,
        Some(GnuPropertySummary {
            x86_isa_needed: Some("x86-64-v4".into()),
            x86_features: vec!["ibt".into(), "shstk".into()],
            aarch64_features: vec![],
        })
    );
    // A v4 CPU loads it.
    let report = callconv::check_path_with(&path, &with_cpu(glibc.clone(), 4)).unwrap();
    assert_eq!(rules(&report), vec![]);
    // glibc before 2.33 ignores the marker, as musl does: the code may still trap.
    let mut old = glibc.clone();
    old.libc_version = Some("2.31".into());
    let report = callconv::check_path_with(&path, &with_cpu(old, 2)).unwrap();
    assert_eq!(rules(&report), vec![("isa-note-level", Severity::Warning)]);
    let mut musl = glibc;
    musl.libc = Some("musl".into());
    musl.libc_version = None;
    let report = callconv::check_path_with(&path, &with_cpu(musl, 2)).unwrap();
    assert_eq!(rules(&report), vec![("isa-note-level", Severity::Warning)]);
    // No marker, no finding, and no properties.
    let report =
        callconv::check_path_with(&host_fixture("hello_nif.so"), &with_cpu(otp25(), 1)).unwrap();
    assert_eq!(rules(&report), vec![]);
    assert_eq!(report.gnu_properties, None);
}

#[test]
fn aarch64_branch_protection_properties_are_reported() {
    let path = repo().join("test/fixtures/analysis/out/good/aarch64-clang-O2-bti-pac.so");
    let report = callconv::check_path(&path, &otp25()).unwrap();
    let props = report.gnu_properties.expect("a .note.gnu.property");
    assert_eq!(props.aarch64_features, vec!["bti", "pac", "gcs"]);
    assert_eq!(props.x86_isa_needed, None);
}

#[test]
fn version_floors_of_a_cxx_nif() {
    let path = repo().join("test/fixtures/cross/x86_64-linux-gnu/cxx_nif.so");
    let report = callconv::check_path(&path, &otp25()).unwrap();
    assert_eq!(
        report.floors,
        Floors {
            glibc: Some("2.14".into()),
            glibcxx: Some("3.4.21".into()),
            cxxabi: Some("1.3.9".into()),
            gcc: Some("3.0".into()),
        }
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["floors"],
        serde_json::json!({"glibc": "2.14", "glibcxx": "3.4.21", "cxxabi": "1.3.9", "gcc": "3.0"})
    );
    // A C library without versioned imports of any of them.
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &otp25()).unwrap();
    assert_eq!(report.floors, Floors::default());
    let report = callconv::check_path(&otp_nif("crypto-", "crypto.so"), &otp25()).unwrap();
    assert!(report.floors.glibc.is_some() && report.floors.glibcxx.is_none());
}
