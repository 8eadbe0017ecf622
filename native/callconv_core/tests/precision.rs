//! The precision suite: libraries that real toolchains built and that load and run fine, on
//! which callconv must report no error. A refusal here is a false refusal.
//!
//! * Debian 13 (trixie): every NIF (a shared object exporting `nif_init`) of the
//!   architecture-specific `erlang-*` packages, for each architecture trixie ships, checked
//!   against its own architecture's ERTS (`erlang-base`'s `beam.smp`, as `--erts DIR`) and
//!   again against the target triple alone (as `--target TRIPLE`).
//! * Python wheels from PyPI: extension modules built by Apple's toolchain (Mach-O x86_64,
//!   arm64, universal2) and Microsoft's (PE x86, x64, arm64), checked for their own platform.
//!   They are plain C libraries, not NIFs. Their inspection (architecture, needed libraries,
//!   imports, exports) is compared with an independent reader (`pefile`, `macholib`:
//!   `test/fixtures/precision/reference.py`).
//!
//! Both corpora are fetched by `test/fixtures/precision.sh` into `test/fixtures/cache/precision/`.
//!
//! False refusals of known classes that other work fixes are listed, one per line, in
//! `test/fixtures/precision/known_false_refusals.txt`: the test reports them, fails on any
//! error finding not listed, and fails on a listed line that no longer happens, so the list
//! only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use callconv::report::{Arch, Kind, LibraryReport};
use callconv::rules::Severity;
use callconv::target::Target;
use callconv::Options;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

fn cache() -> PathBuf {
    fixtures().join("cache/precision")
}

/// Debian's architecture name, the triple the same platform has for `--target`, and what the
/// files must be.
const DEBIAN: &[(&str, &str, Arch)] = &[
    ("amd64", "x86_64-unknown-linux-gnu", Arch::X86_64),
    ("arm64", "aarch64-unknown-linux-gnu", Arch::Aarch64),
    ("armel", "arm-unknown-linux-gnueabi", Arch::Arm),
    ("armhf", "armv7-unknown-linux-gnueabihf", Arch::Arm),
    ("i386", "i686-unknown-linux-gnu", Arch::X86),
    ("ppc64el", "powerpc64le-unknown-linux-gnu", Arch::Powerpc64),
    ("riscv64", "riscv64gc-unknown-linux-gnu", Arch::Riscv64),
    ("s390x", "s390x-unknown-linux-gnu", Arch::S390x),
];

/// Wheel set directory, and the triples its modules are checked for (one per slice).
const WHEELS: &[(&str, &[(&str, Arch)])] = &[
    ("macos-x86_64", &[("x86_64-apple-darwin", Arch::X86_64)]),
    ("macos-arm64", &[("aarch64-apple-darwin", Arch::Aarch64)]),
    (
        "macos-universal2",
        &[
            ("x86_64-apple-darwin", Arch::X86_64),
            ("aarch64-apple-darwin", Arch::Aarch64),
        ],
    ),
    ("windows-x86", &[("i686-pc-windows-msvc", Arch::X86)]),
    ("windows-x64", &[("x86_64-pc-windows-msvc", Arch::X86_64)]),
    (
        "windows-arm64",
        &[("aarch64-pc-windows-msvc", Arch::Aarch64)],
    ),
];

/// One error finding: where (corpus and check mode), which library, which rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Refusal {
    set: String,
    library: String,
    rule: String,
    message: String,
}

/// A line of the allow-list: `SET LIBRARY RULE CLASS...`.
struct Known {
    set: String,
    library: String,
    rule: String,
    class: String,
}

fn known_false_refusals() -> Vec<Known> {
    let path = fixtures().join("precision/known_false_refusals.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let mut next = || {
                words
                    .next()
                    .unwrap_or_else(|| panic!("{}: short line {l:?}", path.display()))
                    .to_string()
            };
            let (set, library, rule) = (next(), next(), next());
            let class = words.collect::<Vec<_>>().join(" ");
            assert!(!class.is_empty(), "{}: no class on {l:?}", path.display());
            Known {
                set,
                library,
                rule,
                class,
            }
        })
        .collect()
}

