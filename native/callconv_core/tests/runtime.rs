//! The built-in runtime table against a real runtime, and the verdicts it drives.

mod common;

use callconv::report::Arch;
use callconv::rules::Severity;
use callconv::runtime;
use common::{host_fixture, otp25};

#[test]
fn the_table_matches_the_real_otp25_beam() {
    let target = runtime::read_erts(std::path::Path::new("/usr/lib/erlang")).unwrap();
    assert_eq!(target.erts_version.as_deref(), Some("13.1.5"));
    assert_eq!(target.otp_release.as_deref(), Some("25"));
    assert_eq!(target.nif_version.as_deref(), Some("2.16"));
    assert_eq!(target.arch, Arch::X86_64);
    assert_eq!(target.bits, 64);
    assert_eq!(target.libc.as_deref(), Some("gnu"));
    let real = target.enif_exports.unwrap();
    let mut table = runtime::enif_symbols((2, 16), true);
    table.sort();
    assert_eq!(
        real.len(),
        169,
        "OTP 25.2.3 x86-64 exports 169 enif_* symbols"
    );
    assert_eq!(real, table);
}

#[test]
fn otp_release_lines() {
    assert_eq!(runtime::otp_release(25).map(|r| r.nif), Some((2, 16)));
    assert_eq!(runtime::otp_release(29).map(|r| r.nif), Some((2, 18)));
    assert_eq!(runtime::otp_for_erts("13.1.5").map(|r| r.otp), Some(25));
    assert_eq!(runtime::otp_for_erts("erts-10.7").map(|r| r.otp), Some(22));
    assert_eq!(runtime::otp_for_erts("10.3").map(|r| r.otp), Some(21));
    assert_eq!(runtime::otp_for_erts("18.0"), None);
    assert!(otp25().with_otp(20).is_err());
    // 2.17 added enif_set_option; 2.18 enif_term_size.
    assert!(!runtime::enif_symbols((2, 16), true).contains(&"enif_set_option".to_string()));
    assert!(runtime::enif_symbols((2, 17), true).contains(&"enif_set_option".to_string()));
    assert!(runtime::enif_symbols((2, 18), true).contains(&"enif_term_size".to_string()));
    // The *int64 functions are symbols only where long is 32 bits.
    assert!(!runtime::enif_symbols((2, 16), true).contains(&"enif_get_int64".to_string()));
    assert!(runtime::enif_symbols((2, 16), false).contains(&"enif_get_int64".to_string()));
}

