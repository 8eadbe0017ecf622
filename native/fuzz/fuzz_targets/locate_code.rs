//! The `nif_init` follower on raw machine code: the input's first byte picks the
//! architecture (low bits) and the byte order (top bit), the rest is mapped as one segment
//! at 0x1000 and followed from there. This reaches the evaluators' corners (jumps, loops,
//! loads through memory, calls, unknown instructions) far faster than mutating whole files.
#![no_main]

use callconv::entry::locate::locate_entry;
use callconv::memory::{Fixup, Image, Segment};
use callconv::report::Arch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, code)) = data.split_first() else {
        return;
    };
    // Indices 0..=2 keep the committed regression inputs' meaning.
    const ARCHES: [(Arch, u8); 14] = [
        (Arch::X86_64, 8),
        (Arch::X86, 4),
        (Arch::Aarch64, 8),
        (Arch::Arm, 4),
        (Arch::Riscv64, 8),
        (Arch::Riscv32, 4),
        (Arch::Powerpc64, 8),
        (Arch::Powerpc, 4),
        (Arch::Mips, 4),
        (Arch::Mips64, 8),
        (Arch::S390x, 8),
        (Arch::Loongarch64, 8),
        (Arch::Sparc, 4),
        (Arch::Sparc64, 8),
    ];
    let (arch, pointer_size) = ARCHES[usize::from(selector & 0x7f) % ARCHES.len()];
    let big_endian = selector & 0x80 != 0;
    let base = 0x1000;
    let len = code.len() as u64;
    let segments = vec![
        Segment {
            vaddr: base,
            mem_size: len + (u64::from(selector) << 4),
            file_offset: 0,
            file_size: len,
        },
        // A second mapping aliasing the same bytes, so jumps between segments are followed.
        Segment {
            vaddr: 0x40_0000,
            mem_size: len,
            file_offset: 0,
            file_size: len,
        },
    ];
    let fixups = vec![
        (base + 8, Fixup::Relative(base)),
        (base + 16, Fixup::Relative(0x40_0000)),
    ];
    let image = Image::new(code, segments, fixups, pointer_size, big_endian);
    let _ = locate_entry(&image, arch, base);
    // Thumb on ARM, a descriptor on PowerPC64 ELFv1.
    let _ = locate_entry(&image, arch, base | 1);
    let _ = locate_entry(&image, arch, base + 8);
});
