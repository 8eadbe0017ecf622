//! x86 and x86-64 lifter. Two decoders feed it: capstone (the default and the oracle) and
//! iced-x86 (`super::x86_iced`); each turns bytes into a [`Decoded`], and everything after
//! that (effects, flow, stubs, thunks) is shared.
//!
//! Why this file is long (about 1,000 lines): one instruction set's lifting, shared by two
//! decoders (the decoding of each, then one `finish` for effects, flow, stubs and thunks);
//! about 130 of its lines are tests.

use capstone::arch::x86::X86OperandType;
use capstone::arch::ArchOperand;
use capstone::{AccessType, Capstone, RegId};

use super::features::x86_feature;
use super::x86_iced::Iced;
use super::{Bound, CallTarget, Flow, Fx, ImageView, Lifted, Lifter, Stub};

enum Decoder {
    Capstone(Capstone),
    Iced(Iced),
}

pub(crate) struct X86 {
    decoder: Decoder,
    wide: bool,
}

impl X86 {
    pub(crate) fn new(wide: bool) -> Result<Self, String> {
        let cs = crate::disasm::detailed(crate::disasm::Isa::X86 { wide })?;
        Ok(X86 {
            decoder: Decoder::Capstone(cs),
            wide,
        })
    }

    /// The analysis's lifter: capstone. `CALLCONV_X86_DECODER=iced` runs iced-x86 instead,
    /// about three times as fast per instruction; it is not the default yet because the two
    /// still lift 670 distinct instructions of the full exports corpus differently (95
    /// classes, mostly AVX-512 and data swept as code: `known_full.tsv`,
    /// docs/design/engine.md).
    pub(crate) fn for_analysis(wide: bool) -> Result<Self, String> {
        if std::env::var_os("CALLCONV_X86_DECODER").is_some_and(|v| v == "iced") {
            return Ok(Self::with_iced(wide));
        }
        Self::new(wide)
    }

    /// The same lifter on iced-x86's decoder.
    pub(crate) fn with_iced(wide: bool) -> Self {
        X86 {
            decoder: Decoder::Iced(Iced::new(wide)),
            wide,
        }
    }

