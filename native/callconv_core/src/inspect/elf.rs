//! What only ELF has: program headers checked against the file size, ABI flags, and the
//! dynamic relocations that turn the image's raw bytes into the loaded values.

use object::elf;
use object::read::elf::{Dyn, ElfFile, FileHeader, ProgramHeader, Rel, Rela, RelrIterator, Sym};
use object::{Endianness, ReadRef, SymbolIndex};

use super::{
    inspect_generic, Binary, GnuProperties, InitArray, NanEncoding, NotShared, Platform,
    VersionNeed, MAX_EXPORTS, MAX_NEEDED, MAX_SEGMENTS,
};
use crate::error::Error;
use crate::memory::{Fixup, Image, Pointer, Segment, MAX_RELOCATIONS};
use crate::platform::Format;

// e_machine values (System V gABI).
const EM_SPARC: u16 = 2;
const EM_386: u16 = 3;
const EM_MIPS: u16 = 8;
/// MIPS header flag: the object uses the IEEE 754-2008 NaN encoding (quiet NaNs have the
/// top fraction bit set), not the legacy one (that bit marks a signalling NaN).
const EF_MIPS_NAN2008: u32 = 0x400;
const EM_SPARC32PLUS: u16 = 18;
const EM_PPC: u16 = 20;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_SPARCV9: u16 = 43;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;

/// What a dynamic relocation type does to a pointer-sized field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelocClass {
    /// Base + addend: a pointer into the library itself.
    Relative,
    /// Symbol + addend: a full-width pointer to a symbol (absolute word or GOT entry).
    Word,
    /// Anything else (TLS, copy, IRELATIVE, ...): not a plain pointer.
    Other,
}

/// The relocation types that produce pointers, per architecture, from each psABI.
fn classify(machine: u16, r_type: u32, sym: u32) -> RelocClass {
    use RelocClass::*;
    match (machine, r_type) {
        // x86-64 psABI: R_X86_64_64, GLOB_DAT, JUMP_SLOT, RELATIVE.
        (EM_X86_64, 1 | 6 | 7) => Word,
        (EM_X86_64, 8) => Relative,
        // i386 psABI: R_386_32, GLOB_DAT, JMP_SLOT, RELATIVE.
        (EM_386, 1 | 6 | 7) => Word,
        (EM_386, 8) => Relative,
        // AArch64 ELF: ABS64, GLOB_DAT, JUMP_SLOT, RELATIVE.
        (EM_AARCH64, 257 | 1025 | 1026) => Word,
        (EM_AARCH64, 1027) => Relative,
        // ARM ELF: ABS32, GLOB_DAT, JUMP_SLOT, RELATIVE.
        (EM_ARM, 2 | 21 | 22) => Word,
        (EM_ARM, 23) => Relative,
        // RISC-V psABI: R_RISCV_32, 64, JUMP_SLOT, RELATIVE.
        (EM_RISCV, 1 | 2 | 5) => Word,
        (EM_RISCV, 3) => Relative,
        // LoongArch psABI: R_LARCH_32, 64, JUMP_SLOT, RELATIVE.
        (EM_LOONGARCH, 1 | 2 | 5) => Word,
        (EM_LOONGARCH, 3) => Relative,
        // PowerPC ELF: ADDR32 (ppc) / ADDR64 (ppc64), GLOB_DAT, JMP_SLOT, RELATIVE.
        (EM_PPC, 1 | 20 | 21) | (EM_PPC64, 38 | 20 | 21) => Word,
        (EM_PPC | EM_PPC64, 22) => Relative,
        // s390x ELF: R_390_64, GLOB_DAT, JMP_SLOT, RELATIVE.
        (EM_S390, 22 | 10 | 11) => Word,
        (EM_S390, 12) => Relative,
        // SPARC: R_SPARC_32, 64, UA32, UA64, GLOB_DAT, JMP_SLOT, RELATIVE. A JMP_SLOT
        // names the PLT entry itself, code the loader patches: the fixup is there so the
        // lifter can name a call's import (what is written there is not a pointer).
        (EM_SPARC | EM_SPARC32PLUS | EM_SPARCV9, 3 | 32 | 23 | 54 | 20 | 21) => Word,
        (EM_SPARC | EM_SPARC32PLUS | EM_SPARCV9, 22) => Relative,
        // MIPS: R_MIPS_REL32 is base-relative without a symbol, symbol-relative with one.
        // N64 composes up to three types in one entry (REL32 | R_MIPS_64 << 8 for a 64-bit
        // word); the first one decides, the second may only widen it to 64 bits.
        (EM_MIPS, t) if t > 0xff => match (t & 0xff, (t >> 8) & 0xff, t >> 16) {
            (first, 0 | 18, 0) => classify(machine, first, sym),
            _ => Other,
        },
        (EM_MIPS, 3) if sym == 0 => Relative,
        (EM_MIPS, 3 | 2) => Word,
        _ => Other,
    }
}

