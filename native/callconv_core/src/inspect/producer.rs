//! Who compiled a library, as far as its ELF `.comment` tells.

use object::ReadRef;

/// Who compiled a library, as far as its ELF `.comment` says: the fix for a wrong
/// architecture is a different command for a Rust crate than for C code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Producer {
    /// rustc.
    Rust,
    /// A C compiler (GCC, clang).
    C,
    /// No `.comment`, or neither.
    Unknown,
}

/// Reads at most the first 4 KiB of `.comment` (rustc writes `rustc version ...`, GCC
/// `GCC: (...)`, clang `clang version ...`; a Rust library linked by a C toolchain carries
/// both, and is Rust).
pub fn producer<'data, R: ReadRef<'data>>(data: R) -> Producer {
    use object::{Object, ObjectSection};
    let Ok(file) = object::File::parse(data) else {
        return Producer::Unknown;
    };
    let Some(comment) = file.section_by_name(".comment") else {
        return Producer::Unknown;
    };
    let Some((offset, size)) = comment.file_range() else {
        return Producer::Unknown;
    };
    let Ok(bytes) = data.read_bytes_at(offset, size.min(4096)) else {
        return Producer::Unknown;
    };
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if has(b"rustc version") {
        Producer::Rust
    } else if has(b"GCC:") || has(b"clang version") {
        Producer::C
    } else {
        Producer::Unknown
    }
}
