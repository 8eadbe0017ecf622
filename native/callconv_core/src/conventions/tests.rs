//! Unit tests of the model: register spellings against capstone, table invariants, JSON,
//! target defaults, spellings and charts.

use super::*;
use capstone::arch::{self, BuildsCapstone, BuildsCapstoneEndian};
use capstone::{Capstone, Endian, RegId};
use std::collections::BTreeSet;

/// Every name capstone's `reg_name` returns for register ids 1..1000 of the arch.
fn capstone_names(arch_name: &str) -> Option<BTreeSet<String>> {
    let cs = match arch_name {
        "x86" => Capstone::new()
            .x86()
            .mode(arch::x86::ArchMode::Mode32)
            .build(),
        "x86_64" => Capstone::new()
            .x86()
            .mode(arch::x86::ArchMode::Mode64)
            .build(),
        "aarch64" => Capstone::new()
            .arm64()
            .mode(arch::arm64::ArchMode::Arm)
            .build(),
        "arm" => Capstone::new().arm().mode(arch::arm::ArchMode::Arm).build(),
        "riscv64" => Capstone::new()
            .riscv()
            .mode(arch::riscv::ArchMode::RiscV64)
            .build(),
        "riscv32" => Capstone::new()
            .riscv()
            .mode(arch::riscv::ArchMode::RiscV32)
            .build(),
        "powerpc64" => Capstone::new()
            .ppc()
            .mode(arch::ppc::ArchMode::Mode64)
            .endian(Endian::Big)
            .build(),
        "powerpc" => Capstone::new()
            .ppc()
            .mode(arch::ppc::ArchMode::Mode32)
            .endian(Endian::Big)
            .build(),
        "mips" => Capstone::new()
            .mips()
            .mode(arch::mips::ArchMode::Mips32)
            .endian(Endian::Big)
            .build(),
        "mips64" => Capstone::new()
            .mips()
            .mode(arch::mips::ArchMode::Mips64)
            .endian(Endian::Big)
            .build(),
        "sparc" => Capstone::new()
            .sparc()
            .mode(arch::sparc::ArchMode::Default)
            .build(),
        "sparc64" => Capstone::new()
            .sparc()
            .mode(arch::sparc::ArchMode::V9)
            .build(),
        "s390x" => Capstone::new()
            .sysz()
            .mode(arch::sysz::ArchMode::Default)
            .build(),
        _ => return None,
    }
    .ok()?;
    Some((1..1000u16).filter_map(|i| cs.reg_name(RegId(i))).collect())
}

fn model_registers(c: &Convention) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    v.extend(c.int_args);
    v.extend(c.float_args);
    v.extend(c.vector_args);
    v.extend(c.int_return);
    v.extend(c.int_return_pair);
    v.extend(c.float_return);
    v.extend(c.callee_saved);
    v.extend(c.caller_saved);
    for p in c.partially_saved {
        v.push(p.reg);
        v.push(p.preserved_view);
    }
    for r in c.reserved {
        v.push(r.reg);
    }
    v.push(c.stack_pointer);
    v.extend(c.frame_pointer);
    v.extend(c.link_register);
    match c.sret.location {
        SretLocation::DedicatedRegister { reg } | SretLocation::FirstArgument { reg } => {
            v.push(reg)
        }
        _ => {}
    }
    v.extend(c.sret.returned_in);
    v
}

