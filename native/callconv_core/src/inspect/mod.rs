//! Binary inspection: what a file is, what it needs, what it exports, and its loaded image.
//!
//! One module per format, in the manner of `object`: [`elf`] adds what only ELF has (dynamic
//! relocations, ABI flags, segments past the end of the file), [`macho`] dyld's chained
//! fixups and rebase/bind opcodes, [`pe`] base relocations and the import address table. The parts common to every
//! format go through `object`'s unified `Object` trait.

pub mod elf;
pub mod libc;
pub mod macho;
pub mod pe;
mod producer;
pub mod resolve;
pub mod unwind;

use object::read::elf::{ElfFile32, ElfFile64};
use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64, MachOFile32, MachOFile64};
use object::read::pe::{PeFile32, PeFile64};
use object::{
    Architecture, Endianness, FileKind, Object, ObjectSection, ObjectSegment, ObjectSymbol, ReadRef,
};

use crate::error::Error;
use crate::memory::{Image, Segment};
pub use crate::platform::Platform;
use crate::platform::{Arch, Endian, Format};
pub use producer::{producer, Producer};

/// Most exports kept for one library; real NIFs export a handful.
pub const MAX_EXPORTS: usize = 1 << 20;
/// Most needed libraries kept for one library.
pub const MAX_NEEDED: usize = 4096;
/// Most segments kept for one library.
pub const MAX_SEGMENTS: usize = 4096;

/// An exported symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Its name, as in the file (Mach-O names keep their leading underscore).
    pub name: String,
    /// Its address (link-time virtual address).
    pub address: u64,
    /// Whether it lies in a code section (or a PPC64 `.opd` function descriptor); also true
    /// when the file has no section table to tell. Data exports are never analysed as code.
    pub code: bool,
    /// Bytes of code its symbol covers (ELF `st_size`), 0 where the format does not say.
    pub size: u64,
}

/// An imported (undefined) symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Its name (Mach-O names keep their leading underscore).
    pub name: String,
    /// The library it is bound to, when the format says (ELF: the version's file; PE: the DLL).
    pub library: String,
    /// The symbol version it asks for (ELF `VERNEED`), such as `GLIBC_2.34`.
    pub version: Option<String>,
}

/// How a MIPS object encodes NaNs (ELF header flag `EF_MIPS_NAN2008`). glibc's loader maps
/// only objects of the process's own encoding: the two read a quiet NaN as a signalling one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NanEncoding {
    /// The original MIPS encoding (Debian's mips, mipsel and mips64el ports).
    Legacy,
    /// IEEE 754-2008 (`-mnan=2008`; every release 6 CPU).
    Ieee2008,
}

impl NanEncoding {
    /// The name `-mnan=` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            NanEncoding::Legacy => "legacy",
            NanEncoding::Ieee2008 => "2008",
        }
    }
}

/// Why an ELF file is not a shared library, which is all `dlopen` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotShared {
    /// `ET_EXEC`: an executable linked at a fixed address.
    Fixed,
    /// `ET_DYN` with `DF_1_PIE`: a position-independent executable.
    Pie,
    /// `ET_REL`: an object file, never linked.
    Relocatable,
}

/// The bits of an ELF `NT_GNU_PROPERTY_TYPE_0` note that callconv reads (bit masks as the
/// psABIs define them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GnuProperties {
    /// `GNU_PROPERTY_X86_ISA_1_NEEDED`: 1 baseline, 2 v2, 4 v3, 8 v4.
    pub x86_isa_needed: u32,
    /// `GNU_PROPERTY_X86_FEATURE_1_AND`: 1 IBT, 2 SHSTK.
    pub x86_features: u32,
    /// `GNU_PROPERTY_AARCH64_FEATURE_1_AND`: 1 BTI, 2 PAC.
    pub aarch64_features: u32,
}

