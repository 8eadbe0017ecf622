//! PowerPC 64 lifter, ELFv2 (ppc64le, big-endian musl) and ELFv1 (big-endian, `.opd`).
//!
//! The link register is a special register: `mflr r0; std r0,16(r1)` … `ld r0,16(r1);
//! mtlr r0; blr` is lifted as copies and stack stores, so the engine checks that lr holds its
//! entry value at `blr`. `stdu r1,-N(r1)` stores the back chain and allocates.
//!
//! The TOC pointer r2: the ELFv2 global entry sets it from r12 (the function's own address,
//! which the caller puts there), `addis r2,r12,hi; addi r2,r2,lo` (or the large-model
//! `ld r2,-8(r12); add r2,r2,r12`); the caller restores it after a cross-module call with
//! `ld r2,24(r1)` (ELFv1: `ld r2,40(r1)`), and ELFv1 loads a callee's TOC from its function
//! descriptor (`ld r2,8(rX)`) before `bctrl`. Those writes are the platform's protocol
//! ([`Lifted::protocol_write`]); any other write to r2 is a `reserved-register` finding.
//!
//! Jump tables are followed in their TOC-relative form (`addis rT,r2; addi rT,rT; lwax;
//! add; mtctr; bctr`): r2 is the constant the ELFv2 global entry computes, or the ELFv1
//! descriptor's TOC; a table the analysis cannot read ends the path. A call to an
//! out-of-line register save routine (gcc -Os `bl _savegpr0_N`) is replaced by the routine's
//! stores; the restore routine is reached by a jump and followed like any code.
//!
//! Not tracked: the condition-register fields (cr2–cr4 are callee-saved, but they are saved
//! as a whole with `mfcr`/`mtocrf`) and the AltiVec registers v20–v31 (saved with indexed
//! stores the engine does not model). Writes to them are left out, so they are never
//! reported.
//!
//! Why this file is long (about 900 lines): one instruction set's lifting: the register
//! canonicaliser, the operand reader, the TOC and link-register protocol and the PLT stubs
//! share its state; about 90 of its lines are tests.

use capstone::arch::ppc::PpcOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};
use object::ReadRef;

use super::{Arith, ArithOp, Bound, CallTarget, Flow, Fx, ImageView, Lifted, Lifter, Stub};
use crate::inspect::elf::ppc64_descriptor;
use crate::memory::Image;

pub(crate) struct Ppc64<'a, R> {
    image: &'a Image<R>,
    cs: Capstone,
    big_endian: bool,
    /// ELFv1: TOC save slot at 40(r1) and descriptor TOC loads; ELFv2: 24(r1).
    elfv1: bool,
    /// The module's TOC base (r2), to read PLT call stubs.
    toc: Option<u64>,
}

/// The code addresses of the roots: ELFv1 function pointers are descriptors in `.opd` whose
/// first word is the code address (the BEAM calls through the descriptor); ELFv2 ones are
/// the global entry points already. Also returns the module's TOC base when it can be read:
/// the descriptor's second word (ELFv1), or what a root's global entry computes (ELFv2).
pub(crate) fn code_roots<'data, R: ReadRef<'data>>(
    image: &Image<R>,
    roots: &[(String, u64, usize)],
) -> (Vec<(String, u64, usize)>, Option<u64>) {
    let mut toc = None;
    let mut out = Vec::with_capacity(roots.len());
    for (name, addr, n) in roots {
        let code = match ppc64_descriptor(image, *addr) {
            Some((code, t)) => {
                toc = toc.or(Some(t));
                code
            }
            None => {
                if toc.is_none() {
                    toc = global_entry_toc(image, *addr);
                }
                *addr
            }
        };
        out.push((name.clone(), code, *n));
    }
    (out, toc)
}

/// The TOC an ELFv2 global entry computes: `addis r2,r12,hi; addi r2,r2,lo` at `entry`
/// (r12 = entry).
fn global_entry_toc<'data, R: ReadRef<'data>>(image: &Image<R>, entry: u64) -> Option<u64> {
    let code = image.read_code(entry, 8).ok()?;
    let big = image.big_endian();
    let (addis, addi) = (word(&code, 0, big)?, word(&code, 1, big)?);
    let (op, rd, ra) = (addis >> 26, (addis >> 21) & 31, (addis >> 16) & 31);
    if op != 15 || rd != 2 || ra != 12 {
        return None;
    }
    let (op2, rd2, ra2) = (addi >> 26, (addi >> 21) & 31, (addi >> 16) & 31);
    if op2 != 14 || rd2 != 2 || ra2 != 2 {
        return None;
    }
    let hi = i64::from(addis as u16 as i16) << 16;
    let lo = i64::from(addi as u16 as i16);
    Some(entry.wrapping_add_signed(hi + lo))
}

