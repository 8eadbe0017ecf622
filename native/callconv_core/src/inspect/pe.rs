//! What only PE has: the base relocations (`.reloc`) that mark every slot holding an
//! absolute address, and the import address table that the loader fills with the addresses
//! of imported functions.
//!
//! The image is read at its preferred base, so a relocated slot already holds the right
//! value: its fixup is [`Fixup::Relative`] of that value, which tells a pointer from data
//! that only looks like one, as ELF's relative relocations do. Import address table slots
//! become [`Fixup::Symbol`] naming the import.

use object::pe;
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile};
use object::{LittleEndian as LE, ReadRef};
use serde::{Deserialize, Serialize};

use super::{inspect_generic, Binary, Platform, MAX_EXPORTS, MAX_NEEDED};
use crate::error::Error;
use crate::memory::{Fixup, Image, MAX_RELOCATIONS};
use crate::platform::Format;

/// The PE facts the Windows loader acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeFacts {
    /// The optional header's subsystem: `windows-gui`, `windows-cui`, `native`, `efi-*`,
    /// or `unknown-<n>`.
    pub subsystem: String,
    /// `IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE`: ASLR may move it.
    pub dynamic_base: bool,
    /// `IMAGE_DLLCHARACTERISTICS_NX_COMPAT`: DEP-compatible.
    pub nx_compat: bool,
    /// `IMAGE_DLLCHARACTERISTICS_GUARD_CF`: built with Control Flow Guard.
    pub guard_cf: bool,
    /// `IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA`: 64-bit ASLR.
    pub high_entropy_va: bool,
    /// The DLLs of the delay-load import table, loaded at the first call instead of at load.
    pub delay_imports: Vec<String>,
}

/// Inspects a PE file.
pub fn inspect<'data, Pe, R>(file: &PeFile<'data, Pe, R>, data: R) -> Result<Binary<R>, Error>
where
    Pe: ImageNtHeaders,
    R: ReadRef<'data>,
{
    let mut binary = inspect_generic(file, data, Format::Pe, Platform::Windows)?;
    let header = file.nt_headers().optional_header();
    let image_base = header.image_base();
    let pointer_size = binary.image.pointer_size();
    // The import directory is read here, not through `object`'s import table, which takes
    // every name from one section: the Windows loader follows each RVA wherever it points in
    // the image, and delvewheel writes the names of the DLLs it renames into a new section.
    let image = Rvas {
        file,
        data,
        image_base,
    };
    let imports = image.imports(pointer_size);
    binary.needed = imports.iter().map(|dll| dll.name.clone()).collect();
    binary.imports = imports
        .iter()
        .flat_map(|dll| {
            dll.functions.iter().filter_map(|(_, f)| {
                Some(super::Import {
                    name: f.as_ref().ok()?.clone(),
                    library: dll.name.clone(),
                    version: None,
                })
            })
        })
        .take(MAX_EXPORTS)
        .collect();
    let mut fixups: Vec<(u64, Fixup)> = Vec::new();
    for dll in &imports {
        for (slot, function) in &dll.functions {
            if fixups.len() >= MAX_RELOCATIONS {
                break;
            }
            fixups.push((
                image_base.wrapping_add(*slot),
                Fixup::Symbol {
                    name: match function {
                        Ok(name) => name.clone(),
                        Err(ordinal) => format!("#{ordinal}"),
                    },
                    value: None,
                    addend: 0,
                },
            ));
        }
    }
    let characteristics = header.dll_characteristics().0;
    let flag = |bit: u16| characteristics & bit != 0;
    binary.pe = Some(PeFacts {
        subsystem: subsystem_name(header.subsystem().0),
        dynamic_base: flag(pe::IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE.0),
        nx_compat: flag(pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT.0),
        guard_cf: flag(pe::IMAGE_DLLCHARACTERISTICS_GUARD_CF.0),
        high_entropy_va: flag(pe::IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA.0),
        delay_imports: image.delay_imports(),
    });
    let provisional = Image::new(
        data,
        binary.image.segments().to_vec(),
        Vec::new(),
        pointer_size,
        false,
    );
    // As for ELF's tables, an unreadable table is skipped from where it breaks, not an
    // error: `object` reads these more strictly than a loader has to.
    let _ = base_relocations(file, data, image_base, &provisional, &mut fixups);
    binary.image = Image::new(
        data,
        binary.image.segments().to_vec(),
        fixups,
        pointer_size,
        false,
    );
    Ok(binary)
}

