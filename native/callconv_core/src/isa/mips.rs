//! MIPS lifter: MIPS32 o32 and MIPS64 n64/n32, either byte order.
//!
//! Branch delay slots: the instruction after a branch or jump runs before control moves, so
//! the pair is lifted as one instruction whose effects are the slot's, then the branch's
//! (a slot is never a block of its own). The "likely" branches run their slot only when
//! taken: the not-taken path skips it, and the taken path goes through a pseudo-instruction
//! at the branch's address with [`LIKELY_TAKEN`] set, which is the slot and then a jump.
//!
//! PIC code computes `$gp` from `$t9`, which holds the function's own address at entry (the
//! engine starts with it known: [`Lifter::entry_constants`]), and calls through GOT slots:
//! `lw $t9, %call16(f)($gp); jalr $t9`. The engine names the import the slot holds, so calls
//! to `abort` and friends end the path. Writes of `$gp` are the platform's protocol
//! ([`Lifted::protocol_write`]) when they set it up from `$t9` (`lui`, `addiu`, `addu …,
//! $t9`) or restore it from the stack after a call (o32) or before returning (n64, where
//! it is callee-saved); the engine also accepts a write that leaves gp holding the GOT
//! pointer ([`is_got_pointer`]: clang's o32 code keeps it in s0 and copies it back before
//! each call) or the caller's gp. Any other write is a `reserved-register` finding.
//!
//! Also lifted as one: gcc's and clang's PIC jump tables (`sltiu; beqz` bounds the index,
//! `addu; lw` reads the entry, a gp-relative offset) and clang's stack realignment (`li $at,
//! -64; and $sp, $sp, $at`).
//!
//! Why this file is long (about 1030 lines): one instruction set's lifting: the delay-slot
//! pairing, the GOT and `$t9` protocol and the release-6 encodings share its decoder state;
//! about 150 of its lines are tests.

use capstone::arch::mips::MipsOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use object::ReadRef;

use super::{Bound, Flow, Fx, ImageView, Lifted, Lifter, Stub};
use crate::memory::Image;

/// Set in an engine address: the taken path of the "likely" branch at the address (its delay
/// slot, then the jump). No MIPS user-space code lives that high.
const LIKELY_TAKEN: u64 = 1 << 62;

/// How far `$gp` points past the start of the GOT (the psABI's `_gp`), so that 16-bit
/// offsets reach 64 KiB of it.
const GP_BIAS: u64 = 0x7ff0;

/// Whether `value` is the module's GOT pointer: the GOT it implies starts with the entries
/// the loader fills in (the image's MIPS GOT fixups), among its first four.
pub(crate) fn is_got_pointer<'data, R: ReadRef<'data>>(image: &Image<R>, value: u64) -> bool {
    let Some(got) = value.checked_sub(GP_BIAS) else {
        return false;
    };
    let p = u64::from(image.pointer_size());
    (0..4).any(|k| image.fixup_at(got.wrapping_add(k * p)).is_some())
}

/// The general registers by number, as capstone names them (o32 names).
const GPR_NAMES: [&str; 32] = [
    "zero", "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6",
    "t7", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "t8", "t9", "k0", "k1", "gp", "sp", "fp",
    "ra",
];

/// A release 6 word capstone's release 6 mode does not decode (its 64-bit-register forms):
/// `seleqz`/`selnez`, the 64-bit multiply and divide (`dmul`, `dmuh`, `ddiv`, `dmod` and
/// their unsigned twins), `dlsa`, `dclz`/`dclo`, `daui`. What it writes and reads; anything
/// else stays undecoded (the path ends there).
fn r6_undecoded(w: u32, address: u64) -> Option<Lifted> {
    let (op, rs, rt, rd) = (w >> 26, (w >> 21) & 31, (w >> 16) & 31, (w >> 11) & 31);
    let (sa, funct) = ((w >> 6) & 31, w & 63);
    let (mnemonic, dst, srcs): (&str, u32, Vec<u32>) = match (op, funct) {
        (0, 0x35) if sa == 0 => ("seleqz", rd, vec![rs, rt]),
        (0, 0x37) if sa == 0 => ("selnez", rd, vec![rs, rt]),
        (0, 0x1c..=0x1f) if sa == 2 || sa == 3 => ("dmul/ddiv", rd, vec![rs, rt]),
        (0, 0x15) => ("dlsa", rd, vec![rs, rt]),
        (0, 0x12 | 0x13) if sa == 1 && rt == 0 => ("dclz/dclo", rd, vec![rs]),
        (0x1d, _) => ("daui", rt, vec![rs]),
        _ => return None,
    };
    let mut out = Lifted::plain(address, address.wrapping_add(4), mnemonic);
    out.feature = Some("mips32r6");
    for r in srcs {
        let name = GPR_NAMES[r as usize];
        if r != 0 && name != "sp" && tracked(name) && !out.reads.iter().any(|x| x == name) {
            out.reads.push(name.to_string());
        }
    }
    if dst != 0 {
        out.writes.push(GPR_NAMES[dst as usize].to_string());
    }
    Some(out)
}

