//! PowerPC64 little-endian (ELFv2) for the Rustler evaluator. A function's global entry
//! computes the TOC pointer (r2) from r12, which holds the entry's own address; data is
//! reached TOC-relative (`addis`/`addi`, `addis`/`ld`). Calls are `bl` (to the local entry,
//! r2 kept) or `mtctr r12; bctrl`; `blr` returns. Structs are copied 16 bytes at a time
//! through VSX registers (`lxvd2x`/`stxvd2x`, `lxv`/`stxv`), kept byte by byte.

use capstone::arch::ppc::PpcOperand;
use capstone::arch::ArchOperand;
use capstone::Capstone;

use super::{decode_operands, reg_name, Cpu, Flow, Ins, Load, Opnd, State};

pub(super) struct Ppc64 {
    cs: Capstone,
}

impl Ppc64 {
    pub(super) fn new() -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::Ppc64 { big_endian: false })?;
        Ok(Ppc64 { cs })
    }
}

/// Where a call keeps its caller's r2 (not a register name capstone uses).
const CALLER_TOC: &str = "toc.caller";

/// Volatile registers (ELFv2 ABI).
const CLOBBERED: [&str; 13] = [
    "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "ctr",
];

fn sext16(i: i64) -> u64 {
    i as i16 as i64 as u64
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

/// The 64-bit rotate-and-mask family and its shift aliases, on `v` with the immediates.
fn rotate_mask(m: &str, v: u64, a: u64, b: u64) -> Option<u64> {
    let rot = |n: u64| v.rotate_left((n & 63) as u32);
    Some(match m {
        "rldic" => rot(a) & mask64(b, 63 - (a & 63)),
        "rldicl" => rot(a) & mask64(b, 63),
        "rldicr" => rot(a) & mask64(0, b),
        "sldi" => v << (a & 63),
        "srdi" => v >> (a & 63),
        "clrldi" => v & mask64(a, 63),
        "rotldi" => rot(a),
        _ => return None,
    })
}

impl Ppc64 {
    fn reg(state: &State, op: &Opnd) -> Option<u64> {
        match op {
            Opnd::Reg(r, _) => state.get(r).map(|v| v as u64),
            Opnd::Imm(i) => Some(*i as u64),
            _ => None,
        }
    }

    /// A base register where r0 reads as 0 (`addi`, `addis`, D-form addresses).
    fn base(state: &State, op: &Opnd) -> Option<u64> {
        match op {
            Opnd::Reg(r, _) if r == "r0" => Some(0),
            other => Self::reg(state, other),
        }
    }

    fn set(state: &mut State, op: &Opnd, v: Option<u64>) {
        if let Opnd::Reg(r, _) = op {
            state.set(r, v.map(u128::from));
        }
    }

    /// The address of a D-form (`d(rA)`) or X-form (`rA, rB`) access whose address
    /// operands start at `from`.
    fn addr(state: &State, ins: &Ins, from: usize) -> Option<u64> {
        match (ins.ops.get(from), ins.ops.get(from + 1)) {
            (Some(Opnd::Mem { base, disp, .. }), _) => {
                let b = match base.as_deref() {
                    Some("r0") | None => 0,
                    Some(r) => state.get(r)? as u64,
                };
                Some(b.wrapping_add(*disp as u64))
            }
            (Some(a @ Opnd::Reg(..)), Some(b @ Opnd::Reg(..))) => {
                Some(Self::base(state, a)?.wrapping_add(Self::reg(state, b)?))
            }
            _ => None,
        }
    }
}

impl Cpu for Ppc64 {
    fn decode_ins(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Ins>, String> {
        decode_operands(&self.cs, code, address, count, |op| match op {
            ArchOperand::PpcOperand(o) => match o {
                PpcOperand::Reg(r) => reg_name(&self.cs, r)
                    .map(|n| Opnd::Reg(n, 8))
                    .unwrap_or(Opnd::Other),
                PpcOperand::Imm(v) => Opnd::Imm(v),
                PpcOperand::Mem(m) => Opnd::Mem {
                    base: reg_name(&self.cs, m.base()),
                    index: None,
                    scale: 1,
                    disp: i64::from(m.disp()),
                    size: 0,
                },
                _ => Opnd::Other,
            },
            _ => Opnd::Other,
        })
    }

    fn result_register(&self) -> &'static str {
        "r3"
    }

    fn stack_register(&self) -> &'static str {
        "r1"
    }

    fn pinned_registers(&self) -> &'static [&'static str] {
        &["r2"]
    }

    fn begin(&self, state: &mut State, start: u64) {
        // The global entry point is entered with its own address in r12.
        state.set("r12", Some(u128::from(start)));
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("lr", Some(u128::from(ret_addr)));
        // A `bl` to a local entry keeps the TOC pointer: the callee's own code may lose it.
        let toc = state.get("r2");
        state.set(CALLER_TOC, toc);
    }

    fn leave_call(&self, state: &mut State) {
        if let Some(toc) = state.get(CALLER_TOC) {
            state.set("r2", Some(toc));
        }
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..64).map(|i| format!("vs{i}")));
    }

    fn step_ins(&self, ins: &Ins, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let m = ins.mnemonic.as_str();
        let op = |i: usize| ins.ops.get(i).cloned().unwrap_or(Opnd::Other);
        let here = ins.address;
        for i in 0..ins.ops.len() {
            if matches!(ins.ops.get(i), Some(Opnd::Mem { .. })) {
                if let Some(a) = Self::addr(state, ins, i) {
                    state.note(a);
                }
            }
        }
        match m {
            "blr" => return Ok(Flow::Return),
            "trap" | "tw" | "td" | "twi" | "tdi" => {
                return Ok(Flow::Trap(format!("a trap ({m}) at {here:#x}")))
            }
            "nop" | "cmpd" | "cmpdi" | "cmpld" | "cmpldi" | "cmpw" | "cmpwi" | "cmplw"
            | "cmplwi" | "sync" | "lwsync" | "isync" | "hwsync" | "dcbt" | "dcbtst" => {}
            "addis" | "lis" => {
                let v = if m == "lis" {
                    Self::reg(state, &op(1)).map(|i| sext16(i as i64) << 16)
                } else {
                    Self::base(state, &op(1))
                        .zip(Self::reg(state, &op(2)))
                        .map(|(b, i)| b.wrapping_add(sext16(i as i64) << 16))
                };
                Self::set(state, &op(0), v);
            }
            "addi" | "li" | "la" => {
                let v = match m {
                    "li" => Self::reg(state, &op(1)).map(|i| sext16(i as i64)),
                    "la" => Self::addr(state, ins, 1),
                    _ => Self::base(state, &op(1))
                        .zip(Self::reg(state, &op(2)))
                        .map(|(b, i)| b.wrapping_add(sext16(i as i64))),
                };
                if let Some(a) = v {
                    state.note(a);
                }
                Self::set(state, &op(0), v);
            }
            "rldic" | "rldicl" | "rldicr" | "sldi" | "srdi" | "clrldi" | "rotldi" => {
                let imm = |i: usize| match op(i) {
                    Opnd::Imm(v) => Some(v as u64),
                    _ => None,
                };
                let v = Self::reg(state, &op(1))
                    .and_then(|v| rotate_mask(m, v, imm(2)?, imm(3).unwrap_or(0)));
                Self::set(state, &op(0), v);
            }
            "xxlxor" if op(1) == op(2) => {
                // Zero, as a vector and as the floating-point register it overlays.
                if let Opnd::Reg(r, _) = op(0) {
                    state.set(&r, None);
                    if let Some(n) = r.strip_prefix("vs").and_then(|n| n.parse::<u32>().ok()) {
                        if n < 32 {
                            state.set(&format!("f{n}"), Some(0));
                        }
                    }
                    state.vectors.insert(r, vec![Some(0); 16]);
                }
            }
            "add" | "subf" | "or" | "and" | "xor" | "ori" | "andi." | "xori" => {
                let v =
                    Self::reg(state, &op(1))
                        .zip(Self::reg(state, &op(2)))
                        .map(|(a, b)| match m {
                            "add" => a.wrapping_add(b),
                            "subf" => b.wrapping_sub(a),
                            "or" | "ori" => a | (if m == "ori" { b & 0xffff } else { b }),
                            "and" | "andi." => a & b,
                            _ => a ^ b,
                        });
                Self::set(state, &op(0), v);
            }
            "mr" => Self::set(state, &op(0), Self::reg(state, &op(1))),
            "mflr" => Self::set(state, &op(0), state.get("lr").map(|v| v as u64)),
            "mtlr" => state.set("lr", Self::reg(state, &op(0)).map(u128::from)),
            "mtctr" => state.set("ctr", Self::reg(state, &op(0)).map(u128::from)),
            "mfctr" => Self::set(state, &op(0), state.get("ctr").map(|v| v as u64)),
            "std" | "stw" | "sth" | "stb" | "stdx" | "stwx" | "sthx" | "stbx" | "stdu" | "stwu"
            | "stfd" | "stfs" | "stfdx" | "stfsx" => {
                let size = match m {
                    "stfs" | "stfsx" => 4,
                    _ if m.starts_with("std") || m.starts_with("stfd") => 8,
                    _ if m.starts_with("stw") => 4,
                    _ if m.starts_with("sth") => 2,
                    _ => 1,
                };
                let at = Self::addr(state, ins, 1);
                if let Some(a) = at {
                    let v = Self::reg(state, &op(0)).map(u128::from);
                    state.store(a, size, v);
                }
                if m.ends_with('u') {
                    // Store with update: the base register becomes the address.
                    if let Some(Opnd::Mem { base: Some(b), .. }) = ins.ops.get(1) {
                        state.set(b, at.map(u128::from));
                    }
                }
            }
            "ld" | "lwz" | "lwa" | "lhz" | "lha" | "lbz" | "ldx" | "lwzx" | "lbzx" | "lhzx"
            | "lfd" | "lfs" => {
                let size = match m {
                    "ld" | "ldx" | "lfd" => 8,
                    "lwz" | "lwa" | "lwzx" | "lfs" => 4,
                    "lhz" | "lha" | "lhzx" => 2,
                    _ => 1,
                };
                let v = Self::addr(state, ins, 1)
                    .and_then(|a| image.load(state, a, size))
                    .map(|v| v as u64)
                    .map(|v| match m {
                        "lwa" => v as u32 as i32 as i64 as u64,
                        "lha" => v as u16 as i16 as i64 as u64,
                        _ => v,
                    });
                Self::set(state, &op(0), v);
            }
            "lxvd2x" | "lxv" | "lxvw4x" => {
                // A 16-byte copy: kept byte by byte (lxvd2x's doubleword swap is undone by
                // the stxvd2x that stores it).
                let bytes = Self::addr(state, ins, 1).map(|a| {
                    (0..16)
                        .map(|i| image.byte(state, a.wrapping_add(i)))
                        .collect()
                });
                if let Opnd::Reg(r, _) = op(0) {
                    state.set(&r, None);
                    if let Some(bytes) = bytes {
                        state.vectors.insert(r, bytes);
                    }
                }
            }
            "stxvd2x" | "stxv" | "stxvw4x" => {
                let bytes = match op(0) {
                    Opnd::Reg(r, _) => state.vectors.get(&r).cloned(),
                    _ => None,
                };
                if let Some(a) = Self::addr(state, ins, 1) {
                    for i in 0..16u64 {
                        let b = bytes
                            .as_ref()
                            .and_then(|v| v.get(i as usize).copied().flatten());
                        state.store(a.wrapping_add(i), 1, b.map(u128::from));
                    }
                }
            }
            "xxswapd" => {
                let bytes = match op(1) {
                    Opnd::Reg(r, _) => state.vectors.get(&r).cloned(),
                    _ => None,
                };
                if let Opnd::Reg(r, _) = op(0) {
                    state.set(&r, None);
                    if let Some(mut bytes) = bytes {
                        bytes.rotate_left(8);
                        state.vectors.insert(r, bytes);
                    }
                }
            }
            "b" => {
                return Ok(match op(0) {
                    Opnd::Imm(t) => Flow::Jump(t as u64),
                    _ => Flow::DeadEnd(format!("a branch at {here:#x}")),
                })
            }
            "bl" => {
                return Ok(Flow::Call(match op(0) {
                    Opnd::Imm(t) => Some(t as u64),
                    _ => None,
                }))
            }
            "bctrl" => return Ok(Flow::Call(state.get("ctr").map(|v| v as u64))),
            "bctr" => {
                return Ok(match state.get("ctr") {
                    Some(t) => Flow::Jump(t as u64),
                    None => Flow::DeadEnd(format!("an indirect branch at {here:#x}")),
                })
            }
            _ if m.starts_with('b') => {
                // beq/bne/blt/... (`bne cr0, target` or `bne target`), and the conditional
                // returns (`beqlr`), which the straight path does not take.
                if let Some(Opnd::Imm(t)) = ins.ops.last() {
                    return Ok(Flow::Branch(*t as u64));
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
    fn rotate_and_mask() {
        // Rustler 0.39's nif_init on ppc64le builds major 2 / minor 15 this way:
        // lis r6, -32768; ori r6, r6, 1; rldic r4, r6, 1, 28.
        assert_eq!(
            rotate_mask("rldic", 0xffff_ffff_8000_0001, 1, 28),
            Some(0x0000_000f_0000_0002)
        );
        assert_eq!(rotate_mask("rldicl", 0xff00, 56, 56), Some(0xff));
        assert_eq!(rotate_mask("rldicr", 1, 4, 59), Some(16));
        assert_eq!(mask64(0, 63), u64::MAX);
        assert_eq!(mask64(63, 0), 0x8000_0000_0000_0001);
    }
}
