//! The exports mode on a library built for the purpose (`test/fixtures/src/exports_conventions.c`,
//! compiled here with Zig for i386 and x86-64 Linux): each function must be reported with
//! the conventions it was compiled for, the hand-written clobber with none and an
//! `export-no-convention` error, and data exports must be left out.

use std::path::{Path, PathBuf};
use std::process::Command;

use callconv::check::Analyse;
use callconv::report::{LibraryReport, Mode};
use callconv::target::Target;
use callconv::Options;

fn build(target: &str, test: &str) -> Option<PathBuf> {
    build_source("exports_conventions.c", target, test)
}

/// Builds `test/fixtures/src/<source>` as a shared library for `target` with Zig.
fn build_source(source: &str, target: &str, test: &str) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/fixtures/src")
        .join(source);
    let out = std::env::temp_dir().join(format!(
        "callconv-exports-{}-{test}-{target}.so",
        std::process::id()
    ));
    let status = Command::new("python3")
        .args([
            "-m", "ziglang", "cc", "-target", target, "-shared", "-fPIC", "-O2", "-o",
        ])
        .arg(&out)
        .arg(&src)
        .status()
        .ok()?;
    status.success().then_some(out)
}

fn exports_report(path: &Path) -> LibraryReport {
    let options = Options {
        analyse: Analyse::Exports,
        ..Options::new(Target::host())
    };
    callconv::check_path_with(path, &options).expect("readable")
}

/// `source` built for `target` and checked in the exports mode; `None`, with a SKIPPED line
/// naming `test`, when zig is not available.
fn source_report(source: &str, target: &str, test: &str) -> Option<LibraryReport> {
    let Some(lib) = build_source(source, target, test) else {
        eprintln!("SKIPPED {test}: python3 -m ziglang not available");
        return None;
    };
    let report = exports_report(&lib);
    let _ = std::fs::remove_file(&lib);
    Some(report)
}

fn matches(report: &LibraryReport, name: &str) -> Vec<String> {
    report
        .functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not reported"))
        .matches
        .clone()
        .expect("exports mode sets matches")
}

/// Whether the report has an `export-no-convention` error on function `name` whose message
/// says `what`.
fn has_error(report: &LibraryReport, name: &str, what: &str) -> bool {
    report.findings.iter().any(|f| {
        f.rule == "export-no-convention"
            && f.message.contains(&format!("function {name} at"))
            && f.message.contains(what)
    })
}

#[test]
fn i386_exports_are_told_apart_by_convention() {
    let Some(lib) = build("x86-linux-gnu", "i386") else {
        eprintln!(
            "SKIPPED i386_exports_are_told_apart_by_convention: python3 -m ziglang not available"
        );
        return;
    };
    let report = exports_report(&lib);
    let _ = std::fs::remove_file(&lib);
    assert_eq!(report.mode, Some(Mode::Exports));
    let summary = report.exports.as_ref().expect("summary");
    assert_eq!(
        summary.conventions,
        ["x86-cdecl-sysv", "x86-stdcall", "x86-fastcall-gcc"]
    );
    // plain_cdecl reads its stack arguments and returns with a plain ret: not stdcall.
    assert_eq!(matches(&report, "plain_cdecl"), ["x86-cdecl-sysv"]);
    // std_two pops its 8 bytes of arguments: stdcall (or a fastcall whose two arguments are
    // not integers, which the code cannot tell apart), never cdecl.
    let std_two = matches(&report, "std_two");
    assert!(std_two.contains(&"x86-stdcall".to_string()), "{std_two:?}");
    assert!(
        !std_two.contains(&"x86-cdecl-sysv".to_string()),
        "{std_two:?}"
    );
    // fast_three reads ecx and edx and pops its third argument.
    assert_eq!(matches(&report, "fast_three"), ["x86-fastcall-gcc"]);
    assert!(matches(&report, "bad_ebx").is_empty());
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule == "export-no-convention"
            && f.message.contains("bad_ebx")
            && f.message.contains("ebx")));
    assert_eq!(summary.errors, 1);
    // The data export is counted, not analysed.
    assert_eq!(summary.data, 1);
    assert!(report.functions.iter().all(|f| f.name != "exported_data"));
    // No NIF check runs on a plain library.
    assert!(report.findings.iter().all(|f| f.rule != "not-a-nif"));
}

#[test]
fn x86_64_exports_are_told_apart_by_convention() {
    let Some(lib) = build("x86_64-linux-gnu", "x86_64") else {
        eprintln!(
            "SKIPPED x86_64_exports_are_told_apart_by_convention: python3 -m ziglang not available"
        );
        return;
    };
    let report = exports_report(&lib);
    let _ = std::fs::remove_file(&lib);
    let summary = report.exports.as_ref().expect("summary");
    assert_eq!(summary.conventions, ["x86_64-sysv", "x86_64-win64"]);
    assert_eq!(matches(&report, "plain_sysv"), ["x86_64-sysv"]);
    assert_eq!(matches(&report, "win_three"), ["x86_64-win64"]);
    assert!(matches(&report, "bad_rbx").is_empty());
    assert_eq!(summary.errors, 1);
    assert_eq!(summary.budget_exhausted, None);
}

