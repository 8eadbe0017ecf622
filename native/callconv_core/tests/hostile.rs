//! Hostile input: real libraries cut, flipped and patched into every shape a broken build, a
//! bad copy or an attacker could produce, plus hostile files (huge, sparse, special,
//! shrinking, unreadable, strangely named). Each case must come back as a report or a clear
//! error within the core's counted budgets and a memory budget, and nothing may panic.
//!
//! The inputs the fuzzers found live in `tests/regressions/` and are replayed here; see
//! `native/fuzz/run.sh`.
//!
//! Over 800 lines on purpose: one file per hostile-input suite keeps the shared guard (child
//! process, hang and memory limits) next to every group it runs.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callconv::memory::{Image, Segment};
use callconv::report::{Arch, LibraryReport};
use callconv::Error;
use common::{host_fixture, otp25, otp_nif, repo};
use object::{Object, ObjectSymbol};

/// How long one check may go without finishing before it counts as a hang. Not a speed
/// test: the work of a check is bounded by the core's counted budgets, which [`sane`]
/// asserts; this only turns a hang into a failure that names the input, however loaded the
/// machine is.
const HANG_AFTER: Duration = Duration::from_secs(120);
/// Most the peak resident set may grow during one group of checks.
const MEMORY_BUDGET_KB: u64 = 256 * 1024;