pub(crate) struct Mips {
    big_endian: bool,
    cs: Capstone,
    /// Release 6 code: capstone's release 6 mode knows no 64-bit-only instruction of the
    /// earlier releases (`daddiu`, `ld`), which release 6 kept; this MIPS64 decoder takes
    /// the words that mode does not decode.
    cs64: Option<Capstone>,
    r6: bool,
}

impl Mips {
    /// `r6`: the code is release 6's (`Binary::mips_release6`), decoded as such and
    /// tagged with the instructions only release 6 has; otherwise with those it removed.
    pub(crate) fn new(wide: bool, big_endian: bool, r6: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Mips {
            wide,
            big_endian,
            r6,
        })?;
        let cs64 = if r6 && wide {
            Some(crate::disasm::detailed(crate::disasm::Isa::Mips {
                wide,
                big_endian,
                r6: false,
            })?)
        } else {
            None
        };
        Ok(Mips {
            big_endian,
            cs,
            cs64,
            r6,
        })
    }

    /// The one instruction at the start of `code` and the decoder that decoded it.
    fn decode<'s>(
        &'s self,
        code: &[u8],
        address: u64,
    ) -> Option<(&'s Capstone, capstone::Instructions<'s>)> {
        let decoded = |cs: &'s Capstone| {
            cs.disasm_count(code, address, 1)
                .ok()
                .filter(|insns| !insns.is_empty())
                .map(|insns| (cs, insns))
        };
        decoded(&self.cs).or_else(|| self.cs64.as_ref().and_then(decoded))
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }
}

/// Capstone's o32 names; `s8` is the model's `fp`, `d<N>` (64-bit FPU views) is `f<N>`.
fn canon(n: &str) -> String {
    if n == "s8" {
        return "fp".into();
    }
    if let Some(k) = n.strip_prefix('d').and_then(|d| d.parse::<u32>().ok()) {
        return format!("f{k}");
    }
    n.to_string()
}

