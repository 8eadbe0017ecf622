//! The facts later layers take from earlier ones instead of reading them again, on the real
//! libraries of the precision corpus (`test/fixtures/precision.sh`): the constructors' array
//! and executable ranges `inspect` reads from the ELF program headers, against the section
//! table (which `inspect` does not read for them; Mach-O and PE record neither), and the
//! callbacks the entry's decoder hands the code analysis.

mod common;

use std::path::PathBuf;

use callconv::inspect::parse;
use callconv::memory::Pointer;
use callconv::platform::Arch;
use common::{files_under, repo};
use object::{Object, ObjectSection, SectionFlags, SectionKind};

fn corpus() -> PathBuf {
    repo().join("test/fixtures/cache/precision")
}

/// An empty corpus skips the test on a developer's machine; in CI it is a failure.
fn skip_outside_ci(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "no corpus in CI: {why}");
    eprintln!("SKIPPED {why}");
}

#[test]
fn init_array_and_code_ranges_agree_with_the_section_table() {
    let libraries = files_under(&corpus().join("debian"), None, &|n| n.ends_with(".so"));
    if libraries.is_empty() {
        return skip_outside_ci("no Debian NIFs under test/fixtures/cache/precision");
    }
    let (mut with_array, mut constructors) = (0, 0);
    for path in &libraries {
        let data = std::fs::read(path).expect("read the library");
        let binary = parse(data.as_slice(), Arch::Unknown)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = object::File::parse(data.as_slice()).expect("object reads it");
        let name = path.display();

        let section = file.section_by_name(".init_array");
        let from_sections = section
            .as_ref()
            .map(|s| (s.address(), s.size()))
            .filter(|(_, size)| *size > 0);
        let from_dynamic = binary.init_array.map(|a| (a.address, a.size));
        assert_eq!(from_dynamic, from_sections, "{name}: .init_array");

        assert!(!binary.executable_ranges.is_empty(), "{name}: no code");
        for s in file.sections() {
            let code = matches!(
                s.flags(),
                SectionFlags::Elf { sh_flags, .. } if sh_flags.0 & object::elf::SHF_EXECINSTR.0 != 0
            );
            if code && s.size() > 0 {
                let last = s.address() + s.size() - 1;
                assert!(
                    binary.is_executable(s.address()) && binary.is_executable(last),
                    "{name}: code section {:?} outside the executable ranges",
                    s.name()
                );
            }
            if s.kind() == SectionKind::UninitializedData && s.size() > 0 {
                assert!(
                    !binary.is_executable(s.address()),
                    "{name}: .bss executable"
                );
            }
        }

        let Some(array) = binary.init_array else {
            continue;
        };
        with_array += 1;
        assert!(
            !binary.is_executable(array.address),
            "{name}: array in code"
        );
        let p = u64::from(binary.image.pointer_size());
        assert_eq!(array.size % p, 0, "{name}: size not a number of pointers");
        for at in (array.address..array.address + array.size).step_by(p as usize) {
            match binary.image.read_pointer(at) {
                // Thumb constructors carry bit 0; the code starts one byte lower.
                Ok(Pointer::Address(ctor)) => {
                    assert!(
                        binary.is_executable(ctor & !1),
                        "{name}: constructor {ctor:#x}"
                    );
                    constructors += 1;
                }
                other => panic!("{name}: .init_array entry at {at:#x} reads {other:?}"),
            }
        }
    }
    assert!(
        with_array > 100,
        "only {with_array} libraries have an .init_array"
    );
    assert!(
        constructors >= with_array,
        "{constructors} constructors read"
    );
    eprintln!(
        "{} libraries, {with_array} with an .init_array, {constructors} constructors",
        libraries.len()
    );
}

#[test]
fn mach_o_and_pe_record_neither() {
    let wheels = files_under(&corpus().join("wheels"), None, &|n| {
        n.ends_with(".so") || n.ends_with(".pyd")
    });
    if wheels.is_empty() {
        return skip_outside_ci("no wheels under test/fixtures/cache/precision");
    }
    for path in &wheels {
        let data = std::fs::read(path).expect("read the library");
        let Ok(binary) = parse(data.as_slice(), Arch::Unknown) else {
            continue;
        };
        assert_eq!(binary.init_array, None, "{}", path.display());
        assert!(binary.executable_ranges.is_empty(), "{}", path.display());
        for export in &binary.exports {
            assert!(!binary.is_executable(export.address), "{}", path.display());
        }
    }
}

/// The entry's decoder hands the analysis the callbacks it read: every `load`, `upgrade` and
/// `unload` the report says is set, at a code address of the library.
#[test]
fn decoded_entries_carry_their_callbacks() {
    let libraries = files_under(&corpus().join("debian"), None, &|n| n.ends_with(".so"));
    if libraries.is_empty() {
        return skip_outside_ci("no Debian NIFs under test/fixtures/cache/precision");
    }
    let mut callbacks = 0;
    for path in &libraries {
        let data = std::fs::read(path).expect("read the library");
        let binary = parse(data.as_slice(), Arch::Unknown).expect("parses");
        let name = path.display();
        // The corpus holds a few helper libraries besides the NIFs.
        let Some((_, init)) = callconv::entry::init_symbol(&binary) else {
            continue;
        };
        let decoded =
            callconv::entry::decode(&binary, init).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(binary.image.is_mapped(decoded.entry_address), "{name}");
        let set: Vec<&str> = [
            ("load", decoded.entry.load),
            ("upgrade", decoded.entry.upgrade),
            ("unload", decoded.entry.unload),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect();
        let read: Vec<&str> = decoded.callbacks.iter().map(|c| c.name).collect();
        assert_eq!(read, set, "{name}");
        for c in &decoded.callbacks {
            assert!(binary.is_executable(c.address & !1), "{name}: {c:?}");
        }
        callbacks += decoded.callbacks.len();
    }
    assert!(callbacks > 100, "only {callbacks} callbacks read");
    eprintln!("{callbacks} callbacks in {} libraries", libraries.len());
}
