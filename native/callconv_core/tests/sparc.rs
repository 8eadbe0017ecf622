//! SPARC machine code against the SPARC conventions (issue #15), on fixtures built with
//! Debian's cross gcc by `test/fixtures/sparc/build.sh` (committed under `out/`):
//!
//! * `gcc_output_has_no_error`: gcc's own output (sparc64 at -O0/-O2/-Os, -mflat and
//!   -mcpu=niagara4,
//!   32-bit sparc at -O0/-O2) draws no error finding, and every function is followed to a
//!   return; so does the analysis suite's good.c (`analysis_fixture_has_no_error`), through
//!   the whole check (nif_init decoded, then its functions analysed);
//! * `wrong_conventions_are_all_caught`: every broken function of `bad.S` draws the
//!   findings `expected.txt` lists (recall 100%; argument reads after `save` included), and
//!   its controls draw none;
//! * `nif_init_*`: the entry decoder reads SPARC `nif_init` through the lifter: the module
//!   name, the function table and each function's address;
//! * `the_instruction_set_floor_*`: VIS 1-3, hardware popc, fused multiply-add and
//!   compare-and-branch feed the `isa-level` floor against a target CPU named as gcc's
//!   `-mcpu` does (`--cpu niagara2`); a getauxval-guarded build is a warning.

use std::path::{Path, PathBuf};

use callconv::analysis::{self, LibraryAnalysis};
use callconv::report::Arch;
use callconv::rules::{self, Finding, Severity};
use callconv::{conventions, entry, inspect};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/sparc")
}

/// Analyses every exported function of `file` (nif_init with no argument, the NIF-shaped
/// functions with three), against the convention the BEAM calls them with; with the
/// findings the rules raise from it.
fn analyse(file: &str) -> (LibraryAnalysis, Vec<Finding>) {
    let bytes = std::fs::read(dir().join("out").join(file)).expect(file);
    let binary = inspect::parse(&*bytes, Arch::X86_64).expect("parses");
    let conv = conventions::for_binary(binary.arch, binary.platform, None).expect("convention");
    let roots: Vec<(String, u64, usize)> = binary
        .exports
        .iter()
        .filter(|e| e.code && !e.name.starts_with('_'))
        .map(|e| {
            if e.name == "nif_init" {
                (e.name.clone(), e.address, 0)
            } else {
                (format!("{}/3", e.name), e.address, 3)
            }
        })
        .collect();
    assert!(
        roots.len() > 3,
        "{file}: {} exported functions",
        roots.len()
    );
    let a = analysis::analyze_roots(&binary, &roots, conv);
    assert!(a.supported, "{file}: SPARC not analysed");
    assert_eq!(a.functions.len(), roots.len(), "{file}");
    let findings = rules::code::check(&a, None, binary.arch);
    (a, findings)
}

#[test]
fn gcc_output_has_no_error() {
    let files = [
        ("good64-O0.so", "sparc64-v9"),
        ("good64-O2.so", "sparc64-v9"),
        ("good64-Os.so", "sparc64-v9"),
        ("good32-O0.so", "sparc-v8"),
        ("good32-O2.so", "sparc-v8"),
        ("good64-flat.so", "sparc64-v9"),
        ("good64-niagara4.so", "sparc64-v9"),
    ];
    for (file, conv) in files {
        let (a, findings) = analyse(file);
        let errors: Vec<String> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.rule, f.message))
            .collect();
        assert!(errors.is_empty(), "{file}:\n{}", errors.join("\n"));
        for f in &a.functions {
            assert_eq!(f.expected_convention, conv, "{file} {}", f.name);
            // Every function was followed to a return (or a tail call), none capped.
            assert!(f.observed.exits > 0, "{file} {}: no exit reached", f.name);
            assert!(f.capped.is_none(), "{file} {}: capped", f.name);
            assert!(f.observed.stack_balanced, "{file} {}", f.name);
            assert!(
                f.observed.callee_saved_touched.is_empty(),
                "{file} {}",
                f.name
            );
            // Arguments are read only where the convention passes them (after `save`, as
            // %i registers).
            for r in &f.observed.args_read {
                assert!(
                    ["o0", "o1", "o2"].contains(&r.as_str()),
                    "{file} {}: {r}",
                    f.name
                );
            }
        }
        // add/3 reads argv (%o2; %i2 after its save, %o2 itself with -mflat): an argument
        // read either way.
        let add = a.functions.iter().find(|f| f.name == "add/3").expect("add");
        assert!(
            add.observed.args_read.iter().any(|r| r == "o2"),
            "{file}: add/3 reads {:?}",
            add.observed.args_read
        );
        // The switch's jump table (gcc -O2/-Os; -O0 compares) is followed: the cases reach
        // the exits on paths of their own (2 exits when the table is not followed; with
        // -mflat the cases share one exit block, where their states merge).
        let dispatch = a.functions.iter().find(|f| f.name == "dispatch/3");
        let exits = dispatch.expect("dispatch").observed.exits;
        if !file.contains("-O0") {
            assert!(exits >= 5, "{file}: dispatch reaches {exits} exits");
        }
    }
}

