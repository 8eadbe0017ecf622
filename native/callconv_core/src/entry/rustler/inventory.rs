//! The `.init_array` walk that finds Rustler ≥ 0.34's `inventory` nodes, the ELF facts it
//! reads through the image, and the Rustler version the library names.

use std::collections::BTreeMap;

use object::ReadRef;

use super::eval::{run, Cpu, State, MAX_CALL_DEPTH};
use super::{NifFunction, MAX_CTORS, MAX_CTOR_INSNS};
use crate::memory::{Image, Pointer};

/// Most program headers and dynamic entries read.
const MAX_PHDRS: usize = 1024;
const MAX_DYNAMIC: usize = 4096;
/// Most bytes scanned for a `rustler-X.Y.Z/` source path.
const MAX_VERSION_SCAN: usize = 64 << 20;
/// The largest arity the BEAM accepts (`MAX_ARG`).
const MAX_ARITY: u32 = 255;

/// The `inventory` node one constructor submits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    record: u64,
    vtable: u64,
}

/// Collects the `rustler::Nif` records registered by `.init_array` constructors, in the order
/// `inventory::iter` yields them (the reverse of the constructors' order).
pub(super) fn inventory_table<'data, R: ReadRef<'data>>(
    cpu: &dyn Cpu,
    image: &Image<R>,
    elf: &ElfInfo,
) -> Result<(Vec<NifFunction>, Vec<Option<u64>>), String> {
    let p = u64::from(image.pointer_size());
    let (array, size) = elf
        .init_array
        .ok_or("the function table is built at run time, and the library has no .init_array")?;
    let count = usize::try_from(size / p)
        .unwrap_or(usize::MAX)
        .min(MAX_CTORS);
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count as u64 {
        let Ok(Pointer::Address(ctor)) = image.read_pointer(array + i * p) else {
            continue;
        };
        if !elf.executable(ctor) {
            continue;
        }
        let mut state = State::new(cpu.stack_register(), cpu.stack_top(), image.big_endian());
        cpu.begin(&mut state, ctor);
        // Constructors that the evaluator cannot follow to the end still name their node
        // before anything it does not understand; what was seen is what counts.
        let mut budget = MAX_CTOR_INSNS;
        let _ = run(cpu, image, ctor, &mut budget, &mut state, MAX_CALL_DEPTH);
        if let Some(node) = state.refs.iter().find_map(|a| node_at(image, *a)) {
            if !nodes.iter().any(|n| n.record == node.record) {
                nodes.push(node);
            }
        }
    }
    // Records of one type share the `submit` method of their `ErasedNode` impl, which names
    // the type's registry. The vtable itself is not unique: each codegen unit that submits
    // nodes emits its own copy (callconv's own NIF has two, one per source module).
    let mut groups: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for n in &nodes {
        groups
            .entry(registry_key(image, n.vtable))
            .or_default()
            .push(n.record);
    }
    let record_size = 2 * p + 8;
    let mut found: Vec<Vec<(NifFunction, u64)>> = Vec::new();
    for (key, records) in &groups {
        let vtable = nodes
            .iter()
            .find(|n| records.first() == Some(&n.record))
            .map_or(*key, |n| n.vtable);
        let size = image.read_word(vtable + p).ok();
        let align = image.read_word(vtable + 2 * p).ok();
        if size != Some(record_size) || align != Some(p) {
            continue;
        }
        if let Some(table) = nif_records(image, elf, records) {
            found.push(table);
        }
    }
    let table = match found.len() {
        1 => found.pop().unwrap_or_default(),
        0 => {
            return Err(format!(
                "the function table is built at run time from inventory, and none of the {} nodes the .init_array constructors register looks like rustler::Nif",
                nodes.len()
            ))
        }
        n => {
            return Err(format!(
                "the function table is built at run time from inventory, and {n} registries hold rustler::Nif-shaped records"
            ))
        }
    };
    // Constructors push onto a list in .init_array order; iteration starts at the head.
    let (functions, addresses) = table.into_iter().rev().map(|(f, a)| (f, Some(a))).unzip();
    Ok((functions, addresses))
}

/// What identifies the registry a node is submitted to: the `submit` method in its
/// `dyn ErasedNode` vtable (`[drop_in_place, size, align, submit]`), else the vtable itself.
pub(super) fn registry_key<'data, R: ReadRef<'data>>(image: &Image<R>, vtable: u64) -> u64 {
    let p = u64::from(image.pointer_size());
    match image.read_pointer(vtable + 3 * p) {
        Ok(Pointer::Address(submit)) => submit,
        _ => vtable,
    }
}

