//! Verifying the machine code of a NIF's entry points against the calling convention the
//! BEAM calls them with.
//!
//! [`analyze`] follows each entry point's code, lifted by `crate::isa`, with a small abstract interpreter
//! (register and stack-slot values, stack-pointer offset) and reports what the code does
//! against [`crate::conventions`]: argument reads, callee-saved registers at returns and tail
//! calls, stack balance and `ret N`, alignment at calls, reserved registers, and the
//! instruction-set floor of the reachable code. Everything is bounded by counted budgets,
//! never by the clock ([`MAX_FUNCTION_INSNS`], [`MAX_LIBRARY_FUNCTION_INSNS`],
//! [`MAX_STATES_PER_BLOCK`], [`MAX_SLOTS_PER_STATE`], [`MAX_BLOCKS`], [`MAX_LIBRARY_INSNS`],
//! and the return probes' caps); a path the analysis cannot follow is dropped, never guessed.
//!
//! What each architecture's lifter follows and checks, and what it does not, is described
//! once, in `docs/design/reading-a-library.md` ("Machine code against the convention"); the
//! budgets in `docs/design/robustness.md`.

mod calls;
mod compact;
pub mod exports;
mod flags;
pub mod floor;
mod frames;
mod state;
mod sweep;
mod trace;
mod verdict;

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use object::ReadRef;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, Cleanup, Convention};
use crate::entry;
use crate::inspect::{Binary, Platform};
use crate::memory::{Fixup, Image};
use crate::platform::Arch;

use crate::isa::{
    aarch64, arm, mips, ppc64, riscv, s390x, sparc, x86, Bound, ImageView, Lifter, Stub,
};
use calls::{Acc, Callee, Target};
use compact::{Effect, Go, Insn, Names, Reg, Store, Sym, Symbols};
pub use floor::IsaLevel;
use state::{extended, first_arg_in_frame, store_slot, State, Val, MOVED, REALIGNED};

/// Most instructions interpreted for one entry point (counting re-visits).
pub const MAX_FUNCTION_INSNS: usize = 20_000;
/// Most distinct states kept per branch target before they are merged.
pub const MAX_STATES_PER_BLOCK: usize = 4;
/// Most passes over one function: the second and third give up the stack pointer at the
/// heads of loops that move it each round ([`Ctx::trace`]).
pub const MAX_TRACE_PASSES: usize = 3;
/// Most states kept per branch target when they hold different condition flags (32-bit Arm).
pub const MAX_STATES_PER_BLOCK_FLAGS: usize = 8;
/// Most stack slots one state remembers (each state is copied at every branch).
pub const MAX_SLOTS_PER_STATE: usize = 512;
/// Most branch targets explored for one entry point.
pub const MAX_BLOCKS: usize = 4_096;
/// Most instructions visited by the reachability sweep of a whole library (ISA floor).
pub const MAX_LIBRARY_INSNS: usize = 400_000;
/// Most entries read from one jump table.
pub const MAX_TABLE_ENTRIES: u64 = 1_024;
/// Most instructions interpreted for all the entry points of one library together (counting
/// re-visits and jump-table targets); the entry points past it are capped (`library`).
pub const MAX_LIBRARY_FUNCTION_INSNS: usize = 4_000_000;
/// Most instructions looked at to decide whether a local function can return.
const MAX_RETURN_PROBE_INSNS: usize = 2_000;
/// Most instructions looked at by those probes for one library.
const MAX_LIBRARY_PROBE_INSNS: usize = 200_000;
/// How deep a probe follows calls to local functions that may never return.
const MAX_CALLEE_DEPTH: usize = 4;
/// Bytes decoded at once.
const CODE_WINDOW: usize = 16;

/// Imported functions that never return: a call to one ends the path.
const NORETURN: &[&str] = &[
    "abort",
    "exit",
    "_exit",
    "_Exit",
    "quick_exit",
    "__stack_chk_fail",
    "__stack_chk_fail_local",
    "__assert_fail",
    "__assert_rtn",
    "__assert_perror_fail",
    "__cxa_throw",
    "__cxa_rethrow",
    "__cxa_bad_cast",
    "__cxa_bad_typeid",
    "_Unwind_Resume",
    "longjmp",
    "_longjmp",
    "siglongjmp",
    "__longjmp_chk",
    "pthread_exit",
    "__fortify_fail",
    "__chk_fail",
    "err",
    "errx",
    "verr",
    "verrx",
    "__libc_fatal",
    "_ZSt9terminatev",
    "__rust_start_panic",
    "ExitProcess",
    "_assert",
    "_wassert",
];