impl GnuProperties {
    /// The highest x86-64 psABI level the ISA marker needs (1 = baseline), if any bit is set.
    pub fn x86_64_level(&self) -> Option<u8> {
        (1..=4u8)
            .rev()
            .find(|level| self.x86_isa_needed & (1 << (level - 1)) != 0)
    }
}

/// A symbol version the library requires from one of its needed libraries (ELF `VERNEED`):
/// the dynamic loader refuses the library when the resolved file does not define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNeed {
    /// The needed library it is asked of (`vn_file`), such as `libstdc++.so.6`.
    pub file: String,
    /// The version name, such as `GLIBCXX_3.4.32`.
    pub version: String,
    /// `VER_FLG_WEAK`: the loader only warns when it is missing.
    pub weak: bool,
}

/// Everything the checks need to know about one library (one slice of a universal file).
#[derive(Debug)]
pub struct Binary<R> {
    /// The container format of the whole file.
    pub format: Format,
    /// The platform family.
    pub platform: Platform,
    /// The CPU architecture.
    pub arch: Arch,
    /// 32 or 64.
    pub bits: u32,
    /// Byte order.
    pub endian: Endian,
    /// ABI variant details read from the headers, e.g. `hard-float`, `elfv2`.
    pub abi_variant: Option<String>,
    /// Needed libraries, in file order.
    pub needed: Vec<String>,
    /// Exported symbols.
    pub exports: Vec<Export>,
    /// Imported symbols.
    pub imports: Vec<Import>,
    /// ELF: `PT_GNU_STACK` asks for an executable stack.
    pub exec_stack: bool,
    /// ELF: virtual addresses of loadable segments that are writable and executable.
    pub rwx_segments: Vec<u64>,
    /// ELF: `[start, end)` of the loadable segments the loader maps executable (`PF_X`), in
    /// program-header order; empty for Mach-O and PE.
    pub executable_ranges: Vec<(u64, u64)>,
    /// ELF: the constructors the loader runs before `dlopen` returns (`DT_INIT_ARRAY`);
    /// None for Mach-O and PE, and for an ELF file without one.
    pub init_array: Option<InitArray>,
    /// ELF: the library has text relocations (`DT_TEXTREL` or `DF_TEXTREL`).
    pub textrel: bool,
    /// ELF: a `PT_GNU_RELRO` segment makes part of the data read-only after relocation.
    pub relro: bool,
    /// ELF: every symbol is bound at load (`DT_BIND_NOW`, `DF_BIND_NOW`, `DF_1_NOW`).
    pub bind_now: bool,
    /// ELF: `DT_SYMBOLIC`/`DF_SYMBOLIC` (`-Bsymbolic`): its own references bind locally.
    pub symbolic: bool,
    /// ELF: the file is not a shared object (an executable, a PIE, an object file), which
    /// `dlopen` refuses.
    pub not_shared: Option<NotShared>,
    /// ELF: the program interpreter named by `PT_INTERP`.
    pub interpreter: Option<String>,
    /// ELF: the properties of the `.note.gnu.property` note, when it has one.
    pub gnu_properties: Option<GnuProperties>,
    /// ELF: defined dynamic symbols of default visibility (global or weak functions and
    /// objects), which a definition earlier in the lookup order can interpose.
    pub interposable_exports: Vec<String>,
    /// `DT_RUNPATH` directories, as written (`$ORIGIN` unexpanded).
    pub runpath: Vec<String>,
    /// `DT_RPATH` directories, as written (searched only when there is no `DT_RUNPATH`);
    /// Mach-O: the `LC_RPATH` entries (`@loader_path` unexpanded).
    pub rpath: Vec<String>,
    /// ELF: the versions required of needed libraries (`VERNEED`), in file order.
    pub version_needs: Vec<VersionNeed>,
    /// ELF: `DT_SONAME`.
    pub soname: Option<String>,
    /// ELF on ARM: the EABI version of the header flags.
    pub arm_eabi: Option<u32>,
    /// MIPS: built for release 6 (the ELF header's architecture level is MIPS32R6 or
    /// MIPS64R6), whose encodings differ from earlier releases'.
    pub mips_release6: bool,
    /// MIPS: the NaN encoding the ELF header flags declare (`EF_MIPS_NAN2008`); `None` on
    /// other architectures.
    pub mips_nan: Option<NanEncoding>,
    /// Mach-O: the load-time facts of this slice (and, for a universal file, every slice).
    pub macho: Option<macho::MachoFacts>,
    /// PE: the load-time facts.
    pub pe: Option<pe::PeFacts>,
    /// Defined symbols named like a NIF init function (`nif_init`, `<module>_nif_init`) from
    /// any symbol table, exported or not: they tell a hidden init from a missing one.
    pub init_like_symbols: Vec<String>,
    /// ELF and Mach-O: where the call frame information (`.eh_frame`, `__eh_frame`) is
    /// loaded, when the file has it; read by [`Binary::frame_table`].
    pub eh_frame: Option<SectionSpan>,
    /// The loaded image, with relocations.
    pub image: Image<R>,
}

