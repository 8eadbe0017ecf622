//! x86-64 and 32-bit x86, on the instruction layer's lifter (`crate::isa::x86`).

use super::eval::{Cpu, Flow, Insn, Load, State, STACK_TOP, STACK_TOP_32};
use super::lifted::{self, Abi};
use crate::isa::x86::X86 as Lifter;
use crate::isa::{self, Lifter as _};

/// Most instructions scanned for the first return of a function not followed (32-bit x86).
const MAX_RET_SCAN: usize = 4096;

/// x86-64, and 32-bit x86 (`wide` false: 4-byte stack slots and addresses, cdecl's
/// caller-saved registers, and the `__x86.get_pc_thunk` calls of position-independent code).
pub(super) struct X86_64 {
    lifter: Lifter,
    wide: bool,
}

/// Caller-saved registers (System V).
const CLOBBERED: [&str; 9] = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"];
/// Caller-saved registers of 32-bit x86 (cdecl).
const CLOBBERED_32: [&str; 3] = ["eax", "ecx", "edx"];

impl X86_64 {
    pub(super) fn new(wide: bool) -> Result<Self, String> {
        Ok(X86_64 {
            lifter: Lifter::new(wide)?,
            wide,
        })
    }

    fn abi(&self) -> Abi {
        Abi {
            zero: None,
            word: self.slot() as usize,
            narrow: !self.wide,
        }
    }

    /// The size of a stack slot and of an address.
    fn slot(&self) -> u64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    fn wrap(&self, a: u64) -> u64 {
        if self.wide {
            a
        } else {
            a & 0xffff_ffff
        }
    }

    fn sp(&self) -> &'static str {
        self.lifter.sp()
    }

    /// Moves the stack pointer by `by` bytes.
    fn move_sp(&self, state: &mut State, by: i64) -> Option<u64> {
        let sp = state
            .get(self.sp())
            .map(|s| self.wrap((s as u64).wrapping_add(by as u64)));
        state.set(self.sp(), sp.map(u128::from));
        sp
    }

    /// The code at `target` as the evaluation sees it (at most 64 bytes).
    fn code_at(state: &State, image: &dyn Load, target: u64) -> Vec<u8> {
        (0..64u64)
            .map_while(|i| image.byte(state, target.wrapping_add(i)))
            .collect()
    }
}

impl Cpu for X86_64 {
    fn decode(&self, code: &[u8], address: u64, count: usize) -> Result<Vec<Insn>, String> {
        lifted::decode(&self.lifter, code, address, count)
    }

    fn step(&self, ins: &Insn, state: &mut State, image: &dyn Load) -> Result<Flow, String> {
        if !self.wide {
            let l = ins;
            if let isa::Flow::Call(target) = l.flow {
                // 32-bit PIC: a thunk that returns its return address, or a call to the next
                // instruction followed by a pop. Neither is a call to follow.
                if let Some(reg) = self.lifter.pc_thunk(&Self::code_at(state, image, target)) {
                    state.set(reg, Some(u128::from(l.next)));
                    return Ok(Flow::Next);
                }
                if target == l.next {
                    if let Some(sp) = self.move_sp(state, -4) {
                        state.store(sp, 4, Some(u128::from(l.next)));
                    }
                    return Ok(Flow::Next);
                }
            }
        }
        lifted::step(&self.abi(), self.sp(), ins, state, image)
    }

    fn result_register(&self) -> &'static str {
        if self.wide {
            "rax"
        } else {
            "eax"
        }
    }

    fn stack_register(&self) -> &'static str {
        self.sp()
    }

    fn stack_top(&self) -> u64 {
        if self.wide {
            STACK_TOP
        } else {
            STACK_TOP_32
        }
    }

    fn pinned_registers(&self) -> &'static [&'static str] {
        if self.wide {
            &[]
        } else {
            &["ebx"]
        }
    }

    fn callee_pops(&self, state: &mut State, image: &dyn Load, target: u64) {
        if self.wide {
            return;
        }
        // The callee's first return, in address order: every return of a function pops
        // the same, so the first says what the call does to the stack.
        let mut pc = target;
        for _ in 0..MAX_RET_SCAN {
            let Some(l) = self.lifter.lift(&Self::code_at(state, image, pc), pc) else {
                return;
            };
            if let isa::Flow::Ret { pop, .. } = l.flow {
                if pop != 0 {
                    self.move_sp(state, pop as i64);
                }
                return;
            }
            pc = l.next;
        }
    }

    fn enter_call(&self, state: &mut State, ret_addr: u64) {
        let slot = self.slot();
        if let Some(sp) = self.move_sp(state, -(slot as i64)) {
            state.store(sp, slot as usize, Some(u128::from(ret_addr)));
        }
    }

    fn leave_call(&self, state: &mut State) {
        self.move_sp(state, self.slot() as i64);
    }

    fn clobber(&self, state: &mut State) {
        if self.wide {
            state.forget(CLOBBERED);
        } else {
            state.forget(CLOBBERED_32);
        }
        state.forget((0..16).map(|i| format!("xmm{i}")));
    }
}
