//! AArch64 lifter.

use capstone::arch::arm64::{Arm64OperandType, Arm64Shift};
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use super::features::aarch64_feature;
use super::{Bound, CallTarget, Flow, Fx, ImageView, Lifted, Lifter, Stub};

pub(crate) struct Aarch64 {
    cs: Capstone,
}

impl Aarch64 {
    pub(crate) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Aarch64)?;
        Ok(Aarch64 { cs })
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }
}

/// `wN` → `xN`, `w29`/`x29` → `fp`, `w30`/`x30` → `lr`; every view of vector register N
/// (`bN`, `hN`, `sN`, `dN`, `qN`, `vN`) → `dN`, the callee-saved view.
fn canon(n: &str) -> String {
    let num = |p: &str| {
        n.strip_prefix(p)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    };
    if let Some(k) = num("w").or_else(|| num("x")) {
        return match k {
            29 => "fp".into(),
            30 => "lr".into(),
            _ => format!("x{k}"),
        };
    }
    for p in ["b", "h", "s", "d", "q", "v", "z"] {
        if let Some(k) = num(p) {
            return format!("d{k}");
        }
    }
    match n {
        "wzr" | "xzr" => "xzr".into(),
        "wsp" => "sp".into(),
        _ => n.to_string(),
    }
}

enum Operand {
    Reg(String),
    Imm(i64, bool),
    Mem {
        base: Option<String>,
        index: Option<String>,
        disp: i64,
    },
    Other,
}

/// Bytes one register of a load/store pair moves.
/// The bytes one register of a load or store moves and whether a load sign-extends them:
/// the register's width (`bytes`) unless the mnemonic names a narrower access (`ldrb`,
/// `sturh`, `ldrsw`).
fn access_width(m: &str, bytes: i64) -> (u8, bool) {
    let signed = m.starts_with("ldrs") || m.starts_with("ldurs");
    let size = if m.ends_with("sw") {
        4
    } else if m.ends_with('b') {
        1
    } else if m.ends_with('h') {
        2
    } else {
        bytes as u8
    };
    (size, signed)
}

fn reg_bytes(original: &str) -> i64 {
    match original.chars().next() {
        Some('w') | Some('s') => 4,
        Some('q') => 16,
        Some('h') => 2,
        Some('b') => 1,
        _ => 8,
    }
}

