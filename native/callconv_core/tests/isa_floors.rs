//! Instruction-set floors of RISC-V, PPC64, s390x and MIPS on NIFs built for one CPU each
//! (`test/fixtures/isa/build.sh`): each is refused (`isa-level`, an error) against a target
//! CPU below it, passes against its own, and is a warning when it probes the CPU first
//! (getauxval). Also: the floor a target triple gets by default is the distributions' one.

use std::path::PathBuf;

use callconv::analysis::IsaLevel;
use callconv::report::{Arch, LibraryReport};
use callconv::rules::Severity;
use callconv::target::Target;
use callconv::Options;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/fixtures/isa/out")
        .join(format!("{name}.so"))
}

/// Checks `name` for `triple` as `callconv check --target TRIPLE [--cpu CPU]` does; `cpu`:
/// the target CPU (`None`: the one the triple names, else the platform's assumed floor).
fn check(name: &str, triple: &str, cpu: Option<&str>) -> LibraryReport {
    let target = Target::host().for_triple(triple).expect("triple");
    let arch = target.arch;
    let mut options = Options::new(target);
    if let Some(cpu) = cpu {
        options.target_isa = Some(IsaLevel::named(arch, cpu).expect("cpu"));
    } else if let Some(named) = IsaLevel::for_triple(arch, triple) {
        options.target_isa = Some(named);
    }
    callconv::check_path_with(&fixture(name), &options).expect("checks")
}

fn isa_findings(r: &LibraryReport) -> Vec<(Severity, String)> {
    r.findings
        .iter()
        .filter(|f| f.rule == "isa-level")
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

fn flags(r: &LibraryReport) -> Vec<String> {
    let isa = r.isa.as_ref().expect("an ISA summary");
    isa.features.iter().map(|f| f.flag.clone()).collect()
}

/// (fixture, triple, a CPU below it, its own CPU, the flags the lower CPU lacks).
const CASES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "riscv64-rvv-zb",
        "riscv64gc-unknown-linux-gnu",
        "rv64gc",
        "rv64gcv_zba_zbb_zbs",
        &["v", "zba", "zbb"],
    ),
    (
        "ppc64le-power9",
        "powerpc64le-unknown-linux-gnu",
        "power8",
        "power9",
        &["arch_3_00"],
    ),
    (
        "ppc64le-power10",
        "powerpc64le-unknown-linux-gnu",
        "power9",
        "power10",
        &["arch_3_1"],
    ),
    (
        "s390x-z13",
        "s390x-unknown-linux-gnu",
        "z196",
        "z13",
        &["arch10", "vx"],
    ),
    (
        "s390x-z15",
        "s390x-unknown-linux-gnu",
        "z14",
        "z15",
        &["arch13"],
    ),
    (
        "mips64el-r5-msa",
        "mips64el-unknown-linux-gnuabi64",
        "mips64r2",
        "mips64r5+msa",
        &["msa"],
    ),
];

#[test]
fn flagged_below_and_clean_at_its_own_cpu() {
    for (name, triple, lower, own, lacking) in CASES {
        let low = check(name, triple, Some(lower));
        let found = isa_findings(&low);
        assert_eq!(found.len(), 1, "{name} against {lower}: {found:?}");
        let (severity, message) = &found[0];
        assert_eq!(*severity, Severity::Error, "{name}: {message}");
        for flag in *lacking {
            assert!(
                message.contains(&format!("{flag} (at 0x")),
                "{name} against {lower}: {flag} not named in {message}"
            );
            assert!(flags(&low).contains(&flag.to_string()), "{name}: {flag}");
        }
        let high = check(name, triple, Some(own));
        assert!(
            isa_findings(&high).is_empty(),
            "{name} against {own}: {:?}",
            isa_findings(&high)
        );
        assert!(
            !high.findings.iter().any(|f| f.severity == Severity::Error),
            "{name} against {own}: {:?}",
            high.findings
        );
    }
}

