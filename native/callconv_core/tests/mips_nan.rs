//! The MIPS NaN encoding (`EF_MIPS_NAN2008`) on NIFs built with each encoding
//! (`test/fixtures/mipsnan/build.sh`): reported in the ELF facts, and refused
//! (`mips-nan-mismatch`) against a target runtime of the other encoding, which glibc's loader
//! refuses to map.

use std::path::PathBuf;

use callconv::inspect::NanEncoding;
use callconv::report::LibraryReport;
use callconv::rules::Severity;
use callconv::target::Target;
use callconv::Options;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/fixtures/mipsnan/out")
        .join(format!("{name}.so"))
}

fn check_with(name: &str, target: Target) -> LibraryReport {
    callconv::check_path_with(&fixture(name), &Options::new(target)).expect("checks")
}

fn check(name: &str, triple: &str) -> LibraryReport {
    check_with(name, Target::host().for_triple(triple).expect("triple"))
}

fn nan_findings(r: &LibraryReport) -> Vec<(Severity, String)> {
    r.findings
        .iter()
        .filter(|f| f.rule == "mips-nan-mismatch")
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

const CASES: &[(&str, &str, &str)] = &[
    // (fixture prefix, a legacy-NaN triple, a NaN-2008 triple)
    (
        "mipsel",
        "mipsel-unknown-linux-gnu",
        "mipsisa32r6el-unknown-linux-gnu",
    ),
    (
        "mips",
        "mips-unknown-linux-gnu",
        "mipsisa32r6-unknown-linux-gnu",
    ),
    (
        "mips64el",
        "mips64el-unknown-linux-gnuabi64",
        "mipsisa64r6el-unknown-linux-gnuabi64",
    ),
];

#[test]
fn the_encoding_is_reported_in_the_elf_facts() {
    for (arch, legacy_triple, _) in CASES {
        for (suffix, want) in [
            ("legacy", NanEncoding::Legacy),
            ("2008", NanEncoding::Ieee2008),
        ] {
            let r = check(&format!("{arch}-{suffix}"), legacy_triple);
            let elf = r.elf.as_ref().expect("ELF facts");
            assert_eq!(elf.mips_nan, Some(want), "{arch}-{suffix}");
        }
    }
    let json = serde_json::to_value(check("mipsel-2008", "mipsel-unknown-linux-gnu")).unwrap();
    assert_eq!(json["elf"]["mips_nan"], "ieee2008");
    // Other architectures leave the key out.
    let x86 = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/fixtures/cross/x86_64-linux-gnu/hello_nif.so");
    let r = callconv::check_path_with(&x86, &Options::new(Target::host())).expect("checks");
    assert_eq!(r.elf.as_ref().unwrap().mips_nan, None);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["elf"].get("mips_nan").is_none(), "{}", json["elf"]);
}

#[test]
fn each_encoding_passes_on_its_own_target_and_is_refused_on_the_other() {
    for (arch, legacy_triple, r6_triple) in CASES {
        for (suffix, own, other) in [
            ("legacy", legacy_triple, r6_triple),
            ("2008", r6_triple, legacy_triple),
        ] {
            let name = format!("{arch}-{suffix}");
            assert_eq!(nan_findings(&check(&name, own)), vec![], "{name} on {own}");
            let refused = nan_findings(&check(&name, other));
            assert_eq!(refused.len(), 1, "{name} on {other}: {refused:?}");
            let (severity, message) = &refused[0];
            assert_eq!(*severity, Severity::Error, "{name} on {other}");
            assert!(
                message.contains("cannot open shared object file"),
                "{message}"
            );
        }
    }
    // The finding names both encodings and the flag that fixes it.
    let r = check("mipsel-2008", "mipsel-unknown-linux-gnu");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "mips-nan-mismatch")
        .unwrap();
    assert!(
        f.message.starts_with(
            "the library uses the 2008 NaN encoding, the target runtime (o32) the legacy one"
        ),
        "{}",
        f.message
    );
    assert_eq!(f.hint, "build the library with -mnan=legacy");
}

#[test]
fn the_runtime_read_from_a_beam_smp_decides_and_musl_only_warns() {
    // As --erts gives it: the ABI variant of the runtime's own beam.smp (inspect's spelling).
    let mut erts = Target::host()
        .for_triple("mipsel-unknown-linux-gnu")
        .unwrap();
    erts.abi_variant = Some("o32-nan2008".into());
    assert_eq!(
        nan_findings(&check_with("mipsel-2008", erts.clone())),
        vec![]
    );
    let refused = nan_findings(&check_with("mipsel-legacy", erts.clone()));
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0]
        .1
        .contains("the library uses the legacy NaN encoding"));
    // musl's loader does not look at the flag: the code still runs, with NaNs misread.
    let mut musl = erts;
    musl.libc = Some("musl".into());
    let warned = nan_findings(&check_with("mipsel-legacy", musl));
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, Severity::Warning);
    // An unknown ABI variant (no triple, no beam.smp) says nothing.
    let mut unknown = Target::host()
        .for_triple("mipsel-unknown-linux-gnu")
        .unwrap();
    unknown.abi_variant = None;
    assert_eq!(nan_findings(&check_with("mipsel-2008", unknown)), vec![]);
}
