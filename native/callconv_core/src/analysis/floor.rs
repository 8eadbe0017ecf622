//! Instruction-set floors: which CPU features the code reachable from a NIF's entry points
//! needs, and which ones a target CPU has.
//!
//! x86-64 levels follow the x86-64 psABI micro-architecture levels: v2 = SSE3, SSSE3,
//! SSE4.1, SSE4.2, POPCNT, CMPXCHG16B, LAHF/SAHF; v3 = AVX, AVX2, BMI1, BMI2, F16C, FMA,
//! LZCNT, MOVBE, XSAVE; v4 = AVX-512 F/BW/CD/DQ/VL. Features are named by the Linux
//! `/proc/cpuinfo` flag that announces them, so a target is just a flag set.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::platform::Arch;

/// The x86-64 psABI level each Linux flag belongs to (flags of no level are absent).
const X86_64_LEVELS: &[(&str, u8)] = &[
    ("pni", 2),
    ("ssse3", 2),
    ("sse4_1", 2),
    ("sse4_2", 2),
    ("popcnt", 2),
    ("cx16", 2),
    ("lahf_lm", 2),
    ("avx", 3),
    ("avx2", 3),
    ("bmi1", 3),
    ("bmi2", 3),
    ("f16c", 3),
    ("fma", 3),
    ("abm", 3),
    ("movbe", 3),
    ("xsave", 3),
    ("avx512f", 4),
    ("avx512bw", 4),
    ("avx512cd", 4),
    ("avx512dq", 4),
    ("avx512vl", 4),
];

/// The psABI level a set of x86-64 flags needs (1 = baseline).
pub fn x86_64_level_of<'a>(flags: impl IntoIterator<Item = &'a str>) -> u8 {
    flags
        .into_iter()
        .filter_map(|f| X86_64_LEVELS.iter().find(|(n, _)| *n == f).map(|(_, l)| *l))
        .max()
        .unwrap_or(1)
}

/// What a target CPU can run: its architecture and its feature flags (Linux spelling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsaLevel {
    /// The architecture the flags describe.
    pub arch: Arch,
    /// For x86-64: the highest psABI level whose every flag is present.
    pub x86_64_level: Option<u8>,
    /// Feature flags as `/proc/cpuinfo` spells them (`avx2`, `atomics`, …).
    pub flags: BTreeSet<String>,
    /// The platform's usual floor, assumed because nothing told the real CPU (see
    /// [`IsaLevel::baseline`]): code above it is a warning, not an error, since the machine
    /// may well be newer.
    /// Holds the floor's name (`z196`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed: Option<&'static str>,
}

