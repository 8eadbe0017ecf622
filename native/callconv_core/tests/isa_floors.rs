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
    for f in &isa.features {
        assert!(!f.instruction.is_empty(), "{f:?}");
    }
    isa.features.iter().map(|f| f.flag.clone()).collect()
}

/// (fixture, triple, a CPU below it (or, for MIPS, of the other release), its own CPU, the
/// flags that CPU lacks).
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
        "ppc64le-power10-mma",
        "powerpc64le-unknown-linux-gnu",
        "power9",
        "power10",
        &["arch_3_1", "mma"],
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
    // Release 6 runs on no earlier CPU, and release 2 on no R6 one.
    (
        "mips64el-r6",
        "mipsisa64r6el-unknown-linux-gnuabi64",
        "mips64r2",
        "mips64r6",
        &["mips32r6"],
    ),
    (
        "mips64el-r2",
        "mips64el-unknown-linux-gnuabi64",
        "mips64r6",
        "mips64r2",
        &["mips2"],
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
            // The flag, then the instruction that needs it by name.
            assert!(
                message.contains(&format!("{flag} (`")),
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
        ("mips64el-r6", "mipsisa64r6el-unknown-linux-gnuabi64"),
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
        // No pre-R6 MIPS runs release 6 code, however new: the assumed floor cannot excuse it.
        (
            "mips64el-r6",
            "mips64el-unknown-linux-gnuabi64",
            Severity::Error,
        ),
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
    assert!(found[0].1.contains("c (`c."), "{}", found[0].1);
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
    // A 32-bit-only core is no AArch64 CPU.
    assert!(IsaLevel::named(Arch::Aarch64, "cortex-a7").is_err());
    // No floor is assumed where CPUs vary: x86, Arm, big-endian PPC64.
    assert!(IsaLevel::baseline(Arch::X86_64, false).is_none());
    assert!(IsaLevel::baseline(Arch::Powerpc64, true).is_none());
}

#[test]
fn arm_cores_by_name() {
    // The Raspberry Pi 3's Cortex-A53 has no cryptography extensions: +crypto adds them.
    let a53 = IsaLevel::named(Arch::Aarch64, "cortex-a53").unwrap();
    assert!(a53.has("asimd") && a53.has("crc32") && !a53.has("aes") && !a53.has("atomics"));
    let a53c = IsaLevel::named(Arch::Aarch64, "Cortex-A53+crypto").unwrap();
    assert!(a53c.has("aes") && a53c.has("sha2"));
    let a55 = IsaLevel::named(Arch::Aarch64, "cortex-a55").unwrap();
    assert!(a55.has("atomics") && a55.has("lrcpc") && a55.has("asimddp"));
    // 32-bit: the Pi Zero's ARM1176 has VFPv2 only; a Cortex-A7 divides and has NEON.
    let pi0 = IsaLevel::named(Arch::Arm, "arm1176jzf-s").unwrap();
    assert!(pi0.has("vfp") && !pi0.has("neon") && !pi0.has("idiva"));
    let a7 = IsaLevel::named(Arch::Arm, "cortex-a7").unwrap();
    assert!(a7.has("neon") && a7.has("vfpv4") && a7.has("idivt"));
    let a53_32 = IsaLevel::named(Arch::Arm, "cortex-a53").unwrap();
    assert!(a53_32.has("crc32") && !a53_32.has("aes"));
    assert!(IsaLevel::named(Arch::Arm, "cortex-a53+sve").is_err());
}

#[test]
fn a_cpu_for_another_architecture_or_unknown_is_a_clear_error() {
    let err = IsaLevel::named(Arch::Aarch64, "z14").unwrap_err();
    assert!(err.contains("a CPU for s390x, not for aarch64"), "{err}");
    assert!(
        err.contains("cortex-a53") && err.contains("+crypto"),
        "{err}"
    );
    let err = IsaLevel::named(Arch::X86_64, "cortex-a53").unwrap_err();
    assert!(err.contains("for aarch64, not for x86_64"), "{err}");
    assert!(err.contains("x86-64-v3"), "{err}");
    let err = IsaLevel::named(Arch::Riscv64, "rv32gc").unwrap_err();
    assert!(err.contains("for riscv32"), "{err}");
    let err = IsaLevel::named(Arch::Powerpc64, "power99").unwrap_err();
    assert!(
        err.contains("not a CPU callconv knows for powerpc64"),
        "{err}"
    );
    assert!(err.contains("power10"), "{err}");
    let err = IsaLevel::named(Arch::Mips64, "mips32r2").unwrap_err();
    assert!(err.contains("mips64r6"), "{err}");
}

#[test]
fn the_target_carries_its_cpu_from_a_triple_or_by_name() {
    // The triple's CPU is kept on the target, so every caller resolves it alike.
    let rv = Target::host()
        .for_triple("riscv64gc-unknown-linux-gnu")
        .unwrap();
    assert_eq!(rv.cpu.as_deref(), Some("rv64gc"));
    let r6 = Target::host()
        .for_triple("mipsisa64r6el-linux-gnuabi64")
        .unwrap();
    assert_eq!(r6.cpu.as_deref(), Some("mips64r6"));
    let isa = Options::new(r6).target_isa.expect("named");
    assert!(isa.has("mips64r6") && !isa.has("mips2") && isa.assumed.is_none());
    // A triple naming none forgets the CPU of the platform before it.
    let le = rv
        .clone()
        .for_triple("powerpc64le-unknown-linux-gnu")
        .unwrap();
    assert_eq!(le.cpu, None);
    assert_eq!(Options::new(le).target_isa.unwrap().assumed, Some("power8"));
    // Given by name: validated against the architecture; it wins over the triple's.
    let a64 = Target::host()
        .for_triple("aarch64-unknown-linux-gnu")
        .unwrap();
    assert_eq!(
        Options::new(a64.clone()).target_isa,
        None,
        "no Arm floor is assumed"
    );
    let a53 = IsaLevel::target_with_cpu(a64.clone(), "cortex-a53").unwrap();
    let isa = Options::new(a53).target_isa.expect("named");
    assert!(isa.has("crc32") && isa.assumed.is_none());
    assert!(IsaLevel::target_with_cpu(a64, "power9").is_err());
    let rvv = IsaLevel::target_with_cpu(rv, "rv64gcv").unwrap();
    assert!(Options::new(rvv).target_isa.unwrap().has("v"));
}

#[test]
fn the_findings_name_the_instruction_and_the_fix() {
    let r = check(
        "ppc64le-power10-mma",
        "powerpc64le-unknown-linux-gnu",
        Some("power9"),
    );
    let f = r.findings.iter().find(|f| f.rule == "isa-level").unwrap();
    assert!(
        f.message
            .contains("mma (`xxsetaccz`, POWER10's matrix-multiply assist, at 0x"),
        "{}",
        f.message
    );
    assert!(f.hint.contains("-mno-mma"), "{}", f.hint);
    let r = check("mips64el-r6", "mips64el-unknown-linux-gnuabi64", None);
    let f = r.findings.iter().find(|f| f.rule == "isa-level").unwrap();
    assert!(
        f.message
            .contains("(`beqzc`, an instruction only MIPS release 6 has, at 0x"),
        "{}",
        f.message
    );
    assert!(f.hint.contains("-march=mips64r6"), "{}", f.hint);
}

#[test]
fn release_6_code_decodes_in_release_6_mode() {
    // The whole NIF is swept: compact branches, aui and the 64-bit forms capstone's release
    // 6 mode misses (seleqz, dmul) do not end the path.
    let r = check("mips64el-r6", "mipsisa64r6el-unknown-linux-gnuabi64", None);
    let isa = r.isa.as_ref().unwrap();
    assert!(isa.instructions > 150, "{isa:?}");
    let run = r
        .functions
        .iter()
        .find(|f| f.name == "run/2")
        .expect("run/2");
    assert!(run.observed.exits > 0, "{run:?}");
    assert!(run.observed.stack_balanced, "{run:?}");
    assert!(
        r.findings.iter().all(|f| f.severity != Severity::Error),
        "{:?}",
        r.findings
    );
}
