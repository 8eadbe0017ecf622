//! Decoding a NIF's `ErlNifEntry` and function table from the file, statically.
//!
//! Layouts follow `erl_nif.h`: the entry is append-only, and the fields a library provides
//! depend on the NIF version it declares (see `docs/design/beam-facts.md`, "`ErlNifEntry` and `ErlNifFunc`"). Offsets
//! are computed from the library's own pointer size, which covers LP64, LLP64 and ILP32.

pub mod locate;
pub mod rustler;

use object::ReadRef;

use crate::inspect::{Binary, Platform};
use crate::memory::{Image, Pointer};
use crate::report::{NifEntry, NifFunction};

/// The most function-table entries decoded; the BEAM has no limit, but no real NIF comes
/// close and a corrupt count must not make us read megabytes.
pub const MAX_FUNCTIONS: usize = 65_536;

/// The names the BEAM looks up, in order (`erts_sys_ddll_load_nif_init`).
pub const INIT_NAMES: [&str; 2] = ["nif_init", "_nif_init"];

/// What decoding found, with the raw facts the rules need beyond the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The entry as reported.
    pub entry: NifEntry,
    /// The `fptr` of each function, in table order (None where it is not an address).
    pub function_addresses: Vec<Option<u64>>,
    /// The declared `num_of_funcs`, before capping.
    pub declared_functions: i64,
    /// `min_erts` is present in this version's layout but NULL.
    pub min_erts_null: bool,
    /// `vm_variant` is present in this version's layout but NULL.
    pub vm_variant_null: bool,
    /// The generator (e.g. "Rustler 0.34.0") whose entry type ends before `min_erts` although
    /// the version it declares has that field; None for an entry of the full layout.
    pub short_entry: Option<String>,
}

/// Finds the init symbol the BEAM would use: `nif_init`, else `_nif_init`.
pub fn init_symbol<R>(binary: &Binary<R>) -> Option<(&'static str, u64)> {
    let names: &[&'static str] = match binary.platform {
        // Mach-O C names carry a leading underscore; dlsym("nif_init") finds `_nif_init`.
        Platform::Darwin => &["_nif_init", "__nif_init"],
        // GetProcAddress(h, "nif_init") only.
        Platform::Windows => &["nif_init"],
        Platform::Unix => &INIT_NAMES,
    };
    names
        .iter()
        .find_map(|n| binary.export(n).map(|e| (*n, e.address)))
}

/// Sequential field layout with C alignment, for one pointer size.
struct Layout {
    pointer: u64,
    offset: u64,
}

impl Layout {
    fn new(pointer: u8) -> Self {
        Layout {
            pointer: u64::from(pointer),
            offset: 0,
        }
    }

    fn int(&mut self) -> u64 {
        self.offset = self.offset.next_multiple_of(4);
        let at = self.offset;
        self.offset += 4;
        at
    }

    fn ptr(&mut self) -> u64 {
        self.offset = self.offset.next_multiple_of(self.pointer);
        let at = self.offset;
        self.offset += self.pointer;
        at
    }

    fn size(&self) -> u64 {
        self.offset.next_multiple_of(self.pointer)
    }
}

fn at_least(major: i32, minor: i32, want_major: i32, want_minor: i32) -> bool {
    (major, minor) >= (want_major, want_minor)
}

