//! s390x (z/Architecture) lifter.
//!
//! A function saves the callee-saved registers into its caller's register save area, at
//! positive offsets from the entry stack pointer (`stmg %r6,%r15,48(%r15)`), allocates with
//! `aghi %r15,-N` (or `lay`), restores with `lmg` and returns with `br %r14`; r14 holds the
//! return address, so it is the link register. Calls are `brasl %r14,f` (and `basr` through
//! a register); `jg f` is a tail call; PLT entries are `larl %r1,slot; lg %r1,0(%r1); br %r1`.
//! Jump tables: `larl %rT,table; agf %rT,0(%rI,%rT); br %rT`, bounded by a `clij`/`clgij`.
//!
//! Checked: r6–r13 and f8–f15 (callee-saved; a write to v8–v15 counts as a write to f8–f15,
//! their left halves), r14 at `br %r14`, r15 at every exit, 8-byte stack alignment at calls,
//! argument registers read before written. Not modelled: the access registers a0/a1 (thread
//! pointer) and the vector registers v16–v31 (all caller-saved).

use capstone::arch::sysz::SysZOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use super::{
    Arith, ArithOp, Bound, CallTarget, Flow, Fx, ImageView, Lifted, Lifter, Operand as Rhs, Stub,
};

pub(crate) struct S390x {
    cs: Capstone,
}

impl S390x {
    pub(crate) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::S390x)?;
        Ok(S390x { cs })
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }
}

/// capstone spells general registers as bare numbers (`6`): `r6`; `vN` (N < 16) → `fN`, the
/// floating-point view that is callee-saved for v8–v15.
fn canon(n: &str) -> String {
    if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
        return format!("r{n}");
    }
    if let Some(k) = n.strip_prefix('v').and_then(|d| d.parse::<u32>().ok()) {
        if k < 16 {
            return format!("f{k}");
        }
    }
    n.to_string()
}

/// Registers whose values are tracked: general and floating-point registers.
fn tracked(r: &str) -> bool {
    let num = |p: &str| {
        r.strip_prefix(p)
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    };
    num("r") || num("f")
}

fn gpr_number(r: &str) -> Option<u32> {
    r.strip_prefix('r')?.parse().ok().filter(|n| *n < 16)
}

enum Operand {
    Reg(String),
    Imm(i64),
    Mem {
        base: Option<String>,
        index: Option<String>,
        disp: i64,
    },
    Other,
}

/// Branch conditions (condition-code mask mnemonics).
const CONDITIONS: &[&str] = &[
    "o", "h", "p", "nle", "l", "m", "nhe", "lh", "ne", "nz", "e", "z", "nlh", "he", "nm", "nl",
    "le", "nh", "np", "no",
];

/// The bound a not-taken branch puts on an unsigned compare: `h` (high) not taken means
/// at most, `he`/`nl` not taken means below.
fn bound_of(cond: &str) -> Bound {
    match cond {
        "h" | "p" => Bound::AtMost,
        "he" | "nl" => Bound::Below,
        _ => Bound::None,
    }
}

/// Splits a relative jump mnemonic into its condition: `j`/`jg` (unconditional: `""`),
/// `jne`, `jgh`, … (`jge` is `jg` + `e`, jump long if equal).
fn jump_condition(m: &str) -> Option<&str> {
    for prefix in ["jg", "j"] {
        if let Some(rest) = m.strip_prefix(prefix) {
            if rest.is_empty() || CONDITIONS.contains(&rest) {
                return Some(rest);
            }
        }
    }
    None
}

/// Compare-and-branch (`clijh`, `cgrjne`, …): whether it is unsigned with an immediate,
/// and its condition.
fn compare_and_branch(m: &str) -> Option<(bool, &str)> {
    for (prefix, unsigned_imm) in [
        ("clgij", true),
        ("clij", true),
        ("cgij", false),
        ("cij", false),
        ("clgrj", false),
        ("clrj", false),
        ("cgrj", false),
        ("crj", false),
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            if CONDITIONS.contains(&rest) {
                return Some((unsigned_imm, rest));
            }
        }
    }
    None
}

