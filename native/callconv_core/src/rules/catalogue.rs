//! The rule catalogue: every rule callconv can report, with its stable id, default severity,
//! cause and fix, and the [`Finding`] a rule raises. One list, read by the checks, SARIF's
//! rule table, the NIF's `rules/0`, the command line's policy and the docs.
//!
//! This file is vocabulary, below every layer that reports (see `docs/design/layers.md`): it
//! imports nothing from the crate.

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The library will not load, or will crash or corrupt the VM.
    Error,
    /// It loads, but something is risky or could not be verified.
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

/// One problem or observation, with a stable rule id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id, documented in `docs/reference/rules.md`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, naming the cause.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// A rule of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What the rule catches, in one sentence.
    pub summary: &'static str,
    /// What the user does about it.
    pub fix: &'static str,
    /// Who raises its findings.
    pub emitter: Emitter,
}

/// Who raises a rule's findings. Every rule is in the one [`CATALOGUE`], whoever raises it, so
/// that SARIF's rule table, the NIF's rule list, `--ignore` and the docs read one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Emitter {
    /// The core's checks, in a library's findings.
    Check,
    /// The renderers (SARIF, GitHub annotations) and the guard, for a file that could not be
    /// read at all: the document's `errors`, shown as a finding.
    Unreadable,
    /// The Elixir side: the lockfile comparison (`mix callconv.check --locked`,
    /// `Callconv.load_nif(lockfile: ...)`).
    Elixir,
}

impl Rule {
    /// A finding of this rule at its default severity.
    pub fn finding(&self, message: impl Into<String>, hint: impl Into<String>) -> Finding {
        self.finding_at(self.severity, message, hint)
    }

