//! Decoding a Rustler NIF's entry, which `nif_init` builds at run time.
//!
//! Rustler (every version examined, 0.29–0.39) keeps the `ErlNifEntry` in a
//! `static mut NIF_ENTRY: Option<ErlNifEntry>` in `.bss` and fills it inside `nif_init`, so
//! the file holds zeros where a C NIF holds its entry (`docs/design/beam-facts.md`, "NIFs
//! that build their entry at run time"). This module runs `nif_init` symbolically instead: a
//! small evaluator follows its
//! straight-line path and the functions it calls (below opt-level 2 `nif_init` only calls
//! `<crate>_nif_init`, which fills the entry through `ErlNifEntry::new`), records every store to a known address (immediates, `lea`-computed
//! addresses, values loaded through the relocated image), and reads the entry's fields out of
//! those stores once `nif_init` returns the entry's address.
//!
//! The function table comes in two shapes:
//!
//! * Rustler ≤ 0.33: `funcs` is the address of a constant `[ErlNifFunc; N]` array in
//!   `.data.rel.ro` and `num_of_funcs` an immediate; both are stored by `nif_init` and the
//!   array is read like a C NIF's.
//! * Rustler ≥ 0.34: `funcs`/`num_of_funcs` come back from a call that collects
//!   `inventory::iter::<rustler::Nif>()` into a leaked `Box<[ErlNifFunc]>`. Each
//!   `#[rustler::nif]` submits a static `inventory::Node { value: &dyn ErasedNode, next }` from
//!   an `.init_array` constructor; the constructors run in array order and push onto a linked
//!   list, so the table is the `Nif` records of those nodes in reverse `.init_array` order. The
//!   nodes are found by evaluating each constructor; records of one type share a vtable, whose
//!   size field (`2 * pointer + 8` for `rustler::Nif`) and the records' contents (a name
//!   string, an executable `fptr`, a small arity, flags 0–2) select the `Nif` ones.
//!
//! `rustler::Nif` is not `repr(C)`: the position of its fields is the compiler's choice. The
//! two pointer fields are told apart by the relocation's target (code or data) and the two
//! `u32`s by value (flags are 0–2); when every value fits both, declaration order (`arity`
//! before `flags`, which rustc's stable field sort keeps) decides.
//!
//! Evaluated architectures: x86-64 and AArch64 (here), 32-bit x86 (the x86-64 evaluator in
//! 32-bit mode), and one module each under `rustler/` for 32-bit ARM (A32 and Thumb-2),
//! RISC-V 64, PowerPC64 little-endian and s390x (big-endian: stores and loads follow the
//! image's byte order). All are tested on real Rustler builds (test/fixtures/rustler:
//! build.sh, and build_cross.sh with Debian's rustc 1.85), against the entry their `nif_init`
//! returns under qemu-user. The `.init_array` walk reads the ELF headers through the image,
//! so the inventory path is ELF only.

use std::collections::{BTreeMap, HashMap, HashSet};

use capstone::arch::arm64::Arm64OperandType;
use capstone::arch::x86::X86OperandType;
use capstone::arch::{ArchDetail, ArchOperand};
use capstone::Capstone;
use object::ReadRef;

use super::{Decoded, Layout, MAX_FUNCTIONS};
use super::{NifEntry, NifFunction};

mod arm;
mod ppc64;
mod riscv;
mod s390x;
use crate::inspect::{Binary, Platform};
use crate::memory::{Image, Pointer};
use crate::platform::Arch;

/// Most instructions evaluated in `nif_init`, the functions it calls included.
pub const MAX_INIT_INSNS: usize = 8192;
/// Most instructions evaluated in one function `nif_init` calls (and those it calls).
const MAX_CALL_INSNS: usize = 1024;
/// How deep calls from `nif_init` are followed. Below opt-level 2, `nif_init` is a wrapper
/// around `<crate>_nif_init`, which fills the entry through `ErlNifEntry::new` on its stack.
const MAX_CALL_DEPTH: usize = 4;
/// Most instructions evaluated in one `.init_array` constructor.
pub const MAX_CTOR_INSNS: usize = 48;
/// Most `.init_array` entries examined.
pub const MAX_CTORS: usize = 16_384;
/// Most bytes of memory written by evaluated code that are remembered.
const MAX_STORED_BYTES: usize = 1 << 16;
/// Most machine states remembered at conditional branches, per evaluated function, and the
/// most stored bytes such a state may hold (bounds the memory of hostile code).
const MAX_SNAPSHOTS: usize = 32;
const MAX_SNAPSHOT_BYTES: usize = 4096;
/// Most code bytes read at once.
const MAX_CODE_BYTES: usize = 1024;
/// Loads below this address are unknown: they come from NULL plus an offset.
const NULL_PAGE: u64 = 0x100;
/// Most instructions scanned for the first return of a function not followed (32-bit x86).
const MAX_RET_SCAN: usize = 4096;
/// Most program headers and dynamic entries read.
const MAX_PHDRS: usize = 1024;
const MAX_DYNAMIC: usize = 4096;
/// Most bytes scanned for a `rustler-X.Y.Z/` source path.
const MAX_VERSION_SCAN: usize = 64 << 20;
/// The largest arity the BEAM accepts (`MAX_ARG`).
const MAX_ARITY: u32 = 255;
/// A stack pointer value that no library maps: stack stores land here, apart from the image.
const STACK_TOP: u64 = 0x7ff0_0000_0000_0000;
/// The same for 32-bit code, whose registers cannot hold [`STACK_TOP`].
const STACK_TOP_32: u64 = 0x7ff0_0000;
/// How far below the stack top stores count as stack stores.
const STACK_WINDOW: u64 = 1 << 24;

