//! What is safe to ask capstone about.
//!
//! capstone-rs 0.14 converts AArch64 system-register operands into its register enum with an
//! unchecked `transmute`: an `mrs`/`msr`/`sys` that names a register it does not know is
//! undefined behaviour, and with debug assertions an uncatchable abort. A single bit flip in a
//! real NIF produces one. So operands are never requested for those instructions; callers fall
//! back to the instruction's text.

/// Whether capstone's operand details may be requested for this AArch64 instruction.
pub fn aarch64_operands_are_safe(mnemonic: &str) -> bool {
    !matches!(
        mnemonic,
        "mrs" | "msr" | "sys" | "sysl" | "tlbi" | "dc" | "ic" | "at" | "cfp" | "dvp" | "cpp"
    )
}

/// The destination register of `mrs xN, <sysreg>`, read from its text (`"x0, midr_el1"`).
pub fn aarch64_mrs_destination(op_str: &str) -> Option<String> {
    let first = op_str.split(',').next()?.trim();
    (first.starts_with('x') || first.starts_with('w')).then(|| first.to_string())
}
