//! Threaded code: the model's counterexample.

use super::model::{
    ArgAllocation, Cleanup, Convention, Variadic, VariadicKind, NO_SRET, NO_STACK_ARGS,
};

/// Threaded code (Forth-style inner interpreters) — **not a calling convention**.
///
/// A threaded program is a list of routine addresses; each primitive ends by fetching the next
/// address through a pinned instruction-pointer register and jumping to it (`NEXT`, e.g. i386
/// `lodsl; jmp *(%eax)`), so there is no call/return pair, no frame, no fixed argument or
/// return registers, and the machine stack pointer is used as a data stack. Such code freely
/// uses registers that the C ABI calls callee-saved and never returns through a link register
/// or a return address on the stack.
///
/// The entry exists so that an analysis can say "this exported symbol is not a C function at
/// all" instead of reporting dozens of convention violations: when an exported function has
/// no prologue, never returns and ends in indirect jumps through a register it advanced, it
/// matches this entry. Only the C-callable entry points of such a runtime follow the platform
/// C convention.
///
/// Source: `[BELL73]` J. R. Bell, "Threaded Code", CACM 16(6), 1973; `[DEWAR75]` R. B. K.
/// Dewar, "Indirect Threaded Code", CACM 18(6), 1975 (bibliographic); conventions reference
/// §13.
pub const THREADED_CODE: Convention = Convention {
    id: "threaded-code",
    name: "Threaded code (not a calling convention)",
    arch: "any",
    platforms: &["forth", "interpreters"],
    typical_use: "Forth inner interpreters and threaded VMs; marks code that is not a C function",
    is_calling_convention: false,
    int_args: &[],
    float_args: &[],
    vector_args: &[],
    arg_allocation: ArgAllocation::NotApplicable,
    stack_args: NO_STACK_ARGS,
    int_return: &[],
    int_return_pair: &[],
    float_return: &[],
    sret: NO_SRET,
    callee_saved: &[],
    partially_saved: &[],
    caller_saved: &[],
    stack_cleanup: Cleanup::NotApplicable,
    stack_align: 0,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "",
    frame_pointer: None,
    link_register: None,
    reserved: &[],
    variadic: Variadic {
        kind: VariadicKind::NotApplicable,
        note: "no calls, hence no variadic calls",
    },
    source: "[BELL73]; [DEWAR75]; conventions reference §13 (\"Threaded code\" — not a C calling convention)",
    notes: "no fixed argument registers; no return through a link register or the stack; dispatch by an indirect jump through a pinned IP register (NEXT); the machine stack is a data stack",
};
