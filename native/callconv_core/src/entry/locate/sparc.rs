//! SPARC: not evaluated yet (register windows, delay slots and the PC thunk need more than
//! the shared evaluator has). Fails with a reason.

use super::{Insn, Machine, Memory, Regs, Step};

pub(super) struct Sparc;

impl Sparc {
    pub(super) fn new(_wide: bool) -> Result<Self, String> {
        Err("static decoding of nif_init is not implemented for SPARC".to_string())
    }
}

impl Machine for Sparc {
    fn decode(&self, _code: &[u8], _address: u64, _count: usize) -> Result<Vec<Insn>, String> {
        Err("static decoding of nif_init is not implemented for SPARC".to_string())
    }

    fn step(&self, _insn: &Insn, _regs: &mut Regs, _memory: &dyn Memory) -> Result<Step, String> {
        Err("static decoding of nif_init is not implemented for SPARC".to_string())
    }

    fn result_register(&self) -> &'static str {
        "o0"
    }
}
