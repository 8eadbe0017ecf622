//! The probe child: `callconv probe [--unsandboxed] PATH` confines itself (see `sandbox`),
//! loads the library, calls its init function, and prints the entry it returns as JSON. Only
//! ever run as a separate, resource-limited process (see `callconv::probe`), never inside the
//! BEAM, and only when the user asks for it. Where the sandbox cannot be set up it prints a
//! `callconv::probe::REFUSED_MARK` line and runs nothing, unless told `--unsandboxed`.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

use callconv::report::{NifEntry, NifFunction};

/// `ErlNifEntry` as this machine's C compiler lays it out (the probe runs on the host only).
#[repr(C)]
struct ErlNifEntry {
    major: c_int,
    minor: c_int,
    name: *const c_char,
    num_of_funcs: c_int,
    funcs: *const ErlNifFunc,
    load: *const c_void,
    reload: *const c_void,
    upgrade: *const c_void,
    unload: *const c_void,
    vm_variant: *const c_char,
    options: c_uint,
    sizeof_resource_type_init: usize,
    min_erts: *const c_char,
}

#[repr(C)]
struct ErlNifFunc {
    name: *const c_char,
    arity: c_uint,
    fptr: *const c_void,
    flags: c_uint,
}

const MAX_FUNCTIONS: usize = 65_536;

/// Writes the fatal signal's number to stderr and exits, so that the parent learns how the
/// child died even where it cannot read the exit status. Only async-signal-safe calls.
extern "C" fn on_fatal_signal(signal: c_int) {
    let mut line = *b"callconv-probe: signal 000\n";
    let n = signal.clamp(0, 999) as u8;
    let len = line.len();
    line[len - 4] = b'0' + n / 100;
    line[len - 3] = b'0' + (n / 10) % 10;
    line[len - 2] = b'0' + n % 10;
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer lives on this stack.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
        libc::_exit(128 + signal);
    }
}

fn report_fatal_signals() {
    for signal in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGABRT,
        libc::SIGSYS,
    ] {
        // SAFETY: installing a plain handler; on_fatal_signal only does async-signal-safe work.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// How the child was asked to run.
pub struct Request<'a> {
    /// The library, an absolute path.
    pub path: &'a str,
    /// Run without the sandbox (the caller reports it).
    pub unsandboxed: bool,
    /// For the tests: a sandbox layer to treat as missing.
    pub pretend_missing: Option<&'a str>,
    /// Only set the sandbox up and say what the kernel gave; load nothing.
    pub report_sandbox: bool,
}

/// Why the probe gave no entry.
pub enum Failure {
    /// The sandbox could not be set up: nothing ran.
    Refused(String),
    /// Loading or running failed.
    Failed(String),
}

/// Confines this process as asked. The library's dependency closure is resolved first,
/// while the environment (`LD_LIBRARY_PATH`) and the file system are still readable.
/// Returns what the sandbox got from the kernel, for `--report-sandbox`.
fn confine(request: &Request, path: &std::path::Path) -> Result<String, Failure> {
    let readable = callconv::probe::closure(path);
    sandbox_common::close_inherited_fds();
    for (name, _) in std::env::vars_os() {
        std::env::remove_var(name);
    }
    if request.unsandboxed {
        return Ok("unsandboxed".into());
    }
    sandbox_common::enter(readable, request.pretend_missing).map_err(Failure::Refused)
}

