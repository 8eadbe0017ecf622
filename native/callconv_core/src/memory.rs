//! A relocation-aware view of a library's memory, as the dynamic loader would lay it out.
//!
//! The NIF entry and its function table are full of pointers that only exist after the
//! dynamic loader has applied relocations; reading the raw bytes in place gives zero on some
//! toolchains (RELA with no in-place addend, RELR, Mach-O chained fixups). This view answers
//! "what would be at this virtual address once loaded" without loading anything.

use object::ReadRef;

/// Upper bound on the relocations indexed for one library. Each costs 24 bytes here; the cap
/// keeps a hostile table from costing more than about 100 MiB.
pub const MAX_RELOCATIONS: usize = 4 << 20;

/// Executable segments are read in aligned chunks of this size (see `Image::read_chunked`).
const CODE_CHUNK: u64 = 256 << 10;

/// Other segments are read in aligned pages of this size: a NIF's function table and its
/// names are thousands of small neighbouring reads, and a page never holds more than a
/// few kilobytes of a data segment that may be tens of megabytes.
const DATA_CHUNK: u64 = 4 << 10;

/// Longest C string read from a library (module and function names are short).
pub const MAX_STRING: usize = 4096;

/// The first read of a C string; each further read is four times longer, up to
/// [`MAX_STRING`].
const SHORT_STRING: usize = 64;

/// A piece of the file mapped at a virtual address.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Virtual address of the first byte.
    pub vaddr: u64,
    /// Size in memory; the part past `file_size` reads as zero (`.bss`).
    pub mem_size: u64,
    /// File offset of the first byte.
    pub file_offset: u64,
    /// Bytes present in the file.
    pub file_size: u64,
    /// Whether the loader maps it executable. Code is read in large chunks that later reads
    /// share, everything else in small pages: only what is read is held, never a whole data
    /// segment for one string.
    pub executable: bool,
}

/// What the loader writes at a relocated address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixup {
    /// Load base plus a constant: an address inside the library itself.
    Relative(u64),
    /// The address of a symbol (plus addend). `value` is set when the library defines it.
    Symbol {
        /// The symbol name.
        name: String,
        /// Its address, when the library defines the symbol.
        value: Option<u64>,
        /// Added to the symbol's address.
        addend: i64,
    },
}

/// The value of a pointer-sized field once loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pointer {
    /// Zero.
    Null,
    /// An address in the library (link-time virtual address).
    Address(u64),
    /// The address of a symbol another object defines.
    Import(String),
}

impl Pointer {
    /// The address, for pointers into the library itself.
    pub fn address(&self) -> Option<u64> {
        match self {
            Pointer::Address(a) => Some(*a),
            _ => None,
        }
    }
}

/// Why a read from the image failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The address is in no segment, or the range runs past one.
    Unmapped(u64),
    /// The segment claims bytes past the end of the file.
    PastEof(u64),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Unmapped(a) => write!(f, "address {a:#x} is not mapped by any segment"),
            ReadError::PastEof(a) => write!(f, "address {a:#x} lies past the end of the file"),
        }
    }
}

/// The loaded image of one library (one slice of a universal file).
#[derive(Debug)]
pub struct Image<R> {
    data: R,
    segments: Vec<Segment>,
    fixups: Vec<(u64, Fixup)>,
    pointer_size: u8,
    big_endian: bool,
}

impl<'data, R: ReadRef<'data>> Image<R> {
    /// Builds an image from its segments and fixups; both are sorted here.
    pub fn new(
        data: R,
        mut segments: Vec<Segment>,
        mut fixups: Vec<(u64, Fixup)>,
        pointer_size: u8,
        big_endian: bool,
    ) -> Self {
        segments.sort_by_key(|s| s.vaddr);
        fixups.sort_by_key(|(a, _)| *a);
        fixups.dedup_by_key(|(a, _)| *a);
        Image {
            data,
            segments,
            fixups,
            pointer_size,
            big_endian,
        }
    }

    /// Pointer width in bytes (4 or 8).
    pub fn pointer_size(&self) -> u8 {
        self.pointer_size
    }

