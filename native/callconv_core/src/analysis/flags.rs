//! The condition flags on one path (32-bit Arm's N, Z, C and V): which of their 16
//! combinations the path may hold, as one `u16` (bit `n << 3 | z << 2 | c << 1 | v`).
//!
//! Hand-written code picks its way by flags set far from the branch (OpenSSL's ARMv4 SHA-1:
//! `cmn sp, #0` clears C, `cmp sp, #0` sets it, and a `bhs` after the rounds tells the two
//! loops apart) or tests one flag in two IT blocks. Forking each test on its own follows
//! combinations no run takes. With the set, a test whose outcome the set decides takes only
//! that way, and the two sides of a fork keep what they learnt. The set only ever shrinks by
//! what the code proves: every instruction that may write a flag widens it again (the lifter
//! says which), and a call forgets them all.

use crate::isa::{FLAG_C, FLAG_N, FLAG_V, FLAG_Z};

/// Any combination: nothing known.
pub(super) const ANY: u16 = 0xffff;

/// The combinations (bits of a set) where condition `cond` (its 4-bit encoding) holds; al
/// and anything past it hold everywhere.
pub(super) const fn holds(cond: u8) -> u16 {
    let mut mask = 0u16;
    let mut v = 0u8;
    while v < 16 {
        let (n, z, c, ov) = (v & 8 != 0, v & 4 != 0, v & 2 != 0, v & 1 != 0);
        let yes = match cond {
            0 => z,
            1 => !z,
            2 => c,
            3 => !c,
            4 => n,
            5 => !n,
            6 => ov,
            7 => !ov,
            8 => c && !z,
            9 => !c || z,
            10 => n == ov,
            11 => n != ov,
            12 => !z && n == ov,
            13 => z || n != ov,
            _ => true,
        };
        if yes {
            mask |= 1 << v;
        }
        v += 1;
    }
    mask
}

/// `set` with the flags in `mask` forgotten: each combination may now hold any value of them.
pub(super) fn forget(set: u16, mask: u8) -> u16 {
    let mut out = set;
    for flag in [FLAG_N, FLAG_Z, FLAG_C, FLAG_V] {
        if mask & flag == 0 {
            continue;
        }
        let mut widened = out;
        for v in 0..16u8 {
            if out & (1 << v) != 0 {
                widened |= 1 << (v ^ flag);
            }
        }
        out = widened;
    }
    out
}

/// The set after `cmp a, #imm` (`add`: `cmn a, #imm`), `a` known as a 32-bit value or not.
pub(super) fn compare(a: Option<u64>, imm: i64, add: bool) -> u16 {
    let b = imm as u32;
    match a {
        Some(a) => {
            let a = a as u32;
            let (r, c, v) = if add {
                let (r, carry) = a.overflowing_add(b);
                (r, carry, !(a ^ b) & (a ^ r) & 0x8000_0000 != 0)
            } else {
                let r = a.wrapping_sub(b);
                (r, a >= b, (a ^ b) & (a ^ r) & 0x8000_0000 != 0)
            };
            let v = u8::from(r & 0x8000_0000 != 0) << 3
                | u8::from(r == 0) << 2
                | u8::from(c) << 1
                | u8::from(v);
            1 << v
        }
        // Whatever `a` is, `a - 0` borrows nothing (C set) and `a + 0` carries nothing (C
        // clear); neither overflows.
        None if imm == 0 => {
            let c = if add { 0 } else { FLAG_C };
            forget(1 << c, FLAG_N | FLAG_Z)
        }
        None => ANY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_pair_up_and_cover_everything() {
        for c in (0..14).step_by(2) {
            assert_eq!(holds(c) ^ holds(c + 1), ANY, "cond {c}");
            assert_eq!(holds(c) & holds(c + 1), 0, "cond {c}");
        }
        assert_eq!(holds(14), ANY);
    }

    #[test]
    fn compares_with_zero_decide_the_carry() {
        let cmn = compare(None, 0, true);
        let cmp = compare(None, 0, false);
        assert_eq!(cmn & holds(2), 0, "cmn x, #0 clears C");
        assert_eq!(cmp & holds(3), 0, "cmp x, #0 sets C");
        // N and Z stay open: `cmp x, #0` may be eq or ne.
        assert_ne!(cmp & holds(0), 0);
        assert_ne!(cmp & holds(1), 0);
        assert_eq!(compare(None, 5, false), ANY);
        // Known operands: 3 - 5 is negative, borrows, does not overflow.
        let lt = compare(Some(3), 5, false);
        assert_eq!(lt & holds(11), lt);
        assert_eq!(lt & holds(3), lt);
        // 0x7fffffff + 1 overflows into the sign.
        assert_eq!(
            compare(Some(0x7fff_ffff), 1, true) & holds(6),
            compare(Some(0x7fff_ffff), 1, true)
        );
    }

    #[test]
    fn forgetting_a_flag_keeps_the_others() {
        // C known set: forgetting N and Z (teq r0, r1) leaves C set.
        let c_set = holds(2);
        let after = forget(c_set, FLAG_N | FLAG_Z);
        assert_eq!(after, c_set);
        assert_eq!(forget(c_set, FLAG_C), ANY);
        assert_eq!(forget(1, FLAG_N | FLAG_Z | FLAG_C | FLAG_V), ANY);
    }
}
