//! The instruction layer: one lifter per architecture decodes machine code (through
//! capstone) into one small architecture-neutral form: what an instruction reads and writes,
//! how it moves values between registers and stack slots, and where control goes. The
//! analysis engine and entry decoding (`nif_init`'s evaluation) run on it (see
//! docs/design/engine.md).

pub(crate) mod aarch64;
pub(crate) mod arm;
pub(crate) mod features;
pub(crate) mod loongarch;
pub(crate) mod mips;
pub(crate) mod ppc64;
pub(crate) mod riscv;
pub(crate) mod s390x;
pub(crate) mod sparc;
pub(crate) mod x86;
pub(crate) mod x86_iced;

use crate::platform::Arch;

/// How one instruction moves values (applied in order; registers the instruction writes that
/// no effect defines become unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fx {
    /// `dst := src`.
    Copy { dst: String, src: String },
    /// `dst := src + imm` (stack and constant arithmetic).
    AddImm { dst: String, src: String, imm: i64 },
    /// `dst := a + (b << shift)` (jump-table targets).
    AddRegs {
        dst: String,
        a: String,
        b: String,
        shift: u8,
    },
    /// `dst := a + (extend(b) << shift)`, `extend` keeping the low `bits` of `b` and
    /// widening them signed or not (AArch64 `add x3, x0, w3, sxtb #2`: a table of signed
    /// byte offsets).
    AddExtended {
        dst: String,
        a: String,
        b: String,
        shift: u8,
        bits: u8,
        signed: bool,
    },
    /// `dst := value`.
    Const { dst: String, value: u64 },
    /// `mem[base + disp] := src`, the low `size` bytes of `src` (1, 2, 4, 8 or 16; a
    /// vector register's whole 16 bytes where the instruction copies them).
    Store {
        src: String,
        base: String,
        disp: i64,
        size: u8,
    },
    /// `mem[base + disp] := value` (x86 `push imm`, `mov [m], imm`).
    StoreConst { value: u64, base: String, disp: i64 },
    /// `mem[base + disp] := value`, `size` bytes narrower than a stack slot (x86 `mov dword
    /// [m], imm` in 64-bit code, `mov byte [m], imm`). The analysis, which tracks whole slots,
    /// takes it as [`Fx::StoreUnknown`]; the Rustler evaluator writes the bytes.
    StoreImm {
        value: u64,
        base: String,
        disp: i64,
        size: u8,
    },
    /// `mem[base + disp] :=` a value not followed (x86 `push [base + index * scale]`).
    StoreUnknown { base: String, disp: i64 },
    /// `mem[base + disp] := mem[from + from_disp]` (x86 `push [m]`).
    CopyMem {
        from: String,
        from_disp: i64,
        base: String,
        disp: i64,
    },
    /// `dst := mem[base + disp]` of `size` bytes, sign- or zero-extended to the register.
    /// An empty `base` here and in [`Fx::Store`] is an absolute address, `disp` (x86
    /// RIP-relative and absolute operands, an Arm literal pool, s390x `lgrl`, POWER10 `pld`):
    /// entry decoding reads those through the image's relocated pointers; the analysis,
    /// which follows stack slots, skips them (the register becomes unknown).
    Load {
        dst: String,
        base: String,
        disp: i64,
        size: u8,
        signed: bool,
    },
    /// `dst := mem[base + index * scale + disp]` of `size` bytes: a jump-table read.
    LoadIndexed {
        dst: String,
        base: String,
        disp: i64,
        size: u8,
        signed: bool,
    },
    /// `dst := src & -align` (stack realignment).
    Align {
        dst: String,
        src: String,
        align: u64,
    },
    /// `dst := a - b` (a stack adjustment by a register: frames over 4 KiB).
    SubRegs { dst: String, a: String, b: String },
    /// `dst := (dst & !(0xffff << shift)) | (imm << shift)` (AArch64 `movk`).
    InsertImm { dst: String, imm: u64, shift: u8 },
    /// `a, b := b, a` (x86 `xchg` of two full registers).
    Swap { a: String, b: String },
    /// `cmp reg, imm`: remembered as a possible jump-table bound.
    CmpImm { imm: i64 },
    /// `cmp a, b`: a branch right after it that is not taken on equality (`jne`, `b.ne`)
    /// leaves `a == b` on its fall-through path (stack-clash probe loops).
    CmpRegs { a: String, b: String },
    /// `dst := a op b`: shifts and logic that build constants (RV64 `li a0, 15; slli a0, a0,
    /// 32; addi a0, a0, 2`), for the evaluators that follow values (the Rustler entry's). The
    /// analysis does not follow it: `dst`, one of the instruction's writes, becomes unknown.
    Arith(Arith),
    /// The condition flags (32-bit Arm; no other lifter emits it yet).
    Flags(FlagFx),
}

