//! 32-bit Arm lifter: A32 and Thumb/Thumb-2 code.
//!
//! The engine walks addresses; this lifter tags them with the state the decoding needs (a
//! 32-bit address leaves the high bits free):
//!
//! * bit 0 set: Thumb code, as in ELF symbol values, function pointers and `bx`/`blx`
//!   targets; `blx <imm>` switches the mode of its target;
//! * bits 32–38 (Thumb): the rest of an IT block on one path. An `it` forks the path (its
//!   condition holds or not, like a conditional branch) and the tag says which of the next
//!   one to four instructions execute on it; skipped ones do nothing;
//! * bits 41–45 (A32): a condition assumed on this path and whether it holds. A conditional
//!   A32 instruction forks the path the same way; the assumption then carries over to the
//!   following instructions until one sets the flags, so `addeq sp, sp, #8; popeq {r4, pc}`
//!   (or `moveq`/`movne` pairs) execute together, never one without the other.
//!
//! [`Lifter::code_address`] strips the tags where bytes are read and addresses reported.
//! IT blocks are decoded here, not by capstone: its IT state lives in the handle and would
//! leak into the next, unrelated decode.
//!
//! Why this file is long (about 1110 lines): one instruction set's lifting: A32 and Thumb share
//! the operand reader, the IT-block and mode state kept in engine addresses, and the
//! push/pop/ldm forms.

use capstone::arch::arm::{ArmCC, ArmOperandType, ArmShift};
use capstone::arch::ArchOperand;
use capstone::{AccessType, Capstone, RegId};

use super::features::arm_feature;
use super::{
    Arith, ArithOp, Bound, CallTarget, FlagFx, Flow, Fx, ImageView, Lifted, Lifter, Operand, Stub,
    FLAG_C, FLAG_N, FLAG_V, FLAG_Z,
};

/// Thumb state, in the low bit of an address.
const THUMB: u64 = 1;
/// A32: the condition code (capstone's numbering, 1–14) assumed on this path ...
const COND_SHIFT: u32 = 41;
/// ... and whether it holds.
const COND_HOLDS: u64 = 1 << 45;
/// IT block state: execute mask of the remaining instructions (bit 0: this one) at bit 32,
/// their count at bit 36.
const IT_MASK_SHIFT: u32 = 32;
const IT_COUNT_SHIFT: u32 = 36;
/// The bits of a tagged address that are the address.
const ADDRESS_BITS: u64 = 0xffff_fffe;

pub(crate) struct Arm {
    a32: Capstone,
    thumb: Capstone,
    big_endian: bool,
}

impl Arm {
    pub(crate) fn new(big_endian: bool) -> Result<Self, String> {
        let build = |thumb| crate::disasm::detailed(crate::disasm::Isa::Arm { thumb, big_endian });
        Ok(Arm {
            a32: build(false)?,
            thumb: build(true)?,
            big_endian,
        })
    }

