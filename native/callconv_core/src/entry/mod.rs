//! Decoding a NIF's `ErlNifEntry` and function table from the file, statically.
//!
//! Layouts follow `erl_nif.h`: the entry is append-only, and the fields a library provides
//! depend on the NIF version it declares (see `docs/design/beam-facts.md`, "`ErlNifEntry` and `ErlNifFunc`"). Offsets
//! are computed from the library's own pointer size, which covers LP64, LLP64 and ILP32.

pub mod locate;
pub mod rustler;

use object::ReadRef;
use serde::{Deserialize, Serialize};

use crate::inspect::{Binary, Platform};
use crate::memory::{Image, Pointer, ReadError};

/// One entry of the NIF function table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NifFunction {
    /// The Erlang function name.
    pub name: String,
    /// Its arity.
    pub arity: u32,
    /// 0, or 1 (dirty CPU) or 2 (dirty IO).
    pub flags: u32,
}

/// The decoded `ErlNifEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NifEntry {
    /// NIF major version the library was built for.
    pub major: i32,
    /// NIF minor version the library was built for.
    pub minor: i32,
    /// The module that must load it.
    pub module: String,
    /// The function table, in order.
    pub functions: Vec<NifFunction>,
    /// Whether a `load` callback is set.
    pub load: bool,
    /// Whether a `reload` callback is set (ignored since OTP 20).
    pub reload: bool,
    /// Whether an `upgrade` callback is set.
    pub upgrade: bool,
    /// Whether an `unload` callback is set.
    pub unload: bool,
    /// The VM variant (2.1+), normally `beam.vanilla`; null when the version predates it or
    /// the pointer is NULL.
    pub vm_variant: Option<String>,
    /// The options word (2.7+).
    pub options: Option<u32>,
    /// The minimum ERTS string (2.14+); null when absent or NULL.
    pub min_erts: Option<String>,
    /// How the entry was found, e.g. `static:x86_64-lea`.
    pub decoded_by: String,
}

/// The most function-table entries decoded; the BEAM has no limit, but no real NIF comes
/// close and a corrupt count must not make us read megabytes.
pub const MAX_FUNCTIONS: usize = 65_536;

/// The names the BEAM looks up, in order (`erts_sys_ddll_load_nif_init`).
pub const INIT_NAMES: [&str; 2] = ["nif_init", "_nif_init"];

/// A callback of the entry that points into the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callback {
    /// The field that holds it: `load`, `upgrade` or `unload`.
    pub name: &'static str,
    /// The code address it holds.
    pub address: u64,
}

/// What decoding found, with the raw facts the rules and the code analysis need beyond the
/// report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The entry as reported.
    pub entry: NifEntry,
    /// Where the `ErlNifEntry` that `nif_init` returns lies.
    pub entry_address: u64,
    /// The `load`, `upgrade` and `unload` callbacks that point into the library, in that
    /// order (`reload` is never called). Read from an entry in the file; empty for one built
    /// at run time, whose decoder reads whether a callback is set but not yet its address.
    pub callbacks: Vec<Callback>,
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

