//! The `.init_array` walk that finds Rustler ≥ 0.34's `inventory` nodes, and the Rustler
//! version the library names. Where the array lies and which addresses are code are format
//! facts that `inspect` read ([`Binary::init_array`], [`Binary::is_executable`]).

use std::collections::BTreeMap;

use object::ReadRef;

use super::eval::{run, Cpu, State, MAX_CALL_DEPTH};
use super::{NifFunction, MAX_CTORS, MAX_CTOR_INSNS};
use crate::inspect::Binary;
use crate::memory::{Image, Pointer};

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
    binary: &Binary<R>,
) -> Result<(Vec<NifFunction>, Vec<Option<u64>>), String> {
    let image = &binary.image;
    let p = u64::from(image.pointer_size());
    let init_array = binary
        .init_array
        .ok_or("the function table is built at run time, and the library has no .init_array")?;
    let array = init_array.address;
    let count = usize::try_from(init_array.size / p)
        .unwrap_or(usize::MAX)
        .min(MAX_CTORS);
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count as u64 {
        // The array's address is the file's word: it may lie at the end of the address space.
        let Some(slot) = array.checked_add(i * p) else {
            break;
        };
        let Ok(Pointer::Address(ctor)) = image.read_pointer(slot) else {
            continue;
        };
        if !binary.is_executable(ctor) {
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
        if let Some(table) = nif_records(binary, records) {
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
    binary: &Binary<R>,
    records: &[u64],
) -> Option<Vec<(NifFunction, u64)>> {
    let image = &binary.image;
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
    let (name_off, fptr_off) = if binary.is_executable(target(first, *b)?) {
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
        if binary.is_executable(name_ptr) || !binary.is_executable(fptr) {
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
