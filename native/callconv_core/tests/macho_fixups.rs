//! Mach-O fixups: what dyld writes where, read from `LC_DYLD_CHAINED_FIXUPS` chains and from
//! `LC_DYLD_INFO` opcode streams, against what LLVM's llvm-objdump reads in the same files
//! (`test/fixtures/macho/expected/`, written by `test/fixtures/macho/fetch.sh`).
//!
//! The files: a real Apple-ld library with chained fixups (`test/fixtures/macho/apple-ld/`),
//! the zig-linked cross fixtures (opcodes) and the ld64.lld-linked ones (chains). The pointer
//! formats those linkers do not write (arm64e and its userland variants) are made here by
//! re-encoding the chains of a real file, and must decode to the same fixups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use callconv::memory::{Fixup, Pointer};
use callconv::report::Arch;
use object::macho;
use object::read::macho::{DyldChainedFixups, MachOFile64};
use object::{Endianness, Object, ObjectSegment};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

/// The library an expectations file describes.
fn library_of(expected: &str) -> PathBuf {
    match expected {
        "apple-ld-libgfortran" => return fixtures().join("macho/apple-ld/libgfortran.5.dylib"),
        "lld-weak_defs" => return fixtures().join("macho/weak_defs.dylib"),
        _ => {}
    }
    let (dir, base) = expected
        .rsplit_once('-')
        .expect("expectation names are <target>-<library>");
    fixtures()
        .join("cross")
        .join(dir)
        .join(format!("{base}.so"))
}

/// One fixup as the expectations spell it; `-` stands for a rebase target the reader did
/// not print.
fn spell(fixup: &Fixup) -> String {
    match fixup {
        Fixup::Relative(target) => format!("rebase {target:#x}"),
        Fixup::Symbol { name, addend, .. } => format!("bind {name} {addend}"),
    }
}

fn fixups_of(bytes: &[u8]) -> BTreeMap<u64, Fixup> {
    let binary = callconv::inspect::parse(bytes, Arch::Aarch64).expect("parses");
    binary.image.fixups().iter().cloned().collect()
}

#[test]
fn every_fixup_matches_llvm_objdump() {
    let dir = fixtures().join("macho/expected");
    let mut files = 0;
    let mut chained_rebases = 0;
    let mut mismatches = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("committed expectations") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let expected: BTreeMap<u64, String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (address, what) = l.split_once(' ').unwrap();
                (
                    u64::from_str_radix(address.trim_start_matches("0x"), 16).unwrap(),
                    what.to_string(),
                )
            })
            .collect();
        let bytes = std::fs::read(library_of(&name)).expect("the library is committed");
        let got = fixups_of(&bytes);
        for (address, want) in &expected {
            let have = got.get(address).map(spell);
            let matches = match (want.strip_suffix(" -"), &have) {
                (Some(kind), Some(h)) => h.starts_with(kind),
                (None, Some(h)) => h == want,
                (_, None) => false,
            };
            if !matches {
                mismatches.push(format!("{name} {address:#x}: want {want}, have {have:?}"));
            }
            if !want.ends_with(" -") && want.starts_with("rebase") {
                chained_rebases += 1;
            }
        }
        for (address, fixup) in &got {
            if !expected.contains_key(address) {
                mismatches.push(format!("{name} {address:#x}: {} is extra", spell(fixup)));
            }
        }
        files += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // Apple ld's libgfortran, weak_defs, 3 + 3 ld64.lld and 3 + 3 zig libraries.
    assert_eq!(files, 14);
    // 168 in libgfortran, 13 + 8 in each pair of lld NIFs: their targets were compared.
    assert_eq!(chained_rebases, 168 + 2 * (13 + 8));
}