    fn half(&self, code: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = code.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn word(&self, code: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = code.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Canonical names: `sb`/`sl`/`fp`/`ip` → `r9`–`r12`; every view of a VFP register → the
/// `dN` that holds it (`s17` → `d8`, `q4` → `d8` and `d9`); flags and `pc` → none.
fn canon_all(n: &str) -> Vec<String> {
    let num = |p: &str| {
        n.strip_prefix(p)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    };
    if let Some(k) = num("s") {
        return vec![format!("d{}", k / 2)];
    }
    if let Some(k) = num("q") {
        return vec![format!("d{}", 2 * k), format!("d{}", 2 * k + 1)];
    }
    if let Some(k) = num("r") {
        return vec![match k {
            13 => "sp".into(),
            14 => "lr".into(),
            15 => return Vec::new(),
            _ => format!("r{k}"),
        }];
    }
    match n {
        "sb" => vec!["r9".into()],
        "sl" => vec!["r10".into()],
        "fp" => vec!["r11".into()],
        "ip" => vec!["r12".into()],
        "sp" | "lr" => vec![n.to_string()],
        _ if num("d").is_some() => vec![n.to_string()],
        // pc, cpsr, apsr*, fpscr, itstate and the like.
        _ => Vec::new(),
    }
}

fn canon(n: &str) -> String {
    canon_all(n)
        .into_iter()
        .next()
        .unwrap_or_else(|| n.to_string())
}

/// The value of an A32 modified immediate (8 bits rotated right by twice the rotation).
fn a32_imm(insn: u32) -> u64 {
    u64::from((insn & 0xff).rotate_right(2 * ((insn >> 8) & 0xf)))
}

#[derive(Debug)]
enum Op {
    /// A register (canonical name, or `pc`), with its access.
    Reg(String, Option<AccessType>),
    Imm(i64),
    Mem {
        base: String,
        index: Option<String>,
        disp: i64,
    },
    Other,
}

const CONDITIONS: [&str; 16] = [
    "", "eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "",
];

/// The mnemonic without condition and width suffixes (`popeq` → `pop`, `ldr.w` → `ldr`).
fn base_mnemonic(m: &str, cc: usize) -> String {
    let m = m
        .strip_suffix(".w")
        .or_else(|| m.strip_suffix(".n"))
        .unwrap_or(m);
    let suffix = CONDITIONS.get(cc).copied().unwrap_or("");
    if suffix.is_empty() {
        return m.to_string();
    }
    // UAL puts the condition before a data-type suffix (`vmoveq.f64`).
    match m.split_once('.') {
        Some((head, tail)) => format!("{}.{tail}", head.strip_suffix(suffix).unwrap_or(head)),
        None => m.strip_suffix(suffix).unwrap_or(m).to_string(),
    }
}

impl Lifter for Arm {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("lr")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    fn code_address(&self, address: u64) -> u64 {
        address & ADDRESS_BITS
    }

    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        let mut at = 0usize;
        let mut pc = address & ADDRESS_BITS;
        // GNU ld's Thumb entry in front of an A32 PLT entry: `bx pc; nop`.
        if self.half(code, 0)? == 0x4778 && self.half(code, 2)? == 0x46c0 {
            at = 4;
            pc += 4;
        }
        let w = |k: usize| self.word(code, at + 4 * k);
        // lld's long entry: ldr ip, [pc, #4]; add ip, ip, pc; ldr pc, [ip]; .word off.
        if w(0)? == 0xe59f_c004 && w(1)? == 0xe08c_c00f && w(2)? == 0xe59c_f000 {
            let slot = pc.wrapping_add(12).wrapping_add(u64::from(w(3)?)) & 0xffff_ffff;
            return Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import));
        }
        // GNU ld and lld: add ip, pc, #a; add ip, ip, #b [; add ip, ip, #c];
        // ldr pc, [ip, #d]!
        let first = w(0)?;
        if first & 0xffff_f000 != 0xe28f_c000 {
            return None;
        }
        let mut slot = pc.wrapping_add(8).wrapping_add(a32_imm(first));
        for k in 1..4 {
            let insn = w(k)?;
            if insn & 0xffff_f000 == 0xe28c_c000 {
                slot = slot.wrapping_add(a32_imm(insn));
            } else if insn & 0xffff_f000 == 0xe5bc_f000 {
                let slot = slot.wrapping_add(u64::from(insn & 0xfff)) & 0xffff_ffff;
                return Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import));
            } else {
                return None;
            }
        }
        None
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let thumb = address & THUMB != 0;
        let pc = address & ADDRESS_BITS;
        let it_count = (address >> IT_COUNT_SHIFT) & 7;
        let it_mask = (address >> IT_MASK_SHIFT) & 0xf;
        if thumb {
            // An IT block is decoded here (see the module doc).
            let h = self.half(code, 0)?;
            if it_count == 0 && h & 0xff00 == 0xbf00 && h & 0xf != 0 {
                return Some(it_block(pc, h));
            }
        }
        let cs = if thumb { &self.thumb } else { &self.a32 };
        let insns = cs.disasm_count(code, pc, 1).ok()?;
        let insn = insns.iter().next()?;
        let size = insn.len() as u64;
        let mode = if thumb { THUMB } else { 0 };
        let plain_next = (pc + size) | mode;
        let next = if it_count > 1 {
            plain_next | ((it_count - 1) << IT_COUNT_SHIFT) | ((it_mask >> 1) << IT_MASK_SHIFT)
        } else {
            plain_next
        };
        let mnemonic = insn.mnemonic().unwrap_or("").to_string();
        if it_count > 0 && it_mask & 1 == 0 {
            // Skipped on this path of the IT block.
            return Some(Lifted::plain(pc, next, "(skipped)"));
        }
        let detail = cs.insn_detail(insn).ok()?;
        let arch_detail = detail.arch_detail();
        let arm = arch_detail.arm()?;
        let cc = arm.cc() as usize;
        let conditional = !thumb && cc != ArmCC::ARM_CC_AL as usize && cc != 0;
        let m = base_mnemonic(&mnemonic, if thumb && it_count > 0 { 0 } else { cc });
        let assumed = ((address >> COND_SHIFT) & 0xf) as usize;
        if conditional && assumed == 0 {
            // Fork: the same instruction with its condition assumed to hold, and not.
            return Some(fork(pc, cc, &mnemonic));
        }
        // Under an assumption, an instruction of that condition (or its opposite) runs or
        // not; one of another condition forks anew.
        let holds = address & COND_HOLDS != 0;
        // Capstone numbers the conditions in opposite pairs: eq/ne = 1/2, hs/lo = 3/4, ...
        let opposite = |c: usize| {
            if c % 2 == 1 {
                c + 1
            } else {
                c.saturating_sub(1)
            }
        };
        let runs = if !conditional {
            true
        } else if cc == assumed {
            holds
        } else if cc == opposite(assumed) {
            !holds
        } else {
            return Some(fork(pc, cc, &mnemonic));
        };
        let sets_flags = arm.update_flags()
            || matches!(
                m.as_str(),
                "cmp" | "cmn" | "tst" | "teq" | "vmrs" | "msr" | "svc"
            )
            || detail
                .regs_write()
                .iter()
                .any(|r| cs.reg_name(*r).is_some_and(|n| n.contains("psr")));
        // The assumption lasts until the flags change.
        let next = if assumed != 0 && !sets_flags {
            next | (address & (0xf << COND_SHIFT | COND_HOLDS))
        } else {
            next
        };
        if !runs {
            return Some(Lifted::plain(pc, next, "(skipped)"));
        }
        let mut out = Lifted::plain(pc, next, &mnemonic);
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| cs.group_name(*g))
            .collect();
        out.feature = arm_feature(&m, &groups, thumb);
        let writeback = arm.writeback();
        let name = |r: RegId| -> Option<String> {
            if r.0 == 0 {
                return None;
            }
            let n = cs.reg_name(r)?;
            if n == "pc" || n == "r15" {
                return Some("pc".into());
            }
            canon_all(&n).into_iter().next()
        };
        let mut ops: Vec<Op> = Vec::new();
        // The immediate shift of each operand (`r0, lsl #2`), by operand index.
        let mut shifts: Vec<u32> = Vec::new();
        for op in arch_detail.operands() {
            let ArchOperand::ArmOperand(o) = op else {
                ops.push(Op::Other);
                shifts.push(0);
                continue;
            };
            shifts.push(match o.shift {
                ArmShift::Lsl(k) => k,
                ArmShift::Invalid => 0,
                // Other shifts never form a table index.
                _ => u32::MAX,
            });
            if let ArmShift::AsrReg(r)
            | ArmShift::LslReg(r)
            | ArmShift::LsrReg(r)
            | ArmShift::RorReg(r)
            | ArmShift::RrxReg(r) = o.shift
            {
                push_read(&mut out, name(r));
            }
            ops.push(match o.op_type {
                ArmOperandType::Reg(r) => {
                    let raw = cs.reg_name(r).unwrap_or_default();
                    let all = if raw == "pc" || raw == "r15" {
                        vec!["pc".to_string()]
                    } else {
                        canon_all(&raw)
                    };
                    let reads =
                        matches!(o.access, Some(AccessType::ReadOnly | AccessType::ReadWrite));
                    let writes = matches!(
                        o.access,
                        Some(AccessType::WriteOnly | AccessType::ReadWrite)
                    );
                    for r in &all {
                        if reads {
                            push_read(&mut out, Some(r.clone()));
                        }
                        if writes && r != "pc" && !out.writes.contains(r) {
                            out.writes.push(r.clone());
                        }
                    }
                    match all.into_iter().next() {
                        Some(r) => Op::Reg(r, o.access),
                        None => Op::Other,
                    }
                }
                ArmOperandType::Imm(v) | ArmOperandType::Pimm(v) | ArmOperandType::Cimm(v) => {
                    Op::Imm(i64::from(v))
                }
                ArmOperandType::Mem(mm) => {
                    let base = name(mm.base());
                    let index = name(mm.index());
                    push_read(&mut out, base.clone());
                    push_read(&mut out, index.clone());
                    match base {
                        Some(base) => Op::Mem {
                            base,
                            index,
                            disp: if o.subtracted && mm.disp() > 0 {
                                -i64::from(mm.disp())
                            } else {
                                i64::from(mm.disp())
                            },
                        },
                        None => Op::Other,
                    }
                }
                _ => Op::Other,
            });
        }
        for r in detail.regs_read() {
            push_read(&mut out, name(*r));
        }
        for r in detail.regs_write() {
            if let Some(n) = name(*r) {
                if n != "pc" && !out.writes.contains(&n) {
                    out.writes.push(n);
                }
            }
        }
        // capstone lists lr among what `svc` writes (the exception entry's banked lr); the
        // user-mode lr survives a Linux system call, which returns r0 (glibc's wrappers).
        if mnemonic == "svc" {
            out.writes.retain(|w| w != "lr");
            if !out.writes.iter().any(|w| w == "r0") {
                out.writes.push("r0".to_string());
            }
        }
        // Reading pc gives the instruction's address + 8 (A32) or + 4 (Thumb).
        let pc_value = pc + if thumb { 4 } else { 8 };
        let reg = |i: usize| match ops.get(i) {
            Some(Op::Reg(r, _)) => Some(r.clone()),
            _ => None,
        };
        let imm = |i: usize| match ops.get(i) {
            Some(Op::Imm(v)) => Some(*v),
            _ => None,
        };
        let target = ops.iter().rev().find_map(|o| match o {
            Op::Imm(v) => Some(*v as u32 as u64),
            _ => None,
        });
        let regs_list = |from: usize| -> Vec<String> {
            ops.iter()
                .skip(from)
                .filter_map(|o| match o {
                    Op::Reg(r, _) => Some(r.clone()),
                    _ => None,
                })
                .collect()
        };
        // Inside an IT block a 16-bit instruction sets no flags but a compare's (`movs r0, #1`
        // there is `moveq r0, #1`); capstone, which decodes it without the block, says it does.
        let in_it_narrow = thumb && it_count > 0 && size == 2;
        if sets_flags && (!in_it_narrow || matches!(m.as_str(), "cmp" | "cmn" | "tst")) {
            out.fx.push(Fx::Flags(flag_effect(&m, &ops, &shifts)));
        }
        match m.as_str() {
            "udf" | "bkpt" | "hlt" | "trap" => out.flow = Flow::Stop,
            "b" => {
                if let Some(t) = target {
                    let t = t | mode;
                    let has_cc = cc != ArmCC::ARM_CC_AL as usize && cc != 0;
                    let taken_always = !has_cc || assumed != 0 || it_count > 0;
                    out.flow = if taken_always {
                        Flow::Jump(t)
                    } else {
                        out.fx.push(Fx::Flags(FlagFx::TakenIf(cc as u8 - 1)));
                        Flow::Cond(t, bound_of(cc))
                    };
                }
            }
            "cbz" | "cbnz" => {
                if let Some(t) = target {
                    out.flow = Flow::Cond(t | THUMB, Bound::None);
                }
            }
            "bl" => {
                if let Some(t) = target {
                    out.flow = Flow::Call(t | mode);
                }
            }
            "blx" => match (ops.first(), target) {
                (Some(Op::Imm(_)), Some(t)) => {
                    // Switches mode: Thumb → A32 (word-aligned), A32 → Thumb.
                    out.flow = Flow::Call(if thumb { t & !3 } else { t | THUMB });
                }
                _ => {
                    out.flow = Flow::IndirectCall;
                    if let Some(r) = reg(0).filter(|r| r != "pc") {
                        out.call_target = Some(CallTarget::Reg(r));
                    }
                }
            },
            "bx" => {
                out.flow = match reg(0).as_deref() {
                    Some("lr") => Flow::Ret {
                        pop: 0,
                        via: Some("lr".into()),
                    },
                    Some(r) => Flow::IndirectReg(r.to_string()),
                    None => Flow::Stop,
                };
            }
            "cmp" => {
                if let Some(v) = imm(1) {
                    out.fx.push(Fx::CmpImm { imm: v });
                } else if let (Some(a), Some(b), 2, Some(0)) =
                    (reg(0), reg(1), ops.len(), shifts.get(1).copied())
                {
                    // `movw r3, #341; cmp r4, r3; bhi`: the bound is in a register (and an
                    // older `cmp r, #imm` must not size the table).
                    out.fx.push(Fx::CmpRegs { a, b });
                }
            }
            "tbb" | "tbh" => {
                // Table of halfword offsets from pc: target = pc + 2 * entry.
                if let Some(Op::Mem {
                    base,
                    index: Some(_),
                    ..
                }) = ops.first()
                {
                    if base == "pc" {
                        out.fx.push(Fx::LoadIndexed {
                            dst: "tb.entry".into(),
                            base: String::new(),
                            disp: pc_value as i64,
                            size: if m == "tbb" { 1 } else { 2 },
                            signed: false,
                        });
                        out.fx.push(Fx::Const {
                            dst: "tb.base".into(),
                            value: pc_value | THUMB,
                        });
                        out.fx.push(Fx::AddRegs {
                            dst: "tb.target".into(),
                            a: "tb.base".into(),
                            b: "tb.entry".into(),
                            shift: 1,
                        });
                        out.flow = Flow::IndirectReg("tb.target".into());
                        return Some(out);
                    }
                }
                out.flow = Flow::Stop;
            }
            "push" | "vpush" => {
                let regs = regs_list(0);
                push_multiple(
                    &mut out,
                    &regs,
                    "sp",
                    true,
                    true,
                    true,
                    m == "vpush" && is_single(&mnemonic, insn.op_str()),
                );
            }
            "pop" | "vpop" => {
                let regs = regs_list(0);
                push_multiple(
                    &mut out,
                    &regs,
                    "sp",
                    false,
                    false,
                    true,
                    m == "vpop" && is_single(&mnemonic, insn.op_str()),
                );
            }
            _ if is_multiple(&m) => {
                if let Some(base) = reg(0) {
                    let regs = regs_list(1);
                    let store = m.starts_with("stm") || m.starts_with("vstm");
                    let before = m.ends_with("db")
                        || m.ends_with("fd") && store
                        || m.ends_with("ea") && !store;
                    let single = m.starts_with('v') && is_single(&mnemonic, insn.op_str());
                    if m.ends_with("ib") || m.ends_with("da") {
                        // Increment before and decrement after: one register further up than
                        // increment after and decrement before.
                        out.writes
                            .extend(regs.iter().filter(|r| !store && *r != "pc").cloned());
                        let down = m.ends_with("da");
                        // A store into a frame already made (`stmib sp, {r0, r1}` spills
                        // arguments) reads its registers as uses, unlike a push.
                        let uses = out.reads_are_not_uses;
                        push_multiple(&mut out, &regs, &base, store, down, writeback, single);
                        out.reads_are_not_uses = uses;
                        let step = if regs.iter().all(|r| r.starts_with('d')) && !single {
                            8
                        } else {
                            4
                        };
                        for fx in &mut out.fx {
                            if let Fx::Store { disp, .. } | Fx::Load { disp, .. } = fx {
                                *disp += step;
                            }
                        }
                        if regs.iter().any(|r| r == "pc") && !store {
                            out.flow = Flow::Stop;
                        }
                    } else {
                        push_multiple(&mut out, &regs, &base, store, before, writeback, single);
                    }
                    if !store && regs.iter().any(|r| r == "pc") && base != "sp" {
                        out.flow = Flow::Stop;
                    }
                    if store && base == "sp" && before {
                        out.reads_are_not_uses = true;
                    }
                }
            }
            "mov" | "movs" | "mov.w" | "movw" | "cpy" => match (reg(0), ops.get(1)) {
                (Some(d), Some(Op::Reg(s, _))) if d == "pc" => {
                    out.flow = if s == "lr" {
                        Flow::Ret {
                            pop: 0,
                            via: Some("lr".into()),
                        }
                    } else {
                        Flow::IndirectReg(s.clone())
                    };
                }
                (Some(d), Some(Op::Reg(s, _))) if s != "pc" && ops.len() == 2 => {
                    out.fx.push(Fx::Copy {
                        dst: d,
                        src: s.clone(),
                    })
                }
                (Some(d), Some(Op::Imm(v))) if d != "pc" => out.fx.push(Fx::Const {
                    dst: d,
                    value: *v as u32 as u64,
                }),
                (Some(d), _) if d == "pc" => out.flow = Flow::Stop,
                _ => {}
            },
            "add" | "adds" | "addw" | "sub" | "subs" | "subw" => {
                let negate = m.starts_with("sub");
                match (reg(0), reg(1), ops.get(2), ops.len()) {
                    // `add pc, r1, r0` after `ldr r0, [r1, r0, lsl #2]`: a table of offsets
                    // from its own address (clang's A32 jump tables).
                    (Some(d), Some(a), Some(Op::Reg(b, _)), 3)
                        if d == "pc" && !negate && a != "pc" && b != "pc" =>
                    {
                        match shifts.get(2).copied() {
                            Some(shift @ 0..=3) => {
                                out.fx.push(Fx::AddRegs {
                                    dst: "pc.target".into(),
                                    a,
                                    b: b.clone(),
                                    shift: shift as u8,
                                });
                                out.flow = Flow::IndirectReg("pc.target".into());
                            }
                            _ => out.flow = Flow::Stop,
                        }
                    }
                    (Some(d), _, _, _) if d == "pc" => out.flow = Flow::Stop,
                    // `add lr, lr, r0` (also capstone's spelling of Thumb's `add lr, r0`):
                    // gcc's Thumb-2 PIC jump table computes its target in lr.
                    (Some(d), Some(a), Some(Op::Reg(b, _)), 3)
                        if !negate
                            && a != "pc"
                            && b != "pc"
                            && shifts.get(2).copied().unwrap_or(0) == 0 =>
                    {
                        out.fx.push(Fx::AddRegs {
                            dst: d,
                            a,
                            b: b.clone(),
                            shift: 0,
                        });
                    }
                    // `add r0, pc, r0` (A32 PIC): the register plus pc as it reads.
                    (Some(d), Some(a), Some(Op::Reg(b, _)), 3)
                        if !negate
                            && a == "pc"
                            && b != "pc"
                            && shifts.get(2).copied().unwrap_or(0) == 0 =>
                    {
                        out.fx.push(Fx::AddImm {
                            dst: d,
                            src: b.clone(),
                            imm: pc_value as i64,
                        });
                    }
                    (Some(d), Some(s), Some(Op::Imm(v)), 3) if s == "pc" => {
                        let v = if negate { -*v } else { *v };
                        out.fx.push(Fx::Const {
                            dst: d,
                            value: (pc_value & !3).wrapping_add_signed(v) & 0xffff_ffff,
                        })
                    }
                    (Some(d), Some(s), Some(Op::Imm(v)), 3) => out.fx.push(Fx::AddImm {
                        dst: d,
                        src: s,
                        imm: if negate { -*v } else { *v },
                    }),
                    // Thumb two-operand register form: `add lr, r0` (gcc's Thumb-2 PIC jump
                    // table: `adr lr, T; ldr r0, [lr, r0, lsl #2]; add lr, r0; bx lr`).
                    (Some(d), Some(b), None, 2) if !negate && d != "pc" && b != "pc" => {
                        out.fx.push(Fx::AddRegs {
                            dst: d.clone(),
                            a: d,
                            b,
                            shift: 0,
                        });
                    }
                    // Thumb `add r0, pc` (PIC): pc as it reads, not word-aligned.
                    (Some(d), Some(b), None, 2) if !negate && d != "pc" && b == "pc" => {
                        out.fx.push(Fx::AddImm {
                            dst: d.clone(),
                            src: d,
                            imm: pc_value as i64,
                        });
                    }
                    // Thumb two-operand form: `add sp, #8`, `sub sp, #16`.
                    (Some(d), _, _, 2) => {
                        if let Some(v) = imm(1) {
                            out.fx.push(Fx::AddImm {
                                dst: d.clone(),
                                src: d,
                                imm: if negate { -v } else { v },
                            });
                        }
                    }
                    _ => {}
                }
            }
            // Shifts, logic and `movt` that build constants, for the evaluators that follow
            // values (the Rustler entry's); the analysis does not follow `Fx::Arith`. A `bic`
            // of a power of two less one is a realignment (OpenSSL's NEON code: `bic r11, r11,
            // #15` before `mov sp, r11`), which the analysis does follow.
            "lsl" | "lsls" | "lsr" | "lsrs" | "asr" | "asrs" | "and" | "ands" | "orr" | "orrs"
            | "eor" | "eors" | "bic" | "bics" | "movt" => {
                let realign = if m == "bic" {
                    match (reg(0), reg(1), imm(2), imm(1)) {
                        (Some(d), Some(s), Some(v), _) => Some((d, s, v)),
                        (Some(d), None, None, Some(v)) => Some((d.clone(), d, v)),
                        _ => None,
                    }
                    .filter(|(d, _, v)| {
                        let align = v.wrapping_add(1);
                        *v > 0 && align <= 4096 && (align as u64).is_power_of_two() && d != "pc"
                    })
                } else {
                    None
                };
                if let Some((d, s, v)) = realign {
                    out.fx.push(Fx::Align {
                        dst: d,
                        src: s,
                        align: v.wrapping_add(1) as u64,
                    });
                } else if let Some(fx) = logic(&m, &ops, &shifts) {
                    out.fx.extend(fx);
                }
            }
            "adr" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    out.fx.push(Fx::Const {
                        dst: d,
                        value: (pc_value & !3).wrapping_add_signed(v) & 0xffff_ffff,
                    });
                }
            }
            _ if is_load_store(&m) => {
                let index_shift = ops
                    .iter()
                    .position(|o| matches!(o, Op::Mem { .. }))
                    .and_then(|k| shifts.get(k).copied())
                    .unwrap_or(u32::MAX);
                lift_load_store(&mut out, &m, &ops, writeback, pc_value, index_shift);
            }
            // Anything else that writes sp (`bic` realignment, `sub sp, sp, r0`) leaves it
            // unknown, through its write list.
            _ => {}
        }
        // Writes of pc by instructions not handled above end the path: never guessed.
        if matches!(out.flow, Flow::Next)
            && ops
                .first()
                .is_some_and(|o| matches!(o, Op::Reg(r, Some(AccessType::WriteOnly | AccessType::ReadWrite)) if r == "pc"))
        {
            out.flow = Flow::Stop;
        }
        Some(out)
    }
}

