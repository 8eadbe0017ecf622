//! LoongArch64 lifter, for what entry decoding needs: `pcalau12i $a0, %pc_hi20(entry);
//! addi.d $a0, $a0, %pc_lo12(entry); ret`, the `pcaddu12i`/`pcaddi` forms and a GOT load
//! (`ld.d`).
//!
//! Capstone 5 has no LoongArch, so the few instructions such a function uses are decoded
//! here from the fixed 32-bit encodings of the LoongArch reference manual (vol. 1, ch. 2);
//! any other word is lifted as an instruction that may write its `rd` field (bits 4:0),
//! which then becomes unknown. PC-relative immediates become constants. The analysis engine
//! does not run on this lifter (see docs/design/loongarch.md): it is too partial for that.

use super::{Bound, Flow, Fx, ImageView, Lifted, Lifter, Stub};

pub(crate) struct LoongArch;

/// ABI names of the general registers (`$r22` is `fp`, also known as `s9`).
const NAMES: [&str; 32] = [
    "zero", "ra", "tp", "sp", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t0", "t1", "t2",
    "t3", "t4", "t5", "t6", "t7", "t8", "r21", "fp", "s0", "s1", "s2", "s3", "s4", "s5", "s6",
    "s7", "s8",
];

fn reg(n: u32) -> String {
    NAMES[(n & 0x1f) as usize].to_string()
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

impl Lifter for LoongArch {
    fn sp(&self) -> &'static str {
        "sp"
    }

    fn link_register(&self) -> Option<&'static str> {
        Some("ra")
    }

    fn canonical_model(&self, name: &str) -> String {
        match name {
            "s9" => "fp".to_string(),
            _ => name.to_string(),
        }
    }

    fn stub(&self, _code: &[u8], _address: u64, _image: &dyn ImageView) -> Option<Stub> {
        None
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let w = super::le_word(code, 0)?;
        let next = address.wrapping_add(4);
        let rd = w & 0x1f;
        let rj = (w >> 5) & 0x1f;
        let rk = (w >> 10) & 0x1f;
        let si12 = sign_extend(u64::from((w >> 10) & 0xfff), 12) as i64;
        let si20 = u64::from((w >> 5) & 0xf_ffff);
        let mut out = Lifted::plain(address, next, "");
        let set = |out: &mut Lifted, mnemonic: &str, fx: Option<Fx>, reads: &[u32]| {
            out.mnemonic = mnemonic.to_string();
            if rd != 0 {
                out.writes.push(reg(rd));
                out.fx.extend(fx);
            }
            for r in reads {
                if *r != 0 && *r != 3 {
                    out.reads.push(reg(*r));
                }
            }
        };
        let constant = |value: u64| {
            Some(Fx::Const {
                dst: reg(rd),
                value,
            })
        };
        // 1RI20 formats: lu12i.w, pcaddi, pcalau12i, pcaddu12i.
        match w >> 25 {
            0x0a => {
                set(
                    &mut out,
                    "lu12i.w",
                    constant(sign_extend(si20 << 12, 32)),
                    &[],
                );
                return Some(out);
            }
            0x0c => {
                let v = address.wrapping_add(sign_extend(si20 << 2, 22));
                set(&mut out, "pcaddi", constant(v), &[]);
                return Some(out);
            }
            0x0d => {
                let v = address.wrapping_add(sign_extend(si20 << 12, 32)) & !0xfff;
                out.names_address = Some(v);
                set(&mut out, "pcalau12i", constant(v), &[]);
                return Some(out);
            }
            0x0e => {
                let v = address.wrapping_add(sign_extend(si20 << 12, 32));
                set(&mut out, "pcaddu12i", constant(v), &[]);
                return Some(out);
            }
            _ => {}
        }
        match w >> 26 {
            // jirl rd, rj, offs: `jirl $zero, $ra, 0` is `ret`; with rd = $ra, a call.
            0x13 => {
                let offs = sign_extend(u64::from((w >> 10) & 0xffff) << 2, 18);
                out.mnemonic = "jirl".to_string();
                out.reads.push(reg(rj));
                out.flow = match (rd, rj, offs) {
                    (0, 1, 0) => Flow::Ret {
                        pop: 0,
                        via: Some("ra".to_string()),
                    },
                    (0, _, 0) => Flow::IndirectReg(reg(rj)),
                    (0, _, _) => Flow::Stop,
                    _ => {
                        out.writes.push(reg(rd));
                        Flow::IndirectCall
                    }
                };
                return Some(out);
            }
            0x14 | 0x15 => {
                let offs = (u64::from(w & 0x3ff) << 16) | u64::from((w >> 10) & 0xffff);
                let target = address.wrapping_add(sign_extend(offs << 2, 28));
                if w >> 26 == 0x14 {
                    out.mnemonic = "b".to_string();
                    out.flow = Flow::Jump(target);
                } else {
                    out.mnemonic = "bl".to_string();
                    out.writes.push("ra".to_string());
                    out.flow = Flow::Call(target);
                }
                return Some(out);
            }
            // beqz, bnez, bceqz/bcnez (21-bit offset); beq, bne, blt, bge, bltu, bgeu (16-bit).
            0x10..=0x12 => {
                let offs = (u64::from(w & 0x1f) << 16) | u64::from((w >> 10) & 0xffff);
                out.mnemonic = "bcond".to_string();
                out.flow = Flow::Cond(
                    address.wrapping_add(sign_extend(offs << 2, 23)),
                    Bound::None,
                );
                return Some(out);
            }
            0x16..=0x1b => {
                let offs = u64::from((w >> 10) & 0xffff);
                out.mnemonic = "bcond".to_string();
                out.flow = Flow::Cond(
                    address.wrapping_add(sign_extend(offs << 2, 18)),
                    Bound::None,
                );
                return Some(out);
            }
            _ => {}
        }
        let add_imm = |src: u32| {
            Some(Fx::AddImm {
                dst: reg(rd),
                src: reg(src),
                imm: si12,
            })
        };
        match w >> 22 {
            // addi.w sign-extends a 32-bit sum: followed only as a move of a constant.
            0x00a => set(&mut out, "addi.w", None, &[rj]),
            0x00b => set(&mut out, "addi.d", add_imm(rj), &[rj]),
            0x0a2 => set(&mut out, "ld.w", None, &[rj]),
            0x0a3 => {
                let fx = Fx::Load {
                    dst: reg(rd),
                    base: reg(rj),
                    disp: si12,
                    size: 8,
                    signed: false,
                };
                set(&mut out, "ld.d", Some(fx), &[rj]);
            }
            // st.b, st.h, st.w, st.d: the stack slots entry decoding tracks.
            0x0a4..=0x0a7 => {
                out.mnemonic = "st".to_string();
                out.reads.push(reg(rd));
                if w >> 22 == 0x0a7 {
                    out.fx.push(Fx::Store {
                        src: reg(rd),
                        base: reg(rj),
                        disp: si12,
                        size: 8,
                    });
                } else {
                    out.fx.push(Fx::StoreUnknown {
                        base: reg(rj),
                        disp: si12,
                    });
                }
            }
            _ if w == 0x0340_0000 => out.mnemonic = "nop".to_string(),
            _ => match w >> 15 {
                0x21 => {
                    let fx = Fx::AddRegs {
                        dst: reg(rd),
                        a: reg(rj),
                        b: reg(rk),
                        shift: 0,
                    };
                    set(&mut out, "add.d", Some(fx), &[rj, rk]);
                }
                // `or rd, rj, $zero` is `move`.
                0x2a if rk == 0 => {
                    let fx = Fx::Copy {
                        dst: reg(rd),
                        src: reg(rj),
                    };
                    set(&mut out, "move", Some(fx), &[rj]);
                }
                _ => set(&mut out, "other", None, &[]),
            },
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lift(word: u32, address: u64) -> Lifted {
        LoongArch
            .lift(&word.to_le_bytes(), address)
            .expect("a whole word")
    }

    #[test]
    fn pc_relative_constants_and_the_return() {
        // pcalau12i $a0, 1 at 0x1234: the page of 0x1234 + 0x1000.
        let i = lift(0x1a00_0024, 0x1234);
        assert_eq!(
            i.fx,
            vec![Fx::Const {
                dst: "a0".into(),
                value: 0x2000
            }]
        );
        // addi.d $a0, $a0, 0x10
        let i = lift(0x02c0_4084, 0x1238);
        assert_eq!(
            i.fx,
            vec![Fx::AddImm {
                dst: "a0".into(),
                src: "a0".into(),
                imm: 0x10
            }]
        );
        // jirl $zero, $ra, 0
        let i = lift(0x4c00_0020, 0x123c);
        assert!(matches!(i.flow, Flow::Ret { .. }), "{i:?}");
    }

    #[test]
    fn an_unknown_word_writes_its_rd_field() {
        // andi $a0, $a1, 1 (not decoded here): a0 is no longer known.
        let i = lift(0x0340_04a4, 0x1000);
        assert_eq!(i.writes, vec!["a0".to_string()]);
        assert!(i.fx.is_empty());
    }
}
