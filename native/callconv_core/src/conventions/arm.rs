//! 32-bit Arm (AArch32) conventions: AAPCS base (soft-float) and AAPCS-VFP (hard-float).

use super::model::{
    ArgAllocation, Cleanup, Convention, Reserved, Sret, SretLocation, StackArgs, StackOrder,
    Variadic, VariadicKind,
};

/// AAPCS base standard (soft-float calling convention, Debian "armel").
/// Source: `[AAPCS32]` "Core registers", "Parameter Passing", "Result Return".
pub const AAPCS: Convention = Convention {
    id: "arm-aapcs",
    name: "AAPCS (base, soft-float)",
    arch: "arm",
    platforms: &["linux-gnueabi", "android"],
    typical_use: "32-bit Arm soft-float ABI (armel); extern \"aapcs\"; FP values in core registers",
    is_calling_convention: true,
    int_args: &["r0", "r1", "r2", "r3"],
    float_args: &[],
    vector_args: &[],
    arg_allocation: ArgAllocation::IntegerOnly,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 4,
        area_offset: 0,
        register_args_have_slots: false,
        align_8byte_values: true,
    },
    int_return: &["r0"],
    int_return_pair: &["r0", "r1"],
    float_return: &["r0", "r1"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "r0" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: &[
        "r4", "r5", "r6", "r7", "r8", "sb", "sl", "fp", "d8", "d9", "d10", "d11", "d12", "d13",
        "d14", "d15",
    ],
    partially_saved: &[],
    caller_saved: &[
        "r0", "r1", "r2", "r3", "ip", "lr", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d16",
        "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28",
        "d29", "d30", "d31",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 8,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "sp",
    frame_pointer: Some("fp"),
    link_register: Some("lr"),
    reserved: &[
        Reserved { reg: "sb", role: "r9: platform register (callee-saved v6 on Linux; scratch on iOS)" },
        Reserved { reg: "ip", role: "r12: may be clobbered by veneers and PLT code" },
    ],
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "the base standard already passes everything in core registers and the stack",
    },
    source: "[AAPCS32] Core registers, Parameter Passing (rule C.3 even register pairs), Result Return, VFP register usage conventions; [LLVM-ARMCC] CSR_AAPCS",
    notes: "64-bit values in even/odd pairs (r0:r1, r2:r3); d8-d15 (s16-s31) callee-saved whenever VFP exists; r11 (capstone: fp) or r7 in Thumb code as frame pointer",
};

/// AAPCS-VFP (hard-float, Debian "armhf"). Source: `[AAPCS32]` "VFP co-processor register
/// candidates", rules C.1.vfp/C.2.vfp.
pub const AAPCS_VFP: Convention = Convention {
    id: "arm-aapcs-vfp",
    name: "AAPCS-VFP (hard-float)",
    platforms: &["linux-gnueabihf", "windows"],
    typical_use: "32-bit Arm hard-float ABI (armhf, Raspberry Pi OS, Windows on Arm32)",
    float_args: &["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"],
    vector_args: &["q0", "q1", "q2", "q3"],
    arg_allocation: ArgAllocation::Independent,
    float_return: &["d0", "d1", "d2", "d3"],
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "a variadic function is always marshalled as the base standard: FP values in core registers and on the stack",
    },
    source: "[AAPCS32] VFP co-processor register candidates, Parameter passing C.1.vfp-C.2.vfp, Result return; [LLVM-ARMCC] CC_ARM_AAPCS_VFP",
    notes: "floats in s0-s15 and doubles in d0-d7 with back-filling; callee-saved set unchanged from the base standard",
    ..AAPCS
};