/// Why an entry could not be decoded. The messages are the ones reports print after
/// "its ErlNifEntry could not be decoded: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A field of the entry or its function table could not be read.
    #[error("cannot read the entry's {what}: {error}")]
    Unreadable {
        /// Which field.
        what: &'static str,
        /// Why the read failed.
        error: ReadError,
    },
    /// The entry's fields lie past the end of the address space.
    #[error("the entry runs past the end of the address space")]
    EntryPastEnd,
    /// The function table lies past the end of the address space.
    #[error("the function table runs past the end of the address space")]
    TablePastEnd,
    /// The entry is all zero in the file: `nif_init` fills it in at run time.
    #[error("the entry at {addr:#x} is all zero in the file: nif_init fills it in at run time")]
    FilledAtRunTime {
        /// The entry's address.
        addr: u64,
    },
    /// The module name pointer is NULL.
    #[error("the entry's module name is NULL")]
    NullModuleName,
    /// The module name pointer is bound to a symbol of another library.
    #[error("the entry's name points into {0}")]
    ImportedModuleName(String),
    /// The function table pointer is NULL or bound to another library.
    #[error("the function table pointer is {0:?}")]
    TablePointer(Pointer),
    /// `nif_init` returns an address outside the library's memory.
    #[error("nif_init returns {0:#x}, which is not in the library's memory")]
    NotMapped(u64),
    /// The init function's code did not lead to a static entry (the locator's words).
    #[error("{0}")]
    Locate(String),
    /// Neither a static entry nor one built at run time could be read.
    #[error("{static_entry} (read as an entry built at run time: {run_time})")]
    Neither {
        /// Why the static reading failed.
        static_entry: Box<EntryError>,
        /// Why the run-time (Rustler) reading failed, in the decoder's words.
        run_time: String,
    },
}

/// The decoders that still report in words take the message as it always read.
impl From<EntryError> for String {
    fn from(e: EntryError) -> String {
        e.to_string()
    }
}

/// Reads the entry at `addr`.
pub fn decode_entry<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    addr: u64,
    decoded_by: String,
) -> Result<Decoded, EntryError> {
    let err = |what: &'static str, error: ReadError| EntryError::Unreadable { what, error };
    let at = |off: u64| -> Result<u64, EntryError> {
        addr.checked_add(off).ok_or(EntryError::EntryPastEnd)
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
        return Err(EntryError::FilledAtRunTime { addr });
    }
    let module = match image.read_pointer(name_at).map_err(|e| err("name", e))? {
        Pointer::Address(a) => image.read_c_string(a).map_err(|e| err("name string", e))?,
        Pointer::Null => return Err(EntryError::NullModuleName),
        Pointer::Import(s) => return Err(EntryError::ImportedModuleName(s)),
    };
    let declared = i64::from(
        image
            .read_u32(count_at)
            .map_err(|e| err("num_of_funcs", e))? as i32,
    );
    let is_set = |at: u64| -> Result<bool, EntryError> {
        Ok(image.read_pointer(at).map_err(|e| err("callback", e))? != Pointer::Null)
    };
    let optional_string = |present: bool, at: u64| -> Result<(Option<String>, bool), EntryError> {
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
            other => return Err(EntryError::TablePointer(other)),
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
                .ok_or(EntryError::TablePastEnd)?;
            let field = |off: u64| base.checked_add(off).ok_or(EntryError::TablePastEnd);
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
    let callbacks = [
        ("load", load_at),
        ("upgrade", upgrade_at),
        ("unload", unload_at),
    ]
    .into_iter()
    .filter_map(|(name, at)| match image.read_pointer(at) {
        Ok(Pointer::Address(address)) if address != 0 => Some(Callback { name, address }),
        _ => None,
    })
    .collect();
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
        entry_address: addr,
        callbacks,
        function_addresses,
        declared_functions: declared,
        min_erts_null,
        vm_variant_null,
        short_entry: None,
    })
}

/// Finds and decodes the entry of a NIF library: a static entry as C writes it, else one
/// that `nif_init` builds at run time (Rustler), by evaluating `nif_init`.
pub fn decode<'data, R: ReadRef<'data>>(
    binary: &Binary<R>,
    init: u64,
) -> Result<Decoded, EntryError> {
    decode_static(binary, init).or_else(|why| {
        rustler::decode(binary, init).map_err(|run_time| EntryError::Neither {
            static_entry: Box::new(why),
            run_time,
        })
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
) -> Result<Decoded, EntryError> {
    let located =
        locate::locate_entry(&binary.image, binary.arch, init).map_err(EntryError::Locate)?;
    if !binary.image.is_mapped(located.address) {
        return Err(EntryError::NotMapped(located.address));
    }
    decode_entry(&binary.image, located.address, located.method)
}
