//! The opt-in probe: run a library's `nif_init` for real, in a separate short-lived process
//! with resource limits and a time limit, and read back the entry it returns. It cross-checks
//! the static decoder and covers what it cannot decode. Never used unless asked for.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::NifEntry;

/// How long the child may run.
pub const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Address-space limit of the child.
pub const MEMORY_LIMIT: u64 = 1 << 30;
/// Most bytes of output read from the child.
const MAX_OUTPUT: u64 = 16 << 20;

/// What running `nif_init` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned this entry.
    Entry(NifEntry),
    /// The process died from a signal (the VM would have died the same way).
    Crashed(i32),
    /// It did not finish within [`TIME_LIMIT`].
    TimedOut,
    /// It could not run, or returned nothing usable; the message says why.
    Failed(String),
}

/// The line the child writes to stderr when a fatal signal hits it (see the probe child).
pub const SIGNAL_MARK: &str = "callconv-probe: signal ";

/// Runs `probe_exe probe LIBRARY` and interprets the result. `probe_exe` is callconv's
/// command-line tool, which exports stub `enif_*` symbols for the library to bind to.
///
/// The child reports its own fate on its pipes (JSON on success, a [`SIGNAL_MARK`] line when a
/// fatal signal hits it), because its exit status is not always there to read: inside the
/// BEAM, children are reaped by the VM's SIGCHLD disposition and `waitpid` says ECHILD.
pub fn run(probe_exe: &Path, library: &Path) -> Outcome {
    let mut command = Command::new(probe_exe);
    command
        .arg("probe")
        .arg(library)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit(&mut command);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Failed(format!(
                "could not start the probe {}: {e}",
                probe_exe.display()
            ))
        }
    };
    // Read both pipes while the child runs, so a large entry cannot fill a pipe and stall it.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = String::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_OUTPUT).read_to_string(&mut out);
            }
            out
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            // Already reaped by someone else's SIGCHLD handling: the pipes tell the rest.
            Err(_) => break None,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if let Some(signal) = status.as_ref().and_then(signal_of).or_else(|| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix(SIGNAL_MARK)?.trim().parse().ok())
    }) {
        return Outcome::Crashed(signal);
    }
    if let Ok(entry) = serde_json::from_str::<NifEntry>(stdout.trim()) {
        return Outcome::Entry(entry);
    }
    let why = stderr.trim();
    Outcome::Failed(if why.is_empty() {
        "the probe ended without an entry or a message".to_string()
    } else {
        why.to_string()
    })
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

#[cfg(unix)]
fn limit(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let set = |resource, value: u64| {
                let lim = libc::rlimit {
                    rlim_cur: value as libc::rlim_t,
                    rlim_max: value as libc::rlim_t,
                };
                libc::setrlimit(resource, &lim);
            };
            set(libc::RLIMIT_AS, MEMORY_LIMIT);
            set(libc::RLIMIT_CPU, TIME_LIMIT.as_secs() + 1);
            set(libc::RLIMIT_CORE, 0);
            set(libc::RLIMIT_FSIZE, 1 << 20);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit(_command: &mut Command) {}
