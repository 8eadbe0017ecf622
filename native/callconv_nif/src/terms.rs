//! Mirror types for the term boundary: each derives its Elixir struct shape and converts
//! from (or into) a core type. Atoms only ever come from the core's fixed enum spellings.

use rustler::{Atom, Encoder, Env, NifException, NifStruct, Term};

use callconv::report::{Arch, Endian, Finding, LibraryReport, NifEntry, NifFunction};
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

#[derive(NifStruct)]
#[rustler(encode)]
#[module = "Callconv.Finding"]
pub struct ExFinding {
    rule: String,
    severity: Name,
    message: String,
    hint: String,
}

impl From<Finding> for ExFinding {
    fn from(f: Finding) -> Self {
        ExFinding {
            rule: f.rule,
            severity: Name(f.severity.as_str()),
            message: f.message,
            hint: f.hint,
        }
    }
}

#[derive(NifStruct)]
#[rustler(encode)]
#[module = "Callconv.Nif.Function"]
pub struct ExNifFunction {
    name: String,
    arity: u32,
    flags: u32,
}

impl From<NifFunction> for ExNifFunction {
    fn from(f: NifFunction) -> Self {
        ExNifFunction {
            name: f.name,
            arity: f.arity,
            flags: f.flags,
        }
    }
}

/// `%Callconv.Nif{}`. Encoded by hand: the derive reserves the field name `module`.
pub struct ExNif {
    major: i32,
    minor: i32,
    module: String,
    functions: Vec<ExNifFunction>,
    load: bool,
    reload: bool,
    upgrade: bool,
    unload: bool,
    vm_variant: Option<String>,
    options: Option<u32>,
    min_erts: Option<String>,
    decoded_by: String,
}

impl Encoder for ExNif {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let keys = [
            "__struct__",
            "major",
            "minor",
            "module",
            "functions",
            "load",
            "reload",
            "upgrade",
            "unload",
            "vm_variant",
            "options",
            "min_erts",
            "decoded_by",
        ];
        let values = [
            Name("Elixir.Callconv.Nif").encode(env),
            self.major.encode(env),
            self.minor.encode(env),
            self.module.encode(env),
            self.functions.encode(env),
            self.load.encode(env),
            self.reload.encode(env),
            self.upgrade.encode(env),
            self.unload.encode(env),
            self.vm_variant.encode(env),
            self.options.encode(env),
            self.min_erts.encode(env),
            self.decoded_by.encode(env),
        ];
        let keys: Vec<Term<'a>> = keys.iter().map(|k| Name(k).encode(env)).collect();
        Term::map_from_arrays(env, &keys, &values)
            .unwrap_or_else(|_| rustler::types::atom::error().encode(env))
    }
}

impl From<NifEntry> for ExNif {
    fn from(e: NifEntry) -> Self {
        ExNif {
            major: e.major,
            minor: e.minor,
            module: e.module,
            functions: e.functions.into_iter().map(Into::into).collect(),
            load: e.load,
            reload: e.reload,
            upgrade: e.upgrade,
            unload: e.unload,
            vm_variant: e.vm_variant,
            options: e.options,
            min_erts: e.min_erts,
            decoded_by: e.decoded_by,
        }
    }
}

#[derive(NifStruct)]
#[rustler(encode)]
#[module = "Callconv.Report"]
pub struct ExReport {
    path: String,
    sha256: String,
    verdict: Name,
    kind: Name,
    format: Name,
    arch: Name,
    bits: u32,
    endian: Name,
    abi: Option<String>,
    needed: Vec<String>,
    nif: Option<ExNif>,
    findings: Vec<ExFinding>,
    libc: Option<String>,
    floors: ExFloors,
    gnu_properties: Option<ExGnuProperties>,
    functions: Vec<ExFunction>,
    isa: Option<ExIsa>,
    mode: Name,
    exports: Option<ExExports>,
    elf: Option<ExElf>,
    macho: Option<ExMacho>,
    pe: Option<ExPe>,
}

/// The exports mode's counts: a map with fixed atom keys (`matched` has convention ids as
/// string keys).
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExExports {
    conventions: Vec<String>,
    exports: usize,
    data: usize,
    aliases: usize,
    analysed: usize,
    not_analysed: usize,
    capped: usize,
    errors: usize,
    matched: std::collections::HashMap<String, usize>,
    instructions: usize,
    states: usize,
    budget_exhausted: Option<String>,
}

impl From<callconv::analysis::exports::ExportsSummary> for ExExports {
    fn from(s: callconv::analysis::exports::ExportsSummary) -> Self {
        ExExports {
            conventions: s.conventions,
            exports: s.exports,
            data: s.data,
            aliases: s.aliases,
            analysed: s.analysed,
            not_analysed: s.not_analysed,
            capped: s.capped,
            errors: s.errors,
            matched: s.matched.into_iter().collect(),
            instructions: s.instructions,
            states: s.states,
            budget_exhausted: s.budget_exhausted,
        }
    }
}

/// The report's `elf`: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExElf {
    soname: Option<String>,
    runpath: Vec<String>,
    rpath: Vec<String>,
    interpreter: Option<String>,
    arm_eabi: Option<u32>,
}

/// The report's `macho`: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExMacho {
    file_type: String,
    platform: Option<String>,
    min_os: Option<String>,
    sdk: Option<String>,
    install_name: Option<String>,
    rpaths: Vec<String>,
    weak_dylibs: Vec<String>,
    reexported_dylibs: Vec<String>,
    fixups: String,
    slices: Vec<ExMachoSlice>,
}