/// Registers the engine tracks: the GPRs and FPRs (not hi/lo, the FP condition codes or the
/// hardware registers `rdhwr` reads).
fn tracked(r: &str) -> bool {
    const GPRS: [&str; 31] = [
        "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "t8", "t9", "k0", "k1", "gp", "sp", "fp",
        "ra",
    ];
    GPRS.contains(&r)
        || r.strip_prefix('f')
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

#[derive(Debug)]
enum Op {
    Reg(String),
    Imm(i64),
    Mem { base: String, disp: i64 },
    Other,
}

/// Conditional branches with a delay slot (their "likely" forms add an `l`).
const CONDITIONAL: &[&str] = &[
    "beq", "bne", "beqz", "bnez", "blez", "bgtz", "bltz", "bgez", "bc1t", "bc1f", "bc2t", "bc2f",
    "bc1eqz", "bc1nez",
];

/// How one branch or jump moves control.
enum Branch {
    /// Not a branch.
    None,
    /// A branch or jump with a delay slot.
    Slot { flow: Flow, likely: Option<u64> },
    /// A compact branch (MIPS r6, microMIPS): no delay slot.
    Compact(Flow),
}

impl Mips {
    fn ops(&self, detail: &capstone::InsnDetail) -> Vec<Op> {
        detail
            .arch_detail()
            .operands()
            .into_iter()
            .map(|op| match op {
                ArchOperand::MipsOperand(o) => match o {
                    MipsOperand::Reg(r) => self.name(r).map_or(Op::Other, Op::Reg),
                    MipsOperand::Imm(v) => Op::Imm(v),
                    MipsOperand::Mem(m) => match self.name(m.base()) {
                        Some(base) => Op::Mem {
                            base,
                            disp: m.disp(),
                        },
                        None => Op::Other,
                    },
                    MipsOperand::Invalid => Op::Other,
                },
                _ => Op::Other,
            })
            .collect()
    }

    /// The branch kind of `m` with operands `ops`, at `address`.
    fn branch(&self, m: &str, ops: &[Op], address: u64) -> Branch {
        let m = m.strip_suffix(".hb").unwrap_or(m);
        // capstone gives release 6's compact branches their offset from the next
        // instruction, the other branches their target.
        let relative = self.r6
            && (matches!(m, "bc" | "balc")
                || m.starts_with('b') && m.ends_with('c') && m.len() > 3);
        let target = ops.iter().rev().find_map(|o| match o {
            Op::Imm(v) if relative => Some(address.wrapping_add(4).wrapping_add(*v as u64)),
            Op::Imm(v) => Some(*v as u64),
            _ => None,
        });
        let first_reg = ops.iter().find_map(|o| match o {
            Op::Reg(r) => Some(r.clone()),
            _ => None,
        });
        let regs: Vec<&String> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Reg(r) => Some(r),
                _ => None,
            })
            .collect();
        let slot = |flow| Branch::Slot { flow, likely: None };
        match m {
            "j" | "b" => target.map_or(Branch::None, |t| slot(Flow::Jump(t))),
            "jal" | "bal" | "jalx" | "bgezal" | "bltzal" => {
                target.map_or(Branch::None, |t| slot(Flow::Call(t)))
            }
            "jr" => match first_reg.as_deref() {
                Some("ra") => slot(Flow::Ret {
                    pop: 0,
                    via: Some("ra".into()),
                }),
                Some(r) => slot(Flow::IndirectReg(r.to_string())),
                None => slot(Flow::Stop),
            },
            // `jalr $rs` links through ra; `jalr $rd, $rs` through rd.
            "jalr" => slot(Flow::IndirectCall),
            "bc" | "j16" | "b16" => target.map_or(Branch::None, |t| Branch::Compact(Flow::Jump(t))),
            "balc" | "jalrc" | "jialc" | "jalrs" | "jalrs16" | "jals" => {
                Branch::Compact(match (m, target) {
                    ("balc", Some(t)) => Flow::Call(t),
                    _ => Flow::IndirectCall,
                })
            }
            "jrc" | "jic" | "jrc16" => match regs.first().map(|r| r.as_str()) {
                Some("ra") if target.unwrap_or(0) == 0 => Branch::Compact(Flow::Ret {
                    pop: 0,
                    via: Some("ra".into()),
                }),
                Some(r) => Branch::Compact(Flow::IndirectReg(r.to_string())),
                None => Branch::Compact(Flow::Stop),
            },
            _ => {
                let Some(t) = target else {
                    return Branch::None;
                };
                if CONDITIONAL.contains(&m) {
                    return slot(Flow::Cond(t, Bound::None));
                }
                if let Some(base) = m.strip_suffix('l') {
                    if CONDITIONAL.contains(&base) {
                        return Branch::Slot {
                            flow: Flow::Cond(address | LIKELY_TAKEN, Bound::None),
                            likely: Some(t),
                        };
                    }
                    if matches!(base, "bgezal" | "bltzal") {
                        // A likely conditional call: followed as a call.
                        return slot(Flow::Call(t));
                    }
                }
                // r6 compact conditional branches (beqzc, bnec, bltuc, …).
                if m.ends_with('c') && m.starts_with('b') && m.len() > 3 {
                    return Branch::Compact(Flow::Cond(t, Bound::None));
                }
                Branch::None
            }
        }
    }
}

impl Lifter for Mips {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("ra")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    /// Shared objects call through the GOT, without PLT entries.
    fn stub(&self, _code: &[u8], _address: u64, _image: &dyn ImageView) -> Option<Stub> {
        None
    }

    fn code_address(&self, address: u64) -> u64 {
        address & !LIKELY_TAKEN
    }

    fn entry_constants(&self, start: u64) -> Vec<(&'static str, u64)> {
        // PIC code is entered with its own address in t9 (every call through a pointer).
        vec![("t9", start)]
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let real = address & !LIKELY_TAKEN;
        let first = self.lift_one(code, real)?;
        match first.1 {
            Branch::None => Some(
                self.realignment(&first.0, code)
                    .or_else(|| self.table_bound(&first.0, code))
                    .or_else(|| self.table_read(&first.0, code))
                    .unwrap_or(first.0),
            ),
            Branch::Compact(flow) => {
                let mut out = first.0;
                out.flow = flow;
                Some(out)
            }
            Branch::Slot { flow, likely } => {
                let branch = first.0;
                let after = real.wrapping_add(8);
                // The delay slot; a branch there is undefined behaviour.
                let slot = match self.lift_one(code.get(4..)?, real.wrapping_add(4)) {
                    Some((s, Branch::None)) => Some(s),
                    _ => None,
                };
                let mut out = match (&likely, address & LIKELY_TAKEN != 0) {
                    // The taken path of a likely branch: the slot, then the jump.
                    (Some(t), true) => {
                        let mut s = slot?;
                        s.next = after;
                        s.flow = Flow::Jump(*t);
                        return Some(s);
                    }
                    // Its not-taken path skips the slot.
                    (Some(_), false) => branch,
                    _ => {
                        let Some(mut s) = slot else {
                            let mut b = branch;
                            b.flow = Flow::Stop;
                            return Some(b);
                        };
                        s.address = real;
                        s.mnemonic = format!("{}+{}", branch.mnemonic, s.mnemonic);
                        if matches!(flow, Flow::Call(_) | Flow::IndirectCall) {
                            // The engine makes a call's writes unknown after it returns: the
                            // slot's defined results (`move $fp, $sp`) survive the call.
                            let defined: Vec<String> = s.fx.iter().filter_map(fx_dst).collect();
                            s.writes.retain(|w| !defined.contains(w));
                        }
                        for r in branch.reads {
                            if !s.reads.contains(&r) {
                                s.reads.push(r);
                            }
                        }
                        for w in branch.writes {
                            if !s.writes.contains(&w) {
                                s.writes.push(w);
                            }
                        }
                        s.call_via = branch.call_via;
                        s
                    }
                };
                out.next = after;
                out.flow = flow;
                Some(out)
            }
        }
    }
}

