//! PE fixups: the base-relocated slots and the import address table, against what LLVM's
//! llvm-readobj reads in the committed Windows cross fixtures (`test/fixtures/pe/expected/`,
//! written by `test/fixtures/pe/expect.sh`), and the NIF entry's pointer slots among them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use callconv::memory::{Fixup, Pointer};
use callconv::report::Arch;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures")
}

const TARGETS: [(&str, Arch); 3] = [
    ("x86_64-windows-gnu", Arch::X86_64),
    ("aarch64-windows-gnu", Arch::Aarch64),
    ("x86-windows-gnu", Arch::X86),
];

#[test]
fn every_fixup_matches_llvm_readobj() {
    let mut files = 0;
    let mut mismatches = Vec::new();
    for (dir, arch) in TARGETS {
        for base in ["hello_nif", "plain_lib"] {
            let expected =
                std::fs::read_to_string(fixtures().join(format!("pe/expected/{dir}-{base}.txt")))
                    .expect("committed expectations");
            let expected: BTreeMap<u64, String> = expected
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let (address, what) = l.split_once(' ').unwrap();
                    let address =
                        u64::from_str_radix(address.trim_start_matches("0x"), 16).unwrap();
                    // Only whole-pointer relocations are kept; the fixtures have no other.
                    let what = what
                        .replace("reloc DIR64", "reloc")
                        .replace("reloc HIGHLOW", "reloc");
                    (address, what)
                })
                .collect();
            let bytes = std::fs::read(fixtures().join(format!("cross/{dir}/{base}.dll"))).unwrap();
            let binary = callconv::inspect::parse(bytes.as_slice(), arch).unwrap();
            let got: BTreeMap<u64, String> = binary
                .image
                .fixups()
                .iter()
                .map(|(address, fixup)| {
                    let what = match fixup {
                        Fixup::Relative(target) => {
                            // At the preferred base the slot already holds its target.
                            assert_eq!(binary.image.read_word(*address), Ok(*target));
                            "reloc".to_string()
                        }
                        Fixup::Symbol { name, .. } => format!("import {name}"),
                    };
                    (*address, what)
                })
                .collect();
            assert!(expected.values().any(|w| w == "reloc"));
            assert!(expected.values().any(|w| w.starts_with("import ")));
            if got != expected {
                mismatches.push(format!(
                    "{dir}/{base}:\n  want {expected:?}\n  have {got:?}"
                ));
            }
            files += 1;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(files, 6);
}

/// Every non-NULL pointer field of the entry and of its function table is a slot the loader
/// relocates, and a NULL one is not.
#[test]
fn the_entry_pointer_slots_are_base_relocated() {
    for (dir, arch) in TARGETS {
        let bytes = std::fs::read(fixtures().join(format!("cross/{dir}/hello_nif.dll"))).unwrap();
        let binary = callconv::inspect::parse(bytes.as_slice(), arch).unwrap();
        let image = &binary.image;
        let (_, init) = callconv::entry::init_symbol(&binary).expect("nif_init");
        let entry = callconv::entry::locate::locate_entry(image, arch, init)
            .expect("located")
            .address;
        // ErlNifEntry (NIF 2.16), in pointer-sized fields but for the ints: major, minor,
        // name, num_of_funcs, funcs, load, reload, upgrade, unload, vm_variant, options,
        // sizeof_ErlNifResourceTypeInit, min_erts. ErlNifFunc: name, arity, fptr, flags.
        let p = u64::from(image.pointer_size());
        let (name, count_at, funcs_at) = (8, if p == 8 { 16 } else { 12 }, 2 * p + 8);
        let mut relocated = 0;
        let mut check = |slot: u64| match image.read_pointer(slot).unwrap() {
            Pointer::Null => assert_eq!(image.fixup_at(slot), None, "{dir} {slot:#x}"),
            Pointer::Address(target) => {
                assert_eq!(
                    image.fixup_at(slot),
                    Some(&Fixup::Relative(target)),
                    "{dir} {slot:#x}"
                );
                relocated += 1;
            }
            Pointer::Import(name) => panic!("{dir} {slot:#x} imports {name}"),
        };
        let callbacks = (0..5).map(|i| funcs_at + p * (1 + i));
        let min_erts = funcs_at + 7 * p + p.max(4);
        for offset in [name, funcs_at]
            .into_iter()
            .chain(callbacks)
            .chain([min_erts])
        {
            check(entry + offset);
        }
        let funcs = image
            .read_pointer(entry + funcs_at)
            .unwrap()
            .address()
            .unwrap();
        let count = image.read_u32(entry + count_at).unwrap();
        assert_eq!(count, 3);
        let func_size = 4 * p;
        for i in 0..u64::from(count) {
            check(funcs + func_size * i);
            check(funcs + func_size * i + 2 * p);
        }
        // name, funcs, load, upgrade, unload, vm_variant, min_erts; 2 per function.
        assert_eq!(relocated, 7 + 2 * 3, "{dir}");
    }
}

/// A broken base-relocation table is skipped from where it breaks, as ELF's tables are: the
/// library still reads, with the import slots and the relocations before the break.
#[test]
fn a_broken_relocation_table_keeps_what_came_before() {
    use object::read::pe::PeFile64;
    let path = fixtures().join("cross/x86_64-windows-gnu/hello_nif.dll");
    let original = std::fs::read(path).unwrap();
    let file = PeFile64::parse(original.as_slice()).unwrap();
    let (reloc_at, _) = file
        .data_directory(object::pe::IMAGE_DIRECTORY_ENTRY_BASERELOC)
        .unwrap()
        .file_range(&file.section_table())
        .unwrap();
    let reloc_at = reloc_at as usize;
    let first_block = u32::from_le_bytes(original[reloc_at + 4..reloc_at + 8].try_into().unwrap());
    let count = |bytes: &[u8]| {
        let binary = callconv::inspect::parse(bytes, Arch::X86_64).unwrap();
        let fixups = binary.image.fixups();
        let relocs = fixups
            .iter()
            .filter(|(_, f)| matches!(f, Fixup::Relative(_)))
            .count();
        (relocs, fixups.len() - relocs)
    };
    let (relocs, imports) = count(&original);
    assert!(relocs > 10 && imports > 10, "{relocs} {imports}");

    // The second block's size is not a multiple of 4: the table ends after the first.
    let mut bytes = original.clone();
    let second = reloc_at + first_block as usize;
    bytes[second + 4..second + 8].copy_from_slice(&3u32.to_le_bytes());
    let first_count = (first_block as usize - 8) / 2;
    let (kept, kept_imports) = count(&bytes);
    assert!(kept < relocs && kept <= first_count, "{kept} of {relocs}");
    assert!(kept > 0);
    assert_eq!(kept_imports, imports);
}