/// Imports whose use means the code picks instructions by CPU at run time.
const CPU_PROBES: &[&str] = &[
    "getauxval",
    "__getauxval",
    "__cpu_model",
    "__cpu_features",
    "__cpu_indicator_init",
    "__get_cpu_features",
    "_dl_x86_get_cpu_features",
    "__x86_get_cpuid_feature_leaf",
    "IsProcessorFeaturePresent",
    "sysctlbyname",
    "elf_aux_info",
];

/// What one entry point's code was observed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// Argument registers (of any convention of the architecture) read before written.
    pub args_read: Vec<String>,
    /// Incoming stack slots read, as offsets from the entry stack pointer (x86: 4 = first).
    pub stack_args_read: Vec<i64>,
    /// Callee-saved registers (and the link register) not restored on some path to an exit.
    pub callee_saved_touched: Vec<String>,
    /// Bytes of arguments popped by the return (`ret N`), the largest seen.
    pub cleanup: u64,
    /// Whether every return and tail call leaves the stack pointer where it was at entry.
    pub stack_balanced: bool,
    /// Returns and tail calls reached.
    pub exits: usize,
}

/// The analysis of one entry point (JSON: one element of a library's `functions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionAnalysis {
    /// `name/arity` for a NIF function, else `nif_init`, `load`, `upgrade` or `unload`.
    pub name: String,
    /// Its address (link-time virtual address; Thumb bit cleared; on PPC64 ELFv1 the code
    /// address its `.opd` descriptor holds).
    pub address: u64,
    /// What the code does.
    pub observed: Observed,
    /// The convention the BEAM calls it with (model id).
    pub expected_convention: String,
    /// When the code does not fit the expected convention: the model convention it fits
    /// best (`None`: it fits the expected one, or none of the model).
    pub matches_best: Option<String>,
    /// Which cap was hit, if any (`instructions`, `blocks`, `library`).
    pub capped: Option<String>,
    /// Instructions interpreted.
    pub instructions: usize,
    /// Exports mode only: every candidate convention of the platform the code fits (empty:
    /// none, an error). Absent in the NIF mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
}

/// One CPU feature the reachable code needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureUse {
    /// The `/proc/cpuinfo` flag that announces it.
    pub flag: String,
    /// That instruction's mnemonic (`vpaddd`, `xvf32gerpp`: `mma` where capstone does not
    /// decode it and callconv names the family only).
    #[serde(default)]
    pub instruction: String,
    /// The first instruction (lowest address) that needs it.
    pub address: u64,
    /// The entry point it was reached from.
    pub reached_from: String,
}

/// The instruction-set floor of the code reachable from the entry points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsaSummary {
    /// Features needed beyond the architecture's baseline, by flag.
    pub features: Vec<FeatureUse>,
    /// For x86-64: the psABI level those features need (1–4).
    pub x86_64_level: Option<u8>,
    /// The code probes the CPU (cpuid, xgetbv, getauxval, `__cpu_model`, ID registers), so
    /// the features may be behind a run-time dispatch.
    pub guarded: bool,
    /// What the probe is, at which address.
    pub guard: Option<String>,
    /// Instructions visited by the sweep.
    pub instructions: usize,
    /// Whether the sweep hit [`MAX_LIBRARY_INSNS`].
    pub capped: bool,
}