/// Whether a mnemonic only compares (sets the condition code or traps) and writes no
/// register: `c`/`cl` (logical) with an operand-form suffix, and the FP compares `c?b`,
/// `k?b`. Conversions (`cfdbr`, `cdgbr`, `cvb`), compare-and-swap (`cs`, `cds`) and string
/// instructions (`clst`) write registers and are not in this set.
fn is_compare(m: &str) -> bool {
    let body = match m.strip_prefix('c').or_else(|| m.strip_prefix('k')) {
        Some(b) if m.starts_with('k') => {
            return matches!(b, "eb" | "db" | "xb" | "ebr" | "dbr" | "xbr")
        }
        Some(b) => b,
        None => return false,
    };
    let body = body.strip_prefix('l').unwrap_or(body);
    matches!(
        body,
        "" | "y"
            | "g"
            | "gf"
            | "r"
            | "gr"
            | "gfr"
            | "h"
            | "hy"
            | "gh"
            | "i"
            | "iy"
            | "hi"
            | "ghi"
            | "fi"
            | "gfi"
            | "hsi"
            | "ghsi"
            | "hhsi"
            | "fhsi"
            | "hf"
            | "ih"
            | "hhr"
            | "hlr"
            | "c"
            | "m"
            | "my"
            | "mh"
            | "rl"
            | "grl"
            | "hrl"
            | "ghrl"
            | "gfrl"
            | "eb"
            | "db"
            | "xb"
            | "ebr"
            | "dbr"
            | "xbr"
            | "rt"
            | "grt"
            | "it"
            | "git"
            | "fit"
    )
}