/// Decodes a Rustler NIF whose entry `nif_init` (at `init`) builds at run time.
pub fn decode<'data, R: ReadRef<'data>>(binary: &Binary<R>, init: u64) -> Result<Decoded, String> {
    let image = &binary.image;
    let cpu: Box<dyn Cpu> = match binary.arch {
        Arch::X86_64 if image.pointer_size() == 8 => Box::new(X86_64::new(true)?),
        Arch::X86 if image.pointer_size() == 4 => Box::new(X86_64::new(false)?),
        Arch::Aarch64 if image.pointer_size() == 8 => Box::new(Aarch64::new()?),
        Arch::Arm if image.pointer_size() == 4 => Box::new(arm::Arm::new()?),
        Arch::Riscv64 if image.pointer_size() == 8 => Box::new(riscv::Riscv::new()?),
        Arch::Powerpc64 if image.pointer_size() == 8 && !image.big_endian() => {
            Box::new(ppc64::Ppc64::new()?)
        }
        Arch::S390x if image.pointer_size() == 8 => Box::new(s390x::S390x::new()?),
        other => {
            return Err(format!(
                "evaluating a run-time-built entry is not implemented for {}",
                other.as_str()
            ))
        }
    };
    let mut state = State::new(cpu.stack_register(), cpu.stack_top(), image.big_endian());
    cpu.begin(&mut state, init);
    let mut budget = MAX_INIT_INSNS;
    let end = run(cpu.as_ref(), image, init, &mut budget, &mut state, 0)?;
    if end != End::Returned {
        return Err(format!(
            "nif_init did not return within {MAX_INIT_INSNS} instructions"
        ));
    }
    let entry = state
        .regs
        .get(cpu.result_register())
        .map(|v| *v as u64)
        .ok_or("nif_init returns no address the evaluator could compute")?;
    let fields = EntryFields::read(&state, image, entry)?;

    let elf = if binary.platform == Platform::Unix {
        ElfInfo::read(image)
    } else {
        None
    };
    let (functions, addresses, shape) = match (fields.funcs, fields.num_of_funcs) {
        // A table in the file (≤ 0.33). Followed calls can leave the values of a path the
        // evaluator chose (an empty inventory: count 0, a dangling pointer); those are not one.
        (Field::Known(table), Field::Known(count))
            if count as u32 as i32 > 0 && image.is_mapped(table as u64) =>
        {
            let (f, a) = static_table(image, table as u64, count as u32 as i32)?;
            (f, a, Shape::Slice)
        }
        _ => {
            let elf = elf.as_ref().ok_or(
                "the function table is built at run time and this format's constructors are not read",
            )?;
            let (f, a) = inventory_table(cpu.as_ref(), image, elf)?;
            (f, a, Shape::Inventory)
        }
    };

    let version = rustler_version(image);
    let decoded_by = match (&version, shape) {
        (Some(v), _) => format!("static:rustler-{v}"),
        (None, Shape::Slice) => "static:rustler-slice".to_string(),
        (None, Shape::Inventory) => "static:rustler-inventory".to_string(),
    };
    let declared = functions.len() as i64;
    Ok(Decoded {
        entry: NifEntry {
            major: fields.major,
            minor: fields.minor,
            module: fields.module,
            functions,
            load: fields.load,
            reload: fields.reload,
            upgrade: fields.upgrade,
            unload: fields.unload,
            vm_variant: fields.vm_variant,
            options: fields.options,
            min_erts: fields.min_erts,
            decoded_by,
        },
        function_addresses: addresses,
        declared_functions: declared,
        min_erts_null: fields.min_erts_null,
        vm_variant_null: fields.vm_variant_null,
        short_entry: fields.short.then(|| match &version {
            Some(v) => format!("Rustler {v}"),
            None => "Rustler".to_string(),
        }),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Slice,
    Inventory,
}

/// The value code left in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Never written by the evaluated code.
    Unwritten,
    /// Written with a value the evaluator could not compute.
    Unknown,
    /// Written with this value.
    Known(u128),
}

/// The entry's fields as `nif_init` wrote them.
struct EntryFields {
    major: i32,
    minor: i32,
    module: String,
    num_of_funcs: Field,
    funcs: Field,
    load: bool,
    reload: bool,
    upgrade: bool,
    unload: bool,
    vm_variant: Option<String>,
    vm_variant_null: bool,
    options: Option<u32>,
    min_erts: Option<String>,
    min_erts_null: bool,
    /// The declared version has `min_erts` but `nif_init` never writes it (Rustler ≤ 0.36).
    short: bool,
}

impl EntryFields {
    fn read<'data, R: ReadRef<'data>>(
        state: &State,
        image: &Image<R>,
        entry: u64,
    ) -> Result<Self, String> {
        let p = image.pointer_size();
        let mut l = Layout::new(p);
        let ps = usize::from(p);
        let major_at = entry + l.int();
        let minor_at = entry + l.int();
        let name_at = entry + l.ptr();
        let count_at = entry + l.int();
        let funcs_at = entry + l.ptr();
        let load_at = entry + l.ptr();
        let reload_at = entry + l.ptr();
        let upgrade_at = entry + l.ptr();
        let unload_at = entry + l.ptr();
        let vm_variant_at = entry + l.ptr();
        let options_at = entry + l.int();
        let _sizeof_resource_init_at = entry + l.ptr();
        let min_erts_at = entry + l.ptr();

        let field = |at: u64, size: usize| state.field(at, size);
        let int = |at: u64, what: &str| -> Result<i32, String> {
            match field(at, 4) {
                Field::Known(v) => Ok(v as u32 as i32),
                Field::Unwritten => Err(format!(
                    "nif_init returns {entry:#x} but never writes the entry's {what}; not a run-time-built entry this decoder knows"
                )),
                Field::Unknown => Err(format!("nif_init writes a value the evaluator cannot compute into the entry's {what}")),
            }
        };
        let major = int(major_at, "major version")?;
        let minor = int(minor_at, "minor version")?;
        let module = match field(name_at, ps) {
            Field::Known(0) => return Err("the entry's module name is NULL".to_string()),
            Field::Known(a) => image
                .read_c_string(a as u64)
                .map_err(|e| format!("cannot read the module name: {e}"))?,
            _ => return Err("nif_init writes no module name the evaluator can compute".into()),
        };
        // A callback written with an unknown value is reported as set: Rustler only writes
        // NULL (None) or a function's address.
        let set = |at: u64| !matches!(field(at, ps), Field::Known(0) | Field::Unwritten);
        let string = |at: u64| -> Result<(Option<String>, bool, bool), String> {
            match field(at, ps) {
                Field::Known(0) => Ok((None, true, true)),
                Field::Known(a) => Ok((
                    Some(
                        image
                            .read_c_string(a as u64)
                            .map_err(|e| format!("cannot read a string field: {e}"))?,
                    ),
                    false,
                    true,
                )),
                Field::Unknown => Ok((None, false, true)),
                Field::Unwritten => Ok((None, false, false)),
            }
        };
        let at_least = |a: i32, b: i32| (major, minor) >= (a, b);
        let (vm_variant, vm_variant_null) = if at_least(2, 1) {
            let (s, null, _) = string(vm_variant_at)?;
            (s, null)
        } else {
            (None, false)
        };
        let options = if at_least(2, 7) {
            match field(options_at, 4) {
                Field::Known(v) => Some(v as u32),
                Field::Unwritten => Some(0),
                Field::Unknown => None,
            }
        } else {
            None
        };
        let (min_erts, min_erts_null, short) = if at_least(2, 14) {
            match string(min_erts_at)? {
                (s, null, true) => (s, null, false),
                // Rustler ≤ 0.36: the entry type ends before min_erts, so nif_init never
                // writes it. The BEAM still reads that word when it finds the library too
                // new, and gets whatever follows the static at run time; that is not a
                // NULL min_erts the library declares (rule nif-entry-short, not
                // nif-min-erts-null).
                (_, _, false) => (None, false, true),
            }
        } else {
            (None, false, false)
        };
        Ok(EntryFields {
            major,
            minor,
            module,
            num_of_funcs: field(count_at, 4),
            funcs: field(funcs_at, ps),
            load: set(load_at),
            reload: set(reload_at),
            upgrade: set(upgrade_at),
            unload: set(unload_at),
            vm_variant,
            vm_variant_null,
            options,
            min_erts,
            min_erts_null,
            short,
        })
    }
}

/// Reads a constant `ErlNifFunc[count]` (Rustler ≤ 0.33).
fn static_table<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    table: u64,
    count: i32,
) -> Result<(Vec<NifFunction>, Vec<Option<u64>>), String> {
    let err = |what: &str, e: crate::memory::ReadError| format!("cannot read the {what}: {e}");
    let mut f = Layout::new(image.pointer_size());
    let name_off = f.ptr();
    let arity_off = f.int();
    let fptr_off = f.ptr();
    let flags_off = f.int();
    let stride = f.size();
    let count = usize::try_from(count).unwrap_or(0).min(MAX_FUNCTIONS);
    let mut functions = Vec::new();
    let mut addresses = Vec::new();
    for i in 0..count as u64 {
        let base = table + i * stride;
        let name = match image
            .read_pointer(base + name_off)
            .map_err(|e| err("function name", e))?
        {
            Pointer::Address(a) => image
                .read_c_string(a)
                .map_err(|e| err("function name", e))?,
            Pointer::Null => String::new(),
            Pointer::Import(s) => s,
        };
        let arity = image
            .read_u32(base + arity_off)
            .map_err(|e| err("arity", e))?;
        let fptr = image
            .read_pointer(base + fptr_off)
            .map_err(|e| err("fptr", e))?;
        let flags = image
            .read_u32(base + flags_off)
            .map_err(|e| err("flags", e))?;
        functions.push(NifFunction { name, arity, flags });
        addresses.push(fptr.address());
    }
    Ok((functions, addresses))
}

/// The `inventory` node one constructor submits.
#[derive(Debug, Clone, Copy)]
struct Node {
    record: u64,
    vtable: u64,
}

/// Collects the `rustler::Nif` records registered by `.init_array` constructors, in the order
/// `inventory::iter` yields them (the reverse of the constructors' order).
fn inventory_table<'data, R: ReadRef<'data>>(
    cpu: &dyn Cpu,
    image: &Image<R>,
    elf: &ElfInfo,
) -> Result<(Vec<NifFunction>, Vec<Option<u64>>), String> {
    let p = u64::from(image.pointer_size());
    let (array, size) = elf
        .init_array
        .ok_or("the function table is built at run time, and the library has no .init_array")?;
    let count = usize::try_from(size / p)
        .unwrap_or(usize::MAX)
        .min(MAX_CTORS);
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count as u64 {
        let Ok(Pointer::Address(ctor)) = image.read_pointer(array + i * p) else {
            continue;
        };
        if !elf.executable(ctor) {
            continue;
        }
        let mut state = State::new(cpu.stack_register(), cpu.stack_top(), image.big_endian());
        cpu.begin(&mut state, ctor);
        // Constructors that the evaluator cannot follow to the end still name their node
        // before anything it does not understand; what was seen is what counts.
        let mut budget = MAX_CTOR_INSNS;
        let _ = run(cpu, image, ctor, &mut budget, &mut state, MAX_CALL_DEPTH);
        if let Some(node) = state.refs.iter().find_map(|a| node_at(image, *a)) {
            if !nodes.iter().any(|n| n.record == node.record) {
                nodes.push(node);
            }
        }
    }
    // Records of one type share the `submit` method of their `ErasedNode` impl, which names
    // the type's registry. The vtable itself is not unique: each codegen unit that submits
    // nodes emits its own copy (callconv's own NIF has two, one per source module).
    let mut groups: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for n in &nodes {
        groups
            .entry(registry_key(image, n.vtable))
            .or_default()
            .push(n.record);
    }
    let record_size = 2 * p + 8;
    let mut found: Vec<Vec<(NifFunction, u64)>> = Vec::new();
    for (key, records) in &groups {
        let vtable = nodes
            .iter()
            .find(|n| records.first() == Some(&n.record))
            .map_or(*key, |n| n.vtable);
        let size = image.read_word(vtable + p).ok();
        let align = image.read_word(vtable + 2 * p).ok();
        if size != Some(record_size) || align != Some(p) {
            continue;
        }
        if let Some(table) = nif_records(image, elf, records) {
            found.push(table);
        }
    }
    let table = match found.len() {
        1 => found.pop().unwrap_or_default(),
        0 => {
            return Err(format!(
                "the function table is built at run time from inventory, and none of the {} nodes the .init_array constructors register looks like rustler::Nif",
                nodes.len()
            ))
        }
        n => {
            return Err(format!(
                "the function table is built at run time from inventory, and {n} registries hold rustler::Nif-shaped records"
            ))
        }
    };
    // Constructors push onto a list in .init_array order; iteration starts at the head.
    let (functions, addresses) = table.into_iter().rev().map(|(f, a)| (f, Some(a))).unzip();
    Ok((functions, addresses))
}

