//! Verifying the machine code of a NIF's entry points against the calling convention the
//! BEAM calls them with.
//!
//! [`analyze`] follows each entry point's code with capstone and a small abstract interpreter
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

mod compact;
pub mod exports;
pub mod floor;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use rustc_hash::FxHashMap;

use object::ReadRef;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, Cleanup, Convention};
use crate::entry;
use crate::inspect::{Binary, Platform};
use crate::memory::{Fixup, Image, Pointer};
use crate::platform::Arch;

use crate::isa::{
    aarch64, arm, mips, ppc64, riscv, s390x, sparc, x86, Bound, ImageView, Lifter, Stub,
};
use compact::{Effect, Go, Insn, Names, Reg, Store, Sym, Symbols};
pub use floor::IsaLevel;

/// Most instructions interpreted for one entry point (counting re-visits).
pub const MAX_FUNCTION_INSNS: usize = 20_000;
/// Most distinct states kept per branch target before they are merged.
pub const MAX_STATES_PER_BLOCK: usize = 4;
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

/// The addresses of the `load`, `upgrade` and `unload` callbacks of the entry that `init`
/// returns, read from the file (none for entries built at run time).
pub fn callback_addresses<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    init: u64,
) -> Vec<(&'static str, u64)> {
    let Ok(located) = entry::locate::locate_entry(&binary.image, binary.arch, init) else {
        return Vec::new();
    };
    let p = u64::from(binary.image.pointer_size());
    // major, minor, name, num_of_funcs, funcs, load, reload, upgrade, unload (erl_nif.h).
    let name = 8u64.next_multiple_of(p);
    let funcs = (name + p + 4).next_multiple_of(p);
    let load = funcs + p;
    let upgrade = load + 2 * p;
    let unload = upgrade + p;
    [("load", load), ("upgrade", upgrade), ("unload", unload)]
        .into_iter()
        .filter_map(
            |(n, off)| match binary.image.read_pointer(located.address.checked_add(off)?) {
                Ok(Pointer::Address(a)) if a != 0 => Some((n, a)),
                _ => None,
            },
        )
        .collect()
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
/// each function of the table, `nif_init` and the callbacks.
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
    for (name, addr) in callback_addresses(binary, init_address) {
        let n = match name {
            "upgrade" => 4,
            "unload" => 2,
            _ => 3,
        };
        roots.push((name.to_string(), addr, n));
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

/// An abstract value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    /// The register's own value at entry.
    Entry(Reg),
    /// Entry stack pointer plus an offset.
    SpPlus(i64),
    /// A stack address relative to the stack pointer right after a realignment
    /// (`and rsp, -32`): its alignment is known, its distance to the entry SP is not.
    AlPlus { align: u64, off: i64 },
    /// A known constant (an address).
    Const(u64),
    /// What the loader writes into a GOT slot for this import (MIPS `lw $t9, f($gp)`).
    Import(Sym),
    /// A known base plus an unknown index: an address inside a jump table (MIPS `addu`).
    Indexed(u64),
    /// An entry read from a jump table.
    TableEntry { table: u64, size: u8, signed: bool },
    /// A jump-table target: `base + (entry << shift)`.
    TableTarget {
        table: u64,
        size: u8,
        signed: bool,
        base: u64,
        shift: u8,
    },
    /// Anything else.
    Unknown,
    /// Lost by merging states: never reported.
    Top,
}

/// `v` with its low `bits` kept and widened, signed or not (an AArch64 extended-register
/// operand). A table entry stays one when the widening keeps its value (`sxtb` of a byte
/// entry makes it a signed one); any other value the widening could change is unknown.
fn extended(v: Val, bits: u8, signed: bool) -> Val {
    match v {
        Val::Const(c) if (1..64).contains(&bits) => {
            let up = 64 - u32::from(bits);
            Val::Const(if signed {
                ((c << up) as i64 >> up) as u64
            } else {
                (c << up) >> up
            })
        }
        Val::Const(c) => Val::Const(c),
        Val::TableEntry {
            table,
            size,
            signed: entry_signed,
        } => {
            let entry_bits = 8 * u16::from(size);
            let bits = u16::from(bits);
            let keeps_sign = if bits == entry_bits {
                Some(signed)
            } else if bits > entry_bits && (!entry_signed || signed) {
                // A zero-extended entry is positive in any wider view; a sign-extended one
                // stays itself when widened with its sign again.
                Some(entry_signed)
            } else {
                None
            };
            keeps_sign.map_or(Val::Unknown, |signed| Val::TableEntry {
                table,
                size,
                signed,
            })
        }
        Val::Top => Val::Top,
        _ => Val::Unknown,
    }
}

/// A stack slot: frame (0: entry SP, 1: realigned SP) and offset.
type Slot = (u8, i64);

/// The interpreter's state on one path. Registers are indexed by id; an id past the end of
/// `regs` holds its entry value, so states made before the interner grew stay valid and
/// cloning copies only the registers the code has used.
#[derive(Debug, Clone)]
struct State {
    /// Register values by id (`Entry(id)`: unchanged).
    regs: Vec<Val>,
    /// Stack slots, sorted by slot.
    slots: Vec<(Slot, Val)>,
    /// A store found [`MAX_SLOTS_PER_STATE`] slots taken and was not recorded: a slot not
    /// found then holds an unknown value that is never reported.
    slots_full: bool,
    /// The path went through a call to an import whose name is unknown (Mach-O, PE): if it
    /// never returns, what follows is another function's code, so exits are not judged.
    uncertain: bool,
    /// Where each callee-saved register was last changed, sorted by register.
    changed_at: Vec<(Reg, u64)>,
    /// The last `cmp reg, imm` and the bound a branch derived from it.
    cmp: Option<i64>,
    /// The last `cmp a, b`, with the address of the instruction after it (a branch there may
    /// use it).
    cmp_regs: Option<(u64, Reg, Reg)>,
    bound: Option<u64>,
}

impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        // Cheap fields first: most states compared differ in the stack pointer or a slot.
        self.slots_full == other.slots_full
            && self.uncertain == other.uncertain
            && self.cmp == other.cmp
            && self.cmp_regs == other.cmp_regs
            && self.bound == other.bound
            && self.same_regs(other)
            && self.slots == other.slots
            && self.changed_at == other.changed_at
    }
}

impl Eq for State {}

impl State {
    fn new() -> State {
        State {
            regs: Vec::new(),
            slots: Vec::new(),
            changed_at: Vec::new(),
            cmp: None,
            cmp_regs: None,
            bound: None,
            slots_full: false,
            uncertain: false,
        }
    }

    fn get(&self, r: Reg) -> Val {
        self.regs.get(r.index()).copied().unwrap_or(Val::Entry(r))
    }

    fn set(&mut self, r: Reg, v: Val) {
        let i = r.index();
        if i >= self.regs.len() {
            if v == Val::Entry(r) {
                return;
            }
            let from = self.regs.len();
            self.regs.extend((from..=i).map(|k| Val::Entry(reg_at(k))));
        }
        self.regs[i] = v;
    }

