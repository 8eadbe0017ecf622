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
    /// `features` line and the machine type, MIPS the `isa` and `ASEs implemented` lines.
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

    /// A target CPU by name, as compilers take it: a RISC-V ISA string (`rv64gc`,
    /// `rv64gcv_zba_zbb`), a POWER generation (`power8`, `power9`, `power10`, also `pwr9`), an
    /// IBM Z machine (`z196`, `zEC12`, `z13`, `z14`, `z15`, `z16`, or `arch9`–`arch14`), a MIPS
    /// revision (`mips64r2`, `mips64r6`, `+msa`), or an x86-64 level (`x86-64-v3`).
    pub fn named(arch: Arch, name: &str) -> Result<Self, String> {
        let lower = name.trim().to_ascii_lowercase();
        let bad = || format!("{name:?} is not a CPU callconv knows for {}", arch.as_str());
        let flags: Vec<String> = match arch {
            Arch::X86_64 => {
                let level = match lower.as_str() {
                    "x86-64" | "x86-64-v1" => 1,
                    "x86-64-v2" => 2,
                    "x86-64-v3" => 3,
                    "x86-64-v4" => 4,
                    _ => return Err(bad()),
                };
                return Ok(IsaLevel::x86_64(level));
            }
            Arch::Riscv64 | Arch::Riscv32 => riscv_isa_flags(&lower).ok_or_else(bad)?,
            Arch::Powerpc64 => {
                let generation = lower
                    .strip_prefix("power")
                    .or_else(|| lower.strip_prefix("pwr"))
                    .and_then(|g| g.parse::<u32>().ok())
                    .ok_or_else(bad)?;
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
                    _ => return Err(bad()),
                };
                s390x_flags(level)
            }
            Arch::Mips | Arch::Mips64 => {
                let mut parts = lower.split('+');
                let base = parts.next().unwrap_or("");
                let rev = base
                    .strip_prefix("mips64")
                    .or_else(|| base.strip_prefix("mips32"))
                    .or_else(|| base.strip_prefix("mipsisa64"))
                    .or_else(|| base.strip_prefix("mipsisa32"))
                    .ok_or_else(bad)?;
                if !matches!(rev, "r2" | "r5" | "r6") {
                    return Err(bad());
                }
                let mut flags = vec![base.to_string()];
                for ase in parts {
                    match ase {
                        "msa" | "dsp" => flags.push(ase.to_string()),
                        _ => return Err(bad()),
                    }
                }
                flags
            }
            _ => return Err(bad()),
        };
        Ok(IsaLevel::from_flags(arch, flags.iter().map(String::as_str)))
    }

    /// The CPU a target triple's first part names beyond its architecture: a RISC-V ISA
    /// string (`riscv64gc`, `riscv64imac`) or a MIPS release-6 triple (`mipsisa64r6el`).
    /// `None` when it names none (`x86_64`, `powerpc64le`...).
    pub fn for_triple(arch: Arch, triple: &str) -> Option<Self> {
        let cpu = triple.split('-').next()?;
        match arch {
            Arch::Riscv64 | Arch::Riscv32 => {
                let letters = cpu
                    .strip_prefix("riscv64")
                    .or_else(|| cpu.strip_prefix("riscv32"))?;
                if letters.is_empty() {
                    return None;
                }
                let bits = if arch == Arch::Riscv64 {
                    "rv64"
                } else {
                    "rv32"
                };
                IsaLevel::named(arch, &format!("{bits}{letters}")).ok()
            }
            Arch::Mips | Arch::Mips64 if cpu.starts_with("mipsisa") => {
                let base = cpu.trim_end_matches("el");
                IsaLevel::named(arch, base).ok()
            }
            _ => None,
        }
    }

    /// Whether the target has this flag.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }
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

