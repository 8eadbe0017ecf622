//! x86 (32-bit) and x86-64 conventions.

use super::model::{
    ArgAllocation, Cleanup, Convention, PartialSave, Reserved, Sret, SretLocation, StackArgs,
    StackOrder, Variadic, VariadicKind,
};

const I386_CALLEE_SAVED: &[&str] = &["ebx", "esi", "edi", "ebp"];
const I386_CALLER_SAVED: &[&str] = &[
    "eax", "ecx", "edx", "st(0)", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
];
const I386_STACK: StackArgs = StackArgs {
    order: StackOrder::RightToLeft,
    slot_size: 4,
    area_offset: 4,
    register_args_have_slots: false,
    align_8byte_values: false,
};
const I386_RESERVED: &[Reserved] = &[
    Reserved {
        reg: "gs",
        role: "thread pointer segment (Linux)",
    },
    Reserved {
        reg: "fs",
        role: "TEB segment (Windows)",
    },
];
const CALLEE_POP_VARIADIC: Variadic = Variadic {
    kind: VariadicKind::FallsBackToCdecl,
    note: "a variadic function cannot pop its arguments; compilers compile it as cdecl (all arguments on the stack, caller pops)",
};

/// i386 cdecl, System V flavour. Source: `[LLVM-X86CC]` `CC_X86_32_C`, `[LLVM-X86CALL]`
/// `hasCalleePopSRet`, `[LLVM-X86ST]` (i386 psABI not opened).
pub const CDECL_SYSV: Convention = Convention {
    id: "x86-cdecl-sysv",
    name: "cdecl (System V i386)",
    arch: "x86",
    platforms: &["linux", "freebsd", "macos", "solaris"],
    typical_use: "default C convention of 32-bit Unix-like systems",
    is_calling_convention: true,
    int_args: &[],
    float_args: &[],
    vector_args: &["xmm0", "xmm1", "xmm2"],
    arg_allocation: ArgAllocation::Independent,
    stack_args: I386_STACK,
    int_return: &["eax"],
    int_return_pair: &["eax", "edx"],
    float_return: &["st(0)"],
    sret: Sret {
        location: SretLocation::FirstStackSlot { offset: 4 },
        returned_in: Some("eax"),
        popped_by_callee: true,
    },
    callee_saved: I386_CALLEE_SAVED,
    partially_saved: &[],
    caller_saved: I386_CALLER_SAVED,
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 0,
    shadow_space: 0,
    stack_pointer: "esp",
    frame_pointer: Some("ebp"),
    link_register: None,
    reserved: I386_RESERVED,
    variadic: Variadic {
        kind: VariadicKind::SameAsNamed,
        note: "all arguments are on the stack anyway",
    },
    source: "[LLVM-X86CC] CC_X86_32_C, RetCC_X86_32_C; [LLVM-X86CALL] hasCalleePopSRet; [LLVM-X86ST]; (exp) GCC 12 sret_fn ret $4",
    notes: "the callee pops the 4-byte hidden struct-return slot (ret $4) but nothing else; stack aligned to 16 on Linux/Darwin/Solaris (4 in the Linux kernel)",
};

/// i386 cdecl, MSVC flavour. Source: `[MS-ARGS]`, `[MS-CDECL]`, `[LLVM-X86CALL]`.
pub const CDECL_MSVC: Convention = Convention {
    id: "x86-cdecl-msvc",
    name: "__cdecl (Microsoft x86)",
    platforms: &["windows"],
    typical_use: "default C convention on 32-bit Windows",
    sret: Sret {
        location: SretLocation::FirstStackSlot { offset: 4 },
        returned_in: Some("eax"),
        popped_by_callee: false,
    },
    stack_align: 4,
    source: "[MS-ARGS]; [MS-CDECL]; [LLVM-X86CALL] hasCalleePopSRet (\"The MSVCabi does not pop the sret\"); [LLVM-X86ST]",
    notes: "8-byte structures return in edx:eax; the caller pops everything including the sret slot",
    ..CDECL_SYSV
};

