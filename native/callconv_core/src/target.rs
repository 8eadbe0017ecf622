//! The runtime a library is checked against: which BEAM, on which machine.

use serde::{Deserialize, Serialize};

use crate::report::{Arch, Endian, Format};

/// Where the target description came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSource {
    /// Read from the running VM (the Elixir side).
    RunningVm,
    /// The machine callconv itself was built for (the command-line tool's default).
    Host,
    /// Given explicitly by the user.
    Explicit,
}

/// The runtime a library must load into.
///
/// Fields that are `None` are unknown, and the rules that need them stay silent rather than
/// guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Where this description came from.
    pub source: TargetSource,
    /// OTP release, e.g. `"25"`.
    pub otp_release: Option<String>,
    /// ERTS version, e.g. `"13.1.5"`.
    pub erts_version: Option<String>,
    /// NIF version the runtime implements, e.g. `"2.16"`.
    pub nif_version: Option<String>,
    /// CPU architecture.
    pub arch: Arch,
    /// Operating system: `linux`, `macos`, `windows`, `freebsd`, ...
    pub os: String,
    /// Word size in bits.
    pub bits: u32,
    /// Byte order.
    pub endian: Endian,
    /// C library flavour: `gnu`, `musl`, `msvc`, `macos`, ...
    pub libc: Option<String>,
    /// The C library's version, such as `"2.36"` for glibc 2.36.
    #[serde(default)]
    pub libc_version: Option<String>,
    /// The runtime's own ABI variant, as read from its `beam.smp` (`eabi5-hard-float`, ...).
    #[serde(default)]
    pub abi_variant: Option<String>,
    /// The exact `enif_*` symbols the runtime exports, when known (from its `beam.smp`, or
    /// from the built-in table for an OTP release). Not written to JSON: it is long, and
    /// implied by the other fields.
    #[serde(skip)]
    pub enif_exports: Option<Vec<String>>,
    /// The other functions and objects the runtime's `beam.smp` exports (not `enif_*`, not
    /// C++ names), one per line, sorted: the names a NIF's own exports are interposed by.
    /// One string rather than a list: it crosses the NIF boundary on every check, and
    /// decoding 3,000 terms would cost more than the check. Not in JSON.
    #[serde(skip)]
    pub vm_exports: Option<String>,
    /// Whether the runtime's `beam.smp` is linked with BIND_NOW (full RELRO). Not in JSON.
    #[serde(skip)]
    pub vm_bind_now: Option<bool>,
}

impl Target {
    /// The machine this build of callconv runs on, with no runtime known.
    pub fn host() -> Target {
        Target {
            source: TargetSource::Host,
            otp_release: None,
            erts_version: None,
            nif_version: None,
            arch: Arch::parse(std::env::consts::ARCH),
            os: std::env::consts::OS.to_string(),
            bits: if cfg!(target_pointer_width = "64") {
                64
            } else {
                32
            },
            endian: if cfg!(target_endian = "big") {
                Endian::Big
            } else {
                Endian::Little
            },
            libc: host_libc(),
            libc_version: crate::inspect::libc::host_glibc_version(),
            abi_variant: None,
            enif_exports: None,
            vm_exports: None,
            vm_bind_now: None,
        }
    }

    /// The runtime's NIF version as `(major, minor)`, when known and well formed.
    pub fn nif_version(&self) -> Option<(i32, i32)> {
        parse_major_minor(self.nif_version.as_deref()?)
    }

    /// Whether the runtime's `beam.smp` is known to export `name` (see `vm_exports`).
    pub fn vm_exports_has(&self, name: &str) -> bool {
        self.vm_exports
            .as_deref()
            .is_some_and(|all| all.lines().any(|line| line == name))
    }

    /// The binary format this target's OS loads.
    pub fn native_format(&self) -> Option<Format> {
        match self.os.as_str() {
            "macos" | "ios" | "darwin" => Some(Format::Macho),
            "windows" => Some(Format::Pe),
            "linux" | "freebsd" | "netbsd" | "openbsd" | "android" | "solaris" | "illumos" => {
                Some(Format::Elf)
            }
            _ => None,
        }
    }
}

fn host_libc() -> Option<String> {
    let env = if cfg!(target_env = "musl") {
        "musl"
    } else if cfg!(target_env = "gnu") {
        "gnu"
    } else if cfg!(target_env = "msvc") {
        "msvc"
    } else if cfg!(target_os = "macos") {
        "macos"
    } else {
        return None;
    };
    Some(env.to_string())
}

/// Parses `"2.16"` into `(2, 16)`.
pub fn parse_major_minor(s: &str) -> Option<(i32, i32)> {
    let (major, minor) = s.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl TargetSource {
    /// The stable spelling used in JSON and as an Elixir atom.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSource::RunningVm => "running-vm",
            TargetSource::Host => "host",
            TargetSource::Explicit => "explicit",
        }
    }

    /// Parses the spelling of [`TargetSource::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running-vm" | "running_vm" => Some(TargetSource::RunningVm),
            "host" => Some(TargetSource::Host),
            "explicit" => Some(TargetSource::Explicit),
            _ => None,
        }
    }
}