/// The effects of a shift, a bitwise operation or `movt` (`m` without its condition): two
/// operands (Thumb's `lsls r0, r1`: `r0 := r0 << r1`) or three, the last a register or an
/// immediate. None for the forms not followed: a shifted register operand, `bic` of a
/// register, a shift by a register in the three-operand form, and any that names pc.
fn logic(m: &str, ops: &[Op], shifts: &[u32]) -> Option<Vec<Fx>> {
    // `lsls`, `ands`, ...: the flags are not followed.
    let m = match m {
        "movt" => m,
        _ => m.get(..3).unwrap_or(m),
    };
    let reg = |i: usize| match ops.get(i) {
        Some(Op::Reg(r, _)) if r != "pc" => Some(r.clone()),
        _ => None,
    };
    let dst = reg(0)?;
    let arith = |op, a: String, b| {
        Fx::Arith(Arith {
            dst: dst.clone(),
            op,
            a,
            b,
            word: true,
        })
    };
    if m == "movt" {
        let Some(Op::Imm(v)) = ops.get(1) else {
            return None;
        };
        return Some(vec![
            arith(ArithOp::And, dst.clone(), Operand::Imm(0xffff)),
            arith(ArithOp::Or, dst.clone(), Operand::Imm((*v & 0xffff) << 16)),
        ]);
    }
    let (a, b_at) = match ops.len() {
        2 => (dst.clone(), 1),
        3 => (reg(1)?, 2),
        _ => return None,
    };
    if shifts.get(b_at).copied().unwrap_or(0) != 0 {
        return None;
    }
    let b = match ops.get(b_at)? {
        Op::Imm(v) => Operand::Imm(*v),
        Op::Reg(r, _) if r != "pc" => Operand::Reg(r.clone()),
        _ => return None,
    };
    if matches!(m, "lsl" | "lsr" | "asr") && matches!(b, Operand::Reg(_)) {
        // A shift by a register takes its low byte, 32 and over giving 0 (or the sign).
        return None;
    }
    let op = match m {
        "lsl" => ArithOp::Shl,
        "lsr" => ArithOp::Shr,
        "asr" => ArithOp::Sar,
        "and" => ArithOp::And,
        "orr" => ArithOp::Or,
        "eor" => ArithOp::Xor,
        "bic" => match b {
            Operand::Imm(v) => {
                return Some(vec![arith(ArithOp::And, a, Operand::Imm(!v & 0xffff_ffff))])
            }
            Operand::Reg(_) => return None,
        },
        _ => return None,
    };
    Some(vec![arith(op, a, b)])
}