/// `__stdcall` / `__attribute__((stdcall))`. Source: `[MS-STDCALL]`, `[LLVM-X86CALL]`.
pub const STDCALL: Convention = Convention {
    id: "x86-stdcall",
    name: "stdcall",
    platforms: &["windows"],
    typical_use: "Win32 API (WINAPI), COM on 32-bit Windows",
    sret: Sret {
        location: SretLocation::FirstStackSlot { offset: 4 },
        returned_in: Some("eax"),
        popped_by_callee: true,
    },
    stack_cleanup: Cleanup::Callee,
    stack_align: 4,
    variadic: CALLEE_POP_VARIADIC,
    source: "[MS-STDCALL]; [LLVM-X86CALL] X86::isCalleePop; (exp) std_fn ret $8",
    notes: "callee pops all stack arguments with ret N; decorated _name@N; return as the platform cdecl",
    ..CDECL_SYSV
};

/// `__fastcall`, MSVC flavour. Source: `[MS-FASTCALL]`, `[LLVM-X86CC]` `CC_X86_32_FastCall`.
pub const FASTCALL_MSVC: Convention = Convention {
    id: "x86-fastcall-msvc",
    name: "__fastcall (Microsoft)",
    int_args: &["ecx", "edx"],
    vector_args: &[],
    sret: Sret {
        location: SretLocation::FirstStackSlot { offset: 4 },
        returned_in: Some("eax"),
        popped_by_callee: true,
    },
    typical_use: "hand-optimised Win32 code; first two DWORD-or-smaller arguments in ecx, edx",
    source: "[MS-FASTCALL]; [LLVM-X86CC] CC_X86_32_FastCall; [CLANG-X86] getIndirectReturnResult",
    notes: "the first two DWORD-or-smaller arguments found left to right go in ecx, edx; structs, 64-bit ints and FP on the stack; sret on the stack inside the callee-popped area; decorated @name@N",
    ..STDCALL
};

/// `__attribute__((fastcall))`, GCC flavour. Source: `[GCC-X86ATTR]`.
pub const FASTCALL_GCC: Convention = Convention {
    id: "x86-fastcall-gcc",
    name: "fastcall (GCC)",
    platforms: &["linux", "windows"],
    typical_use: "GCC/MinGW code declared __attribute__((fastcall))",
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "ecx" },
        returned_in: Some("eax"),
        popped_by_callee: false,
    },
    source: "[GCC-X86ATTR] fastcall; (exp) fast_fn ret $4; sret in ecx observed with GCC 12 (test/fixtures/conventions)",
    notes: "first argument (if integral) in ecx, second (if integral) in edx; others on the stack; callee pops; GCC 12 passes the sret pointer as the first argument in ecx (observed: stores through ecx, plain ret), unlike MSVC/clang",
    ..FASTCALL_MSVC
};

/// `__thiscall`. Source: `[MS-THISCALL]`, `[GCC-X86ATTR]`, `[LLVM-X86CC]`.
pub const THISCALL: Convention = Convention {
    id: "x86-thiscall",
    name: "thiscall",
    int_args: &["ecx"],
    typical_use: "C++ member functions on 32-bit Windows (this in ecx)",
    source: "[MS-THISCALL]; [GCC-X86ATTR] thiscall; [LLVM-X86CC] CC_X86_32_ThisCall_Win; (exp) this_fn ret $4",
    notes: "this in ecx, other arguments on the stack, callee pops; MSVC passes sret on the stack and keeps this in ecx (MinGW: sret in ecx)",
    ..FASTCALL_MSVC
};

/// x86 `__vectorcall`. Source: `[MS-VECTORCALL]`, `[LLVM-X86CC]` `RetCC_X86_32_VectorCall`.
pub const VECTORCALL_X86: Convention = Convention {
    id: "x86-vectorcall",
    name: "__vectorcall (x86)",
    int_args: &["ecx", "edx"],
    float_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5"],
    vector_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5"],
    float_return: &["xmm0"],
    typical_use: "SIMD-heavy Windows code (DirectXMath); vectors in xmm0-xmm5",
    variadic: Variadic {
        kind: VariadicKind::NotAllowed,
        note: "vectorcall functions cannot be variadic",
    },
    source: "[MS-VECTORCALL] \"__vectorcall convention on x86\"; [LLVM-X86CC] RetCC_X86_32_VectorCall",
    notes: "integers as fastcall (ecx, edx); the first six vector-type arguments in order of appearance in xmm0-xmm5; callee pops; decorated name@@N",
    ..FASTCALL_MSVC
};