/// A section's load address and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpan {
    pub address: u64,
    pub size: u64,
}

impl<R> Binary<R> {
    /// The export with exactly this name.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Whether `addr` lies in one of the [`executable_ranges`](Self::executable_ranges)
    /// (always false for Mach-O and PE, which record none).
    pub fn is_executable(&self, addr: u64) -> bool {
        self.executable_ranges
            .iter()
            .any(|(start, end)| (*start..*end).contains(&addr))
    }
}

impl<'data, R: ReadRef<'data>> Binary<R> {
    /// The call frame information, indexed ([`unwind::FrameTable`]); `None` without a
    /// section, or one past [`unwind::MAX_EH_FRAME_BYTES`] or not in the image, and for
    /// 32-bit x86 Mach-O, whose `__eh_frame` numbers esp and ebp the other way round from
    /// the psABI's DWARF numbering.
    pub fn frame_table(&self) -> Option<unwind::FrameTable> {
        if matches!(self.format, Format::Macho | Format::MachoFat) && self.arch == Arch::X86 {
            return None;
        }
        let span = self
            .eh_frame
            .filter(|s| s.size > 0 && s.size <= unwind::MAX_EH_FRAME_BYTES)?;
        let data = self
            .image
            .read_bytes(span.address, span.size as usize)
            .ok()?;
        Some(unwind::FrameTable::read(
            data,
            span.address,
            self.endian == Endian::Big,
            if self.bits == 64 { 8 } else { 4 },
        ))
    }
}

/// An ELF library's array of constructor pointers, as its dynamic section names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitArray {
    /// Its link-time virtual address (`DT_INIT_ARRAY`).
    pub address: u64,
    /// Its size in bytes (`DT_INIT_ARRAYSZ`), as written: not checked against the image.
    pub size: u64,
}

/// A byte range of the input seen as a file of its own: the whole file, or one slice of a
/// universal Mach-O. Every read is checked against the window's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Window<R> {
    data: R,
    offset: u64,
    size: u64,
}

impl<'data, R: ReadRef<'data>> Window<R> {
    /// The whole of `data`.
    pub fn whole(data: R) -> Result<Self, Error> {
        let size = data
            .len()
            .map_err(|()| Error::malformed("file", "could not get its length"))?;
        Ok(Window {
            data,
            offset: 0,
            size,
        })
    }

    fn sub(self, offset: u64, size: u64) -> Option<Self> {
        let end = offset.checked_add(size)?;
        (end <= self.size).then_some(Window {
            data: self.data,
            offset: self.offset.checked_add(offset)?,
            size,
        })
    }
}

