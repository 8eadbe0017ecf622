//! Which CPU feature one instruction needs beyond its architecture's baseline, and the
//! instruction words capstone does not decode (RISC-V extensions, s390x facilities, Power
//! ISA 3.1 prefixed instructions), classified from their encodings. The lifters tag each
//! instruction with these; `analysis::floor` sums them into a library's floor.

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

/// A POWER10 matrix-multiply assist (MMA) instruction capstone 5 does not decode: the
/// accumulator moves (`xxmfacc`, `xxmtacc`, `xxsetaccz`: primary opcode 31, extended opcode
/// 177) and the rank-k updates (`xvf32gerpp`, `xvi8ger4`, `xvbf16ger2nn`...: primary opcode
/// 59 with the XX3 extended opcodes Power ISA 3.1 gives them). Returns the accumulator
/// written (0–7; accumulator N is VSRs 4N to 4N+3, which are FPRs f4N to f4N+3) and the
/// instruction's mnemonic.
pub(crate) fn ppc64_mma(w: u32) -> Option<(u32, &'static str)> {
    const GER: &[(u32, &str)] = &[
        (2, "xvi8ger4pp"),
        (3, "xvi8ger4"),
        (18, "xvf16ger2pp"),
        (19, "xvf16ger2"),
        (26, "xvf32gerpp"),
        (27, "xvf32ger"),
        (34, "xvi4ger8pp"),
        (35, "xvi4ger8"),
        (42, "xvi16ger2spp"),
        (43, "xvi16ger2s"),
        (50, "xvbf16ger2pp"),
        (51, "xvbf16ger2"),
        (58, "xvf64gerpp"),
        (59, "xvf64ger"),
        (75, "xvi16ger2"),
        (82, "xvf16ger2np"),
        (90, "xvf32gernp"),
        (99, "xvi8ger4spp"),
        (107, "xvi16ger2pp"),
        (114, "xvbf16ger2np"),
        (122, "xvf64gernp"),
        (146, "xvf16ger2pn"),
        (154, "xvf32gerpn"),
        (178, "xvbf16ger2pn"),
        (186, "xvf64gerpn"),
        (210, "xvf16ger2nn"),
        (218, "xvf32gernn"),
        (242, "xvbf16ger2nn"),
        (250, "xvf64gernn"),
    ];
    let acc = (w >> 23) & 7;
    // Bits 9-10 (IBM) of the accumulator field are zero in every form.
    if (w >> 21) & 3 != 0 {
        return None;
    }
    match w >> 26 {
        31 if (w >> 1) & 0x3ff == 177 && (w >> 11) & 31 == 0 && w & 1 == 0 => {
            let name = match (w >> 16) & 31 {
                0 => "xxmfacc",
                1 => "xxmtacc",
                3 => "xxsetaccz",
                _ => return None,
            };
            Some((acc, name))
        }
        59 => {
            let xo = (w >> 3) & 0xff;
            GER.iter().find(|(x, _)| *x == xo).map(|(_, n)| (acc, *n))
        }
        _ => None,
    }
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
/// it), the DSP ASE, and the release a revision-specific instruction belongs to. Release 6
/// removed instructions and gave their encodings to new ones, so neither release's code runs
/// on the other's CPUs: in release 6 code (`r6`) an instruction only release 6 has needs
/// `mips32r6`; in earlier code, one release 6 removed needs `mips2` (every pre-R6 CPU's `isa`
/// line lists it, no R6 CPU's does).
pub(crate) fn mips_feature(groups: &[String], mnemonic: &str, r6: bool) -> Option<&'static str> {
    for g in groups {
        let f = match g.as_str() {
            "msa" => "msa",
            "dsp" | "dspr2" | "dspr3" => "dsp",
            _ => continue,
        };
        return Some(f);
    }
    if r6 {
        mips_release6_only(mnemonic).then_some("mips32r6")
    } else {
        mips_removed_in_release6(mnemonic).then_some("mips2")
    }
}

