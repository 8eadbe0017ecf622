//! The report's shape across the boundary with Elixir, pinned by two committed files that
//! each side checks against its own definition (`test/wire_test.exs` is the Elixir half):
//!
//! - `test/fixtures/wire/report.json`: a report with every field populated, written here from
//!   the serde definition. A field added to a Rust struct changes it (this test fails until it
//!   is rewritten with `CALLCONV_BLESS=1`), and the Elixir decoder, strict in that test,
//!   refuses the unknown key until `Callconv.Wire` and the struct have it too.
//! - `test/fixtures/wire/request.json`: a check request with every field populated, written by
//!   the Elixir test from `%Callconv.Target{}`. Here it must parse, with every target field
//!   known and set, and nothing left over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use callconv::analysis::exports::ExportsSummary;
use callconv::analysis::{FeatureUse, FunctionAnalysis, IsaSummary, Observed};
use callconv::report::{
    Arch, ElfFacts, Endian, Finding, Floors, Format, GnuPropertySummary, Kind, LibraryReport,
    MachoFacts, MachoSlice, Mode, NifEntry, NifFunction, PeFacts, Verdict,
};
use callconv::rules::Severity;
use callconv::wire::CheckRequest;
use serde_json::Value;

fn wire_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/fixtures/wire")
        .join(name)
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Every field set, every list non-empty, every enum off its default. Struct literals without
/// `..`: a new field does not compile until it is populated here.
fn full_report() -> LibraryReport {
    let function = FunctionAnalysis {
        name: s("add/2"),
        address: 0x1040,
        observed: Observed {
            args_read: vec![s("rdi")],
            stack_args_read: vec![8],
            callee_saved_touched: vec![s("rbx")],
            cleanup: 4,
            stack_balanced: true,
            exits: 1,
        },
        expected_convention: s("x86_64-sysv"),
        matches_best: Some(s("x86_64-win64")),
        capped: Some(s("instructions")),
        instructions: 12,
        matches: Some(vec![s("x86_64-win64")]),
    };
    LibraryReport {
        path: s("/lib/libfull.so"),
        sha256: s("00ff"),
        verdict: Verdict::Warn,
        kind: Kind::Nif,
        format: Format::MachoFat,
        arch: Arch::X86_64,
        bits: 64,
        endian: Endian::Little,
        abi: Some(s("x86_64-sysv")),
        needed: vec![s("libc.so.6")],
        nif: Some(NifEntry {
            major: 2,
            minor: 16,
            module: s("Elixir.Full"),
            functions: vec![NifFunction {
                name: s("add"),
                arity: 2,
                flags: 1,
            }],
            load: true,
            reload: true,
            upgrade: true,
            unload: true,
            vm_variant: Some(s("beam.vanilla")),
            options: Some(1),
            min_erts: Some(s("erts-13.0")),
            decoded_by: s("static:x86_64-lea"),
        }),
        findings: vec![Finding {
            rule: s("foreign-convention"),
            severity: Severity::Warning,
            message: s("m"),
            hint: s("h"),
        }],
        functions: vec![function],
        isa: Some(IsaSummary {
            features: vec![FeatureUse {
                flag: s("avx2"),
                instruction: s("vpaddd"),
                address: 0x1050,
                reached_from: s("add/2"),
            }],
            x86_64_level: Some(3),
            guarded: true,
            guard: Some(s("cpuid at 0x1060")),
            instructions: 40,
            capped: true,
        }),
        libc: Some(s("gnu")),
        floors: Floors {
            glibc: Some(s("2.34")),
            glibcxx: Some(s("3.4.30")),
            cxxabi: Some(s("1.3.9")),
            gcc: Some(s("4.2.0")),
        },
        gnu_properties: Some(GnuPropertySummary {
            x86_isa_needed: Some(s("x86-64-v3")),
            x86_features: vec![s("ibt")],
            aarch64_features: vec![s("bti")],
        }),
        mode: Some(Mode::Exports),
        exports: Some(ExportsSummary {
            conventions: vec![s("x86_64-sysv")],
            exports: 3,
            data: 1,
            aliases: 1,
            analysed: 1,
            not_analysed: 1,
            capped: 1,
            errors: 1,
            matched: BTreeMap::from([(s("x86_64-sysv"), 1)]),
            instructions: 12,
            states: 30,
            budget_exhausted: Some(s("states")),
        }),
        elf: Some(ElfFacts {
            soname: Some(s("libfull.so.1")),
            runpath: vec![s("$ORIGIN")],
            rpath: vec![s("/opt/lib")],
            interpreter: Some(s("/lib64/ld-linux-x86-64.so.2")),
            arm_eabi: Some(5),
            mips_nan: Some(callconv::inspect::NanEncoding::Ieee2008),
        }),
        macho: Some(MachoFacts {
            file_type: s("bundle"),
            platform: Some(s("macos")),
            min_os: Some(s("11.0")),
            sdk: Some(s("14.2")),
            install_name: Some(s("@rpath/libfull.dylib")),
            rpaths: vec![s("@loader_path")],
            weak_dylibs: vec![s("libweak.dylib")],
            reexported_dylibs: vec![s("libre.dylib")],
            fixups: s("chained"),
            slices: vec![MachoSlice {
                arch: Arch::Aarch64,
                abi_variant: Some(s("arm64e")),
                primary: true,
                file_type: s("bundle"),
                min_os: Some(s("11.0")),
                sdk: Some(s("14.2")),
                needed: vec![s("libSystem.B.dylib")],
            }],
        }),
        pe: Some(PeFacts {
            subsystem: s("windows-gui"),
            dynamic_base: true,
            nx_compat: true,
            guard_cf: true,
            high_entropy_va: true,
            delay_imports: vec![s("user32.dll")],
        }),
    }
}

