//! The cross-target matrix: every committed fixture in `test/fixtures/cross/<target>/` (built
//! by `test/fixtures/build.sh`) is read and its format, architecture, word size, byte order,
//! ABI variant, needed libraries, kind and NIF entry are compared with values written here
//! by hand from what each target must be, not copied from the tool's output.
//!
//! Also: real distribution NIFs of other architectures, fetched by `test/fixtures/debian.sh`
//! into `test/fixtures/cache/debian/<arch>/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use callconv::report::{Arch, Endian, Format, Kind, NifEntry, NifFunction};
use callconv::target::Target;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

/// What one target's libraries must look like.
struct Expect {
    dir: &'static str,
    ext: &'static str,
    format: Format,
    arch: Arch,
    bits: u32,
    endian: Endian,
    abi_variant: Option<&'static str>,
    /// Needed libraries of every fixture of the target, in file order.
    needed: &'static [&'static str],
    /// How `nif_init` is evaluated (`NifEntry::decoded_by`); empty where the evaluator does
    /// not support the architecture yet, and the entry must then be reported unreadable.
    decoded_by: &'static str,
    /// Whether custom_entry.c was built for the target.
    custom: bool,
}

const NONE: &[&str] = &[];
const MACOS: &[&str] = &["/usr/lib/libSystem.B.dylib"];
// mingw-w64's DLL startup code (dllcrt2) against the Universal CRT: KERNEL32 for the
// process/thread attach bookkeeping, the api-ms-win-crt forwarders for atexit, the stdio
// init and the heap. Zig orders imports by first use; compared as a set below.
const WINDOWS: &[&str] = &[
    "KERNEL32.dll",
    "api-ms-win-crt-heap-l1-1-0.dll",
    "api-ms-win-crt-runtime-l1-1-0.dll",
    "api-ms-win-crt-stdio-l1-1-0.dll",
];

const fn elf(
    dir: &'static str,
    arch: Arch,
    bits: u32,
    endian: Endian,
    abi_variant: Option<&'static str>,
    decoded_by: &'static str,
) -> Expect {
    Expect {
        dir,
        ext: "so",
        format: Format::Elf,
        arch,
        bits,
        endian,
        abi_variant,
        needed: NONE,
        decoded_by,
        custom: true,
    }
}

use Endian::{Big, Little};

