//! The machine-code analysis of NIF entry points (`callconv::analysis`).
//!
//! * `wrong_conventions_are_all_caught`: every library under
//!   `test/fixtures/analysis/out/bad/` holds NIF functions compiled with a wrong
//!   convention or hand-written assembly that breaks one rule; `expected.txt` lists the
//!   findings each must produce (rule, function, register). Recall must be 100%.
//! * `real_compiler_output_has_no_error`: the fixtures built with gcc/clang/zig at every
//!   optimisation level (`out/good/`), the cross fixtures, the Debian jiffy NIFs of other
//!   architectures, Rustler fixtures and the installed OTP NIFs: zero error findings.
//! * `reports_do_not_depend_on_the_load`: concurrent checks on a busy CPU render the same
//!   bytes as a quiet sequential run.

mod analysis_support;

use analysis_support::{analyse, errors, files, root};
use callconv::analysis::IsaLevel;
use callconv::report::Arch;

#[test]
fn wrong_conventions_are_all_caught() {
    let dir = root().join("test/fixtures/analysis");
    let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
    let mut want: Vec<[String; 4]> = Vec::new();
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(w.len(), 4, "bad line {line:?}");
        want.push([w[0].into(), w[1].into(), w[2].into(), w[3].into()]);
    }
    let mut missed = Vec::new();
    let mut extra = Vec::new();
    let mut caught = 0;
    for path in files(&dir.join("out/bad"), &[".so", ".dll"]) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let a = analyse(&path, None).unwrap_or_else(|| panic!("{file}: not analysed"));
        for [_, func, rule, reg] in want.iter().filter(|w| w[0] == file) {
            let hit = a.findings.iter().any(|f| {
                f.rule == *rule
                    && f.message.contains(&format!("NIF {func} "))
                    && (reg == "-" || f.message.contains(reg.as_str()))
            });
            if hit {
                caught += 1;
            } else {
                missed.push(format!("{file} {func} {rule} {reg}"));
            }
        }
        for f in &a.findings {
            let named = want.iter().any(|w| {
                w[0] == file && w[2] == f.rule && f.message.contains(&format!("NIF {} ", w[1]))
            });
            if !named {
                extra.push(format!("{file}: {} {}", f.rule, f.message));
            }
        }
    }
    for w in &want {
        if !dir.join("out/bad").join(&w[0]).exists() {
            missed.push(format!("{} (no such fixture)", w.join(" ")));
        }
    }
    eprintln!("recall: {caught} of {} expected findings", want.len());
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
    assert!(
        extra.is_empty(),
        "unexpected findings (controls must stay clean):\n{}",
        extra.join("\n")
    );
}

#[test]
fn isa_floor_against_the_target() {
    let path = root().join("test/fixtures/analysis/out/good/x86_64-gcc-O3-v3.so");
    let a = analyse(&path, Some(&IsaLevel::x86_64(2))).expect("analysed");
    assert_eq!(a.isa.x86_64_level, Some(3), "{:?}", a.isa);
    assert!(
        a.findings.iter().any(|f| f.rule == "isa-level"),
        "{:?}",
        a.findings
    );
    let a = analyse(&path, Some(&IsaLevel::x86_64(3))).expect("analysed");
    assert!(!a.findings.iter().any(|f| f.rule == "isa-level"));
    // The same source at the baseline level needs nothing.
    let base = root().join("test/fixtures/analysis/out/good/x86_64-gcc-O2.so");
    let a = analyse(&base, Some(&IsaLevel::x86_64(1))).expect("analysed");
    assert_eq!(a.isa.x86_64_level, Some(1), "{:?}", a.isa.features);
}

/// zig's default armhf CPU emits NEON (`vmov.i32`) and VFPv3 (`vmov.f64` immediates), which
/// Debian's armhf floor (VFPv3-D16, no NEON) and an ARMv6 Raspberry Pi (VFPv2) lack.
#[test]
fn arm_isa_floor_against_the_target() {
    let path = root().join("test/fixtures/analysis/out/good/armhf-clang-O2.so");
    let pi_zero = IsaLevel::from_cpuinfo(
        Arch::Arm,
        "processor\t: 0\nFeatures\t: half thumb fastmult vfp edsp java tls\n",
    );
    let a = analyse(&path, Some(&pi_zero)).expect("analysed");
    let flags: Vec<&str> = a.isa.features.iter().map(|f| f.flag.as_str()).collect();
    assert_eq!(flags, ["neon", "vfp", "vfpv3"], "{:?}", a.isa);
    let isa = a
        .findings
        .iter()
        .find(|f| f.rule == "isa-level")
        .expect("isa-level");
    assert!(
        isa.message.contains("neon") && isa.message.contains("vfpv3"),
        "{}",
        isa.message
    );
    assert!(!isa.message.contains("vfp (at"), "{}", isa.message);
    let cortex_a8 = IsaLevel::from_flags(Arch::Arm, ["half", "thumb", "vfp", "vfpv3", "neon"]);
    let a = analyse(&path, Some(&cortex_a8)).expect("analysed");
    assert!(
        !a.findings.iter().any(|f| f.rule == "isa-level"),
        "{:?}",
        a.findings
    );
    // GCC's armhf output needs VFP only where the code is floating point.
    let gcc = root().join("test/fixtures/analysis/out/good/armhf-gcc-O2-arm-fp-ssp.so");
    let a = analyse(&gcc, Some(&pi_zero)).expect("analysed");
    assert!(
        !a.findings.iter().any(|f| f.rule == "isa-level"),
        "{:?}",
        a.findings
    );
}

