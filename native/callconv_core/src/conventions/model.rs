//! The data types of the calling-convention model.
//!
//! Every convention is a `const` [`Convention`] value built from `'static` data, so the whole
//! table lives in read-only memory, needs no initialisation and cannot fail. The types derive
//! [`Serialize`] so the table can be exported as JSON ([`super::to_json`]); they do not derive
//! `Deserialize` because they borrow `'static` strings.
//!
//! Register names are spelled exactly as capstone 0.14 (`Capstone::reg_name`) spells them for
//! the convention's architecture, so a register read from a disassembled instruction can be
//! compared with the model by string equality. A few consequences of that rule:
//!
//! * AArch64: x29 is `fp` and x30 is `lr` (capstone has no `x29`/`x30` names).
//! * 32-bit Arm: r9 is `sb`, r10 `sl`, r11 `fp`, r12 `ip`, r13 `sp`, r14 `lr`.
//! * s390x: general registers are bare numbers (`"2"` is r2); FPRs are `f0`…, access registers
//!   `a0`….
//! * SPARC: %o6 is `sp`, %i6 is `fp`; there are no `o6`/`i6` names.
//! * MIPS: ABI names without `$` (`a0`, `s0`, `fp` for s8/$30, `ra`, `gp`, `t9`).
//! * LoongArch is not supported by capstone 0.14; its names follow the LAPCS ABI names.

use serde::Serialize;

/// Who removes stack-passed arguments after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    /// The caller pops (or reuses) the argument area; the callee returns with a plain return.
    Caller,
    /// The callee pops its stack arguments (x86 `ret N`).
    Callee,
    /// Not applicable (threaded code has no call/return pairs).
    NotApplicable,
}

/// How argument registers are assigned to a list of scalar arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgAllocation {
    /// Separate counters: integers take the next integer register, FP values the next FP
    /// register (System V x86-64, AAPCS64, RISC-V hard-float, AAPCS-VFP, s390x, PPC32, …).
    /// An empty `float_args` list means FP values go on the stack (x86 32-bit conventions).
    Independent,
    /// One counter over argument positions: the k-th argument uses `int_args[k]` or
    /// `float_args[k]` and the other register of that position stays unused (Win64,
    /// x64 vectorcall, MIPS N32/N64, SPARC V9).
    Positional,
    /// FP registers have their own counter, but every argument also consumes the next
    /// integer-register slot (PPC64 ELFv1/ELFv2 parameter doublewords).
    SharedSlots,
    /// No FP argument registers: FP values are passed like integers of the same size in
    /// integer registers and then on the stack (Arm base AAPCS, RISC-V lp64/ilp32/ilp32e,
    /// SPARC V8).
    IntegerOnly,
    /// MIPS O32: `float_args` are used only for leading FP arguments among the first two;
    /// everything else follows the integer rules over a0–a3 and the stack.
    LeadingFloatsOnly,
    /// Not a calling convention (threaded code).
    NotApplicable,
}

/// Order of stack-passed arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackOrder {
    /// The first stack argument is at the lowest address (x86 pushes right to left; RISC
    /// ABIs store into an outgoing area in the same layout).
    RightToLeft,
    /// Not applicable (threaded code).
    NotApplicable,
}

/// Where stack-passed arguments live, relative to the stack pointer at function entry
/// (before the callee's prologue; on x86 the return address is at offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StackArgs {
    /// Order of the arguments in memory.
    pub order: StackOrder,
    /// Size in bytes of one argument slot.
    pub slot_size: u32,
    /// Offset from the entry stack pointer of argument slot 0.
    pub area_offset: i64,
    /// If true, every argument (also register-passed ones) owns a slot in the area, so the
    /// argument at position p (counting slots) lives at `area_offset + p * slot_size`
    /// (Win64 home area, MIPS O32, PPC64 parameter save area, SPARC). If false, only
    /// stack-passed arguments have slots, numbered from 0.
    pub register_args_have_slots: bool,
    /// 8-byte values (double, 64-bit integers) on the stack are 8-byte aligned (32-bit Arm,
    /// MIPS O32, PPC32); otherwise slot-aligned.
    pub align_8byte_values: bool,
}

/// Where the hidden pointer to the caller's buffer for a large (memory-class) return value
/// is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SretLocation {
    /// In a register that is not an ordinary argument register (AArch64 x8), so the normal
    /// arguments do not shift.
    DedicatedRegister {
        /// Register holding the pointer.
        reg: &'static str,
    },
    /// As an implicit first argument in the first integer argument register; the other
    /// arguments shift by one.
    FirstArgument {
        /// Register holding the pointer.
        reg: &'static str,
    },
    /// As an implicit first argument on the stack (the lowest stack slot).
    FirstStackSlot {
        /// Offset from the entry stack pointer.
        offset: i64,
    },
    /// In a fixed word of the caller's frame (SPARC V8 `[%sp+64]`).
    CallerFrameWord {
        /// Offset from the caller's stack pointer.
        offset: i64,
    },
    /// Not applicable.
    None,
}

/// The hidden struct-return rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sret {
    /// Where the pointer is passed.
    pub location: SretLocation,
    /// Register in which the callee returns the pointer, if it must.
    pub returned_in: Option<&'static str>,
    /// Whether the callee pops the hidden stack slot itself (`ret $4` on System V i386).
    pub popped_by_callee: bool,
}

