//! callconv: static checks of BEAM NIF libraries.
pub mod conventions;
