//! The machine: container format, architecture, word size and byte order against the
//! target's.

use super::*;
use crate::inspect::{Binary, Producer};
use crate::platform::{Endian, Format};
use crate::target::Target;

/// Format, architecture, word size and byte order against the target.
pub fn check<R>(binary: &Binary<R>, target: &Target, producer: Producer) -> Vec<Finding> {
    let mut out = Vec::new();
    let native = target.native_format();
    let format_ok = match (native, binary.format) {
        (Some(Format::Macho), Format::Macho | Format::MachoFat) => true,
        (Some(want), have) => want == have,
        (None, _) => true,
    };
    if !format_ok {
        out.push(FORMAT_MISMATCH.finding(
            format!(
                "this is {} file, but the target runs {}, which loads {} libraries",
                with_article(format_name(binary.format)),
                target.os,
                native.map(format_name).unwrap_or("other")
            ),
            format!("build the library for {} instead", target.os),
        ));
    }
    let endian = |e: Endian| {
        if e == Endian::Little {
            "little-endian"
        } else {
            "big-endian"
        }
    };
    if binary.arch != target.arch || binary.bits != target.bits || binary.endian != target.endian {
        out.push(ARCH_MISMATCH.finding(
            format!(
                "the library is {} {}-bit {}, the target is {} {}-bit {}",
                binary.arch.as_str(),
                binary.bits,
                endian(binary.endian),
                target.arch.as_str(),
                target.bits,
                endian(target.endian),
            ),
            {
                let arch = target.arch.as_str();
                let how = match producer {
                    Producer::Rust => format!("cargo build --target <{arch}-triple>"),
                    Producer::C => format!("a {arch} cross compiler, such as <{arch}-triple>-gcc"),
                    Producer::Unknown => format!(
                        "cargo build --target <{arch}-triple> for a Rust crate, a {arch} cross compiler for C"
                    ),
                };
                format!("build it for {arch} (e.g. {how}) or ship the matching precompiled artifact")
            },
        ));
    }
    out
}

/// "an ELF", "a Mach-O": the article goes by the sound of the name (letters read out).
fn with_article(name: &str) -> String {
    let an = name.starts_with(['E', 'u', 'a', 'e', 'i', 'o']);
    format!("{} {name}", if an { "an" } else { "a" })
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Elf => "ELF",
        Format::Macho => "Mach-O",
        Format::MachoFat => "universal Mach-O",
        Format::Pe => "PE",
        Format::Unknown => "unknown",
    }
}