impl Mips {
    /// `li $X, -N; and $sp, $sp, $X` (clang's stack realignment for an over-aligned local):
    /// lifted as one realignment.
    fn realignment(&self, first: &Lifted, code: &[u8]) -> Option<Lifted> {
        let [Fx::Const { dst, value }] = first.fx.as_slice() else {
            return None;
        };
        let align = (*value as i64).unsigned_abs();
        if (*value as i64) >= 0 || !align.is_power_of_two() {
            return None;
        }
        let Some((and, Branch::None)) = code.get(4..).and_then(|c| self.lift_one(c, first.next))
        else {
            return None;
        };
        let (cs, insns) = self.decode(code.get(4..8)?, first.next)?;
        let ops = self.ops(&cs.insn_detail(insns.iter().next()?).ok()?);
        let is_sp = |o: Option<&Op>| matches!(o, Some(Op::Reg(r)) if r == "sp");
        let is_x = |o: Option<&Op>| matches!(o, Some(Op::Reg(r)) if r == dst);
        let realigns = and.mnemonic == "and"
            && is_sp(ops.first())
            && ((is_sp(ops.get(1)) && is_x(ops.get(2))) || (is_x(ops.get(1)) && is_sp(ops.get(2))));
        if !realigns {
            return None;
        }
        let mut out = first.clone();
        out.mnemonic = format!("{}+and", first.mnemonic);
        out.next = and.next;
        out.writes.push("sp".into());
        out.fx.push(Fx::Align {
            dst: "sp".into(),
            src: "sp".into(),
            align,
        });
        Some(out)
    }

    /// The operands of the instruction at the start of `code`, with its mnemonic.
    fn operands(&self, code: &[u8], address: u64) -> Option<(String, Vec<Op>)> {
        let (cs, insns) = self.decode(code.get(..4)?, address)?;
        let insn = insns.iter().next()?;
        let ops = self.ops(&cs.insn_detail(insn).ok()?);
        Some((insn.mnemonic()?.to_string(), ops))
    }

    /// `sltiu $t, $i, N; beqz $t, default` (and the branch's slot): the bound of a jump
    /// table, `i < N` on the path that does not branch.
    fn table_bound(&self, first: &Lifted, code: &[u8]) -> Option<Lifted> {
        if first.mnemonic != "sltiu" {
            return None;
        }
        let (_, ops) = self.operands(code, first.address)?;
        let [Op::Reg(t), Op::Reg(_), Op::Imm(n)] = ops.as_slice() else {
            return None;
        };
        let (bm, bops) = self.operands(code.get(4..)?, first.next)?;
        if bm != "beqz" || !matches!(bops.first(), Some(Op::Reg(r)) if r == t) {
            return None;
        }
        let branch = self.lift(code.get(4..)?, first.next)?;
        let Flow::Cond(default, _) = branch.flow else {
            return None;
        };
        let mut out = first.clone();
        out.fx.push(Fx::CmpImm { imm: *n });
        out.mnemonic = format!("{}+{}", first.mnemonic, branch.mnemonic);
        append(&mut out, branch);
        out.flow = Flow::Cond(default, Bound::Below);
        Some(out)
    }

    /// `addu $x, $a, $b; lw $d, off($x)` (`daddu`/`ld` on n64): entry `b` (or `a`) of the
    /// jump table at `a + off` (or `b + off`), whichever the engine knows as a constant.
    /// gcc and clang emit it for PIC switch tables of `gp`-relative entries (`.gpword`).
    fn table_read(&self, first: &Lifted, code: &[u8]) -> Option<Lifted> {
        let [Fx::AddRegs { dst: x, a, b, .. }] = first.fx.as_slice() else {
            return None;
        };
        // Not the gp setup (`addu $gp, $gp, $t9`) followed by a GOT load.
        let special = |r: &str| matches!(r, "gp" | "t9" | "sp" | "zero");
        if special(a) || special(b) || special(x) {
            return None;
        }
        let (lm, lops) = self.operands(code.get(4..)?, first.next)?;
        let (size, signed) = match lm.as_str() {
            "lw" => (4, true),
            "lwu" => (4, false),
            "ld" => (8, true),
            _ => return None,
        };
        let [Op::Reg(d), Op::Mem { base, disp }] = lops.as_slice() else {
            return None;
        };
        if base != x {
            return None;
        }
        let (load, Branch::None) = self.lift_one(code.get(4..)?, first.next)? else {
            return None;
        };
        let mut out = first.clone();
        out.mnemonic = format!("{}+{}", first.mnemonic, load.mnemonic);
        append(&mut out, load);
        out.fx = vec![
            first.fx[0].clone(),
            Fx::LoadIndexed {
                dst: d.clone(),
                base: x.clone(),
                disp: *disp,
                size,
                signed,
            },
        ];
        Some(out)
    }

