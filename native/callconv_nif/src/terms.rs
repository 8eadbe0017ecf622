//! Terms for the boundary's small values: the error, the target, the convention model. The
//! report is not here: it crosses as JSON (`callconv::wire`), one serde definition for the
//! NIF and the command-line tool. Atoms only ever come from the core's fixed enum spellings.

use rustler::{Atom, Encoder, Env, NifException, NifStruct, Term};

use callconv::report::{Arch, Endian};
use callconv::target::{Target, TargetSource};

/// An atom named by a fixed, code-defined spelling.
pub struct Name(pub &'static str);

impl Encoder for Name {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        // Atom::from_str fails only past the atom table limit; nil is the honest fallback.
        match Atom::from_str(env, self.0) {
            Ok(atom) => atom.encode(env),
            Err(_) => rustler::types::atom::nil().encode(env),
        }
    }
}

#[derive(NifException)]
#[rustler(encode)]
#[module = "Callconv.Error"]
pub struct ExError {
    reason: Name,
    path: PathBytes,
    message: String,
}

/// A path as the binary the caller passed: byte for byte, valid UTF-8 or not.
pub struct PathBytes(Vec<u8>);

impl Encoder for PathBytes {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let mut bin = rustler::NewBinary::new(env, self.0.len());
        bin.as_mut_slice().copy_from_slice(&self.0);
        Term::from(bin)
    }
}

impl From<&std::path::Path> for PathBytes {
    fn from(p: &std::path::Path) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            PathBytes(p.as_os_str().as_bytes().to_vec())
        }
        #[cfg(not(unix))]
        {
            PathBytes(p.to_string_lossy().into_owned().into_bytes())
        }
    }
}

impl From<callconv::Error> for ExError {
    fn from(e: callconv::Error) -> Self {
        ExError {
            reason: Name(e.reason()),
            path: PathBytes::from(e.path()),
            message: e.to_string(),
        }
    }
}

/// The target as Elixir describes it (`%Callconv.Target{}`), both ways.
#[derive(NifStruct)]
#[module = "Callconv.Target"]
pub struct ExTarget {
    source: AtomName,
    otp_release: Option<String>,
    erts_version: Option<String>,
    nif_version: Option<String>,
    arch: AtomName,
    os: String,
    bits: u32,
    endian: AtomName,
    libc: Option<String>,
    libc_version: Option<String>,
    abi_variant: Option<String>,
    os_version: Option<String>,
    cpu: Option<String>,
    enif_exports: Option<Vec<String>>,
    vm_exports: Option<String>,
    vm_bind_now: Option<bool>,
}

impl From<ExTarget> for Target {
    fn from(t: ExTarget) -> Self {
        Target {
            source: TargetSource::parse(&t.source.0).unwrap_or(TargetSource::Explicit),
            otp_release: t.otp_release,
            erts_version: t.erts_version,
            nif_version: t.nif_version,
            arch: Arch::parse(&t.arch.0),
            os: t.os,
            bits: t.bits,
            endian: if t.endian.0 == "big" {
                Endian::Big
            } else {
                Endian::Little
            },
            libc: t.libc,
            libc_version: t.libc_version,
            abi_variant: t.abi_variant,
            os_version: t.os_version,
            cpu: t.cpu,
            enif_exports: t.enif_exports,
            vm_exports: t.vm_exports,
            vm_bind_now: t.vm_bind_now,
        }
    }
}

impl From<Target> for ExTarget {
    fn from(t: Target) -> Self {
        ExTarget {
            source: AtomName(t.source.as_str().to_string()),
            otp_release: t.otp_release,
            erts_version: t.erts_version,
            nif_version: t.nif_version,
            arch: AtomName(t.arch.as_str().to_string()),
            os: t.os,
            bits: t.bits,
            endian: AtomName(t.endian.as_str().to_string()),
            libc: t.libc,
            libc_version: t.libc_version,
            abi_variant: t.abi_variant,
            os_version: t.os_version,
            cpu: t.cpu,
            enif_exports: t.enif_exports,
            vm_exports: t.vm_exports,
            vm_bind_now: t.vm_bind_now,
        }
    }
}

/// An atom's name: decoded from an atom as a string, and encoded back only from the core's
/// fixed spellings (arch, endianness, target source), never from file contents.
pub struct AtomName(String);

impl Encoder for AtomName {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match Atom::from_str(env, &self.0) {
            Ok(atom) => atom.encode(env),
            Err(_) => rustler::types::atom::nil().encode(env),
        }
    }
}

impl<'a> rustler::Decoder<'a> for AtomName {
    fn decode(term: Term<'a>) -> rustler::NifResult<Self> {
        term.atom_to_string().map(AtomName)
    }
}

/// A register with the part of it a convention preserves.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExPartialSave {
    reg: &'static str,
    preserved_bits: u16,
    preserved_view: &'static str,
}

/// A register reserved for a platform role.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExReserved {
    reg: &'static str,
    role: &'static str,
}

/// `%Callconv.Convention{}`: the main facts of one convention of the model.
#[derive(NifStruct)]
#[rustler(encode)]
#[module = "Callconv.Convention"]
pub struct ExConvention {
    id: &'static str,
    name: &'static str,
    arch: &'static str,
    platforms: Vec<&'static str>,
    typical_use: &'static str,
    is_calling_convention: bool,
    int_args: Vec<&'static str>,
    float_args: Vec<&'static str>,
    vector_args: Vec<&'static str>,
    int_return: Vec<&'static str>,
    float_return: Vec<&'static str>,
    callee_saved: Vec<&'static str>,
    partially_saved: Vec<ExPartialSave>,
    caller_saved: Vec<&'static str>,
    stack_cleanup: Name,
    stack_align: u32,
    red_zone: u32,
    shadow_space: u32,
    stack_pointer: &'static str,
    frame_pointer: Option<&'static str>,
    link_register: Option<&'static str>,
    reserved: Vec<ExReserved>,
    variadic: &'static str,
    source: &'static str,
}

impl From<&'static callconv::conventions::Convention> for ExConvention {
    fn from(c: &'static callconv::conventions::Convention) -> Self {
        use callconv::conventions::Cleanup;
        ExConvention {
            id: c.id,
            name: c.name,
            arch: c.arch,
            platforms: c.platforms.to_vec(),
            typical_use: c.typical_use,
            is_calling_convention: c.is_calling_convention,
            int_args: c.int_args.to_vec(),
            float_args: c.float_args.to_vec(),
            vector_args: c.vector_args.to_vec(),
            int_return: c.int_return.to_vec(),
            float_return: c.float_return.to_vec(),
            callee_saved: c.callee_saved.to_vec(),
            partially_saved: c
                .partially_saved
                .iter()
                .map(|p| ExPartialSave {
                    reg: p.reg,
                    preserved_bits: p.preserved_bits,
                    preserved_view: p.preserved_view,
                })
                .collect(),
            caller_saved: c.caller_saved.to_vec(),
            stack_cleanup: Name(match c.stack_cleanup {
                Cleanup::Caller => "caller",
                Cleanup::Callee => "callee",
                Cleanup::NotApplicable => "not_applicable",
            }),
            stack_align: c.stack_align,
            red_zone: c.red_zone,
            shadow_space: c.shadow_space,
            stack_pointer: c.stack_pointer,
            frame_pointer: c.frame_pointer,
            link_register: c.link_register,
            reserved: c
                .reserved
                .iter()
                .map(|r| ExReserved {
                    reg: r.reg,
                    role: r.role,
                })
                .collect(),
            variadic: c.variadic.note,
            source: c.source,
        }
    }
}
