//! capstone's operands in the evaluator's own form, for the architectures whose
//! evaluation has not moved onto the instruction layer (`crate::isa`) yet.

use capstone::arch::ArchOperand;
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
}

impl Ins {
    /// `i` with `ops`.
    pub(super) fn from_insn(i: &capstone::Insn, ops: Vec<Opnd>) -> Ins {
        Ins {
            address: i.address(),
            len: i.len() as u64,
            mnemonic: i.mnemonic().unwrap_or("").to_string(),
            ops,
        }
    }
}

/// Disassembles up to `count` instructions of `code` at `address`.
pub(super) fn disassemble<'cs>(
    cs: &'cs Capstone,
    code: &[u8],
    address: u64,
    count: usize,
) -> Result<capstone::Instructions<'cs>, String> {
    cs.disasm_count(code, address, count)
        .map_err(|e| format!("cannot disassemble at {address:#x}: {e}"))
}

/// The details (operands) of `i`.
pub(super) fn detail_of<'i>(
    cs: &Capstone,
    i: &'i capstone::Insn,
) -> Result<capstone::InsnDetail<'i>, String> {
    cs.insn_detail(i)
        .map_err(|e| format!("capstone detail: {e}"))
}

/// Decodes with capstone where each operand maps to an [`Opnd`] alone (`operand`).
pub(super) fn decode_operands(
    cs: &Capstone,
    code: &[u8],
    address: u64,
    count: usize,
    operand: impl Fn(ArchOperand) -> Opnd,
) -> Result<Vec<Ins>, String> {
    disassemble(cs, code, address, count)?
        .iter()
        .map(|i| {
            let ops = detail_of(cs, i)?
                .arch_detail()
                .operands()
                .into_iter()
                .map(&operand)
                .collect();
            Ok(Ins::from_insn(i, ops))
        })
        .collect()
}