/// What identifies the registry a node is submitted to: the `submit` method in its
/// `dyn ErasedNode` vtable (`[drop_in_place, size, align, submit]`), else the vtable itself.
fn registry_key<'data, R: ReadRef<'data>>(image: &Image<R>, vtable: u64) -> u64 {
    let p = u64::from(image.pointer_size());
    match image.read_pointer(vtable + 3 * p) {
        Ok(Pointer::Address(submit)) => submit,
        _ => vtable,
    }
}

/// An `inventory::Node` at `addr`: `{ value: &dyn ErasedNode (data, vtable), next }`.
fn node_at<'data, R: ReadRef<'data>>(image: &Image<R>, addr: u64) -> Option<Node> {
    let p = u64::from(image.pointer_size());
    let Ok(Pointer::Address(record)) = image.read_pointer(addr) else {
        return None;
    };
    let Ok(Pointer::Address(vtable)) = image.read_pointer(addr + p) else {
        return None;
    };
    // `next` is None until the constructor runs.
    if image.read_pointer(addr + 2 * p) != Ok(Pointer::Null) {
        return None;
    }
    (image.is_mapped(record) && image.is_mapped(vtable)).then_some(Node { record, vtable })
}

/// Reads `records` as `rustler::Nif { name, arity, flags, raw_func }` in whatever field order
/// they share; None unless every record fits.
fn nif_records<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    elf: &ElfInfo,
    records: &[u64],
) -> Option<Vec<(NifFunction, u64)>> {
    let p = u64::from(image.pointer_size());
    let first = *records.first()?;
    let slots = (2 * p + 8) / p;
    // Pointer slots carry a relocation; the others hold the two u32s.
    let pointer_slots: Vec<u64> = (0..slots)
        .map(|i| i * p)
        .filter(|off| image.fixup_at(first + off).is_some())
        .collect();
    let [a, b] = pointer_slots.as_slice() else {
        return None;
    };
    let target = |rec: u64, off: u64| match image.read_pointer(rec + off) {
        Ok(Pointer::Address(t)) => Some(t),
        _ => None,
    };
    let (name_off, fptr_off) = if elf.executable(target(first, *b)?) {
        (*a, *b)
    } else {
        (*b, *a)
    };
    let int_offsets: Vec<u64> = (0..2 * p + 8)
        .step_by(4)
        .filter(|o| !pointer_slots.iter().any(|s| (*s..*s + p).contains(o)))
        .collect();
    let [i0, i1] = int_offsets.as_slice() else {
        return None;
    };
    let mut raw = Vec::new();
    for rec in records {
        let name_ptr = target(*rec, name_off)?;
        let fptr = target(*rec, fptr_off)?;
        if elf.executable(name_ptr) || !elf.executable(fptr) {
            return None;
        }
        let name = image.read_c_string(name_ptr).ok()?;
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let v0 = image.read_u32(rec + i0).ok()?;
        let v1 = image.read_u32(rec + i1).ok()?;
        raw.push((name, v0, v1, fptr));
    }
    // Declaration order (arity, then flags) unless the values rule it out.
    let fits = |swap: bool| {
        raw.iter().all(|(_, v0, v1, _)| {
            let (arity, flags) = if swap { (*v1, *v0) } else { (*v0, *v1) };
            arity <= MAX_ARITY && flags <= 2
        })
    };
    let swap = if fits(false) {
        false
    } else if fits(true) {
        true
    } else {
        return None;
    };
    Some(
        raw.into_iter()
            .map(|(name, v0, v1, fptr)| {
                let (arity, flags) = if swap { (v1, v0) } else { (v0, v1) };
                (NifFunction { name, arity, flags }, fptr)
            })
            .collect(),
    )
}