/// Instructions release 6 added (compact branches, `aui`, `seleqz`, `lsa`, the three-operand
/// multiply and divide, `cmp.cond.fmt`...), as capstone names them in its release 6 mode.
fn mips_release6_only(m: &str) -> bool {
    const ONLY: &[&str] = &[
        "bc", "balc", "jic", "jialc", "beqzc", "bnezc", "beqc", "bnec", "bltc", "bgec", "bltuc",
        "bgeuc", "bltzc", "blezc", "bgezc", "bgtzc", "beqzalc", "bnezalc", "blezalc", "bgezalc",
        "bltzalc", "bgtzalc", "bovc", "bnvc", "bc1eqz", "bc1nez", "bc2eqz", "bc2nez", "seleqz",
        "selnez", "aui", "daui", "dahi", "dati", "auipc", "aluipc", "addiupc", "lwpc", "lwupc",
        "ldpc", "lsa", "dlsa", "muh", "mulu", "muhu", "dmul", "dmuh", "dmulu", "dmuhu", "mod",
        "modu", "dmod", "dmodu", "align", "dalign", "bitswap", "dbitswap", "sigrie",
    ];
    ONLY.contains(&m)
        || m.starts_with("cmp.")
        || [
            "sel.", "seleqz.", "selnez.", "class.", "rint.", "maddf.", "msubf.", "mina.", "maxa.",
        ]
        .iter()
        .any(|p| m.starts_with(p))
        || (m.starts_with("min.") || m.starts_with("max."))
}

/// Instructions release 6 removed (branch-likely, the HI/LO multiply and divide, `movn`/
/// `movz`, the unaligned loads and stores, the FP condition-code branches and compares,
/// `addi`...), as capstone names them in its pre-R6 modes. `mul` is the SPECIAL2 one there.
fn mips_removed_in_release6(m: &str) -> bool {
    const REMOVED: &[&str] = &[
        "beql", "bnel", "blezl", "bgtzl", "bltzl", "bgezl", "bltzall", "bgezall", "bltzal",
        "bgezal", "mult", "multu", "dmult", "dmultu", "div", "divu", "ddiv", "ddivu", "mfhi",
        "mflo", "mthi", "mtlo", "madd", "maddu", "msub", "msubu", "mul", "movn", "movz", "movf",
        "movt", "lwl", "lwr", "swl", "swr", "ldl", "ldr", "sdl", "sdr", "jalx", "bc1f", "bc1t",
        "bc1fl", "bc1tl", "lwxc1", "ldxc1", "swxc1", "sdxc1", "luxc1", "suxc1", "prefx", "addi",
        "daddi", "tgei", "tgeiu", "tlti", "tltiu", "teqi", "tnei", "clo", "clz", "dclo", "dclz",
    ];
    // `clz`/`clo` moved to new encodings in release 6: the old ones are SPECIAL2.
    REMOVED.contains(&m)
        || m.starts_with("c.")
        || [
            "movn.", "movz.", "movf.", "movt.", "madd.", "msub.", "nmadd.", "nmsub.",
        ]
        .iter()
        .any(|p| m.starts_with(p))
}

/// The `/proc/cpuinfo` `cpucaps` flag a SPARC instruction needs beyond V9: the visual
/// instruction set by level (`vis`, UltraSPARC I; `vis2`, UltraSPARC III; `vis3`, SPARC T3),
/// from capstone's groups, with the VIS 3 integer instructions capstone may leave ungrouped;
/// and `popc` (in hardware from SPARC T2; gcc emits it for niagara2 and later). T3's fused
/// multiply-add (`fmaf`) and T4's compare-and-branch (`cbcond`) are decoded by the lifter.
pub(crate) fn sparc_feature(groups: &[String], mnemonic: &str) -> Option<&'static str> {
    for g in groups {
        let f = match g.as_str() {
            "vis3" => "vis3",
            "vis2" => "vis2",
            "vis" => "vis",
            _ => continue,
        };
        return Some(f);
    }
    const VIS3: &[&str] = &[
        "addxc", "addxccc", "lzcnt", "movdtox", "movstosw", "movstouw", "movwtos", "movxtod",
        "umulxhi", "xmulx", "xmulxhi",
    ];
    if VIS3.contains(&mnemonic) {
        return Some("vis3");
    }
    (mnemonic == "popc").then_some("popc")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // From llvm-mc -mcpu=pwr10: xxsetaccz 0, xxmtacc 1 (in the field), xvf32gerpp 0, 4, 5,
        // xvf64gernn 0, 4, 5 (vsr pair), xvi8ger4 7, 4, 5.
        assert_eq!(ppc64_mma(0x7c03_0162), Some((0, "xxsetaccz")));
        assert_eq!(ppc64_mma(0x7c01_0162 | 1 << 23), Some((1, "xxmtacc")));
        assert_eq!(ppc64_mma(0xec04_28d0), Some((0, "xvf32gerpp")));
        assert_eq!(ppc64_mma(0xec04_2fd0), Some((0, "xvf64gernn")));
        assert_eq!(ppc64_mma(0xec04_2818 | 7 << 23), Some((7, "xvi8ger4")));
        // fadds f0, f4, f5 (opcode 59, A-form) and mfocrf are not MMA.
        assert_eq!(ppc64_mma(0xec04_282a), None);
        assert_eq!(ppc64_mma(0x7c10_0026), None);
    }
}