impl IsaLevel {
    /// A target from its feature flags. A pure function, so tests can build any target.
    pub fn from_flags<'a>(arch: Arch, flags: impl IntoIterator<Item = &'a str>) -> Self {
        let flags: BTreeSet<String> = flags.into_iter().map(str::to_string).collect();
        let x86_64_level = (arch == Arch::X86_64).then(|| {
            (2..=4)
                .take_while(|lvl| {
                    X86_64_LEVELS
                        .iter()
                        .filter(|(_, l)| l <= lvl)
                        .all(|(f, _)| flags.contains(*f))
                })
                .last()
                .unwrap_or(1)
        });
        IsaLevel {
            arch,
            x86_64_level,
            flags,
            assumed: None,
        }
    }

    /// The x86-64 target of exactly psABI level `level` (1–4): every flag of that level and
    /// below, nothing else.
    pub fn x86_64(level: u8) -> Self {
        let flags = X86_64_LEVELS
            .iter()
            .filter(|(_, l)| *l <= level)
            .map(|(f, _)| *f);
        IsaLevel::from_flags(Arch::X86_64, flags)
    }

    /// Parses the text of Linux `/proc/cpuinfo`: the first `flags` (x86) or `Features`
    /// (Arm) line.
    /// RISC-V reads the `isa` line, PPC64 the `cpu` line's POWER generation, s390x the
    /// `features` line and the machine type, MIPS the `isa` and `ASEs implemented` lines,
    /// SPARC the `cpucaps` line.
    /// Where those lines are missing, these architectures fall back to their
    /// [`IsaLevel::baseline`] (a floor, never an empty set that would flag everything).
    pub fn from_cpuinfo(arch: Arch, text: &str) -> Self {
        let value = |keys: &[&str]| {
            text.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                keys.contains(&key.trim()).then_some(value.trim())
            })
        };
        let fallback = |big| IsaLevel::baseline(arch, big);
        let parsed: Option<Vec<String>> = match arch {
            Arch::Riscv64 | Arch::Riscv32 => value(&["isa"]).and_then(riscv_isa_flags),
            Arch::Powerpc64 => value(&["cpu"]).and_then(|cpu| {
                let g = cpu.strip_prefix("POWER")?;
                let digits: String = g.chars().take_while(char::is_ascii_digit).collect();
                Some(ppc64_flags(digits.parse().ok()?))
            }),
            Arch::S390x => value(&["features"]).map(|features| {
                let mut flags: Vec<String> =
                    features.split_whitespace().map(str::to_string).collect();
                let machine = text
                    .split("machine = ")
                    .nth(1)
                    .and_then(|m| m.get(..4))
                    .and_then(|m| m.parse::<u32>().ok());
                let level = machine.and_then(s390x_machine_level).unwrap_or_else(|| {
                    // An unknown machine: the newest facility its hwcaps show.
                    let has = |f: &str| flags.iter().any(|x| x == f);
                    [
                        ("nnpa", 14),
                        ("vxe2", 13),
                        ("vxe", 12),
                        ("vx", 11),
                        ("te", 10),
                    ]
                    .iter()
                    .find(|(f, _)| has(f))
                    .map_or(9, |(_, l)| *l)
                });
                flags.extend((9..=level).map(|l| format!("arch{l}")));
                flags
            }),
            // SPARC: `cpucaps : flush,stbar,swap,muldiv,v9,...,popc,vis,vis2,...,vis3,...`.
            Arch::Sparc | Arch::Sparc64 => value(&["cpucaps"])
                .map(|caps| caps.split(',').map(|c| c.trim().to_string()).collect()),
            Arch::Mips | Arch::Mips64 => value(&["isa"]).map(|isa| {
                let mut flags: Vec<String> = isa.split_whitespace().map(str::to_string).collect();
                if let Some(ases) = value(&["ASEs implemented"]) {
                    flags.extend(ases.split_whitespace().map(str::to_string));
                }
                flags
            }),
            _ => {
                let line = value(&["flags", "Features"]);
                return IsaLevel::from_flags(arch, line.unwrap_or("").split_whitespace());
            }
        };
        match parsed {
            Some(flags) => IsaLevel::from_flags(arch, flags.iter().map(String::as_str)),
            None => fallback(false).unwrap_or_else(|| IsaLevel::from_flags(arch, [])),
        }
    }

    /// The CPU this process runs on (Linux: `/proc/cpuinfo`); `None` where it cannot be read.
    pub fn host() -> Option<Self> {
        let arch = crate::target::Target::host().arch;
        let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        Some(IsaLevel::from_cpuinfo(arch, &text))
    }

    /// The floor a platform's distributions build for, where callconv checks one:
    /// riscv64 `rv64gc` (every Linux distribution's riscv64), little-endian PPC64 POWER8
    /// (the ELFv2 ABI's minimum), s390x z196 (Debian's `--with-arch`), MIPS r2 with FPU
    /// (Debian's mipsel and mips64el). `None` for other platforms: x86, Arm and big-endian
    /// PPC64 targets given by triple get no floor (the host's CPU is read instead).
    pub fn baseline(arch: Arch, big_endian: bool) -> Option<Self> {
        let name = match arch {
            Arch::Riscv64 => "rv64gc",
            Arch::Riscv32 => "rv32gc",
            Arch::Powerpc64 if !big_endian => "power8",
            Arch::S390x => "z196",
            Arch::Mips64 => "mips64r2",
            Arch::Mips => "mips32r2",
            _ => return None,
        };
        let mut level = IsaLevel::named(arch, name).ok()?;
        level.assumed = Some(name);
        Some(level)
    }

    /// A target CPU by name, as compilers take it: an x86-64 level (`x86-64-v3`); an Arm
    /// core or architecture (`cortex-a53`, `cortex-a7`, `arm1176jzf-s`, `armv8.2-a`, with
    /// `+crypto`, `+neon`...); a RISC-V ISA string (`rv64gc`, `rv64gcv_zba_zbb`); a POWER
    /// generation (`power8`, `power9`, `power10`, also `pwr9`); an IBM Z machine (`z196`,
    /// `zEC12`, `z13` ... `z16`, or `arch9`–`arch14`); a MIPS revision (`mips64r2`,
    /// `mips64r6`, `+msa`); a SPARC CPU as gcc's `-mcpu` names it (`v9`, `ultrasparc3`,
    /// `niagara4`). The error names the accepted names, and the architecture a name belongs
    /// to when it is another one's.
    pub fn named(arch: Arch, name: &str) -> Result<Self, String> {
        named_for(arch, name).ok_or_else(|| {
            let other = [
                Arch::X86_64,
                Arch::Aarch64,
                Arch::Arm,
                Arch::Riscv64,
                Arch::Riscv32,
                Arch::Powerpc64,
                Arch::S390x,
                Arch::Mips64,
                Arch::Sparc64,
            ]
            .into_iter()
            .filter(|a| *a != arch)
            .find(|a| named_for(*a, name).is_some());
            match other {
                Some(other) => format!(
                    "{name:?} is a CPU for {}, not for {} (the target's architecture); {}",
                    other.as_str(),
                    arch.as_str(),
                    accepted_cpus(arch)
                ),
                None => format!(
                    "{name:?} is not a CPU callconv knows for {}; {}",
                    arch.as_str(),
                    accepted_cpus(arch)
                ),
            }
        })
    }

    /// The target CPU of `target`: its `cpu` by name (an error when callconv does not know
    /// it for the target's architecture), `Ok(None)` when it names none. The one place a
    /// CPU name becomes a target CPU, for the command line, the NIF and the wire request.
    pub fn for_target(target: &crate::target::Target) -> Result<Option<Self>, String> {
        match target.cpu.as_deref() {
            Some(cpu) => IsaLevel::named(target.arch, cpu).map(Some),
            None => Ok(None),
        }
    }

    /// `target` with its CPU set to `cpu`, validated against its architecture (the error
    /// says why and lists the accepted names). Its source stays: a CPU named for this
    /// machine's runtime narrows the ISA check only.
    pub fn target_with_cpu(
        mut target: crate::target::Target,
        cpu: &str,
    ) -> Result<crate::target::Target, String> {
        IsaLevel::named(target.arch, cpu)?;
        target.cpu = Some(cpu.trim().to_string());
        Ok(target)
    }

    /// The CPU a target triple's first part names beyond its architecture: a RISC-V ISA
    /// string (`riscv64gc`, `riscv64imac`) or a MIPS release-6 triple (`mipsisa64r6el`).
    /// `None` when it names none (`x86_64`, `powerpc64le`...).
    pub fn for_triple(arch: Arch, triple: &str) -> Option<Self> {
        let cpu = crate::target::triple_cpu(arch, triple.split('-').next()?)?;
        IsaLevel::named(arch, &cpu).ok()
    }

    /// Whether the target has this flag.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }
}

