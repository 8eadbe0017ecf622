//! The Rustler decoder against real Rustler builds (test/fixtures/rustler, x86-64 Linux,
//! aarch64 Linux from build_aarch64.sh in out/aarch64, and the other Linux architectures of
//! the Nerves matrix from build_cross.sh in out/<arch>, with the entries their nif_init really
//! returns under qemu-user in out/<arch>/expected.txt).
//!
//! Every expected value below is written from the fixture source (test/fixtures/rustler/
//! nifs.rs and each version's src/lib.rs) and from Rustler's own code, not from callconv's
//! output: major 2 / minor 15 is the default feature `nif_version_2_15` of every version used
//! (`rustler_sys` build.rs `NIF_MINOR_VERSION` for 0.30/0.34, `rustler::sys` for 0.36/0.39);
//! `min_erts` exists only in 0.37+'s entry type and is `c"OTP-22.0"` for `nif_version_2_15`
//! (rustler-0.39.0/src/sys/types.rs `ErlNifEntry::new`); `vm_variant` is `"beam.vanilla"`,
//! `options` 0, `load` set, `reload`/`upgrade`/`unload` NULL in every version's init macro.
//!
//! The order of an inventory-built table (0.34+) is the order the linker put the
//! constructors in, which no source fixes; for those the set is checked here by hand and the
//! order against the table `nif_init` really builds when a harness (harness.c) runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use callconv::entry;
use callconv::report::{Arch, NifFunction};

fn rustler_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/rustler")
}

const VERSIONS: [&str; 4] = ["0.30.0", "0.34.0", "0.36.2", "0.39.0"];
/// Committed: the stripped ones. Built on demand: the ones that keep their symbol table.
const COMMITTED: [&str; 2] = ["strip", "lto-strip"];
const ON_DEMAND: [&str; 2] = ["plain", "lto"];
/// Committed for 0.39.0 only: fat LTO, stripped, at opt-level 0, 1, 2 and "s".
const OPT_LEVELS: [&str; 4] = [
    "o0-lto-strip",
    "o1-lto-strip",
    "o2-lto-strip",
    "os-lto-strip",
];

static BUILD: Once = Once::new();
static HARNESS: Once = Once::new();

fn fixture(version: &str, variant: &str) -> PathBuf {
    let path = rustler_dir()
        .join("out")
        .join(format!("{version}-{variant}.so"));
    if !path.exists() && ON_DEMAND.contains(&variant) {
        BUILD.call_once(|| {
            let status = Command::new("bash")
                .arg(rustler_dir().join("build.sh"))
                .env("RUSTLER_FIXTURE_VARIANTS", ON_DEMAND.join(" "))
                .status()
                .expect("run test/fixtures/rustler/build.sh");
            assert!(status.success(), "test/fixtures/rustler/build.sh failed");
        });
    }
    assert!(path.exists(), "fixture {} missing", path.display());
    path
}

fn all_fixtures() -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut out = Vec::new();
    for v in VERSIONS {
        for variant in COMMITTED.iter().chain(ON_DEMAND.iter()) {
            out.push((v, *variant, fixture(v, variant)));
        }
    }
    for variant in OPT_LEVELS {
        out.push(("0.39.0", variant, fixture("0.39.0", variant)));
    }
    out
}

fn f(name: &str, arity: u32, flags: u32) -> NifFunction {
    NifFunction {
        name: name.to_string(),
        arity,
        flags,
    }
}

/// nifs.rs: add/2, hello/0, busy/1 DirtyCpu (1), io_wait/3 DirtyIo (2), `original` renamed.
fn expected_functions() -> Vec<NifFunction> {
    vec![
        f("add", 2, 0),
        f("hello", 0, 0),
        f("busy", 1, 1),
        f("io_wait", 3, 2),
        f("renamed", 1, 0),
    ]
}