/// What an instruction does to the condition flags N, Z, C and V (32-bit Arm), for the
/// analysis's flag model (`analysis/flags.rs`). An instruction that may write a flag says so,
/// or the model would keep a value the code has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlagFx {
    /// The flags in the mask ([`FLAG_N`], [`FLAG_Z`], [`FLAG_C`], [`FLAG_V`]) take values not
    /// followed; the others keep theirs (`teq r0, r1` leaves C and V).
    Clobber(u8),
    /// `cmp a, #imm` (`add`: `cmn a, #imm`): all four from `a - imm` (`a + imm`) on 32 bits.
    Compare { a: String, imm: i64, add: bool },
    /// On a conditional flow: its taken successor is where the condition `cond` (the
    /// architecture's 4-bit encoding, 0 = eq to 13 = le) holds, the other where it does not.
    TakenIf(u8),
}

/// The condition flags' bits in [`FlagFx::Clobber`]'s mask.
pub(crate) const FLAG_N: u8 = 8;
pub(crate) const FLAG_Z: u8 = 4;
pub(crate) const FLAG_C: u8 = 2;
pub(crate) const FLAG_V: u8 = 1;

/// The operands of [`Fx::Arith`]. With `word`, the result is the low 32 bits sign-extended
/// (RV64's `*w` forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arith {
    pub dst: String,
    pub op: ArithOp,
    pub a: String,
    pub b: Operand,
    pub word: bool,
}

/// The operation of an [`Arith`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Shl,
    /// Logical shift right.
    Shr,
    /// Arithmetic shift right.
    Sar,
    /// Rotate left (PPC64 `rotldi`, and with an [`ArithOp::And`] after it the
    /// rotate-and-mask family `rldic`/`rldicl`/`rldicr`).
    Rotl,
    /// The two 8-byte halves of a 16-byte vector register exchanged (PPC64 `xxswapd`);
    /// `b` is not read.
    SwapHalves,
}

/// The second operand of an [`Arith`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    Reg(String),
    Imm(i64),
}

/// How a conditional branch bounds a preceding `cmp reg, imm` on its fall-through path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Not taken means `reg <= imm` (x86 `ja`, AArch64 `b.hi`).
    AtMost,
    /// Not taken means `reg < imm` (x86 `jae`, AArch64 `b.hs`).
    Below,
    /// Taken means `reg <= imm` (AArch64 `b.ls`).
    TakenAtMost,
    /// Taken means `reg < imm` (AArch64 `b.lo`).
    TakenBelow,
    /// Not taken means the operands of a preceding `cmp a, b` are equal (x86 `jne`,
    /// AArch64 `b.ne`).
    Equal,
    /// Says nothing about a bound.
    None,
}

/// Where control goes after one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// The next instruction.
    Next,
    /// An unconditional direct jump.
    Jump(u64),
    /// A conditional direct branch (both successors).
    Cond(u64, Bound),
    /// A direct call.
    Call(u64),
    /// A call through a register or memory.
    IndirectCall,
    /// A jump through a register (a jump table or a tail call).
    IndirectReg(String),
    /// A jump through memory `[base + index * scale + disp]` (x86).
    IndirectMem {
        base: Option<String>,
        index: bool,
        scale: u8,
        disp: i64,
    },
    /// A conditional return (PPC64 `beqlr`): the path both returns and goes on to the next
    /// instruction.
    CondRet { via: Option<String> },
    /// A return that pops `pop` bytes of arguments (x86 `ret N`; 0 elsewhere).
    Ret { pop: u64, via: Option<String> },
    /// A trap or an undecodable instruction: the path ends without returning.
    Stop,
}

