//! Opening a file under check without ever blocking, following it into a device, or reading it
//! whole.
//!
//! The type of the path is checked before it is opened (so a FIFO is never opened, which would
//! block), and again on the open descriptor (so a swap between the two checks cannot slip a
//! device in). Reads then go through [`object::ReadCache`], which reads only the ranges the
//! parsers ask for. No `mmap`: a mapped file that shrinks under us raises SIGBUS, and that
//! would kill the VM we are meant to protect.

use std::fs::{File, Metadata};
use std::io::Read;
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
    Ok(OpenedFile { file, len })
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: if a FIFO is swapped in after the stat, open returns at once.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
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
/// fixed chunks, so memory stays flat whatever the size.
pub fn sha256_file(path: &Path, file: &File, len: u64) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut reader = file.take(len);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "read", &e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex(&hasher.finalize()))
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