/// glibc calls its own `__chk_fail`, `__stack_chk_fail` and `abort` through hidden local
/// aliases, and ends `malloc` with a call to its local `malloc_printerr`; none of their code
/// shows that they never return, and the path after such a call ran into the next function's
/// bytes with the caller's frame still set up (Debian 12's libc `__strcat_chk`, `malloc`,
/// `strcoll`, on every architecture). The name of the export at the call's target ends the
/// path, as an import of that name does, and so does a call that ends its function's symbol.
#[test]
fn a_call_that_never_returns_ends_the_path() {
    let Some(report) = source_report(
        "exports_noreturn.c",
        "x86_64-linux-gnu",
        "a_call_that_never_returns_ends_the_path",
    ) else {
        return;
    };
    assert_eq!(matches(&report, "checked"), ["x86_64-sysv"]);
    assert_eq!(matches(&report, "sized_end"), ["x86_64-sysv"]);
    // Recall: the returning path's clobber is still found.
    assert!(matches(&report, "bad_checked").is_empty());
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule == "export-no-convention"
            && f.message.contains("bad_checked")
            && f.message.contains("rbx")));
    assert_eq!(report.exports.as_ref().expect("summary").errors, 1);
}

#[test]
fn the_total_budget_cuts_analysis_short_and_says_so() {
    let Some(lib) = build("x86_64-linux-gnu", "budget") else {
        eprintln!("SKIPPED the_total_budget_cuts_analysis_short_and_says_so: python3 -m ziglang not available");
        return;
    };
    let bytes = std::fs::read(&lib).expect("built");
    let _ = std::fs::remove_file(&lib);
    let binary =
        callconv::inspect::parse(&bytes[..], callconv::report::Arch::X86_64).expect("parses");
    let convention = callconv::conventions::by_id("x86_64-sysv").expect("model");
    // One instruction in all: the first function is cut at it, the others are not analysed.
    let budget = callconv::analysis::exports::Budget {
        function_instructions: 100,
        total_instructions: 1,
        total_states: 1_000,
    };
    let analysis = callconv::analysis::exports::analyze_exports(&binary, convention, &budget);
    assert_eq!(analysis.summary.analysed, 1);
    assert_eq!(analysis.summary.not_analysed, 2);
    assert_eq!(
        analysis.summary.budget_exhausted.as_deref(),
        Some("instructions")
    );
    assert!(callconv::rules::exports::check(&analysis)
        .iter()
        .any(|f| f.rule == "analysis-capped" && f.message.contains("were not analysed")));
}

/// GCC's AArch64 jump tables (`test/fixtures/src/exports_tables_aarch64.S`): byte offsets
/// read with `sxtb` are signed, so a case before the dispatch is reached (the twin's x20
/// clobber there is found), not a function 247 words further on; and a table dispatched on
/// the taken side of `cmp w0, #2; b.ls` has 3 entries, not the 41 of an earlier
/// `cmp w1, #40; b.hi` (Debian 12 arm64's zlib gz_open, PCRE2, libxml2, strptime, sysconf).
#[test]
fn aarch64_tables_read_signed_offsets_and_the_taken_bound() {
    let Some(report) = source_report(
        "exports_tables_aarch64.S",
        "aarch64-linux-gnu",
        "aarch64_tables_read_signed_offsets_and_the_taken_bound",
    ) else {
        return;
    };
    for name in ["signed_cases", "taken_bound"] {
        let m = matches(&report, name);
        assert!(m.iter().any(|c| c == "aarch64-aapcs64"), "{name}: {m:?}");
    }
    assert!(matches(&report, "signed_cases_clobber").is_empty());
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule == "export-no-convention"
            && f.message.contains("signed_cases_clobber")
            && f.message.contains("x20")));
    // The bystander really clobbers x19: the two it is not reached from are clean.
    assert!(matches(&report, "bystander").is_empty());
    assert_eq!(report.exports.as_ref().expect("summary").errors, 2);
}

