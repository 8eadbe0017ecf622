//! The `nif_init` follower on raw machine code: the input's first byte picks the
//! architecture (low bits) and the byte order (top bit), the rest is mapped as one segment
//! at 0x1000 and followed from there. This reaches the evaluators' corners (jumps, loops,
//! loads through memory, calls, unknown instructions) far faster than mutating whole files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    callconv::entry::locate::follow_raw_code(data);
});