/// The sandbox where this platform has one, or the reason it has none.
mod sandbox_common {
    use std::path::PathBuf;

    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ))]
    pub fn close_inherited_fds() {
        crate::sandbox::close_inherited_fds();
    }

    #[cfg(not(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    )))]
    pub fn close_inherited_fds() {
        // SAFETY: sysconf and close have no memory-safety preconditions.
        let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(3, 1 << 20) as i32;
        for fd in 3..max {
            unsafe { libc::close(fd) };
        }
    }

    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ))]
    pub fn enter(mut readable: Vec<PathBuf>, pretend: Option<&str>) -> Result<String, String> {
        readable.extend(crate::sandbox::loader_files());
        let confined = crate::sandbox::enter(&readable, pretend).map_err(|m| m.0)?;
        Ok(format!(
            "sandboxed: Landlock ABI {}, seccomp filter, no_new_privs, {} readable files, namespaces (user, net, ipc, uts) {}",
            confined.landlock_abi,
            readable.len(),
            if confined.namespaces { "unshared" } else { "not allowed here" }
        ))
    }

    #[cfg(all(
        target_os = "linux",
        not(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        ))
    ))]
    pub fn enter(_readable: Vec<PathBuf>, _pretend: Option<&str>) -> Result<String, String> {
        Err(format!(
            "seccomp: callconv builds its filter for x86_64, aarch64 and riscv64 only, not {}",
            std::env::consts::ARCH
        ))
    }

    #[cfg(not(target_os = "linux"))]
    pub fn enter(_readable: Vec<PathBuf>, _pretend: Option<&str>) -> Result<String, String> {
        Err(format!(
            "the probe's sandbox (Landlock and seccomp) exists on Linux only, not on {}",
            std::env::consts::OS
        ))
    }
}

/// Runs the probe and returns the JSON to print, or why there is none.
pub fn run(request: &Request) -> Result<String, Failure> {
    report_fatal_signals();
    // dlopen searches the loader's path for a name without a slash.
    let path = std::path::absolute(request.path)
        .map_err(|e| Failure::Failed(format!("{}: {e}", request.path)))?;
    let confined = confine(request, &path)?;
    if request.report_sandbox {
        return Ok(confined);
    }
    inspect_entry(&path).map_err(Failure::Failed)
}

/// Loads the library, calls its init function and reads the entry.
fn inspect_entry(path: &std::path::Path) -> Result<String, String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| "the path contains a NUL byte".to_string())?;
    // SAFETY: the whole point of the probe; it runs in a disposable process with limits.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("dlopen failed: {}", dlerror()));
    }
    let init = ["nif_init", "_nif_init"].iter().find_map(|name| {
        let c = CString::new(*name).ok()?;
        // SAFETY: handle is a valid dlopen handle.
        let sym = unsafe { libc::dlsym(handle, c.as_ptr()) };
        (!sym.is_null()).then_some(sym)
    });
    let Some(init) = init else {
        return Err("no nif_init or _nif_init symbol".to_string());
    };
    // SAFETY: nif_init takes no argument on Unix and returns an entry pointer.
    let init: extern "C" fn() -> *const ErlNifEntry = unsafe { std::mem::transmute(init) };
    let entry = init();
    if entry.is_null() {
        return Err("nif_init returned NULL".to_string());
    }
    // SAFETY: the library's own entry; if it lies, this child crashes, not the VM.
    let e = unsafe { &*entry };
    let version = (e.major, e.minor);
    let at_least = |maj: c_int, min: c_int| version >= (maj, min);
    let count = usize::try_from(e.num_of_funcs)
        .unwrap_or(0)
        .min(MAX_FUNCTIONS);
    let mut functions = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: as above; stride differs before 2.7, where flags did not exist.
        let f = unsafe {
            if at_least(2, 7) {
                &*e.funcs.add(i)
            } else {
                &*(e.funcs
                    .cast::<u8>()
                    .add(i * 3 * std::mem::size_of::<usize>())
                    as *const ErlNifFunc)
            }
        };
        functions.push(NifFunction {
            name: string(f.name).unwrap_or_default(),
            arity: f.arity,
            flags: if at_least(2, 7) { f.flags } else { 0 },
        });
    }
    let entry = NifEntry {
        major: e.major,
        minor: e.minor,
        module: string(e.name).unwrap_or_default(),
        functions,
        load: !e.load.is_null(),
        reload: !e.reload.is_null(),
        upgrade: !e.upgrade.is_null(),
        unload: !e.unload.is_null(),
        vm_variant: if at_least(2, 1) {
            string(e.vm_variant)
        } else {
            None
        },
        options: at_least(2, 7).then_some(e.options),
        min_erts: if at_least(2, 14) {
            string(e.min_erts)
        } else {
            None
        },
        decoded_by: "probe".to_string(),
    };
    serde_json::to_string(&entry).map_err(|e| e.to_string())
}

fn string(p: *const c_char) -> Option<String> {
    // SAFETY: a C string from the library, read in the disposable child.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a valid C string.
    let e = unsafe { libc::dlerror() };
    string(e).unwrap_or_default()
}