// Dynamic tags (System V gABI and the RELR extension).
const DT_REL: i64 = 17;
const DT_RELSZ: i64 = 18;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_JMPREL: i64 = 23;
const DT_PLTRELSZ: i64 = 2;
const DT_PLTREL: i64 = 20;
const DT_RELR: i64 = 36;
const DT_RELRSZ: i64 = 35;

/// Inspects an ELF file.
pub fn inspect<'data, Elf, R>(file: &ElfFile<'data, Elf, R>, data: R) -> Result<Binary<R>, Error>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let header = file.elf_header();
    let file_len = data
        .len()
        .map_err(|()| Error::malformed("ELF", "could not get the file length"))?;

    let mut segments = Vec::new();
    let mut exec_stack = false;
    let mut rwx_segments = Vec::new();
    let mut relro = false;
    let mut interpreter = None;
    let mut executable_ranges = Vec::new();
    let mut init_array = None;
    for (index, ph) in file.elf_program_headers().iter().enumerate() {
        // p_flags: PF_X 1, PF_W 2, PF_R 4.
        let flags = ph.p_flags(endian).0;
        if ph.p_type(endian) == elf::PT_GNU_STACK {
            exec_stack = flags & 1 != 0;
        }
        if ph.p_type(endian) == elf::PT_GNU_RELRO {
            relro = true;
        }
        if let Ok(Some(path)) = ph.interpreter(endian, data) {
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        }
        // The loader finds the dynamic section through this header (glibc's keeps the last).
        if let Ok(Some(dynamic)) = ph.dynamic(endian, data) {
            init_array = init_array_of::<Elf>(dynamic, endian);
        }
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        if flags & 3 == 3 && rwx_segments.len() < MAX_SEGMENTS {
            rwx_segments.push(ph.p_vaddr(endian).into());
        }
        if flags & 1 != 0 && executable_ranges.len() < MAX_SEGMENTS {
            let start: u64 = ph.p_vaddr(endian).into();
            executable_ranges.push((start, start.saturating_add(ph.p_memsz(endian).into())));
        }
        let (file_offset, file_size) = ph.file_range(endian);
        // A loadable segment that claims bytes the file does not have is what makes the
        // BEAM die with SIGBUS in load_nif: the loader maps it and the first touch faults.
        if file_offset
            .checked_add(file_size)
            .is_none_or(|end| end > file_len)
        {
            return Err(Error::malformed(
                "ELF",
                format!(
                    "loadable segment {index} wants file bytes {file_offset:#x}..{:#x}, but the file has only {file_len:#x}",
                    file_offset.saturating_add(file_size)
                ),
            ));
        }
        if segments.len() < MAX_SEGMENTS {
            segments.push(Segment {
                vaddr: ph.p_vaddr(endian).into(),
                mem_size: ph.p_memsz(endian).into(),
                file_offset,
                file_size,
                executable: flags & 1 != 0,
            });
        }
    }

    let mut binary = inspect_generic(file, data, Format::Elf, Platform::Unix)?;
    let machine = header.e_machine(endian).0;
    let flags = header.e_flags(endian).0;
    binary.abi_variant = abi_variant(machine, flags, header.is_class_64());
    let big_endian = binary.image.big_endian();
    let pointer_size = binary.image.pointer_size();
    let fixups = dynamic_fixups(file, data, &segments, machine);
    (binary.runpath, binary.rpath) = search_paths(file);
    binary.soname = soname(file);
    binary.arm_eabi = (machine == EM_ARM).then_some(flags >> 24);
    // EF_MIPS_ARCH: 9 is MIPS32R6, 10 is MIPS64R6.
    binary.mips_release6 = machine == EM_MIPS && matches!(flags >> 28, 9 | 10);
    binary.mips_nan = (machine == EM_MIPS).then_some(if flags & EF_MIPS_NAN2008 != 0 {
        NanEncoding::Ieee2008
    } else {
        NanEncoding::Legacy
    });
    binary.version_needs = version_needs(file, data);
    binary.exec_stack = exec_stack;
    binary.rwx_segments = rwx_segments;
    binary.executable_ranges = executable_ranges;
    binary.init_array = init_array;
    binary.textrel = has_textrel(file);
    let dynamic = dynamic_flags(file);
    binary.relro = relro;
    binary.bind_now = dynamic.bind_now;
    binary.symbolic = dynamic.symbolic;
    binary.not_shared = match header.e_type(endian) {
        elf::ET_EXEC => Some(NotShared::Fixed),
        elf::ET_REL => Some(NotShared::Relocatable),
        _ if dynamic.pie => Some(NotShared::Pie),
        _ => None,
    };
    binary.interpreter = interpreter;
    binary.gnu_properties = gnu_properties(file, data, machine);
    binary.interposable_exports = interposable_exports(file);
    binary.image = Image::new(data, segments, fixups, pointer_size, big_endian);
    Ok(binary)
}