/// The Rustler version named by the panic-location paths compiled into the library
/// (`…/rustler-0.36.2/src/…`), when exactly one version appears.
pub fn rustler_version<'data, R: ReadRef<'data>>(image: &Image<R>) -> Option<String> {
    const NEEDLE: &[u8] = b"rustler-";
    let mut versions: Vec<String> = Vec::new();
    let mut budget = MAX_VERSION_SCAN;
    for seg in image.segments() {
        let len = usize::try_from(seg.file_size)
            .unwrap_or(usize::MAX)
            .min(budget);
        budget -= len;
        let Ok(bytes) = image.read_bytes(seg.vaddr, len) else {
            continue;
        };
        let mut start = 0;
        while let Some(pos) = bytes
            .get(start..)
            .and_then(|rest| rest.windows(NEEDLE.len()).position(|w| w == NEEDLE))
        {
            let begin = start + pos + NEEDLE.len();
            let tail = bytes.get(begin..).unwrap_or_default();
            let len = tail
                .iter()
                .take(32)
                .take_while(|c| c.is_ascii_digit() || **c == b'.')
                .count();
            let version = tail.get(..len).unwrap_or_default();
            let dots = version.iter().filter(|c| **c == b'.').count();
            let sep = tail.get(len).copied();
            if dots == 2 && matches!(sep, Some(b'/') | Some(b'\\')) {
                let v = String::from_utf8_lossy(version).into_owned();
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
            start = begin;
        }
    }
    match versions.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------
// ELF facts read through the image: executable ranges and the .init_array.

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PF_X: u32 = 1;
const DT_NULL: u64 = 0;
const DT_INIT_ARRAY: u64 = 25;
const DT_INIT_ARRAYSZ: u64 = 27;

#[derive(Debug, Default)]
struct ElfInfo {
    /// `[start, end)` of executable segments.
    executable: Vec<(u64, u64)>,
    /// `DT_INIT_ARRAY` and `DT_INIT_ARRAYSZ`.
    init_array: Option<(u64, u64)>,
}

impl ElfInfo {
    fn executable(&self, addr: u64) -> bool {
        self.executable
            .iter()
            .any(|(s, e)| (*s..*e).contains(&addr))
    }

    /// Reads the ELF header and program headers where the first loadable segment maps them.
    fn read<'data, R: ReadRef<'data>>(image: &Image<R>) -> Option<Self> {
        let file_vaddr = |off: u64| {
            image
                .segments()
                .iter()
                .find(|s| off >= s.file_offset && off - s.file_offset < s.file_size)
                .map(|s| s.vaddr + (off - s.file_offset))
        };
        let header = file_vaddr(0)?;
        let ident = image.read_bytes(header, 16).ok()?;
        let big = ident.get(5) == Some(&2);
        if ident.get(..4) != Some(b"\x7fELF".as_slice()) || big != image.big_endian() {
            return None;
        }
        let wide = ident.get(4) == Some(&2);
        let u16_at = |a: u64| -> Option<u64> {
            let b = image.read_bytes(a, 2).ok()?;
            let arr = [*b.first()?, *b.get(1)?];
            Some(u64::from(if big {
                u16::from_be_bytes(arr)
            } else {
                u16::from_le_bytes(arr)
            }))
        };
        let u32_at = |a: u64| image.read_u32(a).ok().map(u64::from);
        let word_at = |a: u64| {
            if wide {
                image.read_word(a).ok()
            } else {
                u32_at(a)
            }
        };
        let (phoff, phentsize, phnum) = if wide {
            (
                word_at(header + 0x20)?,
                u16_at(header + 0x36)?,
                u16_at(header + 0x38)?,
            )
        } else {
            (
                word_at(header + 0x1c)?,
                u16_at(header + 0x2a)?,
                u16_at(header + 0x2c)?,
            )
        };
        let phdrs = file_vaddr(phoff)?;
        let mut info = ElfInfo::default();
        let mut dynamic = None;
        for i in 0..phnum.min(MAX_PHDRS as u64) {
            let ph = phdrs + i * phentsize;
            let p_type = u32_at(ph)? as u32;
            let (flags, vaddr, filesz, memsz) = if wide {
                (
                    u32_at(ph + 4)?,
                    word_at(ph + 16)?,
                    word_at(ph + 32)?,
                    word_at(ph + 40)?,
                )
            } else {
                (
                    u32_at(ph + 24)?,
                    word_at(ph + 8)?,
                    word_at(ph + 16)?,
                    word_at(ph + 20)?,
                )
            };
            if p_type == PT_LOAD && flags as u32 & PF_X != 0 {
                info.executable.push((vaddr, vaddr.saturating_add(memsz)));
            }
            if p_type == PT_DYNAMIC {
                dynamic = Some((vaddr, filesz));
            }
        }
        if let Some((dyn_at, dyn_size)) = dynamic {
            let entry = if wide { 16 } else { 8 };
            let half = entry / 2;
            let (mut array, mut size) = (None, None);
            for i in 0..(dyn_size / entry).min(MAX_DYNAMIC as u64) {
                let at = dyn_at + i * entry;
                let tag = word_at(at)?;
                let val = word_at(at + half)?;
                match tag {
                    DT_NULL => break,
                    DT_INIT_ARRAY => array = Some(val),
                    DT_INIT_ARRAYSZ => size = Some(val),
                    _ => {}
                }
            }
            info.init_array = array.zip(size);
        }
        Some(info)
    }
}

// ------------------------------------------------------------------------------------------
// The evaluator.

/// What the evaluator knows: register values (absent = unknown), memory written by the
/// evaluated code (byte by byte; None = written with an unknown value), and every address
/// the code computed or accessed.
#[derive(Clone)]
struct State {
    regs: HashMap<String, u128>,
    /// The bytes of a 16-byte vector register loaded from memory that was only partly
    /// known (a struct copied through XMM registers, with unwritten padding).
    vectors: HashMap<String, Vec<Option<u8>>>,
    stored: BTreeMap<u64, Option<u8>>,
    refs: Vec<u64>,
    /// The stack pointer's starting value.
    stack_top: u64,
    /// The byte order of stores and loads (s390x is big-endian).
    big_endian: bool,
}

impl State {
    fn new(stack: &str, stack_top: u64, big_endian: bool) -> Self {
        let mut regs = HashMap::new();
        regs.insert(stack.to_string(), u128::from(stack_top));
        State {
            regs,
            vectors: HashMap::new(),
            stored: BTreeMap::new(),
            refs: Vec::new(),
            stack_top,
            big_endian,
        }
    }

    fn get(&self, reg: &str) -> Option<u128> {
        self.regs.get(reg).copied()
    }

    fn set(&mut self, reg: &str, v: Option<u128>) {
        self.vectors.remove(reg);
        match v {
            Some(v) => {
                self.regs.insert(reg.to_string(), v);
            }
            None => {
                self.regs.remove(reg);
            }
        }
    }

    /// Forgets the registers `names` (those a call may change).
    fn forget<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        for r in names {
            self.set(r.as_ref(), None);
        }
    }

    /// Forgets every register but the stack pointer, and every value stored on the stack.
    fn forget_all(&mut self, stack: &str) {
        self.regs.retain(|r, _| r == stack);
        self.vectors.clear();
        let floor = self.stack_top - STACK_WINDOW;
        for (_, b) in self.stored.range_mut(floor..=self.stack_top) {
            *b = None;
        }
    }

    fn note(&mut self, addr: u64) {
        if self.refs.len() < 4096 && !self.refs.contains(&addr) {
            self.refs.push(addr);
        }
    }

    /// The shift of byte `i` of a `size`-byte value in memory order.
    fn shift(&self, i: usize, size: usize) -> usize {
        if self.big_endian {
            8 * (size - 1 - i)
        } else {
            8 * i
        }
    }

    fn store(&mut self, addr: u64, size: usize, v: Option<u128>) {
        let size = size.min(16);
        for i in 0..size {
            if self.stored.len() >= MAX_STORED_BYTES {
                return;
            }
            let byte = v.map(|v| (v >> self.shift(i, size)) as u8);
            self.stored.insert(addr.wrapping_add(i as u64), byte);
        }
    }

    /// A field of the entry as written: unwritten only if no byte of it was written.
    fn field(&self, addr: u64, size: usize) -> Field {
        let bytes: Vec<Option<Option<u8>>> = (0..size as u64)
            .map(|i| self.stored.get(&(addr + i)).copied())
            .collect();
        if bytes.iter().all(Option::is_none) {
            return Field::Unwritten;
        }
        let mut v: u128 = 0;
        let size = size.min(16);
        for (i, b) in bytes.iter().enumerate().take(size) {
            match b {
                Some(Some(b)) => v |= u128::from(*b) << self.shift(i, size),
                // A byte never written reads as the file's (zero for .bss); Rustler writes
                // every byte of the fields it sets.
                None => {}
                Some(None) => return Field::Unknown,
            }
        }
        Field::Known(v)
    }

    /// One byte as the code wrote it, else from the file (None: unknown).
    fn byte<'data, R: ReadRef<'data>>(&self, image: &Image<R>, addr: u64) -> Option<u8> {
        match self.stored.get(&addr) {
            Some(b) => *b,
            None => image.read_bytes(addr, 1).ok()?.first().copied(),
        }
    }

    /// Loads `size` bytes: from what the code wrote, else from the relocated image.
    fn load<'data, R: ReadRef<'data>>(
        &self,
        image: &Image<R>,
        addr: u64,
        size: usize,
    ) -> Option<u128> {
        let written = (0..size as u64).any(|i| self.stored.contains_key(&(addr + i)));
        if !written && addr < NULL_PAGE {
            // A NULL pointer plus a field offset: the file's headers live there, but the
            // code never reads them (an empty inventory list is walked this way).
            return None;
        }
        if written {
            let size = size.min(16);
            let mut v: u128 = 0;
            for i in 0..size {
                let b = (*self.stored.get(&(addr + i as u64))?)?;
                v |= u128::from(b) << self.shift(i, size);
            }
            return Some(v);
        }
        let ptr = |a: u64| match image.read_pointer(a).ok()? {
            Pointer::Address(x) => Some(x),
            Pointer::Null => Some(0),
            Pointer::Import(_) => None,
        };
        match size {
            8 if image.pointer_size() == 8 => ptr(addr).map(u128::from),
            16 if image.pointer_size() == 8 => {
                Some(u128::from(ptr(addr)?) | (u128::from(ptr(addr + 8)?) << 64))
            }
            4 if image.pointer_size() == 4 => ptr(addr).map(u128::from),
            1..=16 => {
                let b = image.read_bytes(addr, size).ok()?;
                Some(b.iter().enumerate().fold(0u128, |v, (i, b)| {
                    v | (u128::from(*b) << self.shift(i, size))
                }))
            }
            _ => None,
        }
    }
}

/// How evaluation of a function ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Returned,
    OutOfBudget,
    /// A called function reached code the evaluator cannot follow.
    Abandoned,
}

/// What one instruction does to control flow.
enum Flow {
    Next,
    /// A conditional branch to this address (the evaluator falls through).
    Branch(u64),
    Jump(u64),
    /// A call; the target when the evaluator knows it.
    Call(Option<u64>),
    Return,
    /// A path the evaluator cannot follow further (an indirect jump, a loop).
    DeadEnd(String),
    /// A trap (`ud2`, `brk`): the end of a panic path, which a run that returns never takes.
    Trap(String),
}

/// An operand.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Opnd {
    Reg(String, usize),
    Imm(i64),
    Mem {
        base: Option<String>,
        index: Option<String>,
        scale: i64,
        disp: i64,
        size: usize,
    },
    Other,
}

#[derive(Debug, Clone)]
struct Ins {
    address: u64,
    len: u64,
    mnemonic: String,
    ops: Vec<Opnd>,
    /// A pre- or post-indexed access that writes the address back to its base (AArch64,
    /// ARM).
    writeback: bool,
    /// Executed or not depending on the flags (ARM condition codes, Thumb `it` blocks).
    conditional: bool,
}

impl Ins {
    /// `i` with `ops`, neither writing back nor conditional: architectures that have either
    /// set it over this.
    fn from_insn(i: &capstone::Insn, ops: Vec<Opnd>) -> Ins {
        Ins {
            address: i.address(),
            len: i.len() as u64,
            mnemonic: i.mnemonic().unwrap_or("").to_string(),
            ops,
            writeback: false,
            conditional: false,
        }
    }

    /// The immediate after the memory operand `mem`: a post-indexed access's step
    /// (`[xN], #i`).
    fn post_index(&self, mem: &Opnd) -> Option<i64> {
        self.operands_after(mem).find_map(|o| match o {
            Opnd::Imm(i) => Some(*i),
            _ => None,
        })
    }