/// One slice of a universal Mach-O.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExMachoSlice {
    arch: Name,
    abi_variant: Option<String>,
    primary: bool,
    file_type: String,
    min_os: Option<String>,
    sdk: Option<String>,
    needed: Vec<String>,
}

/// The report's `pe`: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExPe {
    subsystem: String,
    dynamic_base: bool,
    nx_compat: bool,
    guard_cf: bool,
    high_entropy_va: bool,
    delay_imports: Vec<String>,
}

/// One entry point's machine-code analysis: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExFunction {
    name: String,
    address: u64,
    observed: ExObserved,
    expected_convention: String,
    matches_best: Option<String>,
    capped: Option<String>,
    instructions: usize,
    matches: Option<Vec<String>>,
}

#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExObserved {
    args_read: Vec<String>,
    stack_args_read: Vec<i64>,
    callee_saved_touched: Vec<String>,
    cleanup: u64,
    stack_balanced: bool,
    exits: usize,
}

/// The instruction-set floor of the reachable code.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExIsa {
    features: Vec<ExFeature>,
    x86_64_level: Option<u8>,
    guarded: bool,
    guard: Option<String>,
    instructions: usize,
    capped: bool,
}

#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExFeature {
    flag: String,
    address: u64,
    reached_from: String,
}

impl From<callconv::analysis::FunctionAnalysis> for ExFunction {
    fn from(f: callconv::analysis::FunctionAnalysis) -> Self {
        let o = f.observed;
        ExFunction {
            name: f.name,
            address: f.address,
            observed: ExObserved {
                args_read: o.args_read,
                stack_args_read: o.stack_args_read,
                callee_saved_touched: o.callee_saved_touched,
                cleanup: o.cleanup,
                stack_balanced: o.stack_balanced,
                exits: o.exits,
            },
            expected_convention: f.expected_convention,
            matches_best: f.matches_best,
            capped: f.capped,
            instructions: f.instructions,
            matches: f.matches,
        }
    }
}

impl From<callconv::analysis::IsaSummary> for ExIsa {
    fn from(i: callconv::analysis::IsaSummary) -> Self {
        ExIsa {
            features: i
                .features
                .into_iter()
                .map(|f| ExFeature {
                    flag: f.flag,
                    address: f.address,
                    reached_from: f.reached_from,
                })
                .collect(),
            x86_64_level: i.x86_64_level,
            guarded: i.guarded,
            guard: i.guard,
            instructions: i.instructions,
            capped: i.capped,
        }
    }
}

/// The report's `floors`: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExFloors {
    glibc: Option<String>,
    glibcxx: Option<String>,
    cxxabi: Option<String>,
    gcc: Option<String>,
}

/// The report's `gnu_properties`: a map with fixed atom keys.
#[derive(rustler::NifMap)]
#[rustler(encode)]
pub struct ExGnuProperties {
    x86_isa_needed: Option<String>,
    x86_features: Vec<String>,
    aarch64_features: Vec<String>,
}

impl From<LibraryReport> for ExReport {
    fn from(r: LibraryReport) -> Self {
        ExReport {
            path: r.path,
            sha256: r.sha256,
            verdict: Name(r.verdict.as_str()),
            kind: Name(r.kind.as_str()),
            format: Name(r.format.as_str()),
            arch: Name(r.arch.as_str()),
            bits: r.bits,
            endian: Name(r.endian.as_str()),
            abi: r.abi,
            needed: r.needed,
            nif: r.nif.map(Into::into),
            findings: r.findings.into_iter().map(Into::into).collect(),
            libc: r.libc,
            floors: ExFloors {
                glibc: r.floors.glibc,
                glibcxx: r.floors.glibcxx,
                cxxabi: r.floors.cxxabi,
                gcc: r.floors.gcc,
            },
            gnu_properties: r.gnu_properties.map(|p| ExGnuProperties {
                x86_isa_needed: p.x86_isa_needed,
                x86_features: p.x86_features,
                aarch64_features: p.aarch64_features,
            }),
            functions: r.functions.into_iter().map(Into::into).collect(),
            isa: r.isa.map(Into::into),
            mode: Name(r.mode.unwrap_or(callconv::report::Mode::Nif).as_str()),
            exports: r.exports.map(Into::into),
            elf: r.elf.map(|e| ExElf {
                soname: e.soname,
                runpath: e.runpath,
                rpath: e.rpath,
                interpreter: e.interpreter,
                arm_eabi: e.arm_eabi,
            }),
            macho: r.macho.map(|m| ExMacho {
                file_type: m.file_type,
                platform: m.platform,
                min_os: m.min_os,
                sdk: m.sdk,
                install_name: m.install_name,
                rpaths: m.rpaths,
                weak_dylibs: m.weak_dylibs,
                reexported_dylibs: m.reexported_dylibs,
                fixups: m.fixups,
                slices: m
                    .slices
                    .into_iter()
                    .map(|s| ExMachoSlice {
                        arch: Name(s.arch.as_str()),
                        abi_variant: s.abi_variant,
                        primary: s.primary,
                        file_type: s.file_type,
                        min_os: s.min_os,
                        sdk: s.sdk,
                        needed: s.needed,
                    })
                    .collect(),
            }),
            pe: r.pe.map(|p| ExPe {
                subsystem: p.subsystem,
                dynamic_base: p.dynamic_base,
                nx_compat: p.nx_compat,
                guard_cf: p.guard_cf,
                high_entropy_va: p.high_entropy_va,
                delay_imports: p.delay_imports,
            }),
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
