//! SPARC lifter: V8 (32-bit) and V9 (sparc64), always big-endian.
//!
//! **Delay slots.** Every control transfer (branch, `call`, `jmpl`, `ret`, V9 `return`) runs
//! the instruction after it before control moves, so the pair is lifted as one instruction
//! (a slot is never a block of its own), as on MIPS. An annulled conditional branch (`be,a`)
//! runs its slot only when taken: its not-taken path skips the slot, and its taken path goes
//! through a pseudo-instruction at the branch's address with [`ANNUL_TAKEN`] set, which is
//! the slot and then the jump. `ba,a` never runs its slot.
//!
//! **Register windows.** `save` makes the caller's `%o` registers the callee's `%i`
//! registers and hides the caller's `%i` and `%l` registers; `restore` undoes it. The lifter
//! spells that out as copies: `save` copies `%i*`/`%l*` into hidden registers
//! (`w.i0`…`w.l7`, which no instruction names), `%o*` into `%i*` (`%sp` into `%fp`, `%o7`
//! into `%i7`), leaves the new `%l*`/`%o*` unknown and computes the new `%sp` from the old
//! window's registers; `restore` copies back. So the engine's own checks say what the ABI
//! asks: at a return the caller's `%i*`, `%l*` and `%sp` hold their entry values exactly when
//! every `save` on the path was undone by a `restore`, and a leaf (no `save`) that writes
//! `%l0` or `%i0` is caught as clobbering a callee-saved register. One level of window is
//! modelled: compiled code never nests two `save`s in one function.
//!
//! **Returns.** `ret` (`jmpl %i7+8, %g0`), `retl` (`jmpl %o7+8, %g0`) and V9 `return
//! %i7+8` jump to the register read *before* the slot. The lifted return copies that value
//! into `%o7` after the slot's effects and returns through `%o7`, whose entry value is the
//! return address: a `ret` whose slot restores the window, a `retl` of a leaf and a `return`
//! all check out, and a `ret` without `restore` (or a `retl` after `save`) is a return to
//! the wrong place, reported as the link register clobbered, with the stack and the window
//! registers unbalanced.
//!
//! **Calls.** `call` writes `%o7` (its own address). A call whose slot restores the window or
//! writes `%o7` back (`call f; restore`, `mov %o7, %g1; call f; mov %g1, %o7`) is gcc's tail
//! call: it is lifted as a jump. A call to `__sparc_get_pc_thunk.REG` (`retl; add %o7, REG,
//! REG`) or `rd %pc, REG` is the PIC idiom: the register gets the call's address added, so
//! `sethi %hi(_GLOBAL_OFFSET_TABLE_-4), %l7; call thunk; add %l7, %lo(…), %l7` leaves the
//! GOT's address in `%l7`, and `ldx [%l7 + %g1]` reads a GOT slot the engine can name.
//!
//! **Constants.** `sethi` sets a constant; `or`/`xor`/`add` of a 10-bit immediate into the
//! same register completes it (the low 10 bits `sethi` leaves clear), and `sethi; xor r,
//! -N, r` (gcc's negative 64-bit constants, large frames) and a constant shifted in place
//! (`-mflat` frame sizes) are lifted as one constant.
//!
//! gcc's PIC jump table (`ld(sw) [T + i], r; jmp T + r`) is lifted as a table read, so the
//! engine follows each case. Instructions capstone's V9 mode does not decode are decoded
//! here: `rd %pc`, `ldd`/`std` of register pairs (32-bit `-mflat` saves) and T4's
//! compare-and-branch (no delay slot).
//!
//! `%g0` reads as zero and writes to it are dropped. V9's stack bias (2047) needs nothing
//! here: the engine tracks the stack pointer relative to its entry value, so `[%fp+2039]`
//! and `[%sp+2047+X]` are consistent slots and alignment is checked on the difference.
//!
//! Why this file is long (about 1580 lines): one instruction set's lifting: register windows,
//! delay slots and the hand-decoded words capstone misses all work on the same window renaming;
//! about 270 of its lines are tests.

use capstone::arch::sparc::{SparcCC, SparcOperand};
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};
use object::ReadRef;

use super::{Bound, Flow, Fx, ImageView, Lifted, Lifter, Stub};
use crate::memory::Image;

/// Set in an engine address: the taken path of the annulled conditional branch at the
/// address (its delay slot, then the jump). No SPARC user-space code lives that high.
const ANNUL_TAKEN: u64 = 1 << 62;

/// The registers a window holds for its caller (`%i6` is `fp`), then their hidden copies.
const WINDOW: [&str; 16] = [
    "i0", "i1", "i2", "i3", "i4", "i5", "fp", "i7", "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7",
];
const HIDDEN: [&str; 16] = [
    "w.i0", "w.i1", "w.i2", "w.i3", "w.i4", "w.i5", "w.fp", "w.i7", "w.l0", "w.l1", "w.l2", "w.l3",
    "w.l4", "w.l5", "w.l6", "w.l7",
];
/// The outs, which `save` makes the ins (`%o6` is `sp`, `%i6` is `fp`).
const OUTS: [&str; 8] = ["o0", "o1", "o2", "o3", "o4", "o5", "sp", "o7"];
const INS: [&str; 8] = ["i0", "i1", "i2", "i3", "i4", "i5", "fp", "i7"];
/// Scratch registers of the lifted form: a return's target, a `restore`'s result, an
/// address with an index register.
const RA: &str = "w.ra";
const TMP: &str = "w.tmp";
const EA: &str = "w.ea";

/// `ta 0x10` (32-bit) and `ta 0x6d` (64-bit): Linux system calls, which return.
const SYSCALL_TRAPS: [i64; 2] = [0x10, 0x6d];
/// `ta 3`: flush the register windows to the stack (32-bit Linux), which returns.
const FLUSH_TRAP: i64 = 3;

/// Conditional branches on the integer and FP condition codes and on a register (V9).
const CONDITIONAL: &[&str] = &[
    "bne", "be", "bg", "ble", "bge", "bl", "bgu", "bleu", "bcc", "bcs", "bpos", "bneg", "bvc",
    "bvs", "bnz", "bz", "bgeu", "blu", "fbu", "fbg", "fbug", "fbl", "fbul", "fblg", "fbne", "fbe",
    "fbue", "fbge", "fbuge", "fble", "fbule", "fbo", "brz", "brlez", "brlz", "brnz", "brgz",
    "brgez",
];

pub(crate) struct Sparc<'a, R> {
    image: &'a Image<R>,
    cs: Capstone,
    wide: bool,
}

/// One operand, registers by canonical name (`g0` kept: it reads as zero).
#[derive(Debug, Clone)]
enum Op {
    Reg(String),
    Imm(i64),
    Mem {
        base: Option<String>,
        index: Option<String>,
        disp: i64,
    },
    Other,
}

/// How one delay-slot instruction moves control.
#[derive(Debug)]
enum Dcti {
    /// Not a control transfer.
    None,
    /// A direct branch: `flow` (`Jump`, `Cond` or `Next` for branch-never); `annul` is the
    /// `,a` bit.
    Branch { flow: Flow, annul: bool },
    /// `call` to an address, or through a register (`jmpl REG, %o7`).
    Call { target: Option<u64>, via: Op },
    /// `ret`, `retl`, `jmp %i7+12`, V9 `return`: to the address in `via` (read before the
    /// slot); `window`: V9 `return`, which also restores the window.
    Return { via: String, window: bool },
    /// `jmp REG` (a jump table or a tail call through a register).
    Jump { via: String },
    /// A transfer the lifter does not follow (`jmpl` linking another register).
    Stop,
}

