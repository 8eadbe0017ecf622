//! RISC-V conventions (lp64, lp64f, lp64d, ilp32, ilp32f, ilp32d, ilp32e).
//!
//! Source for all: `[RVCC]` "Integer Register Convention", "Floating-Point Register
//! Convention", "Integer Calling Convention", "Hardware Floating-Point Calling Convention",
//! "ILP32E Calling Convention", "Named ABIs".

use super::model::{
    ArgAllocation, Cleanup, Convention, PartialSave, Reserved, Sret, SretLocation, StackArgs,
    StackOrder, Variadic, VariadicKind,
};

const A_REGS: &[&str] = &["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
const FA_REGS: &[&str] = &["fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7"];
const S_REGS: &[&str] = &[
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
];
const S_AND_FS_REGS: &[&str] = &[
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "fs0", "fs1", "fs2",
    "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
];
const CALLER_SAVED_HARD: &[&str] = &[
    "ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t3", "t4", "t5", "t6",
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fa0", "fa1", "fa2", "fa3", "fa4",
    "fa5", "fa6", "fa7", "ft8", "ft9", "ft10", "ft11",
];
const CALLER_SAVED_SOFT: &[&str] = &[
    "ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t3", "t4", "t5", "t6",
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];
const FS_LOW32: &[PartialSave] = &[
    PartialSave {
        reg: "fs0",
        preserved_bits: 32,
        preserved_view: "fs0",
    },
    PartialSave {
        reg: "fs1",
        preserved_bits: 32,
        preserved_view: "fs1",
    },
    PartialSave {
        reg: "fs2",
        preserved_bits: 32,
        preserved_view: "fs2",
    },
    PartialSave {
        reg: "fs3",
        preserved_bits: 32,
        preserved_view: "fs3",
    },
    PartialSave {
        reg: "fs4",
        preserved_bits: 32,
        preserved_view: "fs4",
    },
    PartialSave {
        reg: "fs5",
        preserved_bits: 32,
        preserved_view: "fs5",
    },
    PartialSave {
        reg: "fs6",
        preserved_bits: 32,
        preserved_view: "fs6",
    },
    PartialSave {
        reg: "fs7",
        preserved_bits: 32,
        preserved_view: "fs7",
    },
    PartialSave {
        reg: "fs8",
        preserved_bits: 32,
        preserved_view: "fs8",
    },
    PartialSave {
        reg: "fs9",
        preserved_bits: 32,
        preserved_view: "fs9",
    },
    PartialSave {
        reg: "fs10",
        preserved_bits: 32,
        preserved_view: "fs10",
    },
    PartialSave {
        reg: "fs11",
        preserved_bits: 32,
        preserved_view: "fs11",
    },
];
const RESERVED: &[Reserved] = &[
    Reserved {
        reg: "gp",
        role: "global pointer (unallocatable)",
    },
    Reserved {
        reg: "tp",
        role: "thread pointer (unallocatable)",
    },
    Reserved {
        reg: "t0",
        role: "link register of __riscv_save_N millicode; PLT scratch",
    },
    Reserved {
        reg: "t1",
        role: "PLT scratch",
    },
    Reserved {
        reg: "t2",
        role: "PLT scratch",
    },
    Reserved {
        reg: "t3",
        role: "PLT scratch",
    },
];
const HARD_VARIADIC: Variadic = Variadic {
    kind: VariadicKind::IntegerRegistersOnly,
    note: "variadic arguments follow the integer convention (never FP registers); 2xXLEN-aligned ones take an even register pair",
};

/// RISC-V LP64D (RV64G default). Source: `[RVCC]`.
pub const LP64D: Convention = Convention {
    id: "riscv64-lp64d",
    name: "RISC-V LP64D",
    arch: "riscv64",
    platforms: &["linux", "freebsd"],
    typical_use: "default C convention on 64-bit RISC-V Linux (RV64GC)",
    is_calling_convention: true,
    int_args: A_REGS,
    float_args: FA_REGS,
    vector_args: &[],
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 0,
        register_args_have_slots: false,
        align_8byte_values: true,
    },
    int_return: &["a0"],
    int_return_pair: &["a0", "a1"],
    float_return: &["fa0", "fa1"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "a0" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: S_AND_FS_REGS,
    partially_saved: &[],
    caller_saved: CALLER_SAVED_HARD,
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "sp",
    frame_pointer: Some("s0"),
    link_register: Some("ra"),
    reserved: RESERVED,
    variadic: HARD_VARIADIC,
    source: "[RVCC] Integer Register Convention, Floating-Point Register Convention, Integer Calling Convention, Hardware Floating-Point Calling Convention, Named ABIs",
    notes: "fs0-fs11 callee-saved up to ABI_FLEN = 64 bits; narrow integers sign-extended to XLEN by the caller",
};

/// RISC-V LP64F. Source: `[RVCC]` (fs registers preserved only up to ABI_FLEN = 32 bits).
pub const LP64F: Convention = Convention {
    id: "riscv64-lp64f",
    name: "RISC-V LP64F",
    platforms: &["embedded"],
    typical_use: "64-bit RISC-V with single-precision hardware float ABI",
    partially_saved: FS_LOW32,
    notes: "only floats go in fa0-fa7; doubles follow the integer convention; fs0-fs11 preserved only in their low 32 bits",
    ..LP64D
};

/// RISC-V LP64 (soft-float). Source: `[RVCC]` "Named ABIs".
pub const LP64: Convention = Convention {
    id: "riscv64-lp64",
    name: "RISC-V LP64",
    platforms: &["embedded"],
    typical_use: "64-bit RISC-V soft-float ABI; FP values in integer registers",
    float_args: &[],
    arg_allocation: ArgAllocation::IntegerOnly,
    float_return: &["a0", "a1"],
    callee_saved: S_REGS,
    caller_saved: CALLER_SAVED_SOFT,
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "all arguments already follow the integer convention",
    },
    notes: "no FP argument registers and no callee-saved FP registers (all f registers are temporaries)",
    ..LP64D
};