/// The constructors' array a dynamic section names (`DT_INIT_ARRAY` and `DT_INIT_ARRAYSZ`,
/// the last of each before `DT_NULL`, as the loader reads them). The loader runs what these
/// tags say, never what a `.init_array` section header says, so the section is not read.
fn init_array_of<Elf: FileHeader<Endian = Endianness>>(
    dynamic: &[Elf::Dyn],
    endian: Endianness,
) -> Option<InitArray> {
    const MAX_DYNAMIC: usize = 4096;
    let (mut address, mut size) = (None, None);
    for d in dynamic.iter().take(MAX_DYNAMIC) {
        match d.d_tag(endian) {
            elf::DT_NULL => break,
            elf::DT_INIT_ARRAY => address = Some(d.d_val(endian).into()),
            elf::DT_INIT_ARRAYSZ => size = Some(d.d_val(endian).into()),
            _ => {}
        }
    }
    let (address, size) = address.zip(size)?;
    Some(InitArray { address, size })
}

/// The ABI variant that the ELF header flags spell out, where the architecture has one.
fn abi_variant(machine: u16, flags: u32, is_64: bool) -> Option<String> {
    let v = match machine {
        EM_ARM => {
            let eabi = flags >> 24;
            let float = if flags & 0x400 != 0 {
                "hard-float"
            } else if flags & 0x200 != 0 {
                "soft-float"
            } else {
                "float-unspecified"
            };
            format!("eabi{eabi}-{float}")
        }
        EM_MIPS => {
            let abi = if is_64 {
                "n64"
            } else if flags & 0x20 != 0 {
                "n32"
            } else {
                "o32"
            };
            let mut s = abi.to_string();
            if flags & EF_MIPS_NAN2008 != 0 {
                s.push_str("-nan2008");
            }
            if flags & 0x200 != 0 {
                s.push_str("-fp64");
            }
            s
        }
        EM_PPC64 => match flags & 3 {
            1 => "elfv1".to_string(),
            2 => "elfv2".to_string(),
            _ => "elf-abi-unspecified".to_string(),
        },
        EM_RISCV => {
            let float = match flags & 0x6 {
                0 => "soft-float",
                2 => "single-float",
                4 => "double-float",
                _ => "quad-float",
            };
            if flags & 0x8 != 0 {
                format!("{float}-rve")
            } else {
                float.to_string()
            }
        }
        EM_LOONGARCH => match flags & 0x7 {
            1 => "soft-float".to_string(),
            2 => "single-float".to_string(),
            3 => "double-float".to_string(),
            _ => "float-abi-unknown".to_string(),
        },
        _ => return None,
    };
    Some(v)
}