impl<'data, 'a, R: ReadRef<'data>> Sparc<'a, R> {
    pub(crate) fn new(image: &'a Image<R>, wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Sparc)?;
        Ok(Sparc { image, cs, wide })
    }

    fn name(&self, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        self.cs.reg_name(r).map(|n| canon(&n))
    }

    fn ops(&self, detail: &capstone::InsnDetail) -> Vec<Op> {
        detail
            .arch_detail()
            .operands()
            .into_iter()
            .map(|op| match op {
                ArchOperand::SparcOperand(o) => match o {
                    SparcOperand::Reg(r) => self.name(r).map_or(Op::Other, Op::Reg),
                    SparcOperand::Imm(v) => Op::Imm(v),
                    SparcOperand::Mem(m) => Op::Mem {
                        base: self.name(m.base()).filter(|b| b != "g0"),
                        index: self.name(m.index()).filter(|b| b != "g0"),
                        disp: i64::from(m.disp()),
                    },
                    SparcOperand::Invalid => Op::Other,
                },
                _ => Op::Other,
            })
            .collect()
    }

    /// Whether the function at `target` is `__sparc_get_pc_thunk.REG` (`retl; add %o7, REG,
    /// REG`, or the add first at -O0): the register it adds the call's address to.
    fn pc_thunk_at(&self, target: u64) -> Option<String> {
        let code = self.image.read_code(target, 8).ok()?;
        let (a, b) = (
            crate::disasm::word32(&code, 0, true)?,
            crate::disasm::word32(&code, 1, true)?,
        );
        let add = match (a, b) {
            (RETL, add) => add,
            (add, RETL) => add,
            _ => return None,
        };
        let (rd, rs1, rs2) = ((add >> 25) & 31, (add >> 14) & 31, add & 31);
        // op 2, op3 0 (add), register form.
        let is_add = add >> 30 == 2 && (add >> 19) & 0x3f == 0 && add & (1 << 13) == 0;
        let other = match (rs1, rs2) {
            (15, r) | (r, 15) if r == rd => rd,
            _ => return None,
        };
        (is_add && other != 0 && other != 15).then(|| gpr(other).to_string())
    }

    /// Decodes one instruction: its own effects and how it moves control.
    fn lift_one(&self, code: &[u8], address: u64) -> Option<(Lifted, Dcti)> {
        let word = crate::disasm::word32(code, 0, true)?;
        // `rd %pc, REG`, which capstone does not decode: the register gets the address.
        if word >> 30 == 2 && (word >> 19) & 0x3f == 0x28 && (word >> 14) & 31 == 5 {
            let mut out = Lifted::plain(address, address.wrapping_add(4), "rd");
            let rd = gpr((word >> 25) & 31);
            if rd != "g0" {
                out.writes.push(rd.into());
                out.fx.push(Fx::Const {
                    dst: rd.into(),
                    value: address,
                });
            }
            return Some((out, Dcti::None));
        }
        if word >> 30 == 0 && word & (1 << 28) != 0 && (word >> 22) & 7 == 3 {
            return compare_and_branch(word, address).map(|out| (out, Dcti::None));
        }
        // T3's fused multiply-add (`fmaddd %f8, %f12, %f10, %f8`, IMPDEP2 with a single or
        // double size), which capstone does not decode: floating-point registers only.
        if word >> 30 == 2 && (word >> 19) & 0x3f == 0x37 && matches!((word >> 5) & 3, 1 | 2) {
            let op = ["fmadd", "fmsub", "fnmsub", "fnmadd"][((word >> 7) & 3) as usize];
            let size = if (word >> 5) & 3 == 1 { "s" } else { "d" };
            let mut out = Lifted::plain(address, address.wrapping_add(4), &format!("{op}{size}"));
            out.feature = Some("fmaf");
            return Some((out, Dcti::None));
        }
        if word >> 30 == 3 && matches!((word >> 19) & 0x3f, 0x03 | 0x07) {
            return pair_transfer(word, address).map(|out| (out, Dcti::None));
        }
        let insns = self.cs.disasm_count(code.get(..4)?, address, 1).ok()?;
        let insn = insns.iter().next()?;
        let detail = self.cs.insn_detail(insn).ok()?;
        let full = insn.mnemonic()?.to_string();
        let cc = detail.arch_detail().sparc().map(|d| d.cc());
        let ops = self.ops(&detail);
        let mut out = Lifted::plain(address, address.wrapping_add(4), &full);
        let (m, suffix) = full.split_once(',').unwrap_or((full.as_str(), ""));
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| self.cs.group_name(*g))
            .collect();
        out.feature = super::features::sparc_feature(&groups, m);
        let annul = suffix.split(',').any(|s| s == "a");
        let target = ops.iter().rev().find_map(|o| match o {
            Op::Imm(v) => Some(*v as u64),
            _ => None,
        });

        // Control transfers.
        match m {
            "ba" | "b" | "fba" => {
                if let Some(t) = target {
                    return Some((
                        out,
                        Dcti::Branch {
                            flow: Flow::Jump(t),
                            annul,
                        },
                    ));
                }
            }
            "bn" | "fbn" => {
                return Some((
                    out,
                    Dcti::Branch {
                        flow: Flow::Next,
                        annul,
                    },
                ))
            }
            _ if CONDITIONAL.contains(&m) => {
                let t = target?;
                for o in &ops {
                    if let Op::Reg(r) = o {
                        add_read(&mut out, r);
                    }
                }
                let bound = match cc {
                    Some(SparcCC::SPARC_CC_ICC_GU) => Bound::AtMost,
                    Some(SparcCC::SPARC_CC_ICC_CC) => Bound::Below,
                    _ => Bound::None,
                };
                return Some((
                    out,
                    Dcti::Branch {
                        flow: Flow::Cond(t, bound),
                        annul,
                    },
                ));
            }
            "call" => {
                add_write(&mut out, "o7");
                out.fx.push(Fx::Const {
                    dst: "o7".into(),
                    value: address,
                });
                let via = ops.first().cloned().unwrap_or(Op::Other);
                if let Op::Mem { base, index, .. } = &via {
                    for r in base.iter().chain(index) {
                        add_read(&mut out, r);
                    }
                }
                let target = match via {
                    Op::Imm(t) => Some(t as u64),
                    _ => None,
                };
                return Some((out, Dcti::Call { target, via }));
            }
            "ret" | "retl" => {
                let d = ret_via(&mut out, if m == "ret" { "i7" } else { "o7" }, false);
                return Some((out, d));
            }
            // V9 `return` (capstone spells it `rett`, the V8 privileged instruction that
            // shares its encoding).
            "rett" | "return" => {
                return Some(match ops.first() {
                    Some(Op::Mem {
                        base: Some(b),
                        index: None,
                        disp: 8 | 12,
                    }) if b == "i7" => {
                        let d = ret_via(&mut out, "i7", true);
                        (out, d)
                    }
                    _ => (out, Dcti::Stop),
                })
            }
            "jmp" | "jmpl" => {
                let (via, link) = match (ops.first(), ops.get(1)) {
                    (Some(v @ Op::Mem { .. }), Some(Op::Reg(l))) => (v.clone(), l.clone()),
                    (Some(v @ Op::Mem { .. }), None) => (v.clone(), "g0".to_string()),
                    _ => return Some((out, Dcti::Stop)),
                };
                let Op::Mem { base, index, disp } = &via else {
                    return Some((out, Dcti::Stop));
                };
                if link == "o7" {
                    for r in base.iter().chain(index) {
                        add_read(&mut out, r);
                    }
                    add_write(&mut out, "o7");
                    out.fx.push(Fx::Const {
                        dst: "o7".into(),
                        value: address,
                    });
                    return Some((out, Dcti::Call { target: None, via }));
                }
                if link != "g0" {
                    return Some((out, Dcti::Stop));
                }
                return Some(match (base.as_deref(), index, disp) {
                    (Some(b @ ("i7" | "o7")), None, 8 | 12) => {
                        let d = ret_via(&mut out, b, false);
                        (out, d)
                    }
                    (Some(b), None, 0) => {
                        add_read(&mut out, b);
                        let via = b.to_string();
                        (out, Dcti::Jump { via })
                    }
                    (Some(b), index, disp) => {
                        // `jmp %g1 + %lo(f)`, `jmp %g1 + %g2`: the target in a scratch.
                        add_read(&mut out, b);
                        add_write(&mut out, EA);
                        match index {
                            Some(x) => {
                                add_read(&mut out, x);
                                out.fx.push(Fx::AddRegs {
                                    dst: EA.into(),
                                    a: b.to_string(),
                                    b: x.clone(),
                                    shift: 0,
                                });
                            }
                            None => out.fx.push(Fx::AddImm {
                                dst: EA.into(),
                                src: b.to_string(),
                                imm: *disp,
                            }),
                        }
                        (out, Dcti::Jump { via: EA.into() })
                    }
                    _ => (out, Dcti::Stop),
                });
            }
            _ => {}
        }