fn matrix() -> Vec<Expect> {
    vec![
        // Zig links glibc/musl only as needed, and these sources call no C library function.
        elf(
            "x86_64-linux-gnu",
            Arch::X86_64,
            64,
            Little,
            None,
            "static:x86_64",
        ),
        elf(
            "x86_64-linux-musl",
            Arch::X86_64,
            64,
            Little,
            None,
            "static:x86_64",
        ),
        elf("x86-linux-gnu", Arch::X86, 32, Little, None, "static:x86"),
        elf(
            "aarch64-linux-gnu",
            Arch::Aarch64,
            64,
            Little,
            None,
            "static:aarch64",
        ),
        // Built as Thumb-2 (the symbol's low bit is set), like Debian armhf.
        elf(
            "arm-linux-gnueabihf",
            Arch::Arm,
            32,
            Little,
            Some("eabi5-hard-float"),
            "static:arm-thumb",
        ),
        elf(
            "arm-linux-gnueabi",
            Arch::Arm,
            32,
            Little,
            Some("eabi5-soft-float"),
            "static:arm",
        ),
        elf(
            "riscv64-linux-gnu",
            Arch::Riscv64,
            64,
            Little,
            Some("double-float"),
            "static:riscv64",
        ),
        elf(
            "powerpc64le-linux-gnu",
            Arch::Powerpc64,
            64,
            Little,
            Some("elfv2"),
            "static:powerpc64",
        ),
        // Debian's cross gcc: classic ELFv1, nif_init is a descriptor in .opd.
        elf(
            "powerpc64-linux-gnu",
            Arch::Powerpc64,
            64,
            Big,
            Some("elfv1"),
            "static:powerpc64-elfv1",
        ),
        elf(
            "mips-linux-gnu",
            Arch::Mips,
            32,
            Big,
            Some("o32"),
            "static:mips",
        ),
        elf(
            "mipsel-linux-gnu",
            Arch::Mips,
            32,
            Little,
            Some("o32"),
            "static:mips",
        ),
        elf(
            "mips64el-linux-gnuabi64",
            Arch::Mips64,
            64,
            Little,
            Some("n64"),
            "static:mips64",
        ),
        elf(
            "s390x-linux-gnu",
            Arch::S390x,
            64,
            Big,
            None,
            "static:s390x",
        ),
        elf(
            "loongarch64-linux-gnu",
            Arch::Loongarch64,
            64,
            Little,
            Some("double-float"),
            "static:loongarch64",
        ),
        Expect {
            // Debian's cross gcc links libc.so.6 whether or not it is used.
            needed: &["libc.so.6"],
            ..elf(
                "sparc64-linux-gnu",
                Arch::Sparc64,
                64,
                Big,
                None,
                "static:sparc64",
            )
        },
        Expect {
            format: Format::Macho,
            needed: MACOS,
            ..elf(
                "aarch64-macos",
                Arch::Aarch64,
                64,
                Little,
                Some("arm64"),
                "static:aarch64",
            )
        },
        Expect {
            format: Format::Macho,
            needed: MACOS,
            ..elf(
                "x86_64-macos",
                Arch::X86_64,
                64,
                Little,
                None,
                "static:x86_64",
            )
        },
        // The same sources linked by ld64.lld with chained fixups: the entry and its function
        // table hold chain entries, not addresses, until dyld (or our image) applies them.
        Expect {
            format: Format::Macho,
            needed: MACOS,
            ..elf(
                "aarch64-macos-chained",
                Arch::Aarch64,
                64,
                Little,
                Some("arm64"),
                "static:aarch64",
            )
        },
        Expect {
            format: Format::Macho,
            needed: MACOS,
            ..elf(
                "x86_64-macos-chained",
                Arch::X86_64,
                64,
                Little,
                None,
                "static:x86_64",
            )
        },
        Expect {
            format: Format::Pe,
            ext: "dll",
            needed: WINDOWS,
            custom: false,
            ..elf(
                "x86_64-windows-gnu",
                Arch::X86_64,
                64,
                Little,
                None,
                "static:x86_64",
            )
        },
        Expect {
            format: Format::Pe,
            ext: "dll",
            needed: WINDOWS,
            custom: false,
            ..elf("x86-windows-gnu", Arch::X86, 32, Little, None, "static:x86")
        },
        Expect {
            format: Format::Pe,
            ext: "dll",
            needed: WINDOWS,
            custom: false,
            ..elf(
                "aarch64-windows-gnu",
                Arch::Aarch64,
                64,
                Little,
                None,
                "static:aarch64",
            )
        },
    ]
}

fn hello(decoded_by: &str) -> NifEntry {
    let f = |name: &str, arity, flags| NifFunction {
        name: name.to_string(),
        arity,
        flags,
    };
    NifEntry {
        // OTP 25's erl_nif.h: NIF 2.16, ERL_NIF_MIN_ERTS_VERSION "erts-12.0", options 1.
        major: 2,
        minor: 16,
        module: "Elixir.Callconv.Fixtures.Hello".to_string(),
        functions: vec![f("hello", 0, 0), f("add", 2, 1), f("read", 1, 2)],
        load: true,
        reload: false,
        upgrade: true,
        unload: true,
        vm_variant: Some("beam.vanilla".to_string()),
        options: Some(1),
        min_erts: Some("erts-12.0".to_string()),
        decoded_by: decoded_by.to_string(),
    }
}

