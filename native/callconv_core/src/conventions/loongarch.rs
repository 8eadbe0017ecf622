//! LoongArch64 LP64D. capstone 0.14 has no LoongArch support, so these register names follow
//! the LAPCS ABI names (`a0`, `s0`, `fp`, `fa0`, `fs0`, …) and cannot be checked against
//! capstone.

use super::model::{
    ArgAllocation, Cleanup, Convention, Reserved, Sret, SretLocation, StackArgs, StackOrder,
    Variadic, VariadicKind,
};

/// LoongArch64 LP64D. Source: `[LAPCS]` "The registers", "Passing arguments", "Returning",
/// "The stack", "Variadic arguments"; `[LLVM-LACC]`.
pub const LP64D: Convention = Convention {
    id: "loongarch64-lp64d",
    name: "LoongArch64 LP64D",
    arch: "loongarch64",
    platforms: &["linux"],
    typical_use: "default C convention on LoongArch64 Linux (Loongson 3A5000+)",
    is_calling_convention: true,
    int_args: &["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"],
    float_args: &["fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7"],
    vector_args: &[],
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 0,
        register_args_have_slots: false,
        align_8byte_values: false,
    },
    int_return: &["a0"],
    int_return_pair: &["a0", "a1"],
    float_return: &["fa0", "fa1"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "a0" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: &[
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "fp", "fs0", "fs1", "fs2", "fs3",
        "fs4", "fs5", "fs6", "fs7",
    ],
    partially_saved: &[],
    caller_saved: &[
        "ra", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t0", "t1", "t2", "t3", "t4", "t5",
        "t6", "t7", "t8", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7", "ft0", "ft1",
        "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "ft8", "ft9", "ft10", "ft11", "ft12", "ft13",
        "ft14", "ft15",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "sp",
    frame_pointer: Some("fp"),
    link_register: Some("ra"),
    reserved: &[
        Reserved { reg: "tp", role: "thread pointer (non-allocatable)" },
        Reserved { reg: "r21", role: "reserved (non-allocatable)" },
    ],
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "variadic arguments never go in FP registers; 2xGRLEN-aligned ones take an even/odd register pair",
    },
    source: "[LAPCS] The registers, Passing arguments, Returning, The stack, Variadic arguments; [LLVM-LACC] CSR_ILP32D_LP64D",
    notes: "fp is $r22 (s9); s0-s8 are $r23-$r31; fs0-fs7 are $f24-$f31",
};