/// The `i`-th 32-bit instruction word of `code`.
fn word(code: &[u8], i: usize, big: bool) -> Option<u32> {
    let b: [u8; 4] = code.get(i * 4..i * 4 + 4)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Most instructions of an out-of-line register save routine (`_savegpr0_14`: 18 stores, the
/// lr store and `blr`).
const MAX_SAVE_ROUTINE_INSNS: usize = 40;

impl<'data, 'a, R: ReadRef<'data>> Ppc64<'a, R> {
    pub(crate) fn new(image: &'a Image<R>, elfv1: bool, toc: Option<u64>) -> Result<Self, String> {
        let big_endian = image.big_endian();
        let cs = crate::disasm::detailed(crate::disasm::Isa::Ppc64 { big_endian })?;
        Ok(Ppc64 {
            image,
            cs,
            big_endian,
            elfv1,
            toc,
        })
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }

    /// A Power ISA 3.1 prefixed instruction (capstone 5 decodes none): 8 bytes, the POWER10
    /// flag, and the general register a prefixed load or `paddi` writes.
    fn prefixed(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let word = |i: usize| crate::disasm::word32(code, i, self.big_endian);
        let written = super::features::ppc64_prefixed(word(0)?, word(1))?;
        // The masked rank-k updates (`pmxvf32gerpp`...): an MMIRR prefix on an MMA suffix.
        let mma = word(1)
            .and_then(super::features::ppc64_mma)
            .filter(|_| (word(0).unwrap_or(0) >> 24) & 3 == 3);
        let mnemonic = match mma {
            Some((_, name)) => format!("pm{name}"),
            None => "prefixed".to_string(),
        };
        let mut out = Lifted::plain(address, address.wrapping_add(8), &mnemonic);
        out.feature = Some(if mma.is_some() { "mma" } else { "arch_3_1" });
        if let Some((acc, _)) = mma {
            out.writes = (4 * acc..4 * acc + 4).map(|f| format!("f{f}")).collect();
        }
        if let Some(rt) = written {
            out.writes.push(format!("r{rt}"));
        }
        if let Some(fx) = word(1).and_then(|suffix| pc_relative(word(0)?, suffix, address)) {
            out.fx.push(fx);
        }
        Some(out)
    }

    /// A POWER10 MMA instruction (capstone 5 decodes none): the `mma` flag, and the FPRs its
    /// accumulator overlaps, which it writes (accumulators 4–7 are the callee-saved f16–f31).
    fn mma(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let word = crate::disasm::word32(code, 0, self.big_endian)?;
        let (acc, mnemonic) = super::features::ppc64_mma(word)?;
        let mut out = Lifted::plain(address, address.wrapping_add(4), mnemonic);
        out.feature = Some("mma");
        out.writes = (4 * acc..4 * acc + 4).map(|f| format!("f{f}")).collect();
        Some(out)
    }

    /// The effect of calling `target` when it is an out-of-line register save or restore
    /// routine (gcc -Os: `bl _savegpr0_27` stores r27–r31 below r1 and lr's copy in r0 at
    /// 16(r1); `_savefpr_N`, `_savegpr1_N` likewise): only stores and loads, then `blr`.
    /// The engine does not follow calls, so the stores are applied at the call site.
    fn save_routine(&self, target: u64) -> Option<(Vec<Fx>, Vec<String>)> {
        let code = self
            .image
            .read_code(target, 4 * MAX_SAVE_ROUTINE_INSNS)
            .ok()?;
        let mut fx = Vec::new();
        let mut writes = Vec::new();
        for k in 0..MAX_SAVE_ROUTINE_INSNS {
            let i = self.lift_at(code.get(4 * k..)?, target.wrapping_add(4 * k as u64), false)?;
            match i.flow {
                Flow::Ret { .. } if !fx.is_empty() => return Some((fx, writes)),
                Flow::Next
                    if !i.fx.is_empty()
                        && i.fx
                            .iter()
                            .all(|f| matches!(f, Fx::Store { .. } | Fx::Load { .. })) =>
                {
                    fx.extend(i.fx);
                    writes.extend(i.writes);
                }
                _ => return None,
            }
        }
        None
    }

    /// The TOC save slot the caller restores r2 from after a call.
    fn toc_slot(&self) -> i64 {
        if self.elfv1 {
            40
        } else {
            24
        }
    }
}

/// What a PC-relative `pla rT, sym@pcrel` (`paddi rT, 0, d, 1`: a constant) or `pld rT,
/// sym@got@pcrel` (a pointer read at a constant address) does; `None` for other prefixed
/// instructions.
fn pc_relative(prefix: u32, suffix: u32, address: u64) -> Option<Fx> {
    let pc_relative = (prefix >> 20) & 1 == 1 && (suffix >> 16) & 0x1f == 0;
    if prefix >> 26 != 1 || !pc_relative {
        return None;
    }
    // The 34-bit displacement: 18 bits in the prefix, 16 in the suffix.
    let d = (u64::from(prefix & 0x3_ffff) << 16) | u64::from(suffix & 0xffff);
    let at = address.wrapping_add_signed(((d << 30) as i64) >> 30);
    let dst = format!("r{}", (suffix >> 21) & 0x1f);
    match ((prefix >> 24) & 3, suffix >> 26) {
        (2, 14) => Some(Fx::Const { dst, value: at }),
        (0, 57) => Some(Fx::Load {
            dst,
            base: String::new(),
            disp: at as i64,
            size: 8,
            signed: false,
        }),
        _ => None,
    }
}

/// `vsN` (N < 32) → `fN`: the VSX view of the floating-point registers (capstone already
/// spells vs32–vs63 as v0–v31).
fn canon(n: &str) -> String {
    if let Some(k) = n.strip_prefix("vs").and_then(|d| d.parse::<u32>().ok()) {
        return if k < 32 {
            format!("f{k}")
        } else {
            format!("v{}", k - 32)
        };
    }
    n.to_string()
}

/// Registers whose values the engine tracks: GPRs, FPRs, lr and ctr (not the CR fields,
/// XER or the AltiVec registers; see the module doc).
fn tracked(r: &str) -> bool {
    let num = |p: &str| {
        r.strip_prefix(p)
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    };
    num("r") || num("f") || r == "lr" || r == "ctr"
}

enum Operand {
    Reg(String),
    Imm(i64),
    Mem { base: Option<String>, disp: i64 },
    Other,
}

/// Branch conditions (after the `b`), longest first where one is a prefix of another.
const CONDITIONS: &[&str] = &[
    "dnzt", "dnzf", "dzt", "dzf", "dnz", "dz", "lt", "le", "eq", "ge", "gt", "nl", "ne", "ng",
    "so", "ns", "un", "nu", "c",
];

impl<'data, R: ReadRef<'data>> Lifter for Ppc64<'_, R> {
    fn sp(&self) -> &'static str {
        "r1"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("lr")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    fn stub(&self, code: &[u8], _address: u64, image: &dyn ImageView) -> Option<Stub> {
        // ELFv2: [std r2,24(r1)] [addis r12,r2,hi] ld r12,lo(r12|r2); mtctr r12; bctr
        // ELFv1: [std r2,40(r1)] [addis r11,r2,hi] ld r12,lo(r11); mtctr r12;
        //        ld r2,lo+8(r11); [ld r11,lo+16(r11)]; bctr
        let big = self.big_endian;
        let mut i = 0;
        let w = word(code, i, big)?;
        // std r2, d(r1)
        if w >> 26 == 62 && (w >> 21) & 31 == 2 && (w >> 16) & 31 == 1 && w & 3 == 0 {
            i += 1;
        }
        let mut base = 2;
        let mut hi: i64 = 0;
        let w = word(code, i, big)?;
        if w >> 26 == 15 && (w >> 16) & 31 == 2 {
            base = (w >> 21) & 31;
            hi = i64::from(w as u16 as i16) << 16;
            i += 1;
        }
        let ld = word(code, i, big)?;
        if ld >> 26 != 58 || ld & 3 != 0 || (ld >> 16) & 31 != base {
            return None;
        }
        let target = (ld >> 21) & 31;
        let lo = i64::from((ld & 0xfffc) as u16 as i16);
        // mtctr target = mtspr 9, target: 0x7c0903a6 | rS << 21.
        let mtctr = 0x7c09_03a6 | (target << 21);
        let at = (i + 1..i + 3).find(|k| word(code, *k, big) == Some(mtctr))?;
        (at + 1..at + 4).find(|k| word(code, *k, big) == Some(0x4e80_0420))?;
        let slot = self.toc?.wrapping_add_signed(hi + lo);
        Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import))
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        self.lift_at(code, address, true)
    }
}

