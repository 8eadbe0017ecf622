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
    pub fn from_cpuinfo(arch: Arch, text: &str) -> Self {
        let line = text.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key.trim(), "flags" | "Features").then_some(value)
        });
        IsaLevel::from_flags(arch, line.unwrap_or("").split_whitespace())
    }

    /// The CPU this process runs on (Linux: `/proc/cpuinfo`); `None` where it cannot be read.
    pub fn host() -> Option<Self> {
        let arch = crate::target::Target::host().arch;
        let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        Some(IsaLevel::from_cpuinfo(arch, &text))
    }

    /// Whether the target has this flag.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }
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
}
