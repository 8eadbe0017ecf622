//! Reading which functions a compiled Erlang module declares as NIFs.
//!
//! Since OTP 25 a module may list its NIFs (`-nifs([f/1])` in Erlang, a persisted `@nifs`
//! in Elixir). The compiler then puts a `nif_start` instruction at the start of each listed
//! function, and the attribute itself is dropped from the file. The loader remembers which
//! functions carry one, and `load_nif` refuses any function of the NIF table that does not
//! ("Function not declared as nif m:f/1"); a module with no `nif_start` at all accepts any.
//!
//! So the declarations are read from the `Code` chunk: a walk over its instructions in the
//! compact term encoding, knowing each generic opcode's arity (OTP's `genop.tab`). The walk
//! is bounded by the chunk's bytes and by [`MAX_INSTRUCTIONS`]; an opcode newer than the table
//! stops it with an error rather than a guess. Only the `IFF`/`FOR1` container of `.beam`
//! files is read: compressed (gzip) files are refused.

/// Most instructions walked.
pub const MAX_INSTRUCTIONS: usize = 4_000_000;
/// Most elements of one instruction's list argument (`select_val` tables and the like).
const MAX_LIST: u64 = 1 << 20;
/// Most bytes of one big integer or size prefix.
const MAX_BIG: u64 = 1 << 16;

/// What the `Code` chunk says about a module's functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeamNifs {
    /// The module's name (the first atom).
    pub module: String,
    /// Every function, as name and arity, in code order.
    pub functions: Vec<(String, u32)>,
    /// The functions that start with `nif_start`, or `None` when none does (the module
    /// declares no NIFs, and the BEAM lets any function be one).
    pub declared: Option<Vec<(String, u32)>>,
}

/// Generic opcode arities, from OTP's `genop.tab`: index `n - 1` is opcode `n`. Opcodes 1 to
/// 180 as OTP 25's `beam_opcodes:opname/1` gives them; 181 to 191 from OTP 26 to 29.
const ARITY: [u8; 191] = [
    1, 3, 0, 2, 3, 2, 2, 3, 2, 4, 5, 2, 3, 2, 3, 2, 1, 1, 0, 0, 0, 0, 2, 1, 1, 2, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 1, 2, 1, 2,
    3, 3, 3, 3, 3, 2, 1, 1, 0, 1, 1, 3, 2, 2, 2, 5, 5, 5, 4, 2, 1, 1, 2, 2, 5, 5, 5, 2, 1, 0, 1, 2,
    2, 4, 4, 4, 4, 3, 1, 2, 1, 1, 1, 2, 6, 3, 5, 1, 2, 2, 3, 5, 7, 7, 7, 5, 3, 2, 2, 5, 6, 2, 2, 2,
    2, 1, 3, 4, 0, 8, 6, 2, 6, 5, 4, 5, 4, 5, 4, 3, 3, 3, 3, 3, 0, 1, 1, 7, 1, 5, 5, 2, 3, 3, 4, 0,
    0, 2, 2, 2, 3, 4, 3, 2, 2, 4, 3, 1, 2, 1, 1, 1, 6, 3, 0, 1,
    // OTP 26: update_record/5, bs_match/3. OTP 27: executable_line/2. OTP 28: debug_line/4.
    5, 3, 2, 4,
    // OTP 29: bif3/6, is_any_native_record/2, is_native_record/4, get_record_elements/3,
    // put_record/6, is_record_accessible/3, get_record_field/5.
    6, 2, 4, 3, 6, 3, 5,
];

const OP_FUNC_INFO: u8 = 2;
const OP_INT_CODE_END: u8 = 3;
const OP_NIF_START: u8 = 179;

const TAG_U: u8 = 0;
const TAG_A: u8 = 2;
const TAG_Z: u8 = 7;

/// Reads the NIF declarations of the `.beam` file held in `bytes`.
pub fn read_nifs(bytes: &[u8]) -> Result<BeamNifs, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err("the .beam file is compressed; callconv reads only uncompressed ones".into());
    }
    let chunks = chunks(bytes)?;
    let find = |id: &[u8; 4]| chunks.iter().find(|(c, _)| c == id).map(|(_, d)| *d);
    let atoms = match (find(b"AtU8"), find(b"Atom")) {
        (Some(data), _) | (None, Some(data)) => atom_table(data)?,
        (None, None) => return Err("the .beam file has no atom table".into()),
    };
    let code = find(b"Code").ok_or("the .beam file has no Code chunk")?;
    let module = atoms.first().cloned().ok_or("the atom table is empty")?;
    let (functions, starts) = walk_code(code, &atoms)?;
    let declared = (!starts.is_empty()).then_some(starts);
    Ok(BeamNifs {
        module,
        functions,
        declared,
    })
}