#[test]
fn apple_ld_library_binds_and_rebases_decode() {
    let bytes = std::fs::read(fixtures().join("macho/apple-ld/libgfortran.5.dylib")).unwrap();
    let binary = callconv::inspect::parse(bytes.as_slice(), Arch::Aarch64).unwrap();
    let image = &binary.image;
    // A GOT slot: the chain entry in the file is not the address of anything; the image
    // names the import it binds.
    let binds: Vec<_> = image
        .fixups()
        .iter()
        .filter(|(_, f)| matches!(f, Fixup::Symbol { .. }))
        .collect();
    assert_eq!(binds.len(), 240);
    let (slot, _) = binds[0];
    assert_ne!(image.read_word(*slot).unwrap(), 0);
    assert!(matches!(image.read_pointer(*slot), Ok(Pointer::Import(ref n)) if n.starts_with('_')));
    // A rebased slot reads as an address inside the library.
    let (slot, _) = image
        .fixups()
        .iter()
        .find(|(_, f)| matches!(f, Fixup::Relative(_)))
        .unwrap();
    let target = image.read_pointer(*slot).unwrap().address().unwrap();
    assert!(image.is_mapped(target), "{target:#x}");
}

/// A bind through dyld's weak lookup to a symbol the library defines reads as that
/// definition, as a pointer to it would once dyld found no other definition first.
#[test]
fn weak_binds_to_own_definitions_read_as_addresses() {
    let bytes = std::fs::read(fixtures().join("macho/weak_defs.dylib")).unwrap();
    let binary = callconv::inspect::parse(bytes.as_slice(), Arch::Aarch64).unwrap();
    for (reference, target) in [("_counter_ref", "_weak_counter"), ("_fn_ref", "_weak_fn")] {
        let slot = binary.export(reference).unwrap().address;
        let want = binary.export(target).unwrap().address;
        assert_eq!(
            binary.image.fixup_at(slot),
            Some(&Fixup::Symbol {
                name: target.to_string(),
                value: Some(want),
                addend: 0
            })
        );
        // The file holds a chain entry (bind bit set), not the address.
        assert_ne!(binary.image.read_word(slot).unwrap(), want);
        assert_eq!(binary.image.read_pointer(slot), Ok(Pointer::Address(want)));
    }
}

// ---------------------------------------------------------------------------------------
// Pointer formats by re-encoding: a DYLD_CHAINED_PTR_64 file's chains rewritten entry by
// entry in another format. The decoding here is written from dyld's fixup-chains.h, apart
// from the code under test.

/// A decoded `DYLD_CHAINED_PTR_64` entry.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Rebase { target: u64, high8: u64 },
    Bind { ordinal: u64, addend: u64 },
}

/// Where one format's entries are, and what they hold: (file offset, entry, next in bytes).
fn chain_entries(bytes: &[u8]) -> (Vec<usize>, Vec<(usize, Entry, u64)>) {
    let file = MachOFile64::<Endianness, _>::parse(bytes).unwrap();
    let endian = file.endian();
    let segments: Vec<(u64, u64)> = file.segments().map(|s| s.file_range()).collect();
    let mut commands = file.macho_load_commands().unwrap();
    let mut format_fields = Vec::new();
    let mut entries = Vec::new();
    while let Some(command) = commands.next().unwrap() {
        let Some(linkedit) = command.dyld_chained_fixups().unwrap() else {
            continue;
        };
        let chained: DyldChainedFixups<'_, Endianness> =
            linkedit.chained_fixups(endian, bytes).unwrap();
        for segment in chained.segments(endian).unwrap() {
            let segment = segment.unwrap();
            let header = segment.header();
            let at = std::ptr::from_ref(header) as usize - bytes.as_ptr() as usize;
            // size u32, page_size u16, then pointer_format u16.
            format_fields.push(at + 6);
            assert_eq!(
                header.pointer_format.get(endian),
                macho::DYLD_CHAINED_PTR_64
            );
            let page_size = u64::from(header.page_size.get(endian));
            let (seg_offset, _) = segments[segment.index() as usize];
            let starts_at = at + std::mem::size_of_val(header);
            for page in 0..usize::from(header.page_count.get(endian)) {
                let start = u16::from_le_bytes(
                    bytes[starts_at + 2 * page..starts_at + 2 * page + 2]
                        .try_into()
                        .unwrap(),
                );
                if start == macho::DYLD_CHAINED_PTR_START_NONE {
                    continue;
                }
                let mut offset = seg_offset + page as u64 * page_size + u64::from(start);
                loop {
                    let o = offset as usize;
                    let v = u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
                    let next = ((v >> 51) & 0xfff) * 4;
                    let entry = if v >> 63 == 1 {
                        Entry::Bind {
                            ordinal: v & 0xff_ffff,
                            addend: (v >> 24) & 0xff,
                        }
                    } else {
                        Entry::Rebase {
                            target: v & 0xf_ffff_ffff,
                            high8: (v >> 36) & 0xff,
                        }
                    };
                    entries.push((o, entry, next));
                    if next == 0 {
                        break;
                    }
                    offset += next;
                }
            }
        }
    }
    (format_fields, entries)
}

