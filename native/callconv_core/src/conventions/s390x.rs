//! s390x (z/Architecture) ELF ABI.
//!
//! capstone 0.14 spells the general registers as bare numbers (`"2"` is %r2).

use super::model::{
    ArgAllocation, Cleanup, Convention, PartialSave, Reserved, Sret, SretLocation, StackArgs,
    StackOrder, Variadic, VariadicKind,
};

/// s390x ELF ABI. Source: `[S390ABI]` "Function-Calling Sequence" (Register Preservation
/// Rules, Parameter Passing, Return Values, The Stack Frame, Register Save Area).
pub const ELF: Convention = Convention {
    id: "s390x-elf",
    name: "s390x ELF ABI",
    arch: "s390x",
    platforms: &["linux"],
    typical_use: "Linux on IBM Z",
    is_calling_convention: true,
    int_args: &["2", "3", "4", "5", "6"],
    float_args: &["f0", "f2", "f4", "f6"],
    vector_args: &["v24", "v26", "v28", "v30", "v25", "v27", "v29", "v31"],
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 160,
        register_args_have_slots: false,
        align_8byte_values: false,
    },
    int_return: &["2"],
    int_return_pair: &["2"],
    float_return: &["f0"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "2" },
        returned_in: None,
        popped_by_callee: false,
    },
    callee_saved: &[
        "6", "7", "8", "9", "10", "11", "12", "13", "f8", "f9", "f10", "f11", "f12", "f13", "f14",
        "f15",
    ],
    partially_saved: &[
        PartialSave { reg: "v8", preserved_bits: 64, preserved_view: "f8" },
        PartialSave { reg: "v9", preserved_bits: 64, preserved_view: "f9" },
        PartialSave { reg: "v10", preserved_bits: 64, preserved_view: "f10" },
        PartialSave { reg: "v11", preserved_bits: 64, preserved_view: "f11" },
        PartialSave { reg: "v12", preserved_bits: 64, preserved_view: "f12" },
        PartialSave { reg: "v13", preserved_bits: 64, preserved_view: "f13" },
        PartialSave { reg: "v14", preserved_bits: 64, preserved_view: "f14" },
        PartialSave { reg: "v15", preserved_bits: 64, preserved_view: "f15" },
    ],
    caller_saved: &[
        "0", "1", "2", "3", "4", "5", "14", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "v16",
        "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29",
        "v30", "v31",
    ],
    stack_cleanup: Cleanup::Caller,
    stack_align: 8,
    red_zone: 0,
    shadow_space: 160,
    stack_pointer: "15",
    frame_pointer: Some("11"),
    link_register: Some("14"),
    reserved: &[
        Reserved { reg: "a0", role: "thread pointer (high half)" },
        Reserved { reg: "a1", role: "thread pointer (low half)" },
        Reserved { reg: "0", role: "may be clobbered by PLT code" },
        Reserved { reg: "1", role: "may be clobbered by PLT code" },
        Reserved { reg: "12", role: "commonly the GOT pointer" },
        Reserved { reg: "13", role: "commonly the literal-pool pointer" },
    ],
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "as if the prototype listed the actual arguments, except that anonymous vector arguments go to the parameter area",
    },
    source: "[S390ABI] Register Preservation Rules, Parameter Passing, Return Values, The Stack Frame, Register Save Area, Variable Argument Lists; [LLVM-S390CC] CSR_SystemZ_ELF",
    notes: "r6 carries the 5th argument but is callee-saved; the caller's frame starts with a 160-byte register save area (stmg %r6,%r15,48(%r15)); stack arguments at 160(%r15); f8-f15 are the left 64 bits of v8-v15",
};