    fn name(&self, cs: &Capstone, r: RegId) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        // `riz`/`eiz`: capstone's name for a SIB byte with no index (`ff 64 e0 ff`,
        // `jmp [rax + riz*8 - 1]`); there is no register and no index.
        cs.reg_name(r)
            .filter(|n| n != "riz" && n != "eiz")
            .map(|n| self.canon(&n))
    }

    fn canon(&self, n: &str) -> String {
        canon(self.wide, n)
    }

    /// Registers not tracked: flags, control and segment registers, and the x87 stack (its
    /// `st(i)` name a different value after every push or pop, and capstone's lists of them
    /// are wrong: `fcmovb st(0), st(1)` (`da c1`) reads st(0) and writes st(1), `fxch`
    /// (`d9 c9`) writes neither).
    fn ignored(n: &str) -> bool {
        matches!(
            n,
            "rflags" | "eflags" | "flags" | "rip" | "fpsw" | "fpcw" | "mxcsr"
        ) || n.ends_with('s') && n.len() == 2 // cs ds es fs gs ss
            || n.starts_with("st(")
    }

    /// Capstone's view of the instruction at the start of `code`.
    fn decode_capstone(&self, cs: &Capstone, code: &[u8], address: u64) -> Option<Decoded> {
        let insns = cs.disasm_count(code, address, 1).ok()?;
        let insn = insns.iter().next()?;
        let detail = cs.insn_detail(insn).ok()?;
        let mnemonic = insn.mnemonic().unwrap_or("").to_string();
        let next = address + insn.len() as u64;
        let mut reads: Vec<String> = detail
            .regs_read()
            .iter()
            .filter_map(|r| self.name(cs, *r))
            .collect();
        let writes = detail
            .regs_write()
            .iter()
            .filter_map(|r| self.name(cs, *r))
            .collect();
        let groups: Vec<String> = detail
            .groups()
            .iter()
            .filter_map(|g| cs.group_name(*g))
            .collect();
        let mut groups = groups;
        // FISTTP came with SSE3 (capstone is wrong: it gives it no group).
        if mnemonic == "fisttp" {
            groups.push("sse3".to_string());
        }
        // A VEX or EVEX instruction capstone gives no group (capstone is wrong: `vpalignr`,
        // `vpmadd52luq`, `vshufi32x4`, EVEX `vpsrlq`).
        let feature =
            x86_feature(&mnemonic, &groups, self.wide).or_else(|| vector_encoding(code, &mnemonic));
        // Memory operands the instruction writes, by base and displacement (no index).
        let mut written: Vec<(String, i64)> = Vec::new();
        let operands = detail.arch_detail().operands();
        let first_size = match operands.first() {
            Some(ArchOperand::X86Operand(o)) => o.size,
            _ => 0,
        };
        // A near branch with an operand-size prefix in 32-bit code (`66 75 8c`, `jne` with a
        // 16-bit target) goes to its target cut to 16 bits (capstone is wrong: it gives the
        // whole 32-bit target). Never compiler output: data swept as code.
        let ip16 = !self.wide
            && detail
                .arch_detail()
                .x86()
                .is_some_and(|x| x.prefix()[2] == 0x66)
            && (mnemonic.starts_with('j') || mnemonic.starts_with("loop") || mnemonic == "call");
        let ops: Vec<Operand> = operands
            .into_iter()
            .map(|op| match op {
                ArchOperand::X86Operand(o) => match o.op_type {
                    X86OperandType::Reg(r) => self.name(cs, r).map_or(Operand::Other, Operand::Reg),
                    X86OperandType::Imm(i) if ip16 => Operand::Imm(i & 0xffff),
                    X86OperandType::Imm(i) => Operand::Imm(i),
                    X86OperandType::Mem(m) => {
                        let mut base = self.name(cs, m.base());
                        let mut disp = m.disp();
                        if base.as_deref() == Some("rip") {
                            base = None;
                            disp = next.wrapping_add_signed(disp) as i64;
                        }
                        let writes = matches!(
                            o.access,
                            Some(AccessType::WriteOnly | AccessType::ReadWrite)
                        );
                        if let (true, Some(b), None) = (writes, &base, self.name(cs, m.index())) {
                            written.push((b.clone(), disp));
                        }
                        Operand::Mem {
                            base,
                            index: self.name(cs, m.index()),
                            scale: m.scale(),
                            disp,
                            size: o.size,
                        }
                    }
                    X86OperandType::Invalid => Operand::Other,
                },
                _ => Operand::Other,
            })
            .collect();
        // `mov cs, ...` (`8e /1`) does not exist (capstone is wrong: it decodes it; data swept
        // as code).
        if mnemonic == "mov" && matches!(ops.first(), Some(Operand::Reg(r)) if r == "cs") {
            return None;
        }
        // `adox rcx, rbp` adds to rcx (capstone is wrong: it does not read it).
        if let ("adox" | "adcx", Some(Operand::Reg(r))) = (mnemonic.as_str(), ops.first()) {
            reads.push(r.clone());
        }
        // `frstor [m]` loads the x87 state (capstone is wrong: it writes the memory).
        if mnemonic == "frstor" {
            written.clear();
        }
        // A store capstone tells as a read of its memory operand (capstone is wrong:
        // `setb [rsp + 8]` (`0f 92 44 24 08`) overwrites the byte, `movntdq [rdi], xmm0`
        // the 16 bytes): a slot that kept its old value would vouch for one overwritten.
        if let (
            true,
            Some(Operand::Mem {
                base: Some(b),
                index: None,
                disp,
                ..
            }),
        ) = (capstone_misses_memory_write(&mnemonic), ops.first())
        {
            if !written.iter().any(|(wb, wd)| wb == b && wd == disp) {
                written.push((b.clone(), *disp));
            }
        }
        Some(Decoded {
            mnemonic,
            next,
            reads,
            writes,
            feature,
            ops,
            first_size,
            written,
        })
    }
}

/// The feature a VEX (`c4`/`c5`) or EVEX (`62`) encoding needs at least: AVX (FMA for the
/// fused multiply-adds) or AVX-512F.
/// In 32-bit code those bytes are also `les`, `lds` and `bound`, which the decoder named.
fn vector_encoding(code: &[u8], mnemonic: &str) -> Option<&'static str> {
    let at = code.iter().take(15).position(|b| {
        !matches!(
            b,
            0x66 | 0x67 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0xf0
        )
    })?;
    let fma = ["vfmadd", "vfmsub", "vfnmadd", "vfnmsub"]
        .iter()
        .any(|p| mnemonic.starts_with(p));
    match (code.get(at)?, mnemonic) {
        (0x62, m) if m != "bound" => Some("avx512f"),
        (0xc4 | 0xc5, _) if fma => Some("fma"),
        (0xc4 | 0xc5, m) if m != "les" && m != "lds" => Some("avx"),
        _ => None,
    }
}

