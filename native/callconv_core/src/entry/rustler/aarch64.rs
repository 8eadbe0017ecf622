//! AArch64, on the instruction layer's lifter (`crate::isa::aarch64`).

use super::eval::{Cpu, Flow, Insn, Load, State};
use super::lifted::{self, Abi};
use crate::isa::aarch64::Aarch64 as Lifter;

pub(super) struct Aarch64 {
    lifter: Lifter,
}

impl Aarch64 {
    pub(super) fn new() -> Result<Self, String> {
        Ok(Aarch64 {
            lifter: Lifter::new()?,
        })
    }
}

const ABI: Abi = Abi {
    zero: Some("xzr"),
    word: 8,
    narrow: false,
};

/// The registers a call may change (AAPCS64): x0–x17 and the link register, and every
/// vector register (only the low halves of d8–d15 survive).
const CLOBBERED: [&str; 19] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "lr",
];

impl Cpu for Aarch64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        lifted::decode(&self.lifter, code, address, count)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        lifted::step(&ABI, "sp", ins, state, image)
    }

    fn result_register(&self) -> &'static str {
        "x0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("lr", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..32).map(|i| format!("d{i}")));
    }
}
