//! SPARC conventions (register windows). The SPARC Compliance Definition and V9 ABI were not
//! opened; the facts come from `[LLVM-SPARC]`.
//!
//! Register arguments are named as the caller sees them (`o0`…); after the callee's `save`
//! the same values are in `i0`…. Callee-saved registers are preserved by the register window,
//! not by stores in the prologue.
//!
//! `%g2`–`%g4` are the ABI's application registers: LLVM allocates them unless told to reserve
//! them and preserves them across no call (its `CSR` is the window and `%sp`), and gcc does the
//! same by default (`-mapp-regs`), so a library may clobber them as it may `%g1`: they are
//! caller-saved here, as `%g5` is in 64-bit mode (reserved in 32-bit mode). `%g6`/`%g7` are
//! the system's.

use super::model::{
    ArgAllocation, Cleanup, Convention, Reserved, Sret, SretLocation, StackArgs, StackOrder,
    Variadic, VariadicKind,
};

const O_ARGS: &[&str] = &["o0", "o1", "o2", "o3", "o4", "o5"];
const WINDOW_SAVED: &[&str] = &[
    "i0", "i1", "i2", "i3", "i4", "i5", "fp", "i7", "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7",
];
const CALLER_SAVED: &[&str] = &[
    "o0", "o1", "o2", "o3", "o4", "o5", "o7", "g1", "g2", "g3", "g4", "f0", "f1", "f2", "f3", "f4",
    "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18",
    "f19", "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31",
];
/// V9 adds `%g5`, which the 32-bit ABI reserves.
const CALLER_SAVED_V9: &[&str] = &[
    "o0", "o1", "o2", "o3", "o4", "o5", "o7", "g1", "g2", "g3", "g4", "g5", "f0", "f1", "f2", "f3",
    "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17",
    "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29", "f30",
    "f31",
];

/// SPARC V8 (32-bit). Source: `[LLVM-SPARC]` `CC_Sparc32`, `LowerReturn_32`,
/// `getAdjustedFrameSize`, `getReservedRegs`.
pub const V8: Convention = Convention {
    id: "sparc-v8",
    name: "SPARC V8",
    arch: "sparc",
    platforms: &["linux", "solaris", "leon"],
    typical_use: "32-bit SPARC (LEON, legacy Solaris)",
    is_calling_convention: true,
    int_args: O_ARGS,
    float_args: &[],
    vector_args: &[],
    arg_allocation: ArgAllocation::IntegerOnly,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 4,
        area_offset: 68,
        register_args_have_slots: true,
        align_8byte_values: false,
    },
    int_return: &["o0"],
    int_return_pair: &["o0", "o1"],
    float_return: &["f0", "f1"],
    sret: Sret {
        location: SretLocation::CallerFrameWord { offset: 64 },
        returned_in: Some("o0"),
        popped_by_callee: false,
    },
    callee_saved: WINDOW_SAVED,
    partially_saved: &[],
    caller_saved: CALLER_SAVED,
    stack_cleanup: Cleanup::Caller,
    stack_align: 8,
    red_zone: 0,
    shadow_space: 92,
    stack_pointer: "sp",
    frame_pointer: Some("fp"),
    link_register: Some("o7"),
    reserved: &[
        Reserved { reg: "g0", role: "always zero" },
        Reserved { reg: "g5", role: "reserved in 32-bit mode" },
        Reserved { reg: "g6", role: "reserved for the system" },
        Reserved { reg: "g7", role: "thread pointer" },
        Reserved { reg: "sp", role: "%o6; the 64-byte window save area at %sp must stay valid" },
    ],
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "all arguments already use integer registers and the stack; the callee stores %i0-%i5 at %fp+68",
    },
    source: "[LLVM-SPARC] CC_Sparc32, RetCC_Sparc32, LowerReturn_32, getAdjustedFrameSize, getReservedRegs",
    notes: "register windows: save/restore rotate o* into i*; FP values in integer registers; struct return: buffer address at [%sp+64], an unimp word after the call, and the callee returns to %i7+12",
};

/// SPARC V9 (64-bit). Source: `[LLVM-SPARC]` `SparcCallingConv.td`, `RetCC_Sparc64`.
pub const V9: Convention = Convention {
    id: "sparc64-v9",
    name: "SPARC V9",
    arch: "sparc64",
    platforms: &["linux", "solaris"],
    typical_use: "64-bit SPARC (Solaris, Linux sparc64)",
    float_args: &[
        "f0", "f2", "f4", "f6", "f8", "f10", "f12", "f14", "f16", "f18", "f20", "f22", "f24", "f26",
        "f28", "f30",
    ],
    arg_allocation: ArgAllocation::Positional,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 2047 + 128,
        register_args_have_slots: true,
        align_8byte_values: false,
    },
    int_return_pair: &["o0", "o1", "o2", "o3"],
    float_return: &["f0", "f2", "f4", "f6"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "o0" },
        returned_in: None,
        popped_by_callee: false,
    },
    caller_saved: CALLER_SAVED_V9,
    stack_align: 16,
    shadow_space: 176,
    reserved: &[
        Reserved { reg: "g0", role: "always zero" },
        Reserved { reg: "g6", role: "reserved for the system" },
        Reserved { reg: "g7", role: "thread pointer" },
        Reserved { reg: "sp", role: "%o6, biased by 2047" },
    ],
    source: "[LLVM-SPARC] SparcCallingConv.td (CC_Sparc64, RetCC_Sparc64), getAdjustedFrameSize, getReservedRegs",
    notes: "stack bias 2047: the 128-byte window save area is at %sp+2047; argument slot k is at %sp+2047+128+8k; a double in slot k goes in %d(2k) (capstone f(2k)), a float in %f(2k+1); structs up to 32 bytes are returned in registers",
    ..V8
};