/// What a feature flag means where its name does not say it, for the `isa-level` message.
pub fn flag_meaning(arch: Arch, flag: &str) -> Option<&'static str> {
    Some(match (arch, flag) {
        (Arch::Mips | Arch::Mips64, "mips32r6") => "an instruction only MIPS release 6 has",
        (Arch::Mips | Arch::Mips64, "mips2") => "an instruction MIPS release 6 removed",
        (Arch::Mips | Arch::Mips64, "msa") => "the MIPS SIMD architecture",
        (Arch::Mips | Arch::Mips64, "dsp") => "the MIPS DSP extension",
        (Arch::Powerpc64, "mma") => "POWER10's matrix-multiply assist",
        (Arch::Powerpc64, "arch_3_1") => "Power ISA 3.1, POWER10",
        (Arch::Powerpc64, "arch_3_00") => "Power ISA 3.0, POWER9",
        (Arch::Powerpc64, "arch_2_07") => "Power ISA 2.07, POWER8",
        (Arch::Powerpc64, "htm") => "transactional memory, POWER8 and POWER9 only",
        (Arch::S390x, "arch10") => "zEC12",
        (Arch::S390x, "arch11") => "z13",
        (Arch::S390x, "arch12") => "z14",
        (Arch::S390x, "arch13") => "z15",
        (Arch::S390x, "vx") => "the z13 vector facility",
        (Arch::Sparc | Arch::Sparc64, "vis") => {
            "the visual instruction set, UltraSPARC I and later"
        }
        (Arch::Sparc | Arch::Sparc64, "vis2") => "VIS 2, UltraSPARC III and later",
        (Arch::Sparc | Arch::Sparc64, "vis3") => "VIS 3, SPARC T3 and later",
        (Arch::Sparc | Arch::Sparc64, "popc") => "population count in hardware, SPARC T2 and later",
        (Arch::Sparc | Arch::Sparc64, "fmaf") => "fused multiply-add, SPARC T3 and later",
        (Arch::Sparc | Arch::Sparc64, "cbcond") => "compare-and-branch, SPARC T4 and later",
        _ => return None,
    })
}

