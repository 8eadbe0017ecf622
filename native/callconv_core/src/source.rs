//! Opening a file under check without ever blocking, following it into a device, or reading it
//! whole.
//!
//! The type of the path is checked before it is opened (so a FIFO is never opened, which would
//! block), and again on the open descriptor (so a swap between the two checks cannot slip a
//! device in). Reads then go through [`object::ReadCache`], which reads only the ranges the
//! parsers ask for. No `mmap`: a mapped file that shrinks under us raises SIGBUS, and that
//! would kill the VM we are meant to protect.

use std::fs::{File, Metadata};
use std::io::{Read, Seek};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// The largest file callconv reads. Real NIFs are far smaller; the cap keeps the hash of a
/// sparse or hostile file bounded in time.
pub const MAX_FILE_SIZE: u64 = 4 << 30;

/// An opened regular file, ready to be parsed.
#[derive(Debug)]
pub struct OpenedFile {
    /// The open file.
    pub file: File,
    /// Its size in bytes at open time.
    pub len: u64,
}

/// Opens `path` for checking, refusing anything that is not a non-empty regular file.
pub fn open(path: &Path) -> Result<OpenedFile, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "stat", &e))?;
    refuse_irregular(path, &meta)?;
    let file = open_nonblocking(path).map_err(|e| Error::io(path, "open", &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "stat", &e))?;
    refuse_irregular(path, &meta)?;
    let len = meta.len();
    if len == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
        });
    }
    if len > MAX_FILE_SIZE {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size: len,
            limit: MAX_FILE_SIZE,
        });
    }
    // Refuse what cannot be a library before the whole file is hashed: a multi-gigabyte file
    // of zeros (sparse, or /dev/zero copied by mistake) must cost one read, not a minute.
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match (&file).read(magic.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "read", &e)),
        }
    }
    if !could_be_library(magic.get(..got).unwrap_or_default()) {
        return Err(Error::UnknownFormat {
            path: path.to_path_buf(),
        });
    }
    (&file).rewind().map_err(|e| Error::io(path, "read", &e))?;
    Ok(OpenedFile { file, len })
}

/// Whether `magic` (a file's first bytes, up to 4) starts an ELF, Mach-O (thin or universal)
/// or PE file: the only formats [`crate::inspect::parse`] accepts, so anything else would be
/// refused as unknown after hashing anyway.
pub fn could_be_library(magic: &[u8]) -> bool {
    const MAGICS: [&[u8]; 8] = [
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce", // Mach-O 32-bit, big-endian
        b"\xce\xfa\xed\xfe", // Mach-O 32-bit, little-endian
        b"\xfe\xed\xfa\xcf", // Mach-O 64-bit, big-endian
        b"\xcf\xfa\xed\xfe", // Mach-O 64-bit, little-endian
        b"\xca\xfe\xba\xbe", // universal (fat) Mach-O
        b"\xca\xfe\xba\xbf", // universal (fat) Mach-O, 64-bit offsets
    ];
    MAGICS.iter().any(|m| magic.starts_with(m))
}

#[cfg(unix)]
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: if a FIFO is swapped in after the stat, open returns at once.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

fn refuse_irregular(path: &Path, meta: &Metadata) -> Result<(), Error> {
    let file_type = meta.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(Error::NotRegular {
        path: path.to_path_buf(),
        file_type: describe_file_type(&file_type),
    })
}

#[cfg(unix)]
fn describe_file_type(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn describe_file_type(t: &std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// The SHA-256 of at most `len` bytes of `file` from its start, as lowercase hex. Reads in
/// fixed chunks, so memory stays flat whatever the size, and at explicit offsets (`pread`),
/// so it shares no file position with a parser reading the same descriptor, even from
/// another thread. A file that shrinks meanwhile is hashed as far as it goes.
pub fn sha256_file(path: &Path, file: &File, len: u64) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 18];
    let mut offset = 0u64;
    while offset < len {
        let want = usize::try_from(len - offset).map_or(buf.len(), |left| left.min(buf.len()));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = match read_at(file, chunk, offset) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "read", &e)),
        };
        hasher.update(chunk.get(..n).unwrap_or_default());
        offset += n as u64;
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::io::SeekFrom;
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

/// The SHA-256 of an in-memory buffer, as lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}
