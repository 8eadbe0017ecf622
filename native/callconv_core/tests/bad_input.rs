//! Inputs that are not a loadable library must come back as clear errors, quickly, and never
//! block, crash or balloon.

mod common;

use std::path::{Path, PathBuf};

use common::{host_fixture, otp25};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callconv-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn reason_of(path: &Path) -> String {
    let err = callconv::check_path(path, &otp25()).expect_err("must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains(&*path.to_string_lossy()),
        "the message names the path: {msg}"
    );
    err.reason().to_string()
}

#[test]
fn a_missing_path() {
    assert_eq!(
        reason_of(Path::new("/nonexistent/libnothing.so")),
        "not-found"
    );
}

#[test]
fn a_directory() {
    assert_eq!(reason_of(&std::env::temp_dir()), "not-regular");
}

#[test]
fn an_empty_file() {
    let p = tmp("empty.so");
    std::fs::write(&p, b"").unwrap();
    assert_eq!(reason_of(&p), "empty");
}

#[test]
fn a_text_file() {
    let p = tmp("text.so");
    std::fs::write(&p, b"this is not a shared library\n").unwrap();
    assert_eq!(reason_of(&p), "unknown-format");
}

#[test]
fn dev_zero() {
    assert_eq!(reason_of(Path::new("/dev/zero")), "not-regular");
}

#[test]
fn a_fifo_does_not_block() {
    let p = tmp("fifo.so");
    let _ = std::fs::remove_file(&p);
    let status = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening a FIFO for reading would block until a writer comes: returning at all is the
    // property (a hang fails through the test harness), not how fast.
    assert_eq!(reason_of(&p), "not-regular");
}

#[test]
fn a_truncated_library_at_every_cut() {
    let full = std::fs::read(host_fixture("hello_nif.so")).unwrap();
    // The committed cut (half the file) first, then cuts all through the headers and beyond.
    assert_eq!(reason_of(&host_fixture("truncated.so")), "malformed");
    let mut cuts: Vec<usize> = (1..256).collect();
    cuts.extend((256..full.len()).step_by(97));
    for cut in cuts {
        let result = callconv::check_bytes(&full[..cut], "cut.so", &otp25());
        let err = result.expect_err(&format!("a cut at {cut} bytes must be refused"));
        assert!(
            matches!(err.reason(), "malformed" | "unknown-format"),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn an_unreadable_file() {
    let p = tmp("noperm.so");
    std::fs::copy(host_fixture("hello_nif.so"), &p).unwrap();
    let dir = p.parent().unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(dir)
        .status()
        .unwrap();
    std::process::Command::new("chmod")
        .arg("000")
        .arg(&p)
        .status()
        .unwrap();
    // Root reads anything, so run the command-line tool as nobody when we are root.
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if is_root {
        let exe = env!("CARGO_BIN_EXE_callconv");
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                exe,
                "check",
                "--format",
                "json",
            ])
            .arg(&p)
            .output()
            .expect("setpriv (util-linux) runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("\"reason\": \"permission-denied\""),
            "{stdout}"
        );
    } else {
        assert_eq!(reason_of(&p), "permission-denied");
    }
}