/// Reads the dynamic relocation tables named by the dynamic section (so stripped section
/// headers do not hide them) and returns what the loader writes where.
fn dynamic_fixups<'data, Elf, R>(
    file: &ElfFile<'data, Elf, R>,
    data: R,
    segments: &[Segment],
    machine: u16,
) -> Vec<(u64, Fixup)>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let Ok(dynamic) = file.elf_dynamic_table() else {
        return Vec::new();
    };
    let tag = |t: i64| -> Option<u64> {
        dynamic
            .dynamics()
            .iter()
            .find(|d| d.d_tag(endian).0 == t)
            .map(|d| d.d_val(endian).into())
    };
    let to_offset = |vaddr: u64, size: u64| -> Option<u64> {
        segments.iter().find_map(|s| {
            let rel = vaddr.checked_sub(s.vaddr)?;
            (rel.checked_add(size)? <= s.file_size).then(|| s.file_offset + rel)
        })
    };
    let rela = tag(DT_RELA).zip(tag(DT_RELASZ));
    let rel = tag(DT_REL).zip(tag(DT_RELSZ));
    let relr = tag(DT_RELR).zip(tag(DT_RELRSZ));
    let jmprel = tag(DT_JMPREL).zip(tag(DT_PLTRELSZ));
    let plt_is_rela = tag(DT_PLTREL) == Some(DT_RELA as u64);

    let is_mips64el = file.elf_header().is_mips64el(endian);
    let symbols = file.elf_dynamic_symbol_table();
    let symbol = |index: u32| -> (String, Option<u64>) {
        let Ok(sym) = symbols.symbol(SymbolIndex(index as usize)) else {
            return (String::new(), None);
        };
        let name = symbols
            .symbol_name(endian, sym)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let value = (!sym.is_undefined(endian)).then(|| sym.st_value(endian).into());
        (name, value)
    };

    let mut fixups: Vec<(u64, Fixup)> = Vec::new();
    let pointer_size: u64 = if file.elf_header().is_class_64() {
        8
    } else {
        4
    };
    let image_word = |addr: u64| -> Option<u64> {
        let off = to_offset(addr, pointer_size)?;
        let bytes = data.read_bytes_at(off, pointer_size).ok()?;
        Some(read_word(bytes, file.elf_header().is_big_endian()))
    };
    let push = |fixups: &mut Vec<(u64, Fixup)>,
                offset: u64,
                r_type: u32,
                sym: u32,
                addend: Option<i64>| {
        if fixups.len() >= MAX_RELOCATIONS {
            return;
        }
        let implicit = || image_word(offset).unwrap_or(0) as i64;
        match classify(machine, r_type, sym) {
            RelocClass::Relative => {
                let a = addend.unwrap_or_else(implicit);
                fixups.push((offset, Fixup::Relative(a as u64)));
            }
            RelocClass::Word => {
                let a = addend.unwrap_or_else(implicit);
                let (name, value) = symbol(sym);
                fixups.push((
                    offset,
                    Fixup::Symbol {
                        name,
                        value,
                        addend: a,
                    },
                ));
            }
            RelocClass::Other => {}
        }
    };

    let rela_tables = [Some(rela), jmprel.filter(|_| plt_is_rela).map(Some)]
        .into_iter()
        .flatten()
        .flatten();
    for (addr, size) in rela_tables {
        let count = (size / std::mem::size_of::<Elf::Rela>() as u64) as usize;
        let count = count.min(MAX_RELOCATIONS);
        let Some(off) = to_offset(addr, size) else {
            continue;
        };
        let Ok(entries) = data.read_slice_at::<Elf::Rela>(off, count) else {
            continue;
        };
        for r in entries {
            push(
                &mut fixups,
                r.r_offset(endian).into(),
                r.r_type(endian, is_mips64el).0,
                r.r_sym(endian, is_mips64el),
                Some(r.r_addend(endian).into()),
            );
        }
    }
    let rel_tables = [Some(rel), jmprel.filter(|_| !plt_is_rela).map(Some)]
        .into_iter()
        .flatten()
        .flatten();
    for (addr, size) in rel_tables {
        let count = (size / std::mem::size_of::<Elf::Rel>() as u64) as usize;
        let count = count.min(MAX_RELOCATIONS);
        let Some(off) = to_offset(addr, size) else {
            continue;
        };
        let Ok(entries) = data.read_slice_at::<Elf::Rel>(off, count) else {
            continue;
        };
        for r in entries {
            let (r_sym, r_type) = if is_mips64el {
                mips64el_info(r.r_sym(endian), r.r_type(endian).0)
            } else {
                (r.r_sym(endian), r.r_type(endian).0)
            };
            push(&mut fixups, r.r_offset(endian).into(), r_type, r_sym, None);
        }
    }
    if machine == EM_MIPS {
        // After the explicit relocations, so that those win where both name an address.
        mips_got_fixups(&mut fixups, &tag, pointer_size, &image_word, &symbol);
    }
    if let Some((addr, size)) = relr {
        let count = (size / std::mem::size_of::<Elf::Relr>() as u64) as usize;
        let count = count.min(MAX_RELOCATIONS);
        if let Some(entries) =
            to_offset(addr, size).and_then(|off| data.read_slice_at::<Elf::Relr>(off, count).ok())
        {
            for offset in RelrIterator::<Elf>::new(endian, entries).take(MAX_RELOCATIONS) {
                let offset: u64 = offset.into();
                if fixups.len() >= MAX_RELOCATIONS {
                    break;
                }
                let target = image_word(offset).unwrap_or(0);
                fixups.push((offset, Fixup::Relative(target)));
            }
        }
    }
    fixups
}

