//! The one error type of the core: what went wrong, with enough context to act on.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why a library could not be checked at all.
///
/// A library that *was* read but is wrong gets findings in its report instead; this type is
/// for inputs that cannot be read as a native library in the first place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused an operation on the path.
    Io {
        /// The path, as given.
        path: PathBuf,
        /// What was attempted: `stat`, `open` or `read`.
        action: &'static str,
        /// The OS error kind, spelled like `std::io::ErrorKind` in snake case.
        kind: String,
        /// The OS message.
        detail: String,
    },
    /// The path exists but is not a regular file (directory, FIFO, device, socket).
    NotRegular {
        /// The path, as given.
        path: PathBuf,
        /// What it is instead, e.g. `directory`, `fifo`, `character device`.
        file_type: &'static str,
    },
    /// The file is empty.
    Empty {
        /// The path, as given.
        path: PathBuf,
    },
    /// The file is larger than callconv is willing to read.
    TooLarge {
        /// The path, as given.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not an ELF, Mach-O or PE file.
    UnknownFormat {
        /// The path, as given (empty for in-memory input).
        path: PathBuf,
    },
    /// The file says it is a native library, but its headers are broken or cut short.
    Malformed {
        /// The path, as given (empty for in-memory input).
        path: PathBuf,
        /// The format it claims to be.
        format: &'static str,
        /// What could not be read.
        detail: String,
    },
}

impl Error {
    /// The stable, kebab-case name of this error's reason, as used in JSON and Elixir.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Io { kind, .. } if kind == "not_found" => "not-found",
            Error::Io { kind, .. } if kind == "permission_denied" => "permission-denied",
            Error::Io { .. } => "io",
            Error::NotRegular { .. } => "not-regular",
            Error::Empty { .. } => "empty",
            Error::TooLarge { .. } => "too-large",
            Error::UnknownFormat { .. } => "unknown-format",
            Error::Malformed { .. } => "malformed",
        }
    }

    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::NotRegular { path, .. }
            | Error::Empty { path }
            | Error::TooLarge { path, .. }
            | Error::UnknownFormat { path }
            | Error::Malformed { path, .. } => path,
        }
    }

    /// Attach a path to an error made from in-memory input.
    pub(crate) fn with_path(mut self, new_path: &Path) -> Self {
        match &mut self {
            Error::Io { path, .. }
            | Error::NotRegular { path, .. }
            | Error::Empty { path }
            | Error::TooLarge { path, .. }
            | Error::UnknownFormat { path }
            | Error::Malformed { path, .. } => *path = new_path.to_path_buf(),
        }
        self
    }

    pub(crate) fn io(path: &Path, action: &'static str, err: &std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            kind: io_kind_name(err.kind()).to_string(),
            detail: err.to_string(),
        }
    }

    pub(crate) fn malformed(format: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            path: PathBuf::new(),
            format,
            detail: detail.into(),
        }
    }
}

fn io_kind_name(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind as K;
    match kind {
        K::NotFound => "not_found",
        K::PermissionDenied => "permission_denied",
        K::UnexpectedEof => "unexpected_eof",
        K::Interrupted => "interrupted",
        K::WouldBlock => "would_block",
        K::InvalidInput => "invalid_input",
        K::InvalidData => "invalid_data",
        K::OutOfMemory => "out_of_memory",
        _ => "other",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |p: &Path| -> String {
            if p.as_os_str().is_empty() {
                "<binary>".to_string()
            } else {
                p.display().to_string()
            }
        };
        match self {
            Error::Io {
                path,
                action,
                detail,
                ..
            } => write!(f, "could not {action} {}: {detail}", shown(path)),
            Error::NotRegular { path, file_type } => write!(
                f,
                "{} is a {file_type}, not a regular file; give the path of a .so, .dylib or .dll",
                shown(path)
            ),
            Error::Empty { path } => write!(
                f,
                "{} is empty (0 bytes); the build that produced it probably failed or was interrupted",
                shown(path)
            ),
            Error::TooLarge { path, size, limit } => write!(
                f,
                "{} is {size} bytes, more than the {limit}-byte limit for a native library",
                shown(path)
            ),
            Error::UnknownFormat { path } => write!(
                f,
                "{} is not an ELF, Mach-O or PE file, so it cannot be a native library",
                shown(path)
            ),
            Error::Malformed {
                path,
                format,
                detail,
            } => write!(
                f,
                "{} looks like {format} but is malformed or truncated: {detail}; the BEAM could crash (SIGBUS) loading it, rebuild or re-copy it",
                shown(path)
            ),
        }
    }
}

impl std::error::Error for Error {}