#[test]
fn wrong_conventions_are_all_caught() {
    let expected = std::fs::read_to_string(dir().join("expected.txt")).expect("expected.txt");
    let want: Vec<Vec<&str>> = expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (mut caught, mut missed, mut extra) = (0, Vec::new(), Vec::new());
    for file in ["bad64.so", "bad32.so"] {
        let (a, findings) = analyse(file);
        let mine: Vec<&Vec<&str>> = want.iter().filter(|w| w[0] == file).collect();
        assert!(!mine.is_empty(), "{file}: nothing expected");
        for w in &mine {
            let (func, rule, reg) = (w[1], w[2], w[3]);
            let hit = findings.iter().any(|f| {
                f.rule == rule
                    && f.message.contains(&format!("NIF {func}/3 "))
                    && (reg == "-" || f.message.contains(&format!(" {reg} ")))
            });
            if hit {
                caught += 1;
            } else {
                missed.push(format!("{file} {func} {rule} {reg}"));
            }
        }
        for f in &findings {
            let named = mine
                .iter()
                .any(|w| w[2] == f.rule && f.message.contains(&format!("NIF {}/3 ", w[1])));
            // A broken function may draw more than its listed findings (a window left open
            // clobbers every window register); a control may draw none.
            let broken = f.message.contains("NIF bad_");
            if !named && !broken {
                extra.push(format!("{file}: {} {}", f.rule, f.message));
            }
        }
        // Every function of the file was analysed and reached an exit, but the one that
        // ends in abort (named through its PLT entry).
        for f in &a.functions {
            let exits = f.observed.exits;
            if f.name == "ok_noreturn/3" {
                assert_eq!(exits, 0, "{file}: abort returned");
            } else {
                assert!(exits > 0, "{file} {}: no exit reached", f.name);
            }
        }
    }
    eprintln!("recall: {caught} of {} expected findings", want.len());
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
    assert!(
        extra.is_empty(),
        "controls drew findings:\n{}",
        extra.join("\n")
    );
}

#[test]
fn analysis_fixture_has_no_error() {
    let files = [
        "analysis64-O0.so",
        "analysis64-O2.so",
        "analysis64-O3.so",
        "analysis64-Os.so",
        "analysis64-flat.so",
        "analysis32-O2.so",
        "analysis32-Os.so",
        "analysis32-flat.so",
    ];
    for file in files {
        let bytes = std::fs::read(dir().join("out").join(file)).expect(file);
        let binary = inspect::parse(&*bytes, Arch::X86_64).expect("parses");
        let (_, init) = entry::init_symbol(&binary).expect("nif_init");
        let decoded = entry::decode(&binary, init).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let conv = conventions::for_binary(binary.arch, binary.platform, None).expect("conv");
        let a = analysis::analyze(&binary, &decoded, init, conv);
        let errors: Vec<String> = rules::code::check(&a, None, binary.arch)
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.rule, f.message))
            .collect();
        assert!(errors.is_empty(), "{file}:\n{}", errors.join("\n"));
        // The seven functions, nif_init and the three callbacks.
        assert_eq!(a.functions.len(), 11, "{file}");
        for f in &a.functions {
            assert!(f.observed.exits > 0, "{file} {}: no exit reached", f.name);
            assert!(f.capped.is_none(), "{file} {}: capped", f.name);
        }
    }
}