/// Measured groups run one at a time, so peak memory can be attributed to them.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `body` in a child copy of this test binary (the test named `test`), so that an
/// abort (a panic that cannot unwind, an allocation failure, a stack overflow) fails this
/// one test with its message instead of killing every test in the binary. The same would
/// kill the BEAM.
fn isolated(test: &str, body: impl FnOnce()) {
    if std::env::var("CALLCONV_HOSTILE_CHILD").as_deref() == Ok(test) {
        body();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("CALLCONV_HOSTILE_CHILD", test)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} failed in its child process ({}):\n{}",
        out.status,
        stderr
            .lines()
            .filter(|l| !l.trim_start().starts_with("at ") && !l.contains("note: "))
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callconv-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `check` on every input in a worker thread, making the inputs one at a time. An
/// input that does not finish within [`HANG_AFTER`] fails the test naming it (and is saved
/// for replay), and the whole group within [`MEMORY_BUDGET_KB`] of peak
/// growth. Returns how many inputs ran.
fn guarded<It, F>(group: &str, inputs: It, check: F) -> usize
where
    It: IntoIterator<Item = (String, Vec<u8>)>,
    It::IntoIter: Send + 'static,
    F: Fn(&[u8]) + Send + 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Writing 5 resets the peak resident set (VmHWM) to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_kb("VmRSS:");
    let (tx, rx) = mpsc::channel::<(String, bool)>();
    let saved: Arc<Mutex<Vec<u8>>> = Arc::default();
    let current = Arc::clone(&saved);
    let inputs = inputs.into_iter();
    std::thread::spawn(move || {
        for (name, input) in inputs {
            current.lock().unwrap().clone_from(&input);
            if tx.send((name.clone(), false)).is_err() {
                return;
            }
            check(&input);
            if tx.send((name, true)).is_err() {
                return;
            }
        }
    });
    let mut count = 0;
    let mut running = String::new();
    loop {
        match rx.recv_timeout(HANG_AFTER) {
            Ok((name, false)) => running = name,
            Ok((_, true)) => count += 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let keep = tmp(&format!("hang-{group}-{count}"));
                let _ = std::fs::write(&keep, &*saved.lock().unwrap());
                panic!(
                    "{group}: {running} did not finish within {:?} (input saved to {})",
                    HANG_AFTER,
                    keep.display()
                );
            }
            // The worker is gone: finished, or panicked (the child process reports which).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let grew = status_kb("VmHWM:").saturating_sub(base);
    assert!(
        grew < MEMORY_BUDGET_KB,
        "{group}: peak memory grew by {grew} kB, over the {MEMORY_BUDGET_KB} kB budget"
    );
    count
}

/// The full in-memory check: a report or an error, never a panic.
fn check_any(bytes: &[u8]) {
    match callconv::check_bytes(bytes, "hostile.so", &otp25()) {
        Ok(report) => sane(&report),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// What any report must satisfy, however broken its input.
fn sane(report: &LibraryReport) {
    assert_eq!(report.sha256.len(), 64);
    // The work done is bounded by counts, whatever the input.
    for f in &report.functions {
        assert!(
            f.instructions <= callconv::analysis::MAX_FUNCTION_INSNS,
            "{}",
            f.name
        );
    }
    if let Some(isa) = &report.isa {
        assert!(isa.instructions <= callconv::analysis::MAX_LIBRARY_INSNS);
    }
    if let Some(nif) = &report.nif {
        assert!(nif.functions.len() <= callconv::entry::MAX_FUNCTIONS);
        assert!(nif.module.len() <= callconv::memory::MAX_STRING);
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |name: String, path: PathBuf| {
        if let Ok(bytes) = std::fs::read(&path) {
            out.push((name, bytes));
        }
    };
    add("host/hello_nif.so".into(), host_fixture("hello_nif.so"));
    add("otp/crypto.so".into(), otp_nif("crypto-", "crypto.so"));
    // Whatever cross fixtures are committed: every format and a spread of architectures.
    for rel in [
        "aarch64-linux-gnu/hello_nif.so",
        "arm-linux-gnueabihf/hello_nif.so",
        "riscv64-linux-gnu/hello_nif.so",
        "x86-linux-gnu/hello_nif.so",
        "powerpc64-linux-gnu/hello_nif.so",
        "mips-linux-gnu/hello_nif.so",
        "aarch64-macos/hello_nif.so",
        "x86_64-macos/hello_nif.so",
        "aarch64-macos-chained/hello_nif.so",
        "x86_64-macos-chained/hello_nif.so",
        "universal-macos/hello_nif.so",
        "x86_64-windows-gnu/hello_nif.dll",
        "aarch64-windows-gnu/hello_nif.dll",
    ] {
        add(rel.into(), repo().join("test/fixtures/cross").join(rel));
    }
    out
}

// ---------------------------------------------------------------------------------------
// A small ELF64 little-endian patcher for the host fixture.

fn u16_at(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes(b[at..at + 2].try_into().unwrap()))
}
fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offsets of the program headers.
fn program_headers(b: &[u8]) -> Vec<usize> {
    let phoff = u64_at(b, 0x20) as usize;
    let phnum = u16_at(b, 0x38) as usize;
    (0..phnum).map(|i| phoff + i * 56).collect()
}

fn offset_of(b: &[u8], vaddr: u64) -> usize {
    for ph in program_headers(b) {
        let (p_type, off, va, filesz) = (
            u32_at(b, ph),
            u64_at(b, ph + 8),
            u64_at(b, ph + 16),
            u64_at(b, ph + 32),
        );
        if p_type == 1 && vaddr >= va && vaddr < va + filesz {
            return (off + vaddr - va) as usize;
        }
    }
    panic!("{vaddr:#x} is not in the file")
}

struct Host {
    bytes: Vec<u8>,
    /// File offset of `nif_init`'s code.
    init: usize,
    /// Virtual address of `nif_init`.
    init_addr: u64,
    /// Virtual address of the static `ErlNifEntry`.
    entry: u64,
    /// File offsets of the `Elf64_Rela` records of `DT_RELA`.
    relas: Vec<usize>,
    /// File offsets of the `Elf64_Dyn` records.
    dynamic: Vec<usize>,
}

/// The x86-64 hello fixture, with the places a patch needs.
fn host() -> Host {
    let bytes = std::fs::read(host_fixture("hello_nif.so")).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let init_addr = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok("nif_init"))
        .expect("nif_init")
        .address();
    let init = offset_of(&bytes, init_addr);
    // gcc -O2: lea entry(%rip),%rax; ret.
    assert_eq!(
        &bytes[init..init + 3],
        &[0x48, 0x8d, 0x05],
        "nif_init is a lea"
    );
    let disp = i32::from_le_bytes(bytes[init + 3..init + 7].try_into().unwrap());
    let entry = (init_addr + 7).wrapping_add_signed(i64::from(disp));
    let dyn_ph = program_headers(&bytes)
        .into_iter()
        .find(|&ph| u32_at(&bytes, ph) == 2)
        .expect("PT_DYNAMIC");
    let dyn_off = u64_at(&bytes, dyn_ph + 8) as usize;
    let dyn_size = u64_at(&bytes, dyn_ph + 32) as usize;
    let dynamic: Vec<usize> = (dyn_off..dyn_off + dyn_size).step_by(16).collect();
    let tag = |t: u64| {
        dynamic
            .iter()
            .find(|&&d| u64_at(&bytes, d) == t)
            .map(|&d| u64_at(&bytes, d + 8))
    };
    let rela = offset_of(&bytes, tag(7).expect("DT_RELA"));
    let relasz = tag(8).expect("DT_RELASZ") as usize;
    let relas = (rela..rela + relasz).step_by(24).collect();
    Host {
        bytes,
        init,
        init_addr,
        entry,
        relas,
        dynamic,
    }
}

impl Host {
    fn with(&self, patch: impl FnOnce(&mut Vec<u8>, &Host)) -> Vec<u8> {
        let mut b = self.bytes.clone();
        patch(&mut b, self);
        b
    }

    /// Points `nif_init`'s `lea` at `target`.
    fn entry_at(&self, target: u64) -> Vec<u8> {
        self.with(|b, h| {
            let disp = target.wrapping_sub(h.init_addr + 7) as i64;
            put_u32(b, h.init + 3, disp as i32 as u32);
        })
    }

    /// The relocation whose `r_offset` is `addr`.
    fn rela_for(&self, addr: u64) -> Option<usize> {
        self.relas
            .iter()
            .copied()
            .find(|&r| u64_at(&self.bytes, r) == addr)
    }
}

fn report_of(bytes: &[u8]) -> Result<LibraryReport, Error> {
    callconv::check_bytes(bytes, "patched.so", &otp25())
}

fn rules(report: &LibraryReport) -> Vec<String> {
    report.findings.iter().map(|f| f.rule.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Mutated real binaries.

#[test]
fn truncations_of_every_format() {
    isolated("truncations_of_every_format", || {
        let inputs = fixtures().into_iter().flat_map(|(name, full)| {
            let len = full.len();
            let mut cuts: Vec<usize> = (1..128).collect();
            cuts.extend((128..len).step_by((len / 150).max(1)));
            cuts.extend([len / 2, len - 1]);
            cuts.into_iter()
                .map(move |cut| (format!("{name} cut at {cut}"), full[..cut].to_vec()))
        });
        let ran = guarded("truncations", inputs, check_any);
        assert!(ran > 1000, "{ran}");
    });
}

#[test]
fn bit_flips_in_headers() {
    isolated("bit_flips_in_headers", || {
        // The small fixtures of every format (crypto.so's code analysis is too slow in a
        // debug build for thousands of variants; the fuzzers cover it).
        let small = fixtures().into_iter().filter(|(_, b)| b.len() < 128 * 1024);
        let inputs = small.flat_map(|(name, full)| {
            // Three bits of each of the first 128 bytes (the file header), then of one byte in
            // thirteen up to 4 KiB (program headers, load commands, PE section table).
            let mut at: Vec<usize> = (0..128.min(full.len())).collect();
            at.extend((128..4096.min(full.len())).step_by(13));
            at.into_iter()
                .flat_map(|i| [0, 3, 7].map(move |bit| (i, bit)))
                .map(move |(i, bit)| {
                    let mut b = full.clone();
                    b[i] ^= 1 << bit;
                    (format!("{name} byte {i} bit {bit}"), b)
                })
        });
        let ran = guarded("bit-flips", inputs, check_any);
        assert!(ran > 3_000, "{ran}");
    });
}

#[test]
fn absurd_counts_and_offsets() {
    isolated("absurd_counts_and_offsets", || {
        let h = host();
        let ph0 = program_headers(&h.bytes)[0];
        let load = program_headers(&h.bytes)
            .into_iter()
            .filter(|&ph| u32_at(&h.bytes, ph) == 1)
            .collect::<Vec<_>>();
        let len = h.bytes.len() as u64;
        let cases: Vec<(String, Vec<u8>)> = vec![
            (
                "e_phnum 0xffff".into(),
                h.with(|b, _| put_u16(b, 0x38, 0xffff)),
            ),
            (
                "e_phoff past the end".into(),
                h.with(|b, _| put_u64(b, 0x20, u64::MAX - 8)),
            ),
            (
                "e_phoff at the last byte".into(),
                h.with(|b, _| put_u64(b, 0x20, len - 1)),
            ),
            (
                "e_shnum 0xffff".into(),
                h.with(|b, _| put_u16(b, 0x3c, 0xffff)),
            ),
            (
                "e_shoff u64::MAX".into(),
                h.with(|b, _| put_u64(b, 0x28, u64::MAX)),
            ),
            (
                "e_shstrndx out of range".into(),
                h.with(|b, _| put_u16(b, 0x3e, 0xfffe)),
            ),
            ("e_phentsize 1".into(), h.with(|b, _| put_u16(b, 0x36, 1))),
            (
                "p_memsz u64::MAX".into(),
                h.with(|b, _| {
                    for &ph in &load {
                        put_u64(b, ph + 40, u64::MAX);
                    }
                }),
            ),
            (
                "p_vaddr at the top of memory".into(),
                h.with(|b, _| {
                    for &ph in &load {
                        put_u64(b, ph + 16, u64::MAX - 0x10);
                    }
                }),
            ),
            (
                "p_filesz past the end".into(),
                h.with(|b, _| put_u64(b, load[1] + 32, len * 1000)),
            ),
            (
                "p_offset u64::MAX".into(),
                h.with(|b, _| put_u64(b, load[1] + 8, u64::MAX)),
            ),
            (
                "p_type of the first header dynamic".into(),
                h.with(|b, _| put_u32(b, ph0, 2)),
            ),
            (
                "DT_RELASZ u64::MAX".into(),
                h.with(|b, h| {
                    for &d in &h.dynamic {
                        if u64_at(b, d) == 8 {
                            put_u64(b, d + 8, u64::MAX);
                        }
                    }
                }),
            ),
            (
                "DT_RELA u64::MAX".into(),
                h.with(|b, h| {
                    for &d in &h.dynamic {
                        if u64_at(b, d) == 7 {
                            put_u64(b, d + 8, u64::MAX - 1);
                        }
                    }
                }),
            ),
            (
                "every dynamic tag DT_RELR".into(),
                h.with(|b, h| {
                    for (i, &d) in h.dynamic.iter().enumerate() {
                        put_u64(b, d, if i % 2 == 0 { 36 } else { 35 });
                        put_u64(b, d + 8, if i % 2 == 0 { 0 } else { u64::MAX });
                    }
                }),
            ),
            (
                "num_of_funcs i32::MAX".into(),
                h.with(|b, h| {
                    let at = offset_of(b, h.entry + 16);
                    put_u32(b, at, i32::MAX as u32)
                }),
            ),
            (
                "num_of_funcs negative".into(),
                h.with(|b, h| {
                    let at = offset_of(b, h.entry + 16);
                    put_u32(b, at, (-5i32) as u32)
                }),
            ),
            (
                "major and minor u32::MAX".into(),
                h.with(|b, h| {
                    let at = offset_of(b, h.entry);
                    put_u64(b, at, u64::MAX)
                }),
            ),
            (
                "symbol index of every relocation absurd".into(),
                h.with(|b, h| {
                    for &r in &h.relas {
                        put_u64(b, r + 8, (0xffff_fff0 << 32) | 1);
                    }
                }),
            ),
        ];
        guarded("absurd", cases, check_any);
    });
}

#[test]
fn overlapping_segments() {
    isolated("overlapping_segments", || {
        let h = host();
        let load: Vec<usize> = program_headers(&h.bytes)
            .into_iter()
            .filter(|&ph| u32_at(&h.bytes, ph) == 1)
            .collect();
        let cases: Vec<(String, Vec<u8>)> = vec![
            (
                "every segment at vaddr 0".into(),
                h.with(|b, _| {
                    for &ph in &load {
                        put_u64(b, ph + 16, 0);
                    }
                }),
            ),
            (
                "every segment mapping the whole address range".into(),
                h.with(|b, _| {
                    for &ph in &load {
                        put_u64(b, ph + 16, 0);
                        put_u64(b, ph + 40, 1 << 40);
                    }
                }),
            ),
            (
                "the data segment mapped over the code".into(),
                h.with(|b, _| {
                    let code_vaddr = u64_at(b, load[1] + 16);
                    put_u64(b, load[3] + 16, code_vaddr);
                }),
            ),
        ];
        // A layout the loader would reject is still reported, not trusted into a crash.
        guarded("overlap", cases, check_any);
    });
}

#[test]
fn relocation_loops() {
    isolated("relocation_loops", || {
        let h = host();
        let name_reloc = h
            .rela_for(h.entry + 8)
            .expect("a relocation for the entry's name");
        let funcs_reloc = h
            .rela_for(h.entry + 24)
            .expect("a relocation for the table");
        let cases: Vec<(String, Vec<u8>)> = vec![
            // The name pointer points at itself: a "string" made of its own address.
            (
                "name pointer to itself".into(),
                h.with(|b, h| put_u64(b, name_reloc + 16, h.entry + 8)),
            ),
            // The function table is the entry itself, so each "function" is a piece of it.
            (
                "table pointer to the entry".into(),
                h.with(|b, h| put_u64(b, funcs_reloc + 16, h.entry)),
            ),
            // Every relocation rewrites the same word, with a value pointing at that word.
            (
                "every relocation on one word".into(),
                h.with(|b, h| {
                    for &r in &h.relas {
                        put_u64(b, r, h.entry + 8);
                        put_u64(b, r + 8, 8);
                        put_u64(b, r + 16, h.entry + 8);
                    }
                }),
            ),
            // Relocations that rewrite the relocation table itself.
            (
                "relocations targeting the relocation table".into(),
                h.with(|b, h| {
                    let table = h.relas[0] as u64; // file offset == vaddr in the first segment
                    for (i, &r) in h.relas.iter().enumerate() {
                        put_u64(b, r, table + 24 * i as u64);
                        put_u64(b, r + 16, table);
                    }
                }),
            ),
        ];
        guarded("relocation-loops", cases, check_any);
    });
}

#[test]
fn entry_pointers_into_unmapped_memory() {
    isolated("entry_pointers_into_unmapped_memory", || {
        let h = host();
        let end = program_headers(&h.bytes)
            .into_iter()
            .filter(|&ph| u32_at(&h.bytes, ph) == 1)
            .map(|ph| u64_at(&h.bytes, ph + 16) + u64_at(&h.bytes, ph + 40))
            .max()
            .unwrap();
        for (what, target) in [
            ("past the last segment", end + 0x1000),
            ("2 GiB away", h.init_addr.wrapping_add(0x7fff_0000)),
            ("at address 0 minus", h.init_addr.wrapping_sub(0x7fff_0000)),
            ("straddling the end of the data segment", end - 4),
        ] {
            let report = report_of(&h.entry_at(target)).expect("still a report");
            assert!(
                rules(&report).contains(&"nif-entry-unreadable".to_string()),
                "entry {what}: {:?}",
                report.findings
            );
        }
    });
}

#[test]
fn cyclic_and_wild_nif_init() {
    isolated("cyclic_and_wild_nif_init", || {
        let h = host();
        let code = |bytes: &'static [u8]| {
            h.with(move |b, h| b[h.init..h.init + bytes.len()].copy_from_slice(bytes))
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("jmp $", code(&[0xeb, 0xfe])),
            ("two jumps back and forth", code(&[0xeb, 0x00, 0xeb, 0xfc])),
            (
                "call $ (unbounded recursion)",
                code(&[0xe8, 0xfb, 0xff, 0xff, 0xff]),
            ),
            ("jmp *%rax with rax unknown", code(&[0xff, 0xe0])),
            ("ret with nothing in rax", code(&[0xc3])),
            ("invalid opcode", code(&[0x0f, 0x0b, 0x06, 0x07])),
            (
                "push/pop storm",
                code(&[0x50, 0x58, 0x50, 0x58, 0xeb, 0xfa]),
            ),
            ("int3 sled", code(&[0xcc; 8])),
            // Falls off the end of the code segment.
            ("nops to the end", {
                let mut b = h.bytes.clone();
                let seg_end = program_headers(&b)
                    .into_iter()
                    .filter(|&ph| u32_at(&b, ph) == 1 && u32_at(&b, ph + 4) & 1 == 1)
                    .map(|ph| (u64_at(&b, ph + 8) + u64_at(&b, ph + 32)) as usize)
                    .next()
                    .unwrap();
                b[h.init..seg_end].fill(0x90);
                b
            }),
        ];
        for (what, bytes) in cases {
            let report = report_of(&bytes).expect("still a report");
            sane(&report);
            assert!(
                rules(&report).contains(&"nif-entry-unreadable".to_string()),
                "{what}: {:?}",
                report.findings
            );
        }
    });
}

// ---------------------------------------------------------------------------------------
// Mach-O chained fixups: the payload of LC_DYLD_CHAINED_FIXUPS and the chains themselves.

/// The file offsets of a chained-fixups library's payload (`dyld_chained_fixups_header`),
/// of each `dyld_chained_starts_in_segment`, and of each chain entry.
fn chained_layout(bytes: &[u8]) -> (usize, Vec<usize>, Vec<usize>) {
    use object::read::macho::MachOFile64;
    let file = MachOFile64::<object::Endianness, _>::parse(bytes).unwrap();
    let endian = file.endian();
    let segments: Vec<u64> = file
        .segments()
        .map(|s| object::ObjectSegment::file_range(&s).0)
        .collect();
    let mut commands = file.macho_load_commands().unwrap();
    while let Some(command) = commands.next().unwrap() {
        let Some(linkedit) = command.dyld_chained_fixups().unwrap() else {
            continue;
        };
        let payload = linkedit.dataoff.get(endian) as usize;
        let chained = linkedit.chained_fixups(endian, bytes).unwrap();
        let mut starts = Vec::new();
        let mut entries = Vec::new();
        for segment in chained.segments(endian).unwrap() {
            let segment = segment.unwrap();
            let header = segment.header();
            starts.push(std::ptr::from_ref(header) as usize - bytes.as_ptr() as usize);
            let data = segments[segment.index() as usize];
            for fixup in segment.fixups(endian, 0, &bytes[data as usize..]) {
                entries.push(data as usize + fixup.unwrap().0 as usize);
            }
        }
        return (payload, starts, entries);
    }
    panic!("no LC_DYLD_CHAINED_FIXUPS");
}

#[test]
fn broken_chained_fixups() {
    isolated("broken_chained_fixups", || {
        let path = repo().join("test/fixtures/cross/aarch64-macos-chained/hello_nif.so");
        let original = std::fs::read(path).unwrap();
        let (payload, starts, entries) = chained_layout(&original);
        assert!(!starts.is_empty() && entries.len() > 10);
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = original.clone();
            f(&mut b);
            b
        };
        let every_start = |f: &dyn Fn(&mut Vec<u8>, usize)| {
            with(&|b| {
                for &at in &starts {
                    f(b, at);
                }
            })
        };
        let every_entry = |f: &dyn Fn(u64) -> u64| {
            with(&|b| {
                for &at in &entries {
                    let v = f(u64_at(b, at));
                    put_u64(b, at, v);
                }
            })
        };
        let starts_offset = payload + u32_at(&original, payload + 4) as usize;
        let cases: Vec<(String, Vec<u8>)> = vec![
            ("fixups_version 1".into(), with(&|b| put_u32(b, payload, 1))),
            (
                "starts_offset past the payload".into(),
                with(&|b| put_u32(b, payload + 4, u32::MAX - 3)),
            ),
            (
                "imports_offset past the payload".into(),
                with(&|b| put_u32(b, payload + 8, u32::MAX - 3)),
            ),
            (
                "symbols_offset past the payload".into(),
                with(&|b| put_u32(b, payload + 12, u32::MAX - 3)),
            ),
            (
                "imports_count u32::MAX".into(),
                with(&|b| put_u32(b, payload + 16, u32::MAX)),
            ),
            (
                "imports_count just under the cap".into(),
                with(&|b| {
                    put_u32(
                        b,
                        payload + 16,
                        callconv::inspect::macho::MAX_CHAINED_IMPORTS,
                    )
                }),
            ),
            (
                "an unknown imports_format".into(),
                with(&|b| put_u32(b, payload + 20, 99)),
            ),
            (
                "compressed symbols".into(),
                with(&|b| put_u32(b, payload + 24, 1)),
            ),
            (
                "seg_count u32::MAX".into(),
                with(&|b| put_u32(b, starts_offset, u32::MAX)),
            ),
            (
                "page_count 0xffff".into(),
                every_start(&|b, at| put_u16(b, at + 20, 0xffff)),
            ),
            (
                "page_size 0: every page starts at the first".into(),
                every_start(&|b, at| put_u16(b, at + 4, 0)),
            ),
            (
                "an unknown pointer format".into(),
                every_start(&|b, at| put_u16(b, at + 6, 0xffff)),
            ),
            (
                "the starts size smaller than the header".into(),
                every_start(&|b, at| put_u32(b, at, 1)),
            ),
            (
                "a page start past the page".into(),
                every_start(&|b, at| put_u16(b, at + 22, 0x7ff8)),
            ),
            (
                "every entry points on by the most".into(),
                every_entry(&|v| v | (0xfff << 51)),
            ),
            (
                "every entry points on by one stride".into(),
                every_entry(&|v| (v & !(0xfff << 51)) | (1 << 51)),
            ),
            (
                "every entry a bind of the last ordinal".into(),
                every_entry(&|v| (v & (0xfff << 51)) | (1 << 63) | 0xff_ffff),
            ),
            (
                "every entry a bind with the largest addend".into(),
                every_entry(&|v| (v & (0xfff << 51)) | (1 << 63) | (0xff << 24)),
            ),
            (
                "every entry a rebase to the top of the address space".into(),
                every_entry(&|v| (v & (0xfff << 51)) | 0xff_ffff_ffff_ffff & !(0xfff << 51)),
            ),
        ];
        // A table or chain dyld would refuse is an error naming the fixups; the rest only
        // make entries that are wrong but well formed.
        let well_formed = [
            "page_size 0: every page starts at the first",
            "every entry points on by one stride",
            "every entry a bind with the largest addend",
            "every entry a rebase to the top of the address space",
        ];
        for (name, bytes) in &cases {
            let result = callconv::check_bytes(bytes, "chained.so", &otp25());
            match result {
                Err(e) if !well_formed.contains(&name.as_str()) => {
                    assert!(
                        e.to_string().contains("fixups cannot be read"),
                        "{name}: {e}"
                    )
                }
                Ok(_) if well_formed.contains(&name.as_str()) => {}
                other => panic!("{name}: {:?}", other.map(|r| r.verdict)),
            }
        }
        let ran = guarded("chained-fixups", cases, check_any);
        assert_eq!(ran, 19);
    });
}

// ---------------------------------------------------------------------------------------
// Inputs the fuzzers found (native/fuzz/run.sh), replayed.

fn regression_files(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(sub);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn fuzzer_regressions_check_bytes() {
    isolated("fuzzer_regressions_check_bytes", || {
        let inputs = regression_files("check_bytes");
        assert!(!inputs.is_empty(), "the committed regressions are present");
        guarded("regressions", inputs, check_any);
    });
}

/// The `locate_code` fuzz target's harness (shared with it).
fn locate_code(data: &[u8]) {
    callconv::entry::locate::follow_raw_code(data);
}

/// Some of these abort the process (a panic that cannot unwind), which no thread can
/// contain: each runs in a child copy of this test binary, and an abort fails this test.
#[test]
fn fuzzer_regressions_locate_code() {
    let inputs = regression_files("locate_code");
    assert!(!inputs.is_empty(), "the committed regressions are present");
    let exe = std::env::current_exe().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/locate_code");
    let mut failed = Vec::new();
    for (name, _) in inputs {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "replay_one_locate_code",
                "--ignored",
                "--nocapture",
            ])
            .env("CALLCONV_REPLAY", dir.join(&name))
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .find(|l| l.contains("panicked") || l.contains("unsafe precondition"))
                .unwrap_or("no message")
                .to_string();
            failed.push(format!("{name}: {} ({why})", out.status));
        }
    }
    assert!(failed.is_empty(), "replays failed:\n{}", failed.join("\n"));
}