    /// The operands that follow `mem`.
    fn operands_after<'a>(&'a self, mem: &'a Opnd) -> impl Iterator<Item = &'a Opnd> {
        self.ops.iter().skip_while(move |o| *o != mem).skip(1)
    }
}

/// Disassembles up to `count` instructions of `code` at `address`.
fn disassemble<'cs>(
    cs: &'cs Capstone,
    code: &[u8],
    address: u64,
    count: usize,
) -> Result<capstone::Instructions<'cs>, String> {
    cs.disasm_count(code, address, count)
        .map_err(|e| format!("cannot disassemble at {address:#x}: {e}"))
}

/// The details (operands, condition, writeback) of `i`.
fn detail_of<'i>(cs: &Capstone, i: &'i capstone::Insn) -> Result<capstone::InsnDetail<'i>, String> {
    cs.insn_detail(i)
        .map_err(|e| format!("capstone detail: {e}"))
}

/// Decodes with capstone where each operand maps to an [`Opnd`] alone (`operand`), and no
/// instruction writes back or is conditional.
fn decode_operands(
    cs: &Capstone,
    code: &[u8],
    address: u64,
    count: usize,
    operand: impl Fn(ArchOperand) -> Opnd,
) -> Result<Vec<Ins>, String> {
    disassemble(cs, code, address, count)?
        .iter()
        .map(|i| {
            let ops = detail_of(cs, i)?
                .arch_detail()
                .operands()
                .into_iter()
                .map(&operand)
                .collect();
            Ok(Ins::from_insn(i, ops))
        })
        .collect()
}

trait Cpu {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String>;
    fn step(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String>;
    fn result_register(&self) -> &'static str;
    fn stack_register(&self) -> &'static str;
    /// The stack pointer's starting value: [`STACK_TOP`], or [`STACK_TOP_32`] for 32-bit code.
    fn stack_top(&self) -> u64 {
        STACK_TOP
    }
    /// Where the code at `pc` is read from: `pc` itself, but for ARM, whose Thumb addresses
    /// carry the mode in bit 0.
    fn fetch_address(&self, pc: u64) -> u64 {
        pc
    }
    /// Registers that hold the base of position-independent data for a whole function
    /// (32-bit x86's GOT pointer in ebx, PowerPC64's TOC pointer r2).
    fn pinned_registers(&self) -> &'static [&'static str] {
        &[]
    }
    /// Sets up what a function's caller provides beyond the stack (PowerPC64's r12).
    fn begin(&self, _state: &mut State, _start: u64) {}
    /// After a call that was not followed: pops what the callee pops besides its return
    /// address (32-bit x86's `ret n`).
    fn callee_pops(&self, _state: &mut State, _image: &dyn Load, _target: u64) {}
    /// Sets up the return address of a call from `ret_addr` into a followed function.
    fn enter_call(&self, state: &mut State, ret_addr: u64);
    /// Undoes what the callee's `ret` does beyond returning (popping the return address).
    fn leave_call(&self, _state: &mut State) {}
    /// Forgets the registers a call may change (the caller-saved ones).
    fn clobber(&self, state: &mut State);
}

/// Loads through the state's stores and the image, for one evaluation.
trait Load {
    fn load(&self, state: &State, addr: u64, size: usize) -> Option<u128>;
    fn byte(&self, state: &State, addr: u64) -> Option<u8>;
}

impl<'data, R: ReadRef<'data>> Load for Image<R> {
    fn load(&self, state: &State, addr: u64, size: usize) -> Option<u128> {
        state.load(self, addr, size)
    }

    fn byte(&self, state: &State, addr: u64) -> Option<u8> {
        state.byte(self, addr)
    }
}

/// Evaluates from `start` until a return, or until `budget` instructions are spent.
///
/// Conditional branches fall through, and their forward targets are remembered. A jump back
/// into code already evaluated (a loop), a trap (`ud2`, the code after a call that panics) or
/// an indirect jump resumes at the most recent remembered target not yet evaluated: the exit
/// of the loop, or the other side of the branch that led to the dead end. Everything the
/// skipped path may have changed, registers and stack, becomes unknown there. A trap is
/// different: the path that led to it (a panic) is the one a run that returns never takes,
/// so evaluation resumes at the other side of the last branch with the machine state the
/// branch had, when it was remembered.
///
/// Calls to a known address are followed while `depth` is below [`MAX_CALL_DEPTH`]; a
/// callee that does not return within its budget, or reaches a dead end, is undone and the
/// call treated as opaque (its caller-saved registers unknown).
fn run<'data, R: ReadRef<'data>>(
    cpu: &dyn Cpu,
    image: &Image<R>,
    start: u64,
    budget: &mut usize,
    state: &mut State,
    depth: usize,
) -> Result<End, String> {
    let mut pc = start;
    let mut visited: HashSet<u64> = HashSet::new();
    let mut pending: Vec<(u64, Option<Box<State>>)> = Vec::new();
    let mut snapshots = 0;
    while *budget > 0 {
        let code = image
            .read_code(cpu.fetch_address(pc), MAX_CODE_BYTES)
            .map_err(|e| format!("cannot read code at {pc:#x}: {e}"))?;
        let insns = cpu.decode(&code, pc, (*budget).min(64))?;
        let Some(last) = insns.last() else {
            return Err(format!("no instruction the evaluator knows at {pc:#x}"));
        };
        let mut next = last.address.wrapping_add(last.len);
        for ins in &insns {
            *budget = budget.saturating_sub(1);
            let flow = if visited.insert(ins.address) {
                cpu.step(ins, state, image)?
            } else {
                Flow::DeadEnd(format!("a loop back to {:#x}", ins.address))
            };
            let flow = match flow {
                Flow::Jump(t) if visited.contains(&t) => {
                    Flow::DeadEnd(format!("a loop back to {t:#x}"))
                }
                other => other,
            };
            match flow {
                Flow::Next => {}
                Flow::Branch(t) => {
                    if t > ins.address && !visited.contains(&t) && pending.len() < MAX_INIT_INSNS {
                        let small = state.stored.len() <= MAX_SNAPSHOT_BYTES;
                        let snapshot = (small && snapshots < MAX_SNAPSHOTS).then(|| {
                            snapshots += 1;
                            Box::new(state.clone())
                        });
                        pending.push((t, snapshot));
                    }
                }
                Flow::Jump(t) => {
                    next = t;
                    break;
                }
                Flow::Call(target) => {
                    let ret_addr = ins.address.wrapping_add(ins.len);
                    let followed = match target {
                        Some(t)
                            if depth < MAX_CALL_DEPTH
                                && image.read_code(cpu.fetch_address(t), 1).is_ok() =>
                        {
                            let before = state.clone();
                            cpu.enter_call(state, ret_addr);
                            let mut callee_budget = (*budget).min(MAX_CALL_INSNS);
                            let used_before = callee_budget;
                            let end = run(cpu, image, t, &mut callee_budget, state, depth + 1);
                            *budget = budget.saturating_sub(used_before - callee_budget);
                            if matches!(end, Ok(End::Returned)) {
                                cpu.leave_call(state);
                                true
                            } else {
                                *state = before;
                                false
                            }
                        }
                        _ => false,
                    };
                    if !followed {
                        cpu.clobber(state);
                        if let Some(t) = target {
                            cpu.callee_pops(state, image, t);
                        }
                    }
                }
                Flow::Return => return Ok(End::Returned),
                Flow::Trap(why) => {
                    let resume =
                        std::iter::from_fn(|| pending.pop()).find(|(t, _)| !visited.contains(t));
                    next = match resume {
                        Some((t, Some(snapshot))) => {
                            *state = *snapshot;
                            t
                        }
                        Some((t, None)) if depth == 0 => {
                            state.forget_all(cpu.stack_register());
                            t
                        }
                        _ if depth > 0 => return Ok(End::Abandoned),
                        _ => return Err(format!("evaluation ends at {why} with no other path")),
                    };
                    break;
                }
                Flow::DeadEnd(why) => {
                    // A called function's state cannot be forgotten without its caller's.
                    if depth > 0 {
                        return Ok(End::Abandoned);
                    }
                    let (resume, snapshot) = std::iter::from_fn(|| pending.pop())
                        .find(|(t, _)| !visited.contains(t))
                        .ok_or_else(|| format!("evaluation ends at {why} with no other path"))?;
                    // The base register of position-independent data survives the loop when
                    // the branch saw the same value.
                    let pinned: Vec<(&str, u128)> = cpu
                        .pinned_registers()
                        .iter()
                        .filter_map(|r| Some((*r, state.get(r)?)))
                        .filter(|(r, v)| snapshot.as_ref().is_none_or(|s| s.get(r) == Some(*v)))
                        .collect();
                    state.forget_all(cpu.stack_register());
                    for (r, v) in pinned {
                        state.set(r, Some(v));
                    }
                    next = resume;
                    break;
                }
            }
            if *budget == 0 {
                break;
            }
        }
        pc = next;
    }
    Ok(End::OutOfBudget)
}

