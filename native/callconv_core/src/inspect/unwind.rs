//! Call frame information: the `.eh_frame` section the unwinder reads (DWARF CFI), as the
//! compiler wrote it for each function. For every range of instructions it says where the
//! canonical frame address (CFA: the stack pointer the caller had before the call) lies and
//! where each register the function changed keeps its caller's value.
//!
//! The table is read lazily: [`FrameTable::read`] indexes the entries' address ranges in one
//! pass, and [`FrameTable::rows`] runs one entry's CFI program when asked. Every count is
//! capped; an entry that does not parse is left out, never guessed.

use gimli::{
    BaseAddresses, CfaRule, CieOrFde, EhFrame, EhFrameOffset, EndianSlice, RegisterRule,
    RunTimeEndian, UnwindContext, UnwindSection,
};

/// The most entries indexed: a 50 MB library has some tens of thousands.
const MAX_FDES: usize = 1 << 20;
/// The most rows kept of one entry's program.
const MAX_ROWS_PER_FDE: usize = 4096;
/// The largest section read.
pub const MAX_EH_FRAME_BYTES: u64 = 64 << 20;

/// One entry's range of code: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdeSpan {
    pub start: u64,
    pub end: u64,
    offset: usize,
}

/// What one row of an entry's table says for `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRow {
    pub start: u64,
    pub end: u64,
    /// The CFA as a DWARF register plus an offset; `None` for a DWARF expression.
    pub cfa: Option<(u16, i64)>,
    /// DWARF registers 0 to 63 with a rule of their own, one bit each: the caller's value is
    /// kept somewhere else (a save slot, another register, an expression) or declared lost
    /// (`DW_CFA_undefined`). A register without one holds the caller's value itself.
    pub saved: u64,
}

/// The `.eh_frame` of one file, indexed by address.
pub struct FrameTable {
    data: Vec<u8>,
    bases: BaseAddresses,
    endian: RunTimeEndian,
    address_size: u8,
    /// Sorted by start.
    fdes: Vec<FdeSpan>,
}

impl std::fmt::Debug for FrameTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameTable")
            .field("bytes", &self.data.len())
            .field("fdes", &self.fdes.len())
            .finish()
    }
}

impl FrameTable {
    /// Indexes `data`, the section loaded at `address`. Entries that do not parse are left
    /// out; reading stops at the first malformed length.
    pub fn read(data: Vec<u8>, address: u64, big_endian: bool, address_size: u8) -> Self {
        let endian = if big_endian {
            RunTimeEndian::Big
        } else {
            RunTimeEndian::Little
        };
        let mut table = FrameTable {
            data,
            bases: BaseAddresses::default().set_eh_frame(address),
            endian,
            address_size,
            fdes: Vec::new(),
        };
        let section = table.section();
        let mut entries = section.entries(&table.bases);
        let mut fdes = Vec::new();
        while fdes.len() < MAX_FDES {
            let Ok(Some(entry)) = entries.next() else {
                break;
            };
            let CieOrFde::Fde(partial) = entry else {
                continue;
            };
            let offset = partial.offset();
            let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) else {
                continue;
            };
            let start = fde.initial_address();
            let Some(end) = start.checked_add(fde.len()).filter(|e| *e > start) else {
                continue;
            };
            fdes.push(FdeSpan { start, end, offset });
        }
        fdes.sort_by_key(|f| (f.start, f.end));
        table.fdes = fdes;
        table
    }

    fn section(&self) -> EhFrame<EndianSlice<'_, RunTimeEndian>> {
        let mut s = EhFrame::new(&self.data, self.endian);
        s.set_address_size(self.address_size);
        s
    }

    /// Every entry, by start address.
    pub fn fdes(&self) -> &[FdeSpan] {
        &self.fdes
    }

    /// The index of the entry whose range holds `pc` (the last to start at or before it).
    pub fn fde_at(&self, pc: u64) -> Option<usize> {
        let k = self
            .fdes
            .partition_point(|f| f.start <= pc)
            .checked_sub(1)?;
        (pc < self.fdes.get(k)?.end).then_some(k)
    }

    /// The rows of entry `k`'s table, in address order; empty when its program does not run.
    pub fn rows(&self, k: usize) -> Vec<FrameRow> {
        let Some(span) = self.fdes.get(k) else {
            return Vec::new();
        };
        let section = self.section();
        let Ok(fde) =
            section.fde_from_offset(&self.bases, EhFrameOffset(span.offset), |s, b, o| {
                s.cie_from_offset(b, o)
            })
        else {
            return Vec::new();
        };
        let mut ctx = UnwindContext::new();
        let Ok(mut table) = fde.rows(&section, &self.bases, &mut ctx) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        while rows.len() < MAX_ROWS_PER_FDE {
            let row = match table.next_row() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                // A program that goes wrong part way says nothing sure about the rest.
                Err(_) => return Vec::new(),
            };
            let cfa = match row.cfa() {
                CfaRule::RegisterAndOffset { register, offset } => Some((register.0, *offset)),
                CfaRule::Expression(_) => None,
            };
            let mut saved = 0u64;
            for (register, rule) in row.registers() {
                if !matches!(rule, RegisterRule::SameValue) && register.0 < 64 {
                    saved |= 1 << register.0;
                }
            }
            rows.push(FrameRow {
                start: row.start_address(),
                end: row.end_address(),
                cfa,
                saved,
            });
        }
        rows
    }
}