impl<'data, R: ReadRef<'data>> Ppc64<'_, R> {
    /// Lifts one instruction; with `inline_saves`, a call to a register save routine becomes
    /// its stores (not inside such a routine, so the look-ahead is one level deep).
    fn lift_at(&self, code: &[u8], address: u64, inline_saves: bool) -> Option<Lifted> {
        let insns = self.cs.disasm_count(code, address, 1).ok()?;
        let Some(insn) = insns.iter().next() else {
            return self
                .prefixed(code, address)
                .or_else(|| self.mma(code, address));
        };
        let full = insn.mnemonic().unwrap_or("").to_string();
        let next = address.wrapping_add(insn.len() as u64);
        let mut out = Lifted::plain(address, next, &full);
        // Branch-prediction hints (`beq+`) and record forms (`add.`, which set cr0) behave
        // like the plain instruction for what is tracked.
        let m = full.trim_end_matches(['+', '-', '.']);
        let detail = self.cs.insn_detail(insn).ok()?;
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| self.cs.group_name(*g))
            .collect();
        out.feature = super::features::ppc64_feature(m, &groups);
        let ops: Vec<Operand> = detail
            .arch_detail()
            .operands()
            .into_iter()
            .map(|op| match op {
                ArchOperand::PpcOperand(o) => match o {
                    PpcOperand::Reg(r) => self.name(r).map_or(Operand::Other, Operand::Reg),
                    PpcOperand::Imm(i) => Operand::Imm(i),
                    PpcOperand::Mem(mm) => Operand::Mem {
                        base: self.name(mm.base()),
                        disp: i64::from(mm.disp()),
                    },
                    _ => Operand::Other,
                },
                _ => Operand::Other,
            })
            .collect();
        let reg = |i: usize| match ops.get(i) {
            Some(Operand::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let last_imm = ops.iter().rev().find_map(|o| match o {
            Operand::Imm(v) => Some(*v),
            _ => None,
        });
        let mem = ops.iter().find_map(|o| match o {
            Operand::Mem { base, disp } => Some((base.clone(), *disp)),
            _ => None,
        });
        let all_regs: Vec<String> = ops
            .iter()
            .filter_map(|o| match o {
                Operand::Reg(r) => Some(r.clone()),
                Operand::Mem { base: Some(b), .. } => Some(b.clone()),
                _ => None,
            })
            .collect();
        let add_reads = |out: &mut Lifted, regs: &[String]| {
            for r in regs {
                if r != "r1" && tracked(r) && !out.reads.contains(r) {
                    out.reads.push(r.clone());
                }
            }
        };
        let add_write = |out: &mut Lifted, r: &str| {
            if tracked(r) && !out.writes.iter().any(|w| w == r) {
                out.writes.push(r.to_string());
            }
        };

        // --- branches --------------------------------------------------------------------
        if let Some(rest) = m.strip_prefix('b').filter(|_| is_branch(m)) {
            out.reads.extend(
                all_regs
                    .iter()
                    .filter(|r| tracked(r) && r.as_str() != "r1")
                    .cloned(),
            );
            let target = last_imm.map(|t| t as u64);
            let (conditional, cond, form) = match rest {
                "" | "a" | "l" | "la" | "lr" | "lrl" | "ctr" | "ctrl" => (false, "", rest),
                _ => match CONDITIONS.iter().find(|c| rest.starts_with(**c)) {
                    Some(c) => (true, *c, &rest[c.len()..]),
                    None => return Some(out),
                },
            };
            if cond.starts_with('d') {
                // bdnz and friends decrement ctr.
                out.writes.push("ctr".into());
            }
            out.flow = match (conditional, form) {
                (false, "" | "a") => target.map_or(Flow::Stop, Flow::Jump),
                (false, "l") if inline_saves => {
                    out.writes.push("lr".into());
                    match target.and_then(|t| self.save_routine(t)) {
                        Some((fx, writes)) => {
                            out.fx = fx;
                            out.writes.extend(writes);
                            Flow::Next
                        }
                        None => target.map_or(Flow::IndirectCall, Flow::Call),
                    }
                }
                (_, "l" | "la") => {
                    out.writes.push("lr".into());
                    target.map_or(Flow::IndirectCall, Flow::Call)
                }
                (false, "lr") => Flow::Ret {
                    pop: 0,
                    via: Some("lr".into()),
                },
                (true, "lr") => Flow::CondRet {
                    via: Some("lr".into()),
                },
                (_, "lrl" | "ctrl") => {
                    out.writes.push("lr".into());
                    let via = if form == "lrl" { "lr" } else { "ctr" };
                    out.call_target = Some(CallTarget::Reg(via.into()));
                    Flow::IndirectCall
                }
                (false, "ctr") => Flow::IndirectReg("ctr".into()),
                // A conditional jump through ctr: only the fall-through is followed.
                (true, "ctr") => Flow::Next,
                (true, "" | "a") => match target {
                    Some(t) => Flow::Cond(
                        t,
                        match cond {
                            "gt" | "ng" => Bound::AtMost,
                            "ge" | "nl" => Bound::Below,
                            _ => Bound::None,
                        },
                    ),
                    None => Flow::Next,
                },
                _ => Flow::Next,
            };
            return Some(out);
        }

        match m {
            "trap" | "attn" => {
                out.flow = Flow::Stop;
                return Some(out);
            }
            "nop" | "sync" | "lwsync" | "isync" | "eieio" | "ptesync" => return Some(out),
            _ => {}
        }

        // --- compares: they write CR fields only (not cmpb, which writes a GPR) -----------
        if (m.starts_with("cmp") && m != "cmpb")
            || m.starts_with("fcmp")
            || m.starts_with("tw")
            || m.starts_with("td")
        {
            add_reads(&mut out, &all_regs);
            // Only unsigned compares bound a jump-table index; anything else forgets the last.
            let unsigned = matches!(m, "cmplwi" | "cmpldi");
            let imm = match (unsigned, last_imm) {
                (true, Some(v)) => v,
                _ => -1,
            };
            out.fx.push(Fx::CmpImm { imm });
            return Some(out);
        }

        // --- stores ------------------------------------------------------------------------
        if m.starts_with("st") || m.starts_with("dcb") || m.starts_with("icb") {
            add_reads(&mut out, &all_regs);
            let update = m.ends_with('u') || m.ends_with("ux");
            if let (Some(src), Some((Some(base), disp))) = (reg(0), mem.clone()) {
                if m == "stmw" {
                    let first = src
                        .strip_prefix('r')
                        .and_then(|d| d.parse::<i64>().ok())
                        .unwrap_or(32);
                    for k in first..32 {
                        out.fx.push(Fx::Store {
                            src: format!("r{k}"),
                            base: base.clone(),
                            disp: disp + 4 * (k - first),
                            size: 4,
                        });
                    }
                } else if tracked(&src) {
                    out.fx.push(Fx::Store {
                        src,
                        base: base.clone(),
                        disp,
                        size: access_width(m).0,
                    });
                }
                if update {
                    out.fx.push(Fx::AddImm {
                        dst: base.clone(),
                        src: base.clone(),
                        imm: disp,
                    });
                    add_write(&mut out, &base);
                }
            } else if m == "stdux" && reg(1).as_deref() == Some("r1") {
                // A dynamic allocation (alloca, VLA): r1 moves down by a 16-byte multiple
                // unknown here, and the back chain is stored at its new 0(r1). Tracked as a
                // second, aligned frame so `ld rX,0(r1)` still finds the back chain.
                out.fx.push(Fx::Align {
                    dst: "r1".into(),
                    src: "r1".into(),
                    align: 16,
                });
                if let Some(src) = reg(0) {
                    out.fx.push(Fx::Store {
                        src,
                        base: "r1".into(),
                        disp: 0,
                        size: 8,
                    });
                }
                add_write(&mut out, "r1");
            } else if update {
                // Indexed update form: the base (second operand) changes.
                if let Some(b) = reg(1) {
                    add_write(&mut out, &b);
                }
            } else if let (Some(src), Some(size)) = (reg(0), indexed_store_size(m)) {
                // `stxvd2x vs0,r3,r5`: a struct copied through a vector register.
                if let Some(ea) = indexed_address(&ops) {
                    out.eval_fx.push(ea);
                    out.eval_fx.push(Fx::Store {
                        src,
                        base: EA.into(),
                        disp: 0,
                        size,
                    });
                }
            }
            return Some(out);
        }

        // --- special registers ---------------------------------------------------------------
        let spr = |name: &str| -> Option<&'static str> {
            match name {
                "lr" => Some("lr"),
                "ctr" => Some("ctr"),
                _ => None,
            }
        };
        if let Some(which) = m.strip_prefix("mt") {
            let special = match (which, last_imm) {
                ("spr", Some(8)) => Some("lr"),
                ("spr", Some(9)) => Some("ctr"),
                (w, _) => spr(w),
            };
            let src = ops.iter().rev().find_map(|o| match o {
                Operand::Reg(r) => Some(r.clone()),
                _ => None,
            });
            if let Some(s) = &src {
                add_reads(&mut out, std::slice::from_ref(s));
            }
            if let (Some(d), Some(s)) = (special, src) {
                out.writes.push(d.to_string());
                out.fx.push(Fx::Copy {
                    dst: d.to_string(),
                    src: s,
                });
            }
            return Some(out);
        }
        if let Some(which) = m.strip_prefix("mf") {
            let special = match (which, last_imm) {
                ("spr", Some(8)) => Some("lr"),
                ("spr", Some(9)) => Some("ctr"),
                (w, _) => spr(w),
            };
            if let Some(d) = reg(0) {
                add_write(&mut out, &d);
                if let Some(s) = special {
                    out.fx.push(Fx::Copy {
                        dst: d,
                        src: s.to_string(),
                    });
                }
            }
            return Some(out);
        }

        // --- everything else writes its first register operand ----------------------------
        let Some(dst) = reg(0) else {
            add_reads(&mut out, &all_regs);
            return Some(out);
        };
        add_reads(&mut out, &all_regs[1..]);
        if m == "lmw" {
            if let (Some(first), Some((Some(base), disp))) = (
                dst.strip_prefix('r').and_then(|d| d.parse::<i64>().ok()),
                mem.clone(),
            ) {
                for k in first..32 {
                    let r = format!("r{k}");
                    add_write(&mut out, &r);
                    out.fx.push(Fx::Load {
                        dst: r,
                        base: base.clone(),
                        disp: disp + 4 * (k - first),
                        size: 4,
                        signed: false,
                    });
                }
            }
            return Some(out);
        }
        add_write(&mut out, &dst);
        let is_load = m.starts_with('l') && m != "li" && m != "lis";
        let imm16 = |v: i64| i64::from(v as u16 as i16);
        match m {
            // TOC setup at the ELFv2 global entry: r12 holds this function's address.
            "addis" if dst == "r2" && reg(1).as_deref() == Some("r12") => {
                out.protocol_write = true;
                if let Some(v) = last_imm {
                    out.fx.push(Fx::Const {
                        dst,
                        value: address.wrapping_add_signed(imm16(v) << 16),
                    });
                }
            }
            "addi" if dst == "r2" && reg(1).as_deref() == Some("r2") => {
                out.protocol_write = true;
                if let Some(v) = last_imm {
                    out.fx.push(Fx::AddImm {
                        dst: dst.clone(),
                        src: dst,
                        imm: v,
                    });
                }
            }
            // The large-model global entry: ld r2,-8(r12); add r2,r2,r12.
            "add"
                if dst == "r2"
                    && reg(1).as_deref() == Some("r2")
                    && reg(2).as_deref() == Some("r12") =>
            {
                out.protocol_write = true;
            }
            "ld" if dst == "r2" => match mem.clone() {
                // The TOC restore after a call: r2 gets back the value it had.
                Some((Some(b), d)) if b == "r1" && d == self.toc_slot() => {
                    out.writes.clear();
                }
                Some((Some(b), -8)) if b == "r12" => out.protocol_write = true,
                // ELFv1: the callee's TOC from its function descriptor, before bctrl.
                Some((Some(b), 8)) if self.elfv1 && b != "r1" => out.protocol_write = true,
                _ => {}
            },
            "li" => {
                if let Some(v) = last_imm {
                    out.fx.push(Fx::Const {
                        dst,
                        value: v as u64,
                    });
                }
            }
            "lis" => {
                if let Some(v) = last_imm {
                    out.fx.push(Fx::Const {
                        dst,
                        value: (imm16(v) << 16) as u64,
                    });
                }
            }
            "addi" | "addis" | "subi" | "la" => {
                let (src, imm) = match (m, ops.get(1)) {
                    ("la", Some(Operand::Mem { base, disp })) => (base.clone(), Some(*disp)),
                    _ => (reg(1), last_imm),
                };
                if let (Some(s), Some(v)) = (src, imm) {
                    let v = match m {
                        "addis" => imm16(v) << 16,
                        "subi" => v.wrapping_neg(),
                        _ => v,
                    };
                    // ELFv1 code runs with r2 = the module's TOC (the descriptor's second
                    // word); ELFv2 code gets it from its global entry, which is lifted.
                    let toc = self.toc.filter(|_| self.elfv1 && s == "r2");
                    if s == "r0" {
                        out.fx.push(Fx::Const {
                            dst,
                            value: v as u64,
                        });
                    } else if let Some(t) = toc {
                        out.fx.push(Fx::Const {
                            dst,
                            value: t.wrapping_add_signed(v),
                        });
                    } else {
                        out.fx.push(Fx::AddImm {
                            dst,
                            src: s,
                            imm: v,
                        });
                    }
                }
            }
            "add" => {
                if let (Some(a), Some(b)) = (reg(1), reg(2)) {
                    out.fx.push(Fx::AddRegs {
                        dst,
                        a,
                        b,
                        shift: 0,
                    });
                }
            }
            "mr" | "fmr" => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            "ori" | "oris" | "xori" if last_imm == Some(0) => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            // Logic and rotates that build constants (Rustler 0.39's nif_init: `lis r6,-32768;
            // ori r6,r6,1; rldic r4,r6,1,28` is major 2, minor 15).
            "ori" | "oris" | "xori" | "xoris" | "andi" | "andis" => {
                if let (Some(a), Some(v)) = (reg(1), last_imm) {
                    let v = (v & 0xffff) << if m.ends_with('s') { 16 } else { 0 };
                    let op = match m {
                        "ori" | "oris" => ArithOp::Or,
                        "xori" | "xoris" => ArithOp::Xor,
                        _ => ArithOp::And,
                    };
                    out.fx.push(arith(&dst, op, a, super::Operand::Imm(v)));
                }
            }
            "or" | "and" | "xor" | "subf" => {
                if let (Some(a), Some(b)) = (reg(1), reg(2)) {
                    out.fx.push(match m {
                        "or" => arith(&dst, ArithOp::Or, a, super::Operand::Reg(b)),
                        "and" => arith(&dst, ArithOp::And, a, super::Operand::Reg(b)),
                        "xor" => arith(&dst, ArithOp::Xor, a, super::Operand::Reg(b)),
                        // subf rD,rA,rB is rB - rA.
                        _ => arith(&dst, ArithOp::Sub, b, super::Operand::Reg(a)),
                    });
                }
            }
            "rldic" | "rldicl" | "rldicr" | "sldi" | "srdi" | "clrldi" | "rotldi" => {
                let imm = |i: usize| match ops.get(i) {
                    Some(Operand::Imm(v)) => Some(*v as u64 & 63),
                    _ => None,
                };
                if let (Some(src), Some(a)) = (reg(1), imm(2)) {
                    out.fx
                        .extend(rotate_mask(&dst, src, m, a, imm(3).unwrap_or(0)));
                }
            }
            "xxlxor" if reg(1).is_some() && reg(1) == reg(2) && tracked(&dst) => {
                out.eval_fx.push(Fx::Const { dst, value: 0 });
            }
            "xxswapd" => {
                if let Some(a) = reg(1) {
                    out.fx
                        .push(arith(&dst, ArithOp::SwapHalves, a, super::Operand::Imm(0)));
                }
            }
            "lxvd2x" | "lxvw4x" | "lxvx" => {
                if let Some(ea) = indexed_address(&ops) {
                    out.eval_fx.push(ea);
                    out.eval_fx.push(Fx::Load {
                        dst,
                        base: EA.into(),
                        disp: 0,
                        size: 16,
                        signed: false,
                    });
                }
            }
            _ if is_load => {
                let update = m.ends_with('u') || m.ends_with("ux");
                if let Some((Some(base), disp)) = mem.clone() {
                    if base != "r0" && tracked(&dst) {
                        out.fx.push(Fx::Load {
                            dst,
                            base: base.clone(),
                            disp,
                            size: access_width(m).0,
                            signed: access_width(m).1,
                        });
                        if update && !out.writes.contains(&base) {
                            out.fx.push(Fx::AddImm {
                                dst: base.clone(),
                                src: base.clone(),
                                imm: disp,
                            });
                            add_write(&mut out, &base);
                        }
                    }
                } else if update {
                    if let Some(b) = reg(1) {
                        add_write(&mut out, &b);
                    }
                } else if let (Some(base), Some(size)) = (reg(1), indexed_load_size(m)) {
                    // `lwax rD,rA,rB` with rA the table (gcc: `addis rA,r2,..; addi rA,rA,..`).
                    if base != "r0" {
                        out.fx.push(Fx::LoadIndexed {
                            dst,
                            base,
                            disp: 0,
                            size,
                            signed: m.starts_with("lwa") || m.starts_with("lha"),
                        });
                    }
                }
            }
            _ => {}
        }
        // `ori r2,r2,0` (gcc's group-ending nop), `mr r1,r1` (priority hints): no change.
        if let [Fx::Copy { dst, src }] = out.fx.as_slice() {
            if dst == src {
                out.fx.clear();
                out.writes.clear();
                out.reads.clear();
            }
        }
        Some(out)
    }
}