#[test]
fn register_names_are_capstone_names() {
    let mut checked = 0;
    for c in all() {
        // LoongArch: not in capstone 0.14. Threaded code: names no registers.
        let Some(names) = capstone_names(c.arch) else {
            assert!(
                c.arch == "loongarch64" || c.arch == "any",
                "no capstone names for {}",
                c.arch
            );
            continue;
        };
        for reg in model_registers(c) {
            // `al` is the x86 8-bit view capstone also names; checked like the rest.
            assert!(
                names.contains(reg),
                "{}: register {reg:?} is not a capstone {} register name",
                c.id,
                c.arch
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} registers checked");
}

#[test]
fn ids_are_unique_kebab_case_and_arches_known() {
    let mut seen = BTreeSet::new();
    let arches = [
        "x86",
        "x86_64",
        "aarch64",
        "arm",
        "riscv64",
        "riscv32",
        "powerpc64",
        "powerpc",
        "mips",
        "mips64",
        "sparc",
        "sparc64",
        "s390x",
        "loongarch64",
        "any",
    ];
    for c in all() {
        assert!(seen.insert(c.id), "duplicate id {}", c.id);
        assert!(
            c.id.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_'),
            "id {} is not kebab-case",
            c.id
        );
        assert!(
            arches.contains(&c.arch),
            "{}: unknown arch {}",
            c.id,
            c.arch
        );
        assert!(!c.source.is_empty() && !c.typical_use.is_empty());
        assert!(by_id(c.id).is_some_and(|found| std::ptr::eq(found, c)));
        // Callee-saved and caller-saved sets must not overlap.
        for r in c.callee_saved {
            assert!(
                !c.caller_saved.contains(r),
                "{}: {r} both callee- and caller-saved",
                c.id
            );
        }
        for p in c.partially_saved {
            assert!(
                c.callee_saved.contains(&p.preserved_view),
                "{}: {} not in callee_saved",
                c.id,
                p.preserved_view
            );
        }
    }
    for id in [
        "x86-cdecl-sysv",
        "x86-cdecl-msvc",
        "x86-stdcall",
        "x86-fastcall-msvc",
        "x86-fastcall-gcc",
        "x86-thiscall",
        "x86-vectorcall",
        "x86-regparm3",
        "x86_64-sysv",
        "x86_64-win64",
        "x86_64-vectorcall",
        "aarch64-aapcs64",
        "aarch64-apple",
        "aarch64-win",
        "arm-aapcs",
        "arm-aapcs-vfp",
        "riscv64-lp64",
        "riscv64-lp64f",
        "riscv64-lp64d",
        "riscv32-ilp32",
        "riscv32-ilp32f",
        "riscv32-ilp32d",
        "riscv32-ilp32e",
        "ppc64-elfv1",
        "ppc64-elfv2",
        "ppc32-sysv",
        "mips-o32",
        "mips64-n32",
        "mips64-n64",
        "sparc-v8",
        "sparc64-v9",
        "s390x-elf",
        "loongarch64-lp64d",
        "threaded-code",
    ] {
        assert!(by_id(id).is_some(), "missing {id}");
    }
    assert!(by_id("nope").is_none());
}

#[test]
fn key_facts() {
    let win = by_id("x86_64-win64").map(|c| (c.shadow_space, c.red_zone, c.partially_saved.len()));
    assert_eq!(win, Some((32, 0, 10)));
    let a64 =
        by_id("aarch64-aapcs64").map(|c| c.partially_saved.iter().map(|p| p.preserved_bits).max());
    assert_eq!(a64, Some(Some(64)));
    assert_eq!(
        by_id("x86-stdcall").map(|c| c.stack_cleanup),
        Some(Cleanup::Callee)
    );
    assert_eq!(
        by_id("x86-cdecl-sysv").map(|c| c.sret.popped_by_callee),
        Some(true)
    );
    assert_eq!(
        by_id("x86-cdecl-msvc").map(|c| c.sret.popped_by_callee),
        Some(false)
    );
    let t = by_id("threaded-code")
        .map(|c| (c.is_calling_convention, c.int_args.len(), c.link_register));
    assert_eq!(t, Some((false, 0, None)));
}

#[test]
fn json_is_stable_and_complete() {
    let json = to_json();
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let convs = v["conventions"].as_array().expect("array");
    assert_eq!(convs.len(), all().len());
    for key in [
        "id",
        "arch",
        "platforms",
        "int_args",
        "float_args",
        "int_return",
        "callee_saved",
        "caller_saved",
        "stack_cleanup",
        "stack_align",
        "red_zone",
        "shadow_space",
        "sret",
        "partially_saved",
        "variadic",
        "frame_pointer",
        "link_register",
        "reserved",
        "source",
        "typical_use",
    ] {
        assert!(convs[0].get(key).is_some(), "missing key {key}");
    }
    let sysv = convs
        .iter()
        .find(|c| c["id"] == "x86_64-sysv")
        .expect("sysv");
    assert_eq!(sysv["stack_cleanup"], "caller");
    assert_eq!(sysv["red_zone"], 128);
    assert_eq!(sysv["sret"]["location"]["kind"], "first_argument");
    assert!(v["spellings"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn target_defaults() {
    let id = |t: TargetSpec| default_for(&t).map(|c| c.id);
    assert_eq!(
        id(TargetSpec::new(Arch::parse("x86_64"), Os::Linux)),
        Some("x86_64-sysv")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("x86_64"), Os::Windows)),
        Some("x86_64-win64")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("x86"), Os::Windows)),
        Some("x86-cdecl-msvc")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("x86"), Os::Linux)),
        Some("x86-cdecl-sysv")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("aarch64"), Os::Macos)),
        Some("aarch64-apple")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("aarch64"), Os::Windows)),
        Some("aarch64-win")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("aarch64"), Os::Linux)),
        Some("aarch64-aapcs64")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("arm"), Os::Linux).with_abi(AbiVariant::ArmSoftFloat)),
        Some("arm-aapcs")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("arm"), Os::Linux).with_abi(AbiVariant::ArmHardFloat)),
        Some("arm-aapcs-vfp")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("mips64"), Os::Linux).with_abi(AbiVariant::MipsN32)),
        Some("mips64-n32")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("powerpc64"), Os::Linux).with_abi(AbiVariant::Ppc64ElfV1)),
        Some("ppc64-elfv1")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("riscv32"), Os::Other).with_abi(AbiVariant::RiscvE)),
        Some("riscv32-ilp32e")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("riscv64"), Os::Linux)
            .with_abi(AbiVariant::RiscvSingleFloat)),
        Some("riscv64-lp64f")
    );
    assert_eq!(
        id(TargetSpec::new(Arch::parse("arm"), Os::Linux).with_abi(AbiVariant::MipsO32)),
        None
    );
    assert_eq!(id(TargetSpec::new(Arch::parse("wasm32"), Os::Other)), None);
    // Every real convention except the Windows/x86 variants is some target's default.
    for arch in [
        "x86",
        "x86_64",
        "aarch64",
        "arm",
        "riscv64",
        "riscv32",
        "powerpc64",
        "powerpc",
        "mips",
        "mips64",
        "sparc",
        "sparc64",
        "s390x",
        "loongarch64",
    ] {
        assert!(
            default_for(&TargetSpec::new(Arch::parse(arch), Os::Linux)).is_some(),
            "{arch}"
        );
    }
}