/// gcc's i386 PIC idioms that Debian 12's libc and libm are full of
/// (`test/fixtures/src/exports_i386_stack.S`): the `lea` no-ops it pads with, glibc's system
/// call through `call *%gs:0x10`, glibc's `xchg` register restore, and a local callee over the
/// return probe's cap that pops its struct-return pointer with `ret $4`. Each fits cdecl; each
/// control, which really changes a register or the stack, is still caught.
#[test]
fn i386_pic_idioms_keep_registers_and_the_stack() {
    let Some(report) = source_report(
        "exports_i386_stack.S",
        "x86-linux-gnu",
        "i386_pic_idioms_keep_registers_and_the_stack",
    ) else {
        return;
    };
    let error = |name: &str, what: &str| has_error(&report, name, what);
    for good in [
        "pad_keeps_esi",
        "syscall_keeps_ebx",
        "xchg_keeps_edi",
        "calls_big_sret",
        "calls_huge_sret",
    ] {
        assert!(
            matches(&report, good).contains(&"x86-cdecl-sysv".to_string()),
            "{good}: {:?}",
            report.findings
        );
    }
    assert!(matches(&report, "pad_bad_esi").is_empty());
    assert!(error("pad_bad_esi", "changes esi"));
    assert!(matches(&report, "syscall_bad_ebx").is_empty());
    assert!(error("syscall_bad_ebx", "changes ebx"));
    assert!(matches(&report, "xchg_bad_edi").is_empty());
    assert!(error("xchg_bad_edi", "changes edi"));
    // The stack is followed past the call, not lost: the extra 4 bytes freed are seen.
    assert!(matches(&report, "calls_big_sret_bad").is_empty());
    assert!(error("calls_big_sret_bad", "stack pointer +4 bytes"));
    assert_eq!(report.exports.as_ref().expect("summary").errors, 4);
}

/// Calls that may not return, told by the compiler's call frame information
/// (`test/fixtures/src/exports_frames_i386.S`, after glibc's malloc family on i386): a path
/// that runs on from a call into a block whose row records another frame ends there, and a
/// call that ends its function's entry returns nowhere. The controls: a clobber the table
/// says nothing about is still caught, and without a table the old error stays.
#[test]
fn i386_paths_the_frame_table_rules_out_end() {
    let Some(report) = source_report(
        "exports_frames_i386.S",
        "x86-linux-gnu",
        "i386_paths_the_frame_table_rules_out_end",
    ) else {
        return;
    };
    let error = |name: &str, what: &str| has_error(&report, name, what);
    for good in ["printerr_inlined", "calls_printerr"] {
        assert!(
            matches(&report, good).contains(&"x86-cdecl-sysv".to_string()),
            "{good}: {:?}",
            report.findings
        );
    }
    assert!(matches(&report, "framed_bad_esi").is_empty());
    assert!(error("framed_bad_esi", "changes esi"));
    assert!(matches(&report, "printerr_inlined_no_cfi").is_empty());
    assert!(error("printerr_inlined_no_cfi", "stack pointer -16 bytes"));
    assert_eq!(report.exports.as_ref().expect("summary").errors, 2);
}

/// The frame table's saved registers (`test/fixtures/src/exports_frames_ppc64le.S`, after
/// glibc's malloc on ppc64el): a path that runs on from a call that may not return into a
/// block whose row has r29 back, with r29 changed, ends there. Without the table (the
/// control) the old error stays.
#[test]
fn ppc64le_paths_the_frame_table_rules_out_end() {
    let Some(report) = source_report(
        "exports_frames_ppc64le.S",
        "powerpc64le-linux-gnu",
        "ppc64le_paths_the_frame_table_rules_out_end",
    ) else {
        return;
    };
    assert!(
        matches(&report, "printerr_inlined").contains(&"ppc64-elfv2".to_string()),
        "{:?}",
        report.findings
    );
    assert!(matches(&report, "printerr_inlined_no_cfi").is_empty());
    assert!(has_error(&report, "printerr_inlined_no_cfi", "changes r29"));
    assert_eq!(report.exports.as_ref().expect("summary").errors, 1);
}

/// s390x code that lets its callee save registers for it
/// (`test/fixtures/src/exports_save_area_s390x.S`, after OpenSSL's aes-s390x in Debian 12's
/// libcrypto): a caller without a frame shares its register save area with its callee, so
/// r6-r13 it reloads from there after the call may be the ones the callee stored, and fit.
/// The control changes r6 before the call, which the callee then saves: still caught.
#[test]
fn s390x_callee_saves_into_a_frameless_callers_area() {
    let Some(report) = source_report(
        "exports_save_area_s390x.S",
        "s390x-linux-gnu",
        "s390x_callee_saves_into_a_frameless_callers_area",
    ) else {
        return;
    };
    assert!(
        matches(&report, "decrypt_key").contains(&"s390x-elf".to_string()),
        "{:?}",
        report.findings
    );
    assert!(matches(&report, "decrypt_key_bad").is_empty());
    assert!(has_error(&report, "decrypt_key_bad", "changes r6"));
    assert_eq!(report.exports.as_ref().expect("summary").errors, 1);
}

