//! The opt-in probe: run a library's `nif_init` for real, in a separate short-lived process
//! with resource limits and counted time budgets ([`Limits`]), and read back the entry it
//! returns. It cross-checks the static decoder and covers what it cannot decode. Never used
//! unless asked for.
//!
//! The child starts with an empty environment (only `LD_LIBRARY_PATH` is passed on, since the
//! loader needs it to find what the library needs), an empty private working directory, and
//! no descriptor but its three pipes. On Linux it then confines itself before `dlopen` runs a
//! single constructor (see the child's `sandbox` module): Landlock lets it read only the
//! library, its dependency closure ([`closure`]) and the loader's cache, seccomp refuses
//! process creation, ptrace, privilege changes, sockets and writable-executable memory, and
//! `PR_SET_NO_NEW_PRIVS` holds. When that cannot be set up the child refuses to run anything
//! ([`Outcome::Refused`]) unless the caller chose [`Confinement::Unsandboxed`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::entry::NifEntry;

mod meter;

/// How long the child may go without returning an entry before it counts as hung. Both are
/// counted by the kernel for the child alone ([`meter`]), so a loaded machine, which only
/// makes the child wait longer for a CPU, changes neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time over all its threads.
    pub cpu: Duration,
    /// Time in which none of its threads was running or ready to run: it slept, or waited
    /// on a lock, a pipe or the disk.
    pub waiting: Duration,
}

impl Limits {
    /// What `load_nif` should never come near: 5 s of either.
    pub const DEFAULT: Limits = Limits {
        cpu: Duration::from_secs(5),
        waiting: Duration::from_secs(5),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Which budget a hung child used up, and that budget (not what the child was measured at,
/// which varies with the polling: the finding's text must not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hang {
    /// It computed for the whole CPU-time budget.
    Computing(Duration),
    /// It waited, with no thread running, for the whole waiting budget.
    Waiting(Duration),
}

/// How often the parent looks at the child.
const POLL: Duration = Duration::from_millis(2);
/// A backstop that only a machine that does not run the child at all for this long reaches:
/// the budgets above end every child that runs or waits.
const STARVED: Duration = Duration::from_secs(600);
/// Address-space limit of the child.
pub const MEMORY_LIMIT: u64 = 1 << 30;
/// Most bytes of output read from the child.
const MAX_OUTPUT: u64 = 16 << 20;

/// Whether the probe child must confine itself before it loads the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Confinement {
    /// The default: confine it, or refuse to run anything when the sandbox cannot be set up.
    #[default]
    Sandboxed,
    /// Run the library with the user's rights (only the environment, the working directory
    /// and the inherited descriptors are still cleaned). The caller reports it as a warning.
    Unsandboxed,
}

/// What running `nif_init` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned this entry.
    Entry(NifEntry),
    /// The process died from a signal (the VM would have died the same way).
    Crashed(i32),
    /// It did not return within its [`Limits`]; it was killed.
    Hung(Hang),
    /// It could not run, or returned nothing usable; the message says why.
    Failed(String),
    /// The sandbox could not be set up on this machine, so nothing ran; the message names
    /// what is missing.
    Refused(String),
}

/// The line the child writes to stderr when a fatal signal hits it (see the probe child).
pub const SIGNAL_MARK: &str = "callconv-probe: signal ";
/// The line the child writes to stderr when it refuses to run without its sandbox.
pub const REFUSED_MARK: &str = "callconv-probe: no sandbox: ";
/// For tests only: the parent passes this variable's value on to the child, which then
/// behaves as if the named sandbox feature (`landlock`, `seccomp`, `no_new_privs`) were
/// missing from the kernel. Nothing else in the parent's environment reaches the child.
pub const PRETEND_MISSING_ENV: &str = "CALLCONV_PROBE_PRETEND_MISSING";
/// Most libraries in a dependency closure the sandbox opens for reading.
const MAX_CLOSURE: usize = 512;

/// Runs `probe_exe probe LIBRARY` and interprets the result. `probe_exe` is callconv's
/// command-line tool, which exports stub `enif_*` symbols for the library to bind to.
///
/// The child reports its own fate on its pipes (JSON on success, a [`SIGNAL_MARK`] line when a
/// fatal signal hits it), because its exit status is not always there to read: inside the
/// BEAM, children are reaped by the VM's SIGCHLD disposition and `waitpid` says ECHILD.
pub fn run(probe_exe: &Path, library: &Path) -> Outcome {
    run_with(probe_exe, library, Confinement::Sandboxed)
}

/// [`run`] with the given confinement.
pub fn run_with(probe_exe: &Path, library: &Path, confinement: Confinement) -> Outcome {
    run_limited(probe_exe, library, confinement, Limits::DEFAULT)
}