/// Instructions that write their first operand, a memory one included, which capstone 5 has
/// as read only.
fn capstone_misses_memory_write(mnemonic: &str) -> bool {
    let m = mnemonic.strip_prefix("lock ").unwrap_or(mnemonic);
    m.starts_with("set")
        || matches!(
            m,
            "fnstcw"
                | "stmxcsr"
                | "vstmxcsr"
                | "movlpd"
                | "movlps"
                | "movhpd"
                | "movhps"
                | "vmovsd"
                | "vmovss"
                | "vmovd"
                | "vextractps"
                | "insb"
                | "insw"
                | "insd"
                | "rol"
                | "ror"
                | "rcl"
                | "rcr"
                | "arpl"
                | "cmpxchg8b"
                | "fst"
                | "fstp"
                | "fist"
                | "fistp"
                | "fisttp"
                | "movnti"
                | "movntdq"
                | "movntps"
                | "movntpd"
                | "vmovntdq"
                | "vmovntps"
                | "vmovntpd"
                | "vmovdqa32"
                | "vmovdqa64"
                | "vmovdqu8"
                | "vmovdqu16"
                | "vmovdqu32"
                | "vmovdqu64"
        )
}

/// The register whose value a name reads or writes: every view of a GPR is the full
/// register (`al`, `ax`, `eax` → `rax` / `eax`), every vector view is `xmmN`.
pub(crate) fn canon(wide: bool, n: &str) -> String {
    let gpr = |b: &str| {
        if wide {
            format!("r{b}")
        } else {
            format!("e{b}")
        }
    };
    match n {
        "al" | "ah" | "ax" | "eax" | "rax" => gpr("ax"),
        "bl" | "bh" | "bx" | "ebx" | "rbx" => gpr("bx"),
        "cl" | "ch" | "cx" | "ecx" | "rcx" => gpr("cx"),
        "dl" | "dh" | "dx" | "edx" | "rdx" => gpr("dx"),
        "sil" | "si" | "esi" | "rsi" => gpr("si"),
        "dil" | "di" | "edi" | "rdi" => gpr("di"),
        "bpl" | "bp" | "ebp" | "rbp" => gpr("bp"),
        "spl" | "sp" | "esp" | "rsp" => gpr("sp"),
        "eip" | "rip" | "ip" => "rip".to_string(),
        _ => {
            if let Some(rest) = n.strip_prefix('r') {
                // r8, r8d, r8w, r8b
                let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                if !digits.is_empty() {
                    return format!("r{digits}");
                }
            }
            for p in ["xmm", "ymm", "zmm"] {
                if let Some(d) = n.strip_prefix(p) {
                    return format!("xmm{d}");
                }
            }
            n.to_string()
        }
    }
}

/// One instruction as a decoder tells it, in capstone's vocabulary (mnemonics, register
/// names, operand order): what the shared lifting starts from.
pub(crate) struct Decoded {
    pub mnemonic: String,
    pub next: u64,
    /// Registers read and written, canonical names, implicit ones included, unfiltered.
    pub reads: Vec<String>,
    pub writes: Vec<String>,
    pub feature: Option<&'static str>,
    pub ops: Vec<Operand>,
    /// The first operand's size in bytes (a destination's width), 0 if it has none.
    pub first_size: u8,
    /// Memory operands the instruction writes, by base and displacement (no index).
    pub written: Vec<(String, i64)>,
}

pub(crate) enum Operand {
    Reg(String),
    Imm(i64),
    Mem {
        base: Option<String>,
        index: Option<String>,
        scale: i32,
        disp: i64,
        size: u8,
    },
    Other,
}

impl Lifter for X86 {
    fn sp(&self) -> &'static str {
        if self.wide {
            "rsp"
        } else {
            "esp"
        }
    }

    fn return_address_size(&self) -> i64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    fn link_register(&self) -> Option<&'static str> {
        None
    }

    fn canonical_model(&self, name: &str) -> String {
        self.canon(name)
    }

    fn pc_thunk(&self, code: &[u8]) -> Option<&'static str> {
        // GCC's __x86.get_pc_thunk.REG: mov (%esp),%REG; ret.
        if self.wide {
            return None;
        }
        match code.get(..4)? {
            [0x8b, 0x04, 0x24, 0xc3] => Some("eax"),
            [0x8b, 0x1c, 0x24, 0xc3] => Some("ebx"),
            [0x8b, 0x0c, 0x24, 0xc3] => Some("ecx"),
            [0x8b, 0x14, 0x24, 0xc3] => Some("edx"),
            [0x8b, 0x34, 0x24, 0xc3] => Some("esi"),
            [0x8b, 0x3c, 0x24, 0xc3] => Some("edi"),
            [0x8b, 0x2c, 0x24, 0xc3] => Some("ebp"),
            _ => None,
        }
    }

    fn stub(&self, code: &[u8], address: u64, image: &dyn ImageView) -> Option<Stub> {
        // [endbr] [bnd] jmp *slot: an ELF PLT entry (.plt.sec), a Mach-O stub, a PE thunk.
        let mut at = 0usize;
        if code.get(..4) == Some(&[0xf3, 0x0f, 0x1e, 0xfa][..])
            || code.get(..4) == Some(&[0xf3, 0x0f, 0x1e, 0xfb][..])
        {
            at = 4;
        }
        if code.get(at) == Some(&0xf2) {
            at += 1;
        }
        match code.get(at..at + 2)? {
            [0xff, 0x25] => {
                let disp = i32::from_le_bytes(code.get(at + 2..at + 6)?.try_into().ok()?);
                let slot = if self.wide {
                    address
                        .wrapping_add(at as u64 + 6)
                        .wrapping_add_signed(i64::from(disp))
                } else {
                    u64::from(disp as u32)
                };
                Some(image.import_at(slot).map_or(Stub::Unknown, Stub::Import))
            }
            // i386 PIC PLT: jmp *off(%ebx); the GOT base is the caller's, so only the
            // shape is known here.
            [0xff, 0xa3] if !self.wide => {
                let disp = i32::from_le_bytes(code.get(at + 2..at + 6)?.try_into().ok()?);
                Some(Stub::GotRelative(i64::from(disp)))
            }
            _ => None,
        }
    }

    fn lift(&self, code: &[u8], address: u64) -> Option<Lifted> {
        let decoded = match &self.decoder {
            Decoder::Capstone(cs) => self.decode_capstone(cs, code, address)?,
            Decoder::Iced(iced) => iced.decode(code, address)?,
        };
        Some(self.finish(code, address, decoded))
    }
}