fn sorted(mut v: Vec<NifFunction>) -> Vec<NifFunction> {
    v.sort_by(|a, b| (&a.name, a.arity).cmp(&(&b.name, b.arity)));
    v
}

/// The distinct function pointers of a decoded table, each of which must be known.
fn distinct_wrappers(d: &entry::Decoded) -> Vec<u64> {
    let mut fptrs: Vec<u64> = d
        .function_addresses
        .iter()
        .map(|f| f.expect("fptr"))
        .collect();
    fptrs.sort();
    fptrs.dedup();
    fptrs
}

fn decode(path: &Path) -> entry::Decoded {
    let bytes = std::fs::read(path).expect("read fixture");
    let binary =
        callconv::inspect::parse(bytes.as_slice(), callconv::report::Arch::X86_64).expect("parses");
    decode_binary(&binary, path)
}

fn decode_binary<'data>(
    binary: &callconv::inspect::Binary<impl object::ReadRef<'data>>,
    path: &Path,
) -> entry::Decoded {
    let (_, init) = entry::init_symbol(binary).expect("nif_init is exported");
    entry::decode(binary, init)
        .unwrap_or_else(|e| panic!("{}: entry does not decode: {e}", path.display()))
}

/// The function table nif_init really builds, from the harness.
fn real_table(path: &Path) -> Vec<NifFunction> {
    let dir = std::env::temp_dir().join(format!("callconv-rustler-harness-{}", std::process::id()));
    HARNESS.call_once(|| {
        let status = Command::new("bash")
            .arg(rustler_dir().join("harness.sh"))
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run harness.sh");
        assert!(status.success(), "harness.sh failed");
    });
    let out = Command::new(dir.join("harness"))
        .arg(path)
        .output()
        .expect("run harness");
    assert!(
        out.status.success(),
        "harness failed on {}: {:?}",
        path.display(),
        out
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("func "))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            f(
                parts[0],
                parts[1].parse().unwrap(),
                parts[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_fixture_decodes_exactly() {
    for (version, variant, path) in all_fixtures() {
        let d = decode(&path);
        let e = &d.entry;
        let what = format!("{version}-{variant}");
        assert_eq!(e.major, 2, "{what}");
        assert_eq!(e.minor, 15, "{what}");
        assert_eq!(e.module, "Elixir.Callconv.Fixtures.Rustler", "{what}");
        assert!(e.load, "{what}: load");
        assert!(!e.reload && !e.upgrade && !e.unload, "{what}: callbacks");
        assert_eq!(e.vm_variant.as_deref(), Some("beam.vanilla"), "{what}");
        assert_eq!(e.options, Some(0), "{what}");
        let min_erts = if version == "0.39.0" {
            Some("OTP-22.0")
        } else {
            None
        };
        assert_eq!(e.min_erts.as_deref(), min_erts, "{what}");
        assert!(!d.min_erts_null && !d.vm_variant_null, "{what}");
        assert_eq!(e.decoded_by, format!("static:rustler-{version}"), "{what}");
        assert_eq!(d.declared_functions, 5, "{what}");
        assert_eq!(
            sorted(e.functions.clone()),
            sorted(expected_functions()),
            "{what}"
        );
        if version == "0.30.0" {
            // A static [ErlNifFunc] in init! list order.
            assert_eq!(e.functions, expected_functions(), "{what}");
        }
        let addrs: Vec<u64> = d
            .function_addresses
            .iter()
            .map(|a| a.expect("fptr"))
            .collect();
        let mut distinct = addrs.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 5, "{what}: distinct wrappers {addrs:x?}");
    }
}

#[test]
fn table_order_is_the_order_nif_init_builds() {
    for (version, variant, path) in all_fixtures() {
        assert_eq!(
            decode(&path).entry.functions,
            real_table(&path),
            "{version}-{variant}"
        );
    }
}

/// An explicit OTP 25 (ERTS 13.1.5, NIF 2.16) target.
fn otp25() -> callconv::target::Target {
    callconv::target::Target {
        source: callconv::target::TargetSource::Explicit,
        otp_release: Some("25".into()),
        erts_version: Some("13.1.5".into()),
        nif_version: Some("2.16".into()),
        ..callconv::target::Target::host()
    }
}

#[test]
fn checks_pass_on_otp25() {
    let target = otp25();
    for (version, variant, path) in all_fixtures() {
        let report = callconv::check_path(&path, &target).expect("checks");
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        // OTP 25 accepts NIF 2.15, so it never reads the min_erts that ≤ 0.36 lacks: a warning.
        let (expected_rules, verdict): (&[&str], _) = if short_entry(version) {
            (&["nif-entry-short"], callconv::report::Verdict::Warn)
        } else {
            (&[], callconv::report::Verdict::Pass)
        };
        assert_eq!(
            rules, expected_rules,
            "{version}-{variant}: {:?}",
            report.findings
        );
        assert_eq!(
            report.verdict, verdict,
            "{version}-{variant}: {:?}",
            report.findings
        );
    }
}

/// Rustler ≤ 0.36's `ErlNifEntry` ends at `sizeof_ErlNifResourceTypeInit`; 0.37 added
/// `min_erts` (rustler_sys `rustler_sys_api.rs`, rustler `src/sys/types.rs`).
fn short_entry(version: &str) -> bool {
    let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
    minor <= 36
}

#[test]
fn short_entry_is_an_error_where_the_runtime_finds_it_too_new() {
    // OTP 21 implements NIF 2.14; every fixture declares 2.15, so erts_load_nif refuses it and
    // reads min_erts for its message.
    let otp21 = callconv::target::Target::host()
        .with_otp(21)
        .expect("OTP 21");
    let otp25 = callconv::target::Target::host()
        .with_otp(25)
        .expect("OTP 25");
    for (version, variant, path) in all_fixtures() {
        let what = format!("{version}-{variant}");
        let short = |target: &callconv::target::Target| {
            callconv::check_path(&path, target)
                .expect("checks")
                .findings
                .into_iter()
                .filter(|f| f.rule == "nif-entry-short")
                .collect::<Vec<_>>()
        };
        let on21 = short(&otp21);
        let on25 = short(&otp25);
        if short_entry(version) {
            assert_eq!(on21.len(), 1, "{what}: {on21:?}");
            assert_eq!(on21[0].severity, callconv::rules::Severity::Error, "{what}");
            assert!(
                on21[0].message.starts_with(&format!("Rustler {version} ")),
                "{what}: {}",
                on21[0].message
            );
            assert!(on21[0].message.contains("NIF 2.15"), "{what}");
            assert!(on21[0].hint.contains("nif_version_2_14"), "{what}");
            assert_eq!(on25.len(), 1, "{what}: {on25:?}");
            assert_eq!(
                on25[0].severity,
                callconv::rules::Severity::Warning,
                "{what}"
            );
        } else {
            assert!(on21.is_empty() && on25.is_empty(), "{what}: {on21:?}");
        }
    }
}

/// The names rustler 0.36.2 passes to dlsym on Unix for nif_version_2_15: one
/// `filler.write(&mut self.NAME, "NAME\0")` per API function in the `nif_api.snippet.rs` its
/// build.rs generates (`DynNifCallbacks::write_symbols`).
const RUSTLER_0_36_DLSYM: [&str; 121] = [
    "enif_alloc",
    "enif_alloc_binary",
    "enif_alloc_env",
    "enif_alloc_resource",
    "enif_binary_to_term",
    "enif_clear_env",
    "enif_compare",
    "enif_compare_monitors",
    "enif_consume_timeslice",
    "enif_convert_time_unit",
    "enif_cpu_time",
    "enif_demonitor_process",
    "enif_dlopen",
    "enif_dlsym",
    "enif_fprintf",
    "enif_free",
    "enif_free_env",
    "enif_get_atom",
    "enif_get_atom_length",
    "enif_get_double",
    "enif_get_int",
    "enif_get_list_cell",
    "enif_get_list_length",
    "enif_get_local_pid",
    "enif_get_local_port",
    "enif_get_long",
    "enif_get_map_size",
    "enif_get_map_value",
    "enif_get_resource",
    "enif_get_string",
    "enif_get_tuple",
    "enif_get_uint",
    "enif_get_ulong",
    "enif_getenv",
    "enif_has_pending_exception",
    "enif_hash",
    "enif_inspect_binary",
    "enif_inspect_iolist_as_binary",
    "enif_is_atom",
    "enif_is_binary",
    "enif_is_current_process_alive",
    "enif_is_empty_list",
    "enif_is_exception",
    "enif_is_fun",
    "enif_is_identical",
    "enif_is_list",
    "enif_is_map",
    "enif_is_number",
    "enif_is_pid",
    "enif_is_pid_undefined",
    "enif_is_port",
    "enif_is_port_alive",
    "enif_is_process_alive",
    "enif_is_ref",
    "enif_is_tuple",
    "enif_keep_resource",
    "enif_make_atom",
    "enif_make_atom_len",
    "enif_make_badarg",
    "enif_make_binary",
    "enif_make_copy",
    "enif_make_double",
    "enif_make_existing_atom",
    "enif_make_existing_atom_len",
    "enif_make_int",
    "enif_make_list",
    "enif_make_list_cell",
    "enif_make_list_from_array",
    "enif_make_long",
    "enif_make_map_from_arrays",
    "enif_make_map_put",
    "enif_make_map_remove",
    "enif_make_map_update",
    "enif_make_monitor_term",
    "enif_make_new_binary",
    "enif_make_new_map",
    "enif_make_ref",
    "enif_make_resource",
    "enif_make_resource_binary",
    "enif_make_reverse_list",
    "enif_make_string",
    "enif_make_string_len",
    "enif_make_sub_binary",
    "enif_make_tuple",
    "enif_make_tuple_from_array",
    "enif_make_uint",
    "enif_make_ulong",
    "enif_make_unique_integer",
    "enif_map_iterator_create",
    "enif_map_iterator_destroy",
    "enif_map_iterator_get_pair",
    "enif_map_iterator_is_head",
    "enif_map_iterator_is_tail",
    "enif_map_iterator_next",
    "enif_map_iterator_prev",
    "enif_monitor_process",
    "enif_monotonic_time",
    "enif_now_time",
    "enif_open_resource_type",
    "enif_open_resource_type_x",
    "enif_port_command",
    "enif_priv_data",
    "enif_raise_exception",
    "enif_realloc",
    "enif_realloc_binary",
    "enif_release_binary",
    "enif_release_resource",
    "enif_schedule_nif",
    "enif_select",
    "enif_self",
    "enif_send",
    "enif_set_pid_undefined",
    "enif_sizeof_resource",
    "enif_snprintf",
    "enif_system_info",
    "enif_term_to_binary",
    "enif_term_type",
    "enif_thread_type",
    "enif_time_offset",
    "enif_whereis_pid",
    "enif_whereis_port",
];

#[test]
fn needed_enif_on_rustler_builds() {
    for (version, variant, path) in all_fixtures() {
        let bytes = std::fs::read(&path).expect("read");
        let binary = callconv::inspect::parse(bytes.as_slice(), callconv::report::Arch::X86_64)
            .expect("parses");
        let (names, by_dlsym) = callconv::rules::link::needed_enif(&binary);
        let what = format!("{version}-{variant}");
        if version == "0.36.2" {
            assert!(by_dlsym, "{what}");
            assert_eq!(
                names,
                RUSTLER_0_36_DLSYM.map(String::from).to_vec(),
                "{what}"
            );
        } else {
            // Direct imports: exactly the undefined enif_* symbols.
            assert!(!by_dlsym, "{what}");
            let imports: Vec<String> = {
                let mut v: Vec<String> = binary
                    .imports
                    .iter()
                    .map(|i| i.name.clone())
                    .filter(|n| n.starts_with("enif_"))
                    .collect();
                v.sort();
                v
            };
            assert!(!imports.is_empty(), "{what}");
            assert_eq!(names, imports, "{what}");
        }
    }
}

/// Committed aarch64 builds (build_aarch64.sh): every version stripped, with and without LTO,
/// and one that keeps its symbol table.
fn aarch64_fixtures() -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut out = Vec::new();
    for v in VERSIONS {
        for variant in COMMITTED {
            out.push((
                v,
                variant,
                rustler_dir().join(format!("out/aarch64/{v}-{variant}.so")),
            ));
        }
    }
    out.push((
        "0.39.0",
        "plain",
        rustler_dir().join("out/aarch64/0.39.0-plain.so"),
    ));
    out
}

#[test]
fn aarch64_fixtures_decode_as_their_x86_64_twins() {
    for (version, variant, path) in aarch64_fixtures() {
        let what = format!("aarch64 {version}-{variant}");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let binary = callconv::inspect::parse(bytes.as_slice(), callconv::report::Arch::Aarch64)
            .expect("parses");
        assert_eq!(binary.arch, callconv::report::Arch::Aarch64, "{what}");
        let a = decode_binary(&binary, &path);
        let x = decode(&fixture(version, variant));
        let (ae, xe) = (&a.entry, &x.entry);
        assert_eq!(
            (ae.major, ae.minor, &ae.module),
            (xe.major, xe.minor, &xe.module),
            "{what}"
        );
        assert_eq!(
            (ae.load, ae.reload, ae.upgrade, ae.unload),
            (xe.load, xe.reload, xe.upgrade, xe.unload),
            "{what}: callbacks"
        );
        assert_eq!(
            (&ae.vm_variant, ae.options, &ae.min_erts),
            (&xe.vm_variant, xe.options, &xe.min_erts),
            "{what}"
        );
        assert_eq!(ae.decoded_by, xe.decoded_by, "{what}");
        assert_eq!(
            (a.declared_functions, a.min_erts_null, &a.short_entry),
            (x.declared_functions, x.min_erts_null, &x.short_entry),
            "{what}"
        );
        // The inventory order (0.34+) is the linker's .init_array order, which differs
        // between the two links; 0.30's static array is in init! list order on both.
        assert_eq!(
            sorted(ae.functions.clone()),
            sorted(xe.functions.clone()),
            "{what}"
        );
        if version == "0.30.0" {
            assert_eq!(ae.functions, expected_functions(), "{what}");
        }
        let fptrs = distinct_wrappers(&a);
        assert_eq!(fptrs.len(), 5, "{what}: distinct wrappers");
        assert!(
            fptrs.iter().all(|f| binary.image.read_code(*f, 4).is_ok()),
            "{what}: wrappers are code"
        );
        // The enif_* API the library needs: the same imports, or the same dlsym names.
        let twin_bytes = std::fs::read(fixture(version, variant)).expect("read");
        let twin = callconv::inspect::parse(twin_bytes.as_slice(), callconv::report::Arch::X86_64)
            .expect("parses");
        assert_eq!(
            callconv::rules::link::needed_enif(&binary),
            callconv::rules::link::needed_enif(&twin),
            "{what}: needed enif_*"
        );
    }
}

/// The Linux architectures of the Nerves matrix, built by build_cross.sh: their directory under
/// out/, the architecture the file must parse as, and the triple `callconv check` is given.
const CROSS: [(&str, Arch, &str); 7] = [
    ("armv7", Arch::Arm, "armv7-unknown-linux-gnueabihf"),
    ("armv7-thumb", Arch::Arm, "armv7-unknown-linux-gnueabihf"),
    ("armv6", Arch::Arm, "arm-unknown-linux-gnueabihf"),
    ("i686", Arch::X86, "i686-unknown-linux-gnu"),
    ("riscv64", Arch::Riscv64, "riscv64gc-unknown-linux-gnu"),
    (
        "powerpc64le",
        Arch::Powerpc64,
        "powerpc64le-unknown-linux-gnu",
    ),
    ("s390x", Arch::S390x, "s390x-unknown-linux-gnu"),
];

/// One fixture's entry as nif_init really built it (oracle.sh: harness.c under qemu-user).
#[derive(Debug, Default)]
struct RealEntry {
    major: i32,
    minor: i32,
    name: String,
    num_of_funcs: i64,
    functions: Vec<NifFunction>,
    callbacks: [bool; 4],
    vm_variant: String,
    options: u32,
}

/// out/<dir>/expected.txt: `== FILE` then harness.c's `key value` lines.
fn real_entries(dir: &str) -> Vec<(String, RealEntry)> {
    let path = rustler_dir().join(format!("out/{dir}/expected.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run oracle.sh {dir})", path.display()));
    let mut out: Vec<(String, RealEntry)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(file) = line.strip_prefix("== ") {
            out.push((file.to_string(), RealEntry::default()));
            continue;
        }
        let (_, e) = out.last_mut().expect("a == line first");
        let (key, value) = line.split_once(' ').expect("key value");
        let flag = || value == "1";
        match key {
            "major" => e.major = value.parse().unwrap(),
            "minor" => e.minor = value.parse().unwrap(),
            "name" => e.name = value.to_string(),
            "num_of_funcs" => e.num_of_funcs = value.parse().unwrap(),
            "func" => {
                let parts: Vec<&str> = value.split(' ').collect();
                e.functions.push(f(
                    parts[0],
                    parts[1].parse().unwrap(),
                    parts[2].parse().unwrap(),
                ));
            }
            "load" => e.callbacks[0] = flag(),
            "reload" => e.callbacks[1] = flag(),
            "upgrade" => e.callbacks[2] = flag(),
            "unload" => e.callbacks[3] = flag(),
            "vm_variant" => e.vm_variant = value.to_string(),
            "options" => e.options = value.parse().unwrap(),
            "sizeof_resource_type_init" => {}
            other => panic!("{}: unknown line {other}", path.display()),
        }
    }
    out
}

