//! The decoder-agreement test: the x86 lifter on capstone and on iced-x86 must lift every
//! instruction of real x86 and x86-64 code alike (same length, mnemonic, registers, effects,
//! flow, feature, named address).
//!
//! The code: the i386 and amd64 NIFs of the precision corpus (Debian trixie) and its x86
//! wheels (Mach-O, PE), the exports corpus's i386 and amd64 libraries of CI's trimmed set
//! (with `EXPORTS_CORPUS=full`, of the full corpus: libcrypto, libxml2 and libc too),
//! and every x86 binary the fixture scripts build under `test/fixtures` (zig, gcc, Rust).
//! Each executable section is swept linearly, and every function start the symbol tables
//! name is swept from too until it falls in step with the linear sweep.
//!
//! A difference is a bug in one of the two decoders or in the iced side's translation into
//! capstone's vocabulary; the test prints each (address, bytes, both liftings) and fails.
//! Classes not settled yet are listed in `test/fixtures/decoder_agreement/known.tsv`
//! (capstone's mnemonic, the differing fields, why), and those met only in the full corpus in
//! `known_full.tsv`: the test fails on a difference of a class not listed, and on a listed
//! class it no longer meets, so the lists only shrink.
//! The caches are fetched by `test/fixtures/precision.sh` and `exports.sh`; a missing cache
//! is said, not failed (the precision and exports tests fail on it already).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use callconv::{Agreement, X86DecoderAgreement};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

/// The exports corpus libraries CI checks (`tests/exports_corpus.rs`, trimmed set).
const TRIMMED: &[&str] = common::EXPORTS_TRIMMED;

fn full_corpus() -> bool {
    std::env::var("EXPORTS_CORPUS").is_ok_and(|v| v == "full")
}

/// The exports corpus libraries compared: the trimmed set, and with `EXPORTS_CORPUS=full`
/// every x86 library of the full corpus (libcrypto's hand-written assembly among them).
fn exports_libraries() -> Vec<&'static str> {
    let mut names = TRIMMED.to_vec();
    if full_corpus() {
        names.extend(common::EXPORTS_LARGE);
    }
    names
}

/// Every regular file under `root` (symlinks not followed, the download cache not entered)
/// that `keep` accepts by name.
fn walk(root: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    out.extend(common::files_under(
        root,
        Some(&fixtures().join("cache")),
        keep,
    ));
}

fn inputs() -> Vec<PathBuf> {
    let f = fixtures();
    let mut out = Vec::new();
    let any = |_: &str| true;
    let libraries = exports_libraries();
    let shared = |n: &str| n.ends_with(".so") || n.ends_with(".pyd") || n.ends_with(".dylib");
    for arch in ["amd64", "i386"] {
        let root = f.join("cache/precision/debian").join(arch);
        if !root.is_dir() {
            eprintln!("no precision cache for {arch} (test/fixtures/precision.sh)");
        }
        walk(&root, &shared, &mut out);
        let root = f.join("cache/exports").join(arch);
        if !root.is_dir() {
            eprintln!("no exports cache for {arch} (test/fixtures/exports.sh)");
        }
        walk(
            &root,
            &|n: &str| libraries.iter().any(|t| n.starts_with(t)),
            &mut out,
        );
    }
    for set in [
        "macos-x86_64",
        "macos-universal2",
        "windows-x86",
        "windows-x64",
    ] {
        walk(
            &f.join("cache/precision/wheels").join(set),
            &shared,
            &mut out,
        );
    }
    walk(&f, &any, &mut out);
    out.sort();
    out
}

/// The x86 slices of a file: (bytes of the slice, 64-bit).
fn slices(data: &[u8]) -> Vec<(&[u8], bool)> {
    let arch_of = |d: &[u8]| match object::File::parse(d).map(|f| f.architecture()) {
        Ok(object::Architecture::X86_64) => Some(true),
        Ok(object::Architecture::I386) => Some(false),
        _ => None,
    };
    if let Ok(fat) = object::read::macho::MachOFatFile32::parse(data) {
        use object::read::macho::FatArch;
        return fat
            .arches()
            .iter()
            .filter_map(|a| a.data(data).ok())
            .filter_map(|d| arch_of(d).map(|w| (d, w)))
            .collect();
    }
    arch_of(data).map(|w| (data, w)).into_iter().collect()
}

struct Tally {
    instructions: u64,
    invalid: u64,
    /// Differences of a class not in the known list.
    differences: Vec<String>,
    /// Known classes met, with how many distinct instructions.
    known_met: BTreeMap<String, usize>,
    known: BTreeSet<String>,
}

/// A difference's class: capstone's mnemonic (`-` when capstone does not decode it) and the
/// differing fields.
fn class(capstone: &str, fields: &[&str]) -> String {
    let mnemonic = capstone
        .split("mnemonic: \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("-");
    format!("{mnemonic}\t{}", fields.join(","))
}

/// The known classes: `known.tsv` (met in CI's run), and with `EXPORTS_CORPUS=full`
/// `known_full.tsv` too (met only in the full corpus's code).
fn known_classes(full: bool) -> BTreeSet<String> {
    let mut out = known_list("known.tsv");
    if full {
        out.extend(known_list("known_full.tsv"));
    }
    out
}

fn known_list(name: &str) -> BTreeSet<String> {
    let path = fixtures().join("decoder_agreement").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test/fixtures/decoder_agreement/{name}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 3, "known.tsv: mnemonic, fields, reason: {l:?}");
            format!("{}\t{}", f[0], f[1])
        })
        .collect()
}