// MIPS dynamic tags (System V MIPS psABI).
const DT_PLTGOT: i64 = 3;
const DT_MIPS_LOCAL_GOTNO: i64 = 0x7000_000a;
const DT_MIPS_SYMTABNO: i64 = 0x7000_0011;
const DT_MIPS_GOTSYM: i64 = 0x7000_0013;
/// Most MIPS GOT entries turned into fixups.
const MAX_MIPS_GOT: u64 = 1 << 20;

/// The MIPS GOT has no dynamic relocations: the loader adds the load base to every local
/// entry (indices 0..DT_MIPS_LOCAL_GOTNO) and writes the address of dynamic symbol
/// DT_MIPS_GOTSYM + k into global entry DT_MIPS_LOCAL_GOTNO + k. These fixups say so, so
/// that a `lw`/`ld` through `$gp` reads what the code will see. Entry 0 (the lazy resolver)
/// and a GNU module pointer in entry 1 (most significant bit set) are left alone.
fn mips_got_fixups(
    fixups: &mut Vec<(u64, Fixup)>,
    tag: &dyn Fn(i64) -> Option<u64>,
    pointer_size: u64,
    image_word: &dyn Fn(u64) -> Option<u64>,
    symbol: &dyn Fn(u32) -> (String, Option<u64>),
) {
    let (Some(got), Some(local)) = (tag(DT_PLTGOT), tag(DT_MIPS_LOCAL_GOTNO)) else {
        return;
    };
    let msb = 1u64 << (pointer_size * 8 - 1);
    for index in 0..local.min(MAX_MIPS_GOT) {
        if fixups.len() >= MAX_RELOCATIONS {
            return;
        }
        let Some(at) = index
            .checked_mul(pointer_size)
            .and_then(|o| got.checked_add(o))
        else {
            return;
        };
        let Some(raw) = image_word(at) else {
            return;
        };
        if index == 0 || raw == 0 || (index == 1 && raw & msb != 0) {
            continue;
        }
        fixups.push((at, Fixup::Relative(raw)));
    }
    let (Some(first), Some(count)) = (tag(DT_MIPS_GOTSYM), tag(DT_MIPS_SYMTABNO)) else {
        return;
    };
    for (k, sym) in (first..count.min(first.saturating_add(MAX_MIPS_GOT))).enumerate() {
        if fixups.len() >= MAX_RELOCATIONS {
            return;
        }
        let Some(at) = local
            .checked_add(k as u64)
            .and_then(|i| i.checked_mul(pointer_size))
            .and_then(|o| got.checked_add(o))
        else {
            return;
        };
        let Ok(sym) = u32::try_from(sym) else {
            return;
        };
        let (name, value) = symbol(sym);
        fixups.push((
            at,
            Fixup::Symbol {
                name,
                value,
                addend: 0,
            },
        ));
    }
}