/// Regular files under `dir` whose name ends with one of `suffixes`, sorted; bounded.
fn files_under(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut budget = 100_000;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            budget -= 1;
            assert!(budget > 0, "too many files under {}", dir.display());
            let Ok(kind) = e.file_type() else { continue };
            let p = e.path();
            if kind.is_dir() {
                stack.push(p);
            } else if kind.is_file() {
                let name = e.file_name().to_string_lossy().into_owned();
                if suffixes.iter().any(|s| name.ends_with(s)) {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn errors_of(report: &LibraryReport) -> impl Iterator<Item = &callconv::report::Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
}

/// The numbers the precision table of `docs/testing.md` gives, per set.
#[derive(Default)]
struct Tally {
    libraries: usize,
    functions: usize,
    refused: usize,
}

impl Tally {
    /// Counts one checked library of `set`, and records its error findings as refusals.
    fn record(
        &mut self,
        set: &str,
        library: &str,
        report: &LibraryReport,
        refusals: &mut Vec<Refusal>,
    ) {
        self.libraries += 1;
        self.functions += report.functions.len();
        let mut refused = false;
        for f in errors_of(report) {
            refused = true;
            refusals.push(Refusal {
                set: set.to_string(),
                library: library.to_string(),
                rule: f.rule.clone(),
                message: f.message.clone(),
            });
        }
        self.refused += usize::from(refused);
    }
}

/// Compares the refusals with the allow-list; panics listing every unlisted refusal and every
/// listed one that did not happen. Prints the table either way.
fn judge(name: &str, refusals: &[Refusal], tallies: &BTreeMap<String, Tally>, sets: &[String]) {
    eprintln!("precision ({name}): set, libraries, functions analysed, libraries refused");
    for (set, t) in tallies {
        eprintln!(
            "  {set:<28} {:>4} {:>6} {:>4}",
            t.libraries, t.functions, t.refused
        );
    }
    let known = known_false_refusals();
    let listed = |r: &Refusal| {
        known
            .iter()
            .find(|k| k.set == r.set && k.library == r.library && k.rule == r.rule)
    };
    let mut failures = Vec::new();
    let mut seen_known = BTreeSet::new();
    for r in refusals {
        match listed(r) {
            Some(k) => {
                eprintln!(
                    "  known false refusal ({}): {} {} {}: {}",
                    k.class, r.set, r.library, r.rule, r.message
                );
                seen_known.insert((k.set.clone(), k.library.clone(), k.rule.clone()));
            }
            None => failures.push(format!("{} {} {}: {}", r.set, r.library, r.rule, r.message)),
        }
    }
    // Listed lines of the sets this test checked must still happen: the list only shrinks.
    for k in &known {
        if sets.contains(&k.set)
            && !seen_known.contains(&(k.set.clone(), k.library.clone(), k.rule.clone()))
        {
            failures.push(format!(
                "{} {} {} is listed in known_false_refusals.txt ({}) but no longer happens: remove the line",
                k.set, k.library, k.rule, k.class
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} precision failure(s) ({name}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn exports_nif_init(path: &Path) -> bool {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    callconv::inspect::parse(&data[..], Arch::Unknown)
        .map(|b| b.export("nif_init").is_some())
        .unwrap_or(false)
}

/// Checks one Debian architecture's NIFs against its ERTS and its triple: the error
/// findings and the tally of each set.
fn check_debian_arch(
    base: &Path,
    arch: &str,
    triple: &str,
    expect_arch: Arch,
) -> (Vec<Refusal>, Vec<(String, Tally)>) {
    let root = base.join(arch).join("root");
    let erts = callconv::runtime::read_erts(&root.join("usr/lib/erlang"))
        .unwrap_or_else(|e| panic!("{arch}: ERTS: {e}"));
    assert_eq!(erts.arch, expect_arch, "{arch}: beam.smp's architecture");
    let nifs: Vec<PathBuf> = files_under(&root, &[".so"])
        .into_iter()
        .filter(|p| exports_nif_init(p))
        .collect();
    // OTP's own crypto and asn1 NIFs are in every architecture's set: a corpus without them
    // was not fetched right.
    for must in ["crypto.so", "asn1rt_nif.so"] {
        assert!(
            nifs.iter().any(|p| p.file_name().unwrap() == must),
            "{arch}: no {must} among the NIFs of {}",
            root.display()
        );
    }
    let modes = [
        ("erts", erts),
        (
            "target",
            Target::host()
                .for_triple(triple)
                .unwrap_or_else(|e| panic!("{triple}: {e}")),
        ),
    ];
    let mut refusals = Vec::new();
    let mut tallies = Vec::new();
    for (mode, target) in modes {
        let set = format!("debian-{arch}-{mode}");
        let mut tally = Tally::default();
        let options = Options::new(target);
        for path in &nifs {
            let library = path.file_name().unwrap().to_string_lossy().into_owned();
            let report = callconv::check_path_with(path, &options)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(report.arch, expect_arch, "{}", path.display());
            assert_eq!(report.kind, Kind::Nif, "{}", path.display());
            tally.record(&set, &library, &report, &mut refusals);
        }
        tallies.push((set, tally));
    }
    (refusals, tallies)
}

/// An empty corpus skips the test on a developer's machine; in CI (`CI` set), where
/// `script/test` fetched it first, it is a failure: a suite that checked nothing passes nothing.
fn skip_outside_ci(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "no corpus in CI: {why}");
    eprintln!("SKIPPED {why}");
}

#[test]
fn debian_nifs_load_on_their_own_architecture() {
    let base = cache().join("debian");
    let present: Vec<_> = DEBIAN
        .iter()
        .filter(|(arch, _, _)| base.join(arch).join("packages.txt").is_file())
        // PRECISION_ARCHS (as for precision.sh) narrows the run to some architectures.
        .filter(|(arch, _, _)| {
            std::env::var("PRECISION_ARCHS")
                .map_or(true, |v| v.split_whitespace().any(|a| a == *arch))
        })
        .collect();
    if present.is_empty() {
        skip_outside_ci(&format!(
            "debian_nifs_load_on_their_own_architecture: nothing in {}; run test/fixtures/precision.sh (needs root for apt)",
            base.display()
        ));
        return;
    }
    // One architecture per worker thread (the checks are independent; CI has two cores).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&&(arch, triple, expect_arch)) = present.get(i) else {
                    break;
                };
                let checked = check_debian_arch(&base, arch, triple, expect_arch);
                results.lock().unwrap().push(checked);
            });
        }
    });
    let mut refusals = Vec::new();
    let mut tallies = BTreeMap::new();
    let mut sets = Vec::new();
    for (r, t) in results.into_inner().unwrap() {
        refusals.extend(r);
        for (set, tally) in t {
            sets.push(set.clone());
            tallies.insert(set, tally);
        }
    }
    refusals.sort();
    refusals.dedup_by(|a, b| a.set == b.set && a.library == b.library && a.rule == b.rule);
    judge("Debian 13 NIFs", &refusals, &tallies, &sets);
}