/// An `inventory::Node` at `addr`: `{ value: &dyn ErasedNode (data, vtable), next }`.
pub(super) fn node_at<'data, R: ReadRef<'data>>(image: &Image<R>, addr: u64) -> Option<Node> {
    let p = u64::from(image.pointer_size());
    let Ok(Pointer::Address(record)) = image.read_pointer(addr) else {
        return None;
    };
    let Ok(Pointer::Address(vtable)) = image.read_pointer(addr + p) else {
        return None;
    };
    // `next` is None until the constructor runs.
    if image.read_pointer(addr + 2 * p) != Ok(Pointer::Null) {
        return None;
    }
    (image.is_mapped(record) && image.is_mapped(vtable)).then_some(Node { record, vtable })
}

/// Reads `records` as `rustler::Nif { name, arity, flags, raw_func }` in whatever field order
/// they share; None unless every record fits.
pub(super) fn nif_records<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    elf: &ElfInfo,
    records: &[u64],
) -> Option<Vec<(NifFunction, u64)>> {
    let p = u64::from(image.pointer_size());
    let first = *records.first()?;
    let slots = (2 * p + 8) / p;
    // Pointer slots carry a relocation; the others hold the two u32s.
    let pointer_slots: Vec<u64> = (0..slots)
        .map(|i| i * p)
        .filter(|off| image.fixup_at(first + off).is_some())
        .collect();
    let [a, b] = pointer_slots.as_slice() else {
        return None;
    };
    let target = |rec: u64, off: u64| match image.read_pointer(rec + off) {
        Ok(Pointer::Address(t)) => Some(t),
        _ => None,
    };
    let (name_off, fptr_off) = if elf.executable(target(first, *b)?) {
        (*a, *b)
    } else {
        (*b, *a)
    };
    let int_offsets: Vec<u64> = (0..2 * p + 8)
        .step_by(4)
        .filter(|o| !pointer_slots.iter().any(|s| (*s..*s + p).contains(o)))
        .collect();
    let [i0, i1] = int_offsets.as_slice() else {
        return None;
    };
    let mut raw = Vec::new();
    for rec in records {
        let name_ptr = target(*rec, name_off)?;
        let fptr = target(*rec, fptr_off)?;
        if elf.executable(name_ptr) || !elf.executable(fptr) {
            return None;
        }
        let name = image.read_c_string(name_ptr).ok()?;
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let v0 = image.read_u32(rec + i0).ok()?;
        let v1 = image.read_u32(rec + i1).ok()?;
        raw.push((name, v0, v1, fptr));
    }
    // Declaration order (arity, then flags) unless the values rule it out.
    let fits = |swap: bool| {
        raw.iter().all(|(_, v0, v1, _)| {
            let (arity, flags) = if swap { (*v1, *v0) } else { (*v0, *v1) };
            arity <= MAX_ARITY && flags <= 2
        })
    };
    let swap = if fits(false) {
        false
    } else if fits(true) {
        true
    } else {
        return None;
    };
    Some(
        raw.into_iter()
            .map(|(name, v0, v1, fptr)| {
                let (arity, flags) = if swap { (v1, v0) } else { (v0, v1) };
                (NifFunction { name, arity, flags }, fptr)
            })
            .collect(),
    )
}