        // Traps: the system-call and window-flush traps return; any other (`ta 5` is gcc's
        // __builtin_trap) ends the path.
        if m == "ta" || m == "unimp" || m == "illtrap" {
            let num = match (m, word & (1 << 13) != 0) {
                ("ta", true) => Some(i64::from(word & 0x7f)),
                _ => None,
            };
            match num {
                Some(FLUSH_TRAP) => {}
                Some(n) if SYSCALL_TRAPS.contains(&n) => {
                    add_read(&mut out, "g1");
                    for r in ["o0", "o1"] {
                        add_read(&mut out, r);
                        add_write(&mut out, r);
                    }
                }
                _ => out.flow = Flow::Stop,
            }
            return Some((out, Dcti::None));
        }
        // Conditional traps and other control instructions that return.
        if m.starts_with('t') && m.len() <= 4 && cc.is_some_and(|c| c != SparcCC::SPARC_CC_INVALID)
        {
            return Some((out, Dcti::None));
        }

        match m {
            "save" => {
                self.save(&mut out, &ops);
                return Some((out, Dcti::None));
            }
            "restore" => {
                restore(&mut out, &ops);
                return Some((out, Dcti::None));
            }
            "flushw" | "nop" | "membar" | "stbar" | "flush" | "prefetch" | "prefetcha" => {
                return Some((out, Dcti::None));
            }
            _ => {}
        }

