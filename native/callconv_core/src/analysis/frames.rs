//! Paths checked against the compiler's own call frame information (`inspect::unwind`).
//!
//! For compiled code the unwind table is a function of the address: at every instruction it
//! says how far the stack pointer is from the canonical frame address (CFA) and which
//! callee-saved registers are saved away. Every run through that instruction has that frame,
//! whichever way it came, or unwinding from there would go wrong. A path whose stack pointer
//! or callee-saved registers disagree with the row cannot be a run of the code: it went
//! through a call that never returns, whose return the engine could not rule out (glibc's
//! `__libc_message(do_abort, ...)` returns or not by its argument, and the bytes after the
//! call are another block, reached by a jump with another frame). Such a path ends there,
//! as a path after a call to `abort` does.
//!
//! The check runs only where the table describes the function being traced: its start must
//! lie in an entry whose CFA is the stack pointer plus an offset (hand-written code without
//! call frame information is never checked), and only the platform convention's own
//! callee-saved registers are compared (the ones the compiler describes). It runs only where
//! a row says something new: the CFA where it moves (or an entry's first row), a register
//! where the row before had it saved and this one has it back. Hand-written code often
//! gives an entry one row and nothing more (glibc's `setcontext`, which loads every register):
//! its silence about a register is no statement that the register is untouched.

use super::*;
use crate::inspect::unwind::{FrameRow, FrameTable};

/// What the table says at a function's start, for [`Ctx::trace`]: the CFA's offset from the
/// stack pointer at entry.
pub(super) struct FrameCheck {
    entry_offset: i64,
}

/// What a row of the table says anew at its start, for [`Ctx::frame_disagrees`].
#[derive(Debug, Clone, Copy)]
struct RowCheck {
    start: u64,
    /// The CFA as a DWARF register plus an offset; `None` for an expression.
    cfa: Option<(u16, i64)>,
    /// The CFA differs from the row before's (always so in an entry's first row).
    cfa_moved: bool,
    /// DWARF registers (bits) that the row before had saved and this one has not.
    restored: u64,
}

/// The unwind table and the entries' rows read so far.
#[derive(Default)]
pub(super) struct Frames {
    table: Option<FrameTable>,
    /// The stack pointer's DWARF number, and the platform convention's callee-saved
    /// registers with theirs; `None` where the architecture's numbering is not known.
    regs: Option<(u16, Vec<(u16, Reg)>)>,
    /// The rows of every entry read so far, one entry after another.
    rows: Vec<RowCheck>,
    /// Where each entry read so far has its rows in `rows`, by entry index.
    loaded: FxHashMap<usize, (usize, usize)>,
    /// The entry of the latest lookup: `[start, end)` and its rows' range. Most instructions
    /// are in the entry of the one before.
    last: Option<(u64, u64, usize, usize)>,
}

impl Frames {
    pub(super) fn new(table: Option<FrameTable>, regs: Option<(u16, Vec<(u16, Reg)>)>) -> Self {
        Frames {
            table: table.filter(|t| !t.fdes().is_empty()),
            regs,
            ..Frames::default()
        }
    }

    /// Where each entry ends: a call whose return address is there never returns.
    pub(super) fn ends(&self) -> impl Iterator<Item = u64> + '_ {
        self.table
            .iter()
            .flat_map(|t| t.fdes().iter().map(|f| f.end))
    }

    /// The rows of the entry holding `pc`, read on first use.
    fn rows_at(&mut self, pc: u64) -> Option<&[RowCheck]> {
        let (lo, hi) = match self.last {
            Some((start, end, lo, hi)) if (start..end).contains(&pc) => (lo, hi),
            _ => {
                let table = self.table.as_ref()?;
                let k = table.fde_at(pc)?;
                let span = *table.fdes().get(k)?;
                let (lo, hi) = match self.loaded.get(&k) {
                    Some(range) => *range,
                    None => {
                        let lo = self.rows.len();
                        self.rows.extend(checks(&table.rows(k)));
                        let range = (lo, self.rows.len());
                        self.loaded.insert(k, range);
                        range
                    }
                };
                self.last = Some((span.start, span.end, lo, hi));
                (lo, hi)
            }
        };
        self.rows.get(lo..hi)
    }

    /// The row that starts at `pc`, if one does.
    fn row_starting(&mut self, pc: u64) -> Option<RowCheck> {
        let rows = self.rows_at(pc)?;
        let i = rows.binary_search_by_key(&pc, |r| r.start).ok()?;
        rows.get(i).copied()
    }

    /// The CFA in force at `pc` (the entry's rows cover it to its end).
    fn cfa_at(&mut self, pc: u64) -> Option<(u16, i64)> {
        let rows = self.rows_at(pc)?;
        let i = rows.partition_point(|r| r.start <= pc).checked_sub(1)?;
        rows.get(i)?.cfa
    }
}

/// What each row says anew.
fn checks(rows: &[FrameRow]) -> Vec<RowCheck> {
    let mut out = Vec::with_capacity(rows.len());
    let mut before: Option<&FrameRow> = None;
    for row in rows {
        out.push(RowCheck {
            start: row.start,
            cfa: row.cfa,
            cfa_moved: before.is_none_or(|b| b.cfa != row.cfa),
            restored: before.map_or(0, |b| b.saved & !row.saved),
        });
        before = Some(row);
    }
    out
}

impl<'data, R: ReadRef<'data>> Ctx<'_, R> {
    /// The stack pointer's DWARF number and the platform convention's callee-saved registers
    /// with theirs, for [`Frames::new`].
    pub(super) fn frame_regs(&mut self) -> Option<(u16, Vec<(u16, Reg)>)> {
        let dwarf = |n: u16| crate::isa::dwarf_register(self.arch, n);
        let sp_name = self.lifter.sp();
        let sp = (0..64u16)
            .find(|n| dwarf(*n).is_some_and(|r| self.lifter.canonical_model(&r) == sp_name))?;
        let own = self.canon_list(self.convention.callee_saved);
        let named: Vec<(u16, String)> = (0..64u16)
            .filter_map(|n| Some((n, self.lifter.canonical_model(&dwarf(n)?))))
            .filter(|(_, r)| own.contains(r))
            .collect();
        let saved = named
            .into_iter()
            .map(|(n, r)| (n, self.names.intern(&r)))
            .collect();
        Some((sp, saved))
    }

    /// The check for a function starting at `start`, when the table describes it with a CFA
    /// based on the stack pointer.
    pub(super) fn frame_check(&mut self, start: u64) -> Option<FrameCheck> {
        let sp = self.frames.regs.as_ref()?.0;
        let (register, entry_offset) = self.frames.cfa_at(self.lifter.code_address(start))?;
        (register == sp).then_some(FrameCheck { entry_offset })
    }

    /// Whether state `st` at `pc` disagrees with what the row starting there says anew.
    pub(super) fn frame_disagrees(&mut self, check: &FrameCheck, pc: u64, st: &State) -> bool {
        let Some(row) = self.frames.row_starting(self.lifter.code_address(pc)) else {
            return false;
        };
        let Some((sp, saved)) = &self.frames.regs else {
            return false;
        };
        if let (true, Some((register, offset)), Val::SpPlus(k)) =
            (row.cfa_moved, row.cfa, st.get(self.sp))
        {
            if register == *sp && k != check.entry_offset.wrapping_sub(offset) {
                return true;
            }
        }
        saved.iter().any(|(n, r)| {
            let kept = match st.get(*r) {
                Val::Top => true,
                Val::Entry(e) => e == *r,
                _ => false,
            };
            row.restored & (1 << n) != 0 && !kept
        })
    }
}
