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
//! returns under qemu-user. The `.init_array` walk starts from the array and the executable
//! ranges that `inspect` read from the ELF headers, so the inventory path is ELF only.

use object::ReadRef;

use super::{Decoded, Layout, MAX_FUNCTIONS};
use super::{NifEntry, NifFunction};

mod aarch64;
mod arm;
mod eval;
mod inventory;
mod lifted;
mod ppc64;
mod riscv;
mod s390x;
mod x86;
use crate::inspect::{Binary, Platform};
use crate::memory::{Image, Pointer};
use crate::platform::Arch;
use aarch64::Aarch64;
use eval::{run, Cpu, End, State};
use inventory::inventory_table;
pub use inventory::rustler_version;
use x86::X86_64;

/// Most instructions evaluated in `nif_init`, the functions it calls included.
pub const MAX_INIT_INSNS: usize = 8192;
/// Most instructions evaluated in one `.init_array` constructor.
pub const MAX_CTOR_INSNS: usize = 48;
/// Most `.init_array` entries examined.
pub const MAX_CTORS: usize = 16_384;

/// Decodes a Rustler NIF whose entry `nif_init` (at `init`) builds at run time.
pub fn decode<'data, R: ReadRef<'data>>(binary: &Binary<R>, init: u64) -> Result<Decoded, String> {
    let image = &binary.image;
    let cpu: Box<dyn Cpu + '_> = match binary.arch {
        Arch::X86_64 if image.pointer_size() == 8 => Box::new(X86_64::new(true)?),
        Arch::X86 if image.pointer_size() == 4 => Box::new(X86_64::new(false)?),
        Arch::Aarch64 if image.pointer_size() == 8 => Box::new(Aarch64::new()?),
        Arch::Arm if image.pointer_size() == 4 => Box::new(arm::Arm::new()?),
        Arch::Riscv64 if image.pointer_size() == 8 => Box::new(riscv::Riscv::new()?),
        Arch::Powerpc64 if image.pointer_size() == 8 && !image.big_endian() => {
            Box::new(ppc64::Ppc64::new(image)?)
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
            if binary.platform != Platform::Unix {
                return Err("the function table is built at run time and this format's constructors are not read".into());
            }
            let (f, a) = inventory_table(cpu.as_ref(), binary)?;
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
        entry_address: entry,
        // Only whether a callback is set is read from the evaluator's stores, not yet where
        // it points: a Rustler NIF's `load` is not analysed (as before the entry carried
        // its callbacks).
        callbacks: Vec::new(),
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