/// The optional header's subsystem, spelled as the linker's `/SUBSYSTEM` option.
fn subsystem_name(subsystem: u16) -> String {
    match subsystem {
        1 => "native",
        2 => "windows-gui",
        3 => "windows-cui",
        5 => "os2-cui",
        7 => "posix-cui",
        9 => "windows-ce-gui",
        10 => "efi-application",
        11 => "efi-boot-service-driver",
        12 => "efi-runtime-driver",
        13 => "efi-rom",
        14 => "xbox",
        16 => "windows-boot-application",
        other => return format!("unknown-{other}"),
    }
    .to_string()
}

/// Most bytes of one DLL or function name read.
const MAX_NAME: usize = 4096;
/// Most functions read from one DLL's import lookup table.
const MAX_THUNKS: usize = 1 << 16;
/// Most functions read from the whole import directory: a hostile file can point thousands
/// of descriptors at one long table (real DLLs import a few hundred functions).
const MAX_IMPORTS: usize = 1 << 16;

/// One imported DLL: its name and, per import address table slot (as an RVA), the function's
/// name or its ordinal.
struct ImportedDll {
    name: String,
    functions: Vec<(u64, Result<String, u16>)>,
}

/// A PE image read by relative virtual address, as the loader reads it: any RVA that lies in
/// a section's file data or in the headers, every read bounds-checked.
struct Rvas<'a, 'data, Pe: ImageNtHeaders, R: ReadRef<'data>> {
    file: &'a PeFile<'data, Pe, R>,
    data: R,
    image_base: u64,
}

impl<'data, Pe: ImageNtHeaders, R: ReadRef<'data>> Rvas<'_, 'data, Pe, R> {
    /// The file bytes from `rva` to the end of the section (or headers) holding it, at most
    /// `max`: a name or a table is read by its own range, never with the rest of a section
    /// that may hold megabytes of data (the reader keeps every range it read).
    fn bytes(&self, rva: u32, max: usize) -> Option<&'data [u8]> {
        let file_len = self.data.len().ok()?;
        let window = |offset: u32, size: u32| {
            // The whole rest must lie in the file, as it must for the section to be read at all.
            (u64::from(offset) + u64::from(size) <= file_len).then_some(())?;
            let size = u64::from(size).min(max as u64);
            self.data.read_bytes_at(u64::from(offset), size).ok()
        };
        let in_section = self
            .file
            .section_table()
            .iter()
            .filter_map(|section| section.pe_file_range_at(rva))
            .find_map(|(offset, size)| window(offset, size));
        if in_section.is_some() {
            return in_section;
        }
        let headers = self.file.nt_headers().optional_header().size_of_headers();
        let rest = headers.checked_sub(rva).filter(|n| *n > 0)?;
        window(rva, rest)
    }

    /// The NUL-terminated string at `rva`, read in growing windows up to [`MAX_NAME`] bytes.
    fn string(&self, rva: u32) -> Option<String> {
        let mut want = 64;
        loop {
            let bytes = self.bytes(rva, want)?;
            if let Some(end) = bytes.iter().position(|b| *b == 0) {
                return Some(String::from_utf8_lossy(bytes.get(..end)?).into_owned());
            }
            if bytes.len() < want || want >= MAX_NAME {
                return None;
            }
            want = (want * 4).min(MAX_NAME);
        }
    }

    fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
        let b = bytes.get(at..at.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    /// The data directory `index`'s RVA, when it has one.
    fn directory(&self, index: usize) -> Option<u32> {
        let dir = self.file.data_directories().get(index)?;
        let rva = dir.virtual_address.get(LE);
        (rva != 0).then_some(rva)
    }

    /// The import directory: `IMAGE_IMPORT_DESCRIPTOR`s until the null one (the loader
    /// ignores the directory's size), each DLL name and lookup table followed wherever its
    /// RVA points.
    fn imports(&self, pointer_size: u8) -> Vec<ImportedDll> {
        let mut budget = MAX_IMPORTS;
        const DESCRIPTOR: usize = 20;
        let Some(table) = self
            .directory(pe::IMAGE_DIRECTORY_ENTRY_IMPORT)
            .and_then(|rva| self.bytes(rva, MAX_NEEDED * DESCRIPTOR))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for index in 0..MAX_NEEDED {
            let Some(entry) = table.get(index * DESCRIPTOR..(index + 1) * DESCRIPTOR) else {
                break;
            };
            if entry.iter().all(|b| *b == 0) {
                break;
            }
            let field = |at| Self::u32_at(entry, at).unwrap_or(0);
            let (original_first_thunk, name, first_thunk) = (field(0), field(12), field(16));
            let Some(name) = self.string(name) else {
                continue;
            };
            // The lookup table names the imports; the address table holds the same thunks in
            // the file and the addresses once loaded. Old linkers leave only the latter.
            let lookup = if original_first_thunk == 0 {
                first_thunk
            } else {
                original_first_thunk
            };
            let functions = self.thunks(lookup, first_thunk, pointer_size, &mut budget);
            out.push(ImportedDll { name, functions });
        }
        out
    }

    /// The functions of one lookup table, with the RVA of each one's address table slot.
    fn thunks(
        &self,
        lookup: u32,
        iat: u32,
        pointer_size: u8,
        budget: &mut usize,
    ) -> Vec<(u64, Result<String, u16>)> {
        let size = usize::from(pointer_size);
        let Some(table) = self.bytes(lookup, MAX_THUNKS * size) else {
            return Vec::new();
        };
        let ordinal_flag = 1u64 << (size * 8 - 1);
        let mut out = Vec::new();
        for index in 0..MAX_THUNKS {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let at = index * size;
            let thunk = if size == 8 {
                Self::u64_at(table, at)
            } else {
                Self::u32_at(table, at).map(u64::from)
            };
            let Some(thunk) = thunk.filter(|t| *t != 0) else {
                break;
            };
            let slot = u64::from(iat) + (at as u64);
            if thunk & ordinal_flag != 0 {
                out.push((slot, Err(thunk as u16)));
                continue;
            }
            // IMAGE_IMPORT_BY_NAME: a 2-byte hint, then the name.
            let name = u32::try_from(thunk & 0x7fff_ffff)
                .ok()
                .and_then(|rva| rva.checked_add(2))
                .and_then(|rva| self.string(rva));
            if let Some(name) = name {
                out.push((slot, Ok(name)));
            }
        }
        out
    }

    /// The DLL names of the delay-load directory (`IMAGE_DELAYLOAD_DESCRIPTOR`s until the
    /// null one). Old descriptors (attribute bit 0 clear) hold virtual addresses, not RVAs.
    fn delay_imports(&self) -> Vec<String> {
        const DESCRIPTOR: usize = 32;
        let Some(table) = self
            .directory(pe::IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT)
            .and_then(|rva| self.bytes(rva, MAX_NEEDED * DESCRIPTOR))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for index in 0..MAX_NEEDED {
            let Some(entry) = table.get(index * DESCRIPTOR..(index + 1) * DESCRIPTOR) else {
                break;
            };
            if entry.iter().all(|b| *b == 0) {
                break;
            }
            let attributes = Self::u32_at(entry, 0).unwrap_or(0);
            let name = Self::u32_at(entry, 4).unwrap_or(0);
            let rva = if attributes & 1 != 0 {
                Some(name)
            } else {
                u64::from(name)
                    .checked_sub(self.image_base)
                    .and_then(|r| u32::try_from(r).ok())
            };
            if let Some(name) = rva.and_then(|rva| self.string(rva)) {
                out.push(name);
            }
        }
        out
    }
}