impl Lifter for S390x {
    fn sp(&self) -> &'static str {
        "r15"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("r14")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        // larl %rX, slot; lg %rX, 0(%rX); br %rX
        let b = |i: usize| code.get(i).copied();
        if b(0)? != 0xc0 || b(1)? & 0x0f != 0 {
            return None;
        }
        let r = b(1)? >> 4;
        let imm = i32::from_be_bytes(code.get(2..6)?.try_into().ok()?);
        let lg = [0xe3, r << 4, r << 4, 0x00, 0x00, 0x04];
        if code.get(6..12)? != lg || code.get(12..14)? != [0x07, 0xf0 | r] {
            return None;
        }
        let slot = address.wrapping_add_signed(2 * i64::from(imm));
        Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import))
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let insns = self.cs.disasm_count(code, address, 1).ok()?;
        let Some(insn) = insns.iter().next() else {
            // Newer vector and z15 instructions capstone 5 does not know, by opcode.
            let (len, flag, r1) = super::features::s390x_undecoded(code)?;
            let mut out = Lifted::plain(address, address.wrapping_add(len), flag);
            out.feature = Some(flag);
            out.writes.extend(r1.map(|r| format!("r{r}")));
            return Some(out);
        };
        let m = insn.mnemonic().unwrap_or("").to_string();
        let next = address.wrapping_add(insn.len() as u64);
        let mut out = Lifted::plain(address, next, &m);
        let detail = self.cs.insn_detail(insn).ok()?;
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| self.cs.group_name(*g))
            .collect();
        out.feature = super::features::s390x_feature(&groups);
        let ops: Vec<Operand> = detail
            .arch_detail()
            .operands()
            .into_iter()
            .map(|op| match op {
                ArchOperand::SysZOperand(o) => match o {
                    SysZOperand::Reg(r) => self.name(r).map_or(Operand::Other, Operand::Reg),
                    SysZOperand::Imm(i) => Operand::Imm(i),
                    SysZOperand::Mem(mm) => Operand::Mem {
                        base: self.name(RegId(mm.base().into())),
                        index: self.name(RegId(mm.index().into())),
                        disp: mm.disp(),
                    },
                    _ => Operand::Other,
                },
                _ => Operand::Other,
            })
            .collect();
        let m = m.as_str();
        let reg = |i: usize| match ops.get(i) {
            Some(Operand::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = |i: usize| match ops.get(i) {
            Some(Operand::Imm(v)) => Some(*v),
            _ => None,
        };
        let last_imm = ops.iter().rev().find_map(|o| match o {
            Operand::Imm(v) => Some(*v),
            _ => None,
        });
        let mem = ops.iter().find_map(|o| match o {
            Operand::Mem { base, index, disp } => Some((base.clone(), index.clone(), *disp)),
            _ => None,
        });
        // Every register the instruction names (operands and address registers).
        let named: Vec<String> = ops
            .iter()
            .flat_map(|o| match o {
                Operand::Reg(r) => vec![r.clone()],
                Operand::Mem { base, index, .. } => {
                    base.iter().chain(index.iter()).cloned().collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let push_reads = |out: &mut Lifted, regs: &[String]| {
            for r in regs {
                if r != "r15" && tracked(r) && !out.reads.contains(r) {
                    out.reads.push(r.clone());
                }
            }
        };
        let push_write = |out: &mut Lifted, r: &str| {
            if tracked(r) && !out.writes.iter().any(|w| w == r) {
                out.writes.push(r.to_string());
            }
        };

        // --- branches --------------------------------------------------------------------
        if let Some(cond) = jump_condition(m) {
            if let Some(t) = last_imm {
                out.flow = if cond.is_empty() {
                    Flow::Jump(t as u64)
                } else {
                    Flow::Cond(t as u64, bound_of(cond))
                };
            }
            return Some(out);
        }
        if let Some((unsigned_imm, cond)) = compare_and_branch(m) {
            push_reads(&mut out, &named);
            let bound_imm = if unsigned_imm { imm(1) } else { None };
            out.fx.push(Fx::CmpImm {
                imm: bound_imm.unwrap_or(-1),
            });
            if let Some(t) = last_imm {
                out.flow = Flow::Cond(t as u64, bound_of(cond));
            }
            return Some(out);
        }
        match m {
            "brasl" | "bras" => {
                let link = reg(0);
                if let Some(l) = &link {
                    push_write(&mut out, l);
                }
                if let Some(t) = last_imm {
                    out.flow = if link.as_deref() == Some("r14") {
                        Flow::Call(t as u64)
                    } else {
                        // `bras %r13,.Lover` jumps over inline data (a literal pool) and
                        // leaves its address in r13: not a call.
                        if let Some(l) = link {
                            out.fx.push(Fx::Const {
                                dst: l,
                                value: next,
                            });
                        }
                        Flow::Jump(t as u64)
                    };
                }
                return Some(out);
            }
            "basr" | "bas" => {
                if let Some(l) = reg(0) {
                    push_write(&mut out, &l);
                }
                push_reads(&mut out, named.get(1..).unwrap_or(&[]));
                out.call_target = reg(1).map(CallTarget::Reg);
                out.flow = Flow::IndirectCall;
                return Some(out);
            }
            "br" => {
                out.flow = match reg(0).as_deref() {
                    // A branch to r0 does not branch.
                    Some("r0") | None => Flow::Next,
                    Some("r14") => Flow::Ret {
                        pop: 0,
                        via: Some("r14".into()),
                    },
                    Some(r) => Flow::IndirectReg(r.to_string()),
                };
                return Some(out);
            }
            "brct" | "brctg" | "brxh" | "brxhg" | "brxle" | "brxlg" => {
                push_reads(&mut out, &named);
                if let Some(r) = reg(0) {
                    push_write(&mut out, &r);
                }
                if let Some(t) = last_imm {
                    out.flow = Flow::Cond(t as u64, Bound::None);
                }
                return Some(out);
            }
            "nop" | "nopr" | "jnop" => return Some(out),
            _ => {}
        }
        // Conditional return (`ber %r14`), other conditional register branches, `bcr M,%rX`.
        if m.starts_with('b') && m.ends_with('r') && !matches!(m, "bsr") {
            let cond = m.strip_prefix('b').and_then(|s| s.strip_suffix('r'));
            let mask = if m == "bcr" { imm(0) } else { None };
            let target = ops.iter().rev().find_map(|o| match o {
                Operand::Reg(r) => Some(r.clone()),
                _ => None,
            });
            let conditional = match (m, mask) {
                ("bcr", Some(0)) => return Some(out),
                ("bcr", Some(15)) => false,
                ("bcr", _) => true,
                _ => cond.is_some_and(|c| CONDITIONS.contains(&c)),
            };
            if !conditional && m != "bcr" {
                return Some(out);
            }
            out.flow = match (conditional, target.as_deref()) {
                (_, Some("r0") | None) => Flow::Next,
                (true, Some("r14")) => Flow::CondRet {
                    via: Some("r14".into()),
                },
                (false, Some("r14")) => Flow::Ret {
                    pop: 0,
                    via: Some("r14".into()),
                },
                (false, Some(r)) => Flow::IndirectReg(r.to_string()),
                // A conditional jump through a register: only the fall-through is followed.
                (true, Some(_)) => Flow::Next,
            };
            return Some(out);
        }
        if matches!(m, "b" | "bc") {
            // Branches through memory: not followed.
            out.flow = Flow::Stop;
            return Some(out);
        }

        // --- stores and compares write no register ---------------------------------------
        let multiple = matches!(m, "stmg" | "stm" | "stmy" | "lmg" | "lm" | "lmy");
        if multiple {
            let (Some(first), Some(last), Some((Some(base), None, disp))) = (
                reg(0).as_deref().and_then(gpr_number),
                reg(1).as_deref().and_then(gpr_number),
                mem.clone(),
            ) else {
                return Some(out);
            };
            let width: i64 = if m.ends_with('g') { 8 } else { 4 };
            let count = (last + 16 - first) % 16 + 1;
            let regs: Vec<(String, i64)> = (0..count)
                .map(|k| {
                    (
                        format!("r{}", (first + k) % 16),
                        disp + width * i64::from(k),
                    )
                })
                .collect();
            if m.starts_with("st") {
                // Saving registers is not using them as arguments.
                out.reads_are_not_uses = true;
                out.reads
                    .extend(regs.iter().map(|(r, _)| r.clone()).filter(|r| r != "r15"));
                for (r, d) in regs {
                    out.fx.push(Fx::Store {
                        src: r,
                        base: base.clone(),
                        disp: d,
                        size: width as u8,
                    });
                }
            } else {
                // The base register last: the others are loaded relative to its old value.
                let (own, others): (Vec<_>, Vec<_>) =
                    regs.into_iter().partition(|(r, _)| *r == base);
                for (r, d) in others.into_iter().chain(own) {
                    push_write(&mut out, &r);
                    out.fx.push(Fx::Load {
                        dst: r,
                        base: base.clone(),
                        disp: d,
                        size: width as u8,
                        signed: false,
                    });
                }
            }
            return Some(out);
        }
        let is_store =
            m.starts_with("st") || m.starts_with("mv") || m == "xc" || m == "nc" || m == "oc";
        let is_compare = is_compare(m) || m.starts_with("tm") || m == "ltdbr" || m == "ltebr";
        if is_store || is_compare {
            push_reads(&mut out, &named);
            if is_compare {
                let unsigned = matches!(m, "clgfi" | "clfi" | "clghsi" | "clfhsi");
                out.fx.push(Fx::CmpImm {
                    imm: if unsigned { last_imm.unwrap_or(-1) } else { -1 },
                });
            }
            if let (true, Some(src), Some((Some(base), None, disp))) =
                (is_store, reg(0), mem.clone())
            {
                let size = match m {
                    "stg" | "std" | "stdy" => Some(8),
                    "st" | "sty" | "ste" | "stey" => Some(4),
                    "sth" | "sthy" => Some(2),
                    "stc" | "stcy" => Some(1),
                    _ => None,
                };
                if let (true, Some(size)) = (tracked(&src), size) {
                    let store = Fx::Store {
                        src,
                        base,
                        disp,
                        size,
                    };
                    // The analysis tracks whole slots: narrow stores are the evaluator's.
                    if size >= 4 {
                        out.fx.push(store);
                    } else {
                        out.eval_fx.push(store);
                    }
                }
            }
            if is_store {
                out.eval_fx.extend(moves(m, code, &ops));
            }
            return Some(out);
        }

        // --- everything else writes its first register operand ----------------------------
        let Some(dst) = reg(0) else {
            push_reads(&mut out, &named);
            return Some(out);
        };
        // Two-operand arithmetic (`ar`, `aghi`, `n`) and bit insertion read their
        // destination; loads (`l…`), distinct-operand forms (`sllg r1,r3,n`, `agrk`) and
        // the extractions below do not.
        let reads_dst = !m.starts_with('l')
            && (ops.len() == 2
                || m.starts_with("risb")
                || matches!(m, "rnsbg" | "rosbg" | "rxsbg"))
            && !matches!(m, "ear" | "popcnt" | "flogr" | "ipm" | "efpc");
        let zeroing =
            matches!(m, "xgr" | "xr" | "sgr" | "sr") && reg(1).as_deref() == Some(dst.as_str());
        if zeroing {
            out.reads_are_not_uses = true;
        }
        push_reads(
            &mut out,
            if reads_dst {
                &named
            } else {
                named.get(1..).unwrap_or(&[])
            },
        );
        push_write(&mut out, &dst);
        // Even/odd pair results (multiply, divide).
        if matches!(
            m,
            "mlgr"
                | "mlg"
                | "dlgr"
                | "dlg"
                | "dsgr"
                | "dsg"
                | "dsgfr"
                | "dsgf"
                | "mlr"
                | "dlr"
                | "dr"
                | "mr"
        ) {
            if let Some(n) = gpr_number(&dst) {
                push_write(&mut out, &format!("r{}", (n + 1) % 16));
            }
        }
        match m {
            // ltgr (load and test) copies like lgr; `ltr rX,rX` only sets the condition code
            // (gcc's test of an argument in a callee-saved r6 leaves r6 as it was).
            "lgr" | "lr" | "ldr" | "ler" | "lgdr" | "ldgr" | "ltgr" => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            "ltr" if reg(1).as_deref() == Some(dst.as_str()) => {
                out.fx.push(Fx::Copy {
                    dst: dst.clone(),
                    src: dst,
                });
            }
            "lghi" | "lhi" | "lgfi" | "llilf" | "llill" | "llilh" | "llihf" | "llihl" | "llihh" => {
                if let Some(v) = last_imm {
                    let v = match m {
                        "llilh" => (v & 0xffff) << 16,
                        "llihf" => (v & 0xffff_ffff) << 32,
                        "llihl" => (v & 0xffff) << 32,
                        "llihh" => (v & 0xffff) << 48,
                        _ => v,
                    };
                    let fx = Fx::Const {
                        dst,
                        value: v as u64,
                    };
                    if matches!(m, "llihl" | "llihh") {
                        out.eval_fx.push(fx);
                    } else {
                        out.fx.push(fx);
                    }
                }
            }
            "larl" => {
                if let Some(t) = last_imm {
                    out.names_address = Some(t as u64);
                    out.fx.push(Fx::Const {
                        dst,
                        value: t as u64,
                    });
                }
            }
            "lgrl" | "lrl" | "lgfrl" | "llgfrl" => {
                out.names_address = last_imm.map(|t| t as u64);
                // `lgrl %r2, sym@GOTENT`: a pointer read PC-relative.
                if let (Some(t), "lgrl") = (last_imm, m) {
                    out.fx.push(Fx::Load {
                        dst,
                        base: String::new(),
                        disp: t,
                        size: 8,
                        signed: false,
                    });
                }
            }
            "la" | "lay" => {
                if let Some((Some(base), None, disp)) = mem.clone() {
                    out.fx.push(Fx::AddImm {
                        dst,
                        src: base,
                        imm: disp,
                    });
                } else if let Some((None, None, disp)) = mem.clone() {
                    out.fx.push(Fx::Const {
                        dst,
                        value: disp as u64,
                    });
                }
            }
            "aghi" | "agfi" | "ahi" | "afi" => {
                if let Some(v) = last_imm {
                    out.fx.push(Fx::AddImm {
                        dst: dst.clone(),
                        src: dst,
                        imm: v,
                    });
                }
            }
            // Immediate builds: `iihf`/`iilf` insert, `oill`/`nill`... or and mask a field.
            "iill" | "iilh" | "iihl" | "iihh" | "iilf" | "iihf" => {
                if let Some(v) = last_imm {
                    let (fields, shift) = match m {
                        "iill" => (1, 0),
                        "iilh" => (1, 16),
                        "iihl" => (1, 32),
                        "iihh" => (1, 48),
                        "iilf" => (2, 0),
                        _ => (2, 32),
                    };
                    for k in 0..fields {
                        out.eval_fx.push(Fx::InsertImm {
                            dst: dst.clone(),
                            imm: (v as u64 >> (16 * k)) & 0xffff,
                            shift: shift + 16 * k as u8,
                        });
                    }
                }
            }
            "oill" | "oilh" | "oihl" | "oihh" | "oilf" | "oihf" | "nill" | "nilh" | "nihl"
            | "nihh" | "nilf" | "nihf" | "xilf" | "xihf" => {
                if let Some(v) = last_imm {
                    let (width, shift) = match &m[2..] {
                        "ll" => (16, 0),
                        "lh" => (16, 16),
                        "hl" => (16, 32),
                        "hh" => (16, 48),
                        "lf" => (32, 0),
                        _ => (32, 32),
                    };
                    let field = ((1u64 << width) - 1) << shift;
                    let bits = ((v as u64) << shift) & field;
                    let (op, b) = match m.as_bytes()[0] {
                        b'o' => (ArithOp::Or, bits),
                        b'x' => (ArithOp::Xor, bits),
                        _ => (ArithOp::And, bits | !field),
                    };
                    out.fx
                        .push(arith(&dst, op, dst.clone(), Rhs::Imm(b as i64)));
                }
            }
            "ngr" | "ogr" | "xgr" | "sgr" => {
                if let Some(b) = reg(1) {
                    let op = match m {
                        "ngr" => ArithOp::And,
                        "ogr" => ArithOp::Or,
                        "xgr" => ArithOp::Xor,
                        _ => ArithOp::Sub,
                    };
                    out.fx.push(arith(&dst, op, dst.clone(), Rhs::Reg(b)));
                }
            }
            // `sllg %r1,%r2,32`: the amount is an address, here with no base register.
            "sllg" | "srlg" | "srag" => {
                if let (Some(a), Some(n)) = (reg(1), ops.get(2)) {
                    let amount = match n {
                        Operand::Imm(v)
                        | Operand::Mem {
                            base: None,
                            index: None,
                            disp: v,
                        } => Some(Rhs::Imm(*v & 63)),
                        Operand::Mem {
                            base: Some(r),
                            index: None,
                            disp: 0,
                        } => Some(Rhs::Reg(r.clone())),
                        _ => None,
                    };
                    let op = match m {
                        "sllg" => ArithOp::Shl,
                        "srlg" => ArithOp::Shr,
                        _ => ArithOp::Sar,
                    };
                    if let Some(b) = amount {
                        out.fx.push(arith(&dst, op, a, b));
                    }
                }
            }
            "algfi" => {
                if let Some(v) = last_imm {
                    out.eval_fx.push(Fx::AddImm {
                        dst: dst.clone(),
                        src: dst,
                        imm: v & 0xffff_ffff,
                    });
                }
            }
            "slgfi" => {
                if let Some(v) = last_imm {
                    out.fx.push(Fx::AddImm {
                        dst: dst.clone(),
                        src: dst,
                        imm: v.wrapping_neg(),
                    });
                }
            }
            "aghik" | "ahik" => {
                if let (Some(s), Some(v)) = (reg(1), last_imm) {
                    out.fx.push(Fx::AddImm {
                        dst,
                        src: s,
                        imm: v,
                    });
                }
            }
            "agr" => {
                if let Some(s) = reg(1) {
                    out.fx.push(Fx::AddRegs {
                        dst: dst.clone(),
                        a: dst,
                        b: s,
                        shift: 0,
                    });
                }
            }
            "agrk" => {
                if let (Some(a), Some(b)) = (reg(1), reg(2)) {
                    out.fx.push(Fx::AddRegs {
                        dst,
                        a,
                        b,
                        shift: 0,
                    });
                }
            }
            // A jump-table step: add the 32-bit signed entry at base + index.
            "agf" => {
                if let Some((Some(base), Some(_), disp)) = mem.clone() {
                    out.fx.push(Fx::LoadIndexed {
                        dst: "entry".into(),
                        base,
                        disp,
                        size: 4,
                        signed: true,
                    });
                    out.fx.push(Fx::AddRegs {
                        dst: dst.clone(),
                        a: dst,
                        b: "entry".into(),
                        shift: 0,
                    });
                }
            }
            "lb" | "lgb" | "llgc" | "llc" | "lh" | "lhy" | "lgh" | "llgh" | "llh" | "lt"
            | "ltg" | "ltgf" => {
                if let (Some((Some(base), None, disp)), true) = (mem.clone(), tracked(&dst)) {
                    let (size, signed) = match m {
                        "lb" | "lgb" => (1, true),
                        "llgc" | "llc" => (1, false),
                        "lh" | "lhy" | "lgh" => (2, true),
                        "llgh" | "llh" => (2, false),
                        "lt" => (4, false),
                        "ltgf" => (4, true),
                        _ => (8, false),
                    };
                    out.eval_fx.push(Fx::Load {
                        dst,
                        base,
                        disp,
                        size,
                        signed,
                    });
                }
            }
            "lg" | "lgf" | "llgf" | "l" | "ly" | "ld" | "ldy" | "le" | "ley" => match mem.clone() {
                Some((Some(base), None, disp)) if tracked(&dst) => {
                    let size = if matches!(m, "lg" | "ld" | "ldy") {
                        8
                    } else {
                        4
                    };
                    out.fx.push(Fx::Load {
                        dst,
                        base,
                        disp,
                        size,
                        signed: m == "lgf",
                    });
                }
                Some((Some(base), Some(_), disp)) if m != "ld" && m != "le" => {
                    out.fx.push(Fx::LoadIndexed {
                        dst,
                        base,
                        disp,
                        size: if m == "lg" { 8 } else { 4 },
                        signed: m != "llgf",
                    });
                }
                _ => {}
            },
            _ => {}
        }
        Some(out)
    }
}

/// `dst := a op b`.
fn arith(dst: &str, op: ArithOp, a: String, b: Rhs) -> Fx {
    Fx::Arith(Arith {
        dst: dst.to_string(),
        op,
        a,
        b,
        word: false,
    })
}

/// Where the bytes an `mvc`'s last partial word moves pass: not a register the code names.
const MOVED: &str = "moved";
/// A name no effect defines: a store of it writes unknown bytes.
const UNKNOWN: &str = "unknown";

/// What a store that is not a register's moves: the immediate stores (`mvghi`, `mvhi`,
/// `mvi`), a storage-to-storage copy (`mvc`, in words) and the clearing `xc d(l,b),d(b)`.
/// Overlapping copies (`mvc 1(7,%r1),0(%r1)` spreads a byte) leave their bytes unknown.
fn moves(m: &str, code: &[u8], ops: &[Operand]) -> Vec<Fx> {
    let at = |i: usize| match ops.get(i) {
        Some(Operand::Mem {
            base: Some(b),
            index: None,
            disp,
        }) => Some((b.clone(), *disp)),
        _ => None,
    };
    let mut fx = Vec::new();
    let immediate = match m {
        "mvghi" => Some(8),
        "mvhi" => Some(4),
        "mvhhi" => Some(2),
        "mvi" | "mviy" => Some(1),
        _ => None,
    };
    if let Some(size) = immediate {
        if let (Some((base, disp)), Some(Operand::Imm(v))) = (at(0), ops.get(1)) {
            let value = (*v as u64) & (u64::MAX >> (64 - 8 * size));
            fx.push(Fx::StoreImm {
                value,
                base,
                disp,
                size: size as u8,
            });
        }
        return fx;
    }
    // SS format: the opcode, then the length less one.
    let (Some(len), Some((to, to_disp)), Some((from, from_disp))) =
        (code.get(1).map(|l| i64::from(*l) + 1), at(0), at(1))
    else {
        return fx;
    };
    let clear = m == "xc" && to == from && to_disp == from_disp;
    let overlap = to == from && (to_disp - from_disp).abs() < len;
    if !matches!(m, "mvc" | "xc") || (m == "xc" && !clear) {
        return fx;
    }
    let mut k = 0;
    while k < len {
        let size = (len - k).min(8);
        let (disp, src) = (to_disp + k, from_disp + k);
        if clear {
            fx.push(Fx::StoreImm {
                value: 0,
                base: to.clone(),
                disp,
                size: size as u8,
            });
        } else if overlap {
            fx.push(Fx::Store {
                src: UNKNOWN.into(),
                base: to.clone(),
                disp,
                size: size as u8,
            });
        } else if size == 8 {
            fx.push(Fx::CopyMem {
                from: from.clone(),
                from_disp: src,
                base: to.clone(),
                disp,
            });
        } else {
            fx.push(Fx::Load {
                dst: MOVED.into(),
                base: from.clone(),
                disp: src,
                size: size as u8,
                signed: false,
            });
            fx.push(Fx::Store {
                src: MOVED.into(),
                base: to.clone(),
                disp,
                size: size as u8,
            });
        }
        k += size;
    }
    fx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(code: &[u8], address: u64) -> Lifted {
        S390x::new()
            .expect("capstone")
            .lift(code, address)
            .expect("decodes")
    }

    #[test]
    fn branches() {
        let r14 = Some("r14".to_string());
        assert_eq!(
            lift(&[0x07, 0xfe], 0).flow,
            Flow::Ret {
                pop: 0,
                via: r14.clone()
            }
        ); // br %r14
        assert_eq!(lift(&[0x07, 0x8e], 0).flow, Flow::CondRet { via: r14 }); // ber %r14
                                                                             // bcr 0,%r7: a nop.
        assert_eq!(lift(&[0x07, 0x07], 0).flow, Flow::Next);
        // jg .+16 (unconditional) and jge .+16 (jump long if equal, not greater or equal).
        assert_eq!(
            lift(&[0xc0, 0xf4, 0, 0, 0, 8], 0x100).flow,
            Flow::Jump(0x110)
        );
        assert_eq!(
            lift(&[0xc0, 0x84, 0, 0, 0, 8], 0x100).flow,
            Flow::Cond(0x110, Bound::None)
        );
        // brasl %r14,.+16 is a call; bras %r13,.+6 jumps over data and sets r13.
        assert_eq!(
            lift(&[0xc0, 0xe5, 0, 0, 0, 8], 0x100).flow,
            Flow::Call(0x110)
        );
        let pool = lift(&[0xa7, 0xd5, 0x00, 0x03], 0x100);
        assert_eq!(pool.flow, Flow::Jump(0x106));
        assert_eq!(
            pool.fx,
            vec![Fx::Const {
                dst: "r13".into(),
                value: 0x104
            }]
        );
    }

    #[test]
    fn compares_write_nothing_conversions_do() {
        for m in [
            "c", "cg", "cgr", "clgfi", "clfi", "chi", "cli", "clc", "cdbr", "kdbr", "cgit",
        ] {
            assert!(is_compare(m), "{m}");
        }
        for m in [
            "cfdbr", "cgdbr", "cdgbr", "cvb", "cs", "csg", "cds", "clst", "cpsdr", "cksm",
        ] {
            assert!(!is_compare(m), "{m}");
        }
    }

    #[test]
    fn block_moves_are_the_evaluators_only() {
        // mvc 16(12,%r1),0(%r2): a word, then 4 bytes through the evaluator's own register.
        let mvc = lift(&[0xd2, 0x0b, 0x10, 0x10, 0x20, 0x00], 0);
        assert!(mvc.fx.is_empty());
        assert_eq!(mvc.eval_fx.len(), 3);
        assert_eq!(
            mvc.eval_fx[0],
            Fx::CopyMem {
                from: "r2".into(),
                from_disp: 0,
                base: "r1".into(),
                disp: 16
            }
        );
        // mvc 1(7,%r1),0(%r1) spreads a byte: unknown, not a word copy.
        let spread = lift(&[0xd2, 0x06, 0x10, 0x01, 0x10, 0x00], 0);
        assert_eq!(
            spread.eval_fx,
            vec![Fx::Store {
                src: UNKNOWN.into(),
                base: "r1".into(),
                disp: 1,
                size: 7
            }]
        );
        // xc with different operands is not a clear.
        assert!(lift(&[0xd7, 0x03, 0x10, 0x18, 0x10, 0x20], 0)
            .eval_fx
            .is_empty());
    }

    #[test]
    fn register_save_area() {
        // stmg %r6,%r15,48(%r15): ten stores into the caller's save area, not argument uses.
        let save = lift(&[0xeb, 0x6f, 0xf0, 0x30, 0x00, 0x24], 0);
        assert!(save.reads_are_not_uses);
        assert_eq!(save.fx.len(), 10);
        assert_eq!(
            save.fx[0],
            Fx::Store {
                src: "r6".into(),
                base: "r15".into(),
                disp: 48,
                size: 8
            }
        );
        // lmg %r11,%r15,88(%r11): r11 is the base, so it is loaded last.
        let restore = lift(&[0xeb, 0xbf, 0xb0, 0x58, 0x00, 0x04], 0);
        assert_eq!(
            restore.fx.last(),
            Some(&Fx::Load {
                dst: "r11".into(),
                base: "r11".into(),
                disp: 88,
                size: 8,
                signed: false
            })
        );
    }
}