/// `regparm(3)`. Source: `[GCC-X86ATTR]` regparm, `[LLVM-X86CC]` `CC_X86_32_C`, `[LINUX-X86MK]`.
pub const REGPARM3: Convention = Convention {
    id: "x86-regparm3",
    name: "regparm(3)",
    platforms: &["linux-kernel"],
    int_args: &["eax", "edx", "ecx"],
    vector_args: &[],
    typical_use: "32-bit Linux kernel (-mregparm=3)",
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "eax" },
        returned_in: Some("eax"),
        popped_by_callee: false,
    },
    stack_align: 4,
    variadic: Variadic {
        kind: VariadicKind::FallsBackToCdecl,
        note: "variadic calls pass every argument on the stack",
    },
    source: "[GCC-X86ATTR] regparm; [LLVM-X86CC] CC_X86_32_C; [CLANG-X86] getIndirectReturnResult; [LINUX-X86MK]; (exp) rp_fn",
    notes: "first three integral arguments in eax, edx, ecx; the rest on the stack; caller pops; sret takes a register and is not popped",
    ..CDECL_SYSV
};

const SYSV64_CALLER_SAVED: &[&str] = &[
    "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3",
    "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
    "xmm15", "st(0)", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
];

/// System V AMD64. Source: `[X64ABI]` §3.2.1–3.2.3, §3.5.7.
pub const SYSV64: Convention = Convention {
    id: "x86_64-sysv",
    name: "System V AMD64",
    arch: "x86_64",
    platforms: &["linux", "macos", "freebsd", "solaris"],
    typical_use: "default C convention of 64-bit Unix-like systems (how the BEAM calls a NIF there)",
    is_calling_convention: true,
    int_args: &["rdi", "rsi", "rdx", "rcx", "r8", "r9"],
    float_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"],
    vector_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"],
    arg_allocation: ArgAllocation::Independent,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 8,
        register_args_have_slots: false,
        align_8byte_values: false,
    },
    int_return: &["rax"],
    int_return_pair: &["rax", "rdx"],
    float_return: &["xmm0", "xmm1"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "rdi" },
        returned_in: Some("rax"),
        popped_by_callee: false,
    },
    callee_saved: &["rbx", "rbp", "r12", "r13", "r14", "r15"],
    partially_saved: &[],
    caller_saved: SYSV64_CALLER_SAVED,
    stack_cleanup: Cleanup::Caller,
    stack_align: 16,
    red_zone: 128,
    shadow_space: 0,
    stack_pointer: "rsp",
    frame_pointer: Some("rbp"),
    link_register: None,
    reserved: &[
        Reserved { reg: "r10", role: "static chain pointer" },
        Reserved { reg: "r11", role: "scratch, free for PLT code" },
        Reserved { reg: "al", role: "variadic calls: upper bound on vector registers used" },
        Reserved { reg: "fs", role: "thread pointer segment" },
    ],
    variadic: Variadic {
        kind: VariadicKind::VectorCountInAl,
        note: "the caller sets al to an upper bound (0-8) on the vector registers used; the callee spills rdi..r9 and, if al != 0, xmm0-xmm7 to a 176-byte register save area",
    },
    source: "[X64ABI] §3.2.1 Registers, §3.2.2 The Stack Frame, §3.2.3 Parameter Passing, §3.5.7; [LLVM-X86CC] CSR_64",
    notes: "DF clear on entry and return; long double returns in st(0)",
};