    /// Whether both states hold the same register values (ids past either's end holding
    /// their entry value).
    fn same_regs(&self, other: &State) -> bool {
        let n = self.regs.len().min(other.regs.len());
        self.regs[..n] == other.regs[..n]
            && self.regs[n..]
                .iter()
                .chain(&other.regs[n..])
                .enumerate()
                .all(|(k, v)| *v == Val::Entry(reg_at(n + k)))
    }

    fn slot(&self, key: Slot) -> Option<&Val> {
        self.slots
            .binary_search_by(|(k, _)| k.cmp(&key))
            .ok()
            .map(|i| &self.slots[i].1)
    }

    /// Sets a slot whatever the slot cap (the return address a `call` pushes).
    fn put_slot(&mut self, key: Slot, v: Val) {
        match self.slots.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.slots[i].1 = v,
            Err(i) => self.slots.insert(i, (key, v)),
        }
    }

    fn changed_at(&self, r: Reg) -> Option<u64> {
        self.changed_at
            .binary_search_by(|(k, _)| k.cmp(&r))
            .ok()
            .map(|i| self.changed_at[i].1)
    }

    fn set_changed_at(&mut self, r: Reg, at: u64) {
        match self.changed_at.binary_search_by(|(k, _)| k.cmp(&r)) {
            Ok(i) => self.changed_at[i].1 = at,
            Err(i) => self.changed_at.insert(i, (r, at)),
        }
    }

    fn merge(&mut self, other: &State) {
        let n = self.regs.len().max(other.regs.len());
        for k in 0..n {
            let r = reg_at(k);
            if self.get(r) != other.get(r) {
                self.set(r, Val::Top);
            }
        }
        // A slot both paths wrote with different values holds one of them: Top (never
        // reported), not unknown, or a callee-saved register reloaded from it (its save slot
        // after the paths' merge) would look clobbered. A slot only one path wrote is dropped.
        let mut slots = Vec::with_capacity(self.slots.len().min(other.slots.len()));
        let (mut a, mut b) = (self.slots.iter().peekable(), other.slots.iter().peekable());
        while let (Some((ka, va)), Some((kb, vb))) = (a.peek(), b.peek()) {
            match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    slots.push((*ka, if va == vb { *va } else { Val::Top }));
                    a.next();
                    b.next();
                }
            }
        }
        self.slots = slots;
        for (k, at) in &other.changed_at {
            if let Err(i) = self.changed_at.binary_search_by(|(r, _)| r.cmp(k)) {
                self.changed_at.insert(i, (*k, *at));
            }
        }
        if self.bound != other.bound {
            self.bound = None;
        }
        self.uncertain |= other.uncertain;
        self.slots_full |= other.slots_full;
    }
}

/// The register with id `k` (an index of [`State::regs`], which never outgrows the interner).
fn reg_at(k: usize) -> Reg {
    Reg::from_index(k)
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
    /// Exports mode: where each exported function's code ends (its symbol's size). A call
    /// whose return address is there returns nowhere: the function's last instruction is a
    /// call to a local function that never returns (glibc's `malloc_printerr`), and the bytes
    /// after it are another function's. Empty in the NIF mode.
    function_ends: std::collections::HashSet<u64>,
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
        }
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

/// Per-function accumulators.
#[derive(Default)]
struct Acc {
    args_read: BTreeSet<String>,
    stack_args: BTreeSet<i64>,
    clobbered: BTreeMap<String, (u64, u64)>,
    cleanup: BTreeMap<u64, u64>,
    unbalanced: BTreeMap<u64, i64>,
    misaligned: BTreeMap<u64, i64>,
    reserved: BTreeMap<String, u64>,
    exits: usize,
    capped: Option<&'static str>,
    insns: usize,
    /// States recorded at branch targets.
    states: usize,
    /// What [`Ctx::trace`] records by register id, turned into the named fields above when
    /// it ends.
    ids: IdAcc,
}

impl Acc {
    /// Names the registers recorded by id.
    fn finish(&mut self, names: &Names) {
        let ids = std::mem::take(&mut self.ids);
        let name = |r: Reg| names.name(r).to_string();
        self.args_read.extend(ids.args_read.into_iter().map(name));
        self.clobbered
            .extend(ids.clobbered.into_iter().map(|(r, v)| (name(r), v)));
        self.reserved
            .extend(ids.reserved.into_iter().map(|(r, v)| (name(r), v)));
    }
}

/// The register-keyed accumulators of [`Acc`], by id while tracing.
#[derive(Default)]
struct IdAcc {
    args_read: BTreeSet<Reg>,
    clobbered: BTreeMap<Reg, (u64, u64)>,
    reserved: BTreeMap<Reg, u64>,
}

/// What a local function does for its callers (see [`Ctx::callee`]).
#[derive(Debug, Clone, Copy)]
struct Callee {
    returns: bool,
    /// Bytes of arguments its returns pop (x86 `ret N`), when known.
    pops: Option<u64>,
}

/// What one call does (see [`Ctx::call_kind`]).
struct CallKind {
    noreturn: bool,
    unknown: bool,
    /// An import whose prototype may return a struct in memory (any import but the NIF API:
    /// no `enif_*` function returns a struct by value).
    may_return_struct: bool,
    pops: u64,
    /// Whether `pops` was read from the callee's returns (a local callee whose probe saw
    /// them all agree) or is the convention's 0 (an import); not when a local callee's probe
    /// could not tell.
    pops_known: bool,
}

