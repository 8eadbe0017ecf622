//! The x86 decoders' speed: lifts every instruction of a file's executable sections (linear
//! sweep) with the capstone and the iced-x86 lifter, `REPEAT` times each, and prints one JSON
//! line with the median nanoseconds per instruction of each (bench/run calls it).
//!
//!   cargo run --release -p callconv_core --example x86_decoders -- FILE [REPEAT]

use std::time::Instant;

use callconv::X86DecoderAgreement;
use object::{Object, ObjectSection, SectionKind};

fn sweep(code: &[u8], base: u64, lift: &dyn Fn(&[u8], u64) -> Option<u64>) -> u64 {
    let mut at = base;
    let end = base + code.len() as u64;
    let mut n = 0;
    while at < end {
        let off = (at - base) as usize;
        match lift(&code[off..], at) {
            Some(next) => {
                n += 1;
                at = next;
            }
            None => at += 1,
        }
    }
    n
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: x86_decoders FILE [REPEAT]");
    let repeat: usize = args.next().map_or(5, |r| r.parse().expect("REPEAT"));
    let data = std::fs::read(&path).expect("read FILE");
    let file = object::File::parse(&*data).expect("an object file");
    let wide = match file.architecture() {
        object::Architecture::X86_64 => true,
        object::Architecture::I386 => false,
        a => panic!("not x86: {a:?}"),
    };
    let both = X86DecoderAgreement::new(wide).expect("capstone");
    let sections: Vec<(u64, &[u8])> = file
        .sections()
        .filter(|s| s.kind() == SectionKind::Text)
        .filter_map(|s| Some((s.address(), s.data().ok()?)))
        .collect();
    let run = |lift: &dyn Fn(&[u8], u64) -> Option<u64>| {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            n = sections
                .iter()
                .map(|(a, c)| sweep(c, *a, lift))
                .sum::<u64>();
            times.push(t.elapsed().as_nanos() as f64 / n.max(1) as f64);
        }
        (n, median(times))
    };
    let (n, capstone) = run(&|c, a| both.lift_capstone(c, a));
    let (_, iced) = run(&|c, a| both.lift_iced(c, a));
    println!(
        "{{\"file\": {path:?}, \"instructions\": {n}, \"repeat\": {repeat}, \"capstone_ns\": {capstone:.1}, \"iced_ns\": {iced:.1}}}"
    );
}
