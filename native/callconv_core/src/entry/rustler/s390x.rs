//! s390x (z/Architecture, big-endian) for the Rustler evaluator: `larl` builds addresses,
//! `lg`/`l`/`stg`/`st` and the store-immediate forms (`mvghi`, `mvhi`) move data,
//! `stmg`/`lmg` save and restore registers, `brasl` calls and `br %r14` returns. capstone
//! names general registers by number alone; they are spelled `rN` here.

use crate::disasm::s390x_register as canonical;
use capstone::arch::sysz::SysZOperand;
use capstone::arch::ArchOperand;
use capstone::{Capstone, RegId};

use super::{decode_operands, reg_name, Cpu, Flow, Ins, Load, Opnd, State};

pub(super) struct S390x {
    cs: Capstone,
}

impl S390x {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::S390x)?;
        Ok(S390x { cs })
    }
}

/// Volatile registers: r0–r5 and r14 (the return address).
const CLOBBERED: [&str; 7] = ["r0", "r1", "r2", "r3", "r4", "r5", "r14"];

fn sext(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

impl S390x {
    fn reg(state: &State, op: &Opnd) -> Option<u64> {
        match op {
            Opnd::Reg(r, _) => state.get(r).map(|v| v as u64),
            Opnd::Imm(i) => Some(*i as u64),
            _ => None,
        }
    }

    fn set(state: &mut State, op: &Opnd, v: Option<u64>) {
        if let Opnd::Reg(r, _) = op {
            state.set(r, v.map(u128::from));
        }
    }

    /// A 32-bit write: the register's high half is kept.
    fn set_low(state: &mut State, op: &Opnd, v: Option<u64>) {
        if let Opnd::Reg(r, _) = op {
            let merged = state
                .get(r)
                .zip(v)
                .map(|(old, v)| (old & !0xffff_ffff) | u128::from(v & 0xffff_ffff));
            state.set(r, merged);
        }
    }

    fn addr(state: &State, op: &Opnd) -> Option<u64> {
        let Opnd::Mem {
            base, index, disp, ..
        } = op
        else {
            return None;
        };
        let part = |r: &Option<String>| match r.as_deref() {
            None | Some("r0") => Some(0),
            Some(r) => state.get(r).map(|v| v as u64),
        };
        Some(
            part(base)?
                .wrapping_add(part(index)?)
                .wrapping_add(*disp as u64),
        )
    }

    /// The registers `first` to `last` of `stmg`/`lmg`, wrapping after r15.
    fn range(first: &Opnd, last: &Opnd) -> Vec<String> {
        let num = |o: &Opnd| match o {
            Opnd::Reg(r, _) => r.strip_prefix('r').and_then(|n| n.parse::<u32>().ok()),
            _ => None,
        };
        let (Some(a), Some(b)) = (
            num(first).filter(|n| *n < 16),
            num(last).filter(|n| *n < 16),
        ) else {
            return Vec::new();
        };
        let count = (b + 16 - a) % 16 + 1;
        (0..count).map(|i| format!("r{}", (a + i) % 16)).collect()
    }
}

impl Cpu for S390x {
    fn decode_ins(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        decode_operands(&self.cs, code, address, count, |op| match op {
            ArchOperand::SysZOperand(o) => match o {
                SysZOperand::Reg(r) => reg_name(&self.cs, r)
                    .map(|n| Opnd::Reg(canonical(n), 8))
                    .unwrap_or(Opnd::Other),
                SysZOperand::Imm(v) => Opnd::Imm(v),
                SysZOperand::Mem(m) => Opnd::Mem {
                    base: reg_name(&self.cs, RegId(m.base().into())).map(canonical),
                    index: reg_name(&self.cs, RegId(m.index().into())).map(canonical),
                    scale: 1,
                    disp: m.disp(),
                    size: 0,
                },
                _ => Opnd::Other,
            },
            _ => Opnd::Other,
        })
    }

    fn result_register(&self) -> &'static str {
        "r2"
    }

    fn stack_register(&self) -> &'static str {
        "r15"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("r14", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..8).map(|i| format!("f{i}")));
    }

    fn step_ins(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let m = ins.mnemonic.as_str();
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        let here = ins.address;
        for o in &ins.ops {
            if let Some(a) = Self::addr(state, o) {
                state.note(a);
            }
        }
        let imm = |i: usize| match op(i) {
            Opnd::Imm(v) => Some(v as u64),
            _ => None,
        };
        match m {
            "br" => {
                return Ok(match Self::reg(state, &op(0)) {
                    _ if matches!(op(0), Opnd::Reg(ref r, _) if r == "r14") => Flow::Return,
                    Some(t) => Flow::Jump(t),
                    None => Flow::DeadEnd(format!("an indirect branch at {here:#x}")),
                })
            }
            "nop" | "nopr" | "cg" | "cgr" | "c" | "cr" | "clg" | "clgr" | "cghi" | "chi"
            | "clgfi" | "clfi" | "tm" | "tmll" | "bcr" => {}
            "j" | "jg" => {
                return Ok(match imm(0) {
                    Some(t) => Flow::Jump(t),
                    None => Flow::DeadEnd(format!("a jump at {here:#x}")),
                })
            }
            "brasl" | "bras" => return Ok(Flow::Call(imm(1))),
            "basr" => return Ok(Flow::Call(Self::reg(state, &op(1)))),
            "larl" => {
                let v = imm(1);
                if let Some(a) = v {
                    state.note(a);
                }
                Self::set(state, &op(0), v);
            }
            "lghi" | "lgfi" | "llilf" | "llill" => Self::set(state, &op(0), imm(1)),
            "lhi" | "iilf" | "iill" => Self::set_low(state, &op(0), imm(1)),
            "llihl" => Self::set(state, &op(0), imm(1).map(|v| (v & 0xffff) << 32)),
            "llihf" => Self::set(state, &op(0), imm(1).map(|v| (v & 0xffff_ffff) << 32)),
            "oill" | "oilf" | "oihl" | "oihf" | "nill" | "nilf" => {
                let v = Self::reg(state, &op(0)).zip(imm(1)).map(|(a, b)| match m {
                    "oill" => a | (b & 0xffff),
                    "oilf" => a | (b & 0xffff_ffff),
                    "oihl" => a | ((b & 0xffff) << 32),
                    "oihf" => a | ((b & 0xffff_ffff) << 32),
                    "nill" => a & (!0xffff | (b & 0xffff)),
                    _ => a & (!0xffff_ffff | (b & 0xffff_ffff)),
                });
                Self::set(state, &op(0), v);
            }
            "lgr" => Self::set(state, &op(0), Self::reg(state, &op(1))),
            "lr" => Self::set_low(state, &op(0), Self::reg(state, &op(1))),
            "la" | "lay" => {
                let v = Self::addr(state, &op(1));
                Self::set(state, &op(0), v);
            }
            "aghi" | "agfi" | "agr" | "agsi" | "sgr" | "ngr" | "ogr" | "xgr" => {
                let v =
                    Self::reg(state, &op(0))
                        .zip(Self::reg(state, &op(1)))
                        .map(|(a, b)| match m {
                            "sgr" => a.wrapping_sub(b),
                            "ngr" => a & b,
                            "ogr" => a | b,
                            "xgr" => a ^ b,
                            _ => a.wrapping_add(b),
                        });
                Self::set(state, &op(0), v);
            }
            "sllg" | "srlg" => {
                let shift = Self::addr(state, &op(2)).or(imm(2));
                let v = Self::reg(state, &op(1)).zip(shift).map(|(a, s)| {
                    if m == "sllg" {
                        a << (s & 63)
                    } else {
                        a >> (s & 63)
                    }
                });
                Self::set(state, &op(0), v);
            }
            "lg" | "ltg" | "lgf" | "llgf" | "l" | "ly" | "lt" | "lh" | "llgh" | "lb" | "lgb"
            | "llgc" | "llc" | "lgrl" | "lrl" => {
                let size = match m {
                    "lg" | "ltg" | "lgrl" => 8,
                    "lgf" | "llgf" | "l" | "ly" | "lt" | "lrl" => 4,
                    "lh" | "llgh" => 2,
                    _ => 1,
                };
                let at = match op(1) {
                    Opnd::Imm(a) => Some(a as u64),
                    other => Self::addr(state, &other),
                };
                let v = at
                    .and_then(|a| image.load(state, a, size))
                    .map(|v| v as u64)
                    .map(|v| match m {
                        "lgf" => sext(v, 32),
                        "lh" => sext(v, 16),
                        "lb" | "lgb" => sext(v, 8),
                        _ => v,
                    });
                if matches!(m, "l" | "ly" | "lt" | "lh" | "lb" | "lrl" | "llc") {
                    Self::set_low(state, &op(0), v);
                } else {
                    Self::set(state, &op(0), v);
                }
            }
            "stg" | "st" | "sty" | "sth" | "sthy" | "stc" | "stcy" | "stgrl" | "strl" => {
                let size = match m {
                    "stg" | "stgrl" => 8,
                    "st" | "sty" | "strl" => 4,
                    "sth" | "sthy" => 2,
                    _ => 1,
                };
                let at = match op(1) {
                    Opnd::Imm(a) => Some(a as u64),
                    other => Self::addr(state, &other),
                };
                if let Some(a) = at {
                    let v = Self::reg(state, &op(0)).map(|v| u128::from(v) & super::mask(size));
                    state.store(a, size, v);
                }
            }
            "mvghi" | "mvhi" | "mvhhi" | "mvi" => {
                let size = match m {
                    "mvghi" => 8,
                    "mvhi" => 4,
                    "mvhhi" => 2,
                    _ => 1,
                };
                if let Some(a) = Self::addr(state, &op(0)) {
                    let v = imm(1).map(|v| u128::from(v) & super::mask(size));
                    state.store(a, size, v);
                }
            }
            "stmg" => {
                // stmg rFirst, rLast, d(base)
                if let Some(mut a) = Self::addr(state, &op(2)) {
                    for r in Self::range(&op(0), &op(1)) {
                        let v = state.get(&r);
                        state.store(a, 8, v);
                        a = a.wrapping_add(8);
                    }
                }
            }
            "lmg" => {
                let at = Self::addr(state, &op(2));
                let regs = Self::range(&op(0), &op(1));
                let values: Vec<Option<u128>> = regs
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        at.and_then(|a| image.load(state, a.wrapping_add(8 * i as u64), 8))
                    })
                    .collect();
                for (r, v) in regs.iter().zip(values) {
                    state.set(r, v);
                }
            }
            "mvc" | "xc" => {
                // Storage-to-storage: the bytes written are unknown (xc of a field with
                // itself clears it, which is zero).
                if let (Some(a), Opnd::Mem { .. }) = (Self::addr(state, &op(0)), op(0)) {
                    let clear = m == "xc" && op(0) == op(1);
                    let len = ins.ops.iter().find_map(|o| match o {
                        Opnd::Imm(n) => Some(*n as u64),
                        _ => None,
                    });
                    if let Some(len) = len.filter(|l| *l <= 256) {
                        for i in 0..len {
                            let b = if clear {
                                Some(0)
                            } else {
                                Self::addr(state, &op(1))
                                    .and_then(|s| image.byte(state, s.wrapping_add(i)))
                                    .map(u128::from)
                            };
                            state.store(a.wrapping_add(i), 1, b);
                        }
                    }
                }
            }
            _ if m.starts_with('j')
                || m.starts_with("cgij")
                || m.starts_with("cij")
                || m.starts_with("clgij")
                || m.starts_with("clij")
                || m.starts_with("cgrj")
                || m.starts_with("crj")
                || m.starts_with("clgrj")
                || m.starts_with("clrj")
                || m == "brc"
                || m == "brcl" =>
            {
                // Conditional branches (`je`, `jlh`, `cgije r2, 0, target`): the target is the
                // last operand.
                if let Some(t) = ins.ops.last().and_then(|o| match o {
                    Opnd::Imm(t) => Some(*t as u64),
                    _ => None,
                }) {
                    return Ok(Flow::Branch(t));
                }
            }
            _ => Self::set(state, &op(0), None),
        }
        Ok(Flow::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_ranges_wrap_after_r15() {
        let r = |n: &str| Opnd::Reg(n.to_string(), 8);
        assert_eq!(range_of(&r("r6"), &r("r8")), ["r6", "r7", "r8"]);
        assert_eq!(range_of(&r("r14"), &r("r1")), ["r14", "r15", "r0", "r1"]);
        assert!(range_of(&r("r99"), &r("r1")).is_empty());
    }

    fn range_of(a: &Opnd, b: &Opnd) -> Vec<String> {
        S390x::range(a, b)
    }
}