/// Sweeps `code` (at `base`) from `start` until the end, or until it reaches an address in
/// `stop` (when given); returns the addresses of the instructions it compared.
fn sweep(
    both: &X86DecoderAgreement,
    code: &[u8],
    base: u64,
    start: u64,
    stop: Option<&HashSet<u64>>,
    tally: &mut Tally,
    seen: &mut HashSet<Vec<u8>>,
) -> HashSet<u64> {
    let mut at = start;
    let mut done = HashSet::new();
    let end = base + code.len() as u64;
    while at < end {
        if stop.is_some_and(|s| s.contains(&at)) {
            break;
        }
        done.insert(at);
        let off = (at - base) as usize;
        let bytes = &code[off..];
        let head = &bytes[..bytes.len().min(15)];
        match both.compare(bytes, at) {
            Agreement::Same(next) => {
                tally.instructions += 1;
                at = next;
            }
            Agreement::BothInvalid => {
                tally.invalid += 1;
                at += 1;
            }
            Agreement::Differ {
                fields,
                capstone,
                iced,
            } => {
                // One report per distinct instruction (the same bytes at another address
                // differ the same way, but for their address).
                let len = both.lift_capstone(bytes, at).map_or(1, |n| n - at) as usize;
                let class = class(&capstone, &fields);
                if !seen.insert(bytes[..len.min(bytes.len())].to_vec()) {
                } else if tally.known.contains(&class) {
                    *tally.known_met.entry(class).or_default() += 1;
                } else {
                    tally.differences.push(format!(
                        "[{}] 
{at:#x} {:02x?}\n  capstone: {capstone}\n  iced:     {iced}",
                        class.replace('\t', " "),
                        &head[..len.min(head.len())]
                    ));
                }
                at += len as u64;
            }
        }
    }
    done
}

#[test]
fn capstone_and_iced_lift_x86_code_alike() {
    let files = inputs();
    let both64 = X86DecoderAgreement::new(true).expect("capstone");
    let both32 = X86DecoderAgreement::new(false).expect("capstone");
    let mut tally = Tally {
        instructions: 0,
        invalid: 0,
        differences: Vec::new(),
        known_met: BTreeMap::new(),
        known: known_classes(full_corpus()),
    };
    let mut seen_code = HashSet::new();
    let mut seen_diff = HashSet::new();
    let mut checked = BTreeSet::new();
    for path in &files {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        for (slice, wide) in slices(&data) {
            let Ok(file) = object::File::parse(slice) else {
                continue;
            };
            let both = if wide { &both64 } else { &both32 };
            let starts: BTreeSet<u64> = file
                .symbols()
                .chain(file.dynamic_symbols())
                .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
                .map(|s| s.address())
                .collect();
            for section in file.sections() {
                if section.kind() != SectionKind::Text {
                    continue;
                }
                let Ok(code) = section.data() else {
                    continue;
                };
                // The same code in several files (stripped and unstripped builds, the
                // same library in two packages) is compared once.
                let digest: [u8; 32] = Sha256::digest(code).into();
                if !seen_code.insert((digest, section.address(), wide)) {
                    continue;
                }
                checked.insert(path.clone());
                let base = section.address();
                let linear = sweep(both, code, base, base, None, &mut tally, &mut seen_diff);
                for &s in starts.range(base..base + code.len() as u64) {
                    if !linear.contains(&s) {
                        sweep(
                            both,
                            code,
                            base,
                            s,
                            Some(&linear),
                            &mut tally,
                            &mut seen_diff,
                        );
                    }
                }
            }
        }
    }
    eprintln!(
        "decoder agreement: {} files, {} instructions, {} undecodable bytes, {} differences",
        checked.len(),
        tally.instructions,
        tally.invalid,
        tally.differences.len()
    );
    for (class, n) in &tally.known_met {
        eprintln!(
            "known difference: {} ({n} instructions)",
            class.replace('\t', " ")
        );
    }
    let gone: Vec<&String> = tally
        .known
        .iter()
        .filter(|k| !tally.known_met.contains_key(*k))
        .collect();
    assert!(
        gone.is_empty(),
        "known.tsv lists differences no longer met (remove them): {gone:?}"
    );
    assert!(
        tally.instructions > 0,
        "no x86 code found under test/fixtures"
    );
    assert!(
        tally.differences.is_empty(),
        "{} instructions lifted differently by capstone and iced:\n{}",
        tally.differences.len(),
        tally
            .differences
            .iter()
            .take(if std::env::var_os("DECODER_AGREEMENT_ALL").is_some() {
                usize::MAX
            } else {
                200
            })
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
