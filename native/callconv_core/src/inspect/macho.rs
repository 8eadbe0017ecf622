//! What only Mach-O has: the `LC_RPATH` search paths, and the fixups dyld applies, from `LC_DYLD_CHAINED_FIXUPS` (the chains
//! that Apple's linker writes for recent deployment targets, with the encoded entries in place
//! of the pointers) or from `LC_DYLD_INFO(_ONLY)` (rebase and bind opcode streams, where the
//! data already holds the link-time addresses).
//!
//! Rebases become [`Fixup::Relative`] with the link-time target address, binds become
//! [`Fixup::Symbol`] naming the imported symbol (with its leading underscore), so the image
//! answers for Mach-O what it answers for ELF.

use std::collections::HashMap;

use object::macho;
use object::read::macho::{
    DyldChainedFixups, FixupRebase, LoadCommandVariant, MachHeader, MachOFile,
};
use object::{Endian, Endianness, Object, ObjectSegment, ReadRef};
use serde::{Deserialize, Serialize};

use super::{inspect_generic, Binary, Export, Platform, MAX_SEGMENTS};
use crate::error::Error;
use crate::memory::{Fixup, Image, MAX_RELOCATIONS};
use crate::platform::{Arch, Format};

/// The Mach-O facts dyld acts on, for the slice checked, and a summary of every slice of a
/// universal file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachoFacts {
    /// `dylib` (`MH_DYLIB`), `bundle` (`MH_BUNDLE`, what `-bundle` and most Python
    /// extensions are), `executable`, `object` or `other`.
    pub file_type: String,
    /// The platform of `LC_BUILD_VERSION` (`macos`, `ios`, `maccatalyst`, ...), `macos` for
    /// `LC_VERSION_MIN_MACOSX`; null when the file has neither.
    pub platform: Option<String>,
    /// The oldest OS version it runs on (`LC_BUILD_VERSION` minos, `LC_VERSION_MIN_MACOSX`
    /// version), such as `"11.0"`: dyld refuses it on an older one.
    pub min_os: Option<String>,
    /// The SDK it was built with, such as `"14.2"`.
    pub sdk: Option<String>,
    /// `LC_ID_DYLIB`: the install name other files record (null for a bundle).
    pub install_name: Option<String>,
    /// `LC_RPATH` entries, as written (`@loader_path` unexpanded).
    pub rpaths: Vec<String>,
    /// `LC_LOAD_WEAK_DYLIB` libraries: dyld goes on when they are missing.
    pub weak_dylibs: Vec<String>,
    /// `LC_REEXPORT_DYLIB` libraries.
    pub reexported_dylibs: Vec<String>,
    /// How dyld fixes pointers up: `chained` (`LC_DYLD_CHAINED_FIXUPS`), `opcodes`
    /// (`LC_DYLD_INFO(_ONLY)`) or `none`.
    pub fixups: String,
    /// Every slice of a universal file, in file order (the one checked has `primary: true`);
    /// empty for a thin file.
    pub slices: Vec<MachoSlice>,
}

/// One slice of a universal Mach-O.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachoSlice {
    /// Its architecture.
    pub arch: Arch,
    /// `arm64e` or `arm64` for an AArch64 slice.
    pub abi_variant: Option<String>,
    /// Whether it is the slice the report's other fields describe.
    pub primary: bool,
    /// As [`MachoFacts::file_type`].
    pub file_type: String,
    /// As [`MachoFacts::min_os`].
    pub min_os: Option<String>,
    /// As [`MachoFacts::sdk`].
    pub sdk: Option<String>,
    /// Its needed libraries, in file order.
    pub needed: Vec<String>,
}

/// Most imports read from a chained-fixups imports table (its ordinals are 24 bits at most).
pub const MAX_CHAINED_IMPORTS: u32 = 1 << 20;