/// The feature flag an x86 instruction needs beyond the x86-64 baseline (SSE2), from its
/// capstone groups and mnemonic.
pub(crate) fn x86_feature(mnemonic: &str, groups: &[String], wide: bool) -> Option<&'static str> {
    for g in groups {
        let f = match g.as_str() {
            "avx512" | "bwi" | "cdi" | "dqi" | "vlx" | "eri" | "pfi" => "avx512f",
            "avx2" => "avx2",
            "avx" => "avx",
            "fma" => "fma",
            "f16c" => "f16c",
            "bmi" => "bmi1",
            "bmi2" => "bmi2",
            "sse42" => "sse4_2",
            "sse41" => "sse4_1",
            "ssse3" => "ssse3",
            "sse3" => "pni",
            "aes" => "aes",
            "pclmul" => "pclmulqdq",
            "sha" => "sha_ni",
            "adx" => "adx",
            "fma4" => "fma4",
            "xop" => "xop",
            "tbm" => "tbm",
            "sse4a" => "sse4a",
            "rtm" => "rtm",
            _ => continue,
        };
        return Some(f);
    }
    Some(match mnemonic {
        "popcnt" => "popcnt",
        "lzcnt" => "abm",
        "tzcnt" => "bmi1",
        "movbe" => "movbe",
        "cmpxchg16b" => "cx16",
        "lahf" | "sahf" if wide => "lahf_lm",
        "xsave" | "xrstor" | "xsave64" | "xrstor64" | "xsaveopt" | "xsaveopt64" | "xgetbv" => {
            "xsave"
        }
        "rdrand" => "rdrand",
        "rdseed" => "rdseed",
        "crc32" => "sse4_2",
        _ => return None,
    })
}

/// The `/proc/cpuinfo` flag an AArch64 instruction needs beyond ARMv8.0 with FP/AdvSIMD.
pub(crate) fn aarch64_feature(mnemonic: &str, groups: &[String]) -> Option<&'static str> {
    let m = mnemonic;
    let lse = [
        "cas", "ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin",
    ];
    if lse.iter().any(|p| m.starts_with(p))
        || m.starts_with("swp")
        || [
            "stadd", "stclr", "steor", "stset", "stsmax", "stsmin", "stumax", "stumin",
        ]
        .iter()
        .any(|p| m.starts_with(p))
    {
        return Some("atomics");
    }
    if m.starts_with("ldapr") {
        return Some("lrcpc");
    }
    for g in groups {
        let f = match g.as_str() {
            "sve" | "sve2" | "sve2aes" | "sve2b" | "sve2sha3" | "sve2sm4" => "sve",
            "sme" | "smef64" | "smei64" => "sme",
            "aes" => "aes",
            "crypto" => "aes",
            "sha2" => "sha2",
            "sha3" => "sha3",
            "sm4" => "sm4",
            "crc" => "crc32",
            "dotprod" => "asimddp",
            "fullfp16" => "fphp",
            "rcpc" => "lrcpc",
            "rdm" => "asimdrdm",
            "lse" => "atomics",
            _ => continue,
        };
        return Some(f);
    }
    if m.starts_with("crc32") {
        return Some("crc32");
    }
    if matches!(m, "aese" | "aesd" | "aesmc" | "aesimc" | "pmull" | "pmull2") {
        return Some("aes");
    }
    if m.starts_with("sha256") || m.starts_with("sha1") {
        return Some("sha2");
    }
    // The PAC/BTI hint-space instructions are NOPs on older cores; retaa/ldraa are not.
    if matches!(
        m,
        "retaa" | "retab" | "ldraa" | "ldrab" | "braa" | "brab" | "blraa" | "blrab"
    ) {
        return Some("paca");
    }
    None
}

/// The `/proc/cpuinfo` flag a 32-bit Arm instruction needs beyond ARMv5TE without FP (the
/// armel floor): VFP generations, NEON, the integer divider, the ARMv8 crypto and CRC32
/// instructions. `thumb`: the divider has one flag per instruction set.
pub(crate) fn arm_feature(mnemonic: &str, groups: &[String], thumb: bool) -> Option<&'static str> {
    let m = mnemonic;
    let has = |g: &str| groups.iter().any(|x| x == g);
    if has("crypto") {
        return Some(if m.starts_with("sha1") {
            "sha1"
        } else if m.starts_with("sha256") {
            "sha2"
        } else if m.starts_with("vmull") {
            "pmull"
        } else {
            "aes"
        });
    }
    if has("crc") || m.starts_with("crc32") {
        return Some("crc32");
    }
    if has("divide") || matches!(m, "sdiv" | "udiv") {
        return Some(if thumb { "idivt" } else { "idiva" });
    }
    if has("neon") {
        return Some("neon");
    }
    // ARMv8 FP instructions (vrint*, vsel, vmaxnm) have no flag of their own on Linux.
    if has("vfp4") {
        return Some("vfpv4");
    }
    if has("vfp3") {
        return Some("vfpv3");
    }
    if has("vfp2") {
        return Some("vfp");
    }
    None
}