/// Two x86 idioms of gcc -O2 -fPIC code (`test/fixtures/src/exports_x86_idioms.S`): a jump
/// table bounded by a compare of memory, `cmpl $2,(%rbx); ja`, after an older compare of a
/// register with a larger bound (Debian 12 amd64's libffi `ffi_call_int`, whose table was
/// read past its end into the middle of an instruction), and `orl $-1,%edx`, which sets edx
/// without reading it (i386 libxml2 `xmlTextReaderPreservePattern`). Each control, a real
/// clobber through the table and an `or` that keeps edx's bits, is still caught.
#[test]
fn x86_memory_compare_bounds_and_or_minus_one() {
    let (Some(wide), Some(narrow)) = (
        build_source("exports_x86_idioms.S", "x86_64-linux-gnu", "x86-idioms"),
        build_source("exports_x86_idioms.S", "x86-linux-gnu", "x86-idioms"),
    ) else {
        eprintln!(
            "SKIPPED x86_memory_compare_bounds_and_or_minus_one: python3 -m ziglang not available"
        );
        return;
    };
    let wide_report = exports_report(&wide);
    let narrow_report = exports_report(&narrow);
    let _ = std::fs::remove_file(&wide);
    let _ = std::fs::remove_file(&narrow);
    assert_eq!(
        matches(&wide_report, "table_memory_bound"),
        ["x86_64-sysv"],
        "{:?}",
        wide_report.findings
    );
    assert!(matches(&wide_report, "table_memory_bound_bad").is_empty());
    assert!(has_error(
        &wide_report,
        "table_memory_bound_bad",
        "changes rbx"
    ));
    assert!(matches(&wide_report, "switch_b").contains(&"x86_64-sysv".to_string()));
    assert_eq!(wide_report.exports.as_ref().expect("summary").errors, 1);

    assert!(
        matches(&narrow_report, "or_minus_one").contains(&"x86-cdecl-sysv".to_string()),
        "{:?}",
        narrow_report.findings
    );
    assert!(matches(&narrow_report, "or_one_reads_edx").is_empty());
    assert!(has_error(&narrow_report, "or_one_reads_edx", "reads edx"));
    assert_eq!(narrow_report.exports.as_ref().expect("summary").errors, 1);
}

/// Loops whose every round moves the stack pointer and whose count only their data says
/// (`test/fixtures/src/exports_loop_frame_arm.S`, after OpenSSL's ARMv4 SHA-512 in Debian
/// 12's armhf and armel libcrypto), in Thumb-2 and A32: the stack pointer is given up after
/// the loop, not judged by a count the engine guessed, so each fits AAPCS. The control's
/// clobber, which no count changes, is still caught, and only it.
#[test]
fn arm_loops_that_move_the_stack_each_round() {
    let Some(report) = source_report(
        "exports_loop_frame_arm.S",
        "arm-linux-gnueabihf",
        "arm_loops_that_move_the_stack_each_round",
    ) else {
        return;
    };
    for good in ["table_rounds", "table_rounds_a32"] {
        assert!(
            !matches(&report, good).is_empty(),
            "{good}: {:?}",
            report.findings
        );
    }
    assert!(matches(&report, "table_rounds_bad").is_empty());
    let bad: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "export-no-convention")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].contains("function table_rounds_bad at") && bad[0].contains("changes r6"),
        "{bad:?}"
    );
    assert!(!bad[0].contains("changes r4"), "{bad:?}");
}

/// 32-bit Arm code that picks its way by flags set far from the test
/// (`test/fixtures/src/exports_flags_arm.S`, after OpenSSL's ARMv4 SHA-1 and SHA-256 in
/// Debian 12's armhf and armel libcrypto): a loop run twice and told apart by the carry, in
/// Thumb-2 and A32, and two IT blocks testing one flag. Only the paths a CPU can take are
/// followed, so each fits AAPCS; and a jump table bounded by a register compare is sized by
/// it, not by an older `cmp r, #imm` (Debian 12 armhf SQLite's `sqlite3Parser`). Each
/// control, whose bad path is feasible, is still caught.
#[test]
fn arm_flags_decide_correlated_tests() {
    let Some(report) = source_report(
        "exports_flags_arm.S",
        "arm-linux-gnueabihf",
        "arm_flags_decide_correlated_tests",
    ) else {
        return;
    };
    let error = |name: &str| has_error(&report, name, "");
    for good in ["carry_loop", "carry_loop_a32", "it_pair", "register_bound"] {
        assert!(
            !matches(&report, good).is_empty() && !error(good),
            "{good}: {:?}",
            report.findings
        );
    }
    for bad in ["carry_loop_bad", "it_pair_bad", "register_bound_bad"] {
        assert!(matches(&report, bad).is_empty(), "{bad}");
        assert!(error(bad), "{bad}: {:?}", report.findings);
    }
    assert_eq!(report.exports.as_ref().expect("summary").errors, 3);
}
