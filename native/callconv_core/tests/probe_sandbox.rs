//! The probe's sandbox, against a hostile NIF (test/fixtures/src/hostile.c) whose constructor
//! and nif_init try every escape and report each attempt's errno through the entry they
//! return (function "ctor_<attempt>" / "init_<attempt>", arity = errno, 0 = it worked).
//!
//! These tests need what the sandbox needs: Linux with Landlock and seccomp. A machine
//! without them fails here with the sandbox's own message, unless CALLCONV_TEST_NO_SANDBOX=1
//! says that this is known (the refusal tests still run).
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use callconv::probe::{self, Outcome};
use common::{host_fixture, repo};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_callconv"))
}

fn private_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callconv-sandbox-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The sandbox is expected here, or this machine is known to lack it.
fn sandbox_expected() -> bool {
    std::env::var_os("CALLCONV_TEST_NO_SANDBOX").is_none()
}

/// What each attempt must end with inside the sandbox (an errno; 0 for the two controls that
/// must succeed), and which layer stops it.
const EXPECTED: &[(&str, i32)] = &[
    // Landlock: nothing may be created or read outside the library's closure.
    ("write_tmp", libc::EACCES),
    ("write_cwd", libc::EACCES),
    ("read_passwd", libc::EACCES),
    ("read_home", libc::EACCES),
    ("read_sibling", libc::EACCES),
    ("list_library_dir", libc::EACCES),
    // The parent's environment never reaches the child.
    ("env_canary", libc::ENOENT),
    ("env_any", libc::ENOENT),
    // seccomp.
    ("connect_tcp", libc::EPERM),
    ("system_shell", libc::EPERM),
    ("fork", libc::EPERM),
    ("execve", libc::EPERM),
    ("ptrace_traceme", libc::EPERM),
    ("mprotect_rwx", libc::EPERM),
    ("mmap_rwx", libc::EPERM),
    ("setuid_root", libc::EPERM),
    ("setgid_root", libc::EPERM),
    ("unshare_user", libc::EPERM),
    ("kill_parent", libc::EPERM),
    // PR_SET_NO_NEW_PRIVS is set and stays set.
    ("no_new_privs_unset", libc::EPERM),
    // Every descriptor past stderr was closed before the library loaded.
    ("write_inherited_fd", libc::EBADF),
    // What a library may still do: start a thread, read its own file.
    ("thread", 0),
    ("read_own_library", 0),
];