/// The chained pointer formats of libraries and bundles that dyld loads (the others are for
/// kernel caches, firmware and the shared cache).
const LIBRARY_POINTER_FORMATS: [macho::DyldChainedPtrFormat; 6] = [
    macho::DYLD_CHAINED_PTR_64,
    macho::DYLD_CHAINED_PTR_64_OFFSET,
    macho::DYLD_CHAINED_PTR_32,
    macho::DYLD_CHAINED_PTR_ARM64E,
    macho::DYLD_CHAINED_PTR_ARM64E_USERLAND,
    macho::DYLD_CHAINED_PTR_ARM64E_USERLAND24,
];

/// Inspects a thin Mach-O file.
pub fn inspect<'data, Mach, R>(
    file: &MachOFile<'data, Mach, R>,
    data: R,
) -> Result<Binary<R>, Error>
where
    Mach: MachHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let mut binary = inspect_generic(file, data, Format::Macho, Platform::Darwin)?;
    binary.rpath = rpaths(file);
    binary.abi_variant = arm64_variant(file);
    binary.macho = Some(facts(file));
    let pointer_size = binary.image.pointer_size();
    let fixups = fixups(file, data, pointer_size, &binary.exports)
        .map_err(|e| Error::malformed("Mach-O", format!("its fixups cannot be read: {e}")))?;
    binary.image = Image::new(
        data,
        binary.image.segments().to_vec(),
        fixups,
        pointer_size,
        binary.image.big_endian(),
    );
    Ok(binary)
}

/// `arm64e` (pointer authentication in the ABI) or `arm64` for an AArch64 slice, from the
/// CPU subtype without its capability bits; `None` for other architectures.
pub(crate) fn arm64_variant<'data, Mach, R>(file: &MachOFile<'data, Mach, R>) -> Option<String>
where
    Mach: MachHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = file.macho_header();
    let endian = file.endian();
    if header.cputype(endian) != macho::CPU_TYPE_ARM64 {
        return None;
    }
    let arm64e = header.cpusubtype(endian).id() == macho::CPU_SUBTYPE_ARM64E;
    Some(if arm64e { "arm64e" } else { "arm64" }.to_string())
}

/// Most load commands read.
const MAX_LOAD_COMMANDS: usize = 4096;

/// The `LC_RPATH` entries, as written (`@loader_path` unexpanded), in file order.
pub fn rpaths<'data, Mach, R>(file: &MachOFile<'data, Mach, R>) -> Vec<String>
where
    Mach: MachHeader,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let Ok(mut commands) = file.macho_load_commands() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for _ in 0..MAX_LOAD_COMMANDS {
        let Ok(Some(command)) = commands.next() else {
            break;
        };
        if command.cmd() != macho::LC_RPATH {
            continue;
        }
        if let Ok(LoadCommandVariant::Rpath(rpath)) = command.variant() {
            if let Ok(path) = command.string(endian, rpath.path) {
                out.push(String::from_utf8_lossy(path).into_owned());
            }
        }
    }
    out
}

