//! The relocation-aware memory view on its own: arbitrary segments (overlapping, past the
//! end of the file, at the top of the address space), arbitrary fixups, arbitrary reads.
#![no_main]

use arbitrary::Arbitrary;
use callconv::memory::{Fixup, Image, Segment};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Seg {
    vaddr: u64,
    mem_size: u64,
    file_offset: u64,
    file_size: u64,
}

#[derive(Debug, Arbitrary)]
enum Read {
    Bytes(u64, u16),
    Code(u64, u16),
    U32(u64),
    Word(u64),
    Pointer(u64),
    CString(u64),
    Mapped(u64),
}

#[derive(Debug, Arbitrary)]
struct Input {
    data: Vec<u8>,
    segments: Vec<Seg>,
    fixups: Vec<(u64, u64, Option<i64>)>,
    pointer_size_8: bool,
    big_endian: bool,
    reads: Vec<Read>,
}

fuzz_target!(|input: Input| {
    let segments = input
        .segments
        .iter()
        .take(64)
        .map(|s| Segment {
            vaddr: s.vaddr,
            mem_size: s.mem_size,
            file_offset: s.file_offset,
            file_size: s.file_size,
            // Both read paths (code chunks, data ranges) without changing the input format.
            executable: s.file_offset % 2 == 0,
        })
        .collect();
    let fixups = input
        .fixups
        .iter()
        .take(256)
        .map(|(at, v, addend)| match addend {
            None => (*at, Fixup::Relative(*v)),
            Some(a) => (
                *at,
                Fixup::Symbol {
                    name: "sym".into(),
                    value: (v % 2 == 0).then_some(*v),
                    addend: *a,
                },
            ),
        })
        .collect();
    let pointer_size = if input.pointer_size_8 { 8 } else { 4 };
    let image = Image::new(
        input.data.as_slice(),
        segments,
        fixups,
        pointer_size,
        input.big_endian,
    );
    for read in input.reads.iter().take(64) {
        match *read {
            Read::Bytes(a, n) => {
                let _ = image.read_bytes(a, usize::from(n));
            }
            Read::Code(a, n) => {
                let _ = image.read_code(a, usize::from(n));
            }
            Read::U32(a) => {
                let _ = image.read_u32(a);
            }
            Read::Word(a) => {
                let _ = image.read_word(a);
            }
            Read::Pointer(a) => {
                let _ = image.read_pointer(a);
            }
            Read::CString(a) => {
                let _ = image.read_c_string(a);
            }
            Read::Mapped(a) => {
                let _ = image.is_mapped(a);
            }
        }
    }
});