/// Where a value is null or an empty list or object: a field the fixture would not exercise.
fn unset(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(at.to_string()),
        Value::Array(items) if items.is_empty() => found.push(at.to_string()),
        Value::Object(map) if map.is_empty() => found.push(at.to_string()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                unset(item, &format!("{at}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                unset(v, &format!("{at}.{k}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn the_committed_full_report_is_what_the_serde_definition_writes() {
    let json = serde_json::to_string_pretty(&full_report()).expect("serialises") + "\n";
    let mut empty = Vec::new();
    unset(
        &serde_json::from_str(&json).expect("parses"),
        "report",
        &mut empty,
    );
    assert!(empty.is_empty(), "fields left unset: {empty:?}");
    // The compact form the NIF sends is the same value.
    assert_eq!(
        serde_json::from_str::<Value>(&callconv::wire::report_json(&full_report())).unwrap(),
        serde_json::from_str::<Value>(&json).unwrap()
    );

    let path = wire_fixture("report.json");
    if std::env::var_os("CALLCONV_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &json).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == json,
        "{} is not what the report's serde definition writes: a field changed on the Rust \
         side. Rewrite it with CALLCONV_BLESS=1 cargo test -p callconv_core --test wire_shape, \
         then make Callconv.Wire and the Elixir structs decode it (mix test test/wire_test.exs)",
        path.display()
    );
}

#[test]
fn the_request_elixir_writes_sets_every_target_field_and_no_other() {
    let path = wire_fixture("request.json");
    let bytes = std::fs::read(&path).expect("written by mix test test/wire_test.exs");
    let request = CheckRequest::from_json(&bytes).expect("a request");

    // Every key Elixir sends for the target is a field of the Rust target...
    let sent: Value = serde_json::from_slice(&bytes).unwrap();
    let sent_keys: Vec<&String> = sent["target"].as_object().unwrap().keys().collect();
    let mut read = serde_json::to_value(&request.target).unwrap();
    // ...the three the document leaves out included (serialised here by hand).
    let t = &request.target;
    let object = read.as_object_mut().unwrap();
    object.insert("enif_exports".into(), serde_json::json!(t.enif_exports));
    object.insert("vm_exports".into(), serde_json::json!(t.vm_exports));
    object.insert("vm_bind_now".into(), serde_json::json!(t.vm_bind_now));
    let read_keys: Vec<&String> = object.keys().collect();
    assert_eq!(
        sent_keys, read_keys,
        "the Elixir target and the Rust target have different fields"
    );
    // ...and every field of the Rust target was set from it.
    let mut empty = Vec::new();
    unset(&read, "target", &mut empty);
    assert!(
        empty.is_empty(),
        "target fields Elixir did not set: {empty:?}"
    );
    assert!(request.module.is_some() && request.functions.is_some());
    assert!(request.declared_nifs.is_some() && request.probe_unsandboxed && request.exports);
}