/// Rewrites every chain of `bytes` in `format`; every other entry is authenticated where
/// `auth` is set (arm64e only).
fn reencode(bytes: &[u8], format: u16, auth: bool) -> Vec<u8> {
    let (fields, entries) = chain_entries(bytes);
    assert!(!entries.is_empty());
    let mut out = bytes.to_vec();
    for at in fields {
        out[at..at + 2].copy_from_slice(&format.to_le_bytes());
    }
    let arm64e = format != macho::DYLD_CHAINED_PTR_64_OFFSET.0;
    for (i, (at, entry, next)) in entries.into_iter().enumerate() {
        let signed = auth && i % 2 == 1;
        let v = if !arm64e {
            // DYLD_CHAINED_PTR_64_OFFSET has the layout of DYLD_CHAINED_PTR_64; a dylib's
            // preferred load address is 0, so its vm offsets are its addresses.
            u64::from_le_bytes(out[at..at + 8].try_into().unwrap())
        } else {
            // arm64e: stride 8, next in bits 51..62, bind bit 62, auth bit 63.
            assert_eq!(next % 8, 0);
            let next = (next / 8) << 51;
            match entry {
                Entry::Rebase { target, high8 } if signed => {
                    assert_eq!(high8, 0);
                    // target (runtime offset) 0..32, diversity 32..48, addrDiv 48, key 49..51.
                    target | (0x1234 << 32) | (1 << 48) | (2 << 49) | next | (1 << 63)
                }
                Entry::Rebase { target, high8 } => target | (high8 << 43) | next,
                Entry::Bind { ordinal, addend } => {
                    let ordinal_bits = if format == macho::DYLD_CHAINED_PTR_ARM64E_USERLAND24.0 {
                        24
                    } else {
                        16
                    };
                    assert!(ordinal < 1 << ordinal_bits);
                    if signed && addend == 0 {
                        ordinal | (0x4321 << 32) | (3 << 49) | next | (1 << 62) | (1 << 63)
                    } else {
                        // addend: 19 signed bits at 32.
                        ordinal | (addend << 32) | next | (1 << 62)
                    }
                }
            }
        };
        out[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn every_userland_pointer_format_decodes_to_the_same_fixups() {
    for dir in ["aarch64-macos-chained", "x86_64-macos-chained"] {
        let path = fixtures().join("cross").join(dir).join("hello_nif.so");
        let original = std::fs::read(&path).unwrap();
        let want = fixups_of(&original);
        assert!(want.len() > 10, "{dir}: {}", want.len());
        let arch = if dir.starts_with("aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        let want_entry = {
            let binary = callconv::inspect::parse(original.as_slice(), arch).unwrap();
            let (_, init) = callconv::entry::init_symbol(&binary).unwrap();
            callconv::entry::decode(&binary, init).unwrap().entry
        };
        for (format, auth) in [
            (macho::DYLD_CHAINED_PTR_64_OFFSET, false),
            (macho::DYLD_CHAINED_PTR_ARM64E, false),
            (macho::DYLD_CHAINED_PTR_ARM64E, true),
            (macho::DYLD_CHAINED_PTR_ARM64E_USERLAND, true),
            (macho::DYLD_CHAINED_PTR_ARM64E_USERLAND24, true),
        ] {
            let bytes = reencode(&original, format.0, auth);
            assert_ne!(bytes, original);
            let got = fixups_of(&bytes);
            assert_eq!(got, want, "{dir} in pointer format {}", format.0);
            let binary = callconv::inspect::parse(bytes.as_slice(), arch).unwrap();
            let (_, init) = callconv::entry::init_symbol(&binary).unwrap();
            let decoded = callconv::entry::decode(&binary, init).unwrap();
            assert_eq!(decoded.entry, want_entry, "{dir} in format {}", format.0);
        }
    }
}

#[test]
fn broken_chains_are_errors() {
    let path = fixtures().join("cross/aarch64-macos-chained/hello_nif.so");
    let original = std::fs::read(path).unwrap();
    let (fields, entries) = chain_entries(&original);
    let parse = |bytes: &[u8]| {
        callconv::inspect::parse(bytes, Arch::Aarch64)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };

    // A bind of an import that does not exist.
    let (at, _, _) = *entries
        .iter()
        .find(|(_, e, _)| matches!(e, Entry::Bind { .. }))
        .unwrap();
    let mut bytes = original.clone();
    let v = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    bytes[at..at + 8].copy_from_slice(&(v | 0xff_ffff).to_le_bytes());
    let err = parse(&bytes).unwrap_err();
    assert!(err.contains("names import 16777215"), "{err}");

    // A chain whose last entry points on, past the end of its segment.
    let (at, _, _) = *entries
        .iter()
        .rev()
        .find(|(_, _, next)| *next == 0)
        .unwrap();
    let mut bytes = original.clone();
    let v = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    bytes[at..at + 8].copy_from_slice(&(v | (0xfff << 51)).to_le_bytes());
    let err = parse(&bytes).unwrap_err();
    assert!(err.contains("fixups cannot be read"), "{err}");

    // A pointer format dyld does not load in a library (the kernel-cache one).
    let mut bytes = original.clone();
    for at in &fields {
        bytes[*at..*at + 2].copy_from_slice(&8u16.to_le_bytes());
    }
    let err = parse(&bytes).unwrap_err();
    assert!(err.contains("pointer format 8"), "{err}");

    // And the original reads.
    parse(&original).unwrap();
}

/// The chains of each slice of a universal file are read relative to that slice: the same
/// fixups and the same entry as the thin files.
#[test]
fn chains_in_a_universal_file_are_read_per_slice() {
    let thin: Vec<(Arch, Vec<u8>)> = [
        (Arch::X86_64, "x86_64-macos-chained"),
        (Arch::Aarch64, "aarch64-macos-chained"),
    ]
    .into_iter()
    .map(|(arch, dir)| {
        let path = fixtures().join("cross").join(dir).join("hello_nif.so");
        (arch, std::fs::read(path).unwrap())
    })
    .collect();
    // fat_header and fat_arch (big-endian), slices aligned to 2^14, as lipo writes them.
    let align = 1usize << 14;
    let mut fat = Vec::new();
    fat.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
    fat.extend_from_slice(&(thin.len() as u32).to_be_bytes());
    let mut offset = 8 + 20 * thin.len();
    let mut body = Vec::new();
    for (_, bytes) in &thin {
        offset = offset.div_ceil(align) * align;
        // cputype and cpusubtype, from the thin header.
        for word in [4, 8] {
            let v = u32::from_le_bytes(bytes[word..word + 4].try_into().unwrap());
            fat.extend_from_slice(&v.to_be_bytes());
        }
        for v in [offset, bytes.len(), 14] {
            fat.extend_from_slice(&(v as u32).to_be_bytes());
        }
        body.resize(offset - 8 - 20 * thin.len(), 0);
        body.extend_from_slice(bytes);
        offset += bytes.len();
    }
    fat.extend_from_slice(&body);

    for (arch, bytes) in &thin {
        let universal = callconv::inspect::parse(fat.as_slice(), *arch).unwrap();
        assert_eq!(universal.arch, *arch);
        let alone = callconv::inspect::parse(bytes.as_slice(), *arch).unwrap();
        assert!(!alone.image.fixups().is_empty());
        assert_eq!(universal.image.fixups(), alone.image.fixups(), "{arch:?}");
        let (_, init) = callconv::entry::init_symbol(&universal).unwrap();
        let entry = callconv::entry::decode(&universal, init).unwrap().entry;
        assert_eq!(entry.module, "Elixir.Callconv.Fixtures.Hello");
        assert_eq!(entry.functions.len(), 3);
    }
}