#[test]
fn language_spellings() {
    let linux64 = TargetSpec::new(Arch::parse("x86_64"), Os::Linux).with_env(Env::Gnu);
    let win32 = TargetSpec::new(Arch::parse("x86"), Os::Windows).with_env(Env::Msvc);
    let win64 = TargetSpec::new(Arch::parse("x86_64"), Os::Windows).with_env(Env::Msvc);
    let armhf = TargetSpec::new(Arch::parse("arm"), Os::Linux).with_abi(AbiVariant::ArmHardFloat);
    let mac = TargetSpec::new(Arch::parse("aarch64"), Os::Macos);
    let id = |l, s, t: &TargetSpec| from_spelling(l, s, t).map(|c| c.id);
    assert_eq!(
        id(Language::Rust, "extern \"C\"", &linux64),
        Some("x86_64-sysv")
    );
    assert_eq!(id(Language::Rust, "C-unwind", &win64), Some("x86_64-win64"));
    assert_eq!(id(Language::Rust, "system", &win32), Some("x86-stdcall"));
    assert_eq!(id(Language::Rust, "system", &win64), Some("x86_64-win64"));
    assert_eq!(id(Language::Rust, "win64", &linux64), Some("x86_64-win64"));
    assert_eq!(id(Language::Rust, "sysv64", &win64), Some("x86_64-sysv"));
    assert_eq!(id(Language::Rust, "stdcall", &mac), None);
    assert_eq!(
        id(Language::Rust, "fastcall", &win32),
        Some("x86-fastcall-msvc")
    );
    assert_eq!(id(Language::Rust, "aapcs", &armhf), Some("arm-aapcs"));
    assert_eq!(id(Language::Rust, "efiapi", &win64), Some("x86_64-win64"));
    assert_eq!(id(Language::Rust, "Rust", &linux64), None);
    assert_eq!(
        id(Language::Zig, "callconv(.c)", &mac),
        Some("aarch64-apple")
    );
    assert_eq!(
        id(Language::Zig, ".x86_64_win", &linux64),
        Some("x86_64-win64")
    );
    assert_eq!(id(Language::Zig, ".x86_stdcall", &linux64), None);
    assert_eq!(id(Language::Zig, "winapi", &win32), Some("x86-stdcall"));
    assert_eq!(
        id(Language::C, "__attribute__((ms_abi))", &linux64),
        Some("x86_64-win64")
    );
    assert_eq!(id(Language::C, "regparm(3)", &win32), Some("x86-regparm3"));
    assert_eq!(
        id(Language::C, "__attribute__((pcs(\"aapcs-vfp\")))", &armhf),
        Some("arm-aapcs-vfp")
    );
    assert_eq!(
        id(Language::C, "__fastcall__", &win32),
        Some("x86-fastcall-gcc")
    );
    assert_eq!(
        id(Language::Msvc, "__stdcall", &win64),
        Some("x86_64-win64")
    );
    assert_eq!(
        id(Language::Msvc, "__vectorcall", &win64),
        Some("x86_64-vectorcall")
    );
    assert_eq!(
        id(Language::Msvc, "__thiscall", &win32),
        Some("x86-thiscall")
    );
    assert_eq!(
        id(Language::PythonCtypes, "WINFUNCTYPE", &win32),
        Some("x86-stdcall")
    );
    assert_eq!(
        id(Language::PythonCtypes, "WINFUNCTYPE", &win64),
        Some("x86_64-win64")
    );
    assert_eq!(
        id(Language::PythonCtypes, "CFUNCTYPE", &win32),
        Some("x86-cdecl-msvc")
    );
    assert_eq!(id(Language::PythonCtypes, "nonsense", &win32), None);
    assert!(spellings().len() > 50);
}

#[test]
fn charts() {
    let t = render_table(Some("x86_64"));
    assert!(t.starts_with("convention"));
    assert_eq!(t.lines().count(), 2 + 3);
    assert!(t.contains("x86_64-win64") && t.contains("rcx rdx r8 r9"));
    let m = render_markdown(None);
    assert_eq!(m.lines().count(), 2 + all().len());
    assert!(m.contains("| threaded-code |"));
    assert!(render_table(Some("s390x")).contains("r2 r3 r4 r5 r6"));
    assert_eq!(render_table(Some("z80")), "");
    assert_eq!(render_markdown(Some("z80")), "");
}
