//! What a person reads: the text report's wording, on real libraries.

use std::path::{Path, PathBuf};

use callconv::report::Document;
use callconv::target::Target;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

fn finding(path: &Path, target: &Target, rule: &str) -> callconv::report::Finding {
    let report = callconv::check_path(path, target).expect("readable");
    report
        .findings
        .into_iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("{}: no {rule}", path.display()))
}

fn x86_64_linux() -> Target {
    Target::host()
        .for_triple("x86_64-unknown-linux-gnu")
        .expect("known triple")
}

#[test]
fn the_fix_for_a_wrong_architecture_names_the_producers_tool() {
    // A Rustler NIF (its .comment says rustc) gets cargo; a C NIF built by clang does not.
    let rust = fixtures().join("rustler/out/aarch64/0.39.0-strip.so");
    let hint = finding(&rust, &x86_64_linux(), "arch-mismatch").hint;
    assert!(
        hint.contains("cargo build --target <x86_64-triple>"),
        "{hint}"
    );

    let c = fixtures().join("cross/aarch64-linux-gnu/hello_nif.so");
    let hint = finding(&c, &x86_64_linux(), "arch-mismatch").hint;
    assert!(!hint.contains("cargo"), "{hint}");
    assert!(hint.contains("x86_64 cross compiler"), "{hint}");
}

#[test]
fn format_names_take_the_right_article() {
    let macos = Target::host()
        .for_triple("aarch64-apple-darwin")
        .expect("known triple");
    let elf = fixtures().join("cross/aarch64-linux-gnu/hello_nif.so");
    let message = finding(&elf, &macos, "format-mismatch").message;
    assert!(message.starts_with("this is an ELF file"), "{message}");

    let macho = fixtures().join("cross/aarch64-macos/hello_nif.so");
    let message = finding(&macho, &x86_64_linux(), "format-mismatch").message;
    assert!(message.starts_with("this is a Mach-O file"), "{message}");
}

#[test]
fn the_text_names_its_target_and_counts_in_agreement() {
    let target = x86_64_linux().with_otp(25).expect("in the table");
    let hello = fixtures().join("build/host/hello_nif.so");
    let report = callconv::check_path(&hello, &target).expect("readable");
    let doc = Document::new(target, vec![report], vec![]);
    let text = callconv::render::text_with(&doc, true);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "checked against OTP 25 (ERTS 13.0, NIF 2.16) on x86_64 linux, glibc"
    );
    // Every count agrees with its noun.
    for line in text.lines().filter(|l| l.starts_with("  function  ")) {
        assert!(!line.contains(" 1 exits"), "{line}");
        assert!(!line.contains(" 1 instructions"), "{line}");
    }
    assert!(text.contains(" 1 exit, "), "{text}");
    assert_eq!(
        callconv::render::hidden_line(1),
        "1 finding hidden by --ignore"
    );
    assert_eq!(
        callconv::render::hidden_line(3),
        "3 findings hidden by --ignore"
    );

    let unknown = callconv::render::target_line(&Target::host());
    assert!(
        unknown.starts_with("checked against no particular runtime (NIF version not checked) on "),
        "{unknown}"
    );
}

#[test]
fn the_text_report_shows_what_the_loader_reads_for_each_format() {
    let line = |path: &Path| {
        let report = callconv::check_path(path, &x86_64_linux()).expect("readable");
        let doc = Document::new(x86_64_linux(), vec![report.clone()], vec![]);
        let text = callconv::render::text(&doc);
        let line = text
            .lines()
            .find(|l| l.starts_with("  library   "))
            .map(str::to_string);
        (report, line)
    };

    let (macho, text) = line(&fixtures().join("cross/aarch64-macos/hello_nif.so"));
    let m = macho.macho.expect("Mach-O facts");
    let text = text.expect("a library line for Mach-O");
    assert!(text.contains(&m.file_type), "{text}");
    if let Some(min_os) = &m.min_os {
        assert!(text.contains(&format!(" {min_os}+")), "{text}");
    }
    if let Some(sdk) = &m.sdk {
        assert!(text.contains(&format!("(SDK {sdk})")), "{text}");
    }

    let (pe, text) = line(&fixtures().join("cross/x86_64-windows-gnu/hello_nif.dll"));
    let p = pe.pe.expect("PE facts");
    let text = text.expect("a library line for PE");
    assert!(
        text.contains(&format!("subsystem {}", p.subsystem)),
        "{text}"
    );
    assert_eq!(text.contains("nx-compat"), p.nx_compat, "{text}");
    assert_eq!(text.contains("dynamic-base"), p.dynamic_base, "{text}");

    // An ELF NIF with no SONAME, RUNPATH, RPATH or interpreter gets no line at all.
    let (elf, text) = line(&fixtures().join("cross/aarch64-linux-gnu/hello_nif.so"));
    let e = elf.elf.expect("ELF facts");
    match (
        &e.soname,
        &e.interpreter,
        e.runpath.is_empty() && e.rpath.is_empty(),
    ) {
        (None, None, true) => assert_eq!(text, None),
        (soname, _, _) => {
            let text = text.expect("a library line for ELF");
            if let Some(soname) = soname {
                assert!(text.contains(&format!("soname {soname}")), "{text}");
            }
        }
    }
}