/// The load-time facts of a thin Mach-O: file type, platform and OS versions, install name,
/// search paths, weak and re-exported libraries, and the kind of fixups. One pass over the
/// load commands, capped; a command that cannot be read is skipped.
pub fn facts<'data, Mach, R>(file: &MachOFile<'data, Mach, R>) -> MachoFacts
where
    Mach: MachHeader,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let file_type = match file.macho_header().filetype(endian) {
        macho::MH_DYLIB => "dylib",
        macho::MH_BUNDLE => "bundle",
        macho::MH_EXECUTE => "executable",
        macho::MH_OBJECT => "object",
        _ => "other",
    };
    let mut out = MachoFacts {
        file_type: file_type.to_string(),
        fixups: "none".to_string(),
        ..MachoFacts::default()
    };
    let Ok(mut commands) = file.macho_load_commands() else {
        return out;
    };
    let string = |command: &object::read::macho::LoadCommandData<'data, Mach::Endian>,
                  s: macho::LcStr<Mach::Endian>| {
        command
            .string(endian, s)
            .ok()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let mut fixups_seen = false;
    for _ in 0..MAX_LOAD_COMMANDS {
        let Ok(Some(command)) = commands.next() else {
            break;
        };
        let Ok(variant) = command.variant() else {
            continue;
        };
        match variant {
            LoadCommandVariant::BuildVersion(build, _) if out.min_os.is_none() => {
                out.platform = Some(platform_name(build.platform.get(endian).0));
                out.min_os = Some(version_string(build.minos.get(endian).0));
                out.sdk = Some(version_string(build.sdk.get(endian).0));
            }
            LoadCommandVariant::VersionMin(min)
                if out.min_os.is_none() && command.cmd() == macho::LC_VERSION_MIN_MACOSX =>
            {
                out.platform = Some("macos".to_string());
                out.min_os = Some(version_string(min.version.get(endian).0));
                out.sdk = Some(version_string(min.sdk.get(endian).0));
            }
            LoadCommandVariant::IdDylib(id) => {
                out.install_name = string(&command, id.dylib.name);
            }
            LoadCommandVariant::Rpath(rpath) => {
                out.rpaths.extend(string(&command, rpath.path));
            }
            LoadCommandVariant::Dylib(dylib) => {
                let name = string(&command, dylib.dylib.name);
                // The macOS 15 encoding of LC_LOAD_DYLIB carries the kinds as flags.
                let flags = command
                    .dylib_use_flags(endian, dylib)
                    .ok()
                    .flatten()
                    .map_or(0, |f| f.0);
                let weak = command.cmd() == macho::LC_LOAD_WEAK_DYLIB
                    || flags & macho::DYLIB_USE_WEAK_LINK.0 != 0;
                let reexport = command.cmd() == macho::LC_REEXPORT_DYLIB
                    || flags & macho::DYLIB_USE_REEXPORT.0 != 0;
                if let Some(name) = name {
                    if weak {
                        out.weak_dylibs.push(name.clone());
                    }
                    if reexport {
                        out.reexported_dylibs.push(name);
                    }
                }
            }
            LoadCommandVariant::LinkeditData(_)
                if !fixups_seen && command.cmd() == macho::LC_DYLD_CHAINED_FIXUPS =>
            {
                fixups_seen = true;
                out.fixups = "chained".to_string();
            }
            LoadCommandVariant::DyldInfo(_) if !fixups_seen => {
                fixups_seen = true;
                out.fixups = "opcodes".to_string();
            }
            _ => {}
        }
    }
    out
}

/// `LC_BUILD_VERSION`'s platform, spelled as Apple's tools spell it.
fn platform_name(platform: u32) -> String {
    match platform {
        1 => "macos",
        2 => "ios",
        3 => "tvos",
        4 => "watchos",
        5 => "bridgeos",
        6 => "maccatalyst",
        7 => "ios-simulator",
        8 => "tvos-simulator",
        9 => "watchos-simulator",
        10 => "driverkit",
        11 => "visionos",
        12 => "visionos-simulator",
        other => return format!("unknown-{other}"),
    }
    .to_string()
}

/// A version encoded as `xxxx.yy.zz` nibbles, as `major.minor` or `major.minor.patch`.
pub fn version_string(encoded: u32) -> String {
    let (major, minor, patch) = (encoded >> 16, (encoded >> 8) & 0xff, encoded & 0xff);
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

/// A segment as dyld's fixup formats number them: by load command order.
struct MachSegment {
    vaddr: u64,
    file_offset: u64,
    file_size: u64,
}

/// The fixups of the first `LC_DYLD_CHAINED_FIXUPS` or `LC_DYLD_INFO(_ONLY)` command.
fn fixups<'data, Mach, R>(
    file: &MachOFile<'data, Mach, R>,
    data: R,
    pointer_size: u8,
    exports: &[Export],
) -> Result<Vec<(u64, Fixup)>, String>
where
    Mach: MachHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let exports = exports_by_name(exports);
    let segments: Vec<MachSegment> = file
        .segments()
        .take(MAX_SEGMENTS)
        .map(|s| {
            let (file_offset, file_size) = s.file_range();
            MachSegment {
                vaddr: s.address(),
                file_offset,
                file_size,
            }
        })
        .collect();
    let mut commands = file.macho_load_commands().map_err(|e| e.to_string())?;
    while let Some(command) = commands.next().map_err(|e| e.to_string())? {
        if let Some(linkedit) = command.dyld_chained_fixups().map_err(|e| e.to_string())? {
            let chained = linkedit
                .chained_fixups(endian, data)
                .map_err(|e| e.to_string())?;
            return chained_fixups(&chained, endian, data, &segments, &exports);
        }
        if let Some(info) = command.dyld_info().map_err(|e| e.to_string())? {
            return dyld_info_fixups(info, endian, data, &segments, pointer_size, &exports);
        }
    }
    Ok(Vec::new())
}

