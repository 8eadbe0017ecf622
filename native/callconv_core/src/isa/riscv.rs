//! RISC-V lifter (RV64GC and RV32GC, compressed instructions included).
//!
//! `call`/`tail` are `auipc` + `jalr` pairs when the linker did not relax them into `jal`:
//! the `auipc` is lifted together with the `jalr` that uses its result, as one direct call or
//! jump, so calls to no-return functions and local tail calls are followed like `jal` ones.
//! Calls of `-msave-restore` millicode (`jal t0, __riscv_save_N`) end the path unchecked.

use capstone::arch::riscv::RiscVOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use super::{Arith, ArithOp, Bound, Flow, Fx, ImageView, Lifted, Lifter, Operand, Stub};

pub(crate) struct Riscv {
    cs: Capstone,
    wide: bool,
}

impl Riscv {
    pub(crate) fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Riscv { wide })?;
        Ok(Riscv { cs, wide })
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }
}

const X_ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];
const F_ABI: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// ABI names: `x8`/`fp` → `s0`, `f8` → `fs0`.
fn canon(n: &str) -> String {
    let num = |p: &str| {
        n.strip_prefix(p)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<usize>().ok())
    };
    if let Some(k) = num("x") {
        if let Some(a) = X_ABI.get(k) {
            return (*a).to_string();
        }
    }
    if let Some(k) = num("f") {
        if let Some(a) = F_ABI.get(k) {
            return (*a).to_string();
        }
    }
    match n {
        "fp" => "s0".into(),
        _ => n.to_string(),
    }
}

