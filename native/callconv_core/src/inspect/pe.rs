//! What only PE has: the base relocations (`.reloc`) that mark every slot holding an
//! absolute address, and the import address table that the loader fills with the addresses
//! of imported functions.
//!
//! The image is read at its preferred base, so a relocated slot already holds the right
//! value: its fixup is [`Fixup::Relative`] of that value, which tells a pointer from data
//! that only looks like one, as ELF's relative relocations do. Import address table slots
//! become [`Fixup::Symbol`] naming the import.

use object::pe;
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, Import, PeFile};
use object::{LittleEndian as LE, ReadRef};

use super::{inspect_generic, Binary, Platform, MAX_NEEDED};
use crate::error::Error;
use crate::memory::{Fixup, Image, MAX_RELOCATIONS};
use crate::report::Format;

/// Inspects a PE file.
pub fn inspect<'data, Pe, R>(file: &PeFile<'data, Pe, R>, data: R) -> Result<Binary<R>, Error>
where
    Pe: ImageNtHeaders,
    R: ReadRef<'data>,
{
    let mut binary = inspect_generic(file, data, Format::Pe, Platform::Windows)?;
    let image_base = file.nt_headers().optional_header().image_base();
    // As for ELF's tables, an unreadable table is skipped from where it breaks, not an
    // error: `object` reads these more strictly than a loader has to.
    let mut fixups = Vec::new();
    let _ = import_fixups(file, image_base, &mut fixups);
    let pointer_size = binary.image.pointer_size();
    let provisional = Image::new(
        data,
        binary.image.segments().to_vec(),
        Vec::new(),
        pointer_size,
        false,
    );
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

/// Every slot of the import address table, named by its import (by name or `#ordinal`).
fn import_fixups<'data, Pe, R>(
    file: &PeFile<'data, Pe, R>,
    image_base: u64,
    fixups: &mut Vec<(u64, Fixup)>,
) -> Result<(), String>
where
    Pe: ImageNtHeaders,
    R: ReadRef<'data>,
{
    let Some(table) = file.import_table().map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let thunk_size = std::mem::size_of::<Pe::ImageThunkData>() as u64;
    let descriptors = table.descriptors().map_err(|e| e.to_string())?;
    for descriptor in descriptors.take(MAX_NEEDED) {
        let descriptor = descriptor.map_err(|e| e.to_string())?;
        let iat = descriptor.first_thunk.get(LE);
        // The lookup table names the imports; the address table holds the same thunks in
        // the file and the addresses once loaded. Old linkers leave only the latter.
        let lookup = match descriptor.original_first_thunk.get(LE) {
            0 => iat,
            rva => rva,
        };
        let mut thunks = table.thunks(lookup).map_err(|e| e.to_string())?;
        let mut slot = u64::from(iat);
        while let Some(thunk) = thunks.next::<Pe>().map_err(|e| e.to_string())? {
            if fixups.len() >= MAX_RELOCATIONS {
                return Err(format!("more than {MAX_RELOCATIONS} imports"));
            }
            let name = match table.import::<Pe>(thunk).map_err(|e| e.to_string())? {
                Import::Name(_, name) => String::from_utf8_lossy(name).into_owned(),
                Import::Ordinal(n) => format!("#{n}"),
            };
            fixups.push((
                image_base.wrapping_add(slot),
                Fixup::Symbol {
                    name,
                    value: None,
                    addend: 0,
                },
            ));
            slot = slot.wrapping_add(thunk_size);
        }
    }
    Ok(())
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