/// The address a bound symbol takes when the library binds to itself (a weak definition or
/// an explicit self bind), as ELF's fixups carry the value of a symbol the library defines.
fn own_value(dylib: macho::BindDylib, name: &str, exports: &Exports<'_>) -> Option<u64> {
    let to_self =
        dylib == macho::BIND_SPECIAL_DYLIB_SELF || dylib == macho::BIND_SPECIAL_DYLIB_WEAK_LOOKUP;
    to_self.then(|| exports.get(name).copied()).flatten()
}

/// The library's exports by name (the first of a name wins), so that millions of binds cost
/// one look-up each, not a scan of millions of exports.
type Exports<'a> = HashMap<&'a str, u64>;

fn exports_by_name(exports: &[Export]) -> Exports<'_> {
    let mut by_name = HashMap::with_capacity(exports.len());
    for export in exports {
        by_name
            .entry(export.name.as_str())
            .or_insert(export.address);
    }
    by_name
}

/// Walks every chain of an `LC_DYLD_CHAINED_FIXUPS` payload.
fn chained_fixups<'data, R: ReadRef<'data>>(
    chained: &DyldChainedFixups<'data, Endianness>,
    endian: Endianness,
    data: R,
    segments: &[MachSegment],
    exports: &Exports<'_>,
) -> Result<Vec<(u64, Fixup)>, String> {
    let count = chained.header().imports_count.get(endian);
    if count > MAX_CHAINED_IMPORTS {
        return Err(format!(
            "{count} chained imports, more than the {MAX_CHAINED_IMPORTS} read"
        ));
    }
    let mut imports = Vec::new();
    for import in chained.imports(endian).map_err(|e| e.to_string())? {
        let import = import.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(import.name).into_owned();
        let value = own_value(import.dylib, &name, exports);
        imports.push((name, value, import.addend));
    }
    // Rebase targets of the *_OFFSET formats are offsets from the preferred load address,
    // the address of the segment that maps the header (`__TEXT`).
    let load_address = segments
        .iter()
        .find(|s| s.file_offset == 0 && s.file_size != 0)
        .map_or(0, |s| s.vaddr);

    let mut fixups = Vec::new();
    for segment in chained.segments(endian).map_err(|e| e.to_string())? {
        let segment = segment.map_err(|e| e.to_string())?;
        let index = segment.index();
        let seg = segments
            .get(index as usize)
            .ok_or_else(|| format!("chain starts name segment {index}, which does not exist"))?;
        let format = segment.header().pointer_format.get(endian);
        if !LIBRARY_POINTER_FORMATS.contains(&format) {
            return Err(format!(
                "segment {index} uses pointer format {}, which dyld does not load in a library",
                format.0
            ));
        }
        let bytes = data
            .read_bytes_at(seg.file_offset, seg.file_size)
            .map_err(|()| format!("segment {index} lies past the end of the file"))?;
        // Every entry is at least 4 bytes past the one before in its chain, so a segment
        // holds at most size/4 + 1 of them; more means chains that run into each other.
        let most = seg.file_size / 4 + 1;
        let mut walked: u64 = 0;
        for entry in segment.fixups(endian, load_address, bytes) {
            let (offset, fixup) = entry.map_err(|e| format!("segment {index}: {e}"))?;
            walked += 1;
            if walked > most {
                return Err(format!(
                    "the chains of segment {index} overlap: more than {most} entries"
                ));
            }
            if fixups.len() >= MAX_RELOCATIONS {
                return Err(format!("more than {MAX_RELOCATIONS} chained fixups"));
            }
            let at = seg.vaddr.wrapping_add(offset);
            let fixup = match fixup {
                object::read::macho::Fixup::Rebase(FixupRebase { target_offset, .. }) => {
                    Fixup::Relative(load_address.wrapping_add(target_offset))
                }
                object::read::macho::Fixup::Bind(bind) => {
                    let (name, value, addend) =
                        imports.get(bind.ordinal as usize).ok_or_else(|| {
                            format!(
                                "a bind at {at:#x} names import {}, but there are {}",
                                bind.ordinal,
                                imports.len()
                            )
                        })?;
                    Fixup::Symbol {
                        name: name.clone(),
                        value: *value,
                        addend: addend.wrapping_add(i64::from(bind.addend)),
                    }
                }
                // Only the kernel-cache and segmented formats, refused above, decode so.
                _ => return Err(format!("segment {index}: a fixup of a kernel-cache format")),
            };
            fixups.push((at, fixup));
        }
    }
    Ok(fixups)
}

