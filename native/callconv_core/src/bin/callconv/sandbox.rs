//! The probe child's sandbox (Linux). The child confines itself after it has read what it
//! needs and before `dlopen` runs a single constructor of the library:
//!
//! 1. every descriptor but stdin, stdout and stderr is closed, and the environment emptied
//!    (the parent already started it with an empty one, in an empty working directory);
//! 2. best effort, user, network, IPC and UTS namespaces are unshared: an empty network
//!    stack and no System V IPC with the rest of the machine, where the kernel allows it;
//! 3. `PR_SET_NO_NEW_PRIVS` (required): no exec can ever gain privileges;
//! 4. Landlock (required, ABI 1 at least): the only files it can open are the library, its
//!    dependency closure, the loader, `/etc/ld.so.cache` and a few public device and CPU-count
//!    files (`/dev/urandom`, `/sys/devices/system/cpu/online`...), for reading; nothing can be
//!    written, created, removed or listed, anywhere; newer kernels also get TCP and signal
//!    and abstract-socket scoping;
//! 5. seccomp (required): no process creation, exec, ptrace, privilege change, socket,
//!    namespace, mount, BPF, io_uring, kernel keyring or module call, no writable and
//!    executable memory, and signals only to itself.
//!
//! Landlock and seccomp are the two required layers: without Landlock nothing confines the
//! file system (the namespaces alone do not hide files), so the probe refuses to run rather
//! than pretend. The namespaces only add depth (seccomp already forbids sockets).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

/// A layer the sandbox needs and this machine does not give.
#[derive(Debug)]
pub struct Missing(pub String);

/// What the sandbox got from the kernel.
#[derive(Debug)]
pub struct Confined {
    /// The Landlock ABI version the kernel has.
    pub landlock_abi: i64,
    /// Whether the namespaces could be unshared.
    pub namespaces: bool,
}

/// Closes every descriptor above stderr: the child keeps only its pipes.
pub fn close_inherited_fds() {
    // SAFETY: close_range on descriptors this single-threaded process does not use.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r != 0 {
        // Before Linux 5.9: close them one by one up to the descriptor limit.
        // SAFETY: sysconf and close have no memory-safety preconditions.
        let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(3, 1 << 20) as i32;
        for fd in 3..max {
            unsafe { libc::close(fd) };
        }
    }
}

/// The Landlock ABI version of the running kernel, or the errno that says why there is none.
pub fn landlock_abi() -> Result<i64, i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes no attribute pointer.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(v)
    }
}

/// Confines this process so that it can read only `readable` (and what it already has open).
/// `pretend_missing` names a layer to treat as missing (for the tests of the refusal).
pub fn enter(readable: &[PathBuf], pretend_missing: Option<&str>) -> Result<Confined, Missing> {
    let pretend = |layer: &str| pretend_missing == Some(layer);
    if let Some(other) =
        pretend_missing.filter(|p| !["landlock", "seccomp", "no_new_privs"].contains(p))
    {
        return Err(Missing(format!(
            "unknown layer {other:?} to pretend missing"
        )));
    }
    let landlock_abi = match landlock_abi() {
        Ok(v) if !pretend("landlock") => v,
        Ok(_) => return Err(Missing("Landlock (pretended missing for a test)".into())),
        Err(errno) => {
            return Err(Missing(match errno {
                libc::EOPNOTSUPP => "Landlock: the kernel has it but it is not enabled (add landlock to the lsm= boot parameter)".to_string(),
                libc::ENOSYS => "Landlock: the kernel lacks it (Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK), or a container's seccomp policy hides it".to_string(),
                e => format!("Landlock: its version query failed ({})", std::io::Error::from_raw_os_error(e)),
            }))
        }
    };

    // SAFETY: unshare has no memory-safety preconditions; failing is fine.
    let namespaces = unsafe {
        libc::unshare(
            libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS,
        )
    } == 0;

    // SAFETY: prctl with integer arguments.
    if pretend("no_new_privs") || unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0
    {
        return Err(Missing(format!(
            "PR_SET_NO_NEW_PRIVS: {}",
            if pretend("no_new_privs") {
                "pretended missing for a test".to_string()
            } else {
                std::io::Error::last_os_error().to_string()
            }
        )));
    }

    restrict_files(readable).map_err(|e| Missing(format!("Landlock: {e}")))?;

    if pretend("seccomp") {
        return Err(Missing("seccomp (pretended missing for a test)".into()));
    }
    for filter in filters()? {
        seccompiler::apply_filter(&filter).map_err(|e| {
            Missing(format!(
                "seccomp: the filter could not be installed ({e}); the kernel lacks CONFIG_SECCOMP_FILTER or a container forbids it"
            ))
        })?;
    }
    Ok(Confined {
        landlock_abi,
        namespaces,
    })
}