        let reg = |k: usize| match ops.get(k) {
            Some(Op::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = ops.iter().find_map(|o| match o {
            Op::Imm(v) => Some(*v),
            _ => None,
        });
        let mem = ops.iter().find_map(|o| match o {
            Op::Mem { base, index, disp } => Some((base.clone(), index.clone(), *disp)),
            _ => None,
        });
        if let Some((base, index, _)) = &mem {
            for r in base.iter().chain(index) {
                add_read(&mut out, r);
            }
        }

        // Stores: `st %o0, [%sp+X]` (sources first).
        if is_store(m) {
            for o in &ops {
                if let Op::Reg(r) = o {
                    add_read(&mut out, r);
                    if m == "std" {
                        if let Some(p) = pair_of(r) {
                            add_read(&mut out, p);
                        }
                    }
                }
            }
            if let (Some(src), Some((base, index, disp))) = (reg(0), mem) {
                let word_store = if self.wide { m == "stx" } else { m == "st" };
                if word_store && tracked(&src) {
                    let base = address_of(&mut out, base, index, disp);
                    if let Some((base, disp)) = base {
                        let size = if self.wide { 8 } else { 4 };
                        out.fx.push(Fx::Store {
                            src,
                            base,
                            disp,
                            size,
                        });
                    }
                }
            }
            return Some((out, Dcti::None));
        }

        // Instructions without a destination register.
        if matches!(
            m,
            "cmp" | "tst" | "btst" | "wr" | "wrpr" | "fcmps" | "fcmpd" | "fcmpq"
        ) || m.starts_with("fcmp")
        {
            for o in &ops {
                if let Op::Reg(r) = o {
                    add_read(&mut out, r);
                }
            }
            if m == "cmp" {
                if let (Some(_), Some(v)) = (reg(0), imm) {
                    out.fx.push(Fx::CmpImm { imm: v });
                }
            }
            return Some((out, Dcti::None));
        }

        // Everything else: sources first, the destination last.
        let regs: Vec<String> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Reg(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let Some((dst, srcs)) = regs.split_last() else {
            return Some((out, Dcti::None));
        };
        let dst = dst.clone();
        for r in srcs {
            add_read(&mut out, r);
        }
        // Conditional moves and compare-and-swap keep or read the old value.
        let rmw = (m.starts_with("mov") && m != "mov")
            || (m.starts_with("fmov") && !matches!(m, "fmovs" | "fmovd" | "fmovq"))
            || m.starts_with("cas");
        if rmw {
            add_read(&mut out, &dst);
        }
        if !tracked(&dst) {
            return Some((out, Dcti::None));
        }
        add_write(&mut out, &dst);
        if m == "ldd" || m == "ldda" {
            if let Some(p) = pair_of(&dst) {
                add_write(&mut out, p);
            }
        }
        let src1 = reg(0);
        match m {
            "sethi" => {
                if let Some(v) = imm {
                    let value = ((v as u64) & 0x3f_ffff) << 10;
                    out.fx.push(Fx::Const { dst, value });
                    self.fuse_negative_constant(&mut out, code);
                    self.fuse_shift(&mut out, code);
                }
            }
            "mov" => match (src1, imm) {
                (Some(s), _) if s == "g0" => out.fx.push(Fx::Const { dst, value: 0 }),
                (Some(s), _) if s != dst => out.fx.push(Fx::Copy { dst, src: s }),
                (None, Some(v)) => {
                    out.fx.push(Fx::Const {
                        dst,
                        value: v as u64,
                    });
                    self.fuse_shift(&mut out, code);
                }
                _ => {}
            },
            "add" | "sub" | "or" | "xor" => {
                let fx = match (src1, reg(1), imm, m) {
                    (Some(a), Some(b), _, "sub") if b == "g0" => Some(copy_or_zero(&dst, &a)),
                    (Some(a), Some(b), _, "add" | "or" | "xor") if b == "g0" => {
                        Some(copy_or_zero(&dst, &a))
                    }
                    (Some(a), Some(b), _, "add" | "or" | "xor") if a == "g0" => {
                        Some(copy_or_zero(&dst, &b))
                    }
                    (Some(a), Some(b), _, "add") => Some(Fx::AddRegs {
                        dst: dst.clone(),
                        a,
                        b,
                        shift: 0,
                    }),
                    (Some(a), Some(b), _, "sub") => Some(Fx::SubRegs {
                        dst: dst.clone(),
                        a,
                        b,
                    }),
                    (Some(a), None, Some(v), _) if a == "g0" && m != "sub" => Some(Fx::Const {
                        dst: dst.clone(),
                        value: v as u64,
                    }),
                    (Some(a), None, Some(v), "add") => Some(Fx::AddImm {
                        dst: dst.clone(),
                        src: a,
                        imm: v,
                    }),
                    (Some(a), None, Some(v), "sub") => Some(Fx::AddImm {
                        dst: dst.clone(),
                        src: a,
                        imm: v.wrapping_neg(),
                    }),
                    // `%lo(x)` into the register `sethi %hi(x)` set: the low 10 bits it left
                    // clear, where or and xor add.
                    (Some(a), None, Some(v), "or" | "xor")
                        if a == dst && (0..0x400).contains(&v) =>
                    {
                        Some(Fx::AddImm {
                            dst: dst.clone(),
                            src: a,
                            imm: v,
                        })
                    }
                    _ => None,
                };
                out.fx.extend(fx);
            }
            _ if is_load(m) => {
                if let Some((base, index, disp)) = mem {
                    // gcc's PIC jump table: `ld(sw) [T + i*4], r; jmp T + r`, the entry an
                    // offset from the table.
                    let word_entry = matches!(m, "ld" | "ldsw" | "lduw");
                    if let (true, Some(t), Some(_)) = (word_entry, &base, &index) {
                        if jumps_to_table_entry(code, t, &dst) {
                            out.fx.push(Fx::LoadIndexed {
                                dst,
                                base: t.clone(),
                                disp,
                                size: 4,
                                signed: m == "ldsw",
                            });
                            return Some((out, Dcti::None));
                        }
                    }
                    let word_load = if self.wide { m == "ldx" } else { m == "ld" };
                    if word_load {
                        if let Some((base, disp)) = address_of(&mut out, base, index, disp) {
                            let size = if self.wide { 8 } else { 4 };
                            out.fx.push(Fx::Load {
                                dst,
                                base,
                                disp,
                                size,
                                signed: false,
                            });
                        }
                    }
                }
            }
            "fmovs" | "fmovd" | "fmovq" => {
                if let Some(s) = src1 {
                    out.fx.push(Fx::Copy { dst, src: s });
                }
            }
            _ => {}
        }
        Some((out, Dcti::None))
    }

    /// `sethi %hi(~x), r; xor r, %lo(x) | -1024, r`: gcc's negative 64-bit constant, as one.
    fn fuse_negative_constant(&self, out: &mut Lifted, code: &[u8]) {
        let [Fx::Const { dst, value }] = out.fx.as_slice() else {
            return;
        };
        let Some(next) = crate::disasm::word32(code, 1, true) else {
            return;
        };
        let rd = gpr((next >> 25) & 31);
        let rs1 = gpr((next >> 14) & 31);
        // op 2, op3 3 (xor), immediate form, a negative simm13.
        let is_xor = next >> 30 == 2 && (next >> 19) & 0x3f == 3 && next & (1 << 13) != 0;
        let simm = ((next & 0x1fff) as i32) << 19 >> 19;
        if !is_xor || rd != dst || rs1 != dst || simm >= 0 {
            return;
        }
        let mut v = *value ^ (i64::from(simm) as u64);
        if !self.wide {
            v &= 0xffff_ffff;
        }
        let dst = dst.clone();
        out.fx = vec![Fx::Const { dst, value: v }];
        out.mnemonic = "sethi+xor".into();
        out.next = out.address.wrapping_add(8);
    }

    /// A constant then a shift of it by an immediate in the same register (`sethi
    /// %hi(0xbf3c00), %g1; srlx %g1, 10, %g1`, `mov 0x27d, %g1; sllx %g1, 4, %g1`: gcc's
    /// `-mflat` frame sizes), as one constant.
    fn fuse_shift(&self, out: &mut Lifted, code: &[u8]) {
        let [Fx::Const { dst, value }] = out.fx.as_slice() else {
            return;
        };
        let index = (out.next.wrapping_sub(out.address) / 4) as usize;
        let Some(w) = crate::disasm::word32(code, index, true) else {
            return;
        };
        let (rd, rs1, op3) = (gpr((w >> 25) & 31), gpr((w >> 14) & 31), (w >> 19) & 0x3f);
        let immediate = w & (1 << 13) != 0;
        let wide_shift = w & (1 << 12) != 0;
        if w >> 30 != 2 || !immediate || rd != dst || rs1 != dst {
            return;
        }
        let v = *value;
        let count = if wide_shift { w & 63 } else { w & 31 };
        let shifted = match (op3, wide_shift) {
            (0x25, true) => v << count,
            (0x26, true) => v >> count,
            (0x27, true) => ((v as i64) >> count) as u64,
            (0x25, false) => v << count,
            (0x26, false) => u64::from((v as u32) >> count),
            (0x27, false) => (i64::from((v as u32 as i32) >> count)) as u64,
            _ => return,
        };
        let shifted = if self.wide {
            shifted
        } else {
            shifted & 0xffff_ffff
        };
        let dst = dst.clone();
        out.fx = vec![Fx::Const {
            dst,
            value: shifted,
        }];
        out.mnemonic = format!("{}+shift", out.mnemonic);
        out.next = out.next.wrapping_add(4);
    }

    /// `save rs1, op2, rd`: the window turns (see the module comment), then rd (named in the
    /// new window) gets rs1 + op2 (read in the old one).
    fn save(&self, out: &mut Lifted, ops: &[Op]) {
        for (h, w) in HIDDEN.iter().zip(WINDOW) {
            out.fx.push(Fx::Copy {
                dst: h.to_string(),
                src: w.to_string(),
            });
        }
        for (i, o) in INS.iter().zip(OUTS) {
            out.fx.push(Fx::Copy {
                dst: i.to_string(),
                src: o.to_string(),
            });
        }
        for r in HIDDEN.iter().chain(&WINDOW).chain(&OUTS) {
            add_write(out, r);
        }
        // The old window's names, as the new one sees them.
        let moved = |r: &str| -> String {
            if let Some(k) = OUTS.iter().position(|o| *o == r) {
                INS[k].to_string()
            } else if let Some(k) = WINDOW.iter().position(|w| *w == r) {
                HIDDEN[k].to_string()
            } else {
                r.to_string()
            }
        };
        // The operands' reads (the stack pointer, a frame size in %g1), not the window copies.
        let mut reads = Vec::new();
        let (a, b, rd) = match ops {
            [a, b, Op::Reg(rd)] => (a, b, rd.clone()),
            // `save` with no operands: `save %g0, %g0, %g0`.
            _ => return,
        };
        for o in [a, b] {
            if let Op::Reg(r) = o {
                reads.push(r.clone());
            }
        }
        for r in reads {
            add_read(out, &r);
        }
        let (a, b) = (moved_op(a, &moved), moved_op(b, &moved));
        if rd != "g0" {
            add_write(out, &rd);
            out.fx.extend(sum(&rd, &a, &b));
        }
    }
}

/// `restore rs1, op2, rd`: rs1 + op2 (read in the callee's window), then the window turns
/// back, then rd (named in the caller's window) gets the sum.
fn restore(out: &mut Lifted, ops: &[Op]) {
    let rd = match ops {
        [a, b, Op::Reg(rd)] if rd != "g0" => {
            for o in [a, b] {
                if let Op::Reg(r) = o {
                    add_read(out, r);
                }
            }
            add_write(out, TMP);
            out.fx.extend(sum(TMP, a, b));
            Some(rd.clone())
        }
        _ => None,
    };
    turn_back(out);
    if let Some(rd) = rd {
        add_write(out, &rd);
        out.fx.push(Fx::Copy {
            dst: rd,
            src: TMP.into(),
        });
    }
}

/// The window turning back: the ins become the outs, the hidden registers come back.
fn turn_back(out: &mut Lifted) {
    for (o, i) in OUTS.iter().zip(INS) {
        out.fx.push(Fx::Copy {
            dst: o.to_string(),
            src: i.to_string(),
        });
    }
    for (w, h) in WINDOW.iter().zip(HIDDEN) {
        out.fx.push(Fx::Copy {
            dst: w.to_string(),
            src: h.to_string(),
        });
    }
    for r in OUTS.iter().chain(&WINDOW) {
        add_write(out, r);
    }
}

/// The effects of `dst := a + b` for the operands of `save`/`restore`.
fn sum(dst: &str, a: &Op, b: &Op) -> Vec<Fx> {
    let dst = dst.to_string();
    match (a, b) {
        (Op::Reg(a), Op::Imm(v)) | (Op::Imm(v), Op::Reg(a)) if a == "g0" => vec![Fx::Const {
            dst,
            value: *v as u64,
        }],
        (Op::Reg(a), Op::Imm(v)) | (Op::Imm(v), Op::Reg(a)) => vec![Fx::AddImm {
            dst,
            src: a.clone(),
            imm: *v,
        }],
        (Op::Reg(a), Op::Reg(b)) if a == "g0" && b == "g0" => vec![Fx::Const { dst, value: 0 }],
        (Op::Reg(a), Op::Reg(z)) | (Op::Reg(z), Op::Reg(a)) if z == "g0" => {
            vec![Fx::Copy {
                dst,
                src: a.clone(),
            }]
        }
        (Op::Reg(a), Op::Reg(b)) => vec![Fx::AddRegs {
            dst,
            a: a.clone(),
            b: b.clone(),
            shift: 0,
        }],
        _ => Vec::new(),
    }
}

fn moved_op(o: &Op, moved: &dyn Fn(&str) -> String) -> Op {
    match o {
        Op::Reg(r) => Op::Reg(moved(r)),
        other => other.clone(),
    }
}

/// A return through `via` (+8): read before the slot.
fn ret_via(out: &mut Lifted, via: &str, window: bool) -> Dcti {
    add_read(out, via);
    Dcti::Return {
        via: via.to_string(),
        window,
    }
}

fn copy_or_zero(dst: &str, src: &str) -> Fx {
    if src == "g0" {
        Fx::Const {
            dst: dst.to_string(),
            value: 0,
        }
    } else {
        Fx::Copy {
            dst: dst.to_string(),
            src: src.to_string(),
        }
    }
}

/// The base and displacement of an address, through a scratch register when it has an
/// index register (`ldx [%l7 + %g1]`: a GOT slot).
fn address_of(
    out: &mut Lifted,
    base: Option<String>,
    index: Option<String>,
    disp: i64,
) -> Option<(String, i64)> {
    match (base, index) {
        (Some(b), None) => Some((b, disp)),
        (None, Some(x)) => Some((x, disp)),
        (Some(b), Some(x)) => {
            out.fx.push(Fx::AddRegs {
                dst: EA.into(),
                a: b,
                b: x,
                shift: 0,
            });
            add_write(out, EA);
            Some((EA.into(), disp))
        }
        (None, None) => None,
    }
}

/// Whether the instruction after the one at the start of `code` is `jmp base + entry`
/// (`jmpl base + entry, %g0`): the load before it read a jump table's entry.
fn jumps_to_table_entry(code: &[u8], base: &str, entry: &str) -> bool {
    let Some(w) = crate::disasm::word32(code, 1, true) else {
        return false;
    };
    let register_form = w & (1 << 13) == 0;
    w >> 30 == 2
        && (w >> 19) & 0x3f == 0x38
        && (w >> 25) & 31 == 0
        && register_form
        && gpr((w >> 14) & 31) == base
        && gpr(w & 31) == entry
}

/// SPARC T4's compare-and-branch (`cwbe %o0, 0, L`, `cxbgu`), which capstone does not
/// decode: a conditional branch without a delay slot.
fn compare_and_branch(word: u32, address: u64) -> Option<Lifted> {
    let cond = ((word >> 29) & 1) << 3 | (word >> 25) & 7;
    // Conditions 0 (never) and 8 (always) are not compare-and-branch encodings.
    if cond == 0 || cond == 8 {
        return None;
    }
    let d10 = (((word >> 19) & 3) << 8 | (word >> 5) & 0xff) as i32;
    let offset = i64::from(d10 << 22 >> 22) * 4;
    let mut out = Lifted::plain(address, address.wrapping_add(4), "cbcond");
    out.feature = Some("cbcond");
    add_read(&mut out, gpr((word >> 14) & 31));
    if word & (1 << 13) == 0 {
        add_read(&mut out, gpr(word & 31));
    } else {
        out.fx.push(Fx::CmpImm {
            imm: i64::from(((word & 31) as i32) << 27 >> 27),
        });
    }
    let bound = match cond {
        12 => Bound::AtMost,
        13 => Bound::Below,
        _ => Bound::None,
    };
    let target = address.wrapping_add_signed(offset);
    // `cwbe %g0, %g0, L`: gcc's unconditional branch without a delay slot on T4.
    let zero_with_zero = (word >> 14) & 31 == 0 && word & 31 == 0;
    out.flow = match (zero_with_zero, cond) {
        (true, 1) => Flow::Jump(target),
        (true, 9) => Flow::Next,
        _ => Flow::Cond(target, bound),
    };
    Some(out)
}

/// `ldd`/`std` of an even/odd integer register pair, which capstone's V9 mode does not
/// decode (gcc's 32-bit `-mflat` code saves and restores `%i4`/`%i5` with them): two
/// 4-byte slots.
fn pair_transfer(word: u32, address: u64) -> Option<Lifted> {
    let store = (word >> 19) & 0x3f == 0x07;
    let rd = (word >> 25) & 31;
    if rd % 2 == 1 {
        return None;
    }
    let (even, odd) = (gpr(rd), gpr(rd + 1));
    let mut out = Lifted::plain(
        address,
        address.wrapping_add(4),
        if store { "std" } else { "ldd" },
    );
    let base = gpr((word >> 14) & 31);
    let (base, index, disp) = if word & (1 << 13) != 0 {
        (base, None, i64::from(((word & 0x1fff) as i32) << 19 >> 19))
    } else {
        (base, Some(gpr(word & 31)), 0)
    };
    for r in std::iter::once(base).chain(index) {
        add_read(&mut out, r);
    }
    let (base, index) = (
        Some(base.to_string()).filter(|b| b != "g0"),
        index.map(str::to_string).filter(|x| x != "g0"),
    );
    let mut address_of = address_of(&mut out, base, index, disp);
    // `ldd [%fp + 0x38], %fp`: the address is read before the first load changes it.
    if let Some((b, _)) = address_of
        .as_mut()
        .filter(|(b, _)| !store && (b == even || b == odd))
    {
        out.fx.push(Fx::Copy {
            dst: EA.into(),
            src: std::mem::replace(b, EA.into()),
        });
        add_write(&mut out, EA);
    }
    for (k, r) in [even, odd].into_iter().enumerate() {
        let at = address_of
            .as_ref()
            .map(|(b, d)| (b.clone(), d.wrapping_add(4 * k as i64)));
        if store {
            add_read(&mut out, r);
            match (at, tracked(r)) {
                (Some((base, disp)), true) => out.fx.push(Fx::Store {
                    src: r.into(),
                    base,
                    disp,
                    size: 4,
                }),
                (Some((base, disp)), false) => out.fx.push(Fx::StoreUnknown { base, disp }),
                (None, _) => {}
            }
        } else if tracked(r) {
            add_write(&mut out, r);
            if let Some((base, disp)) = at {
                out.fx.push(Fx::Load {
                    dst: r.into(),
                    base,
                    disp,
                    size: 4,
                    signed: false,
                });
            }
        }
    }
    Some(out)
}

/// `retl` (`jmpl %o7+8, %g0`).
const RETL: u32 = 0x81c3_e008;

/// The general register with number `n`.
fn gpr(n: u32) -> &'static str {
    const NAMES: [&str; 32] = [
        "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "o0", "o1", "o2", "o3", "o4", "o5", "sp",
        "o7", "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "i0", "i1", "i2", "i3", "i4", "i5",
        "fp", "i7",
    ];
    NAMES[(n & 31) as usize]
}

/// The odd register of an even/odd pair (`ldd`/`std`).
fn pair_of(r: &str) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "o0", "o1", "o2", "o3", "o4", "o5", "sp",
        "o7", "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "i0", "i1", "i2", "i3", "i4", "i5",
        "fp", "i7",
    ];
    let k = NAMES.iter().position(|n| *n == r)?;
    (k % 2 == 0).then(|| NAMES[k + 1])
}