/// Every committed cross-built fixture decodes statically to the entry nif_init really
/// builds, function table order included, and checks clean for its own platform.
#[test]
fn cross_fixtures_decode_as_nif_init_builds_them() {
    for (dir, arch, triple) in CROSS {
        let mut files: Vec<String> = std::fs::read_dir(rustler_dir().join("out").join(dir))
            .unwrap_or_else(|e| panic!("out/{dir}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".so"))
            .collect();
        files.sort();
        let real = real_entries(dir);
        let mut recorded: Vec<String> = real.iter().map(|(f, _)| f.clone()).collect();
        recorded.sort();
        assert_eq!(files, recorded, "{dir}: expected.txt covers every fixture");
        // Every version of the matrix, stripped, with and without LTO (issue #15).
        for version in VERSIONS {
            for variant in COMMITTED {
                let file = format!("{version}-{variant}.so");
                assert!(
                    files.contains(&file),
                    "{dir}/{file} missing (build_cross.sh {dir})"
                );
            }
        }
        let target = otp25().for_triple(triple).expect("triple");
        for (file, want) in real {
            let what = format!("{dir}/{file}");
            let version = file.split('-').next().unwrap();
            let path = rustler_dir().join("out").join(dir).join(&file);
            let bytes = std::fs::read(&path).unwrap();
            let binary = callconv::inspect::parse(bytes.as_slice(), arch).expect("parses");
            assert_eq!(binary.arch, arch, "{what}");
            let d = decode_binary(&binary, &path);
            let e = &d.entry;
            assert_eq!((e.major, e.minor), (want.major, want.minor), "{what}");
            assert_eq!(e.module, want.name, "{what}");
            assert_eq!(e.functions, want.functions, "{what}");
            assert_eq!(d.declared_functions, want.num_of_funcs, "{what}");
            assert_eq!(
                [e.load, e.reload, e.upgrade, e.unload],
                want.callbacks,
                "{what}: callbacks"
            );
            assert_eq!(
                e.vm_variant.as_deref(),
                Some(want.vm_variant.as_str()),
                "{what}"
            );
            assert_eq!(e.options, Some(want.options), "{what}");
            assert_eq!(e.decoded_by, format!("static:rustler-{version}"), "{what}");
            // harness.c does not print min_erts: Rustler's own value, as above.
            let min_erts = (version == "0.39.0").then_some("OTP-22.0");
            assert_eq!(e.min_erts.as_deref(), min_erts, "{what}");
            // And the oracle agrees with nifs.rs.
            assert_eq!(
                sorted(want.functions.clone()),
                sorted(expected_functions()),
                "{what}"
            );
            assert_eq!(distinct_wrappers(&d).len(), 5, "{what}: distinct wrappers");

            let report = callconv::check_path(&path, &target).expect("checks");
            let errors: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.severity == callconv::rules::Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{what} on {triple}: {errors:?}");
            // A warning against the CPU floor assumed for a platform when none is named is
            // about how the file was built, not about its entry: the s390x fixtures reach
            // vector instructions above the assumed z196 (built with no CPU named).
            let rules: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| {
                    !(f.rule == "isa-level"
                        && f.severity == callconv::rules::Severity::Warning
                        && f.message.contains("floor assumed"))
                })
                .map(|f| f.rule.as_str())
                .collect();
            let expected_rules: &[&str] = if short_entry(version) {
                &["nif-entry-short"]
            } else {
                &[]
            };
            assert_eq!(
                rules, expected_rules,
                "{what} on {triple}: {:?}",
                report.findings
            );
        }
    }
}

/// The armv6 fixtures are true ARMv6 builds (std built for arm-unknown-linux-gnueabihf by
/// build_cross.sh with -Zbuild-std): checked for the Raspberry Pi Zero's CPU
/// (`--cpu arm1176jzf-s`) no code reachable from the NIF needs more, while the armv7 builds
/// of the same crates reach ARMv7 and NEON instructions and are refused there.
#[test]
fn armv6_fixtures_run_on_an_armv6_cpu_and_armv7_ones_do_not() {
    let pi_zero = |dir: &str, file: &str| {
        let target = otp25()
            .for_triple("arm-unknown-linux-gnueabihf")
            .expect("triple");
        let target = callconv::analysis::IsaLevel::target_with_cpu(target, "arm1176jzf-s")
            .expect("an Arm CPU");
        let options = callconv::Options::new(target);
        let path = rustler_dir().join("out").join(dir).join(file);
        let report = callconv::check_path_with(&path, &options).expect("checks");
        let isa = report.isa.clone().expect("swept");
        assert!(
            !isa.capped && isa.instructions > 1000,
            "{dir}/{file}: {isa:?}"
        );
        report
            .findings
            .into_iter()
            .filter(|f| f.rule == "isa-level")
            .collect::<Vec<_>>()
    };
    for version in VERSIONS {
        for variant in COMMITTED {
            let file = format!("{version}-{variant}.so");
            let v6 = pi_zero("armv6", &file);
            assert!(v6.is_empty(), "armv6/{file}: {v6:?}");
            let v7 = pi_zero("armv7", &file);
            assert!(
                v7.len() == 1 && v7[0].severity == callconv::rules::Severity::Error,
                "armv7/{file}: {v7:?}"
            );
        }
    }
}
