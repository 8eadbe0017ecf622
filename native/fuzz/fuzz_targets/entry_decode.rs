//! The entry decoder at arbitrary addresses: parse the file, then decode an `ErlNifEntry`
//! and follow "nif_init" at the init symbol, at every export, and at an address taken from
//! the input's last 8 bytes (absolute, and relative to each export), so decoding starts in
//! mapped, unmapped, misaligned and end-of-segment places alike.
#![no_main]

use callconv::entry;
use callconv::report::Arch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(binary) = callconv::inspect::parse(data, Arch::X86_64) else {
        return;
    };
    let tail = data
        .len()
        .checked_sub(8)
        .and_then(|at| data.get(at..))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    if let Some((_, init)) = entry::init_symbol(&binary) {
        let _ = entry::decode(&binary, init);
    }
    let mut addresses = vec![tail, tail & 0xffff_ffff, u64::MAX, u64::MAX - 3];
    for e in binary.exports.iter().take(32) {
        addresses.push(e.address);
        addresses.push(e.address.wrapping_add(tail & 0xfff));
        addresses.push(e.address.wrapping_sub(tail >> 52));
    }
    for addr in addresses {
        let _ = entry::decode_entry(&binary.image, addr, String::new());
        let _ = entry::locate::locate_entry(&binary.image, binary.arch, addr);
    }
});