impl<'data, R: ReadRef<'data>> ReadRef<'data> for Window<R> {
    fn len(self) -> Result<u64, ()> {
        Ok(self.size)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'data [u8], ()> {
        let end = offset.checked_add(size).ok_or(())?;
        if end > self.size {
            return Err(());
        }
        self.data
            .read_bytes_at(self.offset.checked_add(offset).ok_or(())?, size)
    }

    fn read_bytes_at_until(
        self,
        range: std::ops::Range<u64>,
        delimiter: u8,
    ) -> Result<&'data [u8], ()> {
        let end = range.end.min(self.size);
        if range.start >= end {
            return Err(());
        }
        let start = self.offset.checked_add(range.start).ok_or(())?;
        let end = self.offset.checked_add(end).ok_or(())?;
        self.data.read_bytes_at_until(start..end, delimiter)
    }
}

/// Parses `data` into the library inside: the file itself, or for a universal Mach-O the
/// slice that matches `prefer` (else the first slice).
pub fn parse<'data, R: ReadRef<'data>>(data: R, prefer: Arch) -> Result<Binary<Window<R>>, Error> {
    let whole = Window::whole(data)?;
    let unknown = || Error::UnknownFormat {
        path: Default::default(),
    };
    match FileKind::parse(whole).map_err(|_| unknown())? {
        FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(whole).map_err(|e| malformed("Mach-O", e))?;
            parse_fat(fat.arches(), whole, prefer)
        }
        FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(whole).map_err(|e| malformed("Mach-O", e))?;
            parse_fat(fat.arches(), whole, prefer)
        }
        _ => parse_thin(whole),
    }
}

fn parse_thin<'data, R: ReadRef<'data>>(data: Window<R>) -> Result<Binary<Window<R>>, Error> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf32) => {
            let file = ElfFile32::<Endianness, _>::parse(data).map_err(|e| malformed("ELF", e))?;
            elf::inspect(&file, data)
        }
        Ok(FileKind::Elf64) => {
            let file = ElfFile64::<Endianness, _>::parse(data).map_err(|e| malformed("ELF", e))?;
            elf::inspect(&file, data)
        }
        Ok(FileKind::MachO32) => {
            let file =
                MachOFile32::<Endianness, _>::parse(data).map_err(|e| malformed("Mach-O", e))?;
            macho::inspect(&file, data)
        }
        Ok(FileKind::MachO64) => {
            let file =
                MachOFile64::<Endianness, _>::parse(data).map_err(|e| malformed("Mach-O", e))?;
            macho::inspect(&file, data)
        }
        Ok(FileKind::Pe32) => {
            let file = PeFile32::parse(data).map_err(|e| malformed("PE", e))?;
            pe::inspect(&file, data)
        }
        Ok(FileKind::Pe64) => {
            let file = PeFile64::parse(data).map_err(|e| malformed("PE", e))?;
            pe::inspect(&file, data)
        }
        _ => Err(Error::UnknownFormat {
            path: Default::default(),
        }),
    }
}

fn malformed(format: &'static str, e: object::Error) -> Error {
    Error::malformed(format, e.to_string())
}

/// Most slices of a universal file summarised (real ones have two or three).
pub const MAX_SLICES: usize = 64;

/// A universal file: the slice that matches `prefer` (else the first) in full, and a summary
/// of every slice in its Mach-O facts.
fn parse_fat<'data, F: FatArch, R: ReadRef<'data>>(
    arches: &'data [F],
    whole: Window<R>,
    prefer: Arch,
) -> Result<Binary<Window<R>>, Error> {
    let chosen = arches
        .iter()
        .position(|a| arch_of(a.architecture()).0 == prefer)
        .or_else(|| (!arches.is_empty()).then_some(0))
        .ok_or_else(|| Error::malformed("Mach-O", "universal file with no slices"))?;
    let window = |arch: &F| {
        let (offset, size) = arch.file_range();
        whole.sub(offset, size)
    };
    let slice = arches
        .get(chosen)
        .and_then(window)
        .ok_or_else(|| Error::malformed("Mach-O", "a slice lies past the end of the file"))?;
    let mut binary = parse_thin(slice)?;
    binary.format = Format::MachoFat;
    let slices = arches
        .iter()
        .take(MAX_SLICES)
        .enumerate()
        .filter_map(|(index, arch)| {
            let mut summary = slice_summary(window(arch)?)?;
            summary.primary = index == chosen;
            Some(summary)
        })
        .collect();
    if let Some(facts) = binary.macho.as_mut() {
        facts.slices = slices;
    }
    Ok(binary)
}