/// The Landlock ruleset: every file-system right of ABI 1 is required (the kernel must handle
/// them or the probe refuses); newer rights (refer, truncate, ioctl on devices, TCP, scoping)
/// are added where the kernel has them. The only rule: read the files in `readable`.
fn restrict_files(readable: &[PathBuf]) -> Result<(), String> {
    let latest = ABI::V6;
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .and_then(|r| {
            r.set_compatibility(CompatLevel::BestEffort)
                .handle_access(AccessFs::from_all(latest))
        })
        .and_then(|r| r.handle_access(AccessNet::from_all(latest)))
        .and_then(|r| r.scope(Scope::from_all(latest)))
        .and_then(|r| r.create())
        .map_err(|e| e.to_string())?;
    let mut ruleset = ruleset;
    for path in readable {
        // A file that is not there cannot be loaded either; skip it.
        let Ok(fd) = PathFd::new(path) else { continue };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, AccessFs::ReadFile))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let status = ruleset.restrict_self().map_err(|e| e.to_string())?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("the kernel did not enforce the ruleset".into());
    }
    Ok(())
}

/// The files the loader itself reads in `dlopen`, besides the libraries, and the few public
/// files C runtimes read while initialising (random bytes, the CPU count), which tell the
/// library nothing about the user.
pub fn loader_files() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "/etc/ld.so.cache",
        "/dev/null",
        "/dev/zero",
        "/dev/urandom",
        "/dev/random",
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/cpu/possible",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    // SAFETY: getauxval and dladdr only read; the info is copied before use.
    unsafe {
        let base = libc::getauxval(libc::AT_BASE);
        let mut info: libc::Dl_info = std::mem::zeroed();
        if base != 0
            && libc::dladdr(base as *const libc::c_void, &mut info) != 0
            && !info.dli_fname.is_null()
        {
            let name = std::ffi::CStr::from_ptr(info.dli_fname);
            use std::os::unix::ffi::OsStrExt;
            out.push(Path::new(std::ffi::OsStr::from_bytes(name.to_bytes())).to_path_buf());
        }
    }
    out
}