    /// Whether multi-byte values are big-endian.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// The mapped segments, by address.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether `addr` lies in a mapped segment.
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.segment_of(addr).is_some()
    }

    fn segment_of(&self, addr: u64) -> Option<&Segment> {
        let idx = self.segments.partition_point(|s| s.vaddr <= addr);
        let seg = self.segments.get(idx.checked_sub(1)?)?;
        (addr - seg.vaddr < seg.mem_size).then_some(seg)
    }

    /// Reads `len` bytes at `addr` as the file holds them (before relocation). Bytes of
    /// `.bss` read as zero.
    pub fn read_bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let seg = self.segment_of(addr).ok_or(ReadError::Unmapped(addr))?;
        let off = addr - seg.vaddr;
        let end = off
            .checked_add(len as u64)
            .filter(|e| *e <= seg.mem_size)
            .ok_or(ReadError::Unmapped(addr))?;
        let mut out = vec![0u8; len];
        if off < seg.file_size {
            let in_file = end.min(seg.file_size) - off;
            let dst = out
                .get_mut(..in_file as usize)
                .ok_or(ReadError::Unmapped(addr))?;
            let chunk = if seg.executable {
                CODE_CHUNK
            } else {
                DATA_CHUNK
            };
            if !self.read_chunked(seg, off, dst, chunk) {
                let bytes = self
                    .data
                    .read_bytes_at(seg.file_offset.saturating_add(off), in_file)
                    .map_err(|()| ReadError::PastEof(addr))?;
                dst.copy_from_slice(bytes);
            }
        }
        Ok(out)
    }

    /// Fills `dst` with the file bytes of `seg` from offset `off`, through the aligned chunks
    /// of `chunk` bytes that hold them. The reader keeps what it read, so code analysis
    /// (hundreds of thousands of small reads) reads each chunk once and then slices it; only
    /// the chunks reached are ever held, whatever the segment's size. `false` when a chunk
    /// cannot be read (a segment that claims bytes past the end of the file): the caller then
    /// reads the exact range.
    fn read_chunked(&self, seg: &Segment, off: u64, dst: &mut [u8], chunk: u64) -> bool {
        let mut done = 0usize;
        while done < dst.len() {
            let pos = off + done as u64;
            let start = pos - pos % chunk;
            let size = chunk.min(seg.file_size - start);
            let Some(bytes) = seg
                .file_offset
                .checked_add(start)
                .and_then(|at| self.data.read_bytes_at(at, size).ok())
            else {
                return false;
            };
            let from = (pos - start) as usize;
            let take = (dst.len() - done).min(bytes.len().saturating_sub(from));
            let (Some(to), Some(src)) =
                (dst.get_mut(done..done + take), bytes.get(from..from + take))
            else {
                return false;
            };
            if take == 0 {
                return false;
            }
            to.copy_from_slice(src);
            done += take;
        }
        true
    }

    /// Reads up to `max` bytes of code at `addr`, stopping at the end of its segment.
    pub fn read_code(&self, addr: u64, max: usize) -> Result<Vec<u8>, ReadError> {
        let seg = self.segment_of(addr).ok_or(ReadError::Unmapped(addr))?;
        let left = seg.vaddr.saturating_add(seg.mem_size) - addr;
        let len = (max as u64).min(left) as usize;
        self.read_bytes(addr, len)
    }

    /// Reads an unsigned 32-bit integer.
    pub fn read_u32(&self, addr: u64) -> Result<u32, ReadError> {
        let b = self.read_bytes(addr, 4)?;
        let arr: [u8; 4] = b.try_into().map_err(|_| ReadError::Unmapped(addr))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(arr)
        } else {
            u32::from_le_bytes(arr)
        })
    }

    /// Reads a pointer-sized unsigned integer, without relocation.
    pub fn read_word(&self, addr: u64) -> Result<u64, ReadError> {
        if self.pointer_size == 4 {
            return self.read_u32(addr).map(u64::from);
        }
        let b = self.read_bytes(addr, 8)?;
        let arr: [u8; 8] = b.try_into().map_err(|_| ReadError::Unmapped(addr))?;
        Ok(if self.big_endian {
            u64::from_be_bytes(arr)
        } else {
            u64::from_le_bytes(arr)
        })
    }

    /// Every fixup, by address (one per address: the first given to [`Image::new`]).
    pub fn fixups(&self) -> &[(u64, Fixup)] {
        &self.fixups
    }

    /// The fixup the loader applies at `addr`, if any.
    pub fn fixup_at(&self, addr: u64) -> Option<&Fixup> {
        let idx = self.fixups.binary_search_by_key(&addr, |(a, _)| *a).ok()?;
        self.fixups.get(idx).map(|(_, f)| f)
    }

    /// Reads a pointer field as the loader leaves it.
    pub fn read_pointer(&self, addr: u64) -> Result<Pointer, ReadError> {
        let raw = self.read_word(addr)?;
        Ok(match self.fixup_at(addr) {
            Some(Fixup::Relative(target)) => Pointer::Address(*target),
            Some(Fixup::Symbol {
                value: Some(v),
                addend,
                ..
            }) => Pointer::Address(v.wrapping_add_signed(*addend)),
            Some(Fixup::Symbol { name, .. }) => Pointer::Import(name.clone()),
            None if raw == 0 => Pointer::Null,
            None => Pointer::Address(raw),
        })
    }

    /// Reads a NUL-terminated string at `addr`, at most [`MAX_STRING`] bytes. Invalid UTF-8
    /// is replaced, never trusted.
    pub fn read_c_string(&self, addr: u64) -> Result<String, ReadError> {
        let seg = self.segment_of(addr).ok_or(ReadError::Unmapped(addr))?;
        let left = seg.vaddr.saturating_add(seg.mem_size) - addr;
        let len = (MAX_STRING as u64).min(left) as usize;
        // Names are short: read a little first, and a longer window only while no NUL came.
        // One read of MAX_STRING bytes for each of thousands of function names would be most
        // of the parsing time of a large library.
        let mut window = len.min(SHORT_STRING);
        let mut bytes = self.read_bytes(addr, window)?;
        while window < len && !bytes.contains(&0) {
            window = len.min(window.saturating_mul(4));
            bytes = self.read_bytes(addr, window)?;
        }
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned())
    }
}