/// What a RISC-V instruction capstone 5 cannot decode is, from its opcode fields: capstone 5
/// knows RV64GC only, so the vector (V), bit-manipulation (Zba, Zbb, Zbc, Zbs) and
/// half-precision (Zfh, Zfhmin) instructions come back undecoded. Their encodings are fixed
/// fields of one 32-bit word, so they are classified here; anything else stays unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RiscvUndecoded {
    /// The extension flag, as Linux's `/proc/cpuinfo` `isa` line spells it.
    pub flag: &'static str,
    /// The assembler's name for the instruction family (for messages).
    pub mnemonic: &'static str,
    /// The integer register written, by number (`None`: none, or a vector/FP register).
    pub writes_x: Option<u32>,
    /// The floating-point register written, by number.
    pub writes_f: Option<u32>,
    /// The integer registers read, by number.
    pub reads_x: Vec<u32>,
}

/// Classifies the 32-bit RISC-V instruction `w` that capstone could not decode.
pub(crate) fn riscv_undecoded(w: u32) -> Option<RiscvUndecoded> {
    if w & 3 != 3 {
        return None; // a compressed instruction: capstone decodes all of RVC.
    }
    let opcode = w & 0x7f;
    let rd = (w >> 7) & 0x1f;
    let f3 = (w >> 12) & 7;
    let rs1 = (w >> 15) & 0x1f;
    let rs2 = (w >> 20) & 0x1f;
    let f7 = w >> 25;
    let imm12 = w >> 20;
    let x = |flag, mnemonic, reads: Vec<u32>| {
        Some(RiscvUndecoded {
            flag,
            mnemonic,
            writes_x: Some(rd),
            writes_f: None,
            reads_x: reads,
        })
    };
    match opcode {
        // OP: register-register integer instructions.
        0x33 => match (f7, f3) {
            (0b001_0000, 2 | 4 | 6) => x("zba", "shNadd", vec![rs1, rs2]),
            (0b010_0000, 4 | 6 | 7) => x("zbb", "andn/orn/xnor", vec![rs1, rs2]),
            (0b000_0101, 4..=7) => x("zbb", "min/max", vec![rs1, rs2]),
            (0b011_0000, 1 | 5) => x("zbb", "rol/ror", vec![rs1, rs2]),
            (0b000_0101, 1..=3) => x("zbc", "clmul", vec![rs1, rs2]),
            (0b010_0100, 1 | 5) | (0b011_0100, 1) | (0b001_0100, 1) => {
                x("zbs", "bclr/bext/binv/bset", vec![rs1, rs2])
            }
            // zext.h on RV32 (rs2 = 0).
            (0b000_0100, 4) if rs2 == 0 => x("zbb", "zext.h", vec![rs1]),
            _ => None,
        },
        // OP-32: RV64 word forms.
        0x3b => match (f7, f3) {
            (0b000_0100, 0) => x("zba", "add.uw", vec![rs1, rs2]),
            (0b001_0000, 2 | 4 | 6) => x("zba", "shNadd.uw", vec![rs1, rs2]),
            (0b011_0000, 1 | 5) => x("zbb", "rolw/rorw", vec![rs1, rs2]),
            (0b000_0100, 4) if rs2 == 0 => x("zbb", "zext.h", vec![rs1]),
            _ => None,
        },
        // OP-IMM: clz/ctz/cpop/sext, rori, orc.b/rev8, single-bit immediates.
        0x13 => match (f3, imm12 >> 6) {
            (1, _) if matches!(imm12, 0x600..=0x602 | 0x604 | 0x605) => {
                x("zbb", "clz/ctz/cpop/sext", vec![rs1])
            }
            (5, 0b01_1000) => x("zbb", "rori", vec![rs1]),
            (5, _) if matches!(imm12, 0x287 | 0x6b8 | 0x698) => x("zbb", "orc.b/rev8", vec![rs1]),
            (1, 0b01_0010 | 0b01_1010 | 0b00_1010) => x("zbs", "bclri/binvi/bseti", vec![rs1]),
            (5, 0b01_0010) => x("zbs", "bexti", vec![rs1]),
            _ => None,
        },
        // OP-IMM-32: slli.uw, clzw/ctzw/cpopw, roriw.
        0x1b => match (f3, imm12 >> 6) {
            (1, 0b00_0010) => x("zba", "slli.uw", vec![rs1]),
            (1, _) if matches!(imm12, 0x600..=0x602) => x("zbb", "clzw/ctzw/cpopw", vec![rs1]),
            (5, _) if f7 == 0b011_0000 => x("zbb", "roriw", vec![rs1]),
            _ => None,
        },
        // OP-V: vector arithmetic and vset{i}vl{i}.
        0x57 => {
            let f6 = w >> 26;
            let (writes_x, writes_f, reads, mnemonic) = match f3 {
                7 => (Some(rd), None, vec![rs1], "vsetvl"),
                // OPMVV vmv.x.s, vcpop.m, vfirst.m: an integer result.
                2 if f6 == 0b01_0000 => (Some(rd), None, vec![], "vmv.x.s/vcpop.m/vfirst.m"),
                // OPFVV vfmv.f.s: a floating-point result.
                1 if f6 == 0b01_0000 => (None, Some(rd), vec![], "vfmv.f.s"),
                // OPIVX, OPMVX: a scalar integer operand.
                4 | 6 => (None, None, vec![rs1], "vector op"),
                _ => (None, None, vec![], "vector op"),
            };
            Some(RiscvUndecoded {
                flag: "v",
                mnemonic,
                writes_x,
                writes_f,
                reads_x: reads,
            })
        }
        // LOAD-FP/STORE-FP: widths 0, 5, 6, 7 are vector loads and stores; width 1 is
        // flh/fsh.
        0x07 | 0x27 => {
            let (flag, mnemonic) = match f3 {
                0 | 5..=7 => ("v", if opcode == 0x07 { "vle" } else { "vse" }),
                1 => ("zfhmin", if opcode == 0x07 { "flh" } else { "fsh" }),
                _ => return None,
            };
            // Strided forms (mop = 2) read rs2 as the stride.
            let mop = (w >> 26) & 3;
            let mut reads = vec![rs1];
            if flag == "v" && mop == 2 {
                reads.push(rs2);
            }
            let writes_f = (opcode == 0x07 && flag == "zfhmin").then_some(rd);
            Some(RiscvUndecoded {
                flag,
                mnemonic,
                writes_x: None,
                writes_f,
                reads_x: reads,
            })
        }
        // OP-FP with the half-precision format (fmt = 2), and the conversions to and from
        // half precision that Zfhmin adds to the single and double formats.
        0x53 => {
            let fmt = f7 & 3;
            let f5 = f7 >> 2;
            let conversion_with_half =
                f5 == 0b01000 && ((fmt == 0 || fmt == 1) && rs2 == 2 || fmt == 2 && rs2 <= 1);
            if fmt != 2 && !conversion_with_half {
                return None;
            }
            let fmv = f5 == 0b11110 || f5 == 0b11100 && f3 == 0;
            let flag = if conversion_with_half || fmv {
                "zfhmin"
            } else {
                "zfh"
            };
            // fcvt.int.h, fmv.x.h/fclass.h and comparisons write an integer register;
            // fcvt.h.int and fmv.h.x read one.
            let int_result = matches!(f5, 0b11000 | 0b11100 | 0b10100);
            let int_source = matches!(f5, 0b11010 | 0b11110);
            Some(RiscvUndecoded {
                flag,
                mnemonic: "half-precision op",
                writes_x: int_result.then_some(rd),
                writes_f: (!int_result).then_some(rd),
                reads_x: if int_source { vec![rs1] } else { vec![] },
            })
        }
        // Fused multiply-add with the half-precision format.
        0x43 | 0x47 | 0x4b | 0x4f if (w >> 25) & 3 == 2 => Some(RiscvUndecoded {
            flag: "zfh",
            mnemonic: "fmadd.h",
            writes_x: None,
            writes_f: Some(rd),
            reads_x: vec![],
        }),
        _ => None,
    }
}

