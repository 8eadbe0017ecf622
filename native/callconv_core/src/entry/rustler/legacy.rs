//! capstone's operands in the evaluator's own form, for the architectures whose
//! evaluation has not moved onto the instruction layer (`crate::isa`) yet.

use capstone::Capstone;

/// An operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Opnd {
    Reg(String, usize),
    Imm(i64),
    Mem {
        base: Option<String>,
        index: Option<String>,
        scale: i64,
        disp: i64,
        size: usize,
    },
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Ins {
    pub(super) address: u64,
    pub(super) len: u64,
    pub(super) mnemonic: String,
    pub(super) ops: Vec<Opnd>,
    /// A pre- or post-indexed access that writes the address back to its base (AArch64,
    /// ARM).
    pub(super) writeback: bool,
    /// Executed or not depending on the flags (ARM condition codes, Thumb `it` blocks).
    pub(super) conditional: bool,
}

impl Ins {
    /// `i` with `ops`, neither writing back nor conditional: architectures that have either
    /// set it over this.
    pub(super) fn from_insn(i: &capstone::Insn, ops: Vec<Opnd>) -> Ins {
        Ins {
            address: i.address(),
            len: i.len() as u64,
            mnemonic: i.mnemonic().unwrap_or("").to_string(),
            ops,
            writeback: false,
            conditional: false,
        }
    }

    /// The immediate after the memory operand `mem`: a post-indexed access's step
    /// (`[xN], #i`).
    pub(super) fn post_index(&self, mem: &Opnd) -> Option<i64> {
        self.operands_after(mem).find_map(|o| match o {
            Opnd::Imm(i) => Some(*i),
            _ => None,
        })
    }

    /// The operands that follow `mem`.
    pub(super) fn operands_after<'a>(&'a self, mem: &'a Opnd) -> impl Iterator<Item = &'a Opnd> {
        self.ops.iter().skip_while(move |o| *o != mem).skip(1)
    }
}

/// The details (operands, condition, writeback) of `i`.
pub(super) fn detail_of<'i>(
    cs: &Capstone,
    i: &'i capstone::Insn,
) -> Result<capstone::InsnDetail<'i>, String> {
    cs.insn_detail(i)
        .map_err(|e| format!("capstone detail: {e}"))
}