/// What one slice of a universal file is, without reading its fixups; `None` when it is not
/// a Mach-O file that `object` can read.
fn slice_summary<'data, R: ReadRef<'data>>(data: Window<R>) -> Option<macho::MachoSlice> {
    fn summary<'data, Mach, R>(
        file: &object::read::macho::MachOFile<'data, Mach, R>,
    ) -> macho::MachoSlice
    where
        Mach: object::read::macho::MachHeader<Endian = Endianness>,
        R: ReadRef<'data>,
    {
        let facts = macho::facts(file);
        let needed = file
            .import_libraries()
            .map(|iter| {
                iter.take(MAX_NEEDED)
                    .filter_map(|lib| lib.ok())
                    .map(|lib| String::from_utf8_lossy(lib.name()).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        macho::MachoSlice {
            arch: arch_of(file.architecture()).0,
            abi_variant: macho::arm64_variant(file),
            primary: false,
            file_type: facts.file_type,
            min_os: facts.min_os,
            sdk: facts.sdk,
            needed,
        }
    }
    match FileKind::parse(data).ok()? {
        FileKind::MachO32 => Some(summary(&MachOFile32::<Endianness, _>::parse(data).ok()?)),
        FileKind::MachO64 => Some(summary(&MachOFile64::<Endianness, _>::parse(data).ok()?)),
        _ => None,
    }
}

/// Maps `object`'s architecture to ours, with the word size it implies.
pub fn arch_of(arch: Architecture) -> (Arch, u32) {
    match arch {
        Architecture::I386 => (Arch::X86, 32),
        Architecture::X86_64 => (Arch::X86_64, 64),
        Architecture::X86_64_X32 => (Arch::X86_64, 32),
        Architecture::Aarch64 => (Arch::Aarch64, 64),
        Architecture::Aarch64_Ilp32 => (Arch::Aarch64, 32),
        Architecture::Arm => (Arch::Arm, 32),
        Architecture::Riscv32 => (Arch::Riscv32, 32),
        Architecture::Riscv64 => (Arch::Riscv64, 64),
        Architecture::PowerPc => (Arch::Powerpc, 32),
        Architecture::PowerPc64 => (Arch::Powerpc64, 64),
        Architecture::Mips => (Arch::Mips, 32),
        Architecture::Mips64 => (Arch::Mips64, 64),
        Architecture::Mips64_N32 => (Arch::Mips64, 32),
        Architecture::Sparc | Architecture::Sparc32Plus => (Arch::Sparc, 32),
        Architecture::Sparc64 => (Arch::Sparc64, 64),
        Architecture::S390x => (Arch::S390x, 64),
        Architecture::LoongArch64 => (Arch::Loongarch64, 64),
        _ => (Arch::Unknown, 0),
    }
}

/// The parts every format shares: architecture, needed libraries, exports, segments.
pub(crate) fn inspect_generic<'data, O, R>(
    file: &O,
    data: R,
    format: Format,
    platform: Platform,
) -> Result<Binary<R>, Error>
where
    O: Object<'data>,
    R: ReadRef<'data>,
{
    let (arch, mut bits) = arch_of(file.architecture());
    if bits == 0 {
        bits = if file.is_64() { 64 } else { 32 };
    }
    let endian = if file.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    };
    let needed = match file.import_libraries() {
        Ok(iter) => iter
            // Count attempts, not successes: object's iterators can repeat one error forever
            // on a broken table (seen on Mach-O export tries found by the fuzzer).
            .take(MAX_NEEDED)
            .filter_map(|lib| lib.ok())
            .map(|lib| String::from_utf8_lossy(lib.name()).into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    // Code ranges, to tell function exports from data ones (thumb bit cleared first).
    let code_ranges: Vec<(u64, u64)> = file
        .sections()
        .take(MAX_SEGMENTS)
        .filter(|s| s.kind() == object::SectionKind::Text || s.name().is_ok_and(|n| n == ".opd"))
        .map(|s| (s.address(), s.address().saturating_add(s.size())))
        .collect();
    let has_sections = file.sections().next().is_some();
    let is_code = |a: u64| {
        let a = a & !1;
        !has_sections || code_ranges.iter().any(|(lo, hi)| (*lo..*hi).contains(&a))
    };
    // ELF symbol sizes by address (aliases agree; the largest wins if they do not).
    let mut sizes: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for sym in file.dynamic_symbols().take(MAX_EXPORTS) {
        if sym.is_definition() && sym.size() > 0 {
            let e = sizes.entry(sym.address()).or_default();
            *e = (*e).max(sym.size());
        }
    }
    let exports = match file.exports() {
        Ok(iter) => iter
            .take(MAX_EXPORTS)
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let address = match e.target() {
                    object::ExportTarget::Address { address } => address,
                    _ => return None,
                };
                match e.name() {
                    object::NameOrOrdinal::Name(n) => Some(Export {
                        name: String::from_utf8_lossy(n).into_owned(),
                        address,
                        code: is_code(address),
                        size: sizes.get(&address).copied().unwrap_or(0),
                    }),
                    object::NameOrOrdinal::Ordinal(_) => None,
                }
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let imports = match file.imports() {
        Ok(iter) => iter
            .take(MAX_EXPORTS)
            .filter_map(|i| i.ok())
            .filter_map(|i| {
                let object::NameOrOrdinal::Name(name) = i.name() else {
                    return None;
                };
                let version = match i.flags() {
                    object::ImportFlags::Elf {
                        version: Some(v), ..
                    } => Some(String::from_utf8_lossy(v).into_owned()),
                    _ => None,
                };
                Some(Import {
                    name: String::from_utf8_lossy(name).into_owned(),
                    library: String::from_utf8_lossy(i.library()).into_owned(),
                    version,
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let init_like_symbols = file
        .symbols()
        .chain(file.dynamic_symbols())
        .take(MAX_EXPORTS)
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| n.ends_with("nif_init"))
        .collect();
    let segments = file
        .segments()
        .take(MAX_SEGMENTS)
        .map(|s| {
            let (file_offset, file_size) = s.file_range();
            Segment {
                vaddr: s.address(),
                mem_size: s.size(),
                file_offset,
                file_size,
                // Mach-O's maximum protection, PE's IMAGE_SCN_MEM_EXECUTE: only how it is read.
                executable: s.permissions().executable(),
            }
        })
        .collect();
    let eh_frame = [".eh_frame", "__eh_frame"]
        .iter()
        .find_map(|n| file.section_by_name(n))
        .map(|s| SectionSpan {
            address: s.address(),
            size: s.size(),
        });
    let image = Image::new(
        data,
        segments,
        Vec::new(),
        if bits == 64 { 8 } else { 4 },
        endian == Endian::Big,
    );
    Ok(Binary {
        format,
        platform,
        arch,
        bits,
        endian,
        abi_variant: None,
        needed,
        exports,
        imports,
        exec_stack: false,
        rwx_segments: Vec::new(),
        executable_ranges: Vec::new(),
        init_array: None,
        textrel: false,
        relro: false,
        bind_now: false,
        symbolic: false,
        not_shared: None,
        interpreter: None,
        gnu_properties: None,
        interposable_exports: Vec::new(),
        runpath: Vec::new(),
        rpath: Vec::new(),
        version_needs: Vec::new(),
        soname: None,
        arm_eabi: None,
        mips_release6: false,
        mips_nan: None,
        macho: None,
        pe: None,
        init_like_symbols,
        eh_frame,
        image,
    })
}