fn sext(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

#[derive(Debug)]
enum Op {
    Reg(String),
    Imm(i64),
    Mem { base: String, disp: i64 },
}

impl Riscv {
    fn ops(&self, detail: &capstone::InsnDetail) -> Vec<Op> {
        detail
            .arch_detail()
            .operands()
            .into_iter()
            .filter_map(|op| match op {
                ArchOperand::RiscVOperand(o) => match o {
                    RiscVOperand::Reg(r) => self.name(r).map(Op::Reg),
                    RiscVOperand::Imm(v) => Some(Op::Imm(v)),
                    RiscVOperand::Mem(m) => self.name(m.base()).map(|base| Op::Mem {
                        base,
                        disp: m.disp(),
                    }),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// `jalr rd, off(rs)` in any of capstone's spellings: (rd, rs, off).
    fn jalr_parts(ops: &[Op]) -> Option<(String, String, i64)> {
        match ops {
            [Op::Reg(d), Op::Mem { base, disp }] => Some((d.clone(), base.clone(), *disp)),
            [Op::Reg(d), Op::Reg(s), Op::Imm(v)] | [Op::Reg(d), Op::Imm(v), Op::Reg(s)] => {
                Some((d.clone(), s.clone(), *v))
            }
            [Op::Reg(d), Op::Reg(s)] => Some((d.clone(), s.clone(), 0)),
            _ => None,
        }
    }
}

/// A jump-table read: its effect, reads, writes and the bytes it spans.
type TableRead = (Fx, Vec<String>, Vec<String>, u64);

impl Riscv {
    /// `bltu t, i, L` (or `bgtu i, t`) right after `li t, N`: not taken means i <= N; `bgeu i,
    /// t, L` (or `bleu t, i`): i < N. The flow, the index register and the branch's size.
    fn bound_branch(&self, j: &capstone::Insn, t: &str) -> Option<(Flow, String, u64)> {
        let jm = j.mnemonic()?;
        let d = self.cs.insn_detail(j).ok()?;
        let ops = self.ops(&d);
        let [Op::Reg(a), Op::Reg(b), Op::Imm(off)] = ops.as_slice() else {
            return None;
        };
        let (bound, index) = match jm {
            "bltu" if a == t => (Bound::AtMost, b),
            "bgtu" if b == t => (Bound::AtMost, a),
            "bgeu" if b == t => (Bound::Below, a),
            "bleu" if a == t => (Bound::Below, b),
            _ => return None,
        };
        Some((
            Flow::Cond(j.address().wrapping_add_signed(*off), bound),
            index.clone(),
            j.len() as u64,
        ))
    }

    /// `slli x, i, s; add x, x, b; lw d, off(x)` with 1 << s the entry size: `d` is entry `i`
    /// of the table at `b + off` (gcc's jump tables; the target is then `add d, d, b`).
    fn table_read(&self, ops: &[Op], following: &[&capstone::Insn]) -> Option<TableRead> {
        let (x, index, shift) = match ops {
            [Op::Reg(x), Op::Reg(i), Op::Imm(s)] => (x, i, *s),
            [Op::Reg(x), Op::Imm(s)] => (x, x, *s),
            _ => return None,
        };
        let (add, load) = (following.first()?, following.get(1)?);
        let add_ops = self.ops(&self.cs.insn_detail(add).ok()?);
        let base = match (add.mnemonic()?, add_ops.as_slice()) {
            ("add" | "c.add", [Op::Reg(d), Op::Reg(b)]) if d == x => b,
            ("add" | "c.add", [Op::Reg(d), Op::Reg(p), Op::Reg(q)]) if d == x => {
                if p == x {
                    q
                } else if q == x {
                    p
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        let lm = load.mnemonic()?;
        let (size, signed) = match lm.strip_prefix("c.").unwrap_or(lm) {
            "lb" => (1u8, true),
            "lbu" => (1, false),
            "lh" => (2, true),
            "lhu" => (2, false),
            "lw" => (4, true),
            "lwu" => (4, false),
            "ld" => (8, true),
            _ => return None,
        };
        if !(0..8).contains(&shift) || 1i64 << shift != i64::from(size) {
            return None;
        }
        let load_ops = self.ops(&self.cs.insn_detail(load).ok()?);
        let (dst, disp) = match load_ops.as_slice() {
            [Op::Reg(d), Op::Mem { base: m, disp }] if m == x => (d, *disp),
            [Op::Reg(d), Op::Imm(disp), Op::Reg(m)] if m == x => (d, *disp),
            _ => return None,
        };
        let fx = Fx::LoadIndexed {
            dst: dst.clone(),
            base: base.clone(),
            disp,
            size,
            signed,
        };
        let mut reads = vec![index.clone()];
        if base != index {
            reads.push(base.clone());
        }
        let mut writes = vec![x.clone()];
        if dst != x {
            writes.push(dst.clone());
        }
        Some((fx, reads, writes, (add.len() + load.len()) as u64))
    }
}

/// An instruction capstone 5 does not decode (V, Zb*, Zfh): classified by its opcode
/// fields, with the scalar registers it reads and writes, so the analysis goes on past it.
fn undecoded(code: &[u8], address: u64) -> Option<Lifted> {
    let word = super::le_word(code, 0)?;
    let u = super::features::riscv_undecoded(word)?;
    let mut out = Lifted::plain(address, address.wrapping_add(4), u.mnemonic);
    out.feature = Some(u.flag);
    let x = |n: u32| X_ABI.get(n as usize).map(|r| (*r).to_string());
    if let Some(r) = u.writes_x.and_then(x).filter(|r| r != "zero") {
        out.writes.push(r);
    }
    if let Some(r) = u.writes_f.and_then(|n| F_ABI.get(n as usize)) {
        out.writes.push((*r).to_string());
    }
    for r in u.reads_x.into_iter().filter_map(x) {
        if r != "zero" && r != "sp" && !out.reads.contains(&r) {
            out.reads.push(r);
        }
    }
    Some(out)
}

impl Lifter for Riscv {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("ra")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        // PLT entry: auipc t3, hi; l[dw] t3, lo(t3); jalr t1, t3; nop.
        let word = |i: usize| super::le_word(code, i);
        let (auipc, load, jalr) = (word(0)?, word(1)?, word(2)?);
        let load_t3 = if self.wide { 0x000e_3e03 } else { 0x000e_2e03 };
        if auipc & 0xfff != 0xe17 || load & 0xfffff != load_t3 || jalr != 0x000e_0367 {
            return None;
        }
        let hi = sext(u64::from(auipc & 0xffff_f000), 32);
        let lo = sext(u64::from(load >> 20), 12);
        let slot = address.wrapping_add_signed(hi).wrapping_add_signed(lo);
        Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import))
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        // Up to three: `call`/`tail` pairs and jump-table sequences are lifted as one.
        let insns = self.cs.disasm_count(code, address, 3).ok()?;
        let Some(insn) = insns.iter().next() else {
            return undecoded(code, address);
        };
        let following: Vec<&capstone::Insn> = insns.iter().skip(1).collect();
        let mnemonic = insn.mnemonic().unwrap_or("").to_string();
        let next = address.wrapping_add(insn.len() as u64);
        let mut out = Lifted::plain(address, next, &mnemonic);
        if insn.len() == 2 {
            out.feature = Some("c");
        }
        let detail = self.cs.insn_detail(insn).ok()?;
        let ops = self.ops(&detail);
        let m = mnemonic.strip_prefix("c.").unwrap_or(&mnemonic);
        let stores = is_store(m);
        let branches = is_branch(m);
        // c.jr/c.jalr/ret/j name no destination.
        let no_destination = stores
            || branches
            || m.starts_with("sc.")
            || matches!(m, "jr" | "ret" | "j")
            || (m == "jalr" && mnemonic.starts_with("c."));
        // Operand 0 is the destination of everything but stores and branches.
        for (k, op) in ops.iter().enumerate() {
            match op {
                Op::Reg(r) if k == 0 && !no_destination => {
                    if r != "zero" {
                        out.writes.push(r.clone());
                    }
                }
                Op::Reg(r) | Op::Mem { base: r, .. } => {
                    if r != "zero" && r != "sp" && !out.reads.contains(r) {
                        out.reads.push(r.clone());
                    }
                }
                Op::Imm(_) => {}
            }
        }
        if m.starts_with("sc.") {
            // sc.d rd, rs2, (rs1): rd is the status result.
            if let Some(Op::Reg(r)) = ops.first() {
                out.writes.push(r.clone());
            }
        }
        // Compressed forms with an implied operand (c.addi sp, -16 has both spelled).
        for r in detail.regs_write() {
            if let Some(n) = self.name(*r) {
                if n != "zero" && !out.writes.contains(&n) {
                    out.writes.push(n);
                }
            }
        }
        for r in detail.regs_read() {
            if let Some(n) = self.name(*r) {
                if n != "zero" && n != "sp" && !out.reads.contains(&n) {
                    out.reads.push(n);
                }
            }
        }
        let reg = |i: usize| match ops.get(i) {
            Some(Op::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = |i: usize| match ops.get(i) {
            Some(Op::Imm(v)) => Some(*v),
            _ => None,
        };
        let last_imm = ops.iter().rev().find_map(|o| match o {
            Op::Imm(v) => Some(*v),
            _ => None,
        });
        match m {
            "ebreak" | "unimp" => out.flow = Flow::Stop,
            "j" => {
                if let Some(t) = last_imm {
                    out.flow = Flow::Jump(address.wrapping_add_signed(t));
                }
            }
            "jal" => {
                if let Some(t) = last_imm {
                    let t = address.wrapping_add_signed(t);
                    let rd = if ops.len() == 1 {
                        // c.jal (RV32) links through ra.
                        Some("ra".to_string())
                    } else {
                        reg(0)
                    };
                    out.flow = match rd.as_deref() {
                        Some("zero") => Flow::Jump(t),
                        // `jal t0, __riscv_save_N` (gcc -msave-restore): millicode that moves
                        // sp by a computed amount and saves ra and s0.. on the stack, undone by
                        // a tail call to __riscv_restore_N. Not modelled: the path is dropped
                        // rather than guessed.
                        Some("t0") => Flow::Stop,
                        _ => Flow::Call(t),
                    };
                }
            }
            "jr" | "jalr" => {
                let (rd, rs, off) = match (m, ops.as_slice()) {
                    ("jr", [Op::Reg(s)]) => ("zero".to_string(), s.clone(), 0),
                    ("jalr", [Op::Reg(s)]) if mnemonic.starts_with("c.") => {
                        ("ra".to_string(), s.clone(), 0)
                    }
                    _ => Self::jalr_parts(&ops)?,
                };
                out.flow = if rd == "zero" {
                    if rs == "ra" && off == 0 {
                        Flow::Ret {
                            pop: 0,
                            via: Some("ra".into()),
                        }
                    } else {
                        Flow::IndirectReg(rs)
                    }
                } else {
                    Flow::IndirectCall
                };
            }
            "ret" => {
                out.flow = Flow::Ret {
                    pop: 0,
                    via: Some("ra".into()),
                }
            }
            _ if branches => {
                if let Some(t) = last_imm {
                    out.flow = Flow::Cond(address.wrapping_add_signed(t), Bound::None);
                }
            }
            "auipc" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    // capstone gives the raw 20 bits: sign-extend them from bit 31, as `lui`
                    // below (rodata placed before the code is reached with a negative one).
                    let value = address.wrapping_add_signed(i64::from((v << 12) as i32));
                    out.names_address = Some(value);
                    out.fx.push(Fx::Const {
                        dst: d.clone(),
                        value,
                    });
                    // `call`/`tail`: the jalr right after that jumps through this register.
                    if let Some(j) = following.first() {
                        let jm = j.mnemonic().unwrap_or("");
                        if jm == "jalr" || jm == "jr" {
                            let jd = self.cs.insn_detail(j).ok()?;
                            let jops = self.ops(&jd);
                            let parts = match (jm, jops.as_slice()) {
                                ("jr", [Op::Reg(s)]) => Some(("zero".to_string(), s.clone(), 0)),
                                _ => Self::jalr_parts(&jops),
                            };
                            if let Some((rd, rs, off)) = parts {
                                if rs == d {
                                    let t = value.wrapping_add_signed(off);
                                    out.next = next.wrapping_add(j.len() as u64);
                                    out.mnemonic = format!("auipc+{jm}");
                                    out.flow = if rd == "zero" {
                                        Flow::Jump(t)
                                    } else {
                                        if rd != d {
                                            out.writes.push(rd);
                                        }
                                        Flow::Call(t)
                                    };
                                }
                            }
                        }
                    }
                }
            }
            "lui" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    // The 20 bits become bits 31..12, sign-extended from bit 31 (RV64): a
                    // frame size `lui t0, 0xfffff` is -4096.
                    out.fx.push(Fx::Const {
                        dst: d,
                        value: i64::from((v << 12) as i32) as u64,
                    });
                }
            }
            "li" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    out.fx.push(Fx::Const {
                        dst: d.clone(),
                        value: v as u64,
                    });
                    // `li t, N; bltu t, i, default`: the bound of a jump table.
                    if let Some((flow, index, len)) =
                        following.first().and_then(|j| self.bound_branch(j, &d))
                    {
                        out.fx.push(Fx::CmpImm { imm: v });
                        out.flow = flow;
                        out.next = next.wrapping_add(len);
                        if index != "zero" && !out.reads.contains(&index) {
                            out.reads.push(index);
                        }
                    }
                }
            }
            "slli" => {
                if let Some(table) = self.table_read(&ops, &following) {
                    let (fx, reads, writes, len) = table;
                    out.fx.push(fx);
                    out.reads = reads;
                    out.writes = writes;
                    out.next = next.wrapping_add(len);
                }
            }
            // `li t0, 4096; sub sp, sp, t0`: a frame over 2 KiB.
            "sub" => {
                if let [Op::Reg(d), Op::Reg(a), Op::Reg(b)] = ops.as_slice() {
                    out.fx.push(Fx::SubRegs {
                        dst: d.clone(),
                        a: a.clone(),
                        b: b.clone(),
                    });
                }
            }
            "add" => match ops.as_slice() {
                [Op::Reg(d), Op::Reg(a), Op::Reg(b)] => out.fx.push(Fx::AddRegs {
                    dst: d.clone(),
                    a: a.clone(),
                    b: b.clone(),
                    shift: 0,
                }),
                [Op::Reg(d), Op::Reg(b)] => out.fx.push(Fx::AddRegs {
                    dst: d.clone(),
                    a: d.clone(),
                    b: b.clone(),
                    shift: 0,
                }),
                _ => {}
            },
            "mv" => {
                if let (Some(d), Some(s)) = (reg(0), reg(1)) {
                    out.fx.push(Fx::Copy { dst: d, src: s });
                }
            }
            "addi" | "addi16sp" | "addi4spn" | "nop" => match (reg(0), reg(1), last_imm) {
                (Some(d), Some(s), Some(v)) if s == "zero" => out.fx.push(Fx::Const {
                    dst: d,
                    value: v as u64,
                }),
                (Some(d), Some(s), Some(0)) => {
                    out.fx.push(Fx::Copy { dst: d, src: s });
                }
                (Some(d), Some(s), Some(v)) => out.fx.push(Fx::AddImm {
                    dst: d,
                    src: s,
                    imm: v,
                }),
                // Compressed: `c.addi sp, -16` names the register once.
                (Some(d), None, Some(v)) => out.fx.push(Fx::AddImm {
                    dst: d.clone(),
                    src: d,
                    imm: v,
                }),
                _ => {}
            },
            _ => {
                // `ld a0, 0(a2)`; compressed forms come as (reg, disp, base).
                let mem = match ops.as_slice() {
                    [_, Op::Mem { base, disp }, ..] => Some((base, disp)),
                    [_, Op::Imm(disp), Op::Reg(base)] => Some((base, disp)),
                    _ => None,
                };
                if let Some((base, disp)) = mem {
                    let is_load = (m.starts_with('l') || m.starts_with("fl"))
                        && !m.starts_with("lr.")
                        && !m.starts_with("lui");
                    match (stores, is_load, reg(0)) {
                        (true, _, Some(src)) if !m.starts_with("sc.") => out.fx.push(Fx::Store {
                            src,
                            base: base.clone(),
                            disp: *disp,
                            size: access_width(m).0,
                        }),
                        (false, true, Some(dst)) => out.fx.push(Fx::Load {
                            dst,
                            base: base.clone(),
                            disp: *disp,
                            size: access_width(m).0,
                            signed: access_width(m).1,
                        }),
                        _ => {}
                    }
                }
            }
        }
        if out.fx.is_empty() {
            out.fx.extend(arith(m, &ops).map(Fx::Arith));
        }
        Some(out)
    }
}

fn is_store(m: &str) -> bool {
    matches!(
        m,
        "sb" | "sh" | "sw" | "sd" | "swsp" | "sdsp" | "fsh" | "fsw" | "fsd" | "fswsp" | "fsdsp"
    )
}

fn is_branch(m: &str) -> bool {
    matches!(
        m,
        "beq"
            | "bne"
            | "blt"
            | "bge"
            | "bltu"
            | "bgeu"
            | "beqz"
            | "bnez"
            | "blez"
            | "bgez"
            | "bltz"
            | "bgtz"
            | "bgt"
            | "ble"
            | "bgtu"
            | "bleu"
    )
}

/// Shifts and logic (`slli a0, a0, 32`, `c.or a0, a1`, `sext.w`), for the evaluators that
/// follow values.
fn arith(m: &str, ops: &[Op]) -> Option<Arith> {
    let (op, word) = match m {
        "slli" | "sll" => (ArithOp::Shl, false),
        "srli" | "srl" => (ArithOp::Shr, false),
        "srai" | "sra" => (ArithOp::Sar, false),
        "andi" | "and" => (ArithOp::And, false),
        "ori" | "or" => (ArithOp::Or, false),
        "xori" | "xor" => (ArithOp::Xor, false),
        "addw" | "addiw" | "sext.w" => (ArithOp::Add, true),
        "subw" => (ArithOp::Sub, true),
        "slliw" | "sllw" => (ArithOp::Shl, true),
        "srliw" | "srlw" => (ArithOp::Shr, true),
        "sraiw" | "sraw" => (ArithOp::Sar, true),
        _ => return None,
    };
    let (dst, a, b) = match ops {
        [Op::Reg(d), Op::Reg(a), Op::Reg(b)] => (d, a, Operand::Reg(b.clone())),
        [Op::Reg(d), Op::Reg(a), Op::Imm(i)] => (d, a, Operand::Imm(*i)),
        [Op::Reg(d), Op::Reg(a)] if m == "sext.w" => (d, a, Operand::Imm(0)),
        // Compressed forms name the destination once: `c.slli a0, 32`, `c.and a0, a1`.
        [Op::Reg(d), Op::Reg(b)] => (d, d, Operand::Reg(b.clone())),
        [Op::Reg(d), Op::Imm(i)] => (d, d, Operand::Imm(*i)),
        _ => return None,
    };
    Some(Arith {
        dst: dst.clone(),
        op,
        a: a.clone(),
        b,
        word,
    })
}

/// The bytes a load or store moves (`sd`, `c.lwsp`, `fld`...) and whether a load
/// sign-extends them (every integer load but `lbu`, `lhu`, `lwu`).
fn access_width(m: &str) -> (u8, bool) {
    let op = m.strip_prefix("c.").unwrap_or(m);
    let op = op.strip_suffix("sp").unwrap_or(op);
    let op = op.strip_prefix('f').unwrap_or(op);
    let size = match op.get(1..2) {
        Some("b") => 1,
        Some("h") => 2,
        Some("w") => 4,
        _ => 8,
    };
    (
        size,
        !op.ends_with('u') && !m.starts_with('f') && !m.starts_with("c.f"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_of_compressed_and_full_forms() {
        let r = Riscv::new(true).unwrap();
        // c.sdsp ra,24(sp); c.ldsp ra,24(sp); ld a0,0(a2); sd s0,16(sp); c.ld a0,0(a2); fld fs1,8(sp) c.fldsp
        for code in [
            &[0x06u8, 0xec][..],
            &[0xe2, 0x60],
            &[0x03, 0x35, 0x06, 0x00],
            &[0x23, 0x38, 0x81, 0x00],
            &[0x08, 0x62],
            &[0xa2, 0x24],
            &[0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x80, 0x01],
            &[0x41, 0x11],
            &[0x00, 0x10],
        ] {
            let insns = r.cs.disasm_count(code, 0x1000, 1).unwrap();
            let i = insns.iter().next().unwrap();
            let d = r.cs.insn_detail(i).unwrap();
            assert!(!r.ops(&d).is_empty(), "{:?}", i.mnemonic());
        }
    }
}

#[cfg(test)]
mod flow_tests {
    use super::*;

    /// Branch targets are relative to the instruction (objdump of riscv64-gcc-O2.so).
    #[test]
    fn branch_and_jump_targets() {
        let r = Riscv::new(true).unwrap();
        let cbeqz = r.lift(&[0x91, 0xc3], 0xb28).unwrap();
        assert_eq!(cbeqz.flow, Flow::Cond(0xb2c, Bound::None));
        let cj = r.lift(&[0xc5, 0xbf], 0xbc4).unwrap();
        assert_eq!(cj.flow, Flow::Jump(0xbb4));
        let jal = r.lift(&[0xef, 0xf0, 0xff, 0xce], 0xd42).unwrap();
        assert_eq!(jal.flow, Flow::Call(0xa30));
        let ret = r.lift(&[0x82, 0x80], 0xb00).unwrap();
        // lui t0, 0xfffff (Debian 13's riscv64 cl_nif.so, a frame over 4 KiB): -4096.
        let lui = r.lift(&[0xb7, 0xf2, 0xff, 0xff], 0x17698).unwrap();
        assert!(
            lui.fx
                .iter()
                .any(|f| matches!(f, Fx::Const { value, .. } if *value == (-4096i64) as u64)),
            "{:?}",
            lui.fx
        );
        assert!(matches!(ret.flow, Flow::Ret { .. }), "{:?}", ret.flow);
        assert!(ret.writes.is_empty(), "{:?}", ret.writes);
    }

    /// `auipc` with bit 31 of its offset set points below the code, not 4 GiB above it.
    #[test]
    fn auipc_reaches_below_the_code() {
        let r = Riscv::new(true).unwrap();
        // auipc a0, 0xfffff at 0x12000: a0 = 0x11000.
        let auipc = r.lift(&0xffff_f517u32.to_le_bytes(), 0x12000).unwrap();
        assert_eq!(auipc.names_address, Some(0x11000), "{:?}", auipc.fx);
        // auipc a0, 0x1 at 0x12000: a0 = 0x13000.
        let auipc = r.lift(&0x0000_1517u32.to_le_bytes(), 0x12000).unwrap();
        assert_eq!(auipc.names_address, Some(0x13000), "{:?}", auipc.fx);
    }
}