fn mask(size: usize) -> u128 {
    if size >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * size)) - 1
    }
}

fn reg_name(cs: &Capstone, reg: capstone::RegId) -> Option<String> {
    if reg.0 == 0 {
        return None;
    }
    cs.reg_name(reg)
}

// ------------------------------------------------------------------------------------------
// x86-64.

/// x86-64, and 32-bit x86 (`wide` false: 4-byte stack slots and addresses, cdecl's
/// caller-saved registers, and the `__x86.get_pc_thunk` calls of position-independent code).
struct X86_64 {
    cs: Capstone,
    wide: bool,
}

impl X86_64 {
    fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::X86 { wide })?;
        Ok(X86_64 { cs, wide })
    }

    /// The size of a stack slot and of an address.
    fn slot(&self) -> u64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    fn wrap(&self, a: u64) -> u64 {
        if self.wide {
            a
        } else {
            a & 0xffff_ffff
        }
    }

    /// The register a 32-bit PIC thunk (`mov reg, [esp]; ret`) at `target` loads with its
    /// return address.
    fn pc_thunk(&self, state: &State, image: &dyn Load, target: u64) -> Option<&'static str> {
        if self.wide {
            return None;
        }
        let code = image.load(state, target, 4)? as u32;
        // 8b /r with mod 00, r/m 100 (SIB), SIB 24 ([esp]); then c3 (ret).
        let [op, modrm, sib, ret] = code.to_le_bytes();
        if op != 0x8b || modrm & 0xc7 != 0x04 || sib != 0x24 || ret != 0xc3 {
            return None;
        }
        const REGS: [&str; 8] = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
        REGS.get(usize::from((modrm >> 3) & 7)).copied()
    }
}

/// The full register a name is part of, and whether a write to it replaces the whole register
/// (64- and 32-bit writes; the latter zero-extends) or merges (8 and 16 bits).
fn x86_full(name: &str) -> String {
    const LEGACY: [(&str, [&str; 4]); 8] = [
        ("rax", ["eax", "ax", "al", "ah"]),
        ("rbx", ["ebx", "bx", "bl", "bh"]),
        ("rcx", ["ecx", "cx", "cl", "ch"]),
        ("rdx", ["edx", "dx", "dl", "dh"]),
        ("rsi", ["esi", "si", "sil", ""]),
        ("rdi", ["edi", "di", "dil", ""]),
        ("rbp", ["ebp", "bp", "bpl", ""]),
        ("rsp", ["esp", "sp", "spl", ""]),
    ];
    for (full, parts) in LEGACY {
        if name == full || parts.contains(&name) {
            return full.to_string();
        }
    }
    if let Some(rest) = name.strip_prefix('r') {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return format!("r{digits}");
        }
    }
    if let Some(n) = name
        .strip_prefix("ymm")
        .or_else(|| name.strip_prefix("zmm"))
    {
        return format!("xmm{n}");
    }
    name.to_string()
}

/// Caller-saved registers (System V).
const X86_CLOBBERED: [&str; 9] = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"];
/// Caller-saved registers of 32-bit x86 (cdecl).
const X86_32_CLOBBERED: [&str; 3] = ["rax", "rcx", "rdx"];

impl X86_64 {
    fn read(&self, state: &State, op: &Opnd) -> Option<u128> {
        match op {
            Opnd::Reg(r, size) => {
                let v = state.get(&x86_full(r))?;
                let v = if r.ends_with('h') && r.len() == 2 {
                    v >> 8
                } else {
                    v
                };
                Some(v & mask(*size))
            }
            Opnd::Imm(i) => Some(*i as u64 as u128),
            _ => None,
        }
    }

    fn addr(&self, state: &State, op: &Opnd, next: u64) -> Option<u64> {
        let Opnd::Mem {
            base,
            index,
            scale,
            disp,
            ..
        } = op
        else {
            return None;
        };
        let reg = |r: &String| -> Option<u64> {
            if r == "rip" {
                return Some(next);
            }
            state.get(&x86_full(r)).map(|v| v as u64)
        };
        let b = match base {
            Some(r) => reg(r)?,
            None => 0,
        };
        let i = match index {
            Some(r) => reg(r)?.wrapping_mul(*scale as u64),
            None => 0,
        };
        Some(self.wrap(b.wrapping_add(i).wrapping_add(*disp as u64)))
    }

    fn write(&self, state: &mut State, op: &Opnd, v: Option<u128>, next: u64) {
        match op {
            Opnd::Reg(r, size) => {
                let full = x86_full(r);
                let v = match size {
                    4 | 8 | 16 => v.map(|v| v & mask(*size)),
                    _ if r.ends_with('h') && r.len() == 2 => state
                        .get(&full)
                        .zip(v)
                        .map(|(old, v)| (old & !0xff00) | ((v & 0xff) << 8)),
                    _ => state
                        .get(&full)
                        .zip(v)
                        .map(|(old, v)| (old & !mask(*size)) | (v & mask(*size))),
                };
                state.set(&full, v);
            }
            Opnd::Mem { size, .. } => {
                if let Some(a) = self.addr(state, op, next) {
                    state.store(a, *size, v);
                }
            }
            _ => {}
        }
    }
}