/// Where an X-form access's address (`rA|0 + rB`) is computed, for the store or load
/// that follows: not a register the code names, so no check sees it.
const EA: &str = "ea";

/// `EA := rA + rB` of an X-form access (`stxvd2x vs0,r3,r5`; rA of 0 reads as 0).
fn indexed_address(ops: &[Operand]) -> Option<Fx> {
    let b = match ops.get(2) {
        Some(Operand::Reg(b)) => b.clone(),
        _ => return None,
    };
    Some(match ops.get(1) {
        Some(Operand::Reg(a)) if a != "r0" => Fx::AddRegs {
            dst: EA.into(),
            a: a.clone(),
            b,
            shift: 0,
        },
        Some(Operand::Reg(_) | Operand::Other) => Fx::Copy {
            dst: EA.into(),
            src: b,
        },
        _ => return None,
    })
}

/// Bytes an X-form store without update writes (`stbx`, `stfdx`, `stxvd2x`...).
fn indexed_store_size(m: &str) -> Option<u8> {
    match m {
        "stbx" => Some(1),
        "sthx" => Some(2),
        "stwx" | "stfsx" => Some(4),
        "stdx" | "stfdx" => Some(8),
        "stxvd2x" | "stxvw4x" | "stxvx" => Some(16),
        _ => None,
    }
}