/// The `isa-level` fix for code built for too new a CPU of `arch`.
pub fn build_fix(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 | Arch::X86 => {
            "build for the target CPU (e.g. -march=x86-64-v2, RUSTFLAGS=-Ctarget-cpu=x86-64-v2), or dispatch on cpuid"
        }
        Arch::Aarch64 | Arch::Arm => {
            "build for the target CPU (e.g. -mcpu=cortex-a53, -mcpu=arm1176jzf-s, RUSTFLAGS=-Ctarget-cpu=cortex-a53), or dispatch on getauxval(AT_HWCAP)"
        }
        Arch::Riscv64 | Arch::Riscv32 => {
            "build for the target CPU (e.g. -march=rv64gc, RUSTFLAGS=-Ctarget-cpu=generic-rv64), or dispatch on getauxval(AT_HWCAP) or riscv_hwprobe"
        }
        Arch::Powerpc64 => {
            "build for the target CPU (e.g. -mcpu=power8 or -mcpu=power9; -mno-mma keeps a POWER10 build off the matrix-multiply assist), or dispatch on getauxval(AT_HWCAP2)"
        }
        Arch::S390x => {
            "build for the target CPU (e.g. -march=z196 or -march=z14, RUSTFLAGS=-Ctarget-cpu=z14), or dispatch on getauxval(AT_HWCAP)"
        }
        Arch::Mips | Arch::Mips64 => {
            "build for the target's MIPS release: -march=mips64r2 (mips64el-linux-gnuabi64) for pre-R6 CPUs, -march=mips64r6 (mipsisa64r6el-linux-gnuabi64) for R6 ones; neither runs on the other"
        }
        Arch::Sparc | Arch::Sparc64 => {
            "build for the target CPU (e.g. -mcpu=v9, Debian's sparc64 default, or -mcpu=niagara2; -mno-vis3 -mno-fmaf -mno-cbcond -mno-popc drop single features), or dispatch on getauxval(AT_HWCAP)"
        }
        _ => "build for the target CPU, or dispatch on its run-time feature check",
    }
}

/// The names [`IsaLevel::named`] takes for `arch`, for its error message.
fn accepted_cpus(arch: Arch) -> String {
    let names = match arch {
        Arch::X86_64 => "x86-64, x86-64-v2, x86-64-v3, x86-64-v4".to_string(),
        Arch::Aarch64 | Arch::Arm => {
            let mut names: Vec<&str> = ARM_CPUS
                .iter()
                .filter(|c| arch == Arch::Arm || c.aarch64.is_some())
                .map(|c| c.name)
                .collect();
            names.sort_unstable();
            let extras = if arch == Arch::Aarch64 {
                "+crypto, +aes, +sha2, +crc, +lse, +sve"
            } else {
                "+crypto, +neon, +vfpv3, +vfpv4, +idiv"
            };
            format!("{}, each with {extras}", names.join(", "))
        }
        Arch::Riscv64 => "a RISC-V ISA string such as rv64gc or rv64gcv_zba_zbb_zbs".to_string(),
        Arch::Riscv32 => "a RISC-V ISA string such as rv32gc or rv32imac".to_string(),
        Arch::Powerpc64 => "power7, power8, power9, power10 (or pwr7 ... pwr10)".to_string(),
        Arch::S390x => "z196, zEC12, z13, z14, z15, z16 (or arch9 ... arch14)".to_string(),
        Arch::Mips | Arch::Mips64 => {
            "mips32r2, mips32r5, mips32r6, mips64r2, mips64r5, mips64r6, each with +msa or +dsp"
                .to_string()
        }
        Arch::Sparc | Arch::Sparc64 => {
            "v9, ultrasparc, ultrasparc3, niagara, niagara2, niagara3, niagara4, niagara7, m8 (32-bit also v8, leon3)"
                .to_string()
        }
        _ => return format!("callconv knows no CPUs of {}", arch.as_str()),
    };
    format!("the accepted names are: {names}")
}