/// The slots the base relocations name as whole pointers (`IMAGE_REL_BASED_DIR64` in a
/// 64-bit image, `HIGHLOW` in a 32-bit one), with the address each holds at the preferred
/// base.
fn base_relocations<'data, Pe, R>(
    file: &PeFile<'data, Pe, R>,
    data: R,
    image_base: u64,
    image: &Image<R>,
    fixups: &mut Vec<(u64, Fixup)>,
) -> Result<(), String>
where
    Pe: ImageNtHeaders,
    R: ReadRef<'data>,
{
    let blocks = file
        .data_directories()
        .relocation_blocks(data, &file.section_table())
        .map_err(|e| e.to_string())?;
    let Some(blocks) = blocks else {
        return Ok(());
    };
    let pointer_kind = if image.pointer_size() == 8 {
        pe::IMAGE_REL_BASED_DIR64
    } else {
        pe::IMAGE_REL_BASED_HIGHLOW
    };
    let mut walked: usize = 0;
    for block in blocks {
        let block = block.map_err(|e| e.to_string())?;
        for reloc in block {
            walked += 1;
            if walked > MAX_RELOCATIONS {
                return Err(format!("more than {MAX_RELOCATIONS} base relocations"));
            }
            if reloc.typ != pointer_kind {
                continue;
            }
            let at = image_base.wrapping_add(u64::from(reloc.virtual_address));
            // A relocation of bytes that are not in the image is the loader's problem, not
            // a pointer to record.
            if let Ok(target) = image.read_word(at) {
                fixups.push((at, Fixup::Relative(target)));
            }
        }
    }
    Ok(())
}
