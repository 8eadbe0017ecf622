//! The whole check on arbitrary bytes: every format (ELF, Mach-O, universal Mach-O, PE),
//! inspection, relocations, the entry decoder and the rules, against two targets.
#![no_main]

use callconv::target::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let host = Target::host();
    if let Ok(report) = callconv::check_bytes(data, "fuzz.so", &host) {
        // The report must serialize: the NIF and the CLI both do this next.
        let doc = callconv::report::Document::new(host, vec![report], Vec::new());
        let _ = doc.to_json();
    }
});