    /// A finding of this rule at a given severity.
    pub fn finding_at(
        &self,
        severity: Severity,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: self.id.to_string(),
            severity,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

macro_rules! emitter {
    () => {
        Emitter::Check
    };
    ($emitter:ident) => {
        Emitter::$emitter
    };
}

/// `NAME = "id", Severity, "summary", "fix";`, or `NAME = "id", Severity by Emitter, ...` for
/// a rule the core's checks do not raise.
macro_rules! rules {
    ($( $name:ident = $id:literal, $sev:ident $(by $emitter:ident)?, $summary:literal, $fix:literal; )*) => {
        $(
            #[doc = $summary]
            pub const $name: Rule = Rule {
                id: $id,
                severity: Severity::$sev,
                summary: $summary,
                fix: $fix,
                emitter: emitter!($($emitter)?),
            };
        )*
        /// Every rule, in catalogue order.
        pub const CATALOGUE: &[Rule] = &[$($name),*];
    };
}

rules! {
    NOT_A_NIF = "not-a-nif", Info,
        "The library exports no NIF init function: it is a port driver or a plain shared library.",
        "Nothing to fix if it is a dependency or a driver; a NIF must be built with ERL_NIF_INIT (C) or rustler::init! (Rust).";
    FORMAT_MISMATCH = "format-mismatch", Error,
        "The container format is not the one the target's OS loads (ELF on Linux, Mach-O on macOS, PE on Windows).",
        "Build the library for the target OS, or ship the right artifact for each platform.";
    ARCH_MISMATCH = "arch-mismatch", Error,
        "The library's architecture, word size or byte order differs from the target runtime's.",
        "Cross-compile for the target (e.g. cargo build --target <triple>) or pick the matching precompiled artifact.";
    NIF_ENTRY_UNREADABLE = "nif-entry-unreadable", Warning,
        "The NIF init function was found, but its ErlNifEntry could not be decoded statically, so the version, module and function checks were skipped.",
        "Nothing may be wrong; run with the probe (when available) or report the library so the decoder learns its pattern.";
    NIF_INIT_NULL = "nif-init-null", Error,
        "The NIF init function certainly returns NULL (its code loads the constant 0 on a path with no condition, call or memory read): load_nif fails with \"Library init-call unsuccessful\".",
        "Return the address of the ErlNifEntry, as ERL_NIF_INIT does; put setup that can fail in the load callback, which refuses the library with a reason.";
    NIF_MAJOR_VERSION = "nif-major-version", Error,
        "The entry's NIF major version is not 2, the only one current runtimes load.",
        "Rebuild the NIF against the erl_nif.h of a supported Erlang/OTP release.";
    NIF_VERSION_TOO_NEW = "nif-version-too-new", Error,
        "The entry's NIF minor version is newer than the target runtime implements.",
        "Build against the headers of the oldest OTP release you deploy to, or upgrade the target runtime (for Rustler, pick a lower nif_version_2_x feature).";
    NIF_VERSION_2_5 = "nif-version-2-5", Error,
        "The entry declares NIF version 2.5, which every runtime rejects.",
        "Rebuild the NIF against a current erl_nif.h.";
    NIF_VM_VARIANT = "nif-vm-variant", Error,
        "The entry's vm_variant is not \"beam.vanilla\", so the BEAM refuses it.",
        "Rebuild with the standard ERL_NIF_INIT macro; do not override ERL_NIF_VM_VARIANT.";
    NIF_MIN_ERTS_NULL = "nif-min-erts-null", Error,
        "The entry's min_erts pointer is NULL; a runtime that finds the library too new prints it with %s and crashes with SIGSEGV (seen on OTP 25).",
        "Fill min_erts (ERL_NIF_MIN_ERTS_VERSION); hand-written or generated entries must set every field of their declared version.";
    NIF_ENTRY_SHORT = "nif-entry-short", Error,
        "The entry's type ends before min_erts although the NIF version it declares has that field (Rustler 0.36 and older): a runtime that finds the library too new reads min_erts past the entry, printing garbage or crashing. An error when the target is such a runtime, a warning otherwise.",
        "Upgrade Rustler to 0.37 or later, or build with a nif_version_2_x feature no newer than the oldest runtime you deploy to.";
    NIF_ILLEGAL_FLAGS = "nif-illegal-flags", Error,
        "A function's flags field is not 0, ERL_NIF_DIRTY_JOB_CPU_BOUND (1) or ERL_NIF_DIRTY_JOB_IO_BOUND (2).",
        "Use only the dirty-scheduler flags in the ErlNifFunc table.";
    NIF_DUPLICATE_FUNCTION = "nif-duplicate-function", Error,
        "The same name/arity appears twice in the function table; the BEAM refuses the library.",
        "Remove or rename the duplicate entry.";
    NIF_ARITY_TOO_LARGE = "nif-arity-too-large", Error,
        "A function's arity is above 255, the most an Erlang function can take.",
        "Pass the arguments as a tuple or list instead.";
    NIF_FUNCTION_COUNT = "nif-function-count", Error,
        "The entry's num_of_funcs is negative or absurdly large.",
        "The entry is corrupt; rebuild the library.";
    NIF_INIT_NOT_EXPORTED = "nif-init-not-exported", Error,
        "The library defines nif_init but does not export it (hidden visibility, or a static NIF's <module>_nif_init): load_nif fails with \"Failed to find library init function\".",
        "Build with the ERL_NIF_INIT macro of OTP 19 or later (it marks nif_init visible), and without STATIC_ERLANG_NIF for a library loaded at run time.";
    NIF_MODULE_MISMATCH = "nif-module-mismatch", Error,
        "The entry's module name differs from the module that will call load_nif: \"Library module name 'a' does not match calling module 'b'\".",
        "Pass the calling module's exact name to ERL_NIF_INIT / rustler::init! (Elixir modules are \"Elixir.My.Mod\").";
    NIF_FUNCTION_NOT_IN_MODULE = "nif-function-not-in-module", Error,
        "A function of the NIF table has no function of that name and arity in the module that loads it: \"Function not found m:f/1\".",
        "Add the stub (def f(_), do: :erlang.nif_error(:not_loaded)) or remove the function from the NIF table.";
    NIF_NOT_DECLARED = "nif-not-declared", Error,
        "The module that loads the library declares its NIFs (OTP 25's -nifs attribute, Elixir's @nifs), and a function of the NIF table is not among them: \"Function not declared as nif m:f/1\". Checked when the module's .beam is known and the target is OTP 25 or later.",
        "Add the function to -nifs([...]) (Elixir: @nifs), or remove it from the NIF table.";
    ENIF_MISSING = "enif-missing", Error,
        "The library imports (or resolves with dlsym) an enif_* function that the target runtime does not export: dlopen fails with \"undefined symbol: enif_...\".",
        "Do not call API functions newer than the oldest runtime you deploy to, or build against that runtime's headers (Rustler: a lower nif_version_2_x feature).";
    LIBC_MISMATCH = "libc-mismatch", Error,
        "The library is linked against another C library than the target runtime's (a glibc build on a musl system, or the reverse); dlopen fails or it crashes.",
        "Build for the target's libc (e.g. the x86_64-unknown-linux-musl Rust target for Alpine), or ship one artifact per libc.";
    GLIBC_TOO_NEW = "glibc-too-new", Error,
        "The library needs a newer glibc than the target has: dlopen fails with \"version `GLIBC_2.xx' not found\".",
        "Build on (or for) the oldest glibc you deploy to, e.g. in a container of that distribution or with zig cc -target x86_64-linux-gnu.2.28.";
    NEEDED_MISSING = "needed-missing", Error,
        "A library the file needs (DT_NEEDED; Mach-O: an @rpath/@loader_path install name) is found nowhere the dynamic loader looks on the target, this machine or the target root given (RPATH/RUNPATH with $ORIGIN, LD_LIBRARY_PATH on this machine only, ld.so.conf, the default directories): load_nif fails with \"cannot open shared object file\".",
        "Install the dependency on the target, ship it beside the NIF with RUNPATH $ORIGIN, or link it statically.";
    SYMBOL_VERSION_MISSING = "symbol-version-missing", Error,
        "A needed library resolves (on this machine or under the target root), but the file found does not define a symbol version the library requires of it (VERNEED against its VERDEF): load_nif fails with \"version `GLIBCXX_3.4.32' not found\".",
        "Build against the oldest version of the dependency you deploy to (an older distribution or toolchain), or ship the newer library beside the NIF with RUNPATH $ORIGIN.";
    MACOS_VERSION_TOO_NEW = "macos-version-too-new", Error,
        "The Mach-O library's minimum macOS version (LC_BUILD_VERSION minos, or LC_VERSION_MIN_MACOSX) is newer than the target's: dyld refuses it at load (\"was built for newer macOS version (14.0) than being linked (13.0)\"), so load_nif fails.",
        "Build with MACOSX_DEPLOYMENT_TARGET (or -mmacosx-version-min, Rust's and zig's aarch64-macos.<version> targets) set to the oldest macOS you deploy to.";
    MSVC_RUNTIME = "msvc-runtime", Warning,
        "The Windows library needs the Visual C++ runtime (vcruntime140.dll, vcruntime140_1.dll, msvcp140*.dll) or the Universal CRT (api-ms-win-crt-*, ucrtbase.dll; part of Windows 10 and later), which a clean Windows lacks until the Visual C++ Redistributable is installed; neither the BEAM nor a release ships them. The UCRT alone is reported only when proven absent. An error when the target root given has Windows' system directories and the DLL is found neither there, nor beside the library, nor in the release's erts-*/bin.",
        "Install the Visual C++ Redistributable on the target, ship the DLLs beside the NIF, or link the CRT statically (/MT; Rust: -C target-feature=+crt-static).";
    EXEC_STACK = "exec-stack", Warning,
        "The library asks for an executable stack (PT_GNU_STACK with PF_X): on glibc 2.41 and later dlopen refuses it (an error there); before, loading it makes every thread stack of the VM executable.",
        "Find the object that lacks a .note.GNU-stack section (usually hand-written assembly) and add one, or link with -Wl,-z,noexecstack.";
    RWX_SEGMENT = "rwx-segment", Warning,
        "A loadable segment is writable and executable at once: code that can be rewritten, refused by hardened kernels and W^X policies.",
        "Keep code and writable data in separate sections (check custom section flags in assembly or linker scripts).";
    TEXTREL = "textrel", Warning,
        "The library has text relocations: the loader must write into its code pages, which SELinux and hardened systems refuse and which defeats sharing.",
        "Compile every object with -fPIC (or fix the assembly's absolute references).";
    NIF_PROBE_MISMATCH = "nif-probe-mismatch", Warning,
        "With the opt-in probe: running nif_init returned another entry than the file holds statically (the library rewrites its entry at init).",
        "The BEAM uses what nif_init returns, so the probe's values are the ones that count; report the library so the static decoder learns the pattern.";
    NIF_PROBE_FAILED = "nif-probe-failed", Warning,
        "With the opt-in probe: nif_init could not be run (a warning), or it crashed or hung in the probe's process (an error: load_nif would crash or hang the VM the same way).",
        "Make nif_init do nothing but return its entry; move work to the load callback.";
    NIF_PROBE_UNSANDBOXED = "nif-probe-unsandboxed", Warning,
        "With the opt-in probe run unsandboxed (--probe-unsandboxed, probe: :unsandboxed): the library's constructors and nif_init ran with the user's full rights (files, network, processes), outside the probe's Landlock and seccomp sandbox.",
        "Probe untrusted libraries only with the sandbox (a Linux kernel with Landlock and seccomp, and a container that allows them); run unsandboxed only in a disposable machine.";
    NIF_PROBE_REFUSED = "nif-probe-refused", Warning,
        "With the opt-in probe: the probe's sandbox (Landlock, seccomp, no_new_privs) cannot be set up on this machine, so nothing from the library was run; the message names what is missing.",
        "Run on a Linux kernel with Landlock enabled (lsm= boot parameter) and seccomp allowed by the container, or accept the risk with --probe-unsandboxed (probe: :unsandboxed).";
    ABI_MISMATCH = "abi-mismatch", Error,
        "The library's ABI variant (ARM float ABI, MIPS o32/n32/n64, PPC64 ELFv1/ELFv2, RISC-V float ABI) differs from the target runtime's: arguments end up in the wrong registers.",
        "Build for the target's exact ABI (e.g. arm-unknown-linux-gnueabihf vs gnueabi).";
    FOREIGN_CONVENTION = "foreign-convention", Error,
        "A NIF entry point (function, nif_init or callback) reads its arguments or pops its stack as another calling convention does (ms_abi on Linux, sysv_abi on Windows, stdcall/fastcall/thiscall/vectorcall/regparm on x86): the BEAM's arguments land in the wrong places.",
        "Declare the function with the platform's C convention: no __attribute__((ms_abi/stdcall/fastcall/...)), extern \"C\" in Rust, callconv(.c) in Zig.";
    CALLEE_SAVED_CLOBBERED = "callee-saved-clobbered", Error,
        "A NIF entry point changes a callee-saved register (or the link register) and returns or tail-calls without restoring it: the BEAM's value is lost and the VM corrupts or crashes later.",
        "Save the register in the prologue and restore it on every path to a return, or use a caller-saved register (hand-written assembly).";
    CALLEE_CLEANUP = "callee-cleanup", Error,
        "A NIF entry point pops its own stack arguments (x86 ret N) although the platform convention has the caller pop them: each call shifts the BEAM's stack pointer.",
        "Compile it as cdecl: drop stdcall/fastcall/thiscall/vectorcall attributes and -mrtd.";
    UNBALANCED_STACK = "unbalanced-stack", Error,
        "A NIF entry point returns or tail-calls with the stack pointer somewhere else than at entry.",
        "Pop exactly what the function pushed before it returns (hand-written assembly).";
    MISALIGNED_CALL = "misaligned-call", Warning,
        "A NIF entry point calls another function with the stack pointer not aligned as the convention requires (16 bytes on x86-64, AArch64 and Linux i386): SSE/NEON spills in the callee can fault.",
        "Keep the stack aligned at every call site (adjust by whole 16-byte units, counting the pushed return address).";
    RESERVED_REGISTER = "reserved-register", Error,
        "A NIF entry point writes a register the platform reserves (x18 on Apple and Windows arm64).",
        "Build for the target platform (its compiler never allocates the register), and do not use it in assembly.";
    ISA_LEVEL = "isa-level", Error,
        "Code reachable from the NIF's entry points uses instructions the target CPU lacks (x86-64 psABI level v2/v3/v4 features, AVX-512, AArch64 LSE/SVE/crypto, RISC-V V/Zba/Zbb/Zbs/Zfh, POWER9/POWER10, IBM z13-z15 facilities, MIPS MSA, SPARC VIS 1-3, T3's fused multiply-add and T4's compare-and-branch): the first call raises SIGILL and kills the VM. A warning when the code probes the CPU first (cpuid, getauxval), which suggests a run-time dispatch.",
        "Build for the oldest CPU you deploy to (-march=x86-64-v2, -march=rv64gc, -mcpu=power8, -march=z196, -mcpu=v9, RUSTFLAGS=-Ctarget-cpu=...), or dispatch on cpuid/getauxval; if the target CPU is newer than assumed, say so (--cpu).";
    EXPORT_NO_CONVENTION = "export-no-convention", Error,
        "Exports mode: an exported function fits none of its platform's C conventions (cdecl, stdcall or fastcall on x86; System V or Win64 on x86-64; the platform's own elsewhere): it reads arguments where none is passed, pops the stack as none does, leaves a callee-saved register or the stack pointer changed, or writes a reserved register. A caller through a C prototype (ctypes, dlsym, a Zig extern) corrupts its state.",
        "Declare the function with the platform's C convention, or keep hand-written assembly to its rules.";
    ANALYSIS_CAPPED = "analysis-capped", Info,
        "The machine-code analysis of an entry point stopped at one of its counted caps (instructions, branch targets, the library's instruction budget); the paths past the cap were not checked.",
        "Nothing to fix; the checks ran on the part that was analysed.";
    NO_RELRO = "no-relro", Info,
        "The ELF library has no PT_GNU_RELRO segment: its GOT, .dynamic and constructor tables stay writable for the life of the VM.",
        "Link with -Wl,-z,relro (the default of GNU ld and lld on Linux; check for -z norelro, an old toolchain, or lld on MIPS).";
    NO_BIND_NOW = "no-bind-now", Info,
        "Partial RELRO: the library is not linked with BIND_NOW, so the PLT's GOT stays writable. Reported only when the target's beam.smp itself binds now (the BEAM dlopens with RTLD_NOW, so nothing else changes).",
        "Link with -Wl,-z,now (with -z relro: full RELRO).";
    NOT_A_SHARED_OBJECT = "not-a-shared-object", Error,
        "The ELF file is an executable (ET_EXEC, or a PIE with DF_1_PIE) or an unlinked object file (ET_REL), not a shared library: dlopen refuses it (\"cannot dynamically load executable\", \"cannot dynamically load position-independent executable\", \"only ET_DYN and ET_EXEC can be loaded\").",
        "Link the NIF with -shared (and compile with -fPIC); a Rust NIF needs crate-type = [\"cdylib\"].";
    ENIF_DEFINED = "enif-defined", Error,
        "The library defines enif_* functions itself. The BEAM dlopens NIFs with RTLD_NOW and without RTLD_GLOBAL: with -Bsymbolic or protected visibility the library's calls run its own copy instead of the VM's, otherwise they go to the VM's and silently fall back to the copy on a runtime that lacks the function.",
        "Remove the definitions (a stub or mock of the NIF API linked in by mistake); call the API only through erl_nif.h.";
    INTERPOSABLE_EXPORT = "interposable-export", Warning,
        "The library exports functions or data under names that the VM's beam.smp, a library the VM loads (zlib, the C allocator) or another bundled library (OpenSSL, SQLite, zstd, ...) also defines. Symbol lookup searches the VM and its libraries first, so the library's own calls can run those definitions instead of its bundled copy.",
        "Export only nif_init: build with -fvisibility=hidden, link bundled static libraries with -Wl,--exclude-libs,ALL or a version script, or link with -Wl,-Bsymbolic.";
    ISA_NOTE_LEVEL = "isa-note-level", Error,
        "The library's .note.gnu.property marks it as needing an x86-64 ISA level (GNU_PROPERTY_X86_ISA_1_NEEDED) above the target CPU's: glibc 2.33 and later refuse to load it (\"CPU ISA level is lower than required\"). A warning on other C libraries, which ignore the marker but will run the code.",
        "Build for the oldest CPU you deploy to (-march=x86-64-v2 or lower, no -Wl,-z,x86-64-v3), or deploy to CPUs of that level.";
    MIPS_NAN_MISMATCH = "mips-nan-mismatch", Error,
        "The MIPS library's NaN encoding (ELF header flag EF_MIPS_NAN2008: IEEE 754-2008 or legacy) differs from the target runtime's: glibc's loader refuses an object of the other encoding, so load_nif fails with \"cannot open shared object file: No such file or directory\" although the file is there. A warning on other C libraries, which load it but read its quiet NaNs as signalling ones.",
        "Build with the target's NaN encoding: -mnan=legacy for Debian's mips, mipsel and mips64el (and pre-release-6 CPUs), -mnan=2008 for release 6 and NaN-2008 systems; check with readelf -h (the flags say nan2008).";
    // Raised outside the core's checks; last, so that SARIF's rule indices stay as they were.
    LIBRARY_UNREADABLE = "library-unreadable", Error by Unreadable,
        "The file could not be read as a native library: missing, unreadable, not a regular file, empty, not ELF/Mach-O/PE, or truncated.",
        "Rebuild or re-download the library; a truncated file crashes the VM with SIGBUS inside load_nif.";
    LOCK_HASH_CHANGED = "lock-hash-changed", Error by Elixir,
        "The library's SHA-256 differs from the one recorded for its path in callconv.lock.",
        "If the new build is intended, review it and run mix callconv.lock; otherwise restore the approved artifact.";
    LOCK_NOT_LOCKED = "lock-not-locked", Error by Elixir,
        "The library is not listed in callconv.lock.",
        "Review the library and run mix callconv.lock to approve it.";
}

/// Finds a rule by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|r| r.id == id)
}

impl Severity {
    /// The stable spelling used in JSON and as an Elixir atom.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}