impl X86 {
    /// The lifting both decoders share: effects and flow from the mnemonic and operands.
    fn finish(&self, code: &[u8], address: u64, decoded: Decoded) -> Lifted {
        let Decoded {
            mnemonic,
            next,
            reads,
            writes,
            feature,
            ops,
            first_size,
            written,
        } = decoded;
        let mnemonic = branch_without_hint(mnemonic);
        let mut out = Lifted::plain(address, next, &mnemonic);
        let sp = self.sp().to_string();
        for n in reads {
            if !Self::ignored(&n) && n != sp && !out.reads.contains(&n) {
                out.reads.push(n);
            }
        }
        for n in writes {
            if !Self::ignored(&n) && !out.writes.contains(&n) {
                out.writes.push(n);
            }
        }
        out.feature = feature;
        if let Some(Operand::Mem {
            base: None,
            index: None,
            disp,
            ..
        }) = ops.iter().find(|o| matches!(o, Operand::Mem { .. }))
        {
            out.names_address = Some(*disp as u64);
        }
        let w = self.return_address_size();
        let m = mnemonic.as_str();
        let reg = |i: usize| match ops.get(i) {
            Some(Operand::Reg(r)) => Some(r.clone()),
            _ => None,
        };
        let imm = |i: usize| match ops.get(i) {
            Some(Operand::Imm(v)) => Some(*v),
            _ => None,
        };
        match m {
            "ret" | "retq" | "retl" => {
                // Judged at the return itself: the pop of the return address is not a change.
                out.writes.retain(|r| *r != sp);
                out.flow = Flow::Ret {
                    pop: imm(0).unwrap_or(0) as u64,
                    via: None,
                }
            }
            "ud2" | "hlt" | "int3" | "ud1" | "ud0" => out.flow = Flow::Stop,
            "int" if imm(0) == Some(0x29) => out.flow = Flow::Stop, // __fastfail
            "cpuid" | "xgetbv" => out.probes_cpu = true,
            "push" => {
                out.reads_are_not_uses = true;
                // Every push writes the new top slot, whatever its operand: a slot left with
                // the value of an earlier push would be taken for this one's (gcc's i386
                // `push 0x20(%esp)` of a pointer into the frame, a struct return's hidden
                // argument). A memory operand is read before the stack pointer moves.
                match ops.first() {
                    Some(Operand::Reg(r)) => out.fx.push(Fx::Store {
                        src: r.clone(),
                        base: sp.clone(),
                        disp: -w,
                        size: w as u8,
                    }),
                    Some(Operand::Imm(v)) => out.fx.push(Fx::StoreConst {
                        value: *v as u64,
                        base: sp.clone(),
                        disp: -w,
                    }),
                    Some(Operand::Mem {
                        base: Some(b),
                        index: None,
                        disp,
                        size,
                        ..
                    }) if i64::from(*size) == w => out.fx.push(Fx::CopyMem {
                        from: b.clone(),
                        from_disp: *disp,
                        base: sp.clone(),
                        disp: -w,
                    }),
                    _ => out.fx.push(Fx::StoreUnknown {
                        base: sp.clone(),
                        disp: -w,
                    }),
                }
                out.fx.push(Fx::AddImm {
                    dst: sp.clone(),
                    src: sp.clone(),
                    imm: -w,
                });
            }
            "pop" => {
                if let Some(r) = reg(0) {
                    out.fx.push(Fx::Load {
                        dst: r,
                        base: sp.clone(),
                        disp: 0,
                        size: w as u8,
                        signed: false,
                    });
                }
                out.fx.push(Fx::AddImm {
                    dst: sp.clone(),
                    src: sp.clone(),
                    imm: w,
                });
            }
            "leave" => {
                let bp = self.canon("ebp");
                out.fx.push(Fx::Copy {
                    dst: sp.clone(),
                    src: bp.clone(),
                });
                out.fx.push(Fx::Load {
                    dst: bp,
                    base: sp.clone(),
                    disp: 0,
                    size: w as u8,
                    signed: false,
                });
                out.fx.push(Fx::AddImm {
                    dst: sp.clone(),
                    src: sp.clone(),
                    imm: w,
                });
            }
            // i386 Linux's system call through the vDSO, `call *%gs:0x10` (the TCB's
            // `sysinfo`, `__kernel_vsyscall`): like `int $0x80`, it changes eax only. Not a
            // call to a C function, which could change ecx and edx.
            "call" if !self.wide && code.starts_with(&[0x65, 0xff, 0x15, 0x10, 0, 0, 0]) => {
                out.writes = vec!["eax".to_string()];
            }
            "call" => {
                // The callee pops its return address: the stack pointer is unchanged after.
                out.writes.retain(|r| *r != sp);
                out.flow = match ops.first() {
                    Some(Operand::Imm(t)) => Flow::Call(*t as u64),
                    _ => Flow::IndirectCall,
                };
                out.call_target = match ops.first() {
                    Some(Operand::Reg(r)) => Some(CallTarget::Reg(r.clone())),
                    Some(Operand::Mem {
                        base,
                        index: None,
                        disp,
                        ..
                    }) => Some(CallTarget::Mem {
                        base: base.clone().unwrap_or_default(),
                        disp: *disp,
                    }),
                    _ => None,
                };
            }
            "jmp" => {
                out.flow = match ops.first() {
                    Some(Operand::Imm(t)) => Flow::Jump(*t as u64),
                    Some(Operand::Reg(r)) => Flow::IndirectReg(r.clone()),
                    Some(Operand::Mem {
                        base,
                        index,
                        scale,
                        disp,
                        ..
                    }) => Flow::IndirectMem {
                        base: base.clone(),
                        index: index.is_some(),
                        scale: *scale as u8,
                        disp: *disp,
                    },
                    _ => Flow::Stop,
                }
            }
            _ if m.starts_with('j') || m.starts_with("loop") => {
                if let Some(t) = imm(0) {
                    let bound = match m {
                        "ja" => Bound::AtMost,
                        "jae" | "jnb" => Bound::Below,
                        "jne" | "jnz" => Bound::Equal,
                        _ => Bound::None,
                    };
                    out.flow = Flow::Cond(t as u64, bound);
                }
            }
            "cmp" => {
                // A compare of memory bounds a table too (`cmp dword [rbx + rdx*4], 9; ja`,
                // then the index loaded from there), and must replace an older bound.
                let compared = matches!(ops.first(), Some(Operand::Reg(_) | Operand::Mem { .. }));
                if let (true, Some(v)) = (compared, imm(1)) {
                    out.fx.push(Fx::CmpImm { imm: v });
                } else if let (Some(a), Some(b)) = (reg(0), reg(1)) {
                    out.fx.push(Fx::CmpRegs { a, b });
                }
            }
            "xor" | "sub" | "pxor" | "xorps" | "xorpd" | "vpxor" | "vxorps" | "vxorpd" | "sbb"
                if ops.len() >= 2
                    && reg(0).is_some()
                    && reg(0) == reg(1)
                    && (ops.len() == 2 || reg(2) == reg(0)) =>
            {
                // Dependency-breaking idioms: writes, not reads.
                out.reads_are_not_uses = true;
                out.reads.clear();
                if let Some(r) = reg(0) {
                    if m != "sbb" {
                        out.fx.push(Fx::Const { dst: r, value: 0 });
                    }
                }
            }
            "lea" => {
                if let (
                    Some(d),
                    Some(Operand::Mem {
                        base, index, disp, ..
                    }),
                ) = (reg(0), ops.get(1))
                {
                    match (base, index) {
                        // `lea esi, [esi + 0]`, a no-op gcc pads with: a copy, so the value
                        // stays what it was (an entry value too). Only at the address size,
                        // where no bits are cut.
                        (Some(b), None) if *disp == 0 && i64::from(first_size) == w => {
                            out.fx.push(Fx::Copy {
                                dst: d,
                                src: b.clone(),
                            })
                        }
                        (Some(b), None) => out.fx.push(Fx::AddImm {
                            dst: d,
                            src: b.clone(),
                            imm: *disp,
                        }),
                        (None, None) => out.fx.push(Fx::Const {
                            dst: d,
                            value: *disp as u64,
                        }),
                        _ => {}
                    }
                }
            }
            "add" | "sub" => match (reg(0), ops.get(1)) {
                (Some(d), Some(Operand::Imm(v))) => out.fx.push(Fx::AddImm {
                    dst: d.clone(),
                    src: d,
                    imm: if m == "add" { *v } else { v.wrapping_neg() },
                }),
                (Some(d), Some(Operand::Reg(s))) if m == "add" => out.fx.push(Fx::AddRegs {
                    dst: d.clone(),
                    a: d,
                    b: s.clone(),
                    shift: 0,
                }),
                // `mov eax, 0x1010; sub rsp, rax`: a frame over a page.
                (Some(d), Some(Operand::Reg(s))) => out.fx.push(Fx::SubRegs {
                    dst: d.clone(),
                    a: d,
                    b: s.clone(),
                }),
                _ => {}
            },
            // `xchg edi, eax`: glibc's hand-written mempcpy keeps edi in eax and swaps it
            // back. Only two full registers: `xchg al, ah` changes eax, and a memory
            // operand is a store too.
            "xchg" if i64::from(first_size) == w => {
                if let (Some(a), Some(b)) = (reg(0), reg(1)) {
                    out.fx.push(Fx::Swap { a, b });
                }
            }
            // `or edx, -1`: gcc's short `mov edx, -1`. The register's old value is not read
            // (its new one is not followed). Not `or dl, -1`, which keeps the other bits.
            "or" if ops.len() == 2
                && reg(0).is_some()
                && first_size >= 4
                && imm(1).is_some_and(|v| {
                    // The decoders give the immediate sign-extended or in the operand's width.
                    v == -1 || (first_size == 4 && v as u64 == 0xffff_ffff)
                }) =>
            {
                out.reads_are_not_uses = true;
                out.reads.clear();
            }
            "and" => {
                if let (Some(d), Some(v)) = (reg(0), imm(1)) {
                    if v < 0 && (v.wrapping_neg() as u64).is_power_of_two() {
                        out.fx.push(Fx::Align {
                            dst: d.clone(),
                            src: d,
                            align: v.wrapping_neg() as u64,
                        });
                    }
                }
            }
            _ if is_move(m) => match (ops.first(), ops.get(1)) {
                (Some(Operand::Reg(d)), Some(Operand::Reg(s))) if ops.len() == 2 => {
                    out.fx.push(Fx::Copy {
                        dst: d.clone(),
                        src: s.clone(),
                    })
                }
                (Some(Operand::Reg(d)), Some(Operand::Imm(v))) if m == "mov" || m == "movabs" => {
                    out.fx.push(Fx::Const {
                        dst: d.clone(),
                        value: *v as u64,
                    })
                }
                (
                    Some(Operand::Mem {
                        base,
                        index: None,
                        disp,
                        size,
                        ..
                    }),
                    Some(Operand::Reg(s)),
                ) => out.fx.push(Fx::Store {
                    src: s.clone(),
                    base: base.clone().unwrap_or_default(),
                    disp: *disp,
                    size: *size,
                }),
                (
                    Some(Operand::Mem {
                        base,
                        index: None,
                        disp,
                        size,
                        ..
                    }),
                    Some(Operand::Imm(v)),
                ) => out.fx.push(if i64::from(*size) == w {
                    Fx::StoreConst {
                        value: *v as u64,
                        base: base.clone().unwrap_or_default(),
                        disp: *disp,
                    }
                } else {
                    // A part of a slot: what the whole holds is no longer known.
                    Fx::StoreImm {
                        value: *v as u64,
                        base: base.clone().unwrap_or_default(),
                        disp: *disp,
                        size: *size,
                    }
                }),
                (
                    Some(Operand::Reg(d)),
                    Some(Operand::Mem {
                        base,
                        index: None,
                        disp,
                        size,
                        ..
                    }),
                ) => out.fx.push(Fx::Load {
                    dst: d.clone(),
                    base: base.clone().unwrap_or_default(),
                    disp: *disp,
                    size: *size,
                    signed: m == "movsxd",
                }),
                (
                    Some(Operand::Reg(d)),
                    Some(Operand::Mem {
                        base,
                        index: Some(_),
                        disp,
                        size,
                        ..
                    }),
                ) => {
                    // A table read: `movsxd rax, [rdx + rax*4]`, `mov eax, [ebx + eax*4 + T]`.
                    out.fx.push(Fx::LoadIndexed {
                        dst: d.clone(),
                        base: base.clone().unwrap_or_default(),
                        disp: *disp,
                        size: *size,
                        signed: m == "movsxd" || m == "movsx" || !self.wide,
                    })
                }
                _ => {}
            },
            _ => {}
        }
        // A write to memory not modelled above (`add $1, 8(%esp)`, `movb`, `movss`, `fstp`):
        // the slot no longer holds what was stored there before.
        let stores = out.fx.iter().any(|f| {
            matches!(
                f,
                Fx::Store { .. }
                    | Fx::StoreConst { .. }
                    | Fx::StoreImm { .. }
                    | Fx::StoreUnknown { .. }
                    | Fx::CopyMem { .. }
            )
        });
        if !stores {
            for (base, disp) in written {
                out.fx.push(Fx::StoreUnknown { base, disp });
            }
        }
        out
    }
}