/// Where one function's code departs from a convention, with the addresses a finding cites
/// (what [`Observed`] sums up). The rules (`rules::code`) turn it into findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departures {
    /// As in [`FunctionAnalysis::name`].
    pub name: String,
    /// As in [`FunctionAnalysis::address`].
    pub address: u64,
    /// The convention it is held to.
    pub convention: &'static Convention,
    /// The integer arguments it takes (the NIF mode: from its prototype, 3 for a NIF
    /// function; 0 in the exports mode, where the arity is unknown).
    pub arguments: usize,
    /// The convention's registers for those arguments, canonical names (the exports mode:
    /// every integer argument register of the convention).
    pub argument_registers: Vec<String>,
    /// Argument registers read before written, canonical names, sorted.
    pub args_read: Vec<String>,
    /// Whether the registers read and the bytes popped fit `convention` (the NIF mode).
    pub fits_convention: bool,
    /// When they do not: the model convention they fit best (ties listed).
    pub best_match: Option<String>,
    /// Bytes of arguments popped by the return (`ret N`), the largest seen.
    pub cleanup: u64,
    /// The lowest address of a return that pops arguments.
    pub cleanup_at: Option<u64>,
    /// Registers `convention` keeps (callee-saved, the link register) not restored at an exit.
    pub clobbered: Vec<Clobber>,
    /// Exits whose stack pointer is not where it was at entry: address and bytes off.
    pub unbalanced: Vec<(u64, i64)>,
    /// Calls made with the stack pointer misaligned: address and its offset from entry.
    pub misaligned: Vec<(u64, i64)>,
    /// Reserved registers written: name and address of the first write.
    pub reserved: Vec<(String, u64)>,
    /// Which cap was hit, if any (`instructions`, `blocks`, `library`).
    pub capped: Option<&'static str>,
    /// The stack pointer's name.
    pub stack_pointer: &'static str,
}

/// A register a convention keeps, changed and not restored on some path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clobber {
    /// Its canonical name.
    pub register: String,
    /// Where it was changed.
    pub changed_at: u64,
    /// The exit reached without restoring it.
    pub exit_at: u64,
    /// Whether it is the link register (the return address) rather than a callee-saved one.
    pub link_register: bool,
}

/// The analysis of one library.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibraryAnalysis {
    /// Whether this architecture is analysed at all.
    pub supported: bool,
    /// One element per entry point analysed, in entry order (functions, then callbacks).
    pub functions: Vec<FunctionAnalysis>,
    /// Where each of `functions` departs from the convention, in the same order.
    pub departures: Vec<Departures>,
    /// The instruction-set floor.
    pub isa: IsaSummary,
}

/// Analyses every entry point of a NIF library: the function table of `entry`, `nif_init`
/// at `init_address` and the callbacks, against `convention` (the one the BEAM uses; see
/// [`conventions::for_binary`]), and the CPU features the reachable code needs.
pub fn analyze<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    entry: &entry::Decoded,
    init_address: u64,
    convention: &'static Convention,
) -> LibraryAnalysis {
    let roots = entry_points(binary, entry, init_address);
    analyze_roots(binary, &roots, convention)
}

/// The entry points [`analyze`] starts from, as `(name, address, integer argument count)`:
/// each function of the table, `nif_init` and the callbacks, at the addresses the entry's
/// decoder read.
pub fn entry_points<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    entry: &entry::Decoded,
    init_address: u64,
) -> Vec<(String, u64, usize)> {
    let mut roots: Vec<(String, u64, usize)> = Vec::new();
    for (f, addr) in entry.entry.functions.iter().zip(&entry.function_addresses) {
        if let Some(a) = addr {
            roots.push((format!("{}/{}", f.name, f.arity), *a, 3));
        }
    }
    let init_args = usize::from(binary.platform == Platform::Windows);
    roots.push(("nif_init".to_string(), init_address, init_args));
    for callback in &entry.callbacks {
        let n = match callback.name {
            "upgrade" => 4,
            "unload" => 2,
            _ => 3,
        };
        roots.push((callback.name.to_string(), callback.address, n));
    }
    roots
}

/// Like [`analyze`], for any list of `(name, address, integer argument count)` entry points.
pub fn analyze_roots<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    roots: &[(String, u64, usize)],
    convention: &'static Convention,
) -> LibraryAnalysis {
    analyze_with(binary, roots, convention, true)
}

/// Only the instruction-set sweep of the code reachable from `roots`, without the
/// per-function checks (what the benchmark times on its own).
pub fn isa_sweep<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    roots: &[(String, u64, usize)],
    convention: &'static Convention,
) -> IsaSummary {
    analyze_with(binary, roots, convention, false).isa
}