/// A conditional A32 instruction as a fork into its two paths. The engine learns a table
/// bound on the fall-through path, so that is the one where `ls`/`lo` hold (`ldrls pc, ...`)
/// and where `hi`/`hs` do not.
fn fork(pc: u64, cc: usize, mnemonic: &str) -> Lifted {
    let tag = pc | ((cc as u64) << COND_SHIFT);
    // The condition's 4-bit encoding: capstone's numbering less one; its opposite flips bit 0.
    let encoded = (cc as u8).wrapping_sub(1);
    let (taken, fallthrough, bound, taken_if) = match CONDITIONS.get(cc).copied() {
        Some("ls") => (tag, tag | COND_HOLDS, Bound::AtMost, encoded ^ 1),
        Some("lo") => (tag, tag | COND_HOLDS, Bound::Below, encoded ^ 1),
        _ => (tag | COND_HOLDS, tag, bound_of(cc), encoded),
    };
    let mut out = Lifted::plain(pc, fallthrough, mnemonic);
    out.flow = Flow::Cond(taken, bound);
    if (1..15).contains(&cc) {
        out.fx.push(Fx::Flags(FlagFx::TakenIf(taken_if)));
    }
    out
}

/// What a branch taken on condition `cc` tells about a preceding `cmp reg, imm` when not
/// taken.
fn bound_of(cc: usize) -> Bound {
    match CONDITIONS.get(cc).copied() {
        Some("hi") => Bound::AtMost,
        Some("hs") => Bound::Below,
        _ => Bound::None,
    }
}