/// `r_sym` and `r_type` of a little-endian MIPS64 relocation, from the values the generic
/// accessors read: MIPS64 stores `r_sym` (32 bits) then `r_ssym`, `r_type3`, `r_type2`,
/// `r_type` (8 bits each), which a little-endian 64-bit read scrambles (as `object` undoes
/// for `Rela64::r_info(endian, true)`, which `Rel64` lacks).
fn mips64el_info(generic_sym: u32, generic_type: u32) -> (u32, u32) {
    let t = (u64::from(generic_sym) << 32) | u64::from(generic_type);
    let fixed = (t << 32)
        | ((t >> 8) & 0xff00_0000)
        | ((t >> 24) & 0x00ff_0000)
        | ((t >> 40) & 0x0000_ff00)
        | ((t >> 56) & 0x0000_00ff);
    ((fixed >> 32) as u32, fixed as u32)
}

/// The code address and TOC of the PPC64 ELFv1 function descriptor at `symbol`, if it is
/// one: its first two words are relocated pointers to mapped memory (ELFv2 code there is not
/// relocated). Shared by the entry locator and the code analysis.
pub fn ppc64_descriptor<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    symbol: u64,
) -> Option<(u64, u64)> {
    let relocated = |a: u64| {
        matches!(
            image.fixup_at(a),
            Some(Fixup::Relative(_) | Fixup::Symbol { .. })
        )
    };
    if !relocated(symbol) {
        return None;
    }
    let Ok(Pointer::Address(code)) = image.read_pointer(symbol) else {
        return None;
    };
    let Ok(Pointer::Address(toc)) = image.read_pointer(symbol.checked_add(8)?) else {
        return None;
    };
    image.is_mapped(code).then_some((code, toc))
}

pub(crate) fn read_word(bytes: &[u8], big_endian: bool) -> u64 {
    let mut v: u64 = 0;
    if big_endian {
        for b in bytes {
            v = (v << 8) | u64::from(*b);
        }
    } else {
        for b in bytes.iter().rev() {
            v = (v << 8) | u64::from(*b);
        }
    }
    v
}

/// `DT_RUNPATH` and `DT_RPATH`, split on `:`.
fn search_paths<'data, Elf, R>(file: &ElfFile<'data, Elf, R>) -> (Vec<String>, Vec<String>)
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const DT_RPATH: i64 = 15;
    const DT_RUNPATH: i64 = 29;
    let Ok(dynamic) = file.elf_dynamic_table() else {
        return (Vec::new(), Vec::new());
    };
    let mut runpath = Vec::new();
    let mut rpath = Vec::new();
    for d in dynamic.iter().take(4096) {
        let list = match d.tag.0 {
            DT_RUNPATH => &mut runpath,
            DT_RPATH => &mut rpath,
            _ => continue,
        };
        if let Ok(value) = dynamic.string(d) {
            let value = String::from_utf8_lossy(value);
            list.extend(
                value
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            );
        }
    }
    (runpath, rpath)
}