/// The flag a PPC64 instruction needs beyond the POWER8 floor of little-endian Linux
/// (ISA 2.07 with VMX and VSX), named by Linux's `AT_HWCAP`/`AT_HWCAP2` names: `arch_3_00`
/// (POWER9), `arch_3_1` (POWER10). Older levels are named too (`vsx`, `altivec`,
/// `arch_2_07`), which matters for big-endian targets below POWER8.
pub(crate) fn ppc64_feature(mnemonic: &str, groups: &[String]) -> Option<&'static str> {
    let m = mnemonic.trim_end_matches(['.', '+', '-']);
    if PPC_ISA_3_00.contains(&m) {
        return Some("arch_3_00");
    }
    for g in groups {
        let f = match g.as_str() {
            "p8altivec" | "p8vector" | "power8vector" | "power8altivec" => "arch_2_07",
            // POWER8 and POWER9 only: POWER10 dropped transactional memory.
            "htm" => "htm",
            "vsx" => "vsx",
            "altivec" => "altivec",
            _ => continue,
        };
        return Some(f);
    }
    None
}

/// Instructions new in Power ISA 3.0 (POWER9) that capstone 5 decodes without a group of
/// their own, by mnemonic.
const PPC_ISA_3_00: &[&str] = &[
    // Fixed point.
    "modsd",
    "modud",
    "modsw",
    "moduw",
    "cnttzd",
    "cnttzw",
    "extswsli",
    "maddhd",
    "maddhdu",
    "maddld",
    "darn",
    "setb",
    "cmprb",
    "cmpeqb",
    "addpcis",
    "mcrxrx",
    // VSX loads and stores.
    "lxv",
    "stxv",
    "lxvx",
    "stxvx",
    "lxsd",
    "stxsd",
    "lxssp",
    "stxssp",
    "lxvb16x",
    "lxvh8x",
    "stxvb16x",
    "stxvh8x",
    "lxvl",
    "lxvll",
    "stxvl",
    "stxvll",
    "lxvwsx",
    "lxsibzx",
    "lxsihzx",
    "stxsibx",
    "stxsihx",
    "mtvsrdd",
    "mtvsrws",
    "mfvsrld",
    // VSX arithmetic and permutes.
    "xscmpexpdp",
    "xscmpeqdp",
    "xscmpgtdp",
    "xscmpgedp",
    "xsmaxcdp",
    "xsmincdp",
    "xsmaxjdp",
    "xsminjdp",
    "xscvhpdp",
    "xscvdphp",
    "xvcvhpsp",
    "xvcvsphp",
    "xsiexpdp",
    "xsxexpdp",
    "xsxsigdp",
    "xststdcdp",
    "xststdcsp",
    "xvtstdcdp",
    "xvtstdcsp",
    "xxbrd",
    "xxbrh",
    "xxbrw",
    "xxbrq",
    "xxextractuw",
    "xxinsertw",
    "xxperm",
    "xxpermr",
    "xxspltib",
    "xvxexpdp",
    "xvxsigdp",
    "xviexpdp",
    "xvxexpsp",
    "xvxsigsp",
    "xviexpsp",
    "xsaddqp",
    "xssubqp",
    "xsmulqp",
    "xsdivqp",
    "xssqrtqp",
    "xsmaddqp",
    "xscvdpqp",
    "xscvqpdp",
    // VMX.
    "vpermr",
    "vabsdub",
    "vabsduh",
    "vabsduw",
    "vcmpneb",
    "vcmpneh",
    "vcmpnew",
    "vcmpnezb",
    "vcmpnezh",
    "vcmpnezw",
    "vclzlsbb",
    "vctzlsbb",
    "vctzb",
    "vctzh",
    "vctzw",
    "vctzd",
    "vextublx",
    "vextubrx",
    "vextuhlx",
    "vextuhrx",
    "vextuwlx",
    "vextuwrx",
    "vextractub",
    "vextractuh",
    "vextractuw",
    "vextractd",
    "vinsertb",
    "vinserth",
    "vinsertw",
    "vinsertd",
    "vrlwmi",
    "vrldmi",
    "vrlwnm",
    "vrldnm",
    "vnegw",
    "vnegd",
    "vprtybw",
    "vprtybd",
    "vprtybq",
    "vextsb2w",
    "vextsb2d",
    "vextsh2w",
    "vextsh2d",
    "vextsw2d",
    "vsrv",
    "vslv",
    "vbpermd",
    "vmul10uq",
    "vmul10cuq",
    "vmul10euq",
    "vmul10ecuq",
];

