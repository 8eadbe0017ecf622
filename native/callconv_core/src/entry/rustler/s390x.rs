//! s390x (z/Architecture, big-endian), on the instruction layer's lifter
//! (`crate::isa::s390x`): `larl` builds addresses, `lg`/`stg` and the store-immediate forms
//! (`mvghi`, `mvhi`) move data, `mvc`/`xc` copy and clear blocks, `stmg`/`lmg` save and
//! restore registers, `brasl` calls and `br %r14` returns. Stores and loads follow the
//! image's byte order.

use super::eval::{Cpu, Flow, Insn, Load, State};
use super::lifted::{self, Abi};
use crate::isa::s390x::S390x as Lifter;

pub(super) struct S390x {
    lifter: Lifter,
}

impl S390x {
    pub(super) fn new() -> Result<Self, String> {
        Ok(S390x {
            lifter: Lifter::new()?,
        })
    }
}

const ABI: Abi = Abi {
    zero: None,
    word: 8,
    narrow: false,
};

/// Volatile registers: r0–r5 and r14 (the return address), and the lifter's names for the
/// bytes an `mvc` moves and a jump-table entry.
const CLOBBERED: [&str; 9] = ["r0", "r1", "r2", "r3", "r4", "r5", "r14", "moved", "entry"];

impl Cpu for S390x {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        lifted::decode(&self.lifter, code, address, count)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        lifted::step(&ABI, "r15", ins, state, image)
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
}