/// x32 system calls on x86-64 carry this bit; the filter refuses them like their 64-bit twins.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// The seccomp filters: refused calls fail with EPERM, and `clone3` (whose flags a filter
/// cannot read) with ENOSYS, so that the C library falls back to `clone`, which is checked.
fn filters() -> Result<Vec<seccompiler::BpfProgram>, Missing> {
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| Missing(format!("seccomp: {e}")))?;
    let err = |e: seccompiler::BackendError| Missing(format!("seccomp: {e}"));
    let cond = |arg, len, op, value| SeccompCondition::new(arg, len, op, value).map_err(err);
    let rule = |conds: Vec<SeccompCondition>| SeccompRule::new(conds).map_err(err);
    let me = u64::from(std::process::id());

    let mut refused: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in refused_always() {
        refused.insert(nr, Vec::new());
    }
    // A new process (clone without CLONE_THREAD: fork, vfork, posix_spawn); threads stay.
    refused.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            0,
        )?])?],
    );
    // Memory both writable and executable (W^X): mprotect, pkey_mprotect and mmap's prot.
    let wx = (libc::PROT_WRITE | libc::PROT_EXEC) as u64;
    let rwx = || -> Result<Vec<SeccompRule>, Missing> {
        Ok(vec![rule(vec![cond(
            2,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(wx),
            wx,
        )?])?])
    };
    refused.insert(libc::SYS_mprotect, rwx()?);
    refused.insert(libc::SYS_pkey_mprotect, rwx()?);
    refused.insert(libc::SYS_mmap, rwx()?);
    // System V shared memory attached executable.
    refused.insert(
        libc::SYS_shmat,
        vec![rule(vec![cond(
            2,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(libc::SHM_EXEC as u64),
            libc::SHM_EXEC as u64,
        )?])?],
    );
    // Signals to any process but this one: not to the parent, its process group (pid 0 or
    // negative), or every process (-1).
    let other_than_me = |arg| cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, me);
    refused.insert(libc::SYS_kill, vec![rule(vec![other_than_me(0)?])?]);
    for nr in [
        libc::SYS_tgkill,
        libc::SYS_tkill,
        libc::SYS_rt_sigqueueinfo,
        libc::SYS_rt_tgsigqueueinfo,
    ] {
        refused.insert(nr, vec![rule(vec![other_than_me(0)?])?]);
    }
    #[cfg(target_arch = "x86_64")]
    {
        // The same calls through the x32 ABI, and every x32-only entry (512 to 547).
        let twins: Vec<(i64, Vec<SeccompRule>)> = refused
            .iter()
            .map(|(nr, rules)| (nr | X32_SYSCALL_BIT, rules.clone()))
            .collect();
        refused.extend(twins);
        for nr in 512..=547 {
            refused.insert(nr | X32_SYSCALL_BIT, Vec::new());
        }
    }
    let eperm = SeccompFilter::new(
        refused,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(err)?;
    let enosys = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(err)?;
    [eperm, enosys]
        .into_iter()
        .map(|f| f.try_into().map_err(err))
        .collect()
}

/// System calls refused whatever their arguments.
fn refused_always() -> Vec<i64> {
    use libc::*;
    let mut calls = vec![
        // Programs and other processes.
        SYS_execve,
        SYS_execveat,
        SYS_ptrace,
        SYS_process_vm_readv,
        SYS_process_vm_writev,
        SYS_kcmp,
        SYS_open_by_handle_at,
        SYS_pidfd_open,
        SYS_pidfd_getfd,
        SYS_pidfd_send_signal,
        // Privileges.
        SYS_setuid,
        SYS_setgid,
        SYS_setreuid,
        SYS_setregid,
        SYS_setresuid,
        SYS_setresgid,
        SYS_setfsuid,
        SYS_setfsgid,
        SYS_setgroups,
        SYS_capset,
        SYS_personality,
        // Network.
        SYS_socket,
        SYS_socketpair,
        // Namespaces and mounts.
        SYS_unshare,
        SYS_setns,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_chroot,
        SYS_open_tree,
        SYS_move_mount,
        SYS_fsopen,
        SYS_fsconfig,
        SYS_fsmount,
        SYS_fspick,
        SYS_mount_setattr,
        // Kernel attack surface an init function has no use for.
        SYS_bpf,
        SYS_perf_event_open,
        SYS_userfaultfd,
        SYS_io_uring_setup,
        SYS_io_uring_enter,
        SYS_io_uring_register,
        SYS_keyctl,
        SYS_add_key,
        SYS_request_key,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_kexec_load,
        SYS_reboot,
        SYS_swapon,
        SYS_swapoff,
        SYS_acct,
        SYS_quotactl,
        SYS_syslog,
        SYS_memfd_create,
        SYS_memfd_secret,
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([SYS_fork, SYS_vfork, SYS_kexec_file_load]);
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
    calls.extend([SYS_kexec_file_load]);
    calls
}