/// One decoded instruction.
#[derive(Debug, Clone)]
pub(crate) struct Lifted {
    pub address: u64,
    pub next: u64,
    pub mnemonic: String,
    /// Registers read (canonical names, stack pointer and flags excluded).
    pub reads: Vec<String>,
    /// Registers written (canonical names, flags excluded; may include the stack pointer).
    pub writes: Vec<String>,
    pub fx: Vec<Fx>,
    /// Effects only the evaluators that follow values through memory apply (the Rustler
    /// entry's), after `fx`: moves the analysis does not model (PPC64 indexed and vector
    /// copies, s390x narrow, immediate and block stores, narrow loads, immediate inserts).
    /// Kept apart so the analysis and the entry locator stay as they are; moving one into
    /// `fx` is a change to their reports, to be measured on its own.
    pub eval_fx: Vec<Fx>,
    pub flow: Flow,
    /// The reads are not uses of the values (`push` to save or to realign, `xor r, r`).
    pub reads_are_not_uses: bool,
    /// The CPU feature flag this instruction needs, if beyond the baseline.
    pub feature: Option<&'static str>,
    /// A CPU-feature probe (`cpuid`, `xgetbv`, `mrs` of an ID register).
    pub probes_cpu: bool,
    /// An absolute address this instruction reads or names (RIP-relative, `adrp`), to spot
    /// reads of `__cpu_model` and friends through the GOT.
    pub names_address: Option<u64>,
    /// Its writes to a platform-reserved register are the platform's own protocol, not a
    /// misuse (PPC64: the TOC setup at the global entry and the r2 restore after a call).
    pub protocol_write: bool,
    /// For a call through a register: that register (MIPS `jalr $t9`), so the engine can name
    /// the import whose GOT slot it was loaded from.
    pub call_via: Option<String>,
    /// For a call through a register or memory: where its target is (x86 `call rax`, `call
    /// [rip + slot]`; AArch64 `blr x8`), for the evaluators that follow values (the Rustler
    /// entry's). The analysis does not read it.
    pub call_target: Option<CallTarget>,
}

/// The operand of an indirect call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallTarget {
    /// The value of a register.
    Reg(String),
    /// The pointer at `base + disp` (an empty base: the absolute address `disp`).
    Mem { base: String, disp: i64 },
}

impl Lifted {
    pub(crate) fn plain(address: u64, next: u64, mnemonic: &str) -> Self {
        Lifted {
            address,
            next,
            mnemonic: mnemonic.to_string(),
            reads: Vec::new(),
            writes: Vec::new(),
            fx: Vec::new(),
            eval_fx: Vec::new(),
            flow: Flow::Next,
            reads_are_not_uses: false,
            feature: None,
            probes_cpu: false,
            names_address: None,
            protocol_write: false,
            call_via: None,
            call_target: None,
        }
    }
}

/// A PLT stub or import thunk: what it jumps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stub {
    /// An imported symbol, by name.
    Import(String),
    /// An import whose name the file does not tell (Mach-O, PE).
    Unknown,
    /// An i386 PIC PLT entry, `jmp *disp(%ebx)`: the slot is the caller's GOT base + disp.
    GotRelative(i64),
}