/// A register of which only part must be preserved by the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartialSave {
    /// The full architectural register (e.g. AArch64 `v8`, x86 `zmm6`).
    pub reg: &'static str,
    /// How many low-order bits are callee-saved.
    pub preserved_bits: u16,
    /// The register view that covers exactly the preserved bits (e.g. `d8`, `xmm6`); this view
    /// is what a conforming prologue saves, and it is also listed in `callee_saved`.
    pub preserved_view: &'static str,
}

/// A register with a fixed role that ordinary code must not use freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reserved {
    /// Register name.
    pub reg: &'static str,
    /// What the register is for.
    pub role: &'static str,
}

/// How variadic calls differ from ordinary calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VariadicKind {
    /// Anonymous arguments are passed exactly like named ones.
    SameAsNamed,
    /// System V x86-64: `al` holds an upper bound on the number of vector registers used.
    VectorCountInAl,
    /// Apple arm64: every anonymous argument goes on the stack in 8-byte slots.
    AnonymousOnStack,
    /// Win64: FP values are passed in the XMM register *and* duplicated in the matching GPR.
    FloatsDuplicatedInGprs,
    /// Anonymous (or all) arguments use integer registers and the stack only, never FP/vector
    /// registers (AAPCS-VFP falls back to the base standard, RISC-V, LoongArch, PPC64, MIPS,
    /// Windows arm64 (first 64 bytes in x0–x7)).
    IntegerRegistersOnly,
    /// PPC32 SysV: the caller sets CR bit 6 when FP arguments are in FPRs.
    Cr6Flag,
    /// The convention cannot be variadic; compilers fall back to the platform cdecl.
    FallsBackToCdecl,
    /// Variadic functions are rejected.
    NotAllowed,
    /// Not applicable.
    NotApplicable,
}

/// Variadic rule plus a one-line explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variadic {
    /// The kind of difference.
    pub kind: VariadicKind,
    /// Details.
    pub note: &'static str,
}

/// One calling convention (or, for `threaded-code`, the model's counterexample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Convention {
    /// Stable kebab-case id (`x86_64-sysv`, `aarch64-apple`, …).
    pub id: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Architecture in Rust `target_arch` spelling (`x86`, `x86_64`, `aarch64`, …).
    pub arch: &'static str,
    /// Platforms on which this is the default C convention, or where it is used.
    pub platforms: &'static [&'static str],
    /// What the convention is typically used for (shown in the chart).
    pub typical_use: &'static str,
    /// False only for the threaded-code counterexample.
    pub is_calling_convention: bool,
    /// Integer/pointer argument registers, in order.
    pub int_args: &'static [&'static str],
    /// FP argument registers, in order (empty if FP values never go in FP registers).
    pub float_args: &'static [&'static str],
    /// Vector argument registers when they differ from `float_args` (PPC64 AltiVec, s390x).
    pub vector_args: &'static [&'static str],
    /// How registers are assigned to a sequence of scalar arguments.
    pub arg_allocation: ArgAllocation,
    /// Stack-argument layout.
    pub stack_args: StackArgs,
    /// Register holding an integer/pointer return value.
    pub int_return: &'static [&'static str],
    /// Registers of a two-word (e.g. 128-bit, or 64-bit on 32-bit targets) integer return,
    /// low/first part first.
    pub int_return_pair: &'static [&'static str],
    /// Registers of FP return values, in order (x87 `st(0)` on i386).
    pub float_return: &'static [&'static str],
    /// Hidden struct-return pointer rule.
    pub sret: Sret,
    /// Registers (views) whose full contents the callee must preserve, GPRs then FP/SIMD.
    /// The stack pointer is always preserved and is listed in `stack_pointer`, not here.
    pub callee_saved: &'static [&'static str],
    /// Registers that are only partly callee-saved (their preserved view is in
    /// `callee_saved`).
    pub partially_saved: &'static [PartialSave],
    /// Registers the callee may clobber (argument, return and scratch registers), GPRs then
    /// FP/SIMD.
    pub caller_saved: &'static [&'static str],
    /// Who pops stack arguments.
    pub stack_cleanup: Cleanup,
    /// Stack-pointer alignment (bytes) at the call instruction.
    pub stack_align: u32,
    /// Bytes below the stack pointer that a function may use without allocating them.
    pub red_zone: u32,
    /// Bytes the caller must reserve above the return address / at the bottom of its
    /// outgoing area for the callee (Win64 home space 32, MIPS O32 16, s390x 160, PPC64
    /// ELFv2 header 32, ELFv1 header + save area 112, SPARC V8 92, V9 176).
    pub shadow_space: u32,
    /// The stack pointer register.
    pub stack_pointer: &'static str,
    /// Conventional frame-pointer register, if any.
    pub frame_pointer: Option<&'static str>,
    /// Register that receives the return address (`None`: it is pushed on the stack).
    pub link_register: Option<&'static str>,
    /// Special, reserved or platform registers.
    pub reserved: &'static [Reserved],
    /// How variadic calls differ.
    pub variadic: Variadic,
    /// Source of the facts (ABI document as tagged in the project's conventions reference).
    pub source: &'static str,
    /// Further remarks.
    pub notes: &'static str,
}

/// A stack layout with no arguments (threaded code) — shared helper.
pub(crate) const NO_STACK_ARGS: StackArgs = StackArgs {
    order: StackOrder::NotApplicable,
    slot_size: 0,
    area_offset: 0,
    register_args_have_slots: false,
    align_8byte_values: false,
};

/// An sret rule meaning "not applicable".
pub(crate) const NO_SRET: Sret = Sret {
    location: SretLocation::None,
    returned_in: None,
    popped_by_callee: false,
};