/// Decodes the rebase, bind and lazy-bind opcode streams of `LC_DYLD_INFO(_ONLY)`. Weak
/// binds are left out: they only matter when another image also defines the symbol.
fn dyld_info_fixups<'data, R: ReadRef<'data>>(
    info: &macho::DyldInfoCommand<Endianness>,
    endian: Endianness,
    data: R,
    segments: &[MachSegment],
    pointer_size: u8,
    exports: &Exports<'_>,
) -> Result<Vec<(u64, Fixup)>, String> {
    let address = |segment: u8, offset: u64| -> Result<u64, String> {
        let seg = segments
            .get(usize::from(segment))
            .ok_or_else(|| format!("a fixup names segment {segment}, which does not exist"))?;
        Ok(seg.vaddr.wrapping_add(offset))
    };
    let word = |at: u64| -> Option<u64> {
        let seg = segments
            .iter()
            .find(|s| at >= s.vaddr && at - s.vaddr < s.file_size)?;
        let bytes = data
            .read_bytes_at(seg.file_offset + (at - seg.vaddr), u64::from(pointer_size))
            .ok()?;
        Some(super::elf::read_word(bytes, endian.is_big_endian()))
    };
    let mut fixups = Vec::new();
    // Counts every decoded entry, kept or not: a stream can repeat an entry 2^64 times.
    let mut walked: usize = 0;
    let mut walk = || {
        walked += 1;
        if walked > MAX_RELOCATIONS {
            return Err(format!("more than {MAX_RELOCATIONS} binds and rebases"));
        }
        Ok(())
    };
    // Binds first: where a slot is both bound and rebased, the bind is what it ends up
    // holding, and `Image::new` keeps the first fixup of an address.
    let streams = [
        info.binds(endian, data, pointer_size),
        info.lazy_binds(endian, data, pointer_size),
    ];
    for stream in streams {
        for bind in stream.map_err(|e| e.to_string())? {
            let bind = bind.map_err(|e| e.to_string())?;
            walk()?;
            if bind.kind != macho::BIND_TYPE_POINTER {
                continue;
            }
            let name = String::from_utf8_lossy(bind.symbol).into_owned();
            let value = own_value(bind.dylib, &name, exports);
            fixups.push((
                address(bind.segment_index, bind.segment_offset)?,
                Fixup::Symbol {
                    name,
                    value,
                    addend: bind.addend,
                },
            ));
        }
    }
    let rebases = info
        .rebases(endian, data, pointer_size)
        .map_err(|e| e.to_string())?;
    for rebase in rebases {
        let rebase = rebase.map_err(|e| e.to_string())?;
        walk()?;
        if rebase.kind != macho::REBASE_TYPE_POINTER {
            continue;
        }
        let at = address(rebase.segment_index, rebase.segment_offset)?;
        // The data holds the link-time address; a rebase outside the file's bytes is one
        // dyld would fault on, and says nothing about a pointer.
        if let Some(target) = word(at) {
            fixups.push((at, Fixup::Relative(target)));
        }
    }
    Ok(fixups)
}