/// A branch's mnemonic without the prefixes that only hint at it: `repz ret` (`f3 c3`, AMD's
/// branch-predictor idiom that OpenSSL's perlasm ends functions with), MPX's `bnd` (`f2`
/// before `ret`, `call`, `jmp`, `jcc`: glibc's and OpenSSL's CET/MPX-era builds) and CET's
/// `notrack` (`3e` before an indirect `jmp`/`call`, gcc's switch tables with
/// `-fcf-protection`). The processor branches all the same. Capstone names the prefix in the
/// mnemonic (`repz ret`, `bnd jae`, `notrack jmp`) and iced does not: read as written, the
/// lifter took capstone's `repz ret` for an ordinary instruction and ran on into the next
/// function, and `bnd jae` for one that never branches (capstone's side was wrong).
fn branch_without_hint(mnemonic: String) -> String {
    let hint = |m: &str| -> Option<usize> {
        if let Some(p) = ["bnd ", "notrack "].iter().find(|p| m.starts_with(**p)) {
            return Some(p.len());
        }
        // `rep`/`repz`/`repne` stay on string instructions, where they repeat.
        ["repz ", "rep ", "repnz ", "repne "]
            .iter()
            .find(|p| {
                m.strip_prefix(**p)
                    .is_some_and(|r| matches!(r, "ret" | "retq" | "retl"))
            })
            .map(|p| p.len())
    };
    let mut m = mnemonic.as_str();
    while let Some(n) = hint(m) {
        m = &m[n..];
    }
    if m.len() == mnemonic.len() {
        mnemonic
    } else {
        m.to_string()
    }
}

