//! MIPS conventions: O32, N32, N64. The MIPS psABI documents were not opened; the facts come
//! from LLVM (`[LLVM-MIPSCC]`, `[LLVM-MIPSABI]`, `[LLVM-MIPSST]`, `[LLVM-MIPSSE]`).

use super::model::{
    ArgAllocation, Cleanup, Convention, Reserved, Sret, SretLocation, StackArgs, StackOrder,
    Variadic, VariadicKind,
};

const RESERVED: &[Reserved] = &[
    Reserved {
        reg: "gp",
        role: "global pointer; PIC code derives it from t9 at entry",
    },
    Reserved {
        reg: "t9",
        role: "holds the callee's address on entry to PIC functions",
    },
    Reserved {
        reg: "k0",
        role: "kernel reserved",
    },
    Reserved {
        reg: "k1",
        role: "kernel reserved",
    },
    Reserved {
        reg: "at",
        role: "assembler temporary",
    },
];

/// MIPS O32. Source: `[LLVM-MIPSCC]` `CC_MipsO32`, `CSR_O32`; `[LLVM-MIPSABI]`;
/// `[LLVM-MIPSST]`.
pub const O32: Convention = Convention {
    id: "mips-o32",
    name: "MIPS O32",
    arch: "mips",
    platforms: &["linux", "openwrt"],
    typical_use: "32-bit MIPS Linux (routers, OpenWrt)",
    is_calling_convention: true,
    int_args: &["a0", "a1", "a2", "a3"],
    float_args: &["f12", "f14"],
    vector_args: &[],
    arg_allocation: ArgAllocation::LeadingFloatsOnly,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 4,
        area_offset: 0,
        register_args_have_slots: true,
        align_8byte_values: true,
    },
    int_return: &["v0"],
    int_return_pair: &["v0", "v1"],
    float_return: &["f0", "f2"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "a0" },
        returned_in: Some("v0"),
        popped_by_callee: false,
    },
    callee_saved: &[
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "fp", "f20", "f21", "f22", "f23", "f24",
        "f25", "f26", "f27", "f28", "f29", "f30", "f31",
    ],
    partially_saved: &[],
    caller_saved: &[
        "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
        "t8", "t9", "gp", "ra", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10",
        "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 8,
    red_zone: 0,
    shadow_space: 16,
    stack_pointer: "sp",
    frame_pointer: Some("fp"),
    link_register: Some("ra"),
    reserved: RESERVED,
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "anonymous arguments use a0-a3 and the stack; the callee spills a0-a3 into the 16-byte home area",
    },
    source: "[LLVM-MIPSCC] CC_MipsO32, RetCC_MipsO32, CSR_O32; [LLVM-MIPSABI] GetCalleeAllocdArgSizeInBytes; [LLVM-MIPSST]",
    notes: "every argument owns a slot: the caller reserves 16 bytes for a0-a3, so the 5th word is at 16(sp); f12/f14 only for leading FP arguments; gp is not callee-saved (PIC callers reload it); s8 is spelled fp",
};

/// MIPS N64. Source: `[LLVM-MIPSCC]` `CC_MipsN`, `CSR_N64`, `CC_MipsN_VarArg`.
pub const N64: Convention = Convention {
    id: "mips64-n64",
    name: "MIPS N64",
    arch: "mips64",
    platforms: &["linux"],
    typical_use: "64-bit MIPS Linux (Octeon, Loongson 3 with MIPS ISA)",
    int_args: &["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3"],
    float_args: &["f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19"],
    arg_allocation: ArgAllocation::Positional,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 0,
        register_args_have_slots: false,
        align_8byte_values: false,
    },
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "a0" },
        returned_in: Some("v0"),
        popped_by_callee: false,
    },
    callee_saved: &[
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "gp", "fp", "f24", "f25", "f26", "f27",
        "f28", "f29", "f30", "f31",
    ],
    caller_saved: &[
        "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
        "t8", "t9", "ra", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11",
        "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23",
    ],
    stack_align: 16,
    shadow_space: 0,
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "anonymous arguments only in integer registers and the stack (floats bit-copied)",
    },
    source: "[LLVM-MIPSCC] CC_MipsN, RetCC_MipsN, CSR_N64, CC_MipsN_VarArg; [LLVM-MIPSST]",
    notes: "argument slot k uses the k-th integer register or f(12+k); $8-$11 are a4-a7 in the N64 ABI but capstone names them t0-t3; gp is callee-saved",
    ..O32
};

/// MIPS N32. Source: `[LLVM-MIPSCC]` `CSR_N32`.
pub const N32: Convention = Convention {
    id: "mips64-n32",
    name: "MIPS N32",
    platforms: &["linux-gnuabin32"],
    typical_use: "64-bit MIPS hardware with 32-bit pointers",
    callee_saved: &[
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "gp", "fp", "f20", "f22", "f24", "f26",
        "f28", "f30",
    ],
    caller_saved: &[
        "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
        "t8", "t9", "ra", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11",
        "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f21", "f23", "f25", "f27", "f29",
        "f31",
    ],
    source: "[LLVM-MIPSCC] CC_MipsN, CSR_N32; [LLVM-MIPSST]",
    notes: "as N64 with 32-bit pointers; only the even FPRs f20-f30 are callee-saved",
    ..N64
};