/// `DT_SONAME`, the name the library gives itself.
fn soname<'data, Elf, R>(file: &ElfFile<'data, Elf, R>) -> Option<String>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const DT_SONAME: i64 = 14;
    let dynamic = file.elf_dynamic_table().ok()?;
    let entry = dynamic.iter().take(4096).find(|d| d.tag.0 == DT_SONAME)?;
    let value = dynamic.string(entry).ok()?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// `DT_TEXTREL`, or `DF_TEXTREL` in `DT_FLAGS`.
fn has_textrel<'data, Elf, R>(file: &ElfFile<'data, Elf, R>) -> bool
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const DT_TEXTREL: i64 = 22;
    const DT_FLAGS: i64 = 30;
    const DF_TEXTREL: u64 = 0x4;
    let Ok(dynamic) = file.elf_dynamic_table() else {
        return false;
    };
    dynamic
        .iter()
        .take(4096)
        .any(|d| d.tag.0 == DT_TEXTREL || (d.tag.0 == DT_FLAGS && d.val & DF_TEXTREL != 0))
}

/// What `DT_FLAGS`, `DT_FLAGS_1` and their older single tags say about binding.
#[derive(Debug, Default, Clone, Copy)]
struct DynamicFlags {
    /// `DT_BIND_NOW`, `DF_BIND_NOW` or `DF_1_NOW`: every symbol bound at load, so RELRO can
    /// cover the PLT's GOT too.
    bind_now: bool,
    /// `DT_SYMBOLIC` or `DF_SYMBOLIC` (`-Bsymbolic`): the library's own references bind to
    /// its own definitions first.
    symbolic: bool,
    /// `DF_1_PIE`: a position-independent executable.
    pie: bool,
}

fn dynamic_flags<'data, Elf, R>(file: &ElfFile<'data, Elf, R>) -> DynamicFlags
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const DT_SYMBOLIC: i64 = 16;
    const DT_BIND_NOW: i64 = 24;
    const DT_FLAGS: i64 = 30;
    const DT_FLAGS_1: i64 = 0x6fff_fffb;
    const DF_SYMBOLIC: u64 = 0x2;
    const DF_BIND_NOW: u64 = 0x8;
    const DF_1_NOW: u64 = 0x1;
    const DF_1_PIE: u64 = 0x0800_0000;
    let mut flags = DynamicFlags::default();
    let Ok(dynamic) = file.elf_dynamic_table() else {
        return flags;
    };
    for d in dynamic.iter().take(4096) {
        match d.tag.0 {
            DT_BIND_NOW => flags.bind_now = true,
            DT_SYMBOLIC => flags.symbolic = true,
            DT_FLAGS => {
                flags.bind_now |= d.val & DF_BIND_NOW != 0;
                flags.symbolic |= d.val & DF_SYMBOLIC != 0;
            }
            DT_FLAGS_1 => {
                flags.bind_now |= d.val & DF_1_NOW != 0;
                flags.pie |= d.val & DF_1_PIE != 0;
            }
            _ => {}
        }
    }
    flags
}

/// Most notes, and properties per note, read from the note segments.
const MAX_NOTES: usize = 256;