    /// One instruction, without its delay slot, and how it branches.
    fn lift_one(&self, code: &[u8], address: u64) -> Option<(Lifted, Branch)> {
        let Some((cs, insns)) = self.decode(code, address) else {
            let word = crate::disasm::word32(code, 0, self.big_endian)?;
            return self
                .r6
                .then(|| r6_undecoded(word, address))
                .flatten()
                .map(|l| (l, Branch::None));
        };
        let insn = insns.iter().next()?;
        let mut mnemonic = insn.mnemonic().unwrap_or("").to_string();
        let next = address.wrapping_add(insn.len() as u64);
        let detail = cs.insn_detail(insn).ok()?;
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| cs.group_name(*g))
            .collect();
        let mut ops = self.ops(&detail);
        // capstone's release 6 mode gives `aui rt, rs, imm` its registers swapped: read them
        // from the word. With rs = $zero it is `lui`, which every release has.
        if self.r6 && mnemonic == "aui" {
            let w = crate::disasm::word32(code, 0, self.big_endian)?;
            let (rs, rt, imm) = ((w >> 21) & 31, (w >> 16) & 31, i64::from(w & 0xffff));
            let gpr = |n: u32| Op::Reg(GPR_NAMES[n as usize].to_string());
            ops = if rs == 0 {
                mnemonic = "lui".into();
                vec![gpr(rt), Op::Imm(imm)]
            } else {
                vec![gpr(rt), gpr(rs), Op::Imm(imm)]
            };
        }
        let mut out = Lifted::plain(address, next, &mnemonic);
        out.feature = super::features::mips_feature(&groups, &mnemonic, self.r6);
        let m = mnemonic.as_str();
        let reg = |i: usize| match ops.get(i) {
            Some(Op::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = ops.iter().rev().find_map(|o| match o {
            Op::Imm(v) => Some(*v),
            _ => None,
        });
        let mem = ops.iter().find_map(|o| match o {
            Op::Mem { base, disp } => Some((base.clone(), *disp)),
            _ => None,
        });
        let add_read = |out: &mut Lifted, r: &str| {
            if r != "zero" && r != "sp" && tracked(r) && !out.reads.iter().any(|x| x == r) {
                out.reads.push(r.to_string());
            }
        };
        let add_write = |out: &mut Lifted, r: &str| {
            if r != "zero" && tracked(r) && !out.writes.iter().any(|x| x == r) {
                out.writes.push(r.to_string());
            }
        };
        let all_regs: Vec<String> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Reg(r) | Op::Mem { base: r, .. } => Some(r.clone()),
                _ => None,
            })
            .collect();