/// One architecture's decoder.
pub(crate) trait Lifter {
    /// Decodes the instruction at the start of `code` (which starts at `address`).
    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted>;
    /// The stack pointer's canonical name.
    fn sp(&self) -> &'static str;
    /// Bytes the call pushed (the return address on x86; 0 where it goes to a register).
    fn return_address_size(&self) -> i64 {
        0
    }
    /// The link register, where calls put the return address.
    fn link_register(&self) -> Option<&'static str>;
    /// Recognises a PLT stub / import thunk at `address` from its first bytes.
    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub>;
    /// Canonical name of a model register name (e.g. `eax` in a 64-bit model → `rax`).
    fn canonical_model(&self, name: &str) -> String;
    /// Where the bytes of the instruction at `address` are: the engine's addresses may carry
    /// decoding state in bits the architecture does not use (32-bit Arm: the Thumb bit and
    /// IT-block state), which this strips.
    fn code_address(&self, address: u64) -> u64 {
        address
    }
    /// Registers whose values at a function's entry the convention fixes (MIPS PIC: `$t9`
    /// holds the function's own address).
    fn entry_constants(&self, _start: u64) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    /// `Some(reg)` when the function at `code` is a `__x86.get_pc_thunk.REG`.
    fn pc_thunk(&self, _code: &[u8]) -> Option<&'static str> {
        None
    }
}

/// The parts of the loaded image the lifters need.
pub(crate) trait ImageView {
    /// The name of the imported symbol the loader writes at `addr`, if any.
    fn import_at(&self, addr: u64) -> Option<String>;
    /// Pointer-sized relocated value at `addr`.
    fn pointer(&self, addr: u64) -> Option<u64>;
}

/// The low `bits` of `value`, widened to 64 bits signed or not: [`Fx::AddExtended`]'s
/// extension, for every evaluator of it. `bits` of 0 or 64 and more keep `value` whole.
pub(crate) fn extend(value: u64, bits: u8, signed: bool) -> u64 {
    if !(1..64).contains(&bits) {
        return value;
    }
    let up = 64 - u32::from(bits);
    if signed {
        ((value << up) as i64 >> up) as u64
    } else {
        (value << up) >> up
    }
}

/// The `index`th 32-bit little-endian word of `code`, if it is all there (fixed-width
/// instruction sets' stub matchers).
pub(crate) fn le_word(code: &[u8], index: usize) -> Option<u32> {
    let start = index.checked_mul(4)?;
    Some(u32::from_le_bytes(
        code.get(start..start.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The assembler name of general-purpose register `n` in the DWARF numbering of `arch`'s
/// psABI, the numbering call frame information uses; `None` for other numbers and for
/// architectures whose frames are not read (SPARC's register windows, 32-bit PowerPC).
/// Lifters take these names through [`Lifter::canonical_model`].
pub fn dwarf_register(arch: Arch, n: u16) -> Option<String> {
    const I386: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
    const X86_64: [&str; 16] = [
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ];
    const MIPS: [&str; 32] = [
        "zero", "at", "v0", "v1", "a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "t5", "t6",
        "t7", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "t8", "t9", "k0", "k1", "gp", "sp",
        "fp", "ra",
    ];
    const RISCV: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
        "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
        "t5", "t6",
    ];
    const LOONGARCH: [&str; 32] = [
        "zero", "ra", "tp", "sp", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t0", "t1", "t2",
        "t3", "t4", "t5", "t6", "t7", "t8", "r21", "fp", "s0", "s1", "s2", "s3", "s4", "s5", "s6",
        "s7", "s8",
    ];

    let k = usize::from(n);
    let named = |table: &[&str]| table.get(k).map(|s| (*s).to_string());
    match arch {
        Arch::X86 => named(&I386),
        Arch::X86_64 => named(&X86_64),
        Arch::Aarch64 => match n {
            0..=30 => Some(format!("x{n}")),
            31 => Some("sp".into()),
            _ => None,
        },
        Arch::Powerpc64 | Arch::S390x => {
            (n < 16 || arch == Arch::Powerpc64 && n < 32).then(|| format!("r{n}"))
        }
        Arch::Mips | Arch::Mips64 => named(&MIPS),
        Arch::Riscv32 | Arch::Riscv64 => named(&RISCV),
        Arch::Loongarch64 => named(&LOONGARCH),
        _ => None,
    }
}
