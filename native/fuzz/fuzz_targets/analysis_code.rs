//! The code analysis on raw machine code: the first byte picks x86-64, x86, AArch64, 32-bit
//! Arm (A32, or Thumb roots when bit 4 is set), RISC-V 64, ppc64le (ELFv2), big-endian ppc64
//! (ELFv1), s390x, big-endian MIPS o32 or little-endian MIPS64 n64, and how many entry points
//! to start from; the rest is mapped as code at 0x1000 (and aliased at 0x40_0000 so calls and
//! jumps between them are followed). Its second half is also the call frame information
//! (`.eh_frame`) the analysis checks paths against.
#![no_main]

use callconv::inspect::{Binary, Platform, SectionSpan};
use callconv::memory::{Image, Segment};
use callconv::report::{Arch, Endian, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, code)) = data.split_first() else {
        return;
    };
    let (arch, bits, convention, big) = match selector % 10 {
        0 => (Arch::X86_64, 64, "x86_64-sysv", false),
        1 => (Arch::X86, 32, "x86-cdecl-sysv", false),
        2 => (Arch::Aarch64, 64, "aarch64-aapcs64", false),
        3 => (Arch::Arm, 32, "arm-aapcs-vfp", false),
        4 => (Arch::Riscv64, 64, "riscv64-lp64d", false),
        5 => (Arch::Powerpc64, 64, "ppc64-elfv2", false),
        6 => (Arch::Powerpc64, 64, "ppc64-elfv1", true),
        7 => (Arch::S390x, 64, "s390x-elf", true),
        8 => (Arch::Mips, 32, "mips-o32", true),
        _ => (Arch::Mips64, 64, "mips64-n64", false),
    };
    let thumb = u64::from(arch == Arch::Arm && selector & 0x10 != 0);
    let Some(convention) = callconv::conventions::by_id(convention) else {
        return;
    };
    let len = code.len() as u64;
    let segments = vec![
        Segment {
            vaddr: 0x1000,
            mem_size: len,
            file_offset: 0,
            file_size: len,
            executable: true,
        },
        Segment {
            vaddr: 0x40_0000,
            mem_size: len,
            file_offset: 0,
            file_size: len,
            executable: false,
        },
    ];
    let binary = Binary {
        format: Format::Elf,
        platform: Platform::Unix,
        arch,
        bits,
        endian: if big { Endian::Big } else { Endian::Little },
        abi_variant: None,
        needed: Vec::new(),
        exports: Vec::new(),
        imports: Vec::new(),
        exec_stack: false,
        rwx_segments: Vec::new(),
        executable_ranges: Vec::new(),
        init_array: None,
        textrel: false,
        relro: false,
        bind_now: false,
        symbolic: false,
        not_shared: None,
        interpreter: None,
        gnu_properties: None,
        interposable_exports: Vec::new(),
        mips_release6: false,
        mips_nan: None,
        runpath: Vec::new(),
        rpath: Vec::new(),
        version_needs: Vec::new(),
        soname: None,
        arm_eabi: None,
        macho: None,
        pe: None,
        init_like_symbols: Vec::new(),
        eh_frame: Some(SectionSpan {
            address: 0x40_0000 + len / 2,
            size: len - len / 2,
        }),
        image: Image::new(code, segments, Vec::new(), (bits / 8) as u8, big),
    };
    let roots: Vec<(String, u64, usize)> = (0..=u64::from(selector >> 5))
        .map(|i| (format!("f{i}"), (0x1000 + i * 16 % len.max(1)) | thumb, 3))
        .collect();
    let analysis = callconv::analysis::analyze_roots(&binary, &roots, convention);
    let _ = callconv::rules::code::check(&analysis, None, binary.arch);
});