        let branch = self.branch(m, &ops, address);
        if !matches!(branch, Branch::None) {
            for r in &all_regs {
                add_read(&mut out, r);
            }
            let base = m.strip_suffix(".hb").unwrap_or(m);
            if matches!(base, "jalr" | "jalrc" | "jalrs" | "jalrs16") {
                // `jalr $rs` or `jalr $rd, $rs`.
                let (rd, rs) = match (reg(0), reg(1)) {
                    (Some(d), Some(s)) => (d, s),
                    (Some(s), None) => ("ra".to_string(), s),
                    _ => ("ra".to_string(), String::new()),
                };
                out.reads.retain(|r| *r != rd || rd == rs);
                add_write(&mut out, &rd);
                if !rs.is_empty() {
                    out.call_via = Some(rs);
                }
            } else if matches!(
                base,
                "jal"
                    | "bal"
                    | "jalx"
                    | "bgezal"
                    | "bltzal"
                    | "bgezall"
                    | "bltzall"
                    | "balc"
                    | "jialc"
                    | "jals"
            ) {
                add_write(&mut out, "ra");
            }
            return Some((out, branch));
        }
        if matches!(m, "break" | "sdbbp" | "eret" | "deret" | "wait") {
            out.flow = Flow::Stop;
            return Some((out, Branch::None));
        }
        // `teq $zero, $zero`: a trap whose condition always holds (GCC's __builtin_trap, and
        // the trap it puts on an isolated null dereference): the path ends there.
        if matches!(m, "teq" | "tge" | "tgeu") && reg(0).is_some() && reg(0) == reg(1) {
            out.flow = Flow::Stop;
            return Some((out, Branch::None));
        }
        // Stores (and instructions without a register destination) only read.
        let store = is_store(m);
        let reads_only = store
            || m.starts_with("c.")
            || matches!(
                m,
                "mult"
                    | "multu"
                    | "dmult"
                    | "dmultu"
                    | "madd"
                    | "maddu"
                    | "msub"
                    | "msubu"
                    | "mthi"
                    | "mtlo"
                    | "teq"
                    | "tne"
                    | "tge"
                    | "tgeu"
                    | "tlt"
                    | "tltu"
                    | "teqi"
                    | "tnei"
                    | "tgei"
                    | "tgeiu"
                    | "tlti"
                    | "tltiu"
                    | "sync"
                    | "synci"
                    | "cache"
                    | "pref"
                    | "prefx"
                    | "nop"
                    | "ssnop"
                    | "ehb"
                    | "pause"
                    | "syscall"
                    | "mtc0"
                    | "dmtc0"
            )
            || (matches!(m, "div" | "divu" | "ddiv" | "ddivu") && ops.len() == 2);
        if reads_only {
            for r in &all_regs {
                add_read(&mut out, r);
            }
            if m == "sc" || m == "scd" {
                if let Some(r) = reg(0) {
                    add_write(&mut out, &r);
                }
            } else if store {
                if let (Some(src), Some((base, disp))) = (reg(0), mem.clone()) {
                    if matches!(m, "sw" | "sd" | "swc1" | "sdc1") && tracked(&src) {
                        let size = if matches!(m, "sd" | "sdc1") { 8 } else { 4 };
                        out.fx.push(Fx::Store {
                            src,
                            base,
                            disp,
                            size,
                        });
                    }
                }
            }
            return Some((out, Branch::None));
        }
        // Moves to a coprocessor name the destination second. `ctc1 $4, $31` writes the FP
        // control and status register, which capstone names as the GPR of that number (ra).
        let (dst, srcs): (Option<String>, Vec<String>) = if matches!(m, "ctc1" | "ctc2") {
            (None, reg(0).into_iter().collect())
        } else if matches!(m, "mtc1" | "dmtc1" | "mthc1" | "mtc2" | "dmtc2") {
            (reg(1), reg(0).into_iter().collect())
        } else {
            match all_regs.split_first() {
                Some((d, rest)) if matches!(ops.first(), Some(Op::Reg(_))) => {
                    (Some(d.clone()), rest.to_vec())
                }
                _ => (None, all_regs.clone()),
            }
        };
        for r in &srcs {
            add_read(&mut out, r);
        }
        // Read-modify-write: ins/dins and the conditional moves keep part of the old value.
        if matches!(
            m,
            "ins" | "dins" | "dinsm" | "dinsu" | "movn" | "movz" | "movf" | "movt"
        ) || m.starts_with("movn.")
            || m.starts_with("movz.")
            || m.starts_with("movf.")
            || m.starts_with("movt.")
        {
            if let Some(d) = &dst {
                add_read(&mut out, d);
            }
        }
        let Some(dst) = dst else {
            return Some((out, Branch::None));
        };
        add_write(&mut out, &dst);
        let to_gp = dst == "gp";
        let is_load = m.starts_with('l') && !matches!(m, "lui" | "li" | "la");
        match m {
            "lui" => {
                if let Some(v) = imm {
                    out.fx.push(Fx::Const {
                        dst,
                        value: sext((v as u64 & 0xffff) << 16, 32),
                    });
                }
                out.protocol_write = to_gp;
            }
            "li" => {
                if let Some(v) = imm {
                    out.fx.push(Fx::Const {
                        dst,
                        value: v as u64,
                    });
                }
            }
            "addiu" | "daddiu" | "addi" | "daddi" => match (reg(1), imm) {
                (Some(s), Some(v)) if s == "zero" => out.fx.push(Fx::Const {
                    dst,
                    value: v as u64,
                }),
                (Some(s), Some(v)) => {
                    // `%lo(_gp_disp)` and its n64 twin: gp from a register being set up.
                    out.protocol_write = to_gp && s != "sp";
                    out.fx.push(Fx::AddImm {
                        dst,
                        src: s,
                        imm: v,
                    });
                }
                _ => {}
            },
            "move" => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            "addu" | "daddu" | "add" | "dadd" | "or" => match (reg(1), reg(2)) {
                (Some(a), Some(z)) if z == "zero" => out.fx.push(Fx::Copy { dst, src: a }),
                (Some(z), Some(a)) if z == "zero" => out.fx.push(Fx::Copy { dst, src: a }),
                (Some(a), Some(b)) if m != "or" => {
                    out.protocol_write = to_gp && (a == "t9" || b == "t9");
                    out.fx.push(Fx::AddRegs {
                        dst,
                        a,
                        b,
                        shift: 0,
                    });
                }
                _ => {}
            },
            "mov.d" | "mov.s" => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            _ if is_load => {
                if let Some((base, disp)) = mem {
                    // The gp restore from the stack (after a call on o32, before returning
                    // on n64).
                    out.protocol_write = to_gp && base == "sp";
                    if matches!(m, "lw" | "ld" | "lwc1" | "ldc1") {
                        out.fx.push(Fx::Load {
                            dst,
                            base,
                            disp,
                            size: if matches!(m, "ld" | "ldc1") { 8 } else { 4 },
                            signed: m == "lw",
                        });
                    }
                }
            }
            _ => {}
        }
        Some((out, Branch::None))
    }
}

