//! RISC-V (RV64GC), on the instruction layer's lifter (`crate::isa::riscv`).

use super::eval::{Cpu, Flow, Insn, Load, State};
use super::lifted::{self, Abi};
use crate::isa::riscv::Riscv as Lifter;

pub(super) struct Riscv {
    lifter: Lifter,
}

impl Riscv {
    pub(super) fn new() -> Result<Self, String> {
        Ok(Riscv {
            lifter: Lifter::new(true)?,
        })
    }
}

const ABI: Abi = Abi {
    zero: Some("zero"),
    word: 8,
    narrow: false,
};

/// Caller-saved registers (the standard calling convention).
const CLOBBERED: [&str; 16] = [
    "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
];

impl Cpu for Riscv {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        lifted::decode(&self.lifter, code, address, count)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        lifted::step(&ABI, "sp", ins, state, image)
    }

    fn result_register(&self) -> &'static str {
        "a0"
    }

    fn stack_register(&self) -> &'static str {
        "sp"
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        state.set("ra", Some(u128::from(ret_addr)));
    }

    fn clobber(&self, state: &mut State) {
        state.forget(CLOBBERED);
        state.forget((0..8).flat_map(|i| [format!("fa{i}"), format!("ft{i}")]));
    }
}
