//! The exports mode over real C libraries of every Debian 12 architecture: every exported
//! function of zlib, SQLite, libffi, OpenSSL (libcrypto, libssl), zstd, xz, libxml2, PCRE2 and
//! glibc (libc, libm), fetched by `test/fixtures/exports.sh` into
//! `test/fixtures/cache/exports/<arch>/`, must fit one of its platform's C conventions.
//!
//! The exceptions are listed in `test/fixtures/exports/allow.tsv`, each with its reason:
//! functions that are not C-ABI by design (`setjmp`, `vfork`, ...), and false errors of a
//! known class the engine does not model yet (i386 PIC stack tracking, loop counts read from a table in
//! hand-written assembly, ...). The test prints every allowed entry it met and the entries it no longer meets, so
//! the list can be cleared as the lifters learn.
//!
//! Ignored by plain `cargo test` (a debug build takes too long over tens of thousands of
//! functions); `script/test` runs it in release:
//! `cargo test --release -p callconv_core --test exports_corpus -- --ignored`.
//! `EXPORTS_CORPUS=full` checks every library of the corpus (about 60,000 functions); the
//! default leaves out libcrypto, libxml2 and libc, the three largest, to stay within CI's
//! budget.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use callconv::check::Analyse;
use callconv::report::{LibraryReport, Mode};
use callconv::target::Target;
use callconv::Options;

const ARCHS: &[&str] = &[
    "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "mipsel", "ppc64el", "s390x",
];
/// The libraries checked by default.
const TRIMMED: &[&str] = common::EXPORTS_TRIMMED;
/// The libraries `EXPORTS_CORPUS=full` adds.
const LARGE: &[&str] = common::EXPORTS_LARGE;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

/// The library files of one architecture whose name starts with one of `names` (the real
/// file, not its symlinks).
fn libraries(root: &Path, names: &[&str]) -> Vec<PathBuf> {
    common::files_under(root, None, &|n: &str| {
        names.iter().any(|p| n.starts_with(p))
    })
}

/// One line of the allow-list: `arch library function class reason` (tab-separated; `*`
/// for any architecture).
struct Allowed {
    arch: String,
    library: String,
    function: String,
    class: String,
}

fn allow_list() -> Vec<Allowed> {
    let text = std::fs::read_to_string(fixtures().join("exports/allow.tsv"))
        .expect("test/fixtures/exports/allow.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 5, "allow.tsv: 5 tab-separated fields: {l:?}");
            Allowed {
                arch: f[0].to_string(),
                library: f[1].to_string(),
                function: f[2].to_string(),
                class: f[3].to_string(),
            }
        })
        .collect()
}

fn short(library: &Path) -> String {
    let name = library
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    // libz.so.1.2.13 -> libz.so.1: the soname, stable across Debian point releases.
    let mut parts = name.splitn(4, '.');
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    match (a, b, c) {
        (Some(a), Some(b), Some(c)) => format!("{a}.{b}.{c}"),
        _ => name,
    }
}

#[derive(Default)]
struct Tally {
    libraries: usize,
    functions: usize,
    errors: usize,
    allowed: usize,
    capped: usize,
    not_analysed: usize,
}