fn rules(report: &callconv::report::LibraryReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

#[test]
fn an_older_otp_from_the_table_refuses_a_newer_nif() {
    let otp23 = otp25().with_otp(23).unwrap();
    let report = callconv::check_path(&host_fixture("hello_nif.so"), &otp23).unwrap();
    assert_eq!(
        rules(&report),
        vec![("nif-version-too-new", Severity::Error)]
    );
    assert!(report.findings[0].message.contains("NIF 2.15"));
    let otp27 = otp25().with_otp(27).unwrap();
    assert!(callconv::check_path(&host_fixture("hello_nif.so"), &otp27)
        .unwrap()
        .findings
        .is_empty());
}

#[test]
fn module_and_function_table_against_the_calling_module() {
    let path = host_fixture("custom_ok.so");
    let mut options = callconv::Options::new(otp25());
    options.module = Some("Elixir.Callconv.Fixtures.Custom".into());
    options.functions = Some(vec![
        ("f".into(), 0),
        ("g".into(), 1),
        ("module_info".into(), 0),
    ]);
    assert!(callconv::check_path_with(&path, &options)
        .unwrap()
        .findings
        .is_empty());

    options.functions = Some(vec![("f".into(), 0)]);
    let report = callconv::check_path_with(&path, &options).unwrap();
    assert_eq!(
        rules(&report),
        vec![("nif-function-not-in-module", Severity::Error)]
    );
    assert!(report.findings[0]
        .message
        .contains("Function not found Elixir.Callconv.Fixtures.Custom:g/1"));

    options.module = Some("Elixir.Other".into());
    let report = callconv::check_path_with(&path, &options).unwrap();
    assert_eq!(
        rules(&report),
        vec![("nif-module-mismatch", Severity::Error)]
    );
}

#[test]
fn a_driver_given_to_load_nif_is_an_error() {
    let mut options = callconv::Options::new(otp25());
    assert_eq!(
        rules(&callconv::check_path_with(&host_fixture("driver.so"), &options).unwrap()),
        vec![("not-a-nif", Severity::Info)]
    );
    options.module = Some("Elixir.M".into());
    assert_eq!(
        rules(&callconv::check_path_with(&host_fixture("driver.so"), &options).unwrap()),
        vec![("not-a-nif", Severity::Error)]
    );
}

#[test]
fn libc_flavour_and_glibc_floor() {
    // crypto.so needs glibc; on a musl target that is an error, on an old glibc too.
    let crypto = common::otp_nif("crypto-", "crypto.so");
    let mut musl = otp25();
    musl.libc = Some("musl".into());
    let report = callconv::check_path(&crypto, &musl).unwrap();
    assert_eq!(rules(&report), vec![("libc-mismatch", Severity::Error)]);

    let mut old = otp25();
    old.libc = Some("gnu".into());
    old.libc_version = Some("2.2.5".into());
    let report = callconv::check_path(&crypto, &old).unwrap();
    assert_eq!(rules(&report), vec![("glibc-too-new", Severity::Error)]);
    assert!(report.findings[0].message.contains("GLIBC_2."));

    old.libc_version = Some("2.36".into());
    assert!(callconv::check_path(&crypto, &old)
        .unwrap()
        .findings
        .is_empty());
}

#[test]
fn an_api_function_the_runtime_lacks() {
    let path = host_fixture("new_api.so");
    let otp25_real = runtime::read_erts(std::path::Path::new("/usr/lib/erlang")).unwrap();
    let report = callconv::check_path(&path, &otp25_real).unwrap();
    assert_eq!(rules(&report), vec![("enif-missing", Severity::Error)]);
    assert!(report.findings[0]
        .message
        .contains("enif_set_option (NIF 2.17)"));
    // OTP 26 has it (and NIF 2.17 accepts the library's 2.16 entry).
    let otp26 = otp25().with_otp(26).unwrap();
    assert!(callconv::check_path(&path, &otp26)
        .unwrap()
        .findings
        .is_empty());
}

#[test]
fn a_hidden_init_is_not_a_missing_one() {
    let report = callconv::check_path(&host_fixture("custom_hidden_init.so"), &otp25()).unwrap();
    assert_eq!(
        rules(&report),
        vec![("nif-init-not-exported", Severity::Error)]
    );
    assert!(report.findings[0].message.contains("not exported"));
}

/// Debian trixie's OTP 27, unpacked by test/fixtures/trixie.sh (fetched on first use).
fn trixie() -> Option<std::path::PathBuf> {
    common::trixie_root().map(|root| root.join("usr/lib/erlang"))
}

#[test]
fn the_table_matches_the_real_otp27_beam_of_debian_trixie() {
    let Some(root) = trixie() else { return };
    let target = runtime::read_erts(&root).unwrap();
    assert_eq!(target.otp_release.as_deref(), Some("27"));
    assert_eq!(target.nif_version.as_deref(), Some("2.17"));
    assert!(target.erts_version.as_deref().unwrap().starts_with("15."));
    let mut table = runtime::enif_symbols((2, 17), true);
    table.sort();
    assert_eq!(target.enif_exports.unwrap(), table);
}

#[test]
fn trixies_crypto_is_too_new_for_otp25_and_fine_for_its_own_runtime() {
    let Some(root) = trixie() else { return };
    let crypto = std::fs::read_dir(root.join("lib"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("crypto-"))
        .unwrap()
        .path()
        .join("priv/lib/crypto.so");
    let mut otp25_here = runtime::read_erts(std::path::Path::new("/usr/lib/erlang")).unwrap();
    otp25_here.libc_version = Some("2.36".into()); // Debian 12's glibc
    let report = callconv::check_path(&crypto, &otp25_here).unwrap();
    let ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(
        ids.contains(&"nif-version-too-new"),
        "{:?}",
        report.findings
    );
    assert_eq!(
        report.nif.as_ref().map(|n| (n.major, n.minor)),
        Some((2, 17))
    );
    assert_eq!(report.verdict, callconv::report::Verdict::Fail);

    let otp27 = runtime::read_erts(&root).unwrap();
    let report = callconv::check_path(&crypto, &otp27).unwrap();
    // Only information (the code analysis may note a capped function) on its own runtime.
    assert_eq!(
        report.verdict,
        callconv::report::Verdict::Pass,
        "{:?}",
        report.findings
    );
    assert!(report.findings.iter().all(|f| f.severity == Severity::Info));
}

#[test]
fn a_needed_library_the_loader_cannot_find() {
    // The running machine is the target: its loader path decides.
    let mut here = otp25();
    here.source = callconv::target::TargetSource::RunningVm;
    let report = callconv::check_path(&host_fixture("needs_dep_missing.so"), &here).unwrap();
    let ids: Vec<(&str, Severity)> = rules(&report);
    assert_eq!(ids, vec![("needed-missing", Severity::Error)]);
    assert!(report.findings[0].message.contains("libcallconv_dep.so.1"));
    // RUNPATH $ORIGIN/deps finds the same library beside the NIF.
    let report = callconv::check_path(&host_fixture("needs_dep_origin.so"), &here).unwrap();
    assert_eq!(rules(&report), vec![]);
    // Another machine's file system is not this one's: no guess.
    let report = callconv::check_path(&host_fixture("needs_dep_missing.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![]);
}

#[test]
fn hardening_executable_stack_rwx_and_text_relocations() {
    let report = callconv::check_path(&host_fixture("exec_stack.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![("exec-stack", Severity::Warning)]);
    // glibc 2.41 refuses to load it at all.
    let mut new_glibc = otp25();
    new_glibc.libc = Some("gnu".into());
    new_glibc.libc_version = Some("2.41".into());
    let report = callconv::check_path(&host_fixture("exec_stack.so"), &new_glibc).unwrap();
    assert_eq!(rules(&report), vec![("exec-stack", Severity::Error)]);

    let report = callconv::check_path(&host_fixture("rwx_segment.so"), &otp25()).unwrap();
    assert_eq!(rules(&report), vec![("rwx-segment", Severity::Warning)]);
    let report = callconv::check_path(&host_fixture("textrel.so"), &otp25()).unwrap();
    assert_eq!(
        rules(&report),
        vec![
            ("textrel", Severity::Warning),
            ("not-a-nif", Severity::Info)
        ]
    );
    // A normal build has none of them.
    assert_eq!(
        rules(&callconv::check_path(&host_fixture("hello_nif.so"), &otp25()).unwrap()),
        vec![]
    );
}

/// `--target TRIPLE`: the platform comes from the triple, the runtime versions stay.
#[test]
fn a_target_triple_sets_the_platform() {
    use callconv::report::Endian;
    let on = |triple: &str| otp25().for_triple(triple).expect(triple);
    let t = on("armv7-unknown-linux-gnueabihf");
    assert_eq!((t.arch, t.bits, t.endian), (Arch::Arm, 32, Endian::Little));
    assert_eq!(t.libc.as_deref(), Some("gnu"));
    assert_eq!(t.abi_variant.as_deref(), Some("eabi5-hard-float"));
    assert_eq!(
        t.nif_version.as_deref(),
        Some("2.16"),
        "the OTP 25 runtime stays"
    );
    let t = on("powerpc64-unknown-linux-gnu");
    assert_eq!(
        (t.endian, t.abi_variant.as_deref()),
        (Endian::Big, Some("elfv1"))
    );
    let t = on("mips64el-unknown-linux-gnuabi64");
    assert_eq!(
        (t.arch, t.abi_variant.as_deref()),
        (Arch::Mips64, Some("n64"))
    );
    let t = on("x86_64-unknown-linux-musl");
    assert_eq!(t.libc.as_deref(), Some("musl"));
    let t = on("aarch64-apple-darwin");
    assert_eq!((t.os.as_str(), t.libc.as_deref()), ("macos", Some("macos")));
    let t = on("aarch64-linux-android");
    assert_eq!(
        (t.os.as_str(), t.libc.as_deref()),
        ("android", Some("bionic"))
    );
    assert!(otp25().for_triple("z80-unknown-none").is_err());
    assert!(otp25().for_triple("").is_err());

    // The cross fixtures against triples: each fits its own and is refused by the others.
    let fixture = |dir: &str, file: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../test/fixtures/cross")
            .join(dir)
            .join(file)
    };
    let errors = |path: std::path::PathBuf, triple: &str| -> Vec<String> {
        let report = callconv::check_path(&path, &on(triple)).expect("reads");
        report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule.clone())
            .collect()
    };
    let armhf = || fixture("arm-linux-gnueabihf", "hello_nif.so");
    assert_eq!(
        errors(armhf(), "armv7-unknown-linux-gnueabihf"),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(armhf(), "arm-unknown-linux-gnueabi"),
        ["abi-mismatch"]
    );
    assert_eq!(
        errors(armhf(), "aarch64-unknown-linux-gnu"),
        ["arch-mismatch"]
    );
    let musl = || fixture("x86_64-linux-musl", "libc_user.so");
    assert_eq!(
        errors(musl(), "x86_64-unknown-linux-musl"),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(musl(), "x86_64-unknown-linux-gnu"),
        ["libc-mismatch"]
    );
    let mac = fixture("aarch64-macos", "hello_nif.so");
    assert_eq!(
        errors(mac.clone(), "aarch64-apple-darwin"),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(mac, "aarch64-unknown-linux-gnu"),
        ["format-mismatch"]
    );
}