fn push_read(out: &mut Lifted, r: Option<String>) {
    if let Some(r) = r {
        if r != "sp" && r != "pc" && !out.reads.contains(&r) {
            out.reads.push(r);
        }
    }
}

/// `vpush {s16-s17}` moves 4-byte registers; `vpush {d8}` 8-byte ones.
fn is_single(_mnemonic: &str, op_str: Option<&str>) -> bool {
    op_str.is_some_and(|s| s.trim_start_matches('{').trim_start().starts_with('s'))
        && !op_str.is_some_and(|s| s.contains("sp!") && s.contains('d'))
}

fn is_multiple(m: &str) -> bool {
    let stem = m.split('.').next().unwrap_or(m);
    matches!(
        stem,
        "ldm"
            | "ldmia"
            | "ldmfd"
            | "ldmdb"
            | "ldmea"
            | "ldmib"
            | "ldmed"
            | "ldmda"
            | "ldmfa"
            | "stm"
            | "stmia"
            | "stmea"
            | "stmdb"
            | "stmfd"
            | "stmib"
            | "stmfa"
            | "stmda"
            | "stmed"
            | "vldmia"
            | "vldmdb"
            | "vstmia"
            | "vstmdb"
            | "vldm"
            | "vstm"
    )
}

/// A store or load of several registers at `base`: `before` for decrement-before (the
/// registers go below the base), else increment-after; `writeback` moves the base.
#[allow(clippy::too_many_arguments)]
fn push_multiple(
    out: &mut Lifted,
    regs: &[String],
    base: &str,
    store: bool,
    before: bool,
    writeback: bool,
    single: bool,
) {
    // VFP lists name d registers (8 bytes) or s registers (4 bytes, both map to one dN).
    let vfp = regs.iter().all(|r| r.starts_with('d')) && !regs.is_empty();
    let size: i64 = if vfp && !single { 8 } else { 4 };
    let total = size * regs.len() as i64;
    let start = if before { -total } else { 0 };
    if store {
        out.reads_are_not_uses = base == "sp";
        out.writes.retain(|w| w == base);
    } else {
        out.writes.retain(|w| w == base || regs.contains(w));
    }
    let mut off = start;
    for r in regs {
        if store {
            out.fx.push(Fx::Store {
                src: r.clone(),
                base: base.to_string(),
                disp: off,
                size: size as u8,
            });
        } else {
            out.fx.push(Fx::Load {
                dst: r.clone(),
                base: base.to_string(),
                disp: off,
                size: size as u8,
                signed: false,
            });
        }
        off += size;
    }
    if writeback {
        out.fx.push(Fx::AddImm {
            dst: base.to_string(),
            src: base.to_string(),
            imm: if before { -total } else { total },
        });
    }
    if !store && regs.iter().any(|r| r == "pc") {
        out.flow = if base == "sp" {
            Flow::Ret {
                pop: 0,
                via: Some("pc".into()),
            }
        } else {
            Flow::Stop
        };
    }
}