#[test]
#[ignore = "needs test/fixtures/exports.sh's corpus and a release build; script/test runs it"]
fn every_export_of_real_c_libraries_fits_a_c_convention() {
    let cache = fixtures().join("cache/exports");
    let full = std::env::var("EXPORTS_CORPUS").is_ok_and(|v| v == "full");
    let names: Vec<&str> = if full {
        TRIMMED.iter().chain(LARGE).copied().collect()
    } else {
        TRIMMED.to_vec()
    };
    if ARCHS
        .iter()
        .any(|a| libraries(&cache.join(a), &["libz.so"]).is_empty())
    {
        let _ = Command::new("bash")
            .arg(fixtures().join("exports.sh"))
            .status();
    }
    let mut work: Vec<(&str, PathBuf)> = Vec::new();
    for arch in ARCHS {
        let found = libraries(&cache.join(arch), &names);
        if found.is_empty() {
            // In CI (`CI` set) script/test fetched the corpus first: an empty one is a failure.
            assert!(
                std::env::var_os("CI").is_none(),
                "no exports corpus in {} in CI",
                cache.display()
            );
            eprintln!(
                "SKIPPED every_export_of_real_c_libraries_fits_a_c_convention: no corpus in {} \
                 (test/fixtures/exports.sh could not fetch it: no apt or network?)",
                cache.display()
            );
            return;
        }
        work.extend(found.into_iter().map(|p| (*arch, p)));
    }

    // Two workers: CI's machine has two cores. Counted budgets make the results the same
    // whatever the order.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, PathBuf, LibraryReport)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((arch, path)) = work.get(k) else {
                    break;
                };
                let options = Options {
                    analyse: Analyse::Exports,
                    ..Options::new(Target::host())
                };
                let report = callconv::check_path_with(path, &options)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                results
                    .lock()
                    .unwrap()
                    .push((arch.to_string(), path.clone(), report));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));

    let allow = allow_list();
    let mut met: BTreeSet<usize> = BTreeSet::new();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut unexpected: Vec<String> = Vec::new();
    for (arch, path, report) in &results {
        let lib = short(path);
        assert_eq!(report.mode, Some(Mode::Exports), "{lib} ({arch})");
        let summary = report
            .exports
            .as_ref()
            .unwrap_or_else(|| panic!("{lib} ({arch}): no exports summary"));
        // The exports mode runs no NIF check: a plain library gets no NIF finding.
        for f in &report.findings {
            assert!(
                !f.rule.starts_with("nif-") && f.rule != "not-a-nif",
                "{lib} ({arch}): NIF finding {} in exports mode",
                f.rule
            );
        }
        assert!(report.nif.is_none(), "{lib} ({arch})");
        assert!(summary.analysed > 0, "{lib} ({arch}): nothing analysed");
        let t = tally.entry(arch.clone()).or_default();
        t.libraries += 1;
        t.functions += summary.analysed;
        t.capped += summary.capped;
        t.not_analysed += summary.not_analysed;
        let mut seen_here: BTreeSet<u64> = BTreeSet::new();
        for f in &report.functions {
            let matches = f.matches.as_ref().expect("exports mode sets matches");
            if !matches.is_empty() || !seen_here.insert(f.address) {
                continue;
            }
            t.errors += 1;
            let hit = allow.iter().position(|a| {
                (a.arch == "*" || a.arch == *arch) && a.library == lib && a.function == f.name
            });
            match hit {
                Some(k) => {
                    t.allowed += 1;
                    met.insert(k);
                }
                None => unexpected.push(format!(
                    "{arch}\t{lib}\t{}\t{:?}",
                    f.name,
                    report
                        .findings
                        .iter()
                        .find(|x| x.rule == "export-no-convention"
                            && x.message.contains(&format!("function {} at", f.name)))
                        .map(|x| x.message.as_str())
                        .unwrap_or("")
                )),
            }
        }
    }

    println!(
        "exports corpus ({}):",
        if full { "full" } else { "trimmed" }
    );
    println!("arch       libraries  functions  errors  allowed  capped  not analysed");
    let mut total = Tally::default();
    for (arch, t) in &tally {
        println!(
            "{arch:<10} {:>9}  {:>9}  {:>6}  {:>7}  {:>6}  {:>12}",
            t.libraries, t.functions, t.errors, t.allowed, t.capped, t.not_analysed
        );
        total.libraries += t.libraries;
        total.functions += t.functions;
        total.errors += t.errors;
        total.allowed += t.allowed;
        total.capped += t.capped;
        total.not_analysed += t.not_analysed;
    }
    println!(
        "{:<10} {:>9}  {:>9}  {:>6}  {:>7}  {:>6}  {:>12}",
        "all",
        total.libraries,
        total.functions,
        total.errors,
        total.allowed,
        total.capped,
        total.not_analysed
    );
    // Entries of the libraries checked that no function met: the lifters learnt, and the
    // list must shrink with them.
    let scope: BTreeSet<&str> = names.iter().copied().collect();
    let stale: Vec<&Allowed> = allow
        .iter()
        .enumerate()
        .filter(|(k, a)| !met.contains(k) && scope.contains(a.library.as_str()))
        .map(|(_, a)| a)
        .collect();
    if !stale.is_empty() {
        println!(
            "STALE: {} allow-list entries no longer met; clear them from test/fixtures/exports/allow.tsv:",
            stale.len()
        );
    }
    for a in &stale {
        println!(
            "allow-list entry no longer met (clear it): {}\t{}\t{}\t{}",
            a.arch, a.library, a.function, a.class
        );
    }
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &allow {
        *by_class.entry(a.class.as_str()).or_default() += 1;
    }
    println!("allow-list entries by class: {by_class:?}");
    for (k, a) in allow.iter().enumerate() {
        if met.contains(&k) {
            println!(
                "allowed: {}\t{}\t{}\t{}",
                a.arch, a.library, a.function, a.class
            );
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} exported function(s) fit no C convention and are not in test/fixtures/exports/allow.tsv:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    // The corpus is what it claims: every architecture, and (full) at least 50,000 functions.
    assert_eq!(tally.len(), ARCHS.len());
    let floor = if full { 50_000 } else { 10_000 };
    assert!(
        total.functions >= floor,
        "only {} functions analysed",
        total.functions
    );
}
