//! PowerPC conventions: PPC64 ELFv2, PPC64 ELFv1, PPC32 SysV.

use super::model::{
    ArgAllocation, Cleanup, Convention, Reserved, Sret, SretLocation, StackArgs, StackOrder,
    Variadic, VariadicKind,
};

const R_ARGS: &[&str] = &["r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"];
const PPC64_CALLEE_SAVED: &[&str] = &[
    "r14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25", "r26",
    "r27", "r28", "r29", "r30", "r31", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21",
    "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "v20", "v21", "v22",
    "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cr2", "cr3", "cr4",
];
const PPC64_CALLER_SAVED: &[&str] = &[
    "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "ctr", "cr0", "cr1",
    "cr5", "cr6", "cr7", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11",
    "f12", "f13", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
    "v13", "v14", "v15", "v16", "v17", "v18", "v19",
];

/// PPC64 ELFv2 (ppc64le Linux). Source: `[ELFV2]` ch. 2 "Function Calling Sequence".
pub const ELFV2: Convention = Convention {
    id: "ppc64-elfv2",
    name: "PPC64 ELFv2",
    arch: "powerpc64",
    platforms: &["linux-ppc64le", "linux-musl-ppc64", "freebsd-13+"],
    typical_use: "default C convention on little-endian POWER Linux (ppc64le)",
    is_calling_convention: true,
    int_args: R_ARGS,
    float_args: &[
        "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13",
    ],
    vector_args: &[
        "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
    ],
    arg_allocation: ArgAllocation::SharedSlots,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 32,
        register_args_have_slots: true,
        align_8byte_values: false,
    },
    int_return: &["r3"],
    int_return_pair: &["r3", "r4"],
    float_return: &["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "r3" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: PPC64_CALLEE_SAVED,
    partially_saved: &[],
    caller_saved: PPC64_CALLER_SAVED,
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 288,
    shadow_space: 32,
    stack_pointer: "r1",
    frame_pointer: Some("r31"),
    link_register: Some("lr"),
    reserved: &[
        Reserved { reg: "r2", role: "TOC pointer: non-volatile within a module, restored after cross-module calls" },
        Reserved { reg: "r12", role: "function entry address at the global entry point" },
        Reserved { reg: "r13", role: "thread pointer" },
    ],
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "unnamed arguments go in r3-r10 then the parameter save area, never FPRs/VRs; the caller must allocate the parameter save area",
    },
    source: "[ELFV2] ch. 2 Function Calling Sequence (Register Roles, Parameter Passing Register Selection Algorithm, Parameter Save Area, Protected Zone), ch. 3 Symbol Values",
    notes: "every argument consumes a parameter doubleword, so an FP argument in f1 also uses up r3's position; stack arguments at r1+32+8*slot; LR saved at 16(r1) of the caller's frame",
};

/// PPC64 ELFv1 (big-endian ppc64 Linux). Source: `[LLVM-PPCCC]`, `[LLVM-PPCFL]`,
/// `[CLANG-PPC]` (the ELFv1 supplement was not opened).
pub const ELFV1: Convention = Convention {
    id: "ppc64-elfv1",
    name: "PPC64 ELFv1",
    platforms: &["linux-ppc64", "freebsd-12", "aix-like"],
    typical_use: "classic big-endian POWER Linux with function descriptors (.opd)",
    int_return_pair: &["r3"],
    float_return: &["f1"],
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 48,
        register_args_have_slots: true,
        align_8byte_values: false,
    },
    shadow_space: 112,
    source: "[LLVM-PPCCC] CC_PPC64_ELF_FIS, CSR_PPC64; [LLVM-PPCFL] computeLinkageSize, computeTOCSaveOffset; [CLANG-PPC]",
    notes: "symbols point to .opd descriptors {entry, TOC, env}; 48-byte frame header with TOC save at 40(r1); parameter save area (>= 64 bytes) always allocated; all aggregates returned via hidden pointer",
    ..ELFV2
};

/// PPC32 SysV. Source: `[LLVM-PPCCC]` `CC_PPC32_SVR4_Common`, `CSR_SVR432`;
/// `[LLVM-PPCFL]`, `[LLVM-PPCRI]` (the SVR4 supplement was not opened).
pub const PPC32_SYSV: Convention = Convention {
    id: "ppc32-sysv",
    name: "PPC32 System V",
    arch: "powerpc",
    platforms: &["linux-ppc", "embedded"],
    typical_use: "32-bit PowerPC Linux and embedded systems",
    is_calling_convention: true,
    int_args: R_ARGS,
    float_args: &["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"],
    vector_args: &[
        "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
    ],
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 4,
        area_offset: 8,
        register_args_have_slots: false,
        align_8byte_values: true,
    },
    int_return: &["r3"],
    int_return_pair: &["r3", "r4"],
    float_return: &["f1"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "r3" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: &[
        "r14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25", "r26",
        "r27", "r28", "r29", "r30", "r31", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21",
        "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "cr2", "cr3", "cr4",
    ],
    partially_saved: &[],
    caller_saved: &[
        "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "ctr", "cr0",
        "cr1", "cr5", "cr6", "cr7", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
        "f10", "f11", "f12", "f13",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 0,
    shadow_space: 8,
    stack_pointer: "r1",
    frame_pointer: Some("r31"),
    link_register: Some("lr"),
    reserved: &[
        Reserved { reg: "r2", role: "system reserved (thread pointer on Linux)" },
        Reserved { reg: "r13", role: "small-data area pointer" },
    ],
    variadic: Variadic {
        kind: VariadicKind::Cr6Flag,
        note: "the caller sets CR bit 6 (creqv 6,6,6) when FP arguments are in FPRs and clears it (crxor 6,6,6) otherwise",
    },
    source: "[LLVM-PPCCC] CC_PPC32_SVR4_Common, CSR_SVR432; [LLVM-PPCFL] computeLinkageSize, computeReturnSaveOffset; [LLVM-PPCRI]; LLVM PPCInstrInfo.td CR6SET/CR6UNSET",
    notes: "64-bit integers in odd/even register pairs starting at an odd register (r3:r4, r5:r6, ...); aggregates by reference; LR saved at 4(r1) of the caller's frame; +v20-v31 callee-saved with AltiVec",
};