fn is_move(m: &str) -> bool {
    matches!(
        m,
        "mov"
            | "movabs"
            | "movsxd"
            | "movq"
            | "movd"
            | "movaps"
            | "movups"
            | "movapd"
            | "movupd"
            | "movdqa"
            | "movdqu"
            | "vmovaps"
            | "vmovups"
            | "vmovapd"
            | "vmovupd"
            | "vmovdqa"
            | "vmovdqu"
            | "vmovq"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_moves_the_stack_pointer() {
        let l = X86::new(true).unwrap();
        let i = l.lift(&[0x53, 0x90], 0x1000).unwrap();
        assert!(
            i.fx.contains(&Fx::AddImm {
                dst: "rsp".into(),
                src: "rsp".into(),
                imm: -8
            }),
            "{i:?}"
        );
    }

    #[test]
    fn every_push_writes_the_slot_it_makes() {
        let l = X86::new(false).unwrap();
        // push 0x14(%esp): read at the old stack pointer, written just below it.
        let i = l.lift(&[0xff, 0x74, 0x24, 0x14], 0x1000).unwrap();
        assert_eq!(
            i.fx.first(),
            Some(&Fx::CopyMem {
                from: "esp".into(),
                from_disp: 0x14,
                base: "esp".into(),
                disp: -4
            }),
            "{i:?}"
        );
        // push $3
        let i = l.lift(&[0x6a, 0x03], 0x1000).unwrap();
        assert_eq!(
            i.fx.first(),
            Some(&Fx::StoreConst {
                value: 3,
                base: "esp".into(),
                disp: -4
            }),
            "{i:?}"
        );
        // push 0x10(%esp,%eax,4): an address the analysis does not follow.
        let i = l.lift(&[0xff, 0x74, 0x84, 0x10], 0x1000).unwrap();
        assert!(
            matches!(i.fx.first(), Some(Fx::StoreUnknown { disp: -4, .. })),
            "{i:?}"
        );
    }

    #[test]
    fn a_write_to_memory_not_modelled_forgets_the_slot() {
        let l = X86::new(false).unwrap();
        // addl $1, 0x8(%esp)
        let i = l.lift(&[0x83, 0x44, 0x24, 0x08, 0x01], 0x1000).unwrap();
        assert_eq!(
            i.fx,
            vec![Fx::StoreUnknown {
                base: "esp".into(),
                disp: 8
            }],
            "{i:?}"
        );
        // cmpl $1, 0x8(%esp) only reads it.
        let i = l.lift(&[0x83, 0x7c, 0x24, 0x08, 0x01], 0x1000).unwrap();
        assert!(
            !i.fx.iter().any(|f| matches!(f, Fx::StoreUnknown { .. })),
            "{i:?}"
        );
    }

    #[test]
    fn gcc_lea_padding_is_a_copy() {
        let l = X86::new(false).unwrap();
        // lea 0x0(%esi,%eiz,1),%esi and lea 0x0(%esi),%esi
        for code in [&[0x8d, 0x74, 0x26, 0x00][..], &[0x8d, 0x76, 0x00]] {
            let i = l.lift(code, 0x1000).unwrap();
            assert_eq!(
                i.fx,
                vec![Fx::Copy {
                    dst: "esi".into(),
                    src: "esi".into()
                }],
                "{i:?}"
            );
        }
        // lea 0x4(%esi),%esi adds.
        let i = l.lift(&[0x8d, 0x76, 0x04], 0x1000).unwrap();
        assert!(
            matches!(i.fx.first(), Some(Fx::AddImm { imm: 4, .. })),
            "{i:?}"
        );
        // lea 0x0(%esi),%si keeps only 16 bits: not a copy.
        let i = l.lift(&[0x66, 0x8d, 0x76, 0x00], 0x1000).unwrap();
        assert!(!matches!(i.fx.first(), Some(Fx::Copy { .. })), "{i:?}");
    }

    #[test]
    fn the_i386_vdso_system_call_changes_eax_only() {
        let l = X86::new(false).unwrap();
        // call *%gs:0x10
        let i = l
            .lift(&[0x65, 0xff, 0x15, 0x10, 0x00, 0x00, 0x00], 0x1000)
            .unwrap();
        assert_eq!(i.flow, Flow::Next, "{i:?}");
        assert_eq!(i.writes, vec!["eax".to_string()], "{i:?}");
        // call *0x10(%eax) is a call.
        let i = l.lift(&[0xff, 0x50, 0x10], 0x1000).unwrap();
        assert_eq!(i.flow, Flow::IndirectCall, "{i:?}");
    }

    #[test]
    fn hinted_branches_branch_on_both_decoders() {
        for wide in [true, false] {
            for l in [X86::new(wide).unwrap(), X86::with_iced(wide)] {
                // repz ret, bnd ret: returns.
                for code in [&[0xf3, 0xc3][..], &[0xf2, 0xc3]] {
                    let i = l.lift(code, 0x1000).unwrap();
                    assert_eq!(i.flow, Flow::Ret { pop: 0, via: None }, "{i:?}");
                    assert_eq!(i.mnemonic, "ret", "{i:?}");
                    assert!(i.writes.is_empty(), "{i:?}");
                }
                // repz ret $8 (f3 c2 08 00) pops 8 bytes as it returns.
                let i = l.lift(&[0xf3, 0xc2, 0x08, 0x00], 0x1000).unwrap();
                assert_eq!(i.flow, Flow::Ret { pop: 8, via: None }, "{i:?}");
                // bnd jae +0x10 (f2 73 10) is a conditional branch.
                let i = l.lift(&[0xf2, 0x73, 0x10], 0x1000).unwrap();
                assert!(matches!(i.flow, Flow::Cond(0x1013, _)), "{i:?}");
                // notrack jmp *%rax / *%eax (3e ff e0) is an indirect jump.
                let i = l.lift(&[0x3e, 0xff, 0xe0], 0x1000).unwrap();
                assert!(matches!(i.flow, Flow::IndirectReg(_)), "{i:?}");
                // rep stosb keeps its prefix: it repeats.
                let i = l.lift(&[0xf3, 0xaa], 0x1000).unwrap();
                assert_eq!(i.mnemonic, "rep stosb", "{i:?}");
            }
        }
    }

    #[test]
    fn xchg_of_two_registers_swaps_them() {
        let l = X86::new(false).unwrap();
        // xchg %eax,%edi (97)
        let i = l.lift(&[0x97], 0x1000).unwrap();
        assert!(
            matches!(i.fx.as_slice(), [Fx::Swap { a, b }]
                if [a.as_str(), b.as_str()] == ["edi", "eax"] || [a.as_str(), b.as_str()] == ["eax", "edi"]),
            "{i:?}"
        );
        // xchg %ah,%al changes eax: no swap.
        let i = l.lift(&[0x86, 0xe0], 0x1000).unwrap();
        assert!(i.fx.is_empty(), "{i:?}");
    }
}
