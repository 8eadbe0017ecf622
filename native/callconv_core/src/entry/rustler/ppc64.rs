//! PowerPC64 little-endian (ELFv2), on the instruction layer's lifter (`crate::isa::ppc64`).
//! A function's global entry computes the TOC pointer (r2) from r12, which holds the entry's
//! own address; data is reached TOC-relative (`addis`/`addi`, `addis`/`ld`). Calls are `bl`
//! (to the local entry, r2 kept) or `mtctr r12; bctrl`; `blr` returns. Structs are copied 16
//! bytes at a time through VSX registers (`lxvd2x`/`stxvd2x`), kept byte by byte.

use object::ReadRef;

use super::eval::{Cpu, Flow, Insn, Load, State};
use super::lifted::{self, Abi};
use crate::isa::ppc64::Ppc64 as Lifter;
use crate::memory::Image;

pub(super) struct Ppc64<'a, R> {
    lifter: Lifter<'a, R>,
}

impl<'data, 'a, R: ReadRef<'data>> Ppc64<'a, R> {
    pub(super) fn new(image: &'a Image<R>) -> Result<Self, String> {
        // ELFv2: the TOC comes from each global entry, which is evaluated.
        Ok(Ppc64 {
            lifter: Lifter::new(image, false, None)?,
        })
    }
}

const ABI: Abi = Abi {
    zero: None,
    word: 8,
    narrow: false,
};

/// Where a call keeps its caller's r2 (not a register the lifter names).
const CALLER_TOC: &str = "toc.caller";

/// Volatile registers (ELFv2 ABI), and the lifter's X-form address.
const CLOBBERED: [&str; 14] = [
    "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "ctr", "ea",
];

impl<'data, R: ReadRef<'data>> Cpu for Ppc64<'_, R> {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        lifted::decode(&self.lifter, code, address, count)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        lifted::step(&ABI, "r1", ins, state, image)
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
        // The floating-point and vector registers, as the lifter names them (vs0–vs31 are
        // f0–f31, vs32–vs63 are v0–v31): all of them, as the call may leave any unknown.
        state.forget((0..32).flat_map(|i| [format!("f{i}"), format!("v{i}")]));
    }
}