impl Cpu for X86_64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        decode_operands(&self.cs, code, address, count, |op| match op {
            ArchOperand::X86Operand(o) => match o.op_type {
                X86OperandType::Reg(r) => reg_name(&self.cs, r)
                    .map(|n| Opnd::Reg(n, usize::from(o.size)))
                    .unwrap_or(Opnd::Other),
                X86OperandType::Imm(v) => Opnd::Imm(v),
                X86OperandType::Mem(m) => Opnd::Mem {
                    base: reg_name(&self.cs, m.base()),
                    index: reg_name(&self.cs, m.index()),
                    scale: i64::from(m.scale()),
                    disp: m.disp(),
                    size: usize::from(o.size),
                },
                X86OperandType::Invalid => Opnd::Other,
            },
            _ => Opnd::Other,
        })
    }

    fn result_register(&self) -> &'static str {
        "rax"
    }

    fn stack_register(&self) -> &'static str {
        "rsp"
    }

    fn stack_top(&self) -> u64 {
        if self.wide {
            STACK_TOP
        } else {
            STACK_TOP_32
        }
    }

    fn pinned_registers(&self) -> &'static [&'static str] {
        if self.wide {
            &[]
        } else {
            &["rbx"]
        }
    }

    fn callee_pops(&self, state: &mut State, image: &dyn Load, target: u64) {
        if self.wide {
            return;
        }
        // The callee's first return, in address order: every return of a function pops
        // the same, so the first says what the call does to the stack.
        let mut pc = target;
        for _ in 0..MAX_RET_SCAN / 16 {
            let code: Vec<u8> = (0..64u64)
                .map_while(|i| image.byte(state, pc.wrapping_add(i)))
                .collect();
            let Ok(insns) = self.cs.disasm_count(&code, pc, 16) else {
                return;
            };
            let Some(last) = insns.last() else {
                return;
            };
            for i in insns.iter() {
                match (i.mnemonic(), i.bytes()) {
                    (Some("ret"), [0xc2, lo, hi]) => {
                        let n = u64::from(u16::from_le_bytes([*lo, *hi]));
                        let sp = state
                            .get("rsp")
                            .map(|s| u128::from(self.wrap((s as u64).wrapping_add(n))));
                        state.set("rsp", sp);
                        return;
                    }
                    (Some("ret"), _) => return,
                    _ => {}
                }
            }
            pc = last.address().wrapping_add(last.len() as u64);
        }
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        let slot = self.slot();
        let sp = state
            .get("rsp")
            .map(|s| self.wrap((s as u64).wrapping_sub(slot)));
        state.set("rsp", sp.map(u128::from));
        if let Some(sp) = sp {
            state.store(sp, slot as usize, Some(u128::from(ret_addr)));
        }
    }

    fn leave_call(&self, state: &mut State) {
        let sp = state
            .get("rsp")
            .map(|s| u128::from(self.wrap((s as u64).wrapping_add(self.slot()))));
        state.set("rsp", sp);
    }

    fn clobber(&self, state: &mut State) {
        let clobbered: &[&str] = if self.wide {
            &X86_CLOBBERED
        } else {
            &X86_32_CLOBBERED
        };
        state.forget(clobbered);
        state.forget((0..16).map(|i| format!("xmm{i}")));
    }

    fn step(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let next = ins.address.wrapping_add(ins.len);
        let m = ins.mnemonic.as_str();
        let op0 = ins.ops.first().cloned().unwrap_or(Opnd::Other);
        let op1 = ins.ops.get(1).cloned().unwrap_or(Opnd::Other);
        // Every memory operand's address is a reference (constructors name their node so).
        for op in &ins.ops {
            if let Some(a) = self.addr(state, op, next) {
                state.note(a);
            }
        }
        let load = |state: &State, op: &Opnd| -> Option<u128> {
            match op {
                Opnd::Mem { size, .. } => {
                    let a = self.addr(state, op, next)?;
                    image.load(state, a, *size)
                }
                other => self.read(state, other),
            }
        };
        let rsp = |state: &State| state.get("rsp").map(|v| v as u64);
        match m {
            "ret" => {
                // `ret n` also pops n bytes of arguments (32-bit x86: the hidden pointer of a
                // function that returns a struct).
                if let Opnd::Imm(n) = op0 {
                    let sp = rsp(state).map(|s| u128::from(self.wrap(s.wrapping_add(n as u64))));
                    state.set("rsp", sp);
                }
                return Ok(Flow::Return);
            }
            "ud2" | "int3" | "hlt" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {:#x}", ins.address)))
            }
            "nop" | "endbr64" | "cmp" | "test" | "bt" | "ucomisd" | "ucomiss" | "comisd"
            | "comiss" | "prefetcht0" | "prefetchnta" | "pause" | "mfence" | "lfence"
            | "sfence" => {}
            "lea" => {
                let a = self.addr(state, &op1, next);
                if let Some(a) = a {
                    state.note(a);
                }
                self.write(state, &op0, a.map(u128::from), next);
            }
            "mov" | "movabs" | "movq" | "movd" | "movups" | "movaps" | "movdqu" | "movdqa"
            | "movupd" | "movapd" | "movss" | "movsd" | "movlps" | "movlpd" => {
                let v = load(state, &op1);
                let v = match (&op0, &op1) {
                    // A narrower source into an XMM register zero-extends (movq/movd/movss).
                    (Opnd::Reg(..), _) if m == "movsd" && matches!(op1, Opnd::Reg(..)) => None,
                    _ => v,
                };
                // A 16-byte copy keeps what is known byte by byte (struct copies).
                let vector = match (&op0, &op1) {
                    (Opnd::Reg(r, 16), Opnd::Mem { size: 16, .. }) if v.is_none() => {
                        self.addr(state, &op1, next).map(|a| {
                            (
                                x86_full(r),
                                (0..16).map(|i| image.byte(state, a + i)).collect(),
                            )
                        })
                    }
                    _ => None,
                };
                let copied = match (&op0, &op1) {
                    (Opnd::Mem { size: 16, .. }, Opnd::Reg(r, 16)) if v.is_none() => {
                        state.vectors.get(&x86_full(r)).cloned()
                    }
                    _ => None,
                };
                match (copied, self.addr(state, &op0, next)) {
                    (Some(bytes), Some(a)) => {
                        for (i, b) in bytes.into_iter().enumerate() {
                            state.store(a + i as u64, 1, b.map(u128::from));
                        }
                    }
                    _ => self.write(state, &op0, v, next),
                }
                if let Some((reg, bytes)) = vector {
                    state.vectors.insert(reg, bytes);
                }
            }
            "movzx" | "movsxd" | "movsx" => {
                let src_size = match &op1 {
                    Opnd::Reg(_, s) | Opnd::Mem { size: s, .. } => *s,
                    _ => 0,
                };
                let v = load(state, &op1).map(|v| {
                    if m == "movzx" || src_size == 0 {
                        v
                    } else {
                        let bits = (8 * src_size) as u32;
                        let shift = 128 - bits;
                        (((v << shift) as i128) >> shift) as u128
                    }
                });
                self.write(state, &op0, v, next);
            }
            "xor" | "xorps" | "xorpd" | "pxor" | "sub" | "subq" if op0 == op1 => {
                self.write(state, &op0, Some(0), next);
            }
            "add" | "sub" | "and" | "or" | "xor" | "shl" | "shr" | "sar" => {
                let v = load(state, &op0).zip(load(state, &op1)).map(|(a, b)| {
                    let s = (b & 0x3f) as u32;
                    match m {
                        "add" => a.wrapping_add(b),
                        "sub" => a.wrapping_sub(b),
                        "and" => a & b,
                        "or" => a | b,
                        "xor" => a ^ b,
                        "shl" => a << s,
                        "shr" => a >> s,
                        _ => ((a as u64 as i64) >> s) as u64 as u128,
                    }
                });
                self.write(state, &op0, v, next);
            }
            "inc" | "dec" => {
                let v = load(state, &op0).map(|a| {
                    if m == "inc" {
                        a.wrapping_add(1)
                    } else {
                        a.wrapping_sub(1)
                    }
                });
                self.write(state, &op0, v, next);
            }
            "push" => {
                let slot = self.slot();
                let v = load(state, &op0);
                let sp = rsp(state).map(|s| self.wrap(s.wrapping_sub(slot)));
                state.set("rsp", sp.map(u128::from));
                if let Some(sp) = sp {
                    state.store(sp, slot as usize, v);
                }
            }
            "pop" => {
                let slot = self.slot();
                let sp = rsp(state);
                let v = sp.and_then(|sp| image.load(state, sp, slot as usize));
                state.set(
                    "rsp",
                    sp.map(|s| u128::from(self.wrap(s.wrapping_add(slot)))),
                );
                self.write(state, &op0, v, next);
            }
            "jmp" => {
                // Through a register or memory (a tail call through the GOT): followed when
                // the target is known.
                return Ok(match load(state, &op0) {
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect jump at {:#x}", ins.address)),
                });
            }
            "call" => {
                let target = load(state, &op0).map(|t| t as u64);
                // 32-bit PIC: a thunk that returns its return address, or a call to the next
                // instruction followed by a pop. Neither is a call to follow.
                if let Some(reg) = target.and_then(|t| self.pc_thunk(state, image, t)) {
                    state.set(reg, Some(u128::from(next)));
                    return Ok(Flow::Next);
                }
                if target == Some(next) && !self.wide {
                    let sp = rsp(state).map(|s| self.wrap(s.wrapping_sub(4)));
                    state.set("rsp", sp.map(u128::from));
                    if let Some(sp) = sp {
                        state.store(sp, 4, Some(u128::from(next)));
                    }
                    return Ok(Flow::Next);
                }
                return Ok(Flow::Call(target));
            }
            "xchg" | "cmpxchg" | "xadd" => {
                // Both operands may change; the memory one becomes unknown.
                self.write(state, &op0, None, next);
                self.write(state, &op1, None, next);
                state.set("rax", None);
            }
            // Conditional branches: follow the fall-through path, remember the target.
            _ if m.starts_with('j') => {
                if let Opnd::Imm(t) = op0 {
                    return Ok(Flow::Branch(t as u64));
                }
            }
            _ => {
                // Any other instruction writing its first operand leaves it unknown.
                self.write(state, &op0, None, next);
            }
        }
        Ok(Flow::Next)
    }
}

// ------------------------------------------------------------------------------------------
// AArch64: same model (adrp/add/adr, mov/movz/movk/orr, str/stp/stur and their loads).

struct Aarch64 {
    cs: Capstone,
}

impl Aarch64 {
    fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Aarch64)?;
        Ok(Aarch64 { cs })
    }
}

/// `wN` → (`xN`, 4), `xN` → (`xN`, 8), `qN`/`dN`/`sN`/`vN` → (`vN`, 16/8/4/16).
fn a64_reg(name: &str) -> (String, usize) {
    let num = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match name.split_at(1.min(name.len())) {
        ("w", n) if num(n) => (format!("x{n}"), 4),
        ("x", n) if num(n) => (format!("x{n}"), 8),
        ("q", n) | ("v", n) if num(n) => (format!("v{n}"), 16),
        ("d", n) if num(n) => (format!("v{n}"), 8),
        ("s", n) if num(n) => (format!("v{n}"), 4),
        _ if name == "wzr" => ("xzr".to_string(), 4),
        _ if name == "xzr" => ("xzr".to_string(), 8),
        _ if name == "wsp" => ("sp".to_string(), 4),
        _ => (name.to_string(), 8),
    }
}

const A64_CLOBBERED: [&str; 19] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x30",
];

impl Aarch64 {
    fn reg(&self, state: &State, op: &Opnd) -> Option<u128> {
        match op {
            Opnd::Reg(r, _) => {
                let (full, size) = a64_reg(r);
                if full == "xzr" {
                    return Some(0);
                }
                state.get(&full).map(|v| v & mask(size))
            }
            Opnd::Imm(i) => Some(*i as u64 as u128),
            _ => None,
        }
    }

    fn set(&self, state: &mut State, op: &Opnd, v: Option<u128>) {
        if let Opnd::Reg(r, _) = op {
            let (full, size) = a64_reg(r);
            if full != "xzr" {
                state.set(&full, v.map(|v| v & mask(size)));
            }
        }
    }

