//! 32-bit Arm (A32, Thumb-2 and the Thumb-1 forms; ARMv6 and ARMv7), on the instruction
//! layer's lifter (`crate::isa::arm`).
//!
//! The lifter carries the decoding state in the address: bit 0 for Thumb code (as ELF
//! symbols, `.init_array` entries and `bx`/`blx` targets have it), and in the high bits the
//! rest of an IT block, or the A32 condition assumed on the path. So an instruction here is
//! known by its tagged address: the two paths through an IT block, or through a conditional
//! A32 instruction, are two instructions to the evaluator, never a loop. Code is read at the
//! address with the tags stripped.

use super::eval::{Cpu, Flow, Insn, Load, State, STACK_TOP_32};
use super::lifted::{self, Abi};
use crate::isa::arm::Arm as Lifter;
use crate::isa::{self, Lifter as _};

pub(super) struct Arm {
    lifter: Lifter,
}

impl Arm {
    pub(super) fn new() -> Result<Self, String> {
        Ok(Arm {
            lifter: Lifter::new(false)?,
        })
    }
}

const ABI: Abi = Abi {
    zero: None,
    word: 4,
    narrow: true,
};

/// Caller-saved registers (AAPCS): r0–r3, r12 and lr, and the VFP registers d0–d7 and
/// d16–d31 (the lifter names every `sN` and `qN` by the `dN` that holds it).
const CLOBBERED: [&str; 6] = ["r0", "r1", "r2", "r3", "r12", "lr"];

impl Cpu for Arm {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        let start = self.lifter.code_address(address);
        let mut out = Vec::new();
        let mut at = address;
        while out.len() < count {
            // The next instruction's address carries its own tags (an IT block's rest), so
            // the walk follows `next`, not the byte count.
            let offset = self.lifter.code_address(at).wrapping_sub(start);
            let Some(rest) = usize::try_from(offset)
                .ok()
                .and_then(|o| code.get(o..))
                .filter(|r| !r.is_empty())
            else {
                break;
            };
            let Some(mut l) = self.lifter.lift(rest, at) else {
                break;
            };
            l.address = at;
            if let isa::Flow::Cond(taken, bound) = l.flow {
                // A conditional A32 branch is lifted as a fork into the paths where its
                // condition holds and does not; the evaluator takes it as the branch it is,
                // so a loop's backward branch stays a loop.
                // (The lifter makes `ls`/`lo` hold on the fall-through path.)
                if self.lifter.code_address(taken) == self.lifter.code_address(at) {
                    let flow = |a| self.lifter.lift(rest, a).map(|t| t.flow);
                    match (flow(taken), flow(l.next)) {
                        (Some(isa::Flow::Jump(target)), _) => {
                            l.flow = isa::Flow::Cond(target, bound);
                        }
                        (_, Some(isa::Flow::Jump(target))) => {
                            l.flow = isa::Flow::Cond(target, bound);
                            l.next = taken;
                        }
                        _ => {}
                    }
                }
            }
            let len = self
                .lifter
                .code_address(l.next)
                .wrapping_sub(self.lifter.code_address(at));
            if len > 4 {
                // Not the next instruction in these bytes (never for a lifted `Next`).
                out.push(l);
                break;
            }
            at = l.next;
            out.push(l);
        }
        if out.is_empty() {
            return Err(format!("cannot disassemble at {address:#x}"));
        }
        Ok(out)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        let flow = lifted::step(&ABI, "sp", ins, state, image)?;
        // Messages name the code address, not the tagged one.
        let l = ins;
        let (tagged, plain) = (
            format!("{:#x}", l.address),
            format!("{:#x}", self.lifter.code_address(l.address)),
        );
        Ok(match flow {
            Flow::DeadEnd(why) => Flow::DeadEnd(why.replace(&tagged, &plain)),
            Flow::Trap(why) => Flow::Trap(why.replace(&tagged, &plain)),
            other => other,
        })
    }

    fn result_register(&self) -> &'static str {
        "r0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn stack_top(&self) -> u64 {
        STACK_TOP_32
    }

    fn fetch_address(&self, pc: u64) -> u64 {
        self.lifter.code_address(pc)
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("lr", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..8).chain(16..32).map(|i| format!("d{i}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conditional A32 branch reaches the walk as a branch to its target, whichever path
    /// the lifter makes the fall-through (`ls` holds on it), and the fall-through is the
    /// path where it is not taken.
    #[test]
    fn conditional_a32_branches_stay_branches() {
        let arm = Arm::new().unwrap();
        // bls 0xff8 (a loop's backward branch), beq 0x1010.
        for (word, target) in [(0x9aff_fffc_u32, 0xff8u64), (0x0a00_0002, 0x1010)] {
            let code = word.to_le_bytes();
            let insns = arm.decode(&code, 0x1000, 2).unwrap();
            let [branch, not_taken] = insns.as_slice() else {
                panic!("two instructions");
            };
            assert!(
                matches!(branch.flow, isa::Flow::Cond(t, _) if t == target),
                "{:?}",
                branch.flow
            );
            assert_eq!(not_taken.mnemonic, "(skipped)");
            assert_eq!(arm.fetch_address(not_taken.address), 0x1000);
        }
    }
}