fn analyze_with<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    roots: &[(String, u64, usize)],
    convention: &'static Convention,
    per_function: bool,
) -> LibraryAnalysis {
    let Some((lifter, code_roots)) = make_lifter(binary, convention, roots) else {
        return LibraryAnalysis::default();
    };
    let roots = code_roots.as_deref().unwrap_or(roots);
    let mut ctx = Ctx::new(
        &binary.image,
        lifter.as_ref(),
        binary.arch,
        convention,
        MAX_LIBRARY_FUNCTION_INSNS,
    );
    ctx.use_frames(binary.frame_table());
    let mut out = LibraryAnalysis {
        supported: true,
        ..LibraryAnalysis::default()
    };
    // The same code reached twice (aliases) is analysed once.
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    for (name, addr, nargs) in roots.iter().filter(|_| per_function) {
        if !seen.insert(*addr) {
            continue;
        }
        let (fa, departures) = ctx.function(name, *addr, *nargs);
        out.functions.push(fa);
        out.departures.push(departures);
    }
    out.isa = ctx.sweep(roots);
    out
}

/// The lifter of the binary's architecture, and (PPC64, whose function pointers may be
/// descriptors) the roots rewritten to the code they point to. `None`: not analysed.
#[allow(clippy::type_complexity)]
fn make_lifter<'a, 'data, R: ReadRef<'data>>(
    binary: &'a Binary<R>,
    convention: &'static Convention,
    roots: &[(String, u64, usize)],
) -> Option<(Box<dyn Lifter + 'a>, Option<Vec<(String, u64, usize)>>)> {
    // PPC64 ELFv1 function pointers are descriptors: the roots become the code they point to.
    let mut code_roots = None;
    let lifter: Box<dyn Lifter + 'a> = match binary.arch {
        Arch::X86_64 if binary.bits == 64 => match x86::X86::for_analysis(true) {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::X86 => match x86::X86::for_analysis(false) {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::Aarch64 if binary.bits == 64 => match aarch64::Aarch64::new() {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::Arm => match arm::Arm::new(binary.image.big_endian()) {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::Riscv64 | Arch::Riscv32 => match riscv::Riscv::new(binary.arch == Arch::Riscv64) {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::Powerpc64 if binary.bits == 64 => {
            let (code, toc) = ppc64::code_roots(&binary.image, roots);
            code_roots = Some(code);
            let elfv1 = convention.id == "ppc64-elfv1";
            match ppc64::Ppc64::new(&binary.image, elfv1, toc) {
                Ok(l) => Box::new(l),
                Err(_) => return None,
            }
        }
        Arch::S390x if binary.bits == 64 => match s390x::S390x::new() {
            Ok(l) => Box::new(l),
            Err(_) => return None,
        },
        Arch::Mips | Arch::Mips64 => {
            let wide = binary.arch == Arch::Mips64;
            match mips::Mips::new(wide, binary.image.big_endian(), binary.mips_release6) {
                Ok(l) => Box::new(l),
                Err(_) => return None,
            }
        }
        Arch::Sparc | Arch::Sparc64 => {
            match sparc::Sparc::new(&binary.image, binary.arch == Arch::Sparc64) {
                Ok(l) => Box::new(l),
                Err(_) => return None,
            }
        }
        _ => return None,
    };
    Some((lifter, code_roots))
}

struct Ctx<'a, R> {
    image: &'a Image<R>,
    lifter: &'a dyn Lifter,
    arch: Arch,
    convention: &'static Convention,
    /// Register names of this library, by id.
    names: Names,
    /// Import names abstract values refer to.
    symbols: Symbols,
    /// Decoded instructions, shared by every entry point and the sweep.
    decoded: Store,
    /// The stack pointer, the link register, and the registers some rules name.
    sp: Reg,
    link: Option<Reg>,
    lr: Reg,
    ebx: Reg,
    gp: Reg,
    callees: FxHashMap<u64, Callee>,
    /// Instructions left for [`Ctx::callee`] probes in this library.
    probe_budget: usize,
    tables: FxHashMap<u64, Vec<u64>>,
    /// Instructions left for [`Ctx::function`] in this library.
    library_budget: usize,
    /// Exports mode: the start of every exported function. A path that runs into another
    /// function's start went through a call that does not return (an import such as
    /// `OPENSSL_die` that no list names): it ends there. Empty in the NIF mode.
    boundaries: std::collections::HashSet<u64>,
    /// Exports mode: the code addresses of the library's own exported functions whose names
    /// never return (glibc's `abort`, `__stack_chk_fail`, `__chk_fail`, `exit`): a call to one
    /// ends the path, as a call to the import of that name does. Empty in the NIF mode.
    noreturn_at: std::collections::HashSet<u64>,
    /// Where functions' code ends: in the exports mode each exported function's (its symbol's
    /// size), in both modes each entry of the call frame information's. A call whose return
    /// address is there returns nowhere: the function's last instruction is a call to a local
    /// function that never returns (glibc's `malloc_printerr`), and the bytes after it are
    /// another function's.
    function_ends: std::collections::HashSet<u64>,
    /// The call frame information paths are checked against (`frames.rs`).
    frames: frames::Frames,
}

impl<'a, 'data, R: ReadRef<'data>> Ctx<'a, R> {
    fn new(
        image: &'a Image<R>,
        lifter: &'a dyn Lifter,
        arch: Arch,
        convention: &'static Convention,
        library_budget: usize,
    ) -> Self {
        let mut names = Names::default();
        // The registers every state uses get the lowest ids, so states stay short.
        let sp = names.intern(lifter.sp());
        let link = lifter.link_register().map(|r| names.intern(r));
        for list in [
            convention.callee_saved,
            convention.caller_saved,
            convention.int_args,
        ] {
            for r in list {
                names.intern(&lifter.canonical_model(r));
            }
        }
        let lr = names.intern("lr");
        let ebx = names.intern("ebx");
        let gp = names.intern("gp");
        Ctx {
            image,
            lifter,
            arch,
            convention,
            names,
            symbols: Symbols::default(),
            decoded: Store::default(),
            sp,
            link,
            lr,
            ebx,
            gp,
            callees: FxHashMap::default(),
            probe_budget: MAX_LIBRARY_PROBE_INSNS,
            tables: FxHashMap::default(),
            library_budget,
            boundaries: Default::default(),
            noreturn_at: Default::default(),
            function_ends: Default::default(),
            frames: Default::default(),
        }
    }

    /// Takes the file's call frame information: paths are checked against it, and a call
    /// that ends one of its entries never returns (as one that ends a symbol).
    fn use_frames(&mut self, table: Option<crate::inspect::unwind::FrameTable>) {
        let regs = self.frame_regs();
        self.frames = frames::Frames::new(table, regs);
        let ends: Vec<u64> = self.frames.ends().collect();
        self.function_ends
            .extend(ends.into_iter().map(|e| self.lifter.code_address(e)));
    }

    fn regs_of(&mut self, names: &[String]) -> Vec<Reg> {
        names.iter().map(|n| self.names.intern(n)).collect()
    }
}

impl<'data, R: ReadRef<'data>> ImageView for Image<R> {
    fn import_at(&self, addr: u64) -> Option<String> {
        match self.fixup_at(addr)? {
            Fixup::Symbol { name, .. } => Some(name.clone()),
            Fixup::Relative(_) => None,
        }
    }

    fn pointer(&self, addr: u64) -> Option<u64> {
        self.read_pointer(addr).ok()?.address()
    }
}

/// The registers `convention`'s platform owns, which code must not write. (The model also
/// lists scratch registers with roles, x16/x17 or r11, which are free to write.)
fn reserved_of(convention: &Convention) -> Vec<String> {
    {
        match convention.id {
            "aarch64-apple" | "aarch64-win" => vec!["x18".to_string()],
            // RISC-V gp is set once by the executable's startup (linker relaxation against
            // __global_pointer$), tp by the thread library.
            _ if convention.arch.starts_with("riscv") => {
                vec!["gp".to_string(), "tp".to_string()]
            }
            // The TOC pointer; its protocol writes are marked by the lifter.
            "ppc64-elfv2" | "ppc64-elfv1" => vec!["r2".to_string()],
            // The GOT pointer; the lifter marks its PIC setup and restores.
            "mips-o32" | "mips64-n64" | "mips64-n32" => vec!["gp".to_string()],
            // The system's globals (%g7: the thread pointer); %g5 too in 32-bit mode.
            "sparc-v8" => vec!["g5".to_string(), "g6".to_string(), "g7".to_string()],
            "sparc64-v9" => vec!["g6".to_string(), "g7".to_string()],
            _ => Vec::new(),
        }
    }
}

/// Whether `t` is close enough to the function start to be one of its jump-table targets.
fn near(t: u64, start: u64) -> bool {
    t.abs_diff(start) < (1 << 24)
}

fn is_noreturn_name(n: &str) -> bool {
    // Mach-O spells C names with a leading underscore.
    let bare = n.strip_prefix('_').unwrap_or(n);
    NORETURN.contains(&n) || NORETURN.contains(&bare) || n.contains("4core9panicking")
}