/// An Arm core or architecture by name: its `/proc/cpuinfo` `Features` when it runs 32-bit
/// code (`arm`), and 64-bit (`aarch64`, `None` for a 32-bit-only core). Only what every
/// implementation has: the optional cryptography extensions are `+crypto` (the Raspberry Pi
/// 3's Cortex-A53 has none).
struct ArmCpu {
    name: &'static str,
    arm: &'static [&'static str],
    aarch64: Option<&'static [&'static str]>,
}

const ARMV7_VFPV4_NEON: &[&str] = &["vfp", "vfpv3", "vfpv4", "neon", "idiva", "idivt"];
const ARMV8_AARCH32: &[&str] = &["vfp", "vfpv3", "vfpv4", "neon", "idiva", "idivt", "crc32"];
const ARMV8_0: &[&str] = &["fp", "asimd", "crc32"];
const ARMV8_2_CORE: &[&str] = &[
    "fp", "asimd", "crc32", "atomics", "asimdrdm", "lrcpc", "fphp", "asimdhp", "asimddp",
];

const ARM_CPUS: &[ArmCpu] = &[
    // 32-bit only.
    ArmCpu {
        name: "armv5te",
        arm: &[],
        aarch64: None,
    },
    ArmCpu {
        name: "armv6",
        arm: &[],
        aarch64: None,
    },
    ArmCpu {
        name: "arm1176jzf-s",
        arm: &["vfp"],
        aarch64: None,
    },
    ArmCpu {
        name: "armv7-a",
        arm: &[],
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a5",
        arm: &["vfp", "vfpv3", "vfpv4"],
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a7",
        arm: ARMV7_VFPV4_NEON,
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a8",
        arm: &["vfp", "vfpv3", "neon"],
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a9",
        arm: &["vfp", "vfpv3"],
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a15",
        arm: ARMV7_VFPV4_NEON,
        aarch64: None,
    },
    ArmCpu {
        name: "cortex-a17",
        arm: ARMV7_VFPV4_NEON,
        aarch64: None,
    },
    // ARMv8.0: either width.
    ArmCpu {
        name: "armv8-a",
        arm: ARMV8_AARCH32,
        aarch64: Some(&["fp", "asimd"]),
    },
    ArmCpu {
        name: "cortex-a35",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_0),
    },
    ArmCpu {
        name: "cortex-a53",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_0),
    },
    ArmCpu {
        name: "cortex-a57",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_0),
    },
    ArmCpu {
        name: "cortex-a72",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_0),
    },
    ArmCpu {
        name: "cortex-a73",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_0),
    },
    // ARMv8.1 and ARMv8.2 (LSE atomics, RDM; the cores add RCpc, FP16 and dot product).
    ArmCpu {
        name: "armv8.1-a",
        arm: ARMV8_AARCH32,
        aarch64: Some(&["fp", "asimd", "crc32", "atomics", "asimdrdm"]),
    },
    ArmCpu {
        name: "armv8.2-a",
        arm: ARMV8_AARCH32,
        aarch64: Some(&["fp", "asimd", "crc32", "atomics", "asimdrdm"]),
    },
    ArmCpu {
        name: "cortex-a55",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_2_CORE),
    },
    ArmCpu {
        name: "cortex-a75",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_2_CORE),
    },
    ArmCpu {
        name: "cortex-a76",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_2_CORE),
    },
    ArmCpu {
        name: "neoverse-n1",
        arm: ARMV8_AARCH32,
        aarch64: Some(ARMV8_2_CORE),
    },
];