/// Appends `later`, which runs after `out`, to `out`: its effects and writes, and its reads
/// of registers `out` did not write.
fn append(out: &mut Lifted, later: Lifted) {
    for r in later.reads {
        if !out.writes.contains(&r) && !out.reads.contains(&r) {
            out.reads.push(r);
        }
    }
    for w in later.writes {
        if !out.writes.contains(&w) {
            out.writes.push(w);
        }
    }
    out.fx.extend(later.fx);
    out.next = later.next;
    out.protocol_write |= later.protocol_write;
    out.call_via = later.call_via;
    out.flow = later.flow;
}

/// The register an effect defines.
fn fx_dst(fx: &Fx) -> Option<String> {
    match fx {
        Fx::Copy { dst, .. }
        | Fx::AddImm { dst, .. }
        | Fx::AddRegs { dst, .. }
        | Fx::AddExtended { dst, .. }
        | Fx::Const { dst, .. }
        | Fx::Load { dst, .. }
        | Fx::LoadIndexed { dst, .. }
        | Fx::Align { dst, .. }
        | Fx::SubRegs { dst, .. }
        | Fx::InsertImm { dst, .. }
        | Fx::Arith(super::Arith { dst, .. }) => Some(dst.clone()),
        Fx::Store { .. }
        | Fx::StoreConst { .. }
        | Fx::StoreImm { .. }
        | Fx::StoreUnknown { .. }
        | Fx::CopyMem { .. }
        | Fx::CmpImm { .. }
        | Fx::CmpRegs { .. }
        | Fx::Flags(_) => None,
        // x86 only.
        Fx::Swap { .. } => None,
    }
}

fn sext(v: u64, bits: u32) -> u64 {
    (((v << (64 - bits)) as i64) >> (64 - bits)) as u64
}