/// The NIF functions `nif_init` of good_nif.c returns, in table order.
const GOOD_FUNCTIONS: [(&str, u32); 8] = [
    ("first", 1),
    ("add", 2),
    ("big", 1),
    ("pick", 1),
    ("average", 4),
    ("fail", 0),
    ("bump", 0),
    ("dispatch", 1),
];

fn decode_entry(file: &str) {
    let bytes = std::fs::read(dir().join("out").join(file)).expect(file);
    let binary = inspect::parse(&*bytes, Arch::X86_64).expect("parses");
    let (_, init) = entry::init_symbol(&binary).expect("nif_init");
    let decoded = entry::decode(&binary, init).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    let names: Vec<(String, u32)> = decoded
        .entry
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.arity))
        .collect();
    let want: Vec<(String, u32)> = GOOD_FUNCTIONS
        .iter()
        .map(|(n, a)| (n.to_string(), *a))
        .collect();
    assert_eq!(names, want, "{file}");
    assert_eq!(decoded.entry.module, "sparc_good", "{file}");
    // Each function's address is its exported symbol's.
    for ((name, _), addr) in GOOD_FUNCTIONS.iter().zip(&decoded.function_addresses) {
        let export = binary.export(name).expect(name);
        assert_eq!(*addr, Some(export.address), "{file} {name}");
    }
}

#[test]
fn nif_init_decodes_on_sparc64() {
    for file in ["good64-O0.so", "good64-O2.so", "good64-Os.so"] {
        decode_entry(file);
    }
}

#[test]
fn nif_init_decodes_on_32_bit_sparc() {
    for file in ["good32-O0.so", "good32-O2.so"] {
        decode_entry(file);
    }
}

/// Checks `file` as `callconv check --target sparc64-unknown-linux-gnu --cpu CPU` does.
fn check_for_cpu(file: &str, cpu: &str) -> callconv::report::LibraryReport {
    let target = callconv::target::Target::host()
        .for_triple("sparc64-unknown-linux-gnu")
        .expect("triple");
    let target = analysis::IsaLevel::target_with_cpu(target, cpu).expect("a SPARC CPU");
    let options = callconv::Options::new(target);
    assert!(options.target_isa.is_some(), "{cpu}: no target CPU");
    callconv::check_path_with(&dir().join("out").join(file), &options).expect("checks")
}