/// What a PPC64 word capstone 5 could not decode is: a prefixed instruction of Power ISA 3.1
/// (POWER10; primary opcode 1, reserved before it) with its suffix, 8 bytes in all. Returns
/// the general-purpose register a prefixed load or `paddi` writes, if any.
pub(crate) fn ppc64_prefixed(prefix: u32, suffix: Option<u32>) -> Option<Option<u32>> {
    if prefix >> 26 != 1 {
        return None;
    }
    let suffix = suffix?;
    let kind = (prefix >> 24) & 3; // 0: 8LS, 2: MLS (IBM bits 6-7).
    let op = suffix >> 26;
    let rt = (suffix >> 21) & 0x1f;
    let gpr_result = match kind {
        // paddi, plwz, plbz, plhz, plha.
        2 => matches!(op, 14 | 32 | 34 | 40 | 42),
        // plwa, pld.
        0 => matches!(op, 41 | 57),
        _ => false,
    };
    Some(gpr_result.then_some(rt))
}

/// The flag an s390x instruction needs beyond the z196 floor (Debian's s390x baseline):
/// Linux's hwcap names where the facility has one (`vx`, `vxe`, `vxd`, `vxe2`, `vxp`, `gs`,
/// `te`, `nnpa`...), GCC's `-march=archN` name where it has none (`arch10` zEC12, `arch11`
/// z13, `arch12` z14, `arch13` z15).
pub(crate) fn s390x_feature(groups: &[String]) -> Option<&'static str> {
    for g in groups {
        let f = match g.as_str() {
            "vector" => "vx",
            "vectorenhancements1" => "vxe",
            "vectorenhancements2" => "vxe2",
            "vectorpackeddecimal" => "vxd",
            "vectorpackeddecimalenhancement" => "vxp",
            "nnpassist" => "nnpa",
            "guardedstorage" => "gs",
            "transactionalexecution" => "te",
            "miscellaneousextensions" | "executionhint" | "loadandtrap" | "processorassist" => {
                "arch10"
            }
            "loadstoreoncond2" | "loadandzerorightmostbyte" => "arch11",
            "miscellaneousextensions2" | "messagesecurityassist8" => "arch12",
            "miscellaneousextensions3" | "deflateconversion" | "enhancedsort" => "arch13",
            _ => continue,
        };
        return Some(f);
    }
    None
}

