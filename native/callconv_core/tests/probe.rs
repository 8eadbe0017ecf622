//! The opt-in probe: it agrees with the static decoder on every host fixture, it catches
//! what only running nif_init shows, and without it nothing from the library ever runs.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use callconv::probe::{self, Hang, Outcome};
use callconv::report::Kind;
use common::{host_fixture, otp25, otp_nif};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_callconv"))
}

fn without_method(mut e: callconv::report::NifEntry) -> callconv::report::NifEntry {
    e.decoded_by.clear();
    e
}

#[test]
fn the_probe_agrees_with_the_static_decoder_on_every_host_fixture() {
    let mut nifs: Vec<PathBuf> = std::fs::read_dir(host_fixture("hello_nif.so").parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .collect();
    nifs.push(otp_nif("crypto-", "crypto.so"));
    nifs.push(otp_nif("asn1-", "asn1rt_nif.so"));
    nifs.sort();
    let mut compared = 0;
    for path in &nifs {
        let Ok(report) = callconv::check_path(path, &otp25()) else {
            continue; // unreadable fixtures (truncated.so) are not NIFs the probe could run
        };
        if report.kind != Kind::Nif {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        match probe::run(&exe(), path) {
            Outcome::Entry(mut probed) => {
                let mut decoded = report.nif.expect("statically decoded");
                if name == "custom_v2_5.so" {
                    // Declares 2.5 (old 3-field ErlNifFunc) but was compiled with the 4-field
                    // layout: past the first entry both sides read misaligned garbage, which
                    // the BEAM never reads either (it refuses 2.5 first).
                    probed.functions.truncate(1);
                    decoded.functions.truncate(1);
                }
                assert_eq!(without_method(probed), without_method(decoded), "{name}");
                compared += 1;
            }
            // The sandbox refuses writable and executable memory, so the loader can neither
            // make the stack executable (glibc 2.41 and later refuse that library too) nor
            // map a writable and executable segment.
            Outcome::Failed(msg) if name == "exec_stack.so" => {
                assert!(msg.contains("cannot enable executable stack"), "{msg}")
            }
            Outcome::Failed(msg) if name == "rwx_segment.so" => {
                assert!(msg.contains("failed to map segment"), "{msg}")
            }
            // Only these cannot run in the probe: the API call at init, the hidden init, the
            // dependencies that are nowhere on this machine's loader path, the executables
            // dlopen refuses, and the x86-64-v4 marker that glibc refuses on a CPU below v4.
            other => assert!(
                name.starts_with("new_api")
                    || name.starts_with("custom_hidden_init")
                    || name.starts_with("needs_dep_missing")
                    || name.starts_with("exe_")
                    || name.starts_with("isa_v4")
                    || name.starts_with("needs_ver"),
                "{name}: {other:?}"
            ),
        }
    }
    assert!(compared >= 12, "compared only {compared} fixtures");
}

#[test]
fn nothing_runs_without_the_probe() {
    // The constructor writes <library>.marker when it may: use a private copy.
    let dir = std::env::temp_dir().join(format!("callconv-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("constructor_marker.so");
    std::fs::copy(host_fixture("constructor_marker.so"), &lib).unwrap();
    let marker = dir.join("constructor_marker.so.marker");
    let _ = std::fs::remove_file(&marker);

    let report = callconv::check_path(&lib, &otp25()).unwrap();
    assert_eq!(report.kind, Kind::Nif);
    assert!(
        !marker.exists(),
        "a static check ran the library's constructor"
    );

    // Unsandboxed, the constructor runs with the user's rights and writes its marker; the
    // report says the probe ran without its sandbox.
    let options = callconv::Options {
        probe: Some(exe()),
        probe_confinement: probe::Confinement::Unsandboxed,
        ..callconv::Options::new(otp25())
    };
    let probed = callconv::check_path_with(&lib, &options).unwrap();
    assert!(marker.exists(), "the probe did not run the library");
    let rules: Vec<&str> = probed.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["nif-probe-unsandboxed"]);
    std::fs::remove_file(&marker).unwrap();

    // In the sandbox, nif_init runs (its entry agrees: no finding) but the constructor's
    // write is refused (tests/probe_sandbox.rs checks every other escape).
    let options = callconv::Options {
        probe: Some(exe()),
        ..callconv::Options::new(otp25())
    };
    let probed = callconv::check_path_with(&lib, &options).unwrap();
    assert_eq!(probed.findings, vec![]);
    assert!(!marker.exists(), "the sandboxed constructor wrote a file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_probe_reports_what_it_cannot_run() {
    // The truncated copy cannot even be dlopen'ed (or dies trying): either way, no entry.
    match probe::run(&exe(), &host_fixture("truncated.so")) {
        Outcome::Failed(msg) => assert!(msg.contains("dlopen failed"), "{msg}"),
        Outcome::Crashed(_) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        probe::run(&exe(), Path::new("/nonexistent.so")),
        Outcome::Failed(_)
    ));
}

/// Which budget one of the slow_init.c fixtures uses up, probed in the sandbox with `limits`.
fn hang_of(variant: &str, limits: probe::Limits) -> Hang {
    host_fixture("hello_nif.so"); // builds the fixtures
    let library = common::repo().join(format!("test/fixtures/build/probe/slow_init_{variant}.so"));
    match probe::run_limited(&exe(), &library, probe::Confinement::Sandboxed, limits) {
        Outcome::Hung(hang) => hang,
        other => panic!("{variant}: {other:?}"),
    }
}

/// A budget no test child reaches, so that only the other one is tested.
const AMPLE: Duration = Duration::from_secs(60);

#[test]
fn a_nif_init_that_computes_forever_uses_up_its_cpu_time() {
    let cpu = Duration::from_secs(1);
    let hang = hang_of(
        "spin",
        probe::Limits {
            cpu,
            waiting: AMPLE,
        },
    );
    assert_eq!(hang, Hang::Computing(cpu));
}

#[test]
fn a_nif_init_that_waits_forever_uses_up_its_waiting_time() {
    let waiting = Duration::from_millis(300);
    let hang = hang_of(
        "pause",
        probe::Limits {
            cpu: AMPLE,
            waiting,
        },
    );
    assert_eq!(hang, Hang::Waiting(waiting));
}

/// nif_init's own thread waits for a worker that computes for longer than the waiting
/// budget. The worker runs or is ready to run all along, on a loaded machine too, so none of
/// it is waiting: the probe gets the entry. A wall-clock limit of the same length (what the
/// probe had before) kills it.
#[test]
fn waiting_for_a_thread_that_computes_is_not_waiting() {
    let limits = probe::Limits {
        cpu: AMPLE,
        waiting: Duration::from_millis(100),
    };
    let library = common::repo().join("test/fixtures/build/probe/slow_init_worker.so");
    host_fixture("hello_nif.so"); // builds the fixtures
    match probe::run_limited(&exe(), &library, probe::Confinement::Sandboxed, limits) {
        Outcome::Entry(entry) => assert_eq!(entry.module, "Elixir.Callconv.Fixtures.SlowInit"),
        other => panic!("{other:?}"),
    }
}
