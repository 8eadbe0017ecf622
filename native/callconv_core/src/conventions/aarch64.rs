//! AArch64 conventions: AAPCS64 and its Apple and Windows variants.

use super::model::{
    ArgAllocation, Cleanup, Convention, PartialSave, Reserved, Sret, SretLocation, StackArgs,
    StackOrder, Variadic, VariadicKind,
};

const V_ARGS: &[&str] = &["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"];
const PARTIAL: &[PartialSave] = &[
    PartialSave {
        reg: "v8",
        preserved_bits: 64,
        preserved_view: "d8",
    },
    PartialSave {
        reg: "v9",
        preserved_bits: 64,
        preserved_view: "d9",
    },
    PartialSave {
        reg: "v10",
        preserved_bits: 64,
        preserved_view: "d10",
    },
    PartialSave {
        reg: "v11",
        preserved_bits: 64,
        preserved_view: "d11",
    },
    PartialSave {
        reg: "v12",
        preserved_bits: 64,
        preserved_view: "d12",
    },
    PartialSave {
        reg: "v13",
        preserved_bits: 64,
        preserved_view: "d13",
    },
    PartialSave {
        reg: "v14",
        preserved_bits: 64,
        preserved_view: "d14",
    },
    PartialSave {
        reg: "v15",
        preserved_bits: 64,
        preserved_view: "d15",
    },
];

/// AAPCS64 (Linux/ELF, Android, BSD). Source: `[AAPCS64]` "General-purpose Registers",
/// "SIMD and Floating-Point registers", "Parameter passing", "Result return".
pub const AAPCS64: Convention = Convention {
    id: "aarch64-aapcs64",
    name: "AAPCS64",
    arch: "aarch64",
    platforms: &["linux", "android", "freebsd"],
    typical_use: "default C convention on 64-bit Arm Linux/Android/BSD (how the BEAM calls a NIF there)",
    is_calling_convention: true,
    int_args: &["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"],
    float_args: &["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"],
    vector_args: V_ARGS,
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 0,
        register_args_have_slots: false,
        align_8byte_values: false,
    },
    int_return: &["x0"],
    int_return_pair: &["x0", "x1"],
    float_return: &["d0", "d1", "d2", "d3"],
    sret: Sret {
        location: SretLocation::DedicatedRegister { reg: "x8" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: &[
        "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "fp", "d8", "d9",
        "d10", "d11", "d12", "d13", "d14", "d15",
    ],
    partially_saved: PARTIAL,
    caller_saved: &[
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "x17", "x18", "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7",
        "q16", "q17", "q18", "q19", "q20", "q21", "q22", "q23", "q24", "q25", "q26", "q27",
        "q28", "q29", "q30", "q31",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "sp",
    frame_pointer: Some("fp"),
    link_register: Some("lr"),
    reserved: &[
        Reserved { reg: "x16", role: "IP0: may be clobbered by veneers and PLT code" },
        Reserved { reg: "x17", role: "IP1: may be clobbered by veneers and PLT code" },
        Reserved { reg: "x18", role: "platform register; ordinary caller-saved on generic Linux" },
    ],
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "anonymous arguments are passed like named ones; va_start spills x0-x7 and q0-q7 to save areas",
    },
    source: "[AAPCS64] General-purpose Registers, SIMD and Floating-Point registers, Parameter passing, Result return, APPENDIX Variable argument lists; [LLVM-A64CC] CSR_AArch64_AAPCS",
    notes: "x29 (capstone: fp) and x30 (capstone: lr); only the low 64 bits (d8-d15) of v8-v15 are callee-saved; sret pointer in x8 need not be returned",
};

/// Apple arm64 (DarwinPCS). Source: `[APPLE-A64]`, `[LLVM-A64CC]` `CC_AArch64_DarwinPCS`,
/// `[LLDB-MACA64]`.
pub const APPLE: Convention = Convention {
    id: "aarch64-apple",
    name: "Apple arm64 (DarwinPCS)",
    platforms: &["macos", "ios"],
    typical_use: "default C convention on Apple silicon macOS and iOS",
    caller_saved: &[
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "x17", "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q16",
        "q17", "q18", "q19", "q20", "q21", "q22", "q23", "q24", "q25", "q26", "q27", "q28",
        "q29", "q30", "q31",
    ],
    red_zone: 128,
    reserved: &[
        Reserved { reg: "x18", role: "reserved by the platform; must not be used" },
        Reserved { reg: "x16", role: "IP0: may be clobbered by stubs" },
        Reserved { reg: "x17", role: "IP1: may be clobbered by stubs" },
    ],
    variadic: Variadic {
        kind: VariadicKind::AnonymousOnStack,
        note: "named arguments as usual; every anonymous argument goes on the stack in an 8-byte slot",
    },
    source: "[APPLE-A64] Writing ARM64 code for Apple platforms; [LLVM-A64CC] CC_AArch64_DarwinPCS, CC_AArch64_DarwinPCS_VarArg; [LLDB-MACA64] GetRedZoneSize",
    notes: "stack arguments take their natural size (no 8-byte minimum); callers extend narrow integers to 32 bits; x29 must always address a valid frame record",
    ..AAPCS64
};

/// Windows on Arm64. Source: `[MS-ARM64]`, `[LLVM-A64CC]` `CC_AArch64_Win64PCS`.
pub const WINDOWS: Convention = Convention {
    id: "aarch64-win",
    name: "Windows arm64",
    platforms: &["windows"],
    typical_use: "default C convention on Windows on Arm (64-bit)",
    caller_saved: APPLE.caller_saved,
    red_zone: 16,
    reserved: &[
        Reserved { reg: "x18", role: "TEB pointer (user mode) / KPCR (kernel); must not be modified" },
        Reserved { reg: "x16", role: "IP0: may be clobbered by veneers" },
        Reserved { reg: "x17", role: "IP1: may be clobbered by veneers" },
        Reserved { reg: "x15", role: "__chkstk argument (allocation size / 16)" },
    ],
    variadic: Variadic {
        kind: VariadicKind::IntegerRegistersOnly,
        note: "the first 64 bytes of the argument list go in x0-x7 (floats bit-copied), the rest on the stack; no FP/SIMD registers",
    },
    source: "[MS-ARM64] Parameter passing, Return values, Addendum: Variadic functions, Red zone; [LLVM-A64CC] CSR_Win_AArch64_AAPCS",
    notes: "x29/x30 required as a frame record for stack walks; Microsoft lists lr as non-volatile; small C++ aggregates returned via x0/x1 sret",
    ..AAPCS64
};