#[test]
fn a_hostile_library_escapes_nowhere_and_the_probe_still_returns_its_entry() {
    // The canary: a token in the parent's environment the library must not see. Only this
    // test of this binary touches the environment.
    std::env::set_var("CALLCONV_CANARY_TOKEN", "ghp_callconv_canary_must_not_leak");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    host_fixture("hello_nif.so"); // builds the fixtures
    let dir = private_dir("hostile");
    let library = dir.join(format!("hostile-{port}.so"));
    std::fs::copy(
        repo().join("test/fixtures/build/probe/hostile.so"),
        &library,
    )
    .unwrap();
    std::fs::write(dir.join("secret.txt"), "secret\n").unwrap();
    // A descriptor left inheritable, as a careless parent would.
    let inherited_path = dir.join("inherited.txt");
    let inherited = std::fs::File::create(&inherited_path).unwrap();
    // SAFETY: clearing FD_CLOEXEC on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::fcntl(inherited.as_raw_fd(), libc::F_SETFD, 0) },
        0
    );
    for escaped in [
        "/tmp/callconv-probe-escaped",
        "/tmp/callconv-probe-escaped-shell",
    ] {
        let _ = std::fs::remove_file(escaped);
    }

    let outcome = probe::run(&exe(), &library);
    drop(inherited);
    std::env::remove_var("CALLCONV_CANARY_TOKEN");
    let entry = match outcome {
        Outcome::Entry(entry) => entry,
        Outcome::Refused(missing) if !sandbox_expected() => {
            eprintln!("no sandbox on this machine ({missing}); CALLCONV_TEST_NO_SANDBOX is set");
            return;
        }
        other => panic!("the probe gave no entry: {other:?}"),
    };
    assert_eq!(entry.module, "Elixir.Callconv.Fixtures.Hostile");
    let results: BTreeMap<&str, u32> = entry
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.arity))
        .collect();
    assert_eq!(results.len(), 2 * EXPECTED.len(), "{results:?}");
    let mut wrong = Vec::new();
    for (attempt, errno) in EXPECTED {
        for stage in ["ctor", "init"] {
            let name = format!("{stage}_{attempt}");
            let got = results.get(name.as_str()).copied();
            if got != Some(*errno as u32) {
                wrong.push(format!(
                    "{name}: expected {}, got {}",
                    std::io::Error::from_raw_os_error(*errno),
                    match got {
                        Some(0) => "success".to_string(),
                        Some(e) => std::io::Error::from_raw_os_error(e as i32).to_string(),
                        None => "nothing".to_string(),
                    }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // And the world agrees: nothing written, nothing connected.
    assert!(matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock));
    assert_eq!(std::fs::read(&inherited_path).unwrap(), b"");
    assert!(!Path::new("/tmp/callconv-probe-escaped").exists());
    assert!(!Path::new("/tmp/callconv-probe-escaped-shell").exists());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `callconv check --probe ... --format json` with `env`, and the probe findings it reports.
fn probe_findings(args: &[&str], library: &Path, env: &[(&str, &str)]) -> Vec<(String, String)> {
    let out = Command::new(exe())
        .args(["check", "--format", "json"])
        .args(args)
        .arg(library)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["libraries"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(rule, _)| rule.starts_with("nif-probe"))
        .collect()
}

#[test]
fn without_its_sandbox_the_probe_refuses_and_says_what_is_missing() {
    // The constructor writes <library>.marker when it can: it shows whether anything ran.
    let dir = private_dir("refused");
    let library = dir.join("constructor_marker.so");
    std::fs::copy(host_fixture("constructor_marker.so"), &library).unwrap();
    let marker = dir.join("constructor_marker.so.marker");

    for (layer, named) in [
        ("landlock", "Landlock"),
        ("seccomp", "seccomp"),
        ("no_new_privs", "PR_SET_NO_NEW_PRIVS"),
    ] {
        let env = [(probe::PRETEND_MISSING_ENV, layer)];
        let findings = probe_findings(&["--probe"], &library, &env);
        assert_eq!(findings.len(), 1, "{layer}: {findings:?}");
        let (rule, message) = &findings[0];
        assert_eq!(rule, "nif-probe-refused");
        assert!(message.contains(named), "{layer}: {message}");
        assert!(!marker.exists(), "{layer}: the library ran");
    }

    // Explicitly unsandboxed, it runs anyway (the constructor writes its marker), and says so.
    let env = [(probe::PRETEND_MISSING_ENV, "landlock")];
    let findings = probe_findings(&["--probe-unsandboxed"], &library, &env);
    let rules: Vec<&str> = findings.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rules, ["nif-probe-unsandboxed"]);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "constructor ran\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_relative_path_is_the_file_in_the_working_directory() {
    // dlopen("hello_nif.so") would search the loader's path and fail; the probe makes the
    // path absolute first.
    let library = host_fixture("hello_nif.so");
    let out = Command::new(exe())
        .args(["check", "--probe", "--format", "json", "hello_nif.so"])
        .current_dir(library.parent().unwrap())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["libraries"][0]["findings"].as_array().unwrap();
    if !sandbox_expected() && findings.iter().any(|f| f["rule"] == "nif-probe-refused") {
        return;
    }
    assert_eq!(findings, &Vec::<serde_json::Value>::new(), "{doc}");
    assert_eq!(
        doc["libraries"][0]["nif"]["module"],
        "Elixir.Callconv.Fixtures.Hello"
    );
}