#[test]
fn real_compiler_output_has_no_error() {
    let r = root();
    let mut corpus = files(&r.join("test/fixtures/analysis/out/good"), &[".so", ".dll"]);
    corpus.extend(files(&r.join("test/fixtures/cross"), &[".so", ".dll"]));
    corpus.extend(files(&r.join("test/fixtures/cache/debian"), &[".so"]));
    corpus.extend(files(&r.join("test/fixtures/rustler/out"), &[".so"]));
    corpus.extend(files(std::path::Path::new("/usr/lib/erlang/lib"), &[".so"]));
    let mut bad = Vec::new();
    let mut analysed = 0;
    for path in &corpus {
        let Some(a) = analyse(path, None) else {
            continue;
        };
        if !a.supported {
            continue;
        }
        analysed += 1;
        for e in errors(&a) {
            bad.push(format!("{}: {e}", path.display()));
        }
    }
    eprintln!("analysed {analysed} of {} libraries", corpus.len());
    assert!(bad.is_empty(), "false alarms:\n{}", bad.join("\n"));
}

/// A report is a function of the bytes and the target, never of the machine's load: two
/// checks of the same libraries running at once, while busy threads occupy every core, render
/// byte for byte the JSON of a quiet sequential run. Nothing is timed: the busy threads do
/// counted rounds of work until both checks have ended.
#[test]
fn reports_do_not_depend_on_the_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let r = root();
    let mut libs = files(&r.join("test/fixtures/analysis/out/bad"), &[".so", ".dll"]);
    libs.extend(files(&r.join("test/fixtures/cache/debian"), &[".so"]));
    assert!(libs.len() >= 20, "fixtures missing: {libs:?}");
    let target = callconv::target::Target::host();
    let render = || {
        let doc = callconv::check::check_paths(&libs, &target);
        callconv::render::render(&doc, "json", None, false).expect("json renders")
    };
    let quiet = render();
    let stop = AtomicBool::new(false);
    let busy = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (first, second) = std::thread::scope(|s| {
        for seed in 0..busy as u64 {
            let stop = &stop;
            s.spawn(move || {
                let mut x = seed;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..100_000 {
                        x = x
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                    }
                    std::hint::black_box(x);
                }
            });
        }
        let a = s.spawn(render);
        let b = s.spawn(render);
        let out = (a.join(), b.join());
        stop.store(true, Ordering::Relaxed);
        out
    });
    let (first, second) = (first.expect("first check"), second.expect("second check"));
    assert!(
        first == quiet,
        "the first loaded check differs from the quiet run"
    );
    assert!(
        second == quiet,
        "the second loaded check differs from the quiet run"
    );
}

#[test]
fn host_isa_is_readable() {
    if let Some(h) = IsaLevel::host() {
        assert!(!h.flags.is_empty());
    }
}

/// Prints every finding of every bad fixture (`cargo test --test analysis dump -- --ignored
/// --nocapture`), to write expected.txt.
#[test]
#[ignore]
fn dump_bad() {
    for path in files(
        &root().join("test/fixtures/analysis/out/bad"),
        &[".so", ".dll"],
    ) {
        let Some(a) = analyse(&path, None) else {
            eprintln!("{}: not analysed", path.display());
            continue;
        };
        eprintln!(
            "{}: supported={} functions={}",
            path.display(),
            a.supported,
            a.functions.len()
        );
        if std::env::var("DUMP_FUNCS").is_ok() {
            for f in &a.functions {
                eprintln!("  {f:?}");
            }
        }
        for f in &a.findings {
            eprintln!(
                "{} {} {}",
                path.file_name().unwrap().to_string_lossy(),
                f.rule,
                f.message
            );
        }
    }
}

/// Timing: `test/fixtures/analysis/bench.sh` builds a NIF with hundreds of functions and runs
/// this; without it, the largest libraries of the corpus are timed.
#[test]
#[ignore]
fn bench() {
    let mut libs: Vec<std::path::PathBuf> = std::env::var_os("CALLCONV_BENCH_LIB")
        .map(|p| vec![p.into()])
        .unwrap_or_default();
    libs.extend(files(std::path::Path::new("/usr/lib/erlang/lib"), &[".so"]));
    libs.extend(files(&root().join("test/fixtures/rustler/out"), &[".so"]));
    for path in libs {
        let host = IsaLevel::host();
        let t = std::time::Instant::now();
        let runs = 5;
        let mut last = None;
        for _ in 0..runs {
            last = analyse(&path, host.as_ref());
        }
        let per = t.elapsed() / runs;
        let Some(a) = last.filter(|a| a.supported) else {
            continue;
        };
        // The sweep alone, on the same entry points.
        let bytes = std::fs::read(&path).expect("readable");
        let binary =
            callconv::inspect::parse(&*bytes, callconv::report::Arch::X86_64).expect("parses");
        let (_, init) = callconv::entry::init_symbol(&binary).expect("a NIF");
        let decoded = callconv::entry::decode(&binary, init).expect("decodes");
        let conv = callconv::conventions::for_binary(
            binary.arch,
            binary.platform,
            binary.abi_variant.as_deref(),
        )
        .expect("a convention");
        let roots = callconv::analysis::entry_points(&binary, &decoded, init);
        let t = std::time::Instant::now();
        for _ in 0..runs {
            callconv::analysis::isa_sweep(&binary, &roots, conv);
        }
        let sweep = t.elapsed() / runs;
        let insns: usize = a.functions.iter().map(|f| f.instructions).sum();
        eprintln!(
            "{}: {} entry points, {} insns interpreted, ISA sweep {} insns (level {:?}, guarded {}): {:?} per library (parse+decode+analysis), of which the ISA sweep alone {:?}",
            path.display(),
            a.functions.len(),
            insns,
            a.isa.instructions,
            a.isa.x86_64_level,
            a.isa.guarded,
            per,
            sweep
        );
    }
}
