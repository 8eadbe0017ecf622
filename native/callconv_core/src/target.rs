//! The runtime a library is checked against: which BEAM, on which machine.

use serde::{Deserialize, Serialize};

use crate::platform::{Arch, Endian, Format, Libc};

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
    /// The oldest OS version the runtime must run on, such as `"13.0"` for macOS 13: from a
    /// triple such as `aarch64-apple-macosx13.0`, or given. Only macOS uses it.
    #[serde(default)]
    pub os_version: Option<String>,
    /// The oldest CPU the target runs, by the name compilers take (`cortex-a53`, `rv64gc`,
    /// `power9`, `z14`, `mips64r6`, `x86-64-v3`): given, or the one a triple names
    /// (`riscv64gc`, `mipsisa64r6el`). The `isa-level` rule checks against it
    /// (`analysis::IsaLevel::for_target`, which also validates it). Absent from the JSON
    /// document when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The exact `enif_*` symbols the runtime exports, when known (from its `beam.smp`, or
    /// from the built-in table for an OTP release). Not written to the JSON document: it is
    /// long, and implied by the other fields (a check request reads it).
    #[serde(skip_serializing, default)]
    pub enif_exports: Option<Vec<String>>,
    /// The other functions and objects the runtime's `beam.smp` exports (not `enif_*`, not
    /// C++ names), one per line, sorted: the names a NIF's own exports are interposed by.
    /// One string rather than a list: it crosses the NIF boundary on every check, and
    /// decoding 3,000 terms would cost more than the check. Not written to the JSON document.
    #[serde(skip_serializing, default)]
    pub vm_exports: Option<String>,
    /// Whether the runtime's `beam.smp` is linked with BIND_NOW (full RELRO). Not written to
    /// the JSON document.
    #[serde(skip_serializing, default)]
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
            os_version: None,
            cpu: None,
            enif_exports: None,
            vm_exports: None,
            vm_bind_now: None,
        }
    }

    /// This runtime moved to the platform of a target triple (`aarch64-unknown-linux-gnu`,
    /// `armv7-unknown-linux-gnueabihf`, `x86_64-apple-darwin`, `x86_64-pc-windows-msvc`,
    /// `riscv64gc-unknown-linux-musl`, …): architecture, word size, byte order, OS, C library
    /// and ABI variant come from the triple; the OTP, ERTS and NIF versions stay. What only a
    /// real `beam.smp` tells (the C library's version, its other exports, BIND_NOW) is
    /// forgotten, and the host-only checks stop (the source becomes explicit).
    pub fn for_triple(mut self, triple: &str) -> Result<Target, String> {
        let bad = || {
            format!(
                "{triple:?} is not a target triple callconv knows (such as aarch64-unknown-linux-gnu or x86_64-apple-darwin)"
            )
        };
        let parts: Vec<&str> = triple.split('-').collect();
        let (&cpu, rest) = parts.split_first().ok_or_else(bad)?;
        let has = |word: &str| rest.contains(&word);
        let env = rest
            .iter()
            .copied()
            .find(|p| p.starts_with("gnu") || p.starts_with("musl") || *p == "msvc")
            .or_else(|| rest.iter().copied().find(|p| p.starts_with("android")))
            .unwrap_or("");
        // Apple's triples may carry the OS version: macosx13.0, macos14, darwin22.
        let apple = rest.iter().copied().find_map(apple_os_version);
        let os = if apple.is_some() {
            "macos"
        } else if has("windows") {
            "windows"
        } else if rest.iter().any(|p| p.starts_with("android")) {
            "android"
        } else if has("linux") {
            "linux"
        } else if has("freebsd") {
            "freebsd"
        } else {
            return Err(bad());
        };
        let (arch_name, little) = match cpu {
            "i386" | "i486" | "i586" | "i686" | "x86" => ("x86", true),
            "x86_64" | "amd64" => ("x86_64", true),
            "aarch64" | "arm64" | "arm64e" => ("aarch64", true),
            "aarch64_be" => ("aarch64", false),
            c if c.starts_with("riscv64") => ("riscv64", true),
            c if c.starts_with("riscv32") => ("riscv32", true),
            c if c.starts_with("armeb") || c.starts_with("thumbeb") => ("arm", false),
            c if c.starts_with("arm") || c.starts_with("thumb") => ("arm", true),
            "powerpc64le" | "ppc64le" => ("powerpc64", true),
            "powerpc64" | "ppc64" => ("powerpc64", false),
            "powerpc" | "ppc" => ("powerpc", false),
            "mips64el" | "mipsisa64r6el" => ("mips64", true),
            "mips64" | "mipsisa64r6" => ("mips64", false),
            "mipsel" | "mipsisa32r6el" => ("mips", true),
            "mips" | "mipsisa32r6" => ("mips", false),
            "s390x" => ("s390x", false),
            "loongarch64" => ("loongarch64", true),
            "sparc64" | "sparcv9" => ("sparc64", false),
            "sparc" => ("sparc", false),
            _ => return Err(bad()),
        };
        let arch = Arch::parse(arch_name);
        let bits = match arch {
            Arch::X86 | Arch::Arm | Arch::Riscv32 | Arch::Powerpc | Arch::Mips | Arch::Sparc => 32,
            _ => 64,
        };
        let libc = match os {
            "macos" => Some("macos"),
            "android" => Some("bionic"),
            "windows" => None,
            _ if env.starts_with("musl") => Some("musl"),
            _ if env.starts_with("gnu") => Some("gnu"),
            _ => None,
        };
        // The ABI variants as the ELF headers spell them (see inspect::elf).
        let hard_float = env.ends_with("hf") || os == "android" && cpu.starts_with("armv7");
        let abi_variant = match arch {
            Arch::Arm if os != "macos" && os != "windows" => Some(if hard_float {
                "eabi5-hard-float"
            } else {
                "eabi5-soft-float"
            }),
            // Release 6 (the mipsisa* triples) has only the IEEE 754-2008 NaN encoding;
            // the other triples, Debian's ports among them, the legacy one.
            Arch::Mips if cpu.starts_with("mipsisa") => Some("o32-nan2008"),
            Arch::Mips => Some("o32"),
            Arch::Mips64 if env.ends_with("abin32") && cpu.starts_with("mipsisa") => {
                Some("n32-nan2008")
            }
            Arch::Mips64 if env.ends_with("abin32") => Some("n32"),
            Arch::Mips64 if cpu.starts_with("mipsisa") => Some("n64-nan2008"),
            Arch::Mips64 => Some("n64"),
            // Rust's and GCC's big-endian powerpc64 glibc targets are ELFv1; little endian
            // and musl are ELFv2.
            Arch::Powerpc64 if little || env.starts_with("musl") => Some("elfv2"),
            Arch::Powerpc64 => Some("elfv1"),
            Arch::Riscv64 | Arch::Loongarch64 => Some("double-float"),
            Arch::Aarch64 if os == "macos" => {
                Some(if cpu == "arm64e" { "arm64e" } else { "arm64" })
            }
            _ => None,
        };
        // The `*int64` API functions are symbols where `long` is 32 bits (ILP32 Unix, and
        // Windows' callback table) and macros on LP64 Unix: a target of another word size or
        // OS than the runtime the list was read from takes its list from the table.
        if self.bits != bits || self.os != os {
            self.enif_exports = self.enif_exports.take().map(|known| {
                crate::runtime_enif::enif_symbols_for(self.nif_version(), known, bits, os)
            });
        }
        self.source = TargetSource::Explicit;
        self.arch = arch;
        self.os = os.to_string();
        self.bits = bits;
        self.endian = if little { Endian::Little } else { Endian::Big };
        self.libc = libc.map(str::to_string);
        self.libc_version = None;
        self.abi_variant = abi_variant.map(str::to_string);
        self.os_version = apple.flatten();
        self.cpu = triple_cpu(arch, cpu);
        self.vm_exports = None;
        self.vm_bind_now = None;
        Ok(self)
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

    /// The target's C library as the vocabulary's enum (`None` when unknown or unnamed); the
    /// field keeps the spelling the target was given, which the report prints.
    pub fn libc_kind(&self) -> Option<Libc> {
        self.libc.as_deref().and_then(Libc::parse)
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

/// The CPU a triple's first part names beyond its architecture, as `--cpu` spells it: a
/// RISC-V ISA string (`riscv64gc` → `rv64gc`, `riscv64imac` → `rv64imac`) or a MIPS
/// release 6 (`mipsisa64r6el` → `mips64r6`). `None` when it names none (`x86_64`,
/// `riscv64`, `powerpc64le`, `armv7`: an Arm triple's version is an ISA, not a CPU).
pub fn triple_cpu(arch: Arch, first: &str) -> Option<String> {
    match arch {
        Arch::Riscv64 | Arch::Riscv32 => {
            let letters = first
                .strip_prefix("riscv64")
                .or_else(|| first.strip_prefix("riscv32"))?;
            let bits = if arch == Arch::Riscv64 { 64 } else { 32 };
            (!letters.is_empty()).then(|| format!("rv{bits}{letters}"))
        }
        Arch::Mips | Arch::Mips64 => {
            let rest = first.strip_prefix("mipsisa")?;
            let base = rest.strip_suffix("el").unwrap_or(rest);
            Some(format!("mips{base}"))
        }
        _ => None,
    }
}

/// A triple's Apple OS part: `Some(version)` for `macosx13.0`, `macos14`, `darwin22` (Darwin
/// 20 is macOS 11; Darwin 19 and older are 10.x), `Some(None)` for a bare `macos`/`darwin`,
/// `None` for anything else.
fn apple_os_version(part: &str) -> Option<Option<String>> {
    let digits = |v: &str| !v.is_empty() && v.split('.').all(|n| n.parse::<u32>().is_ok());
    if let Some(v) = part
        .strip_prefix("macosx")
        .or_else(|| part.strip_prefix("macos"))
    {
        return match v {
            "" => Some(None),
            v if digits(v) => Some(Some(v.to_string())),
            _ => None,
        };
    }
    let v = part.strip_prefix("darwin")?;
    if v.is_empty() {
        return Some(None);
    }
    let major: u32 = v.split('.').next()?.parse().ok()?;
    Some(match major {
        20.. => Some(format!("{}.0", major - 9)),
        5..=19 => Some(format!("10.{}", major - 4)),
        _ => None,
    })
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