/// The `NT_GNU_PROPERTY_TYPE_0` note's x86 and AArch64 properties, from the `PT_NOTE`
/// segments (linkers put `.note.gnu.property` in one, as well as in `PT_GNU_PROPERTY`).
/// `None` when the file has no such note. Properties are 4-byte aligned in ELFCLASS32 and
/// 8-byte aligned in ELFCLASS64 (x86-64 psABI); `object`'s iterator follows the class.
fn gnu_properties<'data, Elf, R>(
    file: &ElfFile<'data, Elf, R>,
    data: R,
    machine: u16,
) -> Option<GnuProperties>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let mut found: Option<GnuProperties> = None;
    for ph in file.elf_program_headers().iter().take(MAX_SEGMENTS) {
        let Ok(Some(notes)) = ph.notes(endian, data) else {
            continue;
        };
        for note in notes.take(MAX_NOTES) {
            let Ok(note) = note else { break };
            let Some(properties) = note.gnu_properties(endian) else {
                continue;
            };
            let props = found.get_or_insert_with(GnuProperties::default);
            for property in properties.take(MAX_NOTES) {
                let Ok(property) = property else { break };
                let Ok(value) = property.data_u32(endian) else {
                    continue;
                };
                match (machine, property.pr_type()) {
                    (EM_X86_64 | EM_386, elf::GNU_PROPERTY_X86_ISA_1_NEEDED) => {
                        props.x86_isa_needed |= value
                    }
                    (EM_X86_64 | EM_386, elf::GNU_PROPERTY_X86_FEATURE_1_AND) => {
                        props.x86_features |= value
                    }
                    (EM_AARCH64, elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND) => {
                        props.aarch64_features |= value
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// Defined dynamic symbols that another object can interpose: global or weak binding,
/// default visibility, a function or data object.
fn interposable_exports<'data, Elf, R>(file: &ElfFile<'data, Elf, R>) -> Vec<String>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let table = file.elf_dynamic_symbol_table();
    let mut out = Vec::new();
    for sym in table.symbols().iter().take(MAX_EXPORTS) {
        let bind = sym.st_bind();
        let kind = sym.st_type();
        if sym.is_undefined(endian)
            || sym.st_visibility() != elf::STV_DEFAULT
            || !(bind == elf::STB_GLOBAL || bind == elf::STB_WEAK)
            || !(kind == elf::STT_FUNC || kind == elf::STT_OBJECT || kind == elf::STT_GNU_IFUNC)
        {
            continue;
        }
        if let Ok(name) = table.symbol_name(endian, sym) {
            out.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    out
}

/// Most `VERNEED`/`VERDEF` entries read from one file (libstdc++ defines about 150).
pub const MAX_VERSIONS: usize = 4096;

/// The versions the file requires of its needed libraries (`SHT_GNU_VERNEED`).
fn version_needs<'data, Elf, R>(file: &ElfFile<'data, Elf, R>, data: R) -> Vec<VersionNeed>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const VER_FLG_WEAK: u16 = 0x2;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Ok(Some((needs, link))) = sections.gnu_verneed(endian, data) else {
        return Vec::new();
    };
    let Ok(strings) = sections.strings(endian, data, link) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Count attempts: a broken table repeats nothing (the iterators stop on error), but a
    // hostile count is capped all the same.
    for need in needs.take(MAX_NEEDED) {
        let Ok((need, auxes)) = need else { break };
        let Ok(library) = need.file(endian, strings) else {
            continue;
        };
        let library = String::from_utf8_lossy(library).into_owned();
        for aux in auxes.take(MAX_VERSIONS) {
            let Ok(aux) = aux else { break };
            if out.len() >= MAX_VERSIONS {
                return out;
            }
            if let Ok(name) = aux.name(endian, strings) {
                out.push(VersionNeed {
                    file: library.clone(),
                    version: String::from_utf8_lossy(name).into_owned(),
                    weak: aux.vna_flags.get(endian).0 & VER_FLG_WEAK != 0,
                });
            }
        }
    }
    out
}

/// The versions an ELF file defines (`SHT_GNU_VERDEF`, each entry's own name, without the
/// file's base entry), or `None` when it has no version definitions (the loader then only
/// warns, "no version information available").
pub fn version_definitions<'data, Elf, R>(
    file: &ElfFile<'data, Elf, R>,
    data: R,
) -> Option<Vec<String>>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const VER_FLG_BASE: u16 = 0x1;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let (defs, link) = sections.gnu_verdef(endian, data).ok()??;
    let strings = sections.strings(endian, data, link).ok()?;
    let mut out = Vec::new();
    for def in defs.take(MAX_VERSIONS) {
        let Ok((def, mut auxes)) = def else { break };
        if def.vd_flags.get(endian).0 & VER_FLG_BASE != 0 {
            continue;
        }
        // The first auxiliary entry names the version; the others name its parents.
        if let Ok(Some(aux)) = auxes.next() {
            if let Ok(name) = aux.name(endian, strings) {
                out.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Some(out)
}