/// [`run_with`] with the given budgets.
pub fn run_limited(
    probe_exe: &Path,
    library: &Path,
    confinement: Confinement,
    limits: Limits,
) -> Outcome {
    if cfg!(not(unix)) {
        // The probe child (stub enif_* symbols exported to dlopen) is built for Unix only.
        return match confinement {
            Confinement::Sandboxed => Outcome::Refused(format!(
                "the probe's sandbox (Landlock and seccomp) exists on Linux only, not on {}",
                std::env::consts::OS
            )),
            Confinement::Unsandboxed => {
                Outcome::Failed("the probe runs on Linux and macOS only".to_string())
            }
        };
    }
    // dlopen searches the loader's path for a name without a slash: `evil.so` must mean the
    // file in the working directory, and the child runs in another directory anyway.
    let library = match std::path::absolute(library) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("{}: {e}", library.display())),
    };
    let workdir = match EmptyDir::create() {
        Ok(d) => d,
        Err(e) => {
            return Outcome::Failed(format!(
                "could not create the probe's working directory: {e}"
            ))
        }
    };
    let mut command = Command::new(probe_exe);
    command.arg("probe");
    if confinement == Confinement::Unsandboxed {
        command.arg("--unsandboxed");
    }
    if let Some(feature) = std::env::var_os(PRETEND_MISSING_ENV) {
        command.arg("--pretend-missing").arg(feature);
    }
    command
        .arg(&library)
        .env_clear()
        .current_dir(&workdir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("LD_LIBRARY_PATH") {
        command.env("LD_LIBRARY_PATH", path);
    }
    limit(&mut command, limits);
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
    let mut meter = meter::Meter::new(child.id());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            // Already reaped by someone else's SIGCHLD handling: the pipes tell the rest.
            Err(_) => break None,
            Ok(None) => {}
        }
        let usage = meter.poll();
        let hang = if usage.cpu >= limits.cpu {
            Some(Hang::Computing(limits.cpu))
        } else if usage.waiting >= limits.waiting || started.elapsed() >= STARVED {
            Some(Hang::Waiting(limits.waiting))
        } else {
            None
        };
        if let Some(hang) = hang {
            let _ = child.kill();
            let _ = child.wait();
            return Outcome::Hung(hang);
        }
        std::thread::sleep(POLL);
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if let Some(signal) = status.as_ref().and_then(signal_of).or_else(|| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix(SIGNAL_MARK)?.trim().parse().ok())
    }) {
        // The kernel's CPU limit, the backstop of the CPU budget, ends the child this way.
        #[cfg(unix)]
        if signal == libc::SIGXCPU {
            return Outcome::Hung(Hang::Computing(limits.cpu));
        }
        return Outcome::Crashed(signal);
    }
    if let Some(missing) = stderr.lines().find_map(|l| l.strip_prefix(REFUSED_MARK)) {
        return Outcome::Refused(missing.trim().to_string());
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

/// A fresh, empty, private directory for the child to run in, removed when dropped.
struct EmptyDir(PathBuf);

impl EmptyDir {
    fn create() -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = base.join(format!(
                "callconv-probe-{}-{n}-{nanos:x}",
                std::process::id()
            ));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&dir) {
                Ok(()) => return Ok(EmptyDir(dir)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no name left")))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        // Only the unsandboxed child can have left anything in it.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The files the loader reads to load `library` on this machine: the library itself and,
/// transitively, every needed library as this machine's loader resolves it (`RPATH`,
/// `LD_LIBRARY_PATH`, `RUNPATH`, `ld.so.conf`, the default directories), each once, at most
/// a few hundred. Unresolved names are left out (the loader then fails to find them too).
pub fn closure(library: &Path) -> Vec<PathBuf> {
    use crate::inspect::resolve::{self, Lookup, SearchRoot};
    let mut out: Vec<PathBuf> = vec![library.to_path_buf()];
    let mut next = 0;
    while next < out.len() && out.len() < MAX_CLOSURE {
        let path = out[next].clone();
        next += 1;
        let Ok(opened) = crate::source::open(&path) else {
            continue;
        };
        let cache = object::ReadCache::new(opened.file);
        let Ok(binary) = crate::inspect::parse(&cache, crate::target::Target::host().arch) else {
            continue;
        };
        for resolved in resolve::resolve(&binary, &path, SearchRoot::Host) {
            if let Lookup::Found { path: found, .. } = resolved.lookup {
                if !out.contains(&found) && out.len() < MAX_CLOSURE {
                    out.push(found);
                }
            }
        }
    }
    out
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
fn limit(command: &mut Command, limits: Limits) {
    use std::os::unix::process::CommandExt;
    // The kernel's backstop: whole seconds, at least one past the budget the parent counts.
    let cpu_seconds = limits.cpu.as_secs() + 2;
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let set = |resource, value: u64| {
                let lim = libc::rlimit {
                    rlim_cur: value as libc::rlim_t,
                    rlim_max: value as libc::rlim_t,
                };
                libc::setrlimit(resource, &lim);
            };
            set(libc::RLIMIT_AS, MEMORY_LIMIT);
            set(libc::RLIMIT_CPU, cpu_seconds);
            set(libc::RLIMIT_CORE, 0);
            set(libc::RLIMIT_FSIZE, 1 << 20);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit(_command: &mut Command, _limits: Limits) {}