/// The Rustler version named by the panic-location paths compiled into the library
/// (`…/rustler-0.36.2/src/…`), when exactly one version appears.
pub fn rustler_version<'data, R: ReadRef<'data>>(image: &Image<R>) -> Option<String> {
    const NEEDLE: &[u8] = b"rustler-";
    let mut versions: Vec<String> = Vec::new();
    let mut budget = MAX_VERSION_SCAN;
    for seg in image.segments() {
        let len = usize::try_from(seg.file_size)
            .unwrap_or(usize::MAX)
            .min(budget);
        budget -= len;
        let Ok(bytes) = image.read_bytes(seg.vaddr, len) else {
            continue;
        };
        let mut start = 0;
        while let Some(pos) = bytes
            .get(start..)
            .and_then(|rest| rest.windows(NEEDLE.len()).position(|w| w == NEEDLE))
        {
            let begin = start + pos + NEEDLE.len();
            let tail = bytes.get(begin..).unwrap_or_default();
            let len = tail
                .iter()
                .take(32)
                .take_while(|c| c.is_ascii_digit() || **c == b'.')
                .count();
            let version = tail.get(..len).unwrap_or_default();
            let dots = version.iter().filter(|c| **c == b'.').count();
            let sep = tail.get(len).copied();
            if dots == 2 && matches!(sep, Some(b'/') | Some(b'\\')) {
                let v = String::from_utf8_lossy(version).into_owned();
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
            start = begin;
        }
    }
    match versions.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------
// ELF facts read through the image: executable ranges and the .init_array.

pub(super) const PT_LOAD: u32 = 1;
pub(super) const PT_DYNAMIC: u32 = 2;
pub(super) const PF_X: u32 = 1;
pub(super) const DT_NULL: u64 = 0;
pub(super) const DT_INIT_ARRAY: u64 = 25;
pub(super) const DT_INIT_ARRAYSZ: u64 = 27;

#[derive(Debug, Default)]
pub(super) struct ElfInfo {
    /// `[start, end)` of executable segments.
    executable: Vec<(u64, u64)>,
    /// `DT_INIT_ARRAY` and `DT_INIT_ARRAYSZ`.
    init_array: Option<(u64, u64)>,
}

impl ElfInfo {
    fn executable(&self, addr: u64) -> bool {
        self.executable
            .iter()
            .any(|(s, e)| (*s..*e).contains(&addr))
    }

    /// Reads the ELF header and program headers where the first loadable segment maps them.
    pub(super) fn read<'data, R: ReadRef<'data>>(image: &Image<R>) -> Option<Self> {
        let file_vaddr = |off: u64| {
            image
                .segments()
                .iter()
                .find(|s| off >= s.file_offset && off - s.file_offset < s.file_size)
                .map(|s| s.vaddr + (off - s.file_offset))
        };
        let header = file_vaddr(0)?;
        let ident = image.read_bytes(header, 16).ok()?;
        let big = ident.get(5) == Some(&2);
        if ident.get(..4) != Some(b"\x7fELF".as_slice()) || big != image.big_endian() {
            return None;
        }
        let wide = ident.get(4) == Some(&2);
        let u16_at = |a: u64| -> Option<u64> {
            let b = image.read_bytes(a, 2).ok()?;
            let arr = [*b.first()?, *b.get(1)?];
            Some(u64::from(if big {
                u16::from_be_bytes(arr)
            } else {
                u16::from_le_bytes(arr)
            }))
        };
        let u32_at = |a: u64| image.read_u32(a).ok().map(u64::from);
        let word_at = |a: u64| {
            if wide {
                image.read_word(a).ok()
            } else {
                u32_at(a)
            }
        };
        let (phoff, phentsize, phnum) = if wide {
            (
                word_at(header + 0x20)?,
                u16_at(header + 0x36)?,
                u16_at(header + 0x38)?,
            )
        } else {
            (
                word_at(header + 0x1c)?,
                u16_at(header + 0x2a)?,
                u16_at(header + 0x2c)?,
            )
        };
        let phdrs = file_vaddr(phoff)?;
        let mut info = ElfInfo::default();
        let mut dynamic = None;
        for i in 0..phnum.min(MAX_PHDRS as u64) {
            let ph = phdrs + i * phentsize;
            let p_type = u32_at(ph)? as u32;
            let (flags, vaddr, filesz, memsz) = if wide {
                (
                    u32_at(ph + 4)?,
                    word_at(ph + 16)?,
                    word_at(ph + 32)?,
                    word_at(ph + 40)?,
                )
            } else {
                (
                    u32_at(ph + 24)?,
                    word_at(ph + 8)?,
                    word_at(ph + 16)?,
                    word_at(ph + 20)?,
                )
            };
            if p_type == PT_LOAD && flags as u32 & PF_X != 0 {
                info.executable.push((vaddr, vaddr.saturating_add(memsz)));
            }
            if p_type == PT_DYNAMIC {
                dynamic = Some((vaddr, filesz));
            }
        }
        if let Some((dyn_at, dyn_size)) = dynamic {
            let entry = if wide { 16 } else { 8 };
            let half = entry / 2;
            let (mut array, mut size) = (None, None);
            for i in 0..(dyn_size / entry).min(MAX_DYNAMIC as u64) {
                let at = dyn_at + i * entry;
                let tag = word_at(at)?;
                let val = word_at(at + half)?;
                match tag {
                    DT_NULL => break,
                    DT_INIT_ARRAY => array = Some(val),
                    DT_INIT_ARRAYSZ => size = Some(val),
                    _ => {}
                }
            }
            info.init_array = array.zip(size);
        }
        Some(info)
    }
}
