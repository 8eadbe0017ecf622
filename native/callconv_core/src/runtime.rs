//! What each runtime offers a NIF: the built-in table of OTP releases (21 to 29) with their
//! ERTS and NIF versions and `enif_*` API, and reading a real ERTS directory.
//!
//! The facts (OTP headers' history) are summarised in `docs/design/beam-facts.md`, "NIF versions".

use std::path::{Path, PathBuf};

use crate::error::Error;
pub use crate::runtime_enif::{
    enif_function, enif_since, enif_symbols, enif_symbols_for, lp64_unix, EnifFunction,
    ENIF_FUNCTIONS,
};
use crate::target::{Target, TargetSource};

/// One OTP release line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpRelease {
    /// The OTP major release.
    pub otp: u32,
    /// ERTS version of its `.0` release.
    pub erts: &'static str,
    /// The NIF version it implements.
    pub nif: (i32, i32),
}

/// OTP 21 to 29. NIF 2.15 covers 22–23, 2.16 24–25, 2.17 26–28.
pub const OTP_RELEASES: &[OtpRelease] = &[
    OtpRelease {
        otp: 21,
        erts: "10.0",
        nif: (2, 14),
    },
    OtpRelease {
        otp: 22,
        erts: "10.4",
        nif: (2, 15),
    },
    OtpRelease {
        otp: 23,
        erts: "11.0",
        nif: (2, 15),
    },
    OtpRelease {
        otp: 24,
        erts: "12.0",
        nif: (2, 16),
    },
    OtpRelease {
        otp: 25,
        erts: "13.0",
        nif: (2, 16),
    },
    OtpRelease {
        otp: 26,
        erts: "14.0",
        nif: (2, 17),
    },
    OtpRelease {
        otp: 27,
        erts: "15.0",
        nif: (2, 17),
    },
    OtpRelease {
        otp: 28,
        erts: "16.0",
        nif: (2, 17),
    },
    OtpRelease {
        otp: 29,
        erts: "17.0",
        nif: (2, 18),
    },
];

/// The release line of an OTP major version.
pub fn otp_release(otp: u32) -> Option<&'static OtpRelease> {
    OTP_RELEASES.iter().find(|r| r.otp == otp)
}

/// The release line an ERTS version belongs to (`"13.1.5"` → OTP 25).
pub fn otp_for_erts(erts: &str) -> Option<&'static OtpRelease> {
    let version = parse_version(erts)?;
    OTP_RELEASES
        .iter()
        .rev()
        .find(|r| parse_version(r.erts).is_some_and(|first| version >= first))
        .filter(|r| {
            // Past the last known line only while the ERTS major still matches it.
            parse_version(r.erts).is_some_and(|first| first.first() == version.first())
        })
}

fn parse_version(s: &str) -> Option<Vec<u32>> {
    s.trim_start_matches("erts-")
        .split('.')
        .map(|p| p.parse().ok())
        .collect()
}

impl Target {
    /// This target, changed to run OTP release `otp` from the built-in table.
    pub fn with_otp(mut self, otp: u32) -> Result<Target, String> {
        let release = otp_release(otp).ok_or_else(|| {
            format!(
                "OTP {otp} is not in the built-in table (it knows {}..{})",
                OTP_RELEASES.first().map_or(0, |r| r.otp),
                OTP_RELEASES.last().map_or(0, |r| r.otp)
            )
        })?;
        let lp64 = lp64_unix(self.bits, &self.os);
        self.source = TargetSource::Explicit;
        self.otp_release = Some(otp.to_string());
        self.erts_version = Some(release.erts.to_string());
        self.nif_version = Some(format!("{}.{}", release.nif.0, release.nif.1));
        self.enif_exports = Some(enif_symbols(release.nif, lp64));
        // The table knows nothing of that release's beam.smp file.
        self.vm_exports = None;
        self.vm_bind_now = None;
        Ok(self)
    }
}

/// The emulator binary of an ERTS directory (`erts-X.Y.Z`, or a release or OTP root that
/// holds one).
pub fn find_beam(dir: &Path) -> Result<(PathBuf, Option<String>), Error> {
    let direct = dir.join("bin/beam.smp");
    if direct.is_file() {
        let version = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("erts-"))
            .map(str::to_string);
        return Ok((direct, version));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read", &e))?;
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("erts-"))
                && p.join("bin/beam.smp").is_file()
        })
        .collect();
    candidates.sort();
    match candidates.pop() {
        Some(erts) => find_beam(&erts),
        None => Err(Error::Io {
            path: dir.to_path_buf(),
            action: "find beam.smp in",
            kind: "not_found".into(),
            detail: "no bin/beam.smp and no erts-*/bin/beam.smp below it".into(),
        }),
    }
}

/// The runtime an ERTS directory holds: architecture, word size and byte order from its
/// `beam.smp`, the exact `enif_*` symbols it exports, its libc, and its versions from the
/// directory name through the built-in table.
pub fn read_erts(dir: &Path) -> Result<Target, Error> {
    let (beam, erts_version) = find_beam(dir)?;
    let opened = crate::source::open(&beam)?;
    let cache = object::ReadCache::new(opened.file);
    let binary = crate::inspect::parse(&cache, crate::platform::Arch::Unknown)
        .map_err(|e| e.with_path(&beam))?;
    let release = erts_version.as_deref().and_then(otp_for_erts);
    let mut exports: Vec<String> = binary
        .exports
        .iter()
        .filter(|e| e.name.starts_with("enif_"))
        .map(|e| e.name.clone())
        .collect();
    exports.sort();
    exports.dedup();
    let mut vm_exports: Vec<String> = binary
        .interposable_exports
        .iter()
        .filter(|n| !n.starts_with("enif_") && !n.starts_with("_Z"))
        .cloned()
        .collect();
    vm_exports.sort();
    vm_exports.dedup();
    let elf = binary.format == crate::platform::Format::Elf;
    Ok(Target {
        source: TargetSource::Explicit,
        otp_release: release.map(|r| r.otp.to_string()),
        erts_version,
        nif_version: release.map(|r| format!("{}.{}", r.nif.0, r.nif.1)),
        arch: binary.arch,
        os: match binary.platform {
            crate::platform::Platform::Unix => "linux",
            crate::platform::Platform::Darwin => "macos",
            crate::platform::Platform::Windows => "windows",
        }
        .to_string(),
        bits: binary.bits,
        endian: binary.endian,
        libc: crate::inspect::libc::flavour(&binary).map(str::to_string),
        libc_version: None,
        abi_variant: binary.abi_variant.clone(),
        os_version: None,
        cpu: None,
        enif_exports: Some(exports),
        vm_exports: elf.then(|| vm_exports.join("\n")),
        vm_bind_now: elf.then_some(binary.bind_now),
    })
}