/// The feature flags of an Arm name with its `+extension`s, `None` when unknown.
fn arm_flags(aarch64: bool, name: &str) -> Option<Vec<String>> {
    let mut parts = name.split('+');
    let base = parts.next()?;
    let cpu = ARM_CPUS.iter().find(|c| c.name == base)?;
    let mut flags: Vec<&str> = if aarch64 {
        cpu.aarch64?.to_vec()
    } else {
        cpu.arm.to_vec()
    };
    for ext in parts {
        let more: &[&str] = match (aarch64, ext) {
            (true, "crypto") => &["aes", "pmull", "sha1", "sha2"],
            (true, "aes") => &["aes", "pmull"],
            (true, "sha2") => &["sha1", "sha2"],
            (true, "crc") => &["crc32"],
            (true, "lse") => &["atomics"],
            (true, "sve") => &["sve"],
            (false, "crypto") => &["aes", "pmull", "sha1", "sha2"],
            (false, "neon") => &["vfp", "vfpv3", "neon"],
            (false, "vfpv3") => &["vfp", "vfpv3"],
            (false, "vfpv4") => &["vfp", "vfpv3", "vfpv4"],
            (false, "idiv") => &["idiva", "idivt"],
            _ => return None,
        };
        flags.extend_from_slice(more);
    }
    Some(flags.into_iter().map(str::to_string).collect())
}

/// The flags of a CPU name for `arch`, `None` when it names none of this architecture.
fn named_for(arch: Arch, name: &str) -> Option<IsaLevel> {
    let lower = name.trim().to_ascii_lowercase();
    let flags: Vec<String> = match arch {
        Arch::X86_64 => {
            let level = match lower.as_str() {
                "x86-64" | "x86-64-v1" => 1,
                "x86-64-v2" => 2,
                "x86-64-v3" => 3,
                "x86-64-v4" => 4,
                _ => return None,
            };
            return Some(IsaLevel::x86_64(level));
        }
        Arch::Aarch64 => arm_flags(true, &lower)?,
        Arch::Arm => arm_flags(false, &lower)?,
        Arch::Riscv64 | Arch::Riscv32 => {
            let prefix = if arch == Arch::Riscv64 {
                "rv64"
            } else {
                "rv32"
            };
            if !lower.starts_with(prefix) {
                return None;
            }
            riscv_isa_flags(&lower)?
        }
        Arch::Powerpc64 => {
            let generation = lower
                .strip_prefix("power")
                .or_else(|| lower.strip_prefix("pwr"))
                .and_then(|g| g.parse::<u32>().ok())
                .filter(|g| (4..=11).contains(g))?;
            ppc64_flags(generation)
        }
        Arch::S390x => {
            let level = match lower.as_str() {
                "z196" | "arch9" => 9,
                "zec12" | "arch10" => 10,
                "z13" | "arch11" => 11,
                "z14" | "arch12" => 12,
                "z15" | "arch13" => 13,
                "z16" | "arch14" => 14,
                _ => return None,
            };
            s390x_flags(level)
        }
        Arch::Mips | Arch::Mips64 => mips_flags(arch, &lower)?,
        Arch::Sparc | Arch::Sparc64 => sparc_flags(arch, &lower)?,
        _ => return None,
    };
    Some(IsaLevel::from_flags(arch, flags.iter().map(String::as_str)))
}

/// The `cpucaps` flags of a SPARC CPU by the name gcc's `-mcpu` takes, as Linux reports them:
/// VIS 1 from UltraSPARC I, VIS 2 from UltraSPARC III and on every sun4v CPU (T1 on),
/// hardware `popc` from T2, VIS 3 and `fmaf` from T3, `cbcond` from T4, `vis4` from M7.
/// `v9` is a V9 CPU with none of them, what Debian's sparc64 gcc builds for by default.
fn sparc_flags(arch: Arch, name: &str) -> Option<Vec<String>> {
    let n: usize = match name {
        "v8" | "leon" | "leon3" | "leon3v7" if arch == Arch::Sparc => 0,
        "v9" => 0,
        "ultrasparc" => 1,
        "ultrasparc3" | "niagara" => 2,
        "niagara2" => 3,
        "niagara3" => 5,
        "niagara4" => 6,
        "niagara7" | "m8" => 7,
        _ => return None,
    };
    const ORDER: [&str; 7] = ["vis", "vis2", "popc", "vis3", "fmaf", "cbcond", "vis4"];
    Some(ORDER[..n].iter().map(|f| f.to_string()).collect())
}