/// capstone's names, with `%o6`/`%i6` as `sp`/`fp` whichever way they come (and the
/// architecture-neutral `zero` as `%g0`).
fn canon(n: &str) -> String {
    match n {
        "zero" => "g0".into(),
        "o6" => "sp".into(),
        "i6" => "fp".into(),
        _ => n.to_string(),
    }
}

/// Registers the engine tracks: the general registers but `%g0`, and the FP registers (not
/// the condition codes, `%y` or the ancillary state registers).
fn tracked(r: &str) -> bool {
    let gpr = r.len() == 2
        && matches!(r.as_bytes()[0], b'g' | b'o' | b'l' | b'i')
        && r.as_bytes()[1].is_ascii_digit()
        && r != "g0";
    gpr || r == "sp"
        || r == "fp"
        || r.strip_prefix('f')
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

fn is_store(m: &str) -> bool {
    matches!(
        m,
        "st" | "stb"
            | "sth"
            | "stw"
            | "stx"
            | "std"
            | "stq"
            | "stuw"
            | "stsw"
            | "stba"
            | "stha"
            | "sta"
            | "stxa"
            | "stda"
            | "stfsr"
            | "stxfsr"
    )
}

fn is_load(m: &str) -> bool {
    m.starts_with("ld") && !m.starts_with("ldstub")
}

fn add_read(out: &mut Lifted, r: &str) {
    if tracked(r) && !out.reads.iter().any(|x| x == r) {
        out.reads.push(r.to_string());
    }
}

fn add_write(out: &mut Lifted, r: &str) {
    if (tracked(r) || r.starts_with("w.")) && !out.writes.iter().any(|x| x == r) {
        out.writes.push(r.to_string());
    }
}

/// The register an effect defines.
fn fx_dst(fx: &Fx) -> Option<&str> {
    match fx {
        Fx::Copy { dst, .. }
        | Fx::AddImm { dst, .. }
        | Fx::AddRegs { dst, .. }
        | Fx::Const { dst, .. }
        | Fx::Load { dst, .. }
        | Fx::LoadIndexed { dst, .. }
        | Fx::Align { dst, .. }
        | Fx::SubRegs { dst, .. }
        | Fx::InsertImm { dst, .. } => Some(dst),
        _ => None,
    }
}

/// Appends `later`, which runs after `out`: its effects and writes, and its reads of
/// registers `out` did not write.
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
    // A delay slot's instruction needs its CPU feature as much as the branch does.
    out.feature = out.feature.or(later.feature);
}