fn is_load_store(m: &str) -> bool {
    let stem = m.split('.').next().unwrap_or(m);
    matches!(
        stem,
        "ldr"
            | "ldrb"
            | "ldrh"
            | "ldrsb"
            | "ldrsh"
            | "ldrd"
            | "str"
            | "strb"
            | "strh"
            | "strd"
            | "vldr"
            | "vstr"
    )
}

/// `pc_value` is what reading pc gives here; `index_shift` the `lsl` of a register index.
fn lift_load_store(
    out: &mut Lifted,
    m: &str,
    ops: &[Op],
    writeback: bool,
    pc_value: u64,
    index_shift: u32,
) {
    let Some(mem_at) = ops.iter().position(|o| matches!(o, Op::Mem { .. })) else {
        return;
    };
    let Some(Op::Mem { base, index, disp }) = ops.get(mem_at) else {
        return;
    };
    let store = m.starts_with("st") || m.starts_with("vst");
    let regs: Vec<String> = ops[..mem_at]
        .iter()
        .filter_map(|o| match o {
            Op::Reg(r, _) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let size: i64 = if m.starts_with('v') && regs.first().is_some_and(|r| r.starts_with('d')) {
        8
    } else {
        4
    };
    let post = ops.get(mem_at + 1).and_then(|o| match o {
        Op::Imm(v) => Some(*v),
        _ => None,
    });
    let loads_pc = !store && regs.iter().any(|r| r == "pc");
    if index.is_some() && !store && !writeback {
        // `ldr r0, [r1, r0, lsl #2]`: a jump-table read when the index is scaled by the entry
        // size; `ldr pc, [pc, r0, lsl #2]`: a table of absolute addresses right after it.
        let (entry, signed) = match m {
            "ldr" => (4u8, false),
            "ldrh" => (2, false),
            "ldrsh" => (2, true),
            "ldrb" => (1, false),
            "ldrsb" => (1, true),
            _ => (0, false),
        };
        let scaled = entry > 0 && index_shift < 8 && 1u32 << index_shift == u32::from(entry);
        let table_disp = if base == "pc" { pc_value as i64 } else { 0 } + *disp;
        match regs.first() {
            Some(r) if r == "pc" => {
                out.flow = if base == "pc" && scaled && entry == 4 {
                    Flow::IndirectMem {
                        base: None,
                        index: true,
                        scale: 4,
                        disp: table_disp,
                    }
                } else {
                    Flow::Stop
                };
            }
            Some(r) if scaled => out.fx.push(Fx::LoadIndexed {
                dst: r.clone(),
                base: if base == "pc" {
                    String::new()
                } else {
                    base.clone()
                },
                disp: table_disp,
                size: entry,
                signed,
            }),
            _ => {}
        }
        return;
    }
    if let (None, "pc", "ldr", [r]) = (index, base.as_str(), m, regs.as_slice()) {
        // A literal-pool load: a word at a fixed address (pc word-aligned).
        if r != "pc" {
            out.fx.push(Fx::Load {
                dst: r.clone(),
                base: String::new(),
                disp: ((pc_value & !3).wrapping_add_signed(*disp) & 0xffff_ffff) as i64,
                size: 4,
                signed: false,
            });
            return;
        }
    }
    if index.is_some() || base == "pc" {
        // Other register offsets and literal-pool loads: the value is not tracked.
        if loads_pc {
            out.flow = Flow::Stop;
        }
        return;
    }
    // Post-index (`ldr r0, [sp], #4`): access at the base, then move it; pre-index with
    // writeback (`str r4, [sp, #-4]!`): move first.
    let (access, pre, post_add) = match (writeback, post) {
        (true, Some(p)) => (0, 0, p),
        (false, Some(p)) => (0, 0, p),
        (true, None) => (0, *disp, 0),
        (false, None) => (*disp, 0, 0),
    };
    if loads_pc && base != "sp" {
        // `ldr pc, [ip, #8]!` or `ldr pc, [r3]`: a jump through memory (a tail call).
        out.flow = Flow::IndirectMem {
            base: Some(base.clone()),
            index: false,
            scale: 1,
            disp: *disp,
        };
        return;
    }
    if pre != 0 {
        out.fx.push(Fx::AddImm {
            dst: base.clone(),
            src: base.clone(),
            imm: pre,
        });
    }
    let mut off = access;
    // `ldrb`, `strh`, `ldrsh`: narrower than the register.
    let stem = m.split('.').next().unwrap_or(m);
    let (width, signed) = match stem {
        "ldrb" | "strb" => (1, false),
        "ldrsb" => (1, true),
        "ldrh" | "strh" => (2, false),
        "ldrsh" => (2, true),
        _ => (size as u8, false),
    };
    for r in &regs {
        if store {
            out.fx.push(Fx::Store {
                src: r.clone(),
                base: base.clone(),
                disp: off,
                size: width,
            });
        } else {
            out.fx.push(Fx::Load {
                dst: r.clone(),
                base: base.clone(),
                disp: off,
                size: width,
                signed,
            });
        }
        off += size;
    }
    if store {
        out.writes.retain(|w| w == base);
    }
    if post_add != 0 {
        out.fx.push(Fx::AddImm {
            dst: base.clone(),
            src: base.clone(),
            imm: post_add,
        });
    }
    if loads_pc {
        out.flow = Flow::Ret {
            pop: 0,
            via: Some("pc".into()),
        };
    }
}

/// The `it` instruction `h`: a fork into the path where its condition holds and the one where
/// it does not, each tagged with which of the next instructions execute.
fn it_block(pc: u64, h: u16) -> Lifted {
    let firstcond = (h >> 4) & 0xf;
    let mask = h & 0xf;
    let count = 4 - u64::from(mask.trailing_zeros());
    let fc0 = firstcond & 1;
    let mut then_mask = 0u64;
    for i in 0..count {
        let bit = if i == 0 { fc0 } else { (mask >> (4 - i)) & 1 };
        if bit == fc0 {
            then_mask |= 1 << i;
        }
    }
    let all = (1u64 << count) - 1;
    let tag = |m: u64| ((pc + 2) | THUMB) | (count << IT_COUNT_SHIFT) | (m << IT_MASK_SHIFT);
    let mut out = Lifted::plain(pc, tag(all & !then_mask), "it");
    // IT AL: every instruction executes.
    out.flow = if firstcond == 0xe {
        out.next = tag(all);
        Flow::Next
    } else {
        if firstcond < 14 {
            out.fx.push(Fx::Flags(FlagFx::TakenIf(firstcond as u8)));
        }
        Flow::Cond(tag(then_mask), Bound::None)
    };
    out
}

/// What an instruction that may write the flags does to them (`m` without condition or
/// width suffix): `cmp`/`cmn` with an immediate set all four from a value the analysis may
/// know; `tst`/`teq` of an unshifted register leave C and V as they were; anything else may
/// write all four.
fn flag_effect(m: &str, ops: &[Op], shifts: &[u32]) -> FlagFx {
    match (m, ops) {
        ("cmp" | "cmn", [Op::Reg(a, _), Op::Imm(imm)]) => FlagFx::Compare {
            a: a.clone(),
            imm: *imm,
            add: m == "cmn",
        },
        ("tst" | "teq", [Op::Reg(..), Op::Reg(..)]) if shifts.get(1) == Some(&0) => {
            FlagFx::Clobber(FLAG_N | FLAG_Z)
        }
        _ => FlagFx::Clobber(FLAG_N | FLAG_Z | FLAG_C | FLAG_V),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gcc's Thumb-2 PIC jump table (Debian 13's armhf xmpp_uri.so, is_valid/1): the table's
    /// address, an entry, and their sum in lr, which `bx lr` then jumps through.
    #[test]
    fn thumb2_table_through_lr() {
        let arm = Arm::new(false).unwrap();
        let adr = arm.lift(&[0x0f, 0xf2, 0x08, 0x0e], 0x7c9).unwrap();
        assert!(
            adr.fx
                .iter()
                .any(|f| matches!(f, Fx::Const { dst, value } if dst == "lr" && *value == 0x7d4)),
            "{:?}",
            adr.fx
        );
        let ldr = arm.lift(&[0x5e, 0xf8, 0x20, 0x00], 0x7cd).unwrap();
        assert!(
            ldr.fx
                .iter()
                .any(|f| matches!(f, Fx::LoadIndexed { dst, .. } if dst == "r0")),
            "{:?}",
            ldr.fx
        );
        let add = arm.lift(&[0x86, 0x44], 0x7d1).unwrap();
        assert!(
            add.fx
                .iter()
                .any(|f| matches!(f, Fx::AddRegs { dst, b, .. } if dst == "lr" && b == "r0")),
            "{:?}",
            add.fx
        );
    }

    #[test]
    fn thumb_bit_and_it_blocks() {
        let arm = Arm::new(false).unwrap();
        // Thumb `bx lr` at a Thumb address: a return, reported without the Thumb bit.
        let bx = arm.lift(&[0x70, 0x47], 0x1001).unwrap();
        assert_eq!(bx.address, 0x1000);
        assert_eq!(bx.next, 0x1003);
        assert!(matches!(bx.flow, Flow::Ret { .. }));
        assert_eq!(arm.code_address(bx.next), 0x1002);
        // `ite eq`: the path where eq holds runs the first instruction, the other the second.
        let it = arm.lift(&[0x0c, 0xbf], 0x2001).unwrap();
        let tag = |mask: u64| 0x2003 | (2 << IT_COUNT_SHIFT) | (mask << IT_MASK_SHIFT);
        assert_eq!(it.flow, Flow::Cond(tag(0b01), Bound::None));
        assert_eq!(it.next, tag(0b10));
        // On the eq path `moveq r0, #1` (0x2001) runs and `movne r0, #2` (0x2002) is skipped.
        let first = arm.lift(&[0x01, 0x20], tag(0b01)).unwrap();
        assert_eq!(
            first.fx,
            vec![Fx::Const {
                dst: "r0".into(),
                value: 1
            }]
        );
        let skipped = arm.lift(&[0x02, 0x20], first.next).unwrap();
        assert!(skipped.fx.is_empty() && skipped.writes.is_empty());
        assert_eq!(skipped.next, 0x2007);
    }

    /// The flag facts the analysis's model reads, and the realignment OpenSSL's NEON code
    /// uses (`bic r11, r11, #15; mov sp, r11`).
    #[test]
    fn flag_facts_and_bic_realignment() {
        let arm = Arm::new(false).unwrap();
        let bic = arm.lift(&[0x2b, 0xf0, 0x0f, 0x0b], 0x5001).unwrap();
        assert_eq!(
            bic.fx,
            vec![Fx::Align {
                dst: "r11".into(),
                src: "r11".into(),
                align: 16
            }]
        );
        // `cmp r4, r3`: all four flags, and the compared registers.
        let cmp = arm.lift(&[0x9c, 0x42], 0x5005).unwrap();
        assert!(
            cmp.fx.contains(&Fx::Flags(FlagFx::Clobber(0xf))),
            "{:?}",
            cmp.fx
        );
        assert!(cmp.fx.contains(&Fx::CmpRegs {
            a: "r4".into(),
            b: "r3".into()
        }));
        // `cmn.w sp, #0` and `teq.w lr, r12` (OpenSSL's SHA-1).
        let cmn = arm.lift(&[0x1d, 0xf1, 0x00, 0x0f], 0x5001).unwrap();
        assert_eq!(
            cmn.fx,
            vec![Fx::Flags(FlagFx::Compare {
                a: "sp".into(),
                imm: 0,
                add: true
            })]
        );
        let teq = arm.lift(&[0x9e, 0xea, 0x0c, 0x0f], 0x5001).unwrap();
        assert_eq!(teq.fx, vec![Fx::Flags(FlagFx::Clobber(FLAG_N | FLAG_Z))]);
        // `bne` outside an IT block: taken where ne (1) holds; `ite eq`: where eq (0) holds.
        let bne = arm.lift(&[0xa1, 0xd1], 0x5001).unwrap();
        assert_eq!(bne.fx, vec![Fx::Flags(FlagFx::TakenIf(1))]);
        let it = arm.lift(&[0x0c, 0xbf], 0x5001).unwrap();
        assert_eq!(it.fx, vec![Fx::Flags(FlagFx::TakenIf(0))]);
        // An A32 `popls`: its taken side is where ls does not hold (hi, 8).
        let popls = arm.lift(&[0x10, 0x80, 0xbd, 0x98], 0x6000).unwrap();
        assert_eq!(popls.fx, vec![Fx::Flags(FlagFx::TakenIf(8))]);
    }

    #[test]
    fn increment_before_and_movt() {
        let arm = Arm::new(false).unwrap();
        // stmib sp, {r0, r1}: the words above sp, sp unmoved.
        let stmib = arm.lift(&[0x03, 0x00, 0x8d, 0xe9], 0x1000).unwrap();
        let store = |src: &str, disp| Fx::Store {
            src: src.into(),
            base: "sp".into(),
            disp,
            size: 4,
        };
        assert_eq!(stmib.fx, vec![store("r0", 4), store("r1", 8)]);
        // movt r0, #0x1234: the high half replaced, as Fx::Arith (not followed by the
        // analysis).
        let movt = arm.lift(&[0x34, 0x02, 0x41, 0xe3], 0x1004).unwrap();
        let arith = |op, v| {
            Fx::Arith(Arith {
                dst: "r0".into(),
                op,
                a: "r0".into(),
                b: Operand::Imm(v),
                word: true,
            })
        };
        assert_eq!(
            movt.fx,
            vec![arith(ArithOp::And, 0xffff), arith(ArithOp::Or, 0x1234_0000)]
        );
    }

    #[test]
    fn a32_conditions_fork_and_stay_together() {
        let arm = Arm::new(false).unwrap();
        // `popeq {r4, pc}`: a fork into "eq holds" and "eq does not hold".
        let pop = [0x10, 0x80, 0xbd, 0x08];
        let fork = arm.lift(&pop, 0x3000).unwrap();
        let eq = 0x3000 | ((ArmCC::ARM_CC_EQ as u64) << COND_SHIFT);
        assert_eq!(fork.flow, Flow::Cond(eq | COND_HOLDS, Bound::None));
        assert_eq!(fork.next, eq);
        let taken = arm.lift(&pop, eq | COND_HOLDS).unwrap();
        assert!(matches!(taken.flow, Flow::Ret { .. }));
        let skipped = arm.lift(&pop, eq).unwrap();
        assert_eq!(skipped.flow, Flow::Next);
        // `blx #imm` from A32 enters Thumb code.
        let blx = arm.lift(&[0x00, 0x00, 0x00, 0xfa], 0x4000).unwrap();
        assert_eq!(blx.flow, Flow::Call(0x4008 | THUMB));
    }
}
