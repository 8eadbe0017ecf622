//! The `.beam` reader (OTP 25's -nifs declarations, from the Code chunk's compact terms):
//! any bytes, never a panic, never more than its counted caps.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = callconv::beam::read_nifs(data);
});