impl<'data, R: ReadRef<'data>> Lifter for Sparc<'_, R> {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("o7")
    }

    fn canonical_model(&self, name: &str) -> String {
        canon(name)
    }

    /// A PLT entry: the loader's `R_SPARC_JMP_SLOT` names the entry itself (the PLT is code
    /// the loader patches).
    fn stub(&self, _code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        image.import_at(address).map(Stub::Import)
    }

    fn code_address(&self, address: u64) -> u64 {
        address & !ANNUL_TAKEN
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let real = address & !ANNUL_TAKEN;
        let (first, dcti) = self.lift_one(code, real)?;
        let after = real.wrapping_add(8);
        // The delay slot; a control transfer there is not followed.
        let slot = || match self.lift_one(code.get(4..)?, real.wrapping_add(4)) {
            Some((s, Dcti::None)) if s.flow == Flow::Next => Some(s),
            _ => None,
        };
        let stop = |mut b: Lifted| {
            b.flow = Flow::Stop;
            Some(b)
        };
        match dcti {
            Dcti::None => Some(first),
            Dcti::Stop => stop(first),
            Dcti::Branch { flow, annul } => {
                let taken_path = address & ANNUL_TAKEN != 0;
                match (flow, annul) {
                    // `ba,a`, `bn,a`: the slot never runs.
                    (flow @ (Flow::Jump(_) | Flow::Next), true) => {
                        let mut b = first;
                        b.next = after;
                        b.flow = flow;
                        Some(b)
                    }
                    (Flow::Cond(t, _), true) if taken_path => {
                        let Some(mut s) = slot() else {
                            return stop(first);
                        };
                        s.address = real;
                        s.next = after;
                        s.mnemonic = format!("{}+{}", first.mnemonic, s.mnemonic);
                        s.flow = Flow::Jump(t);
                        Some(s)
                    }
                    (Flow::Cond(_, bound), true) => {
                        let mut b = first;
                        b.next = after;
                        b.flow = Flow::Cond(real | ANNUL_TAKEN, bound);
                        Some(b)
                    }
                    (flow, _) => {
                        let Some(s) = slot() else {
                            return stop(first);
                        };
                        let mut b = first;
                        b.mnemonic = format!("{}+{}", b.mnemonic, s.mnemonic);
                        append(&mut b, s);
                        b.next = after;
                        b.flow = flow;
                        Some(b)
                    }
                }
            }
            Dcti::Call { target, via } => {
                let Some(s) = slot() else {
                    return stop(first);
                };
                let mut b = first;
                // A struct-returning callee (V8) returns past an `unimp` word after the slot.
                let unimp = !self.wide
                    && crate::disasm::word32(code, 2, true)
                        .is_some_and(|w| w >> 30 == 0 && (w >> 22) & 7 == 0);
                b.next = if unimp { after.wrapping_add(4) } else { after };
                // The PC thunk: `retl; add %o7, REG, REG`.
                if let Some(r) = target.and_then(|t| self.pc_thunk_at(t)) {
                    b.mnemonic = format!("{}+{}", b.mnemonic, s.mnemonic);
                    append(&mut b, s);
                    add_write(&mut b, &r);
                    b.fx.push(Fx::AddImm {
                        dst: r.clone(),
                        src: r,
                        imm: real as i64,
                    });
                    b.next = after;
                    return Some(b);
                }
                // The slot puts the return address back: a tail call.
                let tail = s.mnemonic == "restore" || s.writes.iter().any(|w| w == "o7");
                let slot_defines: Vec<String> =
                    s.fx.iter().filter_map(fx_dst).map(str::to_string).collect();
                b.mnemonic = format!("{}+{}", b.mnemonic, s.mnemonic);
                append(&mut b, s);
                let reg_via = |b: &mut Lifted| -> Option<String> {
                    match &via {
                        Op::Mem {
                            base: Some(r),
                            index: None,
                            disp: 0,
                        } => Some(r.clone()),
                        Op::Mem {
                            base: Some(r),
                            index,
                            disp,
                        } => {
                            // The target, computed before the slot ran: in a scratch.
                            let fx = match index {
                                Some(x) => Fx::AddRegs {
                                    dst: EA.into(),
                                    a: r.clone(),
                                    b: x.clone(),
                                    shift: 0,
                                },
                                None => Fx::AddImm {
                                    dst: EA.into(),
                                    src: r.clone(),
                                    imm: *disp,
                                },
                            };
                            b.fx.insert(0, fx);
                            add_write(b, EA);
                            Some(EA.into())
                        }
                        _ => None,
                    }
                };
                b.flow = match (target, tail) {
                    (Some(t), true) => Flow::Jump(t),
                    (Some(t), false) => Flow::Call(t),
                    (None, true) => match reg_via(&mut b) {
                        Some(r) => Flow::IndirectReg(r),
                        None => Flow::Stop,
                    },
                    (None, false) => {
                        b.call_via = reg_via(&mut b);
                        Flow::IndirectCall
                    }
                };
                if !tail {
                    // The engine makes a call's writes unknown after it returns: what the
                    // slot defines (`call f; mov %i0, %l1`) survives the call, unless the
                    // call clobbers it anyway (the caller-saved registers).
                    b.writes
                        .retain(|w| w == "o7" || !slot_defines.iter().any(|d| d == w));
                }
                Some(b)
            }
            Dcti::Return { via, window } => {
                let Some(s) = slot() else {
                    return stop(first);
                };
                let mut b = first;
                b.fx.push(Fx::Copy {
                    dst: RA.into(),
                    src: via,
                });
                add_write(&mut b, RA);
                if window {
                    turn_back(&mut b);
                }
                b.mnemonic = format!("{}+{}", b.mnemonic, s.mnemonic);
                append(&mut b, s);
                b.fx.push(Fx::Copy {
                    dst: "o7".into(),
                    src: RA.into(),
                });
                add_write(&mut b, "o7");
                b.next = after;
                b.flow = Flow::Ret {
                    pop: 0,
                    via: Some("o7".into()),
                };
                Some(b)
            }
            Dcti::Jump { via } => {
                let Some(s) = slot() else {
                    return stop(first);
                };
                let mut b = first;
                // The target register is read before the slot runs.
                let slot_writes_via = s.writes.contains(&via);
                b.mnemonic = format!("{}+{}", b.mnemonic, s.mnemonic);
                append(&mut b, s);
                b.next = after;
                b.flow = if slot_writes_via {
                    Flow::Stop
                } else {
                    Flow::IndirectReg(via)
                };
                Some(b)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::platform::Arch;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../test/fixtures/sparc/out")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Lifts the words at address 0x1000 of a made-up image with no code.
    fn lift_words(words: &[u32], address: u64) -> Lifted {
        let bytes = fixture("good64-O2.so");
        let binary = crate::inspect::parse(&*bytes, Arch::X86_64).expect("parses");
        let s = Sparc::new(&binary.image, true).expect("capstone");
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        s.lift(&code, address).expect("decodes")
    }

    /// What a straight-line evaluator (the entry decoder's kind) makes of `nif_init`: the
    /// constants, the PC thunk, the GOT-relative address and the window, to `%o0` at the
    /// return. It must be the ErlNifEntry: major version 2, then the module name.
    #[test]
    fn nif_init_returns_the_entry_through_the_lifted_form() {
        for file in [
            "good64-O0.so",
            "good64-O2.so",
            "good64-Os.so",
            "good32-O0.so",
            "good32-O2.so",
        ] {
            let bytes = fixture(file);
            let binary = crate::inspect::parse(&*bytes, Arch::X86_64).expect("parses");
            let s = Sparc::new(&binary.image, binary.arch == Arch::Sparc64).expect("capstone");
            let init = binary.export("nif_init").expect("nif_init").address;
            let mut regs: HashMap<String, u64> = HashMap::new();
            let mut pc = init;
            let mut o0 = None;
            for _ in 0..64 {
                let code = binary.image.read_code(pc, 16).expect("code");
                let i = s.lift(&code, pc).expect("decodes");
                for fx in &i.fx {
                    match fx {
                        Fx::Const { dst, value } => {
                            regs.insert(dst.clone(), *value);
                        }
                        Fx::Copy { dst, src } => match regs.get(src).copied() {
                            Some(v) => regs.insert(dst.clone(), v),
                            None => regs.remove(dst),
                        }
                        .map_or((), |_| ()),
                        Fx::AddImm { dst, src, imm } => {
                            match regs.get(src).map(|v| v.wrapping_add_signed(*imm)) {
                                Some(v) => regs.insert(dst.clone(), v),
                                None => regs.remove(dst),
                            };
                        }
                        Fx::AddRegs { dst, a, b, .. } => {
                            match (regs.get(a), regs.get(b)) {
                                (Some(x), Some(y)) => regs.insert(dst.clone(), x.wrapping_add(*y)),
                                _ => regs.remove(dst),
                            };
                        }
                        _ => {}
                    }
                }
                match i.flow {
                    Flow::Next => pc = i.next,
                    Flow::Ret { .. } => {
                        o0 = regs.get("o0").copied();
                        break;
                    }
                    ref f => panic!("{file}: {f:?} at {:#x}", i.address),
                }
            }
            let mut entry = o0.unwrap_or_else(|| panic!("{file}: no value in o0"));
            if binary.arch == Arch::Sparc {
                entry &= 0xffff_ffff;
            }
            assert_eq!(
                binary.image.read_u32(entry).ok(),
                Some(2),
                "{file}: {entry:#x}"
            );
            let name = match binary.image.read_pointer(entry + 8).expect("name") {
                crate::memory::Pointer::Address(a) => binary.image.read_c_string(a).expect("name"),
                p => panic!("{file}: {p:?}"),
            };
            assert_eq!(name, "sparc_good", "{file}");
        }
    }

    #[test]
    fn the_window_turns_and_turns_back() {
        // save %sp, -176, %sp
        let i = lift_words(&[0x9de3_bf50], 0x1000);
        assert!(i.fx.contains(&Fx::Copy {
            dst: "fp".into(),
            src: "sp".into()
        }));
        assert!(i.fx.contains(&Fx::Copy {
            dst: "w.l0".into(),
            src: "l0".into()
        }));
        assert_eq!(
            i.fx.last(),
            Some(&Fx::AddImm {
                dst: "sp".into(),
                src: "fp".into(),
                imm: -176
            })
        );
        // The new locals and outs are unknown: written, not defined.
        assert!(i.writes.iter().any(|w| w == "l0") && i.writes.iter().any(|w| w == "o0"));
        assert!(i.reads.iter().all(|r| r == "sp"), "{:?}", i.reads);
        // ret; restore %g0, 3, %o0: the result lands in the caller's %o0 after the turn.
        let r = lift_words(&[0x81c7_e008, 0x91e8_2003], 0x1000);
        assert_eq!(
            r.flow,
            Flow::Ret {
                pop: 0,
                via: Some("o7".into())
            }
        );
        assert_eq!(r.next, 0x1008);
        let fx = &r.fx;
        let at = |f: &Fx| fx.iter().position(|x| x == f).expect("effect");
        let ra = at(&Fx::Copy {
            dst: RA.into(),
            src: "i7".into(),
        });
        let back = at(&Fx::Copy {
            dst: "sp".into(),
            src: "fp".into(),
        });
        let result = at(&Fx::Copy {
            dst: "o0".into(),
            src: TMP.into(),
        });
        let link = at(&Fx::Copy {
            dst: "o7".into(),
            src: RA.into(),
        });
        assert!(ra < back && back < result && result < link, "{fx:?}");
    }

    #[test]
    fn delay_slots_calls_and_annulled_branches() {
        // call +0x40; mov %i0, %o0
        let c = lift_words(&[0x4000_0010, 0x9010_0018], 0x1000);
        assert_eq!(c.flow, Flow::Call(0x1040));
        assert_eq!(c.next, 0x1008);
        assert!(c.fx.contains(&Fx::Const {
            dst: "o7".into(),
            value: 0x1000
        }));
        // call f; restore: a tail call.
        let t = lift_words(&[0x4000_0010, 0x81e8_0000], 0x1000);
        assert_eq!(t.flow, Flow::Jump(0x1040));
        // be,a +0x28; mov 1, %l1: the slot only on the taken path.
        let code = [0x2248_000a, 0xa210_2001];
        let b = lift_words(&code, 0x1000);
        assert_eq!(b.flow, Flow::Cond(0x1000 | ANNUL_TAKEN, Bound::None));
        assert!(!b.writes.iter().any(|w| w == "l1"));
        let taken = lift_words(&code, 0x1000 | ANNUL_TAKEN);
        assert_eq!(taken.flow, Flow::Jump(0x1028));
        assert_eq!(taken.address, 0x1000);
        assert!(taken.writes.iter().any(|w| w == "l1"));
        // ba,a: the slot never runs.
        let a = lift_words(&[0x3080_0006, 0xa210_2001], 0x1000);
        assert_eq!(a.flow, Flow::Jump(0x1018));
        assert!(a.writes.is_empty());
        // jmp %g1; nop: a jump through a register.
        let j = lift_words(&[0x81c0_4000, 0x0100_0000], 0x1000);
        assert_eq!(j.flow, Flow::IndirectReg("g1".into()));
        // std %i4, [%sp+0x30]; ldd [%sp+0x30], %i4: a pair in two slots.
        let sd = lift_words(&[0xf83b_a030], 0x1000);
        assert!(sd.fx.contains(&Fx::Store {
            src: "i5".into(),
            base: "sp".into(),
            disp: 0x34,
            size: 4,
        }));
        // ldd [%fp+0x38], %fp: both words from the address before the load.
        let fp = lift_words(&[0xfc1f_a038], 0x1000);
        assert_eq!(
            fp.fx.last(),
            Some(&Fx::Load {
                dst: "i7".into(),
                base: EA.into(),
                disp: 0x3c,
                size: 4,
                signed: false,
            })
        );
        let ld = lift_words(&[0xf81b_a030], 0x1000);
        assert!(ld.fx.contains(&Fx::Load {
            dst: "i4".into(),
            base: "sp".into(),
            disp: 0x30,
            size: 4,
            signed: false,
        }));
        // cwbe %o0, 0, +28 (T4 compare-and-branch): no delay slot.
        let cb = lift_words(&[0x12c2_20e0], 0x914);
        assert_eq!(cb.flow, Flow::Cond(0x930, Bound::None));
        assert_eq!(cb.next, 0x918);
        assert_eq!(cb.reads, vec!["o0".to_string()]);
        // cwbe %g0, %g0, -56: always taken.
        let always = lift_words(&[0x12d8_1e40], 0xf48);
        assert_eq!(always.flow, Flow::Jump(0xf10));
        // ta 5: __builtin_trap; ta 3 flushes the windows and returns.
        assert_eq!(lift_words(&[0x91d0_2005], 0x1000).flow, Flow::Stop);
        assert_eq!(lift_words(&[0x91d0_2003], 0x1000).flow, Flow::Next);
        // sethi %hi(0xbf3c00), %g1; srlx %g1, 10, %g1 and mov 0x27d, %g1; sllx %g1, 4, %g1.
        let f = lift_words(&[0x0300_2fcf, 0x8330_700a], 0x1000);
        assert_eq!(
            f.fx,
            vec![Fx::Const {
                dst: "g1".into(),
                value: 0x2fcf
            }]
        );
        assert_eq!(f.next, 0x1008);
        let m = lift_words(&[0x8210_227d, 0x8328_7004], 0x1000);
        assert_eq!(
            m.fx,
            vec![Fx::Const {
                dst: "g1".into(),
                value: 0x27d0
            }]
        );
        // sethi %hi(0x2400), %g1; xor %g1, -976, %g1: one negative constant.
        let k = lift_words(&[0x0300_0009, 0x8218_7c30], 0x1000);
        assert_eq!(
            k.fx,
            vec![Fx::Const {
                dst: "g1".into(),
                value: (-10192i64) as u64
            }]
        );
        assert_eq!(k.next, 0x1008);
    }

    /// Arbitrary words, at plain and annulled-taken addresses: each lift either fails or
    /// moves forward.
    #[test]
    fn arbitrary_words_lift_without_panicking() {
        let bytes = fixture("good64-O2.so");
        let binary = crate::inspect::parse(&*bytes, Arch::X86_64).expect("parses");
        for wide in [true, false] {
            let s = Sparc::new(&binary.image, wide).expect("capstone");
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut code = x.to_be_bytes().to_vec();
                code.extend_from_slice(&(x.rotate_left(17)).to_be_bytes());
                for address in [0x1000, 0x1000 | ANNUL_TAKEN] {
                    if let Some(i) = s.lift(&code, address) {
                        assert!(i.next > i.address & !ANNUL_TAKEN, "{i:?}");
                    }
                }
            }
        }
    }
}