    fn addr(&self, state: &State, op: &Opnd) -> Option<u64> {
        let Opnd::Mem {
            base, index, disp, ..
        } = op
        else {
            return None;
        };
        let reg = |r: &String| state.get(&a64_reg(r).0).map(|v| v as u64);
        let b = match base {
            Some(r) => reg(r)?,
            None => 0,
        };
        let i = match index {
            Some(r) => reg(r)?,
            None => 0,
        };
        Some(b.wrapping_add(i).wrapping_add(*disp as u64))
    }

    /// Moves the base register of a pre-indexed (`[xN, #d]!`: base + d) or post-indexed
    /// (`[xN], #i`: base + i) access, after the access itself.
    fn write_back(&self, ins: &Ins, mem: &Opnd, state: &mut State) {
        let Opnd::Mem {
            base: Some(base),
            disp,
            ..
        } = mem
        else {
            return;
        };
        let post = ins.post_index(mem);
        if !ins.writeback && post.is_none() {
            return;
        }
        let (full, _) = a64_reg(base);
        let step = post.unwrap_or(*disp) as u64;
        let moved = state
            .get(&full)
            .map(|b| u128::from((b as u64).wrapping_add(step)));
        state.set(&full, moved);
    }

    fn size_of(op: &Opnd) -> usize {
        match op {
            Opnd::Reg(r, _) => a64_reg(r).1,
            _ => 8,
        }
    }
}

impl Cpu for Aarch64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        disassemble(&self.cs, code, address, count)?
            .iter()
            .map(|i| {
                // See crate::disasm: operands of these are never asked for.
                if !crate::disasm::aarch64_operands_are_safe(i.mnemonic().unwrap_or("")) {
                    return Ok(Ins::from_insn(i, vec![Opnd::Other]));
                }
                let detail = detail_of(&self.cs, i)?;
                let arch_detail = detail.arch_detail();
                let writeback = match &arch_detail {
                    ArchDetail::Arm64Detail(a) => a.writeback(),
                    _ => false,
                };
                let ops = arch_detail
                    .operands()
                    .into_iter()
                    .map(|op| match op {
                        ArchOperand::Arm64Operand(o) => match o.op_type {
                            Arm64OperandType::Reg(r) => reg_name(&self.cs, r)
                                .map(|n| Opnd::Reg(n, 0))
                                .unwrap_or(Opnd::Other),
                            Arm64OperandType::Imm(v) => Opnd::Imm(v),
                            Arm64OperandType::Mem(m) => Opnd::Mem {
                                base: reg_name(&self.cs, m.base()),
                                index: reg_name(&self.cs, m.index()),
                                scale: 1,
                                disp: i64::from(m.disp()),
                                size: 0,
                            },
                            _ => Opnd::Other,
                        },
                        _ => Opnd::Other,
                    })
                    .collect();
                Ok(Ins {
                    writeback,
                    ..Ins::from_insn(i, ops)
                })
            })
            .collect()
    }

    fn result_register(&self) -> &'static str {
        "x0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("x30", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(A64_CLOBBERED);
        state.forget((0..32).map(|i| format!("v{i}")));
    }

    fn step(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let m = ins.mnemonic.as_str();
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        for o in &ins.ops {
            if let Some(a) = self.addr(state, o) {
                state.note(a);
            }
        }
        match m {
            "ret" => return Ok(Flow::Return),
            "brk" | "udf" | "hlt" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {:#x}", ins.address)))
            }
            "nop" | "hint" | "bti" | "paciasp" | "autiasp" | "pacibsp" | "autibsp" | "cmp"
            | "cmn" | "tst" | "prfm" | "dmb" | "dsb" | "isb" => {}
            "adrp" | "adr" => {
                let v = self.reg(state, &op(1));
                if let Some(a) = v {
                    state.note(a as u64);
                }
                self.set(state, &op(0), v);
            }
            "add" | "sub" | "orr" | "and" | "eor" | "lsl" | "lsr" => {
                let v =
                    self.reg(state, &op(1))
                        .zip(self.reg(state, &op(2)))
                        .map(|(a, b)| match m {
                            "add" => a.wrapping_add(b),
                            "sub" => a.wrapping_sub(b),
                            "orr" => a | b,
                            "and" => a & b,
                            "eor" => a ^ b,
                            "lsl" => a << (b & 0x3f),
                            _ => a >> (b & 0x3f),
                        });
                if m == "add" {
                    if let Some(a) = v {
                        state.note(a as u64);
                    }
                }
                self.set(state, &op(0), v);
            }
            "mov" | "movz" | "movi" | "fmov" => {
                let v = self.reg(state, &op(1));
                self.set(state, &op(0), v);
            }
            "movk" => {
                // movk xD, #imm, lsl #s — capstone folds the shift into the immediate? Be
                // conservative: only the plain form (shift 0) is merged.
                let v = self.reg(state, &op(0)).zip(self.reg(state, &op(1)));
                self.set(
                    state,
                    &op(0),
                    v.map(|(old, imm)| (old & !0xffff) | (imm & 0xffff)),
                );
                if ins.ops.len() > 2 {
                    self.set(state, &op(0), None);
                }
            }
            "str" | "stur" | "strb" | "strh" | "stp" => {
                let pair = m == "stp";
                let mem = if pair { op(2) } else { op(1) };
                let size = match m {
                    "strb" => 1,
                    "strh" => 2,
                    _ => Self::size_of(&op(0)),
                };
                if let Some(a) = self.addr(state, &mem) {
                    let v0 = self.reg(state, &op(0));
                    state.store(a, size, v0);
                    if pair {
                        let v1 = self.reg(state, &op(1));
                        state.store(a.wrapping_add(size as u64), size, v1);
                    }
                }
                self.write_back(ins, &mem, state);
            }
            "ldr" | "ldur" | "ldp" => {
                let pair = m == "ldp";
                let mem = if pair { op(2) } else { op(1) };
                let size = Self::size_of(&op(0));
                let at = match &mem {
                    Opnd::Imm(a) => Some(*a as u64),
                    other => self.addr(state, other),
                };
                let v0 = at.and_then(|a| image.load(state, a, size));
                let v1 = pair
                    .then(|| at.and_then(|a| image.load(state, a.wrapping_add(size as u64), size)))
                    .flatten();
                self.write_back(ins, &mem, state);
                self.set(state, &op(0), v0);
                if pair {
                    self.set(state, &op(1), v1);
                }
            }
            "b" => {
                return match op(0) {
                    Opnd::Imm(t) => Ok(Flow::Jump(t as u64)),
                    _ => Ok(Flow::DeadEnd(format!(
                        "a branch to an unknown address at {:#x}",
                        ins.address
                    ))),
                }
            }
            "br" => {
                return Ok(match self.reg(state, &op(0)) {
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect branch at {:#x}", ins.address)),
                })
            }
            "bl" | "blr" => return Ok(Flow::Call(self.reg(state, &op(0)).map(|t| t as u64))),
            _ if m.starts_with("b.") || matches!(m, "cbz" | "cbnz" | "tbz" | "tbnz") => {
                let target = ins.ops.iter().rev().find_map(|o| match o {
                    Opnd::Imm(t) => Some(*t as u64),
                    _ => None,
                });
                if let Some(t) = target {
                    return Ok(Flow::Branch(t));
                }
            }
            _ => {
                let o = op(0);
                self.set(state, &o, None);
            }
        }
        Ok(Flow::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_register_families() {
        assert_eq!(x86_full("eax"), "rax");
        assert_eq!(x86_full("al"), "rax");
        assert_eq!(x86_full("r8d"), "r8");
        assert_eq!(x86_full("r15b"), "r15");
        assert_eq!(x86_full("xmm3"), "xmm3");
        assert_eq!(x86_full("ymm3"), "xmm3");
    }

    #[test]
    fn a64_register_families() {
        assert_eq!(a64_reg("w3"), ("x3".to_string(), 4));
        assert_eq!(a64_reg("x30"), ("x30".to_string(), 8));
        assert_eq!(a64_reg("q0"), ("v0".to_string(), 16));
        assert_eq!(a64_reg("wzr"), ("xzr".to_string(), 4));
    }

    #[test]
    fn fields_from_stores() {
        let mut s = State::new("rsp", STACK_TOP, false);
        s.store(0x100, 8, Some(0x0000_000f_0000_0002));
        assert_eq!(s.field(0x100, 4), Field::Known(2));
        assert_eq!(s.field(0x104, 4), Field::Known(15));
        assert_eq!(s.field(0x108, 8), Field::Unwritten);
        s.store(0x108, 4, None);
        assert_eq!(s.field(0x108, 4), Field::Unknown);
    }
}