fn be32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at.checked_add(4).ok_or("offset overflow")?)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| format!("the .beam file ends inside a field at byte {at}"))
}

/// One chunk of the container: its four-letter id and its data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// Name and arity.
type Function = (String, u32);

/// The chunks of the `FOR1 … BEAM` container.
fn chunks(bytes: &[u8]) -> Result<Vec<Chunk<'_>>, String> {
    if bytes.get(0..4) != Some(b"FOR1") || bytes.get(8..12) != Some(b"BEAM") {
        return Err("not a .beam file (no FOR1/BEAM header)".into());
    }
    let declared = be32(bytes, 4)? as usize;
    let end = declared.saturating_add(8).min(bytes.len());
    let mut at: usize = 12;
    let mut out = Vec::new();
    while at.saturating_add(8) <= end {
        let id: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated chunk header")?;
        let size = be32(bytes, at + 4)? as usize;
        let start = at + 8;
        let stop = start
            .checked_add(size)
            .filter(|s| *s <= end)
            .ok_or_else(|| format!("chunk {} runs past the end of the file", ascii(&id)))?;
        out.push((id, &bytes[start..stop]));
        // Chunks are padded to a multiple of four bytes.
        at = stop.saturating_add(3) & !3;
    }
    Ok(out)
}

fn ascii(id: &[u8]) -> String {
    id.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

/// The atom table: index 1 of the code's `a` tags is element 0 here.
fn atom_table(data: &[u8]) -> Result<Vec<String>, String> {
    let raw = be32(data, 0)? as i32;
    // A negative count means each length is a compact `u` term rather than one byte (the
    // encoding newer compilers use when an atom is longer than 255 bytes).
    let long_lengths = raw < 0;
    let count = raw.unsigned_abs() as usize;
    // Each atom takes at least one byte: a count beyond that is a lie.
    if count > data.len() {
        return Err(format!(
            "the atom table claims {count} atoms in {} bytes",
            data.len()
        ));
    }
    let mut r = Reader { data, at: 4 };
    let mut atoms = Vec::with_capacity(count);
    for _ in 0..count {
        let len = if long_lengths {
            match r.term()? {
                (TAG_U, Value::Small(n)) => n as usize,
                _ => return Err("an atom length is not an unsigned term".into()),
            }
        } else {
            usize::from(r.byte()?)
        };
        let name = r.take(len)?;
        atoms.push(String::from_utf8_lossy(name).into_owned());
    }
    Ok(atoms)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Small(u64),
    /// More than eight bytes: only its presence matters here.
    Big,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .data
            .get(self.at)
            .ok_or("the Code chunk ends inside an instruction")?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let slice = self
            .data
            .get(self.at..end)
            .ok_or("a value runs past the end of its chunk")?;
        self.at = end;
        Ok(slice)
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    /// One compact term: its tag (low three bits of the first byte) and value.
    fn term(&mut self) -> Result<(u8, Value), String> {
        let first = self.byte()?;
        let tag = first & 7;
        if first & 0x08 == 0 {
            return Ok((tag, Value::Small(u64::from(first >> 4))));
        }
        if first & 0x10 == 0 {
            let low = self.byte()?;
            return Ok((
                tag,
                Value::Small((u64::from(first >> 5) << 8) | u64::from(low)),
            ));
        }
        let count = match first >> 5 {
            7 => match self.term()? {
                (TAG_U, Value::Small(n)) if n <= MAX_BIG => n + 9,
                _ => return Err("a big value has a bad size prefix".into()),
            },
            n => u64::from(n) + 2,
        };
        let bytes = self.take(count as usize)?;
        if bytes.len() > 8 {
            return Ok((tag, Value::Big));
        }
        let value = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        Ok((tag, Value::Small(value)))
    }
}

/// Walks the instructions: every function (`func_info`), and those followed by `nif_start`.
fn walk_code(code: &[u8], atoms: &[String]) -> Result<(Vec<Function>, Vec<Function>), String> {
    let header = be32(code, 0)? as usize;
    let start = header
        .checked_add(4)
        .filter(|s| *s <= code.len())
        .ok_or("the Code chunk's header is longer than the chunk")?;
    let mut r = Reader {
        data: code,
        at: start,
    };
    let atom = |v: Value| -> Result<String, String> {
        match v {
            Value::Small(i) if i >= 1 => atoms
                .get(i as usize - 1)
                .cloned()
                .ok_or_else(|| format!("atom {i} is not in the atom table")),
            _ => Err("a function name is not an atom".into()),
        }
    };
    let mut functions: Vec<Function> = Vec::new();
    let mut declared: Vec<Function> = Vec::new();
    let mut budget = MAX_INSTRUCTIONS;
    while !r.done() {
        if budget == 0 {
            return Err(format!(
                "the Code chunk has more than {MAX_INSTRUCTIONS} instructions"
            ));
        }
        budget -= 1;
        let at = r.at;
        let opcode = r.byte()?;
        let arity = opcode
            .checked_sub(1)
            .and_then(|i| ARITY.get(usize::from(i)))
            .copied()
            .ok_or_else(|| {
                format!("opcode {opcode} at byte {at} of the Code chunk is not one callconv knows (a newer OTP's compiler?)")
            })?;
        let mut args: Vec<(u8, Value)> = Vec::with_capacity(usize::from(arity));
        let mut remaining = u64::from(arity);
        while remaining > 0 {
            remaining -= 1;
            let (tag, value) = r.term()?;
            if tag == TAG_Z {
                let Value::Small(kind) = value else {
                    return Err("an extended tag is out of range".into());
                };
                match kind {
                    // A list: its length, then that many more arguments.
                    1 => match r.term()? {
                        (TAG_U, Value::Small(n)) if n <= MAX_LIST => remaining += n,
                        _ => return Err("a list argument has a bad length".into()),
                    },
                    // A float register, or a literal: one index follows.
                    2 | 4 => {
                        r.term()?;
                    }
                    // An allocation list: a count, then (kind, number) pairs.
                    3 => match r.term()? {
                        (TAG_U, Value::Small(n)) if n <= 16 => {
                            for _ in 0..2 * n {
                                r.term()?;
                            }
                        }
                        _ => return Err("an allocation list has a bad length".into()),
                    },
                    // A register with a type: the register, then the type's index.
                    5 => {
                        r.term()?;
                        r.term()?;
                    }
                    other => return Err(format!("extended tag {other} is not one callconv knows")),
                }
            }
            if args.len() < 3 {
                args.push((tag, value));
            }
        }
        match opcode {
            OP_FUNC_INFO => {
                let (Some(&(TAG_A, name)), Some(&(TAG_U, Value::Small(arity)))) =
                    (args.get(1), args.get(2))
                else {
                    return Err(format!("func_info at byte {at} is malformed"));
                };
                let arity = u32::try_from(arity).map_err(|_| "arity overflow".to_string())?;
                functions.push((atom(name)?, arity));
            }
            OP_NIF_START => {
                let current = functions
                    .last()
                    .ok_or("nif_start comes before any function")?;
                declared.push(current.clone());
            }
            OP_INT_CODE_END => break,
            _ => {}
        }
    }
    Ok((functions, declared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_terms_decode_as_the_loader_reads_them() {
        let mut r = Reader {
            data: &[0x10, 0x08 | 0x20, 0x05, 0x18, 0x01, 0x00],
            at: 0,
        };
        assert_eq!(r.term().unwrap(), (TAG_U, Value::Small(1)));
        // 11-bit form: high three bits in the first byte.
        assert_eq!(r.term().unwrap(), (TAG_U, Value::Small(0x105)));
        // Length form: (0 + 2) bytes follow.
        assert_eq!(r.term().unwrap(), (TAG_U, Value::Small(0x100)));
        assert!(r.done());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_nifs(b"").is_err());
        assert!(read_nifs(b"FOR1\xff\xff\xff\xffBEAMCode\x00\x00\x00\x10").is_err());
        assert!(read_nifs(&[0x1f, 0x8b, 8, 0]).is_err());
    }
}