/// The flags of a MIPS revision with its `+ase`s: every pre-release-6 revision has the
/// instructions release 6 removed (`mips2`, as the `isa` line of `/proc/cpuinfo` lists it on
/// every pre-R6 CPU and on no R6 one); release 6 has its own (`mips32r6`, with `mips64r6` for
/// a 64-bit one).
fn mips_flags(arch: Arch, name: &str) -> Option<Vec<String>> {
    let mut parts = name.split('+');
    let base = parts.next()?;
    let (wide, rev) = if let Some(rev) = base
        .strip_prefix("mips64")
        .or_else(|| base.strip_prefix("mipsisa64"))
    {
        (true, rev)
    } else {
        let rev = base
            .strip_prefix("mips32")
            .or_else(|| base.strip_prefix("mipsisa32"))?;
        (false, rev)
    };
    // A 32-bit CPU runs no 64-bit code.
    if arch == Arch::Mips64 && !wide {
        return None;
    }
    let mut flags: Vec<String> = match rev {
        "r2" | "r5" => {
            let mut f = vec!["mips1", "mips2", "mips32r1", "mips32r2"];
            if rev == "r5" {
                f.push("mips32r5");
            }
            if wide {
                f.extend(["mips3", "mips4", "mips5", "mips64r1", "mips64r2"]);
                if rev == "r5" {
                    f.push("mips64r5");
                }
            }
            f.into_iter().map(str::to_string).collect()
        }
        "r6" => {
            let mut f = vec!["mips32r6".to_string()];
            if wide {
                f.push("mips64r6".to_string());
            }
            f
        }
        _ => return None,
    };
    for ase in parts {
        match ase {
            "msa" | "dsp" => flags.push(ase.to_string()),
            _ => return None,
        }
    }
    Some(flags)
}

/// The extension flags of a RISC-V ISA string (`rv64imafdc_zicsr_zba`, `rv64gcv`), as Linux
/// spells them: single letters, then the multi-letter extensions. `g` is `imafd` with
/// `zicsr` and `zifencei`; `zfh` implies `zfhmin`.
fn riscv_isa_flags(isa: &str) -> Option<Vec<String>> {
    let isa = isa.trim().to_ascii_lowercase();
    let rest = isa
        .strip_prefix("rv64")
        .or_else(|| isa.strip_prefix("rv32"))?;
    let mut parts = rest.split('_');
    let letters = parts.next()?;
    let mut flags: Vec<String> = Vec::new();
    for c in letters.chars() {
        match c {
            'g' => flags.extend(["i", "m", "a", "f", "d", "zicsr", "zifencei"].map(str::to_string)),
            'a'..='z' => flags.push(c.to_string()),
            _ => return None,
        }
    }
    for ext in parts.filter(|p| !p.is_empty()) {
        // Versions (`zba1p0`) are dropped.
        let name = ext.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'p');
        flags.push(if name.is_empty() { ext } else { name }.to_string());
    }
    if flags.iter().any(|f| f == "zfh") {
        flags.push("zfhmin".into());
    }
    if flags.iter().any(|f| f == "v") {
        flags.push("zve64d".into());
    }
    Some(flags)
}

/// The Linux hwcap names a POWER generation has (`vsx`, `arch_2_07`, `arch_3_00`...).
fn ppc64_flags(generation: u32) -> Vec<String> {
    let mut flags = vec!["ppc64", "fpu", "mmu"];
    if generation >= 6 {
        flags.extend(["altivec", "arch_2_05"]);
    }
    if generation >= 7 {
        flags.extend(["vsx", "arch_2_06"]);
    }
    if generation >= 8 {
        flags.extend(["arch_2_07", "vcrypto"]);
    }
    if (8..=9).contains(&generation) {
        flags.push("htm");
    }
    if generation >= 9 {
        flags.extend(["arch_3_00", "ieee128", "darn"]);
    }
    if generation >= 10 {
        flags.extend(["arch_3_1", "mma"]);
    }
    flags.into_iter().map(str::to_string).collect()
}

