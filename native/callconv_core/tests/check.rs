//! The check end to end on real binaries: OTP's own NIFs, and fixtures compiled from
//! test/fixtures/src.

mod common;

use callconv::report::{Arch, Endian, Format, Kind, NifFunction, Verdict};
use callconv::rules::Severity;
use common::{host_fixture, otp25, otp_nif};

fn rules_of(report: &callconv::report::LibraryReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

fn f(name: &str, arity: u32, flags: u32) -> NifFunction {
    NifFunction {
        name: name.into(),
        arity,
        flags,
    }
}

#[test]
fn decodes_asn1rt_nif_exactly() {
    let report = callconv::check_path(&otp_nif("asn1-", "asn1rt_nif.so"), &otp25()).unwrap();
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.findings);
    assert_eq!(report.kind, Kind::Nif);
    assert_eq!(report.format, Format::Elf);
    assert_eq!(report.arch, Arch::X86_64);
    assert_eq!((report.bits, report.endian), (64, Endian::Little));
    assert_eq!(report.needed, vec!["libc.so.6".to_string()]);
    let nif = report.nif.expect("entry decoded");
    assert_eq!((nif.major, nif.minor), (2, 16));
    assert_eq!(nif.module, "asn1rt_nif");
    assert_eq!(
        nif.functions,
        vec![
            f("encode_per_complete", 1, 0),
            f("decode_ber_tlv_raw", 1, 0),
            f("encode_ber_tlv", 1, 0)
        ]
    );
    assert!(nif.load && nif.upgrade && nif.unload && !nif.reload);
    assert_eq!(nif.vm_variant.as_deref(), Some("beam.vanilla"));
    assert_eq!(nif.options, Some(1));
    assert_eq!(nif.min_erts.as_deref(), Some("erts-12.0"));
    assert_eq!(nif.decoded_by, "static:x86_64");
    assert_eq!(report.sha256.len(), 64);
}

#[test]
fn decodes_crypto_nif() {
    let report = callconv::check_path(&otp_nif("crypto-", "crypto.so"), &otp25()).unwrap();
    let nif = report.nif.expect("entry decoded");
    assert_eq!(nif.module, "crypto");
    assert_eq!((nif.major, nif.minor), (2, 16));
    assert_eq!(nif.functions.len(), 64);
    assert_eq!(
        &nif.functions[..3],
        &[
            f("info_nif", 0, 0),
            f("info_lib", 0, 0),
            f("info_fips", 0, 0)
        ]
    );
    assert!(report.needed.iter().any(|n| n.starts_with("libcrypto.so")));
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn classifies_drivers_and_plain_libraries() {
    let driver = callconv::check_path(&host_fixture("driver.so"), &otp25()).unwrap();
    assert_eq!(driver.kind, Kind::Driver);
    assert_eq!(rules_of(&driver), vec![("not-a-nif", Severity::Info)]);
    assert_eq!(driver.verdict, Verdict::Pass);

    let plain = callconv::check_path(&host_fixture("plain_lib.so"), &otp25()).unwrap();
    assert_eq!(plain.kind, Kind::Library);
    assert!(plain.nif.is_none());
}

#[test]
fn decodes_the_hello_fixture() {
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &otp25()).unwrap();
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.findings);
    let nif = report.nif.unwrap();
    assert_eq!(nif.module, "Elixir.Callconv.Fixtures.Hello");
    assert_eq!(
        nif.functions,
        vec![f("hello", 0, 0), f("add", 2, 1), f("read", 1, 2)]
    );
    assert!(nif.load && !nif.reload && nif.upgrade && nif.unload);
}