const RV32_STACK: StackArgs = StackArgs {
    order: StackOrder::RightToLeft,
    slot_size: 4,
    area_offset: 0,
    register_args_have_slots: false,
    align_8byte_values: true,
};

/// RISC-V ILP32D (RV32G default). Source: `[RVCC]`.
pub const ILP32D: Convention = Convention {
    id: "riscv32-ilp32d",
    name: "RISC-V ILP32D",
    arch: "riscv32",
    platforms: &["linux", "embedded"],
    typical_use: "32-bit RISC-V with double-precision hardware float ABI",
    stack_args: RV32_STACK,
    notes: "64-bit integers in register pairs (low half first) or split a7/stack",
    ..LP64D
};

/// RISC-V ILP32F. Source: `[RVCC]`.
pub const ILP32F: Convention = Convention {
    id: "riscv32-ilp32f",
    name: "RISC-V ILP32F",
    platforms: &["embedded"],
    typical_use: "32-bit RISC-V with single-precision hardware float ABI",
    stack_args: RV32_STACK,
    partially_saved: FS_LOW32,
    notes: "only floats go in fa0-fa7; fs0-fs11 preserved in their low 32 bits",
    ..ILP32D
};

/// RISC-V ILP32 (soft-float). Source: `[RVCC]`.
pub const ILP32: Convention = Convention {
    id: "riscv32-ilp32",
    name: "RISC-V ILP32",
    arch: "riscv32",
    platforms: &["embedded"],
    typical_use: "32-bit RISC-V soft-float ABI (microcontrollers)",
    stack_args: RV32_STACK,
    notes: "doubles travel in integer register pairs",
    ..LP64
};

/// RISC-V ILP32E (RV32E). Source: `[RVCC]` "ILP32E Calling Convention",
/// `[LLVM-RVCC]` `CSR_ILP32E_LP64E`.
pub const ILP32E: Convention = Convention {
    id: "riscv32-ilp32e",
    name: "RISC-V ILP32E",
    platforms: &["embedded"],
    typical_use: "RV32E embedded cores with 16 integer registers",
    int_args: &["a0", "a1", "a2", "a3", "a4", "a5"],
    callee_saved: &["s0", "s1"],
    caller_saved: &["ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5"],
    stack_align: 4,
    source: "[RVCC] ILP32E Calling Convention; [LLVM-RVCC] CSR_ILP32E_LP64E",
    notes: "only x0-x15 exist; a0-a5 carry arguments, s0-s1 are the only callee-saved registers; stack aligned to 4",
    ..ILP32
};