/// The hwcaps and `archN` flags of an IBM Z machine of GCC's `-march=archN` level (9 = z196
/// ... 14 = z16).
fn s390x_flags(level: u32) -> Vec<String> {
    let mut flags: Vec<&str> = vec![
        "esan3", "zarch", "stfle", "msa", "ldisp", "eimm", "dfp", "etf3eh", "highgprs",
    ];
    let by_level: [(u32, &[&str]); 5] = [
        (10, &["te", "edat"]),
        (11, &["vx"]),
        (12, &["vxe", "vxd", "gs"]),
        (13, &["vxe2", "vxp", "sort", "dflt"]),
        (14, &["vxp2", "nnpa"]),
    ];
    for (l, f) in by_level {
        if level >= l {
            flags.extend_from_slice(f);
        }
    }
    let mut flags: Vec<String> = flags.into_iter().map(str::to_string).collect();
    flags.extend((9..=level).map(|l| format!("arch{l}")));
    flags
}

/// GCC's `archN` level of an IBM Z machine type (`/proc/cpuinfo`'s `machine = `).
fn s390x_machine_level(machine: u32) -> Option<u32> {
    Some(match machine {
        2817 | 2818 => 9,
        2827 | 2828 => 10,
        2964 | 2965 => 11,
        3906 | 3907 => 12,
        8561 | 8562 => 13,
        3931 | 3932 => 14,
        9175 | 9176 => 15,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_flags() {
        assert_eq!(IsaLevel::x86_64(1).x86_64_level, Some(1));
        assert_eq!(IsaLevel::x86_64(3).x86_64_level, Some(3));
        let t = IsaLevel::from_cpuinfo(
            Arch::X86_64,
            "processor: 0\nflags\t\t: fpu sse2 pni ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm avx\n",
        );
        assert_eq!(t.x86_64_level, Some(2));
        assert_eq!(x86_64_level_of(["avx2", "popcnt"]), 3);
        assert_eq!(x86_64_level_of(["aes"]), 1);
    }

    #[test]
    fn cpuinfo_of_each_architecture() {
        let rv = IsaLevel::from_cpuinfo(
            Arch::Riscv64,
            "processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdcv_zicbom_zicsr_zifencei_zba_zbb_zbs\nmmu\t\t: sv39\n",
        );
        for f in ["i", "c", "v", "zba", "zbb", "zbs"] {
            assert!(rv.has(f), "{f}: {rv:?}");
        }
        assert!(!rv.has("zbc"));
        let p9 = IsaLevel::from_cpuinfo(
            Arch::Powerpc64,
            "processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n",
        );
        assert!(p9.has("arch_3_00") && !p9.has("arch_3_1"), "{p9:?}");
        let z14 = IsaLevel::from_cpuinfo(
            Arch::S390x,
            "vendor_id       : IBM/S390\nfeatures\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx vxd vxe gs sie\nprocessor 0: version = FF,  identification = 0133E8,  machine = 3906\n",
        );
        assert!(
            z14.has("arch12") && z14.has("vxe") && !z14.has("arch13"),
            "{z14:?}"
        );
        let mips = IsaLevel::from_cpuinfo(
            Arch::Mips64,
            "isa\t\t\t: mips1 mips2 mips3 mips4 mips5 mips32r1 mips32r2 mips64r1 mips64r2\nASEs implemented\t: dsp dsp2 vz msa\n",
        );
        assert!(mips.has("msa") && mips.has("mips64r2"), "{mips:?}");
        // Lines missing: the distribution floor, never an empty set.
        let bare = IsaLevel::from_cpuinfo(Arch::Riscv64, "processor\t: 0\n");
        assert!(bare.has("c") && bare.has("d"), "{bare:?}");
        let bare = IsaLevel::from_cpuinfo(Arch::S390x, "");
        assert!(bare.has("arch9") && !bare.has("vx"), "{bare:?}");
    }
}