fn isa_findings(r: &callconv::report::LibraryReport) -> Vec<(Severity, String)> {
    r.findings
        .iter()
        .filter(|f| f.rule == "isa-level")
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

#[test]
fn the_instruction_set_floor_counts_vis_and_the_t2_to_t4_features() {
    // (file, the features its code needs, the oldest CPU that has them all, one without)
    let cases: [(&str, &[&str], &str, Option<&str>); 6] = [
        ("isa64-v9.so", &[], "v9", None),
        ("vis1.so", &["vis"], "ultrasparc", Some("v9")),
        (
            "vis2.so",
            &["vis", "vis2"],
            "ultrasparc3",
            Some("ultrasparc"),
        ),
        (
            "isa64-niagara2.so",
            &["popc"],
            "niagara2",
            Some("ultrasparc3"),
        ),
        (
            "isa64-niagara4.so",
            &["cbcond", "fmaf", "popc", "vis3"],
            "niagara4",
            Some("niagara2"),
        ),
        (
            "isa64-niagara4-guarded.so",
            &["cbcond", "fmaf", "popc", "vis3"],
            "niagara4",
            Some("niagara3"),
        ),
    ];
    for (file, needs, own, lower) in cases {
        let r = check_for_cpu(file, own);
        let isa = r.isa.as_ref().expect("swept");
        let flags: Vec<&str> = isa.features.iter().map(|f| f.flag.as_str()).collect();
        assert_eq!(flags, needs, "{file}: {isa:?}");
        assert!(!isa.capped && isa.instructions > 20, "{file}: {isa:?}");
        assert_eq!(isa_findings(&r), vec![], "{file} on {own}");
        let guarded = file.contains("guarded");
        assert_eq!(isa.guarded, guarded, "{file}: {:?}", isa.guard);
        let Some(lower) = lower else { continue };
        let found = isa_findings(&check_for_cpu(file, lower));
        assert_eq!(found.len(), 1, "{file} on {lower}: {found:?}");
        let (severity, message) = &found[0];
        let want = if guarded {
            Severity::Warning
        } else {
            Severity::Error
        };
        assert_eq!(*severity, want, "{file} on {lower}");
        // Only what the lower CPU lacks is named.
        let lacks: Vec<&str> = needs
            .iter()
            .copied()
            .filter(|f| {
                !analysis::IsaLevel::named(Arch::Sparc64, lower)
                    .unwrap()
                    .has(f)
            })
            .collect();
        assert!(!lacks.is_empty());
        for f in needs {
            let named = message.contains(&format!("{f} (`"));
            assert_eq!(
                named,
                lacks.contains(f),
                "{file} on {lower}, {f}: {message}"
            );
        }
    }
    // The instruction is named, the delay slot's included (T2's popc sits in one).
    let r = check_for_cpu("isa64-niagara2.so", "v9");
    assert!(
        isa_findings(&r)[0]
            .1
            .contains("popc (`fbge+popc`, population count in hardware"),
        "{:?}",
        isa_findings(&r)
    );
    let r = check_for_cpu("isa64-niagara4.so", "niagara2");
    assert!(
        isa_findings(&r)[0].1.contains("fmaf (`fmaddd`"),
        "{:?}",
        isa_findings(&r)
    );
}

#[test]
fn sparc_cpus_by_name_and_from_cpuinfo() {
    use analysis::IsaLevel;
    let t4 = IsaLevel::named(Arch::Sparc64, "niagara4").unwrap();
    for f in ["vis", "vis2", "vis3", "popc", "fmaf", "cbcond"] {
        assert!(t4.has(f), "{f}");
    }
    assert!(!t4.has("vis4"));
    assert!(IsaLevel::named(Arch::Sparc64, "v9")
        .unwrap()
        .flags
        .is_empty());
    // 32-bit V8+ code runs on the same CPUs; V8 names only for 32-bit.
    assert!(IsaLevel::named(Arch::Sparc, "niagara2")
        .unwrap()
        .has("popc"));
    assert!(IsaLevel::named(Arch::Sparc, "leon3").is_ok());
    let err = IsaLevel::named(Arch::Sparc64, "leon3").unwrap_err();
    assert!(err.contains("niagara4"), "{err}");
    let err = IsaLevel::named(Arch::Powerpc64, "niagara4").unwrap_err();
    assert!(err.contains("a CPU for sparc64"), "{err}");
    // A SPARC T4's /proc/cpuinfo.
    let cpuinfo = "cpu\t\t: UltraSparc T4 (Niagara4)\nfpu\t\t: UltraSparc T4 integrated FPU\n\
        pmu\t\t: niagara4\nprom\t\t: OBP 4.38.8 2017/03/21 14:08\ntype\t\t: sun4v\n\
        ncpus probed\t: 64\ncpucaps\t\t: flush,stbar,swap,muldiv,v9,blkinit,n2,mul32,div32,\
        v8plus,popc,vis,vis2,ASIBlkInit,fmaf,vis3,hpc,ima,pause,cbcond,aes,des,camellia,md5,\
        sha1,sha256,sha512,mpmul,montmul,montsqr,crc32c\n";
    let host = IsaLevel::from_cpuinfo(Arch::Sparc64, cpuinfo);
    for f in ["vis", "vis2", "vis3", "popc", "fmaf", "cbcond"] {
        assert!(host.has(f), "{f}: {host:?}");
    }
}
