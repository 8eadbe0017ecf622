//! SPARC: not evaluated yet. Entry decoding runs on the instruction layer's lifters, and
//! SPARC has none yet (register windows, delay slots and the PC thunk are the lifter's to
//! express: a delayed transfer lifted as one instruction with its slot, as `isa::mips`
//! does, and `save`/`restore` as the moves between the `%o` and `%i` registers they are).
//! Fails with a reason until then.

use crate::isa::Lifter;

/// The SPARC lifter, once there is one.
pub(super) fn lifter(_wide: bool) -> Result<Box<dyn Lifter>, String> {
    Err("static decoding of nif_init is not implemented for SPARC".to_string())
}