/// Reads the entry at `addr`.
pub fn decode_entry<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    addr: u64,
    decoded_by: String,
) -> Result<Decoded, String> {
    let err =
        |what: &str, e: crate::memory::ReadError| format!("cannot read the entry's {what}: {e}");
    let at = |off: u64| -> Result<u64, String> {
        addr.checked_add(off)
            .ok_or_else(|| "the entry runs past the end of the address space".to_string())
    };
    let mut l = Layout::new(image.pointer_size());
    let major = image.read_u32(at(l.int())?).map_err(|e| err("major", e))? as i32;
    let minor = image.read_u32(at(l.int())?).map_err(|e| err("minor", e))? as i32;
    let name_at = at(l.ptr())?;
    let count_at = at(l.int())?;
    let funcs_at = at(l.ptr())?;
    let load_at = at(l.ptr())?;
    let reload_at = at(l.ptr())?;
    let upgrade_at = at(l.ptr())?;
    let unload_at = at(l.ptr())?;
    let vm_variant_at = at(l.ptr())?;
    let options_at = at(l.int())?;
    let _sizeof_resource_init_at = at(l.ptr())?;
    let min_erts_at = at(l.ptr())?;

    if major == 0 && minor == 0 && image.read_pointer(name_at) == Ok(Pointer::Null) {
        return Err(format!(
            "the entry at {addr:#x} is all zero in the file: nif_init fills it in at run time"
        ));
    }
    let module = match image.read_pointer(name_at).map_err(|e| err("name", e))? {
        Pointer::Address(a) => image.read_c_string(a).map_err(|e| err("name string", e))?,
        Pointer::Null => return Err("the entry's module name is NULL".to_string()),
        Pointer::Import(s) => return Err(format!("the entry's name points into {s}")),
    };
    let declared = i64::from(
        image
            .read_u32(count_at)
            .map_err(|e| err("num_of_funcs", e))? as i32,
    );
    let is_set = |at: u64| -> Result<bool, String> {
        Ok(image.read_pointer(at).map_err(|e| err("callback", e))? != Pointer::Null)
    };
    let optional_string = |present: bool, at: u64| -> Result<(Option<String>, bool), String> {
        if !present {
            return Ok((None, false));
        }
        match image.read_pointer(at).map_err(|e| err("string field", e))? {
            Pointer::Address(a) => Ok((
                Some(image.read_c_string(a).map_err(|e| err("string", e))?),
                false,
            )),
            Pointer::Null => Ok((None, true)),
            Pointer::Import(_) => Ok((None, false)),
        }
    };
    let (vm_variant, vm_variant_null) =
        optional_string(at_least(major, minor, 2, 1), vm_variant_at)?;
    let options = if at_least(major, minor, 2, 7) {
        Some(image.read_u32(options_at).map_err(|e| err("options", e))?)
    } else {
        None
    };
    let (min_erts, min_erts_null) = optional_string(at_least(major, minor, 2, 14), min_erts_at)?;

    let has_flags = at_least(major, minor, 2, 7);
    let mut functions = Vec::new();
    let mut function_addresses = Vec::new();
    if declared > 0 {
        let table = match image.read_pointer(funcs_at).map_err(|e| err("funcs", e))? {
            Pointer::Address(a) => a,
            other => return Err(format!("the function table pointer is {other:?}")),
        };
        let mut f = Layout::new(image.pointer_size());
        let name_off = f.ptr();
        let arity_off = f.int();
        let fptr_off = f.ptr();
        let flags_off = if has_flags { Some(f.int()) } else { None };
        let stride = f.size();
        let count = (declared as usize).min(MAX_FUNCTIONS);
        for i in 0..count as u64 {
            let base = i
                .checked_mul(stride)
                .and_then(|o| table.checked_add(o))
                .ok_or("the function table runs past the end of the address space")?;
            let field = |off: u64| {
                base.checked_add(off)
                    .ok_or("the function table runs past the end of the address space")
            };
            let name = match image
                .read_pointer(field(name_off)?)
                .map_err(|e| err("function name", e))?
            {
                Pointer::Address(a) => image
                    .read_c_string(a)
                    .map_err(|e| err("function name", e))?,
                Pointer::Null => String::new(),
                Pointer::Import(s) => s,
            };
            let arity = image
                .read_u32(field(arity_off)?)
                .map_err(|e| err("arity", e))?;
            let fptr = image
                .read_pointer(field(fptr_off)?)
                .map_err(|e| err("fptr", e))?;
            let flags = match flags_off {
                Some(o) => image.read_u32(field(o)?).map_err(|e| err("flags", e))?,
                None => 0,
            };
            functions.push(NifFunction { name, arity, flags });
            function_addresses.push(fptr.address());
        }
    }
    Ok(Decoded {
        entry: NifEntry {
            major,
            minor,
            module,
            functions,
            load: is_set(load_at)?,
            reload: is_set(reload_at)?,
            upgrade: is_set(upgrade_at)?,
            unload: is_set(unload_at)?,
            vm_variant,
            options,
            min_erts,
            decoded_by,
        },
        function_addresses,
        declared_functions: declared,
        min_erts_null,
        vm_variant_null,
        short_entry: None,
    })
}

/// Finds and decodes the entry of a NIF library: a static entry as C writes it, else one
/// that `nif_init` builds at run time (Rustler), by evaluating `nif_init`.
pub fn decode<'data, R: ReadRef<'data>>(binary: &Binary<R>, init: u64) -> Result<Decoded, String> {
    decode_static(binary, init).or_else(|why| {
        rustler::decode(binary, init)
            .map_err(|r| format!("{why} (read as an entry built at run time: {r})"))
    })
}

/// Whether `nif_init` certainly returns NULL: its code sets the result to the constant 0 on
/// a path without conditions, calls or memory reads. The BEAM then refuses the library
/// ("Library init-call unsuccessful"). False whenever that is not certain.
pub fn init_returns_null<'data, R: ReadRef<'data>>(binary: &Binary<R>, init: u64) -> bool {
    locate::locate_entry(&binary.image, binary.arch, init)
        .is_ok_and(|located| located.address == 0 && located.certain)
}

fn decode_static<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    init: u64,
) -> Result<Decoded, String> {
    let located = locate::locate_entry(&binary.image, binary.arch, init)?;
    if !binary.image.is_mapped(located.address) {
        return Err(format!(
            "nif_init returns {:#x}, which is not in the library's memory",
            located.address
        ));
    }
    decode_entry(&binary.image, located.address, located.method)
}