/// `dst := a op b`.
fn arith(dst: &str, op: ArithOp, a: String, b: super::Operand) -> Fx {
    Fx::Arith(Arith {
        dst: dst.to_string(),
        op,
        a,
        b,
        word: false,
    })
}

/// The mask of bits `mb` to `me`, numbered from the most significant (0) as the ISA does;
/// `mb > me` wraps around.
fn mask64(mb: u64, me: u64) -> u64 {
    let (mb, me) = (mb & 63, me & 63);
    let from = u64::MAX >> mb;
    let to = u64::MAX << (63 - me);
    if mb <= me {
        from & to
    } else {
        from | to
    }
}

/// The 64-bit rotate-and-mask family and its shift aliases (`m`, with the immediates `a`
/// and `b` as capstone gives them) as a rotate then a mask of `src` into `dst`.
fn rotate_mask(dst: &str, src: String, m: &str, a: u64, b: u64) -> Vec<Fx> {
    let imm = |v: u64| super::Operand::Imm(v as i64);
    let (rotate, mask) = match m {
        "rldic" => (a, mask64(b, 63 - a)),
        "rldicl" => (a, mask64(b, 63)),
        "rldicr" => (a, mask64(0, b)),
        "sldi" => (a, u64::MAX << a),
        "srdi" => (0, u64::MAX >> a),
        "clrldi" => (0, mask64(a, 63)),
        _ => (a, u64::MAX), // rotldi
    };
    let mut fx = Vec::new();
    let mut from = src;
    if m == "srdi" {
        fx.push(arith(dst, ArithOp::Shr, from, imm(a)));
        return fx;
    }
    if rotate != 0 {
        fx.push(arith(dst, ArithOp::Rotl, from, imm(rotate)));
        from = dst.to_string();
    }
    if mask != u64::MAX || fx.is_empty() {
        fx.push(arith(dst, ArithOp::And, from, imm(mask)));
    }
    fx
}