/// An s390x instruction capstone 5 could not decode, classified by its opcode: its length
/// (from the first byte's two high bits), and the facility it belongs to when that is
/// certain: every `E6xx`/`E7xx` opcode is a vector-facility instruction (capstone 5 misses
/// newer ones and some forms with alignment hints), and the z15 miscellaneous-instruction-
/// extensions-3 and deflate/sort opcodes are listed. Returns (length, flag, general
/// register written).
pub(crate) fn s390x_undecoded(code: &[u8]) -> Option<(u64, &'static str, Option<u32>)> {
    let b0 = *code.first()?;
    let len: u64 = match b0 >> 6 {
        0 => 2,
        1 | 2 => 4,
        _ => 6,
    };
    if code.len() < len as usize {
        return None;
    }
    let b1 = code[1];
    match (b0, b1) {
        // Vector registers only, except the element moves to general registers, which
        // capstone 5 decodes.
        (0xe6 | 0xe7, _) => Some((len, "vx", None)),
        // NCRK NCGRK NNRK NNGRK NORK NOGRK NXRK NXGRK OCRK OCGRK SELR SELGR SELFHR, and
        // POPCNT with M3 set: RRF forms whose R1 is the high nibble of byte 3.
        (0xb9, 0xf5 | 0xe5 | 0x74 | 0x64 | 0x76 | 0x66 | 0x77 | 0x67 | 0x75 | 0x65)
        | (0xb9, 0xf0 | 0xe3 | 0xc0 | 0xe1) => Some((len, "arch13", Some(u32::from(code[3] >> 4)))),
        // DFLTCC, SORTL.
        (0xb9, 0x39) => Some((len, "dflt", None)),
        (0xb9, 0x38) => Some((len, "sort", None)),
        _ => None,
    }
}