const WIN64_CALLEE_SAVED: &[&str] = &[
    "rbx", "rbp", "rdi", "rsi", "r12", "r13", "r14", "r15", "xmm6", "xmm7", "xmm8", "xmm9",
    "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
];
const WIN64_PARTIAL: &[PartialSave] = &[
    PartialSave {
        reg: "zmm6",
        preserved_bits: 128,
        preserved_view: "xmm6",
    },
    PartialSave {
        reg: "zmm7",
        preserved_bits: 128,
        preserved_view: "xmm7",
    },
    PartialSave {
        reg: "zmm8",
        preserved_bits: 128,
        preserved_view: "xmm8",
    },
    PartialSave {
        reg: "zmm9",
        preserved_bits: 128,
        preserved_view: "xmm9",
    },
    PartialSave {
        reg: "zmm10",
        preserved_bits: 128,
        preserved_view: "xmm10",
    },
    PartialSave {
        reg: "zmm11",
        preserved_bits: 128,
        preserved_view: "xmm11",
    },
    PartialSave {
        reg: "zmm12",
        preserved_bits: 128,
        preserved_view: "xmm12",
    },
    PartialSave {
        reg: "zmm13",
        preserved_bits: 128,
        preserved_view: "xmm13",
    },
    PartialSave {
        reg: "zmm14",
        preserved_bits: 128,
        preserved_view: "xmm14",
    },
    PartialSave {
        reg: "zmm15",
        preserved_bits: 128,
        preserved_view: "xmm15",
    },
];

/// Microsoft x64. Source: `[MS-X64]`, `[MS-X64PE]`, `[MS-STACK]`.
pub const WIN64: Convention = Convention {
    id: "x86_64-win64",
    name: "Microsoft x64",
    platforms: &["windows", "uefi"],
    typical_use: "default C convention on 64-bit Windows and UEFI; ms_abi / extern \"win64\" elsewhere",
    int_args: &["rcx", "rdx", "r8", "r9"],
    float_args: &["xmm0", "xmm1", "xmm2", "xmm3"],
    vector_args: &[],
    arg_allocation: ArgAllocation::Positional,
    stack_args: StackArgs {
        order: StackOrder::RightToLeft,
        slot_size: 8,
        area_offset: 8,
        register_args_have_slots: true,
        align_8byte_values: false,
    },
    int_return_pair: &["rax"],
    float_return: &["xmm0"],
    sret: Sret {
        location: SretLocation::FirstArgument { reg: "rcx" },
        returned_in: Some("rax"),
        popped_by_callee: false,
    },
    callee_saved: WIN64_CALLEE_SAVED,
    partially_saved: WIN64_PARTIAL,
    caller_saved: &[
        "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
        "xmm5", "st(0)", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
    ],
    red_zone: 0,
    shadow_space: 32,
    reserved: &[Reserved { reg: "gs", role: "TEB segment" }],
    variadic: Variadic {
        kind: VariadicKind::FloatsDuplicatedInGprs,
        note: "normal positional assignment, but FP values are also copied into the matching integer register",
    },
    source: "[MS-X64] Parameter passing, Return values, Caller/callee saved registers; [MS-X64PE]; [MS-STACK]; [LLVM-X86CC] CSR_Win64",
    notes: "arguments by position (rcx/xmm0, rdx/xmm1, r8/xmm2, r9/xmm3); 32-byte home area above the return address, 5th argument at [rsp+40]; C++ methods: this in rcx, sret in rdx",
    ..SYSV64
};

/// x64 `__vectorcall`. Source: `[MS-VECTORCALL]` "__vectorcall convention on x64".
pub const VECTORCALL_X64: Convention = Convention {
    id: "x86_64-vectorcall",
    name: "__vectorcall (x64)",
    typical_use: "SIMD-heavy Windows x64 code; vector arguments by position in xmm0-xmm5",
    float_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5"],
    vector_args: &["xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5"],
    float_return: &["xmm0", "xmm1", "xmm2", "xmm3"],
    variadic: Variadic {
        kind: VariadicKind::NotAllowed,
        note: "vectorcall functions cannot be variadic",
    },
    source: "[MS-VECTORCALL] \"__vectorcall convention on x64\"; [LLVM-X86CC] RetCC_X86_64_Vectorcall",
    notes: "as Win64 but float/double/__m128 arguments among the first six positions go in xmm0-xmm5; HVA members fill unused xmm registers; caller pops",
    ..WIN64
};