/// One slice as the independent reader sees it.
#[derive(serde::Deserialize)]
struct ReferenceSlice {
    arch: String,
    needed: Vec<String>,
    imports: Vec<String>,
    exports: Vec<String>,
}

fn reference(paths: &[PathBuf]) -> BTreeMap<String, Vec<ReferenceSlice>> {
    let script = fixtures().join("precision/reference.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(paths)
        .output()
        .expect("run python3 test/fixtures/precision/reference.py");
    assert!(
        out.status.success(),
        "{} failed (pefile and macholib are installed by script/setup): {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reference.py's JSON")
}

fn set_of(names: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

#[test]
fn wheels_built_by_apple_and_microsoft_toolchains() {
    let base = cache().join("wheels");
    let present: Vec<_> = WHEELS
        .iter()
        .filter(|(dir, _)| base.join(dir).join("requirements.txt").is_file())
        .collect();
    if present.is_empty() {
        skip_outside_ci(&format!(
            "wheels_built_by_apple_and_microsoft_toolchains: nothing in {}; run test/fixtures/precision.sh",
            base.display()
        ));
        return;
    }
    let mut refusals = Vec::new();
    let mut tallies = BTreeMap::new();
    let mut sets = Vec::new();
    let mut disagreements = Vec::new();
    for &&(dir, slices) in &present {
        let modules = files_under(&base.join(dir), &[".so", ".pyd"]);
        assert!(!modules.is_empty(), "{dir}: no extension modules");
        let reference = reference(&modules);
        for &(triple, arch) in slices {
            let set = format!("wheels-{dir}-{}", arch.as_str());
            sets.push(set.clone());
            let tally: &mut Tally = tallies.entry(set.clone()).or_default();
            let target = Target::host()
                .for_triple(triple)
                .unwrap_or_else(|e| panic!("{triple}: {e}"));
            let options = Options::new(target);
            for path in &modules {
                let library = path
                    .strip_prefix(base.join(dir))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let p = path.display();
                let report = callconv::check_path_with(path, &options)
                    .unwrap_or_else(|e| panic!("{p}: {e}"));
                assert_eq!(report.arch, arch, "{p}: the slice checked");
                assert_ne!(report.kind, Kind::Nif, "{p}: a Python module is no NIF");
                // Not a NIF: no entry point the BEAM calls, so no convention to hold it to.
                assert!(
                    report.functions.is_empty(),
                    "{p}: entry points analysed on a non-NIF: {:?}",
                    report.functions.iter().map(|f| &f.name).collect::<Vec<_>>()
                );
                tally.record(&set, &library, &report, &mut refusals);

                // Inspection against the independent reader, slice by slice.
                let slices = &reference[&path.to_string_lossy().into_owned()];
                let Some(want) = slices.iter().find(|s| s.arch == arch.as_str()) else {
                    disagreements.push(format!(
                        "{p}: reference has no {} slice (has {:?})",
                        arch.as_str(),
                        slices.iter().map(|s| &s.arch).collect::<Vec<_>>()
                    ));
                    continue;
                };
                let data = std::fs::read(path).unwrap();
                let binary = callconv::inspect::parse(&data[..], arch)
                    .unwrap_or_else(|e| panic!("{p}: {e}"));
                let mut compare = |what: &str, ours: BTreeSet<String>, theirs: BTreeSet<String>| {
                    if ours != theirs {
                        disagreements.push(format!(
                            "{p} ({}): {what}: only callconv {:?}, only the reference {:?}",
                            arch.as_str(),
                            ours.difference(&theirs).collect::<Vec<_>>(),
                            theirs.difference(&ours).collect::<Vec<_>>()
                        ));
                    }
                };
                compare(
                    "needed",
                    set_of(report.needed.iter().cloned()),
                    set_of(want.needed.iter().cloned()),
                );
                compare(
                    "imports",
                    set_of(binary.imports.iter().map(|i| i.name.clone())),
                    set_of(want.imports.iter().cloned()),
                );
                compare(
                    "exports",
                    set_of(binary.exports.iter().map(|e| e.name.clone())),
                    set_of(want.exports.iter().cloned()),
                );
                // A Python extension module exports its PyInit_ function: a reading that
                // found no exports at all read nothing.
                assert!(
                    want.exports.iter().any(|e| e.contains("PyInit_")),
                    "{p}: the reference found no PyInit_ export"
                );
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with the independent reader:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    refusals.sort();
    refusals.dedup_by(|a, b| a.set == b.set && a.library == b.library && a.rule == b.rule);
    judge("Python wheels", &refusals, &tallies, &sets);
}