/// The flag a MIPS instruction needs beyond MIPS32r2/MIPS64r2 with FPU (Debian's floors):
/// the SIMD architecture (`msa`, as the `ASEs implemented` line of `/proc/cpuinfo` spells
/// it), and the DSP ASE.
pub(crate) fn mips_feature(groups: &[String]) -> Option<&'static str> {
    for g in groups {
        let f = match g.as_str() {
            "msa" => "msa",
            "dsp" | "dspr2" | "dspr3" => "dsp",
            _ => continue,
        };
        return Some(f);
    }
    None
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
    fn riscv_words_capstone_misses() {
        // From clang's rv64gcv_zba_zbb output: sh3add a1, a2, a5.
        let sh3add = riscv_undecoded(0x20f6_65b3).expect("zba");
        assert_eq!((sh3add.flag, sh3add.writes_x), ("zba", Some(11)));
        assert_eq!(sh3add.reads_x, vec![12, 15]);
        // vsetvli a4, zero, e64, m2: writes a4.
        let vset = riscv_undecoded(0x0d90_7757).expect("v");
        assert_eq!((vset.flag, vset.writes_x), ("v", Some(14)));
        // vse64.v v10, (a1): reads a1, writes no scalar register.
        let vse = riscv_undecoded(0x0205_f527).expect("v");
        assert_eq!((vse.flag, vse.writes_x, vse.writes_f), ("v", None, None));
        assert_eq!(vse.reads_x, vec![11]);
        // vfmacc.vf v10, fa5, v8: vector destination only.
        let vf = riscv_undecoded(0xb287_d557).expect("v");
        assert_eq!((vf.writes_x, vf.writes_f), (None, None));
        // cpop a2, a0.
        let cpop = riscv_undecoded(0x6025_1613).expect("zbb");
        assert_eq!((cpop.flag, cpop.writes_x), ("zbb", Some(12)));
        // fcvt.s.h fa0, fa0 (Zfhmin); fadd.h fa0, fa0, fa1 (Zfh).
        assert_eq!(riscv_undecoded(0x4025_0553).map(|u| u.flag), Some("zfhmin"));
        assert_eq!(riscv_undecoded(0x04b5_7553).map(|u| u.flag), Some("zfh"));
        // add a0, a0, a1 and fld are base instructions: not classified.
        assert_eq!(riscv_undecoded(0x00b5_0533), None);
        assert_eq!(riscv_undecoded(0x0005_3507), None);
    }

    #[test]
    fn s390x_and_ppc64_words_capstone_misses() {
        // NCGRK %r3, %r1, %r0 (z15): writes r3.
        assert_eq!(
            s390x_undecoded(&[0xb9, 0xe5, 0x00, 0x31]),
            Some((4, "arch13", Some(3)))
        );
        // A vector store with an alignment hint: 6 bytes, vector facility.
        assert_eq!(
            s390x_undecoded(&[0xe7, 0x12, 0xb2, 0xa0, 0x30, 0x0e]),
            Some((6, "vx", None))
        );
        assert_eq!(s390x_undecoded(&[0xe7, 0x12, 0xb2]), None, "truncated");
        assert_eq!(s390x_undecoded(&[0xb9, 0x08, 0x00, 0x31]), None, "agr");
        // pla r3, x (MLS prefix with R = 1, then addi): writes r3.
        assert_eq!(
            ppc64_prefixed(0x0610_0000, Some(0x3860_0000)),
            Some(Some(3))
        );
        // pstd (8LS prefix, suffix opcode 61): no register written.
        assert_eq!(ppc64_prefixed(0x0410_0000, Some(0xf860_0000)), Some(None));
        assert_eq!(
            ppc64_prefixed(0x3860_0000, Some(0)),
            None,
            "addi is not a prefix"
        );
        assert_eq!(ppc64_prefixed(0x0610_0000, None), None, "no suffix");
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