#[test]
fn each_broken_entry_gets_its_rule() {
    let cases: &[(&str, &[(&str, Severity)])] = &[
        ("custom_ok.so", &[]),
        (
            "custom_too_new.so",
            &[("nif-version-too-new", Severity::Error)],
        ),
        (
            "custom_null_min_erts.so",
            &[
                ("nif-version-too-new", Severity::Error),
                ("nif-min-erts-null", Severity::Error),
            ],
        ),
        (
            "custom_major_3.so",
            &[("nif-major-version", Severity::Error)],
        ),
        ("custom_v2_5.so", &[("nif-version-2-5", Severity::Error)]),
        (
            "custom_vm_variant.so",
            &[("nif-vm-variant", Severity::Error)],
        ),
        (
            "custom_bad_flags.so",
            &[("nif-illegal-flags", Severity::Error)],
        ),
        (
            "custom_duplicate.so",
            &[("nif-duplicate-function", Severity::Error)],
        ),
        (
            "custom_arity.so",
            &[("nif-arity-too-large", Severity::Error)],
        ),
    ];
    for (file, want) in cases {
        let report = callconv::check_path(&host_fixture(file), &otp25()).unwrap();
        assert_eq!(&rules_of(&report), want, "{file}: {:?}", report.findings);
        let verdict = if want.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        assert_eq!(report.verdict, verdict, "{file}");
    }
}

#[test]
fn a_newer_runtime_accepts_what_an_older_refuses() {
    let path = host_fixture("hello_nif.so");
    let mut otp21 = otp25();
    otp21.nif_version = Some("2.14".into());
    let report = callconv::check_path(&path, &otp21).unwrap();
    assert_eq!(
        rules_of(&report),
        vec![("nif-version-too-new", Severity::Error)]
    );
    let mut otp27 = otp25();
    otp27.nif_version = Some("2.17".into());
    assert_eq!(
        callconv::check_path(&path, &otp27).unwrap().verdict,
        Verdict::Pass
    );
}

#[test]
fn a_foreign_architecture_is_an_error() {
    let mut target = otp25();
    target.arch = Arch::Aarch64;
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &target).unwrap();
    assert_eq!(rules_of(&report), vec![("arch-mismatch", Severity::Error)]);
    target.arch = Arch::X86_64;
    target.os = "macos".into();
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &target).unwrap();
    assert_eq!(
        rules_of(&report),
        vec![("format-mismatch", Severity::Error)]
    );
}

#[test]
fn json_document_follows_schema_v1() {
    let paths = [
        host_fixture("hello_nif.so"),
        host_fixture("custom_too_new.so"),
    ];
    let doc = callconv::check_paths(&paths, &otp25());
    let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["callconv"], callconv::VERSION);
    assert_eq!(json["target"]["nif_version"], "2.16");
    assert_eq!(
        json["summary"],
        serde_json::json!({"checked": 2, "passed": 1, "warned": 0, "failed": 1})
    );
    let lib = &json["libraries"][0];
    let mut keys: Vec<&str> = lib
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "abi",
            "arch",
            "bits",
            "elf",
            "endian",
            "findings",
            "floors",
            "format",
            "functions",
            "gnu_properties",
            "isa",
            "kind",
            "libc",
            "macho",
            "needed",
            "nif",
            "path",
            "pe",
            "sha256",
            "verdict"
        ]
    );
    assert_eq!(lib["arch"], "x86_64");
    assert_eq!(lib["format"], "elf");
    assert_eq!(lib["verdict"], "pass");
    let mut nif_keys: Vec<&str> = lib["nif"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    nif_keys.sort_unstable();
    assert_eq!(
        nif_keys,
        vec![
            "decoded_by",
            "functions",
            "load",
            "major",
            "min_erts",
            "minor",
            "module",
            "options",
            "reload",
            "unload",
            "upgrade",
            "vm_variant"
        ]
    );
    assert_eq!(
        lib["nif"]["functions"][1],
        serde_json::json!({"name": "add", "arity": 2, "flags": 1})
    );
    let finding = &json["libraries"][1]["findings"][0];
    assert_eq!(finding["rule"], "nif-version-too-new");
    assert_eq!(finding["severity"], "error");
    // The document reads back into the same types.
    let back: callconv::report::Document = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);
}

// The rule catalogue in docs/reference/rules.md is generated from rules::CATALOGUE and
// compared with it by tests/docs_reference.rs.