#[test]
#[ignore = "run by fuzzer_regressions_locate_code in a child process"]
fn replay_one_locate_code() {
    if let Some(path) = std::env::var_os("CALLCONV_REPLAY") {
        locate_code(&std::fs::read(path).unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// Hostile files.

fn path_error(path: &Path) -> Error {
    callconv::check_path(path, &otp25()).expect_err("must be refused")
}

#[test]
fn a_one_tebibyte_sparse_file_is_refused_at_once() {
    let p = tmp("huge.so");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    let err = path_error(&p);
    assert_eq!(err.reason(), "too-large", "{err}");
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn a_sparse_file_just_under_the_limit_is_not_hashed_whole_before_it_is_refused() {
    // 4 GiB of zeros: not a library at all. Refusing it must not cost reading 4 GiB first.
    let p = tmp("sparse-zeros.so");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(callconv::source::MAX_FILE_SIZE).unwrap();
    drop(f);
    let err = path_error(&p);
    assert_eq!(err.reason(), "unknown-format", "{err}");
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn special_files() {
    for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
        assert_eq!(path_error(Path::new(dev)).reason(), "not-regular", "{dev}");
    }
    let fifo = tmp("fifo.so");
    let _ = std::fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_eq!(path_error(&fifo).reason(), "not-regular");
    assert_eq!(path_error(&std::env::temp_dir()).reason(), "not-regular");
}

#[test]
fn a_symlink_loop() {
    let a = tmp("loop-a.so");
    let b = tmp("loop-b.so");
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let err = path_error(&a);
    assert_eq!(err.reason(), "io", "{err}");
    assert!(err.to_string().contains("symbolic links"), "{err}");
}

#[test]
fn very_long_paths() {
    // Near PATH_MAX (4096) through real directories, then beyond it, then one over-long name.
    let mut deep = tmp("deep");
    let _ = std::fs::remove_dir_all(&deep);
    while deep.as_os_str().len() < 3900 {
        deep.push("d".repeat(200));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let near = deep.join("libx.so");
    std::fs::copy(host_fixture("hello_nif.so"), &near).unwrap();
    assert!(near.as_os_str().len() > 3900);
    let report = callconv::check_path(&near, &otp25()).expect("a path under PATH_MAX works");
    sane(&report);
    assert_eq!(report.path, near.to_string_lossy());

    let beyond = deep
        .join("e".repeat(200))
        .join("f".repeat(200))
        .join("libx.so");
    assert!(beyond.as_os_str().len() > 4096);
    let err = path_error(&beyond);
    assert!(matches!(err.reason(), "io" | "not-found"), "{err}");

    let long_name = tmp(&"n".repeat(300));
    let err = path_error(&long_name);
    assert!(matches!(err.reason(), "io" | "not-found"), "{err}");
    let _ = std::fs::remove_dir_all(tmp("deep"));
}

#[test]
fn non_utf8_paths() {
    let dir = tmp("");
    let mut name = b"lib\xff\xfe\x80nif".to_vec();
    name.extend_from_slice(b".so");
    let p = dir.join(OsStr::from_bytes(&name));
    std::fs::copy(host_fixture("hello_nif.so"), &p).unwrap();
    let report = callconv::check_path(&p, &otp25()).expect("checked");
    assert_eq!(report.verdict, callconv::report::Verdict::Pass);
    // The report's path is lossy text; the error's path keeps the bytes.
    assert!(report.path.contains('\u{fffd}'));
    let missing = dir.join(OsStr::from_bytes(b"\xc3\x28missing.so"));
    let err = path_error(&missing);
    assert_eq!(err.reason(), "not-found");
    assert_eq!(err.path(), missing.as_path());
}

#[test]
fn a_file_that_shrinks_and_grows_while_it_is_read() {
    isolated("a_file_that_shrinks_and_grows_while_it_is_read", || {
        let full = std::fs::read(otp_nif("crypto-", "crypto.so")).unwrap();
        let p = tmp("shrinking.so");
        std::fs::write(&p, &full).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let churn = {
            let (stop, cuts, p, full) = (
                Arc::clone(&stop),
                Arc::clone(&cuts),
                p.clone(),
                full.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // Cut in place (same inode), then write it back whole.
                    if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
                        let _ = f.set_len((i * 7919 % full.len()) as u64);
                    }
                    std::thread::yield_now();
                    let _ = std::fs::write(&p, &full);
                    i += 1;
                    cuts.store(i, Ordering::Relaxed);
                }
                i
            })
        };
        // Counted, not timed: checks go on until at least MIN_CUTS cuts and MIN_CHECKS
        // checks have overlapped, however slow or loaded the machine.
        const MIN_CUTS: usize = 20;
        const MIN_CHECKS: usize = 50;
        let mut outcomes = std::collections::BTreeMap::new();
        let mut checks = 0;
        while checks < MIN_CHECKS || cuts.load(Ordering::Relaxed) < MIN_CUTS {
            let outcome = match callconv::check_path(&p, &otp25()) {
                Ok(r) => {
                    sane(&r);
                    format!("report:{:?}", r.verdict)
                }
                Err(e) => e.reason().to_string(),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
            checks += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let churned = churn.join().unwrap();
        assert!(churned >= MIN_CUTS && checks >= MIN_CHECKS);
        eprintln!("{checks} checks against {churned} cuts: {outcomes:?}");
    });
}

#[test]
fn decoding_an_entry_at_the_top_of_the_address_space() {
    // A segment that ends at the top of memory, and an entry that starts in it: the field
    // offsets must not overflow (the entry_decode fuzzer found `addr + offset` panicking).
    isolated("decoding_an_entry_at_the_top_of_the_address_space", || {
        let data = vec![0x41u8; 0x100];
        let segments = vec![Segment {
            vaddr: u64::MAX - 0xff,
            mem_size: 0x100,
            file_offset: 0,
            file_size: 0x100,
            executable: false,
        }];
        let image = Image::new(data.as_slice(), segments, Vec::new(), 8, false);
        for addr in [u64::MAX - 0xff, u64::MAX - 16, u64::MAX - 3, u64::MAX] {
            let decoded = callconv::entry::decode_entry(&image, addr, String::new());
            assert!(decoded.is_err(), "{addr:#x}: {decoded:?}");
        }
        let entry_decode = regression_files("entry_decode");
        assert!(!entry_decode.is_empty());
        for (_, bytes) in entry_decode {
            let Ok(binary) = callconv::inspect::parse(bytes.as_slice(), Arch::X86_64) else {
                continue;
            };
            for addr in [u64::MAX, u64::MAX - 3] {
                let _ = callconv::entry::decode_entry(&binary.image, addr, String::new());
            }
        }
    });
}