impl Lifter for Aarch64 {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("lr")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        // [bti c] adrp x16, page; ldr x17, [x16, #off]; add x16, x16, #off; br x17 (ELF)
        let word = |i: usize| super::le_word(code, i);
        let mut i = 0;
        if word(0)? == 0xd503245f {
            i = 1;
        }
        let adrp = word(i)?;
        let ldr = word(i + 1)?;
        // ELF PLT: ldr x17, [x16, #off]; Mach-O __stubs: ldr x16, [x16, #off]; br x16.
        if adrp & 0x9f00001f != 0x90000010 || !matches!(ldr & 0xffc003ff, 0xf9400211 | 0xf9400210) {
            return None;
        }
        let immlo = u64::from((adrp >> 29) & 3);
        let immhi = u64::from((adrp >> 5) & 0x7ffff);
        let imm = ((immhi << 2) | immlo) << 12;
        let imm = ((imm << 31) as i64 >> 31) as u64; // sign-extend 33 bits
        let page = (address + 4 * i as u64) & !0xfff;
        let off = u64::from((ldr >> 10) & 0xfff) * 8;
        let slot = page.wrapping_add(imm).wrapping_add(off);
        Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import))
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let insns = self.cs.disasm_count(code, address, 1).ok()?;
        let insn = insns.iter().next()?;
        let mnemonic = insn.mnemonic().unwrap_or("").to_string();
        let next = address + insn.len() as u64;
        let mut out = Lifted::plain(address, next, &mnemonic);
        if !crate::disasm::aarch64_operands_are_safe(&mnemonic) {
            // No operand details (see crate::disasm): what matters is read from the text.
            let text = insn.op_str().unwrap_or("");
            if mnemonic == "mrs" {
                out.probes_cpu = text.contains("id_aa64");
                out.writes
                    .extend(crate::disasm::aarch64_mrs_destination(text).map(|r| canon(&r)));
            }
            return Some(out);
        }
        let detail = self.cs.insn_detail(insn).ok()?;
        let m = mnemonic.as_str();
        let arch_detail = detail.arch_detail();
        let writeback = arch_detail.arm64().is_some_and(|d| d.writeback());
        let mut originals: Vec<String> = Vec::new();
        let ops: Vec<Operand> = arch_detail
            .operands()
            .into_iter()
            .map(|op| match op {
                ArchOperand::Arm64Operand(o) => match o.op_type {
                    Arm64OperandType::Reg(r) => {
                        originals.push(self.cs.reg_name(r).unwrap_or_default());
                        self.name(r).map_or(Operand::Other, Operand::Reg)
                    }
                    // `sub sp, sp, #1, lsl #12`: an arithmetic immediate shifted left.
                    Arm64OperandType::Imm(i) if arith_shift(&mnemonic, &o.shift).is_some() => {
                        let s = arith_shift(&mnemonic, &o.shift).unwrap_or(0);
                        Operand::Imm(i.checked_shl(s).unwrap_or(0), false)
                    }
                    Arm64OperandType::Imm(i) => {
                        Operand::Imm(i, !matches!(o.shift, Arm64Shift::Invalid))
                    }
                    Arm64OperandType::Mem(mm) => Operand::Mem {
                        base: self.name(mm.base()),
                        index: self.name(mm.index()),
                        disp: i64::from(mm.disp()),
                    },
                    _ => Operand::Other,
                },
                _ => Operand::Other,
            })
            .collect();
        for r in detail.regs_read() {
            if let Some(n) = self.name(*r) {
                if n != "sp" && n != "xzr" && n != "nzcv" && !out.reads.contains(&n) {
                    out.reads.push(n);
                }
            }
        }
        // capstone's write lists miss some destinations (e.g. `cas`): add operand 0 of every
        // instruction that writes its first operand.
        for r in detail.regs_write() {
            if let Some(n) = self.name(*r) {
                if n != "xzr" && n != "nzcv" && !out.writes.contains(&n) {
                    out.writes.push(n);
                }
            }
        }
        let stores_only = (m.starts_with("st")
            && !m.starts_with("stxr")
            && !m.starts_with("stlxr")
            && !m.starts_with("stxp")
            && !m.starts_with("stlxp"))
            || matches!(
                m,
                "cmp" | "cmn" | "tst" | "ccmp" | "ccmn" | "fcmp" | "fcmpe" | "fccmp"
            )
            || m.starts_with('b')
            || m.starts_with("cb")
            || m.starts_with("tb")
            || m.starts_with("prf")
            || m == "msr"
            || m == "ret";
        if !stores_only {
            if let Some(Operand::Reg(r)) = ops.first() {
                if r != "xzr" && !out.writes.contains(r) {
                    out.writes.push(r.clone());
                }
            }
        }
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| self.cs.group_name(*g))
            .collect();
        out.feature = aarch64_feature(m, &groups);
        let reg = |i: usize| match ops.get(i) {
            Some(Operand::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = |i: usize| match ops.get(i) {
            Some(Operand::Imm(v, false)) => Some(*v),
            _ => None,
        };
        let last_imm = ops.iter().rev().find_map(|o| match o {
            Operand::Imm(v, _) => Some(*v),
            _ => None,
        });
        match m {
            "ret" | "retaa" | "retab" => {
                out.flow = Flow::Ret {
                    pop: 0,
                    via: Some(reg(0).unwrap_or_else(|| "lr".into())),
                }
            }
            // Pointer authentication and BTI hints sign or check lr in place.
            "paciasp" | "autiasp" | "pacibsp" | "autibsp" | "paciaz" | "autiaz" | "pacibz"
            | "autibz" | "xpaclri" | "bti" | "hint" | "nop" => {
                out.writes.clear();
                out.reads.clear();
            }
            "brk" | "udf" | "hlt" => out.flow = Flow::Stop,
            // A system call (glibc's wrappers: `mov x8, #nr; svc #0; cmn x0, #4095; b.hi
            // err; ret`). capstone lists lr as written, but the kernel hands every register
            // back but the results: x0 on Linux, x0 and x1 on Darwin.
            "svc" | "hvc" | "smc" => {
                out.writes = vec!["x0".to_string(), "x1".to_string()];
            }
            "b" => {
                if let Some(t) = last_imm {
                    out.flow = Flow::Jump(t as u64);
                }
            }
            "bl" => {
                if let Some(t) = last_imm {
                    out.flow = Flow::Call(t as u64);
                }
            }
            "blr" | "blraa" | "blrab" | "blraaz" | "blrabz" => {
                out.flow = Flow::IndirectCall;
                out.call_target = reg(0).map(CallTarget::Reg);
            }
            "br" | "braa" | "brab" | "braaz" | "brabz" => {
                out.flow = reg(0).map_or(Flow::Stop, Flow::IndirectReg)
            }
            "cbz" | "cbnz" | "tbz" | "tbnz" => {
                if let Some(t) = last_imm {
                    out.flow = Flow::Cond(t as u64, Bound::None);
                }
            }
            _ if m.starts_with("b.") => {
                if let Some(t) = last_imm {
                    let bound = match m {
                        "b.hi" => Bound::AtMost,
                        "b.hs" | "b.cs" => Bound::Below,
                        "b.ls" => Bound::TakenAtMost,
                        "b.lo" | "b.cc" => Bound::TakenBelow,
                        "b.ne" => Bound::Equal,
                        _ => Bound::None,
                    };
                    out.flow = Flow::Cond(t as u64, bound);
                }
            }
            // Reads of the ID registers are feature probes (Linux traps and emulates).
            "mrs" if insn.op_str().is_some_and(|s| s.contains("id_aa64")) => {
                out.probes_cpu = true;
            }
            "cmp" => {
                if let Some(v) = imm(1) {
                    out.fx.push(Fx::CmpImm { imm: v });
                } else if let (Some(a), Some(b), 2) = (reg(0), reg(1), ops.len()) {
                    out.fx.push(Fx::CmpRegs { a, b });
                }
            }
            // `mov x12, #0x10000; movk x12, #0x90`: a frame size over 64 KiB.
            "movk" => {
                if let (Some(d), Some(Operand::Imm(v, _))) = (reg(0), ops.get(1)) {
                    let shift = insn
                        .op_str()
                        .and_then(|t| t.split_once("lsl #"))
                        .and_then(|(_, n)| n.trim().parse().ok())
                        .unwrap_or(0);
                    out.fx.push(Fx::InsertImm {
                        dst: d,
                        imm: (*v as u64) & 0xffff,
                        shift,
                    });
                }
            }
            "adrp" | "adr" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    out.names_address = Some(v as u64);
                    out.fx.push(Fx::Const {
                        dst: d,
                        value: v as u64,
                    });
                }
            }
            "mov" => match (reg(0), ops.get(1)) {
                (Some(d), Some(Operand::Reg(s))) => out.fx.push(Fx::Copy {
                    dst: d,
                    src: s.clone(),
                }),
                (Some(d), Some(Operand::Imm(v, false))) => out.fx.push(Fx::Const {
                    dst: d,
                    value: *v as u64,
                }),
                _ => {}
            },
            "add" | "sub" => match (reg(0), reg(1), ops.get(2), ops.len()) {
                (Some(d), Some(s), Some(Operand::Imm(v, false)), 3) => out.fx.push(Fx::AddImm {
                    dst: d,
                    src: s,
                    imm: if m == "add" { *v } else { v.wrapping_neg() },
                }),
                // `sub sp, sp, x12`: a frame over 4 KiB (x12 from mov/movk).
                (Some(d), Some(a), Some(Operand::Reg(b)), 3)
                    if m == "sub" && insn.op_str().is_some_and(plain_register_operand) =>
                {
                    out.fx.push(Fx::SubRegs {
                        dst: d,
                        a,
                        b: b.clone(),
                    })
                }
                (Some(d), Some(a), Some(Operand::Reg(b)), 3) if m == "add" => {
                    // `add x2, x3, w2, sxtb #2`: the shift and extension are read from the
                    // text; a right shift or rotation is not followed (dst becomes unknown).
                    match insn.op_str().map(register_operand_modifier) {
                        Some(Some(Modifier::Shift(shift))) => out.fx.push(Fx::AddRegs {
                            dst: d,
                            a,
                            b: b.clone(),
                            shift,
                        }),
                        Some(Some(Modifier::Extend {
                            bits,
                            signed,
                            shift,
                        })) => out.fx.push(Fx::AddExtended {
                            dst: d,
                            a,
                            b: b.clone(),
                            shift,
                            bits,
                            signed,
                        }),
                        _ => {}
                    }
                }
                _ => {}
            },
            _ if is_load_store(m) => {
                let mem_at = ops.iter().position(|o| matches!(o, Operand::Mem { .. }));
                if let Some(Some(Operand::Mem {
                    base: Some(b),
                    index,
                    disp,
                })) = mem_at.map(|i| ops.get(i))
                {
                    let post = ops.get(mem_at.unwrap_or(0) + 1).and_then(|o| match o {
                        Operand::Imm(v, _) => Some(*v),
                        _ => None,
                    });
                    let store = m.starts_with("st");
                    let regs: Vec<(String, i64)> = ops
                        .iter()
                        .take(mem_at.unwrap_or(0))
                        .zip(originals.iter())
                        .filter_map(|(o, orig)| match o {
                            Operand::Reg(r) => Some((r.clone(), reg_bytes(orig))),
                            _ => None,
                        })
                        .collect();
                    if index.is_some() {
                        if let (false, Some((d, _))) = (store, regs.first()) {
                            let size = match m {
                                "ldrb" | "ldrsb" => 1,
                                "ldrh" | "ldrsh" => 2,
                                _ => reg_bytes(originals.first().map_or("x", |s| s.as_str())) as u8,
                            };
                            out.fx.push(Fx::LoadIndexed {
                                dst: d.clone(),
                                base: b.clone(),
                                disp: *disp,
                                size,
                                signed: m.starts_with("ldrs"),
                            });
                        }
                    } else {
                        // Pre-index: the base moves first; post-index: after the access.
                        let (access, pre, post_add) = match (writeback, post) {
                            (true, Some(p)) => (0, 0, p),
                            (true, None) => (0, *disp, 0),
                            _ => (*disp, 0, 0),
                        };
                        if pre != 0 {
                            out.fx.push(Fx::AddImm {
                                dst: b.clone(),
                                src: b.clone(),
                                imm: pre,
                            });
                        }
                        let mut off = access;
                        // Exclusive stores: the first register is the status result.
                        let skip = usize::from(m.starts_with("stxr") || m.starts_with("stlxr"));
                        for (r, bytes) in regs.iter().skip(skip) {
                            let (size, signed) = access_width(m, *bytes);
                            if store {
                                out.fx.push(Fx::Store {
                                    src: r.clone(),
                                    base: b.clone(),
                                    disp: off,
                                    size,
                                });
                            } else {
                                out.fx.push(Fx::Load {
                                    dst: r.clone(),
                                    base: b.clone(),
                                    disp: off,
                                    size,
                                    signed,
                                });
                            }
                            off += bytes;
                        }
                        if post_add != 0 {
                            out.fx.push(Fx::AddImm {
                                dst: b.clone(),
                                src: b.clone(),
                                imm: post_add,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        Some(out)
    }
}

/// Whether the third operand of `sub a, b, c` is the register itself: no shift, and no
/// extension but the identity one (`sub x16, sp, x16` is encoded `uxtx`).
fn plain_register_operand(ops: &str) -> bool {
    let parts: Vec<&str> = ops.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [_, _, _] => true,
        [_, _, _, ext] => matches!(*ext, "uxtx" | "sxtx" | "lsl #0" | "uxtx #0"),
        _ => false,
    }
}

/// What an arithmetic instruction does to its register operand before using it.
#[derive(Debug, PartialEq, Eq)]
enum Modifier {
    /// `lsl #n` (or nothing: `lsl #0`).
    Shift(u8),
    /// `uxtb`/`sxth`/... `#n`: the low `bits` widened, signed or not, then shifted left.
    Extend { bits: u8, signed: bool, shift: u8 },
}

/// The modifier of the last operand of `add a, b, c[, modifier]`, or `None` for one the
/// engine does not follow (`lsr`, `asr`, `ror`).
fn register_operand_modifier(ops: &str) -> Option<Modifier> {
    let parts: Vec<&str> = ops.split(',').map(str::trim).collect();
    let ext = match parts.as_slice() {
        [_, _, _] => return Some(Modifier::Shift(0)),
        [_, _, _, ext] => *ext,
        _ => return None,
    };
    let (kind, amount) = match ext.split_once('#') {
        Some((k, n)) => (k.trim(), n.trim().parse::<u8>().ok().filter(|n| *n < 64)?),
        None => (ext, 0),
    };
    let (bits, signed) = match kind {
        "lsl" => return Some(Modifier::Shift(amount)),
        "uxtb" => (8, false),
        "uxth" => (16, false),
        "uxtw" => (32, false),
        "uxtx" => (64, false),
        "sxtb" => (8, true),
        "sxth" => (16, true),
        "sxtw" => (32, true),
        "sxtx" => (64, true),
        _ => return None,
    };
    Some(if bits == 64 {
        Modifier::Shift(amount)
    } else {
        Modifier::Extend {
            bits,
            signed,
            shift: amount,
        }
    })
}

/// The left shift of an arithmetic instruction's immediate (`add`/`sub`/`cmp` `#imm, lsl #12`).
fn arith_shift(mnemonic: &str, shift: &Arm64Shift) -> Option<u32> {
    match (mnemonic, shift) {
        ("add" | "sub" | "adds" | "subs" | "cmp" | "cmn", Arm64Shift::Lsl(n)) if *n <= 12 => {
            Some(*n)
        }
        _ => None,
    }
}

fn is_load_store(m: &str) -> bool {
    matches!(
        m,
        "str"
            | "stur"
            | "stp"
            | "ldr"
            | "ldur"
            | "ldp"
            | "ldrb"
            | "ldrh"
            | "ldrsb"
            | "ldrsh"
            | "ldrsw"
            | "strb"
            | "strh"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12 arm64 libc's `sigpending`: `mov x1, #8; mov x8, #136; svc #0; cmn x0, #1,
    /// lsl #12; b.hi err; ret` at 0x3ab20.
    const SIGPENDING: [u8; 24] = [
        0x01, 0x01, 0x80, 0xd2, 0x08, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x1f, 0x04, 0x40,
        0xb1, 0x48, 0x00, 0x00, 0x54, 0xc0, 0x03, 0x5f, 0xd6,
    ];

    #[test]
    fn a_system_call_keeps_the_link_register() {
        let l = Aarch64::new().unwrap();
        let i = l.lift(&SIGPENDING[8..], 0x3ab28).unwrap();
        assert_eq!(i.mnemonic, "svc");
        assert_eq!(i.flow, Flow::Next, "{i:?}");
        assert!(!i.writes.iter().any(|w| w == "lr"), "{i:?}");
        assert!(i.writes.iter().any(|w| w == "x0"), "the result: {i:?}");
    }

    #[test]
    fn loads_and_stores_carry_their_width() {
        let l = Aarch64::new().unwrap();
        let fx = |word: u32| l.lift(&word.to_le_bytes(), 0x1000).unwrap().fx;
        // strb w0, [sp, #8]
        assert!(
            matches!(
                fx(0x3900_23e0).as_slice(),
                [Fx::Store {
                    size: 1,
                    disp: 8,
                    ..
                }]
            ),
            "{:?}",
            fx(0x3900_23e0)
        );
        // ldrsw x1, [x2, #4]
        assert!(
            matches!(
                fx(0xb980_0441).as_slice(),
                [Fx::Load {
                    size: 4,
                    signed: true,
                    ..
                }]
            ),
            "{:?}",
            fx(0xb980_0441)
        );
        // stp x29, x30, [sp, #-16]!
        assert!(
            matches!(
                fx(0xa9bf_7bfd).as_slice(),
                [_, Fx::Store { size: 8, .. }, Fx::Store { size: 8, .. }]
            ),
            "{:?}",
            fx(0xa9bf_7bfd)
        );
    }
}