enum Target {
    Import(String),
    UnknownImport,
    Local,
}

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// The instruction at `addr`, decoded and interned once per library.
    fn insn(&mut self, addr: u64) -> Option<Rc<Insn>> {
        if let Some(i) = self.decoded.get(addr) {
            return i.clone();
        }
        let started = crate::stats::start();
        let insn = self
            .image
            .read_code(self.lifter.code_address(addr), CODE_WINDOW)
            .ok()
            .and_then(|code| self.lifter.lift(&code, addr))
            .map(|l| Rc::new(Insn::from_lifted(l, &mut self.names)));
        crate::stats::decoded(started);
        self.decoded.insert(addr, insn.clone());
        insn
    }

    fn classify(&self, addr: u64) -> Target {
        let Ok(code) = self.image.read_code(self.lifter.code_address(addr), 32) else {
            return Target::UnknownImport;
        };
        match self.lifter.stub(&code, addr, self.image) {
            Some(Stub::Import(n)) => Target::Import(n),
            Some(Stub::Unknown) | Some(Stub::GotRelative(_)) => Target::UnknownImport,
            None => Target::Local,
        }
    }

    /// What a call does: whether it never returns, whether its target is an import the file
    /// does not name, and how many bytes of arguments it pops on return (x86 `ret N`). `got`
    /// is the caller's GOT base (i386 PIC `ebx`), which names the slot of an i386 PLT entry.
    ///
    /// Only a local callee's `ret N` is known, read from its own code. An import's is not: it
    /// counts as 0 (the platforms' C conventions leave arguments to the caller), but for the one
    /// exception, see the i386 struct return in [`Ctx::function`].
    fn call_kind(&mut self, target: u64, got: Option<u64>) -> CallKind {
        match self.classify_with(target, got) {
            Target::Import(n) => CallKind {
                noreturn: is_noreturn_name(&n),
                unknown: false,
                may_return_struct: !n.trim_start_matches('_').starts_with("enif_"),
                pops: 0,
                pops_known: true,
            },
            Target::UnknownImport => CallKind {
                noreturn: false,
                unknown: true,
                may_return_struct: true,
                pops: 0,
                pops_known: true,
            },
            Target::Local => {
                let c = self.callee(target, 0);
                CallKind {
                    noreturn: !c.returns || self.is_noreturn_local(target),
                    unknown: false,
                    may_return_struct: false,
                    pops: c.pops.unwrap_or(0),
                    pops_known: c.pops.is_some(),
                }
            }
        }
    }

    fn classify_with(&self, addr: u64, got: Option<u64>) -> Target {
        let Ok(code) = self.image.read_code(self.lifter.code_address(addr), 32) else {
            return Target::UnknownImport;
        };
        match self.lifter.stub(&code, addr, self.image) {
            Some(Stub::Import(n)) => Target::Import(n),
            Some(Stub::GotRelative(disp)) => {
                match got.and_then(|g| self.image.import_at(g.wrapping_add_signed(disp))) {
                    Some(n) => Target::Import(n),
                    None => Target::UnknownImport,
                }
            }
            Some(Stub::Unknown) => Target::UnknownImport,
            None => Target::Local,
        }
    }

    /// Whether `addr` is one of the library's own exported functions that never return.
    fn is_noreturn_local(&self, addr: u64) -> bool {
        !self.noreturn_at.is_empty() && self.noreturn_at.contains(&self.lifter.code_address(addr))
    }

    /// Whether a local function can return.
    fn may_return(&mut self, start: u64) -> bool {
        !self.is_noreturn_local(start) && self.callee(start, 0).returns
    }

    /// What a local function does for its callers: whether some path reaches a return, a tail
    /// call or something not followed, and the bytes its returns pop when they all agree.
    /// Calls inside count as returning unless to a no-return import (an i386 PLT entry is
    /// named through the GOT base the callee computes with `__x86.get_pc_thunk`) or to a local
    /// function that cannot return (followed [`MAX_CALLEE_DEPTH`] deep). Bounded by
    /// [`MAX_RETURN_PROBE_INSNS`] per function and [`MAX_LIBRARY_PROBE_INSNS`] per library:
    /// past either, it returns, and pops what the returns seen before pop (unknown if none).
    ///
    /// The pops come from the returns seen even when the walk did not see them all (a cap, a
    /// tail call, a jump table it does not follow): a function's returns all pop the same
    /// (the caller cleans up after each, so a compiler gives every return of one function the
    /// same `ret N`; gcc's i386 soft-fp helpers returning `_Float128` in memory are over the
    /// cap and all end in `ret $4`). Returns that disagree leave it unknown.
    fn callee(&mut self, start: u64, depth: usize) -> Callee {
        if let Some(r) = self.callees.get(&start) {
            return *r;
        }
        let unknown = Callee {
            returns: true,
            pops: None,
        };
        if depth > MAX_CALLEE_DEPTH {
            return unknown;
        }
        // Assume it returns while probing (recursion).
        self.callees.insert(start, unknown);
        // Each path carries the one register known to hold a constant (the PIC GOT base).
        let mut todo: Vec<(u64, Option<(Reg, u64)>)> = vec![(start, None)];
        let mut seen = BTreeSet::new();
        let mut budget = MAX_RETURN_PROBE_INSNS;
        let mut returns = false;
        let mut pops: BTreeSet<u64> = BTreeSet::new();
        'walk: while let Some((mut pc, mut known)) = todo.pop() {
            loop {
                if !seen.insert(pc) {
                    continue 'walk;
                }
                if budget == 0 || self.probe_budget == 0 {
                    returns = true;
                    break 'walk;
                }
                budget -= 1;
                self.probe_budget -= 1;
                let Some(i) = self.insn(pc) else {
                    continue 'walk;
                };
                if let Some((r, v)) = known {
                    known = None;
                    for fx in i.fx.iter() {
                        if let Effect::AddImm { dst, src, imm } = *fx {
                            if dst == r && src == r {
                                known = Some((r, v.wrapping_add_signed(imm)));
                            }
                        }
                    }
                    if known.is_none() && !i.writes().contains(&r) {
                        known = Some((r, v));
                    }
                }
                match i.flow {
                    Go::Next | Go::IndirectCall => pc = i.next,
                    Go::Call(_)
                        if self
                            .function_ends
                            .contains(&self.lifter.code_address(i.next)) =>
                    {
                        continue 'walk
                    }
                    Go::Call(t) => {
                        if let Some(r) = self
                            .image
                            .read_code(self.lifter.code_address(t), 8)
                            .ok()
                            .and_then(|c| self.lifter.pc_thunk(&c))
                        {
                            known = Some((self.names.intern(r), i.next));
                            pc = i.next;
                            continue;
                        }
                        let got = known.filter(|(r, _)| *r == self.ebx).map(|(_, v)| v);
                        match self.classify_with(t, got) {
                            Target::Import(n) if is_noreturn_name(&n) => continue 'walk,
                            Target::Local
                                if self.is_noreturn_local(t)
                                    || t != start && !self.callee(t, depth + 1).returns =>
                            {
                                continue 'walk
                            }
                            _ => {}
                        }
                        pc = i.next;
                    }
                    Go::Jump(t) => {
                        let got = known.filter(|(r, _)| *r == self.ebx).map(|(_, v)| v);
                        match self.classify_with(t, got) {
                            Target::Local if self.is_noreturn_local(t) => continue 'walk,
                            Target::Local => pc = t,
                            Target::Import(n) if is_noreturn_name(&n) => continue 'walk,
                            _ => {
                                returns = true;
                                continue 'walk;
                            }
                        }
                    }
                    Go::Cond(t, _) => {
                        todo.push((t, known));
                        pc = i.next;
                    }
                    Go::Ret { pop, .. } => {
                        returns = true;
                        pops.insert(pop);
                        continue 'walk;
                    }
                    Go::CondRet { .. } => {
                        returns = true;
                        pops.insert(0);
                        pc = i.next;
                    }
                    // A jump table or a tail call through a register: not followed.
                    Go::IndirectReg(_) | Go::IndirectMem { .. } => {
                        returns = true;
                        continue 'walk;
                    }
                    Go::Stop => continue 'walk,
                }
            }
        }
        // Pops are known when every return seen agrees.
        let pops = match pops.len() {
            1 => pops.first().copied(),
            _ => None,
        };
        let c = Callee { returns, pops };
        self.callees.insert(start, c);
        c
    }

    fn canon_list(&self, regs: &[&str]) -> BTreeSet<String> {
        regs.iter()
            .map(|r| self.lifter.canonical_model(r))
            .collect()
    }

    /// Argument registers of every convention of this architecture.
    fn all_arg_regs(&self) -> BTreeSet<String> {
        let arch = self.convention.arch;
        conventions::for_arch(arch)
            .flat_map(|c| c.int_args.iter())
            .map(|r| self.lifter.canonical_model(r))
            .collect()
    }

    fn reserved_regs(&self) -> Vec<String> {
        reserved_of(self.convention)
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

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// Whether the instruction after `i` starts an exported function (exports mode), this
    /// one included (a local helper it jumps to may sit just before it): only a call that
    /// never returns leads there without a jump. Likewise a call that ends an exported
    /// function's code (by its symbol's size).
    fn falls_into_other(&self, i: &Insn) -> bool {
        let next = self.lifter.code_address(i.next);
        let into_start = !self.boundaries.is_empty()
            && matches!(i.flow, Go::Next | Go::Call(_) | Go::IndirectCall)
            && self.boundaries.contains(&next);
        let off_the_end =
            matches!(i.flow, Go::Call(_) | Go::IndirectCall) && self.function_ends.contains(&next);
        into_start || off_the_end
    }

    /// The callee-saved registers of `convention` (canonical), then the link register.
    fn saved_of(&self, convention: &Convention) -> Vec<String> {
        let mut v: Vec<String> = self
            .canon_list(convention.callee_saved)
            .into_iter()
            .collect();
        if let Some(lr) = self.lifter.link_register() {
            v.push(lr.to_string());
        }
        v
    }

    fn function(&mut self, name: &str, start: u64, nargs: usize) -> (FunctionAnalysis, Departures) {
        let callee_saved = self.saved_of(self.convention);
        let reserved = self.reserved_regs();
        let acc = self.trace(start, &callee_saved, &reserved, MAX_FUNCTION_INSNS);
        self.summarise(name, start, nargs, acc)
    }

    /// Follows the code from `start` for at most `budget` instructions, tracking
    /// `callee_saved` and `reserved` (the expected convention's, or more in the exports mode).
    fn trace(
        &mut self,
        start: u64,
        callee_saved: &[String],
        reserved: &[String],
        budget: usize,
    ) -> Acc {
        let callee_saved = self.regs_of(callee_saved);
        let reserved = self.regs_of(reserved);
        let caller_saved: Vec<Reg> = self
            .canon_list(self.convention.caller_saved)
            .iter()
            .map(|r| self.names.intern(r))
            .collect();
        let arg_regs: Vec<Reg> = self
            .all_arg_regs()
            .iter()
            .map(|r| self.names.intern(r))
            .collect();
        let sp = self.sp;
        let ra = self.lifter.return_address_size();
        let align = i64::from(self.convention.stack_align.max(1));
        let mut acc = Acc::default();
        let mut init = State::new();
        init.set(sp, Val::SpPlus(0));
        for (r, v) in self.lifter.entry_constants(start) {
            let r = self.names.intern(r);
            init.set(r, Val::Const(v));
        }
        let mut visited: FxHashMap<u64, Vec<State>> = FxHashMap::default();
        let mut todo: Vec<(u64, State)> = vec![(start, init)];
        let mut budget = budget;
        'paths: while let Some((mut pc, mut st)) = todo.pop() {
            if acc.capped.is_some() {
                break;
            }
            // Record the state at this branch target; skip it if already seen.
            let states = visited.entry(pc).or_default();
            if states.contains(&st) {
                continue;
            }
            if states.len() >= MAX_STATES_PER_BLOCK {
                let popped = states.pop().unwrap_or_else(|| st.clone());
                let mut merged = popped.clone();
                merged.merge(&st);
                // A merge that changes nothing was explored already: without this check a
                // loop whose state alternates (a stack slot stored as unknown, then dropped
                // by the merge) re-runs until the instruction cap.
                if merged == popped || states.contains(&merged) || merged == st && states.is_empty()
                {
                    states.push(merged);
                    continue;
                }
                states.push(merged.clone());
                st = merged;
            } else {
                states.push(st.clone());
            }
            acc.states += 1;
            if visited.len() > MAX_BLOCKS {
                acc.capped = Some("blocks");
                break;
            }
            loop {
                if budget == 0 {
                    acc.capped = Some("instructions");
                    break 'paths;
                }
                if self.library_budget == 0 {
                    acc.capped = Some("library");
                    break 'paths;
                }
                budget -= 1;
                self.library_budget -= 1;
                acc.insns += 1;
                let Some(i) = self.insn(pc) else {
                    continue 'paths;
                };
                self.step(
                    &i,
                    &mut st,
                    &arg_regs,
                    &callee_saved,
                    &reserved,
                    &mut acc,
                    ra,
                );
                if self.falls_into_other(&i) {
                    continue 'paths;
                }
                match i.flow {
                    Go::Next => pc = i.next,
                    Go::Jump(t) => match self.classify(t) {
                        Target::Local if self.is_noreturn_local(t) => continue 'paths,
                        Target::Local => {
                            todo.push((t, st));
                            continue 'paths;
                        }
                        Target::Import(n) if is_noreturn_name(&n) => continue 'paths,
                        _ => {
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                            continue 'paths;
                        }
                    },
                    Go::Cond(t, bound) => {
                        let mut not_taken = st.clone();
                        let cmp = st.cmp.filter(|c| *c >= 0).map(|c| c as u64);
                        // The bound holds on one path; on the other the compared register
                        // is over it, and an earlier bound (of some other compare) must
                        // not size a table there.
                        match bound {
                            Bound::AtMost | Bound::Below => {
                                not_taken.bound =
                                    cmp.map(|c| c + u64::from(bound == Bound::AtMost));
                                st.bound = None;
                            }
                            Bound::TakenAtMost | Bound::TakenBelow => {
                                st.bound = cmp.map(|c| c + u64::from(bound == Bound::TakenAtMost));
                                not_taken.bound = None;
                            }
                            Bound::None | Bound::Equal => {}
                        }
                        if bound == Bound::Equal {
                            // `cmp sp, x16; b.ne loop`: the loop ends with sp at x16's value.
                            if let Some((_, a, b)) =
                                st.cmp_regs.filter(|(at, _, _)| *at == i.address)
                            {
                                let (va, vb) = (not_taken.get(a), not_taken.get(b));
                                if a == sp && matches!(vb, Val::SpPlus(_)) {
                                    not_taken.set(a, vb);
                                } else if b == sp && matches!(va, Val::SpPlus(_)) {
                                    not_taken.set(b, va);
                                }
                            }
                        }
                        todo.push((t, st));
                        todo.push((i.next, not_taken));
                        continue 'paths;
                    }
                    Go::Call(t) if t == i.next && ra > 0 => {
                        // `call 1f; 1: pop REG` (i386 PIC): a push of the program counter.
                        if let Val::SpPlus(k) = st.get(sp) {
                            st.set(sp, Val::SpPlus(k - ra));
                            st.put_slot((0, k - ra), Val::Const(t));
                        } else {
                            st.set(sp, Val::Unknown);
                        }
                        pc = i.next;
                    }
                    Go::Call(t) => {
                        if let Some(r) = self
                            .image
                            .read_code(self.lifter.code_address(t), 8)
                            .ok()
                            .and_then(|c| self.lifter.pc_thunk(&c))
                        {
                            let r = self.names.intern(r);
                            st.set(r, Val::Const(i.next));
                            pc = i.next;
                            continue;
                        }
                        let got = match st.get(self.ebx) {
                            Val::Const(c) => Some(c),
                            _ => None,
                        };
                        let call = self.call_kind(t, got);
                        if call.noreturn {
                            continue 'paths;
                        }
                        if call.unknown && self.image_names_imports_poorly() {
                            st.uncertain = true;
                        }
                        self.check_alignment(&i, &st, ra, align, &mut acc);
                        self.after_call(&mut st, &caller_saved, &i);
                        // A callee that ends with `ret N` pops N bytes of our outgoing
                        // arguments (an i386 struct return's hidden pointer, stdcall helpers).
                        if (call.may_return_struct || !call.pops_known)
                            && self.arch == Arch::X86
                            && first_arg_in_frame(&st, sp)
                        {
                            // An i386 SysV function that returns a struct in memory pops its
                            // hidden pointer (`ret $4`), and its first argument is then an
                            // address in the caller's frame. An import's code is not in this
                            // file, so whether it pops is not known: the stack pointer is
                            // lost on this path rather than guessed. The NIF API is exempt:
                            // erl_nif.h declares no enif_* function returning a struct.
                            // Likewise a local callee whose returns its probe could not tell
                            // (cut short by its budget or a direct tail call).
                            st.set(sp, Val::Top);
                        } else if call.pops > 0 {
                            let after = match st.get(sp) {
                                Val::SpPlus(k) => Val::SpPlus(k.wrapping_add(call.pops as i64)),
                                Val::AlPlus { align, off } => Val::AlPlus {
                                    align,
                                    off: off.wrapping_add(call.pops as i64),
                                },
                                v => v,
                            };
                            st.set(sp, after);
                        }
                        pc = i.next;
                    }
                    Go::IndirectCall => {
                        match i.call_via.map(|r| st.get(r)) {
                            Some(Val::Import(n)) if is_noreturn_name(self.symbols.name(n)) => {
                                continue 'paths
                            }
                            // A PIC call through a local GOT entry (MIPS `lw $t9, f($gp);
                            // jalr $t9` to the library's own `__stack_chk_fail`).
                            Some(Val::Const(t)) if self.is_noreturn_local(t) => continue 'paths,
                            _ => {}
                        }
                        self.check_alignment(&i, &st, ra, align, &mut acc);
                        self.after_call(&mut st, &caller_saved, &i);
                        pc = i.next;
                    }
                    Go::IndirectReg(r) => {
                        if let Some(targets) = self.table_targets(&st.get(r), &st, start) {
                            // Each target is a path to explore: counted like instructions.
                            budget = budget.saturating_sub(targets.len());
                            self.library_budget = self.library_budget.saturating_sub(targets.len());
                            for t in &targets {
                                todo.push((*t, st.clone()));
                            }
                            self.tables.insert(i.address, targets);
                        } else if st.get(sp) == Val::SpPlus(0) {
                            // A tail call through a register.
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                        }
                        continue 'paths;
                    }
                    Go::IndirectMem {
                        base,
                        index,
                        scale,
                        disp,
                    } => {
                        if index && base.is_none() && u64::from(scale) == self.pointer_bytes() {
                            // `jmp [T + idx*8]`: a table of absolute pointers.
                            if let Some(n) = st.bound.filter(|n| *n <= MAX_TABLE_ENTRIES) {
                                let targets: Vec<u64> = (0..n)
                                    .filter_map(|k| {
                                        self.image.pointer(
                                            (disp as u64).wrapping_add(k * u64::from(scale)),
                                        )
                                    })
                                    .filter(|t| near(*t, start))
                                    .collect();
                                budget = budget.saturating_sub(targets.len());
                                self.library_budget =
                                    self.library_budget.saturating_sub(targets.len());
                                for t in targets {
                                    todo.push((t, st.clone()));
                                }
                            }
                        } else if !index && st.get(sp) == Val::SpPlus(0) {
                            self.exit(&i, &st, &callee_saved, &mut acc, None);
                        }
                        continue 'paths;
                    }
                    Go::Ret { pop, via } => {
                        // `bx lr` where lr holds a jump table's target, not the return
                        // address (gcc's Thumb-2 PIC tables: `adr lr, T; ldr r0, [lr, r0,
                        // lsl #2]; add lr, r0; bx lr`): a jump to each case.
                        if let Some(targets) =
                            via.and_then(|r| self.table_targets(&st.get(r), &st, start))
                        {
                            for t in &targets {
                                todo.push((*t, st.clone()));
                            }
                            self.tables.insert(i.address, targets);
                            continue 'paths;
                        }
                        self.exit(&i, &st, &callee_saved, &mut acc, Some((pop, via)));
                        continue 'paths;
                    }
                    Go::CondRet { via } => {
                        self.exit(&i, &st, &callee_saved, &mut acc, Some((0, via)));
                        pc = i.next;
                    }
                    Go::Stop => continue 'paths,
                }
            }
        }
        acc.finish(&self.names);
        acc
    }

    /// Mach-O and PE images carry no names for their import slots here, so a call to an
    /// import may be to `abort`.
    fn image_names_imports_poorly(&self) -> bool {
        true
    }

    /// `a + (b << shift)`: a jump-table target, a stack address moved by a register, or a
    /// constant.
    fn sum(&self, a: Val, b: Val, shift: u8) -> Val {
        let mips = matches!(self.arch, Arch::Mips | Arch::Mips64);
        match (a, b) {
            (
                Val::Const(base),
                Val::TableEntry {
                    table,
                    size,
                    signed,
                },
            )
            | (
                Val::TableEntry {
                    table,
                    size,
                    signed,
                },
                Val::Const(base),
            ) => Val::TableTarget {
                table,
                size,
                signed,
                base,
                shift,
            },
            // A frame over 4 KiB freed by a register (`add sp, sp, x12` on
            // AArch64, `lui t0, 0xfffff; add sp, sp, t0` on RISC-V), in either
            // operand order; a 32-bit target's sum wraps at 32 bits.
            (Val::SpPlus(k), Val::Const(c)) | (Val::Const(c), Val::SpPlus(k)) if shift == 0 => {
                let c = if self.pointer_bytes() == 4 {
                    i64::from(c as u32 as i32)
                } else {
                    c as i64
                };
                Val::SpPlus(k.wrapping_add(c))
            }
            (Val::AlPlus { align, off }, Val::Const(c)) if shift == 0 => Val::AlPlus {
                align,
                off: off.wrapping_add(c as i64),
            },
            // MIPS PIC: gp from $t9 and the GOT offset.
            (Val::Const(x), Val::Const(y)) => {
                Val::Const(x.wrapping_add(y.wrapping_shl(u32::from(shift))))
            }
            (Val::Const(c), v) | (v, Val::Const(c)) if mips && v != Val::Top => Val::Indexed(c),
            _ => Val::Unknown,
        }
    }

    fn pointer_bytes(&self) -> u64 {
        u64::from(self.image.pointer_size())
    }

    fn after_call(&self, st: &mut State, caller_saved: &[Reg], i: &Insn) {
        for r in caller_saved {
            st.set(*r, Val::Unknown);
        }
        for r in i.writes() {
            if *r != self.sp {
                st.set(*r, Val::Unknown);
            }
        }
        st.cmp = None;
        st.cmp_regs = None;
    }

    fn check_alignment(&self, i: &Insn, st: &State, ra: i64, align: i64, acc: &mut Acc) {
        if st.uncertain {
            return;
        }
        let off = match st.get(self.sp) {
            // Entry SP is aligned minus the pushed return address.
            Val::SpPlus(k) => k - ra,
            Val::AlPlus { align: a, off } if a as i64 >= align => off,
            _ => return,
        };
        if off.rem_euclid(align) != 0 {
            acc.misaligned.entry(i.address).or_insert(off);
        }
    }

    /// The value of `mem[base + disp]`: a tracked stack slot, an import named by a GOT slot,
    /// or unknown. A read of the caller's frame is remembered as a stack argument.
    fn load_value(&mut self, st: &State, base: Reg, disp: i64, acc: &mut Acc, ra: i64) -> Val {
        let mips = matches!(self.arch, Arch::Mips | Arch::Mips64);
        let missing = if st.slots_full {
            Val::Top
        } else {
            Val::Unknown
        };
        match st.get(base) {
            Val::SpPlus(k) => {
                let at = k.wrapping_add(disp);
                let slot = st.slot((0, at));
                if at >= ra && slot.is_none() && ra > 0 {
                    acc.stack_args.insert(at);
                }
                slot.copied().unwrap_or(missing)
            }
            Val::AlPlus { off, .. } => st
                .slot((1, off.wrapping_add(disp)))
                .copied()
                .unwrap_or(missing),
            // A GOT slot the loader fills with an import's address, or (MIPS) a
            // local GOT entry it rebases.
            Val::Const(c) => match self.image.fixup_at(c.wrapping_add_signed(disp)) {
                Some(Fixup::Symbol { name, .. }) => Val::Import(self.symbols.intern(name)),
                Some(Fixup::Relative(v)) if mips => Val::Const(*v),
                // A local entry of the MIPS GOT that holds link-time address 0
                // (a page) has no fixup: its word is what the loader rebases.
                None if mips && mips::is_got_pointer(self.image, c) => self
                    .image
                    .read_word(c.wrapping_add_signed(disp))
                    .map_or(Val::Unknown, Val::Const),
                _ => Val::Unknown,
            },
            // A slot of a stack the analysis lost track of (an offset it cannot
            // follow, or paths merged with different offsets): its value is not
            // known to be wrong, so it is never reported.
            _ if base == self.sp => Val::Top,
            _ => Val::Unknown,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        i: &Insn,
        st: &mut State,
        arg_regs: &[Reg],
        callee_saved: &[Reg],
        reserved: &[Reg],
        acc: &mut Acc,
        ra: i64,
    ) {
        if !i.reads_are_not_uses {
            // Storing a callee-saved register's entry value (Win64 saves rsi/rdi into its home
            // space with mov) saves it; it does not use it as an argument.
            let saves_only = !i.fx.is_empty()
                && i.fx.iter().all(
                    |fx| matches!(fx, Effect::Store { src, .. } if callee_saved.contains(src)),
                );
            for r in i.reads() {
                if arg_regs.contains(r)
                    && st.get(*r) == Val::Entry(*r)
                    && !(saves_only && callee_saved.contains(r))
                {
                    acc.ids.args_read.insert(*r);
                }
            }
        }
        for fx in i.fx.iter() {
            match *fx {
                Effect::Copy { dst, src } => {
                    let v = st.get(src);
                    st.set(dst, v);
                }
                Effect::AddImm { dst, src, imm } => {
                    let v = match st.get(src) {
                        Val::SpPlus(k) => Val::SpPlus(k.wrapping_add(imm)),
                        Val::Const(c) => Val::Const(c.wrapping_add_signed(imm)),
                        Val::AlPlus { align, off } => Val::AlPlus {
                            align,
                            off: off.wrapping_add(imm),
                        },
                        Val::Top => Val::Top,
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::AddRegs { dst, a, b, shift } => {
                    let v = self.sum(st.get(a), st.get(b), shift);
                    st.set(dst, v);
                }
                Effect::AddExtended {
                    dst,
                    a,
                    b,
                    shift,
                    bits,
                    signed,
                } => {
                    let v = self.sum(st.get(a), extended(st.get(b), bits, signed), shift);
                    st.set(dst, v);
                }
                Effect::Const { dst, value } => {
                    st.set(dst, Val::Const(value));
                }
                Effect::Store { src, base, disp } => {
                    let v = st.get(src);
                    store_slot(st, base, disp, v);
                }
                Effect::StoreConst { value, base, disp } => {
                    store_slot(st, base, disp, Val::Const(value));
                }
                Effect::StoreUnknown { base, disp } => {
                    store_slot(st, base, disp, Val::Unknown);
                }
                Effect::CopyMem {
                    from,
                    from_disp,
                    base,
                    disp,
                } => {
                    let v = self.load_value(st, from, from_disp, acc, ra);
                    store_slot(st, base, disp, v);
                }
                Effect::Load { dst, base, disp } => {
                    let v = self.load_value(st, base, disp, acc, ra);
                    st.set(dst, v);
                }
                Effect::LoadIndexed {
                    dst,
                    base,
                    disp,
                    size,
                    signed,
                } => {
                    let b = match base {
                        None => Some(0),
                        Some(base) => match st.get(base) {
                            Val::Const(c) | Val::Indexed(c) => Some(c),
                            _ => None,
                        },
                    };
                    let v = b.map_or(Val::Unknown, |b| Val::TableEntry {
                        table: b.wrapping_add_signed(disp),
                        size,
                        signed,
                    });
                    st.set(dst, v);
                }
                Effect::Align { dst, src, align } => {
                    let v = match st.get(src) {
                        Val::SpPlus(_) | Val::AlPlus { .. } => Val::AlPlus { align, off: 0 },
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::Swap { a, b } => {
                    let (va, vb) = (st.get(a), st.get(b));
                    st.set(a, vb);
                    st.set(b, va);
                }
                Effect::CmpImm { imm } => st.cmp = Some(imm),
                Effect::CmpRegs { a, b } => {
                    // The latest compare is of two registers: no constant bounds a table.
                    st.cmp = None;
                    st.cmp_regs = Some((i.next, a, b));
                }
                Effect::SubRegs { dst, a, b } => {
                    let v = match (st.get(a), st.get(b)) {
                        (Val::SpPlus(k), Val::Const(c)) => Val::SpPlus(k.wrapping_sub(c as i64)),
                        (Val::AlPlus { align, off }, Val::Const(c)) => Val::AlPlus {
                            align,
                            off: off.wrapping_sub(c as i64),
                        },
                        (Val::Const(x), Val::Const(y)) => Val::Const(x.wrapping_sub(y)),
                        (Val::SpPlus(x), Val::SpPlus(y)) => Val::Const(x.wrapping_sub(y) as u64),
                        (Val::Top, _) | (_, Val::Top) => Val::Top,
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
                Effect::InsertImm { dst, imm, shift } => {
                    let v = match st.get(dst) {
                        Val::Const(c) => {
                            let s = u32::from(shift);
                            let mask = 0xffffu64.checked_shl(s).unwrap_or(0);
                            Val::Const((c & !mask) | imm.checked_shl(s).unwrap_or(0))
                        }
                        _ => Val::Unknown,
                    };
                    st.set(dst, v);
                }
            }
        }
        for w in i.undefined() {
            st.set(*w, Val::Unknown);
        }
        for w in i.touched() {
            let w = *w;
            if w != self.sp && callee_saved.contains(&w) && st.get(w) != Val::Entry(w) {
                st.set_changed_at(w, i.address);
            }
            if reserved.contains(&w) && !i.protocol_write && !self.reserved_value_ok(w, &st.get(w))
            {
                acc.ids.reserved.entry(w).or_insert(i.address);
            }
        }
    }

    /// Whether a write leaves a reserved register with the value the platform wants there
    /// anyway: MIPS code may keep the GOT pointer in another register and copy it into gp
    /// before each call (clang's o32 `move $gp, $s0`), or restore the caller's gp.
    fn reserved_value_ok(&self, reg: Reg, v: &Val) -> bool {
        match (self.arch, v) {
            (Arch::Mips | Arch::Mips64, Val::Entry(r)) => *r == reg,
            (Arch::Mips | Arch::Mips64, Val::Const(c)) => {
                reg == self.gp && mips::is_got_pointer(self.image, *c)
            }
            _ => false,
        }
    }

    fn table_targets(&self, v: &Val, st: &State, start: u64) -> Option<Vec<u64>> {
        let Val::TableTarget {
            table,
            size,
            signed,
            base,
            shift,
        } = *v
        else {
            return None;
        };
        let n = st.bound.filter(|n| *n > 0 && *n <= MAX_TABLE_ENTRIES)?;
        let mut out = Vec::new();
        for k in 0..n {
            let bytes = self
                .image
                .read_bytes(table + k * u64::from(size), usize::from(size))
                .ok()?;
            let mut raw: u64 = 0;
            let little = !self.image.big_endian();
            for (j, b) in bytes.iter().enumerate() {
                let shift = if little {
                    8 * j
                } else {
                    8 * (bytes.len() - 1 - j)
                };
                raw |= u64::from(*b) << shift;
            }
            let val = if signed {
                let bits = 8 * u32::from(size);
                ((raw << (64 - bits)) as i64) >> (64 - bits)
            } else {
                raw as i64
            };
            let t = base.wrapping_add_signed(val.wrapping_shl(u32::from(shift)));
            // A 32-bit machine's sum wraps at 32 bits: a word entry read unsigned that holds a
            // negative offset (gcc's Thumb-2 tables point back before the table) lands there.
            let t = if self.pointer_bytes() == 4 {
                t & 0xffff_ffff
            } else {
                t
            };
            if !near(t, start) || !self.image.is_mapped(t) {
                return None;
            }
            out.push(t);
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    fn exit(
        &self,
        i: &Insn,
        st: &State,
        callee_saved: &[Reg],
        acc: &mut Acc,
        ret: Option<(u64, Option<Reg>)>,
    ) {
        acc.exits += 1;
        if st.uncertain {
            return;
        }
        match st.get(self.sp) {
            Val::SpPlus(0) => {}
            Val::SpPlus(k) => {
                acc.unbalanced.entry(i.address).or_insert(k);
            }
            _ => {}
        }
        if let Some((pop, via)) = ret {
            if pop > 0 {
                acc.cleanup.entry(i.address).or_insert(pop);
            }
            // A return through another register than lr is only a bug if it is not lr's
            // entry value.
            if let Some(v) = via {
                if Some(v) != self.link {
                    let ok = st.get(v) == Val::Entry(self.lr);
                    if !ok {
                        acc.ids
                            .clobbered
                            .entry(self.lr)
                            .or_insert((i.address, i.address));
                    }
                }
            }
        }
        for r in callee_saved {
            let r = *r;
            // On a tail call lr is the callee's to use: it holds our return address only if
            // we restored it, which the callee's return then checks.
            if ret.is_none() && Some(r) == self.link {
                continue;
            }
            if ret.is_some() && Some(r) == self.link && ret.and_then(|r| r.1) != self.link {
                continue;
            }
            match st.get(r) {
                Val::Top => {}
                v if v == Val::Entry(r) => {}
                _ => {
                    let at = st.changed_at(r).unwrap_or(i.address);
                    acc.ids.clobbered.entry(r).or_insert((at, i.address));
                }
            }
        }
    }

    fn summarise(
        &self,
        name: &str,
        start: u64,
        nargs: usize,
        acc: Acc,
    ) -> (FunctionAnalysis, Departures) {
        let start = self.lifter.code_address(start);
        let expected = self.convention;
        let cleanup = acc.cleanup.values().copied().max().unwrap_or(0);
        let (consistent, best) = self.best_match(&acc.args_read, cleanup, nargs);
        let matches_best = if consistent { None } else { best.clone() };
        let args: Vec<String> = acc.args_read.iter().cloned().collect();
        let argument_registers: Vec<String> = expected
            .int_args
            .iter()
            .take(nargs)
            .map(|r| self.lifter.canonical_model(r))
            .collect();
        let departures = self.departures(name, start, &acc, argument_registers, |_| true);
        let departures = Departures {
            arguments: nargs,
            fits_convention: consistent,
            best_match: best,
            ..departures
        };
        let mut touched: Vec<String> = acc.clobbered.keys().cloned().collect();
        touched.sort();
        let fa = FunctionAnalysis {
            name: name.to_string(),
            address: start,
            observed: Observed {
                args_read: args,
                stack_args_read: acc.stack_args.iter().copied().collect(),
                callee_saved_touched: touched,
                cleanup,
                stack_balanced: acc.unbalanced.is_empty(),
                exits: acc.exits,
            },
            expected_convention: expected.id.to_string(),
            matches_best,
            capped: acc.capped.map(str::to_string),
            instructions: acc.insns,
            matches: None,
        };
        (fa, departures)
    }

    /// The departures `acc` records from the convention this context holds code to, at code
    /// address `start`; `kept` says which clobbered registers that convention keeps (the
    /// exports mode tracks more). Fit is left unknown (`fits_convention` false, no match).
    fn departures(
        &self,
        name: &str,
        start: u64,
        acc: &Acc,
        argument_registers: Vec<String>,
        kept: impl Fn(&str) -> bool,
    ) -> Departures {
        Departures {
            name: name.to_string(),
            address: start,
            convention: self.convention,
            arguments: 0,
            argument_registers,
            args_read: acc.args_read.iter().cloned().collect(),
            fits_convention: false,
            best_match: None,
            cleanup: acc.cleanup.values().copied().max().unwrap_or(0),
            cleanup_at: acc.cleanup.keys().next().copied(),
            clobbered: acc
                .clobbered
                .iter()
                .filter(|(reg, _)| kept(reg))
                .map(|(reg, (changed, exit))| Clobber {
                    register: reg.clone(),
                    changed_at: *changed,
                    exit_at: *exit,
                    link_register: Some(reg.as_str()) == self.lifter.link_register(),
                })
                .collect(),
            unbalanced: acc.unbalanced.iter().map(|(a, k)| (*a, *k)).collect(),
            misaligned: acc.misaligned.iter().map(|(a, k)| (*a, *k)).collect(),
            reserved: acc.reserved.iter().map(|(r, a)| (r.clone(), *a)).collect(),
            capped: acc.capped,
            stack_pointer: self.lifter.sp(),
        }
    }

    /// Whether the observation fits the expected convention, and the model convention of
    /// this architecture it fits best.
    fn best_match(
        &self,
        args_read: &BTreeSet<String>,
        cleanup: u64,
        nargs: usize,
    ) -> (bool, Option<String>) {
        let fits = |c: &Convention| -> Option<usize> {
            if !c.is_calling_convention {
                return None;
            }
            let regs: BTreeSet<String> = c
                .int_args
                .iter()
                .take(nargs)
                .map(|r| self.lifter.canonical_model(r))
                .collect();
            let saved = self.canon_list(c.callee_saved);
            if args_read
                .iter()
                .any(|r| !regs.contains(r) && !saved.contains(r))
            {
                return None;
            }
            let on_stack = nargs.saturating_sub(c.int_args.len().min(nargs)) as u64;
            let want_cleanup = match c.stack_cleanup {
                Cleanup::Callee => on_stack * u64::from(c.stack_args.slot_size),
                _ => 0,
            };
            if cleanup != want_cleanup {
                return None;
            }
            Some(args_read.intersection(&regs).count() * 2 + usize::from(cleanup > 0))
        };
        // Reading a register the expected convention has callee-saved fits it (the code may
        // read what it saves), unless another convention passes arguments in exactly the
        // registers read: then the code takes its arguments there (sysv_abi on Windows reads
        // rdi and rsi, which Win64 keeps callee-saved).
        let expected_args: BTreeSet<String> = self
            .convention
            .int_args
            .iter()
            .take(nargs)
            .map(|r| self.lifter.canonical_model(r))
            .collect();
        let borrows_saved = args_read.iter().any(|r| !expected_args.contains(r));
        let read_as_arguments_elsewhere = || {
            conventions::for_arch(self.convention.arch).any(|c| {
                c.id != self.convention.id
                    && c.is_calling_convention
                    && args_read.iter().all(|r| {
                        c.int_args
                            .iter()
                            .take(nargs)
                            .any(|a| self.lifter.canonical_model(a) == *r)
                    })
            })
        };
        let consistent =
            fits(self.convention).is_some() && !(borrows_saved && read_as_arguments_elsewhere());
        let mut best: Option<(usize, &'static str)> = None;
        let mut ties: Vec<&'static str> = Vec::new();
        for c in conventions::for_arch(self.convention.arch) {
            if c.id == self.convention.id {
                continue;
            }
            if let Some(score) = fits(c) {
                match best {
                    Some((s, _)) if s > score => {}
                    Some((s, _)) if s == score => ties.push(c.id),
                    _ => {
                        best = Some((score, c.id));
                        ties.clear();
                    }
                }
            }
        }
        let best = best.map(|(_, id)| {
            if ties.is_empty() {
                id.to_string()
            } else {
                format!("{id} (or {})", ties.join(", "))
            }
        });
        let _ = self.arch;
        (consistent, best)
    }

    /// Reachability sweep from every root: calls and jumps followed (PLT stubs not), for the
    /// CPU features the code needs and whether it probes the CPU.
    fn sweep(&mut self, roots: &[(String, u64, usize)]) -> IsaSummary {
        let mut summary = IsaSummary::default();
        let mut first: BTreeMap<&'static str, (u64, String, String)> = BTreeMap::new();
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        let mut budget = MAX_LIBRARY_INSNS;
        for (name, root, _) in roots {
            let mut todo = vec![*root];
            'walk: while let Some(mut pc) = todo.pop() {
                loop {
                    if !seen.insert(pc) {
                        continue 'walk;
                    }
                    if budget == 0 {
                        summary.capped = true;
                        break 'walk;
                    }
                    budget -= 1;
                    summary.instructions += 1;
                    let Some(i) = self.insn(pc) else {
                        continue 'walk;
                    };
                    if let Some(f) = i.feature {
                        let mnemonic = i.probe_mnemonic.as_deref().unwrap_or_default();
                        let here = (i.address, name.clone(), mnemonic.to_string());
                        let e = first.entry(f).or_insert_with(|| here.clone());
                        if i.address < e.0 {
                            *e = here;
                        }
                    }
                    if i.probes_cpu && !summary.guarded {
                        summary.guarded = true;
                        summary.guard = Some(format!(
                            "{} at {:#x}",
                            i.probe_mnemonic.as_deref().unwrap_or_default(),
                            i.address
                        ));
                    }
                    if let Some(a) = i.names_address {
                        if let Some(n) = self.image.import_at(a) {
                            if CPU_PROBES.contains(&n.as_str()) && !summary.guarded {
                                summary.guarded = true;
                                summary.guard = Some(format!("{n} read at {:#x}", i.address));
                            }
                        }
                    }
                    match i.flow {
                        Go::Next | Go::IndirectCall | Go::CondRet { .. } => pc = i.next,
                        Go::Call(t) => {
                            match self.classify(t) {
                                Target::Local => {
                                    todo.push(t);
                                    if !self.may_return(t) {
                                        continue 'walk;
                                    }
                                }
                                Target::Import(n) => {
                                    if CPU_PROBES.contains(&n.as_str()) && !summary.guarded {
                                        summary.guarded = true;
                                        summary.guard =
                                            Some(format!("call to {n} at {:#x}", i.address));
                                    }
                                    if is_noreturn_name(&n) {
                                        continue 'walk;
                                    }
                                }
                                Target::UnknownImport => {}
                            }
                            pc = i.next;
                        }
                        Go::Jump(t) => {
                            if matches!(self.classify(t), Target::Local) {
                                pc = t;
                            } else {
                                continue 'walk;
                            }
                        }
                        Go::Cond(t, _) => {
                            todo.push(t);
                            pc = i.next;
                        }
                        Go::IndirectReg(_) | Go::IndirectMem { .. } => {
                            if let Some(ts) = self.tables.get(&i.address) {
                                todo.extend(ts.iter().copied());
                            }
                            continue 'walk;
                        }
                        Go::Ret { .. } => {
                            if let Some(ts) = self.tables.get(&i.address) {
                                todo.extend(ts.iter().copied());
                            }
                            continue 'walk;
                        }
                        Go::Stop => continue 'walk,
                    }
                }
            }
        }
        summary.features = first
            .into_iter()
            .map(|(flag, (address, reached_from, instruction))| FeatureUse {
                flag: flag.to_string(),
                instruction,
                address,
                reached_from,
            })
            .collect();
        if self.arch == Arch::X86_64 {
            summary.x86_64_level = Some(floor::x86_64_level_of(
                summary.features.iter().map(|f| f.flag.as_str()),
            ));
        }
        summary
    }
}

/// `mem[base + disp] := v` when the address is a tracked stack slot: the slot's old value is
/// gone (a slot that kept it would vouch for a value the code has overwritten).
fn store_slot(st: &mut State, base: Reg, disp: i64, v: Val) {
    let key = match st.get(base) {
        Val::SpPlus(k) => (0, k.wrapping_add(disp)),
        Val::AlPlus { off, .. } => (1, off.wrapping_add(disp)),
        _ => return,
    };
    match st.slots.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) => st.slots[i].1 = v,
        Err(i) if st.slots.len() < MAX_SLOTS_PER_STATE => st.slots.insert(i, (key, v)),
        Err(_) => st.slots_full = true,
    }
}

/// Whether the first stack argument of a call (the slot at the stack pointer) holds an
/// address in the caller's own frame.
fn first_arg_in_frame(st: &State, sp: Reg) -> bool {
    let slot = match st.get(sp) {
        Val::SpPlus(k) => st.slot((0, k)),
        Val::AlPlus { off, .. } => st.slot((1, off)),
        _ => None,
    };
    matches!(slot, Some(Val::SpPlus(_) | Val::AlPlus { .. }))
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