fn is_store(m: &str) -> bool {
    matches!(
        m,
        "sb" | "sh"
            | "sw"
            | "sd"
            | "swl"
            | "swr"
            | "sdl"
            | "sdr"
            | "sc"
            | "scd"
            | "swc1"
            | "sdc1"
            | "suxc1"
            | "swxc1"
            | "sdxc1"
            | "swc2"
            | "sdc2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(words: &[u32], address: u64, wide: bool) -> Lifted {
        let m = Mips::new(wide, false, false).expect("capstone");
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        m.lift(&code, address).expect("decodes")
    }

    /// libffi's ffi_closure_alloc (Debian 12 mipsel) ends with `lw $2, 12($zero); teq
    /// $zero, $zero` just before the next function: the path stops at the trap.
    #[test]
    fn a_trap_on_equal_registers_ends_the_path() {
        assert_eq!(lift(&[0x0000_0034], 0x573c, false).flow, Flow::Stop);
        // `teq $2, $3` traps only when they are equal: the path goes on.
        assert_eq!(lift(&[0x0043_0034], 0x573c, false).flow, Flow::Next);
    }

    #[test]
    fn a_write_of_the_fp_control_register_is_not_one_of_ra() {
        // Debian 12 mipsel libc's __mips_fpu_setcw: jr $ra; ctc1 $4, $31 (in the delay slot).
        let i = lift(&[0x03e0_0008, 0x44c4_f800], 0x390cc, false);
        assert!(matches!(i.flow, Flow::Ret { .. }), "{i:?}");
        assert!(!i.writes.iter().any(|w| w == "ra"), "{i:?}");
        assert!(i.reads.iter().any(|r| r == "a0"), "{i:?}");
    }

    #[test]
    fn delay_slot_runs_before_the_return() {
        // jr ra; addiu sp, sp, 32
        let i = lift(&[0x03e0_0008, 0x27bd_0020], 0x1000, false);
        assert_eq!(i.next, 0x1008);
        assert!(matches!(i.flow, Flow::Ret { .. }), "{:?}", i.flow);
        assert_eq!(
            i.fx,
            vec![Fx::AddImm {
                dst: "sp".into(),
                src: "sp".into(),
                imm: 32
            }]
        );
    }

    #[test]
    fn calls_through_t9_and_gp_protocol() {
        // jalr t9; nop
        let i = lift(&[0x0320_f809, 0], 0x1000, false);
        assert_eq!(i.flow, Flow::IndirectCall);
        assert_eq!(i.call_via.as_deref(), Some("t9"));
        assert!(i.writes.contains(&"ra".to_string()), "{:?}", i.writes);
        // lui gp, 2; addiu gp, gp, -32; addu gp, gp, t9
        assert!(lift(&[0x3c1c_0002], 0, false).protocol_write);
        assert!(lift(&[0x279c_ffe0], 0, false).protocol_write);
        assert!(lift(&[0x0399_e021], 0, false).protocol_write);
        // lw gp, 16(sp): the restore.
        assert!(lift(&[0x8fbc_0010], 0, false).protocol_write);
        // move gp, zero: a misuse.
        let bad = lift(&[0x0000_e025], 0, false);
        assert!(!bad.protocol_write);
        assert_eq!(bad.writes, vec!["gp".to_string()]);
    }

    /// Arbitrary words in every mode and byte order, at plain and likely-taken addresses:
    /// each lift either fails or moves forward.
    #[test]
    fn arbitrary_words_lift_without_panicking() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for (wide, big) in [(false, false), (false, true), (true, false), (true, true)] {
            let m = Mips::new(wide, big, false).expect("capstone");
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let code = x.to_le_bytes();
                for address in [0x1000, 0x1000 | LIKELY_TAKEN] {
                    if let Some(i) = m.lift(&code, address) {
                        assert!(i.next > i.address & !LIKELY_TAKEN, "{i:?}");
                    }
                }
            }
        }
    }

    /// gcc's o32 switch (mipsel-gcc-O2.so at 0xd18): the bound and the table read.
    #[test]
    fn jump_table_bound_and_read() {
        // sltiu v1, v0, 8; beqz v1, default; sll v1, v0, 2 (slot)
        let b = lift(&[0x2c43_0008, 0x1060_003d, 0x0002_1880], 0xd18, false);
        assert_eq!(b.flow, Flow::Cond(0xe14, Bound::Below));
        assert_eq!(b.next, 0xd24);
        assert_eq!(b.fx, vec![Fx::CmpImm { imm: 8 }]);
        assert_eq!(b.reads, vec!["v0".to_string()]);
        // addu v0, v0, v1; lw v0, 0(v0)
        let r = lift(&[0x0043_1021, 0x8c42_0000], 0xd2c, false);
        assert_eq!(r.next, 0xd34);
        assert!(matches!(
            r.fx.as_slice(),
            [
                Fx::AddRegs { .. },
                Fx::LoadIndexed {
                    size: 4,
                    signed: true,
                    ..
                }
            ]
        ));
        // addu gp, gp, t9; lw t9, 0(gp): the gp setup and a GOT load, not a table.
        let g = lift(&[0x0399_e021, 0x8f99_0000], 0x1000, false);
        assert_eq!(g.next, 0x1004);
    }

    #[test]
    fn a_call_slot_defines_what_survives_the_call() {
        // jalr t9; move fp, sp (gcc n64): fp is set before the call and callee-saved.
        let i = lift(&[0x0320_f809, 0x03a0_f025], 0x1000, true);
        assert_eq!(i.flow, Flow::IndirectCall);
        assert_eq!(
            i.fx,
            vec![Fx::Copy {
                dst: "fp".into(),
                src: "sp".into()
            }]
        );
        assert_eq!(i.writes, vec!["ra".to_string()]);
    }

    #[test]
    fn branches_and_likely_forms() {
        // beq a0, zero, +16; nop
        let i = lift(&[0x1080_0004, 0], 0x1000, false);
        assert_eq!(i.flow, Flow::Cond(0x1014, Bound::None));
        assert_eq!(i.next, 0x1008);
        // beql a0, zero, +16; move s0, zero (slot only when taken)
        let code = [0x5080_0004, 0x0000_8025];
        let i = lift(&code, 0x1000, false);
        assert_eq!(i.flow, Flow::Cond(0x1000 | LIKELY_TAKEN, Bound::None));
        assert!(i.fx.is_empty() && !i.writes.contains(&"s0".to_string()));
        let t = lift(&code, 0x1000 | LIKELY_TAKEN, false);
        assert_eq!(t.flow, Flow::Jump(0x1014));
        assert!(t.writes.contains(&"s0".to_string()), "{:?}", t.writes);
        // sdc1 f24, 8(sp) on MIPS64.
        let s = lift(&[0xf7b8_0008], 0, true);
        assert_eq!(
            s.fx,
            vec![Fx::Store {
                src: "f24".into(),
                base: "sp".into(),
                disp: 8,
                size: 8
            }]
        );
    }
}
