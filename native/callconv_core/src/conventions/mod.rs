//! The calling-convention model (filled in by the convention-model work).