/// Bytes an indexed integer load reads (`lwax`, `lwzx`, `ldx`, …).
fn indexed_load_size(m: &str) -> Option<u8> {
    match m {
        "lbzx" => Some(1),
        "lhzx" | "lhax" => Some(2),
        "lwzx" | "lwax" => Some(4),
        "ldx" => Some(8),
        _ => None,
    }
}

/// Whether a mnemonic (hints and record bit stripped) is a branch: `b` followed by a
/// condition and/or a form suffix.
fn is_branch(m: &str) -> bool {
    let Some(rest) = m.strip_prefix('b') else {
        return false;
    };
    let form = |f: &str| matches!(f, "" | "a" | "l" | "la" | "lr" | "lrl" | "ctr" | "ctrl");
    form(rest)
        || CONDITIONS
            .iter()
            .any(|c| rest.strip_prefix(c).is_some_and(form))
}

/// The bytes a load or store moves (`std`, `stwu`, `lwzx`, `lfd`...) and whether a load
/// sign-extends them (`lwa`, `lha`).
fn access_width(m: &str) -> (u8, bool) {
    let op = m
        .strip_prefix("st")
        .or_else(|| m.strip_prefix('l'))
        .unwrap_or(m);
    let op = op.strip_prefix('f').unwrap_or(op);
    let size = match op.get(..1) {
        Some("b") => 1,
        Some("h") => 2,
        Some("w") | Some("s") => 4,
        // VSX and AltiVec: `stxv`, `lxvd2x`, `lvx`.
        Some("x") | Some("v") => 16,
        _ => 8,
    };
    (size, op.get(1..2) == Some("a"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lifts one little-endian instruction word at `address` (ELFv2).
    fn lift(word: u32, address: u64) -> Lifted {
        let image = Image::new(&[][..], Vec::new(), Vec::new(), 8, false);
        let l = Ppc64::new(&image, false, None).expect("capstone");
        l.lift(&word.to_le_bytes(), address).expect("decodes")
    }

    #[test]
    fn branches() {
        let lr = || Some("lr".to_string());
        let cases = [
            ("beqlr", 0x4d82_0020, Flow::CondRet { via: lr() }),
            ("blr", 0x4e80_0020, Flow::Ret { pop: 0, via: lr() }),
            ("bctrl", 0x4e80_0421, Flow::IndirectCall),
            ("bctr", 0x4e80_0420, Flow::IndirectReg("ctr".into())),
            ("bl .+8", 0x4800_0009, Flow::Call(0x108)),
            ("bge .+8", 0x4080_0008, Flow::Cond(0x108, Bound::Below)),
            ("bgt .+8", 0x4181_0008, Flow::Cond(0x108, Bound::AtMost)),
            ("bdnz .+8", 0x4200_0008, Flow::Cond(0x108, Bound::None)),
        ];
        for (text, word, flow) in cases {
            assert_eq!(lift(word, 0x100).flow, flow, "{text}");
        }
        assert!(lift(0x4200_0008, 0x100).writes.contains(&"ctr".to_string()));
    }

    #[test]
    fn toc_pointer_protocol() {
        // addis r2,r12,2 at the global entry: r2 = entry + 0x20000, not a misuse.
        let setup = lift(0x3c4c_0002, 0x1000);
        assert!(setup.protocol_write);
        assert_eq!(
            setup.fx,
            vec![Fx::Const {
                dst: "r2".into(),
                value: 0x21000
            }]
        );
        // ld r2,24(r1): the restore after a call keeps r2's value.
        let restore = lift(0xe841_0018, 0x1000);
        assert!(restore.writes.is_empty() && restore.fx.is_empty());
        // li r2,0: a write the check reports.
        let misuse = lift(0x3840_0000, 0x1000);
        assert!(!misuse.protocol_write);
        assert_eq!(misuse.writes, vec!["r2".to_string()]);
        // ori r2,r2,0: gcc's group-ending nop changes nothing.
        assert!(lift(0x6042_0000, 0x1000).writes.is_empty());
    }

    #[test]
    fn indexed_copies_are_the_evaluators_only() {
        // stxvd2x vs0,r3,r5: r3 + r5, for the Rustler evaluator; the analysis sees nothing.
        let store = lift(0x7c03_2f98, 0);
        assert!(store.fx.is_empty());
        assert_eq!(
            store.eval_fx,
            vec![
                Fx::AddRegs {
                    dst: EA.into(),
                    a: "r3".into(),
                    b: "r5".into(),
                    shift: 0
                },
                Fx::Store {
                    src: "f0".into(),
                    base: EA.into(),
                    disp: 0,
                    size: 16
                }
            ]
        );
        // rldic r4,r6,1,28: a rotate, then the mask of bits 28-62.
        assert_eq!(
            lift(0x78c4_0f08, 0).fx,
            vec![
                arith(
                    "r4",
                    ArithOp::Rotl,
                    "r6".into(),
                    super::super::Operand::Imm(1)
                ),
                arith(
                    "r4",
                    ArithOp::And,
                    "r4".into(),
                    super::super::Operand::Imm(0x0000_000f_ffff_fffe)
                ),
            ]
        );
        assert_eq!(mask64(63, 0), 0x8000_0000_0000_0001);
    }

    #[test]
    fn link_register_and_frame() {
        assert_eq!(
            lift(0x7c08_02a6, 0).fx,
            vec![Fx::Copy {
                dst: "r0".into(),
                src: "lr".into()
            }]
        ); // mflr r0
        assert_eq!(
            lift(0x7c08_03a6, 0).fx,
            vec![Fx::Copy {
                dst: "lr".into(),
                src: "r0".into()
            }]
        ); // mtlr r0
           // stdu r1,-48(r1): the back chain at the new r1, then the allocation.
        assert_eq!(
            lift(0xf821_ffd1, 0).fx,
            vec![
                Fx::Store {
                    src: "r1".into(),
                    base: "r1".into(),
                    disp: -48,
                    size: 8
                },
                Fx::AddImm {
                    dst: "r1".into(),
                    src: "r1".into(),
                    imm: -48
                }
            ]
        );
    }
}