#[test]
fn the_floor_builds_pass_the_default_floor() {
    // What distributions build for passes a bare triple; the newer builds do not.
    for (name, triple) in [
        ("riscv64-rv64gc", "riscv64gc-unknown-linux-gnu"),
        ("riscv64-rv64gc", "riscv64-unknown-linux-gnu"),
        ("ppc64le-power8", "powerpc64le-unknown-linux-gnu"),
        ("s390x-z196", "s390x-unknown-linux-gnu"),
        ("mips64el-r2", "mips64el-unknown-linux-gnuabi64"),
    ] {
        let r = check(name, triple, None);
        assert!(
            isa_findings(&r).is_empty(),
            "{name}: {:?}",
            isa_findings(&r)
        );
        assert!(!flags(&r).is_empty() || name.starts_with("s390x") || name.starts_with("mips"));
    }
    // Above an assumed floor: a warning (the machine may be newer). A triple that names
    // the ISA (`riscv64gc`) says which CPU: an error.
    for (name, triple, severity) in [
        (
            "riscv64-rvv-zb",
            "riscv64gc-unknown-linux-gnu",
            Severity::Error,
        ),
        (
            "riscv64-rvv-zb",
            "riscv64-unknown-linux-gnu",
            Severity::Warning,
        ),
        (
            "ppc64le-power9",
            "powerpc64le-unknown-linux-gnu",
            Severity::Warning,
        ),
        ("s390x-z13", "s390x-unknown-linux-gnu", Severity::Warning),
    ] {
        let r = check(name, triple, None);
        let found = isa_findings(&r);
        assert_eq!(found.len(), 1, "{name} {triple}: {found:?}");
        assert_eq!(found[0].0, severity, "{name} {triple}: {}", found[0].1);
    }
}

#[test]
fn a_probe_first_makes_it_a_warning() {
    for (name, triple, lower) in [
        (
            "riscv64-rvv-zb-guarded",
            "riscv64gc-unknown-linux-gnu",
            "rv64gc",
        ),
        (
            "ppc64le-power9-guarded",
            "powerpc64le-unknown-linux-gnu",
            "power8",
        ),
        ("s390x-z15-guarded", "s390x-unknown-linux-gnu", "z14"),
    ] {
        let r = check(name, triple, Some(lower));
        let isa = r.isa.as_ref().expect("isa");
        assert!(isa.guarded, "{name}: {isa:?}");
        assert!(
            isa.guard.as_deref().unwrap_or("").contains("getauxval"),
            "{name}: {:?}",
            isa.guard
        );
        let found = isa_findings(&r);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(found[0].0, Severity::Warning, "{name}: {}", found[0].1);
    }
}

#[test]
fn compressed_code_on_a_core_without_c() {
    // rv64gc code on an rv64g core (no compressed instructions).
    let r = check(
        "riscv64-rv64gc",
        "riscv64gc-unknown-linux-gnu",
        Some("rv64g"),
    );
    let found = isa_findings(&r);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("c (at 0x"), "{}", found[0].1);
}

#[test]
fn a_power10_entry_decodes() {
    // nif_init built for POWER10 loads the entry with a prefixed `pla`.
    let r = check(
        "ppc64le-power10",
        "powerpc64le-unknown-linux-gnu",
        Some("power10"),
    );
    let entry = r.nif.as_ref().expect("the entry decodes");
    assert_eq!(entry.module, "isa_nif");
    assert_eq!(entry.functions.len(), 1, "{:?}", entry.functions);
    assert_eq!(entry.functions[0].name, "run");
}

#[test]
fn target_cpus_by_name_and_triple() {
    let rv = IsaLevel::for_triple(Arch::Riscv64, "riscv64gc-unknown-linux-gnu").expect("gc");
    for f in ["i", "m", "a", "f", "d", "c", "zicsr"] {
        assert!(rv.has(f), "{f}");
    }
    assert!(!rv.has("v"));
    let imac = IsaLevel::for_triple(Arch::Riscv64, "riscv64imac-unknown-linux-gnu").unwrap();
    assert!(imac.has("c") && !imac.has("d"));
    assert!(IsaLevel::for_triple(Arch::Powerpc64, "powerpc64le-unknown-linux-gnu").is_none());
    assert!(IsaLevel::named(Arch::Powerpc64, "pwr9")
        .unwrap()
        .has("arch_3_00"));
    assert!(!IsaLevel::named(Arch::Powerpc64, "power10")
        .unwrap()
        .has("htm"));
    assert!(IsaLevel::named(Arch::S390x, "zEC12").unwrap().has("arch10"));
    assert!(!IsaLevel::named(Arch::S390x, "z14").unwrap().has("arch13"));
    assert!(IsaLevel::named(Arch::S390x, "z9").is_err());
    assert!(IsaLevel::named(Arch::X86_64, "x86-64-v3")
        .unwrap()
        .has("avx2"));
    assert!(IsaLevel::named(Arch::Aarch64, "cortex-a72").is_err());
    // No floor is assumed where CPUs vary: x86, Arm, big-endian PPC64.
    assert!(IsaLevel::baseline(Arch::X86_64, false).is_none());
    assert!(IsaLevel::baseline(Arch::Powerpc64, true).is_none());
}