fn custom(decoded_by: &str) -> NifEntry {
    NifEntry {
        module: "Elixir.Callconv.Fixtures.Custom".to_string(),
        functions: vec![
            NifFunction {
                name: "f".to_string(),
                arity: 0,
                flags: 0,
            },
            NifFunction {
                name: "g".to_string(),
                arity: 1,
                flags: 0,
            },
        ],
        load: false,
        upgrade: false,
        unload: false,
        ..hello(decoded_by)
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Checks one library; returns the mismatches found.
fn check_one(e: &Expect, base: &str, kind: Kind, entry: Option<NifEntry>) -> Vec<String> {
    let path = fixtures()
        .join("cross")
        .join(e.dir)
        .join(format!("{base}.{}", e.ext));
    let mut bad = Vec::new();
    let report = match callconv::check_path(&path, &Target::host()) {
        Ok(r) => r,
        Err(err) => return vec![format!("{}: {err}", path.display())],
    };
    let name = format!("{}/{base}", e.dir);
    let mut expect = |what: &str, ok: bool, got: String| {
        if !ok {
            bad.push(format!("{name}: {what} is {got}"));
        }
    };
    expect(
        "format",
        report.format == e.format,
        format!("{:?}", report.format),
    );
    expect("arch", report.arch == e.arch, format!("{:?}", report.arch));
    expect("bits", report.bits == e.bits, report.bits.to_string());
    expect(
        "endian",
        report.endian == e.endian,
        format!("{:?}", report.endian),
    );
    let needed_ok = if e.format == Format::Pe {
        sorted(&report.needed) == e.needed
    } else {
        report.needed == e.needed
    };
    expect("needed", needed_ok, format!("{:?}", report.needed));
    expect("kind", report.kind == kind, format!("{:?}", report.kind));
    if e.decoded_by.is_empty() && kind == Kind::Nif {
        let unreadable = report
            .findings
            .iter()
            .any(|f| f.rule == "nif-entry-unreadable" && f.message.contains("not implemented"));
        expect(
            "the NIF entry (expected: unreadable, not implemented)",
            report.nif.is_none() && unreadable,
            format!("{:?} (findings: {:?})", report.nif, report.findings),
        );
    } else {
        expect(
            "the NIF entry",
            report.nif == entry,
            format!("{:?} (findings: {:?})", report.nif, report.findings),
        );
    }

    let bytes = std::fs::read(&path).unwrap_or_default();
    match callconv::inspect::parse(bytes.as_slice(), e.arch) {
        Ok(binary) => expect(
            "abi_variant",
            binary.abi_variant.as_deref() == e.abi_variant,
            format!("{:?}", binary.abi_variant),
        ),
        Err(err) => bad.push(format!("{name}: parse: {err}")),
    }
    bad
}

#[test]
fn every_cross_fixture_is_read_exactly() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for e in matrix() {
        bad.extend(check_one(
            &e,
            "hello_nif",
            Kind::Nif,
            Some(hello(e.decoded_by)),
        ));
        bad.extend(check_one(&e, "plain_lib", Kind::Library, None));
        if e.custom {
            bad.extend(check_one(
                &e,
                "custom_ok",
                Kind::Nif,
                Some(custom(e.decoded_by)),
            ));
        }
        seen += 1;
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(seen, 22);
}

/// `libc_user.c` calls the C library (`reallocarray` with glibc, `realloc` elsewhere), so each
/// target shows its libc flavour and glibc floor: `reallocarray` is `GLIBC_2.26`, or the
/// architecture's first glibc where that is newer (riscv64 2.27, loongarch64 2.36).
#[test]
fn libc_flavour_and_floor_of_every_target() {
    const GNU: &[&str] = &["libc.so.6"];
    /// Target, file extension, libc flavour, glibc floor, needed libraries.
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        &'static [&'static str],
    );
    let table: [Row; 22] = [
        ("x86_64-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("x86-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("aarch64-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("arm-linux-gnueabihf", "so", Some("gnu"), Some("2.26"), GNU),
        ("arm-linux-gnueabi", "so", Some("gnu"), Some("2.26"), GNU),
        ("riscv64-linux-gnu", "so", Some("gnu"), Some("2.27"), GNU),
        (
            "powerpc64le-linux-gnu",
            "so",
            Some("gnu"),
            Some("2.26"),
            GNU,
        ),
        ("powerpc64-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("mips-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("mipsel-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        (
            "mips64el-linux-gnuabi64",
            "so",
            Some("gnu"),
            Some("2.26"),
            GNU,
        ),
        ("s390x-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        (
            "loongarch64-linux-gnu",
            "so",
            Some("gnu"),
            Some("2.36"),
            GNU,
        ),
        ("sparc64-linux-gnu", "so", Some("gnu"), Some("2.26"), GNU),
        ("x86_64-linux-musl", "so", Some("musl"), None, &["libc.so"]),
        ("aarch64-macos", "so", Some("macos"), None, MACOS),
        ("x86_64-macos", "so", Some("macos"), None, MACOS),
        ("x86_64-windows-gnu", "dll", Some("ucrt"), None, WINDOWS),
        ("aarch64-windows-gnu", "dll", Some("ucrt"), None, WINDOWS),
        ("x86-windows-gnu", "dll", Some("ucrt"), None, WINDOWS),
        ("aarch64-macos-chained", "so", Some("macos"), None, MACOS),
        ("x86_64-macos-chained", "so", Some("macos"), None, MACOS),
    ];
    let mut bad = Vec::new();
    for (dir, ext, libc, glibc, needed) in table {
        let path = fixtures().join(format!("cross/{dir}/libc_user.{ext}"));
        let report = match callconv::check_path(&path, &Target::host()) {
            Ok(r) => r,
            Err(err) => {
                bad.push(format!("{dir}: {err}"));
                continue;
            }
        };
        let floors = &report.floors;
        let got = (
            report.libc.as_deref(),
            floors.glibc.as_deref(),
            sorted(&report.needed),
        );
        let mut want_needed: Vec<String> = needed.iter().map(|n| n.to_string()).collect();
        want_needed.sort();
        if got != (libc, glibc, want_needed)
            || floors.glibcxx.is_some()
            || floors.cxxabi.is_some()
            || floors.gcc.is_some()
        {
            bad.push(format!("{dir}: libc {got:?}, floors {floors:?}"));
        }
    }
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

/// A real Android library (MarkupSafe's NDK r27d build, `test/fixtures/android/fetch.sh`):
/// bionic's libc is plain `libc.so` like musl's, and tells itself apart by its `LIBC` symbol
/// versions. On a glibc target it is refused as a libc mismatch.
#[test]
fn android_library_is_bionic() {
    let path = fixtures().join("android/_speedups.cpython-313-aarch64-linux-android.so");
    let target = Target {
        arch: Arch::Aarch64,
        libc: Some("gnu".to_string()),
        ..Target::host()
    };
    let report = callconv::check_path(&path, &target).expect("reads");
    assert_eq!(report.libc.as_deref(), Some("bionic"));
    assert_eq!(
        report.needed,
        ["libm.so", "libpython3.13.so", "libdl.so", "libc.so"]
    );
    assert_eq!(report.floors.glibc, None);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "libc-mismatch" && f.message.contains("bionic")),
        "{:?}",
        report.findings
    );
}

/// Mach-O tells arm64e (pointer authentication in the ABI) from arm64 by the CPU subtype:
/// the same file with its subtype set to `CPU_SUBTYPE_ARM64E` (2) reads as arm64e.
#[test]
fn arm64e_is_told_from_arm64() {
    let path = fixtures().join("cross/aarch64-macos/hello_nif.so");
    let mut bytes = std::fs::read(&path).expect("committed fixture");
    let variant = |b: &[u8]| {
        callconv::inspect::parse(b, Arch::Aarch64)
            .expect("parses")
            .abi_variant
    };
    assert_eq!(variant(&bytes).as_deref(), Some("arm64"));
    // mach_header_64: magic, cputype, then cpusubtype at offset 8 (little endian).
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(variant(&bytes).as_deref(), Some("arm64e"));
    // The capability bits (pointer-authentication ABI version) do not change the variant.
    bytes[8..12].copy_from_slice(&0x8000_0002u32.to_le_bytes());
    assert_eq!(variant(&bytes).as_deref(), Some("arm64e"));
}

#[test]
fn every_committed_target_is_in_the_matrix() {
    let known: Vec<&str> = matrix().iter().map(|e| e.dir).collect();
    let dirs = std::fs::read_dir(fixtures().join("cross")).expect("test/fixtures/cross exists");
    for dir in dirs.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        assert!(
            known.contains(&name.as_str()) || name == "universal-macos",
            "test/fixtures/cross/{name} has no expectations in tests/matrix.rs"
        );
    }
}

#[test]
fn universal_macos_file_holds_both_slices() {
    let path = fixtures().join("cross/universal-macos/hello_nif.so");
    let bytes = std::fs::read(&path).expect("committed universal fixture");
    for (arch, decoded_by) in [
        (Arch::X86_64, "static:x86_64"),
        (Arch::Aarch64, "static:aarch64"),
    ] {
        let binary = callconv::inspect::parse(bytes.as_slice(), arch).expect("parses");
        assert_eq!(binary.format, Format::MachoFat);
        assert_eq!(binary.arch, arch);
        assert_eq!((binary.bits, binary.endian), (64, Little));
        assert_eq!(binary.needed, MACOS);
        let (_, init) = callconv::entry::init_symbol(&binary).expect("_nif_init");
        let decoded = callconv::entry::decode(&binary, init).expect("entry decodes");
        assert_eq!(decoded.entry, hello(decoded_by));
    }
    // Through the whole pipeline, the slice of the host's architecture is checked.
    let report = callconv::check_path(&path, &Target::host()).expect("checks");
    assert_eq!(report.format, Format::MachoFat);
    assert_eq!(report.kind, Kind::Nif);
    let host = Target::host().arch;
    if host == Arch::X86_64 || host == Arch::Aarch64 {
        assert_eq!(report.arch, host);
        assert_eq!(
            report.nif,
            Some(hello(&format!("static:{}", host.as_str())))
        );
    }
}

/// A real NIF from Debian 12 for another architecture.
struct Distro {
    arch: &'static str,
    expect_arch: Arch,
    bits: u32,
    endian: Endian,
}

#[test]
fn debian_nifs_of_other_architectures() {
    let cache = fixtures().join("cache/debian");
    let distros = [
        Distro {
            arch: "arm64",
            expect_arch: Arch::Aarch64,
            bits: 64,
            endian: Little,
        },
        Distro {
            arch: "armel",
            expect_arch: Arch::Arm,
            bits: 32,
            endian: Little,
        },
        Distro {
            arch: "armhf",
            expect_arch: Arch::Arm,
            bits: 32,
            endian: Little,
        },
        Distro {
            arch: "mips64el",
            expect_arch: Arch::Mips64,
            bits: 64,
            endian: Little,
        },
        Distro {
            arch: "s390x",
            expect_arch: Arch::S390x,
            bits: 64,
            endian: Big,
        },
        Distro {
            arch: "ppc64el",
            expect_arch: Arch::Powerpc64,
            bits: 64,
            endian: Little,
        },
        Distro {
            arch: "mipsel",
            expect_arch: Arch::Mips,
            bits: 32,
            endian: Little,
        },
    ];
    if distros
        .iter()
        .any(|d| find_nifs(&cache.join(d.arch)).is_empty())
    {
        let script = fixtures().join("debian.sh");
        let status = Command::new("bash").arg(&script).status();
        let fetched = distros
            .iter()
            .all(|d| !find_nifs(&cache.join(d.arch)).is_empty());
        if !fetched {
            eprintln!(
                "SKIPPED debian_nifs_of_other_architectures: {} is empty and {} could not fetch \
                 the packages ({status:?}); no network or apt?",
                cache.display(),
                script.display()
            );
            return;
        }
    }
    let mut bad = Vec::new();
    for d in &distros {
        let nifs = find_nifs(&cache.join(d.arch));
        for path in &nifs {
            let report = match callconv::check_path(path, &Target::host()) {
                Ok(r) => r,
                Err(e) => {
                    bad.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let p = path.display();
            if (report.arch, report.bits, report.endian) != (d.expect_arch, d.bits, d.endian) {
                bad.push(format!(
                    "{p}: {:?} {} {:?}",
                    report.arch, report.bits, report.endian
                ));
            }
            if report.format != Format::Elf {
                bad.push(format!("{p}: format {:?}", report.format));
            }
            // The module a NIF must be loaded by is the file's own name (jiffy.so → jiffy,
            // crypto.so → crypto, asn1rt_nif.so → asn1rt_nif), and OTP 25 builds are 2.16.
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            match &report.nif {
                Some(nif) => {
                    if Some(&nif.module) != stem.as_ref() && nif.module != "dummy" {
                        bad.push(format!("{p}: module {}", nif.module));
                    }
                    if (nif.major, nif.minor) != (2, 16) {
                        bad.push(format!("{p}: version {}.{}", nif.major, nif.minor));
                    }
                    if nif.vm_variant.as_deref() != Some("beam.vanilla") {
                        bad.push(format!("{p}: vm_variant {:?}", nif.vm_variant));
                    }
                }
                None => bad.push(format!("{p}: entry not decoded: {:?}", report.findings)),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The NIF libraries under `dir`: `*.so` files in an OTP application's `priv/` tree that
/// export `nif_init`.
fn find_nifs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file()
                && path.extension().is_some_and(|x| x == "so")
                && path.to_string_lossy().contains("/priv/")
                && is_nif(&path)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_nif(path: &Path) -> bool {
    callconv::check_path(path, &Target::host())
        .map(|r| r.kind == Kind::Nif)
        .unwrap_or(false)
}
